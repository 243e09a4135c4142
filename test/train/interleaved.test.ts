// The mode belongs to each batch of each call: predict or evaluate running
// while fit trains the same model (interleaved at their awaits) runs in
// evaluation mode, with dropout off and batch-norm statistics untouched.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluate, fit, nn, optim, predict, randn, seed } from '../../src/index.js';

test('predict during fit runs every batch in eval mode and does not change the weights or statistics it reads', async () => {
  seed(3);
  const bn = new nn.BatchNorm1d(4);
  const model = new nn.Sequential(new nn.Linear(4, 4), bn, new nn.Dropout(0.5), new nn.Linear(4, 2));
  const data = { x: randn([512, 4]), y: randn([512, 2]) };
  // The probe's values are near 1000, the training data's near 0: each forward can tell whose batch it runs.
  const probe = randn([256, 4]).add(1000);
  const seen: { fit: boolean[]; predict: boolean[] } = { fit: [], predict: [] };
  const forward = model.forward.bind(model);
  model.forward = (x) => {
    seen[(x.data[0] as number) > 500 ? 'predict' : 'fit'].push(bn.training);
    return forward(x);
  };
  const training = fit(model, data, { loss: 'mse', optimizer: new optim.SGD(model.parameters(), { lr: 0.01 }), epochs: 3, batchSize: 8, yieldEveryMs: 0 });
  // Interleave: each predict batch yields to fit and back.
  const predictions: Promise<unknown>[] = [];
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setImmediate(r));
    predictions.push(predict(model, probe, { batchSize: 8, yieldEveryMs: 0 }));
  }
  await Promise.all([training, ...predictions]);
  assert.ok(seen.fit.length >= 3 * 64 && seen.predict.length === 3 * 32, `${seen.fit.length} fit and ${seen.predict.length} predict batches`);
  assert.ok(
    seen.fit.every((t) => t),
    'every fit batch in training mode',
  );
  assert.ok(
    seen.predict.every((t) => !t),
    'every predict batch in eval mode',
  );
  assert.equal(bn.training, true, 'the user flag is back as it was');
});

test('evaluate interleaved with fit leaves batch-norm running statistics as fit alone would', async () => {
  const run = async (interleave: boolean) => {
    seed(5);
    const bn = new nn.BatchNorm1d(3);
    const model = new nn.Sequential(bn, new nn.Linear(3, 1));
    const data = { x: randn([256, 3]).mul(2).add(1), y: randn([256, 1]) };
    const other = { x: randn([256, 3]).mul(10), y: randn([256, 1]) };
    const training = fit(model, data, {
      loss: 'mse',
      optimizer: new optim.SGD(model.parameters(), { lr: 0.01 }),
      epochs: 2,
      batchSize: 16,
      shuffle: false,
      yieldEveryMs: 0,
    });
    if (interleave) {
      await new Promise((r) => setImmediate(r));
      await evaluate(model, other, { loss: 'mse', batchSize: 16, yieldEveryMs: 0 });
    }
    await training;
    return bn.stateDict();
  };
  const alone = await run(false);
  const mixed = await run(true);
  for (const key of ['running_mean', 'running_var']) {
    assert.deepEqual(mixed.get(key)?.toArray(), alone.get(key)?.toArray(), key);
  }
});
