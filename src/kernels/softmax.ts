import { record } from '../autograd/graph.js';
import { isFloatDType } from '../core/dtype.js';
import type { Tensor } from '../core/tensor.js';
import { k } from './contract.js';
import { assertTensor, uninitialized } from './util.js';

/**
 * log softmax along `axis` (already normalised, of a tensor with at least one
 * dimension) as one primitive: classification losses call it every step, and
 * as a composite it was six kernels forward (max, subtract, exp, sum, log,
 * subtract) and as many backward. Integer input becomes float32 first.
 *
 * The gradient is g - softmax(x)·Σ g along the axis, with softmax = exp(out);
 * written with tensor ops, so it can be differentiated again.
 */
export function logSoftmaxPrimitive(x: Tensor, axis: number): Tensor {
  assertTensor('logSoftmax', 'input', x);
  const input = isFloatDType(x.dtype) ? x : x.cast('float32');
  const shape = input.shape;
  let outer = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d];
  let inner = 1;
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d];
  const out = uninitialized('logSoftmax', input.dtype, shape);
  k().logSoftmax(input.data, outer, shape[axis], inner, out.data);
  return record(out, 'logSoftmax', [input], (g) => [g.sub(out.exp().mul(g.sum(axis, true)))]);
}
