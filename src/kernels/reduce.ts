import { record } from '../autograd/graph.js';
import { ValueError } from '../core/errors.js';
import { normalizeAxes, normalizeAxis } from '../core/shape.js';
import type { Axes, Tensor } from '../core/tensor.js';
import { k, type ReduceOp } from './contract.js';
import { assertTensor, empty } from './util.js';

function reducedShape(shape: readonly number[], axes: readonly number[], keepDims: boolean): number[] {
  const out: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    if (axes.includes(d)) {
      if (keepDims) out.push(1);
    } else out.push(shape[d]);
  }
  return out;
}

/** Bring a reduced result back to the input's shape, as the gradient of a reduction needs. */
function expandBack(t: Tensor, inputShape: readonly number[], axes: readonly number[]): Tensor {
  return t.reshape(reducedShape(inputShape, axes, true)).expand(inputShape);
}

function reduceOp(op: ReduceOp, x: Tensor, axesArg: Axes | undefined, keepDims: boolean): Tensor {
  assertTensor(op, 'input', x);
  const axes = normalizeAxes(op, axesArg, x.ndim);
  if ((op === 'max' || op === 'min') && axes.some((a) => x.shape[a] === 0)) {
    throw new ValueError(`${op}: cannot reduce over an empty axis of shape [${x.shape.join(', ')}]`);
  }
  const dtype = x.dtype === 'bool' ? 'int32' : x.dtype;
  const outShape = reducedShape(x.shape, axes, keepDims);
  const out = empty(op, dtype, outShape);
  k().reduce(op, x.data, x.shape, axes, out.data);
  return record(out, op, [x], (g) => {
    const gx = expandBack(g, x.shape, axes);
    if (op === 'sum') return [gx];
    const y = expandBack(out, x.shape, axes);
    // d prod / dx_i = prod / x_i (undefined where x_i = 0; documented limitation).
    if (op === 'prod') return [gx.mul(y).div(x)];
    // max/min: the gradient is shared evenly between the tied extremes.
    const mask = x.eq(y).cast(g.dtype);
    return [gx.mul(mask).div(expandBack(mask.sum(axes, true), x.shape, axes))];
  });
}

/** Sum over `axes` (all when omitted). */
export const sum = (x: Tensor, axes?: Axes, keepDims = false) => reduceOp('sum', x, axes, keepDims);
/** Product over `axes` (all when omitted). */
export const prod = (x: Tensor, axes?: Axes, keepDims = false) => reduceOp('prod', x, axes, keepDims);
/** Largest value over `axes` (all when omitted); the gradient goes to the maxima. */
export const max = (x: Tensor, axes?: Axes, keepDims = false) => reduceOp('max', x, axes, keepDims);
/** Smallest value over `axes` (all when omitted); the gradient goes to the minima. */
export const min = (x: Tensor, axes?: Axes, keepDims = false) => reduceOp('min', x, axes, keepDims);

function argReduce(op: 'argmax' | 'argmin', x: Tensor, axis: number | undefined, keepDims: boolean): Tensor {
  assertTensor(op, 'input', x);
  if (x.size === 0) throw new ValueError(`${op}: the input is empty`);
  if (axis === undefined) {
    const flat = x.reshape([x.size]);
    const out = empty(op, 'int32', keepDims ? x.shape.map(() => 1) : []);
    k().argReduce(op, flat.data, flat.shape, 0, out.data as Int32Array);
    return out;
  }
  const ax = normalizeAxis(op, axis, x.ndim);
  const out = empty(op, 'int32', reducedShape(x.shape, [ax], keepDims));
  k().argReduce(op, x.data, x.shape, ax, out.data as Int32Array);
  return out;
}

/** Index (int32) of the largest value along `axis`, or in the flattened tensor; the first one on ties. */
export const argmax = (x: Tensor, axis?: number, keepDims = false) => argReduce('argmax', x, axis, keepDims);
/** Index (int32) of the smallest value along `axis`, or in the flattened tensor; the first one on ties. */
export const argmin = (x: Tensor, axis?: number, keepDims = false) => argReduce('argmin', x, axis, keepDims);
