// Learning-rate schedulers against PyTorch 1.13 (test/fixtures/schedulers.json).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { optim, SerializationError, tensor, ValueError } from '../../src/index.js';
import { assertClose, loadFixture } from '../helpers.js';

interface SchedulerCase {
  name: string;
  scheduler: string;
  hyperCamel: Record<string, unknown>;
  lrAfterConstruction: number;
  lrUsedInEpoch: number[];
  lrAfterEpoch: number[];
  metrics?: number[];
}

const fixture = loadFixture<{ baseLr: number; epochs: number; cases: SchedulerCase[] }>('schedulers.json');

type AnyScheduler = optim.LRSchedulerLike & { step(metric?: number): void };
const makers: Record<string, (opt: optim.SGD, hyper: Record<string, unknown>) => AnyScheduler> = {
  StepLR: (o, h) => new optim.StepLR(o, h as unknown as optim.StepLROptions),
  MultiStepLR: (o, h) => new optim.MultiStepLR(o, h as unknown as optim.MultiStepLROptions),
  ExponentialLR: (o, h) => new optim.ExponentialLR(o, h as unknown as optim.ExponentialLROptions),
  CosineAnnealingLR: (o, h) => new optim.CosineAnnealingLR(o, h as unknown as optim.CosineAnnealingLROptions),
  LinearLR: (o, h) => new optim.LinearLR(o, h),
  ReduceLROnPlateau: (o, h) => new optim.ReduceLROnPlateau(o, h) as AnyScheduler,
};

function sgd(lr = fixture.baseLr): optim.SGD {
  return new optim.SGD([tensor([1, 2], { dtype: 'float64', requiresGrad: true })], { lr });
}

/** The fixture's protocol: record the rate, optimizer step, scheduler step, record again. */
function run(c: SchedulerCase, opt: optim.SGD, sched: AnyScheduler, from: number, to: number, used: number[], after: number[]): void {
  for (let e = from; e < to; e++) {
    used.push(opt.paramGroups[0].lr);
    opt.step();
    if (c.metrics) sched.step(c.metrics[e]);
    else sched.step();
    after.push(opt.paramGroups[0].lr);
    assert.deepEqual(sched.getLastLr(), [opt.paramGroups[0].lr]);
  }
}

describe('schedulers match PyTorch', () => {
  it('covers every scheduler of the fixture', () => {
    assert.deepEqual(new Set(fixture.cases.map((c) => c.scheduler)), new Set(Object.keys(makers)));
  });

  for (const c of fixture.cases) {
    it(c.name, () => {
      const opt = sgd();
      const sched = makers[c.scheduler](opt, c.hyperCamel);
      assertClose(opt.paramGroups[0].lr, c.lrAfterConstruction, { atol: 0, rtol: 1e-12 });
      const used: number[] = [];
      const after: number[] = [];
      run(c, opt, sched, 0, fixture.epochs, used, after);
      assertClose(used, c.lrUsedInEpoch, { atol: 1e-15, rtol: 1e-12, message: `${c.name} lrUsedInEpoch` });
      assertClose(after, c.lrAfterEpoch, { atol: 1e-15, rtol: 1e-12, message: `${c.name} lrAfterEpoch` });
    });
  }

  it('cosine and linear follow their closed forms (tools/README.md)', () => {
    // cosine: etaMin + (0.1 − etaMin)(1 + cos(πe/tMax))/2;  linear: 0.1(sf + (ef − sf)·min(e, total)/total)
    const cos = sgd();
    const cs = new optim.CosineAnnealingLR(cos, { tMax: 7, etaMin: 0.01 });
    const lin = sgd();
    const ls = new optim.LinearLR(lin, { startFactor: 0.2, endFactor: 0.8, totalIters: 6 });
    for (let e = 1; e <= 30; e++) {
      cs.step();
      ls.step();
      assertClose(cos.paramGroups[0].lr, 0.01 + ((0.1 - 0.01) * (1 + Math.cos((Math.PI * e) / 7))) / 2, { atol: 1e-15, rtol: 1e-12 });
      assertClose(lin.paramGroups[0].lr, 0.1 * (0.2 + ((0.8 - 0.2) * Math.min(e, 6)) / 6), { atol: 1e-15, rtol: 1e-12 });
    }
  });
});

