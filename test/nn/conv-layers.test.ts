// Convolutional, pooling and locally-connected layers: the notes' worked
// exercises, PyTorch's numbers through the layers, float64 gradient checks in
// the input and every parameter, float32 against float64, errors naming the
// layer and both shapes, and save/load through getConfig + the registry +
// the state dict.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as nt from '../../src/index.js';
import { DTypeError, nn, ShapeError, type Tensor, ValueError } from '../../src/index.js';
import { assertClose, type FixtureTensor, fromFixture, loadFixture } from '../helpers.js';

interface ConvCase {
  name: string;
  module: 'Conv1d' | 'Conv2d' | 'ConvTranspose2d';
  argsCamel: Record<string, unknown>;
  input: FixtureTensor;
  weight: FixtureTensor;
  bias: FixtureTensor | null;
  output: FixtureTensor;
  gradOutput: FixtureTensor;
  grads: { input: FixtureTensor; weight: FixtureTensor; bias: FixtureTensor | null };
}

interface PoolCase {
  name: string;
  module: string;
  argsCamel: Record<string, unknown>;
  input: FixtureTensor;
  output: FixtureTensor;
  indices?: FixtureTensor;
  gradOutput: FixtureTensor;
  grads: { input: FixtureTensor };
  outputSize?: number[];
}

const fixture = loadFixture<{ conv: ConvCase[]; pool: PoolCase[]; unpool: PoolCase[] }>('conv.json');
const TOL = { atol: 1e-10, rtol: 1e-10 };
const rnd = (shape: number[], seed: number) => nt.uniform(shape, -1, 1, { dtype: 'float64', generator: new nt.Generator(seed) });
const gen = (seed: number) => new nt.Generator(seed);

/** Finite differences of f(input, ...params) where the params stand in for the layer's own by name. */
function checkLayer(layer: nn.Module, x: Tensor, ...extra: unknown[]): void {
  const named = layer.namedParameters();
  const f = (input: Tensor, ...ps: Tensor[]) => nn.functionalCall(layer, new Map(named.map(([n], i) => [n, ps[i]])), input, ...(extra as [])) as Tensor;
  nt.gradcheck(f, [x, ...named.map(([, p]) => p.detach())], { atol: 1e-7, rtol: 1e-6 });
}

function throwsMatching(call: () => unknown, kind: new (...a: never[]) => Error, pattern: RegExp): void {
  assert.throws(call, (e: unknown) => {
    assert.ok(e instanceof kind, `expected ${kind.name}, got ${(e as Error).name}: ${(e as Error).message}`);
    assert.match((e as Error).message, pattern);
    return true;
  });
}

/** Count the zeros of the layer's Jacobian (the notes' "weight matrix representation") for a 1-D input of length d. */
function jacobianZeros(layer: nn.Module, d: number): { rows: number; zeros: number } {
  const j = nt.jacobian((x) => (layer.forward(x.reshape([1, 1, d])) as Tensor).reshape([-1]), nt.ones([d], { dtype: 'float64' }));
  let zeros = 0;
  for (let i = 0; i < j.size; i++) if (j.data[i] === 0) zeros++;
  return { rows: j.shape[0], zeros };
}

describe('lecture-note exercises', () => {
  test('2-D: 20 filters of 5x5 on a 10x10 single-channel image', () => {
    const conv = new nn.Conv2d(1, 20, 5);
    // Each filter: 5·5·1 = 25 weights + 1 bias; 20 filters: 5·5·1·20 + 20 = 520 parameters.
    assert.deepEqual([...conv.weight.shape], [20, 1, 5, 5]);
    assert.equal(conv.countParameters(), 520);
    // (10 - 5 + 2·0)/1 + 1 = 6 outputs per axis: 6·6 = 36 per filter, 720 in all.
    const y = conv.forward(nt.zeros([1, 1, 10, 10]));
    assert.deepEqual([...y.shape], [1, 20, 6, 6]);
    assert.equal(y.size, 720);
  });

  test('1-D: D = 10 inputs and U = 5 outputs, dense against convolutional', () => {
    // Fully connected: 10·5 weights + 5 biases.
    assert.equal(new nn.Linear(10, 5).countParameters(), 55);
    // One kernel: P = D - U + 1 = 6 weights (+ 1 bias); 5 outputs x 6 taps = 30 connections; 50 - 30 = 20 zeros.
    const conv = new nn.Conv1d(1, 1, 6, { weightInit: 1, dtype: 'float64' });
    assert.equal(conv.weight.size, 6);
    assert.deepEqual(jacobianZeros(conv, 10), { rows: 5, zeros: 20 });
  });

  test('1-D: D = 20 inputs, kernel 5, stride 5', () => {
    const conv = new nn.Conv1d(1, 1, 5, { stride: 5, weightInit: 1, dtype: 'float64' });
    // 5 weights + 1 bias; (20 - 5)/5 + 1 = 4 outputs; 4·5 = 20 connections; 4·20 - 20 = 60 zeros.
    assert.equal(conv.countParameters(), 6);
    assert.deepEqual(jacobianZeros(conv, 20), { rows: 4, zeros: 60 });
  });

  test('2-D pooling: 10x10 image, 5x5 max pooling with stride 5 gives 4 outputs, and nothing to learn', () => {
    const pool = new nn.MaxPool2d(5, { stride: 5 });
    assert.equal(pool.countParameters(), 0);
    assert.equal(pool.forward(nt.zeros([1, 1, 10, 10])).size, 4);
  });
});

