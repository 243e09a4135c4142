// Recurrent layers: PyTorch's numbers through RNN, LSTM, GRU and a stacked
// bidirectional LSTM (forward and backward), float64 gradient checks of every
// layer and cell in its inputs, initial states and weights, the fused LSTM
// cell against its composite definition, padded batches against the
// unpadded sequences, truncated BPTT, and save/load through getConfig, the
// registry and the state dict.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { recordOutputs } from '../../src/autograd/multi-output.js';
import { loadNativeAddon } from '../../src/backends/native/binding.js';
import { refKernels } from '../../src/backends/ref/index.js';
import * as nt from '../../src/index.js';
import { nn, ShapeError, type Tensor, ValueError } from '../../src/index.js';
import { lstmCell, lstmCellComposite, lstmSequence, lstmSequenceComposite } from '../../src/kernels/lstm.js';
import { type RnnActivation, rnnSequence, rnnSequenceComposite } from '../../src/kernels/rnn.js';
import { TiedMatmul } from '../../src/kernels/tied-matmul.js';
import { unbind } from '../../src/kernels/unbind.js';
import { assertClose, type FixtureTensor, fromFixture, loadFixture } from '../helpers.js';

interface RecurrentCase {
  name: string;
  module: 'RNN' | 'LSTM' | 'GRU';
  inputSize: number;
  hiddenSize: number;
  numLayers: number;
  bidirectional: boolean;
  weights: Record<string, FixtureTensor>;
  input: FixtureTensor;
  h0: FixtureTensor;
  c0?: FixtureTensor;
  output: FixtureTensor;
  hN: FixtureTensor;
  cN?: FixtureTensor;
  R: FixtureTensor;
  S: FixtureTensor;
  grads: { input: FixtureTensor; h0: FixtureTensor; c0?: FixtureTensor; weights: Record<string, FixtureTensor> };
}

const fixture = loadFixture<{ cases: RecurrentCase[] }>('recurrent.json');
const TOL = { atol: 1e-10, rtol: 1e-10 };
const gen = (seed: number) => new nt.Generator(seed);
const rnd = (shape: number[], seed: number, scale = 1) => nt.uniform(shape, -scale, scale, { dtype: 'float64', generator: gen(seed) });

type AnyRecurrent = nn.RNN | nn.LSTM | nn.GRU;
type State = Tensor | [Tensor, Tensor];

/** Run a full layer with an optional initial state ([h0, c0] for LSTM). */
function run(layer: AnyRecurrent, x: Tensor, h0: Tensor | null, c0: Tensor | null, options: nn.SequenceOptions = {}): [Tensor, Tensor, Tensor | null] {
  if (layer instanceof nn.LSTM) {
    const [out, [h, c]] = layer.forward(x, h0 || c0 ? [h0, c0] : null, options);
    return [out, h, c];
  }
  const [out, h] = layer.forward(x, h0, options);
  return [out, h, null];
}

/** A scalar that weighs every output and final state with fixed random numbers, so one backward checks them all. */
function weighted(out: Tensor, h: Tensor, c: Tensor | null): Tensor {
  let loss = out
    .mul(rnd([...out.shape], 101))
    .sum()
    .add(h.mul(rnd([...h.shape], 102)).sum());
  if (c) loss = loss.add(c.mul(rnd([...c.shape], 103)).sum());
  return loss;
}

/**
 * Finite differences of the weighted outputs in the input, the initial
 * states and every parameter (the parameters stand in for the layer's own by
 * name through functionalCall).
 */
function gradcheckLayer(layer: AnyRecurrent, x: Tensor, h0: Tensor, c0: Tensor | null, options: nn.SequenceOptions = {}): void {
  const named = layer.namedParameters();
  const states = c0 ? [h0, c0] : [h0];
  const f = (input: Tensor, ...rest: Tensor[]) => {
    const [h, c] = c0 ? [rest[0], rest[1]] : [rest[0], null];
    const params = new Map(named.map(([n], i) => [n, rest[states.length + i]]));
    const [out, state] = callWith(layer, params, input, layer instanceof nn.LSTM ? [h, c] : h, options) as [Tensor, State];
    return Array.isArray(state) ? weighted(out, state[0], state[1]) : weighted(out, state, null);
  };
  nt.gradcheck(f, [x, ...states, ...named.map(([, p]) => p.detach())], { atol: 1e-7, rtol: 1e-6 });
}

/** functionalCall with the layer's arguments spread (its typed overloads want one layer class at a time). */
function callWith(layer: nn.Module, params: Map<string, Tensor>, ...args: unknown[]): unknown {
  return (nn.functionalCall as (m: nn.Module, p: Map<string, Tensor>, ...a: unknown[]) => unknown)(layer, params, ...args);
}

function throwsMatching(call: () => unknown, kind: new (...a: never[]) => Error, pattern: RegExp): void {
  assert.throws(call, (e: unknown) => {
    assert.ok(e instanceof kind, `expected ${kind.name}, got ${(e as Error).name}: ${(e as Error).message}`);
    assert.match((e as Error).message, pattern);
    return true;
  });
}

