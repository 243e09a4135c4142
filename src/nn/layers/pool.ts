import { ValueError } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import { check } from '../../core/validate.js';
import type { SpatialSize } from '../../ops/conv.js';
import {
  adaptiveAvgPoolNd,
  adaptiveMaxPoolNd,
  avgPoolNd,
  globalAvgPool1d,
  globalAvgPool2d,
  globalMaxPool1d,
  globalMaxPool2d,
  maxPoolNd,
  maxUnpoolNd,
} from '../../ops/conv.js';
import { type LayerConfig, Module } from '../module.js';
import { LayerSchema, type OptionSpec, type OptionsOf, type OptionValues, option, optionsConfig, parseOptions, required, spatial } from '../options.js';
import { registerLayer } from '../registry.js';
import { anyFloatInput, expectTensor, shapeMismatch } from './checks.js';
import { fmtSpatial } from './conv.js';

// Pooling layers have no parameters; they pool each channel on its own over
// windows of the spatial axes (the notes: like convolution, but the window's
// mean or max instead of a weighted sum, and nothing learned). Inputs are
// [N, C, L] / [N, C, H, W], or unbatched [C, L] / [C, H, W].

function describe(n: number): string {
  return n === 1 ? '[N, C, L] or [C, L]' : '[N, C, H, W] or [C, H, W]';
}

/** The input as a float tensor of the right rank for an n-D pooling layer. */
function pooledInput(layer: Module, x: unknown, n: number): Tensor {
  const input = anyFloatInput(layer, x);
  if (input.ndim !== n + 2 && input.ndim !== n + 1) throw shapeMismatch(layer, `input ${describe(n)}`, input.shape);
  return input;
}

/** A stride that defaults to the kernel size (null: tile without overlap, PyTorch's default). */
function strideOrKernel(n: number): OptionSpec<number | number[] | null> {
  return { default: null, parse: (who, name, v) => (v === null ? null : spatial(n, 1, 1).parse(who, name, v)) };
}

const kernelPositional = (n: number) => ({ kernelSize: required(spatial(n, 1, 1)) });

/** The options MaxPool and AvgPool share, in config order. */
function windowCommon(n: number) {
  return {
    /** Default: the kernel size, so windows tile without overlap (PyTorch's default). */
    stride: strideOrKernel(n),
    /** Implicit padding on both sides, at most half the kernel (default 0). */
    padding: spatial(n, 0, 0),
    /** Round output sizes up; the last window must start inside the input or its left padding (default false). */
    ceilMode: option.boolean(false),
  };
}

function maxPoolSchema(className: string, n: number) {
  /** Spacing between window cells (default 1). */
  return new LayerSchema(className, kernelPositional(n), { ...windowCommon(n), dilation: spatial(n, 1, 1) });
}

function avgPoolSchema(className: string, n: number) {
  const divisorOverride: OptionSpec<number | null> = {
    default: null,
    parse: (who, name, v) => (v === null ? null : check(who).integer(name, v)),
  };
  /** countIncludePad: count padding cells in each window's divisor (default true); divisorOverride: divide every window's sum by this instead. */
  return new LayerSchema(className, kernelPositional(n), { ...windowCommon(n), countIncludePad: option.boolean(true), divisorOverride });
}

function unpoolSchema(className: string, n: number) {
  return new LayerSchema(className, kernelPositional(n), { stride: strideOrKernel(n), padding: spatial(n, 0, 0) });
}

const maxPool1d = maxPoolSchema('MaxPool1d', 1);
const maxPool2d = maxPoolSchema('MaxPool2d', 2);
const avgPool1d = avgPoolSchema('AvgPool1d', 1);
const avgPool2d = avgPoolSchema('AvgPool2d', 2);
const maxUnpool1d = unpoolSchema('MaxUnpool1d', 1);
const maxUnpool2d = unpoolSchema('MaxUnpool2d', 2);

/** The option every layer takes. */
export interface NameOption {
  /** Name shown in errors and summaries. */
  name?: string;
}

