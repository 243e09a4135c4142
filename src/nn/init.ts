/**
 * Weight initialisers. Each one overwrites a float tensor (usually a
 * Parameter) in place and returns it, drawing from the default Generator
 * (seeded by `seed()`) unless a `generator` is given, so one seed reproduces a
 * whole model. Formulas and defaults follow PyTorch's `torch.nn.init`:
 *
 * | initialiser | distribution |
 * | --- | --- |
 * | xavierUniform (Glorot) | U(-b, b), b = gain·sqrt(6 / (fanIn + fanOut)) |
 * | xavierNormal | N(0, gain²·2 / (fanIn + fanOut)) |
 * | kaimingUniform (He) | U(-b, b), b = gain·sqrt(3 / fan) |
 * | kaimingNormal | N(0, gain² / fan) |
 * | lecunUniform | U(-b, b), b = sqrt(3 / fanIn) |
 * | lecunNormal | N(0, 1 / fanIn) |
 * | orthogonal | a random orthogonal matrix times gain |
 *
 * Fans of a weight of shape [out, in, k1, k2, ...] are fanIn = in·k1·k2·...
 * and fanOut = out·k1·k2·... (PyTorch's convention for Linear and Conv).
 */

import { checkedSize, type FloatDType } from '../core/dtype.js';
import { noGrad } from '../core/engine.js';
import { fmtShape, ValueError } from '../core/errors.js';
import { defaultGenerator, type Generator } from '../core/random.js';
import type { Tensor } from '../core/tensor.js';
import { check } from '../core/validate.js';
import { zeros as zerosTensor } from '../ops/index.js';
import { Parameter } from './parameter.js';

/** Options every initialiser takes. */
export interface InitOptions {
  /** Draw from this generator instead of the default one. */
  generator?: Generator;
}

/**
 * The non-linearities calculateGain knows, by their camelCase names. The
 * PyTorch spellings ('leaky_relu', 'conv_transpose2d') are accepted too.
 */
export type Nonlinearity =
  | 'linear'
  | 'identity'
  | 'conv1d'
  | 'conv2d'
  | 'conv3d'
  | 'convTranspose1d'
  | 'convTranspose2d'
  | 'convTranspose3d'
  | 'sigmoid'
  | 'tanh'
  | 'relu'
  | 'leakyRelu'
  | 'selu';

/** Which fan scales Kaiming initialisation: inputs preserve forward variance, outputs backward. */
export type FanMode = 'fanIn' | 'fanOut';

