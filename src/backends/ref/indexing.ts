import type { TypedArray } from '../../core/dtype.js';
import { type Shape, stridesOf } from '../../core/shape.js';

/** Split a shape around `axis` into (outer, size, inner) block counts. */
function around(shape: Shape, axis: number): [number, number, number] {
  let outer = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d];
  let inner = 1;
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d];
  return [outer, shape[axis], inner];
}

/** Visit each position of indexShape: cb(flatIndexPosition, offsetInX without the axis term). */
function forEachIndex(shape: Shape, indexShape: Shape, axis: number, cb: (pos: number, base: number, axisStride: number) => void): void {
  const xst = stridesOf(shape);
  const r = indexShape.length;
  const total = indexShape.reduce((p, c) => p * c, 1);
  if (total === 0) return;
  const idx = new Array<number>(r).fill(0);
  let base = 0;
  for (let pos = 0; pos < total; pos++) {
    cb(pos, base, xst[axis]);
    for (let d = r - 1; d >= 0; d--) {
      idx[d]++;
      if (d !== axis) base += xst[d];
      if (idx[d] < indexShape[d]) break;
      if (d !== axis) base -= xst[d] * indexShape[d];
      idx[d] = 0;
    }
  }
}

export function gather(x: TypedArray, shape: Shape, axis: number, index: Int32Array, indexShape: Shape, out: TypedArray): void {
  forEachIndex(shape, indexShape, axis, (pos, base, s) => {
    out[pos] = x[base + index[pos] * s];
  });
}

export function scatterAdd(out: TypedArray, shape: Shape, axis: number, index: Int32Array, indexShape: Shape, src: TypedArray): void {
  forEachIndex(shape, indexShape, axis, (pos, base, s) => {
    out[base + index[pos] * s] += src[pos];
  });
}

export function indexSelect(x: TypedArray, shape: Shape, axis: number, index: Int32Array, out: TypedArray): void {
  const [outer, n, inner] = around(shape, axis);
  const m = index.length;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < m; i++) {
      const from = (o * n + index[i]) * inner;
      out.set(x.subarray(from, from + inner), (o * m + i) * inner);
    }
  }
}

export function indexAdd(out: TypedArray, shape: Shape, axis: number, index: Int32Array, src: TypedArray, _srcShape: Shape): void {
  const [outer, n, inner] = around(shape, axis);
  const m = index.length;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < m; i++) {
      const to = (o * n + index[i]) * inner;
      const from = (o * m + i) * inner;
      for (let j = 0; j < inner; j++) out[to + j] += src[from + j];
    }
  }
}
