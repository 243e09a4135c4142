// The fused optimizer steps' vector loops, written once against a small
// vector-traits type. ops.cc includes this file once per x86 ISA, each time in
// its own namespace with OPT_ATTR (the target attribute) and OPT_ISA (1: AVX2,
// 2: AVX-512) defined, as gemm.cc includes gemm_impl.h.
//
// Each loop is ops.cc's scalar loop, L elements at a time, with the same
// operations in the same order and no fused multiply-add, so every element
// rounds exactly as in the scalar loop (and in the reference backend),
// whichever ISA runs it. A loop returns where it stopped; a narrower loop or
// the scalar one does the rest. SgdConsts and AdamConsts come from ops.cc.

#ifndef OPT_ATTR
#error "define OPT_ATTR before including optim_impl.h"
#endif

#define OPT_INLINE OPT_ATTR inline __attribute__((always_inline))

#if OPT_ISA == 2
struct VO {
  typedef __m512 reg;
  enum { L = 16 };
  static OPT_INLINE reg load(const float* p) { return _mm512_loadu_ps(p); }
  static OPT_INLINE void store(float* p, reg v) { _mm512_storeu_ps(p, v); }
  static OPT_INLINE reg set1(float x) { return _mm512_set1_ps(x); }
  static OPT_INLINE reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  static OPT_INLINE reg sub(reg a, reg b) { return _mm512_sub_ps(a, b); }
  static OPT_INLINE reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  static OPT_INLINE reg div(reg a, reg b) { return _mm512_div_ps(a, b); }
  static OPT_INLINE reg sqrt(reg a) { return _mm512_sqrt_ps(a); }
  static OPT_INLINE reg negate(reg a) {
    return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a), _mm512_set1_epi32(static_cast<int>(0x80000000u))));
  }
  // torch.maximum: NaN in either gives a + b (NaN); else the larger.
  static OPT_INLINE reg maximum(reg a, reg b) {
    const __mmask16 nan = _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(b, b, _CMP_UNORD_Q);
    const reg larger = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_GT_OQ), b, a);
    return _mm512_mask_blend_ps(nan, larger, _mm512_add_ps(a, b));
  }
};
#else
struct VO {
  typedef __m256 reg;
  enum { L = 8 };
  static OPT_INLINE reg load(const float* p) { return _mm256_loadu_ps(p); }
  static OPT_INLINE void store(float* p, reg v) { _mm256_storeu_ps(p, v); }
  static OPT_INLINE reg set1(float x) { return _mm256_set1_ps(x); }
  static OPT_INLINE reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  static OPT_INLINE reg sub(reg a, reg b) { return _mm256_sub_ps(a, b); }
  static OPT_INLINE reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static OPT_INLINE reg div(reg a, reg b) { return _mm256_div_ps(a, b); }
  static OPT_INLINE reg sqrt(reg a) { return _mm256_sqrt_ps(a); }
  static OPT_INLINE reg negate(reg a) { return _mm256_xor_ps(a, _mm256_set1_ps(-0.0f)); }
  // torch.maximum: NaN in either gives a + b (NaN); else the larger.
  static OPT_INLINE reg maximum(reg a, reg b) {
    const reg nan = _mm256_or_ps(_mm256_cmp_ps(a, a, _CMP_UNORD_Q), _mm256_cmp_ps(b, b, _CMP_UNORD_Q));
    const reg larger = _mm256_blendv_ps(b, a, _mm256_cmp_ps(a, b, _CMP_GT_OQ));
    return _mm256_blendv_ps(larger, _mm256_add_ps(a, b), nan);
  }
};
#endif

OPT_ATTR static long sgd(float* param, const float* grad, float* buf, long b, long e, const SgdConsts& k) {
  typedef VO::reg R;
  const R wd = VO::set1(k.wd), mom = VO::set1(k.mom), damp = VO::set1(k.damp1), neglr = VO::set1(k.neglr);
  long i = b;
  for (; i + VO::L <= e; i += VO::L) {
    R g = VO::load(grad + i);
    if (k.maximize) g = VO::negate(g);
    const R w = VO::load(param + i);
    if (k.useWd) g = VO::add(g, VO::mul(wd, w));
    if (k.useMom) {
      const R mv = k.first ? g : VO::add(VO::mul(VO::load(buf + i), mom), VO::mul(damp, g));
      VO::store(buf + i, mv);
      g = k.nesterov ? VO::add(g, VO::mul(mom, mv)) : mv;
    }
    VO::store(param + i, VO::add(w, VO::mul(neglr, g)));
  }
  return i;
}

OPT_ATTR static long adam(float* param, const float* grad, float* m, float* v, float* vmax, long b, long e, const AdamConsts& k) {
  typedef VO::reg R;
  const R negStep = VO::set1(k.negStep), bc2sqrt = VO::set1(k.bc2sqrt), eps = VO::set1(k.eps);
  const R wd = VO::set1(k.wd), decay = VO::set1(k.decay), w1 = VO::set1(k.w1), w1c = VO::set1(k.w1c);
  const R b2 = VO::set1(k.b2), w2 = VO::set1(k.w2);
  long i = b;
  for (; i + VO::L <= e; i += VO::L) {
    R g = VO::load(grad + i);
    if (k.maximize) g = VO::negate(g);
    R w = VO::load(param + i);
    if (k.useWd) {
      if (k.decoupled)
        w = VO::mul(w, decay);
      else
        g = VO::add(g, VO::mul(wd, w));
    }
    R mi = VO::load(m + i);
    const R diff = VO::sub(g, mi);
    mi = k.smallW ? VO::add(mi, VO::mul(w1, diff)) : VO::sub(g, VO::mul(diff, w1c));
    VO::store(m + i, mi);
    R vi = VO::mul(VO::load(v + i), b2);
    vi = VO::add(vi, VO::mul(VO::mul(w2, g), g));
    VO::store(v + i, vi);
    R base = vi;
    if (k.amsgrad) {
      base = VO::maximum(VO::load(vmax + i), vi);
      VO::store(vmax + i, base);
    }
    const R denom = VO::add(VO::div(VO::sqrt(base), bc2sqrt), eps);
    VO::store(param + i, VO::add(w, VO::div(VO::mul(negStep, mi), denom)));
  }
  return i;
}

#undef OPT_INLINE
