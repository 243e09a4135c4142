import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { grad, gradcheck, nn, ShapeError, type Tensor, tensor, ValueError } from '../../src/index.js';
import { assertClose, type FixtureTensor, fromFixture, loadFixture } from '../helpers.js';

const F = nn.functional;

interface ElementwiseCase {
  name: string;
  argsCamel: Record<string, number | string>;
  y: FixtureTensor;
  dydx: FixtureTensor;
}
interface SoftmaxCase {
  name: 'softmax' | 'log_softmax';
  dim: number;
  output: FixtureTensor;
  gradInput: FixtureTensor;
}
interface PreluCase {
  name: string;
  numParameters: number;
  input: FixtureTensor;
  weight: FixtureTensor;
  gradOutput: FixtureTensor;
  output: FixtureTensor;
  gradInput: FixtureTensor;
  gradWeight: FixtureTensor;
}
interface ActivationFixture {
  x: FixtureTensor;
  elementwise: ElementwiseCase[];
  softmax: { input: FixtureTensor; gradOutput: FixtureTensor; cases: SoftmaxCase[] };
  prelu: PreluCase[];
}

const fixture = loadFixture<ActivationFixture>('activations.json');
const F64 = { atol: 1e-12, rtol: 1e-10 };

type Act = (x: Tensor) => Tensor;

/** The fixture's PyTorch functions, by the fixture's case name, called with its (camelCase) arguments. */
const byFixtureName: Record<string, (a: Record<string, number | string>) => Act> = {
  relu: () => F.relu,
  leaky_relu_0_01: (a) => (x) => F.leakyRelu(x, a.negativeSlope as number),
  leaky_relu_0_2: (a) => (x) => F.leakyRelu(x, a.negativeSlope as number),
  elu: (a) => (x) => F.elu(x, a.alpha as number),
  elu_alpha_0_5: (a) => (x) => F.elu(x, a.alpha as number),
  selu: () => F.selu,
  gelu: (a) => (x) => F.gelu(x, a.approximate as 'none'),
  gelu_tanh: (a) => (x) => F.gelu(x, a.approximate as 'tanh'),
  silu: () => F.silu,
  mish: () => F.mish,
  softplus: (a) => (x) => F.softplus(x, a.beta as number, a.threshold as number),
  softplus_beta_2: (a) => (x) => F.softplus(x, a.beta as number, a.threshold as number),
  softsign: () => F.softsign,
  hardtanh: (a) => (x) => F.hardtanh(x, a.minVal as number, a.maxVal as number),
  relu6: () => F.relu6,
  hardsigmoid: () => F.hardsigmoid,
  hardswish: () => F.hardswish,
  sigmoid: () => F.sigmoid,
  tanh: () => F.tanh,
  log_sigmoid: () => F.logSigmoid,
};

/** Layers computing the same function as a fixture case, for the layer path. */
const layerByFixtureName: Record<string, (a: Record<string, number | string>) => nn.Module> = {
  relu: () => new nn.ReLU(),
  leaky_relu_0_2: (a) => new nn.LeakyReLU({ negativeSlope: a.negativeSlope as number }),
  elu_alpha_0_5: (a) => new nn.ELU({ alpha: a.alpha as number }),
  selu: () => new nn.SELU(),
  gelu_tanh: () => new nn.GELU({ approximate: 'tanh' }),
  silu: () => new nn.SiLU(),
  mish: () => new nn.Mish(),
  softplus_beta_2: (a) => new nn.Softplus({ beta: a.beta as number, threshold: a.threshold as number }),
  softsign: () => new nn.Softsign(),
  hardtanh: () => new nn.Hardtanh(),
  relu6: () => new nn.ReLU6(),
  hardsigmoid: () => new nn.Hardsigmoid(),
  hardswish: () => new nn.Hardswish(),
  sigmoid: () => new nn.Sigmoid(),
  tanh: () => new nn.Tanh(),
  log_sigmoid: () => new nn.LogSigmoid(),
};

const x64 = fromFixture(fixture.x);

