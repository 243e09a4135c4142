// Loss functions with PyTorch's semantics and argument order (input, target),
// composed from primitives (autograd derives every gradient). Each one checks
// its shapes up front, so a [N, 1] prediction against an [N] target is an
// error naming both shapes instead of a silent [N, N] broadcast.
import { allocate } from '../../core/dtype.js';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../../core/errors.js';
import { broadcastsTo, shapesEqual } from '../../core/shape.js';
import { Tensor } from '../../core/tensor.js';
import { hostStep } from '../../core/trace.js';
import { check } from '../../core/validate.js';
import { logSigmoid, logSoftmax } from '../../ops/activations.js';
import { where } from '../../ops/index.js';

/** How per-element losses are combined: averaged (the default), summed, or returned as they are. */
export type Reduction = 'mean' | 'sum' | 'none';

/** The reductions every loss accepts. */
export const REDUCTIONS: readonly Reduction[] = ['mean', 'sum', 'none'];

/** Options every loss takes. */
export interface LossOptions {
  /** 'mean' (default), 'sum' or 'none'. */
  reduction?: Reduction;
}

/** Throws unless `reduction` is one of `allowed`; returns it. */
export function checkReduction<R extends string>(who: string, reduction: R, allowed: readonly string[] = REDUCTIONS): R {
  if (!allowed.includes(reduction)) {
    const list = allowed.map((r) => `'${r}'`);
    const expected = `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}`;
    throw new ValueError(`${who}: reduction must be ${expected}, got ${JSON.stringify(reduction)}`);
  }
  return reduction;
}

function reduce(loss: Tensor, reduction: Reduction): Tensor {
  if (reduction === 'none') return loss;
  return reduction === 'sum' ? loss.sum() : loss.mean();
}

