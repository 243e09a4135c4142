import type { FloatDType } from '../../../core/dtype.js';
import { fmtShape, ValueError } from '../../../core/errors.js';
import type { Generator } from '../../../core/random.js';
import type { Tensor } from '../../../core/tensor.js';
import { check } from '../../../core/validate.js';
import { zeros } from '../../../ops/index.js';
import { type LayerConfig, Module } from '../../module.js';
import { registerLayer } from '../../registry.js';
import { expectTensor, floatInput, shapeMismatch } from '../checks.js';
import { addCellParameters, type CellKind, cellStep, cellWeights, prepareCell, projectInput } from './steps.js';

export interface CellOptions {
  /** Learn the biases b_ih and b_hh (default true). */
  bias?: boolean;
  dtype?: FloatDType;
  /** Name shown in errors and summaries. */
  name?: string;
  /** Draw the initial weights from this generator instead of the default one. */
  generator?: Generator;
}

export interface RNNCellOptions extends CellOptions {
  /** Default 'tanh'. */
  nonlinearity?: 'tanh' | 'relu';
}

export interface LSTMCellOptions extends CellOptions {
  /** Peephole connections, as {@link LSTMOptions.peephole}: parameters peephole_i, peephole_f, peephole_o. */
  peephole?: boolean;
}

/**
 * One step of a recurrence, for hand-written loops over time. Parameters as
 * PyTorch's cells: weight_ih [G·H, inputSize], weight_hh [G·H, H], bias_ih,
 * bias_hh [G·H], from U(-1/√H, 1/√H).
 */
abstract class RecurrentCell extends Module {
  readonly inputSize: number;
  readonly hiddenSize: number;
  readonly bias: boolean;
  readonly dtype: FloatDType;
  protected readonly _kind: CellKind;
  protected readonly _peephole: boolean;

  protected constructor(who: string, kind: CellKind, inputSize: number, hiddenSize: number, options: CellOptions, peephole: boolean) {
    super();
    this.inputSize = check(who).integer('inputSize', inputSize);
    this.hiddenSize = check(who).integer('hiddenSize', hiddenSize);
    this.bias = check(who).boolean('bias', options.bias ?? true);
    this.dtype = check(who).floatDType('dtype', options.dtype ?? 'float32');
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
    return { inputSize: this.inputSize, hiddenSize: this.hiddenSize, bias: this.bias, dtype: this.dtype };
  }
}

/** An Elman cell: h' = tanh(W_ih·x + b_ih + W_hh·h + b_hh) (or relu). `forward(x, h?)` returns h' (h defaults to zeros). */
export class RNNCell extends RecurrentCell {
  static override readonly className = 'RNNCell';
  readonly nonlinearity: 'tanh' | 'relu';

  constructor(inputSize: number, hiddenSize: number, options: RNNCellOptions = {}) {
    const nonlinearity = options.nonlinearity ?? 'tanh';
    if (nonlinearity !== 'tanh' && nonlinearity !== 'relu') {
      throw new ValueError(`RNNCell: nonlinearity must be 'tanh' or 'relu', got ${JSON.stringify(options.nonlinearity)}`);
    }
    super('RNNCell', nonlinearity === 'tanh' ? 'rnnTanh' : 'rnnRelu', inputSize, hiddenSize, options, false);
    this.nonlinearity = nonlinearity;
  }

  forward(input: Tensor, h?: Tensor | null): Tensor {
    return this.runStep(input, h, null)[0];
  }

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), nonlinearity: this.nonlinearity };
  }
}

/**
 * An LSTM cell (gate order i, f, g, o, as {@link LSTM}): `forward(x, [h, c]?)`
 * returns `[h', c']`, the state defaulting to zeros. Uses the fused cell
 * kernel unless it has peepholes.
 */
export class LSTMCell extends RecurrentCell {
  static override readonly className = 'LSTMCell';

  constructor(inputSize: number, hiddenSize: number, options: LSTMCellOptions = {}) {
    super('LSTMCell', 'lstm', inputSize, hiddenSize, options, check('LSTMCell').boolean('peephole', options.peephole ?? false));
  }

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

  override getConfig(): LayerConfig {
    return { ...super.getConfig(), peephole: this._peephole };
  }
}

/** A GRU cell (gate order r, z, n, as {@link GRU}): `forward(x, h?)` returns h'. */
export class GRUCell extends RecurrentCell {
  static override readonly className = 'GRUCell';

  constructor(inputSize: number, hiddenSize: number, options: CellOptions = {}) {
    super('GRUCell', 'gru', inputSize, hiddenSize, options, false);
  }

  forward(input: Tensor, h?: Tensor | null): Tensor {
    return this.runStep(input, h, null)[0];
  }
}

function cellOptions(c: LayerConfig): CellOptions {
  return { bias: c.bias as boolean | undefined, dtype: c.dtype as FloatDType | undefined };
}

registerLayer(
  RNNCell.className,
  (c) => new RNNCell(c.inputSize as number, c.hiddenSize as number, { ...cellOptions(c), nonlinearity: c.nonlinearity as 'tanh' | 'relu' | undefined }),
);
registerLayer(
  LSTMCell.className,
  (c) => new LSTMCell(c.inputSize as number, c.hiddenSize as number, { ...cellOptions(c), peephole: c.peephole as boolean | undefined }),
);
registerLayer(GRUCell.className, (c) => new GRUCell(c.inputSize as number, c.hiddenSize as number, cellOptions(c)));
