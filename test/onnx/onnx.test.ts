// ONNX export checked by onnxruntime-node (the reference runtime) on the
// exported file, layer by layer and on the presets; import checked by round
// trips and on files PyTorch exported (tools/gen_onnx_fixtures.py); bad
// files give an OnnxError, never a crash or a hang.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fit, fromOnnx, models, nn, OnnxError, optim, randn, seed, type Tensor, tensor, toOnnx } from '../../src/index.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

interface Ort {
  InferenceSession: {
    create(bytes: Uint8Array): Promise<{
      inputNames: string[];
      outputNames: string[];
      run(feeds: Record<string, unknown>): Promise<Record<string, { data: ArrayLike<number | bigint>; dims: readonly number[] }>>;
    }>;
  };
  Tensor: new (type: string, data: unknown, dims: readonly number[]) => unknown;
}

/** onnxruntime-node from test/peers (installed by .ci/run) or bench/peers (npm run bench:setup). */
function loadOrt(): Ort | null {
  for (const dir of ['test/peers', 'bench/peers']) {
    const manifest = join(ROOT, dir, 'package.json');
    if (!existsSync(join(ROOT, dir, 'node_modules', 'onnxruntime-node'))) continue;
    return createRequire(manifest)('onnxruntime-node') as Ort;
  }
  return null;
}
const ort = loadOrt();
const SKIP = ort ? false : 'onnxruntime-node is not installed; enable with: ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix test/peers';
if (!ort) console.log(`# ONNX runtime checks skipped: ${SKIP}`);

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'output sizes');
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** Run the exported file in onnxruntime and compare with neurite's own forward pass (eval mode). */
async function checkWithOrt(name: string, model: nn.Module, x: Tensor, tolerance = 1e-5): Promise<void> {
  model.eval();
  const bytes = toOnnx(model, { inputShape: x.shape.slice(1) });
  const session = await (ort as Ort).InferenceSession.create(bytes);
  const feed =
    x.dtype === 'int32'
      ? new (ort as Ort).Tensor('int32', Int32Array.from(x.data as Int32Array), x.shape)
      : new (ort as Ort).Tensor(
          x.dtype === 'float64' ? 'float64' : 'float32',
          x.dtype === 'float64' ? Float64Array.from(x.data as Float64Array) : Float32Array.from(x.data as Float32Array),
          x.shape,
        );
  const result = await session.run({ [session.inputNames[0]]: feed });
  const got = result[session.outputNames[0]];
  const want = model.forward(x) as Tensor;
  assert.deepEqual([...got.dims], want.shape, `${name}: output shape`);
  const d = maxDiff(Array.from(got.data, Number), want.data as ArrayLike<number>);
  assert.ok(d <= tolerance * Math.max(1, ...Array.from(want.data as ArrayLike<number>, Math.abs)), `${name}: neurite and onnxruntime differ by ${d}`);
}

/** A BatchNorm with running statistics that are not the defaults, so that the export of them is tested. */
function trainedBatchNorm<M extends nn.Module>(layer: M, x: Tensor): M {
  layer.train();
  for (let i = 0; i < 3; i++) layer.forward(x.mul(1 + i).add(i));
  return layer;
}

