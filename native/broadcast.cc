// Element-wise kernels on broadcast operands, comparisons, and axis
// permutation: the eager ops a user writes by hand (x * 2, x.clamp(a, b),
// x - x.max(1, true), x.gt(0), w.t()), which the reference backend runs in
// JavaScript at 2-10 ns an element.
//
// A broadcast operand is read in one of four forms over the output viewed as
// [outer, inner] (src/backends/accelerate.ts finds the view): every element,
// one value, one row of `inner` values repeated for every outer index (a bias),
// or one value per outer index repeated along the row (a keepdim reduction).
// Each output element gets the reference's arithmetic: +, -, * and / in float
// are what the reference's double arithmetic rounds to, and maximum/minimum
// follow JavaScript's Math.max/Math.min (NaN if either is NaN, +0 above -0).
#include <cmath>
#include <cstring>
#include <limits>

#include "common.h"
#include "kernels.h"

namespace neurite {

namespace {

constexpr long kMinPerThread = 1L << 16;  // memory-bound loops

struct AddF { static float f(float x, float y) { return x + y; } };
struct SubF { static float f(float x, float y) { return x - y; } };
struct MulF { static float f(float x, float y) { return x * y; } };
struct DivF { static float f(float x, float y) { return x / y; } };
// Branch-free, so that the loops vectorize: of two equal values (-0 and +0 the only equal pair with other bits)
// Math.max gives +0, the AND of their bits, and Math.min -0, the OR.
inline uint32_t bits_of(float x) {
  uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}
inline float from_bits(uint32_t b) {
  float x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}
struct MaxF {
  static float f(float x, float y) {
    const float m = x > y ? x : y;
    const float tie = x == y ? from_bits(bits_of(x) & bits_of(y)) : m;
    return x != x || y != y ? std::numeric_limits<float>::quiet_NaN() : tie;
  }
};
struct MinF {
  static float f(float x, float y) {
    const float m = x < y ? x : y;
    const float tie = x == y ? from_bits(bits_of(x) | bits_of(y)) : m;
    return x != x || y != y ? std::numeric_limits<float>::quiet_NaN() : tie;
  }
};

struct LtF { static uint8_t f(float x, float y) { return x < y; } };
struct LeF { static uint8_t f(float x, float y) { return x <= y; } };
struct GtF { static uint8_t f(float x, float y) { return x > y; } };
struct GeF { static uint8_t f(float x, float y) { return x >= y; } };
struct EqF { static uint8_t f(float x, float y) { return x == y; } };
struct NeF { static uint8_t f(float x, float y) { return x != y; } };

// One run of n outputs; each operand advances by 1 (sa, sb true) or stays (false).
template <class Op, class T>
void run(const float* a, bool sa, const float* b, bool sb, T* o, long n) {
  if (sa && sb) {
    for (long i = 0; i < n; ++i) o[i] = Op::f(a[i], b[i]);
  } else if (sa) {
    const float y = *b;
    for (long i = 0; i < n; ++i) o[i] = Op::f(a[i], y);
  } else if (sb) {
    const float x = *a;
    for (long i = 0; i < n; ++i) o[i] = Op::f(x, b[i]);
  } else {
    const T v = Op::f(*a, *b);
    for (long i = 0; i < n; ++i) o[i] = v;
  }
}

// Where operand p of `form` starts for output row r, column c, and whether it advances along the row.
template <class T>
inline const T* at(const T* p, int form, long r, long c, long inner, bool* advances) {
  switch (form) {
    case BCAST_FULL:
      *advances = true;
      return p + r * inner + c;
    case BCAST_ROW:
      *advances = true;
      return p + c;
    case BCAST_COL:
      *advances = false;
      return p + r;
    default:
      *advances = false;
      return p;
  }
}

template <class Op, class T>
void broadcast(const float* a, int aForm, const float* b, int bForm, T* out, long outer, long inner) {
  const long n = outer * inner;
  if (n <= 0 || inner <= 0) return;
  // Split over the flat output: every element's value depends on its index alone, so any split gives the same bits.
  parallel_range(n, kMinPerThread, [=](long s, long e) {
    long r = s / inner, c = s % inner;
    while (s < e) {
      const long len = inner - c < e - s ? inner - c : e - s;
      bool sa, sb;
      const float* pa = at(a, aForm, r, c, inner, &sa);
      const float* pb = at(b, bForm, r, c, inner, &sb);
      run<Op>(pa, sa, pb, sb, out + s, len);
      s += len;
      ++r;
      c = 0;
    }
  });
}

// where: out = c ? a : b, on 4-byte elements (float32 or int32 alike: a copy of bits), each operand in its form.
// Both sides are read and blended by a mask: a branch on a condition of random bits mispredicts half the time
// (GCC kept the branch for `c[i] ? a[i] : b[i]`: 4 ns an element on 512 x 512, against 0.2 for the blend).
inline uint32_t pick(uint8_t c, uint32_t x, uint32_t y) {
  const uint32_t m = 0u - static_cast<uint32_t>(c != 0);
  return (x & m) | (y & ~m);
}
void where_run(const uint8_t* c, bool sc, const uint32_t* a, bool sa, const uint32_t* b, bool sb, uint32_t* o, long n) {
  if (sc && sa && sb) {
    for (long i = 0; i < n; ++i) o[i] = pick(c[i], a[i], b[i]);
  } else if (sc && sa) {
    const uint32_t y = *b;
    for (long i = 0; i < n; ++i) o[i] = pick(c[i], a[i], y);
  } else if (sc && sb) {
    const uint32_t x = *a;
    for (long i = 0; i < n; ++i) o[i] = pick(c[i], x, b[i]);
  } else {
    const long ic = sc, ia = sa, ib = sb;
    for (long i = 0; i < n; ++i) o[i] = pick(c[i * ic], a[i * ia], b[i * ib]);
  }
}

}  // namespace

void where_u32(const uint8_t* c, int cForm, const uint32_t* a, int aForm, const uint32_t* b, int bForm, uint32_t* out, long outer,
               long inner) {
  const long n = outer * inner;
  if (n <= 0 || inner <= 0) return;
  parallel_range(n, kMinPerThread, [=](long s, long e) {
    long r = s / inner, col = s % inner;
    while (s < e) {
      const long len = inner - col < e - s ? inner - col : e - s;
      bool sc, sa, sb;
      const uint8_t* pc = at(c, cForm, r, col, inner, &sc);
      const uint32_t* pa = at(a, aForm, r, col, inner, &sa);
      const uint32_t* pb = at(b, bForm, r, col, inner, &sb);
      where_run(pc, sc, pa, sa, pb, sb, out + s, len);
      s += len;
      ++r;
      col = 0;
    }
  });
}

void broadcast_binary_f32(int op, const float* a, int aForm, const float* b, int bForm, float* out, long outer, long inner) {
  switch (op) {
    case BB_ADD: return broadcast<AddF>(a, aForm, b, bForm, out, outer, inner);
    case BB_SUB: return broadcast<SubF>(a, aForm, b, bForm, out, outer, inner);
    case BB_MUL: return broadcast<MulF>(a, aForm, b, bForm, out, outer, inner);
    case BB_DIV: return broadcast<DivF>(a, aForm, b, bForm, out, outer, inner);
    case BB_MAXIMUM: return broadcast<MaxF>(a, aForm, b, bForm, out, outer, inner);
    default: return broadcast<MinF>(a, aForm, b, bForm, out, outer, inner);
  }
}

void compare_f32(int op, const float* a, int aForm, const float* b, int bForm, uint8_t* out, long outer, long inner) {
  switch (op) {
    case CMP_LT: return broadcast<LtF>(a, aForm, b, bForm, out, outer, inner);
    case CMP_LE: return broadcast<LeF>(a, aForm, b, bForm, out, outer, inner);
    case CMP_GT: return broadcast<GtF>(a, aForm, b, bForm, out, outer, inner);
    case CMP_GE: return broadcast<GeF>(a, aForm, b, bForm, out, outer, inner);
    case CMP_EQ: return broadcast<EqF>(a, aForm, b, bForm, out, outer, inner);
    default: return broadcast<NeF>(a, aForm, b, bForm, out, outer, inner);
  }
}

// ---------------------------------------------------------------------------
// Max and min along a block of axes: x viewed as [outer, size, inner], out as
// [outer, inner]. The reference scans each line in order and keeps a value
// that is larger (smaller), or the first NaN, so equal values keep the first:
// only a tie of -0 and +0 shows, and NaN's first occurrence.

namespace {

template <bool MAX>
inline bool better(float e, float v) {
  return MAX ? e > v : e < v;
}

// One contiguous line: eight running extremes (independent, so they pipeline), then the two cases where the first
// occurrence matters found by a second scan: a NaN anywhere, or an extreme of zero (which zero came first).
template <bool MAX>
float line_extreme(const float* x, long n) {
  const float init = MAX ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
  float v[8] = {init, init, init, init, init, init, init, init};
  bool nan = false;
  long i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; ++l) {
      const float e = x[i + l];
      nan |= e != e;
      v[l] = better<MAX>(e, v[l]) ? e : v[l];
    }
  for (; i < n; ++i) {
    const float e = x[i];
    nan |= e != e;
    v[0] = better<MAX>(e, v[0]) ? e : v[0];
  }
  float m = v[0];
  for (int l = 1; l < 8; ++l) m = better<MAX>(v[l], m) ? v[l] : m;
  if (nan) {
    for (long k = 0; k < n; ++k)
      if (x[k] != x[k]) return x[k];
  }
  if (m == 0.0f) {
    for (long k = 0; k < n; ++k)
      if (x[k] == 0.0f) return x[k];
  }
  return m;
}

template <bool MAX>
void extreme(const float* x, float* out, long outer, long size, long inner) {
  const float init = MAX ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
  if (inner == 1) {
    parallel_range(outer, kMinPerThread / (size + 1) + 1, [=](long b, long e) {
      for (long o = b; o < e; ++o) out[o] = line_extreme<MAX>(x + o * size, size);
    }, 1);
    return;
  }
  // Lines across the rows: a running row of extremes, updated row by row, in the reference's order.
  auto columns = [=](long o, long b, long e) {
    const float* xo = x + o * size * inner;
    float* oo = out + o * inner;
    for (long j = b; j < e; ++j) oo[j] = init;
    for (long i = 0; i < size; ++i) {
      const float* row = xo + i * inner;
      for (long j = b; j < e; ++j) {
        const float el = row[j], v = oo[j];
        oo[j] = better<MAX>(el, v) || (el != el && v == v) ? el : v;
      }
    }
  };
  const long work = size * inner + 1;
  if (outer > 1) {
    parallel_range(outer, kMinPerThread / work + 1, [=](long b, long e) {
      for (long o = b; o < e; ++o) columns(o, 0, inner);
    }, 1);
  } else {
    parallel_range(inner, kMinPerThread / (size + 1) + 1, [=](long b, long e) { columns(0, b, e); });
  }
}

}  // namespace

