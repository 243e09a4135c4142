// 2-D convolution (im2col + sgemm) and pooling, NCHW float32.
//
// Conventions (PyTorch's):
//   x [N, C, H, W], w [O, C/groups, KH, KW], bias [O], out [N, O, OH, OW]
//   OH = (H + 2*padH - dilH*(KH-1) - 1) / strideH + 1   (same for W)
// Per image n and group g:
//   col_g  = im2col(x[n, g*Cg:(g+1)*Cg])            [Cg*KH*KW, OH*OW]
//   out_g  = w_g [Og, Cg*KH*KW] x col_g (+ bias)     [Og, OH*OW]
// Backward input:  col = w_g^T x gradOut_g, then col2im (scatter-add).
// Backward weight: gradW_g = sum_n gradOut_g[n] x col_g[n]^T;
//                  gradBias[o] = sum_{n, oh, ow} gradOut[n, o, oh, ow].
// A 1x1 / stride-1 / no-padding convolution skips im2col (col == x).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "common.h"
#include "kernels.h"

#if NEURITE_X86
#include <immintrin.h>
#endif

namespace neurite {

namespace {

inline bool is_pointwise(const Conv2dShape& s) {
  return s.KH == 1 && s.KW == 1 && s.sH == 1 && s.sW == 1 && s.pH == 0 && s.pW == 0;
}

// Range of output columns ow whose input column ow*sW + off lies in [0, W).
inline void valid_range(long off, long stride, long W, long OW, long* lo, long* hi) {
  long a = off >= 0 ? 0 : (-off + stride - 1) / stride;
  long b = W - off <= 0 ? 0 : (W - off + stride - 1) / stride;
  if (a > OW) a = OW;
  if (b > OW) b = OW;
  if (b < a) b = a;
  *lo = a;
  *hi = b;
}

void im2col(const float* x, long Cg, const Conv2dShape& s, float* col) {
  const long H = s.H, W = s.W, OH = s.OH, OW = s.OW, OHW = OH * OW;
  for (long c = 0; c < Cg; ++c) {
    const float* src = x + c * H * W;
    for (long kh = 0; kh < s.KH; ++kh) {
      for (long kw = 0; kw < s.KW; ++kw) {
        float* dst = col + ((c * s.KH + kh) * s.KW + kw) * OHW;
        const long offw = kw * s.dW - s.pW;
        long lo, hi;
        valid_range(offw, s.sW, W, OW, &lo, &hi);
        for (long oh = 0; oh < OH; ++oh) {
          float* d = dst + oh * OW;
          const long ih = oh * s.sH + kh * s.dH - s.pH;
          if (ih < 0 || ih >= H) {
            std::memset(d, 0, OW * sizeof(float));
            continue;
          }
          const float* srow = src + ih * W + offw;
          for (long ow = 0; ow < lo; ++ow) d[ow] = 0.0f;
          if (s.sW == 1) {
            if (hi > lo) std::memcpy(d + lo, srow + lo, (hi - lo) * sizeof(float));
          } else {
            for (long ow = lo; ow < hi; ++ow) d[ow] = srow[ow * s.sW];
          }
          for (long ow = hi; ow < OW; ++ow) d[ow] = 0.0f;
        }
      }
    }
  }
}

// gin (one group's Cg planes) += col2im(col)
void col2im_add(const float* col, long Cg, const Conv2dShape& s, float* gin) {
  const long H = s.H, W = s.W, OH = s.OH, OW = s.OW, OHW = OH * OW;
  for (long c = 0; c < Cg; ++c) {
    float* dstp = gin + c * H * W;
    for (long kh = 0; kh < s.KH; ++kh) {
      for (long kw = 0; kw < s.KW; ++kw) {
        const float* src = col + ((c * s.KH + kh) * s.KW + kw) * OHW;
        const long offw = kw * s.dW - s.pW;
        long lo, hi;
        valid_range(offw, s.sW, W, OW, &lo, &hi);
        for (long oh = 0; oh < OH; ++oh) {
          const long ih = oh * s.sH + kh * s.dH - s.pH;
          if (ih < 0 || ih >= H) continue;
          float* drow = dstp + ih * W + offw;
          const float* srow = src + oh * OW;
          if (s.sW == 1) {
            for (long ow = lo; ow < hi; ++ow) drow[ow] += srow[ow];
          } else {
            for (long ow = lo; ow < hi; ++ow) drow[ow * s.sW] += srow[ow];
          }
        }
      }
    }
  }
}

// Chunks of the weight gradient's sum over images: about 8 images each, at
// most 16, and at most 64 MB of partial sums; from the shapes alone.
int weight_chunks(long N, long wsize) {
  long chunks = (N + 7) / 8;
  if (chunks > 16) chunks = 16;
  const long maxByMemory = (64L << 20) / (wsize * static_cast<long>(sizeof(float)) + 1);
  if (chunks > maxByMemory) chunks = maxByMemory;
  return chunks < 1 ? 1 : static_cast<int>(chunks);
}

// Images split into a few parts per thread, claimed dynamically.
int image_parts(long N, int threads) {
  long parts = static_cast<long>(threads) * kPartsPerThread;
  return static_cast<int>(parts < N ? parts : N);
}

// Batch-level parallelism pays when every thread gets whole images.
int batch_threads(long N) {
  int t = num_threads();
  if (t <= 1 || N < 2) return 1;
  if (N >= 4L * t || N % t == 0) return t < N ? t : static_cast<int>(N);
  return 1;
}

struct ConvCtx {
  const float* x;
  const float* w;
  const float* bias;
  const float* gout;
  float* out;
  float* gw;
  const Conv2dShape* s;
  float* priv;
  int gemmThreads;
};

void fwd_images(const ConvCtx& k, long n0, long n1) {
  const Conv2dShape& s = *k.s;
  const long Cg = s.C / s.groups, Og = s.O / s.groups;
  const long CKK = Cg * s.KH * s.KW, OHW = s.OH * s.OW, HW = s.H * s.W;
  const bool pw = is_pointwise(s);
  float* colbuf = pw ? nullptr : static_cast<float*>(scratch(SCRATCH_COL, CKK * OHW * sizeof(float)));
  for (long n = n0; n < n1; ++n) {
    for (long g = 0; g < s.groups; ++g) {
      const float* xg = k.x + (n * s.C + g * Cg) * HW;
      const float* col = xg;
      if (!pw) {
        im2col(xg, Cg, s, colbuf);
        col = colbuf;
      }
      float* og = k.out + (n * s.O + g * Og) * OHW;
      float beta = 0.0f;
      if (k.bias) {
        for (long o = 0; o < Og; ++o) {
          const float bv = k.bias[g * Og + o];
          float* row = og + o * OHW;
          for (long j = 0; j < OHW; ++j) row[j] = bv;
        }
        beta = 1.0f;
      }
      sgemm(false, false, Og, OHW, CKK, 1.0f, k.w + g * Og * CKK, CKK, col, OHW, beta, og, OHW, k.gemmThreads);
    }
  }
}

void bwd_input_images(const ConvCtx& k, long n0, long n1) {
  const Conv2dShape& s = *k.s;
  const long Cg = s.C / s.groups, Og = s.O / s.groups;
  const long CKK = Cg * s.KH * s.KW, OHW = s.OH * s.OW, HW = s.H * s.W;
  const bool pw = is_pointwise(s);
  float* colbuf = pw ? nullptr : static_cast<float*>(scratch(SCRATCH_COL, CKK * OHW * sizeof(float)));
  for (long n = n0; n < n1; ++n) {
    float* gin = k.out + n * s.C * HW;
    if (!pw) std::memset(gin, 0, s.C * HW * sizeof(float));
    for (long g = 0; g < s.groups; ++g) {
      const float* goutg = k.gout + (n * s.O + g * Og) * OHW;
      const float* wg = k.w + g * Og * CKK;
      if (pw) {
        sgemm(true, false, Cg, OHW, Og, 1.0f, wg, CKK, goutg, OHW, 0.0f, gin + g * Cg * HW, HW, k.gemmThreads);
      } else {
        sgemm(true, false, CKK, OHW, Og, 1.0f, wg, CKK, goutg, OHW, 0.0f, colbuf, OHW, k.gemmThreads);
        col2im_add(colbuf, Cg, s, gin + g * Cg * HW);
      }
    }
  }
}

// Accumulates sum over images [n0, n1) into acc ([O, CKK]); beta 0 on the first.
void bwd_weight_images(const ConvCtx& k, long n0, long n1, float* acc) {
  const Conv2dShape& s = *k.s;
  const long Cg = s.C / s.groups, Og = s.O / s.groups;
  const long CKK = Cg * s.KH * s.KW, OHW = s.OH * s.OW, HW = s.H * s.W;
  const bool pw = is_pointwise(s);
  float* colbuf = pw ? nullptr : static_cast<float*>(scratch(SCRATCH_COL, CKK * OHW * sizeof(float)));
  for (long n = n0; n < n1; ++n) {
    const float beta = n == n0 ? 0.0f : 1.0f;
    for (long g = 0; g < s.groups; ++g) {
      const float* xg = k.x + (n * s.C + g * Cg) * HW;
      const float* col = xg;
      if (!pw) {
        im2col(xg, Cg, s, colbuf);
        col = colbuf;
      }
      const float* goutg = k.gout + (n * s.O + g * Og) * OHW;
      sgemm(false, true, Og, CKK, OHW, 1.0f, goutg, OHW, col, OHW, beta, acc + g * Og * CKK, CKK, k.gemmThreads);
    }
  }
}

void fwd_task(void* c, int t, int parts) {
  ConvCtx* k = static_cast<ConvCtx*>(c);
  fwd_images(*k, split_point(k->s->N, t, parts, 1), split_point(k->s->N, t + 1, parts, 1));
}
void bwd_input_task(void* c, int t, int parts) {
  ConvCtx* k = static_cast<ConvCtx*>(c);
  bwd_input_images(*k, split_point(k->s->N, t, parts, 1), split_point(k->s->N, t + 1, parts, 1));
}
// The weight gradient sums over images in chunks fixed by the batch and
// weight sizes alone (never by the thread count); chunk c accumulates into
// its own buffer and the buffers are added in chunk order, so the result has
// the same bits on any number of threads.
void bwd_weight_chunk_task(void* c, int chunk, int chunks) {
  ConvCtx* k = static_cast<ConvCtx*>(c);
  const long n0 = split_point(k->s->N, chunk, chunks, 1), n1 = split_point(k->s->N, chunk + 1, chunks, 1);
  const long wsize = k->s->O * (k->s->C / k->s->groups) * k->s->KH * k->s->KW;
  float* acc = k->priv + chunk * wsize;
  if (n1 <= n0) {
    std::memset(acc, 0, wsize * sizeof(float));
    return;
  }
  bwd_weight_images(*k, n0, n1, acc);
}

}  // namespace

void conv2d_forward_f32(const float* x, const float* w, const float* bias, float* out, const Conv2dShape& s) {
  if (conv2d_direct_forward_f32(x, w, bias, out, s)) return;
  ConvCtx k{};
  k.x = x;
  k.w = w;
  k.bias = bias;
  k.out = out;
  k.s = &s;
  int t = batch_threads(s.N);
  if (t > 1) {
    k.gemmThreads = 1;
    parallel_parts(image_parts(s.N, t), &fwd_task, &k);
  } else {
    k.gemmThreads = num_threads();
    fwd_images(k, 0, s.N);
  }
}

void conv2d_backward_input_f32(const float* gradOut, const float* w, float* gradIn, const Conv2dShape& s) {
  if (conv2d_direct_backward_input_f32(gradOut, w, gradIn, s)) return;
  ConvCtx k{};
  k.w = w;
  k.gout = gradOut;
  k.out = gradIn;
  k.s = &s;
  int t = batch_threads(s.N);
  if (t > 1) {
    k.gemmThreads = 1;
    parallel_parts(image_parts(s.N, t), &bwd_input_task, &k);
  } else {
    k.gemmThreads = num_threads();
    bwd_input_images(k, 0, s.N);
  }
}

void conv2d_backward_weight_f32(const float* x, const float* gradOut, float* gradW, float* gradBias,
                                const Conv2dShape& s) {
  const long Cg = s.C / s.groups;
  const long wsize = s.O * Cg * s.KH * s.KW, OHW = s.OH * s.OW;
  if (s.N <= 0) {
    for (long i = 0; i < wsize; ++i) gradW[i] = 0.0f;
  } else if (conv2d_direct_backward_weight_f32(x, gradOut, gradW, s)) {
    // done by the direct kernel
  } else {
    ConvCtx k{};
    k.x = x;
    k.gout = gradOut;
    k.gw = gradW;
    k.s = &s;
    const int chunks = weight_chunks(s.N, wsize);
    if (chunks > 1) {
      // Each chunk's products run on one thread; the chunks spread over the pool.
      k.gemmThreads = 1;
      k.priv = static_cast<float*>(scratch(SCRATCH_TMP, chunks * wsize * sizeof(float)));
      parallel_parts(chunks, &bwd_weight_chunk_task, &k);
      std::memcpy(gradW, k.priv, wsize * sizeof(float));
      for (int c = 1; c < chunks; ++c) {
        const float* acc = k.priv + c * wsize;
        for (long i = 0; i < wsize; ++i) gradW[i] += acc[i];
      }
    } else {
      // One chunk: the products themselves use the pool (their sums run over
      // K in the same order whatever the split).
      k.gemmThreads = num_threads();
      bwd_weight_images(k, 0, s.N, gradW);
    }
  }
  if (gradBias) {
    for (long o = 0; o < s.O; ++o) {
      double acc = 0;
      for (long n = 0; n < s.N; ++n) {
        const float* g = gradOut + (n * s.O + o) * OHW;
        for (long j = 0; j < OHW; ++j) acc += static_cast<double>(g[j]);
      }
      gradBias[o] = static_cast<float>(acc);
    }
  }
}

// ---------------------------------------------------------------------------
// Pooling (per input plane; planes split across threads)

#if NEURITE_X86
namespace {
// One output row of a plain 2x2 stride-2 max pool, eight windows at a time:
// the scalar rule below (first maximum wins ties, a NaN beats every number and
// a later NaN an earlier one) as compares and blends. On activations the
// scalar loop's branches mispredicted often enough to cost 0.9 ms on LeNet-5's
// first pooling layer. Returns the first window it left to the scalar loop.
__attribute__((target("avx2,fma"))) inline __attribute__((always_inline)) void maxpool2x2_block_avx2(const float* r0, const float* r1,
                                                                                                     float* op, int32_t* ip, long ow,
                                                                                                     long W, int32_t rowBase) {
  const __m256i lanes = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
  const __m256i one = _mm256_set1_epi32(1), down = _mm256_set1_epi32(static_cast<int32_t>(W));
  const long c = 2 * ow;
  // Even and odd columns of both rows: [a b a b ...] deinterleaved, in window order.
  const __m256 r0lo = _mm256_loadu_ps(r0 + c), r0hi = _mm256_loadu_ps(r0 + c + 8);
  const __m256 r1lo = _mm256_loadu_ps(r1 + c), r1hi = _mm256_loadu_ps(r1 + c + 8);
  const __m256 a = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(r0lo, r0hi, 0x88)), 0xd8));
  const __m256 b = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(r0lo, r0hi, 0xdd)), 0xd8));
  const __m256 d = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(r1lo, r1hi, 0x88)), 0xd8));
  const __m256 f = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(r1lo, r1hi, 0xdd)), 0xd8));
  const __m256i idx = _mm256_add_epi32(_mm256_set1_epi32(rowBase + static_cast<int32_t>(c)), lanes);
  // Indices travel as float bit patterns through the blends (no arithmetic on them there).
  __m256 m = a;
  __m256 at = _mm256_castsi256_ps(idx);
  const __m256 candidates[3] = {b, d, f};
  const __m256 places[3] = {_mm256_castsi256_ps(_mm256_add_epi32(idx, one)), _mm256_castsi256_ps(_mm256_add_epi32(idx, down)),
                            _mm256_castsi256_ps(_mm256_add_epi32(_mm256_add_epi32(idx, down), one))};
  for (int j = 0; j < 3; ++j) {
    const __m256 v = candidates[j];
    const __m256 t = _mm256_or_ps(_mm256_cmp_ps(v, m, _CMP_GT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    m = _mm256_blendv_ps(m, v, t);
    at = _mm256_blendv_ps(at, places[j], t);
  }
  _mm256_storeu_ps(op + ow, m);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(ip + ow), _mm256_castps_si256(at));
}

