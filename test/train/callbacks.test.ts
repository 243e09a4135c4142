import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Callback,
  EarlyStopping,
  fit,
  History,
  HistoryLogger,
  LRSchedulerCallback,
  ModelCheckpoint,
  nn,
  type OptimizerLike,
  optim,
  ProgressLogger,
  ReduceLROnPlateau,
  type Tensor,
  tensor,
  zeros,
} from '../../src/index.js';

const f64 = { dtype: 'float64' as const };

/** One scalar weight w; the model outputs w for every sample, so with target 3 the MSE loss is (w - 3)². */
class Scalar extends nn.Module {
  w = new nn.Parameter(zeros([1], f64));
  forward(x: Tensor): Tensor {
    return x.mul(0).add(this.w);
  }
}

/**
 * An optimizer that, at step s, evaluates the closure and then sets w to
 * script[s]: training and validation losses follow a script.
 */
function scripted(model: Scalar, script: number[]): OptimizerLike {
  let s = 0;
  return {
    paramGroups: [{ lr: 0.1 }],
    zeroGrad() {},
    step(closure?: () => Tensor) {
      closure?.();
      model.w.data[0] = script[s++];
    },
  };
}

const one = { x: tensor([[0]], f64), y: tensor([[3]], f64) };

/** Train `Scalar` for script.length epochs of one step; the validation loss of epoch e is (script[e] - 3)². */
async function scriptedRun(script: number[], callbacks: Callback[], epochs = script.length) {
  const model = new Scalar();
  const history = await fit(model, one, { loss: 'mse', optimizer: scripted(model, script), epochs, validationData: one, callbacks });
  return { model, history };
}

describe('EarlyStopping', () => {
  // w after each epoch: 1, 3.2, 2.5, 5 → valLoss 4, 0.04, 0.25, 4: the best epoch is 1.
  const script = [1, 3.2, 2.5, 5];

  it('restores the best weights when training reaches its last epoch without stopping', async () => {
    const es = new EarlyStopping({ patience: 10, restoreBestWeights: true });
    const { model, history } = await scriptedRun(script, [es]);
    assert.equal(history.length, 4);
    assert.equal(history.stopped, null);
    assert.equal(model.w.data[0], 3.2);
    assert.deepEqual(es.best, { value: (3.2 - 3) ** 2, epoch: 1 });
    assert.equal(es.stoppedEpoch, null);
  });

  it('stops after `patience` epochs without improvement and restores the best', async () => {
    const es = new EarlyStopping({ patience: 1, restoreBestWeights: true });
    const { model, history } = await scriptedRun(script, [es]);
    assert.deepEqual(history.epoch, [0, 1, 2]);
    assert.equal(history.stopped, 'callback');
    assert.match(history.stopMessage!, /^EarlyStopping: valLoss has not improved for 1 epoch \(patience 1\); best 0\.0400 at epoch 2$/);
    assert.equal(es.stoppedEpoch, 2);
    assert.equal(model.w.data[0], 3.2);
  });

  it('without restoreBestWeights the last weights stay; minDelta and mode are honoured', async () => {
    const { model } = await scriptedRun(script, [new EarlyStopping({ patience: 10 })]);
    assert.equal(model.w.data[0], 5);
    // Improvements must beat the best by more than 4: only the first epoch counts, so it stops at epoch 1.
    const strict = await scriptedRun(script, [new EarlyStopping({ patience: 1, minDelta: 4 })]);
    assert.equal(strict.history.length, 2);
    // mode 'max' on valLoss: epoch 0 (4) is the best; the drop to 0.04 is no improvement.
    const max = await scriptedRun(script, [new EarlyStopping({ patience: 1, mode: 'max', restoreBestWeights: true })]);
    assert.equal(max.history.length, 2);
    assert.equal(max.model.w.data[0], 1);
    // A baseline of 0.01 that no epoch beats: it stops once patience (2) runs out.
    const base = await scriptedRun(script, [new EarlyStopping({ patience: 2, baseline: 0.01 })]);
    assert.equal(base.history.length, 2);
    assert.match(base.history.stopMessage!, /has not improved for 2 epochs \(patience 2\); baseline 0\.0100 never beaten$/);
  });

  it('asks for validation data when monitoring a val key without it', async () => {
    const model = new Scalar();
    await assert.rejects(
      fit(model, one, { loss: 'mse', optimizer: scripted(model, [1]), callbacks: [new EarlyStopping()] }),
      /EarlyStopping: monitored key 'valLoss' is not in the epoch logs \(logged: loss, lr\); validation keys need validationData or validationSplit/,
    );
    assert.throws(() => new EarlyStopping({ patience: -1 }), /patience must be a non-negative integer, got -1/);
  });
});

