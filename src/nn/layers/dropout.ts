import type { Generator } from '../../core/random.js';
import type { Tensor } from '../../core/tensor.js';
import { bernoulli, dropout, zerosLike } from '../../ops/index.js';
import { type LayerConfig, Module } from '../module.js';
import { LayerSchema, option } from '../options.js';
import { anyFloatInput } from './checks.js';

/** Dropout's and AlphaDropout's argument: p, the probability of dropping a unit (default 0.5). */
const dropoutSchema = new LayerSchema('Dropout', { p: option.probability(0.5) }, {}, ['name', 'generator']);
const alphaDropoutSchema = new LayerSchema('AlphaDropout', { p: option.probability(0.5) }, {}, ['name', 'generator']);

/** Options of the dropout layers. */
export interface DropoutOptions {
  /** Name shown in errors and summaries. */
  name?: string;
  /** Draw the masks from this generator instead of the default one. */
  generator?: Generator;
}

/**
 * Dropout (Srivastava et al. 2014): in training mode each unit is zeroed with
 * probability p and the survivors are scaled by 1/(1-p) ("inverted" dropout),
 * so the expected activation is unchanged and evaluation needs no rescaling;
 * in eval mode it is the identity. p = 1 drops everything (zeros). Masks come
 * from the default Generator, so `seed(n)` reproduces them. No parameters.
 */
export class Dropout extends Module {
  static override readonly className = 'Dropout';
  /** Probability of zeroing each element (or channel) in training. */
  readonly p: number;
  private readonly _generator?: Generator;

  constructor(p = 0.5, options: DropoutOptions = {}) {
    super();
    this.p = dropoutSchema.parse([p], options).p;
    this._generator = options.generator;
    if (options.name !== undefined) this.withName(options.name);
  }

  forward(x: Tensor): Tensor {
    const input = anyFloatInput(this, x);
    if (!this.training) return input;
    return dropout(input, this.p, { generator: this._generator });
  }

  override getConfig(): LayerConfig {
    return dropoutSchema.config(this);
  }
}

// SELU's fixed point constants (Klambauer et al. 2017): the value a dropped unit
// takes is SELU's negative saturation, -lambda·alpha.
const SELU_SATURATION = 1.0507009873554805 * 1.6732632423543772;

/**
 * Dropout for self-normalising (SELU) networks (Klambauer et al. 2017): a
 * dropped unit is set to SELU's negative saturation value instead of 0, and
 * an affine correction a·x + b keeps zero mean and unit variance for inputs
 * with zero mean and unit variance. Same formula as PyTorch's AlphaDropout:
 * with α' = 1.7580993408473766 and a = ((1 - p)(1 + p·α'²))^(-1/2),
 * a kept unit gives a·x + α'·a·p and a dropped one gives -α'·a·(1 - p).
 * Identity in eval mode. No parameters.
 */
export class AlphaDropout extends Module {
  static override readonly className = 'AlphaDropout';
  /** Probability of zeroing each element (or channel) in training. */
  readonly p: number;
  private readonly _generator?: Generator;

  constructor(p = 0.5, options: DropoutOptions = {}) {
    super();
    this.p = alphaDropoutSchema.parse([p], options).p;
    this._generator = options.generator;
    if (options.name !== undefined) this.withName(options.name);
  }

  forward(x: Tensor): Tensor {
    const input = anyFloatInput(this, x);
    if (!this.training || this.p === 0) return input;
    if (this.p === 1) return input.mul(zerosLike(input));
    const p = this.p;
    const alpha = SELU_SATURATION;
    const a = 1 / Math.sqrt((alpha * alpha * p + 1) * (1 - p));
    const keep = bernoulli(input.shape, 1 - p, { dtype: input.dtype, generator: this._generator });
    // b = (keep - 1)·α'·a + α'·a·p: -α'·a·(1-p) where dropped, α'·a·p where kept.
    const shift = keep
      .sub(1)
      .mul(alpha * a)
      .add(alpha * a * p);
    return input.mul(keep.mul(a)).add(shift);
  }

  override getConfig(): LayerConfig {
    return alphaDropoutSchema.config(this);
  }
}

dropoutSchema.register((p, options) => new Dropout(p as number, options as DropoutOptions));
alphaDropoutSchema.register((p, options) => new AlphaDropout(p as number, options as DropoutOptions));
