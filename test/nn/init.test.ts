import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Generator, nn, seed, type Tensor, tensor, zeros } from '../../src/index.js';
import { assertClose } from '../helpers.js';

const { init } = nn;

function stats(t: Tensor): { mean: number; std: number; min: number; max: number } {
  let s = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of t.data) {
    s += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = s / t.size;
  let ss = 0;
  for (const v of t.data) ss += (v - mean) ** 2;
  return { mean, std: Math.sqrt(ss / t.size), min, max };
}

// A sample mean of n draws has standard error σ/√n; five of them is a safe bound.
// The sample std of n = 200,000 draws is within 1% of σ with overwhelming probability.
function assertMoments(t: Tensor, mean: number, std: number, label: string): void {
  const s = stats(t);
  const se = std / Math.sqrt(t.size);
  assert.ok(Math.abs(s.mean - mean) < 5 * se + 1e-12, `${label}: mean ${s.mean}, expected ${mean}`);
  assert.ok(Math.abs(s.std - std) < 0.01 * std, `${label}: std ${s.std}, expected ${std}`);
}

const big = () => zeros([500, 400], { dtype: 'float64' }); // fanIn 400, fanOut 500

describe('nn.init', () => {
  test('calculateGain matches PyTorch', () => {
    assert.equal(init.calculateGain('linear'), 1);
    assert.equal(init.calculateGain('conv2d'), 1);
    assert.equal(init.calculateGain('sigmoid'), 1);
    assert.equal(init.calculateGain('tanh'), 5 / 3);
    assert.equal(init.calculateGain('relu'), Math.SQRT2);
    assert.equal(init.calculateGain('selu'), 0.75);
    // leaky ReLU: sqrt(2 / (1 + slope²)), default slope 0.01; a = √5 gives sqrt(1/3)
    assert.equal(init.calculateGain('leakyRelu'), Math.sqrt(2 / (1 + 0.01 ** 2)));
    assert.equal(init.calculateGain('leaky_relu', Math.sqrt(5)), Math.sqrt(1 / 3));
    assert.throws(() => init.calculateGain('swish'), /calculateGain: unknown non-linearity 'swish'/);
  });

  test('fans of linear and convolution weights', () => {
    assert.deepEqual(init.computeFans([3, 5]), { fanIn: 5, fanOut: 3 });
    // Conv [out=8, in=2, 3, 3]: fanIn = 2·9, fanOut = 8·9
    assert.deepEqual(init.computeFans([8, 2, 3, 3]), { fanIn: 18, fanOut: 72 });
    assert.throws(() => init.xavierUniform(zeros([5])), /init\.xavierUniform: fan in and fan out need a tensor with at least 2 dimensions.*got shape \[5\]/);
  });

  test('uniform and normal have the requested moments and range', () => {
    seed(11);
    const u = init.uniform(big(), -2, 4);
    // U(a, b): mean (a+b)/2, std (b-a)/√12
    assertMoments(u, 1, 6 / Math.sqrt(12), 'uniform');
    const su = stats(u);
    assert.ok(su.min >= -2 && su.max < 4);
    assertMoments(init.normal(big(), 3, 0.5), 3, 0.5, 'normal');
    assert.throws(() => init.normal(big(), 0, -1), /init\.normal: std must be non-negative, got -1/);
    assert.throws(() => init.uniform(big(), 1, 0), /init\.uniform: lower bound a = 1 is greater than upper bound b = 0/);
  });

  test('truncNormal stays in [a, b]', () => {
    seed(12);
    const t = init.truncNormal(big(), 0, 1, -1, 1.5);
    const s = stats(t);
    assert.ok(s.min >= -1 && s.max <= 1.5);
    assert.ok(s.min < -0.99 && s.max > 1.49, 'the window is filled to its edges');
  });

  test('constant, zeros, ones, eye', () => {
    const t = zeros([2, 3]);
    assert.deepEqual(init.constant(t, 0.1).toFlatArray(), new Array(6).fill(Math.fround(0.1)));
    assert.deepEqual(init.ones(t).toFlatArray(), [1, 1, 1, 1, 1, 1]);
    assert.deepEqual(init.zeros(t).toFlatArray(), [0, 0, 0, 0, 0, 0]);
    assert.deepEqual(init.eye(t).toArray(), [
      [1, 0, 0],
      [0, 1, 0],
    ]);
    assert.throws(() => init.constant(zeros([2], { dtype: 'int32' }), 1), /init\.constant: can only initialise float32 or float64 tensors, got int32/);
  });

  test('Xavier/Glorot: variance gain²·2/(fanIn + fanOut)', () => {
    seed(13);
    const std = Math.sqrt(2 / 900);
    const u = init.xavierUniform(big());
    assertMoments(u, 0, std, 'xavierUniform');
    assert.ok(stats(u).max <= Math.sqrt(6 / 900));
    assertMoments(init.xavierNormal(big(), { gain: 2 }), 0, 2 * std, 'xavierNormal');
  });

  test('Kaiming/He: variance gain²/fan, fanIn or fanOut', () => {
    seed(14);
    // default: leaky ReLU with a = 0, i.e. gain √2, fan = fanIn = 400
    assertMoments(init.kaimingUniform(big()), 0, Math.sqrt(2 / 400), 'kaimingUniform');
    assertMoments(init.kaimingNormal(big(), { mode: 'fanOut', nonlinearity: 'relu' }), 0, Math.sqrt(2 / 500), 'kaimingNormal fanOut');
    assertMoments(init.kaimingNormal(big(), { nonlinearity: 'tanh' }), 0, 5 / 3 / 20, 'kaimingNormal tanh');
    assert.throws(() => init.kaimingUniform(big(), { mode: 'fanAvg' as 'fanIn' }), /init\.kaimingUniform: mode must be 'fanIn' or 'fanOut', got 'fanAvg'/);
  });

  test('LeCun: variance 1/fanIn', () => {
    seed(15);
    assertMoments(init.lecunUniform(big()), 0, 1 / 20, 'lecunUniform');
    assertMoments(init.lecunNormal(big()), 0, 1 / 20, 'lecunNormal');
  });

  test('orthogonal: W·Wᵀ = I for wide matrices, WᵀW = I for tall ones, times gain²', () => {
    seed(16);
    const wide = init.orthogonal(zeros([20, 50], { dtype: 'float64' }));
    assertClose(wide.matmul(wide.T), nn.init.eye(zeros([20, 20], { dtype: 'float64' })), { atol: 1e-12 });
    const tall = init.orthogonal(zeros([50, 20], { dtype: 'float64' }), { gain: 2 });
    assertClose(tall.T.matmul(tall), init.eye(zeros([20, 20], { dtype: 'float64' })).mul(4), { atol: 1e-12 });
    // A conv weight is treated as [out, in·kh·kw] = [4, 18]: its 4 rows are orthonormal.
    const conv = init.orthogonal(zeros([4, 2, 3, 3], { dtype: 'float64' })).reshape([4, 18]);
    assertClose(conv.matmul(conv.T), init.eye(zeros([4, 4], { dtype: 'float64' })), { atol: 1e-12 });
    // float32 storage keeps orthogonality to float32 precision
    const f32 = init.orthogonal(zeros([16, 16]));
    assertClose(f32.matmul(f32.T), init.eye(zeros([16, 16])), { atol: 1e-5 });
  });

  test('one seed reproduces every initialiser; a generator is independent of the default stream', () => {
    const draw = () => [init.xavierUniform(zeros([4, 3])), init.kaimingNormal(zeros([4, 3])), init.orthogonal(zeros([3, 3])), init.truncNormal(zeros([5]))];
    seed(42);
    const a = draw();
    seed(42);
    const b = draw();
    for (const [i, t] of a.entries()) assert.deepEqual(t.toFlatArray(), b[i].toFlatArray());
    seed(43);
    assert.notDeepEqual(draw()[0].toFlatArray(), a[0].toFlatArray());
    const g1 = init.normal(zeros([6]), 0, 1, { generator: new Generator(5) });
    seed(1);
    const g2 = init.normal(zeros([6]), 0, 1, { generator: new Generator(5) });
    assert.deepEqual(g1.toFlatArray(), g2.toFlatArray());
  });

  test('initialisers refuse tensors computed by recorded operations', () => {
    const leaf = tensor([1, 2]).requiresGrad_();
    assert.throws(() => init.zeros(leaf.mul(2)), /init\.constant: cannot overwrite a tensor computed by a recorded operation/);
  });

  test("Linear's default init is PyTorch's: weight and bias in U(-1/√in, 1/√in)", () => {
    seed(17);
    const layer = new nn.Linear(400, 500, { dtype: 'float64' });
    const bound = 1 / 20;
    const w = stats(layer.weight);
    assert.ok(w.max <= bound && w.min >= -bound);
    // kaiming_uniform with a = √5: bound = sqrt(1/3)·sqrt(3/400) = 1/20, std = bound/√3
    assertMoments(layer.weight, 0, bound / Math.sqrt(3), 'Linear weight');
    const b = stats(layer.bias as Tensor);
    assert.ok(b.max <= bound && b.min >= -bound && b.max - b.min > bound);
  });

  test('biasInit and weightInit options', () => {
    const layer = new nn.Linear(3, 4, { biasInit: 0.1, weightInit: (w) => init.xavierNormal(w, { gain: 0 }) });
    assert.deepEqual(layer.bias?.toFlatArray(), new Array(4).fill(Math.fround(0.1)));
    assert.deepEqual(layer.weight.toFlatArray(), new Array(12).fill(0));
    assert.deepEqual(new nn.Linear(3, 2, { biasInit: 0 }).bias?.toFlatArray(), [0, 0]);
    // A layer generator makes the layer's weights independent of the default stream.
    const a = new nn.Linear(3, 2, { generator: new Generator(9) });
    seed(1234);
    const b = new nn.Linear(3, 2, { generator: new Generator(9) });
    assert.deepEqual(a.weight.toFlatArray(), b.weight.toFlatArray());
  });
});
