import { recordOutputs } from '../autograd/multi-output.js';
import { isGradEnabled } from '../core/engine.js';
import { DTypeError, fmtShape, ShapeError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { compositeVjp } from './composite-vjp.js';
import { concat } from './concat.js';
import { k } from './contract.js';
import { matmulPrimitive } from './matmul.js';
import { assertFloatTensorsAlike, recurrentWeightGradient, stepView } from './recurrence.js';
import { assertFloat, assertTensor, empty, uninitialized } from './util.js';

/** Peephole weights of an LSTM cell, one [hidden] vector per gate that looks at the cell state. */
export interface LstmPeephole {
  /** Input gate peephole. */
  readonly i: Tensor;
  /** Forget gate peephole. */
  readonly f: Tensor;
  /** Output gate peephole. */
  readonly o: Tensor;
}

function checkCellArgs(op: string, gates: Tensor, cPrev: Tensor): [number, number] {
  assertTensor(op, 'gates', gates);
  assertTensor(op, 'cPrev', cPrev);
  assertFloat(op, 'gates', gates);
  if (gates.dtype !== cPrev.dtype) throw new DTypeError(`${op}: gates are ${gates.dtype} but cPrev is ${cPrev.dtype}`);
  if (cPrev.ndim !== 2 || gates.ndim !== 2 || gates.shape[0] !== cPrev.shape[0] || gates.shape[1] !== 4 * cPrev.shape[1]) {
    throw new ShapeError(`${op}: expected gates [n, 4·hidden] and cPrev [n, hidden], got gates ${fmtShape(gates.shape)} and cPrev ${fmtShape(cPrev.shape)}`);
  }
  return [cPrev.shape[0], cPrev.shape[1]];
}

/**
 * The LSTM cell update written with tensor ops, gate order i, f, g, o:
 * i = σ(a_i), f = σ(a_f), g = tanh(a_g), c = f·cPrev + i·g,
 * o = σ(a_o), h = o·tanh(c), where a = gates [n, 4·hidden] are the
 * pre-activations W_ih·x + b_ih + W_hh·h_prev + b_hh. Returns [h, c].
 *
 * With `peephole` the gates also look at the cell state (Gers, Schraudolph
 * and Schmidhuber 2002, the formulation of TensorFlow's LSTMCell with
 * use_peepholes): i = σ(a_i + p_i·cPrev), f = σ(a_f + p_f·cPrev) and
 * o = σ(a_o + p_o·c), the output gate seeing the new state.
 *
 * This is the definition that the fused {@link lstmCell} must agree with.
 */
export function lstmCellComposite(gates: Tensor, cPrev: Tensor, peephole: LstmPeephole | null = null): [Tensor, Tensor] {
  const [, hidden] = checkCellArgs('lstmCellComposite', gates, cPrev);
  let ai = gates.narrow(1, 0, hidden);
  let af = gates.narrow(1, hidden, hidden);
  let ao = gates.narrow(1, 3 * hidden, hidden);
  if (peephole) {
    ai = ai.add(cPrev.mul(peephole.i));
    af = af.add(cPrev.mul(peephole.f));
  }
  const i = ai.sigmoid();
  const f = af.sigmoid();
  const g = gates.narrow(1, 2 * hidden, hidden).tanh();
  const c = f.mul(cPrev).add(i.mul(g));
  if (peephole) ao = ao.add(c.mul(peephole.o));
  const h = ao.sigmoid().mul(c.tanh());
  return [h, c];
}

/**
 * The fused LSTM cell: the same [h, c] as {@link lstmCellComposite} without
 * peepholes, computed by one kernel (lstmCellForward) instead of a dozen
 * element-wise ops, and differentiated by one kernel (lstmCellBackward) from
 * the saved activated gates. When the backward pass itself is recorded
 * (createGraph, for higher-order derivatives) the gradient comes from the
 * composite instead, so that it has a graph of its own.
 *
 * gates [n, 4·hidden] are pre-activations in PyTorch's order i, f, g, o;
 * cPrev is [n, hidden].
 */
export function lstmCell(gates: Tensor, cPrev: Tensor): [Tensor, Tensor] {
  const [n, hidden] = checkCellArgs('lstmCell', gates, cPrev);
  const dtype = gates.dtype;
  // Every element of the outputs is written by the kernel: no zero-filling.
  const h = uninitialized('lstmCell', dtype, [n, hidden]);
  const c = uninitialized('lstmCell', dtype, [n, hidden]);
  const activated = uninitialized('lstmCell', dtype, [n, 4 * hidden]);
  k().lstmCellForward(gates.data, cPrev.data, c.data, h.data, activated.data, n, hidden);
  recordOutputs([h, c], 'lstmCell', [gates, cPrev], ([dh, dc]) => {
    if (isGradEnabled()) return compositeVjp(() => lstmCellComposite(gates, cPrev), [gates, cPrev], [dh, dc]);
    const dGates = uninitialized('lstmCell', dtype, [n, 4 * hidden]);
    const dcPrev = uninitialized('lstmCell', dtype, [n, hidden]);
    k().lstmCellBackward(activated.data, cPrev.data, c.data, dh?.data ?? null, dc?.data ?? null, dGates.data, dcPrev.data, n, hidden);
    return [gates.requiresGrad ? dGates : null, cPrev.requiresGrad ? dcPrev : null];
  });
  return [h, c];
}

function checkSequenceArgs(xp: Tensor, h0: Tensor, c0: Tensor, weightHh: Tensor): [number, number, number] {
  const op = 'lstmSequence';
  assertFloatTensorsAlike(op, [
    ['xp', xp],
    ['h0', h0],
    ['c0', c0],
    ['weightHh', weightHh],
  ]);
  const [T, n, G] = xp.ndim === 3 ? xp.shape : [0, 0, 0];
  const H = G / 4;
  const fits = (t: Tensor, shape: readonly number[]) => t.ndim === shape.length && t.shape.every((d, i) => d === shape[i]);
  if (xp.ndim !== 3 || T < 1 || !Number.isInteger(H) || !fits(h0, [n, H]) || !fits(c0, [n, H]) || !fits(weightHh, [4 * H, H])) {
    throw new ShapeError(
      `${op}: expected xp [seqLen >= 1, n, 4·hidden], h0 and c0 [n, hidden], weightHh [4·hidden, hidden], got xp ${fmtShape(xp.shape)}, h0 ${fmtShape(h0.shape)}, c0 ${fmtShape(c0.shape)}, weightHh ${fmtShape(weightHh.shape)}`,
    );
  }
  return [T, n, H];
}

/**
 * A whole LSTM sequence written with the composite cell, one step after
 * another: the definition that {@link lstmSequence} must agree with, and its
 * gradient when a backward pass is itself recorded (createGraph).
 */
export function lstmSequenceComposite(xp: Tensor, h0: Tensor, c0: Tensor, weightHh: Tensor, reverse = false): [Tensor, Tensor, Tensor] {
  const [T, n, H] = checkSequenceArgs(xp, h0, c0, weightHh);
  const outputs = new Array<Tensor>(T);
  let h = h0;
  let c = c0;
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    const gates = matmulPrimitive(h, weightHh, false, true).add(xp.narrow(0, t, 1).reshape([n, 4 * H]));
    [h, c] = lstmCellComposite(gates, c);
    outputs[t] = h.reshape([1, n, H]);
  }
  return [concat(outputs, 0), h, c];
}