describe('activations against PyTorch (activations.json)', () => {
  test('every fixture case has an implementation', () => {
    for (const c of fixture.elementwise) assert.ok(byFixtureName[c.name], `no mapping for ${c.name}`);
  });

  for (const c of fixture.elementwise) {
    test(`${c.name}: y = f(x) and dy/dx (grad of sum f(x)) in float64`, () => {
      const f = byFixtureName[c.name](c.argsCamel);
      assertClose(f(x64), fromFixture(c.y), { ...F64, message: `${c.name} y` });
      const dydx = grad((x: Tensor) => f(x).sum())(x64);
      // PyTorch 1.13's hardsigmoid backward multiplies by 1/6 written as a float32
      // literal (0.1666666716...) even in float64; ours is 1/6 to double precision.
      const tolerance = c.name === 'hardsigmoid' ? { atol: 1e-12, rtol: 1e-7 } : F64;
      assertClose(dydx, fromFixture(c.dydx), { ...tolerance, message: `${c.name} dydx` });
      const layer = layerByFixtureName[c.name]?.(c.argsCamel);
      if (layer) assertClose(layer.forward(x64), fromFixture(c.y), { ...F64, message: `${c.name} layer` });
    });
  }

  for (const c of fixture.softmax.cases) {
    test(`${c.name} along dim ${c.dim}: output and grad of sum(out * R), with logits near 1000 in row 2`, () => {
      const f = c.name === 'softmax' ? (x: Tensor) => F.softmax(x, c.dim) : (x: Tensor) => F.logSoftmax(x, c.dim);
      const input = fromFixture(fixture.softmax.input);
      const r = fromFixture(fixture.softmax.gradOutput);
      assertClose(f(input), fromFixture(c.output), F64);
      assertClose(grad((x: Tensor) => f(x).mul(r).sum())(input), fromFixture(c.gradInput), F64);
      const layer = c.name === 'softmax' ? new nn.Softmax({ axis: c.dim }) : new nn.LogSoftmax({ axis: c.dim });
      assertClose(layer.forward(input), fromFixture(c.output), F64);
    });
  }

  for (const c of fixture.prelu) {
    test(`${c.name}: y = x (x > 0), w[c]·x otherwise, channel axis 1; gradients of sum(y * R)`, () => {
      const input = fromFixture(c.input);
      const r = fromFixture(c.gradOutput);
      const [gx, gw] = grad((x: Tensor, w: Tensor) => F.prelu(x, w).mul(r).sum(), { argnums: [0, 1] })(input, fromFixture(c.weight));
      assertClose(F.prelu(input, fromFixture(c.weight)), fromFixture(c.output), F64);
      assertClose(gx, fromFixture(c.gradInput), F64);
      assertClose(gw, fromFixture(c.gradWeight), F64);

      const layer = new nn.PReLU({ numParameters: c.numParameters, dtype: 'float64' });
      layer.weight.assign(fromFixture(c.weight));
      const y = layer.forward(input);
      assertClose(y, fromFixture(c.output), F64);
      y.mul(r).sum().backward();
      assertClose(layer.weight.grad as Tensor, fromFixture(c.gradWeight), F64);
    });
  }
});

