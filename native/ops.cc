// Element-wise kernels, reductions, softmax cross-entropy, optimizer steps and
// the LSTM cell.  Everything is float32.
//
// Threading: each kernel runs single-threaded below a size threshold and is
// split across the pool (contiguous element ranges) above it.
// Transcendentals (exp, sigmoid, tanh) have an AVX2+FMA vector path
// (Cephes-style polynomials, ~1-2 ulp), the same polynomials in WebAssembly
// SIMD128 for the wasm build, and a portable libm path.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "common.h"
#include "kernels.h"

#if NEURITE_X86
#include <immintrin.h>
#endif
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

namespace neurite {

namespace {

// Elements per thread below which splitting does not pay.
constexpr long kMinPerThreadMem = 1L << 16;   // memory-bound loops
constexpr long kMinPerThreadMath = 1L << 13;  // exp / tanh / sigmoid

// ---------------------------------------------------------------------------
// Vector math (AVX2 + FMA)

#if NEURITE_X86
#define AVX2_ATTR __attribute__((target("avx2,fma")))
#define AVX2_INLINE AVX2_ATTR inline __attribute__((always_inline))

// exp(x): x = n*ln2 + r, |r| <= ln2/2, e^r by a degree-7 polynomial (Cephes
// expf coefficients), 2^n applied as two factors so that results in the
// subnormal range and overflow to +inf come out right.
AVX2_INLINE __m256 exp256(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-104.0f), hi = _mm256_set1_ps(89.0f);
  __m256 xc = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
  __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), xc);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 z = _mm256_mul_ps(r, r);
  __m256 p = _mm256_set1_ps(1.9875691500E-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507E-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073E-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894E-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459E-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201E-1f));
  p = _mm256_fmadd_ps(p, z, r);
  p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
  __m256i ni = _mm256_cvtps_epi32(n);
  __m256i n1 = _mm256_srai_epi32(ni, 1);
  __m256i n2 = _mm256_sub_epi32(ni, n1);
  const __m256i bias = _mm256_set1_epi32(127);
  __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
  __m256 res = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
  return _mm256_blendv_ps(res, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));  // NaN in, NaN out
}

AVX2_INLINE __m256 sigmoid256(__m256 x) {
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256 e = exp256(_mm256_sub_ps(_mm256_setzero_ps(), x));
  return _mm256_div_ps(one, _mm256_add_ps(one, e));
}

// tanh: |x| < 0.625 odd polynomial (Cephes tanhf), else 1 - 2/(e^{2|x|}+1)
// with the sign of x.
AVX2_INLINE __m256 tanh256(__m256 x) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  const __m256 one = _mm256_set1_ps(1.0f);
  __m256 ax = _mm256_andnot_ps(sign, x);
  __m256 z = _mm256_mul_ps(x, x);
  __m256 ps = _mm256_set1_ps(-5.70498872745E-3f);
  ps = _mm256_fmadd_ps(ps, z, _mm256_set1_ps(2.06390887954E-2f));
  ps = _mm256_fmadd_ps(ps, z, _mm256_set1_ps(-5.37397155531E-2f));
  ps = _mm256_fmadd_ps(ps, z, _mm256_set1_ps(1.33314422036E-1f));
  ps = _mm256_fmadd_ps(ps, z, _mm256_set1_ps(-3.33332819422E-1f));
  __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(ps, z), x, x);
  __m256 e = exp256(_mm256_add_ps(ax, ax));
  __m256 large = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
  large = _mm256_or_ps(large, _mm256_and_ps(x, sign));
  return _mm256_blendv_ps(large, small, _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_LT_OQ));
}

enum MathFn { FN_EXP, FN_SIGMOID, FN_TANH };

template <int F>
AVX2_INLINE __m256 apply256(__m256 x) {
  if (F == FN_EXP) return exp256(x);
  if (F == FN_SIGMOID) return sigmoid256(x);
  return tanh256(x);
}

template <int F>
AVX2_ATTR void math_avx2(const float* x, float* out, long n) {
  long i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, apply256<F>(_mm256_loadu_ps(x + i)));
  if (i < n) {
    // Tail through the same vector code so results never depend on position.
    alignas(32) float buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    long r = n - i;
    std::memcpy(buf, x + i, r * sizeof(float));
    _mm256_store_ps(buf, apply256<F>(_mm256_load_ps(buf)));
    std::memcpy(out + i, buf, r * sizeof(float));
  }
}
#endif

#if defined(__wasm_simd128__)
// The AVX2 path's polynomials in SIMD128, which has no fused multiply-add: a
// product and a sum, one rounding more per step, still within the reference's
// tolerance. libm's expf and tanhf one element at a time took a quarter of a
// small network's training step.
inline v128_t madd128(v128_t a, v128_t b, v128_t c) { return wasm_f32x4_add(wasm_f32x4_mul(a, b), c); }

