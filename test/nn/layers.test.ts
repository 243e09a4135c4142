import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { arange, DTypeError, gradcheck, nn, randn, ShapeError, seed, type Tensor, tensor, ValueError } from '../../src/index.js';
import { assertClose, type FixtureTensor, fromFixture, loadFixture } from '../helpers.js';

interface LinearFixture {
  inFeatures: number;
  outFeatures: number;
  weight: FixtureTensor;
  bias: FixtureTensor;
  input: FixtureTensor;
  output: FixtureTensor;
  backward: { upstream: string; gradOutput: FixtureTensor; gradInput: FixtureTensor; gradWeight: FixtureTensor; gradBias: FixtureTensor }[];
}

interface GradBlock {
  output: FixtureTensor;
  gradInput: FixtureTensor;
  gradWeight: FixtureTensor;
  gradBias: FixtureTensor;
}

interface BatchNormFixture {
  module: string;
  numFeatures: number;
  eps: number;
  momentum: number;
  weight: FixtureTensor;
  bias: FixtureTensor;
  runningMeanBefore: FixtureTensor;
  runningVarBefore: FixtureTensor;
  input: FixtureTensor;
  gradOutput: FixtureTensor;
  train: GradBlock & { runningMeanAfter: FixtureTensor; runningVarAfter: FixtureTensor; numBatchesTracked: number };
  eval: GradBlock & { input: FixtureTensor };
}

interface LayerNormFixture extends GradBlock {
  normalizedShape: number[];
  eps: number;
  weight: FixtureTensor;
  bias: FixtureTensor;
  input: FixtureTensor;
  gradOutput: FixtureTensor;
}

interface LayersFixture {
  linear: LinearFixture;
  batchnorm1d: BatchNormFixture;
  batchnorm1d_3d: BatchNormFixture;
  batchnorm2d: BatchNormFixture;
  layernorm: LayerNormFixture;
  layernorm_last2: LayerNormFixture;
}

const fx = loadFixture<LayersFixture>('layers.json');
const f64 = (t: FixtureTensor) => fromFixture(t, 'float64');
const TOL = { atol: 1e-10, rtol: 1e-8 };

/** Backpropagate sum(output * gradOutput) into a fresh copy of x; returns the output and the input gradient. */
function forwardBackward(layer: nn.Module, input: Tensor, gradOutput: Tensor): { output: Tensor; gradInput: Tensor } {
  layer.zeroGrad();
  const x = input.detach().requiresGrad_();
  const output = layer.forward(x) as Tensor;
  output.mul(gradOutput).sum().backward();
  return { output, gradInput: x.grad as Tensor };
}

const shapeOf = (t: Tensor) => [...t.shape];