describe('recurrent layers against PyTorch (recurrent.json)', () => {
  for (const c of fixture.cases) {
    test(`${c.name}: outputs, final states and the gradients of sum(output·R) + sum(hN·S)`, () => {
      const options = { numLayers: c.numLayers, bidirectional: c.bidirectional, batchFirst: true, dtype: 'float64' as const };
      const layer = c.module === 'LSTM' ? new nn.LSTM(4, 5, options) : c.module === 'GRU' ? new nn.GRU(4, 5, options) : new nn.RNN(4, 5, options);
      // The state-dict names and their order are PyTorch's.
      assert.deepEqual(
        layer.namedParameters().map(([n]) => n),
        Object.keys(c.weights),
      );
      layer.loadStateDict(new Map(Object.entries(c.weights).map(([k, v]) => [k, fromFixture(v)])));
      const x = fromFixture(c.input).requiresGrad_();
      const h0 = fromFixture(c.h0).requiresGrad_();
      const c0 = c.c0 ? fromFixture(c.c0).requiresGrad_() : null;
      const [out, hN, cN] = run(layer, x, h0, c0);
      assertClose(out, fromFixture(c.output), { ...TOL, message: 'output' });
      assertClose(hN, fromFixture(c.hN), { ...TOL, message: 'hN' });
      if (c.cN) assertClose(cN as Tensor, fromFixture(c.cN), { ...TOL, message: 'cN' });
      out
        .mul(fromFixture(c.R))
        .sum()
        .add(hN.mul(fromFixture(c.S)).sum())
        .backward();
      assertClose(x.grad as Tensor, fromFixture(c.grads.input), { ...TOL, message: 'd input' });
      assertClose(h0.grad as Tensor, fromFixture(c.grads.h0), { ...TOL, message: 'd h0' });
      if (c0 && c.grads.c0) assertClose(c0.grad as Tensor, fromFixture(c.grads.c0), { ...TOL, message: 'd c0' });
      for (const [name, p] of layer.namedParameters()) assertClose(p.grad as Tensor, fromFixture(c.grads.weights[name]), { ...TOL, message: `d ${name}` });
    });
  }
});

describe('fused LSTM cell', () => {
  const n = 3;
  const H = 4;

  test('forward and gradients equal the composite definition (float64 to the last bits, float32 closely)', () => {
    // i, f, o = σ(a), g = tanh(a), c = f·cPrev + i·g, h = o·tanh(c): both paths compute exactly these operations.
    const gates = rnd([n, 4 * H], 1, 3);
    const cPrev = rnd([n, H], 2, 2);
    const dh = rnd([n, H], 3);
    const dc = rnd([n, H], 4);
    const grads = (cell: typeof lstmCell) =>
      nt.grad(
        (g: Tensor, cp: Tensor) => {
          const [h, c] = cell(g, cp);
          return h.mul(dh).sum().add(c.mul(dc).sum());
        },
        { argnums: [0, 1] },
      )(gates, cPrev);
    const [hF, cF] = lstmCell(gates, cPrev);
    const [hC, cC] = lstmCellComposite(gates, cPrev);
    assertClose(hF, hC, { atol: 1e-15, rtol: 0 });
    assertClose(cF, cC, { atol: 1e-15, rtol: 0 });
    const [dgF, dcpF] = grads(lstmCell);
    const [dgC, dcpC] = grads(lstmCellComposite as typeof lstmCell);
    assertClose(dgF, dgC, { atol: 1e-14, rtol: 1e-12 });
    assertClose(dcpF, dcpC, { atol: 1e-14, rtol: 1e-12 });
    const [h32, c32] = lstmCell(gates.float(), cPrev.float());
    assertClose(h32, hC, { atol: 1e-6, rtol: 1e-5 });
    assertClose(c32, cC, { atol: 1e-6, rtol: 1e-5 });
  });

  test('gradient check in gates and cPrev, through h alone, c alone and both', () => {
    const gates = rnd([n, 4 * H], 5, 2);
    const cPrev = rnd([n, H], 6);
    nt.gradcheck((g, cp) => lstmCell(g, cp)[0], [gates, cPrev]);
    nt.gradcheck((g, cp) => lstmCell(g, cp)[1], [gates, cPrev]);
    nt.gradcheck((g, cp) => nt.concat(lstmCell(g, cp), 1), [gates, cPrev]);
  });

  test('second derivatives (createGraph) agree with the composite cell', () => {
    // d/dgates of <∂L/∂gates, v> with L = Σ h·w: the vjp recorded under createGraph must itself be differentiable.
    const gates = rnd([2, 8], 7, 2);
    const cPrev = rnd([2, 2], 8);
    const w = rnd([2, 2], 9);
    const v = rnd([2, 8], 10);
    const second = (cell: typeof lstmCell) =>
      nt.grad((g: Tensor) => {
        const inner = nt.grad((gg: Tensor) => cell(gg, cPrev)[0].mul(w).sum())(g);
        return inner.mul(v).sum();
      })(gates);
    assertClose(second(lstmCell), second(lstmCellComposite as typeof lstmCell), { atol: 1e-13, rtol: 1e-10 });
  });

  test('a layer on the fused cell equals one on the composite cell (peepholes at zero)', () => {
    nt.seed(11);
    const plain = new nn.LSTM(3, 4, { numLayers: 2, bidirectional: true, dtype: 'float64' });
    const peep = new nn.LSTM(3, 4, { numLayers: 2, bidirectional: true, dtype: 'float64', peephole: true });
    const weights = plain.stateDict();
    for (const [name, p] of peep.namedParameters()) {
      if (name.startsWith('peephole')) p.assign(nt.zerosLike(p));
      else p.assign(weights.get(name) as Tensor);
    }
    const x = rnd([5, 2, 3], 12);
    const [a, [ha, ca]] = plain.forward(x);
    const [b, [hb, cb]] = peep.forward(x);
    assertClose(a, b, { atol: 1e-15, rtol: 0 });
    assertClose(ha, hb, { atol: 1e-15, rtol: 0 });
    assertClose(ca, cb, { atol: 1e-15, rtol: 0 });
  });

  test('the reference kernels compute what the native addon computes', (t) => {
    const addon = loadNativeAddon();
    if (addon === null) {
      t.skip('native addon not built');
      return;
    }
    const gates = rnd([n, 4 * H], 13, 3).float().data as Float32Array;
    const cPrev = rnd([n, H], 14).float().data as Float32Array;
    const dh = rnd([n, H], 15).float().data as Float32Array;
    const dc = rnd([n, H], 16).float().data as Float32Array;
    const outs = () => ({
      c: new Float32Array(n * H),
      h: new Float32Array(n * H),
      act: new Float32Array(4 * n * H),
      dg: new Float32Array(4 * n * H),
      dcp: new Float32Array(n * H),
    });
    const ref = outs();
    const nat = outs();
    refKernels.lstmCellForward(gates, cPrev, ref.c, ref.h, ref.act, n, H);
    addon.lstmCellForward(gates, cPrev, nat.c, nat.h, nat.act, n, H);
    refKernels.lstmCellBackward(ref.act, cPrev, ref.c, dh, dc, ref.dg, ref.dcp, n, H);
    addon.lstmCellBackward(nat.act, cPrev, nat.c, dh, dc, nat.dg, nat.dcp, n, H);
    for (const key of ['c', 'h', 'act', 'dg', 'dcp'] as const)
      assertClose(Array.from(nat[key]), Array.from(ref[key]), { atol: 1e-6, rtol: 1e-5, message: key });
  });

  test('rejects mismatched shapes and dtypes, naming itself', () => {
    throwsMatching(
      () => lstmCell(nt.zeros([2, 7]), nt.zeros([2, 2])),
      ShapeError,
      /^lstmCell: expected gates \[n, 4·hidden\] and cPrev \[n, hidden\], got gates \[2, 7\]/,
    );
    throwsMatching(
      () => lstmCell(nt.zeros([2, 8]), nt.zeros([2, 2], { dtype: 'float64' })),
      nt.DTypeError,
      /^lstmCell: gates are float32 but cPrev is float64/,
    );
  });
});

