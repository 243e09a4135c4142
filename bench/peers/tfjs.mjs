// TensorFlow.js side of `npm run bench`. Usage: node peers/tfjs.mjs '<json args>' with
// args {backend: 'cpu'|'wasm', workloads, seconds}; prints one JSON object.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { loadMnist, timed } from '../common.mjs';

const args = JSON.parse(process.argv[2]);
await tf.setBackend(args.backend);
await tf.ready();
const { images, labels } = loadMnist(8192);
const xFlat = tf.tensor2d(images, [images.length / 784, 784]);
const xImg = xFlat.reshape([-1, 28, 28, 1]);
const xSeq = xFlat.reshape([-1, 28, 28]);
const yOne = tf.oneHot(tf.tensor1d(labels, 'int32'), 10).toFloat();

function dense(units, activation, inputShape) {
  return tf.layers.dense({ units, activation, inputShape });
}

function trainRate(model, optimizer, x, batch, seconds, warmup) {
  const n = x.shape[0];
  let i = 0;
  const step = () => {
    if (i + batch > n) i = 0;
    tf.tidy(() => {
      const xb = x.slice(i, batch);
      const yb = yOne.slice(i, batch);
      optimizer.minimize(() => tf.losses.softmaxCrossEntropy(yb, model.apply(xb, { training: true })));
    });
    i += batch;
  };
  return timed(step, seconds, warmup, batch);
}

const results = { version: tf.version.tfjs, backend: tf.getBackend() };
for (const w of args.workloads) {
  try {
    if (w === 'mlp-small') {
      const m = tf.sequential({ layers: [dense(128, 'relu', [784]), dense(10)] });
      results[w] = trainRate(m, tf.train.sgd(0.1), xFlat, 64, args.seconds, 10);
    } else if (w === 'mlp-wide') {
      const m = tf.sequential({ layers: [dense(512, 'relu', [784]), dense(512, 'relu'), dense(10)] });
      results[w] = trainRate(m, tf.train.adam(1e-3), xFlat, 128, args.seconds, 3);
    } else if (w === 'lenet5') {
      const m = tf.sequential({
        layers: [
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
      results[w] = trainRate(m, tf.train.momentum(0.05, 0.9), xImg, 64, args.seconds, 2);
    } else if (w === 'lstm') {
      const m = tf.sequential({ layers: [tf.layers.lstm({ units: 128, inputShape: [28, 28] }), dense(10)] });
      results[w] = trainRate(m, tf.train.adam(1e-3), xSeq, 64, args.seconds, 1);
    } else if (w === 'xor-tiny') {
      const m = tf.sequential({ layers: [dense(2, 'sigmoid', [2]), dense(1, 'sigmoid')] });
      const x = tf.tensor2d([[0, 0], [0, 1], [1, 0], [1, 1]]);
      const y = tf.tensor2d([[0], [1], [1], [0]]);
      const opt = tf.train.sgd(0.5);
      results[w] = timed(() => tf.tidy(() => opt.minimize(() => tf.losses.meanSquaredError(y, m.apply(x)))), args.seconds, 50, 1);
    } else if (w.startsWith('inference-')) {
      const batch = Number(w.split('-')[1]);
      const m = tf.sequential({ layers: [dense(512, 'relu', [784]), dense(512, 'relu'), dense(10)] });
      const xb = xFlat.slice(0, batch);
      results[w] = timed(() => tf.tidy(() => m.predict(xb).dataSync()), args.seconds, 10, batch);
    }
  } catch (e) {
    results[w] = { error: String(e.message ?? e).slice(0, 200) };
  }
}
console.log(JSON.stringify(results));
