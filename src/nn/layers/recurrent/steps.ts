// One time step of each recurrent cell, shared by the cells (RNNCell,
// LSTMCell, GRUCell) and the full layers (RNN, LSTM, GRU), with the input
// projection split off: a full layer projects the inputs of ALL time steps in
// one matrix product before its loop, so that a step costs one [batch, H]·[H, G·H]
// product (all gates of all rows at once) plus the gate non-linearities.
import type { FloatDType } from '../../../core/dtype.js';
import type { Generator } from '../../../core/random.js';
import type { Tensor } from '../../../core/tensor.js';
import { concat, linear, zeros } from '../../../ops/index.js';
import { type LstmPeephole, lstmCell, lstmCellComposite, matmulPrimitive, TiedMatmul } from '../../../ops/primitives.js';
import { uniform } from '../../init.js';
import type { Module } from '../../module.js';
import { Parameter } from '../../parameter.js';

/** The recurrences: Elman RNN with tanh or ReLU, LSTM, GRU. */
export type CellKind = 'rnnTanh' | 'rnnRelu' | 'lstm' | 'gru';

/** Gate blocks stacked in the weights: G in weight_ih [G·H, in]. */
export const GATE_COUNT: Readonly<Record<CellKind, number>> = { rnnTanh: 1, rnnRelu: 1, lstm: 4, gru: 3 };

/** The parameters of one cell (one layer and direction of a full layer). */
export interface CellWeights {
  readonly weightIh: Tensor;
  readonly weightHh: Tensor;
  readonly biasIh: Tensor | null;
  readonly biasHh: Tensor | null;
  readonly peephole: LstmPeephole | null;
}

/** A cell ready to run: its weights with the biases folded where the math allows. */
export interface PreparedCell {
  readonly kind: CellKind;
  readonly hidden: number;
  readonly weightIh: Tensor;
  /** h·W_hhᵀ, step after step, with W_hh's gradient formed once over all steps. */
  readonly recurrent: TiedMatmul;
  /** Added to the input projection: b_ih + b_hh, except GRU's n block, which gets b_in only. */
  readonly inputBias: Tensor | null;
  /** GRU's b_hn, which r multiplies and so cannot be folded. */
  readonly resetBias: Tensor | null;
  readonly peephole: LstmPeephole | null;
}

/**
 * Once per forward: fold the biases and set up the recurrent product. RNN
 * and LSTM add b_ih + b_hh to the same pre-activation; GRU folds them for r
 * and z, but b_hn sits inside r·(W_hn·h + b_hn) and stays apart. W_hh goes
 * through a TiedMatmul, so its gradient is one product over all steps.
 */
export function prepareCell(kind: CellKind, hidden: number, w: CellWeights): PreparedCell {
  let inputBias: Tensor | null = null;
  let resetBias: Tensor | null = null;
  if (w.biasIh && w.biasHh) {
    if (kind === 'gru') {
      const rz = w.biasIh.narrow(0, 0, 2 * hidden).add(w.biasHh.narrow(0, 0, 2 * hidden));
      inputBias = concat([rz, w.biasIh.narrow(0, 2 * hidden, hidden)], 0);
      resetBias = w.biasHh.narrow(0, 2 * hidden, hidden);
    } else {
      inputBias = w.biasIh.add(w.biasHh);
    }
  }
  return { kind, hidden, weightIh: w.weightIh, recurrent: new TiedMatmul(w.weightHh), inputBias, resetBias, peephole: w.peephole };
}

/** x [rows, in] → x·W_ihᵀ + folded bias [rows, G·H]; a full layer passes all time steps' rows at once. */
export function projectInput(cell: PreparedCell, x: Tensor): Tensor {
  // With a bias, one primitive writes the bias and accumulates the product onto it: a [T·n, G·H] array and a pass
  // over it fewer than a product followed by an add (a 28-step LSTM of 128 units on a batch of 64: 3.7 MB a step).
  if (cell.inputBias && x.ndim === 2) return linear(x, cell.weightIh, cell.inputBias);
  const xp = matmulPrimitive(x, cell.weightIh, false, true);
  return cell.inputBias ? xp.add(cell.inputBias) : xp;
}

