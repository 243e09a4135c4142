import type { TypedArray } from '../core/dtype.js';
import { DTypeError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { k } from './contract.js';
import { assertFloat, assertTensor, uninitialized } from './util.js';

/*
 * What the whole-sequence recurrent ops (lstmSequence, rnnSequence) share:
 * views of one time step, and the gradient of the recurrent weight.
 */

/** Every argument of `op` is a tensor of the first one's dtype, a float type; named as the caller names them. */
export function assertFloatTensorsAlike(op: string, named: readonly (readonly [string, Tensor])[]): void {
  const [firstName, first] = named[0];
  for (const [name, t] of named) {
    assertTensor(op, name, t);
    if (t.dtype !== first.dtype) throw new DTypeError(`${op}: ${firstName} is ${first.dtype} but ${name} is ${t.dtype}`);
  }
  assertFloat(op, firstName, first);
}

/** Step `index` of a time-major array of `size` elements per step, as a view (kernels write and read it in place). */
export function stepView(t: Tensor, index: number, size: number): TypedArray {
  return t.data.subarray(index * size, (index + 1) * size);
}

/**
 * W_hh's gradient Σ_t dPre_tᵀ·h_{t-1} [G·H, H] of a recurrence run over
 * `steps` time steps of n rows, from the gradient of every step's
 * pre-activation dPre [steps, n, G·H] and every step's output h [steps, n, H].
 * In processing order (backwards in time when `reverse`), every step after
 * the first reads the previous step's output, and those pairs are contiguous
 * rows of both arrays, shifted by one step: one product covers them, and a
 * second, small one adds the first step's, whose h_{t-1} is h0.
 */
export function recurrentWeightGradient(dPre: Tensor, h: Tensor, h0: Tensor, reverse: boolean): Tensor {
  const [steps, n, G] = dPre.shape;
  const H = h.shape[2];
  const kk = k();
  const dW = uninitialized('recurrentWeightGradient', dPre.dtype, [G, H]);
  const first = reverse ? steps - 1 : 0;
  kk.matmul(stepView(dPre, first, n * G), h0.data, dW.data, 1, G, H, n, true, false);
  if (steps > 1) {
    const rest = uninitialized('recurrentWeightGradient', dPre.dtype, [G, H]);
    const gRows = reverse ? dPre.data.subarray(0, (steps - 1) * n * G) : dPre.data.subarray(n * G);
    const hRows = reverse ? h.data.subarray(n * H) : h.data.subarray(0, (steps - 1) * n * H);
    kk.matmul(gRows, hRows, rest.data, 1, G, H, (steps - 1) * n, true, false);
    kk.binary('add', dW.data, dW.shape, rest.data, rest.shape, dW.data, dW.shape);
  }
  return dW;
}
