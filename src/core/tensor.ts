import { type DType, dtypeOfArray, isFloatDType, type TypedArray } from './dtype.js';
import { fmtShape, ValueError } from './errors.js';
import { type Shape, sizeOf } from './shape.js';

/**
 * Maps the gradient of an op's output to the gradients of its inputs (a
 * vector-Jacobian product), one entry per input, null where an input gets no
 * gradient. Written with tensor ops, so the gradient is itself differentiable
 * when backward runs with createGraph.
 */
export type VJP = (grad: Tensor) => readonly (Tensor | null)[];

/**
 * A recorded application of an op: the edge from an output back to its
 * inputs. Declared here because every tensor carries one; autograd/ records
 * and walks them.
 */
export interface GradNode {
  readonly op: string;
  inputs: readonly Tensor[];
  vjp: VJP | null;
  /** Where user code called the op, recorded only under anomaly detection. */
  readonly createdAt?: string;
}

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
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface below declares the methods that src/methods/ installs on the prototype
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

  /** The same data, cut from the graph. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape);
  }
}

/** How `backward()` treats the graph (see autograd/backward.ts). */
export interface BackwardOptions {
  /** Keep the graph so that backward can run through it again (default: createGraph). */
  retainGraph?: boolean;
  /** Record the backward computation itself, for higher-order derivatives. */
  createGraph?: boolean;
}

/** Axes of a reduction: one axis, several, or null/undefined for all. */
export type Axes = number | readonly number[] | null;

/** A shape given as separate numbers or as one array: `reshape(2, 3)` or `reshape([2, 3])`. */
export type ShapeArgs = number[] | [readonly number[]];

// The Tensor's operations are declared here, with the class, so that every
// layer sees their types; they are implemented by src/methods/, which sits above
// ops/ and installs them on the prototype when the package is imported. core/
// therefore imports nothing above it, and Tensor methods called from lower
// layers (inside gradient closures) run only after everything is loaded.
export interface Tensor {
  /** Accumulate the gradient of this tensor (a single element unless `gradient` is given) into every leaf's `.grad`. */
  backward(gradient?: Tensor, options?: BackwardOptions): void;

  add(b: TensorOrNumber): Tensor;
  sub(b: TensorOrNumber): Tensor;
  mul(b: TensorOrNumber): Tensor;
  div(b: TensorOrNumber): Tensor;
  pow(b: TensorOrNumber): Tensor;
  maximum(b: TensorOrNumber): Tensor;
  minimum(b: TensorOrNumber): Tensor;
  neg(): Tensor;
  abs(): Tensor;
  sign(): Tensor;
  exp(): Tensor;
  log(): Tensor;
  log1p(): Tensor;
  expm1(): Tensor;
  sqrt(): Tensor;
  rsqrt(): Tensor;
  reciprocal(): Tensor;
  square(): Tensor;
  sin(): Tensor;
  cos(): Tensor;
  tanh(): Tensor;
  sigmoid(): Tensor;
  relu(): Tensor;
  erf(): Tensor;
  floor(): Tensor;
  ceil(): Tensor;
  round(): Tensor;
  clamp(min?: number | null, max?: number | null): Tensor;
  eq(b: TensorOrNumber): Tensor;
  ne(b: TensorOrNumber): Tensor;
  lt(b: TensorOrNumber): Tensor;
  le(b: TensorOrNumber): Tensor;
  gt(b: TensorOrNumber): Tensor;
  ge(b: TensorOrNumber): Tensor;
  logicalNot(): Tensor;
  isNaN(): Tensor;
  isFinite(): Tensor;
  /** Convert to another dtype (a copy, differentiable between float dtypes). */
  cast(dtype: DType): Tensor;
  float(): Tensor;
  double(): Tensor;
  int(): Tensor;

  sum(axes?: Axes, keepDims?: boolean): Tensor;
  mean(axes?: Axes, keepDims?: boolean): Tensor;
  prod(axes?: Axes, keepDims?: boolean): Tensor;
  max(axes?: Axes, keepDims?: boolean): Tensor;
  min(axes?: Axes, keepDims?: boolean): Tensor;
  argmax(axis?: number, keepDims?: boolean): Tensor;
  argmin(axis?: number, keepDims?: boolean): Tensor;
  var(axes?: Axes, options?: { keepDims?: boolean; correction?: number }): Tensor;
  std(axes?: Axes, options?: { keepDims?: boolean; correction?: number }): Tensor;
  logsumexp(axes?: Axes, keepDims?: boolean): Tensor;
  norm(p?: number, axes?: Axes, keepDims?: boolean): Tensor;

  matmul(b: Tensor): Tensor;

  reshape(...shape: ShapeArgs): Tensor;
  view(...shape: ShapeArgs): Tensor;
  flatten(startAxis?: number, endAxis?: number): Tensor;
  squeeze(axes?: number | readonly number[]): Tensor;
  unsqueeze(axis: number): Tensor;
  permute(...perm: ShapeArgs): Tensor;
  transpose(axis0?: number, axis1?: number): Tensor;
  /** Transpose of a matrix (reverses all axes for other ranks, like NumPy's .T). */
  readonly T: Tensor;
  expand(...shape: ShapeArgs): Tensor;
  /**
   * Index with one spec per leading axis: a number selects (and drops the axis),
   * null keeps the whole axis, [start, end, step] slices (negative values count from the end).
   */
  slice(...specs: SliceSpec[]): Tensor;
  narrow(axis: number, start: number, length: number): Tensor;
  gather(axis: number, index: Tensor): Tensor;
  indexSelect(axis: number, index: Tensor | readonly number[]): Tensor;
  flip(axes: number | readonly number[]): Tensor;
  tile(reps: readonly number[]): Tensor;
  split(sizeOrSections: number | readonly number[], axis?: number): Tensor[];
  chunk(chunks: number, axis?: number): Tensor[];
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