describe('fused LSTM sequence', () => {
  const [T, n, H] = [5, 3, 4];
  const inputs = (seed: number) => [rnd([T, n, 4 * H], seed, 1.5), rnd([n, H], seed + 1), rnd([n, H], seed + 2), rnd([4 * H, H], seed + 3, 0.7)];
  /** A scalar that weighs every output of the sequence, so every gradient path is used. */
  const objective = (seq: typeof lstmSequence, reverse: boolean, w: Tensor[]) => (xp: Tensor, h0: Tensor, c0: Tensor, W: Tensor) => {
    const [out, hT, cT] = seq(xp, h0, c0, W, reverse);
    return out.mul(w[0]).sum().add(hT.mul(w[1]).sum()).add(cT.mul(w[2]).sum());
  };
  const weights = () => [rnd([T, n, H], 40), rnd([n, H], 41), rnd([n, H], 42)];

  for (const reverse of [false, true]) {
    test(`${reverse ? 'reverse: ' : ''}outputs and all four gradients equal the step-by-step composite (float64)`, () => {
      const args = inputs(reverse ? 30 : 20);
      const fused = lstmSequence(args[0], args[1], args[2], args[3], reverse);
      const composite = lstmSequenceComposite(args[0], args[1], args[2], args[3], reverse);
      for (const [i, t] of fused.entries()) assertClose(t, composite[i], { atol: 1e-15, rtol: 0, message: `output ${i}` });
      const w = weights();
      const gF = nt.grad(objective(lstmSequence, reverse, w), { argnums: [0, 1, 2, 3] })(...args);
      const gC = nt.grad(objective(lstmSequenceComposite, reverse, w), { argnums: [0, 1, 2, 3] })(...args);
      for (const [i, name] of ['xp', 'h0', 'c0', 'weightHh'].entries()) assertClose(gF[i], gC[i], { atol: 1e-13, rtol: 1e-12, message: `d ${name}` });
    });

    test(`${reverse ? 'reverse: ' : ''}gradient check in xp, h0, c0 and W_hh, through the outputs, hT and cT`, () => {
      const args = inputs(reverse ? 50 : 60);
      nt.gradcheck((xp, h0, c0, W) => lstmSequence(xp, h0, c0, W, reverse)[0], args);
      nt.gradcheck((xp, h0, c0, W) => lstmSequence(xp, h0, c0, W, reverse)[1], args);
      nt.gradcheck((xp, h0, c0, W) => lstmSequence(xp, h0, c0, W, reverse)[2], args);
    });
  }

  test('one step, and float32 close to float64', () => {
    const args = inputs(70);
    const one = [args[0].narrow(0, 0, 1), args[1], args[2], args[3]] as const;
    const [out, hT, cT] = lstmSequence(...one);
    const [h, c] = lstmCell(nt.matmul(one[1], one[3].transpose(0, 1)).add(one[0].reshape([n, 4 * H])), one[2]);
    assertClose(out.reshape([n, H]), h, { atol: 1e-15, rtol: 0 });
    assertClose(hT, h, { atol: 0, rtol: 0 });
    assertClose(cT, c, { atol: 0, rtol: 0 });
    const f32 = lstmSequence(...(args.map((t) => t.float()) as [Tensor, Tensor, Tensor, Tensor]));
    const f64 = lstmSequence(args[0], args[1], args[2], args[3]);
    for (const [i, t] of f32.entries()) assertClose(t, f64[i], { atol: 1e-5, rtol: 1e-4 });
  });

  test('second derivatives (createGraph) agree with the composite', () => {
    const args = inputs(80);
    const v = rnd([4 * H, H], 85);
    const second = (seq: typeof lstmSequence) =>
      nt.grad((W: Tensor) => {
        const inner = nt.grad((WW: Tensor) => seq(args[0], args[1], args[2], WW)[0].square().sum())(W);
        return inner.mul(v).sum();
      })(args[3]);
    assertClose(second(lstmSequence), second(lstmSequenceComposite), { atol: 1e-12, rtol: 1e-10 });
  });

  test('names the shapes it expects', () => {
    const [xp, h0, c0, W] = inputs(90);
    assert.throws(() => lstmSequence(xp, h0, c0, W.narrow(0, 0, 8)), {
      name: 'ShapeError',
      message:
        /^lstmSequence: expected xp \[seqLen >= 1, n, 4·hidden\], h0 and c0 \[n, hidden\], weightHh \[4·hidden, hidden\], got xp \[5, 3, 16\], h0 \[3, 4\], c0 \[3, 4\], weightHh \[8, 4\]/,
    });
    assert.throws(() => lstmSequence(xp, h0.float(), c0, W), { name: 'DTypeError', message: 'lstmSequence: xp is float64 but h0 is float32' });
  });
});