const LAYERS: [string, () => nn.Module, number[]][] = [
  ['Linear on vectors', () => new nn.Linear(6, 4), [6]],
  ['Linear on sequences (MatMul)', () => new nn.Linear(6, 4), [3, 6]],
  ['Linear without bias', () => new nn.Linear(6, 4, { bias: false }), [6]],
  ['Conv1d', () => new nn.Conv1d(3, 4, 3, { stride: 2, padding: 1 }), [3, 11]],
  ['Conv2d stride, padding, dilation', () => new nn.Conv2d(3, 4, 3, { stride: 2, padding: 2, dilation: 2 }), [3, 9, 9]],
  ['Conv2d groups, same padding', () => new nn.Conv2d(4, 6, [3, 5], { groups: 2, padding: 'same' }), [4, 7, 8]],
  ['ConvTranspose1d', () => new nn.ConvTranspose1d(3, 2, 3, { stride: 2, padding: 1, outputPadding: 1 }), [3, 5]],
  ['ConvTranspose2d', () => new nn.ConvTranspose2d(3, 2, 3, { stride: 2, padding: 1 }), [3, 4, 5]],
  ['MaxPool1d', () => new nn.MaxPool1d(3, { stride: 2 }), [2, 9]],
  ['MaxPool2d ceil mode, padding', () => new nn.MaxPool2d(3, { stride: 2, padding: 1, ceilMode: true }), [2, 8, 7]],
  ['AvgPool1d', () => new nn.AvgPool1d(2), [2, 8]],
  ['AvgPool2d without padding in the count', () => new nn.AvgPool2d(3, { stride: 2, padding: 1, countIncludePad: false }), [2, 7, 7]],
  ['AvgPool2d with padding in the count', () => new nn.AvgPool2d(3, { stride: 2, padding: 1 }), [2, 7, 7]],
  ['AdaptiveAvgPool2d to 1', () => new nn.AdaptiveAvgPool2d(1), [3, 5, 6]],
  ['AdaptiveAvgPool2d to 2×3', () => new nn.AdaptiveAvgPool2d([2, 3]), [3, 4, 6]],
  ['AdaptiveMaxPool1d', () => new nn.AdaptiveMaxPool1d(2), [3, 8]],
  ['GlobalAvgPool2d', () => new nn.GlobalAvgPool2d(), [3, 4, 5]],
  ['GlobalMaxPool1d', () => new nn.GlobalMaxPool1d(), [3, 6]],
  ['BatchNorm1d on features', () => trainedBatchNorm(new nn.BatchNorm1d(5), randn([8, 5])), [5]],
  ['BatchNorm2d', () => trainedBatchNorm(new nn.BatchNorm2d(3), randn([4, 3, 5, 5])), [3, 5, 5]],
  ['BatchNorm2d without affine', () => trainedBatchNorm(new nn.BatchNorm2d(3, { affine: false }), randn([4, 3, 2, 2])), [3, 2, 2]],
  ['LayerNorm', () => new nn.LayerNorm([4, 5]), [3, 4, 5]],
  ['ReLU', () => new nn.ReLU(), [7]],
  ['Sigmoid', () => new nn.Sigmoid(), [7]],
  ['Tanh', () => new nn.Tanh(), [7]],
  ['Softsign', () => new nn.Softsign(), [7]],
  ['Abs', () => new nn.Abs(), [7]],
  ['SELU', () => new nn.SELU(), [7]],
  ['Hardswish', () => new nn.Hardswish(), [7]],
  ['Hardsigmoid', () => new nn.Hardsigmoid(), [7]],
  ['LeakyReLU', () => new nn.LeakyReLU({ negativeSlope: 0.2 }), [7]],
  ['ELU', () => new nn.ELU({ alpha: 0.7 }), [7]],
  ['Softmax', () => new nn.Softmax(), [3, 7]],
  ['LogSoftmax on axis 1', () => new nn.LogSoftmax({ axis: 1 }), [3, 7]],
  ['Hardtanh', () => new nn.Hardtanh({ minVal: -0.5, maxVal: 0.8 }), [7]],
  ['ReLU6', () => new nn.ReLU6(), [7]],
  ['Satlin (Hagan)', () => new nn.Satlin(), [7]],
  ['Hardlim (Hagan)', () => new nn.Hardlim(), [7]],
  ['Hardlims (Hagan)', () => new nn.Hardlims(), [7]],
  ['Compet (Hagan)', () => new nn.Compet(), [3, 7]],
  ['Softplus', () => new nn.Softplus(), [7]],
  ['Softplus with beta', () => new nn.Softplus({ beta: 2 }), [7]],
  ['GELU', () => new nn.GELU(), [7]],
  ['GELU tanh', () => new nn.GELU({ approximate: 'tanh' }), [7]],
  ['SiLU', () => new nn.SiLU(), [7]],
  ['Mish', () => new nn.Mish(), [7]],
  ['LogSigmoid', () => new nn.LogSigmoid(), [7]],
  ['Tanhshrink', () => new nn.Tanhshrink(), [7]],
  ['PReLU per channel', () => new nn.PReLU({ numParameters: 3, init: 0.3 }), [3, 4, 4]],
  ['Dropout (eval)', () => new nn.Dropout(0.5), [7]],
  ['LocallyConnected1d', () => new nn.LocallyConnected1d(2, 3, 9, 3, { stride: 2, padding: 1 }), [2, 9]],
  ['LocallyConnected2d', () => new nn.LocallyConnected2d(2, 3, [5, 6], 3, { stride: 2, padding: 1, dilation: 1 }), [2, 5, 6]],
  ['LocallyConnected2d dilated, no bias', () => new nn.LocallyConnected2d(2, 3, [7, 7], [2, 3], { dilation: 2, bias: false }), [2, 7, 7]],
  ['Flatten of middle axes', () => new nn.Flatten({ startAxis: 1, endAxis: 2 }), [2, 3, 4]],
  ['Reshape', () => new nn.Reshape([4, 3]), [2, 6]],
];