inline v128_t exp128(v128_t x) {
  v128_t xc = wasm_f32x4_pmin(wasm_f32x4_pmax(x, wasm_f32x4_splat(-104.0f)), wasm_f32x4_splat(89.0f));
  v128_t n = wasm_f32x4_nearest(wasm_f32x4_mul(xc, wasm_f32x4_splat(1.44269504088896341f)));
  v128_t r = wasm_f32x4_sub(xc, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, wasm_f32x4_splat(-2.12194440e-4f)));
  v128_t z = wasm_f32x4_mul(r, r);
  v128_t p = wasm_f32x4_splat(1.9875691500E-4f);
  p = madd128(p, r, wasm_f32x4_splat(1.3981999507E-3f));
  p = madd128(p, r, wasm_f32x4_splat(8.3334519073E-3f));
  p = madd128(p, r, wasm_f32x4_splat(4.1665795894E-2f));
  p = madd128(p, r, wasm_f32x4_splat(1.6666665459E-1f));
  p = madd128(p, r, wasm_f32x4_splat(5.0000001201E-1f));
  p = madd128(p, z, r);
  p = wasm_f32x4_add(p, wasm_f32x4_splat(1.0f));
  v128_t ni = wasm_i32x4_trunc_sat_f32x4(n);
  v128_t n1 = wasm_i32x4_shr(ni, 1);
  v128_t n2 = wasm_i32x4_sub(ni, n1);
  const v128_t bias = wasm_i32x4_splat(127);
  v128_t s1 = wasm_i32x4_shl(wasm_i32x4_add(n1, bias), 23);
  v128_t s2 = wasm_i32x4_shl(wasm_i32x4_add(n2, bias), 23);
  v128_t res = wasm_f32x4_mul(wasm_f32x4_mul(p, s1), s2);
  return wasm_v128_bitselect(x, res, wasm_f32x4_ne(x, x));  // NaN in, NaN out
}

inline v128_t sigmoid128(v128_t x) {
  const v128_t one = wasm_f32x4_splat(1.0f);
  return wasm_f32x4_div(one, wasm_f32x4_add(one, exp128(wasm_f32x4_neg(x))));
}

inline v128_t tanh128(v128_t x) {
  const v128_t one = wasm_f32x4_splat(1.0f);
  const v128_t sign = wasm_f32x4_splat(-0.0f);
  v128_t ax = wasm_f32x4_abs(x);
  v128_t z = wasm_f32x4_mul(x, x);
  v128_t ps = wasm_f32x4_splat(-5.70498872745E-3f);
  ps = madd128(ps, z, wasm_f32x4_splat(2.06390887954E-2f));
  ps = madd128(ps, z, wasm_f32x4_splat(-5.37397155531E-2f));
  ps = madd128(ps, z, wasm_f32x4_splat(1.33314422036E-1f));
  ps = madd128(ps, z, wasm_f32x4_splat(-3.33332819422E-1f));
  v128_t small = madd128(wasm_f32x4_mul(ps, z), x, x);
  v128_t e = exp128(wasm_f32x4_add(ax, ax));
  v128_t large = wasm_f32x4_sub(one, wasm_f32x4_div(wasm_f32x4_splat(2.0f), wasm_f32x4_add(e, one)));
  large = wasm_v128_or(large, wasm_v128_and(x, sign));
  return wasm_v128_bitselect(small, large, wasm_f32x4_lt(ax, wasm_f32x4_splat(0.625f)));
}

template <int F>
inline v128_t apply128(v128_t x) {
  if (F == 0) return exp128(x);
  if (F == 1) return sigmoid128(x);
  return tanh128(x);
}

template <int F>
void math_simd128(const float* x, float* out, long n) {
  long i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(out + i, apply128<F>(wasm_v128_load(x + i)));
  if (i < n) {
    // Tail through the same vector code so results never depend on position.
    alignas(16) float buf[4] = {0, 0, 0, 0};
    long r = n - i;
    std::memcpy(buf, x + i, r * sizeof(float));
    wasm_v128_store(buf, apply128<F>(wasm_v128_load(buf)));
    std::memcpy(out + i, buf, r * sizeof(float));
  }
}
#endif

inline float sigmoid_scalar(float x) { return 1.0f / (1.0f + std::exp(-x)); }

template <int F>
void math_scalar(const float* x, float* out, long n) {
  for (long i = 0; i < n; ++i) {
    float v = x[i];
    out[i] = F == 0 ? std::exp(v) : F == 1 ? sigmoid_scalar(v) : std::tanh(v);
  }
}

// Serial entry used both by the public wrappers and by the LSTM cell.
template <int F>
void math_serial(const float* x, float* out, long n) {
#if NEURITE_X86
  if (active_isa() >= ISA_AVX2) {
    math_avx2<F>(x, out, n);
    return;
  }
#endif
#if defined(__wasm_simd128__)
  math_simd128<F>(x, out, n);
  return;
#endif
  math_scalar<F>(x, out, n);
}

