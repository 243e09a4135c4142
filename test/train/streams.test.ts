// Each fit call draws its steps' random numbers (dropout masks) from a stream
// of its own, derived from the global generator when it starts: two fits
// interleaved in one process each give the numbers they give alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fit, nn, optim, randn, seed, type Tensor } from '../../src/index.js';

function setup(s: number) {
  seed(s);
  const model = new nn.Sequential(new nn.Linear(6, 16), new nn.ReLU(), new nn.Dropout(0.5), new nn.Linear(16, 2));
  const data = { x: randn([128, 6]), y: randn([128, 2]) };
  return { model, data };
}

const train = (m: nn.Module, data: { x: Tensor; y: Tensor }) =>
  fit(m, data, { loss: 'mse', optimizer: new optim.SGD(m.parameters(), { lr: 0.05 }), epochs: 3, batchSize: 16, shuffle: false, yieldEveryMs: 0 });

test('two fits interleaved give each the weights it gives alone', async () => {
  // seed(100 + s) right before fit: the point its stream is derived from.
  const alone = async (s: number) => {
    const { model, data } = setup(s);
    seed(100 + s);
    await train(model, data);
    return model.stateDict();
  };
  const a = await alone(1);
  const b = await alone(2);
  // The same two runs, set up the same way, then trained at the same time.
  const first = setup(1);
  const second = setup(2);
  seed(101);
  const runA = train(first.model, first.data);
  seed(102);
  const runB = train(second.model, second.data);
  await Promise.all([runA, runB]);
  for (const [name, t] of a) assert.deepEqual(first.model.stateDict().get(name)?.toArray(), t.toArray(), `run 1 ${name}`);
  for (const [name, t] of b) assert.deepEqual(second.model.stateDict().get(name)?.toArray(), t.toArray(), `run 2 ${name}`);
});

test("random draws outside fit between its batches do not change fit's dropout masks", async () => {
  const reference = setup(4);
  seed(40);
  await train(reference.model, reference.data);
  const { model, data } = setup(4);
  seed(40);
  const run = train(model, data);
  // Another part of the program draws from the global generator while fit runs.
  for (let i = 0; i < 20; i++) {
    randn([10]);
    await new Promise((r) => setImmediate(r));
  }
  await run;
  for (const [name, t] of reference.model.stateDict()) assert.deepEqual(model.stateDict().get(name)?.toArray(), t.toArray(), name);
});