describe('ONNX export, checked by onnxruntime-node', { skip: SKIP }, () => {
  for (const [name, make, shape] of LAYERS) {
    it(name, async () => {
      seed(11);
      const layer = make();
      // Values around the kinks of the hard limits are avoided: both sides agree there only by convention.
      await checkWithOrt(name, new nn.Sequential(layer), randn([3, ...shape]).add(0.05));
    });
  }

  it('Embedding: integer indices in, rows out', async () => {
    seed(2);
    await checkWithOrt('Embedding', new nn.Sequential(new nn.Embedding(10, 4)), tensor(new Int32Array([1, 9, 0, 3, 3, 7]), { shape: [2, 3] }));
  });

  it('recurrent layers: LSTM, GRU and RNN, stacked, bidirectional, batch-first or time-major, final state or sequence', async () => {
    seed(8);
    const cases: [string, nn.Module, number[]][] = [
      ['LSTM final state', new nn.Sequential(new nn.LSTM(5, 6, { batchFirst: true }), new nn.RecurrentOutput(), new nn.Linear(6, 3)), [7, 5]],
      [
        'LSTM 2 layers, bidirectional, time-major sequence',
        new nn.Sequential(new nn.LSTM(5, 4, { bidirectional: true, numLayers: 2 }), new nn.RecurrentOutput('sequence')),
        [2, 5],
      ],
      ['LSTM without bias', new nn.Sequential(new nn.LSTM(5, 4, { batchFirst: true, bias: false }), new nn.RecurrentOutput()), [6, 5]],
      [
        'GRU 2 layers, bidirectional, final state',
        new nn.Sequential(new nn.GRU(5, 6, { batchFirst: true, bidirectional: true, numLayers: 2 }), new nn.RecurrentOutput()),
        [7, 5],
      ],
      ['GRU sequence', new nn.Sequential(new nn.GRU(5, 6, { batchFirst: true }), new nn.RecurrentOutput('sequence')), [4, 5]],
      ['RNN tanh, bidirectional', new nn.Sequential(new nn.RNN(5, 4, { batchFirst: true, bidirectional: true }), new nn.RecurrentOutput()), [6, 5]],
      ['RNN relu', new nn.Sequential(new nn.RNN(5, 4, { batchFirst: true, nonlinearity: 'relu' }), new nn.RecurrentOutput()), [6, 5]],
    ];
    for (const [name, model, shape] of cases) await checkWithOrt(name, model, randn([3, ...shape]));
  });

  it('merges in a graph model: Add, Multiply, Concatenate', async () => {
    seed(3);
    const x = nn.input([6]);
    const a = new nn.Linear(6, 4).call(x);
    const b = new nn.Tanh().call(new nn.Linear(6, 4).call(x));
    const sum = new nn.Add().call(a, b, a);
    const product = new nn.Multiply().call(a, b);
    const model = new nn.Model({ inputs: x, outputs: new nn.Concatenate().call(sum, product) });
    await checkWithOrt('merges', model, randn([5, 6]));
  });

  it('the lenet5, mlp and lstm presets, a dynamic batch, and ResNet-18 through its graph()', async () => {
    seed(4);
    await checkWithOrt(
      'lstm',
      new nn.Sequential(new nn.LSTM(28, 128, { batchFirst: true }), new nn.RecurrentOutput(), new nn.Linear(128, 10)),
      randn([3, 28, 28]),
    );
    await checkWithOrt('lenet5', models.lenet5(), randn([3, 1, 28, 28]));
    await checkWithOrt('lenet5 batch 1', models.lenet5(), randn([1, 1, 28, 28]));
    await checkWithOrt('mlp', new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 10)), randn([4, 784]));
    const resnet = models.resnet18({ numClasses: 7 });
    trainedBatchNorm(resnet, randn([2, 3, 32, 32]));
    await checkWithOrt('resnet18', resnet, randn([2, 3, 32, 32]), 1e-4);
  });
});

