import type { FloatDType } from '../../../core/dtype.js';
import { fmtShape, ValueError } from '../../../core/errors.js';
import type { Generator } from '../../../core/random.js';
import type { Tensor } from '../../../core/tensor.js';
import { check } from '../../../core/validate.js';
import { zeros } from '../../../ops/index.js';
import { type LayerConfig, Module } from '../../module.js';
import { LayerSchema, type OptionSpec, type OptionsOf, type OptionValues, option, required } from '../../options.js';
import { expectTensor, floatInput, shapeMismatch } from '../checks.js';
import { addCellParameters, type CellKind, cellStep, cellWeights, prepareCell, projectInput } from './steps.js';

const cellPositional = { inputSize: required(option.integer(1)), hiddenSize: required(option.integer(1)) };
/** Learn the biases b_ih and b_hh (default true); dtype. */
const cellCommon = {
  /** Learn the biases b_ih and b_hh (default true). */
  bias: option.boolean(true),
  /** Dtype of the weights (default float32). */
  dtype: option.floatDType(),
};
const EXTRA_KEYS = ['name', 'generator'];
/** The non-linearity of the Elman cell (default 'tanh'). */
const nonlinearity: OptionSpec<'tanh' | 'relu'> = {
  default: 'tanh',
  parse: (who: string, name: string, v: unknown) =>
    v === 'tanh' || v === 'relu' ? v : check(who).fail(`${name} must be 'tanh' or 'relu', got ${JSON.stringify(v)}`),
};
const rnnCellSchema = new LayerSchema('RNNCell', cellPositional, { ...cellCommon, nonlinearity }, EXTRA_KEYS);
/** peephole: connections as the `peephole` option of {@link LSTMOptions}, parameters peephole_i, peephole_f, peephole_o. */
const lstmCellSchema = new LayerSchema(
  'LSTMCell',
  cellPositional,
  {
    ...cellCommon,
    /** Let the gates see the cell state (default false). */
    peephole: option.boolean(false),
  },
  EXTRA_KEYS,
);
const gruCellSchema = new LayerSchema('GRUCell', cellPositional, cellCommon, EXTRA_KEYS);

/** Options of the recurrent cells that are not saved in architecture files. */
export interface CellExtras {
  /** Name shown in errors and summaries. */
  name?: string;
  /** Draw the initial weights from this generator instead of the default one. */
  generator?: Generator;
}

/** Options of every cell: bias (default true) and dtype. */
export type CellOptions = OptionsOf<typeof cellCommon> & CellExtras;
/** RNNCell's options: bias, dtype and nonlinearity ('tanh', the default, or 'relu'). */
export type RNNCellOptions = OptionsOf<typeof rnnCellSchema.options> & CellExtras;
/** LSTMCell's options: bias, dtype and peephole. */
export type LSTMCellOptions = OptionsOf<typeof lstmCellSchema.options> & CellExtras;

type CellValues = OptionValues<typeof cellPositional> & OptionValues<typeof cellCommon>;

/**
 * One step of a recurrence, for hand-written loops over time. Parameters as
 * PyTorch's cells: weight_ih [G·H, inputSize], weight_hh [G·H, H], bias_ih,
 * bias_hh [G·H], from U(-1/√H, 1/√H).
 */
abstract class RecurrentCell extends Module {
  /** Features of each input step. */
  readonly inputSize: number;
  /** Features of the hidden state. */
  readonly hiddenSize: number;
  /** Whether the cell learns biases. */
  readonly bias: boolean;
  /** Dtype of the weights. */
  readonly dtype: FloatDType;
  protected readonly _kind: CellKind;
  protected readonly _peephole: boolean;

  protected abstract readonly schema: LayerSchema<typeof cellPositional, typeof cellCommon>;

  protected constructor(kind: CellKind, o: CellValues, options: CellExtras, peephole: boolean) {
    super();
    const { inputSize, hiddenSize } = o;
    this.inputSize = inputSize;
    this.hiddenSize = hiddenSize;
    this.bias = o.bias;
    this.dtype = o.dtype;
    this._kind = kind;
    this._peephole = peephole;
    if (options.name !== undefined) this.withName(options.name);
    addCellParameters(this, '', { kind, inputSize, hidden: hiddenSize, bias: this.bias, peephole, dtype: this.dtype, generator: options.generator });
  }

  private state(what: string, s: Tensor | null | undefined, batch: number, unbatched: boolean): Tensor {
    if (s === null || s === undefined) return zeros([batch, this.hiddenSize], { dtype: this.dtype });
    const t = floatInput(this, expectTensor(this, s, what), this.dtype);
    const want = unbatched ? [this.hiddenSize] : [batch, this.hiddenSize];
    if (t.ndim !== want.length || t.shape.some((d, i) => d !== want[i])) throw shapeMismatch(this, `${what} of shape ${fmtShape(want)}`, t.shape);
    return unbatched ? t.unsqueeze(0) : t;
  }

