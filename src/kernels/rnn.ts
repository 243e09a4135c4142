import { recordOutputs } from '../autograd/multi-output.js';
import { isGradEnabled } from '../core/engine.js';
import { fmtShape, ShapeError, ValueError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { compositeVjp } from './composite-vjp.js';
import { concat } from './concat.js';
import { k } from './contract.js';
import { matmulPrimitive } from './matmul.js';
import { assertFloatTensorsAlike, recurrentWeightGradient, stepView } from './recurrence.js';
import { empty, scalarTensor, uninitialized } from './util.js';

/** The non-linearity of an Elman recurrence. */
export type RnnActivation = 'tanh' | 'relu';

function checkArgs(xp: Tensor, h0: Tensor, weightHh: Tensor, activation: RnnActivation): [number, number, number] {
  const op = 'rnnSequence';
  assertFloatTensorsAlike(op, [
    ['xp', xp],
    ['h0', h0],
    ['weightHh', weightHh],
  ]);
  if (activation !== 'tanh' && activation !== 'relu') throw new ValueError(`${op}: activation must be 'tanh' or 'relu', got ${String(activation)}`);
  const [T, n, H] = xp.ndim === 3 ? xp.shape : [0, 0, 0];
  const fits = (t: Tensor, shape: readonly number[]) => t.ndim === shape.length && t.shape.every((d, i) => d === shape[i]);
  if (xp.ndim !== 3 || T < 1 || !fits(h0, [n, H]) || !fits(weightHh, [H, H])) {
    throw new ShapeError(
      `${op}: expected xp [seqLen >= 1, n, hidden], h0 [n, hidden], weightHh [hidden, hidden], got xp ${fmtShape(xp.shape)}, h0 ${fmtShape(h0.shape)}, weightHh ${fmtShape(weightHh.shape)}`,
    );
  }
  return [T, n, H];
}

/**
 * An Elman recurrence written with tensor ops, one step after another,
 * h_t = act(xp_t + h_{t-1}·W_hhᵀ): the definition {@link rnnSequence} must
 * agree with, and its gradient under createGraph.
 */
export function rnnSequenceComposite(xp: Tensor, h0: Tensor, weightHh: Tensor, activation: RnnActivation, reverse = false): [Tensor, Tensor] {
  const [T, n, H] = checkArgs(xp, h0, weightHh, activation);
  const outputs = new Array<Tensor>(T);
  let h = h0;
  for (let s = 0; s < T; s++) {
    const t = reverse ? T - 1 - s : s;
    const pre = matmulPrimitive(h, weightHh, false, true).add(xp.narrow(0, t, 1).reshape([n, H]));
    h = activation === 'tanh' ? pre.tanh() : pre.relu();
    outputs[t] = h.reshape([1, n, H]);
  }
  return [concat(outputs, 0), h];
}

/**
 * An Elman RNN layer's recurrence over a whole sequence as one op (as
 * {@link lstmSequence} is for the LSTM): from the projected inputs
 * xp [seqLen, n, hidden] (x_t·W_ihᵀ + biases), h0 [n, hidden] and
 * W_hh [hidden, hidden], every step's output [seqLen, n, hidden] in time
 * order and the final h. Each step is h_t = act(xp_t + h_{t-1}·W_hhᵀ), the
 * product written straight into the output, the sum and the activation in
 * place. Backward runs through time inside the op: the pre-activation's
 * gradient is dh·(1 - h²) for tanh and dh where h > 0 for ReLU (both read
 * from the saved output), which is xp_t's gradient, and dh_{t-1} is it times
 * W_hh; W_hh's gradient is one product over all steps.
 */
export function rnnSequence(xp: Tensor, h0: Tensor, weightHh: Tensor, activation: RnnActivation, reverse = false): [Tensor, Tensor] {
  const [T, n, H] = checkArgs(xp, h0, weightHh, activation);
  const dtype = xp.dtype;
  const step = n * H;
  const shape = [n, H];
  const kk = k();
  const out = uninitialized('rnnSequence', dtype, [T, n, H]);
  const order = (s: number) => (reverse ? T - 1 - s : s);
  for (let s = 0; s < T; s++) {
    const t = order(s);
    const h = stepView(out, t, step);
    kk.matmul(s === 0 ? h0.data : stepView(out, order(s - 1), step), weightHh.data, h, 1, n, H, H, false, true);
    kk.binary('add', h, shape, stepView(xp, t, step), shape, h, shape);
    kk.unary(activation, h, h);
  }
  const hT = uninitialized('rnnSequence', dtype, shape);
  kk.unary('copy', stepView(out, order(T - 1), step), hT.data);
  recordOutputs([out, hT], 'rnnSequence', [xp, h0, weightHh], ([dOut, dhT]) => {
    if (isGradEnabled()) return compositeVjp(() => rnnSequenceComposite(xp, h0, weightHh, activation, reverse), [xp, h0, weightHh], [dOut, dhT]);
    const kb = k();
    const dPre = uninitialized('rnnSequence', dtype, [T, n, H]);
    // The running gradient of h, carried from each step to the one before it.
    const dh = empty('rnnSequence', dtype, shape);
    if (dhT) kb.unary('copy', dhT.data, dh.data);
    const slope = activation === 'tanh' ? uninitialized('rnnSequence', dtype, shape) : null;
    const one = activation === 'tanh' ? scalarTensor(1, dtype) : null;
    for (let s = T - 1; s >= 0; s--) {
      const t = order(s);
      if (dOut) kb.binary('add', dh.data, shape, stepView(dOut, t, step), shape, dh.data, shape);
      const h = stepView(out, t, step);
      const dP = stepView(dPre, t, step);
      if (slope && one) {
        // tanh' = 1 - h².
        kb.unary('square', h, slope.data);
        kb.binary('sub', one.data, [], slope.data, shape, slope.data, shape);
        kb.binary('mul', dh.data, shape, slope.data, shape, dP, shape);
      } else {
        // relu' = 1 where h > 0 (h = relu(pre) > 0 exactly where pre > 0).
        kb.reluBackward(h, dh.data, dP);
      }
      if (s > 0 || h0.requiresGrad) kb.matmul(dP, weightHh.data, dh.data, 1, n, H, H, false, false);
    }
    const dW = weightHh.requiresGrad ? recurrentWeightGradient(dPre, out, h0, reverse) : null;
    return [xp.requiresGrad ? dPre : null, h0.requiresGrad ? dh : null, dW];
  });
  return [out, hT];
}
