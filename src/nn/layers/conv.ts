import type { FloatDType } from '../../core/dtype.js';
import { ValueError } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import { check } from '../../core/validate.js';
import { convNd, convTransposeNd } from '../../ops/conv.js';
import { pad } from '../../ops/index.js';
import { computeFans, defaultLinearWeight, initLayerParameters, type ParameterInitOptions } from '../init.js';
import { type LayerConfig, Module } from '../module.js';
import { LayerSchema, type OptionSpec, type OptionsOf, option, required, spatial } from '../options.js';
import type { Parameter } from '../parameter.js';
import { floatInput, shapeMismatch } from './checks.js';

/** How a convolution pads: with zeros (PyTorch's 'zeros'), by mirroring without the edge ('reflect'), or by repeating the edge ('replicate'). */
export type ConvPaddingMode = 'zeros' | 'reflect' | 'replicate';

const INIT_KEYS = ['name', 'weightInit', 'biasInit', 'generator'];

function convPositional(n: number) {
  return { inChannels: required(option.integer(1)), outChannels: required(option.integer(1)), kernelSize: required(spatial(n, 1, 1)) };
}

/** The options every convolution has, in the order configs list them around `padding`. */
function convCommon(n: number) {
  return { stride: spatial(n, 1, 1), dilation: spatial(n, 1, 1), groups: option.integer(1), bias: option.boolean(true), dtype: option.floatDType() };
}

/** Conv1d's and Conv2d's arguments, declared once. */
function convSchema(className: string, n: number) {
  const { stride, dilation, groups, bias, dtype } = convCommon(n);
  const padding: OptionSpec<number | number[] | 'valid' | 'same'> = {
    default: 0,
    parse: (who, name, v) => (v === 'same' || v === 'valid' ? v : spatial(n, 0, 0).parse(who, name, v)),
  };
  const paddingMode: OptionSpec<ConvPaddingMode> = {
    default: 'zeros',
    parse: (who, name, v) =>
      v === 'zeros' || v === 'reflect' || v === 'replicate'
        ? v
        : check(who).fail(`${name} must be 'zeros', 'reflect' or 'replicate', got ${JSON.stringify(v)}`),
  };
  return new LayerSchema(className, convPositional(n), { stride, padding, dilation, groups, bias, paddingMode, dtype }, INIT_KEYS);
}

/** ConvTranspose1d's and ConvTranspose2d's arguments, declared once. */
function convTransposeSchema(className: string, n: number) {
  const { stride, dilation, groups, bias, dtype } = convCommon(n);
  return new LayerSchema(
    className,
    convPositional(n),
    { stride, padding: spatial(n, 0, 0), outputPadding: spatial(n, 0, 0), dilation, groups, bias, dtype },
    INIT_KEYS,
  );
}

const conv1d = convSchema('Conv1d', 1);
const conv2d = convSchema('Conv2d', 2);
const convTranspose1d = convTransposeSchema('ConvTranspose1d', 1);
const convTranspose2d = convTransposeSchema('ConvTranspose2d', 2);

/** Options of the convolution layers that are not saved in architecture files. */
export interface LayerExtras extends ParameterInitOptions {
  /** Name shown in errors and summaries. */
  name?: string;
}

/**
 * Options of Conv1d and Conv2d: stride, padding (a number per axis, 'valid' or
 * 'same' at stride 1), dilation, groups, bias (default true), paddingMode
 * ('zeros', 'reflect' or 'replicate'), dtype.
 */
export type ConvLayerOptions = OptionsOf<typeof conv2d.options> & {
  /** Step between windows, per spatial axis. */
  stride?: number | readonly number[];
  /** Spacing between kernel elements, per spatial axis. */
  dilation?: number | readonly number[];
  /** Padding per spatial axis (or 'valid' / 'same' for Conv). */
  padding?: number | readonly number[] | 'valid' | 'same';
} & LayerExtras;

