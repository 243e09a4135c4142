// Blocked, packed GEMM (BLIS-style), templated on a small vector-traits type.
//
// This file is included three times by gemm.cc, each time inside its own
// namespace and with NT_ATTR / NT_ISA defined:
//   NT_ISA 0: portable (GCC vector extensions; SSE2 on x86-64 baseline)
//   NT_ISA 1: AVX2 + FMA   (NT_ATTR = __attribute__((target("avx2,fma"))))
//   NT_ISA 2: AVX-512F/VL + FMA
// Every function carries NT_ATTR so the intrinsics are legal and inline.
// All functions are `static` so the three copies never merge at link time.
//
// Row-major convention: op(A) is M x K, op(B) is K x N, C is M x N,
//   C = alpha * op(A) * op(B) + beta * C   (beta == 0: C is not read).
// Element (i, p) of op(A) lives at A[i * a_ls + p * a_ks] with
//   a_ls = transA ? 1 : lda, a_ks = transA ? lda : 1,
// and element (p, j) of op(B) at B[j * b_ls + p * b_ks] with
//   b_ls = transB ? ldb : 1, b_ks = transB ? 1 : ldb.
// Transposition is absorbed by the packing routines.
//
// Loop nest (jc / pc / ic / jr / ir) with packed buffers:
//   Bp: KC x NC block of op(B) as NR-wide micro-panels  (stays in L3/L2)
//   Ap: MC x KC block of op(A) as MR-tall micro-panels  (stays in L2)
// The micro-kernel computes an MR x NR tile of C from one A micro-panel and
// one B micro-panel, keeping the tile in registers across KC.

#ifndef NT_ATTR
#error "define NT_ATTR before including gemm_impl.h"
#endif

#define NT_INLINE NT_ATTR inline __attribute__((always_inline))

// ---------------------------------------------------------------------------
// Vector traits

