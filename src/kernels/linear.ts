import { record } from '../autograd/graph.js';
import { DTypeError, fmtShape, ShapeError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { k } from './contract.js';
import { matmulPrimitive } from './matmul.js';
import { assertTensor, uninitialized } from './util.js';

/**
 * A dense layer's affine map, x·Wᵀ + b, for x [m, in], W [out, in] and b [out],
 * as one primitive: the bias is written first and the product accumulated onto
 * it, saving a pass and an allocation per layer. Its gradient is built from
 * the matmul primitive and a sum, so it stays differentiable.
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor): Tensor {
  assertTensor('linear', 'input', x);
  assertTensor('linear', 'weight', weight);
  assertTensor('linear', 'bias', bias);
  if (x.ndim !== 2 || weight.ndim !== 2 || bias.ndim !== 1 || x.shape[1] !== weight.shape[1] || bias.shape[0] !== weight.shape[0]) {
    throw new ShapeError(
      `linear: expected input [m, in], weight [out, in] and bias [out], got ${fmtShape(x.shape)}, ${fmtShape(weight.shape)} and ${fmtShape(bias.shape)}`,
    );
  }
  if (x.dtype !== weight.dtype || bias.dtype !== weight.dtype || (x.dtype !== 'float32' && x.dtype !== 'float64')) {
    throw new DTypeError(`linear: input, weight and bias must share one float dtype, got ${x.dtype}, ${weight.dtype} and ${bias.dtype}`);
  }
  const [m, inFeatures] = x.shape;
  const n = weight.shape[0];
  const out = uninitialized('linear', x.dtype, [m, n]);
  k().addmm(bias.data, x.data, weight.data, out.data, m, n, inFeatures, false, true);
  return record(out, 'linear', [x, weight, bias], (g) => [
    x.requiresGrad ? matmulPrimitive(g, weight, false, false) : null,
    weight.requiresGrad ? matmulPrimitive(g, x, true, false) : null,
    bias.requiresGrad ? g.sum(0) : null,
  ]);
}
