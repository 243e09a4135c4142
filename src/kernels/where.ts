import { record } from '../autograd/graph.js';
import { DTypeError } from '../core/errors.js';
import { broadcastShapes } from '../core/shape.js';
import type { Tensor, TensorOrNumber } from '../core/tensor.js';
import { k } from './contract.js';
import { assertTensor, empty, resultDType, toOperand } from './util.js';

/**
 * Element-wise choice: cond ? a : b, broadcasting all three. The gradient goes
 * to whichever input was chosen. Beware (as in every framework): the other
 * branch is still computed, so a branch that is infinite where it is not chosen
 * still poisons its own gradient with 0 * inf; clamp its input instead.
 */
export function where(cond: Tensor, a: TensorOrNumber, b: TensorOrNumber): Tensor {
  assertTensor('where', 'condition', cond);
  if (cond.dtype !== 'bool') throw new DTypeError(`where: condition must be a bool tensor, got ${cond.dtype}`);
  const dtype = resultDType('where', a, b);
  const ta = toOperand('where', a, dtype);
  const tb = toOperand('where', b, dtype);
  const shape = broadcastShapes('where', broadcastShapes('where', cond.shape, ta.shape), tb.shape);
  const out = empty('where', dtype, shape);
  k().where(cond.data as Uint8Array, cond.shape, ta.data, ta.shape, tb.data, tb.shape, out.data, shape);
  return record(out, 'where', [ta, tb], (g) => [where(cond, g, 0), where(cond, 0, g)]);
}
