import { record } from '../autograd/graph.js';
import { k } from '../core/engine.js';
import type { Tensor } from '../core/tensor.js';
import { empty } from './util.js';

/**
 * The strided-slice primitive: out[i] = x[begin + i*step] per axis, over
 * outShape (steps may be 0 to repeat, or negative). Arguments are validated by
 * the public ops built on it (slice, narrow, expand, flip).
 */
export function stridedSlice(x: Tensor, begin: readonly number[], step: readonly number[], outShape: readonly number[]): Tensor {
  const out = empty(x.dtype, outShape);
  k().slice(x.data, x.shape, begin, step, out.data, outShape);
  return record(out, 'slice', [x], (g) => [stridedSliceAdjoint(g, x.shape, begin, step)]);
}

/** The adjoint of stridedSlice: a zero tensor of `shape` with g added at the sliced positions. */
export function stridedSliceAdjoint(g: Tensor, shape: readonly number[], begin: readonly number[], step: readonly number[]): Tensor {
  const out = empty(g.dtype, shape);
  k().sliceAdd(g.data, g.shape, begin, step, out.data, shape);
  return record(out, 'sliceBackward', [g], (gg) => [stridedSlice(gg, begin, step, g.shape)]);
}
