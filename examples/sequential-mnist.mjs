// Sequential MNIST: an LSTM reads each 28x28 digit one row at a time (28
// steps of 28 pixels), and a linear layer classifies its final hidden state.
// The target is at least 97% test accuracy; this is also the
// workload of the lstm benchmark (LSTM 128, dense 10, Adam, batch 64).
//
//   npm run build && node examples/sequential-mnist.mjs [epochs=5] [trainLimit=60000]
//
// On the pure-TypeScript reference backend an epoch takes many minutes; the
// native backend, when built and registered, is used automatically.
import * as nt from 'neurite';

const { nn, optim } = nt;

const SEED = 1;
const epochs = Number(process.argv[2] ?? 5);
const limit = Number(process.argv[3] ?? 60000);

nt.seed(SEED);
// Images [N, 1, 28, 28] → [N, 28, 28]: row r of a digit is time step r.
const load = (split, max) => {
  const { images, labels } = nt.mnist({ split, limit: max });
  return { x: images.reshape([images.shape[0], 28, 28]), y: labels };
};
const train = load('train', limit);
const test = load('test', 10000);

const model = new nn.Sequential([new nn.LSTM(28, 128, { batchFirst: true }), new nn.RecurrentOutput('final'), new nn.Linear(128, 10)]);
const started = performance.now();
await nt.fit(model, train, {
  loss: 'crossEntropy',
  optimizer: new optim.Adam(model.parameters(), { lr: 1e-3 }),
  epochs,
  batchSize: 64,
  clipGradNorm: 1,
  metrics: ['accuracy'],
  validationData: test,
  validationBatchSize: 1000,
  verbose: 1,
});
const seconds = (performance.now() - started) / 1000;
const logs = await nt.evaluate(model, test, { metrics: ['accuracy'], batchSize: 1000 });
console.log(
  `sequential MNIST: test accuracy ${(100 * logs.accuracy).toFixed(2)}% after ${epochs} epochs on ${train.x.shape[0]} images, ` +
    `${seconds.toFixed(0)} s (${((epochs * train.x.shape[0]) / seconds).toFixed(0)} samples/s, backend ${nt.getBackend().name})`,
);