describe('float64 gradcheck of every differentiable activation (inputs away from kinks)', () => {
  // The fixture's x never sits on a kink (0, ±1, ±3, 6, the softplus thresholds),
  // and its points near 0 (±0.001) are 1000 finite-difference steps away from it.
  const smooth: [string, Act][] = [
    ['relu', F.relu],
    ['poslin', F.poslin],
    ['sigmoid', F.sigmoid],
    ['tanh', F.tanh],
    ['abs', F.abs],
    ['purelin', F.purelin],
    ['satlin', F.satlin],
    ['satlins', F.satlins],
    ['hardtanh(-2, 5)', (x) => F.hardtanh(x, -2, 5)],
    ['relu6', F.relu6],
    ['leakyRelu', (x) => F.leakyRelu(x, 0.1)],
    ['elu', (x) => F.elu(x, 0.7)],
    ['selu', F.selu],
    ['gelu', F.gelu],
    ['gelu tanh', (x) => F.gelu(x, 'tanh')],
    ['silu', F.silu],
    ['swish beta 1.5', (x) => F.swish(x, 1.5)],
    ['mish', F.mish],
    ['softplus', F.softplus],
    ['softplus beta 2', (x) => F.softplus(x, 2)],
    ['softsign', F.softsign],
    ['hardsigmoid', F.hardsigmoid],
    ['hardswish', F.hardswish],
    ['logSigmoid', F.logSigmoid],
    ['tanhshrink', F.tanhshrink],
  ];
  for (const [name, f] of smooth) {
    test(name, () => {
      gradcheck(f, [x64]);
    });
  }

  test('softmax and logSoftmax along each axis', () => {
    const x = fromFixture(fixture.softmax.input).slice([0, 2]);
    for (const axis of [0, 1, -1]) {
      gradcheck((t) => F.softmax(t, axis), [x]);
      gradcheck((t) => F.logSoftmax(t, axis), [x]);
    }
  });

  test('logSoftmax (one primitive): non-finite lines as the composite gave them, and second derivatives by gradcheck', () => {
    const x = tensor(
      [
        [1, 2, 3],
        [Number.NaN, 0, 1],
        [Number.POSITIVE_INFINITY, 0, 1],
        [Number.NEGATIVE_INFINITY, 0, 1],
        [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY],
      ],
      { dtype: 'float64' },
    );
    const got = F.logSoftmax(x, 1).toArray() as number[][];
    const lse = Math.log(Math.exp(-2) + Math.exp(-1) + 1);
    assertClose(tensor(got[0], { dtype: 'float64' }), [-2 - lse, -1 - lse, -lse], { atol: 1e-15, rtol: 0 });
    // A NaN or +Infinity anywhere in a line makes the line NaN; -Infinity alone is a log-probability of -Infinity.
    for (const row of [1, 2, 4]) assert.ok(got[row].every(Number.isNaN), `line ${row}: ${got[row]}`);
    const lse2 = Math.log(1 + Math.exp(-1));
    assert.deepEqual(got[3].slice(0, 1), [Number.NEGATIVE_INFINITY]);
    assertClose(tensor(got[3].slice(1), { dtype: 'float64' }), [-1 - lse2, -lse2], { atol: 1e-15, rtol: 0 });
    // Second derivatives through the composite backward (g - softmax·Σg), along the middle axis of a 3-d tensor.
    const y = tensor(
      Array.from({ length: 24 }, (_, i) => Math.sin(i * 1.7) * 3),
      { shape: [2, 3, 4], dtype: 'float64' },
    );
    gradcheck((t: Tensor) => grad((u: Tensor) => F.logSoftmax(u, 1).mul(u).sum())(t), [y]);
  });

  test('prelu with respect to input and per-channel weight', () => {
    const c = fixture.prelu[0];
    gradcheck(F.prelu, [fromFixture(c.input), fromFixture(c.weight)]);
  });

  test('maxout (no ties) and rbf with respect to input and centres', () => {
    const x = tensor(
      [
        [0.3, -1.2, 2.5, 0.7, -0.4, 1.9],
        [1.1, 0.2, -0.8, -2.2, 0.9, 0.5],
      ],
      { dtype: 'float64' },
    );
    gradcheck((t) => F.maxout(t, 3), [x]);
    gradcheck((t) => F.maxout(t, 2), [x]);
    const w = tensor(
      [
        [0.5, -0.5, 1, 0, 0.2, -1],
        [-1, 1, 0.3, 0.7, 0, 2],
        [0.1, 0.1, 0.1, 0.1, 0.1, 0.1],
      ],
      { dtype: 'float64' },
    );
    gradcheck(F.rbf, [x, w]);
  });
});

