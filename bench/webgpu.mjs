#!/usr/bin/env node
// `npm run bench:webgpu`: the WebGPU path on whatever adapter Dawn finds.
// 1. sgemm n^3 through the GPU kernel: median of 5 timings, each of `reps`
//    products waited for with onSubmittedWorkDone, against the same product on
//    the CPU backend in use (native by default) in the same run.
// 2. Training samples/s of a compiled step replayed on the GPU (the executor)
//    against the same compiled step on the CPU, for the mlp-wide shape
//    (784-1024-1024-10, batch 128, SGD), median of 5 timings of `steps` steps.
// 3. The host's cost of one dispatch: microseconds to record a small kernel
//    (bindings, uniform block, the pass), median of 7 runs of 2,000, and the
//    wall time per dispatch with the GPU's work waited for.
// A software adapter (SwiftShader, what a machine without a GPU gets with
// VK_ICD_FILENAMES pointing at it) is said so, loudly: its figures are a
// plausibility check, not a GPU's speed. Pass --allow-fallback to run on it.
import { cpus, loadavg } from 'node:os';
import { GpuKernels } from '../dist/src/backends/webgpu/kernels.js';
import * as nt from '../dist/src/index.js';

const arg = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const allowFallback = process.argv.includes('--allow-fallback');
const sizes = arg('sizes', '1024,2048,4096').split(',').map(Number);
const steps = Number(arg('steps', '20'));
if (!process.env.NEURITE_NUM_THREADS) nt.setNumThreads(1);
await nt.backendReady();

let gpu;
try {
  gpu = await nt.openWebGpu({ allowFallback });
} catch (e) {
  console.log(`bench:webgpu: no GPU to measure: ${e.message}`);
  process.exit(0);
}
const a = gpu.adapter;
console.log(`bench:webgpu: adapter ${a.vendor} ${a.architecture} ${a.description}${a.isFallbackAdapter ? ' (SOFTWARE FALLBACK: a plausibility check, not a GPU figure)' : ''}`);
console.log(`CPU: ${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}; CPU peer: backend ${nt.getBackend().name}, ${nt.getNumThreads()} thread(s)`);

const median = (xs) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
const spread = (xs) => `${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)}`;

// The executor's device is the one the kernels need: reach it through a small kernel table of our own.
const device = gpu.executor.device;
const k = new GpuKernels(device);
console.log('\nsgemm n^3          GPU GFLOP/s (spread)      CPU GFLOP/s (spread)');
for (const n of sizes) {
  nt.seed(1);
  const A = nt.randn([n, n]);
  const B = nt.randn([n, n]);
  const [ga, gb, gc] = [device.upload(A.data), device.upload(B.data), device.empty(n * n)];
  const reps = n <= 1024 ? 10 : 3;
  const gpuRuns = [];
  k.matmul(ga, gb, gc, 1, n, n, n, false, false);
  await device.sync();
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) k.matmul(ga, gb, gc, 1, n, n, n, false, false);
    await device.sync();
    gpuRuns.push((2 * n ** 3 * reps) / ((performance.now() - t0) * 1e6));
  }
  const cpuRuns = [];
  A.matmul(B);
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    A.matmul(B);
    cpuRuns.push((2 * n ** 3) / ((performance.now() - t0) * 1e6));
  }
  console.log(`${String(n).padEnd(19)}${median(gpuRuns).toFixed(1).padStart(8)} (${spread(gpuRuns)})`.padEnd(45) + `${median(cpuRuns).toFixed(1).padStart(8)} (${spread(cpuRuns)})`);
  for (const x of [ga, gb, gc]) x.release();
}

{
  const x = device.upload(new Float32Array(64).fill(1));
  const out = device.empty(64);
  const record = [];
  const total = [];
  for (let r = 0; r < 7; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 2000; i++) k.binary('add', x, [64], x, [64], out, [64]);
    record.push(((performance.now() - t0) / 2000) * 1000);
    await device.sync();
    total.push(((performance.now() - t0) / 2000) * 1000);
  }
  console.log(`\ndispatch of a 64-element add, µs: recording ${median(record).toFixed(1)} (${spread(record)}), with the GPU's work ${median(total).toFixed(1)} (${spread(total)})`);
  x.release();
  out.release();
}

let timedFrom = null;
async function train(onGpu) {
  nt.seed(2);
  const model = new nt.nn.Sequential(new nt.nn.Linear(784, 1024), new nt.nn.ReLU(), new nt.nn.Linear(1024, 1024), new nt.nn.ReLU(), new nt.nn.Linear(1024, 10));
  const opt = new nt.optim.SGD(model.parameters(), { lr: 0.01 });
  const x = nt.randn([128, 784]);
  const y = nt.randint(0, 10, [128]);
  const step = (xs, ys) => {
    opt.zeroGrad();
    const loss = nt.nn.functional.crossEntropy(model.call(xs), ys);
    loss.backward();
    opt.step();
    return loss;
  };
  const compiled = onGpu ? nt.compile(step, { modules: [model], executor: gpu.executor }) : nt.compile(step, { modules: [model] });
  for (let i = 0; i < 5; i++) await compiled(x, y);
  if (onGpu) timedFrom = gpu.transfers();
  const runs = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await compiled(x, y);
    runs.push((128 * steps) / ((performance.now() - t0) / 1000));
  }
  return runs;
}
const onGpu = await train(true);
const after = gpu.transfers();
const onCpu = await train(false);
const perStep = ((after.bytesUp - timedFrom.bytesUp + after.bytesDown - timedFrom.bytesDown) / (5 * steps) / 1e3).toFixed(1);
console.log(`\nmlp-wide training (784-1024-1024-10, batch 128, SGD), samples/s: GPU ${median(onGpu).toFixed(0)} (${spread(onGpu)}), CPU ${median(onCpu).toFixed(0)} (${spread(onCpu)}); GPU / CPU ${(median(onGpu) / median(onCpu)).toFixed(2)}x; ${perStep} kB crossed per timed GPU step (the batch in, the loss out)`);
gpu.destroy();
