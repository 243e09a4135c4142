import type { FloatDType } from '../../../core/dtype.js';
import { fmtShape, ValueError } from '../../../core/errors.js';
import type { Generator } from '../../../core/random.js';
import type { Tensor } from '../../../core/tensor.js';
import { check } from '../../../core/validate.js';
import { concat, dropout, stack, zeros } from '../../../ops/index.js';
import { lstmSequence, rnnSequence, unbind } from '../../../ops/primitives.js';
import { type LayerConfig, Module } from '../../module.js';
import { LayerSchema, type OptionSpec, type OptionsOf, type OptionValues, option, required } from '../../options.js';
import { expectTensor, floatInput, shapeMismatch } from '../checks.js';
import { type SequenceOptions, stepValidity, unroll } from './sequence.js';
import { addCellParameters, type CellKind, cellStep, cellWeights, GATE_COUNT, prepareCell, projectInput } from './steps.js';

/** The arguments RNN, LSTM and GRU share (PyTorch's constructor arguments, camelCased), declared once. */
const recurrentPositional = { inputSize: required(option.integer(1)), hiddenSize: required(option.integer(1)) };
const recurrentCommon = {
  /** Stacked layers (default 1); layer k > 0 reads the outputs of layer k - 1. */
  numLayers: option.integer(1),
  /** Learn the biases b_ih and b_hh (default true). */
  bias: option.boolean(true),
  /** Input and output are [batch, seqLen, features] instead of [seqLen, batch, features] (default false, as PyTorch). The states keep [layers·dirs, batch, H] either way. */
  batchFirst: option.boolean(false),
  /** Dropout probability on the outputs of every layer but the last, in training mode (default 0). */
  dropout: option.probability(0),
  /** Add a second direction that reads the sequence backwards; the outputs concatenate [forward, reverse] (default false). */
  bidirectional: option.boolean(false),
  dtype: option.floatDType(),
};
const EXTRA_KEYS = ['name', 'generator'];

const rnnSchema = new LayerSchema(
  'RNN',
  recurrentPositional,
  {
    ...recurrentCommon,
    /** The non-linearity of the Elman recurrence (default 'tanh'). */
    nonlinearity: {
      default: 'tanh',
      parse: (who: string, name: string, v: unknown) =>
        v === 'tanh' || v === 'relu' ? v : check(who).fail(`${name} must be 'tanh' or 'relu', got ${JSON.stringify(v)}`),
    } as OptionSpec<'tanh' | 'relu'>,
  },
  EXTRA_KEYS,
);
const lstmSchema = new LayerSchema(
  'LSTM',
  recurrentPositional,
  {
    ...recurrentCommon,
    /**
     * Peephole connections (default false): the input and forget gates see
     * the previous cell state and the output gate sees the new one,
     * i = σ(a_i + p_i·c_{t-1}), f = σ(a_f + p_f·c_{t-1}), o = σ(a_o + p_o·c_t)
     * (Gers, Schraudolph and Schmidhuber 2002; TensorFlow's use_peepholes).
     * Adds peephole_i_l{k}, peephole_f_l{k}, peephole_o_l{k} ([hidden] each)
     * and runs the composite cell instead of the fused one.
     */
    peephole: option.boolean(false),
  },
  EXTRA_KEYS,
);
const gruSchema = new LayerSchema('GRU', recurrentPositional, recurrentCommon, EXTRA_KEYS);

/** Options of the recurrent layers that are not saved in architecture files. */
export interface RecurrentExtras {
  /** Name shown in errors and summaries. */
  name?: string;
  /** Draw the initial weights and the dropout masks from this generator instead of the default one. */
  generator?: Generator;
}

/** Options shared by RNN, LSTM and GRU: numLayers, bias, batchFirst, dropout, bidirectional, dtype. */
export type RecurrentOptions = OptionsOf<typeof recurrentCommon> & RecurrentExtras;
/** RNN's options: those of every recurrent layer and its nonlinearity ('tanh' or 'relu'). */
export type RNNOptions = OptionsOf<typeof rnnSchema.options> & RecurrentExtras;
/** LSTM's options: those of every recurrent layer and peephole. */
export type LSTMOptions = OptionsOf<typeof lstmSchema.options> & RecurrentExtras;

type RecurrentValues = OptionValues<typeof recurrentPositional> & OptionValues<typeof recurrentCommon>;

interface SequenceResult {
  output: Tensor;
  hN: Tensor;
  cN: Tensor | null;
}