describe('ONNX export: what it refuses, and how the file is laid out', () => {
  it('names a layer that has no ONNX form, and asks a Sequential for its input shape', () => {
    assert.throws(
      () => toOnnx(new nn.Sequential(new nn.LSTM(4, 3, { peephole: true, batchFirst: true }), new nn.RecurrentOutput()), { inputShape: [2, 4] }),
      (e) => e instanceof OnnxError && /LSTM.*cannot be exported: peephole/.test(e.message),
    );
    assert.throws(
      () => toOnnx(new nn.Sequential(new nn.RBF(4, 3)), { inputShape: [4] }),
      (e) => e instanceof OnnxError && /RBF.*no ONNX form/.test(e.message),
    );
    assert.throws(
      () => toOnnx(new nn.Sequential(new nn.Linear(2, 2))),
      (e) => e instanceof OnnxError && /needs inputShape/.test(e.message),
    );
    assert.throws(
      () => toOnnx(new nn.Sequential(new nn.Conv2d(1, 1, 3, { paddingMode: 'reflect', padding: 1 })), { inputShape: [1, 5, 5] }),
      (e) => e instanceof OnnxError && /paddingMode 'reflect'/.test(e.message),
    );
  });

  it('keeps the state-dict names and a symbolic batch axis, and leaves the model in the mode it was in', () => {
    const model = models.lenet5();
    model.train();
    const bytes = toOnnx(model, { inputShape: [1, 28, 28] });
    assert.ok(model.training);
    const back = fromOnnx(bytes);
    assert.deepEqual([...back.stateDict().keys()].sort(), [...model.stateDict().keys()].sort());
    assert.deepEqual(back.inputShapes, [[1, 28, 28]]);
  });
});

