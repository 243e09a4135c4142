// The runtime that native/common.h declares, for WebAssembly.
//
// The kernels (gemm.cc, ops.cc, conv.cc, conv_direct.cc) are the same sources
// the Node addon compiles; on the addon threadpool.cc provides this runtime
// with OS threads. Here there is one thread: WebAssembly has no threads of its
// own, only JavaScript workers sharing a memory, which the backend does not
// drive yet. With one thread parallel_parts runs the parts in order, so every
// kernel sums in the order its one-thread native run does.
#include <cstdlib>
#include <new>

#include "../common.h"

namespace neurite {

// The one vector path here is the portable one (the GCC vector extensions of
// gemm_impl.h, which clang lowers to SIMD128) plus the SIMD128 direct
// convolution: reported as ISA_SCALAR so no x86 path is ever chosen.
int detected_isa() { return ISA_SCALAR; }
int active_isa() { return ISA_SCALAR; }
int set_active_isa(int) { return ISA_SCALAR; }
const char* isa_name(int) { return "simd128"; }

int max_threads() { return 1; }
int num_threads() { return 1; }
int set_num_threads(int) { return 1; }

void parallel_run(int, TaskFn fn, void* ctx) { fn(ctx, 0, 1); }
void parallel_parts(int parts, TaskFn fn, void* ctx, int) {
  for (int p = 0; p < parts; ++p) fn(ctx, p, parts);
}
long pool_serial_jobs() { return 0; }
long pool_parallel_jobs() { return 0; }
bool pool_backing_off() { return false; }

namespace {
void* g_scratch[SCRATCH_SLOTS] = {};
size_t g_cap[SCRATCH_SLOTS] = {};
}  // namespace

void* scratch(int slot, size_t bytes) {
  if (bytes > g_cap[slot]) {
    std::free(g_scratch[slot]);
    size_t cap = (bytes + bytes / 4 + 4095) & ~static_cast<size_t>(4095);
    void* q = std::aligned_alloc(64, cap);
    if (!q) {
      g_scratch[slot] = nullptr;
      g_cap[slot] = 0;
      __builtin_trap();  // out of memory: the JavaScript side reports it
    }
    g_scratch[slot] = q;
    g_cap[slot] = cap;
  }
  return g_scratch[slot];
}

}  // namespace neurite
