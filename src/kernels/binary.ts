import { record } from '../autograd/graph.js';
import { DTypeError } from '../core/errors.js';
import { broadcastShapes } from '../core/shape.js';
import type { Tensor, TensorOrNumber } from '../core/tensor.js';
import { type BinaryOp, k } from './contract.js';
import { resultDType, toOperand, uninitialized } from './util.js';
import { where } from './where.js';

/**
 * Gradients of the broadcasting binary primitives with respect to (a, b), in
 * the broadcast output shape: the autograd engine sums them back to each
 * input's shape, in one place for all ops.
 */
const BINARY: Record<BinaryOp, (a: Tensor, b: Tensor, out: Tensor, g: Tensor) => [Tensor | null, Tensor | null]> = {
  add: (_a, _b, _o, g) => [g, g],
  sub: (_a, _b, _o, g) => [g, g.neg()],
  mul: (a, b, _o, g) => [g.mul(b), g.mul(a)],
  // d(a/b)/da = 1/b; d(a/b)/db = -a/b^2 = -out/b
  div: (_a, b, o, g) => [g.div(b), b.requiresGrad ? g.mul(o).div(b).neg() : null],
  // d(a^b)/da = b a^(b-1); d(a^b)/db = a^b log a, taken as 0 where a = 0 (as PyTorch does).
  pow: (a, b, o, g) => [a.requiresGrad ? g.mul(b).mul(a.pow(b.sub(1))) : null, b.requiresGrad ? g.mul(o).mul(where(a.eq(0), 0, a.log())) : null],
  // At ties the gradient is split evenly between both inputs, as PyTorch does.
  maximum: (a, b, _o, g) => {
    const wa = a.gt(b).cast(g.dtype).add(a.eq(b).cast(g.dtype).mul(0.5));
    return [g.mul(wa), g.mul(wa.neg().add(1))];
  },
  minimum: (a, b, _o, g) => {
    const wa = a.lt(b).cast(g.dtype).add(a.eq(b).cast(g.dtype).mul(0.5));
    return [g.mul(wa), g.mul(wa.neg().add(1))];
  },
  // d atan2(a, b) = (b da - a db) / (a^2 + b^2)
  atan2: (a, b, _o, g) => {
    const r = a.square().add(b.square());
    return [g.mul(b).div(r), g.mul(a).neg().div(r)];
  },
};

/** Apply a named element-wise binary kernel with broadcasting and dtype promotion, recording its gradient. */
export function binaryOp(op: BinaryOp, a: TensorOrNumber, b: TensorOrNumber): Tensor {
  let dtype = resultDType(op, a, b);
  // True division and real powers of integers give floats, as in PyTorch.
  if ((op === 'div' || op === 'atan2') && (dtype === 'int32' || dtype === 'bool')) dtype = 'float32';
  if (dtype === 'bool') dtype = 'int32';
  const ta = toOperand(op, a, dtype);
  const tb = toOperand(op, b, dtype);
  if (op === 'pow' && dtype === 'int32' && tb.data.some((v) => v < 0)) {
    throw new DTypeError(`pow: integer tensors cannot be raised to negative integer powers; cast to float first`);
  }
  const shape = broadcastShapes(op, ta.shape, tb.shape);
  const out = uninitialized(op, dtype, shape);
  k().binary(op, ta.data, ta.shape, tb.data, tb.shape, out.data, shape);
  return record(out, op, [ta, tb], (g) => BINARY[op](ta, tb, out, g));
}

export const BINARY_OPS = Object.keys(BINARY) as BinaryOp[];

/** Element-wise `a + b`, broadcasting. */
export const add = (a: TensorOrNumber, b: TensorOrNumber) => binaryOp('add', a, b);
/** Element-wise `a - b`, broadcasting. */
export const sub = (a: TensorOrNumber, b: TensorOrNumber) => binaryOp('sub', a, b);
/** Element-wise `a * b`, broadcasting. */
export const mul = (a: TensorOrNumber, b: TensorOrNumber) => binaryOp('mul', a, b);
/** Element-wise `a / b`, broadcasting (integers become float32). */
export const div = (a: TensorOrNumber, b: TensorOrNumber) => binaryOp('div', a, b);
/** Element-wise `a ** b`, broadcasting. */
export const pow = (a: TensorOrNumber, b: TensorOrNumber) => binaryOp('pow', a, b);
/** Element-wise larger of `a` and `b`, broadcasting. */
export const maximum = (a: TensorOrNumber, b: TensorOrNumber) => binaryOp('maximum', a, b);
/** Element-wise smaller of `a` and `b`, broadcasting. */
export const minimum = (a: TensorOrNumber, b: TensorOrNumber) => binaryOp('minimum', a, b);
/** Element-wise angle of the point (b, a), in radians, broadcasting. */
export const atan2 = (a: TensorOrNumber, b: TensorOrNumber) => binaryOp('atan2', a, b);
