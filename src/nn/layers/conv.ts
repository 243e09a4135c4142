import type { FloatDType } from '../../core/dtype.js';
import { ValueError } from '../../core/errors.js';
import type { Generator } from '../../core/random.js';
import type { Tensor } from '../../core/tensor.js';
import { check } from '../../core/validate.js';
import { convNd, convTransposeNd } from '../../ops/conv.js';
import { pad } from '../../ops/index.js';
import { computeFans, defaultLinearWeight, type Initializer, initLayerParameters } from '../init.js';
import { type LayerConfig, Module } from '../module.js';
import type { Parameter } from '../parameter.js';
import { registerLayer } from '../registry.js';
import { floatInput, shapeMismatch } from './checks.js';

/** How a convolution pads: with zeros (PyTorch's 'zeros'), by mirroring without the edge ('reflect'), or by repeating the edge ('replicate'). */
export type ConvPaddingMode = 'zeros' | 'reflect' | 'replicate';

interface CommonConvOptions {
  /** Step between output positions (default 1). */
  stride?: number | readonly number[];
  /** Spacing between kernel taps (default 1). */
  dilation?: number | readonly number[];
  /** Independent channel groups (default 1); both channel counts must be multiples of it. */
  groups?: number;
  /** Learn an additive bias per output channel (default true). */
  bias?: boolean;
  dtype?: FloatDType;
  /** Name shown in errors and summaries. */
  name?: string;
  /** Replaces the default weight initialisation (a constant or a function of the tensor). */
  weightInit?: Initializer;
  /** Replaces the default bias initialisation. */
  biasInit?: Initializer;
  /** Draw the initial weights from this generator instead of the default one. */
  generator?: Generator;
}

export interface ConvLayerOptions extends CommonConvOptions {
  /** Padding on both sides of each spatial axis, 'valid' (none) or 'same' (stride 1; output size = input size). Default 0. */
  padding?: number | readonly number[] | 'valid' | 'same';
  /** What the padding holds (default 'zeros'). */
  paddingMode?: ConvPaddingMode;
}

export interface ConvTransposeLayerOptions extends CommonConvOptions {
  /** Cells removed from each side of the output (the padding of the convolution being transposed); default 0. */
  padding?: number | readonly number[];
  /** Cells added at the end of each output axis (default 0); smaller than stride or dilation. */
  outputPadding?: number | readonly number[];
}

/**
 * @internal One integer >= min per spatial axis, as layer configs store it: a
 * number for 1-D layers, [h, w] for 2-D ones. Shared by the pooling and
 * locally-connected layers.
 */
export function spatialOption(op: string, name: string, value: unknown, n: number, min: number): number | number[] {
  const list = typeof value === 'number' ? new Array<number>(n).fill(value) : value;
  if (!Array.isArray(list) || list.length !== n || list.some((v) => typeof v !== 'number' || !Number.isInteger(v) || v < min)) {
    throw new ValueError(`${op}: ${name} must be an integer >= ${min}${n > 1 ? ` or ${n} of them` : ''}, got ${JSON.stringify(value)}`);
  }
  return n === 1 ? list[0] : [...list];
}

/** @internal */
export function asList(value: number | readonly number[], n: number): number[] {
  return typeof value === 'number' ? new Array<number>(n).fill(value) : [...value];
}

/** @internal (2, 3) for [2, 3], as summaries show sizes. */
export function fmtSpatial(value: unknown): string {
  return Array.isArray(value) ? `(${value.join(', ')})` : String(value);
}

/**
 * Shared by convolutions and transposed convolutions: channel bookkeeping,
 * PyTorch's default initialisation, and the input check.
 */
