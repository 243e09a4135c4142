// Activation layers: thin Modules over the functions in ops/activations.ts, with
// string class names and configs for architecture files. Hagan's (MATLAB's)
// names are exported as aliases of the same classes, so that a saved file
// records one name per function.
import type { FloatDType } from '../../core/dtype.js';
import { ValueError } from '../../core/errors.js';
import type { Generator } from '../../core/random.js';
import type { Tensor } from '../../core/tensor.js';
import { check } from '../../core/validate.js';
import {
  compet,
  elu,
  type GeluApproximate,
  gelu,
  hardlim,
  hardlims,
  hardsigmoid,
  hardswish,
  hardtanh,
  leakyRelu,
  logSigmoid,
  logSoftmax,
  maxout,
  mish,
  prelu,
  rbf,
  relu6,
  selu,
  silu,
  softmax,
  softplus,
  softsign,
  tanhshrink,
} from '../../ops/activations.js';
import { full, normal } from '../../ops/creation.js';
import { abs, relu, sigmoid, tanh } from '../../ops/index.js';
import { type LayerConfig, Module } from '../module.js';
import { Parameter } from '../parameter.js';
import { registerLayer } from '../registry.js';
import { expectTensor, floatInput, shapeMismatch } from './checks.js';
import { Identity } from './reshape.js';

export interface ActivationOptions {
  /** Name shown in errors and summaries. */
  name?: string;
}

/**
 * Base of the activation layers: forward(x) checks that x is a tensor and
 * applies the function; subclasses hold only their hyper-parameters.
 */
export abstract class Activation extends Module {
  constructor(options: ActivationOptions = {}) {
    super();
    if (options.name !== undefined) this.withName(options.name);
  }
  forward(x: Tensor): Tensor {
    return this.activate(expectTensor(this, x));
  }
  protected abstract activate(x: Tensor): Tensor;
}

/** max(x, 0) (Hagan's poslin). Gradient 0 at 0. */
export class ReLU extends Activation {
  static override readonly className: string = 'ReLU';
  protected activate(x: Tensor): Tensor {
    return relu(x);
  }
}