template <int F>
void math_parallel(const float* x, float* out, long n) {
  parallel_range(n, kMinPerThreadMath, [=](long b, long e) { math_serial<F>(x + b, out + b, e - b); });
}

}  // namespace

// ---------------------------------------------------------------------------
// Element-wise

void exp_f32(const float* x, float* out, long n) { math_parallel<0>(x, out, n); }
void sigmoid_f32(const float* x, float* out, long n) { math_parallel<1>(x, out, n); }
void tanh_f32(const float* x, float* out, long n) { math_parallel<2>(x, out, n); }

void relu_f32(const float* x, float* out, long n) {
  parallel_range(n, kMinPerThreadMem, [=](long b, long e) {
    for (long i = b; i < e; ++i) {
      float v = x[i];
      out[i] = v < 0.0f ? 0.0f : v;  // NaN propagates, like torch.relu
    }
  });
}

#if NEURITE_X86
namespace {
// Branch-free: on signs that change at random (any activation), the scalar
// loop's branch mispredicted about half the time, 1.3 ms for LeNet-5's first
// layer (301k elements) against 0.03 ms for the forward ReLU.
AVX2_ATTR void relu_backward_avx2(const float* x, const float* g, float* out, long b, long e) {
  const __m256 zero = _mm256_setzero_ps();
  long i = b;
  for (; i + 8 <= e; i += 8) {
    // x <= 0 (false for NaN, which passes g on as the scalar rule does) selects 0.
    __m256 dead = _mm256_cmp_ps(_mm256_loadu_ps(x + i), zero, _CMP_LE_OQ);
    _mm256_storeu_ps(out + i, _mm256_andnot_ps(dead, _mm256_loadu_ps(g + i)));
  }
  for (; i < e; ++i) out[i] = x[i] <= 0.0f ? 0.0f : g[i];
}
}  // namespace
#endif

void relu_backward_f32(const float* x, const float* g, float* out, long n) {
  // torch threshold_backward: x <= 0 ? 0 : g
  parallel_range(n, kMinPerThreadMem, [=](long b, long e) {
#if NEURITE_X86
    if (active_isa() >= ISA_AVX2) {
      relu_backward_avx2(x, g, out, b, e);
      return;
    }
#endif
    for (long i = b; i < e; ++i) out[i] = x[i] <= 0.0f ? 0.0f : g[i];
  });
}

void binary_f32(int op, const float* a, const float* b, float* out, long n) {
  parallel_range(n, kMinPerThreadMem, [=](long s, long e) {
    switch (op) {
      case BIN_ADD:
        for (long i = s; i < e; ++i) out[i] = a[i] + b[i];
        break;
      case BIN_SUB:
        for (long i = s; i < e; ++i) out[i] = a[i] - b[i];
        break;
      case BIN_MUL:
        for (long i = s; i < e; ++i) out[i] = a[i] * b[i];
        break;
      default:
        for (long i = s; i < e; ++i) out[i] = a[i] / b[i];
        break;
    }
  });
}

// A chain of element-wise kernels in one pass (a compiled step's fusion): the
// instructions run chunk by chunk, each on the chunk's elements, so element i
// meets the same operations in the same order as the separate kernels; and
// each operation is the one those kernels apply (the math functions through
// math_serial, whose result does not depend on an element's position), so
// the bits are the same. What changes is memory traffic: a temporary lives in
// a chunk buffer instead of an array written and read back.
void elementwise_program_f32(const int32_t* code, int nInstr, float* const* arrays, const long* lengths, int nArrays, long n) {
  constexpr long kChunk = 512;  // a multiple of every vector width: only the final chunk has a tail
  parallel_range(
      n, kMinPerThreadMem / 4,
      [=](long b, long e) {
        alignas(64) float temps[kProgramTemps][kChunk];
        alignas(64) float scalars[2][kChunk];
        for (long c = b; c < e; c += kChunk) {
          const long len = std::min(kChunk, e - c);
          for (int k = 0; k < nInstr; ++k) {
            const int32_t* ins = code + 4 * k;
            // A slot below nArrays is an array (read at the chunk, or a scalar broadcast); above, a temporary.
            auto src = [&](int slot, int which) -> const float* {
              if (slot >= nArrays) return temps[slot - nArrays];
              if (lengths[slot] == 1) {
                std::fill(scalars[which], scalars[which] + len, arrays[slot][0]);
                return scalars[which];
              }
              return arrays[slot] + c;
            };
            float* out = ins[1] >= nArrays ? temps[ins[1] - nArrays] : arrays[ins[1]] + c;
            const float* x = src(ins[2], 0);
            switch (ins[0]) {
              case PROG_RELU:
                for (long i = 0; i < len; ++i) out[i] = x[i] < 0.0f ? 0.0f : x[i];
                break;
              case PROG_SIGMOID:
                math_serial<1>(x, out, len);
                break;
              case PROG_TANH:
                math_serial<2>(x, out, len);
                break;
              case PROG_EXP:
                math_serial<0>(x, out, len);
                break;
              case PROG_NEG:
                for (long i = 0; i < len; ++i) out[i] = -x[i];
                break;
              case PROG_RELU_BACKWARD: {
                const float* g = src(ins[3], 1);
                for (long i = 0; i < len; ++i) out[i] = x[i] <= 0.0f ? 0.0f : g[i];
                break;
              }
              default: {
                const float* y = src(ins[3], 1);
                switch (ins[0]) {
                  case PROG_ADD:
                    for (long i = 0; i < len; ++i) out[i] = x[i] + y[i];
                    break;
                  case PROG_SUB:
                    for (long i = 0; i < len; ++i) out[i] = x[i] - y[i];
                    break;
                  case PROG_MUL:
                    for (long i = 0; i < len; ++i) out[i] = x[i] * y[i];
                    break;
                  default:
                    for (long i = 0; i < len; ++i) out[i] = x[i] / y[i];
                    break;
                }
              }
            }
          }
        }
      },
      16);
}