describe('ONNX import', () => {
  it('round trip: neurite → ONNX → neurite predicts the same, bit for bit', () => {
    seed(5);
    const x = nn.input([3, 16, 16]);
    const bn = trainedBatchNorm(new nn.BatchNorm2d(4), randn([2, 4, 16, 16]));
    let h = new nn.ReLU().call(bn.call(new nn.Conv2d(3, 4, 3, { padding: 1 }).call(x)) as nn.SymbolicTensor);
    const branch = new nn.Conv2d(4, 4, 1).call(h);
    h = new nn.Concatenate({ axis: 1 }).call(h, new nn.Sigmoid().call(branch));
    h = new nn.Flatten().call(new nn.AdaptiveAvgPool2d(1).call(new nn.MaxPool2d(2).call(h)) as nn.SymbolicTensor);
    const model = new nn.Model({ inputs: x, outputs: new nn.Linear(8, 3).call(h) });
    model.eval();
    const back = fromOnnx(toOnnx(model));
    const input = randn([2, 3, 16, 16]);
    assert.deepEqual(Array.from((back.forward(input) as Tensor).data), Array.from((model.forward(input) as Tensor).data));
    const resnet = models.resnet18({ numClasses: 4 });
    resnet.eval();
    const r = fromOnnx(toOnnx(resnet, { inputShape: [3, 32, 32] }));
    const y = randn([1, 3, 32, 32]);
    assert.deepEqual(Array.from((r.forward(y) as Tensor).data), Array.from((resnet.forward(y) as Tensor).data));
    assert.ok(r.stateDict().has('layer4/1/conv2.weight'), 'layer4.1.conv2.weight in the file is layer4/1/conv2 here');
  });

  it('every exported layer reads back as a model that predicts the same, bit for bit', () => {
    for (const [name, make, shape] of LAYERS) {
      seed(11);
      const model = new nn.Sequential(make());
      model.eval();
      const back = fromOnnx(toOnnx(model, { inputShape: shape }));
      const x = randn([3, ...shape]).add(0.05);
      assert.deepEqual(Array.from((back.forward(x) as Tensor).data), Array.from((model.forward(x) as Tensor).data), name);
    }
  });

  it('round trip of recurrent models: stacked, bidirectional LSTM, GRU and RNN come back as the same layers', () => {
    seed(9);
    const cases: [nn.Sequential, number[]][] = [
      [new nn.Sequential(new nn.LSTM(28, 16, { batchFirst: true }), new nn.RecurrentOutput(), new nn.Linear(16, 10)), [28, 28]],
      [new nn.Sequential(new nn.GRU(5, 6, { batchFirst: true, bidirectional: true, numLayers: 2 }), new nn.RecurrentOutput('sequence')), [7, 5]],
      [new nn.Sequential(new nn.LSTM(5, 4, { batchFirst: true, bias: false, bidirectional: true }), new nn.RecurrentOutput()), [6, 5]],
      [new nn.Sequential(new nn.RNN(5, 4, { batchFirst: true, nonlinearity: 'relu', numLayers: 2 }), new nn.RecurrentOutput()), [6, 5]],
    ];
    for (const [model, shape] of cases) {
      model.eval();
      const back = fromOnnx(toOnnx(model, { inputShape: shape }));
      const x = randn([3, ...shape]);
      assert.deepEqual(Array.from((back.forward(x) as Tensor).data), Array.from((model.forward(x) as Tensor).data));
    }
    // The LSTM preset's file reads back with the LSTM under its Sequential index.
    const lstm = fromOnnx(toOnnx(cases[0][0], { inputShape: [28, 28] }));
    assert.ok(lstm.stateDict().has('0.0.weight_ih_l0'), [...lstm.stateDict().keys()].join(', '));
  });

  it('imported models fine-tune: fit lowers the loss of a neurite export and of a PyTorch export', async () => {
    seed(6);
    const pytorch = fromOnnx(readFileSync(join(ROOT, 'test', 'fixtures', 'onnx', 'mlp.onnx')));
    const ours = fromOnnx(toOnnx(new nn.Sequential(new nn.Linear(8, 16), new nn.Tanh(), new nn.Linear(16, 3)), { inputShape: [8] }));
    const x = randn([96, 8]);
    const y = tensor(
      Int32Array.from({ length: 96 }, (_, i) => ((x.data[8 * i] as number) > 0.5 ? 2 : (x.data[8 * i] as number) > -0.5 ? 1 : 0)),
      { shape: [96] },
    );
    for (const model of [pytorch, ours]) {
      const history = await fit(
        model,
        { x, y },
        { loss: 'crossEntropy', optimizer: new optim.Adam(model.parameters(), { lr: 0.02 }), epochs: 20, batchSize: 16, verbose: false },
      );
      const losses = history.get('loss');
      assert.ok((losses.at(-1) as number) < losses[0] * 0.6, `${losses[0]} → ${losses.at(-1)}`);
      assert.ok(!model.training, 'fit leaves it in eval mode');
    }
  });

  it('PyTorch-exported files give PyTorch’s outputs (tools/gen_onnx_fixtures.py)', () => {
    const dir = join(ROOT, 'test', 'fixtures', 'onnx');
    const cases = readdirSync(dir).filter((f) => f.endsWith('.json'));
    assert.ok(cases.length >= 3, 'the fixtures are committed');
    for (const file of cases) {
      const c = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { onnx: string; input: number[]; inputShape: number[]; output: number[] };
      const model = fromOnnx(readFileSync(join(dir, c.onnx)));
      const out = model.forward(tensor(Float32Array.from(c.input), { shape: c.inputShape })) as Tensor;
      const d = maxDiff(out.data as ArrayLike<number>, c.output);
      assert.ok(d < 1e-5, `${file}: differs from PyTorch by ${d}`);
    }
  });

  it('truncated and corrupted files are an OnnxError, never a crash or a hang', () => {
    seed(7);
    const bytes = toOnnx(models.lenet5(), { inputShape: [1, 28, 28] });
    let rejected = 0;
    for (const cut of [0, 1, 7, 100, 1000, bytes.length >> 1, bytes.length - 1]) {
      try {
        fromOnnx(bytes.subarray(0, cut));
      } catch (e) {
        assert.ok(e instanceof OnnxError, `cut at ${cut}: ${(e as Error).name}: ${(e as Error).message}`);
        rejected++;
      }
    }
    assert.ok(rejected >= 6);
    let state = 12345;
    const random = () => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state / 2147483648;
    };
    for (let trial = 0; trial < 200; trial++) {
      const copy = Uint8Array.from(bytes.subarray(0, 4000));
      for (let k = 0; k < 4; k++) copy[Math.floor(random() * copy.length)] = Math.floor(random() * 256);
      try {
        fromOnnx(copy);
      } catch (e) {
        assert.ok(e instanceof OnnxError, `trial ${trial}: ${(e as Error).name}: ${(e as Error).message}`);
      }
    }
    assert.throws(() => fromOnnx(new TextEncoder().encode('{"not": "onnx"}')), OnnxError);
  });
});