/**
 * The machinery of the full recurrent layers: parameters named as PyTorch's
 * (weight_ih_l{k}[_reverse] [G·H, in_k], weight_hh_l{k} [G·H, H],
 * bias_ih_l{k}, bias_hh_l{k} [G·H], in that order per layer and
 * direction), every one drawn from U(-1/√H, 1/√H), and the unrolled loop.
 */
abstract class RecurrentLayer extends Module {
  /** Features of each input step. */
  readonly inputSize: number;
  /** Features of the hidden state. */
  readonly hiddenSize: number;
  /** Stacked layers. */
  readonly numLayers: number;
  /** Whether the layer learns biases. */
  readonly bias: boolean;
  /** Input and output as [N, T, features] (true) or [T, N, features]. */
  readonly batchFirst: boolean;
  /** Dropout between stacked layers, in training. */
  readonly dropout: number;
  /** Whether a second layer reads the sequence backwards (outputs concatenated). */
  readonly bidirectional: boolean;
  /** Dtype of the weights. */
  readonly dtype: FloatDType;
  protected readonly _kind: CellKind;
  protected readonly _peephole: boolean;
  private readonly _generator?: Generator;

  protected constructor(kind: CellKind, o: RecurrentValues, options: RecurrentExtras, peephole: boolean) {
    super();
    this.inputSize = o.inputSize;
    this.hiddenSize = o.hiddenSize;
    this.numLayers = o.numLayers;
    this.bias = o.bias;
    this.batchFirst = o.batchFirst;
    this.dropout = o.dropout;
    this.bidirectional = o.bidirectional;
    this.dtype = o.dtype;
    this._kind = kind;
    this._peephole = peephole;
    this._generator = options.generator;
    if (options.name !== undefined) this.withName(options.name);
    const dirs = this.numDirections;
    for (let l = 0; l < this.numLayers; l++) {
      for (let d = 0; d < dirs; d++) {
        addCellParameters(this, suffixOf(l, d), {
          kind,
          inputSize: l === 0 ? this.inputSize : dirs * this.hiddenSize,
          hidden: this.hiddenSize,
          bias: this.bias,
          peephole,
          dtype: this.dtype,
          generator: options.generator,
        });
      }
    }
  }

  /** 2 for a bidirectional layer, else 1. */
  get numDirections(): number {
    return this.bidirectional ? 2 : 1;
  }

  private checkState(what: string, state: Tensor | null | undefined, batch: number, unbatched: boolean): Tensor | null {
    if (state === null || state === undefined) return null;
    const s = floatInput(this, expectTensor(this, state, what), this.dtype);
    const layers = this.numLayers * this.numDirections;
    const want = unbatched ? [layers, this.hiddenSize] : [layers, batch, this.hiddenSize];
    if (s.ndim !== want.length || s.shape.some((d, i) => d !== want[i])) {
      throw shapeMismatch(this, `${what} of shape ${fmtShape(want)} ([numLayers·numDirections, ${unbatched ? '' : 'batch, '}hiddenSize])`, s.shape);
    }
    return unbatched ? s.unsqueeze(1) : s;
  }

