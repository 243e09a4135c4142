// One seed gives the same weights on any number of threads: every compiled
// reduction (convolution weight gradients, whole-tensor sums, the cross-entropy
// total) sums in an order fixed by the shapes, never by the thread count. On
// the native addon's threads and on the wasm backend's workers alike.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { wasmModule, wasmThreadsReady } from '../../src/backends/wasm/index.js';
import { fit, getBackend, getNumThreads, mnist, nn, optim, seed, setBackend, setNumThreads } from '../../src/index.js';

/** LeNet-5 trained for one epoch on the first 3,000 MNIST images; its weights as one byte string. */
async function trainLenet(threads: number): Promise<Buffer> {
  setNumThreads(threads);
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

for (const backend of ['native', 'wasm']) {
  test(`${backend}: one LeNet-5 epoch on 3,000 images gives bit-identical weights on one thread and on every thread`, async (t) => {
    // Each backend's own pass of the suite runs its check (the epochs take seconds).
    if (process.env.NEURITE_BACKEND !== backend) {
      t.skip(`runs in the suite's ${backend} pass`);
      return;
    }
    const previous = getBackend().name;
    setBackend(backend);
    if (backend === 'wasm') await wasmThreadsReady();
    const max = setNumThreads(64);
    if (max < 2) {
      t.skip(`the ${backend} backend has one thread here`);
      setBackend(previous);
      return;
    }
    try {
      const one = await trainLenet(1);
      assert.equal(getNumThreads(), 1);
      const jobsBefore = wasmModule()?.poolJobs().parallel ?? 0;
      const many = await trainLenet(max);
      assert.equal(getNumThreads(), max);
      // Not vacuous: the workers took part (the pool runs jobs on the caller alone only while it judges the machine busy).
      if (backend === 'wasm') assert.ok((wasmModule()?.poolJobs().parallel ?? 0) > jobsBefore, 'no job ran on more than one thread');
      const again = await trainLenet(1);
      assert.ok(one.equals(again), 'one thread is not even reproducible with itself');
      if (!one.equals(many)) {
        const a = new Float32Array(one.buffer, one.byteOffset, one.byteLength / 4);
        const b = new Float32Array(many.buffer, many.byteOffset, many.byteLength / 4);
        const first = a.findIndex((v, i) => !Object.is(v, b[i]));
        assert.fail(`weights differ between 1 and ${max} threads, first at element ${first}: ${a[first]} vs ${b[first]}`);
      }
    } finally {
      setNumThreads(max);
      setBackend(previous);
    }
  });
}
