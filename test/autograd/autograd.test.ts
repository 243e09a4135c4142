import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { record } from '../../src/autograd/graph.js';
import * as nt from '../../src/index.js';
import { AutogradError, type Tensor } from '../../src/index.js';
import { assertClose } from '../helpers.js';

const f64 = (v: nt.NestedArray) => nt.tensor(v, { dtype: 'float64' });

describe('backward', () => {
  test('node reuse: c = a*b + a gives dc/da = b + 1, dc/db = a', () => {
    const a = nt.tensor([2, -3], { requiresGrad: true });
    const b = nt.tensor([5, 7], { requiresGrad: true });
    a.mul(b).add(a).sum().backward();
    assertClose(a.grad!, [6, 8]);
    assertClose(b.grad!, [2, -3]);
  });

  test('broadcasting: y = sum(X + b) with b [3] broadcast over 2 rows gives db = 2', () => {
    const x = nt.ones([2, 3], { requiresGrad: true });
    const b = nt.zeros([3], { requiresGrad: true });
    x.add(b).sum().backward();
    assertClose(b.grad!, [2, 2, 2]);
    assertClose(x.grad!, [
      [1, 1, 1],
      [1, 1, 1],
    ]);
  });

  test('broadcast over a size-1 axis: b [2, 1] gets row sums', () => {
    const x = nt.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const b = nt.zeros([2, 1], { requiresGrad: true });
    x.mul(b.add(1)).sum().backward();
    // d/db sum_j x_ij (b_i + 1) = sum_j x_ij
    assertClose(b.grad!, [[6], [15]]);
  });

  test('gradients accumulate across backward calls until cleared', () => {
    const x = nt.tensor([3], { requiresGrad: true });
    x.square().sum().backward();
    x.square().sum().backward();
    assertClose(x.grad!, [12]); // 2 * (2x) at x = 3
    x.grad = null;
    x.mul(5).sum().backward();
    assertClose(x.grad!, [5]);
  });

  test('noGrad and detach cut the graph', () => {
    const x = nt.tensor([1, 2], { requiresGrad: true });
    const y = nt.noGrad(() => x.mul(2));
    assert.equal(y.requiresGrad, false);
    const z = x.detach().mul(2);
    assert.equal(z.requiresGrad, false);
    // y = x * stop(x): dy/dx = stop(x) only.
    x.mul(x.detach()).sum().backward();
    assertClose(x.grad!, [1, 2]);
  });

  test('backward on a non-scalar without a gradient names the shape', () => {
    const x = nt.ones([2, 2], { requiresGrad: true });
    assert.throws(() => x.mul(2).backward(), /backward: the output has shape \[2, 2\]/);
    x.mul(2).backward(nt.ones([2, 2]));
    assertClose(x.grad!, [
      [2, 2],
      [2, 2],
    ]);
  });

  test('running backward twice through a freed graph is an error; retainGraph allows it', () => {
    const x = nt.tensor([1], { requiresGrad: true });
    const y = x.exp().sum();
    y.backward();
    assert.throws(() => y.backward(), AutogradError);
    const z = x.exp().sum();
    z.backward(undefined, { retainGraph: true });
    z.backward();
    assertClose(x.grad!, [Math.E * 3], { rtol: 1e-6 });
  });

  test('a vjp returning a wrong-shaped gradient is reported with the op, input and both shapes', () => {
    const x = nt.ones([2, 3], { requiresGrad: true });
    const out = record(nt.ones([2, 3]), 'badOp', [x], () => [nt.ones([4])]);
    assert.throws(() => out.sum().backward(), /the gradient of 'badOp' for its input 0 has shape \[4\], but that input has shape \[2, 3\]/);
  });

  test('integer tensors cannot require gradients', () => {
    assert.throws(() => nt.tensor([1, 2], { dtype: 'int32', requiresGrad: true }), /only float32 and float64 tensors can require gradients/);
  });

  test('cast between float dtypes passes the gradient through', () => {
    const x = nt.tensor([1.5, 2], { dtype: 'float64', requiresGrad: true });
    x.float().mul(3).sum().backward();
    assert.equal(x.grad!.dtype, 'float64');
    assertClose(x.grad!, [3, 3]);
  });

  test('retainGrad keeps the gradient of an intermediate', () => {
    const x = nt.tensor([2], { requiresGrad: true });
    const h = x.mul(3).retainGrad();
    h.square().sum().backward();
    assertClose(h.grad!, [12]); // d h^2 / dh = 2h = 12
    assertClose(x.grad!, [36]);
  });
});

