// N-API bindings for the neurite native compute addon.
//
// Every export takes typed arrays (zero-copy: the kernels work on the
// memory the array views, honouring byteOffset) and plain numbers/booleans.
// Arguments are validated here, before any kernel runs: a wrong type throws
// a TypeError, a bad size / too-short array / overlapping output throws a
// RangeError, always naming the function and the argument.
#include <napi.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <cstdlib>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <string>
#include <vector>

#include "common.h"
#include "geometry.h"
#include "kernels.h"

namespace {

using namespace neurite;

// Bumped whenever an exported signature changes; binding.ts refuses a
// build/Release/neurite_native.node whose version differs (stale build).
constexpr int kAbiVersion = 4;

constexpr int64_t kMaxDim = 2147483647;  // 2^31 - 1
constexpr int64_t kSat = std::numeric_limits<int64_t>::max();

int64_t smul(int64_t a, int64_t b) {
  if (a == 0 || b == 0) return 0;
  if (a > kSat / b) return kSat;
  return a * b;
}
int64_t sadd(int64_t a, int64_t b) { return a > kSat - b ? kSat : a + b; }
// Elements needed by a row-major rows x cols matrix with leading dimension ld.
int64_t mat_need(int64_t rows, int64_t cols, int64_t ld) {
  if (rows == 0 || cols == 0) return 0;
  return sadd(smul(rows - 1, ld), cols);
}

template <class T>
struct Arr {
  T* data = nullptr;
  int64_t length = 0;
  const char* name = "";
  bool present() const { return data != nullptr || length > 0; }
  size_t bytes() const { return static_cast<size_t>(length) * sizeof(T); }
};

template <class T>
struct TAType;
template <>
struct TAType<float> {
  static constexpr napi_typedarray_type value = napi_float32_array;
  static constexpr const char* name = "Float32Array";
};
template <>
struct TAType<double> {
  static constexpr napi_typedarray_type value = napi_float64_array;
  static constexpr const char* name = "Float64Array";
};
template <>
struct TAType<int32_t> {
  static constexpr napi_typedarray_type value = napi_int32_array;
  static constexpr const char* name = "Int32Array";
};
template <>
struct TAType<uint8_t> {
  static constexpr napi_typedarray_type value = napi_uint8_array;
  static constexpr const char* name = "Uint8Array";
};

class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* fn) : info_(info), env_(info.Env()), fn_(fn) {}

  [[noreturn]] void type_error(const std::string& msg) const {
    throw Napi::TypeError::New(env_, std::string(fn_) + ": " + msg);
  }
  [[noreturn]] void range_error(const std::string& msg) const {
    throw Napi::RangeError::New(env_, std::string(fn_) + ": " + msg);
  }

  template <class T>
  Arr<T> array(size_t i, const char* name, bool nullable = false) const {
    Arr<T> a;
    a.name = name;
    if (i >= info_.Length() || info_[i].IsUndefined() || info_[i].IsNull()) {
      if (nullable) return a;
      type_error(std::string("argument '") + name + "' (#" + std::to_string(i) + ") must be a " + TAType<T>::name +
                 (nullable ? " or null" : ""));
    }
    napi_value v = info_[i];
    bool is = false;
    napi_is_typedarray(env_, v, &is);
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    napi_value ab;
    size_t off = 0;
    if (!is || napi_get_typedarray_info(env_, v, &type, &length, &data, &ab, &off) != napi_ok ||
        type != TAType<T>::value) {
      type_error(std::string("argument '") + name + "' (#" + std::to_string(i) + ") must be a " + TAType<T>::name +
                 (nullable ? " or null" : ""));
    }
    // `data` already points at element 0 of the view (byteOffset applied).
    a.data = static_cast<T*>(data);
    a.length = static_cast<int64_t>(length);
    return a;
  }

  template <class T>
  void need(const Arr<T>& a, int64_t n) const {
    if (a.length < n) {
      range_error(std::string("'") + a.name + "' is too short: needs at least " +
                  (n == kSat ? std::string("2^63") : std::to_string(n)) + " elements, has " +
                  std::to_string(a.length));
    }
  }

  double number(size_t i, const char* name) const {
    if (i >= info_.Length() || !info_[i].IsNumber())
      type_error(std::string("argument '") + name + "' (#" + std::to_string(i) + ") must be a number");
    return info_[i].As<Napi::Number>().DoubleValue();
  }
  double number_or(size_t i, const char* name, double def) const {
    if (i >= info_.Length() || info_[i].IsUndefined()) return def;
    return number(i, name);
  }

  // Non-negative integer (a size), at most 2^31 - 1.
  int64_t dim(size_t i, const char* name, int64_t min = 0) const {
    double d = number(i, name);
    if (!(d == std::floor(d)) || d < static_cast<double>(min) || d > static_cast<double>(kMaxDim))
      range_error(std::string("argument '") + name + "' must be an integer in [" + std::to_string(min) + ", 2^31-1], got " +
                  num_str(d));
    return static_cast<int64_t>(d);
  }
  int64_t dim_or(size_t i, const char* name, int64_t def, int64_t min = 0) const {
    if (i >= info_.Length() || info_[i].IsUndefined()) return def;
    return dim(i, name, min);
  }

  bool flag(size_t i, const char* name) const {
    if (i >= info_.Length() || !info_[i].IsBoolean())
      type_error(std::string("argument '") + name + "' (#" + std::to_string(i) + ") must be a boolean");
    return info_[i].As<Napi::Boolean>().Value();
  }
  bool flag_or(size_t i, const char* name, bool def) const {
    if (i >= info_.Length() || info_[i].IsUndefined()) return def;
    return flag(i, name);
  }

  // Output `o` must not overlap input `x` (identical start allowed if
  // `allowSame`: element-wise kernels may run in place).
  template <class T, class U>
  void no_overlap(const Arr<T>& o, int64_t oElems, const Arr<U>& x, int64_t xElems, bool allowSame) const {
    if (!o.data || !x.data || oElems <= 0 || xElems <= 0) return;
    uintptr_t o0 = reinterpret_cast<uintptr_t>(o.data), o1 = o0 + static_cast<uintptr_t>(oElems) * sizeof(T);
    uintptr_t x0 = reinterpret_cast<uintptr_t>(x.data), x1 = x0 + static_cast<uintptr_t>(xElems) * sizeof(U);
    if (o0 < x1 && x0 < o1) {
      if (allowSame && o0 == x0) return;
      range_error(std::string("'") + o.name + "' must not overlap '" + x.name + "'" +
                  (allowSame ? " (except exactly, for in-place use)" : ""));
    }
  }

  Napi::Env env() const { return env_; }
  const Napi::CallbackInfo& info() const { return info_; }

  static std::string num_str(double d) {
    if (std::isnan(d)) return "NaN";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", d);
    return buf;
  }

 private:
  const Napi::CallbackInfo& info_;
  Napi::Env env_;
  const char* fn_;
};

// Turns stray C++ exceptions (bad_alloc) into JS errors instead of aborting.
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value guarded(const Napi::CallbackInfo& info) {
  try {
    return F(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Napi::RangeError::New(info.Env(), "neurite native: out of memory");
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("neurite native: ") + e.what());
  }
}

