import { type DType, dtypeOfArray, isFloatDType, type TypedArray } from './dtype.js';
import { fmtShape, ValueError } from './errors.js';
import { type Shape, sizeOf } from './shape.js';
import { noteValueRead } from './trace.js';

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
  /** The op's name, as errors and anomaly reports show it. */
  readonly op: string;
  /** The op's inputs, in argument order. */
  inputs: readonly Tensor[];
  /** The gradient rule; null once backward() has freed the graph. */
  vjp: VJP | null;
  /** Where user code called the op, recorded only under anomaly detection. */
  readonly createdAt?: string;
}

/** Anything that can stand where a tensor is expected in a binary op. */
export type TensorOrNumber = Tensor | number;

/** Nested arrays of numbers or booleans, as accepted by `tensor()`. */
export type NestedArray = number | boolean | readonly NestedArray[];

/** One axis of a slice() call: an index, null for the whole axis, or [start, end, step] with optional parts. */
export type SliceSpec = number | null | readonly [number | null, (number | null)?, (number | null)?];

/**
 * An n-dimensional array with a dtype, stored contiguously in row-major order
 * in a typed array, that records the operations applied to it when it (or an
 * input) requires a gradient. There is nothing to dispose: a tensor and its
 * graph are freed by the garbage collector once unreachable.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface below declares the methods that src/methods/ installs on the prototype
export class Tensor {
  /** The length of each axis; `[]` for a scalar. */
  readonly shape: readonly number[];
  /** The element type: 'float32', 'float64', 'int32' or 'bool'. */
  readonly dtype: DType;
  /** Row-major storage. Reshaped views share it; treat it as read-only unless you own the tensor. */
  readonly data: TypedArray;
  /** Gradient accumulated by backward() (leaf tensors, or tensors that called retainGrad()). */
  grad: Tensor | null = null;
  /** @internal the op that produced this tensor, if it was recorded for backward */
  gradNode: GradNode | null = null;
  /** @internal */
  retainsGrad = false;
  /** @internal the hooks registerPostAccumulateGradHook added, in order */
  postAccumulateGradHooks: ((t: Tensor) => void)[] | null = null;
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

  /** Whether ops on this tensor are recorded so that backward() reaches it. */
  get requiresGrad(): boolean {
    return this._requiresGrad;
  }

  /** Mark a leaf tensor as a parameter to differentiate (float dtypes only). */
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

  /**
   * Call `hook(this)` each time backward() has finished accumulating this
   * tensor's .grad: once per backward pass, after every path's contribution
   * is summed in, while backward goes on through the rest of the graph. What
   * data-parallel training uses to send a layer's gradients while earlier
   * layers are still differentiated (PyTorch's
   * register_post_accumulate_grad_hook). gradients() does not touch .grad and
   * calls no hook. Returns a handle whose remove() takes the hook off.
   */
  registerPostAccumulateGradHook(hook: (tensor: Tensor) => void): {
    /** Take the hook off (again: nothing). */
    remove(): void;
  } {
    if (typeof hook !== 'function') throw new ValueError('registerPostAccumulateGradHook: expected a function');
    if (!this.isLeaf && !this.retainsGrad) {
      throw new ValueError('registerPostAccumulateGradHook: only leaf tensors (and tensors that called retainGrad()) accumulate a .grad');
    }
    const hooks = this.postAccumulateGradHooks ?? [];
    this.postAccumulateGradHooks = hooks;
    hooks.push(hook);
    return {
      remove: () => {
        const i = hooks.indexOf(hook);
        if (i >= 0) hooks.splice(i, 1);
      },
    };
  }

  /** The number of elements (the product of the shape). */
  get size(): number {
    return this.data.length;
  }

  /** The number of axes. */
  get ndim(): number {
    return this.shape.length;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    noteValueRead('item()');
    if (this.data.length !== 1) throw new ValueError(`item: expected a tensor with one element, got shape ${fmtShape(this.shape)}`);
    return this.data[0];
  }

  /** Nested arrays (booleans for bool tensors). */
  toArray(): NestedArray {
    noteValueRead('toArray()');
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
    noteValueRead('dataSync()');
    return this.data.slice();
  }

  /** Flat plain-number copy. */
  toFlatArray(): number[] {
    return Array.from(this.data);
  }

  /** A short description with shape, dtype and the first values. */
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

  /** Element-wise `this + b`, broadcasting. */
  add(b: TensorOrNumber): Tensor;
  /** Element-wise `this - b`, broadcasting. */
  sub(b: TensorOrNumber): Tensor;
  /** Element-wise `this * b`, broadcasting. */
  mul(b: TensorOrNumber): Tensor;
  /** Element-wise `this / b`, broadcasting (true division; integers become float32). */
  div(b: TensorOrNumber): Tensor;
  /** Element-wise `this ** b`, broadcasting. */
  pow(b: TensorOrNumber): Tensor;
  /** Element-wise larger of `this` and `b`, broadcasting. */
  maximum(b: TensorOrNumber): Tensor;
  /** Element-wise smaller of `this` and `b`, broadcasting. */
  minimum(b: TensorOrNumber): Tensor;
  /** Element-wise `-x`. */
  neg(): Tensor;
  /** Element-wise `|x|`. */
  abs(): Tensor;
  /** Element-wise -1, 0 or 1 (gradient zero). */
  sign(): Tensor;
  /** Element-wise `e^x`. */
  exp(): Tensor;
  /** Element-wise natural logarithm. */
  log(): Tensor;
  /** Element-wise `log(1 + x)`, accurate for small x. */
  log1p(): Tensor;
  /** Element-wise `e^x - 1`, accurate for small x. */
  expm1(): Tensor;
  /** Element-wise square root. */
  sqrt(): Tensor;
  /** Element-wise `1 / sqrt(x)`. */
  rsqrt(): Tensor;
  /** Element-wise `1 / x`. */
  reciprocal(): Tensor;
  /** Element-wise `x * x`. */
  square(): Tensor;
  /** Element-wise sine. */
  sin(): Tensor;
  /** Element-wise cosine. */
  cos(): Tensor;
  /** Element-wise hyperbolic tangent. */
  tanh(): Tensor;
  /** Element-wise logistic function `1 / (1 + e^-x)`. */
  sigmoid(): Tensor;
  /** Element-wise `max(x, 0)`. */
  relu(): Tensor;
  /** Element-wise Gauss error function. */
  erf(): Tensor;
  /** Element-wise round down (gradient zero). */
  floor(): Tensor;
  /** Element-wise round up (gradient zero). */
  ceil(): Tensor;
  /** Element-wise round to the nearest integer (gradient zero). */
  round(): Tensor;
  /** Limit every element to [min, max]; null or omitted leaves that side open. */
  clamp(min?: number | null, max?: number | null): Tensor;
  /** Element-wise `this == b` as a bool tensor. */
  eq(b: TensorOrNumber): Tensor;
  /** Element-wise `this != b` as a bool tensor. */
  ne(b: TensorOrNumber): Tensor;
  /** Element-wise `this < b` as a bool tensor. */
  lt(b: TensorOrNumber): Tensor;
  /** Element-wise `this <= b` as a bool tensor. */
  le(b: TensorOrNumber): Tensor;
  /** Element-wise `this > b` as a bool tensor. */
  gt(b: TensorOrNumber): Tensor;
  /** Element-wise `this >= b` as a bool tensor. */
  ge(b: TensorOrNumber): Tensor;
  /** Element-wise logical not, as a bool tensor. */
  logicalNot(): Tensor;
  /** Bool tensor, true where an element is NaN. */
  isNaN(): Tensor;
  /** Bool tensor, true where an element is neither NaN nor infinite. */
  isFinite(): Tensor;
  /** Convert to another dtype (a copy, differentiable between float dtypes). */
  cast(dtype: DType): Tensor;
  /** Same as cast('float32'). */
  float(): Tensor;
  /** Same as cast('float64'). */
  double(): Tensor;
  /** Same as cast('int32') (truncates toward zero). */
  int(): Tensor;

  /** Sum over `axes` (all axes when omitted), dropping them unless keepDims. */
  sum(axes?: Axes, keepDims?: boolean): Tensor;
  /** Mean over `axes` (all axes when omitted), dropping them unless keepDims. */
  mean(axes?: Axes, keepDims?: boolean): Tensor;
  /** Product over `axes` (all axes when omitted), dropping them unless keepDims. */
  prod(axes?: Axes, keepDims?: boolean): Tensor;
  /** Largest value over `axes` (all axes when omitted); the gradient goes to the maxima. */
  max(axes?: Axes, keepDims?: boolean): Tensor;
  /** Smallest value over `axes` (all axes when omitted); the gradient goes to the minima. */
  min(axes?: Axes, keepDims?: boolean): Tensor;
  /** Index (int32) of the largest value along `axis`, or in the flattened tensor when omitted; the first one on ties. */
  argmax(axis?: number, keepDims?: boolean): Tensor;
  /** Index (int32) of the smallest value along `axis`, or in the flattened tensor when omitted; the first one on ties. */
  argmin(axis?: number, keepDims?: boolean): Tensor;
  /** Variance over `axes`, dividing by n - correction (default 1, Bessel's correction). */
  var(axes?: Axes, options?: { keepDims?: boolean; correction?: number }): Tensor;
  /** Standard deviation: the square root of var() with the same options. */
  std(axes?: Axes, options?: { keepDims?: boolean; correction?: number }): Tensor;
  /** `log(sum(exp(x)))` over `axes`, computed without overflow. */
  logsumexp(axes?: Axes, keepDims?: boolean): Tensor;
  /** The p-norm over `axes` (default p = 2, all axes); p = Infinity gives the largest absolute value. */
  norm(p?: number, axes?: Axes, keepDims?: boolean): Tensor;

  /** Matrix product with NumPy's rules: 1-D operands are vectors, leading axes broadcast as a batch. */
  matmul(b: Tensor): Tensor;

  /** The same elements in a new shape (one axis may be -1 to infer it); shares storage. */
  reshape(...shape: ShapeArgs): Tensor;
  /** Alias of reshape(). */
  view(...shape: ShapeArgs): Tensor;
  /** Merge axes startAxis..endAxis (default: all) into one. */
  flatten(startAxis?: number, endAxis?: number): Tensor;
  /** Remove the given size-1 axes (every size-1 axis when omitted). */
  squeeze(axes?: number | readonly number[]): Tensor;
  /** Insert a size-1 axis at `axis`. */
  unsqueeze(axis: number): Tensor;
  /** Reorder the axes: output axis i is input axis perm[i]. */
  permute(...perm: ShapeArgs): Tensor;
  /** Swap two axes (default the last two). */
  transpose(axis0?: number, axis1?: number): Tensor;
  /** Transpose of a matrix (reverses all axes for other ranks, like NumPy's .T). */
  readonly T: Tensor;
  /** Broadcast size-1 axes to `shape` (-1 keeps an axis); the gradient sums back. */
  expand(...shape: ShapeArgs): Tensor;
  /**
   * Index with one spec per leading axis: a number selects (and drops the axis),
   * null keeps the whole axis, [start, end, step] slices (negative values count from the end).
   */
  slice(...specs: SliceSpec[]): Tensor;
  /** The `length` elements from `start` along `axis`. */
  narrow(axis: number, start: number, length: number): Tensor;
  /** Pick along `axis` by an int32 index tensor of the output's shape (torch.gather). */
  gather(axis: number, index: Tensor): Tensor;
  /** Pick whole slices along `axis` by integer indices, in the given order. */
  indexSelect(axis: number, index: Tensor | readonly number[]): Tensor;
  /** Reverse the order of elements along the given axes. */
  flip(axes: number | readonly number[]): Tensor;
  /** Repeat the tensor reps[i] times along each axis. */
  tile(reps: readonly number[]): Tensor;
  /** Cut along `axis` (default 0) into pieces of the given size (the last may be smaller) or of the listed sizes. */
  split(sizeOrSections: number | readonly number[], axis?: number): Tensor[];
  /** Cut along `axis` (default 0) into at most `chunks` nearly equal pieces. */
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
