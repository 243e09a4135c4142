// Argument and input validation shared by the built-in layers, so that every
// layer words its errors the same way: the layer's label first, then what was
// expected and what was given.
import type { FloatDType } from '../../core/dtype.js';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../../core/errors.js';
import { Tensor } from '../../core/tensor.js';
import type { Module } from '../module.js';

export function positiveInt(op: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0)
    throw new ValueError(`${op}: ${name} must be a positive integer, got ${String(value)}`);
  return value;
}

export function floatDTypeOption(op: string, value: unknown): FloatDType {
  const d = value ?? 'float32';
  if (d !== 'float32' && d !== 'float64') throw new ValueError(`${op}: dtype must be 'float32' or 'float64', got ${JSON.stringify(d)}`);
  return d;
}

export function probability(op: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) throw new ValueError(`${op}: ${name} must be a probability in [0, 1], got ${String(value)}`);
  return value;
}

export function positiveNumber(op: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value))
    throw new ValueError(`${op}: ${name} must be a positive finite number, got ${String(value)}`);
  return value;
}

export function booleanOption(op: string, name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ValueError(`${op}: ${name} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

export function shapeOption(op: string, name: string, value: unknown, allowInferred = false): number[] {
  if (!Array.isArray(value) || value.some((d) => typeof d !== 'number' || !Number.isInteger(d) || (d < 0 && !(allowInferred && d === -1)))) {
    throw new ValueError(`${op}: ${name} must be an array of non-negative integers${allowInferred ? ' (one may be -1)' : ''}, got ${JSON.stringify(value)}`);
  }
  if (allowInferred && value.filter((d) => d === -1).length > 1) throw new ValueError(`${op}: ${name} may contain at most one -1, got ${fmtShape(value)}`);
  return [...value];
}

/**
 * The layer's input as a tensor of the layer's dtype. Integer and bool inputs
 * are converted (data often arrives as labels or pixels); a float input of the
 * other precision is refused, as in PyTorch, because silently promoting a
 * whole float32 model to float64 (or truncating float64) hides a real mistake.
 */
export function floatInput(layer: Module, x: unknown, dtype: FloatDType): Tensor {
  if (!(x instanceof Tensor)) throw new ValueError(`${layer.label}: expected a Tensor input, got ${x === null ? 'null' : typeof x}`);
  if (x.dtype === dtype) return x;
  if (x.dtype === 'float32' || x.dtype === 'float64') {
    throw new DTypeError(
      `${layer.label}: input is ${x.dtype} but the layer's parameters are ${dtype}; cast the input or build the layer with {dtype: '${x.dtype}'}`,
    );
  }
  return x.cast(dtype);
}

/** Accept any float input; other dtypes are converted to float32. */
export function anyFloatInput(layer: Module, x: unknown): Tensor {
  if (!(x instanceof Tensor)) throw new ValueError(`${layer.label}: expected a Tensor input, got ${x === null ? 'null' : typeof x}`);
  return x.dtype === 'float32' || x.dtype === 'float64' ? x : x.cast('float32');
}

export function expectTensor(layer: Module, x: unknown, what = 'input'): Tensor {
  if (!(x instanceof Tensor)) throw new ValueError(`${layer.label}: expected a Tensor ${what}, got ${x === null ? 'null' : typeof x}`);
  return x;
}

export function shapeMismatch(layer: Module, expected: string, got: readonly number[]): ShapeError {
  return new ShapeError(`${layer.label}: expected ${expected}, got ${fmtShape(got)}`);
}
