// Compiled steps (seed 002's symbol-to-symbol graphs): a step recorded once and
// replayed must give the numbers eager mode gives, bit for bit (the replay calls
// the same kernels on the same values in the same order), on every backend the
// suite runs on. A step that cannot be replayed must still give eager's numbers
// and say why.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Tensor } from '../../src/index.js';
import * as nt from '../../src/index.js';
import { k } from '../../src/kernels/contract.js';
import { uninitialized } from '../../src/kernels/util.js';
import { OP_TABLE } from '../ops/op-table.js';

const { nn } = nt;

function sameBits(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  assert.equal(a.length, b.length, `${what}: lengths`);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) assert.fail(`${what}: element ${i} is ${a[i]} compiled and ${b[i]} eager`);
  }
}

/** Inputs like `inputs`, with other values (same shapes and dtypes): a replay must not reuse the traced data. */
function perturbed(inputs: Tensor[], step: number): Tensor[] {
  return inputs.map((t) => {
    if (t.dtype === 'int32' || t.dtype === 'bool') return t;
    const moved = t
      .detach()
      .mul(1 + 0.01 * step)
      .add(0.001 * step);
    const out = moved.cast(t.dtype);
    if (t.requiresGrad) out.requiresGrad = true;
    return out;
  });
}

describe('compile: every op in the op table, forward and gradient, equals eager', () => {
  for (const c of OP_TABLE) {
    it(c.name, () => {
      const base = c.inputs();
      const differentiable = base.map((t, i) => (c.gradInputs ? c.gradInputs.includes(i) : t.dtype === 'float64'));
      const run = (...xs: Tensor[]) => {
        const y = c.fn(...xs);
        if (!differentiable.some(Boolean) || !y.requiresGrad) return [y];
        // d/dx of sum(y · w) with w = 1, 2, 3...: every element of the output's gradient differs.
        const w = nt.arange(1, y.size + 1, 1, { dtype: y.dtype }).reshape(y.shape);
        y.mul(w).sum().backward();
        return [y, ...xs.filter((_, i) => differentiable[i]).map((x) => x.grad ?? nt.zerosLike(x))];
      };
      let fallback: string | null = null;
      const compiled = nt.compile(run, { onFallback: (r) => (fallback = r) });
      for (let step = 0; step < 6; step++) {
        const inputs = perturbed(base, step).map((t, i) => (differentiable[i] ? t.detach().requiresGrad_() : t));
        const eagerInputs = inputs.map((t) => (t.requiresGrad ? t.detach().requiresGrad_() : t));
        const got = compiled(...inputs);
        const want = run(...eagerInputs);
        assert.equal(got.length, want.length);
        got.forEach((g, i) => {
          assert.deepEqual(g.shape, want[i].shape);
          sameBits(g.data, want[i].data, `${c.name}, step ${step}, output ${i}`);
        });
      }
      assert.equal(fallback, null, `${c.name}: fell back`);
      assert.equal(compiled.stats.replays, 3, `${c.name}: replays`);
    });
  }
});