/**
 * One step from the projected input xp [n, G·H] and the previous state
 * (h [n, H], and c for LSTM); returns the new [h, c] (c null except for LSTM).
 *
 * - RNN: h' = act(xp + W_hh·h), act = tanh or relu.
 * - LSTM: gates = xp + W_hh·h in the order i, f, g, o (xp added into the
 *   product's own storage), then the fused lstmCell (or the composite one
 *   with peepholes).
 * - GRU (PyTorch's formulation): r = σ(xp_r + W_hr·h), z = σ(xp_z + W_hz·h),
 *   n = tanh(xp_n + r·(W_hn·h + b_hn)), h' = (1 - z)·n + z·h, computed as
 *   n + z·(h - n).
 */
export function cellStep(cell: PreparedCell, xp: Tensor, h: Tensor, c: Tensor | null): [Tensor, Tensor | null] {
  const H = cell.hidden;
  switch (cell.kind) {
    case 'rnnTanh':
      return [cell.recurrent.apply(h, xp).tanh(), null];
    case 'rnnRelu':
      return [cell.recurrent.apply(h, xp).relu(), null];
    case 'lstm': {
      const gates = cell.recurrent.apply(h, xp);
      const state = c as Tensor;
      return cell.peephole ? lstmCellComposite(gates, state, cell.peephole) : lstmCell(gates, state);
    }
    case 'gru': {
      const hp = cell.recurrent.apply(h);
      const rz = xp
        .narrow(1, 0, 2 * H)
        .add(hp.narrow(1, 0, 2 * H))
        .sigmoid();
      let hn = hp.narrow(1, 2 * H, H);
      if (cell.resetBias) hn = hn.add(cell.resetBias);
      const n = xp
        .narrow(1, 2 * H, H)
        .add(rz.narrow(1, 0, H).mul(hn))
        .tanh();
      return [n.add(rz.narrow(1, H, H).mul(h.sub(n))), null];
    }
  }
}

/** Parameter names of one cell, PyTorch's for the shared ones: weight_ih{suffix}, weight_hh, bias_ih, bias_hh; then our peepholes. */
export function cellParameterNames(suffix: string, bias: boolean, peephole: boolean): string[] {
  const names = [`weight_ih${suffix}`, `weight_hh${suffix}`];
  if (bias) names.push(`bias_ih${suffix}`, `bias_hh${suffix}`);
  if (peephole) names.push(`peephole_i${suffix}`, `peephole_f${suffix}`, `peephole_o${suffix}`);
  return names;
}

export interface CellParameterSpec {
  readonly kind: CellKind;
  readonly inputSize: number;
  readonly hidden: number;
  readonly bias: boolean;
  readonly peephole: boolean;
  readonly dtype: FloatDType;
  readonly generator?: Generator;
}

/**
 * Create one cell's parameters as own properties of `owner` (so Module finds
 * and names them), in PyTorch's order, each drawn from U(-1/√H, 1/√H) as
 * PyTorch's reset_parameters does for every RNN weight and bias (the
 * peepholes too, for want of a better convention).
 */
export function addCellParameters(owner: Module, suffix: string, spec: CellParameterSpec): void {
  const G = GATE_COUNT[spec.kind];
  const H = spec.hidden;
  const shapes: number[][] = [
    [G * H, spec.inputSize],
    [G * H, H],
  ];
  if (spec.bias) shapes.push([G * H], [G * H]);
  if (spec.peephole) shapes.push([H], [H], [H]);
  const names = cellParameterNames(suffix, spec.bias, spec.peephole);
  const bound = 1 / Math.sqrt(H);
  const slots = owner as unknown as Record<string, Parameter>;
  names.forEach((name, i) => {
    const p = new Parameter(zeros(shapes[i], { dtype: spec.dtype }));
    uniform(p, -bound, bound, { generator: spec.generator });
    slots[name] = p;
  });
}

/** Read one cell's weights back from `owner` at call time (functionalCall may have substituted them). */
export function cellWeights(owner: Module, suffix: string, bias: boolean, peephole: boolean): CellWeights {
  const slots = owner as unknown as Record<string, Tensor>;
  return {
    weightIh: slots[`weight_ih${suffix}`],
    weightHh: slots[`weight_hh${suffix}`],
    biasIh: bias ? slots[`bias_ih${suffix}`] : null,
    biasHh: bias ? slots[`bias_hh${suffix}`] : null,
    peephole: peephole ? { i: slots[`peephole_i${suffix}`], f: slots[`peephole_f${suffix}`], o: slots[`peephole_o${suffix}`] } : null,
  };
}
