import type { GradNode } from '../autograd/graph.js';
import * as ops from '../ops/index.js';
import { type DType, dtypeOfArray, isFloatDType, type TypedArray } from './dtype.js';
import { fmtShape, ValueError } from './errors.js';
import { type Shape, sizeOf } from './shape.js';

/** Anything that can stand where a tensor is expected in a binary op. */
export type TensorOrNumber = Tensor | number;

/** Nested arrays of numbers or booleans, as accepted by `tensor()`. */
export type NestedArray = number | boolean | readonly NestedArray[];

export type SliceSpec = number | null | readonly [number | null, (number | null)?, (number | null)?];

/**
 * An n-dimensional array with a dtype, stored contiguously in row-major order
 * in a typed array, that records the operations applied to it when it (or an
 * input) requires a gradient. There is nothing to dispose: a tensor and its
 * graph are freed by the garbage collector once unreachable.
 */
export class Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Row-major storage. Reshaped views share it; treat it as read-only unless you own the tensor. */
  readonly data: TypedArray;
  /** Gradient accumulated by backward() (leaf tensors, or tensors that called retainGrad()). */
  grad: Tensor | null = null;
  /** @internal the op that produced this tensor, if it was recorded for backward */
  gradNode: GradNode | null = null;
  /** @internal */
  retainsGrad = false;
  private _requiresGrad = false;

  /** @internal use tensor(), zeros() and the other factories. */
  constructor(data: TypedArray, shape: Shape) {
    if (data.length !== sizeOf(shape)) {
      throw new ValueError(`Tensor: data of length ${data.length} does not fill shape ${fmtShape(shape)} (needs ${sizeOf(shape)})`);
    }
    this.data = data;
    // A private copy: callers often reuse the array they built the shape in.
    this.shape = shape.slice();
    this.dtype = dtypeOfArray(data);
  }

  get requiresGrad(): boolean {
    return this._requiresGrad;
  }

  set requiresGrad(value: boolean) {
    if (value && !isFloatDType(this.dtype)) {
      throw new ValueError(`requiresGrad: only float32 and float64 tensors can require gradients, this one is ${this.dtype}`);
    }
    this._requiresGrad = value;
  }

  /** Mark a leaf tensor as requiring a gradient (chainable). */
  requiresGrad_(value = true): this {
    this.requiresGrad = value;
    return this;
  }

  /** A tensor is a leaf when no recorded op produced it; backward() fills leaves' .grad. */
  get isLeaf(): boolean {
    return this.gradNode === null;
  }

  /** Keep .grad on this non-leaf tensor during backward(). */
  retainGrad(): this {
    this.retainsGrad = true;
    return this;
  }

  get size(): number {
    return this.data.length;
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.data.length !== 1) throw new ValueError(`item: expected a tensor with one element, got shape ${fmtShape(this.shape)}`);
    return this.data[0];
  }

  /** Nested arrays (booleans for bool tensors). */
  toArray(): NestedArray {
    const data = this.data;
    const isBool = this.dtype === 'bool';
    const build = (dim: number, offset: number): NestedArray => {
      if (dim === this.shape.length) return isBool ? data[offset] === 1 : data[offset];
      let stride = 1;
      for (let d = dim + 1; d < this.shape.length; d++) stride *= this.shape[d];
      const out: NestedArray[] = [];
      for (let i = 0; i < this.shape[dim]; i++) out.push(build(dim + 1, offset + i * stride));
      return out;
    };
    return build(0, 0);
  }

  /** A copy of the storage as a typed array. */
  dataSync(): TypedArray {
    return this.data.slice();
  }

  /** Flat plain-number copy. */
  toFlatArray(): number[] {
    return Array.from(this.data);
  }

  toString(): string {
    return formatTensor(this);
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return formatTensor(this);
  }

  // ---- autograd ----
  backward(gradient?: Tensor, options: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    ops.backward(this, gradient, options);
  }

  /** The same data, cut from the graph. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape);
  }

  // ---- element-wise ----
  add(b: TensorOrNumber): Tensor {
    return ops.add(this, b);
  }
  sub(b: TensorOrNumber): Tensor {
    return ops.sub(this, b);
  }
  mul(b: TensorOrNumber): Tensor {
    return ops.mul(this, b);
  }
  div(b: TensorOrNumber): Tensor {
    return ops.div(this, b);
  }
  pow(b: TensorOrNumber): Tensor {
    return ops.pow(this, b);
  }
  maximum(b: TensorOrNumber): Tensor {
    return ops.maximum(this, b);
  }
  minimum(b: TensorOrNumber): Tensor {
    return ops.minimum(this, b);
  }
  neg(): Tensor {
    return ops.neg(this);
  }
  abs(): Tensor {
    return ops.abs(this);
  }
  sign(): Tensor {
    return ops.sign(this);
  }
  exp(): Tensor {
    return ops.exp(this);
  }
  log(): Tensor {
    return ops.log(this);
  }
  log1p(): Tensor {
    return ops.log1p(this);
  }
  expm1(): Tensor {
    return ops.expm1(this);
  }
  sqrt(): Tensor {
    return ops.sqrt(this);
  }
  rsqrt(): Tensor {
    return ops.rsqrt(this);
  }
  reciprocal(): Tensor {
    return ops.reciprocal(this);
  }
  square(): Tensor {
    return ops.square(this);
  }
  sin(): Tensor {
    return ops.sin(this);
  }
  cos(): Tensor {
    return ops.cos(this);
  }
  tanh(): Tensor {
    return ops.tanh(this);
  }
  sigmoid(): Tensor {
    return ops.sigmoid(this);
  }
  relu(): Tensor {
    return ops.relu(this);
  }
  erf(): Tensor {
    return ops.erf(this);
  }
  floor(): Tensor {
    return ops.floor(this);
  }
  ceil(): Tensor {
    return ops.ceil(this);
  }
  round(): Tensor {
    return ops.round(this);
  }
  clamp(min?: number | null, max?: number | null): Tensor {
    return ops.clamp(this, min, max);
  }
  eq(b: TensorOrNumber): Tensor {
    return ops.eq(this, b);
  }
  ne(b: TensorOrNumber): Tensor {
    return ops.ne(this, b);
  }
  lt(b: TensorOrNumber): Tensor {
    return ops.lt(this, b);
  }
  le(b: TensorOrNumber): Tensor {
    return ops.le(this, b);
  }
  gt(b: TensorOrNumber): Tensor {
    return ops.gt(this, b);
  }
  ge(b: TensorOrNumber): Tensor {
    return ops.ge(this, b);
  }
  logicalNot(): Tensor {
    return ops.logicalNot(this);
  }
  isNaN(): Tensor {
    return ops.isnan(this);
  }
  isFinite(): Tensor {
    return ops.isfinite(this);
  }
  /** Convert to another dtype (a copy, differentiable between float dtypes). */
  cast(dtype: DType): Tensor {
    return ops.cast(this, dtype);
  }
  float(): Tensor {
    return ops.cast(this, 'float32');
  }
  double(): Tensor {
    return ops.cast(this, 'float64');
  }
  int(): Tensor {
    return ops.cast(this, 'int32');
  }

  // ---- reductions ----
  sum(axes?: number | readonly number[] | null, keepDims = false): Tensor {
    return ops.sum(this, axes, keepDims);
  }
  mean(axes?: number | readonly number[] | null, keepDims = false): Tensor {
    return ops.mean(this, axes, keepDims);
  }
  prod(axes?: number | readonly number[] | null, keepDims = false): Tensor {
    return ops.prod(this, axes, keepDims);
  }
  max(axes?: number | readonly number[] | null, keepDims = false): Tensor {
    return ops.max(this, axes, keepDims);
  }
  min(axes?: number | readonly number[] | null, keepDims = false): Tensor {
    return ops.min(this, axes, keepDims);
  }
  argmax(axis?: number, keepDims = false): Tensor {
    return ops.argmax(this, axis, keepDims);
  }
  argmin(axis?: number, keepDims = false): Tensor {
    return ops.argmin(this, axis, keepDims);
  }
  var(axes?: number | readonly number[] | null, options: { keepDims?: boolean; correction?: number } = {}): Tensor {
    return ops.variance(this, axes, options);
  }
  std(axes?: number | readonly number[] | null, options: { keepDims?: boolean; correction?: number } = {}): Tensor {
    return ops.std(this, axes, options);
  }
  logsumexp(axes?: number | readonly number[] | null, keepDims = false): Tensor {
    return ops.logsumexp(this, axes, keepDims);
  }
  norm(p: number = 2, axes?: number | readonly number[] | null, keepDims = false): Tensor {
    return ops.norm(this, p, axes, keepDims);
  }

  // ---- linear algebra ----
  matmul(b: Tensor): Tensor {
    return ops.matmul(this, b);
  }

  // ---- shape ----
  reshape(...shape: number[] | [readonly number[]]): Tensor {
    return ops.reshape(this, flatArgs(shape));
  }
  view(...shape: number[] | [readonly number[]]): Tensor {
    return ops.reshape(this, flatArgs(shape));
  }
  flatten(startAxis = 0, endAxis = -1): Tensor {
    return ops.flatten(this, startAxis, endAxis);
  }
  squeeze(axes?: number | readonly number[]): Tensor {
    return ops.squeeze(this, axes);
  }
  unsqueeze(axis: number): Tensor {
    return ops.unsqueeze(this, axis);
  }
  permute(...perm: number[] | [readonly number[]]): Tensor {
    return ops.permute(this, flatArgs(perm));
  }
  transpose(axis0 = -2, axis1 = -1): Tensor {
    return ops.transpose(this, axis0, axis1);
  }
  /** Transpose of a matrix (reverses all axes for other ranks, like NumPy's .T). */
  get T(): Tensor {
    return ops.permute(
      this,
      this.shape.map((_, i) => this.shape.length - 1 - i),
    );
  }
  expand(...shape: number[] | [readonly number[]]): Tensor {
    return ops.expand(this, flatArgs(shape));
  }
  /**
   * Index with one spec per leading axis: a number selects (and drops the axis),
   * null keeps the whole axis, [start, end, step] slices (negative values count from the end).
   */
  slice(...specs: SliceSpec[]): Tensor {
    return ops.slice(this, specs);
  }
  narrow(axis: number, start: number, length: number): Tensor {
    return ops.narrow(this, axis, start, length);
  }
  gather(axis: number, index: Tensor): Tensor {
    return ops.gather(this, axis, index);
  }
  indexSelect(axis: number, index: Tensor | readonly number[]): Tensor {
    return ops.indexSelect(this, axis, index);
  }
  flip(axes: number | readonly number[]): Tensor {
    return ops.flip(this, axes);
  }
  tile(reps: readonly number[]): Tensor {
    return ops.tile(this, reps);
  }
  split(sizeOrSections: number | readonly number[], axis = 0): Tensor[] {
    return ops.split(this, sizeOrSections, axis);
  }
  chunk(chunks: number, axis = 0): Tensor[] {
    return ops.chunk(this, chunks, axis);
  }
}

