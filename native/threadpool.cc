// Persistent thread pool + CPU feature detection + per-thread scratch memory.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sys/resource.h>
#endif

#include "common.h"
#include "job_board.h"

#if NEURITE_X86
#include <immintrin.h>
#endif

namespace neurite {

// ---------------------------------------------------------------------------
// ISA detection

static int detect_isa_once() {
#if NEURITE_X86
  __builtin_cpu_init();
  // libgcc's / compiler-rt's feature bits already include the OS (XSAVE/XCR0)
  // check for the YMM and ZMM register state.
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("fma") && __builtin_cpu_supports("avx2"))
    return ISA_AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return ISA_AVX2;
#endif
  return ISA_SCALAR;
}

static std::atomic<int> g_active{-1};

int detected_isa() {
  static const int detected = detect_isa_once();  // thread-safe static init
  return detected;
}

int active_isa() {
  int a = g_active.load(std::memory_order_relaxed);
  if (a < 0) {
    a = detected_isa();
    const char* env = std::getenv("NEURITE_NATIVE_ISA");
    if (env) {
      std::string s(env);
      if (s == "scalar") a = ISA_SCALAR;
      else if (s == "avx2" && a >= ISA_AVX2) a = ISA_AVX2;
    }
    g_active.store(a, std::memory_order_relaxed);
  }
  return a;
}

int set_active_isa(int isa) {
  int d = detected_isa();
  if (isa < 0 || isa > d) isa = d;
  g_active.store(isa, std::memory_order_relaxed);
  return isa;
}

const char* isa_name(int isa) {
  switch (isa) {
    case ISA_AVX512: return "avx512";
    case ISA_AVX2: return "avx2";
    default: return "scalar";
  }
}

// ---------------------------------------------------------------------------
// Thread pool

