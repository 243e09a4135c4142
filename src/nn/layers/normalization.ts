import type { FloatDType } from '../../core/dtype.js';
import { noGrad } from '../../core/engine.js';
import { fmtShape, ValueError } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import { hostStep } from '../../core/trace.js';
import { check } from '../../core/validate.js';
import { full, ones, zeros } from '../../ops/index.js';
import { overwrite } from '../../ops/primitives.js';
import { type LayerConfig, Module } from '../module.js';
import { LayerSchema, type OptionsOf, option, required } from '../options.js';
import { Parameter } from '../parameter.js';
import { floatInput, shapeMismatch, shapeOption } from './checks.js';

const batchNormOptions = {
  /** Added to the variance before the square root (default 1e-5). */
  eps: option.positive(1e-5),
  /**
   * Weight of the new batch statistic in the running averages, PyTorch's
   * convention: running = (1 - momentum)·running + momentum·batch (default
   * 0.1). null gives the cumulative average over all batches seen.
   */
  momentum: {
    default: 0.1 as number | null,
    parse: (who: string, name: string, v: unknown) =>
      v === null || (typeof v === 'number' && v >= 0 && v <= 1)
        ? (v as number | null)
        : check(who).fail(`${name} must be in [0, 1] or null (cumulative average), got ${String(v)}`),
  },
  /** Learn a per-channel scale (weight, init 1) and shift (bias, init 0); default true. */
  affine: option.boolean(true),
  /** Keep running mean and variance for eval mode (default true); without them eval uses batch statistics too. */
  trackRunningStats: option.boolean(true),
  /** Dtype of the parameters and statistics. */
  dtype: option.floatDType(),
};

/** BatchNorm1d's and BatchNorm2d's arguments (and a user subclass's, under its own class name), declared once. */
function batchNormSchema(className: string) {
  return new LayerSchema(className, { numFeatures: required(option.integer(1)) }, batchNormOptions);
}

export interface BatchNormOptions extends OptionsOf<typeof batchNormOptions> {
  /** Name shown in errors and summaries. */
  name?: string;
}

/**
 * Batch normalization (Ioffe & Szegedy 2015) over the channel axis 1: each
 * channel is normalized by its mean and variance over every other axis,
 * y = (x - mean) / sqrt(var + eps) · weight + bias.
 *
 * - Training mode normalizes with the batch mean and the biased batch
 *   variance, and (when trackRunningStats) updates the buffers
 *   `running_mean` and `running_var` in place, the latter with the unbiased
 *   batch variance n/(n-1)·var, and counts `num_batches_tracked`.
 * - Eval mode normalizes with the running statistics and changes nothing.
 *
 * Buffer names are PyTorch's, so state dicts move between the two. The
 * forward pass is built from tensor operations, so autograd derives the
 * gradient through the batch statistics.
 */
export abstract class BatchNorm extends Module {
  /** Features (channels) normalised. */
  readonly numFeatures: number;
  /** Added to the variance for numerical stability. */
  readonly eps: number;
  /** Weight of each batch in the running statistics (null for a cumulative average). */
  readonly momentum: number | null;
  /** Whether the layer learns a per-feature scale and shift. */
  readonly affine: boolean;
  /** Whether running statistics are kept for evaluation. */
  readonly trackRunningStats: boolean;
  /** Dtype of the parameters and statistics. */
  readonly dtype: FloatDType;
  /** Learned scale (null without affine). */
  weight: Parameter | null;
  /** Learned shift (null without affine). */
  bias: Parameter | null;
  private readonly _runningMean: Tensor | null;
  private readonly _runningVar: Tensor | null;
  private readonly _numBatchesTracked: Tensor | null;

