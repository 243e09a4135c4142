// Internal C++ kernels (no N-API).  Pointers are assumed valid and large
// enough: addon.cc validates every argument before calling these.
#pragma once

#include <cstdint>

namespace neurite {

// ---- gemm.cc ---------------------------------------------------------------
// Row-major C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C; beta == 0
// means C is write-only.  op(A) = A (lda >= K) or A^T (A is K x M, lda >= M).
void sgemm(bool transA, bool transB, long M, long N, long K, float alpha, const float* A, long lda, const float* B,
           long ldb, float beta, float* C, long ldc, int nthreads);
void dgemm(bool transA, bool transB, long M, long N, long K, double alpha, const double* A, long lda,
           const double* B, long ldb, double beta, double* C, long ldc, int nthreads);
void sgemm_batched(bool transA, bool transB, long M, long N, long K, float alpha, const float* A, long lda,
                   long strideA, const float* B, long ldb, long strideB, float beta, float* C, long ldc,
                   long strideC, long batch, int nthreads);
void dgemm_batched(bool transA, bool transB, long M, long N, long K, double alpha, const double* A, long lda,
                   long strideA, const double* B, long ldb, long strideB, double beta, double* C, long ldc,
                   long strideC, long batch, int nthreads);
void gemm_tile(int isa, bool is_double, int* mr, int* nr);

// ---- ops.cc ----------------------------------------------------------------
void relu_f32(const float* x, float* out, long n);
void relu_backward_f32(const float* x, const float* g, float* out, long n);
void sigmoid_f32(const float* x, float* out, long n);
void tanh_f32(const float* x, float* out, long n);
void exp_f32(const float* x, float* out, long n);
enum BinaryOp { BIN_ADD = 0, BIN_SUB = 1, BIN_MUL = 2, BIN_DIV = 3 };
void binary_f32(int op, const float* a, const float* b, float* out, long n);
void bias_add_f32(const float* x, const float* bias, float* out, long rows, long cols);
// ---- broadcast.cc ------------------------------------------------------------
// An operand of a broadcast element-wise kernel over the output viewed as
// [outer, inner]: every element, one value, `inner` values repeated for every
// outer index, or `outer` values each repeated along its row.
enum BroadcastForm { BCAST_FULL = 0, BCAST_SCALAR = 1, BCAST_ROW = 2, BCAST_COL = 3 };
enum BroadcastBinaryOp { BB_ADD = 0, BB_SUB = 1, BB_MUL = 2, BB_DIV = 3, BB_MAXIMUM = 4, BB_MINIMUM = 5 };
enum CompareOp { CMP_LT = 0, CMP_LE = 1, CMP_GT = 2, CMP_GE = 3, CMP_EQ = 4, CMP_NE = 5 };
void broadcast_binary_f32(int op, const float* a, int aForm, const float* b, int bForm, float* out, long outer, long inner);
void compare_f32(int op, const float* a, int aForm, const float* b, int bForm, uint8_t* out, long outer, long inner);
// out = c ? a : b for 4-byte elements, each operand in its BroadcastForm.
void where_u32(const uint8_t* c, int cForm, const uint32_t* a, int aForm, const uint32_t* b, int bForm, uint32_t* out, long outer,
               long inner);
// out[o, j] = max (min) over i of x[o, i, j], the first NaN if any, equal values keeping the first (-0 or +0).
void reduce_extreme_f32(bool isMax, const float* x, float* out, long outer, long size, long inner);
// out = x with its axes reordered (output axis i is input axis perm[i]), for 4-byte elements.
constexpr int kMaxPermuteRank = 8;
void permute_u32(const uint32_t* x, uint32_t* out, int rank, const long* shape, const int* perm);
// A fused chain of element-wise kernels: code holds nInstr instructions of four
// ints (op, destination slot, first source, second source or -1). Slots below
// nArrays name arrays[slot] (lengths[slot] is n, or 1 for a scalar source
// broadcast); slots from nArrays up name temporaries, kProgramTemps at most.
enum ProgramOp {
  PROG_RELU = 0,
  PROG_SIGMOID = 1,
  PROG_TANH = 2,
  PROG_EXP = 3,
  PROG_NEG = 4,
  PROG_ADD = 5,
  PROG_SUB = 6,
  PROG_MUL = 7,
  PROG_DIV = 8,
  PROG_RELU_BACKWARD = 9,
};
constexpr int kProgramTemps = 8;
void elementwise_program_f32(const int32_t* code, int nInstr, float* const* arrays, const long* lengths, int nArrays, long n);
void sum_rows_f32(const float* x, float* out, long rows, long cols);
void sum_axis_f32(const float* x, float* out, long outer, long C, long inner);
double sum_all_f32(const float* x, long n);
// Returns the sum of the per-row losses.  grad may be null.
double softmax_xent_f32(const float* logits, const int32_t* labels, float* loss, float* grad, long n, long c);
void log_softmax_f32(const float* x, float* out, long outer, long size, long inner);
void log_softmax_backward_f32(const float* g, const float* y, float* dx, long outer, long size, long inner);

struct SgdParams {
  double lr, momentum, dampening, weightDecay;
  bool nesterov, firstStep, maximize;
};
void sgd_step_f32(float* param, const float* grad, float* momentumBuf, long n, const SgdParams& p);

struct AdamParams {
  double lr, beta1, beta2, eps, weightDecay;
  double step;  // 1-based step count *after* the increment (PyTorch's state['step'])
  bool amsgrad, decoupled, maximize;
};
void adam_step_f32(float* param, const float* grad, float* m, float* v, float* vmax, long n, const AdamParams& p);

void lstm_cell_forward_f32(const float* gates, const float* cPrev, float* outC, float* outH, float* outGates, long n,
                           long H);
void lstm_cell_backward_f32(const float* gatesAct, const float* cPrev, const float* c, const float* dh,
                            const float* dc, float* dGates, float* dcPrev, long n, long H);

// ---- conv.cc ---------------------------------------------------------------
struct Conv2dShape {
  long N, C, H, W, O, KH, KW, sH, sW, pH, pW, dH, dW, groups;
  long OH, OW;  // derived: (H + 2pH - dH*(KH-1) - 1) / sH + 1
};
void conv2d_forward_f32(const float* x, const float* w, const float* bias, float* out, const Conv2dShape& s);
void conv2d_backward_input_f32(const float* gradOut, const float* w, float* gradIn, const Conv2dShape& s);
void conv2d_backward_weight_f32(const float* x, const float* gradOut, float* gradW, float* gradBias,
                                const Conv2dShape& s);
// Direct kernels for small layers (conv_direct.cc); false when the shape or
// the CPU is not one they handle, and the caller uses im2col + GEMM.
bool conv2d_direct_forward_f32(const float* x, const float* w, const float* bias, float* out, const Conv2dShape& s);
bool conv2d_direct_backward_input_f32(const float* gradOut, const float* w, float* gradIn, const Conv2dShape& s);
bool conv2d_direct_backward_weight_f32(const float* x, const float* gradOut, float* gradW, const Conv2dShape& s);

struct Pool2dShape {
  long N, C, H, W, KH, KW, sH, sW, pH, pW, dH, dW;
  long OH, OW;
  bool countIncludePad;
  long divisorOverride;  // 0: none
};
void maxpool2d_forward_f32(const float* x, float* out, int32_t* indices, const Pool2dShape& s);
void maxpool2d_backward_f32(const float* gradOut, const int32_t* indices, float* gradIn, const Pool2dShape& s);
void avgpool2d_forward_f32(const float* x, float* out, const Pool2dShape& s);
void avgpool2d_backward_f32(const float* gradOut, float* gradIn, const Pool2dShape& s);

}  // namespace neurite
