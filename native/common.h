// neurite native compute addon: shared declarations.
//
// Everything here is internal to the addon.  The N-API layer (addon.cc)
// validates arguments and then calls the plain C++ kernels declared in
// kernels.h; the kernels use the helpers declared here.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define NEURITE_X86 1
#else
#define NEURITE_X86 0
#endif

namespace neurite {

// Instruction-set paths, ordered: a higher value implies the lower ones.
enum Isa : int { ISA_SCALAR = 0, ISA_AVX2 = 1, ISA_AVX512 = 2 };

// Best path the CPU (and OS) supports, detected once.
int detected_isa();
// Path currently used by the dispatchers (<= detected_isa()).
int active_isa();
// Forces a path (clamped to detected_isa()); returns the path now active.
int set_active_isa(int isa);
const char* isa_name(int isa);

// ---------------------------------------------------------------------------
// Thread pool: the calling thread plus max_threads()-1 persistent workers.
// Workers are created on first use, spin ~1 ms after each job, then sleep on
// a condition variable.  One parallel region at a time: a second caller (a JS
// worker thread using the addon concurrently) runs its region serially.
int max_threads();       // 1 + number of workers the pool may use
int num_threads();       // current setting (1..max_threads())
int set_num_threads(int n);

typedef void (*TaskFn)(void* ctx, int tid, int nthreads);
// Runs fn(ctx, t, n) for t in [0, n) with n = min(nthreads, max_threads()),
// t = 0 on the calling thread.  Returns when all parts are done.
void parallel_run(int nthreads, TaskFn fn, void* ctx);
// Runs fn(ctx, p, parts) for every p in [0, parts) on up to num_threads()
// threads, parts claimed dynamically (more parts than threads lets a fast
// thread take over a slow one's share).  With one thread, or when the pool
// has backed off on a busy machine, the parts run in order on the caller, so
// a kernel whose parts do not depend on the thread count gives the same bits
// on any number of threads.
void parallel_parts(int parts, TaskFn fn, void* ctx, int threads = 0);  // threads <= 0: num_threads()
// How many jobs ran serially because the pool backed off (or nesting).
long pool_serial_jobs();
// How many jobs ran on the caller and the workers together.
long pool_parallel_jobs();
// Whether the pool is running jobs on the caller alone just now (a busy
// machine): work whose split does not change its result, such as a GEMM, is
// then better done in one piece than in serial parts.
bool pool_backing_off();

// Parts per thread when work is split evenly: enough that one descheduled
// thread holds little, few enough that per-part overhead stays small.
constexpr int kPartsPerThread = 4;

// Splits [0, n) into `parts` ranges, boundaries multiples of `align`
// (except the final end).  Part t is [split_point(t), split_point(t+1)).
inline long split_point(long n, int t, int parts, long align) {
  if (t >= parts) return n;
  long units = (n + align - 1) / align;
  long u = units * t / parts;
  long p = u * align;
  return p < n ? p : n;
}

// parallel_range(n, minPerThread, f): calls f(begin, end) on up to
// num_threads() threads, each with at least minPerThread elements.
template <class F>
struct RangeCtx {
  F* f;
  long n;
  long align;
};
template <class F>
void range_trampoline(void* c, int t, int parts) {
  RangeCtx<F>* x = static_cast<RangeCtx<F>*>(c);
  long b = split_point(x->n, t, parts, x->align);
  long e = split_point(x->n, t + 1, parts, x->align);
  if (e > b) (*x->f)(b, e);
}
template <class F>
void parallel_range(long n, long minPerThread, F f, long align = 16) {
  const int t = num_threads();
  if (minPerThread < 1) minPerThread = 1;
  long parts = static_cast<long>(t) * kPartsPerThread;
  const long cap = n / minPerThread;
  if (cap < parts) parts = cap;
  if (t <= 1 || parts <= 1) {
    if (n > 0) f(0L, n);
    return;
  }
  RangeCtx<F> ctx{&f, n, align};
  parallel_parts(static_cast<int>(parts), &range_trampoline<F>, &ctx);
}

// 64-byte aligned scratch memory, one per (thread, slot); grows, never
// shrinks, freed at thread exit.
void* scratch(int slot, size_t bytes);
enum ScratchSlot { SCRATCH_PACK_A = 0, SCRATCH_PACK_B = 1, SCRATCH_COL = 2, SCRATCH_TMP = 3, SCRATCH_SLOTS = 4 };

}  // namespace neurite