describe('layers against PyTorch (test/fixtures/conv.json)', () => {
  for (const c of fixture.conv) {
    test(`${c.module} ${c.name}`, () => {
      const a = c.argsCamel;
      const opts = {
        stride: a.stride as number,
        padding: a.padding as number,
        dilation: a.dilation as number,
        groups: a.groups as number,
        bias: a.bias as boolean,
        dtype: 'float64' as const,
      };
      const [i, o, k] = [a.inChannels as number, a.outChannels as number, a.kernelSize as number];
      const layer =
        c.module === 'Conv1d'
          ? new nn.Conv1d(i, o, k, opts)
          : c.module === 'Conv2d'
            ? new nn.Conv2d(i, o, k, opts)
            : new nn.ConvTranspose2d(i, o, k, { ...opts, outputPadding: a.outputPadding as number });
      const state: Record<string, Tensor> = { weight: fromFixture(c.weight) };
      if (c.bias) state.bias = fromFixture(c.bias);
      layer.loadStateDict(state);
      const x = fromFixture(c.input).requiresGrad_();
      const y = layer.forward(x);
      assertClose(y, fromFixture(c.output), TOL);
      y.mul(fromFixture(c.gradOutput)).sum().backward();
      assertClose(x.grad as Tensor, fromFixture(c.grads.input), TOL);
      assertClose(layer.weight.grad as Tensor, fromFixture(c.grads.weight), TOL);
      if (c.grads.bias) assertClose(layer.bias?.grad as Tensor, fromFixture(c.grads.bias), TOL);
    });
  }

  test('MaxPool2d switches feed MaxUnpool2d, AvgPool2d', () => {
    for (const c of fixture.pool) {
      const a = c.argsCamel;
      const x = fromFixture(c.input);
      const opts = { stride: a.stride as number, padding: a.padding as number };
      if (c.module === 'MaxPool2d') {
        const [y, idx] = new nn.MaxPool2d(a.kernelSize as number, opts).forwardWithIndices(x);
        assertClose(y, fromFixture(c.output), TOL);
        assert.deepEqual(Array.from(idx.data), c.indices?.data);
      } else {
        const y = new nn.AvgPool2d(a.kernelSize as number, { ...opts, countIncludePad: a.countIncludePad as boolean }).forward(x);
        assertClose(y, fromFixture(c.output), TOL);
      }
    }
    for (const c of fixture.unpool) {
      const a = c.argsCamel;
      const unpool = new nn.MaxUnpool2d(a.kernelSize as number, { stride: a.stride as number, padding: a.padding as number });
      const x = fromFixture(c.input).requiresGrad_();
      const y = unpool.forward(x, fromFixture(c.indices as FixtureTensor, 'int32'), c.outputSize);
      assertClose(y, fromFixture(c.output), TOL);
      y.mul(fromFixture(c.gradOutput)).sum().backward();
      assertClose(x.grad as Tensor, fromFixture(c.grads.input), TOL);
    }
  });
});

