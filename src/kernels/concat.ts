import { record } from '../autograd/graph.js';
import { promoteTypes } from '../core/dtype.js';
import { fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { normalizeAxis } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { k } from './contract.js';
import { stridedSlice } from './slice.js';
import { assertTensor, uninitialized } from './util.js';

/** Join tensors along an existing axis; all other dims must match. */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new ValueError('concat: expected a non-empty array of tensors');
  for (let i = 0; i < tensors.length; i++) assertTensor('concat', `tensors[${i}]`, tensors[i]);
  const first = tensors[0];
  const ax = normalizeAxis('concat', axis, first.ndim);
  let dtype = first.dtype;
  for (let i = 1; i < tensors.length; i++) {
    const t = tensors[i];
    if (t.ndim !== first.ndim || t.shape.some((d: number, j: number) => j !== ax && d !== first.shape[j])) {
      throw new ShapeError(`concat: tensors[${i}] has shape ${fmtShape(t.shape)}, which does not match tensors[0] ${fmtShape(first.shape)} outside axis ${ax}`);
    }
    dtype = promoteTypes(dtype, t.dtype);
  }
  const inputs = tensors.map((t) => t.cast(dtype));
  const outShape = [...first.shape];
  outShape[ax] = inputs.reduce((s, t) => s + t.shape[ax], 0);
  // The kernel writes every element.
  const out = uninitialized('concat', dtype, outShape);
  k().concat(
    inputs.map((t) => t.data),
    inputs.map((t) => t.shape),
    ax,
    out.data,
  );
  return record(out, 'concat', inputs, (g) => {
    let offset = 0;
    return inputs.map((t) => {
      const begin = outShape.map((_, d) => (d === ax ? offset : 0));
      offset += t.shape[ax];
      return stridedSlice(
        g,
        begin,
        begin.map(() => 1),
        t.shape,
      );
    });
  });
}
