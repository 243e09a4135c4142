import { ValueError } from '../core/errors.js';
import { checkNonEmptyAxes, normalizeAxes } from '../core/shape.js';
import type { Axes, Tensor } from '../core/tensor.js';
import { assertTensor } from '../kernels/util.js';
import { where } from '../kernels/where.js';

function countOver(x: Tensor, axes: Axes | undefined, op: string): number {
  return normalizeAxes(op, axes, x.ndim).reduce((p, a) => p * x.shape[a], 1);
}

/** Arithmetic mean; integer input gives float32. */
export function mean(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  assertTensor('mean', 'input', x);
  const n = countOver(x, axes, 'mean');
  const input = x.dtype === 'float32' || x.dtype === 'float64' ? x : x.cast('float32');
  return input.sum(axes, keepDims).div(n);
}

/**
 * Variance with Bessel's correction by default (correction 1, like PyTorch's
 * torch.var); pass correction 0 for the population variance.
 */
export function variance(x: Tensor, axes?: Axes, options: { keepDims?: boolean; correction?: number } = {}): Tensor {
  assertTensor('var', 'input', x);
  const correction = options.correction ?? 1;
  if (!Number.isFinite(correction) || correction < 0) throw new ValueError(`var: correction must be a non-negative number, got ${correction}`);
  const n = countOver(x, axes, 'var');
  const input = x.dtype === 'float32' || x.dtype === 'float64' ? x : x.cast('float32');
  const centered = input.sub(input.mean(axes, true));
  return centered
    .square()
    .sum(axes, options.keepDims ?? false)
    .div(Math.max(n - correction, 0));
}

/** Standard deviation over `axes`: the square root of variance() with the same options. */
export function std(x: Tensor, axes?: Axes, options: { keepDims?: boolean; correction?: number } = {}): Tensor {
  return variance(x, axes, options).sqrt();
}

/** log(sum(exp(x))), stable: the max is subtracted first so exp() cannot overflow. */
export function logsumexp(x: Tensor, axes?: Axes, keepDims = false): Tensor {
  assertTensor('logsumexp', 'input', x);
  checkNonEmptyAxes('logsumexp', x.shape, normalizeAxes('logsumexp', axes, x.ndim));
  const m = x.max(axes, true).detach();
  // An all -inf slice would give inf - inf = NaN; shift by 0 there instead.
  const shift = where(m.isFinite(), m, 0);
  const out = x.sub(shift).exp().sum(axes, true).log().add(shift);
  return keepDims ? out : out.squeeze(normalizeAxes('logsumexp', axes, x.ndim));
}

/**
 * Vector p-norm over the given axes (all by default): p = 2 (Euclidean), 1,
 * Infinity (max |x|), or any positive p.
 */
export function norm(x: Tensor, p = 2, axes?: Axes, keepDims = false): Tensor {
  assertTensor('norm', 'input', x);
  if (!(p > 0)) throw new ValueError(`norm: p must be positive, got ${p}`);
  if (p === Infinity) return x.abs().max(axes, keepDims);
  if (p === 1) return x.abs().sum(axes, keepDims);
  if (p === 2) return x.square().sum(axes, keepDims).sqrt();
  return x
    .abs()
    .pow(p)
    .sum(axes, keepDims)
    .pow(1 / p);
}
