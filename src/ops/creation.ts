import { allocate, checkedSize, type DType, dtypeOfArray, isFloatDType, parseDType, type TypedArray } from '../core/dtype.js';
import { fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { currentGenerator, type Generator } from '../core/random.js';
import { checkShape, sizeOf } from '../core/shape.js';
import { type NestedArray, Tensor } from '../core/tensor.js';
import { hostStep } from '../core/trace.js';
import { check } from '../core/validate.js';

/** Options of the tensor factories. */
export interface TensorOptions {
  /** Element type (default float32, or inferred from the data). */
  dtype?: DType;
  /** Record operations on the new tensor so backward() reaches it. */
  requiresGrad?: boolean;
}

export interface RandomOptions extends TensorOptions {
  /** Draw from this generator instead of the default one. */
  generator?: Generator;
}

function finish(t: Tensor, options: TensorOptions): Tensor {
  if (options.requiresGrad) t.requiresGrad = true;
  return t;
}

function inferShape(values: NestedArray, path = 'values'): number[] {
  if (!Array.isArray(values)) return [];
  const shape = [values.length];
  if (values.length === 0) return shape;
  const inner = inferShape(values[0], `${path}[0]`);
  for (let i = 1; i < values.length; i++) {
    const s = inferShape(values[i], `${path}[${i}]`);
    if (s.length !== inner.length || s.some((d, j) => d !== inner[j])) {
      throw new ShapeError(`tensor: ragged nested array: ${path}[${i}] has shape ${fmtShape(s)} but ${path}[0] has ${fmtShape(inner)}`);
    }
  }
  return [...shape, ...inner];
}

function fillFlat(values: NestedArray, out: TypedArray, pos: { i: number }): void {
  if (Array.isArray(values)) {
    for (const v of values) fillFlat(v, out, pos);
    return;
  }
  if (typeof values === 'boolean') out[pos.i++] = values ? 1 : 0;
  else if (typeof values === 'number') out[pos.i++] = values;
  else throw new ValueError(`tensor: expected numbers or booleans, got ${values === null ? 'null' : typeof values}`);
}

function firstLeaf(values: NestedArray): NestedArray {
  let v = values;
  while (Array.isArray(v) && v.length > 0) v = v[0];
  return v;
}

/**
 * Create a tensor from nested arrays, a typed array (1-D unless `shape` is
 * given) or a number (0-d). Numbers default to float32, booleans to bool, typed
 * arrays keep their own type (Float64Array gives float64); the data is copied.
 */
export function tensor(values: NestedArray | TypedArray, options: TensorOptions & { shape?: readonly number[] } = {}): Tensor {
  let t: Tensor;
  if (ArrayBuffer.isView(values)) {
    const src = values as TypedArray;
    const dtype = options.dtype ? parseDType('tensor', options.dtype) : dtypeOfArray(src);
    const shape = options.shape ? checkShape('tensor', options.shape) : [src.length];
    if (sizeOf(shape) !== src.length) throw new ShapeError(`tensor: ${src.length} values cannot fill shape ${fmtShape(shape)}`);
    const data = allocate(dtype, src.length);
    if (data instanceof Uint8Array) for (let i = 0; i < src.length; i++) data[i] = src[i] ? 1 : 0;
    else data.set(src);
    t = new Tensor(data, shape);
  } else {
    const shape = inferShape(values);
    const leaf = firstLeaf(values);
    const dtype = options.dtype ? parseDType('tensor', options.dtype) : typeof leaf === 'boolean' ? 'bool' : 'float32';
    const data = allocate(dtype, checkedSize('tensor', dtype, shape));
    if (dtype === 'int32' || dtype === 'bool') {
      const tmp = new Float64Array(data.length);
      fillFlat(values, tmp, { i: 0 });
      for (let i = 0; i < tmp.length; i++) data[i] = dtype === 'bool' ? (tmp[i] ? 1 : 0) : Math.trunc(tmp[i]);
    } else fillFlat(values, data, { i: 0 });
    t = new Tensor(data, options.shape ? checkShape('tensor', options.shape) : shape);
  }
  return finish(t, options);
}

/** A tensor of `shape` filled with `value`, as the public op `op` (its name in errors). */
function filled(op: string, shape: readonly number[], value: number, options: TensorOptions): Tensor {
  const s = checkShape(op, shape);
  if (typeof value !== 'number' && typeof value !== 'boolean')
    throw new ValueError(`${op}: value must be a number, got ${JSON.stringify(value) ?? typeof value}`);
  const dtype = options.dtype ? parseDType(op, options.dtype) : 'float32';
  const data = allocate(dtype, checkedSize(op, dtype, s));
  data.fill(Number(value));
  return finish(new Tensor(data, s), options);
}

/** A tensor of `shape` filled with `value`. */
export function full(shape: readonly number[], value: number, options: TensorOptions = {}): Tensor {
  return filled('full', shape, value, options);
}

/** A tensor of `shape` filled with zeros. */
export const zeros = (shape: readonly number[], options: TensorOptions = {}) => filled('zeros', shape, 0, options);
/** A tensor of `shape` filled with ones. */
export const ones = (shape: readonly number[], options: TensorOptions = {}) => filled('ones', shape, 1, options);
/** A tensor of `x`'s shape and dtype filled with zeros. */
export const zerosLike = (x: Tensor, options: TensorOptions = {}) => filled('zerosLike', x.shape, 0, { dtype: x.dtype, ...options });
/** A tensor of `x`'s shape and dtype filled with ones. */
export const onesLike = (x: Tensor, options: TensorOptions = {}) => filled('onesLike', x.shape, 1, { dtype: x.dtype, ...options });
/** A tensor of `x`'s shape and dtype filled with `value`. */
export const fullLike = (x: Tensor, value: number, options: TensorOptions = {}) => filled('fullLike', x.shape, value, { dtype: x.dtype, ...options });

/** Values start, start+step, ... below end (one argument: 0..end-1). Integer arguments give int32. */
export function arange(start: number, end?: number, step = 1, options: TensorOptions = {}): Tensor {
  const [a, b] = end === undefined ? [0, start] : [start, end];
  if (![a, b, step].every(Number.isFinite) || step === 0)
    throw new ValueError(`arange: start, end and step must be finite and step non-zero, got ${a}, ${b}, ${step}`);
  const n = Math.max(0, Math.ceil((b - a) / step));
  const dtype = options.dtype ?? ([a, b, step].every(Number.isInteger) ? 'int32' : 'float32');
  const data = allocate(dtype, checkedSize('arange', dtype, [n]));
  for (let i = 0; i < n; i++) data[i] = a + i * step;
  return finish(new Tensor(data, [n]), options);
}

/** `steps` evenly spaced values from start to end inclusive. */
export function linspace(start: number, end: number, steps: number, options: TensorOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new ValueError(`linspace: steps must be a non-negative integer, got ${steps}`);
  if (!Number.isFinite(start) || !Number.isFinite(end)) throw new ValueError(`linspace: start and end must be finite, got ${start} and ${end}`);
  const data = allocate(options.dtype ?? 'float32', checkedSize('linspace', options.dtype ?? 'float32', [steps]));
  const step = steps > 1 ? (end - start) / (steps - 1) : 0;
  for (let i = 0; i < steps; i++) data[i] = i === steps - 1 && steps > 1 ? end : start + i * step;
  return finish(new Tensor(data, [steps]), options);
}

/** Identity matrix n x m (m defaults to n). */
export function eye(n: number, m = n, options: TensorOptions = {}): Tensor {
  const t = filled('eye', [n, m], 0, options);
  for (let i = 0; i < Math.min(n, m); i++) t.data[i * m + i] = 1;
  return t;
}

function floatDType(op: string, options: TensorOptions): DType {
  const d = options.dtype ?? 'float32';
  if (!isFloatDType(d)) throw new ValueError(`${op}: dtype must be float32 or float64, got ${d}`);
  return d;
}

function randomFill(op: string, shape: readonly number[], options: RandomOptions, draw: (g: Generator) => number, dtype = floatDType(op, options)): Tensor {
  const s = checkShape(op, shape);
  const data = allocate(dtype, checkedSize(op, dtype, s));
  const explicit = options.generator;
  // A host step: a compiled step draws fresh numbers in every replay, from the generator current then.
  hostStep(op, { writes: [data] }, () => {
    const gen = explicit ?? currentGenerator();
    for (let i = 0; i < data.length; i++) data[i] = draw(gen);
  });
  return finish(new Tensor(data, s), options);
}

function uniformAs(op: string, shape: readonly number[], low: number, high: number, options: RandomOptions): Tensor {
  check(op).finite('low', low);
  check(op).finite('high', high);
  if (low > high) throw new ValueError(`${op}: low ${low} is greater than high ${high}`);
  return randomFill(op, shape, options, (g) => low + (high - low) * g.nextDouble());
}

function normalAs(op: string, shape: readonly number[], mean: number, std: number, options: RandomOptions): Tensor {
  check(op).finite('mean', mean);
  check(op).finite('std', std);
  if (std < 0) throw new ValueError(`${op}: std must be non-negative, got ${std}`);
  return randomFill(op, shape, options, (g) => mean + std * g.nextNormal());
}

/** Uniform on [low, high). */
export function uniform(shape: readonly number[], low = 0, high = 1, options: RandomOptions = {}): Tensor {
  return uniformAs('uniform', shape, low, high, options);
}

/** Normal with the given mean and standard deviation. */
export function normal(shape: readonly number[], mean = 0, std = 1, options: RandomOptions = {}): Tensor {
  return normalAs('normal', shape, mean, std, options);
}

/** Uniform random numbers in [0, 1), from the default or given generator. */
export const rand = (shape: readonly number[], options: RandomOptions = {}) => uniformAs('rand', shape, 0, 1, options);
/** Standard normal random numbers, from the default or given generator. */
export const randn = (shape: readonly number[], options: RandomOptions = {}) => normalAs('randn', shape, 0, 1, options);

/** 1 with probability p, else 0 (float32 by default). */
export function bernoulli(shape: readonly number[], p: number, options: RandomOptions = {}): Tensor {
  if (!(p >= 0 && p <= 1)) throw new ValueError(`bernoulli: p must be in [0, 1], got ${p}`);
  return randomFill('bernoulli', shape, options, (g) => (g.nextDouble() < p ? 1 : 0), options.dtype ?? 'float32');
}

/** Uniform integers in [low, high) as int32. */
export function randint(low: number, high: number, shape: readonly number[], options: RandomOptions = {}): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) throw new ValueError(`randint: need integers low < high, got ${low} and ${high}`);
  return randomFill('randint', shape, options, (g) => low + g.nextInt(high - low), 'int32');
}

/** A random permutation of 0..n-1 as int32. */
export function randperm(n: number, options: RandomOptions = {}): Tensor {
  if (!Number.isInteger(n) || n < 0) throw new ValueError(`randperm: n must be a non-negative integer, got ${n}`);
  return new Tensor((options.generator ?? currentGenerator()).permutation(n), [n]);
}
