import type { FloatDType } from '../../../core/dtype.js';
import { fmtShape, ValueError } from '../../../core/errors.js';
import type { Generator } from '../../../core/random.js';
import type { Tensor } from '../../../core/tensor.js';
import { conv2d, stack, zeros } from '../../../ops/index.js';
import { lstmCell, unbind } from '../../../ops/primitives.js';
import { uniform } from '../../init.js';
import { type LayerConfig, Module } from '../../module.js';
import { LayerSchema, type OptionsOf, option, required, spatial } from '../../options.js';
import { Parameter } from '../../parameter.js';
import { expectTensor, floatInput, shapeMismatch } from '../checks.js';
import { type SequenceOptions, stepValidity, unroll } from './sequence.js';

const schema = new LayerSchema(
  'ConvLSTM2d',
  { inChannels: required(option.integer(1)), hiddenChannels: required(option.integer(1)), kernelSize: required(spatial(2, 1, 1)) },
  {
    /** Input and output are [batch, seqLen, channels, height, width] (default true); false: [seqLen, batch, channels, height, width]. */
    batchFirst: option.boolean(true),
    /** Learn the biases bias_ih and bias_hh (default true). */
    bias: option.boolean(true),
    /** Dtype of the weights. */
    dtype: option.floatDType(),
  },
  ['name', 'generator'],
);

export interface ConvLSTM2dOptions extends OptionsOf<typeof schema.options> {
  /** Name shown in errors and summaries. */
  name?: string;
  /** Draw the initial weights from this generator instead of the default one. */
  generator?: Generator;
}

/**
 * A convolutional LSTM (Shi et al. 2015, without their peepholes): the LSTM
 * of {@link LSTM} with 2-D convolutions in place of the matrix products, so
 * that the states are feature maps and the gates see a neighbourhood:
 * gates = conv(x_t, W_ih) + b_ih + conv(h_{t-1}, W_hh) + b_hh, split along the
 * channels into i, f, g, o (hiddenChannels each), then the same fused cell
 * update c_t = f·c_{t-1} + i·g, h_t = o·tanh(c_t). Both convolutions use
 * 'same' padding and stride 1, so the maps keep the input's height and width.
 *
 * Parameters: weight_ih [4·hiddenChannels, inChannels, kh, kw], weight_hh
 * [4·hiddenChannels, hiddenChannels, kh, kw], bias_ih and bias_hh
 * [4·hiddenChannels], from U(-k, k) with k = 1/√(hiddenChannels·kh·kw) (the
 * LSTM's 1/√H with the recurrent convolution's fan in place of H).
 *
 * `forward(input, [h0, c0]?, {lengths?, mask?})`: input [batch, seqLen, C,
 * height, width] (batchFirst, the default) or [seqLen, batch, C, height,
 * width]; h0, c0 [batch, hiddenChannels, height, width] (zeros when absent).
 * Returns `[output, [hN, cN]]` with output [batch, seqLen, hiddenChannels,
 * height, width] (in the input's layout) and the final states like h0.
 * The input convolution of every step runs as one batched convolution
 * before the loop.
 */
export class ConvLSTM2d extends Module {
  static override readonly className = 'ConvLSTM2d';
  /** Channels of each input frame. */
  readonly inChannels: number;
  /** Channels of the hidden state. */
  readonly hiddenChannels: number;
  /** Kernel size of both convolutions. */
  readonly kernelSize: readonly [number, number];
  /** Input and output as [N, T, ...] (true) or [T, N, ...]. */
  readonly batchFirst: boolean;
  /** Whether the layer learns biases. */
  readonly bias: boolean;
  /** Dtype of the weights. */
  readonly dtype: FloatDType;
  /** Input-to-hidden convolution kernels, four gates stacked. */
  weight_ih: Parameter;
  /** Hidden-to-hidden convolution kernels, four gates stacked. */
  weight_hh: Parameter;
  /** Input-to-hidden bias (null without bias). */
  bias_ih: Parameter | null;
  /** Hidden-to-hidden bias (null without bias). */
  bias_hh: Parameter | null;