describe('Linear', () => {
  test('matches PyTorch: y = x·Wᵀ + b and the gradients of sum(y * g)', () => {
    const c = fx.linear;
    const layer = new nn.Linear(c.inFeatures, c.outFeatures, { dtype: 'float64' });
    layer.loadStateDict({ weight: f64(c.weight), bias: f64(c.bias) });
    for (const b of c.backward) {
      const { output, gradInput } = forwardBackward(layer, f64(c.input), f64(b.gradOutput));
      assertClose(output, f64(c.output), TOL);
      assertClose(gradInput, f64(b.gradInput), TOL);
      assertClose(layer.weight.grad as Tensor, f64(b.gradWeight), TOL);
      assertClose(layer.bias?.grad as Tensor, f64(b.gradBias), TOL);
    }
  });

  test('accepts [*, in] and [in]; weight is [out, in]; bias is optional', () => {
    const layer = new nn.Linear(5, 3);
    assert.deepEqual(shapeOf(layer.weight), [3, 5]);
    assert.deepEqual(shapeOf(layer.forward(randn([2, 4, 5]))), [2, 4, 3]);
    assert.deepEqual(shapeOf(layer.forward(randn([5]))), [3]);
    const noBias = new nn.Linear(5, 3, { bias: false });
    assert.equal(noBias.bias, null);
    assert.deepEqual(
      noBias.namedParameters().map(([n]) => n),
      ['weight'],
    );
    // Without bias, y = x·Wᵀ exactly.
    const x = randn([4, 5]);
    assertClose(noBias.forward(x), x.matmul(noBias.weight.T), { atol: 1e-6 });
  });

  test('integer inputs are converted; the other float precision is refused', () => {
    const layer = new nn.Linear(2, 1, { biasInit: 0, weightInit: 1 });
    assert.deepEqual(layer.forward(tensor([[1, 2]], { dtype: 'int32' })).toFlatArray(), [3]);
    assert.throws(() => layer.forward(randn([1, 2], { dtype: 'float64' })), DTypeError);
    assert.throws(
      () => layer.forward(randn([1, 2], { dtype: 'float64' })),
      /Linear: input is float64 but the layer's parameters are float32; cast the input or build the layer with \{dtype: 'float64'\}/,
    );
  });

  test('shape errors name the layer and both shapes', () => {
    const fc2 = new nn.Linear(128, 10, { name: 'fc2' });
    assert.throws(
      () => fc2.forward(randn([64, 120])),
      (e: Error) => {
        assert.ok(e instanceof ShapeError);
        assert.equal(e.message, "Linear 'fc2': expected input with last dimension 128, got [64, 120]");
        return true;
      },
    );
    assert.throws(() => new nn.Linear(0, 3), /Linear: inFeatures must be a positive integer, got 0/);
    assert.throws(() => new nn.Linear(3, 2.5), /Linear: outFeatures must be a positive integer, got 2.5/);
    assert.throws(() => new nn.Linear(3, 2, { dtype: 'int32' as 'float32' }), /Linear: dtype must be 'float32' or 'float64', got "int32"/);
  });

  test('float64 gradcheck on the input, the weight and the bias', () => {
    seed(1);
    const layer = new nn.Linear(4, 3, { dtype: 'float64' });
    const x = randn([2, 3, 4], { dtype: 'float64' });
    gradcheck((xx, w, b) => nn.functionalCall(layer, { weight: w, bias: b }, xx), [x, layer.weight, layer.bias as Tensor]);
  });
});

describe('Flatten, Reshape, Identity', () => {
  test('output shapes', () => {
    const x = randn([2, 3, 4, 5]);
    assert.deepEqual(shapeOf(new nn.Flatten().forward(x)), [2, 60]);
    assert.deepEqual(shapeOf(new nn.Flatten({ startAxis: 2 }).forward(x)), [2, 3, 20]);
    assert.deepEqual(shapeOf(new nn.Flatten({ startAxis: 0, endAxis: 1 }).forward(x)), [6, 4, 5]);
    assert.deepEqual(shapeOf(new nn.Reshape([12, 5]).forward(x)), [2, 12, 5]);
    assert.deepEqual(shapeOf(new nn.Reshape([-1, 5]).forward(x)), [2, 12, 5]);
    assert.deepEqual(shapeOf(new nn.Reshape([1, 28, 28]).forward(randn([3, 784]))), [3, 1, 28, 28]);
    // Flatten keeps the row-major order: the values are untouched.
    assert.deepEqual(new nn.Flatten().forward(x).toFlatArray(), x.toFlatArray());
    assert.equal(new nn.Identity().forward(x), x);
  });

  test('errors name the layer and the shape', () => {
    assert.throws(
      () => new nn.Flatten({ name: 'flat' }).forward(randn([5])),
      /Flatten 'flat': expected an input in which axes 1 to -1 exist, in that order, got \[5\]/,
    );
    assert.throws(() => new nn.Reshape([7]).forward(randn([2, 6])), /Reshape: expected samples of 7 elements to reshape to \[7\], got \[2, 6\]/);
    assert.throws(() => new nn.Reshape([-1, 4]).forward(randn([2, 6])), /Reshape: expected samples of a multiple of 4 elements/);
    assert.throws(() => new nn.Reshape([-1, -1]), /Reshape: targetShape may contain at most one -1/);
  });

  test('float64 gradcheck', () => {
    const x = randn([2, 3, 4], { dtype: 'float64' });
    // squares make the gradient depend on position, so a scrambled layout would fail
    gradcheck((xx) => new nn.Flatten().forward(xx).square(), [x]);
    gradcheck((xx) => new nn.Reshape([4, 3]).forward(xx).square(), [x]);
  });
});