  /** Ranks of the inputs this layer accepts, and how to describe them in errors. */
  protected abstract readonly inputRanks: readonly number[];
  protected abstract describeInput(): string;

  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super();
    const o = batchNormSchema((this.constructor as typeof Module).className).parse([numFeatures], options);
    this.numFeatures = o.numFeatures;
    this.eps = o.eps;
    this.momentum = o.momentum;
    this.affine = o.affine;
    this.trackRunningStats = o.trackRunningStats;
    this.dtype = o.dtype;
    if (options.name !== undefined) this.withName(options.name);
    this.weight = this.affine ? new Parameter(ones([numFeatures], { dtype: this.dtype })) : null;
    this.bias = this.affine ? new Parameter(zeros([numFeatures], { dtype: this.dtype })) : null;
    if (this.trackRunningStats) {
      this._runningMean = zeros([numFeatures], { dtype: this.dtype });
      this._runningVar = ones([numFeatures], { dtype: this.dtype });
      this._numBatchesTracked = full([], 0, { dtype: 'int32' });
      this.registerBuffer('running_mean', this._runningMean);
      this.registerBuffer('running_var', this._runningVar);
      this.registerBuffer('num_batches_tracked', this._numBatchesTracked);
    } else {
      this._runningMean = this._runningVar = this._numBatchesTracked = null;
    }
  }

  /** Reset the running statistics to mean 0, variance 1 and no batches seen. */
  resetRunningStats(): void {
    if (!this._runningMean || !this._runningVar || !this._numBatchesTracked) return;
    this._runningMean.data.fill(0);
    this._runningVar.data.fill(1);
    this._numBatchesTracked.data.fill(0);
  }

  forward(x: Tensor): Tensor {
    const input = floatInput(this, x, this.dtype);
    if (!this.inputRanks.includes(input.ndim) || input.shape[1] !== this.numFeatures) {
      throw shapeMismatch(this, `input of shape ${this.describeInput()}`, input.shape);
    }
    // Every axis but the channel axis 1 is reduced; statistics broadcast back as [1, C, 1, ...].
    const axes = input.shape.map((_, i) => i).filter((i) => i !== 1);
    const statShape = input.shape.map((d, i) => (i === 1 ? d : 1));
    const useBatchStats = this.training || !this._runningMean;
    let normalized: Tensor;
    if (useBatchStats) {
      const count = input.size / this.numFeatures;
      if (this.training && count <= 1) {
        throw new ValueError(
          `${this.label}: training needs more than one value per channel to estimate a variance, got input of shape ${fmtShape(input.shape)}`,
        );
      }
      const mean = input.mean(axes, true);
      const centered = input.sub(mean);
      const variance = centered.square().mean(axes, true);
      normalized = centered.mul(variance.add(this.eps).rsqrt());
      if (this.training && this._runningMean && this._runningVar && this._numBatchesTracked) {
        this.updateRunningStats(mean, variance, count);
      }
    } else {
      // Eval mode folds the statistics and the affine map into one scale and one shift per channel
      // (computed on C values), so the input is touched twice instead of four times, as PyTorch's
      // inference kernel does: y = x·scale + shift, scale = w / sqrt(var + eps), shift = b − mean·scale.
      const rm = this._runningMean as Tensor;
      let scale = (this._runningVar as Tensor).add(this.eps).rsqrt();
      if (this.weight) scale = scale.mul(this.weight);
      let shift = rm.mul(scale).neg();
      if (this.bias) shift = shift.add(this.bias);
      return input.mul(scale.reshape(statShape)).add(shift.reshape(statShape));
    }
    if (this.weight && this.bias) normalized = normalized.mul(this.weight.reshape(statShape)).add(this.bias.reshape(statShape));
    return normalized;
  }

  private updateRunningStats(mean: Tensor, biasedVar: Tensor, count: number): void {
    const runningMean = this._runningMean as Tensor;
    const runningVar = this._runningVar as Tensor;
    const tracked = this._numBatchesTracked as Tensor;
    noGrad(() => {
      // A host step: a compiled training step counts batches in every replay too.
      hostStep('BatchNorm count', { writes: [tracked.data] }, () => {
        tracked.data[0] += 1;
      });
      const factor = this.momentum ?? 1 / tracked.data[0];
      const unbiased = biasedVar.mul(count / (count - 1));
      const newMean = runningMean.mul(1 - factor).add(mean.reshape([this.numFeatures]).mul(factor));
      const newVar = runningVar.mul(1 - factor).add(unbiased.reshape([this.numFeatures]).mul(factor));
      overwrite(runningMean, newMean);
      overwrite(runningVar, newVar);
    });
  }

  override getConfig(): LayerConfig {
    return batchNormSchema(this.className).config(this);
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, trackRunningStats=${this.trackRunningStats}`;
  }
}

/**
 * Batch normalization of [N, C] (features) or [N, C, L] (sequences or 1-D
 * signals) inputs; see {@link BatchNorm}. Default initialisation: weight 1,
 * bias 0, running mean 0, running variance 1.
 */
export class BatchNorm1d extends BatchNorm {
  static override readonly className = 'BatchNorm1d';
  protected readonly inputRanks = [2, 3];

  protected describeInput(): string {
    return `[N, ${this.numFeatures}] or [N, ${this.numFeatures}, L]`;
  }
}

/**
 * Batch normalization of [N, C, H, W] images, per channel; see
 * {@link BatchNorm}. Default initialisation: weight 1, bias 0, running mean 0,
 * running variance 1.
 */
export class BatchNorm2d extends BatchNorm {
  static override readonly className = 'BatchNorm2d';
  protected readonly inputRanks = [4];

  protected describeInput(): string {
    return `[N, ${this.numFeatures}, H, W]`;
  }
}

const layerNormSchema = new LayerSchema(
  'LayerNorm',
  {
    normalizedShape: {
      default: undefined as unknown as number[],
      parse: (who: string, name: string, v: unknown) => {
        const shape = shapeOption(who, name, typeof v === 'number' ? [v] : v);
        if (shape.length === 0 || shape.some((d) => d === 0)) check(who).fail(`${name} must be a non-empty list of positive sizes, got ${fmtShape(shape)}`);
        return shape;
      },
    },
  },
  {
    /** Added to the variance before the square root (default 1e-5). */
    eps: option.positive(1e-5),
    /** Learn an elementwise scale (weight, init 1) and shift (bias, init 0) of normalizedShape; default true. */
    elementwiseAffine: option.boolean(true),
    /** With elementwiseAffine, also learn the shift (default true). */
    bias: option.boolean(true),
    /** Dtype of the parameters and statistics. */
    dtype: option.floatDType(),
  },
);

export interface LayerNormOptions extends OptionsOf<typeof layerNormSchema.options> {
  /** Name shown in errors and summaries. */
  name?: string;
}

/**
 * Layer normalization (Ba et al. 2016): each sample is normalized over its
 * trailing `normalizedShape` axes by its own mean and biased variance,
 * y = (x - mean) / sqrt(var + eps) · weight + bias. Unlike BatchNorm it
 * behaves the same in training and eval mode and keeps no running
 * statistics. Default initialisation: weight 1, bias 0.
 */
export class LayerNorm extends Module {
  static override readonly className = 'LayerNorm';
  /** The trailing shape normalised over. */
  readonly normalizedShape: readonly number[];
  /** Added to the variance for numerical stability. */
  readonly eps: number;
  /** Whether the layer learns a per-element scale and shift. */
  readonly elementwiseAffine: boolean;
  /** Dtype of the parameters and statistics. */
  readonly dtype: FloatDType;
  /** Learned scale (null without affine). */
  weight: Parameter | null;
  /** Learned shift (null without affine). */
  bias: Parameter | null;

  constructor(normalizedShape: number | readonly number[], options: LayerNormOptions = {}) {
    super();
    const o = layerNormSchema.parse([normalizedShape], options);
    this.normalizedShape = Object.freeze(o.normalizedShape);
    this.eps = o.eps;
    this.elementwiseAffine = o.elementwiseAffine;
    const hasBias = o.bias;
    this.dtype = o.dtype;
    if (options.name !== undefined) this.withName(options.name);
    this.weight = this.elementwiseAffine ? new Parameter(ones(this.normalizedShape, { dtype: this.dtype })) : null;
    this.bias = this.elementwiseAffine && hasBias ? new Parameter(zeros(this.normalizedShape, { dtype: this.dtype })) : null;
  }

  forward(x: Tensor): Tensor {
    const input = floatInput(this, x, this.dtype);
    const k = this.normalizedShape.length;
    const trailing = input.shape.slice(input.ndim - k);
    if (input.ndim < k || trailing.some((d, i) => d !== this.normalizedShape[i])) {
      throw shapeMismatch(this, `input ending in ${fmtShape(this.normalizedShape)}`, input.shape);
    }
    const axes = Array.from({ length: k }, (_, i) => input.ndim - k + i);
    const centered = input.sub(input.mean(axes, true));
    const variance = centered.square().mean(axes, true);
    let y = centered.mul(variance.add(this.eps).rsqrt());
    if (this.weight) y = y.mul(this.weight);
    if (this.bias) y = y.add(this.bias);
    return y;
  }

  override getConfig(): LayerConfig {
    return layerNormSchema.config(this, { normalizedShape: [...this.normalizedShape], bias: this.bias !== null });
  }

  override extraRepr(): string {
    return `${fmtShape(this.normalizedShape)}, eps=${this.eps}, elementwiseAffine=${this.elementwiseAffine}`;
  }
}

batchNormSchema('BatchNorm1d').register((numFeatures, options) => new BatchNorm1d(numFeatures as number, options as BatchNormOptions));
batchNormSchema('BatchNorm2d').register((numFeatures, options) => new BatchNorm2d(numFeatures as number, options as BatchNormOptions));
layerNormSchema.register((shape, options) => new LayerNorm(shape as number[], options as LayerNormOptions));