describe('higher order', () => {
  test('second derivative of x^3 is 6x via createGraph', () => {
    const x = f64([2]).requiresGrad_();
    const [g] = nt.gradients(x.pow(3).sum(), [x], undefined, { createGraph: true });
    assertClose(g, [12]); // 3x^2
    const [h] = nt.gradients(g.sum(), [x]);
    assertClose(h, [12]); // 6x
  });

  test('grad(grad(f)) for f = sin: -sin', () => {
    const d2 = nt.grad((x: Tensor) =>
      nt
        .grad((y: Tensor) => y.sin().sum())(x)
        .sum(),
    );
    assertClose(d2(f64([0.3, 1.1])), [-Math.sin(0.3), -Math.sin(1.1)], { atol: 1e-12 });
  });

  test('Hessian of the quadratic 1/2 xᵀAx + bᵀx is A (A symmetric)', () => {
    const A = f64([
      [2, 1, 0],
      [1, 3, -1],
      [0, -1, 4],
    ]);
    const b = f64([1, -2, 0.5]);
    const f = (x: Tensor) => x.matmul(A).matmul(x).mul(0.5).add(b.matmul(x));
    assertClose(nt.hessian(f, f64([0.1, 0.2, 0.3])), A, { atol: 1e-12 });
  });

  test('Hessian of a tiny MLP loss agrees with finite differences of its gradient', () => {
    const x = f64([
      [0.5, -1],
      [1, 2],
      [-0.3, 0.8],
    ]);
    const y = f64([1, 0, 1]);
    // params: W1 [2,2] and w2 [2], flattened into 6 numbers.
    const loss = (p: Tensor) => {
      const W1 = p.slice([0, 4]).reshape(2, 2);
      const w2 = p.slice([4, 6]);
      const out = x.matmul(W1).tanh().matmul(w2);
      return out.sub(y).square().mean();
    };
    const p0 = f64([0.3, -0.2, 0.5, 0.1, 0.7, -0.4]);
    const H = nt.hessian(loss, p0);
    const eps = 1e-5;
    const g = nt.grad(loss);
    for (let i = 0; i < 6; i++) {
      const plus = p0.dataSync() as Float64Array;
      const minus = p0.dataSync() as Float64Array;
      plus[i] += eps;
      minus[i] -= eps;
      const col = g(nt.tensor(plus))
        .sub(g(nt.tensor(minus)))
        .div(2 * eps);
      assertClose(H.slice(null, i), col, { atol: 1e-7 });
    }
    // A Hessian is symmetric.
    assertClose(H, H.T, { atol: 1e-12 });
  });

  test('hvp equals H·v, and jacobian of an element-wise map is diagonal', () => {
    const f = (x: Tensor) =>
      x
        .pow(3)
        .sum()
        .add(
          x
            .slice([0, 1])
            .mul(x.slice([1, 2]))
            .sum(),
        );
    const x = f64([1, 2, 3]);
    const v = f64([1, -1, 0.5]);
    assertClose(nt.hvp(f, x, v), nt.hessian(f, x).matmul(v), { atol: 1e-12 });
    const J = nt.jacobian((t: Tensor) => t.square(), x);
    assertClose(J, [
      [2, 0, 0],
      [0, 4, 0],
      [0, 0, 6],
    ]);
  });

  test('valueAndGrad with several arguments', () => {
    const f = (a: Tensor, b: Tensor) => a.mul(b).sum();
    const [value, [ga, gb]] = nt.valueAndGrad(f, { argnums: [0, 1] })(f64([1, 2]), f64([3, 4]));
    assertClose(value, 11);
    assertClose(ga, [3, 4]);
    assertClose(gb, [1, 2]);
  });

  test('gradcheck catches a wrong gradient', () => {
    const wrong = (x: Tensor) => record(x.square().detach(), 'wrongSquare', [x], (g) => [g.mul(x).mul(3)]);
    assert.throws(() => nt.gradcheck(wrong, [f64([1, 2])]), nt.GradcheckError);
    const report = nt.gradcheck((x: Tensor) => x.square(), [f64([1, 2])]);
    assert.equal(report.ok, true);
  });
});