/** The field an adaptive pooling layer keeps. */
export interface AdaptivePoolValues {
  /** Output size per spatial axis (null keeps that axis's input size). */
  readonly outputSize: number | (number | null)[];
}
/** The window options every pooling layer takes besides its kernel size. */
export type WindowOverrides = {
  /** Step between windows (default: the kernel size). */
  stride?: SpatialSize | null;
  /** Padding per spatial axis (default 0). */
  padding?: SpatialSize;
  /** Spacing between window elements (default 1). */
  dilation?: SpatialSize;
  /** Name shown in errors and summaries. */
  name?: string;
};

/** Options of the pooling layers: stride (default: the kernel size), padding, ceilMode. */
export type PoolLayerOptions = Omit<OptionsOf<ReturnType<typeof windowCommon>>, 'stride' | 'padding'> & Omit<WindowOverrides, 'dilation'>;
/** MaxPool1d/2d's options: those of every pooling layer and dilation. */
export type MaxPoolLayerOptions = PoolLayerOptions & {
  /** Spacing between window elements (default 1). */
  dilation?: SpatialSize;
};
/** AvgPool1d/2d's options: those of every pooling layer, countIncludePad (default true) and divisorOverride. */
export type AvgPoolLayerOptions = PoolLayerOptions & Omit<OptionsOf<ReturnType<typeof avgPoolSchema>['options']>, keyof PoolLayerOptions>;

type WindowValues = { kernelSize: number | number[]; stride: number | number[] | null; padding: number | number[]; ceilMode: boolean };

abstract class WindowPool extends Module {
  /** Window size, per spatial axis. */
  readonly kernelSize: number | number[];
  /** Step between windows, per spatial axis. */
  readonly stride: number | number[];
  /** Padding per spatial axis. */
  readonly padding: number | number[];
  /** Whether the output size rounds up, so that windows may start in the padding. */
  readonly ceilMode: boolean;
  protected readonly spatialDims: number;

  protected abstract readonly schema: LayerSchema<ReturnType<typeof kernelPositional>, ReturnType<typeof windowCommon>>;

  protected constructor(n: number, o: WindowValues, options: { name?: string }) {
    super();
    const op = (this.constructor as typeof Module).className;
    this.spatialDims = n;
    this.kernelSize = o.kernelSize;
    this.stride = o.stride ?? this.kernelSize;
    this.padding = o.padding;
    const kernel = typeof this.kernelSize === 'number' ? [this.kernelSize] : this.kernelSize;
    (typeof this.padding === 'number' ? [this.padding] : this.padding).forEach((p, i) => {
      if (p > Math.floor(kernel[i] / 2)) throw new ValueError(`${op}: padding ${p} must be at most half the kernel size ${kernel[i]}`);
    });
    this.ceilMode = o.ceilMode;
    if (options.name !== undefined) this.withName(options.name);
  }

  override getConfig(): LayerConfig {
    return this.schema.config(this);
  }

  override extraRepr(): string {
    return Object.entries(this.getConfig())
      .map(([k, v]) => `${k}=${fmtSpatial(v)}`)
      .join(', ');
  }
}

abstract class MaxPoolNd extends WindowPool {
  /** Spacing between window elements. */
  readonly dilation: number | number[];

  protected constructor(n: number, o: WindowValues & { dilation: number | number[] }, options: MaxPoolLayerOptions) {
    super(n, o, options);
    this.dilation = o.dilation;
  }

  forward(x: Tensor): Tensor {
    return this.forwardWithIndices(x)[0];
  }

  /**
   * The pooled values and the switches: an int32 tensor of the output's shape
   * holding each maximum's flat index within its own (n, c) input plane, for
   * MaxUnpool (PyTorch's return_indices).
   */
  forwardWithIndices(x: Tensor): [Tensor, Tensor] {
    const input = pooledInput(this, x, this.spatialDims);
    return maxPoolNd(
      this.label,
      input,
      { kernelSize: this.kernelSize, stride: this.stride, padding: this.padding, dilation: this.dilation, ceilMode: this.ceilMode },
      this.spatialDims,
    );
  }
}