// Rows of at least eight windows: blocks of eight, the last one overlapping
// the one before (windows computed twice give the same result twice).
// Returns the first window left to the scalar loop (0 for shorter rows).
__attribute__((target("avx2,fma"))) long maxpool2x2_row_avx2(const float* r0, const float* r1, float* op, int32_t* ip, long OW, long W,
                                                             int32_t rowBase) {
  if (OW < 8) return 0;
  long ow = 0;
  for (; ow + 8 <= OW; ow += 8) maxpool2x2_block_avx2(r0, r1, op, ip, ow, W, rowBase);
  if (ow < OW) maxpool2x2_block_avx2(r0, r1, op, ip, OW - 8, W, rowBase);
  return OW;
}
}  // namespace
#endif

void maxpool2d_forward_f32(const float* x, float* out, int32_t* indices, const Pool2dShape& s) {
  const long planes = s.N * s.C, HW = s.H * s.W, OHW = s.OH * s.OW;
  long minPlanes = (1L << 15) / (OHW * s.KH * s.KW + 1) + 1;
  parallel_range(
      planes, minPlanes,
      [&](long b, long e) {
        // The common case (LeNet's, VGG's): 2x2 windows at stride 2, no
        // padding or dilation, every window inside the input.
        const bool plain2x2 = s.KH == 2 && s.KW == 2 && s.sH == 2 && s.sW == 2 && s.pH == 0 && s.pW == 0 && s.dH == 1 &&
                              s.dW == 1 && 2 * s.OH <= s.H && 2 * s.OW <= s.W;
        for (long p = b; p < e; ++p) {
          const float* xp = x + p * HW;
          float* op = out + p * OHW;
          int32_t* ip = indices + p * OHW;
          if (plain2x2) {
            for (long oh = 0; oh < s.OH; ++oh) {
              const float* r0 = xp + 2 * oh * s.W;
              const float* r1 = r0 + s.W;
              long ow = 0;
#if NEURITE_X86
              if (active_isa() >= ISA_AVX2)
                ow = maxpool2x2_row_avx2(r0, r1, op + oh * s.OW, ip + oh * s.OW, s.OW, s.W, static_cast<int32_t>(2 * oh * s.W));
#endif
              for (; ow < s.OW; ++ow) {
                // Same order and tie rule as the general loop below.
                const long c = 2 * ow;
                long idx = c;
                float m = r0[c];
                const float v1 = r0[c + 1], v2 = r1[c], v3 = r1[c + 1];
                if (v1 > m || std::isnan(v1)) { m = v1; idx = c + 1; }
                if (v2 > m || std::isnan(v2)) { m = v2; idx = s.W + c; }
                if (v3 > m || std::isnan(v3)) { m = v3; idx = s.W + c + 1; }
                op[oh * s.OW + ow] = m;
                ip[oh * s.OW + ow] = static_cast<int32_t>(2 * oh * s.W + idx);
              }
            }
            continue;
          }
          for (long oh = 0; oh < s.OH; ++oh) {
            long hs = oh * s.sH - s.pH;
            const long he = std::min(hs + (s.KH - 1) * s.dH + 1, s.H);
            if (hs < 0) hs += (-hs + s.dH - 1) / s.dH * s.dH;
            for (long ow = 0; ow < s.OW; ++ow) {
              long ws = ow * s.sW - s.pW;
              const long we = std::min(ws + (s.KW - 1) * s.dW + 1, s.W);
              if (ws < 0) ws += (-ws + s.dW - 1) / s.dW * s.dW;
              // First in-bounds cell; -1 if the window has none.
              long maxIdx = (hs < he && ws < we) ? hs * s.W + ws : -1;
              float maxVal = -std::numeric_limits<float>::infinity();
              for (long h = hs; h < he; h += s.dH) {
                for (long w = ws; w < we; w += s.dW) {
                  const long idx = h * s.W + w;
                  const float v = xp[idx];
                  // Strictly greater: the first maximum wins ties.  A NaN
                  // beats every number (and a later NaN an earlier one), as
                  // in PyTorch's CPU kernel.
                  if (v > maxVal || std::isnan(v)) {
                    maxVal = v;
                    maxIdx = idx;
                  }
                }
              }
              op[oh * s.OW + ow] = maxVal;
              ip[oh * s.OW + ow] = static_cast<int32_t>(maxIdx);
            }
          }
        }
      },
      1);
}