describe('gradients in the input and every parameter (float64)', () => {
  test('Conv2d: stride 2, padding 1, dilation 2, groups 2', () => {
    const conv = new nn.Conv2d(4, 6, 3, { stride: 2, padding: 1, dilation: 2, groups: 2, dtype: 'float64', generator: gen(1) });
    checkLayer(conv, rnd([2, 4, 7, 6], 2));
  });

  test('Conv2d: reflect and replicate padding, padding same', () => {
    for (const paddingMode of ['reflect', 'replicate'] as const) {
      const conv = new nn.Conv2d(2, 3, [2, 3], { padding: 'same', paddingMode, dtype: 'float64', generator: gen(3) });
      assert.deepEqual([...conv.forward(rnd([1, 2, 4, 5], 4)).shape], [1, 3, 4, 5]);
      checkLayer(conv, rnd([1, 2, 4, 5], 4));
    }
    // Replicate padding of a constant image is the same constant, so every output is Σ w · c + b.
    const conv = new nn.Conv2d(1, 1, 3, { padding: 1, paddingMode: 'replicate', dtype: 'float64', generator: gen(5) });
    const y = conv.forward(nt.full([1, 1, 3, 3], 2, { dtype: 'float64' }));
    const expected = conv.weight
      .sum()
      .mul(2)
      .add(conv.bias as Tensor)
      .item();
    assertClose(y, new Array(9).fill(expected), { atol: 1e-14 });
  });

  test('Conv1d: stride 2, padding 2, dilation 2, groups 2, and unbatched input', () => {
    const conv = new nn.Conv1d(4, 6, 3, { stride: 2, padding: 2, dilation: 2, groups: 2, dtype: 'float64', generator: gen(6) });
    checkLayer(conv, rnd([2, 4, 11], 7));
    const x = rnd([4, 11], 8);
    assertClose(conv.forward(x), conv.forward(x.reshape([1, 4, 11])).reshape([6, 6]));
  });

  test('ConvTranspose2d and ConvTranspose1d', () => {
    const up = new nn.ConvTranspose2d(4, 6, 3, { stride: 2, padding: 1, outputPadding: 1, groups: 2, dtype: 'float64', generator: gen(9) });
    assert.deepEqual([...up.weight.shape], [4, 3, 3, 3]);
    checkLayer(up, rnd([1, 4, 3, 3], 10));
    // outputSize picks the output padding at call time: 5 or 6 both map back to 3 under the matching stride-2 convolution.
    assert.deepEqual([...up.forward(rnd([1, 4, 3, 3], 11), [5, 5]).shape], [1, 6, 5, 5]);
    const up1 = new nn.ConvTranspose1d(2, 3, 4, { stride: 3, dilation: 2, dtype: 'float64', generator: gen(12) });
    checkLayer(up1, rnd([2, 2, 4], 13));
  });

  test('LocallyConnected2d and LocallyConnected1d', () => {
    const lc = new nn.LocallyConnected2d(2, 3, [5, 4], [2, 3], { stride: [2, 1], padding: [1, 0], dtype: 'float64', generator: gen(14) });
    // outH = (5 + 2 - 2)/2 + 1 = 3, outW = (4 - 3)/1 + 1 = 2: 6 positions of [3, 2·2·3] weights, bias [3, 3, 2].
    assert.deepEqual([...lc.weight.shape], [6, 3, 12]);
    assert.deepEqual([...(lc.bias as Tensor).shape], [3, 3, 2]);
    checkLayer(lc, rnd([2, 2, 5, 4], 15));
    const lc1 = new nn.LocallyConnected1d(2, 2, 7, 3, { stride: 2, dilation: 2, dtype: 'float64', generator: gen(16) });
    checkLayer(lc1, rnd([2, 2, 7], 17));
  });

  test('pooling layers', () => {
    const x = rnd([2, 2, 7, 6], 18);
    checkLayer(new nn.MaxPool2d(3, { stride: 2, padding: 1, dilation: 2, ceilMode: true }), x);
    checkLayer(new nn.AvgPool2d(3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }), x);
    checkLayer(new nn.AdaptiveAvgPool2d([4, 4]), x);
    checkLayer(new nn.AdaptiveMaxPool2d([3, null]), x);
    checkLayer(new nn.GlobalAvgPool2d(), x);
    checkLayer(new nn.GlobalMaxPool1d(), rnd([2, 3, 5], 19));
    checkLayer(new nn.MaxPool1d(2, { stride: 1 }), rnd([2, 3, 5], 20));
    checkLayer(new nn.AvgPool1d(3, { padding: 1 }), rnd([2, 3, 5], 21));
  });

  test('Conv2d → BatchNorm2d → ReLU → MaxPool2d in training mode', () => {
    const block = new nn.Sequential(
      new nn.Conv2d(2, 3, 3, { padding: 1, dtype: 'float64', generator: gen(22) }),
      new nn.BatchNorm2d(3, { dtype: 'float64' }),
      new nn.Tanh(),
      new nn.MaxPool2d(2),
    );
    checkLayer(block, rnd([3, 2, 4, 4], 23));
  });
});

