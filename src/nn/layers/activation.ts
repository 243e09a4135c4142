// Activation layers: thin Modules over the functions in ops/activations.ts, with
// string class names and configs for architecture files. Hagan's (MATLAB's)
// names are exported as aliases of the same classes, so that a saved file
// records one name per function.
import type { FloatDType } from '../../core/dtype.js';
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
import { LayerSchema, type OptionSchema, type OptionsOf, type OptionValues, option, optionsConfig, parseOptions, required } from '../options.js';
import { Parameter } from '../parameter.js';
import { registerLayer } from '../registry.js';
import { expectTensor, floatInput, shapeMismatch } from './checks.js';
import { Identity } from './reshape.js';

/** Options every activation layer takes. */
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
  /** The activation itself, on a checked tensor input. */
  protected abstract activate(x: Tensor): Tensor;
}

/** An activation layer class made from a table entry: its options are the schema's, as readonly fields. */
export interface ActivationClass<S extends OptionSchema> {
  new (options?: OptionsOf<S> & ActivationOptions): Activation & OptionValues<S>;
  /** The class name saved in architecture files. */
  readonly className: string;
}

/**
 * One entry of the activation table: the string class name (saved in
 * architecture files), the function, and the options it takes, declared once.
 * The class it returns checks its options, keeps them as fields, reports them
 * in getConfig() and is registered for loading.
 */
function activation<S extends OptionSchema = Record<never, never>>(
  /** The class name saved in architecture files. */
  className: string,
  fn: (x: Tensor, options: OptionValues<S>) => Tensor,
  schema: S = {} as S,
  validate?: (options: OptionValues<S>, who: string) => void,
): ActivationClass<S> {
  const layer = class extends Activation {
    /** The class name saved in architecture files. */
    static override readonly className: string = className;
    constructor(options: OptionsOf<S> & ActivationOptions = {}) {
      super(options);
      const values = parseOptions(className, schema, options, ['name']);
      validate?.(values, className);
      Object.assign(this, values);
    }
    protected activate(x: Tensor): Tensor {
      return fn(x, this as unknown as OptionValues<S>);
    }
    override getConfig(): LayerConfig {
      return optionsConfig(schema, this as unknown as OptionValues<S>);
    }
  };
  registerLayer(className, (config) => new layer(config as OptionsOf<S>));
  return layer as unknown as ActivationClass<S>;
}

const axis = {
  /** The axis the values are normalised over (default -1, the last). */
  axis: option.axis(-1),
};