/** The logistic sigmoid 1/(1 + e^-x) (Hagan's logsig). */
export class Sigmoid extends Activation {
  static override readonly className: string = 'Sigmoid';
  protected activate(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

/** tanh (Hagan's tansig). */
export class Tanh extends Activation {
  static override readonly className: string = 'Tanh';
  protected activate(x: Tensor): Tensor {
    return tanh(x);
  }
}

/** |x|, absolute-value rectification. Its subgradient at 0 is 0. */
export class Abs extends Activation {
  static override readonly className: string = 'Abs';
  protected activate(x: Tensor): Tensor {
    return abs(x);
  }
}

/** Hard limit (Hagan's hardlim): 1 for x >= 0, else 0. Zero gradient. */
export class Hardlim extends Activation {
  static override readonly className: string = 'Hardlim';
  protected activate(x: Tensor): Tensor {
    return hardlim(x);
  }
}

/** Symmetric hard limit (Hagan's hardlims): +1 for x >= 0, else -1. Zero gradient. */
export class Hardlims extends Activation {
  static override readonly className: string = 'Hardlims';
  protected activate(x: Tensor): Tensor {
    return hardlims(x);
  }
}

export interface HardtanhOptions extends ActivationOptions {
  /** Default -1. */
  minVal?: number;
  /** Default 1. */
  maxVal?: number;
}

/** Clamp to [minVal, maxVal] (Hagan's satlins with the default [-1, 1]). Gradient 0 at the bounds. */
export class Hardtanh extends Activation {
  static override readonly className: string = 'Hardtanh';
  readonly minVal: number;
  readonly maxVal: number;
  constructor(options: HardtanhOptions = {}) {
    super(options);
    this.minVal = check('Hardtanh').finite('minVal', options.minVal ?? -1);
    this.maxVal = check('Hardtanh').finite('maxVal', options.maxVal ?? 1);
    if (!(this.maxVal > this.minVal)) throw new ValueError(`Hardtanh: maxVal must be greater than minVal, got minVal ${this.minVal} and maxVal ${this.maxVal}`);
  }
  protected activate(x: Tensor): Tensor {
    return hardtanh(x, this.minVal, this.maxVal);
  }
  override getConfig(): LayerConfig {
    return { minVal: this.minVal, maxVal: this.maxVal };
  }
}

/** Saturating linear (Hagan's satlin): clamp to [0, 1]. Gradient 0 at the bounds. */
export class Satlin extends Activation {
  static override readonly className: string = 'Satlin';
  protected activate(x: Tensor): Tensor {
    return hardtanh(x, 0, 1);
  }
}

/** min(max(x, 0), 6). */
export class ReLU6 extends Activation {
  static override readonly className: string = 'ReLU6';
  protected activate(x: Tensor): Tensor {
    return relu6(x);
  }
}

export interface LeakyReLUOptions extends ActivationOptions {
  /** Slope for x <= 0 (default 0.01). */
  negativeSlope?: number;
}

/** x for x > 0, negativeSlope·x otherwise. */
export class LeakyReLU extends Activation {
  static override readonly className: string = 'LeakyReLU';
  readonly negativeSlope: number;
  constructor(options: LeakyReLUOptions = {}) {
    super(options);
    this.negativeSlope = check('LeakyReLU').finite('negativeSlope', options.negativeSlope ?? 0.01);
  }
  protected activate(x: Tensor): Tensor {
    return leakyRelu(x, this.negativeSlope);
  }
  override getConfig(): LayerConfig {
    return { negativeSlope: this.negativeSlope };
  }
}

export interface PReLUOptions extends ActivationOptions {
  /** 1 (one slope shared by all channels, the default) or the number of channels on axis 1. */
  numParameters?: number;
  /** Initial slope (default 0.25). */
  init?: number;
  /** Default 'float32'. */
  dtype?: FloatDType;
}

/**
 * Parametric ReLU with learnable slopes, PyTorch's layout: `weight`
 * [numParameters], one slope per channel of axis 1, or one for all.
 */
export class PReLU extends Activation {
  static override readonly className: string = 'PReLU';
  readonly numParameters: number;
  readonly init: number;
  readonly dtype: FloatDType;
  readonly weight: Parameter;
  constructor(options: PReLUOptions = {}) {
    super(options);
    this.numParameters = check('PReLU').integer('numParameters', options.numParameters ?? 1);
    this.init = check('PReLU').finite('init', options.init ?? 0.25);
    this.dtype = check('PReLU').floatDType('dtype', options.dtype ?? 'float32');
    this.weight = new Parameter(full([this.numParameters], this.init, { dtype: this.dtype }));
  }
  protected activate(x: Tensor): Tensor {
    const input = floatInput(this, x, this.dtype);
    if (this.numParameters > 1 && (input.ndim < 2 || input.shape[1] !== this.numParameters)) {
      throw shapeMismatch(this, `input with ${this.numParameters} channels on axis 1`, input.shape);
    }
    return prelu(input, this.weight);
  }
  override getConfig(): LayerConfig {
    return { numParameters: this.numParameters, init: this.init, dtype: this.dtype };
  }
}

export interface AxisOptions extends ActivationOptions {
  /** Default -1 (the last axis). */
  axis?: number;
}

/** Softmax along `axis` (default the last). */
export class Softmax extends Activation {
  static override readonly className: string = 'Softmax';
  readonly axis: number;
  constructor(options: AxisOptions = {}) {
    super(options);
    this.axis = check('Softmax').anyInteger('axis', options.axis ?? -1);
  }
  protected activate(x: Tensor): Tensor {
    return softmax(x, this.axis);
  }
  override getConfig(): LayerConfig {
    return { axis: this.axis };
  }
}

/** Log-softmax along `axis` (default the last). */
export class LogSoftmax extends Activation {
  static override readonly className: string = 'LogSoftmax';
  readonly axis: number;
  constructor(options: AxisOptions = {}) {
    super(options);
    this.axis = check('LogSoftmax').anyInteger('axis', options.axis ?? -1);
  }
  protected activate(x: Tensor): Tensor {
    return logSoftmax(x, this.axis);
  }
  override getConfig(): LayerConfig {
    return { axis: this.axis };
  }
}

/** Competitive layer output (Hagan's compet): one-hot of the maximum along `axis` (default the last). Zero gradient. */
export class Compet extends Activation {
  static override readonly className: string = 'Compet';
  readonly axis: number;
  constructor(options: AxisOptions = {}) {
    super(options);
    this.axis = check('Compet').anyInteger('axis', options.axis ?? -1);
  }
  protected activate(x: Tensor): Tensor {
    return compet(x, this.axis);
  }
  override getConfig(): LayerConfig {
    return { axis: this.axis };
  }
}

export interface SoftplusOptions extends ActivationOptions {
  /** Default 1. */
  beta?: number;
  /** Above beta·x > threshold the output is x (default 20). */
  threshold?: number;
}

/** log(1 + exp(beta·x)) / beta, linear above the threshold. */
export class Softplus extends Activation {
  static override readonly className: string = 'Softplus';
  readonly beta: number;
  readonly threshold: number;
  constructor(options: SoftplusOptions = {}) {
    super(options);
    this.beta = check('Softplus').finite('beta', options.beta ?? 1);
    if (this.beta <= 0) throw new ValueError(`Softplus: beta must be positive, got ${this.beta}`);
    this.threshold = check('Softplus').finite('threshold', options.threshold ?? 20);
  }
  protected activate(x: Tensor): Tensor {
    return softplus(x, this.beta, this.threshold);
  }
  override getConfig(): LayerConfig {
    return { beta: this.beta, threshold: this.threshold };
  }
}

/** x / (1 + |x|). */
export class Softsign extends Activation {
  static override readonly className: string = 'Softsign';
  protected activate(x: Tensor): Tensor {
    return softsign(x);
  }
}

export interface ELUOptions extends ActivationOptions {
  /** Default 1. */
  alpha?: number;
}

/** x for x > 0, alpha·(exp(x) - 1) otherwise. */
export class ELU extends Activation {
  static override readonly className: string = 'ELU';
  readonly alpha: number;
  constructor(options: ELUOptions = {}) {
    super(options);
    this.alpha = check('ELU').finite('alpha', options.alpha ?? 1);
  }
  protected activate(x: Tensor): Tensor {
    return elu(x, this.alpha);
  }
  override getConfig(): LayerConfig {
    return { alpha: this.alpha };
  }
}

/** Scaled ELU with PyTorch's constants. */
export class SELU extends Activation {
  static override readonly className: string = 'SELU';
  protected activate(x: Tensor): Tensor {
    return selu(x);
  }
}

export interface GELUOptions extends ActivationOptions {
  /** 'none' (exact, erf; the default) or 'tanh'. */
  approximate?: GeluApproximate;
}

/** x·Φ(x), exact or with the tanh approximation. */
export class GELU extends Activation {
  static override readonly className: string = 'GELU';
  readonly approximate: GeluApproximate;
  constructor(options: GELUOptions = {}) {
    super(options);
    const approximate = options.approximate ?? 'none';
    if (approximate !== 'none' && approximate !== 'tanh')
      throw new ValueError(`GELU: approximate must be 'none' or 'tanh', got ${JSON.stringify(approximate)}`);
    this.approximate = approximate;
  }
  protected activate(x: Tensor): Tensor {
    return gelu(x, this.approximate);
  }
  override getConfig(): LayerConfig {
    return { approximate: this.approximate };
  }
}

/** x·σ(x), also called swish. */
export class SiLU extends Activation {
  static override readonly className: string = 'SiLU';
  protected activate(x: Tensor): Tensor {
    return silu(x);
  }
}

/** x·tanh(softplus(x)). */
export class Mish extends Activation {
  static override readonly className: string = 'Mish';
  protected activate(x: Tensor): Tensor {
    return mish(x);
  }
}

/** relu6(x + 3) / 6. */
export class Hardsigmoid extends Activation {
  static override readonly className: string = 'Hardsigmoid';
  protected activate(x: Tensor): Tensor {
    return hardsigmoid(x);
  }
}

/** x·relu6(x + 3) / 6. */
export class Hardswish extends Activation {
  static override readonly className: string = 'Hardswish';
  protected activate(x: Tensor): Tensor {
    return hardswish(x);
  }
}

/** log σ(x), stable for any finite x. */
export class LogSigmoid extends Activation {
  static override readonly className: string = 'LogSigmoid';
  protected activate(x: Tensor): Tensor {
    return logSigmoid(x);
  }
}

/** x - tanh(x). */
export class Tanhshrink extends Activation {
  static override readonly className: string = 'Tanhshrink';
  protected activate(x: Tensor): Tensor {
    return tanhshrink(x);
  }
}

export interface MaxoutOptions extends ActivationOptions {
  /** The feature axis split into groups (default 1, PyTorch's feature/channel axis). */
  axis?: number;
}

/**
 * Maxout units: the features along `axis` are split into consecutive groups
 * of `groupSize` and each group gives its maximum, so the axis shrinks by
 * that factor ([N, 12] with groupSize 3 gives [N, 4]). Put it after a Linear
 * layer with groupSize times more outputs than the maxout units wanted.
 */
export class Maxout extends Activation {
  static override readonly className: string = 'Maxout';
  readonly groupSize: number;
  readonly axis: number;
  constructor(groupSize: number, options: MaxoutOptions = {}) {
    super(options);
    this.groupSize = check('Maxout').integer('groupSize', groupSize);
    this.axis = check('Maxout').anyInteger('axis', options.axis ?? 1);
  }
  protected activate(x: Tensor): Tensor {
    const ax = this.axis < 0 ? this.axis + x.ndim : this.axis;
    if (ax < 0 || ax >= x.ndim || x.shape[ax] % this.groupSize !== 0) {
      throw shapeMismatch(this, `input whose axis ${this.axis} splits into groups of ${this.groupSize}`, x.shape);
    }
    return maxout(x, this.groupSize, this.axis);
  }
  override getConfig(): LayerConfig {
    return { groupSize: this.groupSize, axis: this.axis };
  }
}

export interface RBFOptions {
  /** Name shown in errors and summaries. */
  name?: string;
  /** Default 'float32'. */
  dtype?: FloatDType;
  /** Random source for the initial centres (default: the global generator). */
  generator?: Generator;
}

/**
 * Radial basis function units as defined in Bishop's notes:
 * z_j = Σ_i (x_i - w_ji)², the squared Euclidean distance from the input to
 * the centre w_j. `weight` is [outFeatures, inFeatures] (one centre per row,
 * Linear's layout) and input [..., inFeatures] gives [..., outFeatures]. The
 * centres start as draws from N(0, 1), which suits standardized inputs;
 * placing them on data (a random subset of training inputs, or k-means
 * centres) with `weight.assign()` trains faster. For Gaussian units follow
 * with exp(-gamma·z).
 */
export class RBF extends Module {
  static override readonly className: string = 'RBF';
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly dtype: FloatDType;
  readonly weight: Parameter;
  constructor(inFeatures: number, outFeatures: number, options: RBFOptions = {}) {
    super();
    this.inFeatures = check('RBF').integer('inFeatures', inFeatures);
    this.outFeatures = check('RBF').integer('outFeatures', outFeatures);
    this.dtype = check('RBF').floatDType('dtype', options.dtype ?? 'float32');
    if (options.name !== undefined) this.withName(options.name);
    this.weight = new Parameter(normal([this.outFeatures, this.inFeatures], 0, 1, { dtype: this.dtype, generator: options.generator }));
  }
  forward(x: Tensor): Tensor {
    const input = floatInput(this, x, this.dtype);
    if (input.ndim === 0 || input.shape[input.ndim - 1] !== this.inFeatures) {
      throw shapeMismatch(this, `input with last dimension ${this.inFeatures}`, input.shape);
    }
    return rbf(input, this.weight);
  }
  override getConfig(): LayerConfig {
    return { inFeatures: this.inFeatures, outFeatures: this.outFeatures, dtype: this.dtype };
  }
}

// Hagan's (MATLAB's) names for the same layers.
export { Hardtanh as Satlins, Identity as Purelin, ReLU as Poslin, Sigmoid as Logsig, SiLU as Swish, Tanh as Tansig };

registerLayer(ReLU.className, () => new ReLU());
registerLayer(Sigmoid.className, () => new Sigmoid());
registerLayer(Tanh.className, () => new Tanh());
registerLayer(Abs.className, () => new Abs());
registerLayer(Hardlim.className, () => new Hardlim());
registerLayer(Hardlims.className, () => new Hardlims());
registerLayer(Hardtanh.className, (c) => new Hardtanh(c as HardtanhOptions));
registerLayer(Satlin.className, () => new Satlin());
registerLayer(ReLU6.className, () => new ReLU6());
registerLayer(LeakyReLU.className, (c) => new LeakyReLU(c as LeakyReLUOptions));
registerLayer(PReLU.className, (c) => new PReLU(c as PReLUOptions));
registerLayer(Softmax.className, (c) => new Softmax(c as AxisOptions));
registerLayer(LogSoftmax.className, (c) => new LogSoftmax(c as AxisOptions));
registerLayer(Compet.className, (c) => new Compet(c as AxisOptions));
registerLayer(Softplus.className, (c) => new Softplus(c as SoftplusOptions));
registerLayer(Softsign.className, () => new Softsign());
registerLayer(ELU.className, (c) => new ELU(c as ELUOptions));
registerLayer(SELU.className, () => new SELU());
registerLayer(GELU.className, (c) => new GELU(c as GELUOptions));
registerLayer(SiLU.className, () => new SiLU());
registerLayer(Mish.className, () => new Mish());
registerLayer(Hardsigmoid.className, () => new Hardsigmoid());
registerLayer(Hardswish.className, () => new Hardswish());
registerLayer(LogSigmoid.className, () => new LogSigmoid());
registerLayer(Tanhshrink.className, () => new Tanhshrink());
registerLayer(Maxout.className, (c) => new Maxout(c.groupSize as number, c as MaxoutOptions));
registerLayer(RBF.className, (c) => new RBF(c.inFeatures as number, c.outFeatures as number, c as RBFOptions));
