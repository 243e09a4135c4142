// Optimizer behaviour beyond the PyTorch trajectories: state-dict resumes,
// validation messages, parameter groups, float32, closures, and the absence
// of autograd graphs after a step.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { noGrad, optim, SerializationError, ShapeError, type Tensor, tensor, ValueError } from '../../src/index.js';
import { assertClose, type FixtureTensor, fromFixture, loadFixture } from '../helpers.js';

const fixture = loadFixture<{ initialParams: FixtureTensor[]; grads: FixtureTensor[][] }>('optimizers.json');

type AnyOptimizer = optim.Optimizer<optim.BaseHyper, object>;
type Factory = (params: Tensor[]) => AnyOptimizer;

/** One configuration per optimizer, with every state buffer switched on. */
const factories: Record<string, Factory> = {
  'SGD nesterov': (p) => new optim.SGD(p, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 }),
  'SGD momentum dampening': (p) => new optim.SGD(p, { lr: 0.1, momentum: 0.9, dampening: 0.3 }),
  Adagrad: (p) => new optim.Adagrad(p, { lr: 0.1, lrDecay: 0.01, initialAccumulatorValue: 0.1 }),
  Adadelta: (p) => new optim.Adadelta(p, { weightDecay: 0.1 }),
  'RMSprop centered momentum': (p) => new optim.RMSprop(p, { centered: true, momentum: 0.5, weightDecay: 0.01 }),
  'Adam amsgrad': (p) => new optim.Adam(p, { lr: 0.01, amsgrad: true, weightDecay: 0.1 }) as unknown as AnyOptimizer,
  'AdamW amsgrad': (p) => new optim.AdamW(p, { lr: 0.01, amsgrad: true }) as unknown as AnyOptimizer,
};

function freshParams(dtype: 'float64' | 'float32' = 'float64'): Tensor[] {
  return fixture.initialParams.map((p) => fromFixture(p, dtype).requiresGrad_());
}

/** Feed the fixture's gradients for steps [from, to). */
function runSteps(opt: AnyOptimizer, params: Tensor[], from: number, to: number): void {
  for (let s = from; s < to; s++) {
    params.forEach((p, i) => {
      p.grad = fromFixture(fixture.grads[s][i], p.dtype as 'float64' | 'float32');
    });
    opt.step();
  }
}

function bits(params: Tensor[]): number[][] {
  return params.map((p) => Array.from(p.data));
}

