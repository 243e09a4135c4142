// One replica of `npm run bench:distributed`: trains a workload with fit() for
// a few epochs over its share of the bench's MNIST slice and reports its
// samples per second (the first epoch is warm-up and untimed), its step time
// and its CPU time. Launched (threads or async processes) it trains as one
// replica of the job; run directly (`node replica.mjs '<json>'`) it is the
// single-process baseline, with no distributed option at all.
import * as nt from '../../dist/src/index.js';
import { loadMnist } from '../common.mjs';

const { nn, optim } = nt;
const replica = nt.distributed.init();
const config = replica.launched ? replica.data : JSON.parse(process.argv[2]);
if (!replica.launched && config.threads) nt.setNumThreads(config.threads);

/** The bench's workloads (bench/common.mjs), with the optimizers bench/workloads/neurite.mjs gives them. */
function workload(id) {
  nt.seed(1);
  if (id === 'mlp-small') {
    const m = new nn.Sequential(new nn.Linear(784, 128), new nn.ReLU(), new nn.Linear(128, 10));
    return { model: m, optimizer: new optim.SGD(m.parameters(), { lr: 0.1 }), shape: [784] };
  }
  if (id === 'mlp-wide') {
    const m = new nn.Sequential(new nn.Linear(784, 512), new nn.ReLU(), new nn.Linear(512, 512), new nn.ReLU(), new nn.Linear(512, 10));
    return { model: m, optimizer: new optim.Adam(m.parameters(), { lr: 1e-3 }), shape: [784] };
  }
  if (id === 'lenet5') {
    const m = nt.models.lenet5();
    return { model: m, optimizer: new optim.SGD(m.parameters(), { lr: 0.05, momentum: 0.9 }), shape: [1, 28, 28] };
  }
  throw new Error(`bench replica: unknown workload '${id}'`);
}

const { model, optimizer, shape } = workload(config.workload);
const { images, labels } = loadMnist(config.samples);
const x = nt.tensor(images, { shape: [config.samples, ...shape], dtype: 'float32' });
const y = nt.tensor(labels, { shape: [config.samples], dtype: 'int32' });
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
let t0 = 0;
let c0 = 0;
let timedSamples = 0;
let timedSteps = 0;
await nt.fit(model, { x, y }, {
  loss: 'crossEntropy',
  optimizer,
  epochs: config.epochs,
  batchSize: config.batchSize,
  // Throughput only: a diverging async run must not stop early.
  terminateOnNaN: false,
  compile: config.compile ?? false,
  ...(replica.launched ? { distributed: replica } : {}),
  callbacks: [
    {
      onEpochEnd(epoch) {
        if (epoch === 0) {
          t0 = performance.now();
          c0 = cpu();
        }
      },
      onBatchEnd(_b, logs) {
        if (t0 > 0) {
          timedSamples += logs.size;
          timedSteps++;
        }
      },
    },
  ],
});
const seconds = (performance.now() - t0) / 1000;
const result = {
  rank: replica.rank,
  samplesPerSecond: timedSamples / seconds,
  stepMs: (1000 * seconds) / timedSteps,
  // Worker threads share the process's CPU clock: this is the whole process's CPU time per wall second.
  cpuPerWall: (cpu() - c0) / seconds,
  seconds,
};
if (replica.launched) await replica.report(result);
else process.stdout.write(`${JSON.stringify(result)}\n`);