/** Max pooling over windows of [N, C, H, W]; padding cells count as -Infinity. */
export class MaxPool2d extends MaxPoolNd {
  static override readonly className = 'MaxPool2d';

  protected readonly schema = maxPool2d;

  constructor(kernelSize: number | readonly [number, number], options: MaxPoolLayerOptions = {}) {
    super(2, maxPool2d.parse([kernelSize], options), options);
  }
}

/** Max pooling over windows of [N, C, L]. */
export class MaxPool1d extends MaxPoolNd {
  static override readonly className = 'MaxPool1d';

  protected readonly schema = maxPool1d;

  constructor(kernelSize: number, options: MaxPoolLayerOptions = {}) {
    super(1, maxPool1d.parse([kernelSize], options), options);
  }
}

abstract class AvgPoolNd extends WindowPool {
  /** Whether padding zeros count in each average. */
  readonly countIncludePad: boolean;
  /** Divide every window by this instead of its size (null for none). */
  readonly divisorOverride: number | null;

  protected constructor(n: number, o: WindowValues & { countIncludePad: boolean; divisorOverride: number | null }, options: AvgPoolLayerOptions) {
    super(n, o, options);
    this.countIncludePad = o.countIncludePad;
    this.divisorOverride = o.divisorOverride;
  }

  forward(x: Tensor): Tensor {
    const input = pooledInput(this, x, this.spatialDims);
    return avgPoolNd(
      this.label,
      input,
      {
        kernelSize: this.kernelSize,
        stride: this.stride,
        padding: this.padding,
        ceilMode: this.ceilMode,
        countIncludePad: this.countIncludePad,
        divisorOverride: this.divisorOverride,
      },
      this.spatialDims,
    );
  }
}

/** Average pooling over windows of [N, C, H, W]; padding cells are zeros (counted in the divisor unless countIncludePad is false). */
export class AvgPool2d extends AvgPoolNd {
  static override readonly className = 'AvgPool2d';

  protected readonly schema = avgPool2d;

  constructor(kernelSize: number | readonly [number, number], options: AvgPoolLayerOptions = {}) {
    super(2, avgPool2d.parse([kernelSize], options), options);
  }
}

/** Average pooling over windows of [N, C, L]. */
export class AvgPool1d extends AvgPoolNd {
  static override readonly className = 'AvgPool1d';

  protected readonly schema = avgPool1d;

  constructor(kernelSize: number, options: AvgPoolLayerOptions = {}) {
    super(1, avgPool1d.parse([kernelSize], options), options);
  }
}

abstract class MaxUnpoolNd extends Module {
  /** Window size, per spatial axis. */
  readonly kernelSize: number | number[];
  /** Step between windows, per spatial axis. */
  readonly stride: number | number[];
  /** Padding per spatial axis. */
  readonly padding: number | number[];
  protected readonly spatialDims: number;

  protected abstract readonly schema: ReturnType<typeof unpoolSchema>;

  protected constructor(n: number, o: Omit<WindowValues, 'ceilMode'>, options: { name?: string }) {
    super();
    this.spatialDims = n;
    this.kernelSize = o.kernelSize;
    this.stride = o.stride ?? this.kernelSize;
    this.padding = o.padding;
    if (options.name !== undefined) this.withName(options.name);
  }

  /**
   * Zeros of the pooled input's size with each value of x put back at its
   * switch. outputSize (spatial, or a full shape) resolves the sizes a
   * strided pooling maps to one, as PyTorch's output_size.
   */
  forward(x: Tensor, indices: Tensor, outputSize?: readonly number[]): Tensor {
    const input = pooledInput(this, x, this.spatialDims);
    expectTensor(this, indices, 'indices');
    return maxUnpoolNd(this.label, input, indices, { kernelSize: this.kernelSize, stride: this.stride, padding: this.padding, outputSize }, this.spatialDims);
  }

  override getConfig(): LayerConfig {
    return this.schema.config(this);
  }

  override extraRepr(): string {
    return `kernelSize=${fmtSpatial(this.kernelSize)}, stride=${fmtSpatial(this.stride)}, padding=${fmtSpatial(this.padding)}`;
  }
}

