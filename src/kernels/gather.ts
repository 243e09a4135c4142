import { record } from '../autograd/graph.js';
import { allocate } from '../core/dtype.js';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { normalizeAxis } from '../core/shape.js';
import { Tensor } from '../core/tensor.js';
import { hostStep } from '../core/trace.js';
import { k } from './contract.js';
import { assertTensor, empty, uninitialized } from './util.js';

function checkIndex(op: string, index: Tensor, limit: number): Int32Array {
  if (index.dtype !== 'int32') throw new DTypeError(`${op}: index must be an int32 tensor, got ${index.dtype}`);
  const data = index.data as Int32Array;
  // A host step: indices often come from the data (an Embedding's input), so a compiled step checks them in every replay.
  hostStep(`${op} index check`, { reads: [data] }, () => {
    for (let i = 0; i < data.length; i++) {
      if (data[i] < 0 || data[i] >= limit) throw new ValueError(`${op}: index ${data[i]} is out of range for an axis of size ${limit}`);
    }
  });
  return data;
}

function checkGatherShapes(op: string, shape: readonly number[], index: Tensor, ax: number): void {
  if (index.ndim !== shape.length || index.shape.some((d, i) => i !== ax && d > shape[i])) {
    throw new ShapeError(
      `${op}: index of shape ${fmtShape(index.shape)} does not fit input of shape ${fmtShape(shape)} (same rank, no larger outside axis ${ax})`,
    );
  }
}

/** torch.gather: out[i][j] = x[index[i][j]][j] for axis 0 (and likewise for other axes). */
export function gather(x: Tensor, axis: number, index: Tensor): Tensor {
  assertTensor('gather', 'input', x);
  assertTensor('gather', 'index', index);
  const ax = normalizeAxis('gather', axis, x.ndim);
  checkGatherShapes('gather', x.shape, index, ax);
  const idx = checkIndex('gather', index, x.shape[ax]);
  const out = empty('gather', x.dtype, index.shape);
  k().gather(x.data, x.shape, ax, idx, index.shape, out.data);
  return record(out, 'gather', [x], (g) => [scatterAdd(zerosOf(x), ax, index, g)]);
}

/** x with src added at the positions that index names along axis (the adjoint of gather). */
export function scatterAdd(x: Tensor, axis: number, index: Tensor, src: Tensor): Tensor {
  assertTensor('scatterAdd', 'input', x);
  assertTensor('scatterAdd', 'index', index);
  assertTensor('scatterAdd', 'src', src);
  const ax = normalizeAxis('scatterAdd', axis, x.ndim);
  checkGatherShapes('scatterAdd', x.shape, index, ax);
  if (src.ndim !== index.ndim || src.shape.some((d, i) => d < index.shape[i])) {
    throw new ShapeError(`scatterAdd: src of shape ${fmtShape(src.shape)} is smaller than index of shape ${fmtShape(index.shape)}`);
  }
  const idx = checkIndex('scatterAdd', index, x.shape[ax]);
  const s = src.dtype === x.dtype ? src : src.cast(x.dtype);
  const srcFit = sameShape(s.shape, index.shape) ? s : s.slice(...index.shape.map((d) => [0, d] as const));
  const out = copied('scatterAdd', x);
  k().scatterAdd(out.data, x.shape, ax, idx, index.shape, srcFit.data);
  return record(out, 'scatterAdd', [x, srcFit], (g) => [g, gather(g, ax, index)]);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function zerosOf(x: Tensor): Tensor {
  return empty('scatterAdd', x.dtype, x.shape);
}

/** Select entries along an axis by a list of indices (rows of an embedding table, say). */
export function indexSelect(x: Tensor, axis: number, index: Tensor | readonly number[]): Tensor {
  assertTensor('indexSelect', 'input', x);
  const ax = normalizeAxis('indexSelect', axis, x.ndim);
  if (!(index instanceof Tensor)) {
    index.forEach((v, i) => {
      if (!Number.isInteger(v)) throw new ValueError(`indexSelect: indices must be integers, got ${v} at position ${i}`);
    });
  }
  const it = index instanceof Tensor ? index : indexTensor(index);
  if (it.ndim !== 1) throw new ShapeError(`indexSelect: index must be 1-D, got shape ${fmtShape(it.shape)}`);
  const idx = checkIndex('indexSelect', it, x.shape[ax]);
  const outShape = [...x.shape];
  outShape[ax] = idx.length;
  const out = empty('indexSelect', x.dtype, outShape);
  k().indexSelect(x.data, x.shape, ax, idx, out.data);
  return record(out, 'indexSelect', [x], (g) => [indexAdd(zerosOf(x), ax, it, g)]);
}

/** x with src's slices added at the given indices along axis (the adjoint of indexSelect). */
export function indexAdd(x: Tensor, axis: number, index: Tensor, src: Tensor): Tensor {
  assertTensor('indexAdd', 'input', x);
  assertTensor('indexAdd', 'src', src);
  const ax = normalizeAxis('indexAdd', axis, x.ndim);
  const idx = checkIndex('indexAdd', index, x.shape[ax]);
  const expected = [...x.shape];
  expected[ax] = idx.length;
  if (!sameShape(src.shape, expected)) {
    throw new ShapeError(`indexAdd: src must have shape ${fmtShape(expected)}, got ${fmtShape(src.shape)}`);
  }
  const s = src.dtype === x.dtype ? src : src.cast(x.dtype);
  const out = copied('indexAdd', x);
  k().indexAdd(out.data, x.shape, ax, idx, s.data, s.shape);
  return record(out, 'indexAdd', [x, s], (g) => [g, indexSelect(g, ax, index)]);
}

/** A copy of `x` made by a kernel (so that a compiled step records it), for the ops that add into a copy. */
function copied(op: string, x: Tensor): Tensor {
  const out = uninitialized(op, x.dtype, x.shape);
  k().unary('copy', x.data, out.data);
  return out;
}

/** Indices given as numbers, as an int32 tensor in placed storage. */
function indexTensor(index: readonly number[]): Tensor {
  const data = allocate('int32', index.length);
  data.set(index);
  return new Tensor(data, [index.length]);
}