  protected runSequence(input: Tensor, h0In: Tensor | null | undefined, c0In: Tensor | null | undefined, options: SequenceOptions): SequenceResult {
    const x0 = floatInput(this, input, this.dtype);
    const layout = this.batchFirst ? '[batch, seqLen, inputSize]' : '[seqLen, batch, inputSize]';
    if ((x0.ndim !== 3 && x0.ndim !== 2) || x0.shape[x0.ndim - 1] !== this.inputSize) {
      throw shapeMismatch(this, `input of shape ${layout} (or [seqLen, inputSize] unbatched) with inputSize ${this.inputSize}`, x0.shape);
    }
    const unbatched = x0.ndim === 2;
    // The loop runs time-major: every step's rows are then one contiguous block.
    const x = unbatched ? x0.unsqueeze(1) : this.batchFirst ? x0.permute([1, 0, 2]) : x0;
    const [T, n] = x.shape;
    if (T === 0) throw shapeMismatch(this, 'a sequence of at least one step', x0.shape);
    if (unbatched && (options.lengths != null || options.mask != null)) {
      throw new ValueError(`${this.label}: lengths and mask need a batched input; slice a single sequence to its length instead`);
    }
    const validity = stepValidity(this.label, options, n, T, this.batchFirst);
    const h0 = this.checkState('h0', h0In, n, unbatched);
    const isLstm = this._kind === 'lstm';
    const c0 = isLstm ? this.checkState('c0', c0In, n, unbatched) : null;
    const h0s = h0 ? unbind(h0) : null;
    const c0s = c0 ? unbind(c0) : null;
    const H = this.hiddenSize;
    const zeroState = zeros([n, H], { dtype: this.dtype });
    const dirs = this.numDirections;
    const G = GATE_COUNT[this._kind];
    const finalH: Tensor[] = [];
    const finalC: Tensor[] = [];
    let layerInput = x;
    for (let l = 0; l < this.numLayers; l++) {
      if (l > 0 && this.training && this.dropout > 0) layerInput = this.dropOut(layerInput);
      const rows = layerInput.reshape([T * n, layerInput.shape[2]]);
      // The last layer stacks its steps straight into the output layout; the others stay time-major for the next projection.
      const timeAxis = l === this.numLayers - 1 && this.batchFirst && !unbatched ? 1 : 0;
      const outputs: Tensor[] = [];
      for (let d = 0; d < dirs; d++) {
        const index = l * dirs + d;
        const cell = prepareCell(this._kind, H, cellWeights(this, suffixOf(l, d), this.bias, this._peephole));
        const projected = projectInput(cell, rows).reshape([T, n, G * H]);
        const hStart = h0s ? h0s[index] : zeroState;
        const cStart = isLstm ? (c0s ? c0s[index] : zeroState) : null;
        if (isLstm && cell.peephole === null && validity === null) {
          // The whole recurrence as one op (the same steps, one node of the graph): see lstmSequence.
          const [seq, hT, cT] = lstmSequence(projected, hStart, cStart as Tensor, cell.recurrent.weight, d === 1);
          outputs.push(timeAxis === 0 ? seq : seq.permute([1, 0, 2]));
          finalH.push(hT);
          finalC.push(cT);
          continue;
        }
        if ((this._kind === 'rnnTanh' || this._kind === 'rnnRelu') && validity === null) {
          const [seq, hT] = rnnSequence(projected, hStart, cell.recurrent.weight, this._kind === 'rnnTanh' ? 'tanh' : 'relu', d === 1);
          outputs.push(timeAxis === 0 ? seq : seq.permute([1, 0, 2]));
          finalH.push(hT);
          continue;
        }
        const run = unroll(unbind(projected), (xp, h, c) => cellStep(cell, xp, h, c), hStart, cStart, d === 1, validity);
        outputs.push(stack(run.outputs, timeAxis));
        finalH.push(run.h);
        if (run.c) finalC.push(run.c);
      }
      layerInput = dirs === 1 ? outputs[0] : concat(outputs, 2);
    }
    let output = layerInput;
    let hN = stack(finalH, 0);
    let cN = isLstm ? stack(finalC, 0) : null;
    if (unbatched) {
      output = output.squeeze(1);
      hN = hN.squeeze(1);
      cN = cN?.squeeze(1) ?? null;
    }
    return { output, hN, cN };
  }

  /** Inverted dropout between stacked layers. */
  private dropOut(x: Tensor): Tensor {
    return dropout(x, this.dropout, { generator: this._generator });
  }

  protected abstract readonly schema: LayerSchema<typeof recurrentPositional, typeof recurrentCommon>;

  override getConfig(): LayerConfig {
    return this.schema.config(this);
  }
}

/** weight_ih_l0, weight_ih_l0_reverse, ...: PyTorch's suffixes for layer l, direction d. */
function suffixOf(layer: number, direction: number): string {
  return `_l${layer}${direction === 1 ? '_reverse' : ''}`;
}

/**
 * An Elman recurrent layer (the notes' z_t = h(W·x_t + U·a_{t-1} + b)):
 * h_t = tanh(W_ih·x_t + b_ih + W_hh·h_{t-1} + b_hh), or relu, over a whole
 * sequence, stacked and bidirectional as options say.
 *
 * `forward(input, h0?, {lengths?, mask?})` takes input [seqLen, batch,
 * inputSize] ([batch, seqLen, inputSize] with batchFirst, or [seqLen,
 * inputSize] for one unbatched sequence) and an optional initial state h0
 * [numLayers·numDirections, batch, H] (zeros when absent), and returns
 * `[output, hN]`: output [seqLen, batch, numDirections·H] (batch first with
 * batchFirst) holds the last layer's h_t for every step, [forward, reverse]
 * concatenated, and hN [numLayers·numDirections, batch, H] the final state of
 * every layer and direction, indexed layer·numDirections + direction as in
 * PyTorch (the reverse direction's final state is the one after it read step
 * 0). See {@link SequenceOptions} for padded batches. Gradients flow by
 * backpropagation through time over the unrolled loop; cut them with
 * `detachState` for truncated BPTT.
 */