/** max(x, 0) (Hagan's poslin). Gradient 0 at 0. */
export const ReLU = activation('ReLU', (x) => relu(x));
/** The logistic sigmoid 1/(1 + e^-x) (Hagan's logsig). */
export const Sigmoid = activation('Sigmoid', (x) => sigmoid(x));
/** tanh (Hagan's tansig). */
export const Tanh = activation('Tanh', (x) => tanh(x));
/** |x|, absolute-value rectification. Its subgradient at 0 is 0. */
export const Abs = activation('Abs', (x) => abs(x));
/** Hard limit (Hagan's hardlim): 1 for x >= 0, else 0. Zero gradient. */
export const Hardlim = activation('Hardlim', (x) => hardlim(x));
/** Symmetric hard limit (Hagan's hardlims): +1 for x >= 0, else -1. Zero gradient. */
export const Hardlims = activation('Hardlims', (x) => hardlims(x));
/** Clamp to [minVal, maxVal] (Hagan's satlins with the default [-1, 1]). Gradient 0 at the bounds. */
export const Hardtanh = activation(
  'Hardtanh',
  (x, o) => hardtanh(x, o.minVal, o.maxVal),
  {
    /** Lower bound (default -1). */
    minVal: option.finite(-1),
    /** Upper bound (default 1). */
    maxVal: option.finite(1),
  },
  (o, who) => {
    if (!(o.maxVal > o.minVal)) check(who).fail(`maxVal must be greater than minVal, got minVal ${o.minVal} and maxVal ${o.maxVal}`);
  },
);
/** Saturating linear (Hagan's satlin): clamp to [0, 1]. Gradient 0 at the bounds. */
export const Satlin = activation('Satlin', (x) => hardtanh(x, 0, 1));
/** min(max(x, 0), 6). */
export const ReLU6 = activation('ReLU6', (x) => relu6(x));
/** x for x > 0, negativeSlope·x otherwise (negativeSlope default 0.01). */
export const LeakyReLU = activation('LeakyReLU', (x, o) => leakyRelu(x, o.negativeSlope), {
  /** Slope for negative inputs (default 0.01). */
  negativeSlope: option.finite(0.01),
});
/** Softmax along `axis` (default the last). */
export const Softmax = activation('Softmax', (x, o) => softmax(x, o.axis), axis);
/** Log-softmax along `axis` (default the last). */
export const LogSoftmax = activation('LogSoftmax', (x, o) => logSoftmax(x, o.axis), axis);
/** Competitive layer output (Hagan's compet): one-hot of the maximum along `axis` (default the last). Zero gradient. */
export const Compet = activation('Compet', (x, o) => compet(x, o.axis), axis);
/** log(1 + exp(beta·x)) / beta (beta default 1), linear where beta·x > threshold (default 20). */
export const Softplus = activation('Softplus', (x, o) => softplus(x, o.beta, o.threshold), {
  /** Sharpness (default 1); larger values approach ReLU. */
  beta: option.positive(1),
  /** Above beta·x = threshold the layer is linear, avoiding overflow (default 20). */
  threshold: option.finite(20),
});
/** x / (1 + |x|). */
export const Softsign = activation('Softsign', (x) => softsign(x));
/** x for x > 0, alpha·(exp(x) - 1) otherwise (alpha default 1). */
export const ELU = activation('ELU', (x, o) => elu(x, o.alpha), {
  /** Value approached for large negative inputs, negated (default 1). */
  alpha: option.finite(1),
});
/** Scaled ELU with PyTorch's constants. */
export const SELU = activation('SELU', (x) => selu(x));
/** x·Φ(x), exact (approximate 'none', the default, with erf) or with the tanh approximation ('tanh'). */
export const GELU = activation('GELU', (x, o) => gelu(x, o.approximate), {
  /** 'none' (exact, with erf; the default) or 'tanh' (the tanh approximation). */
  approximate: option.oneOf<GeluApproximate>(['none', 'tanh'], 'none'),
});
/** x·σ(x), also called swish. */
export const SiLU = activation('SiLU', (x) => silu(x));
/** x·tanh(softplus(x)). */
export const Mish = activation('Mish', (x) => mish(x));
/** relu6(x + 3) / 6. */
export const Hardsigmoid = activation('Hardsigmoid', (x) => hardsigmoid(x));
/** x·relu6(x + 3) / 6. */
export const Hardswish = activation('Hardswish', (x) => hardswish(x));
/** log σ(x), stable for any finite x. */
export const LogSigmoid = activation('LogSigmoid', (x) => logSigmoid(x));
/** x - tanh(x). */
export const Tanhshrink = activation('Tanhshrink', (x) => tanhshrink(x));

// Each table entry is a class value; these aliases make its name a type too (`const r: nn.ReLU`).
export type ReLU = InstanceType<typeof ReLU>;
export type Sigmoid = InstanceType<typeof Sigmoid>;
export type Tanh = InstanceType<typeof Tanh>;
export type Abs = InstanceType<typeof Abs>;
export type Hardlim = InstanceType<typeof Hardlim>;
export type Hardlims = InstanceType<typeof Hardlims>;
export type Hardtanh = InstanceType<typeof Hardtanh>;
export type Satlin = InstanceType<typeof Satlin>;
export type ReLU6 = InstanceType<typeof ReLU6>;
export type LeakyReLU = InstanceType<typeof LeakyReLU>;
export type Softmax = InstanceType<typeof Softmax>;
export type LogSoftmax = InstanceType<typeof LogSoftmax>;
export type Compet = InstanceType<typeof Compet>;
export type Softplus = InstanceType<typeof Softplus>;
export type Softsign = InstanceType<typeof Softsign>;
export type ELU = InstanceType<typeof ELU>;
export type SELU = InstanceType<typeof SELU>;
export type GELU = InstanceType<typeof GELU>;
export type SiLU = InstanceType<typeof SiLU>;
export type Mish = InstanceType<typeof Mish>;
export type Hardsigmoid = InstanceType<typeof Hardsigmoid>;
export type Hardswish = InstanceType<typeof Hardswish>;
export type LogSigmoid = InstanceType<typeof LogSigmoid>;
export type Tanhshrink = InstanceType<typeof Tanhshrink>;

/** The options each table entry's constructor takes. */
export type HardtanhOptions = ConstructorParameters<typeof Hardtanh>[0];
/** Options of LeakyReLU: negativeSlope (default 0.01). */
export type LeakyReLUOptions = ConstructorParameters<typeof LeakyReLU>[0];
/** Options of Softmax, LogSoftmax and Compet: the class axis (default -1). */
export type AxisOptions = ConstructorParameters<typeof Softmax>[0];
/** Options of Softplus: beta (default 1) and threshold (default 20). */
export type SoftplusOptions = ConstructorParameters<typeof Softplus>[0];
/** Options of ELU: alpha (default 1). */
export type ELUOptions = ConstructorParameters<typeof ELU>[0];
/** Options of GELU: approximate ('none' or 'tanh'). */
export type GELUOptions = ConstructorParameters<typeof GELU>[0];

