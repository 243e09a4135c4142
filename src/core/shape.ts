import { fmtShape, ShapeError, ValueError } from './errors.js';

/** The length of each axis of a tensor; `[]` for a scalar. */
export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** NumPy broadcasting: align right; each pair of dims must match or one be 1. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)];
    const db = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${op}: shapes ${fmtShape(a)} and ${fmtShape(b)} cannot be broadcast together (dimension ${i} of the result: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** True when `from` broadcasts to `to` without changing `to`. */
export function broadcastsTo(from: Shape, to: Shape): boolean {
  if (from.length > to.length) return false;
  const off = to.length - from.length;
  for (let i = 0; i < from.length; i++) if (from[i] !== 1 && from[i] !== to[i + off]) return false;
  return true;
}

/** Resolve a possibly negative axis against a rank, naming the op when it is out of range. */
export function normalizeAxis(op: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new ValueError(`${op}: axis ${axis} is out of range for a tensor of rank ${rank} (valid: ${-rank} to ${rank - 1})`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Normalize an axis list (or all axes when undefined); sorted, without duplicates. */
export function normalizeAxes(op: string, axes: number | readonly number[] | undefined | null, rank: number): number[] {
  if (axes === undefined || axes === null) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = list.map((a) => normalizeAxis(op, a, rank));
  const set = new Set(out);
  if (set.size !== out.length) throw new ValueError(`${op}: repeated axis in ${JSON.stringify(list)}`);
  return out.sort((x, y) => x - y);
}

export function checkShape(op: string, shape: readonly number[]): number[] {
  if (!Array.isArray(shape)) {
    const hint = typeof shape === 'number' ? ` (write [${shape}] for a 1-D shape)` : '';
    throw new ShapeError(`${op}: shape must be an array of sizes, got ${JSON.stringify(shape) ?? typeof shape}${hint}`);
  }
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0)
      throw new ShapeError(`${op}: shape ${fmtShape(shape)} has an invalid dimension ${d} (dimensions are non-negative integers)`);
  }
  return [...shape];
}

/**
 * Refuse a reduction over an axis of size 0 in the words of the op the user
 * called (softmax, logsumexp...), before an inner max names itself instead.
 */
export function checkNonEmptyAxes(op: string, shape: readonly number[], axes: readonly number[]): void {
  for (const a of axes) {
    if (shape[a] === 0) throw new ShapeError(`${op}: cannot reduce over the empty axis ${a} of shape ${fmtShape(shape)}`);
  }
}
