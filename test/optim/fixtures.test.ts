// Optimizer trajectories against PyTorch 1.13 (test/fixtures/optimizers.json,
// schema in tools/README.md): the same 10 fixed gradients fed to each
// optimizer must give the same parameters after every step, in float64.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { optim, type Tensor } from '../../src/index.js';
import { assertClose, type FixtureTensor, fromFixture, loadFixture } from '../helpers.js';

interface OptimizerCase {
  name: string;
  optimizer: string;
  hyperCamel: Record<string, unknown>;
  params: FixtureTensor[][];
}

interface LbfgsStep {
  returnedLoss: number;
  params: FixtureTensor;
  funcEvalsTotal: number;
  nIterTotal: number;
  ulpPerturbationSpread: number;
  evaluations: { x: number[]; f: number; grad: number[] }[];
}

interface LbfgsCase {
  name: string;
  initial: FixtureTensor;
  hyperCamel: optim.LBFGSOptions;
  steps: LbfgsStep[];
}

interface OptimizerFixture {
  numSteps: number;
  initialParams: FixtureTensor[];
  grads: FixtureTensor[][];
  cases: OptimizerCase[];
  lbfgs: LbfgsCase[];
}

type AnyOptimizerCtor = new (params: Tensor[], options: Record<string, unknown>) => optim.Optimizer<optim.BaseHyper, object>;
const constructors: Record<string, AnyOptimizerCtor> = {
  SGD: optim.SGD,
  Adagrad: optim.Adagrad,
  Adadelta: optim.Adadelta,
  RMSprop: optim.RMSprop,
  Adam: optim.Adam as unknown as AnyOptimizerCtor,
  AdamW: optim.AdamW as unknown as AnyOptimizerCtor,
};

const fixture = loadFixture<OptimizerFixture>('optimizers.json');

describe('optimizers match PyTorch trajectories (float64)', () => {
  it('covers every optimizer of the fixture', () => {
    assert.deepEqual(new Set(fixture.cases.map((c) => c.optimizer)), new Set(Object.keys(constructors)));
  });

  for (const c of fixture.cases) {
    it(c.name, () => {
      const params = fixture.initialParams.map((p) => fromFixture(p).requiresGrad_());
      const opt = new constructors[c.optimizer](params, c.hyperCamel);
      for (let s = 0; s < fixture.numSteps; s++) {
        params.forEach((p, i) => {
          p.grad = fromFixture(fixture.grads[s][i]);
        });
        opt.step();
        params.forEach((p, i) => {
          assertClose(p, fromFixture(c.params[s][i]), { atol: 1e-12, rtol: 1e-10, message: `${c.name} step ${s + 1} param ${i}` });
        });
      }
    });
  }
});

/**
 * Rosenbrock: f(x) = (1 − x0)² + 100(x1 − x0²)², minimum 0 at (1, 1); its
 * curved valley makes the L-BFGS path sensitive, which the fixture measures.
 */
function rosenbrockClosure(opt: optim.Optimizer<optim.BaseHyper, object>, x: Tensor, trace: { x: number[]; f: number; grad: number[] }[]) {
  return () => {
    opt.zeroGrad();
    const x0 = x.slice(0);
    const x1 = x.slice(1);
    const f = x0.neg().add(1).square().add(x1.sub(x0.square()).square().mul(100));
    f.backward();
    trace.push({ x: Array.from(x.data), f: f.item(), grad: Array.from((x.grad as Tensor).data) });
    return f;
  };
}

describe('LBFGS matches PyTorch on Rosenbrock', () => {
  for (const c of fixture.lbfgs) {
    it(c.name, () => {
      const x = fromFixture(c.initial).requiresGrad_();
      const opt = new optim.LBFGS([x], c.hyperCamel);
      let sawChaos = false;
      c.steps.forEach((step, s) => {
        const trace: { x: number[]; f: number; grad: number[] }[] = [];
        const loss = opt.step(rosenbrockClosure(opt, x, trace));
        // Where ±1 ulp in x0 moves the result by more than 1e-6 (steps 4 and 5 of the max_iter 20 run without
        // line search), the path is chaotic: any rounding difference is amplified, so only convergence is asserted.
        if (step.ulpPerturbationSpread > 1e-6) {
          sawChaos = true;
          return;
        }
        const tol = Math.max(1e-10, 1e3 * step.ulpPerturbationSpread);
        assertClose(loss.item(), step.returnedLoss, { atol: tol, rtol: tol, message: `${c.name} step ${s + 1} loss` });
        assertClose(x, fromFixture(step.params), { atol: tol, rtol: 0, message: `${c.name} step ${s + 1} x` });
        const state = opt.state.get(x) as optim.LBFGSState;
        assert.equal(state.funcEvals, step.funcEvalsTotal, `${c.name} step ${s + 1} funcEvals`);
        assert.equal(state.nIter, step.nIterTotal, `${c.name} step ${s + 1} nIter`);
        assert.equal(trace.length, step.evaluations.length, `${c.name} step ${s + 1} closure calls`);
        trace.forEach((e, k) => {
          assertClose(e.x, step.evaluations[k].x, { atol: tol, rtol: 0, message: `${c.name} step ${s + 1} evaluation ${k} x` });
        });
      });
      if (sawChaos) {
        // After 5 steps (90 evaluations) PyTorch is within 5e-6 of the minimum (1, 1); a faithful L-BFGS gets as close.
        for (const v of x.data) assert.ok(Math.abs(v - 1) < 1e-4, `x = ${Array.from(x.data)} should approach (1, 1)`);
      }
    });
  }
});
