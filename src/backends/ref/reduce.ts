import type { TypedArray } from '../../core/dtype.js';
import type { Shape } from '../../core/shape.js';
import type { ReduceOp } from '../../kernels/contract.js';

/**
 * Reduce over sorted unique axes. Dims of the same kind (reduced or kept) that
 * sit next to each other are merged first, so the common cases (a trailing or
 * leading block of axes) become two or three tight loops. Partial results are
 * kept in float64 and rounded once at the end.
 */
export function reduce(op: ReduceOp, x: TypedArray, shape: Shape, axes: readonly number[], out: TypedArray): void {
  const dims: number[] = [];
  const reduced: boolean[] = [];
  for (let d = 0; d < shape.length; d++) {
    const r = axes.includes(d);
    if (shape[d] === 1) continue;
    if (dims.length > 0 && reduced[reduced.length - 1] === r) dims[dims.length - 1] *= shape[d];
    else {
      dims.push(shape[d]);
      reduced.push(r);
    }
  }
  const outSize = out.length;
  const acc = new Float64Array(outSize);
  const init = op === 'sum' ? 0 : op === 'prod' ? 1 : op === 'max' ? -Infinity : Infinity;
  acc.fill(init);
  if (x.length === 0) {
    for (let i = 0; i < outSize; i++) out[i] = acc[i];
    return;
  }
  // Output strides for kept dims (0 for reduced ones).
  const r = dims.length;
  const ostr = new Array<number>(r).fill(0);
  let s = 1;
  for (let d = r - 1; d >= 0; d--) {
    if (!reduced[d]) {
      ostr[d] = s;
      s *= dims[d];
    }
  }
  if (r === 0) {
    accumulate(op, acc, 0, 0, x, 0, 1, 1);
  } else {
    const inner = dims[r - 1];
    const innerReduced = reduced[r - 1];
    let rows = 1;
    for (let d = 0; d < r - 1; d++) rows *= dims[d];
    const idx = new Array<number>(r).fill(0);
    let o = 0;
    for (let row = 0; row < rows; row++) {
      if (innerReduced) accumulate(op, acc, o, 0, x, row * inner, 1, inner);
      else accumulate(op, acc, o, 1, x, row * inner, 1, inner);
      for (let d = r - 2; d >= 0; d--) {
        idx[d]++;
        o += ostr[d];
        if (idx[d] < dims[d]) break;
        o -= ostr[d] * dims[d];
        idx[d] = 0;
      }
    }
  }
  for (let i = 0; i < outSize; i++) out[i] = acc[i];
}

/** acc[o + i*os] op= x[xi + i*xs] for i < n (os = 0 folds a whole row into one slot). */
function accumulate(op: ReduceOp, acc: Float64Array, o: number, os: number, x: TypedArray, xi: number, xs: number, n: number): void {
  if (os === 0) {
    let v = acc[o];
    switch (op) {
      case 'sum':
        for (let i = 0; i < n; i++) v += x[xi + i * xs];
        break;
      case 'prod':
        for (let i = 0; i < n; i++) v *= x[xi + i * xs];
        break;
      case 'max':
        for (let i = 0; i < n; i++) {
          const e = x[xi + i * xs];
          if (e > v || e !== e) v = e;
          if (v !== v) break;
        }
        break;
      case 'min':
        for (let i = 0; i < n; i++) {
          const e = x[xi + i * xs];
          if (e < v || e !== e) v = e;
          if (v !== v) break;
        }
        break;
    }
    acc[o] = v;
    return;
  }
  switch (op) {
    case 'sum':
      for (let i = 0; i < n; i++) acc[o + i] += x[xi + i * xs];
      return;
    case 'prod':
      for (let i = 0; i < n; i++) acc[o + i] *= x[xi + i * xs];
      return;
    case 'max':
      for (let i = 0; i < n; i++) {
        const e = x[xi + i * xs];
        const v = acc[o + i];
        if (e > v || (e !== e && v === v)) acc[o + i] = e;
      }
      return;
    case 'min':
      for (let i = 0; i < n; i++) {
        const e = x[xi + i * xs];
        const v = acc[o + i];
        if (e < v || (e !== e && v === v)) acc[o + i] = e;
      }
      return;
  }
}

/** Index of the first maximum (minimum) along one axis; NaN counts as the maximum, as in PyTorch. */
export function argReduce(op: 'argmax' | 'argmin', x: TypedArray, shape: Shape, axis: number, out: Int32Array): void {
  let outer = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d];
  const n = shape[axis];
  let inner = 1;
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d];
  const isMax = op === 'argmax';
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const base = o * n * inner + j;
      let best = x[base];
      let bi = 0;
      if (best === best) {
        for (let i = 1; i < n; i++) {
          const v = x[base + i * inner];
          if (v !== v) {
            bi = i;
            break;
          }
          if (isMax ? v > best : v < best) {
            best = v;
            bi = i;
          }
        }
      }
      out[o * inner + j] = bi;
    }
  }
}
