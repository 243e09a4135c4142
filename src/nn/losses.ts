// Loss modules (PyTorch's nn.*Loss classes) over nn.functional's loss
// functions, and the registry that turns a name such as 'crossEntropy' into a
// loss function for the training loop.
import { ValueError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import {
  binaryCrossEntropy,
  binaryCrossEntropyWithLogits,
  checkReduction,
  crossEntropy,
  gaussianNllLoss,
  hingeEmbeddingLoss,
  huberLoss,
  klDiv,
  l1Loss,
  mseLoss,
  multiMarginLoss,
  nllLoss,
  REDUCTIONS,
  type Reduction,
  smoothL1Loss,
  softMarginLoss,
  sumOfSquares,
} from './functional/losses.js';
import { type LayerConfig, Module } from './module.js';

export type { Reduction } from './functional/losses.js';

/** A loss as the training loop calls it: (prediction, target) → a scalar tensor. */
export type LossFunction = (input: Tensor, target: Tensor) => Tensor;

function optionalTensor(who: string, name: string, value: unknown): Tensor | null {
  if (value === undefined || value === null) return null;
  if (!(value instanceof Tensor)) throw new ValueError(`${who}: ${name} must be a Tensor, got ${typeof value}`);
  return value;
}

function finite(who: string, name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ValueError(`${who}: ${name} must be a finite number, got ${value}`);
  return value;
}

/**
 * Base of the loss modules: a reduction ('mean' by default) fixed at
 * construction. Hyper-parameters are checked when the loss is built, with
 * messages naming the class.
 */
export abstract class Loss<R extends string = Reduction> extends Module {
  static override readonly className: string = 'Loss';
  readonly reduction: R;
  constructor(reduction: R, allowed: readonly string[] = REDUCTIONS) {
    super();
    this.reduction = checkReduction(new.target.className, reduction, allowed);
  }
  abstract override forward(input: Tensor, target: Tensor, ...rest: Tensor[]): Tensor;
  override getConfig(): LayerConfig {
    return { reduction: this.reduction };
  }
}

export interface ReductionOptions {
  reduction?: Reduction;
}

/** Mean squared error (PyTorch's MSELoss). */
export class MSELoss extends Loss {
  static override readonly className: string = 'MSELoss';
  constructor(options: ReductionOptions = {}) {
    super(options.reduction ?? 'mean');
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target, { reduction: this.reduction });
  }
}

/** ½·Σ(y - t)², the notes' sum-of-squares error; reduction 'sum' by default (see sumOfSquares). */
export class SumOfSquaresLoss extends Loss {
  static override readonly className: string = 'SumOfSquaresLoss';
  constructor(options: ReductionOptions = {}) {
    super(options.reduction ?? 'sum');
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return sumOfSquares(input, target, { reduction: this.reduction });
  }
}

/** Mean absolute error (PyTorch's L1Loss). */
export class L1Loss extends Loss {
  static override readonly className: string = 'L1Loss';
  constructor(options: ReductionOptions = {}) {
    super(options.reduction ?? 'mean');
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return l1Loss(input, target, { reduction: this.reduction });
  }
}

/** PyTorch's SmoothL1Loss (quadratic below beta, default 1). */
export class SmoothL1Loss extends Loss {
  static override readonly className: string = 'SmoothL1Loss';
  readonly beta: number;
  constructor(options: ReductionOptions & { beta?: number } = {}) {
    super(options.reduction ?? 'mean');
    this.beta = finite('SmoothL1Loss', 'beta', options.beta ?? 1);
    if (this.beta < 0) throw new ValueError(`SmoothL1Loss: beta must be non-negative, got ${this.beta}`);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return smoothL1Loss(input, target, { reduction: this.reduction, beta: this.beta });
  }
  override getConfig(): LayerConfig {
    return { reduction: this.reduction, beta: this.beta };
  }
}

