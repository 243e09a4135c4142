import { broadcastShapes } from '../core/shape.js';
import type { Tensor, TensorOrNumber } from '../core/tensor.js';
import { type CompareOp, k, type PredicateOp } from './contract.js';
import { assertTensor, empty, resultDType, toOperand } from './util.js';

/** Comparisons and logic give bool tensors and have no gradient. */
export function compareOp(op: CompareOp, a: TensorOrNumber, b: TensorOrNumber): Tensor {
  const dtype = resultDType(op, a, b);
  const ta = toOperand(op, a, dtype);
  const tb = toOperand(op, b, dtype);
  const shape = broadcastShapes(op, ta.shape, tb.shape);
  const out = empty(op, 'bool', shape);
  k().compare(op, ta.data, ta.shape, tb.data, tb.shape, out.data as Uint8Array, shape);
  return out;
}

export function predicateOp(op: PredicateOp, x: Tensor): Tensor {
  assertTensor(op, 'input', x);
  const out = empty(op, 'bool', x.shape);
  k().predicate(op, x.data, out.data as Uint8Array);
  return out;
}

/** Element-wise `a == b` as a bool tensor, broadcasting. */
export const eq = (a: TensorOrNumber, b: TensorOrNumber) => compareOp('eq', a, b);
/** Element-wise `a != b` as a bool tensor, broadcasting. */
export const ne = (a: TensorOrNumber, b: TensorOrNumber) => compareOp('ne', a, b);
/** Element-wise `a < b` as a bool tensor, broadcasting. */
export const lt = (a: TensorOrNumber, b: TensorOrNumber) => compareOp('lt', a, b);
/** Element-wise `a <= b` as a bool tensor, broadcasting. */
export const le = (a: TensorOrNumber, b: TensorOrNumber) => compareOp('le', a, b);
/** Element-wise `a > b` as a bool tensor, broadcasting. */
export const gt = (a: TensorOrNumber, b: TensorOrNumber) => compareOp('gt', a, b);
/** Element-wise `a >= b` as a bool tensor, broadcasting. */
export const ge = (a: TensorOrNumber, b: TensorOrNumber) => compareOp('ge', a, b);
/** Element-wise logical and (non-zero is true), as a bool tensor. */
export const logicalAnd = (a: TensorOrNumber, b: TensorOrNumber) => compareOp('and', a, b);
/** Element-wise logical or (non-zero is true), as a bool tensor. */
export const logicalOr = (a: TensorOrNumber, b: TensorOrNumber) => compareOp('or', a, b);
/** Element-wise logical exclusive or (non-zero is true), as a bool tensor. */
export const logicalXor = (a: TensorOrNumber, b: TensorOrNumber) => compareOp('xor', a, b);
/** Element-wise logical not (non-zero is true), as a bool tensor. */
export const logicalNot = (x: Tensor) => predicateOp('not', x);
/** Bool tensor, true where an element is NaN. */
export const isnan = (x: Tensor) => predicateOp('isnan', x);
/** Bool tensor, true where an element is neither NaN nor infinite. */
export const isfinite = (x: Tensor) => predicateOp('isfinite', x);
/** Bool tensor, true where an element is +Infinity or -Infinity. */
export const isinf = (x: Tensor) => predicateOp('isinf', x);
