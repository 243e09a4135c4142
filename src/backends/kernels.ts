import type { TypedArray } from '../core/dtype.js';
import type { Shape } from '../core/shape.js';

/** Element-wise functions of one argument. Output has the input's dtype unless noted. */
export type UnaryOp =
  | 'neg'
  | 'abs'
  | 'sign'
  | 'exp'
  | 'log'
  | 'log1p'
  | 'expm1'
  | 'sqrt'
  | 'rsqrt'
  | 'reciprocal'
  | 'square'
  | 'sin'
  | 'cos'
  | 'tanh'
  | 'sigmoid'
  | 'relu'
  | 'erf'
  | 'floor'
  | 'ceil'
  | 'round'
  | 'copy';

/** Element-wise functions of two broadcast arguments with the result dtype. */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'atan2';

/** Comparisons and logic; the output is always bool (Uint8Array). */
export type CompareOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'and' | 'or' | 'xor';

/** Predicates on one argument with a bool output. */
export type PredicateOp = 'isnan' | 'isfinite' | 'isinf' | 'not';

export type ReduceOp = 'sum' | 'prod' | 'max' | 'min';

/**
 * The compute interface of a backend: plain functions over typed arrays in
 * row-major order. Every function writes into `out`, which the caller
 * allocated with the right dtype and size; inputs are never modified unless
 * the name says so (scatterAdd, indexAdd, sliceAdd accumulate into `out`).
 *
 * The reference backend implements all of them; a fast backend implements a
 * subset and the engine falls back to the reference for the rest.
 */
export interface Kernels {
  unary(op: UnaryOp, x: TypedArray, out: TypedArray): void;
  predicate(op: PredicateOp, x: TypedArray, out: Uint8Array): void;
  binary(op: BinaryOp, a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, out: TypedArray, outShape: Shape): void;
  compare(op: CompareOp, a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, out: Uint8Array, outShape: Shape): void;
  where(cond: Uint8Array, cShape: Shape, a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, out: TypedArray, outShape: Shape): void;
  /** Reduce over `axes` (sorted, unique); `out` has the kept dims' sizes. */
  reduce(op: ReduceOp, x: TypedArray, shape: Shape, axes: readonly number[], out: TypedArray): void;
  argReduce(op: 'argmax' | 'argmin', x: TypedArray, shape: Shape, axis: number, out: Int32Array): void;
  /** out[b] = op(A[b]) · op(B[b]) for `batch` stacked matrices; op(A) is [m, k], op(B) is [k, n]. */
  matmul(a: TypedArray, b: TypedArray, out: TypedArray, batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean): void;
  permute(x: TypedArray, shape: Shape, perm: readonly number[], out: TypedArray): void;
  /** out = x[begin[d] + i*step[d]] over outShape; steps may be negative. */
  slice(x: TypedArray, shape: Shape, begin: readonly number[], step: readonly number[], out: TypedArray, outShape: Shape): void;
  /** The adjoint of slice: out[begin + i*step] += src[i]. */
  sliceAdd(src: TypedArray, srcShape: Shape, begin: readonly number[], step: readonly number[], out: TypedArray, outShape: Shape): void;
  pad(x: TypedArray, shape: Shape, before: readonly number[], value: number, out: TypedArray, outShape: Shape): void;
  concat(xs: readonly TypedArray[], shapes: readonly Shape[], axis: number, out: TypedArray): void;
  /** torch.gather: out[..i..] = x[..index[..i..]..] along axis; index has out's shape. */
  gather(x: TypedArray, shape: Shape, axis: number, index: Int32Array, indexShape: Shape, out: TypedArray): void;
  /** The adjoint of gather: out[..index[..i..]..] += src[..i..]. */
  scatterAdd(out: TypedArray, shape: Shape, axis: number, index: Int32Array, indexShape: Shape, src: TypedArray): void;
  indexSelect(x: TypedArray, shape: Shape, axis: number, index: Int32Array, out: TypedArray): void;
  /** The adjoint of indexSelect: out[.., index[i], ..] += src[.., i, ..]. */
  indexAdd(out: TypedArray, shape: Shape, axis: number, index: Int32Array, src: TypedArray, srcShape: Shape): void;
  cast(x: TypedArray, out: TypedArray): void;
}

export type KernelName = keyof Kernels;

/** A backend: a name and the kernels it accelerates. */
export interface Backend {
  readonly name: string;
  readonly kernels: Partial<Kernels>;
  /** One line saying what the backend runs on, e.g. the CPU path of a native addon. */
  describe(): string;
}
