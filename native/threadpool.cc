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

#include "common.h"

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

// Parts of a job are claimed dynamically through one atomic word holding
// (generation << 32 | next part).  The caller claims parts too, so if a
// worker is slow to wake or descheduled (an oversubscribed machine), the
// caller simply runs the remaining parts itself instead of waiting.
class Pool {
 public:
  explicit Pool(int workers) : nworkers_(workers) {}

  int workers() const { return nworkers_; }

  void run(int n, TaskFn fn, void* ctx) {
    bool expected = false;
    // A flag, not a mutex: nested regions (a task that itself calls
    // parallel_run) and concurrent callers simply run serially.
    if (n <= 1 || nworkers_ == 0 || !busy_.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
      fn(ctx, 0, 1);
      return;
    }
    start_workers();
    const uint32_t g = ++gen_;
    fn_.store(fn, std::memory_order_relaxed);
    ctx_.store(ctx, std::memory_order_relaxed);
    nparts_.store(n, std::memory_order_relaxed);
    remaining_.store(n, std::memory_order_relaxed);
    failed_.store(false, std::memory_order_relaxed);
    claim_.store(static_cast<uint64_t>(g) << 32, std::memory_order_seq_cst);
    {
      // Taking the mutex orders the publication with a worker that is
      // between its predicate check and its wait: no lost wake-up.
      std::lock_guard<std::mutex> lk(m_);
    }
    cv_.notify_all();
    std::exception_ptr err;
    try {
      work(g);
    } catch (...) {
      err = std::current_exception();
      // Retire the part that threw and every part still unclaimed.
      remaining_.fetch_sub(1, std::memory_order_acq_rel);
      drain(g);
    }
    unsigned spins = 0;
    while (remaining_.load(std::memory_order_acquire) != 0) {
      cpu_relax();
      if (++spins > 2048) std::this_thread::yield();
    }
    bool failed = failed_.load(std::memory_order_acquire);
    busy_.store(false, std::memory_order_release);
    if (err) std::rethrow_exception(err);
    if (failed) throw std::bad_alloc();
  }

 private:
  // Claims and runs parts of job g until none is left.
  void work(uint32_t g) {
    for (;;) {
      uint64_t c = claim_.load(std::memory_order_acquire);
      if ((c >> 32) != g) return;
      const uint32_t p = static_cast<uint32_t>(c);
      const int n = nparts_.load(std::memory_order_relaxed);
      if (p >= static_cast<uint32_t>(n)) return;
      TaskFn fn = fn_.load(std::memory_order_relaxed);
      void* ctx = ctx_.load(std::memory_order_relaxed);
      // Success proves job g was still live, so fn/ctx/n belong to it.
      if (!claim_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel)) continue;
      fn(ctx, static_cast<int>(p), n);
      remaining_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  void drain(uint32_t g) {
    for (;;) {
      uint64_t c = claim_.load(std::memory_order_acquire);
      const uint32_t p = static_cast<uint32_t>(c);
      if ((c >> 32) != g || p >= static_cast<uint32_t>(nparts_.load(std::memory_order_relaxed))) return;
      if (claim_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel))
        remaining_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  void start_workers() {
    if (started_) return;
    started_ = true;
    for (int w = 0; w < nworkers_; ++w) {
      // Detached on purpose: the pool lives for the whole process and the
      // OS reclaims the threads at exit (no static-destructor join issues).
      std::thread(&Pool::worker_main, this).detach();
    }
  }

  uint32_t current_gen() const { return static_cast<uint32_t>(claim_.load(std::memory_order_acquire) >> 32); }

  void worker_main() {
    uint32_t seen = 0;
    for (;;) {
      // Spin for about 1 ms, then sleep.
      if (current_gen() == seen) {
        auto t0 = std::chrono::steady_clock::now();
        unsigned spins = 0;
        while (current_gen() == seen) {
          cpu_relax();
          if ((++spins & 255) == 0 &&
              std::chrono::steady_clock::now() - t0 > std::chrono::microseconds(1000))
            break;
        }
        if (current_gen() == seen) {
          std::unique_lock<std::mutex> lk(m_);
          cv_.wait(lk, [&] { return static_cast<uint32_t>(claim_.load(std::memory_order_seq_cst) >> 32) != seen; });
        }
      }
      seen = current_gen();
      try {
        work(seen);
      } catch (...) {
        // Kernels only throw std::bad_alloc (scratch allocation).  The part
        // that threw is retired; the caller rethrows.
        failed_.store(true, std::memory_order_release);
        remaining_.fetch_sub(1, std::memory_order_acq_rel);
        drain(seen);
      }
    }
  }

  const int nworkers_;
  bool started_ = false;
  uint32_t gen_ = 0;
  std::atomic<bool> busy_{false};
  std::atomic<bool> failed_{false};
  std::mutex m_;
  std::condition_variable cv_;
  std::atomic<uint64_t> claim_{0};
  std::atomic<int> remaining_{0};
  std::atomic<TaskFn> fn_{nullptr};
  std::atomic<void*> ctx_{nullptr};
  std::atomic<int> nparts_{1};
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
  pool().run(nthreads, fn, ctx);
}

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