describe("Hagan's (MATLAB's) names", () => {
  test('purelin, poslin, logsig, tansig, satlins equal identity, relu, sigmoid, tanh, hardtanh', () => {
    assertClose(F.purelin(x64), x64, { atol: 0, rtol: 0 });
    assertClose(F.poslin(x64), F.relu(x64), { atol: 0, rtol: 0 });
    assertClose(F.logsig(x64), F.sigmoid(x64), { atol: 0, rtol: 0 });
    assertClose(F.tansig(x64), F.tanh(x64), { atol: 0, rtol: 0 });
    assertClose(F.satlins(x64), F.hardtanh(x64), { atol: 0, rtol: 0 });
    // satlin: a = 0 (n < 0), n (0 <= n <= 1), 1 (n > 1)
    assertClose(F.satlin(tensor([-2, 0, 0.25, 1, 3])), [0, 0, 0.25, 1, 1], { atol: 0, rtol: 0 });
  });

  test('the layer aliases are the same classes', () => {
    assert.equal(nn.Purelin, nn.Identity);
    assert.equal(nn.Poslin, nn.ReLU);
    assert.equal(nn.Logsig, nn.Sigmoid);
    assert.equal(nn.Tansig, nn.Tanh);
    assert.equal(nn.Satlins, nn.Hardtanh);
    assert.equal(new nn.Poslin().className, 'ReLU');
    assertClose(new nn.Satlin().forward(x64), F.satlin(x64), { atol: 0, rtol: 0 });
  });

  test('hardlim is 1 for n >= 0 (0 included) and 0 below; hardlims is ±1 likewise', () => {
    const n = tensor([-3, -1e-300, -0, 0, 1e-300, 2, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY], { dtype: 'float64' });
    assert.deepEqual(F.hardlim(n).toArray(), [0, 0, 1, 1, 1, 1, 0, 1]);
    assert.deepEqual(F.hardlims(n).toArray(), [-1, -1, 1, 1, 1, 1, -1, 1]);
    assert.deepEqual(new nn.Hardlim().forward(n).toArray(), F.hardlim(n).toArray());
    assert.deepEqual(new nn.Hardlims().forward(n).toArray(), F.hardlims(n).toArray());
  });

  test('hardlim, hardlims and compet have a zero gradient that still reaches the parameters', () => {
    const w = tensor([[0.5, -2, 1.5]], { dtype: 'float64', requiresGrad: true });
    for (const f of [F.hardlim, F.hardlims, (t: Tensor) => F.compet(t)]) {
      w.grad = null;
      f(w.mul(3))
        .mul(tensor([[1, 2, 3]], { dtype: 'float64' }))
        .sum()
        .backward();
      assert.deepEqual((w.grad as Tensor | null)?.toArray(), [[0, 0, 0]]);
    }
  });

  test('compet: one 1 per row at the maximum, the first of tied maxima, along any axis', () => {
    const n = tensor([
      [0.1, 0.7, -3],
      [5, 5, 1],
      [-1, -2, -0.5],
    ]);
    assert.deepEqual(F.compet(n).toArray(), [
      [0, 1, 0],
      [1, 0, 0],
      [0, 0, 1],
    ]);
    assert.deepEqual(F.compet(n, 0).toArray(), [
      [0, 0, 0],
      [1, 1, 1],
      [0, 0, 0],
    ]);
    assert.deepEqual(new nn.Compet({ axis: 0 }).forward(n).toArray(), F.compet(n, 0).toArray());
    // Property on random input: exactly one 1 per row, at the argmax.
    const r = nn.functional.gelu(
      tensor(
        Array.from({ length: 40 }, (_, i) => Math.sin(i * 1.7) * 3),
        { shape: [8, 5] },
      ),
    );
    const c = F.compet(r);
    assert.deepEqual(c.sum(1).toArray(), new Array(8).fill(1));
    assert.deepEqual(c.argmax(1).toArray(), r.argmax(1).toArray());
  });
});