void bias_add_f32(const float* x, const float* bias, float* out, long rows, long cols) {
  if (cols <= 0) return;
  long minRows = kMinPerThreadMem / cols + 1;
  parallel_range(
      rows, minRows,
      [=](long b, long e) {
        for (long i = b; i < e; ++i) {
          const float* xr = x + i * cols;
          float* o = out + i * cols;
          for (long j = 0; j < cols; ++j) o[j] = xr[j] + bias[j];
        }
      },
      1);
}

// ---------------------------------------------------------------------------
// Reductions (double accumulators, result rounded to float once)

void sum_rows_f32(const float* x, float* out, long rows, long cols) {
  if (cols <= 0) return;
  if (rows <= 0) {
    for (long j = 0; j < cols; ++j) out[j] = 0.0f;
    return;
  }
  // Split columns across threads (each thread owns a column stripe).
  long minCols = 64;
  if (rows * cols < 2 * kMinPerThreadMem) minCols = cols;  // small: serial
  parallel_range(
      cols, minCols,
      [=](long b, long e) {
        long w = e - b;
        double* acc = static_cast<double*>(scratch(SCRATCH_TMP, w * sizeof(double)));
        for (long j = 0; j < w; ++j) acc[j] = 0.0;
        for (long i = 0; i < rows; ++i) {
          const float* xr = x + i * cols + b;
          for (long j = 0; j < w; ++j) acc[j] += static_cast<double>(xr[j]);
        }
        for (long j = 0; j < w; ++j) out[b + j] = static_cast<float>(acc[j]);
      },
      16);
}

namespace {
double sum_serial(const float* x, long n) {
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  long i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) s[k] += static_cast<double>(x[i + k]);
  double t = 0;
  for (; i < n; ++i) t += static_cast<double>(x[i]);
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + t;
}
struct SumCtx {
  const float* x;
  long n;
  double part[16];
};
void sum_task(void* c, int t, int parts) {
  SumCtx* s = static_cast<SumCtx*>(c);
  long b = split_point(s->n, t, parts, 16), e = split_point(s->n, t + 1, parts, 16);
  s->part[t] = sum_serial(s->x + b, e - b);
}
}  // namespace

// out[c] = sum over o < outer, i < inner of x[(o*C + c)*inner + i]: a sum over
// every axis but one (a convolution's bias gradient sums [N, C, H, W] over
// N, H and W). Each channel is summed in double in one fixed order; each row
// in sum_serial's eight lanes, which vectorise (one running sum is a chain of
// dependent additions: 8% of a LeNet-5 step for its two bias gradients).
void sum_axis_f32(const float* x, float* out, long outer, long C, long inner) {
  if (C <= 0) return;
  long minChannels = kMinPerThreadMem / (outer * inner + 1) + 1;
  parallel_range(
      C, minChannels,
      [=](long b, long e) {
        for (long c = b; c < e; ++c) {
          double acc = 0.0;
          for (long o = 0; o < outer; ++o) {
            const float* row = x + (o * C + c) * inner;
            acc += sum_serial(row, inner);
          }
          out[c] = static_cast<float>(acc);
        }
      },
      1);
}

// Parts of a reduction chosen from its size alone, never from the thread
// count, and added in order: the same bits on any number of threads.
static int reduction_parts(long n, long minPerPart) {
  long p = n / minPerPart;
  if (p > 16) p = 16;
  return p < 1 ? 1 : static_cast<int>(p);
}

