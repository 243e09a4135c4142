import { ValueError } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import { check } from '../../core/validate.js';
import {
  type AdaptiveSize,
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
import { registerLayer } from '../registry.js';
import { anyFloatInput, expectTensor, shapeMismatch } from './checks.js';
import { fmtSpatial, spatialOption } from './conv.js';

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

export interface PoolLayerOptions {
  /** Default: the kernel size, so windows tile without overlap (PyTorch's default). */
  stride?: number | readonly number[] | null;
  /** Implicit padding on both sides, at most half the kernel (default 0). */
  padding?: number | readonly number[];
  /** Round output sizes up; the last window must start inside the input or its left padding (default false). */
  ceilMode?: boolean;
  name?: string;
}

export interface MaxPoolLayerOptions extends PoolLayerOptions {
  /** Spacing between window cells (default 1). */
  dilation?: number | readonly number[];
}

export interface AvgPoolLayerOptions extends PoolLayerOptions {
  /** Count padding cells in each window's divisor (default true). */
  countIncludePad?: boolean;
  /** Divide every window's sum by this instead. */
  divisorOverride?: number | null;
}

abstract class WindowPool extends Module {
  readonly kernelSize: number | number[];
  readonly stride: number | number[];
  readonly padding: number | number[];
  readonly ceilMode: boolean;
  protected readonly spatialDims: number;

  protected constructor(n: number, kernelSize: number | readonly number[], options: PoolLayerOptions) {
    super();
    const op = (this.constructor as typeof Module).className;
    this.spatialDims = n;
    this.kernelSize = spatialOption(op, 'kernelSize', kernelSize, n, 1);
    this.stride = options.stride === undefined || options.stride === null ? this.kernelSize : spatialOption(op, 'stride', options.stride, n, 1);
    this.padding = spatialOption(op, 'padding', options.padding ?? 0, n, 0);
    const kernel = typeof this.kernelSize === 'number' ? [this.kernelSize] : this.kernelSize;
    (typeof this.padding === 'number' ? [this.padding] : this.padding).forEach((p, i) => {
      if (p > Math.floor(kernel[i] / 2)) throw new ValueError(`${op}: padding ${p} must be at most half the kernel size ${kernel[i]}`);
    });
    this.ceilMode = check(op).boolean('ceilMode', options.ceilMode ?? false);
    if (options.name !== undefined) this.withName(options.name);
  }

  override getConfig(): LayerConfig {
    return { kernelSize: this.kernelSize, stride: this.stride, padding: this.padding, ceilMode: this.ceilMode };
  }

  override extraRepr(): string {
    return Object.entries(this.getConfig())
      .map(([k, v]) => `${k}=${fmtSpatial(v)}`)
      .join(', ');
  }
}

abstract class MaxPoolNd extends WindowPool {
  readonly dilation: number | number[];

  protected constructor(n: number, kernelSize: number | readonly number[], options: MaxPoolLayerOptions) {
    super(n, kernelSize, options);
    this.dilation = spatialOption(this.className, 'dilation', options.dilation ?? 1, n, 1);
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

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), dilation: this.dilation };
  }
}

/** Max pooling over windows of [N, C, H, W]; padding cells count as -Infinity. */
export class MaxPool2d extends MaxPoolNd {
  static override readonly className = 'MaxPool2d';

  constructor(kernelSize: number | readonly [number, number], options: MaxPoolLayerOptions = {}) {
    super(2, kernelSize, options);
  }
}

/** Max pooling over windows of [N, C, L]. */
export class MaxPool1d extends MaxPoolNd {
  static override readonly className = 'MaxPool1d';

  constructor(kernelSize: number, options: MaxPoolLayerOptions = {}) {
    super(1, kernelSize, options);
  }
}

abstract class AvgPoolNd extends WindowPool {
  readonly countIncludePad: boolean;
  readonly divisorOverride: number | null;

  protected constructor(n: number, kernelSize: number | readonly number[], options: AvgPoolLayerOptions) {
    super(n, kernelSize, options);
    this.countIncludePad = check(this.className).boolean('countIncludePad', options.countIncludePad ?? true);
    const d = options.divisorOverride ?? null;
    if (d !== null && (!Number.isInteger(d) || d < 1)) throw new ValueError(`${this.className}: divisorOverride must be a positive integer, got ${d}`);
    this.divisorOverride = d;
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

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), countIncludePad: this.countIncludePad, divisorOverride: this.divisorOverride };
  }
}

/** Average pooling over windows of [N, C, H, W]; padding cells are zeros (counted in the divisor unless countIncludePad is false). */
export class AvgPool2d extends AvgPoolNd {
  static override readonly className = 'AvgPool2d';