/** PyTorch's HuberLoss (quadratic below delta, default 1). */
export class HuberLoss extends Loss {
  static override readonly className: string = 'HuberLoss';
  readonly delta: number;
  constructor(options: ReductionOptions & { delta?: number } = {}) {
    super(options.reduction ?? 'mean');
    this.delta = finite('HuberLoss', 'delta', options.delta ?? 1);
    if (this.delta <= 0) throw new ValueError(`HuberLoss: delta must be positive, got ${this.delta}`);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return huberLoss(input, target, { reduction: this.reduction, delta: this.delta });
  }
  override getConfig(): LayerConfig {
    return { reduction: this.reduction, delta: this.delta };
  }
}

/** Binary cross-entropy on probabilities (PyTorch's BCELoss), with an optional element weight. */
export class BCELoss extends Loss {
  static override readonly className: string = 'BCELoss';
  readonly weight: Tensor | null;
  constructor(options: ReductionOptions & { weight?: Tensor | null } = {}) {
    super(options.reduction ?? 'mean');
    this.weight = optionalTensor('BCELoss', 'weight', options.weight);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropy(input, target, { reduction: this.reduction, weight: this.weight });
  }
  override getConfig(): LayerConfig {
    return { reduction: this.reduction, weight: this.weight?.toArray() ?? null };
  }
}

/** Binary cross-entropy on logits (PyTorch's BCEWithLogitsLoss), stable for any logit. */
export class BCEWithLogitsLoss extends Loss {
  static override readonly className: string = 'BCEWithLogitsLoss';
  readonly weight: Tensor | null;
  readonly posWeight: Tensor | null;
  constructor(options: ReductionOptions & { weight?: Tensor | null; posWeight?: Tensor | null } = {}) {
    super(options.reduction ?? 'mean');
    this.weight = optionalTensor('BCEWithLogitsLoss', 'weight', options.weight);
    this.posWeight = optionalTensor('BCEWithLogitsLoss', 'posWeight', options.posWeight);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropyWithLogits(input, target, { reduction: this.reduction, weight: this.weight, posWeight: this.posWeight });
  }
  override getConfig(): LayerConfig {
    return { reduction: this.reduction, weight: this.weight?.toArray() ?? null, posWeight: this.posWeight?.toArray() ?? null };
  }
}

/** Cross-entropy of logits against class indices or probabilities (PyTorch's CrossEntropyLoss). */
export class CrossEntropyLoss extends Loss {
  static override readonly className: string = 'CrossEntropyLoss';
  readonly weight: Tensor | null;
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  constructor(options: ReductionOptions & { weight?: Tensor | null; ignoreIndex?: number; labelSmoothing?: number } = {}) {
    super(options.reduction ?? 'mean');
    this.weight = optionalTensor('CrossEntropyLoss', 'weight', options.weight);
    this.ignoreIndex = options.ignoreIndex ?? -100;
    if (!Number.isInteger(this.ignoreIndex)) throw new ValueError(`CrossEntropyLoss: ignoreIndex must be an integer, got ${this.ignoreIndex}`);
    this.labelSmoothing = finite('CrossEntropyLoss', 'labelSmoothing', options.labelSmoothing ?? 0);
    if (this.labelSmoothing < 0 || this.labelSmoothing > 1) {
      throw new ValueError(`CrossEntropyLoss: labelSmoothing must be in [0, 1], got ${this.labelSmoothing}`);
    }
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return crossEntropy(input, target, { reduction: this.reduction, weight: this.weight, ignoreIndex: this.ignoreIndex, labelSmoothing: this.labelSmoothing });
  }
  override getConfig(): LayerConfig {
    return { reduction: this.reduction, weight: this.weight?.toArray() ?? null, ignoreIndex: this.ignoreIndex, labelSmoothing: this.labelSmoothing };
  }
}