describe('scheduler behaviour', () => {
  it('scales every parameter group from its own initial rate', () => {
    const opt = new optim.SGD([{ params: [tensor([1], { requiresGrad: true })] }, { params: [tensor([1], { requiresGrad: true })], lr: 1 }], { lr: 0.1 });
    const sched = new optim.StepLR(opt, { stepSize: 2, gamma: 0.5 });
    sched.step();
    sched.step();
    assert.deepEqual(sched.getLastLr(), [0.05, 0.5]);
    assert.deepEqual(sched.baseLrs, [0.1, 1]);
    assert.deepEqual(
      opt.paramGroups.map((g) => g.initialLr),
      [0.1, 1],
    );
  });

  it('chains: warm-up and exponential decay on one optimizer multiply', () => {
    // Each computes its next rate from the current one, so lr_e = 0.1 · linearFactor(e) · 0.9^e.
    const opt = sgd();
    const warm = new optim.LinearLR(opt, { startFactor: 0.5, totalIters: 4 });
    const decay = new optim.ExponentialLR(opt, { gamma: 0.9 });
    for (let e = 1; e <= 8; e++) {
      warm.step();
      decay.step();
      assertClose(opt.paramGroups[0].lr, 0.1 * (0.5 + (0.5 * Math.min(e, 4)) / 4) * 0.9 ** e, { atol: 0, rtol: 1e-12 });
    }
  });

  it('stateDict resumes a schedule bit-exactly (with the optimizer state dict carrying the rate)', () => {
    for (const c of fixture.cases) {
      const straightOpt = sgd();
      const straight = makers[c.scheduler](straightOpt, c.hyperCamel);
      const lrs: number[] = [];
      run(c, straightOpt, straight, 0, fixture.epochs, [], lrs);

      const opt1 = sgd();
      const s1 = makers[c.scheduler](opt1, c.hyperCamel);
      const resumed: number[] = [];
      run(c, opt1, s1, 0, 9, [], resumed);
      const optState = JSON.parse(JSON.stringify(opt1.stateDict()));
      const schedState = JSON.parse(JSON.stringify(s1.stateDict()));

      const opt2 = sgd();
      const s2 = makers[c.scheduler](opt2, c.hyperCamel);
      opt2.loadStateDict(optState);
      s2.loadStateDict(schedState);
      run(c, opt2, s2, 9, fixture.epochs, [], resumed);
      assert.deepEqual(resumed, lrs, c.name);
    }
  });

  it('ReduceLROnPlateau keeps an infinite best through JSON, and accepts a tensor metric', () => {
    const opt = sgd();
    const sched = new optim.ReduceLROnPlateau(opt, { mode: 'max' });
    const sd = JSON.parse(JSON.stringify(sched.stateDict()));
    assert.equal(sd.state.best, '-Infinity');
    const again = new optim.ReduceLROnPlateau(sgd(), { mode: 'max' });
    again.loadStateDict(sd);
    assert.equal(again.best, Number.NEGATIVE_INFINITY);
    again.step(tensor(0.5));
    assert.equal(again.best, 0.5);
  });

  it('refuses a state dict from another scheduler', () => {
    const sd = new optim.StepLR(sgd(), { stepSize: 3 }).stateDict();
    assert.throws(() => new optim.ExponentialLR(sgd(), { gamma: 0.5 }).loadStateDict(sd), SerializationError);
  });

  const invalid: [string, () => unknown, string][] = [
    ['StepLR stepSize', () => new optim.StepLR(sgd(), { stepSize: 0 }), 'StepLR: stepSize must be a positive integer, got 0'],
    ['StepLR gamma', () => new optim.StepLR(sgd(), { stepSize: 2, gamma: -1 }), 'StepLR: gamma must be a non-negative number, got -1'],
    ['MultiStepLR order', () => new optim.MultiStepLR(sgd(), { milestones: [5, 3] }), 'MultiStepLR: milestones must be in increasing order, got [5, 3]'],
    [
      'ExponentialLR gamma',
      () => new optim.ExponentialLR(sgd(), {} as optim.ExponentialLROptions),
      'ExponentialLR: gamma must be a non-negative number, got undefined',
    ],
    ['CosineAnnealingLR tMax', () => new optim.CosineAnnealingLR(sgd(), { tMax: 0 }), 'CosineAnnealingLR: tMax must be a positive integer, got 0'],
    ['LinearLR startFactor', () => new optim.LinearLR(sgd(), { startFactor: 0 }), 'LinearLR: startFactor must be in (0, 1], got 0'],
    ['LinearLR endFactor', () => new optim.LinearLR(sgd(), { endFactor: 1.5 }), 'LinearLR: endFactor must be in [0, 1], got 1.5'],
    [
      'LinearLR snake_case',
      () => new optim.LinearLR(sgd(), { total_iters: 3 } as optim.LinearLROptions),
      "LinearLR: unknown option 'total_iters'; expected one of startFactor, endFactor, totalIters",
    ],
    ['ReduceLROnPlateau factor', () => new optim.ReduceLROnPlateau(sgd(), { factor: 1 }), 'ReduceLROnPlateau: factor must be in [0, 1), got 1'],
    [
      'ReduceLROnPlateau mode',
      () => new optim.ReduceLROnPlateau(sgd(), { mode: 'avg' as 'min' }),
      'ReduceLROnPlateau: mode must be one of "min", "max", got "avg"',
    ],
    [
      'ReduceLROnPlateau patience',
      () => new optim.ReduceLROnPlateau(sgd(), { patience: -1 }),
      'ReduceLROnPlateau: patience must be a non-negative integer, got -1',
    ],
    [
      'ReduceLROnPlateau minLr per group',
      () => new optim.ReduceLROnPlateau(sgd(), { minLr: [0.1, 0.2] }),
      'ReduceLROnPlateau: minLr has 2 entries but the optimizer has 1 parameter groups',
    ],
  ];
  for (const [name, make, message] of invalid) {
    it(`rejects ${name}`, () => {
      assert.throws(make, (e: unknown) => e instanceof ValueError && e.message === message);
    });
  }
});