  /** x [batch, inputSize] (or [inputSize]) and the previous state in, the new [h, c] out (c null but for LSTM). */
  protected runStep(input: Tensor, h: Tensor | null | undefined, c: Tensor | null | undefined): [Tensor, Tensor | null] {
    const x0 = floatInput(this, input, this.dtype);
    if ((x0.ndim !== 1 && x0.ndim !== 2) || x0.shape[x0.ndim - 1] !== this.inputSize) {
      throw shapeMismatch(this, `input of shape [batch, ${this.inputSize}] or [${this.inputSize}]`, x0.shape);
    }
    const unbatched = x0.ndim === 1;
    const x = unbatched ? x0.unsqueeze(0) : x0;
    const n = x.shape[0];
    const hPrev = this.state('h', h, n, unbatched);
    const cPrev = this._kind === 'lstm' ? this.state('c', c, n, unbatched) : null;
    const cell = prepareCell(this._kind, this.hiddenSize, cellWeights(this, '', this.bias, this._peephole));
    const [hNext, cNext] = cellStep(cell, projectInput(cell, x), hPrev, cPrev);
    return unbatched ? [hNext.squeeze(0), cNext?.squeeze(0) ?? null] : [hNext, cNext];
  }

  override getConfig(): LayerConfig {
    return this.schema.config(this);
  }
}

/** An Elman cell: h' = tanh(W_ih·x + b_ih + W_hh·h + b_hh) (or relu). `forward(x, h?)` returns h' (h defaults to zeros). */
export class RNNCell extends RecurrentCell {
  static override readonly className = 'RNNCell';
  /** The cell's activation: 'tanh' or 'relu'. */
  readonly nonlinearity: 'tanh' | 'relu';

  protected readonly schema = rnnCellSchema;

  constructor(inputSize: number, hiddenSize: number, options: RNNCellOptions = {}) {
    const o = rnnCellSchema.parse([inputSize, hiddenSize], options);
    super(o.nonlinearity === 'tanh' ? 'rnnTanh' : 'rnnRelu', o, options, false);
    this.nonlinearity = o.nonlinearity;
  }

  forward(input: Tensor, h?: Tensor | null): Tensor {
    return this.runStep(input, h, null)[0];
  }
}

/**
 * An LSTM cell (gate order i, f, g, o, as {@link LSTM}): `forward(x, [h, c]?)`
 * returns `[h', c']`, the state defaulting to zeros. Uses the fused cell
 * kernel unless it has peepholes.
 */
export class LSTMCell extends RecurrentCell {
  static override readonly className = 'LSTMCell';

  protected readonly schema = lstmCellSchema;

  constructor(inputSize: number, hiddenSize: number, options: LSTMCellOptions = {}) {
    const o = lstmCellSchema.parse([inputSize, hiddenSize], options);
    super('lstm', o, options, o.peephole);
  }

  /** Whether the gates see the cell state (peephole connections). */
  get peephole(): boolean {
    return this._peephole;
  }

  forward(input: Tensor, state?: readonly [Tensor | null, Tensor | null] | null): [Tensor, Tensor] {
    if (state != null && (!Array.isArray(state) || state.length !== 2)) {
      throw new ValueError(`${this.label}: the state must be a pair [h, c] (either may be null for zeros)`);
    }
    const [h, c] = this.runStep(input, state?.[0], state?.[1]);
    return [h, c as Tensor];
  }
}

/** A GRU cell (gate order r, z, n, as {@link GRU}): `forward(x, h?)` returns h'. */
export class GRUCell extends RecurrentCell {
  static override readonly className = 'GRUCell';

  protected readonly schema = gruCellSchema;

  constructor(inputSize: number, hiddenSize: number, options: CellOptions = {}) {
    super('gru', gruCellSchema.parse([inputSize, hiddenSize], options), options, false);
  }

  forward(input: Tensor, h?: Tensor | null): Tensor {
    return this.runStep(input, h, null)[0];
  }
}

rnnCellSchema.register((inputSize, hiddenSize, options) => new RNNCell(inputSize as number, hiddenSize as number, options as RNNCellOptions));
lstmCellSchema.register((inputSize, hiddenSize, options) => new LSTMCell(inputSize as number, hiddenSize as number, options as LSTMCellOptions));
gruCellSchema.register((inputSize, hiddenSize, options) => new GRUCell(inputSize as number, hiddenSize as number, options as CellOptions));
