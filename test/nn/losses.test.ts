import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { grad, gradcheck, nn, type Tensor, tensor } from '../../src/index.js';
import { assertClose, type FixtureTensor, fromFixture, loadFixture } from '../helpers.js';

const F = nn.functional;

interface LossCase {
  name: string;
  module: string;
  dtype: 'float64' | 'float32';
  argsCamel: Record<string, unknown>;
  inputs: string[];
  tensors: Record<string, FixtureTensor>;
  gradWrt: string[];
  reductions: Record<string, { output: FixtureTensor; grad: Record<string, FixtureTensor> }>;
}

const fixture = loadFixture<{ cases: LossCase[]; stability: LossCase[] }>('losses.json');

type AnyReduction = nn.Reduction | 'batchmean';
type Call = (tensors: Tensor[], options: Record<string, unknown>) => Tensor;

/** The functional form of each PyTorch loss module, with the module's positional arguments. */
const functional: Record<string, Call> = {
  MSELoss: ([i, t], o) => F.mseLoss(i, t, o),
  L1Loss: ([i, t], o) => F.l1Loss(i, t, o),
  SmoothL1Loss: ([i, t], o) => F.smoothL1Loss(i, t, o),
  HuberLoss: ([i, t], o) => F.huberLoss(i, t, o),
  BCELoss: ([i, t], o) => F.binaryCrossEntropy(i, t, o),
  BCEWithLogitsLoss: ([i, t], o) => F.binaryCrossEntropyWithLogits(i, t, o),
  CrossEntropyLoss: ([i, t], o) => F.crossEntropy(i, t, o),
  NLLLoss: ([i, t], o) => F.nllLoss(i, t, o),
  KLDivLoss: ([i, t], o) => F.klDiv(i, t, o),
  MultiMarginLoss: ([i, t], o) => F.multiMarginLoss(i, t, o),
  GaussianNLLLoss: ([i, t, v], o) => F.gaussianNllLoss(i, t, v, o),
  HingeEmbeddingLoss: ([i, t], o) => F.hingeEmbeddingLoss(i, t, o),
  SoftMarginLoss: ([i, t], o) => F.softMarginLoss(i, t, o),
};

const INDEX_TARGETS = new Set(['CrossEntropyLoss', 'NLLLoss', 'MultiMarginLoss']);

function caseTensors(c: LossCase): Tensor[] {
  return c.inputs.map((name) => {
    const t = c.tensors[name];
    const isIndex = name === 'target' && INDEX_TARGETS.has(c.module) && t.shape.length !== c.tensors.input.shape.length;
    return fromFixture(t, isIndex ? 'int32' : c.dtype);
  });
}

/** argsCamel with encoded tensors (weight, posWeight) decoded in the case's dtype. */
function caseOptions(c: LossCase, reduction: string): Record<string, unknown> {
  const options: Record<string, unknown> = { reduction };
  for (const [k, v] of Object.entries(c.argsCamel)) {
    options[k] = typeof v === 'object' && v !== null && 'shape' in v ? fromFixture(v as FixtureTensor, c.dtype) : v;
  }
  return options;
}

function checkCase(c: LossCase): void {
  const tolerance = c.dtype === 'float64' ? { atol: 1e-12, rtol: 1e-10 } : { atol: 1e-6, rtol: 1e-5 };
  const call = functional[c.module];
  assert.ok(call, `no functional form for ${c.module}`);
  const tensors = caseTensors(c);
  const argnums = c.gradWrt.map((n) => c.inputs.indexOf(n));
  for (const [reduction, expected] of Object.entries(c.reductions)) {
    const options = caseOptions(c, reduction);
    const f = (...ts: Tensor[]) => call(ts, options);
    const out = f(...tensors);
    assertClose(out, fromFixture(expected.output, c.dtype), { ...tolerance, message: `${c.name} ${reduction} output` });
    const grads = grad((...ts: Tensor[]) => f(...ts).sum(), { argnums })(...tensors);
    c.gradWrt.forEach((name, k) => {
      assertClose(grads[k], fromFixture(expected.grad[name], c.dtype), { ...tolerance, message: `${c.name} ${reduction} d/d${name}` });
    });
    // The module computes the same thing.
    const LossClass = (nn as unknown as Record<string, new (o: Record<string, unknown>) => nn.Module>)[c.module];
    assert.equal(new LossClass(options).className, c.module);
    assertClose(new LossClass(options).forward(...tensors), out, { atol: 0, rtol: 0, message: `${c.name} ${reduction} module` });
  }
}