#if NT_ISA == 2
struct VF {
  typedef float T;
  typedef __m512 reg;
  enum { L = 16 };
  static NT_INLINE reg zero() { return _mm512_setzero_ps(); }
  static NT_INLINE reg load(const T* p) { return _mm512_load_ps(p); }
  static NT_INLINE reg loadu(const T* p) { return _mm512_loadu_ps(p); }
  static NT_INLINE void store(T* p, reg v) { _mm512_store_ps(p, v); }
  static NT_INLINE void storeu(T* p, reg v) { _mm512_storeu_ps(p, v); }
  static NT_INLINE reg bcast(const T* p) { return _mm512_set1_ps(*p); }
  static NT_INLINE reg set1(T x) { return _mm512_set1_ps(x); }
  static NT_INLINE reg fma(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static NT_INLINE reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
};
struct VD {
  typedef double T;
  typedef __m512d reg;
  enum { L = 8 };
  static NT_INLINE reg zero() { return _mm512_setzero_pd(); }
  static NT_INLINE reg load(const T* p) { return _mm512_load_pd(p); }
  static NT_INLINE reg loadu(const T* p) { return _mm512_loadu_pd(p); }
  static NT_INLINE void store(T* p, reg v) { _mm512_store_pd(p, v); }
  static NT_INLINE void storeu(T* p, reg v) { _mm512_storeu_pd(p, v); }
  static NT_INLINE reg bcast(const T* p) { return _mm512_set1_pd(*p); }
  static NT_INLINE reg set1(T x) { return _mm512_set1_pd(x); }
  static NT_INLINE reg fma(reg a, reg b, reg c) { return _mm512_fmadd_pd(a, b, c); }
  static NT_INLINE reg mul(reg a, reg b) { return _mm512_mul_pd(a, b); }
};
// 14 x 32 floats: 28 accumulators + 2 B vectors + 1 broadcast = 31 zmm.
struct CfgF { typedef VF V; enum { MR = 14, NRV = 2, KC = 256, MC = 168, NC = 4096 }; };
struct CfgD { typedef VD V; enum { MR = 14, NRV = 2, KC = 256, MC = 112, NC = 2048 }; };
#define NT_HAVE_AVX2_PACK 1

#elif NT_ISA == 1
struct VF {
  typedef float T;
  typedef __m256 reg;
  enum { L = 8 };
  static NT_INLINE reg zero() { return _mm256_setzero_ps(); }
  static NT_INLINE reg load(const T* p) { return _mm256_load_ps(p); }
  static NT_INLINE reg loadu(const T* p) { return _mm256_loadu_ps(p); }
  static NT_INLINE void store(T* p, reg v) { _mm256_store_ps(p, v); }
  static NT_INLINE void storeu(T* p, reg v) { _mm256_storeu_ps(p, v); }
  static NT_INLINE reg bcast(const T* p) { return _mm256_broadcast_ss(p); }
  static NT_INLINE reg set1(T x) { return _mm256_set1_ps(x); }
  static NT_INLINE reg fma(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static NT_INLINE reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
};
struct VD {
  typedef double T;
  typedef __m256d reg;
  enum { L = 4 };
  static NT_INLINE reg zero() { return _mm256_setzero_pd(); }
  static NT_INLINE reg load(const T* p) { return _mm256_load_pd(p); }
  static NT_INLINE reg loadu(const T* p) { return _mm256_loadu_pd(p); }
  static NT_INLINE void store(T* p, reg v) { _mm256_store_pd(p, v); }
  static NT_INLINE void storeu(T* p, reg v) { _mm256_storeu_pd(p, v); }
  static NT_INLINE reg bcast(const T* p) { return _mm256_broadcast_sd(p); }
  static NT_INLINE reg set1(T x) { return _mm256_set1_pd(x); }
  static NT_INLINE reg fma(reg a, reg b, reg c) { return _mm256_fmadd_pd(a, b, c); }
  static NT_INLINE reg mul(reg a, reg b) { return _mm256_mul_pd(a, b); }
};
// 6 x 16 floats: 12 accumulators + 2 B vectors + 1 broadcast = 15 ymm.
struct CfgF { typedef VF V; enum { MR = 6, NRV = 2, KC = 256, MC = 144, NC = 4096 }; };
struct CfgD { typedef VD V; enum { MR = 6, NRV = 2, KC = 256, MC = 96, NC = 2048 }; };
#define NT_HAVE_AVX2_PACK 1

#else
// Portable: GCC/Clang vector extensions (SSE2 on x86-64, NEON on arm64).
typedef float nt_vf4 __attribute__((vector_size(16)));
typedef double nt_vd2 __attribute__((vector_size(16)));
struct VF {
  typedef float T;
  typedef nt_vf4 reg;
  enum { L = 4 };
  static NT_INLINE reg zero() { return reg{0.f, 0.f, 0.f, 0.f}; }
  static NT_INLINE reg load(const T* p) { return *reinterpret_cast<const reg*>(p); }
  static NT_INLINE reg loadu(const T* p) { reg r; std::memcpy(&r, p, sizeof r); return r; }
  static NT_INLINE void store(T* p, reg v) { *reinterpret_cast<reg*>(p) = v; }
  static NT_INLINE void storeu(T* p, reg v) { std::memcpy(p, &v, sizeof v); }
  static NT_INLINE reg bcast(const T* p) { T x = *p; return reg{x, x, x, x}; }
  static NT_INLINE reg set1(T x) { return reg{x, x, x, x}; }
  static NT_INLINE reg fma(reg a, reg b, reg c) { return a * b + c; }
  static NT_INLINE reg mul(reg a, reg b) { return a * b; }
};
struct VD {
  typedef double T;
  typedef nt_vd2 reg;
  enum { L = 2 };
  static NT_INLINE reg zero() { return reg{0., 0.}; }
  static NT_INLINE reg load(const T* p) { return *reinterpret_cast<const reg*>(p); }
  static NT_INLINE reg loadu(const T* p) { reg r; std::memcpy(&r, p, sizeof r); return r; }
  static NT_INLINE void store(T* p, reg v) { *reinterpret_cast<reg*>(p) = v; }
  static NT_INLINE void storeu(T* p, reg v) { std::memcpy(p, &v, sizeof v); }
  static NT_INLINE reg bcast(const T* p) { T x = *p; return reg{x, x}; }
  static NT_INLINE reg set1(T x) { return reg{x, x}; }
  static NT_INLINE reg fma(reg a, reg b, reg c) { return a * b + c; }
  static NT_INLINE reg mul(reg a, reg b) { return a * b; }
};
#if defined(__wasm_simd128__)
// WebAssembly SIMD128 (the wasm backend): 2 x 16 floats. SIMD128 has no fused
// multiply-add, so each product needs a temporary: 8 accumulators + 4 B
// vectors + 1 broadcast + 1 product = 14 registers, within the 15 that V8
// allocates on x86-64 (it keeps xmm15 as scratch); 4 x 12 needs 17 and spills
// in every iteration. The tile was chosen on both engines the backend runs
// on, because their register allocators differ: micro-kernel alone on packed
// panels in L1, GFLOP/s in Node 20 / Chromium 150 on a 3.4 GHz Zen 5 (peak
// for 128-bit multiplies and adds on separate pipes: about 54):
//   2 x 16: 51 / 55   4 x 8: 41 / 55   3 x 12: 19 / 46 (spills in Node)
// with scripts/build-wasm.mjs's flags for gemm.cc and the k loop not
// unrolled (see ukernel). The whole sgemm 1024^3: 41 / 48, against 35-38 / 31
// for the 4 x 12 tile it replaced.
struct CfgF { typedef VF V; enum { MR = 2, NRV = 4, KC = 256, MC = 120, NC = 4096 }; };
#else
// 6 x 8 floats: 12 accumulators + 2 + 1 = 15 xmm.
struct CfgF { typedef VF V; enum { MR = 6, NRV = 2, KC = 256, MC = 120, NC = 4096 }; };
#endif
struct CfgD { typedef VD V; enum { MR = 6, NRV = 2, KC = 256, MC = 72, NC = 2048 }; };
#define NT_HAVE_AVX2_PACK 0
#endif

// ---------------------------------------------------------------------------
// Micro-kernel: C[0:m, 0:n] = alpha * Ap(MR x kc) * Bp(kc x NR) + beta * C
// (m <= ROWS <= MR, n <= NR; the packed panels are zero-padded to full size).
// ROWS < MR computes only the first ROWS rows of the MR-tall panel: the last
// row block of a product whose M is not a multiple of MR (a batch of 64 or 128
// rows on the 14-row AVX-512 tile leaves 8 or 2) would otherwise multiply
// zero padding, 9% of such a product's work. Each element of C gets the same
// sequence of multiply-adds whichever ROWS computes it.

template <class Cfg, int ROWS>
NT_ATTR __attribute__((noinline)) static void ukernel(long kc, const typename Cfg::V::T* __restrict pa,
                                                      const typename Cfg::V::T* __restrict pb,
                                                      typename Cfg::V::T* __restrict c, long ldc,
                                                      typename Cfg::V::T alpha, typename Cfg::V::T beta,
                                                      int m, int n) {
  typedef typename Cfg::V V;
  typedef typename V::T T;
  typedef typename V::reg R;
  enum { MR = Cfg::MR, NRV = Cfg::NRV, L = V::L, NR = NRV * L };
  static_assert(ROWS >= 1 && ROWS <= MR, "ROWS is at most the panel height");

  if (m == ROWS && n == NR) {
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i) {
      __builtin_prefetch(c + i * ldc, 1, 3);
      __builtin_prefetch(c + i * ldc + NR - 1, 1, 3);
    }
  }