/** Negative log-likelihood of class indices given log-probabilities (PyTorch's NLLLoss). */
export class NLLLoss extends Loss {
  static override readonly className: string = 'NLLLoss';
  readonly weight: Tensor | null;
  readonly ignoreIndex: number;
  constructor(options: ReductionOptions & { weight?: Tensor | null; ignoreIndex?: number } = {}) {
    super(options.reduction ?? 'mean');
    this.weight = optionalTensor('NLLLoss', 'weight', options.weight);
    this.ignoreIndex = options.ignoreIndex ?? -100;
    if (!Number.isInteger(this.ignoreIndex)) throw new ValueError(`NLLLoss: ignoreIndex must be an integer, got ${this.ignoreIndex}`);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return nllLoss(input, target, { reduction: this.reduction, weight: this.weight, ignoreIndex: this.ignoreIndex });
  }
  override getConfig(): LayerConfig {
    return { reduction: this.reduction, weight: this.weight?.toArray() ?? null, ignoreIndex: this.ignoreIndex };
  }
}

/**
 * KL divergence for log-probability inputs (PyTorch's KLDivLoss). The
 * reduction may also be 'batchmean', the KL divergence per sample.
 */
export class KLDivLoss extends Loss<Reduction | 'batchmean'> {
  static override readonly className: string = 'KLDivLoss';
  readonly logTarget: boolean;
  constructor(options: { reduction?: Reduction | 'batchmean'; logTarget?: boolean } = {}) {
    super(options.reduction ?? 'mean', [...REDUCTIONS, 'batchmean']);
    this.logTarget = options.logTarget ?? false;
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return klDiv(input, target, { reduction: this.reduction, logTarget: this.logTarget });
  }
  override getConfig(): LayerConfig {
    return { reduction: this.reduction, logTarget: this.logTarget };
  }
}

/** Multi-class hinge loss (PyTorch's MultiMarginLoss). */
export class MultiMarginLoss extends Loss {
  static override readonly className: string = 'MultiMarginLoss';
  readonly p: 1 | 2;
  readonly margin: number;
  readonly weight: Tensor | null;
  constructor(options: ReductionOptions & { p?: 1 | 2; margin?: number; weight?: Tensor | null } = {}) {
    super(options.reduction ?? 'mean');
    const p = options.p ?? 1;
    if (p !== 1 && p !== 2) throw new ValueError(`MultiMarginLoss: p must be 1 or 2, got ${p}`);
    this.p = p;
    this.margin = finite('MultiMarginLoss', 'margin', options.margin ?? 1);
    this.weight = optionalTensor('MultiMarginLoss', 'weight', options.weight);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return multiMarginLoss(input, target, { reduction: this.reduction, p: this.p, margin: this.margin, weight: this.weight });
  }
  override getConfig(): LayerConfig {
    return { reduction: this.reduction, p: this.p, margin: this.margin, weight: this.weight?.toArray() ?? null };
  }
}

/** PyTorch's HingeEmbeddingLoss for targets ±1. */
export class HingeEmbeddingLoss extends Loss {
  static override readonly className: string = 'HingeEmbeddingLoss';
  readonly margin: number;
  constructor(options: ReductionOptions & { margin?: number } = {}) {
    super(options.reduction ?? 'mean');
    this.margin = finite('HingeEmbeddingLoss', 'margin', options.margin ?? 1);
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return hingeEmbeddingLoss(input, target, { reduction: this.reduction, margin: this.margin });
  }
  override getConfig(): LayerConfig {
    return { reduction: this.reduction, margin: this.margin };
  }
}

/** Logistic loss for targets ±1 (PyTorch's SoftMarginLoss). */
export class SoftMarginLoss extends Loss {
  static override readonly className: string = 'SoftMarginLoss';
  constructor(options: ReductionOptions = {}) {
    super(options.reduction ?? 'mean');
  }
  forward(input: Tensor, target: Tensor): Tensor {
    return softMarginLoss(input, target, { reduction: this.reduction });
  }
}