describe('losses against PyTorch (losses.json)', () => {
  for (const c of fixture.cases) {
    test(`${c.name} (${c.module}, ${Object.keys(c.reductions).join('/')})`, () => checkCase(c));
  }
});

describe('stability against PyTorch: logits of magnitude 1e4 (losses.json stability)', () => {
  for (const c of fixture.stability) {
    test(c.name, () => checkCase(c));
  }
});

describe('float64 gradcheck of every loss', () => {
  // The fixture's inputs are random, so no residual sits on a kink (|d| = beta,
  // a hinge at 0) within a finite-difference step.
  for (const c of fixture.cases.filter((k) => k.dtype === 'float64')) {
    for (const reduction of Object.keys(c.reductions).filter((r) => r !== 'none')) {
      test(`${c.name} (${reduction}) with respect to ${c.gradWrt.join(', ')}`, () => {
        const argnums = c.gradWrt.map((n) => c.inputs.indexOf(n));
        const options = caseOptions(c, reduction);
        gradcheck((...ts: Tensor[]) => functional[c.module](ts, options), caseTensors(c), { argnums });
      });
    }
  }

  test('sumOfSquares, crossEntropy on [N, C, d] with weights, ignoreIndex and smoothing, and unbatched [C]', () => {
    const x = tensor([0.3, -1.1, 0.8, 2.0, -0.4, 0.9, 1.3, -2.2, 0.1, 0.6, -0.7, 1.4], { shape: [2, 3, 2], dtype: 'float64' });
    const y = tensor([0, 2, 1, 1], { shape: [2, 2], dtype: 'int32' });
    const w = tensor([0.5, 2, 1], { dtype: 'float64' });
    gradcheck((t) => F.crossEntropy(t, y, { weight: w, ignoreIndex: 2, labelSmoothing: 0.15 }), [x]);
    gradcheck((t) => F.crossEntropy(t, tensor(1, { dtype: 'int32' }), { labelSmoothing: 0.1 }), [tensor([0.2, -0.3, 1.5], { dtype: 'float64' })]);
    const target = tensor([0.1, 0.2, -0.3, 1, 0, 0.5, -1, 0.4, 0.3, 0.2, 0.1, 0], { shape: [2, 3, 2], dtype: 'float64' });
    gradcheck((t) => F.sumOfSquares(t, target), [x]);
  });
});