  constructor(inChannels: number, hiddenChannels: number, kernelSize: number | readonly [number, number], options: ConvLSTM2dOptions = {}) {
    super();
    const o = schema.parse([inChannels, hiddenChannels, kernelSize], options);
    this.inChannels = o.inChannels;
    this.hiddenChannels = o.hiddenChannels;
    this.kernelSize = o.kernelSize as [number, number];
    this.batchFirst = o.batchFirst;
    this.bias = o.bias;
    this.dtype = o.dtype;
    if (options.name !== undefined) this.withName(options.name);
    const [kh, kw] = this.kernelSize;
    const G = 4 * hiddenChannels;
    const bound = 1 / Math.sqrt(hiddenChannels * kh * kw);
    const make = (shape: number[]) => {
      const p = new Parameter(zeros(shape, { dtype: this.dtype }));
      uniform(p, -bound, bound, { generator: options.generator });
      return p;
    };
    this.weight_ih = make([G, inChannels, kh, kw]);
    this.weight_hh = make([G, hiddenChannels, kh, kw]);
    this.bias_ih = this.bias ? make([G]) : null;
    this.bias_hh = this.bias ? make([G]) : null;
  }

  forward(input: Tensor, state?: readonly [Tensor | null, Tensor | null] | null, options: SequenceOptions = {}): [Tensor, [Tensor, Tensor]] {
    const x0 = floatInput(this, input, this.dtype);
    const layout = this.batchFirst ? '[batch, seqLen, channels, height, width]' : '[seqLen, batch, channels, height, width]';
    if (x0.ndim !== 5 || x0.shape[2] !== this.inChannels) throw shapeMismatch(this, `input of shape ${layout} with ${this.inChannels} channels`, x0.shape);
    if (state != null && (!Array.isArray(state) || state.length !== 2)) {
      throw new ValueError(`${this.label}: the initial state must be a pair [h0, c0] (either may be null for zeros)`);
    }
    const x = this.batchFirst ? x0.permute([1, 0, 2, 3, 4]) : x0;
    const [T, n, C, height, width] = x.shape;
    if (T === 0) throw shapeMismatch(this, 'a sequence of at least one step', x0.shape);
    const Hc = this.hiddenChannels;
    const mapShape = [n, Hc, height, width];
    // States travel flattened to [batch, Hc·height·width]: channel-major, so the conv's 4·Hc output
    // channels are exactly the fused cell's [i | f | g | o] blocks.
    const hidden = Hc * height * width;
    const initial = (what: string, s: Tensor | null | undefined): Tensor => {
      if (s === null || s === undefined) return zeros([n, hidden], { dtype: this.dtype });
      const t = floatInput(this, expectTensor(this, s, what), this.dtype);
      if (t.ndim !== 4 || t.shape.some((d, i) => d !== mapShape[i])) throw shapeMismatch(this, `${what} of shape ${fmtShape(mapShape)}`, t.shape);
      return t.reshape([n, hidden]);
    };
    const h0 = initial('h0', state?.[0]);
    const c0 = initial('c0', state?.[1]);
    const validity = stepValidity(this.label, options, n, T, this.batchFirst);
    const bias = this.bias_ih && this.bias_hh ? this.bias_ih.add(this.bias_hh) : null;
    const projected = conv2d(x.reshape([T * n, C, height, width]), this.weight_ih, bias, { padding: 'same' });
    const steps = unbind(projected.reshape([T, n, 4 * hidden]));
    const weightHh = this.weight_hh;
    const run = unroll(
      steps,
      (xp, h, c) => {
        const hp = conv2d(h.reshape(mapShape), weightHh, null, { padding: 'same' });
        return lstmCell(xp.add(hp.reshape([n, 4 * hidden])), c as Tensor);
      },
      h0,
      c0,
      false,
      validity,
    );
    let output = stack(run.outputs, 0).reshape([T, n, Hc, height, width]);
    if (this.batchFirst) output = output.permute([1, 0, 2, 3, 4]);
    return [output, [run.h.reshape(mapShape), (run.c as Tensor).reshape(mapShape)]];
  }

  override getConfig(): LayerConfig {
    return schema.config(this, { kernelSize: [...this.kernelSize] });
  }
}

schema.register((i, h, k, options) => new ConvLSTM2d(i as number, h as number, k as [number, number], options as ConvLSTM2dOptions));