/**
 * Max unpooling (the notes' "deconvolution: unpooling", after Zeiler &
 * Fergus): takes pooled maps and the switches from MaxPool2d.forwardWithIndices
 * and returns maps of the pre-pooling size, zero except at the recorded maxima.
 */
export class MaxUnpool2d extends MaxUnpoolNd {
  static override readonly className = 'MaxUnpool2d';

  constructor(
    /** Window size, per spatial axis. */
    kernelSize: number | readonly [number, number],
    options: { stride?: number | readonly [number, number] | null; padding?: number | readonly [number, number]; name?: string } = {},
  ) {
    super(2, maxUnpool2d.parse([kernelSize], options), options);
  }

  protected readonly schema = maxUnpool2d;
}

/** Max unpooling of [N, C, L] from MaxPool1d.forwardWithIndices switches. */
export class MaxUnpool1d extends MaxUnpoolNd {
  static override readonly className = 'MaxUnpool1d';

  protected readonly schema = maxUnpool1d;

  constructor(kernelSize: number, options: { stride?: number | null; padding?: number; name?: string } = {}) {
    super(1, maxUnpool1d.parse([kernelSize], options), options);
  }
}

/** A pooling layer class made from a table entry. */
export interface PoolClass<Args extends unknown[], Fields> {
  new (...args: Args): Module & Readonly<Fields>;
  /** The class name saved in architecture files. */
  readonly className: string;
}

type AdaptiveOutputSize<N extends 1 | 2> = N extends 1 ? number : number | readonly [number | null, number | null];

/**
 * One entry of the adaptive-pooling table: the class name, its number of
 * spatial axes and its functional form. The output size is checked once here.
 */
function adaptivePool<N extends 1 | 2>(
  className: string,
  n: N,
  fn: (who: string, x: Tensor, outputSize: number | (number | null)[], n: number) => Tensor,
): PoolClass<[outputSize: AdaptiveOutputSize<N>, options?: NameOption], AdaptivePoolValues> {
  const layer = class extends Module {
    static override readonly className: string = className;
    /** Output size per spatial axis (null keeps the input size). */
    readonly outputSize: number | (number | null)[];
    constructor(outputSize: AdaptiveOutputSize<N>, options: NameOption = {}) {
      super();
      parseOptions(className, {}, options, ['name']);
      const list = typeof outputSize === 'number' ? [outputSize] : outputSize;
      if (
        !Array.isArray(list) ||
        (typeof outputSize !== 'number' && list.length !== n) ||
        list.some((s) => s !== null && (typeof s !== 'number' || !Number.isInteger(s) || s < 1))
      ) {
        throw new ValueError(`${className}: outputSize must be a positive integer or ${n} of them (null keeps that axis), got ${JSON.stringify(outputSize)}`);
      }
      this.outputSize = typeof outputSize === 'number' ? outputSize : [...(outputSize as readonly (number | null)[])];
      if (options.name !== undefined) this.withName(options.name);
    }
    forward(x: Tensor): Tensor {
      return fn(this.label, pooledInput(this, x, n), this.outputSize, n);
    }
    override getConfig(): LayerConfig {
      return { outputSize: this.outputSize };
    }
    override extraRepr(): string {
      return `outputSize=${fmtSpatial(this.outputSize)}`;
    }
  };
  registerLayer(className, (c) => new layer(c.outputSize as AdaptiveOutputSize<N>));
  return layer;
}

const globalPoolOptions = {
  /** Keep the pooled axes with size 1 (default false: drop them). */
  keepDims: option.boolean(false),
};

/**
 * One entry of the global-pooling table: the class name, its number of
 * spatial axes and its functional form. `keepDims` keeps the pooled axes as
 * size 1 ([N, C, 1, 1]) instead of dropping them ([N, C]).
 */
