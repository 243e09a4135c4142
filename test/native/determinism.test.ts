// One seed gives the same weights on any number of threads: every native
// reduction (convolution weight gradients, whole-tensor sums, the cross-entropy
// total) sums in an order fixed by the shapes, never by the thread count.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fit, getBackend, mnist, nn, optim, seed, setBackend } from '../../src/index.js';
import { addon } from './harness.js';

/** LeNet-5 trained for one epoch on the first 3,000 MNIST images; its weights as one byte string. */
async function trainLenet(threads: number): Promise<Buffer> {
  addon?.setNumThreads(threads);
  seed(7);
  const model = new nn.Sequential(
    new nn.Conv2d(1, 6, 5, { padding: 2 }),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(6, 16, 5),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Flatten(),
    new nn.Linear(400, 120),
    new nn.ReLU(),
    new nn.Linear(120, 84),
    new nn.ReLU(),
    new nn.Linear(84, 10),
  );
  const { images, labels } = mnist({ split: 'train', limit: 3000 });
  const optimizer = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  await fit(model, { x: images, y: labels }, { loss: 'crossEntropy', optimizer, epochs: 1, batchSize: 64 });
  return Buffer.concat(model.parameters().map((p) => Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength)));
}

test('one LeNet-5 epoch on 3,000 images gives bit-identical weights on one thread and on every thread', async (t) => {
  if (addon === null || !process.env.NEURITE_BACKEND?.startsWith('native')) {
    t.skip('runs on the native backend (the reference backend has no threads)');
    return;
  }
  const max = addon.cpuFeatures().maxThreads;
  if (max < 2) {
    t.skip('this machine has one hardware thread');
    return;
  }
  const previous = getBackend().name;
  setBackend('native');
  try {
    const one = await trainLenet(1);
    const many = await trainLenet(max);
    const again = await trainLenet(1);
    assert.ok(one.equals(again), 'one thread is not even reproducible with itself');
    if (!one.equals(many)) {
      const a = new Float32Array(one.buffer, one.byteOffset, one.byteLength / 4);
      const b = new Float32Array(many.buffer, many.byteOffset, many.byteLength / 4);
      const first = a.findIndex((v, i) => !Object.is(v, b[i]));
      assert.fail(`weights differ between 1 and ${max} threads, first at element ${first}: ${a[first]} vs ${b[first]}`);
    }
  } finally {
    addon.setNumThreads(max);
    setBackend(previous);
  }
});