describe('fused RNN sequence', () => {
  const [T, n, H] = [6, 3, 4];
  const inputs = (seed: number) => [rnd([T, n, H], seed, 1.5), rnd([n, H], seed + 1), rnd([H, H], seed + 2, 0.8)];
  const w = [rnd([T, n, H], 140), rnd([n, H], 141)];
  const objective = (seq: typeof rnnSequence, activation: RnnActivation, reverse: boolean) => (xp: Tensor, h0: Tensor, W: Tensor) => {
    const [out, hT] = seq(xp, h0, W, activation, reverse);
    return out.mul(w[0]).sum().add(hT.mul(w[1]).sum());
  };

  for (const activation of ['tanh', 'relu'] as const) {
    for (const reverse of [false, true]) {
      const label = `${activation}${reverse ? ', reverse' : ''}`;
      test(`${label}: outputs and the three gradients equal the step-by-step composite (float64)`, () => {
        const args = inputs(reverse ? 110 : 120);
        const fused = rnnSequence(args[0], args[1], args[2], activation, reverse);
        const composite = rnnSequenceComposite(args[0], args[1], args[2], activation, reverse);
        for (const [i, t] of fused.entries()) assertClose(t, composite[i], { atol: 1e-15, rtol: 0, message: `output ${i}` });
        const gF = nt.grad(objective(rnnSequence, activation, reverse), { argnums: [0, 1, 2] })(...args);
        const gC = nt.grad(objective(rnnSequenceComposite, activation, reverse), { argnums: [0, 1, 2] })(...args);
        for (const [i, name] of ['xp', 'h0', 'weightHh'].entries()) assertClose(gF[i], gC[i], { atol: 1e-13, rtol: 1e-12, message: `d ${name}` });
      });

      test(`${label}: gradient check in xp, h0 and W_hh through the outputs and hT`, () => {
        const args = inputs(reverse ? 130 : 150);
        nt.gradcheck((xp, h0, W) => rnnSequence(xp, h0, W, activation, reverse)[0], args);
        nt.gradcheck((xp, h0, W) => rnnSequence(xp, h0, W, activation, reverse)[1], args);
      });
    }
  }

  test('second derivatives (createGraph) agree with the composite', () => {
    const args = inputs(160);
    const v = rnd([H, H], 165);
    const second = (seq: typeof rnnSequence) =>
      nt.grad((W: Tensor) => {
        const inner = nt.grad((WW: Tensor) => seq(args[0], args[1], WW, 'tanh')[0].square().sum())(W);
        return inner.mul(v).sum();
      })(args[2]);
    assertClose(second(rnnSequence), second(rnnSequenceComposite), { atol: 1e-12, rtol: 1e-10 });
  });

  test('names the shapes and the activation it expects', () => {
    const [xp, h0, W] = inputs(170);
    assert.throws(() => rnnSequence(xp, h0, W.narrow(0, 0, 2), 'tanh'), {
      name: 'ShapeError',
      message:
        /^rnnSequence: expected xp \[seqLen >= 1, n, hidden\], h0 \[n, hidden\], weightHh \[hidden, hidden\], got xp \[6, 3, 4\], h0 \[3, 4\], weightHh \[2, 4\]/,
    });
    assert.throws(() => rnnSequence(xp, h0, W, 'gelu' as RnnActivation), {
      name: 'ValueError',
      message: "rnnSequence: activation must be 'tanh' or 'relu', got gelu",
    });
  });
});

describe('multi-output recording and unbind', () => {
  test('unbind gives views of the rows and joins their gradients in one tensor', () => {
    // y = Σ_t w_t·x[t] for t = 0, 2 only: row 1 gets a zero gradient.
    const x = rnd([3, 2, 2], 20).requiresGrad_();
    const parts = unbind(x);
    assert.equal(parts.length, 3);
    assert.equal(parts[1].data.buffer, x.data.buffer, 'a view, not a copy');
    assert.deepEqual([...parts[1].shape], [2, 2]);
    assertClose(parts[2], x.slice(2), { atol: 0, rtol: 0 });
    parts[0].mul(2).sum().add(parts[2].mul(3).sum()).backward();
    assertClose(x.grad as Tensor, nt.stack([nt.full([2, 2], 2), nt.zeros([2, 2]), nt.full([2, 2], 3)]).double(), { atol: 0, rtol: 0 });
    nt.gradcheck((a) => nt.stack(unbind(a).reverse(), 1), [rnd([4, 3], 21)]);
  });

  test('the hub runs once per sweep, again on a retained graph, and once per output otherwise', () => {
    // Two outputs of one op (y0 = 2x, y1 = 3x); L = Σ y0 + Σ y1, so dL/dx = 5 per sweep.
    const x = rnd([2], 22).requiresGrad_();
    let calls = 0;
    const y0 = x.detach().mul(2);
    const y1 = x.detach().mul(3);
    recordOutputs([y0, y1], 'pair', [x], ([g0, g1]) => {
      calls++;
      return [(g0 as Tensor).mul(2).add((g1 as Tensor).mul(3))];
    });
    const loss = y0.sum().add(y1.sum());
    loss.backward(undefined, { retainGraph: true });
    assert.equal(calls, 1);
    assertClose(x.grad as Tensor, [5, 5]);
    loss.backward();
    assert.equal(calls, 2);
    assertClose(x.grad as Tensor, [10, 10]);
  });
});

