// The WebAssembly module's exports: the kernels of native/kernels.h behind a
// C ABI of pointers into linear memory and plain numbers.
//
// The TypeScript side (src/backends/wasm/) checks every size before a call,
// as native/addon.cc does for the Node addon, so nothing here validates: a
// wrong size could only touch this module's own memory, never the process.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "../common.h"
#include "../geometry.h"
#include "../kernels.h"

#define NT_EXPORT(name) extern "C" __attribute__((export_name(#name)))

using namespace neurite;

namespace {

Conv2dShape conv_shape(const int32_t* g) {
  Conv2dGeometryFields f;
  std::memcpy(&f, g, sizeof f);
  Conv2dShape s;
  s.N = f.batch;
  s.C = f.inChannels;
  s.H = f.inH;
  s.W = f.inW;
  s.O = f.outChannels;
  s.KH = f.kernelH;
  s.KW = f.kernelW;
  s.sH = f.strideH;
  s.sW = f.strideW;
  s.pH = f.padH;
  s.pW = f.padW;
  s.dH = f.dilationH;
  s.dW = f.dilationW;
  s.groups = f.groups;
  s.OH = f.outH;
  s.OW = f.outW;
  return s;
}

Pool2dShape pool_shape(const int32_t* g, int countIncludePad, int divisorOverride) {
  Pool2dGeometryFields f;
  std::memcpy(&f, g, sizeof f);
  Pool2dShape s;
  s.N = f.batch;
  s.C = f.channels;
  s.H = f.inH;
  s.W = f.inW;
  s.KH = f.kernelH;
  s.KW = f.kernelW;
  s.sH = f.strideH;
  s.sW = f.strideW;
  s.pH = f.padH;
  s.pW = f.padW;
  s.dH = f.dilationH;
  s.dW = f.dilationW;
  s.OH = f.outH;
  s.OW = f.outW;
  s.countIncludePad = countIncludePad != 0;
  s.divisorOverride = divisorOverride;
  return s;
}

}  // namespace

// ---- memory -------------------------------------------------------------------

extern "C" size_t neurite_block_bytes(void* p);  // alloc.cc

NT_EXPORT(nt_alloc) void* nt_alloc(uint32_t bytes) { return std::aligned_alloc(64, (bytes + 63) & ~63u); }
// Frees a block and returns its size (the backend counts the bytes its tensors hold).
NT_EXPORT(nt_free) uint32_t nt_free(void* p) {
  const size_t bytes = neurite_block_bytes(p);
  std::free(p);
  return static_cast<uint32_t>(bytes);
}
NT_EXPORT(nt_block_bytes) uint32_t nt_block_bytes(void* p) { return static_cast<uint32_t>(neurite_block_bytes(p)); }

// ---- matrix products ------------------------------------------------------------

NT_EXPORT(nt_sgemm)
void nt_sgemm(int transA, int transB, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
              float beta, float* c, int ldc) {
  sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, num_threads());
}

NT_EXPORT(nt_sgemm_batched)
void nt_sgemm_batched(int transA, int transB, int m, int n, int k, float alpha, const float* a, int lda, int strideA,
                      const float* b, int ldb, int strideB, float beta, float* c, int ldc, int strideC, int batch) {
  sgemm_batched(transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batch, num_threads());
}

NT_EXPORT(nt_dgemm)
void nt_dgemm(int transA, int transB, int m, int n, int k, double alpha, const double* a, int lda, const double* b, int ldb,
              double beta, double* c, int ldc) {
  dgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, num_threads());
}

NT_EXPORT(nt_dgemm_batched)
void nt_dgemm_batched(int transA, int transB, int m, int n, int k, double alpha, const double* a, int lda, int strideA,
                      const double* b, int ldb, int strideB, double beta, double* c, int ldc, int strideC, int batch) {
  dgemm_batched(transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB, beta, c, ldc, strideC, batch, num_threads());
}

// ---- element-wise ---------------------------------------------------------------