/** [name, layer factory, input shape (with batch), integer input range or null]. */
const LAYERS: [string, () => nt.nn.Module, number[], number | null][] = [
  ['Linear', () => new nn.Linear(6, 4), [5, 6], null],
  ['Conv1d', () => new nn.Conv1d(3, 4, 3, { stride: 2, padding: 1 }), [2, 3, 11], null],
  ['Conv2d', () => new nn.Conv2d(3, 4, 3, { padding: 1 }), [2, 3, 6, 6], null],
  ['Conv2d groups, dilation', () => new nn.Conv2d(4, 6, 3, { groups: 2, dilation: 2, padding: 2 }), [2, 4, 7, 7], null],
  ['ConvTranspose2d', () => new nn.ConvTranspose2d(3, 2, 3, { stride: 2, padding: 1 }), [2, 3, 4, 5], null],
  ['MaxPool2d', () => new nn.MaxPool2d(2), [2, 3, 6, 6], null],
  ['AvgPool2d', () => new nn.AvgPool2d(3, { stride: 2, padding: 1 }), [2, 2, 7, 7], null],
  ['AdaptiveAvgPool2d', () => new nn.AdaptiveAvgPool2d([2, 3]), [2, 3, 4, 6], null],
  ['MaxUnpool2d after MaxPool2d', () => new UnpoolPair(), [2, 2, 4, 4], null],
  ['BatchNorm1d (train)', () => new nn.BatchNorm1d(5), [8, 5], null],
  ['BatchNorm2d (train)', () => new nn.BatchNorm2d(3), [4, 3, 5, 5], null],
  ['LayerNorm', () => new nn.LayerNorm([4, 5]), [3, 4, 5], null],
  ['Dropout (train)', () => new nn.Dropout(0.4), [6, 7], null],
  ['AlphaDropout (train)', () => new nn.AlphaDropout(0.3), [6, 7], null],
  ['Embedding', () => new nn.Embedding(10, 4), [3, 5], 10],
  ['LocallyConnected2d', () => new nn.LocallyConnected2d(2, 3, [5, 6], 3, { padding: 1 }), [2, 2, 5, 6], null],
  ['RNN', () => new nn.RNN(3, 4, { numLayers: 2 }), [5, 2, 3], null],
  ['LSTM', () => new nn.LSTM(3, 4, { batchFirst: true }), [2, 5, 3], null],
  ['LSTM bidirectional, peephole', () => new nn.LSTM(3, 4, { bidirectional: true, peephole: true }), [5, 2, 3], null],
  ['GRU', () => new nn.GRU(3, 4, { numLayers: 2, dropout: 0.5 }), [5, 2, 3], null],
  ['ConvLSTM2d', () => new nn.ConvLSTM2d(2, 3, 3), [3, 2, 2, 5, 5], null],
  ['PReLU', () => new nn.PReLU({ numParameters: 3 }), [2, 3, 4], null],
  ['Maxout', () => new nn.Maxout(2), [3, 8], null],
  ['RBF', () => new nn.RBF(3, 5), [4, 3], null],
  ['GELU', () => new nn.GELU(), [3, 7], null],
  ['Softmax', () => new nn.Softmax({ axis: 1 }), [3, 7], null],
];

class UnpoolPair extends nn.Module {
  pool = new nn.MaxPool2d(2);
  unpool = new nn.MaxUnpool2d(2);
  forward(x: Tensor): Tensor {
    const [y, idx] = this.pool.forwardWithIndices(x);
    return this.unpool.forward(y, idx);
  }
}

function firstOutput(y: unknown): Tensor {
  return (Array.isArray(y) ? y[0] : y) as Tensor;
}

describe('compile: a training step of every layer family equals eager, weights and buffers included', () => {
  for (const [name, make, shape, intRange] of LAYERS) {
    it(name, () => {
      const train = (compileIt: boolean) => {
        nt.seed(21);
        const layer = make();
        layer.train();
        const params = layer.parameters();
        const opt = params.length > 0 ? new nt.optim.Adam(params, { lr: 0.01 }) : null;
        const step = (x: Tensor) => {
          opt?.zeroGrad();
          const y = firstOutput(layer.call(x));
          const loss = y.square().mean();
          if (y.requiresGrad) loss.backward();
          opt?.step();
          return { y, loss };
        };
        const run = compileIt ? nt.compile(step, { modules: [layer], onFallback: (r) => assert.fail(`${name} fell back: ${r}`) }) : step;
        const g = new nt.Generator(4);
        const outs: Tensor[] = [];
        for (let i = 0; i < 7; i++) {
          const x = intRange === null ? nt.randn(shape, { generator: g }) : nt.randint(0, intRange, shape, { generator: g });
          const r = run(x);
          outs.push(r.y, r.loss);
        }
        return { outs, state: [...layer.stateDict().values()], stats: compileIt ? (run as nt.CompiledFunction<[Tensor], unknown>).stats : null };
      };
      const eager = train(false);
      const compiled = train(true);
      assert.equal(compiled.stats?.replays, 4, `${name}: replays`);
      for (const [i, t] of compiled.outs.entries()) sameBits(t.data, eager.outs[i].data, `${name}: output ${i}`);
      for (const [i, t] of compiled.state.entries()) sameBits(t.data, eager.state[i].data, `${name}: state ${i}`);
    });
  }
});

