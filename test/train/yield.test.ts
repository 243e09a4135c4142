// fit, evaluate and predict hand control to the event loop every
// yieldEveryMs milliseconds (one option, one Yielder), so a page or a server
// stays responsive while they run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluate, fit, nn, optim, predict, randn, seed } from '../../src/index.js';

function setup() {
  seed(0);
  const model = new nn.Linear(4, 2);
  const data = { x: randn([64, 4]), y: randn([64, 2]) };
  return { model, data };
}

/** Whether a setImmediate callback queued before `run` started ran before it finished. */
async function yieldedDuring(run: () => Promise<unknown>): Promise<boolean> {
  let ran = false;
  setImmediate(() => {
    ran = true;
  });
  const p = run();
  // Synchronous work happens before the first await returns; a yield lets the callback in.
  await p;
  return ran;
}

test('evaluate and predict yield to the event loop with yieldEveryMs: 0, and not with a large value', async () => {
  const { model, data } = setup();
  // With yieldEveryMs 0, every batch yields; 8 batches of 8.
  assert.equal(await yieldedDuring(() => evaluate(model, data, { loss: 'mse', batchSize: 8, yieldEveryMs: 0 })), true);
  assert.equal(await yieldedDuring(() => predict(model, data.x, { batchSize: 8, yieldEveryMs: 0 })), true);
  assert.equal(await yieldedDuring(() => fit(model, data, { loss: 'mse', optimizer: new optim.SGD(model.parameters()), batchSize: 8, yieldEveryMs: 0 })), true);
});

test('a negative yieldEveryMs is refused by evaluate and predict as by fit', async () => {
  const { model, data } = setup();
  await assert.rejects(() => evaluate(model, data, { loss: 'mse', yieldEveryMs: -1 }), { message: 'evaluate: yieldEveryMs must be >= 0, got -1' });
  await assert.rejects(() => predict(model, data.x, { yieldEveryMs: -1 }), { message: 'predict: yieldEveryMs must be >= 0, got -1' });
  await assert.rejects(() => fit(model, data, { loss: 'mse', optimizer: new optim.SGD(model.parameters()), yieldEveryMs: -1 }), {
    message: 'fit: yieldEveryMs must be >= 0, got -1',
  });
});
