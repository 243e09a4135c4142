// Newton's method: exact Hessians from autograd, one linear solve per step.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AutogradError, concat, optim, type Tensor, tensor } from '../../src/index.js';
import { assertClose } from '../helpers.js';

/**
 * f(z) = ½ zᵀAz − bᵀz with A symmetric positive definite, so ∇f = Az − b and
 * ∇²f = A everywhere. The Newton step z − A⁻¹(Az − b) = A⁻¹b is the exact
 * minimizer whatever the starting point: one step solves the problem. Here z
 * is split over two parameters, w [2] and u [1], so the Hessian has cross
 * terms between tensors.
 */
describe('Newton on a quadratic', () => {
  const A = tensor(
    [
      [4, 1, 0.5],
      [1, 3, -1],
      [0.5, -1, 2],
    ],
    { dtype: 'float64' },
  );
  const b = tensor([1, -2, 3], { dtype: 'float64' });
  // A⁻¹b = (2/13, −18/65, 86/65) by Cramer's rule (det A = 16.25).
  const zStar = [2 / 13, -18 / 65, 86 / 65];
  const quadratic = (w: Tensor, u: Tensor) => () => {
    const z = concat([w, u]);
    return z.mul(A.matmul(z)).sum().mul(0.5).sub(z.mul(b).sum());
  };

  it('lands on the minimizer in one step', () => {
    const w = tensor([10, -7], { dtype: 'float64', requiresGrad: true });
    const u = tensor([3], { dtype: 'float64', requiresGrad: true });
    const opt = new optim.Newton([w, u]);
    const loss = opt.step(quadratic(w, u));
    // f(z0) = ½ z0ᵀAz0 − bᵀz0 at z0 = (10, −7, 3)
    assertClose(loss.item(), 0.5 * (400 + 147 + 18 - 140 + 30 + 42) - (10 + 14 + 9), { atol: 1e-12, rtol: 0 });
    assertClose([...w.data, ...u.data], zStar, { atol: 1e-12, rtol: 0 });
    assert.equal((opt.state.get(w) as optim.NewtonState).lastSolve, 'cholesky');
  });

  it('takes a fraction lr of the step', () => {
    const w = tensor([0, 0], { dtype: 'float64', requiresGrad: true });
    const u = tensor([0], { dtype: 'float64', requiresGrad: true });
    new optim.Newton([w, u], { lr: 0.5 }).step(quadratic(w, u));
    assertClose(
      [...w.data, ...u.data],
      zStar.map((v) => v / 2),
      { atol: 1e-12, rtol: 0 },
    );
  });

  it('works on float32 parameters', () => {
    const w = tensor([1, 1], { dtype: 'float32', requiresGrad: true });
    const u = tensor([1], { dtype: 'float32', requiresGrad: true });
    const A32 = A.cast('float32');
    const b32 = b.cast('float32');
    new optim.Newton([w, u]).step(() => {
      const z = concat([w, u]);
      return z.mul(A32.matmul(z)).sum().mul(0.5).sub(z.mul(b32).sum());
    });
    assert.equal(w.dtype, 'float32');
    assertClose([...w.data, ...u.data], zStar, { atol: 1e-5, rtol: 1e-5 });
  });
});

describe('Newton on Rosenbrock', () => {
  it('reaches the minimum (1, 1) from (-1.2, 1) in a few steps', () => {
    // f(x) = (1 − x0)² + 100(x1 − x0²)²: a curved valley where gradient descent needs thousands of steps.
    const x = tensor([-1.2, 1], { dtype: 'float64', requiresGrad: true });
    const opt = new optim.Newton([x]);
    const f = () => {
      const x0 = x.slice(0);
      return x0.neg().add(1).square().add(x.slice(1).sub(x0.square()).square().mul(100));
    };
    let steps = 0;
    while (steps < 10 && (Math.abs(x.data[0] - 1) > 1e-10 || Math.abs(x.data[1] - 1) > 1e-10)) {
      opt.step(f);
      steps++;
    }
    assert.ok(steps <= 7, `took ${steps} steps, x = ${Array.from(x.data)}`);
    assertClose(x, [1, 1], { atol: 1e-10, rtol: 0 });
  });
});