describe('loss semantics', () => {
  test("sumOfSquares is ½Σ(y - t)², so that its gradient is the residual y - t (the notes' δ)", () => {
    const y = tensor([1.5, -2, 0.25], { dtype: 'float64' });
    const t = tensor([1, 1, 1], { dtype: 'float64' });
    // ½(0.25 + 9 + 0.5625) = 4.90625
    assertClose(F.sumOfSquares(y, t), 4.90625, { atol: 0, rtol: 0 });
    assertClose(grad((p: Tensor) => F.sumOfSquares(p, t))(y), [0.5, -3, -0.75], { atol: 0, rtol: 0 });
    assertClose(F.sumOfSquares(y, t, { reduction: 'mean' }), F.mseLoss(y, t).mul(0.5), { atol: 1e-15, rtol: 0 });
  });

  test('unweighted crossEntropy and nllLoss (one product with per-sample coefficients) count only the samples not ignored; all ignored is NaN', () => {
    const x = tensor([2, -1, 0.5, 0.1, 0.2, 0.3, -0.7, 1.1, 0.4, 0, 0, 3], { shape: [4, 3], dtype: 'float64' });
    const y = tensor([2, -100, 1, 0], { dtype: 'int32' });
    const logp = F.logSoftmax(x, 1).toArray() as number[][];
    const picked = [logp[0][2], logp[2][1], logp[3][0]];
    const total = -(picked[0] + picked[1] + picked[2]);
    assertClose(F.crossEntropy(x, y), total / 3, { atol: 1e-15, rtol: 0 });
    assertClose(F.crossEntropy(x, y, { reduction: 'sum' }), total, { atol: 1e-15, rtol: 0 });
    assertClose(F.nllLoss(F.logSoftmax(x, 1), y), total / 3, { atol: 1e-15, rtol: 0 });
    // The ignored sample gets no gradient; the others get (softmax - onehot) / 3.
    const g = grad((t: Tensor) => F.crossEntropy(t, y))(x).toArray() as number[][];
    assert.deepEqual(g[1], [0, 0, 0]);
    assertClose(tensor(g[0], { dtype: 'float64' }), [Math.exp(logp[0][0]) / 3, Math.exp(logp[0][1]) / 3, (Math.exp(logp[0][2]) - 1) / 3], {
      atol: 1e-15,
      rtol: 0,
    });
    gradcheck((t) => F.crossEntropy(t, y), [x]);
    gradcheck((t) => F.nllLoss(t, y, { reduction: 'sum' }), [x]);
    assert.ok(Number.isNaN(F.crossEntropy(x, tensor([-100, -100, -100, -100], { dtype: 'int32' })).item()));
    // An empty batch: 'mean' is NaN and 'sum' is 0, as PyTorch gives.
    const none = tensor([], { shape: [0, 3], dtype: 'float64' });
    const noLabels = tensor([], { shape: [0], dtype: 'int32' });
    assert.ok(Number.isNaN(F.crossEntropy(none, noLabels).item()));
    assert.ok(Number.isNaN(F.nllLoss(none, noLabels).item()));
    assert.equal(F.crossEntropy(none, noLabels, { reduction: 'sum' }).item(), 0);
  });

  test('crossEntropy with class indices equals nllLoss of logSoftmax, and one-hot probabilities give the same loss', () => {
    const x = tensor(
      [
        [2, -1, 0.5],
        [0.1, 0.2, 0.3],
      ],
      { dtype: 'float64' },
    );
    const y = tensor([2, 0], { dtype: 'int32' });
    const ce = F.crossEntropy(x, y);
    assertClose(ce, F.nllLoss(F.logSoftmax(x, 1), y), { atol: 1e-15, rtol: 0 });
    assertClose(
      ce,
      F.crossEntropy(
        x,
        F.compet(
          tensor(
            [
              [0, 0, 1],
              [1, 0, 0],
            ],
            { dtype: 'float64' },
          ),
        ),
      ),
      { atol: 1e-15, rtol: 0 },
    );
    // Unbatched [C] input with a 0-d target is the batch of one.
    assertClose(F.crossEntropy(x.slice(0), tensor(2, { dtype: 'int32' })), F.crossEntropy(x.slice([0, 1]), y.slice([0, 1])), { atol: 0, rtol: 0 });
  });

  test('ignored samples give 0 and no gradient; the mean is over the counted samples', () => {
    const x = tensor(
      [
        [1, 2],
        [3, -1],
        [0.5, 0.5],
      ],
      { dtype: 'float64' },
    );
    const y = tensor([1, -100, 0], { dtype: 'int32' });
    const none = F.crossEntropy(x, y, { reduction: 'none' });
    assert.equal(Math.abs(none.toFlatArray()[1]), 0);
    assertClose(F.crossEntropy(x, y), none.sum().div(2), { atol: 1e-15, rtol: 0 });
    const g = grad((t: Tensor) => F.crossEntropy(t, y))(x);
    assert.deepEqual(g.slice(1).toFlatArray(), [0, 0]);
  });

  test('binaryCrossEntropy clamps the log at -100: p = 0 with target 1 costs 100, with a finite gradient', () => {
    const p = tensor([0, 1, 1e-300], { dtype: 'float64' });
    const t = tensor([1, 0, 0], { dtype: 'float64' });
    assertClose(F.binaryCrossEntropy(p, t, { reduction: 'none' }), [100, 100, 0], { atol: 1e-15, rtol: 0 });
    const g = grad((q: Tensor) => F.binaryCrossEntropy(q, t, { reduction: 'sum' }))(p);
    assert.ok(g.toFlatArray().every(Number.isFinite), `gradient ${g.toFlatArray()}`);
  });

  test('binaryCrossEntropyWithLogits at x = 0 has the exact gradient σ(0) - t = 1/2 - t', () => {
    const t = tensor([0, 1, 0.25], { dtype: 'float64' });
    const g = grad((x: Tensor) => F.binaryCrossEntropyWithLogits(x, t, { reduction: 'sum' }))(tensor([0, 0, 0], { dtype: 'float64' }));
    assertClose(g, [0.5, -0.5, 0.25], { atol: 1e-15, rtol: 0 });
  });

  test('gaussianNllLoss: one variance per row ([N] for input [N, D]) equals the broadcast [N, 1] form', () => {
    const x = tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { dtype: 'float64' },
    );
    const t = tensor(
      [
        [1.5, 2],
        [2, 4.5],
      ],
      { dtype: 'float64' },
    );
    const v = tensor([0.5, 2], { dtype: 'float64' });
    assertClose(F.gaussianNllLoss(x, t, v), F.gaussianNllLoss(x, t, v.reshape([2, 1])), { atol: 0, rtol: 0 });
  });
});

