// Direct convolution kernels (conv_direct_impl.h) for AVX-512 and AVX2, or
// for WebAssembly SIMD128 when compiled for the wasm backend, and the
// decision of when they replace im2col + GEMM.
#include <algorithm>
#include <cstring>

#include "common.h"
#include "kernels.h"

#if NEURITE_X86 || defined(__wasm_simd128__)
#if NEURITE_X86
#include <immintrin.h>
#else
#include <wasm_simd128.h>
#endif

namespace neurite {

#if NEURITE_X86

namespace direct_avx512 {
#define DC_ATTR __attribute__((target("avx512f,avx512vl,avx2,fma")))
#define DC_W 16
#define DC_VEC __m512
#define DC_LOAD(p) _mm512_loadu_ps(p)
#define DC_STORE(p, v) _mm512_storeu_ps(p, v)
#define DC_SET1(x) _mm512_set1_ps(x)
#define DC_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define DC_HSUM(v) _mm512_reduce_add_ps(v)
#include "conv_direct_impl.h"
#undef DC_ATTR
#undef DC_W
#undef DC_VEC
#undef DC_LOAD
#undef DC_STORE
#undef DC_SET1
#undef DC_FMA
#undef DC_HSUM
}  // namespace direct_avx512

namespace direct_avx2 {
__attribute__((target("avx2,fma"))) inline float hsum256(__m256 v) {
  // A fixed order: the high half onto the low, then pairs.
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}
#define DC_ATTR __attribute__((target("avx2,fma")))
#define DC_W 8
#define DC_VEC __m256
#define DC_LOAD(p) _mm256_loadu_ps(p)
#define DC_STORE(p, v) _mm256_storeu_ps(p, v)
#define DC_SET1(x) _mm256_set1_ps(x)
#define DC_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define DC_HSUM(v) hsum256(v)
#include "conv_direct_impl.h"
#undef DC_ATTR
#undef DC_W
#undef DC_VEC
#undef DC_LOAD
#undef DC_STORE
#undef DC_SET1
#undef DC_FMA
#undef DC_HSUM
}  // namespace direct_avx2

#else
namespace direct_simd128 {
inline float hsum128(v128_t v) {
  // A fixed order: lanes (0 + 2) + (1 + 3), as the x86 paths pair halves.
  const float a = wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 2);
  const float b = wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 3);
  return a + b;
}
#define DC_ATTR
#define DC_W 4
#define DC_VEC v128_t
#define DC_LOAD(p) wasm_v128_load(p)
#define DC_STORE(p, v) wasm_v128_store(p, v)
#define DC_SET1(x) wasm_f32x4_splat(x)
// SIMD128 has no fused multiply-add: a product rounded, then a sum.
#define DC_FMA(a, b, c) wasm_f32x4_add(wasm_f32x4_mul(a, b), c)
#define DC_HSUM(v) hsum128(v)
#include "conv_direct_impl.h"
#undef DC_ATTR
#undef DC_W
#undef DC_VEC
#undef DC_LOAD
#undef DC_STORE
#undef DC_SET1
#undef DC_FMA
#undef DC_HSUM
}  // namespace direct_simd128
#endif

namespace {
// Floats per vector of the active path, or 0 where there is no direct path.
long lanes() {
#if NEURITE_X86
  const int isa = active_isa();
  return isa >= ISA_AVX512 ? 16 : isa >= ISA_AVX2 ? 8 : 0;
#else
  return 4;
#endif
}

// Small layers only: stride 1, no dilation, one group, few input taps per
// output (C*KH*KW), a few dozen output channels, and rows that fit in four
// vectors. Bigger layers make products that GEMM runs well.
bool direct_shape(const Conv2dShape& s, long rowWidth) {
  const long w = lanes();
  if (w == 0 || s.N <= 0) return false;
  return s.groups == 1 && s.sH == 1 && s.sW == 1 && s.dH == 1 && s.dW == 1 && s.KH <= 7 && s.KW <= 7 && s.C * s.KH * s.KW <= 512 &&
         s.O <= 64 && s.C <= 64 && rowWidth <= 4 * w && s.OW > 0 && s.OH > 0 &&
         // The output size a stride-1 convolution gives (callers may pass another).
         s.OH == s.H + 2 * s.pH - s.KH + 1 && s.OW == s.W + 2 * s.pW - s.KW + 1;
}
}  // namespace

#if NEURITE_X86
#define DIRECT_CALL(fn, ...) (active_isa() >= ISA_AVX512 ? direct_avx512::fn(__VA_ARGS__) : direct_avx2::fn(__VA_ARGS__))
#else
#define DIRECT_CALL(fn, ...) direct_simd128::fn(__VA_ARGS__)
#endif

bool conv2d_direct_forward_f32(const float* x, const float* w, const float* bias, float* out, const Conv2dShape& s) {
  if (!direct_shape(s, s.OW)) return false;
  return DIRECT_CALL(direct_forward, x, w, bias, out, s);
}

bool conv2d_direct_backward_input_f32(const float* dy, const float* w, float* dx, const Conv2dShape& s) {
  if (!direct_shape(s, s.W) || s.pH > s.KH - 1 || s.pW > s.KW - 1) return false;
  return DIRECT_CALL(direct_backward_input, dy, w, dx, s);
}

bool conv2d_direct_backward_weight_f32(const float* x, const float* dy, float* gw, const Conv2dShape& s) {
  if (!direct_shape(s, s.OW)) return false;
  return DIRECT_CALL(direct_backward_weight, x, dy, gw, s);
}

}  // namespace neurite

#else

namespace neurite {
bool conv2d_direct_forward_f32(const float*, const float*, const float*, float*, const Conv2dShape&) { return false; }
bool conv2d_direct_backward_input_f32(const float*, const float*, float*, const Conv2dShape&) { return false; }
bool conv2d_direct_backward_weight_f32(const float*, const float*, float*, const Conv2dShape&) { return false; }
}  // namespace neurite

#endif
