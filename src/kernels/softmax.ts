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
 * Its gradient, g - softmax(x)·Σ g along the axis with softmax = exp(out), is
 * one kernel as well (logSoftmaxGrad).
 */
export function logSoftmaxPrimitive(x: Tensor, axis: number): Tensor {
  assertTensor('logSoftmax', 'input', x);
  const input = isFloatDType(x.dtype) ? x : x.cast('float32');
  const view = lineView(input.shape, axis);
  const out = uninitialized('logSoftmax', input.dtype, input.shape);
  k().logSoftmax(input.data, view.outer, view.size, view.inner, out.data);
  return record(out, 'logSoftmax', [input], (g) => [logSoftmaxGrad(g, out, axis)]);
}

/** A shape seen as [outer, size, inner] around `axis`. */
function lineView(shape: readonly number[], axis: number): { outer: number; size: number; inner: number } {
  let outer = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d];
  let inner = 1;
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d];
  return { outer, size: shape[axis], inner };
}

/**
 * logSoftmax's vector-Jacobian product g - exp(out)·Σ g from its output, as
 * one kernel. Its own gradient, for second derivatives, is written with ops:
 * with e = exp(out), ∂/∂g of ⟨gg, dx⟩ is gg - Σ(gg·e) and ∂/∂out is -gg·e·Σ g.
 */
function logSoftmaxGrad(g: Tensor, out: Tensor, axis: number): Tensor {
  const grad = g.dtype === out.dtype ? g : g.cast(out.dtype);
  const view = lineView(out.shape, axis);
  const dx = uninitialized('logSoftmax', out.dtype, out.shape);
  k().logSoftmaxBackward(grad.data, out.data, view.outer, view.size, view.inner, dx.data);
  return record(dx, 'logSoftmaxBackward', [grad, out], (gg) => {
    const e = out.exp();
    const ge = gg.mul(e);
    return [gg.sub(ge.sum(axis, true)), ge.mul(grad.sum(axis, true)).neg()];
  });
}