abstract class ConvBase extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: number | number[];
  readonly stride: number | number[];
  readonly dilation: number | number[];
  readonly groups: number;
  readonly dtype: FloatDType;
  weight: Parameter;
  bias: Parameter | null;
  /** 1 for Conv1d/ConvTranspose1d, 2 for the 2-D layers. */
  protected readonly spatialDims: number;

  protected constructor(
    n: number,
    inChannels: number,
    outChannels: number,
    kernelSize: number | readonly number[],
    options: CommonConvOptions,
    transposed: boolean,
  ) {
    super();
    const op = (this.constructor as typeof Module).className;
    this.spatialDims = n;
    this.inChannels = check(op).integer('inChannels', inChannels);
    this.outChannels = check(op).integer('outChannels', outChannels);
    this.kernelSize = spatialOption(op, 'kernelSize', kernelSize, n, 1);
    this.stride = spatialOption(op, 'stride', options.stride ?? 1, n, 1);
    this.dilation = spatialOption(op, 'dilation', options.dilation ?? 1, n, 1);
    this.groups = check(op).integer('groups', options.groups ?? 1);
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new ValueError(`${op}: groups ${this.groups} must divide inChannels (${inChannels}) and outChannels (${outChannels})`);
    }
    this.dtype = check(op).floatDType('dtype', options.dtype ?? 'float32');
    const hasBias = check(op).boolean('bias', options.bias ?? true);
    if (options.name !== undefined) this.withName(options.name);
    const kernel = asList(this.kernelSize, n);
    // PyTorch's layouts: [out, in/groups, ...kernel], and [in, out/groups, ...kernel] when transposed.
    const shape = transposed ? [inChannels, outChannels / this.groups, ...kernel] : [outChannels, inChannels / this.groups, ...kernel];
    // PyTorch's default bound uses fanIn = shape[1]·kernel area (for a transposed weight that is out/groups·area).
    const { weight, bias } = initLayerParameters(shape, hasBias ? [outChannels] : null, this.dtype, computeFans(shape).fanIn, options, defaultLinearWeight);
    this.weight = weight;
    this.bias = bias;
  }

  /** The input as the layer's dtype, checked to be [N, inChannels, ...] or unbatched [inChannels, ...]. */
  protected checkedInput(x: Tensor): Tensor {
    const input = floatInput(this, x, this.dtype);
    const n = this.spatialDims;
    const axes = n === 1 ? 'L' : 'H, W';
    if ((input.ndim !== n + 2 && input.ndim !== n + 1) || input.shape[input.ndim - n - 1] !== this.inChannels) {
      throw shapeMismatch(this, `input [N, ${this.inChannels}, ${axes}] or [${this.inChannels}, ${axes}]`, input.shape);
    }
    return input;
  }
}

/** Convolutions (cross-correlations) over 1 or 2 spatial axes; see Conv1d and Conv2d. */
abstract class ConvNd extends ConvBase {
  readonly padding: number | number[] | 'valid' | 'same';
  readonly paddingMode: ConvPaddingMode;

  protected constructor(n: number, inChannels: number, outChannels: number, kernelSize: number | readonly number[], options: ConvLayerOptions) {
    super(n, inChannels, outChannels, kernelSize, options, false);
    const op = this.className;
    const p = options.padding ?? 0;
    this.padding = p === 'same' || p === 'valid' ? p : spatialOption(op, 'padding', p, n, 0);
    if (this.padding === 'same' && asList(this.stride, n).some((s) => s !== 1)) {
      throw new ValueError(`${op}: padding 'same' needs stride 1, got stride ${JSON.stringify(this.stride)}`);
    }
    const mode = options.paddingMode ?? 'zeros';
    if (mode !== 'zeros' && mode !== 'reflect' && mode !== 'replicate') {
      throw new ValueError(`${op}: paddingMode must be 'zeros', 'reflect' or 'replicate', got ${JSON.stringify(mode)}`);
    }
    this.paddingMode = mode;
  }

  forward(x: Tensor): Tensor {
    let input = this.checkedInput(x);
    const n = this.spatialDims;
    let padding = this.padding;
    if (this.paddingMode !== 'zeros' && padding !== 'valid') {
      // Pad explicitly with the chosen mode, then convolve without padding.
      const kernel = asList(this.kernelSize, n);
      const dilation = asList(this.dilation, n);
      const pairs = kernel.map((k, i): [number, number] => {
        if (padding !== 'same') return [asList(padding as number | number[], n)[i], asList(padding as number | number[], n)[i]];
        const total = dilation[i] * (k - 1);
        return [Math.floor(total / 2), total - Math.floor(total / 2)];
      });
      input = pad(input, [...new Array<[number, number]>(input.ndim - n).fill([0, 0]), ...pairs], this.paddingMode);
      padding = 0;
    }
    return convNd(this.label, input, this.weight, this.bias, { stride: this.stride, padding, dilation: this.dilation, groups: this.groups }, n);
  }