/** Options of ConvTranspose1d and ConvTranspose2d: stride, padding, outputPadding, dilation, groups, bias, dtype. */
export type ConvTransposeLayerOptions = OptionsOf<typeof convTranspose2d.options> & {
  /** Step between windows, per spatial axis. */
  stride?: number | readonly number[];
  /** Spacing between kernel elements, per spatial axis. */
  dilation?: number | readonly number[];
  /** Padding per spatial axis (or 'valid' / 'same' for Conv). */
  padding?: number | readonly number[];
  /** Extra size added to one side of the output, per spatial axis (to pick among output sizes that stride makes ambiguous). */
  outputPadding?: number | readonly number[];
} & LayerExtras;

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
  /** Input channels. */
  readonly inChannels: number;
  /** Output channels (filters). */
  readonly outChannels: number;
  /** Kernel size, per spatial axis. */
  readonly kernelSize: number | number[];
  /** Step between windows, per spatial axis. */
  readonly stride: number | number[];
  /** Spacing between kernel elements, per spatial axis. */
  readonly dilation: number | number[];
  /** Independent channel groups. */
  readonly groups: number;
  /** Dtype of the weights. */
  readonly dtype: FloatDType;
  /** Learned kernels. */
  weight: Parameter;
  /** Learned bias, [outChannels] (null without bias). */
  bias: Parameter | null;
  /** 1 for Conv1d/ConvTranspose1d, 2 for the 2-D layers. */
  protected readonly spatialDims: number;

  protected constructor(
    n: number,
    o: {
      /** Input channels. */
      inChannels: number;
      /** Output channels (filters). */
      outChannels: number;
      /** Kernel size, per spatial axis. */
      kernelSize: number | number[];
      /** Step between windows, per spatial axis. */
      stride: number | number[];
      /** Spacing between kernel elements, per spatial axis. */
      dilation: number | number[];
      /** Independent channel groups. */
      groups: number;
      /** Learned bias, [outChannels] (null without bias). */
      bias: boolean;
      /** Dtype of the weights. */
      dtype: FloatDType;
    },
    options: LayerExtras,
    transposed: boolean,
  ) {
    super();
    const op = (this.constructor as typeof Module).className;
    this.spatialDims = n;
    const { inChannels, outChannels } = o;
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.kernelSize = o.kernelSize;
    this.stride = o.stride;
    this.dilation = o.dilation;
    this.groups = o.groups;
    if (inChannels % this.groups !== 0 || outChannels % this.groups !== 0) {
      throw new ValueError(`${op}: groups ${this.groups} must divide inChannels (${inChannels}) and outChannels (${outChannels})`);
    }
    this.dtype = o.dtype;
    if (options.name !== undefined) this.withName(options.name);
    const kernel = asList(this.kernelSize, n);
    // PyTorch's layouts: [out, in/groups, ...kernel], and [in, out/groups, ...kernel] when transposed.
    const shape = transposed ? [inChannels, outChannels / this.groups, ...kernel] : [outChannels, inChannels / this.groups, ...kernel];
    // PyTorch's default bound uses fanIn = shape[1]·kernel area (for a transposed weight that is out/groups·area).
    const { weight, bias } = initLayerParameters(op, shape, o.bias ? [outChannels] : null, this.dtype, computeFans(shape).fanIn, options, defaultLinearWeight);
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
  /** Padding per spatial axis (or 'valid' / 'same' for Conv). */
  readonly padding: number | number[] | 'valid' | 'same';
  /** How padding is filled: 'zeros', 'reflect' or 'replicate'. */
  readonly paddingMode: ConvPaddingMode;
  private readonly schema: ReturnType<typeof convSchema>;

  protected constructor(n: number, schema: ReturnType<typeof convSchema>, args: readonly unknown[], options: ConvLayerOptions) {
    const o = schema.parse(args, options);
    super(n, o, options, false);
    this.padding = o.padding;
    if (this.padding === 'same' && asList(this.stride, n).some((s) => s !== 1)) {
      throw new ValueError(`${this.className}: padding 'same' needs stride 1, got stride ${JSON.stringify(this.stride)}`);
    }
    this.paddingMode = o.paddingMode;
    this.schema = schema;
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
    return this.schema.config(this, { bias: this.bias !== null });
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
    super(2, conv2d, [inChannels, outChannels, kernelSize], options);
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
    super(1, conv1d, [inChannels, outChannels, kernelSize], options);
  }
}

abstract class ConvTransposeNd extends ConvBase {
  /** Padding per spatial axis (or 'valid' / 'same' for Conv). */
  readonly padding: number | number[];
  /** Extra size added to one side of the output, per spatial axis (to pick among output sizes that stride makes ambiguous). */
  readonly outputPadding: number | number[];

  private readonly schema: ReturnType<typeof convTransposeSchema>;

  protected constructor(n: number, schema: ReturnType<typeof convTransposeSchema>, args: readonly unknown[], options: ConvTransposeLayerOptions) {
    const o = schema.parse(args, options);
    super(n, o, options, true);
    const op = this.className;
    this.schema = schema;
    this.padding = o.padding;
    this.outputPadding = o.outputPadding;
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
    return this.schema.config(this, { bias: this.bias !== null });
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
    super(2, convTranspose2d, [inChannels, outChannels, kernelSize], options);
  }
}

/** Transposed 1-D convolution: [N, inChannels, L] → [N, outChannels, (L - 1)·stride - 2·padding + dilation·(K - 1) + outputPadding + 1]. */
export class ConvTranspose1d extends ConvTransposeNd {
  static override readonly className = 'ConvTranspose1d';

  constructor(inChannels: number, outChannels: number, kernelSize: number, options: ConvTransposeLayerOptions = {}) {
    super(1, convTranspose1d, [inChannels, outChannels, kernelSize], options);
  }
}

conv1d.register((i, o, k, options) => new Conv1d(i as number, o as number, k as number, options as ConvLayerOptions));
conv2d.register((i, o, k, options) => new Conv2d(i as number, o as number, k as [number, number], options as ConvLayerOptions));
convTranspose1d.register((i, o, k, options) => new ConvTranspose1d(i as number, o as number, k as number, options as ConvTransposeLayerOptions));
convTranspose2d.register((i, o, k, options) => new ConvTranspose2d(i as number, o as number, k as [number, number], options as ConvTransposeLayerOptions));