function flatArgs(args: number[] | [readonly number[]]): number[] {
  if (args.length === 1 && Array.isArray(args[0])) return [...(args[0] as readonly number[])];
  return args as number[];
}

const MAX_PRINT = 1000;
const EDGE = 3;

function formatTensor(t: Tensor): string {
  const isFloat = isFloatDType(t.dtype);
  const summarize = t.size > MAX_PRINT;
  const fmt = (v: number): string => {
    if (t.dtype === 'bool') return v ? 'true' : 'false';
    if (!isFloat) return String(v);
    if (!Number.isFinite(v)) return Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
    const a = Math.abs(v);
    if (a !== 0 && (a >= 1e5 || a < 1e-4)) return v.toExponential(4);
    return v.toFixed(4);
  };
  const strides: number[] = [];
  let s = 1;
  for (let d = t.ndim - 1; d >= 0; d--) {
    strides[d] = s;
    s *= t.shape[d];
  }
  const cells: string[] = [];
  const walk = (dim: number, offset: number): unknown => {
    if (dim === t.ndim) {
      const c = fmt(t.data[offset]);
      cells.push(c);
      return c;
    }
    const n = t.shape[dim];
    const idx: (number | null)[] = summarize && n > 2 * EDGE ? [...range(0, EDGE), null, ...range(n - EDGE, n)] : range(0, n);
    return idx.map((i) => (i === null ? '...' : walk(dim + 1, offset + i * strides[dim])));
  };
  const tree = walk(0, 0);
  const width = Math.max(0, ...cells.map((c) => c.length));
  const render = (node: unknown, depth: number): string => {
    if (!Array.isArray(node)) return node === '...' ? '...' : String(node).padStart(width);
    if (node.length === 0) return '[]';
    if (node.every((x) => !Array.isArray(x))) return `[${node.map((x) => render(x, depth + 1)).join(', ')}]`;
    const sep = `,${'\n'.repeat(Math.max(1, t.ndim - depth - 1))}${' '.repeat(depth + 8)}`;
    return `[${node.map((x) => render(x, depth + 1)).join(sep)}]`;
  };
  const body = render(tree, 0);
  const extras = [`dtype=${t.dtype}`];
  if (summarize || t.ndim === 0) extras.unshift(`shape=${fmtShape(t.shape)}`);
  if (t.requiresGrad) extras.push(t.gradNode ? `gradFn=${t.gradNode.op}` : 'requiresGrad=true');
  return `tensor(${body}, ${extras.join(', ')})`;
}

function range(a: number, b: number): number[] {
  return Array.from({ length: b - a }, (_, i) => a + i);
}
