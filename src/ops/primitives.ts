/**
 * Expert primitives for the floors above ops/: kernels that a layer calls
 * directly because it needs their exact form (a product with the transposes
 * given, a matrix reused across time steps, the fused LSTM cell, one op that
 * splits a sequence into steps). Not part of the public API; ops/ stays the
 * one door to kernels/.
 */
export { type LstmPeephole, lstmCell, lstmCellComposite, lstmSequence, lstmSequenceComposite } from '../kernels/lstm.js';
export { matmulPrimitive } from '../kernels/matmul.js';
export { type RnnActivation, rnnSequence, rnnSequenceComposite } from '../kernels/rnn.js';
export { TiedMatmul } from '../kernels/tied-matmul.js';
export { unbind } from '../kernels/unbind.js';

import type { FloatArray } from '../core/dtype.js';
import { fmtShape, ValueError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { type FusedKernels, k } from '../kernels/contract.js';

export type { AdadeltaStepOptions, AdagradStepOptions, AdamStepOptions, FusedKernels, RmspropStepOptions, SgdStepOptions } from '../kernels/contract.js';
export type { StepCall, StepExecutor, StepHostCall, StepKernelCall } from '../kernels/executor.js';

/**
 * The active backend's fused version of an optimizer rule, or undefined when
 * it has none (the optimizer then runs its own TypeScript rule).
 */
export function fusedStep<N extends keyof FusedKernels>(name: N): FusedKernels[N] {
  return k()[name];
}

export { KERNEL_EFFECTS, type KernelEffect } from '../kernels/effects.js';
export { describeProgram, PROGRAM_BINARY, PROGRAM_OPS, PROGRAM_TEMPS, PROGRAM_UNARY, type ProgramOp } from '../kernels/program.js';

/**
 * Overwrite `target`'s values with `src`'s through a kernel (same size and
 * dtype), so that a compiled step records the copy: a layer updating its own
 * state (BatchNorm's running statistics) does it here, not with
 * `data.set()`, which a replay would not see.
 */
export function overwrite(target: Tensor, src: Tensor): void {
  if (target.size !== src.size || target.dtype !== src.dtype) {
    throw new ValueError(`overwrite: target ${target.dtype} ${fmtShape(target.shape)} and source ${src.dtype} ${fmtShape(src.shape)} differ`);
  }
  k().unary('copy', src.data, target.data);
}

/**
 * How many of `values` are NaN or infinite. The usual answer, none, comes
 * from one sum through the active backend's reduce kernel (SIMD on native
 * and wasm), not from a test of every value in JavaScript: a sum is finite
 * only if every term is, because NaN and the infinities survive any addition
 * (inf + -inf is NaN). The converse can fail, finite values whose sum
 * overflows, so a sum that is not finite is settled by counting.
 */
export function countNonFinite(values: FloatArray): number {
  const sum = values instanceof Float32Array ? new Float32Array(1) : new Float64Array(1);
  k().reduce('sum', values, [values.length], [0], sum);
  if (Number.isFinite(sum[0])) return 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) count++;
  return count;
}
