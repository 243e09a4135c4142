#!/usr/bin/env node
// `npm run bench:conv`: LeNet-5's two convolutions at batch 64, each pass
// (forward, input gradient, weight gradient) timed alone through the active
// backend's kernel table (NEURITE_BACKEND picks it; one thread unless
// NEURITE_NUM_THREADS says otherwise). Median of 5 timings of `--reps` calls
// after warm-up, with the GFLOP/s each implies. neurite alone: a profile of
// where a LeNet-5 step's convolution time goes, not a comparison with a peer.
import { cpus } from 'node:os';
import * as nt from '../dist/src/index.js';

const reps = Number(process.argv.find((a) => a.startsWith('--reps='))?.slice(7) ?? 100);
if (!process.env.NEURITE_NUM_THREADS) nt.setNumThreads(1);
await nt.backendReady();
const kernels = nt.getBackend().kernels;

/** Median microseconds per call of fn over 5 timings of `reps` calls. */
function time(fn) {
  for (let i = 0; i < Math.max(5, reps / 10); i++) fn();
  const runs = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) fn();
    runs.push(((performance.now() - t0) / reps) * 1000);
  }
  runs.sort((a, b) => a - b);
  return runs[2];
}

console.log(`bench:conv: backend ${nt.getBackend().name} (${nt.getBackend().describe()}), ${nt.getNumThreads()} thread(s); ${cpus()[0]?.model ?? 'unknown CPU'}`);
console.log('layer                          pass              µs/call   GFLOP/s');
for (const [name, N, C, H, O, K, P] of [
  ['conv1 1->6, 5x5, pad 2, 28x28', 64, 1, 28, 6, 5, 2],
  ['conv2 6->16, 5x5, 14x14', 64, 6, 14, 16, 5, 0],
]) {
  const OH = H + 2 * P - K + 1;
  const g = { batch: N, inChannels: C, inH: H, inW: H, outChannels: O, kernelH: K, kernelW: K, strideH: 1, strideW: 1, padH: P, padW: P, dilationH: 1, dilationW: 1, groups: 1, outH: OH, outW: OH };
  nt.seed(1);
  const x = nt.randn([N * C * H * H]).data;
  const w = nt.randn([O * C * K * K]).data;
  const b = nt.randn([O]).data;
  const y = nt.zeros([N * O * OH * OH]).data;
  const dx = nt.zeros([N * C * H * H]).data;
  const dw = nt.zeros([O * C * K * K]).data;
  const flops = 2 * N * O * OH * OH * C * K * K;
  for (const [pass, fn] of [
    ['forward', () => kernels.conv2d(x, w, b, y, g)],
    ['input gradient', () => kernels.conv2dBackwardInput(y, w, dx, g)],
    ['weight gradient', () => kernels.conv2dBackwardWeight(x, y, dw, g)],
  ]) {
    const us = time(fn);
    console.log(`${name.padEnd(31)}${pass.padEnd(16)}${us.toFixed(0).padStart(9)}${(flops / us / 1e3).toFixed(0).padStart(10)}`);
  }
}
