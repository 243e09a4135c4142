import { record } from '../autograd/graph.js';
import { subview } from '../core/dtype.js';
import { sizeOf } from '../core/shape.js';
import { Tensor } from '../core/tensor.js';
import { k } from './contract.js';
import { empty, uninitialized } from './util.js';

/**
 * The start of the slice in x's storage when the slice is one contiguous run
 * of it (unit steps, whole trailing axes, single indices before the sliced
 * axis), else -1.
 */
function contiguousOffset(shape: readonly number[], begin: readonly number[], step: readonly number[], outShape: readonly number[]): number {
  const r = shape.length;
  let d = r - 1;
  // Trailing axes taken whole.
  while (d >= 0 && begin[d] === 0 && outShape[d] === shape[d] && (step[d] === 1 || shape[d] === 1)) d--;
  // One partially taken axis with unit step, then only single positions before it.
  if (d >= 0 && step[d] !== 1 && outShape[d] !== 1) return -1;
  for (let a = d - 1; a >= 0; a--) if (outShape[a] !== 1) return -1;
  let offset = 0;
  let stride = 1;
  for (let a = r - 1; a >= 0; a--) {
    offset += begin[a] * stride;
    stride *= shape[a];
  }
  return offset;
}

/**
 * The strided-slice primitive: out[i] = x[begin + i*step] per axis, over
 * outShape (steps may be 0 to repeat, or negative). Arguments are validated by
 * the public ops built on it (slice, narrow, expand, flip).
 */
export function stridedSlice(x: Tensor, begin: readonly number[], step: readonly number[], outShape: readonly number[]): Tensor {
  const offset = contiguousOffset(x.shape, begin, step, outShape);
  let out: Tensor;
  if (offset >= 0) {
    // A contiguous block (a range of rows, a batch out of a dataset) is a view: no copy.
    out = new Tensor(subview(x.data, offset, offset + sizeOf(outShape)), outShape);
  } else {
    // The kernel writes every element.
    out = uninitialized('slice', x.dtype, outShape);
    k().slice(x.data, x.shape, begin, step, out.data, outShape);
  }
  return record(out, 'slice', [x], (g) => [stridedSliceAdjoint(g, x.shape, begin, step)]);
}

/** The adjoint of stridedSlice: a zero tensor of `shape` with g added at the sliced positions. */
export function stridedSliceAdjoint(g: Tensor, shape: readonly number[], begin: readonly number[], step: readonly number[]): Tensor {
  const out = empty('slice', g.dtype, shape);
  k().sliceAdd(g.data, g.shape, begin, step, out.data, shape);
  return record(out, 'sliceBackward', [g], (gg) => [stridedSlice(gg, begin, step, g.shape)]);
}
