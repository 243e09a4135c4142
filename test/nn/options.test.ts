// Layer arguments are declared once (nn/options.ts): the same declaration
// checks a constructor's options, produces getConfig(), and rebuilds the layer
// from an architecture file. These tests pin the properties that follow.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Generator, nn, optim, randn, seed, UnknownOptionError, ValueError } from '../../src/index.js';

/** One instance of every built-in layer class that takes arguments, built with non-default options. */
function samples(): nn.Module[] {
  return [
    new nn.Linear(3, 4, { bias: false, dtype: 'float64' }),
    new nn.Conv1d(2, 4, 3, { stride: 2, padding: 1, groups: 2 }),
    new nn.Conv2d(2, 4, [3, 1], { padding: 'same', paddingMode: 'reflect', bias: false }),
    new nn.ConvTranspose1d(2, 3, 3, { stride: 2, outputPadding: 1 }),
    new nn.ConvTranspose2d(2, 3, 2, { dilation: [2, 1] }),
    new nn.MaxPool1d(3, { stride: 1, padding: 1, dilation: 2 }),
    new nn.MaxPool2d(2, { ceilMode: true }),
    new nn.AvgPool1d(2, { countIncludePad: false }),
    new nn.AvgPool2d([2, 3], { divisorOverride: 5 }),
    new nn.MaxUnpool2d(2),
    new nn.AdaptiveAvgPool2d([3, null]),
    new nn.GlobalMaxPool1d({ keepDims: true }),
    new nn.Dropout(0.3),
    new nn.AlphaDropout(0.2),
    new nn.Embedding(10, 4, { paddingIdx: 0 }),
    new nn.BatchNorm1d(4, { momentum: null, affine: false }),
    new nn.BatchNorm2d(3, { eps: 1e-3 }),
    new nn.LayerNorm([2, 3], { elementwiseAffine: true, bias: false }),
    new nn.LocallyConnected1d(2, 3, 8, 3, { stride: 2 }),
    new nn.LocallyConnected2d(1, 2, [6, 5], 3, { padding: 1 }),
    new nn.RNN(3, 4, { nonlinearity: 'relu', numLayers: 2, bidirectional: true }),
    new nn.LSTM(3, 4, { batchFirst: true, peephole: true }),
    new nn.GRU(3, 4, { dropout: 0.5, numLayers: 2 }),
    new nn.RNNCell(3, 4, { nonlinearity: 'relu' }),
    new nn.LSTMCell(3, 4, { bias: false }),
    new nn.GRUCell(3, 4),
    new nn.ConvLSTM2d(2, 3, [3, 1], { batchFirst: false }),
    new nn.Flatten({ startAxis: 2 }),
    new nn.Reshape([2, -1]),
    new nn.Concatenate({ axis: 1 }),
    new nn.RecurrentOutput('sequence'),
    new nn.PReLU({ numParameters: 3, init: 0.1 }),
    new nn.Maxout(2, { axis: -1 }),
    new nn.RBF(3, 5),
    new nn.LeakyReLU({ negativeSlope: 0.2 }),
    new nn.Hardtanh({ minVal: -2, maxVal: 3 }),
    new nn.Softmax({ axis: 1 }),
    new nn.GELU({ approximate: 'tanh' }),
  ];
}

describe('layer options declared once', () => {
  test('getConfig → JSON → registry rebuilds a layer with the same config, for every layer class', () => {
    for (const layer of samples()) {
      const spec = JSON.parse(JSON.stringify(nn.layerToSpec(layer)));
      const rebuilt = nn.layerFromConfig(spec);
      assert.equal(rebuilt.className, layer.className);
      assert.deepEqual(rebuilt.getConfig(), layer.getConfig(), layer.className);
      // The rebuilt layer is an instance of the public class (table entries included).
      assert.equal(rebuilt.constructor, layer.constructor, layer.className);
    }
  });

  test('an unknown option is refused with an UnknownOptionError naming it and the accepted ones', () => {
    // `kernel` for kernelSize: a typo that used to be ignored.
    assert.throws(
      () => new nn.Conv2d(3, 4, 3, { kernel: 5 } as never),
      (e: unknown) =>
        e instanceof UnknownOptionError &&
        e.option === 'kernel' &&
        e.accepted.includes('stride') &&
        /^Conv2d: unknown option 'kernel'; expected one of stride, padding, dilation, groups, bias, paddingMode, dtype$/.test(e.message),
    );
    assert.throws(() => new nn.ReLU({ slope: 1 } as never), { name: 'UnknownOptionError', message: "ReLU: unknown option 'slope'; it takes no options" });
    assert.throws(() => new nn.LSTM(3, 4, { batch_first: true } as never), UnknownOptionError);
    assert.throws(() => new nn.MSELoss({ reduce: 'sum' } as never), UnknownOptionError);
    // An UnknownOptionError is a ValueError, so existing handlers still catch it.
    assert.throws(() => new nn.Dropout(0.5, { rate: 0.1 } as never), ValueError);
  });

  test('options a layer takes but does not save (name, generator, initializers) are accepted', () => {
    seed(1);
    const a = new nn.Linear(2, 2, { name: 'fc', weightInit: 0.5, biasInit: 0, generator: new Generator(1) });
    assert.equal(a.label, "Linear 'fc'");
    assert.deepEqual(a.getConfig(), { inFeatures: 2, outFeatures: 2, bias: true, dtype: 'float32' });
  });

  test('checks run the same way from code and from a config file', () => {
    assert.throws(() => new nn.Linear(0, 3), { message: 'Linear: inFeatures must be a positive integer, got 0' });
    assert.throws(() => nn.layerFromConfig({ className: 'Linear', config: { inFeatures: 0, outFeatures: 3 } }), {
      message: 'Linear: inFeatures must be a positive integer, got 0',
    });
    assert.throws(() => nn.layerFromConfig({ className: 'LSTM', config: { inputSize: 3 } }), {
      message: 'LSTM: hiddenSize must be a positive integer, got undefined',
    });
  });

  test('table entries are classes with string names, configs and their options as fields', () => {
    const act = new nn.LeakyReLU({ negativeSlope: 0.3 });
    assert.equal(nn.LeakyReLU.className, 'LeakyReLU');
    assert.equal(act.negativeSlope, 0.3);
    assert.ok(act instanceof nn.Activation);
    const loss = new nn.HuberLoss({ delta: 2, reduction: 'sum' });
    assert.equal(loss.delta, 2);
    assert.deepEqual(loss.getConfig(), { reduction: 'sum', delta: 2 });
    const pool = new nn.GlobalAvgPool2d({ keepDims: true });
    assert.equal(pool.keepDims, true);
    assert.deepEqual([...pool.forward(randn([2, 3, 4, 4])).shape], [2, 3, 1, 1]);
  });

  test('every optimizer and scheduler names itself with a string literal; a subclass without one is refused', () => {
    const p = [randn([2], { requiresGrad: true })];
    class Nameless extends optim.SGD {}
    // It inherits SGD's className, so it is accepted under that name.
    assert.equal(new Nameless(p).className, 'SGD');
    class Bare extends optim.Optimizer {
      protected checkHyper(): void {}
      protected updateGroup(): void {}
      constructor() {
        super(p, { lr: 1 }, {});
      }
    }
    assert.throws(() => new Bare(), { name: 'ValueError', message: /a subclass must declare its name as a string literal/ });
  });
});