describe('learning-rate callbacks', () => {
  it('ReduceLROnPlateau drops the rate after more than `patience` flat epochs', async () => {
    // valLoss 4, 4, 4, 4, 4: epoch 0 sets the best, epochs 1 and 2 are bad; 2 > patience 1 → lr 0.1 → 0.05
    // after epoch 2; epochs 3 and 4 are bad again → 0.025 after epoch 4. history.lr is the rate each epoch started with.
    const lines: string[] = [];
    const { history } = await scriptedRun([1, 1, 1, 1, 1], [new ReduceLROnPlateau({ patience: 1, factor: 0.5, log: (l) => lines.push(l) })]);
    assert.deepEqual(history.lr, [0.1, 0.1, 0.1, 0.05, 0.05]);
    assert.equal(lines.length, 2);
    assert.match(lines[0], /epoch 3: valLoss has plateaued; learning rate of group 0: 0\.1 -> 0\.05/);
    assert.throws(() => new ReduceLROnPlateau({ factor: 2 }), /ReduceLROnPlateau.*factor/);
  });

  it('LRSchedulerCallback steps an optim scheduler per epoch or per batch', async () => {
    const model = new nn.Linear(1, 1, f64);
    const opt = new optim.SGD(model.parameters(), { lr: 1 });
    const data = { x: tensor([[1], [2], [3], [4]], f64), y: tensor([[1], [2], [3], [4]], f64) };
    const perEpoch = await fit(model, data, {
      loss: 'mse',
      optimizer: opt,
      epochs: 3,
      batchSize: 2,
      callbacks: [new LRSchedulerCallback(new optim.StepLR(opt, { stepSize: 1, gamma: 0.5 }))],
    });
    assert.deepEqual(perEpoch.lr, [1, 0.5, 0.25]);
    const opt2 = new optim.SGD(model.parameters(), { lr: 1 });
    const perBatch = await fit(model, data, {
      loss: 'mse',
      optimizer: opt2,
      epochs: 2,
      batchSize: 2,
      callbacks: [new LRSchedulerCallback(new optim.StepLR(opt2, { stepSize: 1, gamma: 0.5 }), { interval: 'batch' })],
    });
    assert.deepEqual(perBatch.lr, [1, 0.25]);
  });
});

describe('ModelCheckpoint', () => {
  it('saves at each new best with saveBestOnly, awaiting async saves', async () => {
    const saved: [number, number][] = [];
    const save = async (m: nn.Module, epoch: number) => {
      await new Promise((r) => setTimeout(r, 1));
      saved.push([epoch, (m as Scalar).w.data[0]]);
    };
    // valLoss 4, 0.04, 0.25, 4, 0.01: bests at epochs 0, 1 and 4.
    await scriptedRun([1, 3.2, 2.5, 5, 2.9], [new ModelCheckpoint({ save, saveBestOnly: true })]);
    assert.deepEqual(saved, [
      [0, 1],
      [1, 3.2],
      [4, 2.9],
    ]);
  });

  it('saves every n epochs and at the last one', async () => {
    const epochs: number[] = [];
    await scriptedRun([1, 2, 3, 4, 5], [new ModelCheckpoint({ save: (_m, e) => void epochs.push(e), every: 2 })]);
    assert.deepEqual(epochs, [1, 3, 4]);
    assert.throws(() => new ModelCheckpoint({} as never), /options.save must be a function/);
  });
});