describe('tied recurrent product', () => {
  // h1 = tanh(x0·Wᵀ + a), h2 = tanh(h1·Wᵀ + b): W's gradient is formed once from both
  // steps, and must equal the plain matmul's (first and second order).
  const recurrence = (tied: boolean) => (w: Tensor, x0: Tensor, a: Tensor, b: Tensor) => {
    const product = new TiedMatmul(w);
    const step = (h: Tensor, addend: Tensor) => (tied ? product.apply(h, addend) : h.matmul(w.T).add(addend)).tanh();
    return step(step(x0, a), b);
  };
  const args = () => [rnd([3, 3], 90), rnd([2, 3], 91), rnd([2, 3], 92), rnd([2, 3], 93)];

  test('gradient check in the weight, the first input and both addends', () => {
    nt.gradcheck(recurrence(true), args());
  });

  test('first and second derivatives equal those of plain matmul', () => {
    const v = rnd([3, 3], 94);
    for (const order of [1, 2]) {
      const value = (tied: boolean) => {
        const f = (w: Tensor) => recurrence(tied)(w, ...(args().slice(1) as [Tensor, Tensor, Tensor])).sum();
        return order === 1 ? nt.grad(f)(args()[0]) : nt.hvp(f, args()[0], v);
      };
      assertClose(value(true), value(false), { atol: 1e-14, rtol: 1e-12, message: `order ${order}` });
    }
  });
});

describe('gradient checks (float64): inputs, initial states and every weight', () => {
  const kinds: [string, (options: nn.LSTMOptions & nn.RNNOptions) => AnyRecurrent][] = [
    ['RNN tanh', (o) => new nn.RNN(2, 2, o)],
    ['RNN relu', (o) => new nn.RNN(2, 2, { ...o, nonlinearity: 'relu' })],
    ['LSTM', (o) => new nn.LSTM(2, 2, o)],
    ['LSTM with peepholes', (o) => new nn.LSTM(2, 2, { ...o, peephole: true })],
    ['GRU', (o) => new nn.GRU(2, 2, o)],
  ];
  for (const [name, make] of kinds) {
    test(`${name}: one step, one layer`, () => {
      nt.seed(30);
      const layer = make({ dtype: 'float64' });
      const isLstm = layer instanceof nn.LSTM;
      gradcheckLayer(layer, rnd([1, 2, 2], 31), rnd([1, 2, 2], 32, 0.5), isLstm ? rnd([1, 2, 2], 33, 0.5) : null);
    });
    test(`${name}: three steps, two layers, bidirectional, batch first`, () => {
      nt.seed(34);
      const layer = make({ dtype: 'float64', numLayers: 2, bidirectional: true, batchFirst: true });
      const isLstm = layer instanceof nn.LSTM;
      gradcheckLayer(layer, rnd([2, 3, 2], 35), rnd([4, 2, 2], 36, 0.5), isLstm ? rnd([4, 2, 2], 37, 0.5) : null);
    });
  }

  test('LSTM with lengths (padded batch, both directions)', () => {
    nt.seed(38);
    const layer = new nn.LSTM(2, 2, { dtype: 'float64', bidirectional: true });
    gradcheckLayer(layer, rnd([3, 2, 2], 39), rnd([2, 2, 2], 40, 0.5), rnd([2, 2, 2], 41, 0.5), { lengths: [3, 2] });
  });

  const cells: [string, () => nn.RNNCell | nn.LSTMCell | nn.GRUCell][] = [
    ['RNNCell', () => new nn.RNNCell(3, 2, { dtype: 'float64' })],
    ['LSTMCell', () => new nn.LSTMCell(3, 2, { dtype: 'float64' })],
    ['LSTMCell with peepholes', () => new nn.LSTMCell(3, 2, { dtype: 'float64', peephole: true })],
    ['GRUCell', () => new nn.GRUCell(3, 2, { dtype: 'float64' })],
  ];
  for (const [name, make] of cells) {
    test(name, () => {
      nt.seed(42);
      const cell = make();
      const named = cell.namedParameters();
      const lstm = cell instanceof nn.LSTMCell;
      const f = (x: Tensor, h: Tensor, c: Tensor, ...ps: Tensor[]) => {
        const params = new Map(named.map(([n], i) => [n, ps[i]]));
        const out = callWith(cell, params, x, lstm ? [h, c] : h) as Tensor | [Tensor, Tensor];
        return Array.isArray(out) ? nt.concat(out, 1) : out;
      };
      const args = [rnd([2, 3], 43), rnd([2, 2], 44, 0.5), rnd([2, 2], 45, 0.5), ...named.map(([, p]) => p.detach())];
      nt.gradcheck(f, args, { atol: 1e-7, rtol: 1e-6, argnums: lstm ? undefined : args.map((_, i) => i).filter((i) => i !== 2) });
    });
  }

  test('ConvLSTM2d', () => {
    nt.seed(46);
    const layer = new nn.ConvLSTM2d(2, 1, 3, { dtype: 'float64' });
    const named = layer.namedParameters();
    const f = (x: Tensor, h0: Tensor, c0: Tensor, ...ps: Tensor[]) => {
      const [out, [h, c]] = nn.functionalCall(layer, new Map(named.map(([n], i) => [n, ps[i]])), x, [h0, c0]);
      return weighted(out, h, c);
    };
    nt.gradcheck(f, [rnd([1, 2, 2, 3, 3], 47), rnd([1, 1, 3, 3], 48, 0.5), rnd([1, 1, 3, 3], 49, 0.5), ...named.map(([, p]) => p.detach())], {
      atol: 1e-7,
      rtol: 1e-6,
    });
  });
});

