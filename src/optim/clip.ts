import type { FloatArray } from '../core/dtype.js';
import { ValueError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import { hostStep } from '../core/trace.js';
import { show } from './hyperparams.js';

/** One tensor, or any iterable of them (an array, model.parameters()). */
export type TensorList = Tensor | Iterable<Tensor>;

/** The tensors in `params`, checked. */
export function tensorList(fn: string, params: TensorList): Tensor[] {
  const list = params instanceof Tensor ? [params] : params != null && Symbol.iterator in Object(params) ? [...params] : null;
  if (list === null) throw new ValueError(`${fn}: expected a Tensor or an iterable of Tensors, got ${show(params)}`);
  list.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new ValueError(`${fn}: item ${i} is not a Tensor (${show(p)})`);
  });
  return list;
}

function gradsOf(params: Tensor[]): FloatArray[] {
  const out: FloatArray[] = [];
  for (const p of params) if (p.grad !== null) out.push(p.grad.data as FloatArray);
  return out;
}

/** Options of clipGradNorm(). */
export interface ClipGradNormOptions {
  /** Throw when the total norm is NaN or infinite, instead of scaling by a NaN (default false). */
  errorIfNonfinite?: boolean;
}

/**
 * Rescale the gradients of `params` in place so that their joint norm (the
 * `normType`-norm of all gradient elements together, as if concatenated) is
 * at most `maxNorm`, and return that norm as it was before clipping. As in
 * PyTorch, gradients are multiplied by maxNorm / (total + 1e-6) when that
 * factor is below 1, and left alone otherwise. Parameters without a gradient
 * are skipped.
 *
 * @param normType the p of the p-norm: any p > 0, or Infinity for the largest magnitude (default 2)
 */
export function clipGradNorm(params: TensorList, maxNorm: number, normType = 2, options: ClipGradNormOptions = {}): number {
  const list = tensorList('clipGradNorm', params);
  if (typeof maxNorm !== 'number' || !(maxNorm >= 0)) throw new ValueError(`clipGradNorm: maxNorm must be a non-negative number, got ${show(maxNorm)}`);
  if (typeof normType !== 'number' || !(normType > 0))
    throw new ValueError(`clipGradNorm: normType must be a positive number or Infinity, got ${show(normType)}`);
  const grads = gradsOf(list);
  if (grads.length === 0) return 0;
  let total = 0;
  // A host step: a compiled training step measures and rescales the gradients again in every replay.
  hostStep('clipGradNorm', { reads: grads, writes: grads }, () => {
    total = clipByNorm(grads, maxNorm, normType, options);
  });
  return total;
}

/**
 * Clamp every gradient element of `params` into [-clipValue, clipValue], in
 * place. NaN stays NaN.
 */
export function clipGradValue(params: TensorList, clipValue: number): void {
  const list = tensorList('clipGradValue', params);
  if (typeof clipValue !== 'number' || !(clipValue >= 0))
    throw new ValueError(`clipGradValue: clipValue must be a non-negative number, got ${show(clipValue)}`);
  const grads = gradsOf(list);
  hostStep('clipGradValue', { reads: grads, writes: grads }, () => {
    for (const g of grads) {
      for (let i = 0; i < g.length; i++) {
        if (g[i] > clipValue) g[i] = clipValue;
        else if (g[i] < -clipValue) g[i] = -clipValue;
      }
    }
  });
}

function clipByNorm(grads: readonly FloatArray[], maxNorm: number, normType: number, options: ClipGradNormOptions): number {
  let total = 0;
  if (normType === Number.POSITIVE_INFINITY) {
    for (const g of grads) {
      for (let i = 0; i < g.length; i++) {
        const a = Math.abs(g[i]);
        if (a > total || Number.isNaN(a)) total = a;
      }
    }
  } else {
    // Sum |g|^p over every element; for p = 2 this is the Euclidean norm of the concatenation.
    let acc = 0;
    for (const g of grads) {
      if (normType === 2) for (let i = 0; i < g.length; i++) acc += g[i] * g[i];
      else if (normType === 1) for (let i = 0; i < g.length; i++) acc += Math.abs(g[i]);
      else for (let i = 0; i < g.length; i++) acc += Math.abs(g[i]) ** normType;
    }
    total = normType === 1 ? acc : normType === 2 ? Math.sqrt(acc) : acc ** (1 / normType);
  }
  if (options.errorIfNonfinite && !Number.isFinite(total)) {
    throw new ValueError(`clipGradNorm: the total norm of order ${normType} of the gradients is ${total}, so they cannot be clipped`);
  }
  const coef = maxNorm / (total + 1e-6);
  if (coef < 1 || Number.isNaN(coef)) {
    for (const g of grads) for (let i = 0; i < g.length; i++) g[i] = g[i] * coef;
  }
  return total;
}