NT_EXPORT(nt_relu) void nt_relu(const float* x, float* out, int n) { relu_f32(x, out, n); }
NT_EXPORT(nt_sigmoid) void nt_sigmoid(const float* x, float* out, int n) { sigmoid_f32(x, out, n); }
NT_EXPORT(nt_tanh) void nt_tanh(const float* x, float* out, int n) { tanh_f32(x, out, n); }
NT_EXPORT(nt_exp) void nt_exp(const float* x, float* out, int n) { exp_f32(x, out, n); }
NT_EXPORT(nt_relu_backward)
void nt_relu_backward(const float* x, const float* g, float* out, int n) { relu_backward_f32(x, g, out, n); }
NT_EXPORT(nt_binary) void nt_binary(int op, const float* a, const float* b, float* out, int n) { binary_f32(op, a, b, out, n); }
// desc holds the arrays' addresses, then their lengths (the caller checked the program, as addon.cc does).
NT_EXPORT(nt_elementwise_program)
void nt_elementwise_program(const int32_t* code, int nInstr, const int32_t* desc, int nArrays, int n) {
  float* arrays[64];
  long lengths[64];
  for (int i = 0; i < nArrays && i < 64; ++i) {
    arrays[i] = reinterpret_cast<float*>(static_cast<uintptr_t>(static_cast<uint32_t>(desc[i])));
    lengths[i] = desc[nArrays + i];
  }
  elementwise_program_f32(code, nInstr, arrays, lengths, nArrays, n);
}
NT_EXPORT(nt_bias_add)
void nt_bias_add(const float* x, const float* bias, float* out, int rows, int cols) { bias_add_f32(x, bias, out, rows, cols); }
NT_EXPORT(nt_broadcast_binary)
void nt_broadcast_binary(int op, const float* a, int aForm, const float* b, int bForm, float* out, int outer, int inner) {
  broadcast_binary_f32(op, a, aForm, b, bForm, out, outer, inner);
}
NT_EXPORT(nt_compare)
void nt_compare(int op, const float* a, int aForm, const float* b, int bForm, uint8_t* out, int outer, int inner) {
  compare_f32(op, a, aForm, b, bForm, out, outer, inner);
}
NT_EXPORT(nt_where)
void nt_where(const uint8_t* c, int cForm, const uint32_t* a, int aForm, const uint32_t* b, int bForm, uint32_t* out, int outer,
              int inner) {
  where_u32(c, cForm, a, aForm, b, bForm, out, outer, inner);
}
NT_EXPORT(nt_reduce_extreme)
void nt_reduce_extreme(int isMax, const float* x, float* out, int outer, int size, int inner) {
  reduce_extreme_f32(isMax != 0, x, out, outer, size, inner);
}
// shapeAndPerm holds the rank sizes, then the rank axes of the permutation (the caller checked them, as addon.cc does).
NT_EXPORT(nt_permute)
void nt_permute(const uint32_t* x, uint32_t* out, int rank, const int32_t* shapeAndPerm) {
  long shape[kMaxPermuteRank];
  int perm[kMaxPermuteRank];
  for (int d = 0; d < rank && d < kMaxPermuteRank; ++d) {
    shape[d] = shapeAndPerm[d];
    perm[d] = shapeAndPerm[rank + d];
  }
  permute_u32(x, out, rank, shape, perm);
}

// ---- reductions -----------------------------------------------------------------

NT_EXPORT(nt_sum_rows) void nt_sum_rows(const float* x, float* out, int rows, int cols) { sum_rows_f32(x, out, rows, cols); }
NT_EXPORT(nt_sum_axis)
void nt_sum_axis(const float* x, float* out, int outer, int c, int inner) { sum_axis_f32(x, out, outer, c, inner); }
NT_EXPORT(nt_log_softmax)
void nt_log_softmax(const float* x, float* out, int outer, int size, int inner) { log_softmax_f32(x, out, outer, size, inner); }
NT_EXPORT(nt_log_softmax_backward)
void nt_log_softmax_backward(const float* g, const float* y, float* dx, int outer, int size, int inner) {
  log_softmax_backward_f32(g, y, dx, outer, size, inner);
}
NT_EXPORT(nt_sum_all) double nt_sum_all(const float* x, int n) { return sum_all_f32(x, n); }