describe('layers, cells and their conventions', () => {
  test('a loop over LSTMCell / GRUCell / RNNCell with the same weights is the full layer', () => {
    nt.seed(50);
    const x = rnd([4, 3, 2], 51);
    const pairs: [AnyRecurrent, nn.RNNCell | nn.LSTMCell | nn.GRUCell][] = [
      [new nn.RNN(2, 3, { dtype: 'float64' }), new nn.RNNCell(2, 3, { dtype: 'float64' })],
      [new nn.LSTM(2, 3, { dtype: 'float64' }), new nn.LSTMCell(2, 3, { dtype: 'float64' })],
      [new nn.GRU(2, 3, { dtype: 'float64' }), new nn.GRUCell(2, 3, { dtype: 'float64' })],
    ];
    for (const [layer, cell] of pairs) {
      cell.loadStateDict(new Map([...layer.stateDict()].map(([k, v]) => [k.replace('_l0', ''), v])));
      let h: Tensor | null = null;
      let c: Tensor | null = null;
      const outs: Tensor[] = [];
      for (const xt of unbind(x)) {
        if (cell instanceof nn.LSTMCell) [h, c] = cell.forward(xt, [h, c]);
        else h = (cell as nn.RNNCell).forward(xt, h);
        outs.push(h as Tensor);
      }
      const [out, hN, cN] = run(layer, x, null, null);
      assertClose(out, nt.stack(outs), { atol: 1e-15, rtol: 0, message: layer.className });
      assertClose(hN, (h as Tensor).unsqueeze(0), { atol: 1e-15, rtol: 0 });
      if (cN) assertClose(cN, (c as Tensor).unsqueeze(0), { atol: 1e-15, rtol: 0 });
    }
  });

  test('batchFirst is a transpose; an unbatched sequence is a batch of one', () => {
    nt.seed(52);
    const seqFirst = new nn.GRU(2, 3, { dtype: 'float64', bidirectional: true });
    const batchFirst = new nn.GRU(2, 3, { dtype: 'float64', bidirectional: true, batchFirst: true });
    batchFirst.loadStateDict(seqFirst.stateDict());
    const x = rnd([4, 2, 2], 53);
    const [a, ha] = seqFirst.forward(x);
    const [b, hb] = batchFirst.forward(x.permute([1, 0, 2]));
    assertClose(b, a.permute([1, 0, 2]), { atol: 0, rtol: 0 });
    assertClose(hb, ha, { atol: 0, rtol: 0 });
    const [one, hOne] = seqFirst.forward(x.slice(null, 1));
    assert.deepEqual([...one.shape], [4, 6]);
    assert.deepEqual([...hOne.shape], [2, 3]);
    assertClose(one, a.slice(null, 1), { atol: 1e-15, rtol: 0 });
    assertClose(hOne, ha.slice(null, 1), { atol: 1e-15, rtol: 0 });
  });

  test('initialisation: every weight and bias in U(-1/√H, 1/√H), reproducible from the seed', () => {
    nt.seed(54);
    const a = new nn.LSTM(3, 16, { numLayers: 2 });
    nt.seed(54);
    const b = new nn.LSTM(3, 16, { numLayers: 2 });
    const bound = 1 / Math.sqrt(16);
    for (const [name, p] of a.namedParameters()) {
      const v = p.toFlatArray();
      assert.ok(
        v.every((x) => Math.abs(x) <= bound),
        name,
      );
      // A uniform draw of this many values spreads over most of the interval.
      assert.ok(Math.max(...v) > 0.8 * bound && Math.min(...v) < -0.8 * bound, name);
      assertClose(p, b.stateDict().get(name) as Tensor, { atol: 0, rtol: 0 });
    }
    assert.deepEqual([...(a.stateDict().get('weight_ih_l1') as Tensor).shape], [64, 16]);
  });

  test('dropout between stacked layers acts in training mode only', () => {
    nt.seed(56);
    const layer = new nn.LSTM(2, 8, { numLayers: 2, dropout: 0.5, dtype: 'float64' });
    const x = rnd([3, 2, 2], 57);
    layer.eval();
    const [e1] = layer.forward(x);
    const [e2] = layer.forward(x);
    assertClose(e1, e2, { atol: 0, rtol: 0 });
    layer.train();
    const [t1] = layer.forward(x);
    assert.ok(t1.sub(e1).abs().max().item() > 1e-6, 'training output differs from eval output');
    // Dropout sits between layers, never on the last layer's output: a one-layer LSTM ignores it.
    const single = new nn.LSTM(2, 8, { dropout: 0.5, dtype: 'float64' });
    const [s1] = single.forward(x);
    single.eval();
    assertClose(single.forward(x)[0], s1, { atol: 0, rtol: 0 });
  });

  test('getConfig + registry + state dict rebuild every layer and cell', () => {
    const layers: nn.Module[] = [
      new nn.RNN(3, 4, { numLayers: 2, nonlinearity: 'relu', bidirectional: true, batchFirst: true, dropout: 0.25 }),
      new nn.LSTM(3, 4, { peephole: true, bias: false }),
      new nn.GRU(3, 4, { dtype: 'float64' }),
      new nn.RNNCell(3, 4, { nonlinearity: 'relu' }),
      new nn.LSTMCell(3, 4, { peephole: true }),
      new nn.GRUCell(3, 4, { bias: false }),
      new nn.ConvLSTM2d(2, 3, [3, 1], { batchFirst: false }),
      new nn.RecurrentOutput('sequence'),
    ];
    for (const layer of layers) {
      const spec = JSON.parse(JSON.stringify(nn.layerToSpec(layer)));
      const copy = nn.layerFromConfig(spec);
      assert.equal(copy.className, layer.className);
      assert.deepEqual(copy.getConfig(), layer.getConfig());
      copy.loadStateDict(layer.stateDict());
      for (const [name, p] of layer.stateDict()) assertClose(copy.stateDict().get(name) as Tensor, p, { atol: 0, rtol: 0 });
    }
    assert.deepEqual(
      layers[1].namedParameters().map(([n]) => n),
      ['weight_ih_l0', 'weight_hh_l0', 'peephole_i_l0', 'peephole_f_l0', 'peephole_o_l0'],
    );
    assert.deepEqual(
      layers[3].namedParameters().map(([n]) => n),
      ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'],
    );
  });

  test('errors name the layer and what it expected', () => {
    const lstm = new nn.LSTM(3, 4, { batchFirst: true }).withName('enc');
    throwsMatching(
      () => lstm.forward(nt.zeros([2, 5, 7])),
      ShapeError,
      /^LSTM 'enc': expected input of shape \[batch, seqLen, inputSize\] .*inputSize 3, got \[2, 5, 7\]/,
    );
    throwsMatching(() => lstm.forward(nt.zeros([2, 5, 3]), [nt.zeros([1, 3, 4]), null]), ShapeError, /^LSTM 'enc': expected h0 of shape \[1, 2, 4\]/);
    throwsMatching(() => lstm.forward(nt.zeros([2, 5, 3]), null, { lengths: [5, 6] }), ValueError, /^LSTM 'enc': lengths\[1\] must be an integer in \[0, 5\]/);
    throwsMatching(() => lstm.forward(nt.zeros([2, 5, 3]), null, { lengths: [5] }), ShapeError, /lengths has 1 entries for a batch of 2/);
    throwsMatching(() => lstm.forward(nt.zeros([2, 5, 3]), null, { mask: nt.ones([5, 2]) }), ShapeError, /expected a mask of shape \[2, 5\]/);
    throwsMatching(
      () => lstm.forward(nt.zeros([2, 5, 3], { dtype: 'float64' })),
      nt.DTypeError,
      /^LSTM 'enc': input is float64 but the layer's parameters are float32/,
    );
    throwsMatching(() => new nn.RNN(3, 4, { nonlinearity: 'sigmoid' as 'tanh' }), ValueError, /^RNN: nonlinearity must be 'tanh' or 'relu', got "sigmoid"/);
    throwsMatching(() => new nn.GRU(3, 0), ValueError, /^GRU: hiddenSize must be a positive integer, got 0/);
    throwsMatching(() => new nn.LSTM(3, 4, { dropout: 1.5 }), ValueError, /^LSTM: dropout must be a probability in \[0, 1\], got 1.5/);
    throwsMatching(() => new nn.GRUCell(3, 4).forward(nt.zeros([2, 3]), nt.zeros([3, 4])), ShapeError, /^GRUCell: expected h of shape \[2, 4\], got \[3, 4\]/);
    throwsMatching(
      () => new nn.ConvLSTM2d(2, 3, 3).forward(nt.zeros([1, 2, 3, 4, 4])),
      ShapeError,
      /^ConvLSTM2d: expected input of shape \[batch, seqLen, channels, height, width\] with 2 channels/,
    );
  });

  test('RecurrentOutput puts a recurrent layer into a Sequential', () => {
    nt.seed(58);
    const lstm = new nn.LSTM(3, 4, { batchFirst: true, bidirectional: true, numLayers: 2, dtype: 'float64' });
    const model = new nn.Sequential([lstm, new nn.RecurrentOutput(), new nn.Linear(8, 2, { dtype: 'float64' })]);
    const x = rnd([5, 6, 3], 59);
    const y = model.forward(x) as Tensor;
    assert.deepEqual([...y.shape], [5, 2]);
    // 'final' = [last layer forward hN | last layer reverse hN] = hN[-2] and hN[-1] side by side.
    const [, [hN]] = lstm.forward(x);
    const final = new nn.RecurrentOutput('final').forward(lstm.forward(x));
    assertClose(final, nt.concat([hN.slice(2), hN.slice(3)], 1), { atol: 0, rtol: 0 });
  });
});