describe('shape rules of maxout and rbf', () => {
  test('maxout takes the maximum of consecutive groups of k along the feature axis', () => {
    // z = [1, 5, 2 | 0, -1, -3] with k = 3 gives [5, 0]
    assert.deepEqual(F.maxout(tensor([[1, 5, 2, 0, -1, -3]]), 3).toArray(), [[5, 0]]);
    // channel axis 1 of [N, C, L]: C = 4 with k = 2 gives 2 channels
    const x = tensor([1, 2, 3, 4, 8, 7, 6, 5], { shape: [1, 4, 2] });
    assert.deepEqual(new nn.Maxout(2).forward(x).toArray(), [
      [
        [3, 4],
        [8, 7],
      ],
    ]);
    assert.deepEqual(new nn.Maxout(2, { axis: -1 }).forward(x).toArray(), [[[2], [4], [8], [6]]]);
  });

  test('maxout splits the gradient evenly between tied maxima', () => {
    const x = tensor([[2, 2, 1, 0]], { dtype: 'float64' });
    assert.deepEqual(grad((t: Tensor) => F.maxout(t, 2).sum())(x).toArray(), [[0.5, 0.5, 1, 0]]);
  });

  test('rbf: z_j = sum_i (x_i - w_ji)^2', () => {
    // x = [1, 2]; centres [0, 0] and [1, 1]: z = [1 + 4, 0 + 1] = [5, 1]
    const w = tensor([
      [0, 0],
      [1, 1],
    ]);
    assert.deepEqual(F.rbf(tensor([1, 2]), w).toArray(), [5, 1]);
    assert.deepEqual(
      F.rbf(
        tensor([
          [1, 2],
          [0, 0],
        ]),
        w,
      ).toArray(),
      [
        [5, 1],
        [0, 2],
      ],
    );
    const layer = new nn.RBF(2, 2);
    layer.weight.assign(w);
    assert.deepEqual(layer.forward(tensor([[1, 2]])).toArray(), [[5, 1]]);
    assert.deepEqual([...layer.weight.shape], [2, 2]);
  });
});

describe('stability at ±1e4', () => {
  const big = [-1e4, -5e3, -1e3, 1e3, 5e3, 1e4];
  const all: [string, Act][] = [
    ['elu', F.elu],
    ['selu', F.selu],
    ['gelu', F.gelu],
    ['gelu tanh', (x) => F.gelu(x, 'tanh')],
    ['silu', F.silu],
    ['mish', F.mish],
    ['softplus', F.softplus],
    ['softplus beta 0.001 (threshold never reached)', (x) => F.softplus(x, 0.001)],
    ['softsign', F.softsign],
    ['logSigmoid', F.logSigmoid],
    ['hardswish', F.hardswish],
    ['tanhshrink', F.tanhshrink],
    ['leakyRelu', F.leakyRelu],
    ['softmax', (x) => F.softmax(x)],
    ['logSoftmax', (x) => F.logSoftmax(x)],
  ];
  for (const dtype of ['float64', 'float32'] as const) {
    test(`finite values and finite gradients in ${dtype}`, () => {
      const x = tensor(big, { dtype });
      for (const [name, f] of all) {
        const y = f(x);
        assert.ok(y.toFlatArray().every(Number.isFinite), `${name} value at ±1e4: ${y.toFlatArray()}`);
        const g = grad((t: Tensor) => f(t).sum())(x);
        assert.ok(g.toFlatArray().every(Number.isFinite), `${name} gradient at ±1e4: ${g.toFlatArray()}`);
      }
    });
  }

  test('exact limits: logSigmoid(-1e4) = -1e4, softplus(1e4) = 1e4, logSoftmax of [1e4, -1e4]', () => {
    assertClose(F.logSigmoid(tensor([-1e4, 1e4], { dtype: 'float64' })), [-1e4, 0], { atol: 0, rtol: 0 });
    assertClose(F.softplus(tensor([1e4, -1e4], { dtype: 'float64' })), [1e4, 0], { atol: 0, rtol: 0 });
    assertClose(F.logSoftmax(tensor([1e4, -1e4], { dtype: 'float64' })), [0, -2e4], { atol: 0, rtol: 0 });
    // d/dx log sigmoid(x) = sigmoid(-x): 1 at -1e4, 0 at 1e4, exactly 1/2 at 0
    assertClose(grad((t: Tensor) => F.logSigmoid(t).sum())(tensor([-1e4, 0, 1e4], { dtype: 'float64' })), [1, 0.5, 0], { atol: 0, rtol: 0 });
  });
});

