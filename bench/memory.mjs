// Memory check of `npm run bench` (also `npm run bench -- --only memory`):
// trains mlp-small for many steps and samples the process memory after a full
// garbage collection, to show that tensor storage is reclaimed without any
// manual dispose and memory stays flat over a long run.
//
// Usage: node bench/memory.mjs [--steps 20000] [--samples 10] [--backend native|ref] [--json]
// With --json the summary is printed as JSON on the last line (for bench/run.mjs).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import * as nt from '../dist/src/index.js';
import { loadMnist, TRAIN_IMAGES } from './common.mjs';

// A full collection before each sample, so that the figures are live memory and
// not garbage waiting for the next collection.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const steps = Number(option('steps', '20000'));
const sampleCount = Number(option('samples', '10'));
const requested = option('backend', nt.listBackends().includes('native') ? 'native' : 'ref');
const json = process.argv.includes('--json');
const log = json ? () => {} : (line) => console.log(line);

if (!nt.listBackends().includes(requested)) {
  const error = `backend '${requested}' is not registered (available: ${nt.listBackends().join(', ')})`;
  if (json) console.log(`\n${JSON.stringify({ error })}`);
  else console.error(`memory: ${error}`);
  process.exit(json ? 0 : 1);
}
nt.setBackend(requested);
nt.seed(0);

const { images, labels } = loadMnist(TRAIN_IMAGES);
const batch = 64;
const batches = [];
for (let i = 0; i + batch <= TRAIN_IMAGES; i += batch) {
  batches.push({
    x: nt.tensor(images.subarray(i * 784, (i + batch) * 784), { shape: [batch, 784], dtype: 'float32' }),
    y: nt.tensor(labels.subarray(i, i + batch), { shape: [batch], dtype: 'int32' }),
  });
}
const model = new nt.nn.Sequential(new nt.nn.Linear(784, 128), new nt.nn.ReLU(), new nt.nn.Linear(128, 10));
const opt = new nt.optim.SGD(model.parameters(), { lr: 0.1 });

const MB = 1024 * 1024;
const samples = [];
async function sample(step, loss) {
  // Array buffers are released by a concurrent sweeper after the collection:
  // give it a moment, then collect again.
  gc();
  await new Promise((resolve) => setTimeout(resolve, 20));
  gc();
  const m = process.memoryUsage();
  const s = { step, rss: m.rss / MB, heapUsed: m.heapUsed / MB, external: m.external / MB, arrayBuffers: m.arrayBuffers / MB, loss };
  samples.push(s);
  log(
    `${String(step).padStart(7)}  rss ${s.rss.toFixed(1).padStart(7)} MB  heap ${s.heapUsed.toFixed(2).padStart(7)} MB  ` +
      `external ${s.external.toFixed(2).padStart(7)} MB  arrayBuffers ${s.arrayBuffers.toFixed(2).padStart(7)} MB  loss ${loss.toFixed(4)}`,
  );
}

log(`memory: mlp-small, SGD lr 0.1, batch ${batch}, ${steps} steps on '${requested}' (${nt.getBackend().describe()})`);
const every = Math.max(1, Math.floor(steps / sampleCount));
let loss = Number.NaN;
const start = performance.now();
for (let step = 0; step <= steps; step++) {
  if (step % every === 0) await sample(step, loss);
  if (step === steps) break;
  const { x, y } = batches[step % batches.length];
  opt.zeroGrad();
  const l = nt.nn.functional.crossEntropy(model.forward(x), y);
  l.backward();
  opt.step();
  if ((step + 1) % every === 0) loss = l.item();
}
const seconds = (performance.now() - start) / 1000; // includes the sampling pauses

// Judge the second half of the run: during the first one the JIT still compiles
// and keeps type feedback (a few hundred KB of heap). Live memory may move by
// up to 1 MB of such noise plus 64 bytes per step; a leak of one batch of
// logits per step (64 x 10 float32) adds 2.5 KB per step, 40x that slope.
const first = samples.find((s) => s.step >= steps / 2) ?? samples[0];
const last = samples[samples.length - 1];
const span = Math.max(1, last.step - first.step);
const growth = {
  rssMB: last.rss - first.rss,
  heapUsedMB: last.heapUsed - first.heapUsed,
  arrayBuffersMB: last.arrayBuffers - first.arrayBuffers,
};
const liveGrowthBytes = (growth.heapUsedMB + growth.arrayBuffersMB) * MB;
const bytesPerStep = liveGrowthBytes / span;
const limitBytes = MB + 64 * span;
const flat = liveGrowthBytes < limitBytes && growth.rssMB < 32;
const summary = { backend: requested, steps, seconds, stepsPerSecond: steps / seconds, samples, growth, bytesPerStep, flat };
log(
  `growth from step ${first.step} to ${last.step}: rss ${growth.rssMB.toFixed(1)} MB, heap ${growth.heapUsedMB.toFixed(2)} MB, ` +
    `arrayBuffers ${growth.arrayBuffersMB.toFixed(2)} MB (${bytesPerStep.toFixed(1)} live bytes per step) -> ` +
    `${flat ? 'flat' : 'GROWING'} (limits: live memory < 1 MB + 64 B per step, rss < 32 MB)`,
);
if (json) console.log(`\n${JSON.stringify(summary)}`);