describe('semantics', () => {
  test('LocallyConnected2d with the same filter at every position equals Conv2d', () => {
    const conv = new nn.Conv2d(3, 4, 3, { stride: 2, padding: 1, dtype: 'float64', generator: gen(24) });
    const lc = new nn.LocallyConnected2d(3, 4, [7, 6], 3, { stride: 2, padding: 1, dtype: 'float64' });
    const positions = lc.weight.shape[0];
    const w = conv.weight.reshape([1, 4, 27]).expand([positions, 4, 27]);
    const b = (conv.bias as Tensor).reshape([4, 1, 1]).expand([4, 4, 3]);
    lc.loadStateDict({ weight: w, bias: b });
    const x = rnd([2, 3, 7, 6], 25);
    assertClose(lc.forward(x), conv.forward(x), { atol: 1e-12 });
    // Without sharing: 12 positions · (4·27) weights + 4·12 biases.
    assert.equal(lc.countParameters(), 12 * 108 + 48);
  });

  test('deconvolution by unpooling: MaxPool2d switches and MaxUnpool2d restore the maxima in place', () => {
    const x = rnd([1, 2, 4, 4], 26);
    const [pooled, switches] = new nn.MaxPool2d(2).forwardWithIndices(x);
    const restored = new nn.MaxUnpool2d(2).forward(pooled, switches);
    // Each 2x2 block keeps its maximum where it was (the switch) and zeros elsewhere.
    let nonZero = 0;
    for (let i = 0; i < restored.size; i++) {
      if (restored.data[i] !== 0) {
        nonZero++;
        assert.equal(restored.data[i], x.data[i]);
      }
    }
    assert.equal(nonZero, pooled.size);
    for (let j = 0; j < pooled.size; j++) {
      const plane = Math.floor(j / 4);
      assert.equal(restored.data[plane * 16 + switches.data[j]], pooled.data[j]);
    }
  });

  test('default initialisation: U(-1/√fanIn, 1/√fanIn) for weight and bias (PyTorch)', () => {
    const conv = new nn.Conv2d(4, 8, 3, { groups: 2, generator: gen(27) });
    const bound = 1 / Math.sqrt(2 * 9);
    for (const p of conv.parameters()) {
      const m = Math.max(...Array.from(p.data, Math.abs));
      assert.ok(m <= bound && m > 0.5 * bound, `${m} vs ${bound}`);
    }
    const up = new nn.ConvTranspose2d(4, 6, 3, { groups: 2, generator: gen(28) });
    // The transposed weight [4, 3, 3, 3] has fanIn = 3·9.
    assert.ok(Math.max(...Array.from(up.weight.data, Math.abs)) <= 1 / Math.sqrt(27));
    // Seeded: the same generator seed gives the same weights.
    assertClose(new nn.Conv2d(4, 8, 3, { groups: 2, generator: gen(27) }).weight, conv.weight, { atol: 0, rtol: 0 });
  });

  test('float32 layers agree with float64 ones holding the same weights', () => {
    const make = (dtype: 'float32' | 'float64') => [
      new nn.Conv2d(4, 6, 3, { stride: 2, padding: 1, groups: 2, dtype, generator: gen(29) }),
      new nn.ConvTranspose2d(4, 2, 3, { stride: 2, dtype, generator: gen(30) }),
      new nn.LocallyConnected2d(4, 3, [7, 6], 2, { dtype, generator: gen(31) }),
      new nn.Conv1d(4, 2, 3, { padding: 'same', paddingMode: 'reflect', dtype, generator: gen(32) }),
    ];
    const x = rnd([2, 4, 7, 6], 33);
    const [a, b] = [make('float64'), make('float32')];
    for (let i = 0; i < a.length; i++) {
      const input = i === 3 ? x.reshape([2, 4, 42]) : x;
      const y64 = a[i].forward(input);
      const y32 = b[i].forward(input.float());
      assert.equal(y32.dtype, 'float32');
      assertClose(y32, y64, { atol: 1e-5, rtol: 1e-5, message: a[i].className });
    }
  });

  test('symbolic shapes in the functional API', () => {
    const x = nn.input([1, 28, 28]);
    const h = new nn.MaxPool2d(2).call(new nn.Conv2d(1, 6, 5, { padding: 2 }).call(x));
    assert.deepEqual([...h.shape], [6, 14, 14]);
    const u = new nn.ConvTranspose2d(6, 1, 2, { stride: 2 }).call(h);
    assert.deepEqual([...u.shape], [1, 28, 28]);
  });
});