const preluSchema = new LayerSchema(
  'PReLU',
  {},
  {
    /** 1 (one slope shared by all channels, the default) or the number of channels on axis 1. */
    numParameters: option.integer(1),
    /** Initial slope (default 0.25). */
    init: option.finite(0.25),
    /** Dtype of the layer's parameters. */
    dtype: option.floatDType(),
  },
);
const maxoutSchema = new LayerSchema(
  'Maxout',
  { groupSize: required(option.integer(1)) },
  {
    /** The feature axis split into groups (default 1, PyTorch's feature/channel axis). */
    axis: option.axis(1),
  },
);
const rbfSchema = new LayerSchema(
  'RBF',
  { inFeatures: required(option.integer(1)), outFeatures: required(option.integer(1)) },
  {
    /** Dtype of the centres (default float32). */
    dtype: option.floatDType(),
  },
  ['name', 'generator'],
);

export interface PReLUOptions extends ActivationOptions, OptionsOf<typeof preluSchema.options> {}

/**
 * Parametric ReLU with learnable slopes, PyTorch's layout: `weight`
 * [numParameters], one slope per channel of axis 1, or one for all.
 */
export class PReLU extends Activation {
  /** The class name saved in architecture files. */
  static override readonly className: string = 'PReLU';
  /** Number of slopes: 1 shared, or one per channel. */
  readonly numParameters: number;
  /** Initial value of the slopes. */
  readonly init: number;
  /** Dtype of the layer's parameters. */
  readonly dtype: FloatDType;
  /** The learned parameter. */
  readonly weight: Parameter;
  constructor(options: PReLUOptions = {}) {
    super(options);
    const o = preluSchema.parse([], options);
    this.numParameters = o.numParameters;
    this.init = o.init;
    this.dtype = o.dtype;
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
    return preluSchema.config(this);
  }
}

export interface MaxoutOptions extends ActivationOptions, OptionsOf<typeof maxoutSchema.options> {}

/**
 * Maxout units: the features along `axis` are split into consecutive groups
 * of `groupSize` and each group gives its maximum, so the axis shrinks by
 * that factor ([N, 12] with groupSize 3 gives [N, 4]). Put it after a Linear
 * layer with groupSize times more outputs than the maxout units wanted.
 */
export class Maxout extends Activation {
  /** The class name saved in architecture files. */
  static override readonly className: string = 'Maxout';
  /** Inputs per maxout unit. */
  readonly groupSize: number;
  /** The axis the units are grouped along. */
  readonly axis: number;
  constructor(groupSize: number, options: MaxoutOptions = {}) {
    super(options);
    const o = maxoutSchema.parse([groupSize], options);
    this.groupSize = o.groupSize;
    this.axis = o.axis;
  }
  protected activate(x: Tensor): Tensor {
    const ax = this.axis < 0 ? this.axis + x.ndim : this.axis;
    if (ax < 0 || ax >= x.ndim || x.shape[ax] % this.groupSize !== 0) {
      throw shapeMismatch(this, `input whose axis ${this.axis} splits into groups of ${this.groupSize}`, x.shape);
    }
    return maxout(x, this.groupSize, this.axis);
  }
  override getConfig(): LayerConfig {
    return maxoutSchema.config(this);
  }
}

export interface RBFOptions extends OptionsOf<typeof rbfSchema.options> {
  /** Name shown in errors and summaries. */
  name?: string;
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
  /** The class name saved in architecture files. */
  static override readonly className: string = 'RBF';
  /** Input features. */
  readonly inFeatures: number;
  /** Number of centres (output features). */
  readonly outFeatures: number;
  /** Dtype of the layer's parameters. */
  readonly dtype: FloatDType;
  /** The learned parameter. */
  readonly weight: Parameter;
  constructor(inFeatures: number, outFeatures: number, options: RBFOptions = {}) {
    super();
    const o = rbfSchema.parse([inFeatures, outFeatures], options);
    this.inFeatures = o.inFeatures;
    this.outFeatures = o.outFeatures;
    this.dtype = o.dtype;
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
    return rbfSchema.config(this);
  }
}

// Hagan's (MATLAB's) names for the same layers.
export { Hardtanh as Satlins, Identity as Purelin, ReLU as Poslin, Sigmoid as Logsig, SiLU as Swish, Tanh as Tansig };

preluSchema.register((options) => new PReLU(options as PReLUOptions));
maxoutSchema.register((groupSize, options) => new Maxout(groupSize as number, options as MaxoutOptions));
rbfSchema.register((inFeatures, outFeatures, options) => new RBF(inFeatures as number, outFeatures as number, options as RBFOptions));
