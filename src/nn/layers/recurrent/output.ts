import { fmtShape, ShapeError, ValueError } from '../../../core/errors.js';
import { Tensor } from '../../../core/tensor.js';
import { check } from '../../../core/validate.js';
import { type LayerConfig, Module } from '../../module.js';
import { LayerSchema } from '../../options.js';

/** What {@link RecurrentOutput} keeps of a recurrent layer's `[output, state]`. */
export type RecurrentSelect = 'final' | 'sequence';

/** The `[output, hN]` or `[output, [hN, cN]]` a recurrent layer returns. */
export type RecurrentResult = readonly [Tensor, Tensor | readonly [Tensor, Tensor]];

/**
 * Picks one tensor out of a recurrent layer's result, so that RNN, LSTM, GRU
 * and ConvLSTM2d can sit in a Sequential:
 * `new Sequential([new LSTM(28, 128, {batchFirst: true}), new RecurrentOutput('final'), new Linear(128, 10)])`.
 *
 * - 'final' (default): the last layer's final hidden state, both directions
 *   concatenated [forward, reverse]: [batch, numDirections·H] (for
 *   ConvLSTM2d, hN itself). With `lengths`, that is each sequence's state
 *   after its last valid step, which the last row of the output is not.
 * - 'sequence': the output sequence as the layer returned it.
 */
const schema = new LayerSchema('RecurrentOutput', {
  select: {
    default: 'final' as RecurrentSelect,
    parse: (who: string, name: string, v: unknown) =>
      v === 'final' || v === 'sequence' ? v : check(who).fail(`${name} must be 'final' or 'sequence', got ${JSON.stringify(v)}`),
  },
});

/** Picks from a recurrent layer's [output, state] result: the final hidden state, or the output sequence. No parameters. */
export class RecurrentOutput extends Module {
  static override readonly className = 'RecurrentOutput';
  /** Which output is kept: 'final' or 'sequence'. */
  readonly select: RecurrentSelect;

  constructor(select: RecurrentSelect = 'final', options: { name?: string } = {}) {
    super();
    this.select = schema.parse([select], options).select;
    if (options.name !== undefined) this.withName(options.name);
  }

  forward(result: RecurrentResult): Tensor {
    if (!Array.isArray(result) || result.length !== 2 || !(result[0] instanceof Tensor)) {
      throw new ValueError(`${this.label}: expected the [output, state] pair of a recurrent layer`);
    }
    const [output, state] = result;
    if (this.select === 'sequence') return output;
    const hN = state instanceof Tensor ? state : state[0];
    if (!(hN instanceof Tensor)) throw new ValueError(`${this.label}: expected the [output, state] pair of a recurrent layer`);
    // ConvLSTM2d's states are feature maps [batch, channels, height, width], one layer and direction.
    if (hN.ndim === 4) return hN;
    const H = hN.shape[hN.ndim - 1];
    const dirs = output.shape[output.ndim - 1] / H;
    if ((dirs !== 1 && dirs !== 2) || hN.shape[0] < dirs) {
      throw new ShapeError(`${this.label}: output ${fmtShape(output.shape)} and final state ${fmtShape(hN.shape)} do not come from one recurrent layer`);
    }
    const last = hN.narrow(0, hN.shape[0] - dirs, dirs);
    // [dirs, batch, H] → [batch, dirs·H]; an unbatched state is [dirs, H].
    return hN.ndim === 2 ? last.reshape([dirs * H]) : last.permute([1, 0, 2]).reshape([hN.shape[1], dirs * H]);
  }

  override getConfig(): LayerConfig {
    return schema.config(this);
  }
}

schema.register((select, options) => new RecurrentOutput(select as RecurrentSelect, options as { name?: string }));