describe('loggers', () => {
  it('ProgressLogger prints one line per epoch', async () => {
    const lines: string[] = [];
    await scriptedRun([1, 3], [new ProgressLogger({ log: (l) => lines.push(l) })]);
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^Epoch 1\/2 - \d+ms - loss: 9\.0000 - valLoss: 4\.0000 - lr: 0\.1000$/);
    assert.match(lines[1], /^Epoch 2\/2 - \d+ms - loss: 4\.0000 - valLoss: 0\.0000 - lr: 0\.1000$/);
  });

  it('fit verbose uses a ProgressLogger, every=n thins it', async () => {
    const lines: string[] = [];
    const model = new Scalar();
    await fit(model, one, { loss: 'mse', optimizer: scripted(model, [1, 2, 3]), epochs: 3, verbose: 1, log: (l) => lines.push(l) });
    assert.equal(lines.length, 3);
    const thin: string[] = [];
    await scriptedRun([1, 2, 3, 4, 5, 6], [new ProgressLogger({ log: (l) => thin.push(l), every: 4 })]);
    assert.deepEqual(
      thin.map((l) => l.split(' - ')[0]),
      ['Epoch 1/6', 'Epoch 4/6', 'Epoch 6/6'],
    );
  });

  it('HistoryLogger writes the history as CSV or JSON after every epoch', async () => {
    const csv: string[] = [];
    const json: string[] = [];
    await scriptedRun([1, 3], [new HistoryLogger({ write: (t) => void csv.push(t) }), new HistoryLogger({ write: (t) => void json.push(t), format: 'json' })]);
    assert.equal(csv.length, 2);
    assert.equal(csv[1], 'epoch,loss,valLoss,lr\n0,9,4,0.1\n1,4,0,0.1\n');
    const parsed = JSON.parse(json[1]);
    assert.deepEqual(parsed.series, { loss: [9, 4], valLoss: [4, 0], lr: [0.1, 0.1] });
    assert.deepEqual(parsed.epoch, [0, 1]);
  });
});

describe('callback protocol', () => {
  it('calls the hooks in order with 0-based epochs and batches', async () => {
    const events: string[] = [];
    const probe: Callback = {
      onTrainBegin: () => void events.push('trainBegin'),
      onEpochBegin: (e) => void events.push(`epochBegin ${e}`),
      onBatchBegin: (b) => void events.push(`batchBegin ${b}`),
      onBeforeOptimizerStep: (b, logs) => void events.push(`beforeStep ${b} ${logs.size}`),
      onBatchEnd: (b, _l, ctx) => void events.push(`batchEnd ${b} step ${ctx.step}`),
      onEpochEnd: (e, logs, ctx) => void events.push(`epochEnd ${e} recorded ${ctx.history.length} ${Object.keys(logs).join(',')}`),
      onTrainEnd: (h) => void events.push(`trainEnd ${h.length}`),
    };
    const model = new nn.Linear(1, 1, f64);
    const data = { x: tensor([[1], [2], [3]], f64), y: tensor([[1], [2], [3]], f64) };
    await fit(model, data, { loss: 'mse', optimizer: (p) => new optim.SGD(p), epochs: 2, batchSize: 2, shuffle: false, callbacks: [probe] });
    assert.deepEqual(events, [
      'trainBegin',
      'epochBegin 0',
      'batchBegin 0',
      'beforeStep 0 2',
      'batchEnd 0 step 1',
      'batchBegin 1',
      'beforeStep 1 1',
      'batchEnd 1 step 2',
      'epochEnd 0 recorded 1 loss,lr',
      'epochBegin 1',
      'batchBegin 0',
      'beforeStep 0 2',
      'batchEnd 0 step 3',
      'batchBegin 1',
      'beforeStep 1 1',
      'batchEnd 1 step 4',
      'epochEnd 1 recorded 2 loss,lr',
      'trainEnd 2',
    ]);
  });

  it('a stop requested mid-epoch ends training after that batch without recording the partial epoch', async () => {
    const model = new nn.Linear(1, 1, f64);
    const data = { x: tensor([[1], [2], [3], [4]], f64), y: tensor([[1], [2], [3], [4]], f64) };
    const history = await fit(model, data, {
      loss: 'mse',
      optimizer: (p) => new optim.SGD(p),
      epochs: 5,
      batchSize: 1,
      callbacks: [{ onBatchEnd: (b, _l, ctx) => (ctx.epoch === 1 && b === 1 ? ctx.stopTraining('enough') : undefined) }],
    });
    assert.deepEqual(history.epoch, [0]);
    assert.equal(history.stopped, 'callback');
    assert.equal(history.stopMessage, 'enough');
  });
});

describe('History', () => {
  it('aligns keys that appear late with NaN and exports CSV and JSON', () => {
    const h = new History();
    h.record(0, { loss: 1 });
    h.record(1, { loss: 0.5, valLoss: Number.NaN, extra: 2 });
    assert.deepEqual(h.series, { loss: [1, 0.5], valLoss: [Number.NaN, Number.NaN], extra: [Number.NaN, 2] });
    assert.equal(h.toCSV(), 'epoch,loss,valLoss,extra\n0,1,NaN,NaN\n1,0.5,NaN,2\n');
    assert.deepEqual(h.toJSON().series.extra, [null, 2]);
    assert.deepEqual(h.logsAt(1), { loss: 0.5, valLoss: Number.NaN, extra: 2 });
    assert.throws(() => h.get('accuracy'), /no series 'accuracy'; logged: loss, valLoss, extra/);
  });
});