export class RNN extends RecurrentLayer {
  static override readonly className = 'RNN';
  /** The activation: 'tanh' or 'relu'. */
  readonly nonlinearity: 'tanh' | 'relu';

  protected readonly schema = rnnSchema;

  constructor(inputSize: number, hiddenSize: number, options: RNNOptions = {}) {
    const o = rnnSchema.parse([inputSize, hiddenSize], options);
    super(o.nonlinearity === 'tanh' ? 'rnnTanh' : 'rnnRelu', o, options, false);
    this.nonlinearity = o.nonlinearity;
  }

  forward(input: Tensor, h0?: Tensor | null, options: SequenceOptions = {}): [Tensor, Tensor] {
    const r = this.runSequence(input, h0, null, options);
    return [r.output, r.hN];
  }
}

/**
 * A long short-term memory layer (Hochreiter and Schmidhuber 1997, with the
 * forget gate), PyTorch's formulation with gate order i, f, g, o:
 * i = σ(W_ii·x + b_ii + W_hi·h + b_hi), f = σ(...), g = tanh(...), o = σ(...),
 * c_t = f·c_{t-1} + i·g, h_t = o·tanh(c_t). Optional peepholes (see
 * the `peephole` option of {@link LSTMOptions}).
 *
 * `forward(input, [h0, c0]?, {lengths?, mask?})` returns
 * `[output, [hN, cN]]`, with the shapes of {@link RNN} (c0 and cN like h0
 * and hN). Per step the work is one matrix product for all gates of all
 * rows (the input projection of every step is done before the loop in one
 * product) and one fused cell kernel for the non-linearities and the state
 * update, forward and backward.
 */
export class LSTM extends RecurrentLayer {
  static override readonly className = 'LSTM';

  protected readonly schema = lstmSchema;

  constructor(inputSize: number, hiddenSize: number, options: LSTMOptions = {}) {
    const o = lstmSchema.parse([inputSize, hiddenSize], options);
    super('lstm', o, options, o.peephole);
  }

  /** Whether the gates see the cell state (peephole connections). */
  get peephole(): boolean {
    return this._peephole;
  }

  forward(input: Tensor, state?: readonly [Tensor | null, Tensor | null] | null, options: SequenceOptions = {}): [Tensor, [Tensor, Tensor]] {
    if (state != null && (!Array.isArray(state) || state.length !== 2)) {
      throw new ValueError(`${this.label}: the initial state must be a pair [h0, c0] (either may be null for zeros)`);
    }
    const r = this.runSequence(input, state?.[0], state?.[1], options);
    return [r.output, [r.hN, r.cN as Tensor]];
  }
}

/**
 * A gated recurrent unit layer (Cho et al. 2014) in PyTorch's formulation,
 * gate order r, z, n: r = σ(W_ir·x + b_ir + W_hr·h + b_hr),
 * z = σ(W_iz·x + b_iz + W_hz·h + b_hz), n = tanh(W_in·x + b_in + r·(W_hn·h + b_hn)),
 * h_t = (1 - z)·n + z·h_{t-1}. `forward` is as {@link RNN}'s.
 */
export class GRU extends RecurrentLayer {
  static override readonly className = 'GRU';

  protected readonly schema = gruSchema;

  constructor(inputSize: number, hiddenSize: number, options: RecurrentOptions = {}) {
    super('gru', gruSchema.parse([inputSize, hiddenSize], options), options, false);
  }

  forward(input: Tensor, h0?: Tensor | null, options: SequenceOptions = {}): [Tensor, Tensor] {
    const r = this.runSequence(input, h0, null, options);
    return [r.output, r.hN];
  }
}

rnnSchema.register((inputSize, hiddenSize, options) => new RNN(inputSize as number, hiddenSize as number, options as RNNOptions));
lstmSchema.register((inputSize, hiddenSize, options) => new LSTM(inputSize as number, hiddenSize as number, options as LSTMOptions));
gruSchema.register((inputSize, hiddenSize, options) => new GRU(inputSize as number, hiddenSize as number, options as RecurrentOptions));