void reduce_extreme_f32(bool isMax, const float* x, float* out, long outer, long size, long inner) {
  if (outer <= 0 || inner <= 0) return;
  if (isMax)
    extreme<true>(x, out, outer, size, inner);
  else
    extreme<false>(x, out, outer, size, inner);
}

// ---------------------------------------------------------------------------
// Axis permutation of 4-byte elements (float32 and int32 alike: a copy of bits).
//
// The output is walked in order with the input strides of its axes. Output
// axes that stay adjacent in the input merge and axes of one element drop,
// so the walk has as few axes as the permutation allows. When the last output
// axis is also the input's last, rows are copied whole. Otherwise the output's
// last axis reads the input with a large stride and some output axis q reads
// it with stride 1: the pair is transposed in square tiles, each of which
// reads and writes whole cache lines while both fit in L1.

namespace {

constexpr long kTile = 8;

typedef uint32_t u32x4 __attribute__((vector_size(16)));
// GCC before 12 lacks __builtin_shufflevector; __builtin_shuffle is its form of the same thing.
#if defined(__clang__)
#define NT_SHUFFLE(a, b, i0, i1, i2, i3) __builtin_shufflevector(a, b, i0, i1, i2, i3)
#else
#define NT_SHUFFLE(a, b, i0, i1, i2, i3) __builtin_shuffle(a, b, u32x4{i0, i1, i2, i3})
#endif

// dst[r * ldd + c] = src[c * lds + r] for r, c < 4: four vector loads, eight shuffles, four vector stores.
inline void transpose4x4(const uint32_t* src, long lds, uint32_t* dst, long ldd) {
  u32x4 v0, v1, v2, v3;
  std::memcpy(&v0, src, 16);
  std::memcpy(&v1, src + lds, 16);
  std::memcpy(&v2, src + 2 * lds, 16);
  std::memcpy(&v3, src + 3 * lds, 16);
  const u32x4 t0 = NT_SHUFFLE(v0, v1, 0, 4, 1, 5), t1 = NT_SHUFFLE(v0, v1, 2, 6, 3, 7);
  const u32x4 t2 = NT_SHUFFLE(v2, v3, 0, 4, 1, 5), t3 = NT_SHUFFLE(v2, v3, 2, 6, 3, 7);
  const u32x4 r0 = NT_SHUFFLE(t0, t2, 0, 1, 4, 5), r1 = NT_SHUFFLE(t0, t2, 2, 3, 6, 7);
  const u32x4 r2 = NT_SHUFFLE(t1, t3, 0, 1, 4, 5), r3 = NT_SHUFFLE(t1, t3, 2, 3, 6, 7);
  std::memcpy(dst, &r0, 16);
  std::memcpy(dst + ldd, &r1, 16);
  std::memcpy(dst + 2 * ldd, &r2, 16);
  std::memcpy(dst + 3 * ldd, &r3, 16);
}

struct PermutePlan {
  int rank;              // axes after merging, >= 1
  long size[kMaxPermuteRank];
  long inStride[kMaxPermuteRank];
  long outStride[kMaxPermuteRank];
};

// The input offset and output offset of flat index `idx` over the axes `axes` (in output order).
inline void offsets(const PermutePlan& p, const int* axes, int count, long idx, long* in, long* out) {
  long i = 0, o = 0;
  for (int k = count - 1; k >= 0; --k) {
    const int d = axes[k];
    const long v = idx % p.size[d];
    idx /= p.size[d];
    i += v * p.inStride[d];
    o += v * p.outStride[d];
  }
  *in = i;
  *out = o;
}

}  // namespace

