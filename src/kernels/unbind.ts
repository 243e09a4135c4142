import { recordOutputs } from '../autograd/multi-output.js';
import { subview } from '../core/dtype.js';
import { fmtShape, ShapeError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import { concat } from './concat.js';
import { assertTensor, empty } from './util.js';

/**
 * The slices x[0], x[1], ..., x[n-1] along the first axis, as tensors that
 * share x's storage (no copy: the first axis is the outermost in row-major
 * order, so each slice is a contiguous run). Backward joins the slices'
 * gradients into one tensor of x's shape in a single pass, zeros for slices
 * that received none, so splitting a sequence into its n time steps costs
 * O(n) and not the O(n²) of n separate slices.
 */
export function unbind(x: Tensor): Tensor[] {
  assertTensor('unbind', 'input', x);
  if (x.ndim === 0) throw new ShapeError(`unbind: input must have at least one dimension, got shape ${fmtShape(x.shape)}`);
  const rest = x.shape.slice(1);
  const step = x.shape[0] === 0 ? 0 : x.size / x.shape[0];
  const pieces: Tensor[] = [];
  for (let i = 0; i < x.shape[0]; i++) pieces.push(new Tensor(subview(x.data, i * step, (i + 1) * step), rest));
  if (pieces.length > 0) {
    recordOutputs(pieces, 'unbind', [x], (grads) => [
      concat(
        grads.map((g) => (g ?? empty('unbind', x.dtype, rest)).reshape([1, ...rest])),
        0,
      ),
    ]);
  }
  return pieces;
}
