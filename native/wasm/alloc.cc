// The wasm module's allocator: malloc and friends for the kernels' scratch
// space and for the tensors that live in the module's memory.
//
// wasi-libc's malloc is not safe with several threads, and the shared-memory
// build needs one that is, so this replaces it. Blocks come in size classes
// of four steps per power of two (at most 25% slack) from 256 bytes up; a
// freed block goes on its class's free list and is reused for the next
// request of that class, which suits training: every step asks for the same
// sizes as the step before. Memory is never returned (WebAssembly memory
// cannot shrink). A spinlock guards the lists: allocation is rare next to
// the kernels' work, and it is held for a few instructions.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

extern "C" unsigned char __heap_base;

namespace {

// Each block starts with a header holding its class, and the header is 64
// bytes so the caller's pointer stays on a 64-byte boundary (every class size
// from 256 bytes up is a multiple of 64).
constexpr size_t kHeader = 64;
constexpr int kMinShift = 8;
constexpr int kMaxShift = 31;
constexpr int kClasses = (kMaxShift - kMinShift + 1) * 4;

std::atomic<int> g_lock{0};
void* g_free[kClasses];
uintptr_t g_brk = 0;

struct Guard {
  Guard() {
    while (g_lock.exchange(1, std::memory_order_acquire) != 0) {
    }
  }
  ~Guard() { g_lock.store(0, std::memory_order_release); }
};

size_t class_bytes(int c) {
  const int shift = kMinShift + c / 4;
  return (size_t(1) << shift) + (size_t(c % 4) << (shift - 2));
}

// The smallest class holding n bytes plus the header; -1 when none does.
int class_of(size_t n) {
  const size_t need = n + kHeader;
  if (n > (size_t(1) << kMaxShift)) return -1;
  for (int c = 0; c < kClasses; ++c)
    if (class_bytes(c) >= need) return c;
  return -1;
}

// Takes a block of class c from its free list or from fresh memory (growing
// the memory when needed); null when the memory cannot grow. Lock held.
unsigned char* take(int c) {
  if (g_free[c] != nullptr) {
    void* b = g_free[c];
    g_free[c] = *static_cast<void**>(b);
    return static_cast<unsigned char*>(b);
  }
  if (g_brk == 0) g_brk = (reinterpret_cast<uintptr_t>(&__heap_base) + 63) & ~uintptr_t(63);
  const uint64_t end = uint64_t(g_brk) + class_bytes(c);
  const uint64_t have = uint64_t(__builtin_wasm_memory_size(0)) << 16;
  if (end > have) {
    // Grow by at least an eighth of the memory and 16 MiB, not by the pages
    // this block needs: growing a shared memory is costly in browsers, and
    // the JavaScript side makes its views anew after each growth. Measured
    // in Chromium 150 with every op's output allocated here (the budget of
    // unreclaimed blocks raised for the experiment): an element-wise op on a
    // 32 KB tensor ran 2.9k times a second when every other allocation grew
    // the memory by one page, 9.7k with this rule. The overshoot is at most
    // an eighth, beyond the first 16 MiB; a failed large growth retries
    // with what the block needs.
    const uint64_t need = (end - have + 65535) >> 16;
    uint64_t pages = need;
    if (pages < (have >> 19)) pages = have >> 19;
    if (pages < 256) pages = 256;
    if (__builtin_wasm_memory_grow(0, pages) == size_t(-1) &&
        (pages == need || __builtin_wasm_memory_grow(0, need) == size_t(-1)))
      return nullptr;
  }
  unsigned char* b = reinterpret_cast<unsigned char*>(g_brk);
  g_brk = uintptr_t(end);
  return b;
}

}  // namespace

extern "C" {

void* aligned_alloc(size_t, size_t n) {
  const int c = class_of(n);
  if (c < 0) return nullptr;
  unsigned char* b;
  {
    Guard g;
    b = take(c);
  }
  if (b == nullptr) return nullptr;
  *reinterpret_cast<int*>(b) = c;
  return b + kHeader;
}

void* malloc(size_t n) { return aligned_alloc(64, n); }

void free(void* p) {
  if (p == nullptr) return;
  unsigned char* b = static_cast<unsigned char*>(p) - kHeader;
  const int c = *reinterpret_cast<int*>(b);
  Guard g;
  *reinterpret_cast<void**>(b) = g_free[c];
  g_free[c] = b;
}

void* calloc(size_t count, size_t size) {
  if (size != 0 && count > SIZE_MAX / size) return nullptr;
  void* p = malloc(count * size);
  if (p != nullptr) std::memset(p, 0, count * size);
  return p;
}

void* realloc(void* p, size_t n) {
  if (p == nullptr) return malloc(n);
  const int c = *reinterpret_cast<int*>(static_cast<unsigned char*>(p) - kHeader);
  const size_t have = class_bytes(c) - kHeader;
  if (n <= have) return p;
  void* q = malloc(n);
  if (q != nullptr) {
    std::memcpy(q, p, have);
    free(p);
  }
  return q;
}

int posix_memalign(void** out, size_t, size_t n) {
  void* p = malloc(n);
  if (p == nullptr) return 12;  // ENOMEM
  *out = p;
  return 0;
}

// Usable bytes of a block (its class less the header), for the backend's accounting.
size_t neurite_block_bytes(void* p) {
  if (p == nullptr) return 0;
  return class_bytes(*reinterpret_cast<int*>(static_cast<unsigned char*>(p) - kHeader)) - kHeader;
}

}  // extern "C"
