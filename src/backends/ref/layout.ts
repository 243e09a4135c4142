import type { TypedArray } from '../../core/dtype.js';
import { type Shape, stridesOf } from '../../core/shape.js';

/**
 * Walks every position of `shape` in row-major order, keeping a linear offset
 * into another array whose per-dim strides are `strides` (starting at `base`).
 * The innermost dim is left to `row`, which gets (offset, stride, length, outIndex).
 */
function walk(shape: Shape, strides: readonly number[], base: number, row: (offset: number, stride: number, n: number, flat: number) => void): void {
  const r = shape.length;
  if (r === 0) {
    row(base, 0, 1, 0);
    return;
  }
  const inner = shape[r - 1];
  const innerStride = strides[r - 1];
  let rows = 1;
  for (let d = 0; d < r - 1; d++) rows *= shape[d];
  if (rows === 0 || inner === 0) return;
  const idx = new Array<number>(r).fill(0);
  let off = base;
  for (let i = 0; i < rows; i++) {
    row(off, innerStride, inner, i * inner);
    for (let d = r - 2; d >= 0; d--) {
      idx[d]++;
      off += strides[d];
      if (idx[d] < shape[d]) break;
      off -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
}

export function permute(x: TypedArray, shape: Shape, perm: readonly number[], out: TypedArray): void {
  const st = stridesOf(shape);
  const outShape = perm.map((p) => shape[p]);
  const pst = perm.map((p) => st[p]);
  walk(outShape, pst, 0, (off, s, n, flat) => {
    // The last axis kept last (swapping a sequence's batch and time axes): whole rows are contiguous.
    if (s === 1 && n >= 32) out.set(x.subarray(off, off + n), flat);
    else for (let i = 0; i < n; i++) out[flat + i] = x[off + i * s];
  });
}

function sliceStrides(shape: Shape, begin: readonly number[], step: readonly number[]): { strides: number[]; base: number } {
  const st = stridesOf(shape);
  let base = 0;
  for (let d = 0; d < shape.length; d++) base += begin[d] * st[d];
  return { strides: st.map((s, d) => s * step[d]), base };
}

export function slice(x: TypedArray, shape: Shape, begin: readonly number[], step: readonly number[], out: TypedArray, outShape: Shape): void {
  const { strides, base } = sliceStrides(shape, begin, step);
  walk(outShape, strides, base, (off, s, n, flat) => {
    for (let i = 0; i < n; i++) out[flat + i] = x[off + i * s];
  });
}

export function sliceAdd(src: TypedArray, srcShape: Shape, begin: readonly number[], step: readonly number[], out: TypedArray, outShape: Shape): void {
  const { strides, base } = sliceStrides(outShape, begin, step);
  walk(srcShape, strides, base, (off, s, n, flat) => {
    for (let i = 0; i < n; i++) out[off + i * s] += src[flat + i];
  });
}

export function pad(x: TypedArray, shape: Shape, before: readonly number[], value: number, out: TypedArray, outShape: Shape): void {
  out.fill(value);
  const { strides, base } = sliceStrides(outShape, before, new Array(shape.length).fill(1));
  walk(shape, strides, base, (off, s, n, flat) => {
    for (let i = 0; i < n; i++) out[off + i * s] = x[flat + i];
  });
}

export function concat(xs: readonly TypedArray[], shapes: readonly Shape[], axis: number, out: TypedArray): void {
  const first = shapes[0];
  let outer = 1;
  for (let d = 0; d < axis; d++) outer *= first[d];
  let inner = 1;
  for (let d = axis + 1; d < first.length; d++) inner *= first[d];
  const chunks = shapes.map((s) => s[axis] * inner);
  const total = chunks.reduce((p, c) => p + c, 0);
  for (let o = 0; o < outer; o++) {
    let pos = o * total;
    for (let k = 0; k < xs.length; k++) {
      const c = chunks[k];
      const src = xs[k];
      // A short chunk is copied by a loop: subarray() would allocate a view per chunk.
      if (c <= 256) for (let i = 0, s = o * c; i < c; i++) out[pos + i] = src[s + i];
      else out.set(src.subarray(o * c, o * c + c), pos);
      pos += c;
    }
  }
}