double sum_all_f32(const float* x, long n) {
  const int parts = reduction_parts(n, kMinPerThreadMem);
  if (parts <= 1) return sum_serial(x, n);
  SumCtx ctx;
  ctx.x = x;
  ctx.n = n;
  for (int i = 0; i < 16; ++i) ctx.part[i] = 0;
  parallel_parts(parts, &sum_task, &ctx);
  double total = 0;
  for (int i = 0; i < parts; ++i) total += ctx.part[i];
  return total;
}

// ---------------------------------------------------------------------------
// Softmax cross-entropy.
//   m = max_j x_j;  s = sum_j exp(x_j - m);  lse = m + log(s)
//   loss_i = lse - x_{label}
//   grad_ij = exp(x_ij - m) / s - [j == label]

namespace {
struct XentCtx {
  const float* logits;
  const int32_t* labels;
  float* loss;
  float* grad;
  long n, c;
  double part[16];
};
void xent_rows(XentCtx* k, long b, long e, double* total) {
  const long c = k->c;
  float* tmp = k->grad ? nullptr : static_cast<float*>(scratch(SCRATCH_TMP, c * sizeof(float)));
  double acc = 0;
  for (long i = b; i < e; ++i) {
    const float* x = k->logits + i * c;
    float* g = k->grad ? k->grad + i * c : tmp;
    float m = -std::numeric_limits<float>::infinity();
    for (long j = 0; j < c; ++j) m = x[j] > m ? x[j] : m;
    for (long j = 0; j < c; ++j) g[j] = x[j] - m;
    math_serial<0>(g, g, c);
    double s = 0;
    for (long j = 0; j < c; ++j) s += static_cast<double>(g[j]);
    const int32_t lab = k->labels[i];
    double lse = static_cast<double>(m) + std::log(s);
    double li = lse - static_cast<double>(x[lab]);
    k->loss[i] = static_cast<float>(li);
    acc += li;
    if (k->grad) {
      double inv = 1.0 / s;
      for (long j = 0; j < c; ++j) g[j] = static_cast<float>(static_cast<double>(g[j]) * inv);
      g[lab] -= 1.0f;
    }
  }
  *total = acc;
}
void xent_task(void* c, int t, int parts) {
  XentCtx* k = static_cast<XentCtx*>(c);
  long b = split_point(k->n, t, parts, 1), e = split_point(k->n, t + 1, parts, 1);
  xent_rows(k, b, e, &k->part[t]);
}
}  // namespace

double softmax_xent_f32(const float* logits, const int32_t* labels, float* loss, float* grad, long n, long c) {
  XentCtx k;
  k.logits = logits;
  k.labels = labels;
  k.loss = loss;
  k.grad = grad;
  k.n = n;
  k.c = c;
  for (int i = 0; i < 16; ++i) k.part[i] = 0;
  // Rows per part from the size alone (see reduction_parts).
  int parts = n < 2 ? 1 : reduction_parts(n * c, kMinPerThreadMath);
  if (parts > n) parts = static_cast<int>(n);
  if (parts <= 1) {
    xent_rows(&k, 0, n, &k.part[0]);
    return k.part[0];
  }
  parallel_parts(parts, &xent_task, &k);
  double total = 0;
  for (int i = 0; i < parts; ++i) total += k.part[i];
  return total;
}

// ---------------------------------------------------------------------------
// log softmax along the lines of x viewed as [outer, size, inner]
// (Kernels.logSoftmax) and its adjoint. The reference's formula, each line's
// maximum m and sum s = sum exp(x - m) in double, out = x - (m + log s) rounded
// once, with the exponentials taken by the vector exp over a whole block at
// a time: a classifier's lines are short (ten classes), too short to vectorise
// one by one. NaN and infinities need no special case: a NaN, or a line whose
// maximum is infinite, makes the sum NaN through exp, as in the reference.
// Blocks split the outer index only, so no line's arithmetic depends on the
// number of threads.

// The loops around the vector exp are cheap next to it; clang's vectoriser
// would multiply their code (versions with run-time alias checks, unrolled
// tails) for no measurable gain, which the wasm module pays for in size.
#if defined(__clang__)
#define NT_PLAIN_LOOP _Pragma("clang loop vectorize(disable) interleave(disable) unroll(disable)")
#else
#define NT_PLAIN_LOOP
#endif