describe('errors name the layer and both shapes', () => {
  test('wrong input', () => {
    const conv = new nn.Conv2d(3, 8, 3, { name: 'c1' });
    throwsMatching(() => conv.forward(nt.zeros([2, 4, 5, 5])), ShapeError, /^Conv2d 'c1': expected input \[N, 3, H, W\] or \[3, H, W\], got \[2, 4, 5, 5\]$/);
    throwsMatching(() => conv.forward(nt.zeros([5, 5])), ShapeError, /Conv2d 'c1': expected input \[N, 3, H, W\] or \[3, H, W\], got \[5, 5\]/);
    throwsMatching(
      () => conv.forward(nt.zeros([1, 3, 2, 2])),
      ShapeError,
      /^Conv2d 'c1': input \[1, 3, 2, 2\] padded by \[0, 0\] is smaller than the kernel \[3, 3\]/,
    );
    throwsMatching(
      () => conv.forward(nt.zeros([1, 3, 5, 5], { dtype: 'float64' })),
      DTypeError,
      /Conv2d 'c1': input is float64 but the layer's parameters are float32/,
    );
    throwsMatching(() => new nn.Conv1d(2, 2, 3).forward(nt.zeros([1, 3, 5])), ShapeError, /^Conv1d: expected input \[N, 2, L\] or \[2, L\], got \[1, 3, 5\]$/);
    throwsMatching(
      () => new nn.ConvTranspose2d(3, 2, 3, { name: 'up' }).forward(nt.zeros([1, 2, 4, 4])),
      ShapeError,
      /ConvTranspose2d 'up': expected input \[N, 3, H, W\]/,
    );
    const lc = new nn.LocallyConnected2d(2, 3, [5, 4], 3, { name: 'lc' });
    throwsMatching(
      () => lc.forward(nt.zeros([1, 2, 5, 5])),
      ShapeError,
      /^LocallyConnected2d 'lc': expected input \[N, 2, 5, 4\] or \[2, 5, 4\], got \[1, 2, 5, 5\]$/,
    );
    throwsMatching(
      () => new nn.MaxPool2d(2, { name: 'p' }).forward(nt.zeros([4, 4])),
      ShapeError,
      /^MaxPool2d 'p': expected input \[N, C, H, W\] or \[C, H, W\], got \[4, 4\]$/,
    );
    throwsMatching(
      () => new nn.AvgPool2d(5).forward(nt.zeros([1, 1, 4, 4])),
      ShapeError,
      /^AvgPool2d: input \[1, 1, 4, 4\] padded by \[0, 0\] is smaller than the window \[5, 5\]/,
    );
    const [y, idx] = new nn.MaxPool2d(2).forwardWithIndices(nt.zeros([1, 1, 4, 4]));
    throwsMatching(
      () => new nn.MaxUnpool2d(2, { name: 'u' }).forward(y, idx.reshape([1, 4])),
      ShapeError,
      /MaxUnpool2d 'u': indices \[1, 4\] must have the input's shape \[1, 1, 2, 2\]/,
    );
  });

  test('bad hyper-parameters', () => {
    throwsMatching(() => new nn.Conv2d(3, 8, 3, { groups: 2 }), ValueError, /^Conv2d: groups 2 must divide inChannels \(3\) and outChannels \(8\)$/);
    throwsMatching(() => new nn.Conv2d(3, 8, 0), ValueError, /^Conv2d: kernelSize must be an integer >= 1 or 2 of them, got 0$/);
    throwsMatching(() => new nn.Conv2d(3, 8, 3, { stride: 2, padding: 'same' }), ValueError, /Conv2d: padding 'same' needs stride 1/);
    throwsMatching(
      () => new nn.Conv2d(3, 8, 3, { paddingMode: 'circular' as 'zeros' }),
      ValueError,
      /Conv2d: paddingMode must be 'zeros', 'reflect' or 'replicate', got "circular"/,
    );
    throwsMatching(
      () => new nn.ConvTranspose2d(3, 8, 3, { stride: 2, outputPadding: 2 }),
      ValueError,
      /ConvTranspose2d: outputPadding \(2, 2\) must be smaller than stride \(2, 2\) or dilation \(1, 1\)/,
    );
    throwsMatching(() => new nn.MaxPool2d(2, { padding: 2 }), ValueError, /^MaxPool2d: padding 2 must be at most half the kernel size 2$/);
    throwsMatching(() => new nn.AvgPool1d(2, { divisorOverride: 0 }), ValueError, /AvgPool1d: divisorOverride must be a positive integer, got 0/);
    throwsMatching(
      () => new nn.AdaptiveAvgPool2d([2, 0] as [number, number]),
      ValueError,
      /AdaptiveAvgPool2d: outputSize must be a positive integer or 2 of them/,
    );
    throwsMatching(() => new nn.LocallyConnected1d(1, 1, 3, 5), ValueError, /LocallyConnected1d: inputSize 3 padded by 0 is smaller than the kernel 5/);
  });
});

