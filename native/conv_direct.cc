// Direct convolution kernels (conv_direct_impl.h) for AVX-512 and AVX2, and
// the decision of when they replace im2col + GEMM.
#include <algorithm>
#include <cstring>

#include "common.h"
#include "kernels.h"

#if NEURITE_X86
#include <immintrin.h>

namespace neurite {

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

namespace {
// Floats per vector of the active path, or 0 where there is no direct path.
long lanes() {
  const int isa = active_isa();
  return isa >= ISA_AVX512 ? 16 : isa >= ISA_AVX2 ? 8 : 0;
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

bool conv2d_direct_forward_f32(const float* x, const float* w, const float* bias, float* out, const Conv2dShape& s) {
  if (!direct_shape(s, s.OW)) return false;
  return active_isa() >= ISA_AVX512 ? direct_avx512::direct_forward(x, w, bias, out, s) : direct_avx2::direct_forward(x, w, bias, out, s);
}

bool conv2d_direct_backward_input_f32(const float* dy, const float* w, float* dx, const Conv2dShape& s) {
  if (!direct_shape(s, s.W) || s.pH > s.KH - 1 || s.pW > s.KW - 1) return false;
  return active_isa() >= ISA_AVX512 ? direct_avx512::direct_backward_input(dy, w, dx, s) : direct_avx2::direct_backward_input(dy, w, dx, s);
}

bool conv2d_direct_backward_weight_f32(const float* x, const float* dy, float* gw, const Conv2dShape& s) {
  if (!direct_shape(s, s.OW)) return false;
  return active_isa() >= ISA_AVX512 ? direct_avx512::direct_backward_weight(x, dy, gw, s) : direct_avx2::direct_backward_weight(x, dy, gw, s);
}

}  // namespace neurite

#else

namespace neurite {
bool conv2d_direct_forward_f32(const float*, const float*, const float*, float*, const Conv2dShape&) { return false; }
bool conv2d_direct_backward_input_f32(const float*, const float*, float*, const Conv2dShape&) { return false; }
bool conv2d_direct_backward_weight_f32(const float*, const float*, float*, const Conv2dShape&) { return false; }
}  // namespace neurite

#endif
