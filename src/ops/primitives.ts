/**
 * Expert primitives for the floors above ops/: kernels that a layer calls
 * directly because it needs their exact form (a product with the transposes
 * given, a matrix reused across time steps, the fused LSTM cell, one op that
 * splits a sequence into steps). Not part of the public API; ops/ stays the
 * one door to kernels/.
 */
export { type LstmPeephole, lstmCell, lstmCellComposite } from '../kernels/lstm.js';
export { matmulPrimitive } from '../kernels/matmul.js';
export { TiedMatmul } from '../kernels/tied-matmul.js';
export { unbind } from '../kernels/unbind.js';

import { type FusedKernels, k } from '../kernels/contract.js';

export type { AdamStepOptions, SgdStepOptions } from '../kernels/contract.js';

/**
 * The active backend's fused version of an optimizer rule, or undefined when
 * it has none (the optimizer then runs its own TypeScript rule).
 */
export function fusedStep<N extends keyof FusedKernels>(name: N): FusedKernels[N] {
  return k()[name];
}