describe('the XOR network from the lecture notes', () => {
  test('f(x) = wᵀ max(0, Wᵀx + c) + b gives [0, 1, 1, 0]', () => {
    const W = nt.tensor([
      [1, 1],
      [1, 1],
    ]);
    const c = nt.tensor([0, -1]);
    const w = nt.tensor([1, -2]);
    const b = 0;
    const X = nt.tensor([
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ]);
    // Rows of X are inputs, so Wᵀx for every row is X·W.
    const f = X.matmul(W).add(c).relu().matmul(w).add(b);
    assert.deepEqual(f.toArray(), [0, 1, 1, 0]);
  });
});

describe('post-accumulate-grad hooks', () => {
  test("each leaf's hook runs once per backward, after every path's contribution is summed in, last layer first", () => {
    const w1 = nt.tensor(
      [
        [1, 2],
        [3, 4],
      ],
      { requiresGrad: true },
    );
    const w2 = nt.tensor([[0.5], [-1]], { requiresGrad: true });
    const x = nt.tensor([[1, 2]]);
    const seen: [string, number[]][] = [];
    w1.registerPostAccumulateGradHook((t) => seen.push(['w1', Array.from(t.grad!.data)]));
    w2.registerPostAccumulateGradHook((t) => seen.push(['w2', Array.from(t.grad!.data)]));
    // w1 reaches the loss through two paths: its hook must see their sum.
    const h = x.matmul(w1);
    h.matmul(w2).add(h.sum()).sum().backward();
    assert.deepEqual(
      seen.map(([n]) => n),
      ['w2', 'w1'],
    );
    // h = [7, 10]; d/dw2 = h^T = [[7], [10]]; d/dw1 = x^T (w2^T + 1) = [[1.5, 0], [3, 0]].
    assert.deepEqual(seen[0][1], [7, 10]);
    assert.deepEqual(seen[1][1], [1.5, 0, 3, 0]);
  });

  test('a second backward runs the hook again with the accumulated .grad; remove() takes it off; gradients() runs none', () => {
    const w = nt.tensor([1, 2], { requiresGrad: true });
    const seen: number[][] = [];
    const handle = w.registerPostAccumulateGradHook((t) => seen.push(Array.from(t.grad!.data)));
    w.mul(3).sum().backward();
    w.mul(3).sum().backward();
    assert.deepEqual(seen, [
      [3, 3],
      [6, 6],
    ]);
    nt.gradients(w.mul(2).sum(), [w]);
    assert.equal(seen.length, 2);
    handle.remove();
    w.mul(3).sum().backward();
    assert.equal(seen.length, 2);
  });

  test('only tensors that accumulate a .grad take a hook, and it must be a function', () => {
    const w = nt.tensor([1, 2], { requiresGrad: true });
    const y = w.mul(2);
    assert.throws(() => y.registerPostAccumulateGradHook(() => {}), /only leaf tensors \(and tensors that called retainGrad\(\)\)/);
    assert.throws(() => w.registerPostAccumulateGradHook(42 as unknown as () => void), /expected a function/);
    let ran = 0;
    y.retainGrad().registerPostAccumulateGradHook(() => ran++);
    y.sum().backward();
    assert.equal(ran, 1);
  });
});