namespace {
// One copy of the vector exp for both kernels (inlined into each, it doubled the wasm module's growth).
__attribute__((noinline)) void exp_lines(const float* x, float* out, long n) { math_serial<0>(x, out, n); }

// f(e, l) for every element e of `outer` rows viewed as [outer, size, inner],
// in memory order, with l the index of e's line (o * inner + i).
template <class F>
inline void each_element(long outer, long size, long inner, F f) {
  NT_PLAIN_LOOP
  for (long o = 0; o < outer; ++o)
    NT_PLAIN_LOOP
    for (long j = 0; j < size; ++j)
      NT_PLAIN_LOOP
      for (long i = 0; i < inner; ++i) f(o * size * inner + j * inner + i, o * inner + i);
}

void log_softmax_block(const float* x, float* out, long ob, long oe, long size, long inner) {
  const long rows = oe - ob;
  const long lines = rows * inner;
  // Per line: its sum (then its shift) in double and its maximum, in this thread's scratch.
  double* s = static_cast<double*>(scratch(SCRATCH_TMP, static_cast<size_t>(lines) * (sizeof(double) + sizeof(float))));
  float* m = reinterpret_cast<float*>(s + lines);
  NT_PLAIN_LOOP
  for (long l = 0; l < lines; ++l) {
    s[l] = 0.0;
    m[l] = -std::numeric_limits<float>::infinity();
  }
  const float* xb = x + ob * size * inner;
  float* yb = out + ob * size * inner;
  each_element(rows, size, inner, [=](long e, long l) { m[l] = xb[e] > m[l] ? xb[e] : m[l]; });
  each_element(rows, size, inner, [=](long e, long l) { yb[e] = xb[e] - m[l]; });
  exp_lines(yb, yb, rows * size * inner);
  each_element(rows, size, inner, [=](long e, long l) { s[l] += static_cast<double>(yb[e]); });
  NT_PLAIN_LOOP
  for (long l = 0; l < lines; ++l) s[l] = static_cast<double>(m[l]) + std::log(s[l]);
  each_element(rows, size, inner, [=](long e, long l) { yb[e] = static_cast<float>(static_cast<double>(xb[e]) - s[l]); });
}

void log_softmax_backward_block(const float* g, const float* y, float* dx, long ob, long oe, long size, long inner) {
  const long rows = oe - ob;
  const long lines = rows * inner;
  double* s = static_cast<double*>(scratch(SCRATCH_TMP, static_cast<size_t>(lines) * sizeof(double)));
  NT_PLAIN_LOOP
  for (long l = 0; l < lines; ++l) s[l] = 0.0;
  const float* gb = g + ob * size * inner;
  float* db = dx + ob * size * inner;
  each_element(rows, size, inner, [=](long e, long l) { s[l] += static_cast<double>(gb[e]); });
  exp_lines(y + ob * size * inner, db, rows * size * inner);
  each_element(rows, size, inner, [=](long e, long l) {
    db[e] = static_cast<float>(static_cast<double>(gb[e]) - static_cast<double>(db[e]) * s[l]);
  });
}
}  // namespace

void log_softmax_f32(const float* x, float* out, long outer, long size, long inner) {
  if (outer <= 0 || size <= 0 || inner <= 0) return;
  long minOuter = kMinPerThreadMath / (size * inner) + 1;
  parallel_range(outer, minOuter, [=](long b, long e) { log_softmax_block(x, out, b, e, size, inner); }, 1);
}

void log_softmax_backward_f32(const float* g, const float* y, float* dx, long outer, long size, long inner) {
  if (outer <= 0 || size <= 0 || inner <= 0) return;
  long minOuter = kMinPerThreadMath / (size * inner) + 1;
  parallel_range(outer, minOuter, [=](long b, long e) { log_softmax_backward_block(g, y, dx, b, e, size, inner); }, 1);
}

// ---------------------------------------------------------------------------
// Optimizer steps in AVX2 and AVX-512 (optim_impl.h): the scalar loops below,
// 8 or 16 elements at a time, rounding exactly as they do. A scalar compile of
// these loops (baseline x86-64 flags) ran Adam at 2.5 ns per parameter, a third
// of mlp-wide's training step. Adam is bound by its two divisions and one
// square root per element, which Zen 4/5 issue at the same rate in 512-bit as
// in 256-bit registers: on a Zen 5 the AVX-512 loop ran a 669k-parameter
// update (mlp-wide) in 203 us against 313 for the AVX2 loop, data in cache.

#if NEURITE_X86
namespace {

struct SgdConsts {
  float wd, mom, damp1, neglr;
  bool useWd, useMom, nesterov, first, maximize;
};

struct AdamConsts {
  float negStep, bc2sqrt, eps, wd, decay, w1, w1c, b2, w2;
  bool smallW, useWd, decoupled, amsgrad, maximize;
};

namespace optim_avx2 {
#define OPT_ATTR __attribute__((target("avx2,fma")))
#define OPT_ISA 1
#include "optim_impl.h"
#undef OPT_ATTR
#undef OPT_ISA
}  // namespace optim_avx2

namespace optim_avx512 {
#define OPT_ATTR __attribute__((target("avx512f,avx2,fma")))
#define OPT_ISA 2
#include "optim_impl.h"
#undef OPT_ATTR
#undef OPT_ISA
}  // namespace optim_avx512

}  // namespace
#endif