void maxpool2d_backward_f32(const float* gradOut, const int32_t* indices, float* gradIn, const Pool2dShape& s) {
  const long planes = s.N * s.C, HW = s.H * s.W, OHW = s.OH * s.OW;
  long minPlanes = (1L << 16) / (HW + OHW + 1) + 1;
  parallel_range(
      planes, minPlanes,
      [&](long b, long e) {
        // Windows that cannot overlap choose each cell at most once: its
        // gradient is added to zero once (what the double sum below rounds back to).
        if (s.sH >= (s.KH - 1) * s.dH + 1 && s.sW >= (s.KW - 1) * s.dW + 1) {
          for (long p = b; p < e; ++p) {
            float* gp = gradIn + p * HW;
            std::memset(gp, 0, HW * sizeof(float));
            const float* go = gradOut + p * OHW;
            const int32_t* ip = indices + p * OHW;
            for (long j = 0; j < OHW; ++j)
              if (ip[j] >= 0) gp[ip[j]] += go[j];
          }
          return;
        }
        // Cells chosen by several windows are summed in double, then rounded.
        double* acc = static_cast<double*>(scratch(SCRATCH_TMP, HW * sizeof(double)));
        for (long p = b; p < e; ++p) {
          for (long j = 0; j < HW; ++j) acc[j] = 0.0;
          const float* go = gradOut + p * OHW;
          const int32_t* ip = indices + p * OHW;
          for (long j = 0; j < OHW; ++j)
            if (ip[j] >= 0) acc[ip[j]] += static_cast<double>(go[j]);
          float* gp = gradIn + p * HW;
          for (long j = 0; j < HW; ++j) gp[j] = static_cast<float>(acc[j]);
        }
      },
      1);
}