void permute_u32(const uint32_t* x, uint32_t* out, int rank, const long* shape, const int* perm) {
  long total = 1;
  for (int d = 0; d < rank; ++d) total *= shape[d];
  if (total <= 0) return;
  long inStrideOf[kMaxPermuteRank];
  long s = 1;
  for (int d = rank - 1; d >= 0; --d) {
    inStrideOf[d] = s;
    s *= shape[d];
  }
  // Output axes in order, without the axes of one element, merging an axis into the one before it
  // when the input holds them adjacent (its stride times its size is the previous axis's stride).
  PermutePlan p{};
  p.rank = 0;
  for (int i = 0; i < rank; ++i) {
    const long n = shape[perm[i]], st = inStrideOf[perm[i]];
    if (n == 1) continue;
    if (p.rank > 0 && p.inStride[p.rank - 1] == st * n) {
      p.size[p.rank - 1] *= n;
      p.inStride[p.rank - 1] = st;
    } else {
      p.size[p.rank] = n;
      p.inStride[p.rank] = st;
      ++p.rank;
    }
  }
  if (p.rank == 0) {
    out[0] = x[0];
    return;
  }
  long os = 1;
  for (int d = p.rank - 1; d >= 0; --d) {
    p.outStride[d] = os;
    os *= p.size[d];
  }
  const int last = p.rank - 1;
  if (p.inStride[last] == 1) {
    // Rows of the last axis are contiguous in both: copy them whole.
    const long row = p.size[last], rows = total / row;
    int axes[kMaxPermuteRank];
    for (int d = 0; d < last; ++d) axes[d] = d;
    const long minRows = kMinPerThread / row + 1;
    parallel_range(rows, minRows, [&, row](long b, long e) {
      for (long r = b; r < e; ++r) {
        long in, o;
        offsets(p, axes, last, r, &in, &o);
        std::memcpy(out + o, x + in, static_cast<size_t>(row) * sizeof(uint32_t));
      }
    }, 1);
    return;
  }
  int q = 0;
  while (q < last && p.inStride[q] != 1) ++q;
  // The other axes, walked as one flat index; each task is one tile row of axis q for one such index.
  int others[kMaxPermuteRank];
  int nOthers = 0;
  long otherCount = 1;
  for (int d = 0; d < last; ++d)
    if (d != q) {
      others[nOthers++] = d;
      otherCount *= p.size[d];
    }
  const long nq = p.size[q], nl = p.size[last];
  const long qTiles = (nq + kTile - 1) / kTile;
  const long sl = p.inStride[last], oq = p.outStride[q];
  const long minTasks = kMinPerThread / (kTile * nl) + 1;
  parallel_range(otherCount * qTiles, minTasks, [&](long b, long e) {
    for (long t = b; t < e; ++t) {
      long in, o;
      offsets(p, others, nOthers, t / qTiles, &in, &o);
      const uint32_t* src = x + in;
      uint32_t* dst = out + o;
      const long i0 = (t % qTiles) * kTile;
      const long i1 = i0 + kTile < nq ? i0 + kTile : nq;
      // A stripe of up to 8 output rows (i), walked along j four columns at a time: each step reads
      // four input rows' cache lines and writes 16 bytes of each output row. Eight rows, not 16: at a
      // power-of-two stride the stripe's lines share an L1 set (1024 x 1024: 0.52 ms, against 0.87 for 16).
      long j = 0;
      for (; j + 4 <= nl; j += 4) {
        long i = i0;
        for (; i + 4 <= i1; i += 4) transpose4x4(src + i + j * sl, sl, dst + i * oq + j, oq);
        for (; i < i1; ++i)
          for (long jj = j; jj < j + 4; ++jj) dst[i * oq + jj] = src[i + jj * sl];
      }
      for (; j < nl; ++j)
        for (long i = i0; i < i1; ++i) dst[i * oq + j] = src[i + j * sl];
    }
  }, 1);
}

}  // namespace neurite