describe('Lambda', () => {
  test('applies the function; only registered functions can be saved', () => {
    const double = new nn.Lambda((x) => x.mul(2));
    assert.deepEqual((double.forward(tensor([1, 2])) as Tensor).toFlatArray(), [2, 4]);
    assert.throws(
      () => double.getConfig(),
      /Lambda: its function is not registered, so it cannot be saved; register it with Lambda\.register\('someName', fn\)/,
    );
    assert.match(double.toString(), /^Lambda\(/);
    const triple = (x: Tensor) => x.mul(3);
    nn.Lambda.register('test.triple', triple);
    assert.deepEqual(new nn.Lambda(triple).getConfig(), { functionName: 'test.triple' });
    const rebuilt = nn.layerFromConfig({ className: 'Lambda', config: { functionName: 'test.triple' } });
    assert.deepEqual((rebuilt.forward(tensor([1])) as Tensor).toFlatArray(), [3]);
    assert.throws(() => new nn.Lambda('test.nothing'), /Lambda: no function registered as 'test\.nothing'/);
  });
});

describe('Dropout', () => {
  test('eval mode is the identity', () => {
    const drop = new nn.Dropout(0.5).eval();
    const x = randn([10, 10]);
    assert.equal(drop.forward(x), x);
  });

  test('training zeroes about p of the units and scales the rest by 1/(1-p)', () => {
    seed(2);
    const p = 0.3;
    const n = 100_000;
    const y = new nn.Dropout(p).forward(tensor(new Float32Array(n).fill(1)));
    let zeros = 0;
    const scale = Math.fround(1 / (1 - p));
    for (const v of y.data) {
      if (v === 0) zeros++;
      else assert.equal(v, scale);
    }
    // The count of dropped units is Binomial(n, p): standard deviation sqrt(n·p·(1-p)) ≈ 145.
    assert.ok(Math.abs(zeros - n * p) < 5 * Math.sqrt(n * p * (1 - p)), `dropped ${zeros} of ${n}`);
  });

  test('the same seed gives the same mask; p = 0 and p = 1', () => {
    const drop = new nn.Dropout(0.5);
    const x = randn([50]);
    seed(3);
    const a = drop.forward(x);
    seed(3);
    assert.deepEqual(drop.forward(x).toFlatArray(), a.toFlatArray());
    assert.notDeepEqual(drop.forward(x).toFlatArray(), a.toFlatArray());
    assert.equal(new nn.Dropout(0).forward(x), x);
    // p = 1 multiplies by zero (so the result is still connected to x, with zero gradient)
    assertClose(new nn.Dropout(1).forward(x), new Array(50).fill(0));
    assert.throws(() => new nn.Dropout(1.5), /Dropout: p must be a probability in \[0, 1\], got 1.5/);
  });

  test('float64 gradcheck with a fixed mask: the gradient is mask/(1-p)', () => {
    const drop = new nn.Dropout(0.4);
    const x = randn([3, 5], { dtype: 'float64' });
    gradcheck(
      (xx) => {
        seed(4);
        return drop.forward(xx);
      },
      [x],
    );
  });
});

describe('AlphaDropout', () => {
  test('keeps zero mean and unit variance of standard normal inputs; eval is the identity', () => {
    seed(5);
    const x = randn([200_000], { dtype: 'float64' });
    const drop = new nn.AlphaDropout(0.2);
    const y = drop.forward(x);
    const mean = y.mean().item();
    const std = y.std().item();
    assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`);
    assert.ok(Math.abs(std - 1) < 0.01, `std ${std}`);
    // a dropped unit becomes -α'·a·(1-p) with α' = 1.7581, a = ((1-p)(1+p·α'²))^(-1/2)
    const alpha = 1.7580993408473766;
    const a = 1 / Math.sqrt((1 - 0.2) * (1 + 0.2 * alpha * alpha));
    const dropped = -alpha * a * 0.8;
    let count = 0;
    for (const v of y.data) if (Math.abs(v - dropped) < 1e-12) count++;
    assert.ok(Math.abs(count / x.size - 0.2) < 0.005, `dropped fraction ${count / x.size}`);
    drop.eval();
    assert.equal(drop.forward(x), x);
  });
});

function loadBatchNorm(c: BatchNormFixture): nn.BatchNorm {
  const Cls = c.module === 'BatchNorm2d' ? nn.BatchNorm2d : nn.BatchNorm1d;
  const bn = new Cls(c.numFeatures, { eps: c.eps, momentum: c.momentum, dtype: 'float64' });
  bn.loadStateDict({
    weight: f64(c.weight),
    bias: f64(c.bias),
    running_mean: f64(c.runningMeanBefore),
    running_var: f64(c.runningVarBefore),
    num_batches_tracked: tensor(0, { dtype: 'int32' }),
  });
  return bn;
}

describe('BatchNorm', () => {
  for (const name of ['batchnorm1d', 'batchnorm1d_3d', 'batchnorm2d'] as const) {
    test(`${name}: training output, gradients and running statistics, then eval, match PyTorch`, () => {
      const c = fx[name];
      const bn = loadBatchNorm(c);
      const sd = bn.stateDict();
      // train: normalize by the batch mean and biased variance; update running stats with the unbiased one
      const tr = forwardBackward(bn, f64(c.input), f64(c.gradOutput));
      assertClose(tr.output, f64(c.train.output), TOL);
      assertClose(tr.gradInput, f64(c.train.gradInput), TOL);
      assertClose(bn.weight?.grad as Tensor, f64(c.train.gradWeight), TOL);
      assertClose(bn.bias?.grad as Tensor, f64(c.train.gradBias), TOL);
      assertClose(sd.get('running_mean') as Tensor, f64(c.train.runningMeanAfter), TOL);
      assertClose(sd.get('running_var') as Tensor, f64(c.train.runningVarAfter), TOL);
      assert.equal(sd.get('num_batches_tracked')?.item(), c.train.numBatchesTracked);
      // eval: normalize by the running statistics
      bn.eval();
      const ev = forwardBackward(bn, f64(c.eval.input), f64(c.gradOutput));
      assertClose(ev.output, f64(c.eval.output), TOL);
      assertClose(ev.gradInput, f64(c.eval.gradInput), TOL);
      assertClose(bn.weight?.grad as Tensor, f64(c.eval.gradWeight), TOL);
      assertClose(bn.bias?.grad as Tensor, f64(c.eval.gradBias), TOL);
    });
  }

  test('eval never changes the running statistics', () => {
    seed(6);
    const bn = new nn.BatchNorm1d(3);
    bn.forward(randn([8, 3]).mul(3).add(1));
    const before = bn.namedBuffers().map(([n, b]) => [n, b.toFlatArray()]);
    bn.eval();
    for (let i = 0; i < 3; i++) bn.forward(randn([8, 3]).mul(5));
    assert.deepEqual(
      bn.namedBuffers().map(([n, b]) => [n, b.toFlatArray()]),
      before,
    );
  });

  test('buffers carry PyTorch names; momentum null is the cumulative average', () => {
    const bn = new nn.BatchNorm1d(2, { momentum: null, dtype: 'float64' });
    assert.deepEqual([...bn.stateDict().keys()], ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
    // batch means 2 and 4: the cumulative average of running_mean is (2 + 4) / 2 = 3 in channel 0
    bn.forward(
      tensor(
        [
          [1, 0],
          [3, 0],
        ],
        { dtype: 'float64' },
      ),
    );
    bn.forward(
      tensor(
        [
          [3, 0],
          [5, 0],
        ],
        { dtype: 'float64' },
      ),
    );
    assertClose(bn.getBuffer('running_mean'), [3, 0]);
    // unbiased variances 2 and 2 average to 2
    assertClose(bn.getBuffer('running_var'), [2, 0]);
  });

  test('without running statistics or affine parameters', () => {
    const bn = new nn.BatchNorm1d(2, { trackRunningStats: false, affine: false, dtype: 'float64' }).eval();
    assert.equal(bn.parameters().length, 0);
    assert.equal(bn.namedBuffers().length, 0);
    // eval still normalizes with the batch statistics: each column becomes ±1 (up to eps)
    assertClose(
      bn.forward(
        tensor(
          [
            [1, 10],
            [3, 30],
          ],
          { dtype: 'float64' },
        ),
      ),
      [-1, -1, 1, 1],
      { atol: 1e-4 },
    );
  });

  test('shape errors name the layer; training needs more than one value per channel', () => {
    const bn = new nn.BatchNorm1d(4, { name: 'bn1' });
    assert.throws(() => bn.forward(randn([6, 5])), /BatchNorm1d 'bn1': expected input of shape \[N, 4\] or \[N, 4, L\], got \[6, 5\]/);
    assert.throws(() => bn.forward(randn([1, 4])), /BatchNorm1d 'bn1': training needs more than one value per channel/);
    assert.doesNotThrow(() => bn.eval().forward(randn([1, 4])));
    assert.throws(() => new nn.BatchNorm2d(3).forward(randn([2, 3, 4])), /BatchNorm2d: expected input of shape \[N, 3, H, W\], got \[2, 3, 4\]/);
    assert.throws(() => new nn.BatchNorm1d(3, { momentum: 2 }), /BatchNorm1d: momentum must be in \[0, 1\] or null/);
  });

  test('float64 gradcheck in training mode on the input, weight and bias', () => {
    seed(7);
    const bn = new nn.BatchNorm1d(3, { dtype: 'float64' });
    const x = randn([4, 3, 2], { dtype: 'float64' });
    const w = randn([3], { dtype: 'float64' });
    const b = randn([3], { dtype: 'float64' });
    gradcheck((xx, ww, bb) => nn.functionalCall(bn, { weight: ww, bias: bb }, xx), [x, w, b]);
    gradcheck((xx) => bn.eval().forward(xx), [x]);
  });
});

describe('LayerNorm', () => {
  for (const name of ['layernorm', 'layernorm_last2'] as const) {
    test(`${name}: output and gradients match PyTorch`, () => {
      const c = fx[name];
      const ln = new nn.LayerNorm(c.normalizedShape, { eps: c.eps, dtype: 'float64' });
      ln.loadStateDict({ weight: f64(c.weight), bias: f64(c.bias) });
      const { output, gradInput } = forwardBackward(ln, f64(c.input), f64(c.gradOutput));
      assertClose(output, f64(c.output), TOL);
      assertClose(gradInput, f64(c.gradInput), TOL);
      assertClose(ln.weight?.grad as Tensor, f64(c.gradWeight), TOL);
      assertClose(ln.bias?.grad as Tensor, f64(c.gradBias), TOL);
    });
  }

  test('same in train and eval; shape errors', () => {
    const ln = new nn.LayerNorm(4);
    const x = randn([3, 4]);
    assert.deepEqual(ln.forward(x).toFlatArray(), ln.eval().forward(x).toFlatArray());
    assert.throws(() => ln.forward(randn([3, 5])), /LayerNorm: expected input ending in \[4\], got \[3, 5\]/);
  });

  test('float64 gradcheck on the input, weight and bias', () => {
    seed(8);
    const ln = new nn.LayerNorm([3, 2], { dtype: 'float64' });
    const w = randn([3, 2], { dtype: 'float64' });
    const b = randn([3, 2], { dtype: 'float64' });
    gradcheck((xx, ww, bb) => nn.functionalCall(ln, { weight: ww, bias: bb }, xx), [randn([2, 3, 2], { dtype: 'float64' }), w, b]);
  });
});

describe('Embedding', () => {
  test('looks up rows; the gradient adds into the rows used; the padding row stays zero and untrained', () => {
    seed(9);
    const emb = new nn.Embedding(5, 3, { paddingIdx: 0 });
    assert.deepEqual(emb.weight.slice(0).toFlatArray(), [0, 0, 0]);
    const idx = tensor(
      [
        [1, 2, 1],
        [0, 4, 4],
      ],
      { dtype: 'int32' },
    );
    const out = emb.forward(idx);
    assert.deepEqual(shapeOf(out), [2, 3, 3]);
    assert.deepEqual(out.slice(0, 1).toFlatArray(), emb.weight.slice(2).toFlatArray());
    out.sum().backward();
    // row i receives one all-ones gradient per occurrence of i: counts [0 (padding), 2, 1, 0, 2]
    assertClose(emb.weight.grad as Tensor, [0, 0, 0, 2, 2, 2, 1, 1, 1, 0, 0, 0, 2, 2, 2]);
    assert.throws(() => emb.forward(tensor([1.0])), /Embedding: expected int32 indices, got float32/);
    assert.throws(() => emb.forward(tensor([5], { dtype: 'int32' })), /Embedding: index 5 is out of range for 5 embeddings/);
  });

  test('float64 gradcheck on the weight', () => {
    const emb = new nn.Embedding(4, 2, { dtype: 'float64' });
    const idx = arange(4).reshape([2, 2]);
    gradcheck((w) => nn.functionalCall(emb, { weight: w }, idx).square(), [emb.weight]);
  });
});

describe('merge layers', () => {
  test('Add, Multiply and Concatenate', () => {
    const a = tensor([[1, 2]]);
    const b = tensor([[3, 4]]);
    assert.deepEqual(new nn.Add().forward(a, b, b).toFlatArray(), [7, 10]);
    assert.deepEqual(new nn.Multiply().forward(a, b).toFlatArray(), [3, 8]);
    assert.deepEqual(shapeOf(new nn.Concatenate().forward(a, b, a)), [1, 6]);
    assert.deepEqual(shapeOf(new nn.Concatenate({ axis: 0 }).forward(a, b)), [2, 2]);
    assert.throws(() => new nn.Add({ name: 'skip' }).forward(a, tensor([[1, 2, 3]])), /Add 'skip': expected inputs of one shape, got \[1, 2\], \[1, 3\]/);
    assert.throws(
      () => new nn.Concatenate({ axis: 1 }).forward(randn([2, 3]), randn([3, 3])),
      /Concatenate: inputs must agree on every axis except axis 1, got \[2, 3\], \[3, 3\]/,
    );
  });
});

describe('getConfig and the registry', () => {
  nn.Lambda.register('test.square', (x) => x.square());
  const cases: [string, () => nn.Module, () => Tensor[]][] = [
    ['Linear', () => new nn.Linear(4, 3), () => [randn([2, 4])]],
    ['Linear float64 without bias', () => new nn.Linear(4, 3, { bias: false, dtype: 'float64' }), () => [randn([2, 4], { dtype: 'float64' })]],
    ['Flatten', () => new nn.Flatten({ startAxis: 2 }), () => [randn([2, 3, 4, 2])]],
    ['Reshape', () => new nn.Reshape([2, -1]), () => [randn([2, 6])]],
    ['Identity', () => new nn.Identity(), () => [randn([2, 2])]],
    ['Lambda', () => new nn.Lambda('test.square'), () => [randn([2, 2])]],
    ['Dropout', () => new nn.Dropout(0.25), () => [randn([2, 5])]],
    ['AlphaDropout', () => new nn.AlphaDropout(0.1), () => [randn([2, 5])]],
    ['BatchNorm1d', () => new nn.BatchNorm1d(3, { momentum: null, affine: false, eps: 1e-3 }), () => [randn([4, 3])]],
    ['BatchNorm2d', () => new nn.BatchNorm2d(2), () => [randn([2, 2, 3, 3])]],
    ['LayerNorm', () => new nn.LayerNorm([2, 3], { bias: false }), () => [randn([4, 2, 3])]],
    ['Embedding', () => new nn.Embedding(6, 2, { paddingIdx: -1 }), () => [tensor([[0, 5, 2]], { dtype: 'int32' })]],
    ['Add', () => new nn.Add(), () => [randn([2, 3]), randn([2, 3])]],
    ['Multiply', () => new nn.Multiply(), () => [randn([2, 3]), randn([2, 3])]],
    ['Concatenate', () => new nn.Concatenate({ axis: 1 }), () => [randn([2, 3]), randn([2, 1])]],
  ];
  for (const [name, make, inputs] of cases) {
    test(`${name}: getConfig → factory → loadStateDict gives identical outputs`, () => {
      seed(10);
      const layer = make();
      const xs = inputs();
      // one training step first, so that running statistics differ from their initial values
      if (layer instanceof nn.BatchNorm) layer.forward(xs[0]);
      layer.eval();
      const spec = JSON.parse(JSON.stringify(nn.layerToSpec(layer)));
      const copy = nn.layerFromConfig(spec);
      assert.equal(copy.className, layer.className);
      assert.deepEqual(copy.getConfig(), layer.getConfig());
      copy.loadStateDict(layer.stateDict());
      copy.eval();
      assert.deepEqual((copy.forward(...xs) as Tensor).toFlatArray(), (layer.forward(...xs) as Tensor).toFlatArray());
    });
  }

  test('unknown classes and bad configs are reported', () => {
    assert.throws(() => nn.layerFromConfig({ className: 'Dense', config: {} }), /unknown layer class 'Dense'; known: .*Linear/);
    assert.throws(() => nn.layerFromConfig({ className: 'Linear', config: { inFeatures: 2 } }), ValueError);
  });
});