function globalPool(
  className: string,
  n: 1 | 2,
  fn: (x: Tensor, keepDims: boolean) => Tensor,
): PoolClass<[options?: OptionsOf<typeof globalPoolOptions> & NameOption], OptionValues<typeof globalPoolOptions>> {
  const layer = class extends Module {
    static override readonly className: string = className;
    /** Whether the pooled axes are kept with size 1. */
    readonly keepDims: boolean;
    constructor(options: OptionsOf<typeof globalPoolOptions> & NameOption = {}) {
      super();
      this.keepDims = parseOptions(className, globalPoolOptions, options, ['name']).keepDims;
      if (options.name !== undefined) this.withName(options.name);
    }
    forward(x: Tensor): Tensor {
      return fn(pooledInput(this, x, n), this.keepDims);
    }
    override getConfig(): LayerConfig {
      return optionsConfig(globalPoolOptions, this);
    }
  };
  registerLayer(className, (c) => new layer(c as OptionsOf<typeof globalPoolOptions>));
  return layer;
}

/**
 * Average pooling to a fixed output size whatever the input size: output
 * cell i averages input cells floor(i·in/out) to ceil((i+1)·in/out) - 1 on
 * each axis (PyTorch's windows). AdaptiveAvgPool2d(1) is global average pooling.
 */
export const AdaptiveAvgPool2d = adaptivePool('AdaptiveAvgPool2d', 2, adaptiveAvgPoolNd);
/** Adaptive average pooling of [N, C, L] to a fixed length. */
export const AdaptiveAvgPool1d = adaptivePool('AdaptiveAvgPool1d', 1, adaptiveAvgPoolNd);
/** Max pooling to a fixed output size, with AdaptiveAvgPool2d's windows. */
export const AdaptiveMaxPool2d = adaptivePool('AdaptiveMaxPool2d', 2, adaptiveMaxPoolNd);
/** Adaptive max pooling of [N, C, L] to a fixed length. */
export const AdaptiveMaxPool1d = adaptivePool('AdaptiveMaxPool1d', 1, adaptiveMaxPoolNd);
/** Mean of each channel over H and W (Keras' GlobalAveragePooling2D): [N, C, H, W] → [N, C]. */
export const GlobalAvgPool2d = globalPool('GlobalAvgPool2d', 2, globalAvgPool2d);
/** Maximum of each channel over H and W: [N, C, H, W] → [N, C]. */
export const GlobalMaxPool2d = globalPool('GlobalMaxPool2d', 2, globalMaxPool2d);
/** Mean of each channel over L: [N, C, L] → [N, C]. */
export const GlobalAvgPool1d = globalPool('GlobalAvgPool1d', 1, globalAvgPool1d);
/** Maximum of each channel over L: [N, C, L] → [N, C]. */
export const GlobalMaxPool1d = globalPool('GlobalMaxPool1d', 1, globalMaxPool1d);

// Each table entry is a class value; these aliases make its name a type too.
export type AdaptiveAvgPool2d = InstanceType<typeof AdaptiveAvgPool2d>;
export type AdaptiveAvgPool1d = InstanceType<typeof AdaptiveAvgPool1d>;
export type AdaptiveMaxPool2d = InstanceType<typeof AdaptiveMaxPool2d>;
export type AdaptiveMaxPool1d = InstanceType<typeof AdaptiveMaxPool1d>;
export type GlobalAvgPool2d = InstanceType<typeof GlobalAvgPool2d>;
export type GlobalMaxPool2d = InstanceType<typeof GlobalMaxPool2d>;
export type GlobalAvgPool1d = InstanceType<typeof GlobalAvgPool1d>;
export type GlobalMaxPool1d = InstanceType<typeof GlobalMaxPool1d>;

maxPool1d.register((k, options) => new MaxPool1d(k as number, options as MaxPoolLayerOptions));
maxPool2d.register((k, options) => new MaxPool2d(k as [number, number], options as MaxPoolLayerOptions));
avgPool1d.register((k, options) => new AvgPool1d(k as number, options as AvgPoolLayerOptions));
avgPool2d.register((k, options) => new AvgPool2d(k as [number, number], options as AvgPoolLayerOptions));
maxUnpool1d.register((k, options) => new MaxUnpool1d(k as number, options as { stride?: number; padding?: number }));
maxUnpool2d.register((k, options) => new MaxUnpool2d(k as [number, number], options as { stride?: [number, number]; padding?: [number, number] }));
