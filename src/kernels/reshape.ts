import { record } from '../autograd/graph.js';
import { fmtShape, ShapeError } from '../core/errors.js';
import { sizeOf } from '../core/shape.js';
import { Tensor } from '../core/tensor.js';
import { assertTensor } from './util.js';

/** Same data, new shape (no copy). One dimension may be -1 and is inferred. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  assertTensor('reshape', 'input', x);
  const target = [...shape];
  const inferred = target.indexOf(-1);
  if (target.some((d, i) => (d === -1 ? i !== inferred : !Number.isInteger(d) || d < 0))) {
    throw new ShapeError(`reshape: invalid target shape ${fmtShape(shape)} (dimensions are non-negative integers, at most one -1)`);
  }
  if (inferred >= 0) {
    const known = target.reduce((p, d, i) => (i === inferred ? p : p * d), 1);
    if (known === 0 || x.size % known !== 0) {
      throw new ShapeError(`reshape: cannot reshape ${fmtShape(x.shape)} (${x.size} elements) into ${fmtShape(shape)}`);
    }
    target[inferred] = x.size / known;
  }
  if (sizeOf(target) !== x.size) {
    throw new ShapeError(`reshape: cannot reshape ${fmtShape(x.shape)} (${x.size} elements) into ${fmtShape(shape)} (${sizeOf(target)} elements)`);
  }
  const out = new Tensor(x.data, target);
  return record(out, 'reshape', [x], (g) => [g.reshape(x.shape)]);
}