// ---------------------------------------------------------------------------
// Optimizers.  Transcriptions of torch.optim's single-tensor (non-foreach,
// non-fused) code paths: tensor arithmetic in float32, Python scalars as
// double and rounded to float where they meet a tensor.  Fused multiply-add
// contraction is disabled (-ffp-contract=off), so each op rounds once.

void sgd_step_f32(float* param, const float* grad, float* buf, long n, const SgdParams& p) {
  // torch.optim.SGD (_single_tensor_sgd):
  //   g = maximize ? -grad : grad
  //   if weight_decay != 0:  g = g + weight_decay * param
  //   if momentum != 0:
  //     buf = first step ? g : momentum * buf + (1 - dampening) * g
  //     g = nesterov ? g + momentum * buf : buf
  //   param = param + (-lr) * g
  const float wd = static_cast<float>(p.weightDecay);
  const float mom = static_cast<float>(p.momentum);
  const float damp1 = static_cast<float>(1.0 - p.dampening);
  const float neglr = static_cast<float>(-p.lr);
  const bool useWd = p.weightDecay != 0.0, useMom = p.momentum != 0.0;
  const bool nesterov = p.nesterov, first = p.firstStep, maximize = p.maximize;
  parallel_range(n, kMinPerThreadMem, [=](long b, long e) {
#if NEURITE_X86
    const SgdConsts k{wd, mom, damp1, neglr, useWd, useMom, nesterov, first, maximize};
    if (active_isa() >= ISA_AVX512) b = optim_avx512::sgd(param, grad, buf, b, e, k);
    if (active_isa() >= ISA_AVX2) b = optim_avx2::sgd(param, grad, buf, b, e, k);
#endif
    for (long i = b; i < e; ++i) {
      float g = maximize ? -grad[i] : grad[i];
      float w = param[i];
      if (useWd) g = g + wd * w;
      if (useMom) {
        float m = first ? g : buf[i] * mom + damp1 * g;
        buf[i] = m;
        g = nesterov ? g + mom * m : m;
      }
      param[i] = w + neglr * g;
    }
  });
}

void adam_step_f32(float* param, const float* grad, float* m, float* v, float* vmax, long n, const AdamParams& p) {
  // torch.optim.Adam / AdamW (_single_tensor_adam, capturable=False):
  //   g = maximize ? -grad : grad
  //   if weight_decay != 0:
  //     decoupled (AdamW): param = param * (1 - lr * weight_decay)
  //     else:              g = g + weight_decay * param
  //   m = lerp(m, g, 1 - beta1)            # m + w * (g - m) for w < 0.5
  //   v = v * beta2 + (1 - beta2) * g * g  # mul_ then addcmul_
  //   bc1 = 1 - beta1^step, bc2 = 1 - beta2^step     (double)
  //   step_size = lr / bc1, bc2_sqrt = sqrt(bc2)     (double)
  //   if amsgrad: vmax = max(vmax, v); denom = sqrt(vmax) / bc2_sqrt + eps
  //   else:       denom = sqrt(v) / bc2_sqrt + eps
  //   param = param + (-step_size) * m / denom       # addcdiv_
  const double bc1 = 1.0 - std::pow(p.beta1, p.step);
  const double bc2 = 1.0 - std::pow(p.beta2, p.step);
  const float negStep = static_cast<float>(-(p.lr / bc1));
  const float bc2sqrt = static_cast<float>(std::sqrt(bc2));
  const float eps = static_cast<float>(p.eps);
  const float wd = static_cast<float>(p.weightDecay);
  const float decay = static_cast<float>(1.0 - p.lr * p.weightDecay);
  const double w1d = 1.0 - p.beta1;
  const float w1 = static_cast<float>(w1d);
  const float w1c = static_cast<float>(1.0 - static_cast<double>(w1));  // lerp's (1 - weight) in float math
  const bool smallW = std::fabs(w1d) < 0.5;
  const float b2 = static_cast<float>(p.beta2);
  const float w2 = static_cast<float>(1.0 - p.beta2);
  const bool useWd = p.weightDecay != 0.0, decoupled = p.decoupled, amsgrad = p.amsgrad, maximize = p.maximize;
  parallel_range(n, kMinPerThreadMem / 4, [=](long b, long e) {
#if NEURITE_X86
    if (active_isa() >= ISA_AVX2) {
      const AdamConsts k{negStep, bc2sqrt, eps, wd, decay, w1, w1c, b2, w2, smallW, useWd, decoupled, amsgrad, maximize};
      if (active_isa() >= ISA_AVX512) b = optim_avx512::adam(param, grad, m, v, vmax, b, e, k);
      b = optim_avx2::adam(param, grad, m, v, vmax, b, e, k);
    }
#endif
    for (long i = b; i < e; ++i) {
      float g = maximize ? -grad[i] : grad[i];
      float w = param[i];
      if (useWd) {
        if (decoupled)
          w = w * decay;
        else
          g = g + wd * w;
      }
      float mi = m[i];
      mi = smallW ? mi + w1 * (g - mi) : g - (g - mi) * w1c;
      m[i] = mi;
      float vi = v[i] * b2;
      vi = vi + w2 * g * g;
      v[i] = vi;
      float denomBase = vi;
      if (amsgrad) {
        float vm = vmax[i];
        // torch.maximum propagates NaN
        vm = (vm != vm || vi != vi) ? vm + vi : (vm > vi ? vm : vi);
        vmax[i] = vm;
        denomBase = vm;
      }
      float denom = std::sqrt(denomBase) / bc2sqrt + eps;
      param[i] = w + negStep * mi / denom;
    }
  });
}

