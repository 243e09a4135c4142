import { record } from '../autograd/graph.js';
import { type DType, isFloatDType, parseDType } from '../core/dtype.js';
import type { Tensor } from '../core/tensor.js';
import { k } from './contract.js';
import { assertTensor, empty } from './util.js';

/** A copy in another dtype. Differentiable between float dtypes; the gradient is cast back. */
export function cast(x: Tensor, dtype: DType): Tensor {
  assertTensor('cast', 'input', x);
  parseDType('cast', dtype);
  if (x.dtype === dtype) return x;
  const out = empty('cast', dtype, x.shape);
  k().cast(x.data, out.data);
  if (!isFloatDType(dtype)) return out;
  return record(out, 'cast', [x], (g) => [g.cast(x.dtype)]);
}