describe('stability at logits of magnitude 1e4', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    test(`finite losses and finite gradients (${dtype})`, () => {
      const logits = tensor([1e4, -1e4, 5e3, -1e4, 1e4, 1e4, 0, -5e3, 1e4, -1e4, -1e4, 1e4], { shape: [2, 3, 2], dtype });
      const idx = tensor([0, 2, 1, 1], { shape: [2, 2], dtype: 'int32' });
      const probs = F.softmax(tensor([0.3, 1, -2, 0.5, 0.1, 0.2, 0.7, 0, 1, 2, 0.4, 0.9], { shape: [2, 3, 2], dtype }), 1);
      const binary = tensor([1, 0, 0.5, 1, 0, 0.25, 1, 1, 0, 0, 0.5, 1], { shape: [2, 3, 2], dtype });
      const signs = binary.gt(0.4).cast(dtype).mul(2).sub(1);
      const cases: [string, (x: Tensor) => Tensor][] = [
        ['crossEntropy indices', (x) => F.crossEntropy(x, idx)],
        ['crossEntropy smoothing + weights', (x) => F.crossEntropy(x, idx, { labelSmoothing: 0.2, weight: tensor([1, 2, 0.5], { dtype }) })],
        ['crossEntropy probabilities', (x) => F.crossEntropy(x, probs)],
        ['nllLoss of logSoftmax', (x) => F.nllLoss(F.logSoftmax(x, 1), idx)],
        ['bceWithLogits + posWeight', (x) => F.binaryCrossEntropyWithLogits(x, binary, { posWeight: tensor([3, 0.5], { dtype }) })],
        ['softMarginLoss', (x) => F.softMarginLoss(x, signs)],
        ['klDiv of logSoftmax', (x) => F.klDiv(F.logSoftmax(x, 1), probs, { reduction: 'batchmean' })],
        ['multiMarginLoss p 2', (x) => F.multiMarginLoss(x.reshape([4, 3]), idx.reshape([4]), { p: 2 })],
      ];
      for (const [name, f] of cases) {
        const [value, g] = [f(logits), grad((x: Tensor) => f(x))(logits)];
        assert.ok(Number.isFinite(value.item()), `${name}: loss ${value.item()}`);
        assert.ok(g.toFlatArray().every(Number.isFinite), `${name}: gradient ${g.toFlatArray()}`);
      }
    });
  }
});