describe('errors', () => {
  test('bad hyper-parameters and shapes name the function or layer', () => {
    assert.throws(() => F.prelu(tensor([[1, 2]]), tensor([0.1, 0.2, 0.3])), {
      name: 'ShapeError',
      message: 'prelu: weight has 3 entries, but input [1, 2] has 2 channels on axis 1',
    });
    assert.throws(() => F.maxout(tensor([[1, 2, 3]]), 2), { name: 'ShapeError', message: /maxout: input \[1, 3\] has 3 features on axis 1/ });
    assert.throws(() => F.hardtanh(tensor([1]), 1, -1), ValueError);
    assert.throws(() => F.softplus(tensor([1]), 0), { message: 'softplus: beta must be a positive number, got 0' });
    assert.throws(() => F.gelu(tensor([1]), 'fast' as 'tanh'), { message: `gelu: approximate must be 'none' or 'tanh', got "fast"` });
    assert.throws(() => F.rbf(tensor([[1, 2, 3]]), tensor([[1, 2]])), ShapeError);
    assert.throws(() => new nn.LeakyReLU({ negativeSlope: Number.NaN }), { message: 'LeakyReLU: negativeSlope must be a finite number, got NaN' });
    assert.throws(() => new nn.Maxout(0), { message: 'Maxout: groupSize must be a positive integer, got 0' });
    const p = new nn.PReLU({ numParameters: 4, name: 'act1' });
    assert.throws(() => p.forward(tensor([[1, 2, 3]])), {
      name: 'ShapeError',
      message: "PReLU 'act1': expected input with 4 channels on axis 1, got [1, 3]",
    });
    assert.throws(() => new nn.RBF(3, 2).forward(tensor([[1, 2]])), { message: 'RBF: expected input with last dimension 3, got [1, 2]' });
  });
});

describe('layers round-trip through getConfig() and the registry', () => {
  const layers: nn.Module[] = [
    new nn.Identity(),
    new nn.ReLU(),
    new nn.Sigmoid(),
    new nn.Tanh(),
    new nn.Abs(),
    new nn.Hardlim(),
    new nn.Hardlims(),
    new nn.Hardtanh({ minVal: -2, maxVal: 0.5 }),
    new nn.Satlin(),
    new nn.ReLU6(),
    new nn.LeakyReLU({ negativeSlope: 0.3 }),
    new nn.PReLU({ numParameters: 3, init: 0.1, dtype: 'float64' }),
    new nn.Softmax({ axis: 0 }),
    new nn.LogSoftmax({ axis: 1 }),
    new nn.Compet({ axis: 0 }),
    new nn.Softplus({ beta: 2, threshold: 5 }),
    new nn.Softsign(),
    new nn.ELU({ alpha: 0.5 }),
    new nn.SELU(),
    new nn.GELU({ approximate: 'tanh' }),
    new nn.SiLU(),
    new nn.Mish(),
    new nn.Hardsigmoid(),
    new nn.Hardswish(),
    new nn.LogSigmoid(),
    new nn.Tanhshrink(),
    new nn.Maxout(3, { axis: 1 }),
    new nn.RBF(3, 2, { dtype: 'float64' }),
  ];
  const x = tensor(
    Array.from({ length: 18 }, (_, i) => Math.cos(i * 2.3) * 4),
    { shape: [2, 3, 3], dtype: 'float64' },
  );

  for (const layer of layers) {
    test(layer.className, () => {
      const saved = JSON.parse(JSON.stringify({ className: layer.className, config: layer.getConfig() }));
      const rebuilt = nn.getLayerFactory(saved.className)(saved.config);
      assert.equal(rebuilt.className, layer.className);
      assert.deepEqual(rebuilt.getConfig(), layer.getConfig());
      rebuilt.loadStateDict(layer.stateDict());
      assertClose(rebuilt.forward(x), layer.forward(x), { atol: 0, rtol: 0 });
    });
  }

  test('PReLU and RBF have their weights as parameters, named weight', () => {
    assert.deepEqual(
      new nn.PReLU({ numParameters: 3 }).namedParameters().map(([n, p]) => [n, [...p.shape]]),
      [['weight', [3]]],
    );
    assert.deepEqual(
      new nn.RBF(4, 5).namedParameters().map(([n, p]) => [n, [...p.shape]]),
      [['weight', [5, 4]]],
    );
    assert.equal(new nn.ReLU().parameters().length, 0);
  });
});