describe('variable-length sequences', () => {
  // Padded batch of three sequences of lengths 4, 1 and 3 (garbage in the padding).
  const lengths = [4, 1, 3];
  const T = 4;

  function checkPadded(layer: AnyRecurrent, seed: number, maskInstead = false): void {
    const batchFirst = layer.batchFirst;
    const dirs = layer.numDirections;
    const L = layer.numLayers * dirs;
    const H = layer.hiddenSize;
    const seqs = lengths.map((len, b) => rnd([len, 2], seed + b));
    const garbage = rnd([T, 2], seed + 9, 50);
    const padded = nt.stack(
      seqs.map((s, b) => (lengths[b] === T ? s : nt.concat([s, garbage.slice([lengths[b], T])], 0))),
      batchFirst ? 0 : 1,
    );
    const h0 = rnd([L, 3, H], seed + 10, 0.5);
    const c0 = layer instanceof nn.LSTM ? rnd([L, 3, H], seed + 11, 0.5) : null;
    const x = padded.detach().requiresGrad_();
    const options: nn.SequenceOptions = maskInstead
      ? { mask: nt.tensor(lengths.map((len) => Array.from({ length: T }, (_, t) => t < len))).permute(batchFirst ? [0, 1] : [1, 0]) }
      : { lengths: nt.tensor(lengths, { dtype: 'int32' }) };
    const [out, hN, cN] = run(layer, x, h0, c0, options);
    layer.zeroGrad();
    weighted(out, hN, cN).backward();
    const batchedGrads = layer.namedParameters().map(([, p]) => p.grad as Tensor);
    layer.zeroGrad();
    // Each sequence alone, unpadded, with its own slice of the initial states; the
    // same weighting of its outputs and states as in the batch.
    const R = rnd([...out.shape], 101);
    const S = rnd([...hN.shape], 102);
    const Q = cN ? rnd([...cN.shape], 103) : null;
    lengths.forEach((len, b) => {
      const xb = seqs[b]
        .unsqueeze(batchFirst ? 0 : 1)
        .detach()
        .requiresGrad_();
      const [o, h, c] = run(layer, xb, h0.slice(null, [b, b + 1]), c0 ? c0.slice(null, [b, b + 1]) : null);
      const rowOut = batchFirst ? out.slice(b) : out.slice(null, b);
      assertClose(rowOut.slice([0, len]), o.squeeze(batchFirst ? 0 : 1), { atol: 1e-14, rtol: 0, message: `output of sequence ${b}` });
      assertClose(rowOut.slice([len, T]), nt.zeros([T - len, dirs * H]), { atol: 0, rtol: 0, message: `padding outputs of sequence ${b}` });
      assertClose(hN.slice(null, b), h.squeeze(1), { atol: 1e-14, rtol: 0, message: `hN of sequence ${b}` });
      if (cN && c) assertClose(cN.slice(null, b), c.squeeze(1), { atol: 1e-14, rtol: 0, message: `cN of sequence ${b}` });
      const rb = (batchFirst ? R.slice([b, b + 1]) : R.slice(null, [b, b + 1])).narrow(batchFirst ? 1 : 0, 0, len);
      let loss = o
        .mul(rb)
        .sum()
        .add(h.mul(S.slice(null, [b, b + 1])).sum());
      if (c && Q) loss = loss.add(c.mul(Q.slice(null, [b, b + 1])).sum());
      loss.backward();
      const gx = x.grad as Tensor;
      const rowGrad = batchFirst ? gx.slice(b) : gx.slice(null, b);
      assertClose(rowGrad.slice([0, len]), (xb.grad as Tensor).squeeze(batchFirst ? 0 : 1), {
        atol: 1e-13,
        rtol: 0,
        message: `input gradient of sequence ${b}`,
      });
      assertClose(rowGrad.slice([len, T]), nt.zeros([T - len, 2]), { atol: 0, rtol: 0, message: `padding gets no gradient (sequence ${b})` });
    });
    // The parameter gradients of the batch are the sums of the per-sequence ones.
    for (const [i, [name, p]] of layer.namedParameters().entries()) assertClose(p.grad as Tensor, batchedGrads[i], { atol: 1e-13, rtol: 1e-12, message: name });
  }

  test('bidirectional 2-layer LSTM with lengths = each sequence alone', () => {
    nt.seed(60);
    checkPadded(new nn.LSTM(2, 3, { numLayers: 2, bidirectional: true, dtype: 'float64' }), 61);
  });
  test('bidirectional GRU, batch first, with a mask = each sequence alone', () => {
    nt.seed(62);
    checkPadded(new nn.GRU(2, 3, { bidirectional: true, batchFirst: true, dtype: 'float64' }), 63, true);
  });
  test('RNN with lengths = each sequence alone', () => {
    nt.seed(64);
    checkPadded(new nn.RNN(2, 3, { dtype: 'float64' }), 65);
  });

  test('ConvLSTM2d with lengths: final state at each sequence end, zero outputs after', () => {
    nt.seed(66);
    const layer = new nn.ConvLSTM2d(1, 2, 3, { dtype: 'float64' });
    const x = rnd([2, 3, 1, 4, 4], 67);
    const [out, [hN, cN]] = layer.forward(x, null, { lengths: [3, 2] });
    const [short, [hShort, cShort]] = layer.forward(x.slice([1, 2], [0, 2]));
    assertClose(out.slice(1, [0, 2]), short.squeeze(0), { atol: 1e-14, rtol: 0 });
    assertClose(out.slice(1, 2), nt.zeros([2, 4, 4]), { atol: 0, rtol: 0 });
    assertClose(hN.slice(1), hShort.squeeze(0), { atol: 1e-14, rtol: 0 });
    assertClose(cN.slice(1), cShort.squeeze(0), { atol: 1e-14, rtol: 0 });
  });
});