describe('save and load', () => {
  const layers = (): [nn.Module, Tensor][] => [
    [new nn.Conv2d(4, 6, [3, 2], { stride: [2, 1], padding: 'valid', dilation: [1, 2], groups: 2, bias: false, generator: gen(40) }), nt.rand([2, 4, 7, 6])],
    [new nn.Conv2d(2, 3, 3, { padding: 'same', paddingMode: 'reflect', generator: gen(41) }), nt.rand([1, 2, 5, 5])],
    [new nn.Conv1d(2, 4, 3, { stride: 2, padding: 1, dtype: 'float64', generator: gen(42) }), nt.rand([2, 2, 9], { dtype: 'float64' })],
    [new nn.ConvTranspose2d(4, 6, 3, { stride: 2, padding: 1, outputPadding: 1, groups: 2, generator: gen(43) }), nt.rand([1, 4, 3, 3])],
    [new nn.ConvTranspose1d(2, 3, 3, { stride: 2, generator: gen(44) }), nt.rand([1, 2, 4])],
    [new nn.LocallyConnected2d(2, 3, [5, 4], [2, 3], { stride: [2, 1], padding: [1, 0], generator: gen(45) }), nt.rand([2, 2, 5, 4])],
    [new nn.LocallyConnected1d(2, 3, 6, 2, { generator: gen(46) }), nt.rand([2, 2, 6])],
    [new nn.MaxPool2d([3, 2], { stride: [2, 1], padding: [1, 0], dilation: [1, 2], ceilMode: true }), nt.rand([1, 2, 7, 6])],
    [new nn.AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false, divisorOverride: 5 }), nt.rand([1, 2, 7, 6])],
    [new nn.AvgPool1d(2), nt.rand([1, 2, 7])],
    [new nn.MaxPool1d(3, { stride: 2, padding: 1 }), nt.rand([1, 2, 7])],
    [new nn.AdaptiveAvgPool2d([3, null]), nt.rand([1, 2, 7, 6])],
    [new nn.AdaptiveMaxPool1d(4), nt.rand([1, 2, 7])],
    [new nn.AdaptiveAvgPool1d(2), nt.rand([1, 2, 7])],
    [new nn.AdaptiveMaxPool2d(2), nt.rand([1, 2, 7, 6])],
    [new nn.GlobalAvgPool2d({ keepDims: true }), nt.rand([1, 2, 7, 6])],
    [new nn.GlobalMaxPool2d(), nt.rand([1, 2, 7, 6])],
    [new nn.GlobalAvgPool1d(), nt.rand([1, 2, 7])],
    [new nn.GlobalMaxPool1d({ keepDims: true }), nt.rand([1, 2, 7])],
  ];

  test('getConfig → JSON → registry factory → loadStateDict gives identical outputs', () => {
    for (const [layer, x] of layers()) {
      const spec = JSON.parse(JSON.stringify(nn.layerToSpec(layer)));
      const copy = nn.layerFromConfig(spec);
      assert.equal(copy.className, layer.className);
      assert.deepEqual(copy.getConfig(), layer.getConfig(), layer.className);
      copy.loadStateDict(layer.stateDict());
      assertClose(copy.forward(x) as Tensor, layer.forward(x) as Tensor, { atol: 0, rtol: 0, message: layer.className });
    }
  });

  test('MaxUnpool layers round-trip too', () => {
    for (const [layer, pool, x] of [
      [new nn.MaxUnpool2d([2, 3], { stride: [2, 2], padding: [0, 1] }), new nn.MaxPool2d([2, 3], { stride: 2, padding: [0, 1] }), nt.rand([1, 2, 6, 6])],
      [new nn.MaxUnpool1d(2), new nn.MaxPool1d(2), nt.rand([1, 2, 6])],
    ] as const) {
      const copy = nn.layerFromConfig(JSON.parse(JSON.stringify(nn.layerToSpec(layer))));
      const [y, idx] = pool.forwardWithIndices(x);
      // The pooled size alone does not determine the input size, so pass it (PyTorch's output_size).
      const unpooled = layer.forward(y, idx, x.shape);
      assert.deepEqual(unpooled.shape, x.shape);
      assertClose(copy.forward(y, idx, x.shape), unpooled, { atol: 0, rtol: 0 });
    }
  });

  test('a LeNet-5 Sequential round-trips as a whole', () => {
    const net = lenet(gen(47));
    const copy = nn.layerFromConfig(JSON.parse(JSON.stringify(nn.layerToSpec(net))));
    copy.loadStateDict(net.stateDict());
    const x = nt.rand([2, 1, 28, 28]);
    assertClose(copy.forward(x) as Tensor, net.forward(x), { atol: 0, rtol: 0 });
  });
});

