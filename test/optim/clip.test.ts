// Gradient clipping and weight penalties.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gradcheck, optim, type Tensor, tensor, ValueError } from '../../src/index.js';
import { assertClose } from '../helpers.js';

function withGrad(values: number[], grad: number[]): Tensor {
  const t = tensor(values, { dtype: 'float64', requiresGrad: true });
  t.grad = tensor(grad, { dtype: 'float64' });
  return t;
}

describe('clipGradNorm', () => {
  it('scales all gradients by maxNorm/(total + 1e-6) when the joint 2-norm is above maxNorm', () => {
    // ‖(3, 4, 12)‖ = 13 over both tensors.
    const a = withGrad([0, 0], [3, 4]);
    const b = withGrad([0], [12]);
    const c = tensor([0], { dtype: 'float64', requiresGrad: true }); // no gradient: skipped
    const total = optim.clipGradNorm([a, b, c], 6.5);
    assert.equal(total, 13);
    const k = 6.5 / (13 + 1e-6);
    assertClose(a.grad as Tensor, [3 * k, 4 * k], { atol: 0, rtol: 1e-15 });
    assertClose(b.grad as Tensor, [12 * k], { atol: 0, rtol: 1e-15 });
    assert.equal(c.grad, null);
  });

  it('leaves gradients untouched when the norm is within maxNorm', () => {
    // 5 itself would be scaled by 5/(5 + 1e-6), as in PyTorch.
    const a = withGrad([0, 0], [3, 4]);
    assert.equal(optim.clipGradNorm(a, 5.00001), 5);
    assert.deepEqual(Array.from((a.grad as Tensor).data), [3, 4]);
  });

  it('supports the 1-norm, p-norms and the max-norm', () => {
    const grads = () => [withGrad([0, 0], [3, -4]), withGrad([0], [-12])];
    assert.equal(optim.clipGradNorm(grads(), 100, 1), 19);
    assertClose(optim.clipGradNorm(grads(), 100, 3), (27 + 64 + 1728) ** (1 / 3), { atol: 0, rtol: 1e-15 });
    const inf = grads();
    assert.equal(optim.clipGradNorm(inf, 6, Number.POSITIVE_INFINITY), 12);
    assertClose(inf[1].grad as Tensor, [(-12 * 6) / (12 + 1e-6)], { atol: 0, rtol: 1e-15 });
  });

  it('returns 0 without gradients, and reports non-finite norms on request', () => {
    assert.equal(optim.clipGradNorm([tensor([1], { requiresGrad: true })], 1), 0);
    const a = withGrad([0, 0], [Number.NaN, 1]);
    assert.throws(() => optim.clipGradNorm(a, 1, 2, { errorIfNonfinite: true }), {
      message: 'clipGradNorm: the total norm of order 2 of the gradients is NaN, so they cannot be clipped',
    });
    assert.throws(() => optim.clipGradNorm(a, -1), { message: 'clipGradNorm: maxNorm must be a non-negative number, got -1' });
    assert.throws(() => optim.clipGradNorm(a, 1, 0), { message: 'clipGradNorm: normType must be a positive number or Infinity, got 0' });
    assert.throws(() => optim.clipGradNorm(42 as unknown as Tensor, 1), ValueError);
  });

  it('works on float32 gradients', () => {
    const t = tensor([0, 0], { dtype: 'float32', requiresGrad: true });
    t.grad = tensor([30, 40], { dtype: 'float32' });
    assert.equal(optim.clipGradNorm([t], 1), 50);
    assertClose(t.grad, [0.6, 0.8], { atol: 0, rtol: 1e-6 });
    assert.equal(t.grad.dtype, 'float32');
  });
});

describe('clipGradValue', () => {
  it('clamps every gradient element into [-c, c] and keeps NaN', () => {
    const a = withGrad([0, 0, 0, 0], [-5, 0.25, 3, Number.NaN]);
    optim.clipGradValue([a], 1);
    const g = Array.from((a.grad as Tensor).data);
    assert.deepEqual(g.slice(0, 3), [-1, 0.25, 1]);
    assert.ok(Number.isNaN(g[3]));
    assert.throws(() => optim.clipGradValue([a], -1), { message: 'clipGradValue: clipValue must be a non-negative number, got -1' });
  });
});

describe('l1Penalty and l2Penalty', () => {
  it('are Σ|w| and Σw² (no 1/2) over all given tensors', () => {
    const a = tensor([1, -2], { dtype: 'float64', requiresGrad: true });
    const b = tensor([[3], [-0.5]], { dtype: 'float64', requiresGrad: true });
    assert.equal(optim.l1Penalty([a, b]).item(), 6.5);
    assert.equal(optim.l2Penalty([a, b]).item(), 1 + 4 + 9 + 0.25);
    assert.equal(optim.l2Penalty([]).item(), 0);
  });

  it('have gradients sign(w) and 2w (float64 gradcheck)', () => {
    const a = tensor([0.3, -1.2, 2.5], { dtype: 'float64' });
    const b = tensor([[-0.7, 0.1]], { dtype: 'float64' });
    gradcheck((x, y) => optim.l1Penalty([x, y]), [a, b]);
    gradcheck((x, y) => optim.l2Penalty([x, y]), [a, b]);
    const w = a.detach().requiresGrad_();
    optim.l2Penalty(w).backward();
    assertClose(w.grad as Tensor, [0.6, -2.4, 5], { atol: 1e-15, rtol: 0 });
  });

  it('λ/2·l2Penalty added to the loss is SGD weight decay λ', () => {
    // d/dw [L + (λ/2)Σw²] = ∇L + λw, which is what SGD's weightDecay adds to the gradient.
    const run = (decay: boolean) => {
      const w = tensor([0.5, -1, 2], { dtype: 'float64', requiresGrad: true });
      const opt = new optim.SGD([w], { lr: 0.1, momentum: 0.9, weightDecay: decay ? 0.04 : 0 });
      for (let i = 0; i < 5; i++) {
        opt.zeroGrad();
        let loss = w.sub(1).square().sum();
        if (!decay) loss = loss.add(optim.l2Penalty(w).mul(0.02));
        loss.backward();
        opt.step();
      }
      return Array.from(w.data);
    };
    assertClose(run(false), run(true), { atol: 1e-15, rtol: 1e-14 });
  });
});