describe('compile: guards, fallbacks, inspection and memory', () => {
  const mlp = () => {
    nt.seed(3);
    return new nn.Sequential(new nn.Linear(4, 8), new nn.Tanh(), new nn.Linear(8, 2));
  };

  it('a new batch size records again and replays; train() and eval() select their own plans', () => {
    const model = mlp();
    const f = nt.compile((x: Tensor) => model.call(x) as Tensor, { modules: [model] });
    const eager = (x: Tensor) => nt.noGrad(() => model.call(x) as Tensor);
    for (const n of [3, 3, 3, 3, 5, 5, 5, 5, 3]) {
      const x = nt.randn([n, 4]);
      sameBits(nt.noGrad(() => f(x)).data, eager(x).data, `batch ${n}`);
    }
    assert.equal(f.stats.traces, 4);
    assert.equal(f.stats.replays, 3);
    model.eval();
    nt.noGrad(() => f(nt.randn([3, 4])));
    assert.equal(f.stats.replays, 3, 'eval mode is a new signature: it warms up first');
  });

  it("a training step interleaved with eager calls of another batch size (an epoch's last batch) equals eager training", () => {
    const train = (compileIt: boolean) => {
      const model = mlp();
      const opt = new nt.optim.Adam(model.parameters(), { lr: 0.05 });
      const step = (x: Tensor, y: Tensor) => {
        opt.zeroGrad();
        const loss = nt.nn.functional.mseLoss(model.call(x) as Tensor, y);
        loss.backward();
        opt.step();
        return loss;
      };
      const run = compileIt ? nt.compile(step, { modules: [model] }) : step;
      const g = new nt.Generator(8);
      const losses: number[] = [];
      // Three "epochs" of five batches of 6 and a last batch of 2: the batch-2 signature warms up and records while batch-6 replays.
      for (let epoch = 0; epoch < 4; epoch++) {
        for (const n of [6, 6, 6, 6, 6, 2]) losses.push(run(nt.randn([n, 4], { generator: g }), nt.randn([n, 2], { generator: g })).item());
      }
      return { losses, state: model.parameters().map((p) => p.data) };
    };
    const eager = train(false);
    const compiled = train(true);
    sameBits(compiled.losses, eager.losses, 'losses');
    for (const [i, d] of compiled.state.entries()) sameBits(d, eager.state[i], `parameter ${i}`);
  });

  it('reading a value to decide falls back to eager with the reason, and keeps eager numbers', () => {
    const reasons: string[] = [];
    const f = nt.compile((x: Tensor) => (x.sum().item() > 0 ? x.exp() : x.neg()), { onFallback: (r) => reasons.push(r) });
    for (let i = 0; i < 8; i++) {
      const x = nt.randn([4]);
      sameBits(f(x).data, (x.sum().item() > 0 ? x.exp() : x.neg()).data, `call ${i}`);
    }
    assert.equal(reasons.length, 1);
    assert.match(reasons[0], /reads a tensor's value with item\(\)/);
    assert.equal(f.stats.replays, 0);
  });

  it('a tensor built in JavaScript from a changing value falls back (a replay would reuse the old value)', () => {
    let scale = 1;
    const reasons: string[] = [];
    const f = nt.compile((x: Tensor) => x.mul(scale), { onFallback: (r) => reasons.push(r) });
    for (let i = 0; i < 6; i++) {
      scale = i + 1;
      const x = nt.ones([3]);
      assert.deepEqual(Array.from(f(x).data), [scale, scale, scale]);
    }
    assert.match(reasons[0], /holds different values in two runs/);
  });

  it('labels and indices are checked in every replay: a bad one throws the eager error', () => {
    const model = mlp();
    const f = nt.compile((x: Tensor, y: Tensor) => nt.nn.functional.crossEntropy(model.call(x) as Tensor, y), { modules: [model] });
    const x = nt.randn([3, 4]);
    for (let i = 0; i < 4; i++) nt.noGrad(() => f(x, nt.tensor([0, 1, 1], { dtype: 'int32' })));
    assert.equal(f.stats.replays, 1);
    assert.throws(() => nt.noGrad(() => f(x, nt.tensor([0, 2, 1], { dtype: 'int32' }))), /class index 2 \(target position 1\) is out of range for 2 classes/);
    const emb = new nn.Embedding(5, 2);
    const g = nt.compile((i: Tensor) => emb.call(i) as Tensor, { modules: [emb] });
    for (let i = 0; i < 4; i++) nt.noGrad(() => g(nt.tensor([1, 4], { dtype: 'int32' })));
    assert.throws(() => nt.noGrad(() => g(nt.tensor([1, 5], { dtype: 'int32' }))), /index 5 is out of range for an axis of size 5/);
  });

  it('a replay counts the ignored labels of its own batch: the mean divides by the samples counted in that call', () => {
    const model = mlp();
    const f = nt.compile((x: Tensor, y: Tensor) => nt.nn.functional.crossEntropy(model.call(x) as Tensor, y), { modules: [model] });
    const x = nt.randn([4, 4]);
    const batches = [
      [0, 1, 1, 0],
      [0, -100, 1, 0],
      [-100, -100, 1, 0],
      [1, 0, -100, 1],
      [-100, 1, -100, -100],
    ];
    for (const labels of batches) {
      const y = nt.tensor(labels, { dtype: 'int32' });
      const eager = nt.noGrad(() => nt.nn.functional.crossEntropy(model.call(x) as Tensor, y)).item();
      assert.equal(nt.noGrad(() => f(x, y)).item(), eager, `labels ${labels}`);
    }
    assert.ok(f.stats.replays >= 2, `replays ${f.stats.replays}`);
  });

  it('a constant made in JavaScript is kept, and the plan replays', () => {
    const f = nt.compile((x: Tensor) => x.mul(2).add(nt.tensor([1, 2, 3])));
    for (let i = 0; i < 6; i++) assert.deepEqual(Array.from(f(nt.full([3], i)).data), [2 * i + 1, 2 * i + 2, 2 * i + 3]);
    assert.equal(f.stats.replays, 3);
  });

  it('a parameter given new storage records again instead of reading the old one', () => {
    const model = mlp();
    const f = nt.compile((x: Tensor) => model.call(x) as Tensor, { modules: [model] });
    const x = nt.randn([2, 4]);
    for (let i = 0; i < 4; i++) nt.noGrad(() => f(x));
    const w = model.parameters()[0] as unknown as { data: Float32Array };
    w.data = new Float32Array(w.data.length);
    const got = nt.noGrad(() => f(x));
    sameBits(got.data, nt.noGrad(() => model.call(x) as Tensor).data, 'after the swap');
  });

  it('prints the plan and draws it as a DOT graph', () => {
    const model = mlp();
    const opt = new nt.optim.SGD(model.parameters(), { lr: 0.1 });
    const f = nt.compile(
      (x: Tensor, y: Tensor) => {
        opt.zeroGrad();
        const loss = nt.nn.functional.mseLoss(model.call(x) as Tensor, y);
        loss.backward();
        opt.step();
        return loss;
      },
      { modules: [model] },
    );
    for (let i = 0; i < 4; i++) f(nt.randn([5, 4]), nt.randn([5, 2]));
    const text = String(f);
    assert.match(text, /^compiled step: \d+ kernels, 1 host steps/);
    assert.match(text, /= addmm\(/);
    assert.match(text, /host SGD\.step/);
    const dot = f.toDot() ?? '';
    assert.match(dot, /^digraph step \{/);
    assert.match(dot, /n\d+ -> n\d+;/);
    const m = f.stats.memory;
    assert.ok(m !== null && m.placed > 0 && m.plannedBytes < m.eagerBytes, JSON.stringify(m));
  });

  it('a tiny step runs as one generated function, bit for bit as eager over 2,000 steps; with code generation refused it runs as a list of calls', () => {
    const script = `
      import * as nt from ${JSON.stringify(new URL('../../src/index.js', import.meta.url).href)};
      const { nn, optim } = nt;
      const run = (compileIt) => {
        nt.seed(0);
        const m = new nn.Sequential(new nn.Linear(2, 2), new nn.Sigmoid(), new nn.Linear(2, 1), new nn.Sigmoid());
        const x = nt.tensor([[0, 0], [0, 1], [1, 0], [1, 1]]);
        const y = nt.tensor([[0], [1], [1], [0]]);
        const opt = new optim.SGD(m.parameters(), { lr: 0.5, momentum: 0.9 });
        const f = () => { opt.zeroGrad(); const l = nn.functional.mseLoss(m.forward(x), y); l.backward(); opt.step(); return l; };
        const step = compileIt ? nt.compile(f, { modules: [m] }) : f;
        const losses = [];
        for (let i = 0; i < 2000; i++) losses.push(step().item());
        return { losses, stats: compileIt ? step.stats : null };
      };
      const eager = run(false);
      const compiled = run(true);
      console.log(JSON.stringify({ same: eager.losses.every((v, i) => Object.is(v, compiled.losses[i])), plan: compiled.stats.plan, replays: compiled.stats.replays }));
    `;
    for (const [flags, generated] of [
      [[], true],
      [['--disallow-code-generation-from-strings'], false],
    ] as const) {
      const r = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', script], { encoding: 'utf8', env: process.env });
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}');
      assert.equal(out.same, true, `flags ${flags}: compiled and eager losses differ`);
      assert.equal(out.replays, 1997);
      assert.equal(out.plan.generated, generated, `flags ${flags}`);
    }
  });

  /**
   * A classifier trained for `steps` batches of random data, eagerly and compiled, from one seed: the two must agree
   * bit for bit (losses and parameters). Returns the compiled plan's stats and text.
   */
  const trainTwice = (
    make: () => nt.nn.Module,
    optimizer: (m: nt.nn.Module) => nt.optim.Optimizer,
    batch: number,
    inputs: number,
    classes: number,
    steps: number,
  ) => {
    const train = (compileIt: boolean) => {
      nt.seed(5);
      const model = make();
      const opt = optimizer(model);
      const step = (x: Tensor, y: Tensor) => {
        opt.zeroGrad();
        const loss = nt.nn.functional.crossEntropy(model.call(x) as Tensor, y);
        loss.backward();
        opt.step();
        return loss;
      };
      const run = compileIt ? nt.compile(step, { modules: [model] }) : step;
      const g = new nt.Generator(9);
      const losses: number[] = [];
      for (let i = 0; i < steps; i++) losses.push(run(nt.randn([batch, inputs], { generator: g }), nt.randint(0, classes, [batch], { generator: g })).item());
      const compiled = compileIt ? (run as nt.CompiledFunction<[Tensor, Tensor], Tensor>) : null;
      return { losses, state: model.parameters().map((p) => p.data), plan: compiled?.stats.plan ?? null, text: compiled ? String(compiled) : '' };
    };
    const eager = train(false);
    const compiled = train(true);
    sameBits(compiled.losses, eager.losses, 'losses');
    for (const [i, d] of compiled.state.entries()) sameBits(d, eager.state[i], `parameter ${i}`);
    assert.ok(compiled.plan !== null);
    return { plan: compiled.plan, text: compiled.text };
  };

  it('runs of small kernels between large ones are fused into generated functions, bit for bit as eager', () => {
    // A batch of 32 through 784 -> 64 -> 10: the products are too large for the generator (every backend runs them as
    // calls, the compiled ones on their own code), the loss and the bias gradients' chains of small kernels are fused.
    const { plan } = trainTwice(
      () => new nn.Sequential(new nn.Linear(784, 64), new nn.ReLU(), new nn.Linear(64, 10)),
      (m) => new nt.optim.SGD(m.parameters(), { lr: 0.1, momentum: 0.9 }),
      32,
      784,
      10,
      8,
    );
    assert.ok(!plan.generated, 'the step is too large to be one generated function');
    // The cross-entropy and its gradient are nine small kernels in a row (logSoftmax, the labels' gather, product and
    // sum, their adjoints, logSoftmaxBackward): one generated function.
    assert.ok(plan.fused.functions >= 1 && plan.fused.functionKernels >= 9, JSON.stringify(plan));
  });

  it('chains of element-wise kernels run as one pass where the backend offers it, bit for bit as eager', () => {
    // Sigmoid and tanh layers of 64 x 512: their forward kernels and their gradients (g * s * (1 - s), g * (1 - t^2))
    // are chains over arrays large enough for the compiled backends' kernels.
    const { plan, text } = trainTwice(
      () => new nn.Sequential(new nn.Linear(32, 512), new nn.Sigmoid(), new nn.Linear(512, 512), new nn.Tanh(), new nn.Linear(512, 3)),
      (m) => new nt.optim.Adam(m.parameters(), { lr: 0.01 }),
      64,
      32,
      3,
      7,
    );
    if ((nt.getBackend().kernels as { elementwiseProgram?: unknown }).elementwiseProgram) {
      assert.ok(plan.fused.programs >= 2 && plan.fused.programKernels >= 5, JSON.stringify(plan));
      assert.match(text, /elementwiseProgram\(.*\) \{ .*sigmoid|elementwiseProgram\(.*\) \{ .*mul/);
    } else assert.equal(plan.fused.programs, 0, 'the reference backend offers no elementwiseProgram');
  });

  it('memory stays flat over 10,000 replays', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const model = mlp();
    const opt = new nt.optim.Adam(model.parameters());
    const f = nt.compile(
      (x: Tensor, y: Tensor) => {
        opt.zeroGrad();
        const loss = nt.nn.functional.crossEntropy(model.call(x) as Tensor, y);
        loss.backward();
        opt.step();
        return loss;
      },
      { modules: [model] },
    );
    const x = nt.randn([16, 4]);
    const y = nt.randint(0, 2, [16]);
    for (let i = 0; i < 1000; i++) f(x, y);
    gc();
    const before = process.memoryUsage();
    for (let i = 0; i < 10000; i++) f(x, y);
    gc();
    const after = process.memoryUsage();
    const grown = after.heapUsed + after.external + after.arrayBuffers - (before.heapUsed + before.external + before.arrayBuffers);
    assert.equal(f.stats.replays, 10997);
    assert.ok(grown < 2e6, `grew by ${grown} bytes over 10,000 replays`);
  });
});

describe('compile: fit, evaluate and predict', () => {
  it('fit({compile: true}) trains to the same weights and history as eager fit, with dropout, clipping and validation', async () => {
    const { x, y } = nt.twoSpirals(200, { seed: 1 });
    const train = async (compile: boolean) => {
      nt.seed(5);
      const model = new nn.Sequential(new nn.Linear(2, 16), new nn.ReLU(), new nn.Dropout(0.1), new nn.Linear(16, 2));
      const lines: string[] = [];
      const history = await nt.fit(
        model,
        { x, y },
        {
          loss: 'crossEntropy',
          optimizer: (params) => new nt.optim.Adam(params, { lr: 0.01 }),
          epochs: 3,
          batchSize: 32,
          validationSplit: 0.2,
          clipGradNorm: 1,
          metrics: ['accuracy'],
          compile,
          log: (l) => lines.push(l),
        },
      );
      return { history, state: [...model.stateDict().values()], lines };
    };
    const eager = await train(false);
    const compiled = await train(true);
    assert.deepEqual(compiled.lines, [], 'no fallback');
    assert.deepEqual(compiled.history.series, eager.history.series);
    for (const [i, t] of compiled.state.entries()) sameBits(t.data, eager.state[i].data, `weight ${i}`);
    const model = new nn.Sequential(new nn.Linear(2, 3));
    const p1 = await nt.predict(model, x, { batchSize: 16, compile: true });
    const p2 = await nt.predict(model, x, { batchSize: 16 });
    sameBits(p1.data, p2.data, 'predict');
    const e1 = await nt.evaluate(model, { x, y }, { loss: 'crossEntropy', metrics: ['accuracy'], compile: true });
    const e2 = await nt.evaluate(model, { x, y }, { loss: 'crossEntropy', metrics: ['accuracy'] });
    assert.deepEqual(e1, e2);
  });

  it('an optimizer that evaluates the loss itself (L-BFGS) trains eagerly and says so', async () => {
    const lines: string[] = [];
    const model = new nn.Sequential(new nn.Linear(2, 1));
    await nt.fit(
      model,
      { x: nt.randn([8, 2]), y: nt.randn([8, 1]) },
      { loss: 'mse', optimizer: (params) => new nt.optim.LBFGS(params), compile: true, log: (l) => lines.push(l) },
    );
    assert.equal(lines.length, 1);
    assert.match(lines[0], /runs eagerly: the optimizer \(LBFGS\) evaluates the loss itself/);
  });
});

describe('compile: arrays that kernels fill piece by piece', () => {
  it('need no snapshot when kernels read only what kernels wrote (an LSTM sequence writes one step at a time)', () => {
    // Row r = row r-1 + x, each row written by its own kernel call. What JavaScript leaves in the
    // array first differs from run to run; were it snapshotted at the first (partial) write, the
    // two recorded runs would disagree and the step would run eagerly.
    const step = (x: Tensor) => {
      const out = uninitialized('rows', 'float32', [4, 64]);
      for (let i = 0; i < out.data.length; i++) out.data[i] = Math.random();
      for (let r = 0; r < 4; r++) {
        const prev = r === 0 ? x.data : out.data.subarray((r - 1) * 64, r * 64);
        k().binary('add', prev, [64], x.data, [64], out.data.subarray(r * 64, (r + 1) * 64), [64]);
      }
      return out;
    };
    const run = nt.compile(step, { onFallback: (why) => assert.fail(`fell back: ${why}`) });
    for (let i = 0; i < 6; i++) {
      const x = nt.randn([64], { generator: new nt.Generator(i) });
      const got = run(x).data;
      let row = Float32Array.from(x.data);
      for (let r = 0; r < 4; r++) {
        row = row.map((v, j) => Math.fround(v + x.data[j]));
        assert.deepEqual(got.subarray(r * 64, (r + 1) * 64), row, `call ${i}, row ${r}`);
      }
    }
    assert.equal(run.stats.replays, 3);
  });

  it('still snapshot what a kernel reads before any kernel wrote it', () => {
    // The same rows, but the last one reads a row that no kernel wrote: that value comes from
    // JavaScript, so a changing one must make the step run eagerly.
    const reasons: string[] = [];
    const step = (x: Tensor) => {
      const out = uninitialized('rows', 'float32', [2, 64]);
      for (let i = 0; i < out.data.length; i++) out.data[i] = Math.random();
      k().binary('add', out.data.subarray(64), [64], x.data, [64], out.data.subarray(0, 64), [64]);
      return out;
    };
    const run = nt.compile(step, { onFallback: (why) => reasons.push(why) });
    for (let i = 0; i < 5; i++) run(nt.randn([64]));
    assert.equal(run.stats.replays, 0);
    assert.match(reasons[0] ?? '', /holds different values in two runs/);
  });
});
