// Variable-length sequences and truncated backpropagation through time: the
// parts of running a recurrence over a padded batch that do not depend on the
// cell.
import { fmtShape, ShapeError, ValueError } from '../../../core/errors.js';
import { Tensor } from '../../../core/tensor.js';
import { where, zeros } from '../../../ops/index.js';

/** Per-call options of the recurrent layers. */
export interface SequenceOptions {
  /**
   * Valid length of each sequence of the batch (int32 tensor [batch] or
   * numbers, each in [0, seqLen]); the steps past it are padding. Padding
   * never reaches the states: the final states are those after each
   * sequence's last valid step, the outputs past the length are zeros, and
   * the reverse direction of a bidirectional layer starts at each sequence's
   * own last valid step (from the initial state).
   */
  lengths?: Tensor | readonly number[];
  /**
   * Which steps are valid, 1 (or true) for a real step and 0 for padding, in
   * the layout of the input's first two axes ([batch, seqLen] with
   * batchFirst, else [seqLen, batch]). A masked step is skipped: the state
   * passes through it unchanged and its output is zero. `lengths` is the
   * common case of a mask (a prefix of ones); give one or the other.
   */
  mask?: Tensor;
}

/** For one time step: every row valid, no row valid, or a bool [batch, 1] column saying which rows are. */
export type StepValidity = 'all' | 'none' | Tensor;

function checkLengths(who: string, lengths: Tensor | readonly number[], batch: number, seqLen: number): number[] {
  let values: number[];
  if (lengths instanceof Tensor) {
    if (lengths.ndim !== 1 || lengths.dtype === 'bool') {
      throw new ValueError(
        `${who}: lengths must be an integer tensor of shape [batch] or an array of numbers, got a ${lengths.dtype} tensor of shape ${fmtShape(lengths.shape)}`,
      );
    }
    values = Array.from(lengths.data as ArrayLike<number>);
  } else if (Array.isArray(lengths)) {
    values = [...lengths];
  } else {
    throw new ValueError(`${who}: lengths must be an integer tensor of shape [batch] or an array of numbers, got ${typeof lengths}`);
  }
  if (values.length !== batch) throw new ShapeError(`${who}: lengths has ${values.length} entries for a batch of ${batch}`);
  values.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > seqLen) {
      throw new ValueError(`${who}: lengths[${i}] must be an integer in [0, ${seqLen}] (the sequence length), got ${v}`);
    }
  });
  return values;
}

/**
 * Which rows are valid at each of `seqLen` steps, from `lengths` or `mask`;
 * null when neither is given (every step of every row is valid).
 */
export function stepValidity(who: string, options: SequenceOptions, batch: number, seqLen: number, batchFirst: boolean): StepValidity[] | null {
  const { lengths, mask } = options;
  if (lengths !== undefined && lengths !== null && mask !== undefined && mask !== null) {
    throw new ValueError(`${who}: give either lengths or mask, not both`);
  }
  // valid(t, b) reads the source in its own layout.
  let valid: (t: number, b: number) => boolean;
  if (lengths !== undefined && lengths !== null) {
    const lens = checkLengths(who, lengths, batch, seqLen);
    valid = (t, b) => t < lens[b];
  } else if (mask !== undefined && mask !== null) {
    if (!(mask instanceof Tensor)) throw new ValueError(`${who}: mask must be a Tensor, got ${typeof mask}`);
    const want = batchFirst ? [batch, seqLen] : [seqLen, batch];
    if (mask.ndim !== 2 || mask.shape[0] !== want[0] || mask.shape[1] !== want[1]) {
      throw new ShapeError(
        `${who}: expected a mask of shape ${fmtShape(want)} (${batchFirst ? '[batch, seqLen]' : '[seqLen, batch]'}), got ${fmtShape(mask.shape)}`,
      );
    }
    const m = mask.data;
    valid = batchFirst ? (t, b) => m[b * seqLen + t] !== 0 : (t, b) => m[t * batch + b] !== 0;
  } else {
    return null;
  }
  const steps: StepValidity[] = [];
  for (let t = 0; t < seqLen; t++) {
    const column = new Uint8Array(batch);
    let count = 0;
    for (let b = 0; b < batch; b++) {
      if (valid(t, b)) {
        column[b] = 1;
        count++;
      }
    }
    steps.push(count === batch ? 'all' : count === 0 ? 'none' : new Tensor(column, [batch, 1]));
  }
  return steps;
}

/** A state, or an array (possibly nested, like an LSTM's [h, c]) of states. */
export type RecurrentState = Tensor | null | readonly RecurrentState[];

/**
 * The same state cut from the graph, for truncated backpropagation through
 * time: run a long stream in chunks, carrying the values of the final states
 * from one chunk to the next but not their history, so each backward pass
 * stops at its chunk's start.
 *
 * ```ts
 * let state: [Tensor, Tensor] | null = null;
 * for (const [x, y] of chunks) {           // consecutive pieces of one stream
 *   const [out, next] = lstm.forward(x, state);
 *   const loss = lossFn(head.forward(out), y);
 *   opt.zeroGrad(); loss.backward(); opt.step();
 *   state = detachState(next);              // keep the values, drop the graph
 * }
 * ```
 */
export function detachState<S extends RecurrentState>(state: S): S {
  if (state === null) return state;
  if (state instanceof Tensor) return state.detach() as S;
  if (Array.isArray(state)) return state.map((s) => detachState(s)) as unknown as S;
  throw new ValueError(`detachState: expected a Tensor or an array of Tensors, got ${typeof state}`);
}

/** The state update of one step: projected input and previous [h, c] in, new [h, c] out (c null for RNN and GRU). */
export type StepFn = (xp: Tensor, h: Tensor, c: Tensor | null) => [Tensor, Tensor | null];

export interface UnrollResult {
  /** The output of every step, in time order (also when run in reverse). */
  outputs: Tensor[];
  h: Tensor;
  c: Tensor | null;
}

/**
 * Run a recurrence over the projected inputs of every step (time order), in
 * reverse for the backward direction of a bidirectional layer. With
 * `validity`, a row's state passes unchanged through its invalid steps and
 * its output there is zero, so the final state is the one after its last
 * valid step, and running in reverse starts at that step from the initial
 * state. Backward through time is autograd over this unrolled loop.
 */
export function unroll(
  inputs: readonly Tensor[],
  step: StepFn,
  h0: Tensor,
  c0: Tensor | null,
  reverse: boolean,
  validity: readonly StepValidity[] | null,
): UnrollResult {
  const T = inputs.length;
  const outputs = new Array<Tensor>(T);
  let h = h0;
  let c = c0;
  let zeroOutput: Tensor | null = null;
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    const valid = validity ? validity[t] : 'all';
    if (valid === 'none') {
      zeroOutput ??= zeros(h0.shape, { dtype: h0.dtype });
      outputs[t] = zeroOutput;
      continue;
    }
    const [hNew, cNew] = step(inputs[t], h, c);
    if (valid === 'all') {
      h = hNew;
      c = cNew;
      outputs[t] = hNew;
    } else {
      outputs[t] = where(valid, hNew, 0);
      h = where(valid, hNew, h);
      c = c && cNew ? where(valid, cNew, c) : null;
    }
  }
  return { outputs, h, c };
}
