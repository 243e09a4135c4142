/**
 * Installs the Tensor's methods on its prototype. The method types are
 * declared beside the class in core/tensor.ts; their implementations are the
 * ops, which sit above core, so they are attached here, one floor above ops/.
 * The package entry imports this module before anything can run, which is
 * why gradient closures in lower floors may call `g.mul(...)`.
 */
import { backward } from '../autograd/backward.js';
import type { DType } from '../core/dtype.js';
import { type Axes, type ShapeArgs, type SliceSpec, Tensor, type TensorOrNumber } from '../core/tensor.js';
import * as ops from '../ops/index.js';

function flatArgs(args: ShapeArgs): number[] {
  if (args.length === 1 && Array.isArray(args[0])) return [...(args[0] as readonly number[])];
  return args as number[];
}

type VarianceOptions = { keepDims?: boolean; correction?: number };

/** Every method, keyed by name; `satisfies` makes tsc check each against its declaration. */
const methods = {
  backward(this: Tensor, gradient?: Tensor, options: { retainGraph?: boolean; createGraph?: boolean } = {}) {
    backward(this, gradient, options);
  },
  add(this: Tensor, b: TensorOrNumber) {
    return ops.add(this, b);
  },
  sub(this: Tensor, b: TensorOrNumber) {
    return ops.sub(this, b);
  },
  mul(this: Tensor, b: TensorOrNumber) {
    return ops.mul(this, b);
  },
  div(this: Tensor, b: TensorOrNumber) {
    return ops.div(this, b);
  },
  pow(this: Tensor, b: TensorOrNumber) {
    return ops.pow(this, b);
  },
  maximum(this: Tensor, b: TensorOrNumber) {
    return ops.maximum(this, b);
  },
  minimum(this: Tensor, b: TensorOrNumber) {
    return ops.minimum(this, b);
  },
  neg(this: Tensor) {
    return ops.neg(this);
  },
  abs(this: Tensor) {
    return ops.abs(this);
  },
  sign(this: Tensor) {
    return ops.sign(this);
  },
  exp(this: Tensor) {
    return ops.exp(this);
  },
  log(this: Tensor) {
    return ops.log(this);
  },
  log1p(this: Tensor) {
    return ops.log1p(this);
  },
  expm1(this: Tensor) {
    return ops.expm1(this);
  },
  sqrt(this: Tensor) {
    return ops.sqrt(this);
  },
  rsqrt(this: Tensor) {
    return ops.rsqrt(this);
  },
  reciprocal(this: Tensor) {
    return ops.reciprocal(this);
  },
  square(this: Tensor) {
    return ops.square(this);
  },
  sin(this: Tensor) {
    return ops.sin(this);
  },
  cos(this: Tensor) {
    return ops.cos(this);
  },
  tanh(this: Tensor) {
    return ops.tanh(this);
  },
  sigmoid(this: Tensor) {
    return ops.sigmoid(this);
  },
  relu(this: Tensor) {
    return ops.relu(this);
  },
  erf(this: Tensor) {
    return ops.erf(this);
  },
  floor(this: Tensor) {
    return ops.floor(this);
  },
  ceil(this: Tensor) {
    return ops.ceil(this);
  },
  round(this: Tensor) {
    return ops.round(this);
  },
  clamp(this: Tensor, min?: number | null, max?: number | null) {
    return ops.clamp(this, min, max);
  },
  eq(this: Tensor, b: TensorOrNumber) {
    return ops.eq(this, b);
  },
  ne(this: Tensor, b: TensorOrNumber) {
    return ops.ne(this, b);
  },
  lt(this: Tensor, b: TensorOrNumber) {
    return ops.lt(this, b);
  },
  le(this: Tensor, b: TensorOrNumber) {
    return ops.le(this, b);
  },
  gt(this: Tensor, b: TensorOrNumber) {
    return ops.gt(this, b);
  },
  ge(this: Tensor, b: TensorOrNumber) {
    return ops.ge(this, b);
  },
  logicalNot(this: Tensor) {
    return ops.logicalNot(this);
  },
  isNaN(this: Tensor) {
    return ops.isnan(this);
  },
  isFinite(this: Tensor) {
    return ops.isfinite(this);
  },
  cast(this: Tensor, dtype: DType) {
    return ops.cast(this, dtype);
  },
  float(this: Tensor) {
    return ops.cast(this, 'float32');
  },
  double(this: Tensor) {
    return ops.cast(this, 'float64');
  },
  int(this: Tensor) {
    return ops.cast(this, 'int32');
  },
  sum(this: Tensor, axes?: Axes, keepDims = false) {
    return ops.sum(this, axes, keepDims);
  },
  mean(this: Tensor, axes?: Axes, keepDims = false) {
    return ops.mean(this, axes, keepDims);
  },
  prod(this: Tensor, axes?: Axes, keepDims = false) {
    return ops.prod(this, axes, keepDims);
  },
  max(this: Tensor, axes?: Axes, keepDims = false) {
    return ops.max(this, axes, keepDims);
  },
  min(this: Tensor, axes?: Axes, keepDims = false) {
    return ops.min(this, axes, keepDims);
  },
  argmax(this: Tensor, axis?: number, keepDims = false) {
    return ops.argmax(this, axis, keepDims);
  },
  argmin(this: Tensor, axis?: number, keepDims = false) {
    return ops.argmin(this, axis, keepDims);
  },
  var(this: Tensor, axes?: Axes, options: VarianceOptions = {}) {
    return ops.variance(this, axes, options);
  },
  std(this: Tensor, axes?: Axes, options: VarianceOptions = {}) {
    return ops.std(this, axes, options);
  },
  logsumexp(this: Tensor, axes?: Axes, keepDims = false) {
    return ops.logsumexp(this, axes, keepDims);
  },
  norm(this: Tensor, p = 2, axes?: Axes, keepDims = false) {
    return ops.norm(this, p, axes, keepDims);
  },
  matmul(this: Tensor, b: Tensor) {
    return ops.matmul(this, b);
  },
  reshape(this: Tensor, ...shape: ShapeArgs) {
    return ops.reshape(this, flatArgs(shape));
  },
  view(this: Tensor, ...shape: ShapeArgs) {
    return ops.reshape(this, flatArgs(shape));
  },
  flatten(this: Tensor, startAxis = 0, endAxis = -1) {
    return ops.flatten(this, startAxis, endAxis);
  },
  squeeze(this: Tensor, axes?: number | readonly number[]) {
    return ops.squeeze(this, axes);
  },
  unsqueeze(this: Tensor, axis: number) {
    return ops.unsqueeze(this, axis);
  },
  permute(this: Tensor, ...perm: ShapeArgs) {
    return ops.permute(this, flatArgs(perm));
  },
  transpose(this: Tensor, axis0 = -2, axis1 = -1) {
    return ops.transpose(this, axis0, axis1);
  },
  expand(this: Tensor, ...shape: ShapeArgs) {
    return ops.expand(this, flatArgs(shape));
  },
  slice(this: Tensor, ...specs: SliceSpec[]) {
    return ops.slice(this, specs);
  },
  narrow(this: Tensor, axis: number, start: number, length: number) {
    return ops.narrow(this, axis, start, length);
  },
  gather(this: Tensor, axis: number, index: Tensor) {
    return ops.gather(this, axis, index);
  },
  indexSelect(this: Tensor, axis: number, index: Tensor | readonly number[]) {
    return ops.indexSelect(this, axis, index);
  },
  flip(this: Tensor, axes: number | readonly number[]) {
    return ops.flip(this, axes);
  },
  tile(this: Tensor, reps: readonly number[]) {
    return ops.tile(this, reps);
  },
  split(this: Tensor, sizeOrSections: number | readonly number[], axis = 0) {
    return ops.split(this, sizeOrSections, axis);
  },
  chunk(this: Tensor, chunks: number, axis = 0) {
    return ops.chunk(this, chunks, axis);
  },
} satisfies Omit<{ [K in keyof Tensor]: Tensor[K] }, InstalledElsewhere>;

/** Members the class itself defines, or that are accessors rather than methods. */
type InstalledElsewhere =
  | 'shape'
  | 'dtype'
  | 'data'
  | 'grad'
  | 'gradNode'
  | 'retainsGrad'
  | 'requiresGrad'
  | 'requiresGrad_'
  | 'isLeaf'
  | 'retainGrad'
  | 'postAccumulateGradHooks'
  | 'registerPostAccumulateGradHook'
  | 'size'
  | 'ndim'
  | 'item'
  | 'toArray'
  | 'dataSync'
  | 'toFlatArray'
  | 'toString'
  | 'detach'
  | 'T';

// Non-enumerable, like methods a class declares.
for (const [name, value] of Object.entries(methods)) {
  Object.defineProperty(Tensor.prototype, name, { value, writable: true, configurable: true, enumerable: false });
}
Object.defineProperty(Tensor.prototype, 'T', {
  configurable: true,
  enumerable: false,
  get(this: Tensor): Tensor {
    return ops.permute(
      this,
      this.shape.map((_, i) => this.shape.length - 1 - i),
    );
  },
});
