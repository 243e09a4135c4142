// Loss modules (PyTorch's nn.*Loss classes) over nn.functional's loss
// functions, and the registry that turns a name such as 'crossEntropy' into a
// loss function for the training loop.
import { ValueError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { check, show } from '../core/validate.js';
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
import { type OptionSchema, type OptionSpec, type OptionsOf, type OptionValues, option, optionsConfig, parseOptions } from './options.js';

export type { Reduction } from './functional/losses.js';

/** A loss as the training loop calls it: (prediction, target) → a scalar tensor. */
export type LossFunction = (input: Tensor, target: Tensor) => Tensor;

/**
 * Base of the loss modules: a reduction ('mean' by default) fixed at
 * construction. Hyper-parameters are checked when the loss is built, with
 * messages naming the class.
 */
export abstract class Loss<R extends string = Reduction> extends Module {
  /** The class name saved in architecture files. */
  static override readonly className: string = 'Loss';
  /** How per-element losses are combined: 'mean', 'sum' or 'none'. */
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

/** Options of the losses that take only a reduction. */
export interface ReductionOptions {
  /** How per-element losses are combined: 'mean', 'sum' or 'none'. */
  reduction?: Reduction;
}

/** A loss class made from a table entry: its options are the schema's, as readonly fields. */
export interface LossClass<S extends OptionSchema, R extends string = Reduction> {
  new (options?: OptionsOf<S> & { reduction?: R }): Loss<R> & OptionValues<S>;
  /** The class name saved in architecture files. */
  readonly className: string;
}

interface LossEntry<S extends OptionSchema, R extends string> {
  /** The reduction when none is given (default 'mean'). */
  readonly defaultReduction?: R;
  /** The reductions accepted (default 'mean', 'sum', 'none'). */
  readonly reductions?: readonly R[];
  readonly options?: S;
}

/**
 * One entry of the loss table: the string class name, the functional form
 * (given the checked options and the reduction) and the options, declared once.
 */
function lossClass<S extends OptionSchema = Record<never, never>, R extends string = Reduction>(
  /** The class name saved in architecture files. */
  className: string,
  fn: (input: Tensor, target: Tensor, options: OptionValues<S> & { readonly reduction: R }, ...rest: Tensor[]) => Tensor,
  entry: LossEntry<S, R> = {},
): LossClass<S, R> {
  const schema = (entry.options ?? {}) as S;
  const cls = class extends Loss<R> {
    /** The class name saved in architecture files. */
    static override readonly className: string = className;
    constructor(options: OptionsOf<S> & { reduction?: R } = {}) {
      super(options.reduction ?? entry.defaultReduction ?? ('mean' as R), entry.reductions ?? REDUCTIONS);
      Object.assign(this, parseOptions(className, schema, options, ['reduction']));
    }
    forward(input: Tensor, target: Tensor, ...rest: Tensor[]): Tensor {
      return fn(input, target, this as unknown as OptionValues<S> & { reduction: R }, ...rest);
    }
    override getConfig(): LayerConfig {
      return { reduction: this.reduction, ...optionsConfig(schema, this as unknown as OptionValues<S>) };
    }
  };
  return cls as unknown as LossClass<S, R>;
}

/** A finite number passing `ok`, else `${name} must be ${what}, got v` (the wording these losses have always used). */
function finiteWhere(fallback: number, ok: (v: number) => boolean, what: string): OptionSpec<number> {
  return {
    default: fallback,
    parse: (who, name, v) => {
      const n = check(who).finite(name, v);
      if (!ok(n)) check(who).fail(`${name} must be ${what}, got ${n}`);
      return n;
    },
  };
}

const classWeight = {
  /** Per-class (or per-element) rescaling weights (default null: all 1). */
  weight: option.tensorOrNull(),
};
const ignoreIndex = {
  /** A target class index that contributes neither loss nor gradient (default -100). */
  ignoreIndex: option.anyInteger(-100),
};

/** Mean squared error (PyTorch's MSELoss). */
export const MSELoss = lossClass('MSELoss', (i, t, o) => mseLoss(i, t, o));
/** ½·Σ(y - t)², the notes' sum-of-squares error; reduction 'sum' by default (see sumOfSquares). */
export const SumOfSquaresLoss = lossClass('SumOfSquaresLoss', (i, t, o) => sumOfSquares(i, t, o), { defaultReduction: 'sum' });
/** Mean absolute error (PyTorch's L1Loss). */
export const L1Loss = lossClass('L1Loss', (i, t, o) => l1Loss(i, t, o));
/** PyTorch's SmoothL1Loss (quadratic below beta, default 1). */
export const SmoothL1Loss = lossClass('SmoothL1Loss', (i, t, o) => smoothL1Loss(i, t, o), {
  options: {
    /** Where the loss turns from quadratic to linear (default 1). */
    beta: finiteWhere(1, (v) => v >= 0, 'non-negative'),
  },
});
/** PyTorch's HuberLoss (quadratic below delta, default 1). */
export const HuberLoss = lossClass('HuberLoss', (i, t, o) => huberLoss(i, t, o), {
  options: {
    /** Where the loss turns from quadratic to linear (default 1). */
    delta: finiteWhere(1, (v) => v > 0, 'positive'),
  },
});
/** Binary cross-entropy on probabilities (PyTorch's BCELoss), with an optional element weight. */
export const BCELoss = lossClass('BCELoss', (i, t, o) => binaryCrossEntropy(i, t, o), { options: classWeight });
/** Binary cross-entropy on logits (PyTorch's BCEWithLogitsLoss), stable for any logit. */
export const BCEWithLogitsLoss = lossClass('BCEWithLogitsLoss', (i, t, o) => binaryCrossEntropyWithLogits(i, t, o), {
  options: {
    ...classWeight,
    /** Weight of the positive examples, per class (default null: 1). */
    posWeight: option.tensorOrNull(),
  },
});
/** Cross-entropy of logits against class indices or probabilities (PyTorch's CrossEntropyLoss). */
export const CrossEntropyLoss = lossClass('CrossEntropyLoss', (i, t, o) => crossEntropy(i, t, o), {
  options: {
    ...classWeight,
    ...ignoreIndex,
    /** Mix this much of the uniform distribution into the targets (default 0). */
    labelSmoothing: finiteWhere(0, (v) => v >= 0 && v <= 1, 'in [0, 1]'),
  },
});
/** Negative log-likelihood of class indices given log-probabilities (PyTorch's NLLLoss). */
export const NLLLoss = lossClass('NLLLoss', (i, t, o) => nllLoss(i, t, o), { options: { ...classWeight, ...ignoreIndex } });
/**
 * KL divergence for log-probability inputs (PyTorch's KLDivLoss). The
 * reduction may also be 'batchmean', the KL divergence per sample.
 */
export const KLDivLoss = lossClass<
  {
    /** The target is given as log-probabilities (default false). */
    logTarget: OptionSpec<boolean>;
  },
  Reduction | 'batchmean'
>('KLDivLoss', (i, t, o) => klDiv(i, t, o), {
  reductions: [...REDUCTIONS, 'batchmean'],
  options: {
    /** The target is given as log-probabilities (default false). */
    logTarget: option.boolean(false),
  },
});
/** Multi-class hinge loss (PyTorch's MultiMarginLoss). */
export const MultiMarginLoss = lossClass('MultiMarginLoss', (i, t, o) => multiMarginLoss(i, t, o), {
  options: {
    /** The power of each hinge term: 1 (default) or 2. */
    p: {
      default: 1,
      parse: (who: string, name: string, v: unknown) => (v === 1 || v === 2 ? v : check(who).fail(`${name} must be 1 or 2, got ${show(v)}`)),
    } as OptionSpec<1 | 2>,
    /** The margin each wrong class must be beaten by (default 1). */
    margin: option.finite(1),
    ...classWeight,
  },
});
/** PyTorch's HingeEmbeddingLoss for targets ±1. */
export const HingeEmbeddingLoss = lossClass('HingeEmbeddingLoss', (i, t, o) => hingeEmbeddingLoss(i, t, o), {
  options: {
    /** The margin for targets of -1 (default 1). */
    margin: option.finite(1),
  },
});
/** Logistic loss for targets ±1 (PyTorch's SoftMarginLoss). */
export const SoftMarginLoss = lossClass('SoftMarginLoss', (i, t, o) => softMarginLoss(i, t, o));
/** Gaussian negative log-likelihood with predicted variances: forward(input, target, var). */
export const GaussianNLLLoss = lossClass('GaussianNLLLoss', (i, t, o, variance) => gaussianNllLoss(i, t, variance, o), {
  options: {
    /** Include the constant ½·log(2π) term (default false). */
    full: option.boolean(false),
    /** Variances are clamped to at least eps (default 1e-6). */
    eps: finiteWhere(1e-6, (v) => v > 0, 'positive'),
  },
});

// Each table entry is a class value; these aliases make its name a type too (`const l: nn.MSELoss`).
export type MSELoss = InstanceType<typeof MSELoss>;
export type SumOfSquaresLoss = InstanceType<typeof SumOfSquaresLoss>;
export type L1Loss = InstanceType<typeof L1Loss>;
export type SmoothL1Loss = InstanceType<typeof SmoothL1Loss>;
export type HuberLoss = InstanceType<typeof HuberLoss>;
export type BCELoss = InstanceType<typeof BCELoss>;
export type BCEWithLogitsLoss = InstanceType<typeof BCEWithLogitsLoss>;
export type CrossEntropyLoss = InstanceType<typeof CrossEntropyLoss>;
export type NLLLoss = InstanceType<typeof NLLLoss>;
export type KLDivLoss = InstanceType<typeof KLDivLoss>;
export type MultiMarginLoss = InstanceType<typeof MultiMarginLoss>;
export type HingeEmbeddingLoss = InstanceType<typeof HingeEmbeddingLoss>;
export type SoftMarginLoss = InstanceType<typeof SoftMarginLoss>;
export type GaussianNLLLoss = InstanceType<typeof GaussianNLLLoss>;

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
export function getLoss(nameOrFn: LossName | LossFunction | Loss<string>): LossFunction {
  if (nameOrFn instanceof Loss) return (input, target) => nameOrFn.forward(input, target);
  if (typeof nameOrFn === 'function') return nameOrFn;
  if (typeof nameOrFn !== 'string')
    throw new ValueError(`getLoss: expected a loss name, a function or a Loss module, got ${nameOrFn === null ? 'null' : typeof nameOrFn}`);
  const entry = registry.get(normalizeName(nameOrFn));
  if (!entry) throw new ValueError(`getLoss: unknown loss '${nameOrFn}'; known: ${registeredLosses().join(', ')}. Register others with registerLoss().`);
  return entry.fn;
}

/** The names of the built-in losses (getLoss also accepts other spellings: case, '_' and '-' are ignored). */
export type BuiltinLossName =
  | 'mse'
  | 'meanSquaredError'
  | 'sumOfSquares'
  | 'sse'
  | 'l1'
  | 'mae'
  | 'meanAbsoluteError'
  | 'huber'
  | 'smoothL1'
  | 'binaryCrossEntropy'
  | 'bce'
  | 'binaryCrossEntropyWithLogits'
  | 'bceWithLogits'
  | 'crossEntropy'
  | 'nll'
  | 'klDiv'
  | 'hingeEmbedding'
  | 'multiMargin'
  | 'softMargin';

/**
 * Names of losses added with registerLoss, for the type checker: declare
 * them by augmenting this interface, and fit accepts them as names.
 *
 * @example
 * nn.registerLoss('focal', focalLoss);
 * declare module 'neurite' { interface CustomLossNames { focal: true } }
 * await fit(model, data, { loss: 'focal', optimizer });
 */
// biome-ignore lint/suspicious/noEmptyInterface: users augment it with their loss names
export interface CustomLossNames {}

/** A loss name fit, evaluate and getLoss accept: a built-in one or one declared in CustomLossNames. */
export type LossName = BuiltinLossName | (keyof CustomLossNames & string);

const builtIn: [BuiltinLossName[], LossFunction][] = [
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
