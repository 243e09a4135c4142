import type { FloatDType } from '../../core/dtype.js';
import { ValueError } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import { convOutputSize, type SpatialSize, unfoldNd } from '../../ops/conv.js';
import { matmulPrimitive } from '../../ops/primitives.js';
import { initLayerParameters, type ParameterInitOptions, uniform } from '../init.js';
import { type LayerConfig, Module } from '../module.js';
import { LayerSchema, type OptionsOf, option, required, spatial } from '../options.js';
import type { Parameter } from '../parameter.js';
import { floatInput, shapeMismatch } from './checks.js';
import { asList } from './conv.js';

/** LocallyConnected1d's and LocallyConnected2d's arguments, declared once. */
function schemaFor(className: string, n: number) {
  return new LayerSchema(
    className,
    {
      inChannels: required(option.integer(1)),
      outChannels: required(option.integer(1)),
      /** The input's spatial size, fixed: each output position has its own weights. */
      inputSize: required(spatial(n, 1, 1)),
      kernelSize: required(spatial(n, 1, 1)),
    },
    {
      /** Step between output positions (default 1). */
      stride: spatial(n, 1, 1),
      /** Zero padding on both sides (default 0). */
      padding: spatial(n, 0, 0),
      /** Spacing between kernel taps (default 1). */
      dilation: spatial(n, 1, 1),
      /** Learn a bias per output channel and position (default true). */
      bias: option.boolean(true),
      /** Dtype of the weights. */
      dtype: option.floatDType(),
    },
    ['name', 'weightInit', 'biasInit', 'generator'],
  );
}
const lc1d = schemaFor('LocallyConnected1d', 1);
const lc2d = schemaFor('LocallyConnected2d', 2);

/** Options of the locally-connected layers: stride, padding, dilation, bias, dtype, and how to initialise. */
export interface LocallyConnectedOptions extends Omit<OptionsOf<typeof lc2d.options>, 'stride' | 'padding' | 'dilation'>, ParameterInitOptions {
  /** Step between windows, per spatial axis. */
  stride?: SpatialSize;
  /** Zero padding, per spatial axis. */
  padding?: SpatialSize;
  /** Spacing between kernel elements, per spatial axis. */
  dilation?: SpatialSize;
  /** Name shown in errors and summaries. */
  name?: string;
}

/** As a layer config stores it: a number for 1-D layers, [h, w] for 2-D ones. */
function stored(values: readonly number[]): number | number[] {
  return values.length === 1 ? values[0] : [...values];
}

/**
 * Like a convolution, but with a separate filter at every output position (no
 * weight sharing): the notes' locally-connected layer (Keras'
 * LocallyConnected1D/2D), which keeps more spatial information at the price
 * of many more parameters and a fixed input size.
 *
 * Layouts: weight [P, outChannels, inChannels·K] with P the number of output
 * positions (row-major over outH, outW) and K the kernel area, so weight[p]
 * is a Linear-style [out, in] matrix applied to the window at position p,
 * whose entries are ordered (c, kh, kw) like a Conv2d weight row; bias
 * [outChannels, ...outSize], one per channel and position. Computed as
 * unfold (im2col) and one batched matrix product over positions.
 *
 * Default initialisation: U(-1/√fanIn, 1/√fanIn) for weight and bias with
 * fanIn = inChannels·K, the bound PyTorch's convolutions use.
 */
abstract class LocallyConnectedNd extends Module {
  /** Input channels. */
  readonly inChannels: number;
  /** Output channels. */
  readonly outChannels: number;
  /** SpatialSize size of the input, which fixes the number of weight sets. */
  readonly inputSize: number[];
  /** Kernel size, per spatial axis. */
  readonly kernelSize: number[];
  /** Step between windows, per spatial axis. */
  readonly stride: number[];
  /** Zero padding, per spatial axis. */
  readonly padding: number[];
  /** Spacing between kernel elements, per spatial axis. */
  readonly dilation: number[];
  /** Output positions per spatial axis. */
  readonly outputSize: number[];
  /** Dtype of the weights. */
  readonly dtype: FloatDType;
  /** Learned weights, a separate kernel for every output position. */
  weight: Parameter;
  /** Learned bias, one per output position and channel (null without bias). */
  bias: Parameter | null;
  protected readonly spatialDims: number;

  private readonly schema: ReturnType<typeof schemaFor>;