describe('Newton on singular and indefinite Hessians', () => {
  // f(w) = (w0 + w1)²: H = [[2, 2], [2, 2]] is singular (f is flat along (1, −1)).
  const flatValley = (w: Tensor) => () => w.sum().square();

  it('throws a SingularHessianError by default', () => {
    const w = tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    assert.throws(
      () => new optim.Newton([w]).step(flatValley(w)),
      (e: unknown) => {
        assert.ok(e instanceof optim.SingularHessianError);
        assert.match(
          (e as Error).message,
          /^Newton: the Hessian is singular at this point \(2 parameters\); pass a positive damping, or onSingular: 'gradientStep'$/,
        );
        return true;
      },
    );
    assert.deepEqual(Array.from(w.data), [1, 2], 'parameters unchanged');
  });

  it("takes a gradient step with onSingular: 'gradientStep'", () => {
    // ∇f = 2(w0 + w1)(1, 1) = (6, 6) at (1, 2); w ← w − 0.1·∇f.
    const w = tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    const opt = new optim.Newton([w], { lr: 0.1, onSingular: 'gradientStep' });
    opt.step(flatValley(w));
    assertClose(w, [1 - 0.6, 2 - 0.6], { atol: 1e-15, rtol: 0 });
    assert.equal((opt.state.get(w) as optim.NewtonState).lastSolve, 'gradient');
  });

  it('damping makes the system positive definite', () => {
    // (H + I)d = g: [[3, 2], [2, 3]]d = (6, 6) gives d = (1.2, 1.2).
    const w = tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    new optim.Newton([w], { damping: 1 }).step(flatValley(w));
    assertClose(w, [1 - 1.2, 2 - 1.2], { atol: 1e-14, rtol: 0 });
  });

  it('an indefinite Hessian is solved by LU: the step goes to the saddle point', () => {
    // f(w) = w0² − w1² + w0·w1: H = [[2, 1], [1, −2]] (indefinite); its only stationary point is 0.
    const w = tensor([0.7, -0.3], { dtype: 'float64', requiresGrad: true });
    const opt = new optim.Newton([w]);
    opt.step(() =>
      w
        .slice(0)
        .square()
        .sub(w.slice(1).square())
        .add(w.slice(0).mul(w.slice(1))),
    );
    assertClose(w, [0, 0], { atol: 1e-15, rtol: 0 });
    assert.equal((opt.state.get(w) as optim.NewtonState).lastSolve, 'lu');
  });
});

describe('Newton closure contract', () => {
  it('explains a closure whose backward() freed the graph', () => {
    const w = tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    const opt = new optim.Newton([w]);
    assert.throws(
      () =>
        opt.step(() => {
          const l = w.square().sum();
          l.backward();
          return l;
        }),
      (e: unknown) =>
        e instanceof AutogradError && /return the loss without calling backward\(\), or call backward\(undefined, \{retainGraph: true\}\)/.test(e.message),
    );
  });

  it('requires a closure and a loss that depends on the parameters', () => {
    const w = tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    const opt = new optim.Newton([w]);
    assert.throws(() => (opt.step as unknown as () => void)(), { message: 'Newton: step() needs a closure that returns the loss' });
    assert.throws(() => opt.step(() => tensor(3, { dtype: 'float64' })), { message: /Newton: the loss does not depend on the parameters/ });
  });
});

describe('Newton state dict', () => {
  it('round-trips through JSON and resumes bit-exactly', () => {
    // f(x) = (1 − x0)² + 100(x1 − x0²)², 2 + 2 steps with a reload in between == 4 steps.
    const closure = (x: Tensor) => () => {
      const x0 = x.slice(0);
      return x0.neg().add(1).square().add(x.slice(1).sub(x0.square()).square().mul(100));
    };
    const straight = tensor([-1.2, 1], { dtype: 'float64', requiresGrad: true });
    const optS = new optim.Newton([straight], { damping: 0.1 });
    for (let i = 0; i < 4; i++) optS.step(closure(straight));
    const x = tensor([-1.2, 1], { dtype: 'float64', requiresGrad: true });
    const opt1 = new optim.Newton([x], { damping: 0.1 });
    for (let i = 0; i < 2; i++) opt1.step(closure(x));
    const saved = JSON.parse(JSON.stringify(opt1.stateDict()));
    assert.deepEqual(saved.state['0'], { step: 2, lastSolve: 'cholesky' });
    const y = tensor(x.data.slice(), { requiresGrad: true });
    const opt2 = new optim.Newton([y], { damping: 1 });
    opt2.loadStateDict(saved);
    assert.equal(opt2.paramGroups[0].damping, 0.1);
    for (let i = 0; i < 2; i++) opt2.step(closure(y));
    assert.deepEqual(Array.from(y.data), Array.from(straight.data));
    assert.equal((opt2.state.get(y) as optim.NewtonState).step, 4);
  });
});