/** Gaussian negative log-likelihood with predicted variances: forward(input, target, var). */
export class GaussianNLLLoss extends Loss {
  static override readonly className: string = 'GaussianNLLLoss';
  readonly full: boolean;
  readonly eps: number;
  constructor(options: ReductionOptions & { full?: boolean; eps?: number } = {}) {
    super(options.reduction ?? 'mean');
    this.full = options.full ?? false;
    this.eps = finite('GaussianNLLLoss', 'eps', options.eps ?? 1e-6);
    if (this.eps <= 0) throw new ValueError(`GaussianNLLLoss: eps must be positive, got ${this.eps}`);
  }
  forward(input: Tensor, target: Tensor, variance: Tensor): Tensor {
    return gaussianNllLoss(input, target, variance, { reduction: this.reduction, full: this.full, eps: this.eps });
  }
  override getConfig(): LayerConfig {
    return { reduction: this.reduction, full: this.full, eps: this.eps };
  }
}

// ---------------------------------------------------------------------------
// Registry by name
// ---------------------------------------------------------------------------

const registry = new Map<string, { name: string; fn: LossFunction }>();

/** 'crossEntropy', 'cross_entropy', 'CrossEntropyLoss' and 'cross-entropy' all name the same loss. */
function normalizeName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .replace(/loss$/, '');
}

/**
 * Make a loss available to `getLoss(name)` (and so to the training loop's
 * `loss: 'name'`). Names are matched ignoring case, '_', '-' and a trailing
 * 'Loss'.
 */
export function registerLoss(name: string, fn: LossFunction): void {
  if (typeof name !== 'string' || normalizeName(name) === '')
    throw new ValueError(`registerLoss: name must be a non-empty string, got ${JSON.stringify(name)}`);
  if (typeof fn !== 'function') throw new ValueError(`registerLoss: '${name}' needs a function (input, target) => Tensor`);
  registry.set(normalizeName(name), { name, fn });
}

/** The registered loss names, sorted. */
export function registeredLosses(): string[] {
  return [...new Set([...registry.values()].map((e) => e.name))].sort();
}

/**
 * The loss function for a name ('mse', 'crossEntropy', 'binaryCrossEntropy',
 * 'bceWithLogits', ...: see registeredLosses()), with its default options;
 * a function is returned as it is, and a Loss module is bound to its forward.
 */
export function getLoss(nameOrFn: string | LossFunction | Loss<string>): LossFunction {
  if (nameOrFn instanceof Loss) return (input, target) => nameOrFn.forward(input, target);
  if (typeof nameOrFn === 'function') return nameOrFn;
  if (typeof nameOrFn !== 'string')
    throw new ValueError(`getLoss: expected a loss name, a function or a Loss module, got ${nameOrFn === null ? 'null' : typeof nameOrFn}`);
  const entry = registry.get(normalizeName(nameOrFn));
  if (!entry) throw new ValueError(`getLoss: unknown loss '${nameOrFn}'; known: ${registeredLosses().join(', ')}. Register others with registerLoss().`);
  return entry.fn;
}

const builtIn: [string[], LossFunction][] = [
  [['mse', 'meanSquaredError'], (i, t) => mseLoss(i, t)],
  [['sumOfSquares', 'sse'], (i, t) => sumOfSquares(i, t)],
  [['l1', 'mae', 'meanAbsoluteError'], (i, t) => l1Loss(i, t)],
  [['huber'], (i, t) => huberLoss(i, t)],
  [['smoothL1'], (i, t) => smoothL1Loss(i, t)],
  [['binaryCrossEntropy', 'bce'], (i, t) => binaryCrossEntropy(i, t)],
  [['binaryCrossEntropyWithLogits', 'bceWithLogits'], (i, t) => binaryCrossEntropyWithLogits(i, t)],
  [['crossEntropy'], (i, t) => crossEntropy(i, t)],
  [['nll'], (i, t) => nllLoss(i, t)],
  // The KL divergence per sample, as the math defines it (PyTorch's default 'mean' divides by every element).
  [['klDiv'], (i, t) => klDiv(i, t, { reduction: 'batchmean' })],
  [['hingeEmbedding'], (i, t) => hingeEmbeddingLoss(i, t)],
  [['multiMargin'], (i, t) => multiMarginLoss(i, t)],
  [['softMargin'], (i, t) => softMarginLoss(i, t)],
];
for (const [names, fn] of builtIn) for (const name of names) registerLoss(name, fn);
