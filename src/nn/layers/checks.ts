// Argument and input validation shared by the built-in layers, so that every
// layer words its errors the same way: the layer's label first, then what was
// expected and what was given.
import type { FloatDType } from '../../core/dtype.js';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../../core/errors.js';
import { Tensor } from '../../core/tensor.js';
import type { Module } from '../module.js';

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