// ---------------------------------------------------------------------------
// The process's malloc.
//
// A training step frees its tensors (through V8's garbage collector, dozens of
// megabytes at a time) and allocates the same sizes again in the next step.
// glibc's malloc gives such memory back to the kernel as soon as the free space
// at the top of its heap passes the trim threshold (by default twice the
// largest block it has freed), so the next step's arrays land on fresh pages,
// and every 4 KiB page then costs a page fault when first written: an eager
// LSTM step on a Zen 5 VM took 318k-523k minor faults and 2.7-4.8 s of kernel
// time per run against 54k and 0.7 s with the thresholds below, and ran in
// 7 s instead of 10-14 (the same maximum RSS, 243-250 MB). PyTorch's CPU guide
// answers the same problem with TCMalloc or jemalloc; these two thresholds do
// it inside glibc: blocks under 32 MiB come from the heap, which keeps up to
// 128 MiB of free space before trimming. NEURITE_MALLOC=system keeps glibc's
// defaults, as does a GLIBC_TUNABLES that sets any malloc tunable (the user's
// choice) or another malloc (LD_PRELOAD: its mallopt, if any, decides).

const char* g_malloc_setting = "system";

void tune_malloc() {
#if defined(__GLIBC__)
  static bool done = false;
  if (done) return;
  done = true;
  const char* choice = std::getenv("NEURITE_MALLOC");
  if (choice != nullptr && std::strcmp(choice, "system") == 0) {
    g_malloc_setting = "system (NEURITE_MALLOC=system)";
    return;
  }
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  if (tunables != nullptr && std::strstr(tunables, "glibc.malloc.") != nullptr) {
    g_malloc_setting = "system (GLIBC_TUNABLES)";
    return;
  }
  const bool ok = mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1 && mallopt(M_TRIM_THRESHOLD, 128 << 20) == 1;
  g_malloc_setting = ok ? "glibc, mmap threshold 32 MiB, trim threshold 128 MiB" : "system (mallopt refused)";
#endif
}

// ---------------------------------------------------------------------------
// Runtime info / control

Napi::Value CpuFeatures(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  int isa = active_isa();
  o.Set("isa", isa_name(isa));
  o.Set("detectedIsa", isa_name(detected_isa()));
#if NEURITE_X86
  __builtin_cpu_init();
  o.Set("avx2", Napi::Boolean::New(env, __builtin_cpu_supports("avx2") != 0));
  o.Set("fma", Napi::Boolean::New(env, __builtin_cpu_supports("fma") != 0));
  o.Set("avx512f", Napi::Boolean::New(env, __builtin_cpu_supports("avx512f") != 0));
  o.Set("avx512vl", Napi::Boolean::New(env, __builtin_cpu_supports("avx512vl") != 0));
#else
  o.Set("avx2", Napi::Boolean::New(env, false));
  o.Set("fma", Napi::Boolean::New(env, false));
  o.Set("avx512f", Napi::Boolean::New(env, false));
  o.Set("avx512vl", Napi::Boolean::New(env, false));
#endif
  o.Set("threads", Napi::Number::New(env, num_threads()));
  o.Set("maxThreads", Napi::Number::New(env, max_threads()));
  // Parallel jobs the pool ran on the caller alone after backing off on a busy machine.
  o.Set("poolSerialJobs", Napi::Number::New(env, static_cast<double>(pool_serial_jobs())));
  o.Set("poolParallelJobs", Napi::Number::New(env, static_cast<double>(pool_parallel_jobs())));
  o.Set("malloc", Napi::String::New(env, g_malloc_setting));
  int mr, nr;
  gemm_tile(isa, false, &mr, &nr);
  Napi::Array st = Napi::Array::New(env, 2);
  st.Set(0u, Napi::Number::New(env, mr));
  st.Set(1u, Napi::Number::New(env, nr));
  o.Set("sgemmTile", st);
  gemm_tile(isa, true, &mr, &nr);
  Napi::Array dt = Napi::Array::New(env, 2);
  dt.Set(0u, Napi::Number::New(env, mr));
  dt.Set(1u, Napi::Number::New(env, nr));
  o.Set("dgemmTile", dt);
  return o;
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  Args a(info, "setNumThreads");
  int64_t n = a.dim(0, "n", 1);
  return Napi::Number::New(info.Env(), set_num_threads(static_cast<int>(n > 1024 ? 1024 : n)));
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), num_threads()); }

Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  Args a(info, "setIsa");
  if (info.Length() < 1 || !info[0].IsString()) a.type_error("argument 'isa' (#0) must be a string");
  std::string s = info[0].As<Napi::String>().Utf8Value();
  int want;
  if (s == "auto")
    want = detected_isa();
  else if (s == "avx512")
    want = ISA_AVX512;
  else if (s == "avx2")
    want = ISA_AVX2;
  else if (s == "scalar")
    want = ISA_SCALAR;
  else
    a.range_error("argument 'isa' must be 'auto', 'avx512', 'avx2' or 'scalar', got '" + s + "'");
  return Napi::String::New(info.Env(), isa_name(set_active_isa(want)));
}

// ---------------------------------------------------------------------------
// GEMM

template <class T>
void gemm_checks(const Args& a, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const Arr<T>& A, int64_t lda,
                 const Arr<T>& B, int64_t ldb, const Arr<T>& C, int64_t ldc, int64_t* needA, int64_t* needB,
                 int64_t* needC) {
  // Stored shapes: A is (ta ? k x m : m x k), B is (tb ? n x k : k x n).
  const int64_t aRows = ta ? k : m, aCols = ta ? m : k;
  const int64_t bRows = tb ? n : k, bCols = tb ? k : n;
  if (lda < (aCols > 1 ? aCols : 1))
    a.range_error("'lda' must be >= " + std::string(ta ? "m" : "k") + " (" + std::to_string(aCols) + "), got " +
                  std::to_string(lda));
  if (ldb < (bCols > 1 ? bCols : 1))
    a.range_error("'ldb' must be >= " + std::string(tb ? "k" : "n") + " (" + std::to_string(bCols) + "), got " +
                  std::to_string(ldb));
  if (ldc < (n > 1 ? n : 1)) a.range_error("'ldc' must be >= n (" + std::to_string(n) + "), got " + std::to_string(ldc));
  const bool useAB = m > 0 && n > 0 && k > 0;
  *needA = useAB ? mat_need(aRows, aCols, lda) : 0;
  *needB = useAB ? mat_need(bRows, bCols, ldb) : 0;
  *needC = mat_need(m, n, ldc);
}

