import type { DType } from '../core/dtype.js';
import { DTypeError, ValueError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { assertTensor, empty } from '../kernels/util.js';

/** One-hot encoding of int32 class indices: shape [...indices.shape, numClasses]. */
export function oneHot(indices: Tensor, numClasses: number, dtype: DType = 'float32'): Tensor {
  assertTensor('oneHot', 'indices', indices);
  if (indices.dtype !== 'int32') throw new DTypeError(`oneHot: indices must be int32, got ${indices.dtype}`);
  if (!Number.isInteger(numClasses) || numClasses <= 0) throw new ValueError(`oneHot: numClasses must be a positive integer, got ${numClasses}`);
  const out = empty('oneHot', dtype, [...indices.shape, numClasses]);
  const idx = indices.data;
  for (let i = 0; i < idx.length; i++) {
    const c = idx[i];
    if (c < 0 || c >= numClasses) throw new ValueError(`oneHot: class index ${c} is out of range for ${numClasses} classes`);
    out.data[i * numClasses + c] = 1;
  }
  return out;
}