describe('ConvLSTM2d', () => {
  test('on 1×1 maps with a 1×1 kernel it is the LSTM', () => {
    // Every convolution is then a matrix product over channels: W[o, c, 0, 0] = W_lstm[o, c].
    nt.seed(70);
    const conv = new nn.ConvLSTM2d(3, 2, 1, { dtype: 'float64' });
    const lstm = new nn.LSTM(3, 2, { batchFirst: true, dtype: 'float64' });
    lstm.loadStateDict({
      weight_ih_l0: conv.weight_ih.reshape([8, 3]),
      weight_hh_l0: conv.weight_hh.reshape([8, 2]),
      bias_ih_l0: conv.bias_ih as Tensor,
      bias_hh_l0: conv.bias_hh as Tensor,
    });
    const x = rnd([2, 4, 3], 71);
    const [a, [ha, ca]] = conv.forward(x.reshape([2, 4, 3, 1, 1]));
    const [b, [hb, cb]] = lstm.forward(x);
    assertClose(a.reshape([2, 4, 2]), b, { atol: 1e-15, rtol: 0 });
    assertClose(ha.reshape([2, 2]), hb.squeeze(0), { atol: 1e-15, rtol: 0 });
    assertClose(ca.reshape([2, 2]), cb.squeeze(0), { atol: 1e-15, rtol: 0 });
  });

  test('shapes in both layouts, and the states keep the map size', () => {
    const layer = new nn.ConvLSTM2d(2, 5, [3, 5], { batchFirst: false });
    const [out, [h, c]] = layer.forward(nt.randn([4, 3, 2, 6, 7]));
    assert.deepEqual([...out.shape], [4, 3, 5, 6, 7]);
    assert.deepEqual([...h.shape], [3, 5, 6, 7]);
    assert.deepEqual([...c.shape], [3, 5, 6, 7]);
    assert.deepEqual([...layer.weight_ih.shape], [20, 2, 3, 5]);
  });
});

describe('truncated backpropagation through time', () => {
  test('detachState carries the values and cuts the graph between chunks', () => {
    // Chunk 2's loss from the detached state has the gradient of the same loss
    // computed from a constant initial state holding those values, and chunk 1's
    // inputs get nothing.
    nt.seed(80);
    const lstm = new nn.LSTM(2, 3, { dtype: 'float64' });
    const x1 = rnd([4, 2, 2], 81).requiresGrad_();
    const x2 = rnd([3, 2, 2], 82);
    const [, state] = lstm.forward(x1);
    const carried = nn.detachState(state);
    assert.ok(!carried[0].requiresGrad && !carried[1].requiresGrad);
    assertClose(carried[0], state[0], { atol: 0, rtol: 0 });
    const [out] = lstm.forward(x2, carried);
    out.sum().backward();
    assert.equal(x1.grad, null);
    const viaDetach = lstm.parameters().map((p) => p.grad as Tensor);
    lstm.zeroGrad();
    const h = nt.tensor(state[0].toFlatArray(), { shape: [...state[0].shape], dtype: 'float64' });
    const c = nt.tensor(state[1].toFlatArray(), { shape: [...state[1].shape], dtype: 'float64' });
    lstm.forward(x2, [h, c])[0].sum().backward();
    for (const [i, p] of lstm.parameters().entries()) assertClose(p.grad as Tensor, viaDetach[i], { atol: 0, rtol: 0 });
  });
});