describe('stateDict resumes training bit-exactly', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    for (const [name, make] of Object.entries(factories)) {
      it(`${name} (${dtype}): 5 steps, save, load into a new optimizer, 5 steps == 10 steps`, () => {
        const straight = freshParams(dtype);
        runSteps(make(straight), straight, 0, 10);

        const first = freshParams(dtype);
        const opt1 = make(first);
        runSteps(opt1, first, 0, 5);
        const saved = JSON.parse(JSON.stringify(opt1.stateDict()));
        // A new model holding the same weights, as after loading a checkpoint.
        const resumed = first.map((p) => tensor(p.data.slice(), { shape: [...p.shape] }).requiresGrad_());
        const opt2 = make(resumed);
        opt2.loadStateDict(saved);
        runSteps(opt2, resumed, 5, 10);
        assert.deepEqual(bits(resumed), bits(straight));
      });
    }
  }

  it('LBFGS with strong-Wolfe line search resumes bit-exactly', () => {
    // f(x) = (1 − x0)² + 100(x1 − x0²)² (Rosenbrock)
    const closureFor = (opt: AnyOptimizer, x: Tensor) => () => {
      opt.zeroGrad();
      const x0 = x.slice(0);
      const f = x0.neg().add(1).square().add(x.slice(1).sub(x0.square()).square().mul(100));
      f.backward();
      return f;
    };
    const make = (x: Tensor) => new optim.LBFGS([x], { maxIter: 4, historySize: 3, lineSearchFn: 'strongWolfe' });
    const straight = tensor([-1.5, 2], { dtype: 'float64', requiresGrad: true });
    const optS = make(straight);
    for (let i = 0; i < 6; i++) optS.step(closureFor(optS, straight));

    const x = tensor([-1.5, 2], { dtype: 'float64', requiresGrad: true });
    const opt1 = make(x);
    for (let i = 0; i < 3; i++) opt1.step(closureFor(opt1, x));
    const saved = JSON.parse(JSON.stringify(opt1.stateDict()));
    assert.deepEqual(Object.keys(saved.state), ['0'], 'L-BFGS state lives under parameter 0');
    const y = tensor(x.data.slice(), { requiresGrad: true });
    const opt2 = make(y);
    opt2.loadStateDict(saved);
    for (let i = 0; i < 3; i++) opt2.step(closureFor(opt2, y));
    assert.deepEqual(Array.from(y.data), Array.from(straight.data));
  });

  it('keys state by parameter index and records hyper-parameters per group', () => {
    const [a, b] = freshParams();
    const opt = new optim.Adam([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 0.01 });
    b.grad = fromFixture(fixture.grads[0][1]);
    opt.step();
    const sd = opt.stateDict();
    assert.equal(sd.optimizer, 'Adam');
    assert.deepEqual(Object.keys(sd.state), ['1'], 'only the parameter that had a gradient has state');
    assert.equal(sd.state['1'].step, 1);
    assert.deepEqual((sd.state['1'].expAvg as optim.EncodedTensor).shape, [4]);
    assert.deepEqual(
      sd.paramGroups.map((g) => [g.lr, g.params]),
      [
        [0.01, [0]],
        [0.5, [1]],
      ],
    );
    assert.deepEqual(sd.paramGroups[0].betas, [0.9, 0.999]);
  });

  it('carries values JSON cannot hold (NaN, Infinity, -0) through a JSON round trip', () => {
    const p = tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
    const opt = new optim.SGD([p], { lr: 0.1, momentum: 0.5 });
    p.grad = tensor([Number.POSITIVE_INFINITY, Number.NaN, -0], { dtype: 'float64' });
    opt.step();
    const json = JSON.parse(JSON.stringify(opt.stateDict()));
    assert.deepEqual(json.state['0'].momentumBuffer.data, ['Infinity', 'NaN', '-0']);
    const q = tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
    const opt2 = new optim.SGD([q], { lr: 0.1, momentum: 0.5 });
    opt2.loadStateDict(json);
    const buf = (opt2.state.get(q) as optim.SGDState).momentumBuffer as Tensor;
    assert.ok(Object.is(buf.data[2], -0) && Number.isNaN(buf.data[1]) && buf.data[0] === Number.POSITIVE_INFINITY);
  });

  it('restores hyper-parameters, including a rate changed by a scheduler', () => {
    const [a] = freshParams();
    const opt = new optim.SGD([a], { lr: 0.1 });
    opt.paramGroups[0].lr = 0.025;
    const [b] = freshParams();
    const opt2 = new optim.SGD([b], { lr: 0.1 });
    opt2.loadStateDict(opt.stateDict());
    assert.equal(opt2.paramGroups[0].lr, 0.025);
    assert.equal(opt2.paramGroups[0].params[0], b);
  });

  it('refuses dicts that do not fit, and changes nothing then', () => {
    const [a, b] = freshParams();
    const adam = new optim.Adam([a, b]);
    runSteps(adam as unknown as AnyOptimizer, [a, b], 0, 1);
    const sd = adam.stateDict();
    const sgd = new optim.SGD([a, b]);
    assert.throws(() => sgd.loadStateDict(sd), { name: 'SerializationError', message: 'SGD.loadStateDict: the dict was saved by "Adam", not SGD' });
    const [c] = freshParams();
    assert.throws(() => new optim.Adam([c]).loadStateDict(sd), SerializationError);
    // Same count, but parameter 1 has another shape.
    const wrong = [
      tensor(
        [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
        { dtype: 'float64' },
      ),
      tensor([1, 2], { dtype: 'float64' }),
    ];
    const target = new optim.Adam(wrong, { lr: 0.123 });
    assert.throws(() => target.loadStateDict(sd), { message: /state\[1\]\.expAvg: shape \[4\] does not match the parameter's \[2\]/ });
    assert.equal(target.paramGroups[0].lr, 0.123);
    assert.equal(target.state.size, 0);
    const bad = { ...sd, paramGroups: [{ ...sd.paramGroups[0], betas: [1.5, 0.9] }] };
    assert.throws(() => new optim.Adam([a, b]).loadStateDict(bad), { message: 'Adam.loadStateDict: paramGroups[0]: betas[0] must be in [0, 1), got 1.5' });
  });
});

describe('hyper-parameter validation', () => {
  const p = () => [tensor([1, 2], { dtype: 'float64', requiresGrad: true })];
  const cases: [string, () => unknown, string][] = [
    ['SGD lr', () => new optim.SGD(p(), { lr: -1 }), 'SGD: lr must be a non-negative number, got -1'],
    ['SGD lr NaN', () => new optim.SGD(p(), { lr: Number.NaN }), 'SGD: lr must be a non-negative number, got NaN'],
    ['SGD momentum', () => new optim.SGD(p(), { momentum: -0.5 }), 'SGD: momentum must be a non-negative number, got -0.5'],
    [
      'SGD nesterov without momentum',
      () => new optim.SGD(p(), { nesterov: true }),
      'SGD: nesterov requires momentum > 0 and dampening 0, got momentum 0 and dampening 0',
    ],
    [
      'SGD nesterov with dampening',
      () => new optim.SGD(p(), { nesterov: true, momentum: 0.9, dampening: 0.1 }),
      'SGD: nesterov requires momentum > 0 and dampening 0, got momentum 0.9 and dampening 0.1',
    ],
    ['SGD dampening', () => new optim.SGD(p(), { dampening: 2 }), 'SGD: dampening must be in [0, 1], got 2'],
    ['SGD nesterov type', () => new optim.SGD(p(), { nesterov: 1 as unknown as boolean }), 'SGD: nesterov must be a boolean, got 1'],
    ['Adam betas[0]', () => new optim.Adam(p(), { betas: [1.2, 0.999] }), 'Adam: betas[0] must be in [0, 1), got 1.2'],
    ['Adam betas[1]', () => new optim.Adam(p(), { betas: [0.9, 1] }), 'Adam: betas[1] must be in [0, 1), got 1'],
    ['Adam betas shape', () => new optim.Adam(p(), { betas: [0.9] as unknown as [number, number] }), 'Adam: betas must be a pair [beta1, beta2], got [0.9]'],
    ['Adam eps', () => new optim.Adam(p(), { eps: -1e-8 }), 'Adam: eps must be a non-negative number, got -1e-8'],
    ['AdamW weightDecay', () => new optim.AdamW(p(), { weightDecay: -0.01 }), 'AdamW: weightDecay must be a non-negative number, got -0.01'],
    ['Adam amsgrad', () => new optim.Adam(p(), { amsgrad: 'yes' as unknown as boolean }), 'Adam: amsgrad must be a boolean, got "yes"'],
    ['Adagrad lrDecay', () => new optim.Adagrad(p(), { lrDecay: -0.1 }), 'Adagrad: lrDecay must be a non-negative number, got -0.1'],
    [
      'Adagrad initialAccumulatorValue',
      () => new optim.Adagrad(p(), { initialAccumulatorValue: -1 }),
      'Adagrad: initialAccumulatorValue must be a non-negative number, got -1',
    ],
    ['Adadelta rho', () => new optim.Adadelta(p(), { rho: 1.5 }), 'Adadelta: rho must be in [0, 1], got 1.5'],
    ['RMSprop alpha', () => new optim.RMSprop(p(), { alpha: -0.1 }), 'RMSprop: alpha must be in [0, 1], got -0.1'],
    ['RMSprop momentum', () => new optim.RMSprop(p(), { momentum: Number.POSITIVE_INFINITY }), 'RMSprop: momentum must be a non-negative number, got Infinity'],
    ['LBFGS historySize', () => new optim.LBFGS(p(), { historySize: 0 }), 'LBFGS: historySize must be a positive integer, got 0'],
    ['LBFGS maxIter', () => new optim.LBFGS(p(), { maxIter: 2.5 }), 'LBFGS: maxIter must be a positive integer, got 2.5'],
    [
      'LBFGS lineSearchFn',
      () => new optim.LBFGS(p(), { lineSearchFn: 'backtracking' as 'strongWolfe' }),
      'LBFGS: lineSearchFn must be one of null, "strongWolfe", "strong_wolfe", got "backtracking"',
    ],
    ['Newton damping', () => new optim.Newton(p(), { damping: -1 }), 'Newton: damping must be a non-negative number, got -1'],
    [
      'Newton onSingular',
      () => new optim.Newton(p(), { onSingular: 'ignore' as 'throw' }),
      'Newton: onSingular must be one of "throw", "gradientStep", got "ignore"',
    ],
    [
      "PyTorch's snake_case names",
      () => new optim.Adam(p(), { weight_decay: 0.1 } as optim.AdamOptions),
      "Adam: unknown option 'weight_decay'; expected one of lr, betas, eps, weightDecay, amsgrad, maximize",
    ],
    [
      'a group override',
      () => new optim.SGD([{ params: p() }, { params: p(), lr: -2 }], { lr: 0.1 }),
      'SGD param group 1: lr must be a non-negative number, got -2',
    ],
  ];
  for (const [name, make, message] of cases) {
    it(name, () => {
      assert.throws(make, (e: unknown) => {
        assert.ok(e instanceof ValueError, `expected a ValueError, got ${e}`);
        assert.equal((e as Error).message, message);
        return true;
      });
    });
  }

  it('rejects parameter lists that cannot be optimized', () => {
    const x = tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    assert.throws(() => new optim.SGD([]), { message: 'SGD: got an empty parameter list' });
    assert.throws(() => new optim.SGD(x as unknown as Tensor[]), { message: /got a single Tensor \(wrap it in an array\)/ });
    assert.throws(() => new optim.SGD([tensor([1, 2], { dtype: 'int32' })]), {
      message: 'SGD param group 0: params[0] has dtype int32; only float32 and float64 tensors can be optimized',
    });
    assert.throws(() => new optim.SGD([x.mul(2)]), { message: /params\[0\] is not a leaf tensor \(it was produced by 'mul'\)/ });
    assert.throws(() => new optim.SGD([{ params: [x] }, { params: [x] }]), {
      message: 'SGD param group 1: params[0] appears more than once (in this or an earlier group)',
    });
    assert.throws(() => new optim.LBFGS([{ params: [x] }, { params: [tensor([1], { requiresGrad: true })] }]), {
      message: /LBFGS: supports one parameter group/,
    });
  });

  it('rejects a gradient whose shape differs from its parameter', () => {
    const x = tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    const opt = new optim.SGD([x], { lr: 0.1 });
    x.grad = tensor([1, 2, 3], { dtype: 'float64' });
    assert.throws(
      () => opt.step(),
      (e: unknown) => e instanceof ShapeError && e.message === 'SGD: parameter 0 has shape [2] but its gradient has shape [3]',
    );
  });
});

describe('parameter groups, zeroGrad, closures, maximize', () => {
  it('gives each group its own learning rate', () => {
    // Plain SGD: w ← w − lr·g, with g = 1 everywhere.
    const a = tensor([1], { dtype: 'float64', requiresGrad: true });
    const b = tensor([1], { dtype: 'float64', requiresGrad: true });
    const opt = new optim.SGD([{ params: [a] }, { params: [b], lr: 0.5 }], { lr: 0.1 });
    a.grad = tensor([1], { dtype: 'float64' });
    b.grad = tensor([1], { dtype: 'float64' });
    opt.step();
    assert.equal(a.data[0], 1 - 0.1);
    assert.equal(b.data[0], 1 - 0.5);
    const c = tensor([2], { dtype: 'float64', requiresGrad: true });
    opt.addParamGroup({ params: [c], momentum: 0.9 });
    assert.equal(opt.paramGroups[2].lr, 0.1);
    assert.equal(opt.paramGroups[2].momentum, 0.9);
  });

  it('skips parameters without a gradient and zeroGrad clears them all', () => {
    const a = tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    const b = tensor([3], { dtype: 'float64', requiresGrad: true });
    const opt = new optim.Adam([a, b], { lr: 0.1 });
    a.grad = tensor([1, 1], { dtype: 'float64' });
    opt.step();
    assert.deepEqual(Array.from(b.data), [3]);
    assert.equal(opt.state.has(b), false);
    opt.zeroGrad();
    assert.equal(a.grad, null);
    assert.equal(b.grad, null);
  });

  it('maximize ascends: the same trajectory as descending on the negated gradient', () => {
    for (const make of [
      (p: Tensor[], maximize: boolean) => new optim.SGD(p, { lr: 0.1, momentum: 0.9, maximize }) as unknown as AnyOptimizer,
      (p: Tensor[], maximize: boolean) => new optim.Adam(p, { lr: 0.1, maximize }) as unknown as AnyOptimizer,
      (p: Tensor[], maximize: boolean) => new optim.RMSprop(p, { centered: true, maximize }) as unknown as AnyOptimizer,
    ]) {
      const up = freshParams();
      const down = freshParams();
      const optUp = make(up, true);
      const optDown = make(down, false);
      for (let s = 0; s < 5; s++) {
        up.forEach((p, i) => {
          p.grad = fromFixture(fixture.grads[s][i]);
        });
        down.forEach((p, i) => {
          p.grad = fromFixture(fixture.grads[s][i]).neg();
        });
        optUp.step();
        optDown.step();
      }
      assert.deepEqual(bits(up), bits(down));
    }
  });

  it('step(closure) evaluates the closure with gradients on, even under noGrad, and returns its loss', () => {
    // loss = Σ w², so dloss/dw = 2w and SGD gives w ← w − 0.25·2w = w/2.
    const w = tensor([2, -4], { dtype: 'float64', requiresGrad: true });
    const opt = new optim.SGD([w], { lr: 0.25 });
    const loss = noGrad(() =>
      opt.step(() => {
        opt.zeroGrad();
        const l = w.square().sum();
        l.backward();
        return l;
      }),
    );
    assert.equal(loss?.item(), 20);
    assert.deepEqual(Array.from(w.data), [1, -2]);
  });
});

describe('updates happen in place and record no graph', () => {
  const makers: [string, (p: Tensor[]) => { step(c?: optim.Closure): unknown }][] = [
    ...Object.entries(factories),
    ['LBFGS', (p) => new optim.LBFGS(p, { maxIter: 3, lineSearchFn: 'strongWolfe' })],
    ['Newton', (p) => new optim.Newton(p, { damping: 1 })],
  ];
  for (const [name, make] of makers) {
    it(name, () => {
      const w = tensor([0.5, -1.5, 2], { dtype: 'float64', requiresGrad: true });
      const storage = w.data;
      const opt = make([w]);
      // loss = Σ (w − 1)⁴, smooth and convex
      const closure = () => {
        w.grad = null;
        const loss = w.sub(1).pow(4).sum();
        loss.backward(undefined, { retainGraph: true });
        return loss;
      };
      for (let i = 0; i < 3; i++) opt.step(closure);
      assert.equal(w.gradNode, null, 'the parameter is still a leaf');
      assert.ok(w.isLeaf && w.requiresGrad);
      assert.equal(w.data, storage, 'the storage is updated in place');
      assert.notDeepEqual(Array.from(w.data), [0.5, -1.5, 2]);
      assert.equal((w.grad as Tensor).gradNode, null, 'the gradient carries no graph either');
    });
  }
});

describe('float32 parameters', () => {
  it('keep their dtype and float32 state, and follow the float64 trajectory to float32 precision', () => {
    for (const make of Object.values(factories)) {
      const p32 = freshParams('float32');
      const p64 = freshParams('float64');
      const opt32 = make(p32);
      runSteps(opt32, p32, 0, 10);
      runSteps(make(p64), p64, 0, 10);
      p32.forEach((p, i) => {
        assert.equal(p.dtype, 'float32');
        assertClose(p, p64[i], { atol: 1e-5, rtol: 1e-5 });
      });
      for (const state of opt32.state.values()) {
        for (const v of Object.values(state)) if (v !== null && typeof v === 'object' && 'dtype' in v) assert.equal((v as Tensor).dtype, 'float32');
      }
    }
  });
});