  R acc[ROWS][NRV];
#pragma GCC unroll 16
  for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NRV; ++j) acc[i][j] = V::zero();

  // Unrolling the k loop lets LLVM hoist the next iteration's loads above this
  // one's arithmetic; natively the register allocator copes, but V8 then
  // spills accumulators on wasm (the 3 x 12 tile's micro-kernel: 48 -> 33 GFLOP/s in Node).
#if defined(__wasm_simd128__)
#pragma GCC unroll 1
#else
#pragma GCC unroll 2
#endif
  for (long p = 0; p < kc; ++p) {
    R b[NRV];
#pragma GCC unroll 4
    for (int j = 0; j < NRV; ++j) b[j] = V::load(pb + j * L);
    __builtin_prefetch(pa + 8 * MR, 0, 3);
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i) {
      R a = V::bcast(pa + i);
#pragma GCC unroll 4
      for (int j = 0; j < NRV; ++j) acc[i][j] = V::fma(a, b[j], acc[i][j]);
    }
    pa += MR;
    pb += NR;
  }

  const R va = V::set1(alpha);
  if (m == ROWS && n == NR) {
    if (beta == T(0)) {
#pragma GCC unroll 16
      for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 4
        for (int j = 0; j < NRV; ++j) V::storeu(c + i * ldc + j * L, V::mul(acc[i][j], va));
    } else {
      const R vb = V::set1(beta);
#pragma GCC unroll 16
      for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 4
        for (int j = 0; j < NRV; ++j) {
          T* cp = c + i * ldc + j * L;
          V::storeu(cp, V::fma(acc[i][j], va, V::mul(V::loadu(cp), vb)));
        }
    }
  } else {
    alignas(64) T tmp[ROWS * NR];
#pragma GCC unroll 16
    for (int i = 0; i < ROWS; ++i)
#pragma GCC unroll 4
      for (int j = 0; j < NRV; ++j) V::store(tmp + i * NR + j * L, acc[i][j]);
    for (int i = 0; i < m; ++i) {
      T* cp = c + i * ldc;
      const T* tp = tmp + i * NR;
      if (beta == T(0)) {
        for (int j = 0; j < n; ++j) cp[j] = alpha * tp[j];
      } else {
        for (int j = 0; j < n; ++j) cp[j] = alpha * tp[j] + beta * cp[j];
      }
    }
  }
}

