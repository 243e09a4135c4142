#!/usr/bin/env node
// Microbenchmark of the native sgemm (build/Release/neurite_native.node).
// Usage: node bench/sgemm.mjs [--quick] [--isa=avx2|avx512|scalar] [--dgemm]
// Prints GFLOP/s (best of several timed batches) for 1 and 2 threads.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
let addon;
try {
  addon = require(join(root, 'build', 'Release', 'neurite_native.node'));
} catch (err) {
  console.log(`native addon not built (${err.message.split('\n')[0]}); run: node scripts/build-native.mjs`);
  process.exit(0);
}

const quick = process.argv.includes('--quick');
const isaArg = process.argv.find((a) => a.startsWith('--isa='));
if (isaArg) addon.setIsa(isaArg.slice(6));
const useDouble = process.argv.includes('--dgemm');
const Arr = useDouble ? Float64Array : Float32Array;
const gemm = useDouble ? addon.dgemm : addon.sgemm;

const f = addon.cpuFeatures();
console.log(
  `neurite native ${useDouble ? 'dgemm' : 'sgemm'}: isa=${f.isa} (detected ${f.detectedIsa}), tile ${
    useDouble ? f.dgemmTile.join('x') : f.sgemmTile.join('x')
  }, maxThreads=${f.maxThreads}`,
);

function rand(n) {
  const a = new Arr(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    a[i] = s / 4294967296 - 0.5;
  }
  return a;
}

// C[m,n] = op(A) op(B); A stored [k,m] if transA, B stored [n,k] if transB.
function bench(m, n, k, transA, transB) {
  const a = rand(m * k);
  const b = rand(k * n);
  const c = new Arr(m * n);
  const lda = transA ? m : k;
  const ldb = transB ? k : n;
  const flop = 2 * m * n * k;
  const run = () => gemm(transA, transB, m, n, k, 1, a, lda, b, ldb, 0, c, n);
  run();
  run();
  // Batches of ~2 ms (a single call when it is longer); the best batch is
  // reported, which filters out time slices lost to other processes.
  let t0 = performance.now();
  run();
  const once = Math.max(performance.now() - t0, 1e-3);
  const reps = Math.max(1, Math.min(20000, Math.round(2 / once)));
  const batches = Math.max(quick ? 5 : 20, Math.round((quick ? 100 : 400) / (once * reps)));
  let best = Infinity;
  for (let r = 0; r < batches; r++) {
    t0 = performance.now();
    for (let i = 0; i < reps; i++) run();
    const t = (performance.now() - t0) / reps;
    if (t < best) best = t;
  }
  return flop / (best * 1e6); // GFLOP/s
}

const cases = [
  ['128^3', 128, 128, 128, false, false],
  ['512^3', 512, 512, 512, false, false],
  ['1024^3', 1024, 1024, 1024, false, false],
  ['1024^3 A^T', 1024, 1024, 1024, true, false],
  ['1024^3 B^T', 1024, 1024, 1024, false, true],
  ['1024^3 A^T B^T', 1024, 1024, 1024, true, true],
  ['(128x784)(784x512)', 128, 512, 784, false, false],
  ['same, A stored transposed', 128, 512, 784, true, false],
  ['same, B stored transposed', 128, 512, 784, false, true],
  ['bwd dW = X^T dY (784x128)(128x512)', 784, 512, 128, true, false],
  ['bwd dX = dY W^T (128x512)(512x784)', 128, 784, 512, false, true],
];

const threadCounts = f.maxThreads > 1 ? [1, 2] : [1];
const header = ['problem'.padEnd(36), ...threadCounts.map((t) => `${t} thread${t > 1 ? 's' : ''}`.padStart(11))];
console.log(header.join(' '));
for (const [name, m, n, k, ta, tb] of cases) {
  const cols = [name.padEnd(36)];
  for (const t of threadCounts) {
    addon.setNumThreads(t);
    cols.push(bench(m, n, k, ta, tb).toFixed(1).padStart(11));
  }
  console.log(cols.join(' '));
}
console.log('(GFLOP/s, best ~2 ms batch over ~0.4 s per entry)');
addon.setNumThreads(f.maxThreads);
