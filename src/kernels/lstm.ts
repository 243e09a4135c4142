import { gradients } from '../autograd/backward.js';
import { recordOutputs } from '../autograd/multi-output.js';
import { isGradEnabled } from '../core/engine.js';
import { DTypeError, fmtShape, ShapeError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { k } from './contract.js';
import { assertFloat, assertTensor, uninitialized } from './util.js';

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
    if (isGradEnabled()) return compositeVjp(gates, cPrev, dh, dc);
    const dGates = uninitialized('lstmCell', dtype, [n, 4 * hidden]);
    const dcPrev = uninitialized('lstmCell', dtype, [n, hidden]);
    k().lstmCellBackward(activated.data, cPrev.data, c.data, dh?.data ?? null, dc?.data ?? null, dGates.data, dcPrev.data, n, hidden);
    return [gates.requiresGrad ? dGates : null, cPrev.requiresGrad ? dcPrev : null];
  });
  return [h, c];
}

/** The vjp of the cell as a recorded computation: rebuild the composite and differentiate it with a graph. */
function compositeVjp(gates: Tensor, cPrev: Tensor, dh: Tensor | null, dc: Tensor | null): (Tensor | null)[] {
  const [h, c] = lstmCellComposite(gates, cPrev);
  const outs: Tensor[] = [];
  const seeds: Tensor[] = [];
  if (dh && h.requiresGrad) {
    outs.push(h);
    seeds.push(dh);
  }
  if (dc && c.requiresGrad) {
    outs.push(c);
    seeds.push(dc);
  }
  const wrt = [gates, cPrev].filter((t) => t.requiresGrad);
  if (outs.length === 0 || wrt.length === 0) return [null, null];
  const grads = gradients(outs, wrt, seeds, { createGraph: true });
  return [gates.requiresGrad ? grads[0] : null, cPrev.requiresGrad ? grads[grads.length - 1] : null];
}