function normalizeNonlinearity(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * The recommended gain for a non-linearity (PyTorch's calculate_gain): 1 for
 * linear, convolution and sigmoid layers, 5/3 for tanh, √2 for ReLU,
 * √(2 / (1 + slope²)) for leaky ReLU (slope `param`, default 0.01) and 3/4 for
 * SELU. It scales the weights so that activations keep a steady variance
 * from layer to layer.
 */
export function calculateGain(nonlinearity: Nonlinearity | string, param?: number): number {
  const name = normalizeNonlinearity(nonlinearity);
  switch (name) {
    case 'linear':
    case 'identity':
    case 'conv1d':
    case 'conv2d':
    case 'conv3d':
    case 'convTranspose1d':
    case 'convTranspose2d':
    case 'convTranspose3d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leakyRelu': {
      const slope = param ?? 0.01;
      if (!Number.isFinite(slope)) throw new ValueError(`calculateGain: negative slope must be a finite number, got ${param}`);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new ValueError(
        `calculateGain: unknown non-linearity '${nonlinearity}'; expected one of linear, identity, conv1d, conv2d, conv3d, convTranspose1d, convTranspose2d, convTranspose3d, sigmoid, tanh, relu, leakyRelu, selu`,
      );
  }
}

/**
 * fanIn and fanOut of a weight of shape [out, in, ...kernel]. Needs at least
 * two dimensions: a bias vector has no fan of its own.
 */
export function computeFans(
  shape: readonly number[],
  op = 'computeFans',
): {
  /** Inputs feeding each output: in · kernel size. */
  fanIn: number;
  /** Outputs each input feeds: out · kernel size. */
  fanOut: number;
} {
  if (shape.length < 2) {
    throw new ValueError(`${op}: fan in and fan out need a tensor with at least 2 dimensions ([out, in, ...]), got shape ${fmtShape(shape)}`);
  }
  const receptive = shape.slice(2).reduce((p, d) => p * d, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

function checkTarget(op: string, t: Tensor): void {
  if (t.dtype !== 'float32' && t.dtype !== 'float64') throw new ValueError(`${op}: can only initialise float32 or float64 tensors, got ${t.dtype}`);
  if (!t.isLeaf) throw new ValueError(`${op}: cannot overwrite a tensor computed by a recorded operation; initialise a leaf (a Parameter)`);
}

function fill(op: string, t: Tensor, draw: () => number): Tensor {
  checkTarget(op, t);
  noGrad(() => {
    const d = t.data;
    for (let i = 0; i < d.length; i++) d[i] = draw();
  });
  return t;
}

/** Fill with draws from U(a, b). */
export function uniform(t: Tensor, a = 0, b = 1, options: InitOptions = {}): Tensor {
  check('init.uniform').finite('a', a);
  check('init.uniform').finite('b', b);
  if (a > b) throw new ValueError(`init.uniform: lower bound a = ${a} is greater than upper bound b = ${b}`);
  const g = options.generator ?? defaultGenerator;
  return fill('init.uniform', t, () => a + (b - a) * g.nextDouble());
}

/** Fill with draws from N(mean, std²). */
export function normal(t: Tensor, mean = 0, std = 1, options: InitOptions = {}): Tensor {
  check('init.normal').finite('mean', mean);
  check('init.normal').finite('std', std);
  if (std < 0) throw new ValueError(`init.normal: std must be non-negative, got ${std}`);
  const g = options.generator ?? defaultGenerator;
  return fill('init.normal', t, () => mean + std * g.nextNormal());
}

/**
 * Fill with draws from N(mean, std²) conditioned on [a, b] (absolute bounds,
 * as PyTorch's trunc_normal_), by rejection: out-of-range draws are redrawn.
 */
export function truncNormal(t: Tensor, mean = 0, std = 1, a = -2, b = 2, options: InitOptions = {}): Tensor {
  for (const [n, v] of [
    ['mean', mean],
    ['std', std],
    ['a', a],
    ['b', b],
  ] as const)
    check('init.truncNormal').finite(n, v);
  if (std < 0) throw new ValueError(`init.truncNormal: std must be non-negative, got ${std}`);
  if (!(a < b)) throw new ValueError(`init.truncNormal: need a < b, got a = ${a}, b = ${b}`);
  // Rejection needs a reasonable acceptance rate; far-away windows would loop for ages.
  if (std > 0 && (b < mean - 4 * std || a > mean + 4 * std)) {
    throw new ValueError(`init.truncNormal: [${a}, ${b}] lies more than 4 standard deviations from the mean ${mean}`);
  }
  if (std === 0 && (mean < a || mean > b)) throw new ValueError(`init.truncNormal: std is 0 and the mean ${mean} lies outside [${a}, ${b}]`);
  const g = options.generator ?? defaultGenerator;
  return fill('init.truncNormal', t, () => {
    for (;;) {
      const v = mean + std * g.nextNormal();
      if (v >= a && v <= b) return v;
    }
  });
}

/** Fill with one value (a bias of 0, or the small positive 0.1 that keeps ReLU units alive at the start). */
export function constant(t: Tensor, value: number): Tensor {
  if (typeof value !== 'number' || Number.isNaN(value)) throw new ValueError(`init.constant: value must be a number, got ${value}`);
  return fill('init.constant', t, () => value);
}

/** Fill with zeros, in place, without recording gradients; returns `t`. */
export function zeros(t: Tensor): Tensor {
  return constant(t, 0);
}

/** Fill with ones, in place, without recording gradients; returns `t`. */
export function ones(t: Tensor): Tensor {
  return constant(t, 1);
}

/** The identity matrix (2-D tensors only), as PyTorch's eye_. */
export function eye(t: Tensor): Tensor {
  if (t.ndim !== 2) throw new ValueError(`init.eye: needs a 2-D tensor, got shape ${fmtShape(t.shape)}`);
  const cols = t.shape[1];
  let i = 0;
  return fill('init.eye', t, () => {
    const v = Math.floor(i / cols) === i % cols ? 1 : 0;
    i++;
    return v;
  });
}

export interface XavierOptions extends InitOptions {
  /** Scale for the non-linearity that follows (see calculateGain); default 1. */
  gain?: number;
}

/** Glorot/Xavier uniform: U(-b, b) with b = gain·sqrt(6 / (fanIn + fanOut)). */
export function xavierUniform(t: Tensor, options: XavierOptions = {}): Tensor {
  const gain = options.gain ?? 1;
  check('init.xavierUniform').finite('gain', gain);
  const { fanIn, fanOut } = computeFans(t.shape, 'init.xavierUniform');
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(t, -bound, bound, options);
}

/** Glorot/Xavier normal: N(0, std²) with std = gain·sqrt(2 / (fanIn + fanOut)). */
export function xavierNormal(t: Tensor, options: XavierOptions = {}): Tensor {
  const gain = options.gain ?? 1;
  check('init.xavierNormal').finite('gain', gain);
  const { fanIn, fanOut } = computeFans(t.shape, 'init.xavierNormal');
  return normal(t, 0, gain * Math.sqrt(2 / (fanIn + fanOut)), options);
}

export interface KaimingOptions extends InitOptions {
  /** Negative slope of the leaky ReLU that follows (only used by 'leakyRelu'); default 0. */
  a?: number;
  /** 'fanIn' (default) keeps the forward activations' variance, 'fanOut' the backward gradients'. */
  mode?: FanMode | 'fan_in' | 'fan_out';
  /** Default 'leakyRelu' (with slope a), as PyTorch. */
  nonlinearity?: Nonlinearity | string;
}

function kaimingStd(op: string, t: Tensor, options: KaimingOptions): number {
  const a = options.a ?? 0;
  check(op).finite('a', a);
  const mode = options.mode ?? 'fanIn';
  if (mode !== 'fanIn' && mode !== 'fanOut' && mode !== 'fan_in' && mode !== 'fan_out') {
    throw new ValueError(`${op}: mode must be 'fanIn' or 'fanOut', got '${mode}'`);
  }
  const fans = computeFans(t.shape, op);
  const fan = mode === 'fanIn' || mode === 'fan_in' ? fans.fanIn : fans.fanOut;
  const gain = calculateGain(options.nonlinearity ?? 'leakyRelu', a);
  return gain / Math.sqrt(fan);
}

/** He/Kaiming uniform: U(-b, b) with b = gain·sqrt(3 / fan). */
export function kaimingUniform(t: Tensor, options: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd('init.kaimingUniform', t, options);
  return uniform(t, -bound, bound, options);
}

/** He/Kaiming normal: N(0, gain² / fan). */
export function kaimingNormal(t: Tensor, options: KaimingOptions = {}): Tensor {
  return normal(t, 0, kaimingStd('init.kaimingNormal', t, options), options);
}

/** LeCun uniform: U(-b, b) with b = sqrt(3 / fanIn), variance 1 / fanIn. */
export function lecunUniform(t: Tensor, options: InitOptions = {}): Tensor {
  const { fanIn } = computeFans(t.shape, 'init.lecunUniform');
  const bound = Math.sqrt(3 / fanIn);
  return uniform(t, -bound, bound, options);
}

/**
 * LeCun normal: N(0, 1 / fanIn), the initialisation self-normalising (SELU)
 * networks assume. Plain, not truncated: Keras truncates at two standard
 * deviations and rescales; this follows the SELU paper's N(0, 1/n).
 */
export function lecunNormal(t: Tensor, options: InitOptions = {}): Tensor {
  const { fanIn } = computeFans(t.shape, 'init.lecunNormal');
  return normal(t, 0, 1 / Math.sqrt(fanIn), options);
}

/**
 * A (semi-)orthogonal matrix times gain (Saxe et al. 2013). The tensor is seen
 * as a matrix [shape[0], rest]; its rows are orthonormal when rows ≤ columns
 * (W·Wᵀ = gain²·I), its columns otherwise. Drawn as the Q factor of a
 * Gaussian matrix with R's diagonal made positive, which makes Q uniformly
 * (Haar) distributed; the QR is Gram-Schmidt in float64, run twice per column
 * for accuracy.
 */
export function orthogonal(t: Tensor, options: XavierOptions = {}): Tensor {
  const op = 'init.orthogonal';
  checkTarget(op, t);
  const gain = options.gain ?? 1;
  check(op).finite('gain', gain);
  if (t.ndim < 2) throw new ValueError(`${op}: needs a tensor with at least 2 dimensions, got shape ${fmtShape(t.shape)}`);
  const rows = t.shape[0];
  const cols = t.size / Math.max(rows, 1);
  if (t.size === 0) return t;
  const g = options.generator ?? defaultGenerator;
  const flat = new Float64Array(rows * cols);
  for (let i = 0; i < flat.length; i++) flat[i] = g.nextNormal();
  // Orthonormalise the columns of a tall matrix A (m >= n), stored column-major as n vectors of length m.
  const tall = rows >= cols;
  const m = tall ? rows : cols;
  const n = tall ? cols : rows;
  const vecs: Float64Array[] = [];
  for (let j = 0; j < n; j++) {
    const v = new Float64Array(m);
    for (let i = 0; i < m; i++) v[i] = tall ? flat[i * cols + j] : flat[j * cols + i];
    for (let pass = 0; pass < 2; pass++) {
      for (const q of vecs) {
        let dot = 0;
        for (let i = 0; i < m; i++) dot += q[i] * v[i];
        for (let i = 0; i < m; i++) v[i] -= dot * q[i];
      }
    }
    let norm = 0;
    for (let i = 0; i < m; i++) norm += v[i] * v[i];
    norm = Math.sqrt(norm);
    if (!(norm > 1e-12)) throw new ValueError(`${op}: the random matrix was rank-deficient; draw again`);
    for (let i = 0; i < m; i++) v[i] /= norm;
    vecs.push(v);
  }
  noGrad(() => {
    const d = t.data;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) d[r * cols + c] = gain * (tall ? vecs[c][r] : vecs[r][c]);
    }
  });
  return t;
}

/**
 * An initialiser usable in layer options: a number fills with that constant
 * (e.g. `biasInit: 0.1`); a function receives the tensor and the layer's
 * generator (if one was given) and fills it in place.
 */
export type Initializer = number | ((t: Tensor, generator?: Generator) => unknown);

/** Apply an Initializer from layer options. */
export function applyInitializer(t: Tensor, init: Initializer, generator?: Generator): void {
  if (typeof init === 'number') constant(t, init);
  else if (typeof init === 'function') init(t, generator);
  else throw new ValueError(`initializer must be a number or a function (tensor, generator) => void, got ${typeof init}`);
}

/** How a layer's user chose to initialise its parameters (the options Linear, Conv and LocallyConnected share). */
export interface ParameterInitOptions {
  /** Replaces the default weight initialisation (a constant or a function, e.g. `(w) => nn.init.xavierUniform(w)`). */
  weightInit?: Initializer;
  /** Replaces the default bias initialisation; `0` or `0.1` (the notes' suggestions) are constants. */
  biasInit?: Initializer;
  /** Draw the initial weights from this generator instead of the default one. */
  generator?: Generator;
}

/**
 * Create a layer's weight and bias (none when `biasShape` is null) and
 * initialise them: with the user's initializers when given, else as PyTorch's
 * layers do by default, the weight by `defaultWeight` and the bias from
 * U(-1/√fanIn, 1/√fanIn). The one place where layers initialise parameters.
 */
export function initLayerParameters(
  who: string,
  weightShape: readonly number[],
  biasShape: readonly number[] | null,
  dtype: FloatDType,
  /** Inputs feeding each output unit, which scales the default initialisation. */
  fanIn: number,
  options: ParameterInitOptions,
  defaultWeight: (weight: Tensor, generator: Generator | undefined) => void,
): {
  /** The initialised weight. */
  weight: Parameter;
  /** The initialised bias, or null without one. */
  bias: Parameter | null;
} {
  // Named after the layer, so `new Linear(1e6, 1e6)` says which layer asked for 4 TB.
  checkedSize(`${who} weight`, dtype, weightShape);
  const g = options.generator;
  const weight = new Parameter(zerosTensor(weightShape, { dtype }));
  if (options.weightInit !== undefined) applyInitializer(weight, options.weightInit, g);
  else defaultWeight(weight, g);
  const bias = biasShape === null ? null : new Parameter(zerosTensor(biasShape, { dtype }));
  if (bias) {
    if (options.biasInit !== undefined) applyInitializer(bias, options.biasInit, g);
    else {
      const bound = 1 / Math.sqrt(fanIn);
      uniform(bias, -bound, bound, { generator: g });
    }
  }
  return { weight, bias };
}

/** PyTorch's default weight initialisation of Linear and Conv: kaiming_uniform with a = √5, i.e. U(-1/√fanIn, 1/√fanIn). */
export function defaultLinearWeight(weight: Tensor, generator: Generator | undefined): void {
  kaimingUniform(weight, { a: Math.sqrt(5), generator });
}
