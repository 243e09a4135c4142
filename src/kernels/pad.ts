import { record } from '../autograd/graph.js';
import type { Tensor } from '../core/tensor.js';
import { k } from './contract.js';
import { stridedSlice } from './slice.js';
import { empty } from './util.js';

/** Constant padding primitive: `before[d]`/`after[d]` non-negative (validated by ops/pad). */
export function padConstant(x: Tensor, before: readonly number[], after: readonly number[], value: number): Tensor {
  const outShape = x.shape.map((d, i) => d + before[i] + after[i]);
  const out = empty('pad', x.dtype, outShape);
  k().pad(x.data, x.shape, before, value, out.data, outShape);
  return record(out, 'pad', [x], (g) => [
    stridedSlice(
      g,
      before,
      before.map(() => 1),
      x.shape,
    ),
  ]);
}