  protected constructor(n: number, schema: ReturnType<typeof schemaFor>, args: readonly unknown[], options: LocallyConnectedOptions) {
    super();
    const op = (this.constructor as typeof Module).className;
    const o = schema.parse(args, options);
    this.schema = schema;
    this.spatialDims = n;
    const { inChannels, outChannels } = o;
    this.inChannels = inChannels;
    this.outChannels = outChannels;
    this.inputSize = asList(o.inputSize, n);
    this.kernelSize = asList(o.kernelSize, n);
    this.stride = asList(o.stride, n);
    this.padding = asList(o.padding, n);
    this.dilation = asList(o.dilation, n);
    this.outputSize = this.inputSize.map((s, i) => convOutputSize(s, this.kernelSize[i], this.stride[i], this.padding[i], this.dilation[i]));
    if (this.outputSize.some((s) => s < 1)) {
      throw new ValueError(
        `${op}: inputSize ${JSON.stringify(stored(this.inputSize))} padded by ${JSON.stringify(stored(this.padding))} is smaller than the kernel ${JSON.stringify(stored(this.kernelSize))}`,
      );
    }
    this.dtype = o.dtype;
    const hasBias = o.bias;
    if (options.name !== undefined) this.withName(options.name);
    const positions = this.outputSize.reduce((p, d) => p * d, 1);
    const fanIn = inChannels * this.kernelSize.reduce((p, d) => p * d, 1);
    const biasShape = hasBias ? [outChannels, ...this.outputSize] : null;
    const { weight, bias } = initLayerParameters(op, [positions, outChannels, fanIn], biasShape, this.dtype, fanIn, options, (w, generator) => {
      const bound = 1 / Math.sqrt(fanIn);
      uniform(w, -bound, bound, { generator });
    });
    this.weight = weight;
    this.bias = bias;
  }

  forward(x: Tensor): Tensor {
    const n = this.spatialDims;
    let input = floatInput(this, x, this.dtype);
    const expected = [this.inChannels, ...this.inputSize];
    const unbatched = input.ndim === n + 1;
    const sample = input.shape.slice(unbatched ? 0 : 1);
    if ((input.ndim !== n + 2 && !unbatched) || sample.some((d, i) => d !== expected[i])) {
      throw shapeMismatch(this, `input [N, ${expected.join(', ')}] or [${expected.join(', ')}]`, input.shape);
    }
    if (unbatched) input = input.reshape([1, ...input.shape]);
    const batch = input.shape[0];
    // cols [N, C·K, P] → [P, N, C·K]; then per position p: [N, C·K] · weight[p]ᵀ → [P, N, out].
    const [cols] = unfoldNd(this.label, input, { kernelSize: this.kernelSize, stride: this.stride, padding: this.padding, dilation: this.dilation }, n);
    const perPosition = matmulPrimitive(cols.permute([2, 0, 1]), this.weight, false, true);
    let y = perPosition.permute([1, 2, 0]).reshape([batch, this.outChannels, ...this.outputSize]);
    if (this.bias) y = y.add(this.bias);
    return unbatched ? y.reshape(y.shape.slice(1)) : y;
  }

  override getConfig(): LayerConfig {
    const spatialValues = ['inputSize', 'kernelSize', 'stride', 'padding', 'dilation'] as const;
    return this.schema.config(this, {
      ...Object.fromEntries(spatialValues.map((k) => [k, stored(this[k])])),
      bias: this.bias !== null,
    });
  }

  override extraRepr(): string {
    const f = (v: number[]) => (v.length === 1 ? String(v[0]) : `(${v.join(', ')})`);
    return `${this.inChannels}, ${this.outChannels}, inputSize=${f(this.inputSize)}, kernelSize=${f(this.kernelSize)}, stride=${f(this.stride)}, outputSize=${f(this.outputSize)}`;
  }
}

/**
 * Locally-connected 2-D layer: [N, inChannels, H, W] (H, W fixed by
 * inputSize) → [N, outChannels, outH, outW], sizes as Conv2d's. Weight
 * [outH·outW, outChannels, inChannels·KH·KW], bias [outChannels, outH, outW];
 * see LocallyConnectedNd above for the layout and initialisation.
 */
export class LocallyConnected2d extends LocallyConnectedNd {
  static override readonly className = 'LocallyConnected2d';

  constructor(
    inChannels: number,
    outChannels: number,
    /** SpatialSize size of the input, which fixes the number of weight sets. */
    inputSize: number | readonly [number, number],
    /** Kernel size, per spatial axis. */
    kernelSize: number | readonly [number, number],
    options: LocallyConnectedOptions = {},
  ) {
    super(2, lc2d, [inChannels, outChannels, inputSize, kernelSize], options);
  }
}

/**
 * Locally-connected 1-D layer: [N, inChannels, L] (L fixed by inputSize) →
 * [N, outChannels, outL]. Weight [outL, outChannels, inChannels·K], bias
 * [outChannels, outL].
 */
export class LocallyConnected1d extends LocallyConnectedNd {
  static override readonly className = 'LocallyConnected1d';

  constructor(inChannels: number, outChannels: number, inputSize: number, kernelSize: number, options: LocallyConnectedOptions = {}) {
    super(1, lc1d, [inChannels, outChannels, inputSize, kernelSize], options);
  }
}

lc1d.register((i, o, size, k, options) => new LocallyConnected1d(i as number, o as number, size as number, k as number, options as LocallyConnectedOptions));
lc2d.register(
  (i, o, size, k, options) =>
    new LocallyConnected2d(i as number, o as number, size as [number, number], k as [number, number], options as LocallyConnectedOptions),
);