describe('errors name the loss and both shapes', () => {
  const x = tensor(new Float32Array(640), { shape: [64, 10] });

  test('shape mismatches', () => {
    assert.throws(() => F.crossEntropy(x, tensor(new Int32Array(32))), {
      name: 'ShapeError',
      message: /^crossEntropy: target of shape \[32\] does not match input \[64, 10\]/,
    });
    assert.throws(() => F.crossEntropy(x, tensor(new Float32Array(64 * 9), { shape: [64, 9] })), {
      name: 'ShapeError',
      message: 'crossEntropy: target of shape [64, 9] does not match input [64, 10]',
    });
    assert.throws(() => F.mseLoss(tensor([[1], [2]]), tensor([1, 2])), {
      name: 'ShapeError',
      message: 'mseLoss: target of shape [2] does not match input [2, 1]',
    });
    assert.throws(() => F.crossEntropy(x, tensor(new Int32Array(64)), { weight: tensor([1, 2]) }), {
      name: 'ShapeError',
      message: 'crossEntropy: weight must have shape [10] (one per class), got [2]',
    });
    assert.throws(() => F.gaussianNllLoss(tensor([[1, 2]]), tensor([[1, 2]]), tensor([1, 2, 3])), { name: 'ShapeError', message: /var of shape \[3\]/ });
  });

  test('class indices out of range, and class indices given as floats', () => {
    assert.throws(() => F.crossEntropy(tensor([[1, 2, 3]]), tensor([7], { dtype: 'int32' })), {
      name: 'ValueError',
      message: 'crossEntropy: class index 7 (target position 0) is out of range for 3 classes (valid: 0 to 2)',
    });
    assert.throws(() => F.nllLoss(tensor([[1, 2, 3]]), tensor([-1], { dtype: 'int32' })), { name: 'ValueError', message: /class index -1/ });
    assert.throws(() => F.multiMarginLoss(tensor([[1, 2, 3]]), tensor([3], { dtype: 'int32' })), { name: 'ValueError', message: /class index 3/ });
    assert.throws(() => F.crossEntropy(tensor([[1, 2, 3]]), tensor([1])), { name: 'DTypeError', message: /looks like class indices but is float32/ });
  });

  test('bad reductions and hyper-parameters, functional and modules', () => {
    assert.throws(() => F.mseLoss(tensor([1]), tensor([1]), { reduction: 'avg' as 'mean' }), {
      name: 'ValueError',
      message: `mseLoss: reduction must be 'mean', 'sum' or 'none', got "avg"`,
    });
    assert.throws(() => F.klDiv(tensor([1]), tensor([1]), { reduction: 'batch' as 'batchmean' }), {
      message: `klDiv: reduction must be 'mean', 'sum', 'none' or 'batchmean', got "batch"`,
    });
    assert.throws(() => F.mseLoss(tensor([1]), tensor([1]), { reduction: 'batchmean' as 'mean' }), /mseLoss: reduction must be/);
    assert.throws(() => new nn.MSELoss({ reduction: 'avg' as 'mean' }), { message: `MSELoss: reduction must be 'mean', 'sum' or 'none', got "avg"` });
    assert.throws(() => new nn.CrossEntropyLoss({ labelSmoothing: 1.5 }), { message: 'CrossEntropyLoss: labelSmoothing must be in [0, 1], got 1.5' });
    assert.throws(() => new nn.MultiMarginLoss({ p: 3 as 1 }), { message: 'MultiMarginLoss: p must be 1 or 2, got 3' });
    assert.throws(() => new nn.HuberLoss({ delta: 0 }), { message: 'HuberLoss: delta must be positive, got 0' });
    assert.throws(() => F.binaryCrossEntropy(tensor([0.5, 1.2]), tensor([1, 0])), {
      name: 'ValueError',
      message: /^binaryCrossEntropy: input must hold probabilities in \[0, 1\], got 1.2000000476837158 at position 1/,
    });
  });
});