template <class T>
Napi::Value GemmImpl(const Napi::CallbackInfo& info, const char* fn) {
  Args a(info, fn);
  const bool ta = a.flag(0, "transA"), tb = a.flag(1, "transB");
  const int64_t m = a.dim(2, "m"), n = a.dim(3, "n"), k = a.dim(4, "k");
  const double alpha = a.number(5, "alpha");
  Arr<T> A = a.array<T>(6, "a");
  const int64_t lda = a.dim(7, "lda");
  Arr<T> B = a.array<T>(8, "b");
  const int64_t ldb = a.dim(9, "ldb");
  const double beta = a.number(10, "beta");
  Arr<T> C = a.array<T>(11, "c");
  const int64_t ldc = a.dim(12, "ldc");
  int64_t nA, nB, nC;
  gemm_checks(a, ta, tb, m, n, k, A, lda, B, ldb, C, ldc, &nA, &nB, &nC);
  a.need(A, nA);
  a.need(B, nB);
  a.need(C, nC);
  a.no_overlap(C, nC, A, nA, false);
  a.no_overlap(C, nC, B, nB, false);
  if (sizeof(T) == 4)
    sgemm(ta, tb, m, n, k, static_cast<float>(alpha), reinterpret_cast<const float*>(A.data), lda,
          reinterpret_cast<const float*>(B.data), ldb, static_cast<float>(beta), reinterpret_cast<float*>(C.data), ldc,
          num_threads());
  else
    dgemm(ta, tb, m, n, k, alpha, reinterpret_cast<const double*>(A.data), lda,
          reinterpret_cast<const double*>(B.data), ldb, beta, reinterpret_cast<double*>(C.data), ldc, num_threads());
  return info.Env().Undefined();
}
Napi::Value Sgemm(const Napi::CallbackInfo& info) { return GemmImpl<float>(info, "sgemm"); }
Napi::Value Dgemm(const Napi::CallbackInfo& info) { return GemmImpl<double>(info, "dgemm"); }

template <class T>
Napi::Value GemmBatchedImpl(const Napi::CallbackInfo& info, const char* fn) {
  Args a(info, fn);
  const bool ta = a.flag(0, "transA"), tb = a.flag(1, "transB");
  const int64_t m = a.dim(2, "m"), n = a.dim(3, "n"), k = a.dim(4, "k");
  const double alpha = a.number(5, "alpha");
  Arr<T> A = a.array<T>(6, "a");
  const int64_t lda = a.dim(7, "lda"), sA = a.dim(8, "strideA");
  Arr<T> B = a.array<T>(9, "b");
  const int64_t ldb = a.dim(10, "ldb"), sB = a.dim(11, "strideB");
  const double beta = a.number(12, "beta");
  Arr<T> C = a.array<T>(13, "c");
  const int64_t ldc = a.dim(14, "ldc"), sC = a.dim(15, "strideC");
  const int64_t batch = a.dim(16, "batchCount");
  int64_t nA, nB, nC;
  gemm_checks(a, ta, tb, m, n, k, A, lda, B, ldb, C, ldc, &nA, &nB, &nC);
  if (batch > 1 && nC > 0 && sC < nC)
    a.range_error("'strideC' (" + std::to_string(sC) + ") must be >= the extent of one C matrix (" +
                  std::to_string(nC) + ") so that batch outputs do not overlap");
  auto total = [&](int64_t one, int64_t stride) -> int64_t {
    if (batch == 0 || one == 0) return 0;
    return sadd(smul(batch - 1, stride), one);
  };
  const int64_t tA = total(nA, sA), tB = total(nB, sB), tC = total(nC, sC);
  a.need(A, tA);
  a.need(B, tB);
  a.need(C, tC);
  a.no_overlap(C, tC, A, tA, false);
  a.no_overlap(C, tC, B, tB, false);
  if (sizeof(T) == 4)
    sgemm_batched(ta, tb, m, n, k, static_cast<float>(alpha), reinterpret_cast<const float*>(A.data), lda, sA,
                  reinterpret_cast<const float*>(B.data), ldb, sB, static_cast<float>(beta),
                  reinterpret_cast<float*>(C.data), ldc, sC, batch, num_threads());
  else
    dgemm_batched(ta, tb, m, n, k, alpha, reinterpret_cast<const double*>(A.data), lda, sA,
                  reinterpret_cast<const double*>(B.data), ldb, sB, beta, reinterpret_cast<double*>(C.data), ldc, sC,
                  batch, num_threads());
  return info.Env().Undefined();
}
Napi::Value SgemmBatched(const Napi::CallbackInfo& info) { return GemmBatchedImpl<float>(info, "sgemmBatched"); }
Napi::Value DgemmBatched(const Napi::CallbackInfo& info) { return GemmBatchedImpl<double>(info, "dgemmBatched"); }

// ---------------------------------------------------------------------------
// Element-wise

template <void (*K)(const float*, float*, long)>
Napi::Value UnaryImpl(const Napi::CallbackInfo& info, const char* fn) {
  Args a(info, fn);
  Arr<float> x = a.array<float>(0, "x");
  Arr<float> out = a.array<float>(1, "out");
  const int64_t n = a.dim(2, "n");
  a.need(x, n);
  a.need(out, n);
  a.no_overlap(out, n, x, n, true);
  K(x.data, out.data, n);
  return info.Env().Undefined();
}
Napi::Value Relu(const Napi::CallbackInfo& info) { return UnaryImpl<relu_f32>(info, "relu"); }
Napi::Value Sigmoid(const Napi::CallbackInfo& info) { return UnaryImpl<sigmoid_f32>(info, "sigmoid"); }
Napi::Value Tanh(const Napi::CallbackInfo& info) { return UnaryImpl<tanh_f32>(info, "tanh"); }
Napi::Value Exp(const Napi::CallbackInfo& info) { return UnaryImpl<exp_f32>(info, "exp"); }

Napi::Value ReluBackward(const Napi::CallbackInfo& info) {
  Args a(info, "reluBackward");
  Arr<float> x = a.array<float>(0, "x");
  Arr<float> g = a.array<float>(1, "g");
  Arr<float> out = a.array<float>(2, "out");
  const int64_t n = a.dim(3, "n");
  a.need(x, n);
  a.need(g, n);
  a.need(out, n);
  a.no_overlap(out, n, x, n, true);
  a.no_overlap(out, n, g, n, true);
  relu_backward_f32(x.data, g.data, out.data, n);
  return info.Env().Undefined();
}

// elementwiseProgram(code: Int32Array, inputs: Float32Array[], outputs: Float32Array[], n): see kernels.h; the
// kernel's arrays are the inputs then the outputs.
Napi::Value ElementwiseProgram(const Napi::CallbackInfo& info) {
  Args a(info, "elementwiseProgram");
  Arr<int32_t> code = a.array<int32_t>(0, "code");
  const int64_t n = a.dim(3, "n");
  std::vector<float*> ptrs;
  std::vector<long> lengths;
  size_t nInputs = 0;
  for (size_t list = 1; list <= 2; ++list) {
    const char* name = list == 1 ? "inputs" : "outputs";
    if (info.Length() <= list || !info[list].IsArray())
      a.type_error(std::string("argument '") + name + "' (#" + std::to_string(list) + ") must be an array of Float32Array");
    Napi::Array items = info[list].As<Napi::Array>();
    for (uint32_t i = 0; i < items.Length(); ++i) {
      Napi::Value v = items[i];
      if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
        a.type_error(std::string(name) + "[" + std::to_string(i) + "] must be a Float32Array");
      Napi::Float32Array f = v.As<Napi::Float32Array>();
      const long length = static_cast<long>(f.ElementLength());
      if (length != n && (list == 2 || length != 1))
        a.range_error(std::string(name) + "[" + std::to_string(i) + "] has " + std::to_string(length) + " elements; needs n (" +
                      std::to_string(n) + ")" + (list == 1 ? " or 1" : ""));
      ptrs.push_back(f.Data());
      lengths.push_back(length);
    }
    if (list == 1) nInputs = ptrs.size();
  }
  if (ptrs.size() > 64) a.range_error("at most 64 arrays, got " + std::to_string(ptrs.size()));
  if (code.length % 4 != 0) a.range_error("'code' holds 4 ints per instruction, got " + std::to_string(code.length));
  const int nInstr = static_cast<int>(code.length / 4);
  const int32_t nArrays = static_cast<int32_t>(ptrs.size());
  for (int k = 0; k < nInstr; ++k) {
    const int32_t* ins = code.data + 4 * k;
    if (ins[0] < 0 || ins[0] > PROG_RELU_BACKWARD) a.range_error("instruction " + std::to_string(k) + ": unknown op " + std::to_string(ins[0]));
    const int sources = ins[0] <= PROG_NEG ? 1 : 2;
    for (int j = 2; j < 2 + sources; ++j)
      if (ins[j] < 0 || ins[j] >= nArrays + kProgramTemps)
        a.range_error("instruction " + std::to_string(k) + ": source slot " + std::to_string(ins[j]) + " out of range");
    if (ins[1] < static_cast<int32_t>(nInputs) || ins[1] >= nArrays + kProgramTemps)
      a.range_error("instruction " + std::to_string(k) + ": destination slot " + std::to_string(ins[1]) + " is not an output or temporary");
  }
  elementwise_program_f32(code.data, nInstr, ptrs.data(), lengths.data(), static_cast<int>(nArrays), n);
  return info.Env().Undefined();
}

