// The runtime that native/common.h declares, for WebAssembly.
//
// The kernels (gemm.cc, ops.cc, conv.cc, conv_direct.cc) are the same sources
// the Node addon compiles; on the addon threadpool.cc provides this runtime
// with OS threads. WebAssembly has no threads of its own: its threads are
// JavaScript workers (worker_threads on Node, Web Workers in a browser), each
// with an instance of this module on one shared memory, each parked in
// nt_worker_main() for good. The JavaScript side (src/backends/wasm/) starts
// them and gives each its own stack and thread-local block.
//
// The pool follows threadpool.cc: a job's parts are claimed through one
// atomic word holding (generation << 32 | next part), the caller claims parts
// too, so a worker slow to wake leaves its share to the caller, and with one
// thread the parts run in order on the caller. Every kernel splits its work
// so that its result does not depend on which thread ran a part: one seed
// gives the same bits on any number of threads.
//
// Without shared memory (a page that is not cross-origin isolated) no worker
// exists and everything runs on the caller.
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

#include "../common.h"
#include "../job_board.h"

// Milliseconds from the host's monotonic clock (performance.now()); only the
// pool's back-off uses it.
extern "C" __attribute__((import_module("env"), import_name("now_ms"))) double neurite_host_now_ms();

namespace neurite {

// The one vector path here is the portable one (the GCC vector extensions of
// gemm_impl.h, which clang lowers to SIMD128) plus the SIMD128 direct
// convolution: reported as ISA_SCALAR so no x86 path is ever chosen.
int detected_isa() { return ISA_SCALAR; }
int active_isa() { return ISA_SCALAR; }
int set_active_isa(int) { return ISA_SCALAR; }
const char* isa_name(int) { return "simd128"; }

namespace {

constexpr int kMaxWorkers = 63;

// The pool's shared state. Plain data in linear memory, so every instance
// (one per thread) sees the same words.
JobBoard g_board;
// The generation alone, as a 32-bit word for memory.atomic.wait32/notify.
std::atomic<uint32_t> g_gen32{0};
std::atomic<int> g_helpers{0};
std::atomic<bool> g_busy{false};
std::atomic<long> g_serial_jobs{0};
std::atomic<long> g_parallel_jobs{0};
// Workers the JavaScript side has started (they may still be starting up).
std::atomic<int> g_workers{0};
std::atomic<int> g_threads{1};
// Back-off after bad windows; touched only by the caller holding g_busy.
double g_serial_until = 0;
double g_backoff_ms = 20;
double g_window_start = 0;
long g_window_jobs = 0;
long g_window_stalls = 0;
long g_window_parts = 0;
long g_window_own_parts = 0;

uint32_t current_gen() { return g_board.generation(); }

void serial(int parts, TaskFn fn, void* ctx) {
  if (parts > 1) g_serial_jobs.fetch_add(1, std::memory_order_relaxed);
  for (int p = 0; p < parts; ++p) fn(ctx, p, parts);
  if (parts < 1) fn(ctx, 0, 1);
}

// Over windows of 50 ms, decides whether the workers help (threadpool.cc's
// judge() without the preemption count, which WebAssembly cannot read): a
// window is bad when a quarter of the jobs stalled (the caller waited on a
// worker longer than it worked: a worker was descheduled holding a part) or
// when the workers ran under a fifth of the parts. After a bad window jobs
// run on the caller alone for 20 ms, doubling to 500 ms while windows stay bad.
void judge(double own_ms, double wait_ms, int own_parts, int parts, double now) {
  ++g_window_jobs;
  if (wait_ms > 0.1 && wait_ms > own_ms / 2) ++g_window_stalls;
  g_window_parts += parts;
  g_window_own_parts += own_parts;
  if (now - g_window_start < 50) return;
  const bool idle = g_window_jobs >= 8 && g_window_own_parts * 5 > g_window_parts * 4;
  const bool bad = (g_window_jobs >= 4 && g_window_stalls * 4 > g_window_jobs) || idle;
  g_window_start = now;
  g_window_jobs = g_window_stalls = g_window_parts = g_window_own_parts = 0;
  if (bad) {
    g_serial_until = now + g_backoff_ms;
    g_backoff_ms = g_backoff_ms * 2 < 500 ? g_backoff_ms * 2 : 500;
  } else {
    g_backoff_ms = 20;
  }
}

void run(int threads, int parts, TaskFn fn, void* ctx) {
  const int workers = g_workers.load(std::memory_order_relaxed);
  if (parts <= 1 || threads <= 1 || workers == 0) {
    serial(parts, fn, ctx);
    return;
  }
  bool expected = false;
  // A flag, not a lock: a nested region (a part that itself splits) runs serially.
  if (!g_busy.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
    serial(parts, fn, ctx);
    return;
  }
  const double t0 = neurite_host_now_ms();
  if (t0 < g_serial_until) {
    g_busy.store(false, std::memory_order_release);
    serial(parts, fn, ctx);
    return;
  }
  g_parallel_jobs.fetch_add(1, std::memory_order_relaxed);
  const uint32_t g = current_gen() + 1;
  g_helpers.store(threads - 1 < workers ? threads - 1 : workers, std::memory_order_relaxed);
  g_board.post(g, parts, fn, ctx);
  g_gen32.store(g, std::memory_order_seq_cst);
  __builtin_wasm_memory_atomic_notify(reinterpret_cast<int*>(&g_gen32), static_cast<unsigned>(workers));
  const int own_parts = g_board.work(g);
  const double t1 = neurite_host_now_ms();
  // The caller spins rather than waits: memory.atomic.wait traps on a
  // browser's main thread, and the parts left are already running.
  g_board.wait_done();
  const double t2 = neurite_host_now_ms();
  judge(t1 - t0, t2 - t1, own_parts, parts, t2);
  g_busy.store(false, std::memory_order_release);
}

}  // namespace

int max_threads() { return g_workers.load(std::memory_order_relaxed) + 1; }
int num_threads() {
  const int t = g_threads.load(std::memory_order_relaxed);
  return t < max_threads() ? t : max_threads();
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
  run(nthreads, nthreads, fn, ctx);
}

void parallel_parts(int parts, TaskFn fn, void* ctx, int threads) { run(threads > 0 ? threads : num_threads(), parts, fn, ctx); }

long pool_serial_jobs() { return g_serial_jobs.load(std::memory_order_relaxed); }
long pool_parallel_jobs() { return g_parallel_jobs.load(std::memory_order_relaxed); }
bool pool_backing_off() { return neurite_host_now_ms() < g_serial_until; }

// ---------------------------------------------------------------------------
// Scratch memory: one set per thread (thread_local lives in the block each
// instance is given at start-up, so every worker has its own).

namespace {
struct Scratch {
  void* p[SCRATCH_SLOTS] = {};
  size_t cap[SCRATCH_SLOTS] = {};
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
      __builtin_trap();  // out of memory: the JavaScript side reports it
    }
    s.p[slot] = q;
    s.cap[slot] = cap;
  }
  return s.p[slot];
}

}  // namespace neurite

