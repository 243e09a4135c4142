import type { FloatDType } from '../../core/dtype.js';
import { ValueError } from '../../core/errors.js';
import type { Generator } from '../../core/random.js';
import type { Tensor } from '../../core/tensor.js';
import { check } from '../../core/validate.js';
import { convOutputSize, unfoldNd } from '../../ops/conv.js';
import { matmulPrimitive } from '../../ops/primitives.js';
import { type Initializer, initLayerParameters, uniform } from '../init.js';
import { type LayerConfig, Module } from '../module.js';
import type { Parameter } from '../parameter.js';
import { registerLayer } from '../registry.js';
import { floatInput, shapeMismatch } from './checks.js';
import { asList, spatialOption } from './conv.js';

export interface LocallyConnectedOptions {
  /** Step between output positions (default 1). */
  stride?: number | readonly number[];
  /** Zero padding on both sides (default 0). */
  padding?: number | readonly number[];
  /** Spacing between kernel taps (default 1). */
  dilation?: number | readonly number[];
  /** Learn a bias per output channel and position (default true). */
  bias?: boolean;
  dtype?: FloatDType;
  name?: string;
  /** Replaces the default weight initialisation. */
  weightInit?: Initializer;
  /** Replaces the default bias initialisation. */
  biasInit?: Initializer;
  generator?: Generator;
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
  readonly inChannels: number;
  readonly outChannels: number;
  readonly inputSize: number[];
  readonly kernelSize: number[];
  readonly stride: number[];
  readonly padding: number[];
  readonly dilation: number[];
  /** Output positions per spatial axis. */
  readonly outputSize: number[];
  readonly dtype: FloatDType;
  weight: Parameter;
  bias: Parameter | null;
  protected readonly spatialDims: number;

  protected constructor(
    n: number,
    inChannels: number,
    outChannels: number,
    inputSize: number | readonly number[],
    kernelSize: number | readonly number[],
    options: LocallyConnectedOptions,
  ) {
    super();
    const op = (this.constructor as typeof Module).className;
    this.spatialDims = n;
    this.inChannels = check(op).integer('inChannels', inChannels);
    this.outChannels = check(op).integer('outChannels', outChannels);
    this.inputSize = asList(spatialOption(op, 'inputSize', inputSize, n, 1), n);
    this.kernelSize = asList(spatialOption(op, 'kernelSize', kernelSize, n, 1), n);
    this.stride = asList(spatialOption(op, 'stride', options.stride ?? 1, n, 1), n);
    this.padding = asList(spatialOption(op, 'padding', options.padding ?? 0, n, 0), n);
    this.dilation = asList(spatialOption(op, 'dilation', options.dilation ?? 1, n, 1), n);
    this.outputSize = this.inputSize.map((s, i) => convOutputSize(s, this.kernelSize[i], this.stride[i], this.padding[i], this.dilation[i]));
    if (this.outputSize.some((s) => s < 1)) {
      throw new ValueError(
        `${op}: inputSize ${JSON.stringify(stored(this.inputSize))} padded by ${JSON.stringify(stored(this.padding))} is smaller than the kernel ${JSON.stringify(stored(this.kernelSize))}`,
      );
    }
    this.dtype = check(op).floatDType('dtype', options.dtype ?? 'float32');
    const hasBias = check(op).boolean('bias', options.bias ?? true);
    if (options.name !== undefined) this.withName(options.name);
    const positions = this.outputSize.reduce((p, d) => p * d, 1);
    const fanIn = inChannels * this.kernelSize.reduce((p, d) => p * d, 1);
    const biasShape = hasBias ? [outChannels, ...this.outputSize] : null;
    const { weight, bias } = initLayerParameters([positions, outChannels, fanIn], biasShape, this.dtype, fanIn, options, (w, generator) => {
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
    return {
      inChannels: this.inChannels,
      outChannels: this.outChannels,
      inputSize: stored(this.inputSize),
      kernelSize: stored(this.kernelSize),
      stride: stored(this.stride),
      padding: stored(this.padding),
      dilation: stored(this.dilation),
      bias: this.bias !== null,
      dtype: this.dtype,
    };
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
    inputSize: number | readonly [number, number],
    kernelSize: number | readonly [number, number],
    options: LocallyConnectedOptions = {},
  ) {
    super(2, inChannels, outChannels, inputSize, kernelSize, options);
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
    super(1, inChannels, outChannels, inputSize, kernelSize, options);
  }
}

function options(c: LayerConfig): LocallyConnectedOptions {
  return {
    stride: c.stride as number | number[] | undefined,
    padding: c.padding as number | number[] | undefined,
    dilation: c.dilation as number | number[] | undefined,
    bias: c.bias as boolean | undefined,
    dtype: c.dtype as FloatDType | undefined,
  };
}

registerLayer(
  LocallyConnected1d.className,
  (c) => new LocallyConnected1d(c.inChannels as number, c.outChannels as number, c.inputSize as number, c.kernelSize as number, options(c)),
);
registerLayer(
  LocallyConnected2d.className,
  (c) => new LocallyConnected2d(c.inChannels as number, c.outChannels as number, c.inputSize as [number, number], c.kernelSize as [number, number], options(c)),
);
