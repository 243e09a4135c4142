import { fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { broadcastsTo, normalizeAxes, normalizeAxis } from '../core/shape.js';
import { type SliceSpec, Tensor } from '../core/tensor.js';
import { concat } from '../kernels/concat.js';
import { indexSelect } from '../kernels/gather.js';
import { padConstant } from '../kernels/pad.js';
import { permute } from '../kernels/permute.js';
import { reshape } from '../kernels/reshape.js';
import { stridedSlice } from '../kernels/slice.js';
import { assertTensor } from '../kernels/util.js';

/** Broadcast to a larger shape (a copy; its gradient sums back over the broadcast dims). -1 keeps a dim. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  assertTensor('expand', 'input', x);
  const off = shape.length - x.ndim;
  const target = shape.map((d, i) => (d === -1 && i >= off ? x.shape[i - off] : d));
  if (off < 0 || !broadcastsTo(x.shape, target)) {
    throw new ShapeError(`expand: cannot expand shape ${fmtShape(x.shape)} to ${fmtShape(shape)} (only size-1 dims can grow)`);
  }
  if (off === 0 && target.every((d, i) => d === x.shape[i])) return x;
  // A strided slice whose step is 0 along broadcast dims repeats the element.
  const src = reshape(x, [...new Array(off).fill(1), ...x.shape]);
  return stridedSlice(
    src,
    target.map(() => 0),
    src.shape.map((d) => (d === 1 ? 0 : 1)),
    target,
  );
}

/** Swap two axes (default the last two). */
export function transpose(x: Tensor, axis0 = -2, axis1 = -1): Tensor {
  assertTensor('transpose', 'input', x);
  if (x.ndim < 2) return x;
  const a = normalizeAxis('transpose', axis0, x.ndim);
  const b = normalizeAxis('transpose', axis1, x.ndim);
  const perm = x.shape.map((_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

/** Remove the given size-1 axes (every size-1 axis when omitted). */
export function squeeze(x: Tensor, axes?: number | readonly number[]): Tensor {
  assertTensor('squeeze', 'input', x);
  const drop = axes === undefined ? x.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0) : normalizeAxes('squeeze', axes, x.ndim);
  for (const a of drop) {
    if (x.shape[a] !== 1) throw new ShapeError(`squeeze: axis ${a} of shape ${fmtShape(x.shape)} has size ${x.shape[a]}, not 1`);
  }
  return reshape(
    x,
    x.shape.filter((_, i) => !drop.includes(i)),
  );
}

/** Insert a size-1 axis at `axis`. */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  assertTensor('unsqueeze', 'input', x);
  const a = normalizeAxis('unsqueeze', axis, x.ndim + 1);
  const shape = [...x.shape];
  shape.splice(a, 0, 1);
  return reshape(x, shape);
}

/** Merge axes startAxis..endAxis (inclusive) into one. */
export function flatten(x: Tensor, startAxis = 0, endAxis = -1): Tensor {
  assertTensor('flatten', 'input', x);
  if (x.ndim === 0) return reshape(x, [1]);
  const s = normalizeAxis('flatten', startAxis, x.ndim);
  const e = normalizeAxis('flatten', endAxis, x.ndim);
  if (s > e) throw new ValueError(`flatten: startAxis ${startAxis} comes after endAxis ${endAxis}`);
  const merged = x.shape.slice(s, e + 1).reduce((p, d) => p * d, 1);
  return reshape(x, [...x.shape.slice(0, s), merged, ...x.shape.slice(e + 1)]);
}

/**
 * Python-style indexing: one spec per leading axis; a number picks an index
 * (dropping the axis), null keeps the axis, [start, end, step] slices with
 * negative values counting from the end and clamping like Python.
 */
export function slice(x: Tensor, specs: readonly SliceSpec[]): Tensor {
  assertTensor('slice', 'input', x);
  if (specs.length > x.ndim) throw new ValueError(`slice: ${specs.length} index specs for a tensor of rank ${x.ndim} (shape ${fmtShape(x.shape)})`);
  const begin: number[] = [];
  const step: number[] = [];
  const outShape: number[] = [];
  const keep: boolean[] = [];
  for (let d = 0; d < x.ndim; d++) {
    const n = x.shape[d];
    const spec = d < specs.length ? specs[d] : null;
    if (typeof spec === 'number') {
      if (!Number.isInteger(spec) || spec < -n || spec >= n) throw new ValueError(`slice: index ${spec} is out of range for axis ${d} of size ${n}`);
      begin.push(spec < 0 ? spec + n : spec);
      step.push(1);
      outShape.push(1);
      keep.push(false);
      continue;
    }
    const [s0, e0, st0] = spec === null ? [null, null, null] : spec;
    const st = st0 ?? 1;
    if (!Number.isInteger(st) || st === 0) throw new ValueError(`slice: step must be a non-zero integer, got ${st0} for axis ${d}`);
    let start: number;
    let stop: number;
    if (st > 0) {
      start = s0 === null || s0 === undefined ? 0 : clampIndex(s0, n, 0, n);
      stop = e0 === null || e0 === undefined ? n : clampIndex(e0, n, 0, n);
    } else {
      start = s0 === null || s0 === undefined ? n - 1 : clampIndex(s0, n, -1, n - 1);
      stop = e0 === null || e0 === undefined ? -1 : clampIndex(e0, n, -1, n - 1);
    }
    const len = st > 0 ? Math.max(0, Math.ceil((stop - start) / st)) : Math.max(0, Math.ceil((start - stop) / -st));
    begin.push(len === 0 ? 0 : start);
    step.push(st);
    outShape.push(len);
    keep.push(true);
  }
  const out = stridedSlice(x, begin, step, outShape);
  return keep.every(Boolean)
    ? out
    : reshape(
        out,
        outShape.filter((_, i) => keep[i]),
      );
}

function clampIndex(i: number, n: number, lo: number, hi: number): number {
  if (!Number.isInteger(i)) throw new ValueError(`slice: bound ${i} is not an integer`);
  const v = i < 0 ? i + n : i;
  return Math.min(Math.max(v, lo), hi);
}

/** The `length` elements from `start` along `axis`. */
export function narrow(x: Tensor, axis: number, start: number, length: number): Tensor {
  assertTensor('narrow', 'input', x);
  const a = normalizeAxis('narrow', axis, x.ndim);
  const n = x.shape[a];
  const s = start < 0 ? start + n : start;
  if (!Number.isInteger(s) || !Number.isInteger(length) || s < 0 || length < 0 || s + length > n) {
    throw new ValueError(`narrow: start ${start} and length ${length} do not fit axis ${a} of size ${n}`);
  }
  const begin = x.shape.map((_, i) => (i === a ? s : 0));
  const shape = x.shape.map((d, i) => (i === a ? length : d));
  return stridedSlice(
    x,
    begin,
    begin.map(() => 1),
    shape,
  );
}

/** Reverse the order of elements along the given axes. */
export function flip(x: Tensor, axes: number | readonly number[]): Tensor {
  assertTensor('flip', 'input', x);
  const ax = normalizeAxes('flip', axes, x.ndim);
  const begin = x.shape.map((d, i) => (ax.includes(i) ? Math.max(d - 1, 0) : 0));
  const step = x.shape.map((_, i) => (ax.includes(i) ? -1 : 1));
  return stridedSlice(x, begin, step, x.shape);
}

/** Repeat the whole tensor reps[i] times along axis i (NumPy's tile). */
export function tile(x: Tensor, reps: readonly number[]): Tensor {
  assertTensor('tile', 'input', x);
  if (reps.some((r) => !Number.isInteger(r) || r < 0)) throw new ValueError(`tile: repetitions must be non-negative integers, got [${reps.join(', ')}]`);
  const r = Math.max(reps.length, x.ndim);
  const shape = [...new Array(r - x.ndim).fill(1), ...x.shape];
  const rp = [...new Array(r - reps.length).fill(1), ...reps];
  // [a, b] tiled (r1, r2) = expand [1, a, 1, b] to [r1, a, r2, b], then merge pairs.
  const inter: number[] = [];
  const big: number[] = [];
  shape.forEach((d, i) => {
    inter.push(1, d);
    big.push(rp[i], d);
  });
  return reshape(
    expand(reshape(x, inter), big),
    shape.map((d, i) => d * rp[i]),
  );
}

/** Split into pieces of `size` (the last may be smaller) or into the given section sizes. */
export function split(x: Tensor, sizeOrSections: number | readonly number[], axis = 0): Tensor[] {
  assertTensor('split', 'input', x);
  const a = normalizeAxis('split', axis, x.ndim);
  const n = x.shape[a];
  let sizes: number[];
  if (typeof sizeOrSections === 'number') {
    if (!Number.isInteger(sizeOrSections) || sizeOrSections <= 0) throw new ValueError(`split: size must be a positive integer, got ${sizeOrSections}`);
    sizes = [];
    for (let s = 0; s < n; s += sizeOrSections) sizes.push(Math.min(sizeOrSections, n - s));
  } else {
    sizes = [...sizeOrSections];
    if (sizes.some((s) => !Number.isInteger(s) || s < 0) || sizes.reduce((p, c) => p + c, 0) !== n) {
      throw new ValueError(
        `split: section sizes [${sizes.join(', ')}] must be non-negative integers summing to ${n} (axis ${a} of shape ${fmtShape(x.shape)})`,
      );
    }
  }
  let start = 0;
  return sizes.map((s) => {
    const t = narrow(x, a, start, s);
    start += s;
    return t;
  });
}

/** Split into `chunks` nearly equal pieces (as torch.chunk). */
export function chunk(x: Tensor, chunks: number, axis = 0): Tensor[] {
  assertTensor('chunk', 'input', x);
  if (!Number.isInteger(chunks) || chunks <= 0) throw new ValueError(`chunk: chunks must be a positive integer, got ${chunks}`);
  const a = normalizeAxis('chunk', axis, x.ndim);
  return split(x, Math.max(1, Math.ceil(x.shape[a] / chunks)), a);
}

/** Join tensors of equal shape along a new axis. */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new ValueError('stack: expected a non-empty array of tensors');
  tensors.forEach((t, i) => {
    assertTensor('stack', `tensors[${i}]`, t);
    if (t.ndim !== tensors[0].ndim || t.shape.some((d, j) => d !== tensors[0].shape[j])) {
      throw new ShapeError(`stack: tensors[${i}] has shape ${fmtShape(t.shape)}, expected ${fmtShape(tensors[0].shape)} like tensors[0]`);
    }
  });
  const a = normalizeAxis('stack', axis, tensors[0].ndim + 1);
  return concat(
    tensors.map((t) => unsqueeze(t, a)),
    a,
  );
}

/** How pad() fills: with a constant, by mirroring the edge (reflect) or by repeating it (replicate). */
export type PadMode = 'constant' | 'reflect' | 'replicate';

/**
 * Pad with `padding` given as [before, after] pairs per axis, starting from the
 * FIRST axis (unlike torch.nn.functional.pad, which starts from the last).
 * Missing trailing pairs mean no padding. reflect mirrors without repeating the
 * edge (as NumPy's 'reflect'); replicate repeats the edge.
 */
export function pad(x: Tensor, padding: readonly (readonly [number, number])[], mode: PadMode = 'constant', value = 0): Tensor {
  assertTensor('pad', 'input', x);
  if (padding.length > x.ndim) throw new ValueError(`pad: ${padding.length} [before, after] pairs for a tensor of rank ${x.ndim}`);
  const before = x.shape.map((_, i) => padding[i]?.[0] ?? 0);
  const after = x.shape.map((_, i) => padding[i]?.[1] ?? 0);
  if ([...before, ...after].some((p) => !Number.isInteger(p) || p < 0)) {
    throw new ValueError(`pad: padding sizes must be non-negative integers, got ${JSON.stringify(padding)}`);
  }
  if (mode === 'constant') {
    return padConstant(x, before, after, value);
  }
  if (mode !== 'reflect' && mode !== 'replicate') throw new ValueError(`pad: unknown mode '${mode}' (constant, reflect or replicate)`);
  // Reflect and replicate are gathers along each padded axis; their gradient comes from indexSelect.
  let out = x;
  for (let d = 0; d < x.ndim; d++) {
    if (before[d] === 0 && after[d] === 0) continue;
    const n = x.shape[d];
    if (mode === 'reflect' && (before[d] >= n || after[d] >= n)) {
      throw new ValueError(`pad: reflect padding of ${Math.max(before[d], after[d])} needs axis ${d} longer than that, got size ${n}`);
    }
    if (n === 0) throw new ValueError(`pad: cannot ${mode}-pad the empty axis ${d}`);
    const idx: number[] = [];
    for (let i = -before[d]; i < n + after[d]; i++) {
      if (mode === 'replicate') idx.push(Math.min(Math.max(i, 0), n - 1));
      else idx.push(i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i);
    }
    out = indexSelect(out, d, idx);
  }
  return out;
}

export function isTensor(x: unknown): x is Tensor {
  return x instanceof Tensor;
}
