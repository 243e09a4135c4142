import { record } from '../autograd/graph.js';
import { ValueError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { k } from './contract.js';
import { assertTensor, uninitialized } from './util.js';

/** Reorder axes: out.shape[i] = x.shape[perm[i]]. */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  assertTensor('permute', 'input', x);
  const r = x.ndim;
  const p = perm.map((a) => (a < 0 ? a + r : a));
  const seen = new Set(p);
  if (p.length !== r || seen.size !== r || p.some((a) => !Number.isInteger(a) || a < 0 || a >= r)) {
    throw new ValueError(`permute: [${perm.join(', ')}] is not a permutation of the ${r} axes of a tensor of shape [${x.shape.join(', ')}]`);
  }
  if (p.every((a, i) => a === i)) return x;
  // The kernel writes every element, so the output skips the zero fill.
  const out = uninitialized(
    'permute',
    x.dtype,
    p.map((a) => x.shape[a]),
  );
  k().permute(x.data, x.shape, p, out.data);
  const inverse = new Array<number>(r);
  p.forEach((a, i) => {
    inverse[a] = i;
  });
  return record(out, 'permute', [x], (g) => [permute(g, inverse)]);
}
