import { allocate, allocateUninitialized, checkedSize, type DType, promoteTypes, promoteWithScalar } from '../core/dtype.js';
import { DTypeError, ValueError } from '../core/errors.js';
import type { Shape } from '../core/shape.js';
import { Tensor, type TensorOrNumber } from '../core/tensor.js';

/**
 * A zero-filled output tensor of `op` (kernels that accumulate into their
 * output rely on the zeros); a size over the memory limit is refused with a
 * MemoryLimitError naming the op and the shape.
 */
export function empty(op: string, dtype: DType, shape: Shape): Tensor {
  return new Tensor(allocate(dtype, checkedSize(op, dtype, shape)), shape);
}

/** An output tensor of `op` with unspecified contents, only for outputs that the kernel writes completely. */
export function uninitialized(op: string, dtype: DType, shape: Shape): Tensor {
  return new Tensor(allocateUninitialized(dtype, checkedSize(op, dtype, shape)), shape);
}

export function scalarTensor(value: number, dtype: DType): Tensor {
  const t = empty('scalar', dtype, []);
  t.data[0] = value;
  return t;
}

/** Throw a ValueError naming the op and argument unless `x` is a Tensor. */
export function assertTensor(op: string, what: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) {
    throw new ValueError(`${op}: ${what} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  }
}

/** Dtype of `a op b` where either may be a plain number. */
export function resultDType(op: string, a: TensorOrNumber, b: TensorOrNumber): DType {
  if (a instanceof Tensor && b instanceof Tensor) return promoteTypes(a.dtype, b.dtype);
  if (a instanceof Tensor) return promoteWithScalar(a.dtype, checkNumber(op, b as number));
  if (b instanceof Tensor) return promoteWithScalar(b.dtype, checkNumber(op, a as number));
  throw new ValueError(`${op}: expected at least one Tensor argument, got two numbers`);
}

function checkNumber(op: string, v: unknown): number {
  if (typeof v !== 'number') throw new ValueError(`${op}: expected a Tensor or a number, got ${v === null ? 'null' : typeof v}`);
  return v;
}

/** The tensor itself (cast to dtype when needed), or a 0-d tensor holding the number. */
export function toOperand(op: string, x: TensorOrNumber, dtype: DType): Tensor {
  if (x instanceof Tensor) return x.dtype === dtype ? x : x.cast(dtype);
  return scalarTensor(checkNumber(op, x), dtype);
}

export function assertFloat(op: string, what: string, x: Tensor): void {
  if (x.dtype !== 'float32' && x.dtype !== 'float64') {
    throw new DTypeError(`${op}: ${what} must be float32 or float64, got ${x.dtype}`);
  }
}