  override getConfig(): LayerConfig {
    return {
      inChannels: this.inChannels,
      outChannels: this.outChannels,
      kernelSize: this.kernelSize,
      stride: this.stride,
      padding: this.padding,
      dilation: this.dilation,
      groups: this.groups,
      bias: this.bias !== null,
      paddingMode: this.paddingMode,
      dtype: this.dtype,
    };
  }

  override extraRepr(): string {
    const parts = [`${this.inChannels}, ${this.outChannels}`, `kernelSize=${fmtSpatial(this.kernelSize)}`, `stride=${fmtSpatial(this.stride)}`];
    if (typeof this.padding === 'string' || asList(this.padding, this.spatialDims).some((p) => p !== 0)) parts.push(`padding=${fmtSpatial(this.padding)}`);
    if (asList(this.dilation, this.spatialDims).some((d) => d !== 1)) parts.push(`dilation=${fmtSpatial(this.dilation)}`);
    if (this.groups !== 1) parts.push(`groups=${this.groups}`);
    if (!this.bias) parts.push('bias=false');
    if (this.paddingMode !== 'zeros') parts.push(`paddingMode=${this.paddingMode}`);
    if (this.dtype !== 'float32') parts.push(`dtype=${this.dtype}`);
    return parts.join(', ');
  }
}

/**
 * 2-D convolution layer: [N, inChannels, H, W] → [N, outChannels, outH, outW]
 * with outH = floor((H + 2·padding - dilation·(KH - 1) - 1) / stride) + 1.
 * Each output unit is the cross-correlation of one filter with a window of
 * every input channel of its group, plus the filter's bias (weights shared
 * over positions, zero outside the window: the notes' "sparse + shared").
 * Weight [outChannels, inChannels/groups, KH, KW], bias [outChannels]:
 * out·(in/groups)·KH·KW + out parameters, e.g. 5·5·1·20 + 20 = 520 for 20
 * 5x5 filters on one channel. Default initialisation as PyTorch:
 * U(-1/√fanIn, 1/√fanIn) for both, fanIn = in/groups·KH·KW.
 */
export class Conv2d extends ConvNd {
  static override readonly className = 'Conv2d';

  constructor(inChannels: number, outChannels: number, kernelSize: number | readonly [number, number], options: ConvLayerOptions = {}) {
    super(2, inChannels, outChannels, kernelSize, options);
  }
}

/**
 * 1-D convolution layer over sequences: [N, inChannels, L] → [N, outChannels,
 * floor((L + 2·padding - dilation·(K - 1) - 1) / stride) + 1]. Weight
 * [outChannels, inChannels/groups, K], bias [outChannels]; see Conv2d.
 */
export class Conv1d extends ConvNd {
  static override readonly className = 'Conv1d';

  constructor(inChannels: number, outChannels: number, kernelSize: number, options: ConvLayerOptions = {}) {
    super(1, inChannels, outChannels, kernelSize, options);
  }
}

abstract class ConvTransposeNd extends ConvBase {
  readonly padding: number | number[];
  readonly outputPadding: number | number[];

  protected constructor(n: number, inChannels: number, outChannels: number, kernelSize: number | readonly number[], options: ConvTransposeLayerOptions) {
    super(n, inChannels, outChannels, kernelSize, options, true);
    const op = this.className;
    this.padding = spatialOption(op, 'padding', options.padding ?? 0, n, 0);
    this.outputPadding = spatialOption(op, 'outputPadding', options.outputPadding ?? 0, n, 0);
    const stride = asList(this.stride, n);
    const dilation = asList(this.dilation, n);
    asList(this.outputPadding, n).forEach((p, i) => {
      if (p >= Math.max(stride[i], dilation[i])) {
        throw new ValueError(
          `${op}: outputPadding ${fmtSpatial(this.outputPadding)} must be smaller than stride ${fmtSpatial(this.stride)} or dilation ${fmtSpatial(this.dilation)}`,
        );
      }
    });
  }

  /** Transposed convolution of x; outputSize (spatial, or a full shape) picks the output padding instead of the configured one. */
  forward(x: Tensor, outputSize?: readonly number[]): Tensor {
    const input = this.checkedInput(x);
    return convTransposeNd(
      this.label,
      input,
      this.weight,
      this.bias,
      { stride: this.stride, padding: this.padding, outputPadding: this.outputPadding, dilation: this.dilation, groups: this.groups, outputSize },
      this.spatialDims,
    );
  }