template <int OP>
Napi::Value BinaryImpl(const Napi::CallbackInfo& info, const char* fn) {
  Args a(info, fn);
  Arr<float> x = a.array<float>(0, "a");
  Arr<float> y = a.array<float>(1, "b");
  Arr<float> out = a.array<float>(2, "out");
  const int64_t n = a.dim(3, "n");
  a.need(x, n);
  a.need(y, n);
  a.need(out, n);
  a.no_overlap(out, n, x, n, true);
  a.no_overlap(out, n, y, n, true);
  binary_f32(OP, x.data, y.data, out.data, n);
  return info.Env().Undefined();
}
Napi::Value Add(const Napi::CallbackInfo& info) { return BinaryImpl<BIN_ADD>(info, "add"); }
Napi::Value Sub(const Napi::CallbackInfo& info) { return BinaryImpl<BIN_SUB>(info, "sub"); }
Napi::Value Mul(const Napi::CallbackInfo& info) { return BinaryImpl<BIN_MUL>(info, "mul"); }
Napi::Value Div(const Napi::CallbackInfo& info) { return BinaryImpl<BIN_DIV>(info, "div"); }

Napi::Value BiasAdd(const Napi::CallbackInfo& info) {
  Args a(info, "biasAdd");
  Arr<float> x = a.array<float>(0, "x");
  Arr<float> b = a.array<float>(1, "bias");
  Arr<float> out = a.array<float>(2, "out");
  const int64_t rows = a.dim(3, "rows"), cols = a.dim(4, "cols");
  const int64_t total = smul(rows, cols);
  a.need(x, total);
  a.need(b, rows > 0 ? cols : 0);
  a.need(out, total);
  a.no_overlap(out, total, x, total, true);
  a.no_overlap(out, total, b, cols, false);
  bias_add_f32(x.data, b.data, out.data, rows, cols);
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------
// Broadcast element-wise kernels, comparisons, permutation (broadcast.cc)

// Elements operand `form` holds for an [outer, inner] output (kernels.h's BroadcastForm), or -1 for no such form.
int64_t form_elements(int64_t form, int64_t outer, int64_t inner) {
  switch (form) {
    case BCAST_FULL: return smul(outer, inner);
    case BCAST_SCALAR: return 1;
    case BCAST_ROW: return inner;
    case BCAST_COL: return outer;
    default: return -1;
  }
}

// An operand of a broadcast kernel: its array (argument `at`), its form (argument at + 1, kernels.h's
// BroadcastForm) and the elements that form holds for an [outer, inner] output.
template <class T>
struct FormArg {
  Arr<T> arr;
  int form;
  int64_t elements;
};
template <class T>
FormArg<T> form_arg(const Args& a, size_t at, const char* name, const char* formName, int64_t outer, int64_t inner) {
  FormArg<T> f{a.array<T>(at, name), 0, 0};
  const int64_t form = a.dim(at + 1, formName);
  f.elements = form_elements(form, outer, inner);
  if (f.elements < 0) a.range_error(std::string(formName) + " must be 0 (full), 1 (scalar), 2 (row) or 3 (column)");
  f.form = static_cast<int>(form);
  return f;
}

// (op, a, aForm, b, bForm, out, outer, inner), shared by broadcastBinary and compare.
template <class O>
Napi::Value BroadcastImpl(const Napi::CallbackInfo& info, const char* fn, int64_t ops) {
  Args a(info, fn);
  const int64_t op = a.dim(0, "op");
  if (op >= ops) a.range_error("op " + std::to_string(op) + " is not one of the " + std::to_string(ops) + " ops");
  const int64_t outer = a.dim(6, "outer"), inner = a.dim(7, "inner");
  const FormArg<float> x = form_arg<float>(a, 1, "a", "aForm", outer, inner);
  const FormArg<float> y = form_arg<float>(a, 3, "b", "bForm", outer, inner);
  Arr<O> out = a.array<O>(5, "out");
  const int64_t n = smul(outer, inner);
  if (n == 0) return info.Env().Undefined();
  a.need(x.arr, x.elements);
  a.need(y.arr, y.elements);
  a.need(out, n);
  // In place only over a full operand (the same element read, then written).
  a.no_overlap(out, n, x.arr, x.elements, x.form == BCAST_FULL && sizeof(O) == sizeof(float));
  a.no_overlap(out, n, y.arr, y.elements, y.form == BCAST_FULL && sizeof(O) == sizeof(float));
  if constexpr (sizeof(O) == sizeof(float))
    broadcast_binary_f32(static_cast<int>(op), x.arr.data, x.form, y.arr.data, y.form, reinterpret_cast<float*>(out.data), outer, inner);
  else
    compare_f32(static_cast<int>(op), x.arr.data, x.form, y.arr.data, y.form, reinterpret_cast<uint8_t*>(out.data), outer, inner);
  return info.Env().Undefined();
}
Napi::Value BroadcastBinary(const Napi::CallbackInfo& info) { return BroadcastImpl<float>(info, "broadcastBinary", 6); }
Napi::Value Compare(const Napi::CallbackInfo& info) { return BroadcastImpl<uint8_t>(info, "compare", 6); }

// where(cond: Uint8Array, condForm, a, aForm, b, bForm, out, outer, inner): out = cond ? a : b (float32).
Napi::Value Where(const Napi::CallbackInfo& info) {
  Args a(info, "where");
  const int64_t outer = a.dim(7, "outer"), inner = a.dim(8, "inner");
  const FormArg<uint8_t> c = form_arg<uint8_t>(a, 0, "cond", "condForm", outer, inner);
  const FormArg<float> x = form_arg<float>(a, 2, "a", "aForm", outer, inner);
  const FormArg<float> y = form_arg<float>(a, 4, "b", "bForm", outer, inner);
  Arr<float> out = a.array<float>(6, "out");
  const int64_t n = smul(outer, inner);
  if (n == 0) return info.Env().Undefined();
  a.need(c.arr, c.elements);
  a.need(x.arr, x.elements);
  a.need(y.arr, y.elements);
  a.need(out, n);
  a.no_overlap(out, n, x.arr, x.elements, x.form == BCAST_FULL);
  a.no_overlap(out, n, y.arr, y.elements, y.form == BCAST_FULL);
  a.no_overlap(out, n, c.arr, c.elements, false);
  where_u32(c.arr.data, c.form, reinterpret_cast<const uint32_t*>(x.arr.data), x.form, reinterpret_cast<const uint32_t*>(y.arr.data),
            y.form, reinterpret_cast<uint32_t*>(out.data), outer, inner);
  return info.Env().Undefined();
}

// reduceExtreme(isMax, x, out, outer, size, inner): out[o, j] = max (min) over i of x[o, i, j].
Napi::Value ReduceExtreme(const Napi::CallbackInfo& info) {
  Args a(info, "reduceExtreme");
  const bool isMax = a.flag(0, "isMax");
  Arr<float> x = a.array<float>(1, "x");
  Arr<float> out = a.array<float>(2, "out");
  const int64_t outer = a.dim(3, "outer"), size = a.dim(4, "size"), inner = a.dim(5, "inner");
  const int64_t n = smul(smul(outer, size), inner), m = smul(outer, inner);
  a.need(x, n);
  a.need(out, m);
  a.no_overlap(out, m, x, n, false);
  reduce_extreme_f32(isMax, x.data, out.data, outer, size, inner);
  return info.Env().Undefined();
}

// permute(x: Float32Array, out: Float32Array, shape: Int32Array, perm: Int32Array)
Napi::Value Permute(const Napi::CallbackInfo& info) {
  Args a(info, "permute");
  Arr<float> x = a.array<float>(0, "x");
  Arr<float> out = a.array<float>(1, "out");
  Arr<int32_t> shape = a.array<int32_t>(2, "shape");
  Arr<int32_t> perm = a.array<int32_t>(3, "perm");
  const int64_t rank = shape.length;
  if (rank < 1 || rank > kMaxPermuteRank) a.range_error("rank " + std::to_string(rank) + " is not in [1, 8]");
  if (perm.length != rank) a.range_error("perm has " + std::to_string(perm.length) + " entries for " + std::to_string(rank) + " axes");
  long dims[kMaxPermuteRank];
  int axes[kMaxPermuteRank];
  bool seen[kMaxPermuteRank] = {};
  int64_t total = 1;
  for (int64_t d = 0; d < rank; ++d) {
    if (shape.data[d] < 0) a.range_error("shape has a negative size");
    dims[d] = shape.data[d];
    total = smul(total, dims[d]);
    const int32_t p = perm.data[d];
    if (p < 0 || p >= rank || seen[p]) a.range_error("perm is not a permutation of the axes");
    seen[p] = true;
    axes[d] = p;
  }
  if (total > kMaxDim) a.range_error("more than 2^31-1 elements");
  if (total == 0) return info.Env().Undefined();
  a.need(x, total);
  a.need(out, total);
  a.no_overlap(out, total, x, total, false);
  permute_u32(reinterpret_cast<const uint32_t*>(x.data), reinterpret_cast<uint32_t*>(out.data), static_cast<int>(rank), dims, axes);
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------
// Reductions, loss

Napi::Value SumRows(const Napi::CallbackInfo& info) {
  Args a(info, "sumRows");
  Arr<float> x = a.array<float>(0, "x");
  Arr<float> out = a.array<float>(1, "out");
  const int64_t rows = a.dim(2, "rows"), cols = a.dim(3, "cols");
  const int64_t total = smul(rows, cols);
  a.need(x, total);
  a.need(out, cols);
  a.no_overlap(out, cols, x, total, false);
  sum_rows_f32(x.data, out.data, rows, cols);
  return info.Env().Undefined();
}

Napi::Value SumAxis(const Napi::CallbackInfo& info) {
  Args a(info, "sumAxis");
  Arr<float> x = a.array<float>(0, "x");
  Arr<float> out = a.array<float>(1, "out");
  const int64_t outer = a.dim(2, "outer"), C = a.dim(3, "channels"), inner = a.dim(4, "inner");
  const int64_t total = smul(smul(outer, C), inner);
  a.need(x, total);
  a.need(out, C);
  a.no_overlap(out, C, x, total, false);
  sum_axis_f32(x.data, out.data, outer, C, inner);
  return info.Env().Undefined();
}

Napi::Value SumAll(const Napi::CallbackInfo& info) {
  Args a(info, "sumAll");
  Arr<float> x = a.array<float>(0, "x");
  const int64_t n = a.dim(1, "n");
  a.need(x, n);
  return Napi::Number::New(info.Env(), sum_all_f32(x.data, n));
}

Napi::Value LogSoftmax(const Napi::CallbackInfo& info) {
  Args a(info, "logSoftmax");
  Arr<float> x = a.array<float>(0, "x");
  Arr<float> out = a.array<float>(1, "out");
  const int64_t outer = a.dim(2, "outer"), size = a.dim(3, "size"), inner = a.dim(4, "inner");
  const int64_t total = smul(smul(outer, size), inner);
  a.need(x, total);
  a.need(out, total);
  a.no_overlap(out, total, x, total, false);
  log_softmax_f32(x.data, out.data, outer, size, inner);
  return info.Env().Undefined();
}

Napi::Value LogSoftmaxBackward(const Napi::CallbackInfo& info) {
  Args a(info, "logSoftmaxBackward");
  Arr<float> g = a.array<float>(0, "g");
  Arr<float> y = a.array<float>(1, "out");
  Arr<float> dx = a.array<float>(2, "dx");
  const int64_t outer = a.dim(3, "outer"), size = a.dim(4, "size"), inner = a.dim(5, "inner");
  const int64_t total = smul(smul(outer, size), inner);
  a.need(g, total);
  a.need(y, total);
  a.need(dx, total);
  a.no_overlap(dx, total, g, total, false);
  a.no_overlap(dx, total, y, total, false);
  log_softmax_backward_f32(g.data, y.data, dx.data, outer, size, inner);
  return info.Env().Undefined();
}

Napi::Value SoftmaxCrossEntropy(const Napi::CallbackInfo& info) {
  Args a(info, "softmaxCrossEntropy");
  Arr<float> logits = a.array<float>(0, "logits");
  Arr<int32_t> labels = a.array<int32_t>(1, "labels");
  Arr<float> loss = a.array<float>(2, "outLoss");
  Arr<float> grad = a.array<float>(3, "outGrad", true);
  const int64_t n = a.dim(4, "n"), c = a.dim(5, "c", 1);
  const int64_t total = smul(n, c);
  a.need(logits, total);
  a.need(labels, n);
  a.need(loss, n);
  if (grad.data) {
    a.need(grad, total);
    a.no_overlap(grad, total, logits, total, false);
    a.no_overlap(grad, total, loss, n, false);
  }
  a.no_overlap(loss, n, logits, total, false);
  for (int64_t i = 0; i < n; ++i) {
    int32_t l = labels.data[i];
    if (l < 0 || l >= c)
      a.range_error("labels[" + std::to_string(i) + "] = " + std::to_string(l) + " is out of range [0, " +
                    std::to_string(c) + ")");
  }
  double s = softmax_xent_f32(logits.data, labels.data, loss.data, grad.data, n, c);
  return Napi::Number::New(info.Env(), s);
}

// ---------------------------------------------------------------------------
// Optimizers

Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  Args a(info, "sgdStep");
  Arr<float> param = a.array<float>(0, "param");
  Arr<float> grad = a.array<float>(1, "grad");
  Arr<float> buf = a.array<float>(2, "momentumBuf", true);
  SgdParams p;
  p.lr = a.number(3, "lr");
  p.momentum = a.number(4, "momentum");
  p.dampening = a.number(5, "dampening");
  p.weightDecay = a.number(6, "weightDecay");
  p.nesterov = a.flag(7, "nesterov");
  p.firstStep = a.flag(8, "firstStep");
  p.maximize = a.flag_or(9, "maximize", false);
  const int64_t n = param.length;
  a.need(grad, n);
  a.no_overlap(param, n, grad, n, false);
  if (p.momentum != 0.0) {
    if (!buf.data && n > 0) a.type_error("argument 'momentumBuf' (#2) must be a Float32Array when momentum != 0");
    a.need(buf, n);
    a.no_overlap(buf, n, param, n, false);
    a.no_overlap(buf, n, grad, n, false);
  }
  if (p.nesterov && (p.momentum <= 0.0 || p.dampening != 0.0))
    a.range_error("nesterov momentum requires a momentum and zero dampening");
  sgd_step_f32(param.data, grad.data, buf.data, n, p);
  return info.Env().Undefined();
}

Napi::Value AdamStep(const Napi::CallbackInfo& info) {
  Args a(info, "adamStep");
  Arr<float> param = a.array<float>(0, "param");
  Arr<float> grad = a.array<float>(1, "grad");
  Arr<float> m = a.array<float>(2, "m");
  Arr<float> v = a.array<float>(3, "v");
  Arr<float> vmax = a.array<float>(4, "vmax", true);
  AdamParams p;
  p.lr = a.number(5, "lr");
  p.beta1 = a.number(6, "beta1");
  p.beta2 = a.number(7, "beta2");
  p.eps = a.number(8, "eps");
  p.weightDecay = a.number(9, "weightDecay");
  p.step = a.number(10, "step");
  p.amsgrad = a.flag(11, "amsgrad");
  p.decoupled = a.flag(12, "decoupled");
  p.maximize = a.flag_or(13, "maximize", false);
  if (!(p.step >= 1) || p.step != std::floor(p.step)) a.range_error("'step' must be an integer >= 1 (1 on the first update)");
  const int64_t n = param.length;
  a.need(grad, n);
  a.need(m, n);
  a.need(v, n);
  if (p.amsgrad) {
    if (!vmax.data && n > 0) a.type_error("argument 'vmax' (#4) must be a Float32Array when amsgrad is true");
    a.need(vmax, n);
  }
  // All buffers must be distinct.
  const Arr<float>* all[5] = {&param, &grad, &m, &v, &vmax};
  for (int i = 0; i < 5; ++i)
    for (int j = i + 1; j < 5; ++j)
      if (all[i]->data && all[j]->data) a.no_overlap(*all[i], n, *all[j], n, false);
  adam_step_f32(param.data, grad.data, m.data, v.data, p.amsgrad ? vmax.data : nullptr, n, p);
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------
// Convolution

// A geometry arrives as one Int32Array laid out as the struct in geometry.h,
// which scripts/gen-native-geometry.mjs writes from the field lists in
// src/kernels/geometry.ts: the one declaration both sides read.
template <class Fields>
Fields read_geometry(const Args& a, size_t i, const char* name, int length) {
  Arr<int32_t> g = a.array<int32_t>(i, name);
  if (g.length != length)
    a.range_error(std::string("'") + name + "' must have " + std::to_string(length) + " elements (see src/kernels/geometry.ts), has " +
                  std::to_string(g.length));
  Fields f;
  std::memcpy(&f, g.data, sizeof f);
  return f;
}

long geometry_value(const Args& a, const char* field, int32_t v, int32_t min) {
  if (v < min)
    a.range_error(std::string("geometry field '") + field + "' must be >= " + std::to_string(min) + ", got " + std::to_string(v));
  return static_cast<long>(v);
}

Conv2dShape conv_shape(const Args& a, size_t i) {
  const Conv2dGeometryFields g = read_geometry<Conv2dGeometryFields>(a, i, "geometry", kConv2dGeometryFieldsLength);
  Conv2dShape s;
  s.N = geometry_value(a, "batch", g.batch, 0);
  s.C = geometry_value(a, "inChannels", g.inChannels, 1);
  s.H = geometry_value(a, "inH", g.inH, 1);
  s.W = geometry_value(a, "inW", g.inW, 1);
  s.O = geometry_value(a, "outChannels", g.outChannels, 1);
  s.KH = geometry_value(a, "kernelH", g.kernelH, 1);
  s.KW = geometry_value(a, "kernelW", g.kernelW, 1);
  s.sH = geometry_value(a, "strideH", g.strideH, 1);
  s.sW = geometry_value(a, "strideW", g.strideW, 1);
  s.pH = geometry_value(a, "padH", g.padH, 0);
  s.pW = geometry_value(a, "padW", g.padW, 0);
  s.dH = geometry_value(a, "dilationH", g.dilationH, 1);
  s.dW = geometry_value(a, "dilationW", g.dilationW, 1);
  s.groups = geometry_value(a, "groups", g.groups, 1);
  s.OH = geometry_value(a, "outH", g.outH, 0);
  s.OW = geometry_value(a, "outW", g.outW, 0);
  if (s.C % s.groups != 0 || s.O % s.groups != 0)
    a.range_error("C (" + std::to_string(s.C) + ") and O (" + std::to_string(s.O) + ") must be divisible by groups (" +
                  std::to_string(s.groups) + ")");
  const int64_t colElems = smul(smul(s.C / s.groups, smul(s.KH, s.KW)), smul(s.OH, s.OW));
  if (colElems > (int64_t(1) << 30)) a.range_error("im2col buffer would be too large (> 2^30 elements per image)");
  return s;
}

Napi::Value Conv2dForward(const Napi::CallbackInfo& info) {
  Args a(info, "conv2dForward");
  Arr<float> x = a.array<float>(0, "x");
  Arr<float> w = a.array<float>(1, "w");
  Arr<float> bias = a.array<float>(2, "bias", true);
  Arr<float> out = a.array<float>(3, "out");
  Conv2dShape s = conv_shape(a, 4);
  const int64_t nx = smul(smul(s.N, s.C), smul(s.H, s.W));
  const int64_t nw = smul(smul(s.O, s.C / s.groups), smul(s.KH, s.KW));
  const int64_t no = smul(smul(s.N, s.O), smul(s.OH, s.OW));
  a.need(x, nx);
  a.need(w, nw);
  if (bias.data) a.need(bias, s.O);
  a.need(out, no);
  a.no_overlap(out, no, x, nx, false);
  a.no_overlap(out, no, w, nw, false);
  if (bias.data) a.no_overlap(out, no, bias, s.O, false);
  conv2d_forward_f32(x.data, w.data, bias.data, out.data, s);
  return info.Env().Undefined();
}

Napi::Value Conv2dBackwardInput(const Napi::CallbackInfo& info) {
  Args a(info, "conv2dBackwardInput");
  Arr<float> gout = a.array<float>(0, "gradOut");
  Arr<float> w = a.array<float>(1, "w");
  Arr<float> gin = a.array<float>(2, "gradIn");
  Conv2dShape s = conv_shape(a, 3);
  const int64_t nx = smul(smul(s.N, s.C), smul(s.H, s.W));
  const int64_t nw = smul(smul(s.O, s.C / s.groups), smul(s.KH, s.KW));
  const int64_t no = smul(smul(s.N, s.O), smul(s.OH, s.OW));
  a.need(gout, no);
  a.need(w, nw);
  a.need(gin, nx);
  a.no_overlap(gin, nx, gout, no, false);
  a.no_overlap(gin, nx, w, nw, false);
  conv2d_backward_input_f32(gout.data, w.data, gin.data, s);
  return info.Env().Undefined();
}

Napi::Value Conv2dBackwardWeight(const Napi::CallbackInfo& info) {
  Args a(info, "conv2dBackwardWeight");
  Arr<float> x = a.array<float>(0, "x");
  Arr<float> gout = a.array<float>(1, "gradOut");
  Arr<float> gw = a.array<float>(2, "gradW");
  Arr<float> gb = a.array<float>(3, "gradBias", true);
  Conv2dShape s = conv_shape(a, 4);
  const int64_t nx = smul(smul(s.N, s.C), smul(s.H, s.W));
  const int64_t nw = smul(smul(s.O, s.C / s.groups), smul(s.KH, s.KW));
  const int64_t no = smul(smul(s.N, s.O), smul(s.OH, s.OW));
  a.need(x, nx);
  a.need(gout, no);
  a.need(gw, nw);
  a.no_overlap(gw, nw, x, nx, false);
  a.no_overlap(gw, nw, gout, no, false);
  if (gb.data) {
    a.need(gb, s.O);
    a.no_overlap(gb, s.O, gw, nw, false);
    a.no_overlap(gb, s.O, gout, no, false);
  }
  conv2d_backward_weight_f32(x.data, gout.data, gw.data, gb.data, s);
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------
// Pooling

// torch's pooling_output_shape (div rounding toward -inf, ceil_mode fix-up).
int64_t pool_out(int64_t in, int64_t k, int64_t stride, int64_t pad, int64_t dil, bool ceil) {
  int64_t num = in + 2 * pad - dil * (k - 1) - 1 + (ceil ? stride - 1 : 0);
  int64_t q = num >= 0 ? num / stride : -((-num + stride - 1) / stride);
  int64_t out = q + 1;
  if (ceil && (out - 1) * stride >= in + pad) --out;
  return out;
}

struct PoolArgs {
  Pool2dShape s;
  int64_t nIn, nOut;
};

// The geometry (see read_geometry), then for average pooling two more
// arguments: countIncludePad (boolean) and divisorOverride (0: none).
PoolArgs pool_args(const Args& a, size_t i, bool isMax) {
  const Pool2dGeometryFields g = read_geometry<Pool2dGeometryFields>(a, i, "geometry", kPool2dGeometryFieldsLength);
  PoolArgs r;
  Pool2dShape& s = r.s;
  s.N = geometry_value(a, "batch", g.batch, 0);
  s.C = geometry_value(a, "channels", g.channels, 1);
  s.H = geometry_value(a, "inH", g.inH, 1);
  s.W = geometry_value(a, "inW", g.inW, 1);
  s.KH = geometry_value(a, "kernelH", g.kernelH, 1);
  s.KW = geometry_value(a, "kernelW", g.kernelW, 1);
  s.sH = geometry_value(a, "strideH", g.strideH, 1);
  s.sW = geometry_value(a, "strideW", g.strideW, 1);
  s.pH = geometry_value(a, "padH", g.padH, 0);
  s.pW = geometry_value(a, "padW", g.padW, 0);
  s.dH = geometry_value(a, "dilationH", g.dilationH, 1);
  s.dW = geometry_value(a, "dilationW", g.dilationW, 1);
  s.OH = geometry_value(a, "outH", g.outH, 0);
  s.OW = geometry_value(a, "outW", g.outW, 0);
  if (isMax) {
    s.countIncludePad = true;
    s.divisorOverride = 0;
  } else {
    if (s.dH != 1 || s.dW != 1) a.range_error("average pooling has no dilation (dilationH and dilationW must be 1)");
    s.countIncludePad = a.flag(i + 1, "countIncludePad");
    s.divisorOverride = a.dim(i + 2, "divisorOverride");
  }
  if (smul(s.H, s.W) > kMaxDim) a.range_error("H*W must fit in an int32 index");
  r.nIn = smul(smul(s.N, s.C), smul(s.H, s.W));
  r.nOut = smul(smul(s.N, s.C), smul(s.OH, s.OW));
  return r;
}

Napi::Value PoolOutputSize(const Napi::CallbackInfo& info) {
  Args a(info, "pool2dOutputSize");
  int64_t in = a.dim(0, "inputSize", 1), k = a.dim(1, "kernel", 1), st = a.dim(2, "stride", 1), p = a.dim(3, "pad");
  int64_t d = a.dim_or(4, "dilation", 1, 1);
  bool ceil = a.flag_or(5, "ceilMode", false);
  return Napi::Number::New(info.Env(), static_cast<double>(pool_out(in, k, st, p, d, ceil)));
}

Napi::Value MaxPool2dForward(const Napi::CallbackInfo& info) {
  Args a(info, "maxPool2dForward");
  Arr<float> x = a.array<float>(0, "x");
  Arr<float> out = a.array<float>(1, "out");
  Arr<int32_t> idx = a.array<int32_t>(2, "indices");
  PoolArgs p = pool_args(a, 3, true);
  a.need(x, p.nIn);
  a.need(out, p.nOut);
  a.need(idx, p.nOut);
  a.no_overlap(out, p.nOut, x, p.nIn, false);
  a.no_overlap(idx, p.nOut, x, p.nIn, false);
  a.no_overlap(idx, p.nOut, out, p.nOut, false);
  maxpool2d_forward_f32(x.data, out.data, idx.data, p.s);
  return info.Env().Undefined();
}

Napi::Value MaxPool2dBackward(const Napi::CallbackInfo& info) {
  Args a(info, "maxPool2dBackward");
  Arr<float> gout = a.array<float>(0, "gradOut");
  Arr<int32_t> idx = a.array<int32_t>(1, "indices");
  Arr<float> gin = a.array<float>(2, "gradIn");
  PoolArgs p = pool_args(a, 3, true);
  a.need(gout, p.nOut);
  a.need(idx, p.nOut);
  a.need(gin, p.nIn);
  a.no_overlap(gin, p.nIn, gout, p.nOut, false);
  a.no_overlap(gin, p.nIn, idx, p.nOut, false);
  const int64_t hw = p.s.H * p.s.W;
  for (int64_t i = 0; i < p.nOut; ++i) {
    int32_t v = idx.data[i];
    if (v < -1 || v >= hw)
      a.range_error("indices[" + std::to_string(i) + "] = " + std::to_string(v) + " is outside the input plane [0, " +
                    std::to_string(hw) + ") (-1 marks an empty window)");
  }
  maxpool2d_backward_f32(gout.data, idx.data, gin.data, p.s);
  return info.Env().Undefined();
}

Napi::Value AvgPool2dForward(const Napi::CallbackInfo& info) {
  Args a(info, "avgPool2dForward");
  Arr<float> x = a.array<float>(0, "x");
  Arr<float> out = a.array<float>(1, "out");
  PoolArgs p = pool_args(a, 2, false);
  a.need(x, p.nIn);
  a.need(out, p.nOut);
  a.no_overlap(out, p.nOut, x, p.nIn, false);
  avgpool2d_forward_f32(x.data, out.data, p.s);
  return info.Env().Undefined();
}

Napi::Value AvgPool2dBackward(const Napi::CallbackInfo& info) {
  Args a(info, "avgPool2dBackward");
  Arr<float> gout = a.array<float>(0, "gradOut");
  Arr<float> gin = a.array<float>(1, "gradIn");
  PoolArgs p = pool_args(a, 2, false);
  a.need(gout, p.nOut);
  a.need(gin, p.nIn);
  a.no_overlap(gin, p.nIn, gout, p.nOut, false);
  avgpool2d_backward_f32(gout.data, gin.data, p.s);
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------
// LSTM

Napi::Value LstmCellForward(const Napi::CallbackInfo& info) {
  Args a(info, "lstmCellForward");
  Arr<float> gates = a.array<float>(0, "gates");
  Arr<float> cPrev = a.array<float>(1, "cPrev");
  Arr<float> outC = a.array<float>(2, "outC");
  Arr<float> outH = a.array<float>(3, "outH");
  Arr<float> outG = a.array<float>(4, "outGates");
  const int64_t n = a.dim(5, "n"), H = a.dim(6, "hidden");
  const int64_t nh = smul(n, H), n4h = smul(nh, 4);
  a.need(gates, n4h);
  a.need(cPrev, nh);
  a.need(outC, nh);
  a.need(outH, nh);
  a.need(outG, n4h);
  a.no_overlap(outC, nh, gates, n4h, false);
  a.no_overlap(outC, nh, cPrev, nh, false);
  a.no_overlap(outH, nh, gates, n4h, false);
  a.no_overlap(outH, nh, cPrev, nh, false);
  a.no_overlap(outH, nh, outC, nh, false);
  a.no_overlap(outG, n4h, gates, n4h, false);
  a.no_overlap(outG, n4h, cPrev, nh, false);
  a.no_overlap(outG, n4h, outC, nh, false);
  a.no_overlap(outG, n4h, outH, nh, false);
  lstm_cell_forward_f32(gates.data, cPrev.data, outC.data, outH.data, outG.data, n, H);
  return info.Env().Undefined();
}

Napi::Value LstmCellBackward(const Napi::CallbackInfo& info) {
  Args a(info, "lstmCellBackward");
  Arr<float> act = a.array<float>(0, "gatesAct");
  Arr<float> cPrev = a.array<float>(1, "cPrev");
  Arr<float> c = a.array<float>(2, "c");
  Arr<float> dh = a.array<float>(3, "dh", true);
  Arr<float> dc = a.array<float>(4, "dc", true);
  Arr<float> dG = a.array<float>(5, "dGates");
  Arr<float> dcPrev = a.array<float>(6, "dcPrev");
  const int64_t n = a.dim(7, "n"), H = a.dim(8, "hidden");
  const int64_t nh = smul(n, H), n4h = smul(nh, 4);
  a.need(act, n4h);
  a.need(cPrev, nh);
  a.need(c, nh);
  if (dh.data) a.need(dh, nh);
  if (dc.data) a.need(dc, nh);
  a.need(dG, n4h);
  a.need(dcPrev, nh);
  // In place allowed: dGates == gatesAct, dcPrev == dc.
  a.no_overlap(dG, n4h, act, n4h, true);
  a.no_overlap(dG, n4h, cPrev, nh, false);
  a.no_overlap(dG, n4h, c, nh, false);
  if (dh.data) a.no_overlap(dG, n4h, dh, nh, false);
  if (dc.data) a.no_overlap(dG, n4h, dc, nh, false);
  a.no_overlap(dcPrev, nh, act, n4h, false);
  a.no_overlap(dcPrev, nh, cPrev, nh, false);
  a.no_overlap(dcPrev, nh, c, nh, false);
  if (dh.data) a.no_overlap(dcPrev, nh, dh, nh, false);
  if (dc.data) a.no_overlap(dcPrev, nh, dc, nh, true);
  a.no_overlap(dcPrev, nh, dG, n4h, false);
  lstm_cell_backward_f32(act.data, cPrev.data, c.data, dh.data, dc.data, dG.data, dcPrev.data, n, H);
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------

#define EXPORT(name, fn) exports.Set(name, Napi::Function::New<guarded<fn>>(env, name))

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  tune_malloc();
  exports.Set("abiVersion", Napi::Number::New(env, kAbiVersion));
  EXPORT("cpuFeatures", CpuFeatures);
  EXPORT("setNumThreads", SetNumThreads);
  EXPORT("getNumThreads", GetNumThreads);
  EXPORT("setIsa", SetIsa);
  EXPORT("sgemm", Sgemm);
  EXPORT("dgemm", Dgemm);
  EXPORT("sgemmBatched", SgemmBatched);
  EXPORT("dgemmBatched", DgemmBatched);
  EXPORT("relu", Relu);
  EXPORT("reluBackward", ReluBackward);
  EXPORT("elementwiseProgram", ElementwiseProgram);
  EXPORT("sigmoid", Sigmoid);
  EXPORT("tanh", Tanh);
  EXPORT("exp", Exp);
  EXPORT("add", Add);
  EXPORT("sub", Sub);
  EXPORT("mul", Mul);
  EXPORT("div", Div);
  EXPORT("biasAdd", BiasAdd);
  EXPORT("broadcastBinary", BroadcastBinary);
  EXPORT("compare", Compare);
  EXPORT("permute", Permute);
  EXPORT("reduceExtreme", ReduceExtreme);
  EXPORT("where", Where);
  EXPORT("sumRows", SumRows);
  EXPORT("sumAxis", SumAxis);
  EXPORT("sumAll", SumAll);
  EXPORT("softmaxCrossEntropy", SoftmaxCrossEntropy);
  EXPORT("logSoftmax", LogSoftmax);
  EXPORT("logSoftmaxBackward", LogSoftmaxBackward);
  EXPORT("sgdStep", SgdStep);
  EXPORT("adamStep", AdamStep);
  EXPORT("conv2dForward", Conv2dForward);
  EXPORT("conv2dBackwardInput", Conv2dBackwardInput);
  EXPORT("conv2dBackwardWeight", Conv2dBackwardWeight);
  EXPORT("pool2dOutputSize", PoolOutputSize);
  EXPORT("maxPool2dForward", MaxPool2dForward);
  EXPORT("maxPool2dBackward", MaxPool2dBackward);
  EXPORT("avgPool2dForward", AvgPool2dForward);
  EXPORT("avgPool2dBackward", AvgPool2dBackward);
  EXPORT("lstmCellForward", LstmCellForward);
  EXPORT("lstmCellBackward", LstmCellBackward);
  return exports;
}

}  // namespace

NODE_API_MODULE(neurite_native, Init)