function lenet(g: nt.Generator): nn.Sequential {
  return new nn.Sequential(
    new nn.Conv2d(1, 6, 5, { padding: 2, generator: g }),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(6, 16, 5, { generator: g }),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Flatten(),
    new nn.Linear(400, 120, { generator: g }),
    new nn.ReLU(),
    new nn.Linear(120, 84, { generator: g }),
    new nn.ReLU(),
    new nn.Linear(84, 10, { generator: g }),
  );
}

describe('convolutional networks', () => {
  test('LeNet-5: 61,706 parameters; forward + backward on a batch of 64', () => {
    const net = lenet(gen(48));
    // conv1 6·25 + 6, conv2 16·150 + 16, fc 400·120 + 120, 120·84 + 84, 84·10 + 10.
    assert.equal(net.countParameters(), 156 + 2416 + 48120 + 10164 + 850);
    const x = nt.rand([64, 1, 28, 28], { generator: gen(49) });
    const labels = nt.randint(0, 10, [64], { generator: gen(50) });
    const loss = new nn.CrossEntropyLoss();
    const step = () => {
      net.zeroGrad();
      loss.forward(net.forward(x), labels).backward();
    };
    step();
    const t0 = performance.now();
    step();
    step();
    const ms = (performance.now() - t0) / 2;
    console.log(`# LeNet-5 layers forward+backward, batch 64, backend ${nt.getBackend().name}: ${ms.toFixed(0)} ms`);
    assert.ok(net.parameters().every((p) => p.grad !== null));
  });

  test('a small CNN learns to tell horizontal from vertical bars', () => {
    // 6x6 images with one bright row (class 0) or column (class 1) plus noise.
    const g = gen(51);
    const n = 32;
    const images = nt.uniform([n, 1, 6, 6], 0, 0.3, { generator: g });
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      labels[i] = i % 2;
      const at = g.nextInt(6);
      for (let j = 0; j < 6; j++) images.data[i * 36 + (labels[i] === 0 ? at * 6 + j : j * 6 + at)] += 1;
    }
    const y = nt.tensor(labels);
    const net = new nn.Sequential(
      new nn.Conv2d(1, 4, 3, { generator: g }),
      new nn.ReLU(),
      new nn.AdaptiveMaxPool2d(2),
      new nn.Flatten(),
      new nn.Linear(16, 2, { generator: g }),
    );
    const loss = new nn.CrossEntropyLoss();
    const first = loss.forward(net.forward(images), y).item();
    let last = first;
    for (let step = 0; step < 60; step++) {
      net.zeroGrad();
      const l = loss.forward(net.forward(images), y);
      l.backward();
      last = l.item();
      nt.noGrad(() => {
        for (const p of net.parameters()) p.assign(p.sub((p.grad as Tensor).mul(0.5)));
      });
    }
    const predicted = net.forward(images).argmax(1);
    const correct = Array.from(predicted.data).filter((v, i) => v === labels[i]).length;
    assert.ok(last < first / 4, `loss ${first} -> ${last}`);
    assert.equal(correct, n);
  });
});