/**
 * An LSTM layer's recurrence over a whole sequence as one op: from the
 * projected inputs xp [seqLen, n, 4·hidden] (x_t·W_ihᵀ + biases, for every
 * step at once), the initial state h0, c0 [n, hidden] and the recurrent
 * weight W_hh [4·hidden, hidden], it returns the output of every step
 * [seqLen, n, hidden] (in time order, also when `reverse` runs the steps from
 * the last to the first) and the final h and c. Each step is
 * gates = xp_t + h·W_hhᵀ, then the fused cell ({@link lstmCell}).
 *
 * The same numbers as running {@link lstmCell} step by step, but as one
 * node of the graph instead of several per step: an eager training step of a
 * 28-step LSTM otherwise records, allocates and collects a few hundred small
 * tensors, which cost more than the arithmetic. Backward is
 * backpropagation through time inside the op: per step (last first) the
 * cell's adjoint gives the gates' gradient, which is xp_t's, and
 * dh_{t-1} = dGates_t·W_hh; W_hh's gradient is Σ_t dGates_tᵀ·h_{t-1}, formed
 * by one product over all steps at the end. Under createGraph the gradient
 * comes from {@link lstmSequenceComposite}, which has a graph of its own.
 */
export function lstmSequence(xp: Tensor, h0: Tensor, c0: Tensor, weightHh: Tensor, reverse = false): [Tensor, Tensor, Tensor] {
  const [T, n, H] = checkSequenceArgs(xp, h0, c0, weightHh);
  const dtype = xp.dtype;
  const G = 4 * H;
  const step = n * H;
  const kk = k();
  // Every element of these is written by a kernel below.
  const out = uninitialized('lstmSequence', dtype, [T, n, H]);
  const cells = uninitialized('lstmSequence', dtype, [T, n, H]);
  const activated = uninitialized('lstmSequence', dtype, [T, n, G]);
  const gates = uninitialized('lstmSequence', dtype, [n, G]);
  const at = stepView;
  const order = (s: number) => (reverse ? T - 1 - s : s);
  for (let s = 0; s < T; s++) {
    const t = order(s);
    const hPrev = s === 0 ? h0.data : at(out, order(s - 1), step);
    const cPrev = s === 0 ? c0.data : at(cells, order(s - 1), step);
    kk.matmul(hPrev, weightHh.data, gates.data, 1, n, G, H, false, true);
    kk.binary('add', gates.data, gates.shape, at(xp, t, n * G), gates.shape, gates.data, gates.shape);
    kk.lstmCellForward(gates.data, cPrev, at(cells, t, step), at(out, t, step), at(activated, t, n * G), n, H);
  }
  const last = order(T - 1);
  const hT = uninitialized('lstmSequence', dtype, [n, H]);
  const cT = uninitialized('lstmSequence', dtype, [n, H]);
  kk.unary('copy', at(out, last, step), hT.data);
  kk.unary('copy', at(cells, last, step), cT.data);
  recordOutputs([out, hT, cT], 'lstmSequence', [xp, h0, c0, weightHh], ([dOut, dhT, dcT]) => {
    if (isGradEnabled()) return compositeVjp(() => lstmSequenceComposite(xp, h0, c0, weightHh, reverse), [xp, h0, c0, weightHh], [dOut, dhT, dcT]);
    const kb = k();
    const dGates = uninitialized('lstmSequence', dtype, [T, n, G]);
    // The running gradients of h and c, carried from each step to the one before it.
    const dh = empty('lstmSequence', dtype, [n, H]);
    const dc = empty('lstmSequence', dtype, [n, H]);
    if (dhT) kb.unary('copy', dhT.data, dh.data);
    if (dcT) kb.unary('copy', dcT.data, dc.data);
    for (let s = T - 1; s >= 0; s--) {
      const t = order(s);
      if (dOut) kb.binary('add', dh.data, dh.shape, at(dOut, t, step), dh.shape, dh.data, dh.shape);
      const cPrev = s === 0 ? c0.data : at(cells, order(s - 1), step);
      const dG = at(dGates, t, n * G);
      // dc becomes dc_{t-1} in place (the kernel allows it).
      kb.lstmCellBackward(at(activated, t, n * G), cPrev, at(cells, t, step), dh.data, dc.data, dG, dc.data, n, H);
      if (s > 0 || h0.requiresGrad) kb.matmul(dG, weightHh.data, dh.data, 1, n, H, G, false, false);
    }
    const dW = weightHh.requiresGrad ? recurrentWeightGradient(dGates, out, h0, reverse) : null;
    return [xp.requiresGrad ? dGates : null, h0.requiresGrad ? dh : null, c0.requiresGrad ? dc : null, dW];
  });
  return [out, hT, cT];
}