describe('loss modules and the registry by name', () => {
  const x = tensor(
    [
      [0.2, -1, 3],
      [1, 1, -0.5],
    ],
    { dtype: 'float64' },
  );
  const y = tensor([2, 1], { dtype: 'int32' });

  test('getLoss finds losses ignoring case, underscores and a trailing Loss', () => {
    const expected = F.crossEntropy(x, y).item();
    for (const name of ['crossEntropy', 'cross_entropy', 'CrossEntropyLoss', 'crossentropy'])
      assert.equal(
        nn
          .getLoss(name as nn.LossName)(x, y)
          .item(),
        expected,
        name,
      );
    const p = F.sigmoid(x);
    const t = tensor(
      [
        [1, 0, 1],
        [0, 0, 1],
      ],
      { dtype: 'float64' },
    );
    assert.equal(nn.getLoss('mse')(p, t).item(), F.mseLoss(p, t).item());
    assert.equal(nn.getLoss('mae')(p, t).item(), F.l1Loss(p, t).item());
    assert.equal(nn.getLoss('binaryCrossEntropy')(p, t).item(), F.binaryCrossEntropy(p, t).item());
    assert.equal(nn.getLoss('bceWithLogits')(x, t).item(), F.binaryCrossEntropyWithLogits(x, t).item());
    assert.equal(nn.getLoss('sumOfSquares')(p, t).item(), F.sumOfSquares(p, t).item());
    for (const name of ['mse', 'sumOfSquares', 'l1', 'huber', 'smoothL1', 'bce', 'nll', 'klDiv', 'multiMargin', 'softMargin', 'hingeEmbedding']) {
      assert.ok(nn.registeredLosses().includes(name), name);
    }
  });

  test('functions pass through, modules are bound, unknown names list the known ones', () => {
    const custom = (i: Tensor, t: Tensor) => i.sub(t).abs().max();
    assert.equal(nn.getLoss(custom), custom);
    const module = new nn.CrossEntropyLoss({ labelSmoothing: 0.1, reduction: 'sum' });
    assert.equal(nn.getLoss(module)(x, y).item(), F.crossEntropy(x, y, { labelSmoothing: 0.1, reduction: 'sum' }).item());
    assert.throws(() => nn.getLoss('crossEntrophy' as nn.LossName), {
      name: 'ValueError',
      message: /^getLoss: unknown loss 'crossEntrophy'; known: .*crossEntropy/,
    });
    nn.registerLoss('maxAbsError', custom);
    assert.equal(nn.getLoss('max_abs_error' as nn.LossName), custom);
  });

  test('modules report their configuration', () => {
    const w = tensor([1, 2, 0.5]);
    assert.deepEqual(new nn.CrossEntropyLoss({ weight: w, ignoreIndex: 0 }).getConfig(), {
      reduction: 'mean',
      weight: [1, 2, 0.5],
      ignoreIndex: 0,
      labelSmoothing: 0,
    });
    assert.deepEqual(new nn.KLDivLoss({ reduction: 'batchmean' }).getConfig(), { reduction: 'batchmean', logTarget: false });
    assert.deepEqual(new nn.SumOfSquaresLoss().getConfig(), { reduction: 'sum' });
    const cfg = new nn.SmoothL1Loss({ beta: 0.5, reduction: 'none' }).getConfig();
    assert.deepEqual(new nn.SmoothL1Loss(cfg as { beta: number; reduction: AnyReduction & nn.Reduction }).getConfig(), cfg);
    assert.equal(new nn.MSELoss().parameters().length, 0);
  });
});