function checkTensor(who: string, what: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new ValueError(`${who}: ${what} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
}

function checkFloatInput(who: string, input: unknown): asserts input is Tensor {
  checkTensor(who, 'input', input);
  if (input.dtype !== 'float32' && input.dtype !== 'float64') throw new DTypeError(`${who}: input must be float32 or float64, got ${input.dtype}`);
}

function checkSameShape(who: string, input: Tensor, target: unknown, what = 'target'): asserts target is Tensor {
  checkTensor(who, what, target);
  if (!shapesEqual(input.shape, target.shape)) {
    throw new ShapeError(`${who}: ${what} of shape ${fmtShape(target.shape)} does not match input ${fmtShape(input.shape)}`);
  }
}

/** An optional element-wise weight must broadcast to the input's shape. */
function checkBroadcastWeight(who: string, name: string, weight: Tensor | null | undefined, input: Tensor): Tensor | null {
  if (weight === undefined || weight === null) return null;
  checkTensor(who, name, weight);
  if (!broadcastsTo(weight.shape, input.shape)) {
    throw new ShapeError(`${who}: ${name} of shape ${fmtShape(weight.shape)} does not broadcast to input ${fmtShape(input.shape)}`);
  }
  return weight;
}

// ---------------------------------------------------------------------------
// Regression
// ---------------------------------------------------------------------------

/** Mean squared error: (input - target)², reduced. */
export function mseLoss(input: Tensor, target: Tensor, options: LossOptions = {}): Tensor {
  const reduction = checkReduction('mseLoss', options.reduction ?? 'mean');
  checkFloatInput('mseLoss', input);
  checkSameShape('mseLoss', input, target);
  return reduce(input.sub(target).square(), reduction);
}

/**
 * The sum-of-squares error of the lecture notes (Bishop's E = ½ Σ (y - t)²):
 * ½·(input - target)² per element, summed by default, so that its gradient
 * with respect to the prediction is exactly the residual y - t (the δ of the
 * output units in backpropagation). 'mean' gives ½·mseLoss.
 */
export function sumOfSquares(input: Tensor, target: Tensor, options: LossOptions = {}): Tensor {
  const reduction = checkReduction('sumOfSquares', options.reduction ?? 'sum');
  checkFloatInput('sumOfSquares', input);
  checkSameShape('sumOfSquares', input, target);
  return reduce(input.sub(target).square().mul(0.5), reduction);
}

/** Mean absolute error |input - target| (L1). The gradient at a zero residual is 0. */
export function l1Loss(input: Tensor, target: Tensor, options: LossOptions = {}): Tensor {
  const reduction = checkReduction('l1Loss', options.reduction ?? 'mean');
  checkFloatInput('l1Loss', input);
  checkSameShape('l1Loss', input, target);
  return reduce(input.sub(target).abs(), reduction);
}

export interface SmoothL1Options extends LossOptions {
  /** Where the quadratic part ends (default 1); 0 gives the L1 loss. */
  beta?: number;
}

/**
 * Smooth L1: 0.5·d²/beta where |d| < beta, |d| - 0.5·beta elsewhere, with
 * d = input - target (PyTorch's SmoothL1Loss; beta 0 is the L1 loss).
 */
export function smoothL1Loss(input: Tensor, target: Tensor, options: SmoothL1Options = {}): Tensor {
  const reduction = checkReduction('smoothL1Loss', options.reduction ?? 'mean');
  const beta = check('smoothL1Loss').finite('beta', options.beta ?? 1);
  if (beta < 0) throw new ValueError(`smoothL1Loss: beta must be non-negative, got ${beta}`);
  checkFloatInput('smoothL1Loss', input);
  checkSameShape('smoothL1Loss', input, target);
  const d = input.sub(target);
  const ad = d.abs();
  if (beta === 0) return reduce(ad, reduction);
  return reduce(where(ad.lt(beta), d.square().mul(0.5 / beta), ad.sub(0.5 * beta)), reduction);
}

export interface HuberOptions extends LossOptions {
  /** Where the quadratic part ends (default 1). */
  delta?: number;
}

/** Huber loss: 0.5·d² where |d| < delta, delta·(|d| - 0.5·delta) elsewhere (smoothL1 scaled by delta). */
export function huberLoss(input: Tensor, target: Tensor, options: HuberOptions = {}): Tensor {
  const reduction = checkReduction('huberLoss', options.reduction ?? 'mean');
  const delta = check('huberLoss').finite('delta', options.delta ?? 1);
  if (delta <= 0) throw new ValueError(`huberLoss: delta must be positive, got ${delta}`);
  checkFloatInput('huberLoss', input);
  checkSameShape('huberLoss', input, target);
  const d = input.sub(target);
  const ad = d.abs();
  return reduce(where(ad.lt(delta), d.square().mul(0.5), ad.sub(0.5 * delta).mul(delta)), reduction);
}

export interface GaussianNllOptions extends LossOptions {
  /** Add the constant 0.5·log(2π) (default false). */
  full?: boolean;
  /** Variances are clamped to at least eps (default 1e-6). */
  eps?: number;
}

/**
 * Gaussian negative log-likelihood of `target` under N(input, var):
 * 0.5·(log v + (input - target)²/v) with v = max(var, eps), plus 0.5·log(2π)
 * when `full`. `var` has the input's shape, or that shape with dimensions of
 * size 1 (broadcast), or that shape without its last dimension (one variance
 * per row). As in PyTorch the clamp does not block the gradient: it is the
 * derivative at the clamped value, passed straight to `var`.
 */
export function gaussianNllLoss(input: Tensor, target: Tensor, variance: Tensor, options: GaussianNllOptions = {}): Tensor {
  const who = 'gaussianNllLoss';
  const reduction = checkReduction(who, options.reduction ?? 'mean');
  const eps = check(who).finite('eps', options.eps ?? 1e-6);
  if (eps <= 0) throw new ValueError(`${who}: eps must be positive, got ${eps}`);
  checkFloatInput(who, input);
  checkSameShape(who, input, target);
  checkTensor(who, 'var', variance);
  let v = variance;
  if (v.ndim === input.ndim - 1 && shapesEqual(v.shape, input.shape.slice(0, -1))) v = v.unsqueeze(-1);
  else if (v.ndim !== input.ndim || !broadcastsTo(v.shape, input.shape)) {
    throw new ShapeError(`${who}: var of shape ${fmtShape(variance.shape)} does not match input ${fmtShape(input.shape)}`);
  }
  for (let i = 0; i < v.size; i++) {
    if (v.data[i] < 0) throw new ValueError(`${who}: var must be non-negative, got ${v.data[i]} at position ${i}`);
  }
  // PyTorch clamps a clone of var in place under no_grad: the value is clamped
  // but the gradient flows as if it were not (a straight-through clamp).
  const clamped = v.add(v.detach().maximum(eps).sub(v.detach()));
  let loss = clamped.log().add(input.sub(target).square().div(clamped)).mul(0.5);
  if (options.full) loss = loss.add(0.5 * Math.log(2 * Math.PI));
  return reduce(loss, reduction);
}

// ---------------------------------------------------------------------------
// Binary classification
// ---------------------------------------------------------------------------

const LOG_FLOOR = -100;
const EXP_LOG_FLOOR = Math.exp(LOG_FLOOR);

/**
 * log(p) clamped to >= -100 like PyTorch's BCELoss. The log only ever sees
 * p > e^-100 (1 elsewhere), so its gradient is finite where the clamp is
 * active (there it is 0), instead of 0 · (1/0) = NaN.
 */
function clampedLog(p: Tensor): Tensor {
  const above = p.gt(EXP_LOG_FLOOR);
  return where(above, where(above, p, 1).log(), LOG_FLOOR);
}

/** log(1 - p) clamped to >= -100, via log1p(-p) (accurate for small p). Below 1, log1p(-p) >= -37 already. */
function clampedLog1m(p: Tensor): Tensor {
  const below = p.lt(1);
  return where(below, where(below, p, 0).neg().log1p(), LOG_FLOOR);
}

export interface BinaryCrossEntropyOptions extends LossOptions {
  /** Per-element weight, broadcast to the input's shape. */
  weight?: Tensor | null;
}

/**
 * Binary cross-entropy on probabilities: -w·(t·log p + (1 - t)·log(1 - p)),
 * with each log clamped to >= -100 as in PyTorch. `input` must lie in [0, 1];
 * for logits use binaryCrossEntropyWithLogits, which is exact where this one
 * saturates. In float32 a probability below about 3e-39 has a gradient 1/p
 * that overflows to infinity.
 */
export function binaryCrossEntropy(input: Tensor, target: Tensor, options: BinaryCrossEntropyOptions = {}): Tensor {
  const who = 'binaryCrossEntropy';
  const reduction = checkReduction(who, options.reduction ?? 'mean');
  checkFloatInput(who, input);
  checkSameShape(who, input, target);
  const weight = checkBroadcastWeight(who, 'weight', options.weight, input);
  for (let i = 0; i < input.size; i++) {
    const p = input.data[i];
    if (!(p >= 0 && p <= 1)) {
      throw new ValueError(`${who}: input must hold probabilities in [0, 1], got ${p} at position ${i} (for logits use binaryCrossEntropyWithLogits)`);
    }
  }
  let loss = target
    .mul(clampedLog(input))
    .add(target.neg().add(1).mul(clampedLog1m(input)))
    .neg();
  if (weight) loss = loss.mul(weight);
  return reduce(loss, reduction);
}

export interface BinaryCrossEntropyWithLogitsOptions extends BinaryCrossEntropyOptions {
  /** Weight of the positive term, broadcast along the last (class) dimension: posWeight [C] for input [N, C]. */
  posWeight?: Tensor | null;
}

/**
 * Binary cross-entropy on logits x: -w·(posWeight·t·log σ(x) + (1 - t)·log σ(-x)).
 * Written with logSigmoid, it is finite with finite gradients for logits of
 * any magnitude (±1e4 included), and its gradient at x = 0 is exact.
 */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, options: BinaryCrossEntropyWithLogitsOptions = {}): Tensor {
  const who = 'binaryCrossEntropyWithLogits';
  const reduction = checkReduction(who, options.reduction ?? 'mean');
  checkFloatInput(who, input);
  checkSameShape(who, input, target);
  const weight = checkBroadcastWeight(who, 'weight', options.weight, input);
  const posWeight = checkBroadcastWeight(who, 'posWeight', options.posWeight, input);
  const positive = posWeight ? target.mul(posWeight) : target;
  const negative = target.neg().add(1);
  // A term whose coefficient is 0 is dropped rather than multiplied: at a logit of -Infinity with
  // target 0 (or +Infinity with target 1) the other term is 0·(-Infinity) = NaN, but the loss is 0.
  const term = (coefficient: Tensor, logProbability: Tensor) => where(coefficient.eq(0), 0, coefficient.mul(logProbability));
  let loss = term(positive, logSigmoid(input))
    .add(term(negative, logSigmoid(input.neg())))
    .neg();
  if (weight) loss = loss.mul(weight);
  return reduce(loss, reduction);
}

export interface MarginOptions extends LossOptions {
  /** Default 1. */
  margin?: number;
}

/**
 * Hinge embedding loss for targets ±1: x where the target is 1,
 * max(0, margin - x) where it is -1 (PyTorch's HingeEmbeddingLoss).
 */
export function hingeEmbeddingLoss(input: Tensor, target: Tensor, options: MarginOptions = {}): Tensor {
  const who = 'hingeEmbeddingLoss';
  const reduction = checkReduction(who, options.reduction ?? 'mean');
  const margin = check(who).finite('margin', options.margin ?? 1);
  checkFloatInput(who, input);
  checkSameShape(who, input, target);
  const marginPart = where(target.ne(1), input.neg().add(margin).relu(), 0);
  const selfPart = where(target.ne(-1), input, 0);
  return reduce(marginPart.add(selfPart), reduction);
}

/** Logistic loss for targets ±1: log(1 + exp(-t·x)), computed stably as -logSigmoid(t·x). */
export function softMarginLoss(input: Tensor, target: Tensor, options: LossOptions = {}): Tensor {
  const who = 'softMarginLoss';
  const reduction = checkReduction(who, options.reduction ?? 'mean');
  checkFloatInput(who, input);
  checkSameShape(who, input, target);
  return reduce(logSigmoid(input.mul(target)).neg(), reduction);
}

// ---------------------------------------------------------------------------
// Multi-class classification
// ---------------------------------------------------------------------------

export interface ClassWeightOptions extends LossOptions {
  /** One weight per class, shape [C]. */
  weight?: Tensor | null;
}

export interface NllLossOptions extends ClassWeightOptions {
  /** Samples whose target equals this index count for nothing (default -100). */
  ignoreIndex?: number;
}

export interface CrossEntropyOptions extends NllLossOptions {
  /** Mix the target with the uniform distribution: (1 - ε)·t + ε/C (default 0). */
  labelSmoothing?: number;
}

function checkClassWeight(who: string, weight: Tensor | null | undefined, classes: number): Tensor | null {
  if (weight === undefined || weight === null) return null;
  checkTensor(who, 'weight', weight);
  if (weight.ndim !== 1 || weight.shape[0] !== classes) {
    throw new ShapeError(`${who}: weight must have shape [${classes}] (one per class), got ${fmtShape(weight.shape)}`);
  }
  return weight;
}

/** The input with a batch axis: [C] becomes [1, C]; the class axis is 1. */
function withBatchAxis(who: string, input: Tensor): Tensor {
  if (input.ndim === 0) throw new ShapeError(`${who}: input must be [N, C], [N, C, d1, ...] or [C], got a 0-d tensor`);
  return input.ndim === 1 ? input.unsqueeze(0) : input;
}

/** Class-index target shape: the input's shape without the class axis 1. */
function indexShape(input: Tensor): number[] {
  return input.ndim === 1 ? [] : [input.shape[0], ...input.shape.slice(2)];
}

interface CheckedIndices {
  /** [M, 1, d...]-shaped int32 indices for gather along axis 1 (ignored samples point at class 0). */
  gatherIndex: Tensor;
  /** Flat int32 indices (ignored samples point at class 0). */
  flat: Int32Array;
  /** 1 for counted samples, 0 for ignored ones, in the target's (batched) shape. */
  valid: Tensor;
  /**
   * Flat [M·d...] coefficients that turn the picked log-probabilities into the
   * unweighted loss with one product and one sum: -valid / (number counted)
   * for 'mean', -valid for 'sum'.
   */
  coefficients: Tensor;
}

function checkIndices(who: string, input: Tensor, target: Tensor, ignoreIndex: number | null, reduction: Reduction = 'mean'): CheckedIndices {
  const classes = input.shape[input.ndim === 1 ? 0 : 1];
  const flat = allocate('int32', target.size) as Int32Array;
  const floatType = input.dtype === 'float64' ? 'float64' : 'float32';
  const valid = allocate(floatType, target.size);
  const coefficients = allocate(floatType, target.size);
  const data = target.data;
  // A host step: labels change every batch, so a compiled step checks and converts them in every replay.
  hostStep(`${who} labels`, { reads: [data], writes: [flat, valid, coefficients] }, () => {
    flat.fill(0);
    valid.fill(0);
    let counted = 0;
    for (let i = 0; i < data.length; i++) {
      const c = data[i];
      if (ignoreIndex !== null && c === ignoreIndex) continue;
      if (c < 0 || c >= classes) {
        throw new ValueError(`${who}: class index ${c} (target position ${i}) is out of range for ${classes} classes (valid: 0 to ${classes - 1})`);
      }
      flat[i] = c;
      valid[i] = 1;
      counted++;
    }
    // With every sample ignored, 'mean' is 0/0 = NaN, as PyTorch gives.
    const scale = reduction === 'mean' ? -1 / counted : -1;
    for (let i = 0; i < data.length; i++) coefficients[i] = valid[i] * scale;
  });
  const batchedShape = input.ndim === 1 ? [1] : [...target.shape];
  const gatherShape = [batchedShape[0], 1, ...batchedShape.slice(1)];
  return {
    gatherIndex: new Tensor(flat, gatherShape),
    flat,
    valid: new Tensor(valid, batchedShape),
    coefficients: new Tensor(coefficients, [target.size]),
  };
}

function checkIndexTarget(who: string, input: Tensor, target: Tensor): void {
  const expected = indexShape(input);
  if (!shapesEqual(target.shape, expected)) {
    throw new ShapeError(
      `${who}: target of shape ${fmtShape(target.shape)} does not match input ${fmtShape(input.shape)} (class indices need shape ${fmtShape(expected)})`,
    );
  }
}

function checkIgnoreIndex(who: string, ignoreIndex: number): number {
  if (!Number.isInteger(ignoreIndex)) throw new ValueError(`${who}: ignoreIndex must be an integer, got ${ignoreIndex}`);
  return ignoreIndex;
}

/**
 * Per-sample -w[y]·logp[y] and the per-sample weights w[y] (0 for ignored
 * samples), both in the batched target shape [M, d...].
 */
function pickedNll(logp: Tensor, indices: CheckedIndices, weight: Tensor | null): { loss: Tensor; sampleWeight: Tensor } {
  const picked = logp.gather(1, indices.gatherIndex).squeeze(1);
  const sampleWeight = weight
    ? weight
        .indexSelect(0, new Tensor(indices.flat, [indices.flat.length]))
        .reshape(indices.valid.shape)
        .mul(indices.valid)
    : indices.valid;
  return { loss: picked.mul(sampleWeight).neg(), sampleWeight };
}

/**
 * The unweighted loss reduced to a scalar: Σ coefficient·logp[y], one gather,
 * one product and one sum, where the general form (pickedNll and
 * reduceWeighted) takes seven kernels forward. The common case of every
 * classifier's training step. Not for an empty batch: its 'mean' is 0/0 = NaN
 * (as PyTorch's), which no coefficient can carry, so the general form takes it.
 */
function pickedNllReduced(logp: Tensor, indices: CheckedIndices): Tensor {
  const picked = logp.gather(1, indices.gatherIndex);
  return picked.reshape([picked.size]).mul(indices.coefficients).sum();
}

/** Reduce per-sample class losses: 'mean' divides by the summed sample weights, as PyTorch. */
function reduceWeighted(loss: Tensor, sampleWeight: Tensor, reduction: Reduction, unbatched: boolean): Tensor {
  if (reduction === 'none') return unbatched ? loss.reshape([]) : loss;
  if (reduction === 'sum') return loss.sum();
  return loss.sum().div(sampleWeight.sum());
}

/**
 * Negative log-likelihood of class indices given log-probabilities `input`
 * [N, C] (or [N, C, d1, ...], or [C]): -w[y]·input[y] per sample. 'mean'
 * divides by the sum of w[y] over the counted samples (their number without
 * weights), as PyTorch does; samples whose target is `ignoreIndex` give 0.
 */
export function nllLoss(input: Tensor, target: Tensor, options: NllLossOptions = {}): Tensor {
  const who = 'nllLoss';
  const reduction = checkReduction(who, options.reduction ?? 'mean');
  checkFloatInput(who, input);
  const batched = withBatchAxis(who, input);
  checkTensor(who, 'target', target);
  if (target.dtype !== 'int32') throw new DTypeError(`${who}: target must hold int32 class indices, got ${target.dtype} (cast with target.int())`);
  checkIndexTarget(who, input, target);
  const weight = checkClassWeight(who, options.weight, batched.shape[1]);
  const indices = checkIndices(who, input, target, checkIgnoreIndex(who, options.ignoreIndex ?? -100), reduction);
  if (weight === null && reduction !== 'none' && target.size > 0) return pickedNllReduced(batched, indices);
  const { loss, sampleWeight } = pickedNll(batched, indices, weight);
  return reduceWeighted(loss, sampleWeight, reduction, input.ndim === 1);
}

/**
 * Cross-entropy of logits `input` [N, C] (or [N, C, d1, ...], or [C]) against
 * either class indices (int32, shape [N] or [N, d1, ...]) or class
 * probabilities (float, the input's shape), as PyTorch's cross_entropy:
 *
 * - indices: l = (1 - ε)·(-w[y]·logp[y]) + (ε/C)·(-Σ_c w[c]·logp[c]); 'mean'
 *   divides by Σ w[y] over the counted samples; `ignoreIndex` samples give 0.
 * - probabilities: l = -Σ_c w[c]·t'[c]·logp[c] with t' = (1 - ε)·t + ε/C;
 *   'mean' divides by the number of samples.
 *
 * logp = logSoftmax(input) over the class axis subtracts the row maximum
 * first: losses and gradients stay finite for logits of magnitude 1e4.
 */
export function crossEntropy(input: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  const who = 'crossEntropy';
  const reduction = checkReduction(who, options.reduction ?? 'mean');
  const smoothing = check(who).finite('labelSmoothing', options.labelSmoothing ?? 0);
  if (smoothing < 0 || smoothing > 1) throw new ValueError(`${who}: labelSmoothing must be in [0, 1], got ${smoothing}`);
  checkFloatInput(who, input);
  const batched = withBatchAxis(who, input);
  checkTensor(who, 'target', target);
  const classes = batched.shape[1];
  const weight = checkClassWeight(who, options.weight, classes);
  // Class weights broadcast over the class axis 1 of [M, C, d...].
  const classWeight = weight ? weight.reshape([classes, ...new Array<number>(batched.ndim - 2).fill(1)]) : null;
  const logp = logSoftmax(batched, 1);

  if (target.dtype === 'float32' || target.dtype === 'float64') {
    if (!shapesEqual(target.shape, input.shape)) {
      if (shapesEqual(target.shape, indexShape(input))) {
        throw new DTypeError(
          `${who}: target of shape ${fmtShape(target.shape)} looks like class indices but is ${target.dtype}; pass them as int32 (target.int()), or give class probabilities of shape ${fmtShape(input.shape)}`,
        );
      }
      throw new ShapeError(`${who}: target of shape ${fmtShape(target.shape)} does not match input ${fmtShape(input.shape)}`);
    }
    let probs = input.ndim === 1 ? target.unsqueeze(0) : target;
    if (smoothing > 0) probs = probs.mul(1 - smoothing).add(smoothing / classes);
    let terms = probs.mul(logp);
    if (classWeight) terms = terms.mul(classWeight);
    const loss = terms.sum(1).neg();
    if (reduction === 'none') return input.ndim === 1 ? loss.reshape([]) : loss;
    return reduction === 'sum' ? loss.sum() : loss.mean();
  }

  if (target.dtype !== 'int32') throw new DTypeError(`${who}: target must be int32 class indices or float class probabilities, got ${target.dtype}`);
  checkIndexTarget(who, input, target);
  const indices = checkIndices(who, input, target, checkIgnoreIndex(who, options.ignoreIndex ?? -100), reduction);
  if (weight === null && smoothing === 0 && reduction !== 'none' && target.size > 0) return pickedNllReduced(logp, indices);
  const picked = pickedNll(logp, indices, weight);
  let loss = picked.loss;
  if (smoothing > 0) {
    const all = (classWeight ? logp.mul(classWeight) : logp).sum(1).neg().mul(indices.valid);
    loss = loss.mul(1 - smoothing).add(all.mul(smoothing / classes));
  }
  return reduceWeighted(loss, picked.sampleWeight, reduction, input.ndim === 1);
}

/** Options of klDiv(). */
export interface KlDivOptions {
  /** 'mean' (PyTorch's default: over all elements), 'batchmean' (the KL divergence per sample, divided by N), 'sum' or 'none'. */
  reduction?: Reduction | 'batchmean';
  /** The target is given as log-probabilities (default false). */
  logTarget?: boolean;
}

/**
 * Kullback-Leibler divergence KL(target ‖ exp(input)) for log-probabilities
 * `input`: element-wise t·(log t - input), taken as 0 where t = 0 (or
 * exp(t)·(t - input) with `logTarget`). Use reduction 'batchmean' for the
 * mathematical KL divergence per sample; 'mean' divides by every element, as
 * PyTorch's default does.
 */
export function klDiv(input: Tensor, target: Tensor, options: KlDivOptions = {}): Tensor {
  const who = 'klDiv';
  const reduction = checkReduction(who, options.reduction ?? 'mean', [...REDUCTIONS, 'batchmean']);
  checkFloatInput(who, input);
  checkSameShape(who, input, target);
  let loss: Tensor;
  if (options.logTarget) loss = target.exp().mul(target.sub(input));
  else {
    // xlogy: t·log t is 0 at t = 0; the log only sees nonzero t, so its gradient stays finite.
    const nonzero = target.ne(0);
    const tLogT = where(nonzero, target.mul(where(nonzero, target, 1).log()), 0);
    loss = tLogT.sub(target.mul(input));
  }
  if (reduction === 'batchmean') return input.ndim === 0 ? loss.sum() : loss.sum().div(input.shape[0]);
  return reduce(loss, reduction);
}

export interface MultiMarginOptions extends ClassWeightOptions {
  /** 1 (default) or 2. */
  p?: 1 | 2;
  /** Default 1. */
  margin?: number;
}

/**
 * Multi-class hinge loss (PyTorch's MultiMarginLoss) for scores [N, C] (or
 * [C]) and int32 class indices: l = Σ_{j≠y} w[y]·max(0, margin - x[y] + x[j])^p / C.
 * The subgradient at a hinge's kink is 0.
 */
export function multiMarginLoss(input: Tensor, target: Tensor, options: MultiMarginOptions = {}): Tensor {
  const who = 'multiMarginLoss';
  const reduction = checkReduction(who, options.reduction ?? 'mean');
  const p = options.p ?? 1;
  if (p !== 1 && p !== 2) throw new ValueError(`${who}: p must be 1 or 2, got ${p}`);
  const margin = check(who).finite('margin', options.margin ?? 1);
  checkFloatInput(who, input);
  if (input.ndim > 2) throw new ShapeError(`${who}: input must be [N, C] or [C], got ${fmtShape(input.shape)}`);
  const batched = withBatchAxis(who, input);
  checkTensor(who, 'target', target);
  if (target.dtype !== 'int32') throw new DTypeError(`${who}: target must hold int32 class indices, got ${target.dtype} (cast with target.int())`);
  checkIndexTarget(who, input, target);
  const classes = batched.shape[1];
  const weight = checkClassWeight(who, options.weight, classes);
  const indices = checkIndices(who, input, target, null);
  const scoreOfTarget = batched.gather(1, indices.gatherIndex);
  let hinge = batched.sub(scoreOfTarget).add(margin).relu();
  if (p === 2) hinge = hinge.square();
  if (weight) hinge = hinge.mul(weight.indexSelect(0, new Tensor(indices.flat, [indices.flat.length])).unsqueeze(1));
  const classIds = new Int32Array(classes).map((_, c) => c);
  const notTarget = new Tensor(classIds, [1, classes]).ne(indices.gatherIndex);
  const loss = where(notTarget, hinge, 0).sum(1).div(classes);
  if (reduction === 'none') return input.ndim === 1 ? loss.reshape([]) : loss;
  return reduction === 'sum' ? loss.sum() : loss.mean();
}