  override getConfig(): LayerConfig {
    return {
      inChannels: this.inChannels,
      outChannels: this.outChannels,
      kernelSize: this.kernelSize,
      stride: this.stride,
      padding: this.padding,
      outputPadding: this.outputPadding,
      dilation: this.dilation,
      groups: this.groups,
      bias: this.bias !== null,
      dtype: this.dtype,
    };
  }

  override extraRepr(): string {
    const parts = [`${this.inChannels}, ${this.outChannels}`, `kernelSize=${fmtSpatial(this.kernelSize)}`, `stride=${fmtSpatial(this.stride)}`];
    if (asList(this.padding, this.spatialDims).some((p) => p !== 0)) parts.push(`padding=${fmtSpatial(this.padding)}`);
    if (asList(this.outputPadding, this.spatialDims).some((p) => p !== 0)) parts.push(`outputPadding=${fmtSpatial(this.outputPadding)}`);
    if (asList(this.dilation, this.spatialDims).some((d) => d !== 1)) parts.push(`dilation=${fmtSpatial(this.dilation)}`);
    if (this.groups !== 1) parts.push(`groups=${this.groups}`);
    if (!this.bias) parts.push('bias=false');
    if (this.dtype !== 'float32') parts.push(`dtype=${this.dtype}`);
    return parts.join(', ');
  }
}

/**
 * Transposed 2-D convolution (the notes' "deconvolution"): the adjoint of a
 * Conv2d with the same weight, going from a convolution's output shape back
 * to its input shape, [N, inChannels, H, W] → [N, outChannels, outH, outW]
 * with outH = (H - 1)·stride - 2·padding + dilation·(KH - 1) + outputPadding + 1.
 * Weight [inChannels, outChannels/groups, KH, KW] (PyTorch's layout), bias
 * [outChannels]; PyTorch's default initialisation (fanIn = out/groups·KH·KW).
 */
export class ConvTranspose2d extends ConvTransposeNd {
  static override readonly className = 'ConvTranspose2d';

  constructor(inChannels: number, outChannels: number, kernelSize: number | readonly [number, number], options: ConvTransposeLayerOptions = {}) {
    super(2, inChannels, outChannels, kernelSize, options);
  }
}

/** Transposed 1-D convolution: [N, inChannels, L] → [N, outChannels, (L - 1)·stride - 2·padding + dilation·(K - 1) + outputPadding + 1]. */
export class ConvTranspose1d extends ConvTransposeNd {
  static override readonly className = 'ConvTranspose1d';

  constructor(inChannels: number, outChannels: number, kernelSize: number, options: ConvTransposeLayerOptions = {}) {
    super(1, inChannels, outChannels, kernelSize, options);
  }
}

function convOptions(c: LayerConfig): ConvLayerOptions {
  return {
    stride: c.stride as number | number[] | undefined,
    padding: c.padding as ConvLayerOptions['padding'],
    dilation: c.dilation as number | number[] | undefined,
    groups: c.groups as number | undefined,
    bias: c.bias as boolean | undefined,
    paddingMode: c.paddingMode as ConvPaddingMode | undefined,
    dtype: c.dtype as FloatDType | undefined,
  };
}

function convTransposeOptions(c: LayerConfig): ConvTransposeLayerOptions {
  return {
    stride: c.stride as number | number[] | undefined,
    padding: c.padding as number | number[] | undefined,
    outputPadding: c.outputPadding as number | number[] | undefined,
    dilation: c.dilation as number | number[] | undefined,
    groups: c.groups as number | undefined,
    bias: c.bias as boolean | undefined,
    dtype: c.dtype as FloatDType | undefined,
  };
}

registerLayer(Conv1d.className, (c) => new Conv1d(c.inChannels as number, c.outChannels as number, c.kernelSize as number, convOptions(c)));
registerLayer(Conv2d.className, (c) => new Conv2d(c.inChannels as number, c.outChannels as number, c.kernelSize as [number, number], convOptions(c)));
registerLayer(
  ConvTranspose1d.className,
  (c) => new ConvTranspose1d(c.inChannels as number, c.outChannels as number, c.kernelSize as number, convTransposeOptions(c)),
);
registerLayer(
  ConvTranspose2d.className,
  (c) => new ConvTranspose2d(c.inChannels as number, c.outChannels as number, c.kernelSize as [number, number], convTransposeOptions(c)),
);