// ---------------------------------------------------------------------------
// The micro-kernel for a row block of m <= MR rows: the full tile, or the
// narrowest of 8, 4 and 2 rows that holds m.
template <class Cfg>
NT_INLINE static void ukernel_rows(long kc, const typename Cfg::V::T* pa, const typename Cfg::V::T* pb, typename Cfg::V::T* c,
                                   long ldc, typename Cfg::V::T alpha, typename Cfg::V::T beta, int m, int n) {
  constexpr int MR = Cfg::MR;
  constexpr int R8 = MR < 8 ? MR : 8, R4 = MR < 4 ? MR : 4, R2 = MR < 2 ? MR : 2;
  if (m > R8)
    ukernel<Cfg, MR>(kc, pa, pb, c, ldc, alpha, beta, m, n);
  else if (m > R4)
    ukernel<Cfg, R8>(kc, pa, pb, c, ldc, alpha, beta, m, n);
  else if (m > R2)
    ukernel<Cfg, R4>(kc, pa, pb, c, ldc, alpha, beta, m, n);
  else
    ukernel<Cfg, R2>(kc, pa, pb, c, ldc, alpha, beta, m, n);
}

// ---------------------------------------------------------------------------
// Packing.  pack_panel<T, R>: dst[p * R + l] = src[l * ls + p * ks] for
// l < nl, p < kc; lanes nl..R-1 are zero.  dst must have R*kc elements plus
// 16 elements of slack (the transposing vector path may write up to 7
// elements past the end of a row; the next row / panel / slack absorbs it).

