import { ValueError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { assertTensor } from '../kernels/util.js';

/**
 * Limit values to [min, max] (either bound may be omitted). The gradient is 1
 * inside the range and 0 outside it; at a bound it is split like maximum/minimum.
 */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  assertTensor('clamp', 'input', x);
  const lo = min ?? null;
  const hi = max ?? null;
  if (lo === null && hi === null) throw new ValueError('clamp: give at least one of min and max');
  if ((lo !== null && Number.isNaN(lo)) || (hi !== null && Number.isNaN(hi)))
    throw new ValueError(`clamp: bounds must not be NaN, got min ${lo} and max ${hi}`);
  if (lo !== null && hi !== null && lo > hi) throw new ValueError(`clamp: min ${lo} is greater than max ${hi}`);
  let out = x;
  if (lo !== null) out = out.maximum(lo);
  if (hi !== null) out = out.minimum(hi);
  return out;
}
