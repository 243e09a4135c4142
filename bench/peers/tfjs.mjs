// TensorFlow.js side of `npm run bench`, in its recommended training style:
// Keras layers, tf.train optimizers' minimize(), every step inside tf.tidy.
// Usage: node peers/tfjs.mjs '{"backend": "cpu"|"wasm", "seconds", "workloads", "sgemm"}';
// in a page (bench/browser.mjs --webgpu) also "webgpu", the backend its own
// package registers, where every training step reads its loss back (as
// neurite's GPU steps do) and products are awaited with data().
// Prints one JSON object as its last line.
import * as tf from '@tensorflow/tfjs';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { emit, loadMnist, measure, parseArgs, TRAIN_IMAGES, timed, timedAsync } from '../common.mjs';

const args = parseArgs();
// In a page (bench/browser.mjs) the backend's .wasm files are served from its package folder, as its README says to
// do with setWasmPaths; the thread count is its own setThreadsCount (by default it uses the page's cores).
if (globalThis.__bench?.wasmPaths) setWasmPaths(globalThis.__bench.wasmPaths);
if (args.threads && args.backend === 'wasm') setThreadsCount(args.threads);
// Importing the package registers the backend (its README's way); bundled for the page only when asked for.
if (args.backend === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
if (!(await tf.setBackend(args.backend))) throw new Error(`TensorFlow.js could not start its '${args.backend}' backend`);
await tf.ready();
const gpu = args.backend === 'webgpu';
const results = { version: tf.version.tfjs, backend: tf.getBackend() };
if (gpu) {
  const info = tf.backend().adapterInfo;
  results.adapter = info ? `${info.vendor ?? ''} ${info.architecture ?? ''}`.trim() : 'unknown';
}
if (args.backend === 'wasm') {
  results.wasmSimd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
  results.wasmThreads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
}

/** Wait for a tensor's values (as the other libraries' synchronous calls do), then free it. */
function syncRead(t) {
  t.dataSync();
  t.dispose();
}

let data;
function mnistTensors() {
  if (!data) {
    const { images, labels } = loadMnist(TRAIN_IMAGES);
    const flat = tf.tensor2d(images, [TRAIN_IMAGES, 784]);
    data = {
      flat,
      img: flat.reshape([-1, 28, 28, 1]),
      seq: flat.reshape([-1, 28, 28]),
      yOne: tf.oneHot(tf.tensor1d(labels, 'int32'), 10).toFloat(),
    };
  }
  return data;
}

function dense(units, activation, inputShape) {
  return tf.layers.dense({ units, activation, inputShape });
}

/**
 * Samples per second of training with softmax cross-entropy, cycling through
 * the 8192 images. The batches are cut once, before timing, as neurite's side
 * does: the wasm backend's slice() copies its whole input out of the wasm heap
 * (25 MB for the training images) on every call, which would otherwise take
 * half of every step.
 */
function trainRate(model, optimizer, x, batch, warmup) {
  const { yOne } = mnistTensors();
  const count = Math.floor(x.shape[0] / batch);
  const xs = [];
  const ys = [];
  for (let b = 0; b < count; b++) {
    xs.push(x.slice(b * batch, batch));
    ys.push(yOne.slice(b * batch, batch));
  }
  let i = 0;
  const step = () => {
    const xb = xs[i];
    const yb = ys[i];
    i = (i + 1) % count;
    tf.tidy(() => {
      optimizer.minimize(() => tf.losses.softmaxCrossEntropy(yb, model.apply(xb, { training: true })));
    });
  };
  if (gpu) {
    // On the GPU a step is queued, not done: each one reads its loss back, awaited.
    const gpuStep = async () => {
      const xb = xs[i];
      const yb = ys[i];
      i = (i + 1) % count;
      const cost = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(yb, model.apply(xb, { training: true })), true);
      await cost.data();
      cost.dispose();
    };
    return timedAsync(gpuStep, args.seconds, warmup, batch);
  }
  return timed(step, args.seconds, warmup, batch);
}

function mlpWide() {
  return tf.sequential({ layers: [dense(512, 'relu', [784]), dense(512, 'relu'), dense(10)] });
}

const run = {
  'mlp-small': () => {
    const m = tf.sequential({ layers: [dense(128, 'relu', [784]), dense(10)] });
    return trainRate(m, tf.train.sgd(0.1), mnistTensors().flat, 64, 10);
  },
  'mlp-wide': () => trainRate(mlpWide(), tf.train.adam(1e-3), mnistTensors().flat, 128, 3),
  lenet5: () => {
    const m = tf.sequential({
      layers: [
        // 'same' on a 5x5 kernel at stride 1 is PyTorch's padding=2.
        tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 6, kernelSize: 5, padding: 'same', activation: 'relu' }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.conv2d({ filters: 16, kernelSize: 5, activation: 'relu' }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        dense(120, 'relu'),
        dense(84, 'relu'),
        dense(10),
      ],
    });
    return trainRate(m, tf.train.momentum(0.05, 0.9), mnistTensors().img, 64, 2);
  },
  lstm: () => {
    const m = tf.sequential({ layers: [tf.layers.lstm({ units: 128, inputShape: [28, 28] }), dense(10)] });
    return trainRate(m, tf.train.adam(1e-3), mnistTensors().seq, 64, 1);
  },
  'xor-tiny': () => {
    const m = tf.sequential({ layers: [dense(2, 'sigmoid', [2]), dense(1, 'sigmoid')] });
    const x = tf.tensor2d([
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ]);
    const y = tf.tensor2d([[0], [1], [1], [0]]);
    const opt = tf.train.sgd(0.5);
    // The workload reads the loss back every step, in every library.
    const step = () => {
      const cost = opt.minimize(() => tf.losses.meanSquaredError(y, m.apply(x)), true);
      cost.dataSync();
      cost.dispose();
    };
    return timed(step, args.seconds, 50, 1);
  },
};

for (const w of args.workloads) {
  await measure(results, w, async () => {
    if (run[w]) return run[w]();
    if (w.startsWith('inference-')) {
      const batch = Number(w.split('-')[1]);
      const m = mlpWide();
      const xb = tf.tensor2d(loadMnist(batch).images, [batch, 784]);
      // dataSync() waits for the result, as a synchronous forward pass does in the other libraries.
      // It runs after tf.tidy, not inside: tidy walks whatever its function
      // returns looking for tensors, element by element through a typed array
      // (77 ms for a 512x512 result), which made this bench report tfjs 10-40x
      // below its speed.
      return timed(() => syncRead(tf.tidy(() => m.predict(xb))), args.seconds, 10, batch);
    }
    if (w.startsWith('sgemm-')) {
      const [m, k, n, transA, transB] = args.sgemm[w];
      const a = tf.randomUniform(transA ? [k, m] : [m, k]);
      const b = tf.randomUniform(transB ? [n, k] : [k, n]);
      if (gpu) {
        const product = async () => {
          const c = tf.matMul(a, b, transA, transB);
          await c.data();
          c.dispose();
        };
        return (await timedAsync(product, args.seconds, 3, 2 * m * n * k)) / 1e9;
      }
      return timed(() => syncRead(tf.tidy(() => tf.matMul(a, b, transA, transB))), args.seconds, 3, 2 * m * n * k) / 1e9;
    }
    throw new Error(`unknown workload '${w}'`);
  });
}
emit(results);