namespace {
// PyTorch avg_pool2d window bounds and divisor for output (oh, ow).
struct AvgWin {
  long h0, h1, w0, w1;
  float div;
};
inline AvgWin avg_window(const Pool2dShape& s, long oh, long ow) {
  long h0 = oh * s.sH - s.pH, w0 = ow * s.sW - s.pW;
  long h1 = std::min(h0 + s.KH, s.H + s.pH), w1 = std::min(w0 + s.KW, s.W + s.pW);
  const long poolSize = (h1 - h0) * (w1 - w0);
  h0 = std::max(h0, 0L);
  w0 = std::max(w0, 0L);
  h1 = std::min(h1, s.H);
  w1 = std::min(w1, s.W);
  long div;
  if (s.divisorOverride > 0)
    div = s.divisorOverride;
  else if (s.countIncludePad)
    div = poolSize;
  else
    div = (h1 - h0) * (w1 - w0);
  return AvgWin{h0, h1, w0, w1, static_cast<float>(div)};
}
}  // namespace

void avgpool2d_forward_f32(const float* x, float* out, const Pool2dShape& s) {
  const long planes = s.N * s.C, HW = s.H * s.W, OHW = s.OH * s.OW;
  long minPlanes = (1L << 15) / (OHW * s.KH * s.KW + 1) + 1;
  parallel_range(
      planes, minPlanes,
      [&](long b, long e) {
        for (long p = b; p < e; ++p) {
          const float* xp = x + p * HW;
          float* op = out + p * OHW;
          for (long oh = 0; oh < s.OH; ++oh) {
            for (long ow = 0; ow < s.OW; ++ow) {
              AvgWin wdw = avg_window(s, oh, ow);
              if (wdw.h0 >= wdw.h1 || wdw.w0 >= wdw.w1) {
                op[oh * s.OW + ow] = 0.0f;
                continue;
              }
              float sum = 0.0f;
              for (long h = wdw.h0; h < wdw.h1; ++h)
                for (long w = wdw.w0; w < wdw.w1; ++w) sum += xp[h * s.W + w];
              op[oh * s.OW + ow] = sum / wdw.div;
            }
          }
        }
      },
      1);
}

void avgpool2d_backward_f32(const float* gradOut, float* gradIn, const Pool2dShape& s) {
  const long planes = s.N * s.C, HW = s.H * s.W, OHW = s.OH * s.OW;
  long minPlanes = (1L << 15) / (OHW * s.KH * s.KW + HW + 1) + 1;
  parallel_range(
      planes, minPlanes,
      [&](long b, long e) {
        for (long p = b; p < e; ++p) {
          float* gp = gradIn + p * HW;
          std::memset(gp, 0, HW * sizeof(float));
          const float* go = gradOut + p * OHW;
          for (long oh = 0; oh < s.OH; ++oh) {
            for (long ow = 0; ow < s.OW; ++ow) {
              AvgWin wdw = avg_window(s, oh, ow);
              if (wdw.h0 >= wdw.h1 || wdw.w0 >= wdw.w1) continue;
              const float g = go[oh * s.OW + ow] / wdw.div;
              for (long h = wdw.h0; h < wdw.h1; ++h)
                for (long w = wdw.w0; w < wdw.w1; ++w) gp[h * s.W + w] += g;
            }
          }
        }
      },
      1);
}

}  // namespace neurite