static inline void cpu_relax() {
#if NEURITE_X86
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

namespace {

constexpr int kMaxWorkers = 15;

using Clock = std::chrono::steady_clock;

inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// Parts of a job are claimed dynamically through one atomic word holding
// (generation << 32 | next part).  The caller claims parts too, so a worker
// that is slow to wake simply leaves its share to the caller.
//
// On a busy machine (more runnable threads than cores) a worker can still
// hurt: one preempted in the middle of a part makes the caller wait for the
// rest of the OS time slice (milliseconds), and a worker spinning on the
// caller's core takes CPU time from the thread that runs everything else.
// So the pool watches itself (see judge()) and, while the machine is
// oversubscribed, runs jobs on the caller alone; idle workers then sleep,
// leaving the cores to the caller and the other processes.
class Pool {
 public:
  explicit Pool(int workers) : nworkers_(workers) {}

  int workers() const { return nworkers_; }

  // Runs fn(ctx, p, parts) for every p in [0, parts), on the caller and up
  // to threads - 1 workers.
  void run(int threads, int parts, TaskFn fn, void* ctx) {
    if (parts <= 1 || threads <= 1 || nworkers_ == 0) {
      serial(parts, fn, ctx);
      return;
    }
    const int64_t t0 = now_ns();
    if (t0 < serial_until_.load(std::memory_order_relaxed)) {
      serial(parts, fn, ctx);
      return;
    }
    bool expected = false;
    // A flag, not a mutex: nested regions (a task that itself calls
    // parallel_run) and concurrent callers simply run serially.
    if (!busy_.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
      serial(parts, fn, ctx);
      return;
    }
    start_workers();
    parallel_jobs_.fetch_add(1, std::memory_order_relaxed);
    const uint32_t g = ++gen_;
    helpers_.store(std::min(threads - 1, nworkers_), std::memory_order_relaxed);
    failed_.store(false, std::memory_order_relaxed);
    board_.post(g, parts, fn, ctx);
    {
      // Taking the mutex orders the publication with a worker that is
      // between its predicate check and its wait: no lost wake-up.
      std::lock_guard<std::mutex> lk(m_);
    }
    cv_.notify_all();
    std::exception_ptr err;
    int own_parts = parts;
    try {
      own_parts = work(g);
    } catch (...) {
      err = std::current_exception();
      // Retire the part that threw and every part still unclaimed.
      board_.remaining.fetch_sub(1, std::memory_order_acq_rel);
      drain(g);
    }
    const int64_t t1 = now_ns();
    unsigned spins = 0;
    while (board_.remaining.load(std::memory_order_acquire) != 0) {
      cpu_relax();
      if (++spins > 256) std::this_thread::yield();
    }
    const int64_t t2 = now_ns();
    judge(t1 - t0, t2 - t1, own_parts, parts, t2);
    bool failed = failed_.load(std::memory_order_acquire);
    busy_.store(false, std::memory_order_release);
    if (err) std::rethrow_exception(err);
    if (failed) throw std::bad_alloc();
  }

  // Jobs run in serial mode so far (for tests and the bench's report).
  long serial_jobs() const { return serial_jobs_.load(std::memory_order_relaxed); }
  long parallel_jobs() const { return parallel_jobs_.load(std::memory_order_relaxed); }
  bool backing_off() const { return now_ns() < serial_until_.load(std::memory_order_relaxed); }

 private:
  void serial(int parts, TaskFn fn, void* ctx) {
    if (parts > 1) serial_jobs_.fetch_add(1, std::memory_order_relaxed);
    for (int p = 0; p < parts; ++p) fn(ctx, p, parts);
    if (parts < 1) fn(ctx, 0, 1);
  }

  // The calling thread's involuntary context switches so far: it was
  // preempted, so more threads want to run than there are cores.
  static long involuntary_switches() {
#if defined(__linux__) && defined(RUSAGE_THREAD)
    struct rusage ru;
    if (getrusage(RUSAGE_THREAD, &ru) == 0) return ru.ru_nivcsw;
#endif
    return 0;
  }

  // Decides, over windows of at least 50 ms, whether the workers help. A
  // window is bad when the caller was preempted often (more threads want to
  // run than there are cores, so a spinning worker takes CPU time from the
  // thread that runs everything between products: a quiet 2-core machine
  // running Node's own helper threads preempts the main thread about 10
  // times a second, one other busy process makes it 150 or more), or when a
  // quarter of the parallel jobs stalled (the caller waited on a worker longer
  // than it worked: a worker was preempted holding a part), or when the
  // workers ran under a fifth of the parts (they hardly get CPU time). After a bad
  // window, jobs run on the caller alone for a back-off period (20 ms,
  // doubling to 500 ms while the windows stay bad); a good window resets it.
  void judge(int64_t own_ns, int64_t wait_ns, int own_parts, int parts, int64_t now) {
    ++window_jobs_;
    if (wait_ns > 100000 && wait_ns > own_ns / 2) ++window_stalls_;
    window_parts_ += parts;
    window_own_parts_ += own_parts;
    const int64_t span = now - window_start_;
    if (span < kWindowNs) return;
    const long sw = involuntary_switches();
    const double rate = static_cast<double>(sw - window_switches0_) * 1e9 / static_cast<double>(span);
    // The workers ran under a fifth of the parts: they hardly get CPU time.
    const bool idle = window_jobs_ >= 8 && window_own_parts_ * 5 > window_parts_ * 4;
    const bool bad = rate > kMaxPreemptionsPerSecond || (window_jobs_ >= 4 && window_stalls_ * 4 > window_jobs_) || idle;
    window_start_ = now;
    window_switches0_ = sw;
    window_jobs_ = 0;
    window_stalls_ = 0;
    window_parts_ = 0;
    window_own_parts_ = 0;
    if (bad) {
      serial_until_.store(now + backoff_ns_, std::memory_order_relaxed);
      backoff_ns_ = std::min<int64_t>(backoff_ns_ * 2, kMaxBackoffNs);
    } else {
      backoff_ns_ = kMinBackoffNs;
    }
  }

  // Claims and runs parts of job g until none is left; returns how many ran here.
  int work(uint32_t g) { return board_.work(g); }
  void drain(uint32_t g) { board_.drain(g); }

  void start_workers() {
    if (started_) return;
    started_ = true;
    for (int w = 0; w < nworkers_; ++w) {
      // Detached on purpose: the pool lives for the whole process and the
      // OS reclaims the threads at exit (no static-destructor join issues).
      std::thread(&Pool::worker_main, this, w).detach();
    }
  }

  uint32_t current_gen() const { return board_.generation(); }

  void worker_main(int id) {
    uint32_t seen = 0;
    for (;;) {
      // Spin for about 1 ms (a training step's next product usually comes
      // sooner), then sleep.
      if (current_gen() == seen) {
        auto t0 = Clock::now();
        unsigned spins = 0;
        while (current_gen() == seen) {
          cpu_relax();
          if ((++spins & 255) == 0 && Clock::now() - t0 > std::chrono::microseconds(1000)) break;
        }
        if (current_gen() == seen) {
          std::unique_lock<std::mutex> lk(m_);
          cv_.wait(lk, [&] { return static_cast<uint32_t>(board_.claim.load(std::memory_order_seq_cst) >> 32) != seen; });
        }
      }
      seen = current_gen();
      // Jobs limited to fewer threads leave the higher-numbered workers out.
      if (id >= helpers_.load(std::memory_order_relaxed)) continue;
      try {
        work(seen);
      } catch (...) {
        // Kernels only throw std::bad_alloc (scratch allocation).  The part
        // that threw is retired; the caller rethrows.
        failed_.store(true, std::memory_order_release);
        board_.remaining.fetch_sub(1, std::memory_order_acq_rel);
        drain(seen);
      }
    }
  }

  static constexpr int64_t kMinBackoffNs = 20000000;
  static constexpr int64_t kMaxBackoffNs = 500000000;
  static constexpr int64_t kWindowNs = 50000000;
  static constexpr double kMaxPreemptionsPerSecond = 40.0;

  const int nworkers_;
  bool started_ = false;
  uint32_t gen_ = 0;
  // Touched only by the caller holding busy_.
  int64_t backoff_ns_ = kMinBackoffNs;
  int64_t window_start_ = 0;
  long window_switches0_ = 0;
  long window_jobs_ = 0;
  long window_stalls_ = 0;
  long window_parts_ = 0;
  long window_own_parts_ = 0;
  std::atomic<int64_t> serial_until_{0};
  std::atomic<long> serial_jobs_{0};
  std::atomic<long> parallel_jobs_{0};
  std::atomic<bool> busy_{false};
  std::atomic<bool> failed_{false};
  std::mutex m_;
  std::condition_variable cv_;
  std::atomic<int> helpers_{0};
  JobBoard board_;
};

int hw_threads() {
  unsigned h = std::thread::hardware_concurrency();
  if (h == 0) h = 1;
  if (h > static_cast<unsigned>(kMaxWorkers + 1)) h = kMaxWorkers + 1;
  return static_cast<int>(h);
}

Pool& pool() {
  // Intentionally leaked (see start_workers).
  static Pool* p = new Pool(hw_threads() - 1);
  return *p;
}

std::atomic<int> g_threads{0};

}  // namespace

int max_threads() { return pool().workers() + 1; }

int num_threads() {
  int t = g_threads.load(std::memory_order_relaxed);
  if (t <= 0) {
    t = max_threads();
    if (const char* env = std::getenv("NEURITE_NUM_THREADS")) {
      int e = std::atoi(env);
      if (e >= 1) t = std::min(e, t);
    }
    g_threads.store(t, std::memory_order_relaxed);
  }
  return t;
}

int set_num_threads(int n) {
  if (n < 1) n = 1;
  if (n > max_threads()) n = max_threads();
  g_threads.store(n, std::memory_order_relaxed);
  return n;
}

void parallel_run(int nthreads, TaskFn fn, void* ctx) {
  if (nthreads <= 1) {
    fn(ctx, 0, 1);
    return;
  }
  pool().run(nthreads, nthreads, fn, ctx);
}

void parallel_parts(int parts, TaskFn fn, void* ctx, int threads) {
  pool().run(threads > 0 ? threads : num_threads(), parts, fn, ctx);
}

long pool_serial_jobs() { return pool().serial_jobs(); }
long pool_parallel_jobs() { return pool().parallel_jobs(); }
bool pool_backing_off() { return pool().backing_off(); }

// ---------------------------------------------------------------------------
// Scratch memory

namespace {
struct Scratch {
  void* p[SCRATCH_SLOTS] = {};
  size_t cap[SCRATCH_SLOTS] = {};
  ~Scratch() {
    for (int i = 0; i < SCRATCH_SLOTS; ++i) std::free(p[i]);
  }
};
thread_local Scratch t_scratch;
}  // namespace

void* scratch(int slot, size_t bytes) {
  Scratch& s = t_scratch;
  if (bytes > s.cap[slot]) {
    std::free(s.p[slot]);
    size_t cap = (bytes + bytes / 4 + 4095) & ~static_cast<size_t>(4095);
    void* q = std::aligned_alloc(64, cap);
    if (!q) {
      s.p[slot] = nullptr;
      s.cap[slot] = 0;
      throw std::bad_alloc();
    }
    s.p[slot] = q;
    s.cap[slot] = cap;
  }
  return s.p[slot];
}

}  // namespace neurite