using namespace neurite;

// The pool's size: the JavaScript side calls this as it starts workers, and
// workers join the jobs as they come up.
extern "C" __attribute__((export_name("nt_set_workers"))) int nt_set_workers(int n) {
  if (n < 0) n = 0;
  if (n > kMaxWorkers) n = kMaxWorkers;
  g_workers.store(n, std::memory_order_relaxed);
  return n;
}
extern "C" __attribute__((export_name("nt_set_num_threads"))) int nt_set_num_threads(int n) { return set_num_threads(n); }
extern "C" __attribute__((export_name("nt_num_threads"))) int nt_num_threads() { return num_threads(); }
extern "C" __attribute__((export_name("nt_pool_jobs"))) double nt_pool_jobs(int parallel) {
  return static_cast<double>(parallel ? pool_parallel_jobs() : pool_serial_jobs());
}

// A worker's life: wait for a job, help with it, wait again. Never returns.
// Worker `id` (0-based) helps only with jobs that want more than id + 1 threads.
extern "C" __attribute__((export_name("nt_worker_main"))) void nt_worker_main(int id) {
  uint32_t seen = current_gen();
  for (;;) {
    // Spin for about 1 ms (a training step's next product usually comes
    // sooner), then sleep until the generation changes.
    if (current_gen() == seen) {
      const double t0 = neurite_host_now_ms();
      unsigned spins = 0;
      while (current_gen() == seen) {
        if ((++spins & 1023) == 0 && neurite_host_now_ms() - t0 > 1.0) break;
      }
      while (current_gen() == seen)
        __builtin_wasm_memory_atomic_wait32(reinterpret_cast<int*>(&g_gen32), static_cast<int>(seen), -1);
    }
    seen = current_gen();
    if (id >= g_helpers.load(std::memory_order_relaxed)) continue;
    g_board.work(seen);
  }
}