// ---------------------------------------------------------------------------
// LSTM cell.  Gate layout per row: [i | f | g | o], each H wide.
//
// Forward (pre-activations a_i, a_f, a_g, a_o):
//   i = sigmoid(a_i), f = sigmoid(a_f), g = tanh(a_g), o = sigmoid(a_o)
//   c = f * cPrev + i * g
//   h = o * tanh(c)
// outGates receives [i | f | g | o] (activated), outC = c, outH = h.
//
// Backward (given dh = dL/dh and dc = dL/dc from above; either may be null =
// zero), with tc = tanh(c):
//   dO   = dh * tc
//   dC   = dc + dh * o * (1 - tc^2)         (total gradient reaching c)
//   dI   = dC * g,  dF = dC * cPrev,  dG = dC * i
//   dcPrev = dC * f
//   d(a_i) = dI * i * (1 - i)
//   d(a_f) = dF * f * (1 - f)
//   d(a_g) = dG * (1 - g^2)
//   d(a_o) = dO * o * (1 - o)

void lstm_cell_forward_f32(const float* gates, const float* cPrev, float* outC, float* outH, float* outGates, long n,
                           long H) {
  if (H <= 0) return;
  long minRows = kMinPerThreadMath / (4 * H) + 1;
  parallel_range(
      n, minRows,
      [=](long b, long e) {
        for (long r = b; r < e; ++r) {
          const float* a = gates + r * 4 * H;
          float* act = outGates + r * 4 * H;
          math_serial<1>(a, act, H);                  // i
          math_serial<1>(a + H, act + H, H);          // f
          math_serial<2>(a + 2 * H, act + 2 * H, H);  // g
          math_serial<1>(a + 3 * H, act + 3 * H, H);  // o
          const float* cp = cPrev + r * H;
          float* c = outC + r * H;
          float* h = outH + r * H;
          for (long j = 0; j < H; ++j) c[j] = act[H + j] * cp[j] + act[j] * act[2 * H + j];
          math_serial<2>(c, h, H);
          for (long j = 0; j < H; ++j) h[j] = act[3 * H + j] * h[j];
        }
      },
      1);
}

void lstm_cell_backward_f32(const float* gatesAct, const float* cPrev, const float* c, const float* dh,
                            const float* dc, float* dGates, float* dcPrev, long n, long H) {
  if (H <= 0) return;
  long minRows = kMinPerThreadMath / (4 * H) + 1;
  parallel_range(
      n, minRows,
      [=](long b, long e) {
        float* tc = static_cast<float*>(scratch(SCRATCH_TMP, H * sizeof(float)));
        for (long r = b; r < e; ++r) {
          math_serial<2>(c + r * H, tc, H);
          const float* act = gatesAct + r * 4 * H;
          const float* cp = cPrev + r * H;
          const float* dhr = dh ? dh + r * H : nullptr;
          const float* dcr = dc ? dc + r * H : nullptr;
          float* dg = dGates + r * 4 * H;
          float* dcp = dcPrev + r * H;
          for (long j = 0; j < H; ++j) {
            // Read everything first: dGates may alias gatesAct and dcPrev may
            // alias dc (element-wise in place).
            const float gi = act[j], gf = act[H + j], gg = act[2 * H + j], go = act[3 * H + j];
            const float t = tc[j];
            const float dhj = dhr ? dhr[j] : 0.0f;
            const float dcj = dcr ? dcr[j] : 0.0f;
            const float cpj = cp[j];
            const float dO = dhj * t;
            const float dC = dcj + dhj * go * (1.0f - t * t);
            const float dI = dC * gg, dF = dC * cpj, dG = dC * gi;
            dcp[j] = dC * gf;
            dg[j] = dI * gi * (1.0f - gi);
            dg[H + j] = dF * gf * (1.0f - gf);
            dg[2 * H + j] = dG * (1.0f - gg * gg);
            dg[3 * H + j] = dO * go * (1.0f - go);
          }
        }
      },
      1);
}

}  // namespace neurite