  constructor(kernelSize: number | readonly [number, number], options: AvgPoolLayerOptions = {}) {
    super(2, kernelSize, options);
  }
}

/** Average pooling over windows of [N, C, L]. */
export class AvgPool1d extends AvgPoolNd {
  static override readonly className = 'AvgPool1d';

  constructor(kernelSize: number, options: AvgPoolLayerOptions = {}) {
    super(1, kernelSize, options);
  }
}

abstract class MaxUnpoolNd extends Module {
  readonly kernelSize: number | number[];
  readonly stride: number | number[];
  readonly padding: number | number[];
  protected readonly spatialDims: number;

  protected constructor(
    n: number,
    kernelSize: number | readonly number[],
    options: { stride?: number | readonly number[] | null; padding?: number | readonly number[]; name?: string },
  ) {
    super();
    const op = (this.constructor as typeof Module).className;
    this.spatialDims = n;
    this.kernelSize = spatialOption(op, 'kernelSize', kernelSize, n, 1);
    this.stride = options.stride === undefined || options.stride === null ? this.kernelSize : spatialOption(op, 'stride', options.stride, n, 1);
    this.padding = spatialOption(op, 'padding', options.padding ?? 0, n, 0);
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
    return { kernelSize: this.kernelSize, stride: this.stride, padding: this.padding };
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
    kernelSize: number | readonly [number, number],
    options: { stride?: number | readonly [number, number] | null; padding?: number | readonly [number, number]; name?: string } = {},
  ) {
    super(2, kernelSize, options);
  }
}

/** Max unpooling of [N, C, L] from MaxPool1d.forwardWithIndices switches. */
export class MaxUnpool1d extends MaxUnpoolNd {
  static override readonly className = 'MaxUnpool1d';

  constructor(kernelSize: number, options: { stride?: number | null; padding?: number; name?: string } = {}) {
    super(1, kernelSize, options);
  }
}

abstract class AdaptivePool extends Module {
  readonly outputSize: number | (number | null)[];
  protected readonly spatialDims: number;

  protected constructor(n: number, outputSize: AdaptiveSize, options: { name?: string }) {
    super();
    const op = (this.constructor as typeof Module).className;
    this.spatialDims = n;
    const list = typeof outputSize === 'number' ? [outputSize] : outputSize;
    if (
      !Array.isArray(list) ||
      (typeof outputSize !== 'number' && list.length !== n) ||
      list.some((s) => s !== null && (typeof s !== 'number' || !Number.isInteger(s) || s < 1))
    ) {
      throw new ValueError(`${op}: outputSize must be a positive integer or ${n} of them (null keeps that axis), got ${JSON.stringify(outputSize)}`);
    }
    this.outputSize = typeof outputSize === 'number' ? outputSize : [...outputSize];
    if (options.name !== undefined) this.withName(options.name);
  }

  override getConfig(): LayerConfig {
    return { outputSize: this.outputSize };
  }

  override extraRepr(): string {
    return `outputSize=${fmtSpatial(this.outputSize)}`;
  }
}

/**
 * Average pooling to a fixed output size whatever the input size: output
 * cell i averages input cells floor(i·in/out) to ceil((i+1)·in/out) - 1 on
 * each axis (PyTorch's windows). AdaptiveAvgPool2d(1) is global average pooling.
 */
export class AdaptiveAvgPool2d extends AdaptivePool {
  static override readonly className = 'AdaptiveAvgPool2d';

  constructor(outputSize: number | readonly [number | null, number | null], options: { name?: string } = {}) {
    super(2, outputSize, options);
  }

  forward(x: Tensor): Tensor {
    return adaptiveAvgPoolNd(this.label, pooledInput(this, x, 2), this.outputSize, 2);
  }
}

/** Adaptive average pooling of [N, C, L] to a fixed length. */
export class AdaptiveAvgPool1d extends AdaptivePool {
  static override readonly className = 'AdaptiveAvgPool1d';

  constructor(outputSize: number, options: { name?: string } = {}) {
    super(1, outputSize, options);
  }

  forward(x: Tensor): Tensor {
    return adaptiveAvgPoolNd(this.label, pooledInput(this, x, 1), this.outputSize, 1);
  }
}

/** Max pooling to a fixed output size, with AdaptiveAvgPool2d's windows. */
export class AdaptiveMaxPool2d extends AdaptivePool {
  static override readonly className = 'AdaptiveMaxPool2d';

  constructor(outputSize: number | readonly [number | null, number | null], options: { name?: string } = {}) {
    super(2, outputSize, options);
  }

  forward(x: Tensor): Tensor {
    return adaptiveMaxPoolNd(this.label, pooledInput(this, x, 2), this.outputSize, 2);
  }
}

/** Adaptive max pooling of [N, C, L] to a fixed length. */
export class AdaptiveMaxPool1d extends AdaptivePool {
  static override readonly className = 'AdaptiveMaxPool1d';