// ---- convolution and pooling ------------------------------------------------------

NT_EXPORT(nt_conv2d_forward)
void nt_conv2d_forward(const float* x, const float* w, const float* bias, float* out, const int32_t* g) {
  conv2d_forward_f32(x, w, bias, out, conv_shape(g));
}
NT_EXPORT(nt_conv2d_backward_input)
void nt_conv2d_backward_input(const float* dy, const float* w, float* dx, const int32_t* g) {
  conv2d_backward_input_f32(dy, w, dx, conv_shape(g));
}
NT_EXPORT(nt_conv2d_backward_weight)
void nt_conv2d_backward_weight(const float* x, const float* dy, float* dw, float* db, const int32_t* g) {
  conv2d_backward_weight_f32(x, dy, dw, db, conv_shape(g));
}
NT_EXPORT(nt_maxpool2d_forward)
void nt_maxpool2d_forward(const float* x, float* out, int32_t* indices, const int32_t* g) {
  maxpool2d_forward_f32(x, out, indices, pool_shape(g, 1, 0));
}
NT_EXPORT(nt_maxpool2d_backward)
void nt_maxpool2d_backward(const float* dy, const int32_t* indices, float* dx, const int32_t* g) {
  maxpool2d_backward_f32(dy, indices, dx, pool_shape(g, 1, 0));
}
NT_EXPORT(nt_avgpool2d_forward)
void nt_avgpool2d_forward(const float* x, float* out, const int32_t* g, int countIncludePad, int divisorOverride) {
  avgpool2d_forward_f32(x, out, pool_shape(g, countIncludePad, divisorOverride));
}
NT_EXPORT(nt_avgpool2d_backward)
void nt_avgpool2d_backward(const float* dy, float* dx, const int32_t* g, int countIncludePad, int divisorOverride) {
  avgpool2d_backward_f32(dy, dx, pool_shape(g, countIncludePad, divisorOverride));
}

// ---- LSTM cell --------------------------------------------------------------------

NT_EXPORT(nt_lstm_cell_forward)
void nt_lstm_cell_forward(const float* gates, const float* cPrev, float* outC, float* outH, float* outGates, int n, int H) {
  lstm_cell_forward_f32(gates, cPrev, outC, outH, outGates, n, H);
}
NT_EXPORT(nt_lstm_cell_backward)
void nt_lstm_cell_backward(const float* gatesAct, const float* cPrev, const float* c, const float* dh, const float* dc,
                           float* dGates, float* dcPrev, int n, int H) {
  lstm_cell_backward_f32(gatesAct, cPrev, c, dh, dc, dGates, dcPrev, n, H);
}

// ---- optimizer steps ----------------------------------------------------------------

NT_EXPORT(nt_sgd_step)
void nt_sgd_step(float* param, const float* grad, float* buf, int n, double lr, double momentum, double dampening,
                 double weightDecay, int nesterov, int firstStep, int maximize) {
  SgdParams p{lr, momentum, dampening, weightDecay, nesterov != 0, firstStep != 0, maximize != 0};
  sgd_step_f32(param, grad, buf, n, p);
}
NT_EXPORT(nt_adam_step)
void nt_adam_step(float* param, const float* grad, float* m, float* v, float* vmax, int n, double lr, double beta1,
                  double beta2, double eps, double weightDecay, double step, int amsgrad, int decoupled, int maximize) {
  AdamParams p{lr, beta1, beta2, eps, weightDecay, step, amsgrad != 0, decoupled != 0, maximize != 0};
  adam_step_f32(param, grad, m, v, vmax, n, p);
}
