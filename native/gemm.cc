// GEMM dispatch: picks the ISA path and splits big problems across threads.
#include <cmath>
#include <cstring>

#include "common.h"
#include "kernels.h"

#if NEURITE_X86
#include <immintrin.h>
#endif

namespace neurite {

namespace gemm_portable {
#define NT_ATTR
#define NT_ISA 0
#include "gemm_impl.h"
#undef NT_ATTR
#undef NT_ISA
}  // namespace gemm_portable

#if NEURITE_X86
namespace gemm_avx2 {
#define NT_ATTR __attribute__((target("avx2,fma")))
#define NT_ISA 1
#include "gemm_impl.h"
#undef NT_ATTR
#undef NT_ISA
}  // namespace gemm_avx2

namespace gemm_avx512 {
#define NT_ATTR __attribute__((target("avx512f,avx512vl,avx2,fma")))
#define NT_ISA 2
#include "gemm_impl.h"
#undef NT_ATTR
#undef NT_ISA
}  // namespace gemm_avx512
#endif

namespace {

template <class T>
struct GemmPath {
  void (*serial)(bool, bool, long, long, long, T, const T*, long, const T*, long, T, T*, long);
  int mr, nr;
};

GemmPath<float> path_f(int isa) {
#if NEURITE_X86
  if (isa >= ISA_AVX512) return {&gemm_avx512::sgemm_serial_entry, gemm_avx512::kMRf, gemm_avx512::kNRf};
  if (isa >= ISA_AVX2) return {&gemm_avx2::sgemm_serial_entry, gemm_avx2::kMRf, gemm_avx2::kNRf};
#endif
  (void)isa;
  return {&gemm_portable::sgemm_serial_entry, gemm_portable::kMRf, gemm_portable::kNRf};
}
GemmPath<double> path_d(int isa) {
#if NEURITE_X86
  if (isa >= ISA_AVX512) return {&gemm_avx512::dgemm_serial_entry, gemm_avx512::kMRd, gemm_avx512::kNRd};
  if (isa >= ISA_AVX2) return {&gemm_avx2::dgemm_serial_entry, gemm_avx2::kMRd, gemm_avx2::kNRd};
#endif
  (void)isa;
  return {&gemm_portable::dgemm_serial_entry, gemm_portable::kMRd, gemm_portable::kNRd};
}

template <class T>
struct GemmJob {
  GemmPath<T> path;
  bool ta, tb;
  long M, N, K;
  T alpha, beta;
  const T* A;
  long lda;
  const T* B;
  long ldb;
  T* C;
  long ldc;
  bool splitN;
};

template <class T>
void gemm_task(void* ctx, int t, int parts) {
  const GemmJob<T>& j = *static_cast<const GemmJob<T>*>(ctx);
  if (j.splitN) {
    long b = split_point(j.N, t, parts, j.path.nr), e = split_point(j.N, t + 1, parts, j.path.nr);
    if (e <= b) return;
    const long b_ls = j.tb ? j.ldb : 1;
    j.path.serial(j.ta, j.tb, j.M, e - b, j.K, j.alpha, j.A, j.lda, j.B + b * b_ls, j.ldb, j.beta, j.C + b, j.ldc);
  } else {
    long b = split_point(j.M, t, parts, j.path.mr), e = split_point(j.M, t + 1, parts, j.path.mr);
    if (e <= b) return;
    const long a_ls = j.ta ? 1 : j.lda;
    j.path.serial(j.ta, j.tb, e - b, j.N, j.K, j.alpha, j.A + b * a_ls, j.lda, j.B, j.ldb, j.beta, j.C + b * j.ldc,
                  j.ldc);
  }
}

// Below this many multiply-adds a GEMM runs on one thread.
constexpr double kParallelMinFma = 96.0 * 96.0 * 96.0;
// A single row (M == 1, a Linear layer on one sample) streams the whole of B
// once and is bound by memory, not arithmetic: two cores stream twice as
// fast, so it splits from half a megabyte of B up.
constexpr double kParallelMinGemvFma = 128.0 * 1024.0;
constexpr int kGemmPartsPerThread = 2;

template <class T>
void gemm_dispatch(const GemmPath<T>& path, bool ta, bool tb, long M, long N, long K, T alpha, const T* A, long lda,
                   const T* B, long ldb, T beta, T* C, long ldc, int nthreads) {
  if (M <= 0 || N <= 0) return;
  double work = static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K > 0 ? K : 1);
  int t = nthreads;
  if (work < (M == 1 ? kParallelMinGemvFma : kParallelMinFma)) t = 1;
  // Split the dimension whose packing is not duplicated: splitting N makes
  // every thread pack all of A (M*K), splitting M makes it pack all of B.
  bool splitN = M <= N;
  long units = splitN ? (N + path.nr - 1) / path.nr : (M + path.mr - 1) / path.mr;
  if (units < t) t = static_cast<int>(units);
  if (t <= 1 || pool_backing_off()) {
    path.serial(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  // Over-decomposed (each part repacks the shared operand, so only a few per
  // thread); every element's sum runs over K in the same order whatever the
  // split, so the result does not depend on the thread count.
  long parts = static_cast<long>(t) * kGemmPartsPerThread;
  if (parts > units) parts = units;
  GemmJob<T> job{path, ta, tb, M, N, K, alpha, beta, A, lda, B, ldb, C, ldc, splitN};
  parallel_parts(static_cast<int>(parts), &gemm_task<T>, &job, t);
}

template <class T>
struct BatchJob {
  GemmPath<T> path;
  bool ta, tb;
  long M, N, K;
  T alpha, beta;
  const T* A;
  long lda, sA;
  const T* B;
  long ldb, sB;
  T* C;
  long ldc, sC;
  long batch;
};

template <class T>
void batch_task(void* ctx, int t, int parts) {
  const BatchJob<T>& j = *static_cast<const BatchJob<T>*>(ctx);
  long b = split_point(j.batch, t, parts, 1), e = split_point(j.batch, t + 1, parts, 1);
  for (long i = b; i < e; ++i)
    j.path.serial(j.ta, j.tb, j.M, j.N, j.K, j.alpha, j.A + i * j.sA, j.lda, j.B + i * j.sB, j.ldb, j.beta,
                  j.C + i * j.sC, j.ldc);
}

template <class T>
void gemm_batched_dispatch(const GemmPath<T>& path, bool ta, bool tb, long M, long N, long K, T alpha, const T* A,
                           long lda, long sA, const T* B, long ldb, long sB, T beta, T* C, long ldc, long sC,
                           long batch, int nthreads) {
  if (batch <= 0 || M <= 0 || N <= 0) return;
  double work = static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K > 0 ? K : 1);
  if (batch == 1 || work >= kParallelMinFma * 4) {
    for (long i = 0; i < batch; ++i)
      gemm_dispatch(path, ta, tb, M, N, K, alpha, A + i * sA, lda, B + i * sB, ldb, beta, C + i * sC, ldc, nthreads);
    return;
  }
  // Many small products: one thread per range of batch entries.
  int t = nthreads;
  if (work * static_cast<double>(batch) < kParallelMinFma) t = 1;
  if (batch < t) t = static_cast<int>(batch);
  BatchJob<T> job{path, ta, tb, M, N, K, alpha, beta, A, lda, sA, B, ldb, sB, C, ldc, sC, batch};
  parallel_run(t, &batch_task<T>, &job);
}

}  // namespace

void sgemm(bool ta, bool tb, long M, long N, long K, float alpha, const float* A, long lda, const float* B, long ldb,
           float beta, float* C, long ldc, int nthreads) {
  gemm_dispatch(path_f(active_isa()), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, nthreads);
}

void dgemm(bool ta, bool tb, long M, long N, long K, double alpha, const double* A, long lda, const double* B,
           long ldb, double beta, double* C, long ldc, int nthreads) {
  gemm_dispatch(path_d(active_isa()), ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, nthreads);
}

void sgemm_batched(bool ta, bool tb, long M, long N, long K, float alpha, const float* A, long lda, long sA,
                   const float* B, long ldb, long sB, float beta, float* C, long ldc, long sC, long batch,
                   int nthreads) {
  gemm_batched_dispatch(path_f(active_isa()), ta, tb, M, N, K, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC, batch,
                        nthreads);
}

void dgemm_batched(bool ta, bool tb, long M, long N, long K, double alpha, const double* A, long lda, long sA,
                   const double* B, long ldb, long sB, double beta, double* C, long ldc, long sC, long batch,
                   int nthreads) {
  gemm_batched_dispatch(path_d(active_isa()), ta, tb, M, N, K, alpha, A, lda, sA, B, ldb, sB, beta, C, ldc, sC, batch,
                        nthreads);
}

void gemm_tile(int isa, bool is_double, int* mr, int* nr) {
  if (is_double) {
    GemmPath<double> p = path_d(isa);
    *mr = p.mr;
    *nr = p.nr;
  } else {
    GemmPath<float> p = path_f(isa);
    *mr = p.mr;
    *nr = p.nr;
  }
}

}  // namespace neurite