  constructor(outputSize: number, options: { name?: string } = {}) {
    super(1, outputSize, options);
  }

  forward(x: Tensor): Tensor {
    return adaptiveMaxPoolNd(this.label, pooledInput(this, x, 1), this.outputSize, 1);
  }
}

abstract class GlobalPool extends Module {
  /** Keep the pooled axes as size 1 ([N, C, 1, 1]) instead of dropping them ([N, C]). */
  readonly keepDims: boolean;

  protected constructor(options: { keepDims?: boolean; name?: string }) {
    super();
    this.keepDims = check((this.constructor as typeof Module).className).boolean('keepDims', options.keepDims ?? false);
    if (options.name !== undefined) this.withName(options.name);
  }

  override getConfig(): LayerConfig {
    return { keepDims: this.keepDims };
  }
}

/** Mean of each channel over H and W (Keras' GlobalAveragePooling2D): [N, C, H, W] → [N, C]. */
export class GlobalAvgPool2d extends GlobalPool {
  static override readonly className = 'GlobalAvgPool2d';

  constructor(options: { keepDims?: boolean; name?: string } = {}) {
    super(options);
  }

  forward(x: Tensor): Tensor {
    return globalAvgPool2d(pooledInput(this, x, 2), this.keepDims);
  }
}

/** Maximum of each channel over H and W: [N, C, H, W] → [N, C]. */
export class GlobalMaxPool2d extends GlobalPool {
  static override readonly className = 'GlobalMaxPool2d';

  constructor(options: { keepDims?: boolean; name?: string } = {}) {
    super(options);
  }

  forward(x: Tensor): Tensor {
    return globalMaxPool2d(pooledInput(this, x, 2), this.keepDims);
  }
}

/** Mean of each channel over L: [N, C, L] → [N, C]. */
export class GlobalAvgPool1d extends GlobalPool {
  static override readonly className = 'GlobalAvgPool1d';

  constructor(options: { keepDims?: boolean; name?: string } = {}) {
    super(options);
  }

  forward(x: Tensor): Tensor {
    return globalAvgPool1d(pooledInput(this, x, 1), this.keepDims);
  }
}

/** Maximum of each channel over L: [N, C, L] → [N, C]. */
export class GlobalMaxPool1d extends GlobalPool {
  static override readonly className = 'GlobalMaxPool1d';

  constructor(options: { keepDims?: boolean; name?: string } = {}) {
    super(options);
  }

  forward(x: Tensor): Tensor {
    return globalMaxPool1d(pooledInput(this, x, 1), this.keepDims);
  }
}

registerLayer(MaxPool1d.className, (c) => new MaxPool1d(c.kernelSize as number, c as MaxPoolLayerOptions));
registerLayer(MaxPool2d.className, (c) => new MaxPool2d(c.kernelSize as [number, number], c as MaxPoolLayerOptions));
registerLayer(AvgPool1d.className, (c) => new AvgPool1d(c.kernelSize as number, c as AvgPoolLayerOptions));
registerLayer(AvgPool2d.className, (c) => new AvgPool2d(c.kernelSize as [number, number], c as AvgPoolLayerOptions));
registerLayer(MaxUnpool1d.className, (c) => new MaxUnpool1d(c.kernelSize as number, { stride: c.stride as number, padding: c.padding as number }));
registerLayer(
  MaxUnpool2d.className,
  (c) => new MaxUnpool2d(c.kernelSize as [number, number], { stride: c.stride as [number, number], padding: c.padding as [number, number] }),
);
registerLayer(AdaptiveAvgPool1d.className, (c) => new AdaptiveAvgPool1d(c.outputSize as number));
registerLayer(AdaptiveAvgPool2d.className, (c) => new AdaptiveAvgPool2d(c.outputSize as [number | null, number | null]));
registerLayer(AdaptiveMaxPool1d.className, (c) => new AdaptiveMaxPool1d(c.outputSize as number));
registerLayer(AdaptiveMaxPool2d.className, (c) => new AdaptiveMaxPool2d(c.outputSize as [number | null, number | null]));
registerLayer(GlobalAvgPool1d.className, (c) => new GlobalAvgPool1d({ keepDims: c.keepDims as boolean | undefined }));
registerLayer(GlobalAvgPool2d.className, (c) => new GlobalAvgPool2d({ keepDims: c.keepDims as boolean | undefined }));
registerLayer(GlobalMaxPool1d.className, (c) => new GlobalMaxPool1d({ keepDims: c.keepDims as boolean | undefined }));
registerLayer(GlobalMaxPool2d.className, (c) => new GlobalMaxPool2d({ keepDims: c.keepDims as boolean | undefined }));