#if NT_HAVE_AVX2_PACK
NT_INLINE static void nt_tr8x8(__m256 r[8]) {
  __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
  __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
  __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
  __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
  __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
  r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
  r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
  r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
  r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

NT_INLINE static void nt_tr4x4(__m256d r[4]) {
  __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
  __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
  r[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
  r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
  r[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
  r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
}

// One group of up to 8 lanes (float) starting at lane l0, rows p0..p0+7.
template <int R>
NT_INLINE static void nt_tgroup(const float* src, long ls, int l0, int ng, long p0, float* dst) {
  __m256 r[8];
#pragma GCC unroll 8
  for (int q = 0; q < 8; ++q) r[q] = q < ng ? _mm256_loadu_ps(src + (l0 + q) * ls + p0) : _mm256_setzero_ps();
  nt_tr8x8(r);
#pragma GCC unroll 8
  for (int q = 0; q < 8; ++q) _mm256_storeu_ps(dst + (p0 + q) * R + l0, r[q]);
}
template <int R>
NT_INLINE static void nt_tgroup(const double* src, long ls, int l0, int ng, long p0, double* dst) {
  __m256d r[4];
#pragma GCC unroll 4
  for (int q = 0; q < 4; ++q) r[q] = q < ng ? _mm256_loadu_pd(src + (l0 + q) * ls + p0) : _mm256_setzero_pd();
  nt_tr4x4(r);
#pragma GCC unroll 4
  for (int q = 0; q < 4; ++q) _mm256_storeu_pd(dst + (p0 + q) * R + l0, r[q]);
}
#endif

template <class T, int R>
NT_ATTR static void pack_panel(const T* __restrict src, long ls, long ks, int nl, long kc, T* __restrict dst) {
  if (ls == 1) {
    // Lanes contiguous in memory: copy R (or nl) values per k step.
    if (nl == R) {
      for (long p = 0; p < kc; ++p) {
        const T* s = src + p * ks;
        T* d = dst + p * R;
#pragma GCC unroll 32
        for (int l = 0; l < R; ++l) d[l] = s[l];
      }
    } else {
      for (long p = 0; p < kc; ++p) {
        const T* s = src + p * ks;
        T* d = dst + p * R;
        int l = 0;
        for (; l < nl; ++l) d[l] = s[l];
        for (; l < R; ++l) d[l] = T(0);
      }
    }
    return;
  }
  if (ks == 1) {
    // k contiguous: a transpose.
    long p0 = 0;
#if NT_HAVE_AVX2_PACK
    if (nl == R) {
      enum { W = 32 / sizeof(T) };  // lanes per AVX2 register
      const long kcw = kc - kc % W;
      const int full = R / W, rem = R % W;
      for (; p0 < kcw; p0 += W) {
        // Partial group first: its stores spill into the next row's first
        // lanes, which the full groups (or the next block) rewrite later.
        if (rem) nt_tgroup<R>(src, ls, full * W, rem, p0, dst);
        for (int g = 0; g < full; ++g) nt_tgroup<R>(src, ls, g * W, W, p0, dst);
      }
    }
#endif
    if (p0 < kc) {
      for (int l = 0; l < nl; ++l) {
        const T* s = src + l * ls;
        for (long p = p0; p < kc; ++p) dst[p * R + l] = s[p];
      }
      for (int l = nl; l < R; ++l)
        for (long p = p0; p < kc; ++p) dst[p * R + l] = T(0);
    }
    return;
  }
  // General strides (not produced by the drivers, kept for completeness).
  for (long p = 0; p < kc; ++p)
    for (int l = 0; l < R; ++l) dst[p * R + l] = l < nl ? src[l * ls + p * ks] : T(0);
}

// pack_block<T, R>: packs `total` lanes (ceil(total / R) panels of R lanes,
// the last zero-padded) for k in [0, kc) into dst, panel q at dst + q*R*kc.
// Lane-contiguous sources are packed row by row (k outer) so the source is
// read sequentially across all panels; k-contiguous sources (transposes)
// panel by panel.
template <class T, int R>
NT_ATTR static void pack_block(const T* __restrict src, long ls, long ks, long total, long kc, T* __restrict dst) {
  if (ls == 1 && ks != 1) {
    const long full = total / R;
    const int rem = static_cast<int>(total - full * R);
    for (long p = 0; p < kc; ++p) {
      const T* s = src + p * ks;
      T* d = dst + p * R;
      for (long q = 0; q < full; ++q) {
        const T* sq = s + q * R;
        T* dq = d + q * R * kc;
#pragma GCC unroll 32
        for (int l = 0; l < R; ++l) dq[l] = sq[l];
      }
      if (rem) {
        const T* sq = s + full * R;
        T* dq = d + full * R * kc;
        int l = 0;
        for (; l < rem; ++l) dq[l] = sq[l];
        for (; l < R; ++l) dq[l] = T(0);
      }
    }
    return;
  }
  for (long q = 0; q * R < total; ++q) {
    const int nl = static_cast<int>(total - q * R < R ? total - q * R : R);
    pack_panel<T, R>(src + q * R * ls, ls, ks, nl, kc, dst + q * R * kc);
  }
}

// ---------------------------------------------------------------------------
// Serial blocked driver over one (sub)problem.

template <class Cfg>
NT_ATTR static void gemm_serial(bool ta, bool tb, long M, long N, long K, typename Cfg::V::T alpha,
                                const typename Cfg::V::T* A, long lda, const typename Cfg::V::T* B, long ldb,
                                typename Cfg::V::T beta, typename Cfg::V::T* C, long ldc) {
  typedef typename Cfg::V::T T;
  constexpr long MR = Cfg::MR, NR = Cfg::NRV * Cfg::V::L, KC = Cfg::KC, MC = Cfg::MC, NC = Cfg::NC;
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == T(0)) {
    for (long i = 0; i < M; ++i) {
      T* c = C + i * ldc;
      if (beta == T(0))
        for (long j = 0; j < N; ++j) c[j] = T(0);
      else
        for (long j = 0; j < N; ++j) c[j] *= beta;
    }
    return;
  }
  const long a_ls = ta ? 1 : lda, a_ks = ta ? lda : 1;
  const long b_ls = tb ? ldb : 1, b_ks = tb ? 1 : ldb;

  // Even split of K and M into blocks (avoids a tiny trailing block).
  const long nkb = (K + KC - 1) / KC;
  long kcb = (K + nkb - 1) / nkb;
  kcb = (kcb + 7) & ~7L;
  const long nmb = (M + MC - 1) / MC;
  long mcb = (M + nmb - 1) / nmb;
  mcb = (mcb + MR - 1) / MR * MR;
  const long ncmax = N < NC ? (N + NR - 1) / NR * NR : NC;

  T* Ap = static_cast<T*>(neurite::scratch(neurite::SCRATCH_PACK_A, (mcb * kcb + 64) * sizeof(T)));
  T* Bp = static_cast<T*>(neurite::scratch(neurite::SCRATCH_PACK_B, (ncmax * kcb + 64) * sizeof(T)));

  for (long jc = 0; jc < N; jc += NC) {
    const long nc = N - jc < NC ? N - jc : NC;
    for (long pc = 0; pc < K; pc += kcb) {
      const long kc = K - pc < kcb ? K - pc : kcb;
      const T beta_eff = pc == 0 ? beta : T(1);
      pack_block<T, static_cast<int>(NR)>(B + jc * b_ls + pc * b_ks, b_ls, b_ks, nc, kc, Bp);
      for (long ic = 0; ic < M; ic += mcb) {
        const long mc = M - ic < mcb ? M - ic : mcb;
        pack_block<T, static_cast<int>(MR)>(A + ic * a_ls + pc * a_ks, a_ls, a_ks, mc, kc, Ap);
        for (long jr = 0; jr < nc; jr += NR) {
          const int n = static_cast<int>(nc - jr < NR ? nc - jr : NR);
          for (long ir = 0; ir < mc; ir += MR) {
            const int m = static_cast<int>(mc - ir < MR ? mc - ir : MR);
            ukernel_rows<Cfg>(kc, Ap + ir * kc, Bp + jr * kc, C + (ic + ir) * ldc + jc + jr, ldc, alpha, beta_eff, m,
                         n);
          }
        }
      }
    }
  }
}

// One row of C (M == 1: a Linear layer on one sample): packing B for a single
// row would read and write all of it once more than the product itself reads
// it, so the row is computed straight from B. Sums run over K in order, in
// vector lanes then lane order, the same on every thread count.
NT_ATTR static void sgemv_row(bool ta, bool tb, long N, long K, float alpha, const float* A, long lda, const float* B, long ldb,
                              float beta, float* C) {
  typedef VF V;
  constexpr long L = V::L;
  const float* a = A;
  if (ta && lda != 1) {
    float* ac = static_cast<float*>(neurite::scratch(neurite::SCRATCH_PACK_A, (K + 64) * sizeof(float)));
    for (long k = 0; k < K; ++k) ac[k] = A[k * lda];
    a = ac;
  }
  alignas(64) float lanes[L];
  auto finish = [&](long j, float sum) { C[j] = beta == 0.0f ? alpha * sum : alpha * sum + beta * C[j]; };
  if (tb) {
    // B stored [N][K]: C[j] = dot(a, B[j]), four rows at a time.
    long j = 0;
    const long kv = K / L * L;
    for (; j + 4 <= N; j += 4) {
      typename V::reg acc0 = V::zero(), acc1 = V::zero(), acc2 = V::zero(), acc3 = V::zero();
      const float *b0 = B + j * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
      for (long k = 0; k < kv; k += L) {
        const typename V::reg av = V::loadu(a + k);
        acc0 = V::fma(av, V::loadu(b0 + k), acc0);
        acc1 = V::fma(av, V::loadu(b1 + k), acc1);
        acc2 = V::fma(av, V::loadu(b2 + k), acc2);
        acc3 = V::fma(av, V::loadu(b3 + k), acc3);
      }
      const typename V::reg accs[4] = {acc0, acc1, acc2, acc3};
      const float* rows[4] = {b0, b1, b2, b3};
      for (int r = 0; r < 4; ++r) {
        V::store(lanes, accs[r]);
        float sum = 0.0f;
        for (long l = 0; l < L; ++l) sum += lanes[l];
        for (long k = kv; k < K; ++k) sum += a[k] * rows[r][k];
        finish(j + r, sum);
      }
    }
    for (; j < N; ++j) {
      typename V::reg acc = V::zero();
      const float* bj = B + j * ldb;
      for (long k = 0; k < kv; k += L) acc = V::fma(V::loadu(a + k), V::loadu(bj + k), acc);
      V::store(lanes, acc);
      float sum = 0.0f;
      for (long l = 0; l < L; ++l) sum += lanes[l];
      for (long k = kv; k < K; ++k) sum += a[k] * bj[k];
      finish(j, sum);
    }
  } else {
    // B stored [K][N]: C[j..] = sum_k a[k] * B[k][j..], four vectors of columns at a time.
    long j = 0;
    for (; j + 4 * L <= N; j += 4 * L) {
      typename V::reg acc0 = V::zero(), acc1 = V::zero(), acc2 = V::zero(), acc3 = V::zero();
      for (long k = 0; k < K; ++k) {
        const typename V::reg av = V::set1(a[k]);
        const float* bk = B + k * ldb + j;
        acc0 = V::fma(av, V::loadu(bk), acc0);
        acc1 = V::fma(av, V::loadu(bk + L), acc1);
        acc2 = V::fma(av, V::loadu(bk + 2 * L), acc2);
        acc3 = V::fma(av, V::loadu(bk + 3 * L), acc3);
      }
      const typename V::reg accs[4] = {acc0, acc1, acc2, acc3};
      for (int r = 0; r < 4; ++r) {
        V::store(lanes, accs[r]);
        for (long l = 0; l < L; ++l) finish(j + r * L + l, lanes[l]);
      }
    }
    for (; j < N; ++j) {
      // Fused, as in the vector lanes above: a column gets the same bits
      // whichever part of a split computes it.
      float sum = 0.0f;
#if NT_ISA >= 1
      for (long k = 0; k < K; ++k) sum = std::fma(a[k], B[k * ldb + j], sum);
#else
      for (long k = 0; k < K; ++k) sum = a[k] * B[k * ldb + j] + sum;  // VF::fma is unfused here
#endif
      finish(j, sum);
    }
  }
}

static void sgemm_serial_entry(bool ta, bool tb, long M, long N, long K, float alpha, const float* A, long lda,
                               const float* B, long ldb, float beta, float* C, long ldc) {
  if (M == 1 && K > 0 && N > 0 && alpha != 0.0f) {
    sgemv_row(ta, tb, N, K, alpha, A, lda, B, ldb, beta, C);
    return;
  }
  gemm_serial<CfgF>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
static void dgemm_serial_entry(bool ta, bool tb, long M, long N, long K, double alpha, const double* A, long lda,
                               const double* B, long ldb, double beta, double* C, long ldc) {
  gemm_serial<CfgD>(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
static const int kMRf = CfgF::MR, kNRf = CfgF::NRV * VF::L;
static const int kMRd = CfgD::MR, kNRd = CfgD::NRV * VD::L;

#undef NT_INLINE
#undef NT_HAVE_AVX2_PACK
