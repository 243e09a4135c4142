#!/usr/bin/env node
// `npm run bench:ops`: the eager tensor ops a user writes by hand (x * 2,
// x.clamp(a, b), softmax, w.t(), x.gt(0), ...) on 512 x 512 float32 tensors,
// one thread, no autograd: neurite on each CPU backend against PyTorch
// (bench/ops_peer.py, run as bench/pytorch.mjs sets it up: one thread,
// TCMalloc where installed, OpenBLAS's kernels for this CPU).
//
// Each library runs in its own process, `--reps` times (default 5), the
// processes interleaved so that load on the machine falls on all alike. In a
// run every op is called for at least 20 calls and 0.1 s to warm up (V8's and
// PyTorch's first calls alike; the wasm backend's first calls grow its
// memory), then for about 0.1 s; the figure is the median over the runs of
// microseconds per call, with its spread ((max - min) / median) and the CPU
// time per call beside it. PyTorch's 512^3 product prints its GFLOP/s as its
// sanity figure. Writes bench/results/ops-<date>.json.
//
//   node bench/ops.mjs [--reps 5] [--backends native,wasm] [--no-pytorch]
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PYTHON, probePytorch, pytorchEnv } from './pytorch.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
};

/** The ops, as neurite calls them; bench/ops_peer.py has PyTorch's under the same names. */
function neuriteOps(nt) {
  nt.seed(1);
  const A = nt.rand([512, 512]).sub(0.5);
  const B = nt.rand([512, 512]).sub(0.5);
  const v = nt.rand([512]);
  const col = nt.rand([512, 1]);
  const X4 = nt.rand([32, 16, 32, 32]);
  const idx = nt.tensor(Int32Array.from({ length: 512 }, (_, i) => (i * 7) % 512), { shape: [512], dtype: 'int32' });
  return {
    transpose: () => A.transpose(0, 1),
    'permute NCHW->NHWC': () => X4.permute([0, 2, 3, 1]),
    add: () => A.add(B),
    'add row (bias)': () => A.add(v),
    'add column': () => A.add(col),
    'mul scalar': () => A.mul(2),
    'maximum scalar': () => A.maximum(0.1),
    clamp: () => A.clamp(-0.1, 0.1),
    'pow 2': () => A.pow(2),
    'gt scalar': () => A.gt(0),
    'sum axis 1': () => A.sum(1),
    'max axis 1': () => A.max(1),
    'softmax axis 1': () => nt.softmax(A, 1),
    'softmax axis 0': () => nt.softmax(A, 0),
    exp: () => A.exp(),
    tanh: () => A.tanh(),
    'cat axis 1': () => nt.concat([A, B], 1),
    index_select: () => A.indexSelect(0, idx),
    'argmax axis 1': () => A.argmax(1),
    where: () => nt.where(A.gt(0), A, B),
    'matmul 512': () => A.matmul(B),
  };
}

/** In a child process: time every op on one backend and print {describe, ops}. */
async function worker(backend) {
  const nt = await import('../dist/src/index.js');
  nt.setBackend(backend);
  nt.setNumThreads(1);
  await nt.backendReady();
  const ops = neuriteOps(nt);
  const out = {};
  nt.noGrad(() => {
    for (const [name, f] of Object.entries(ops)) {
      // Warm-up: at least 20 calls and 0.1 s (the wasm backend's first calls grow its memory).
      const warm = performance.now();
      for (let i = 0; i < 20 || performance.now() - warm < 100; i++) f();
      let n = 0;
      const c0 = process.cpuUsage();
      const w0 = performance.now();
      while (performance.now() - w0 < 100) {
        f();
        n++;
      }
      const wall = performance.now() - w0;
      const cpu = process.cpuUsage(c0);
      out[name] = { us: (wall * 1000) / n, cpuUs: (cpu.user + cpu.system) / n };
    }
  });
  console.log(JSON.stringify({ describe: nt.getBackend().describe(), threads: nt.getNumThreads(), ops: out }));
}

if (argv[0] === '--worker') {
  await worker(argv[1]);
  process.exit(0);
}

const reps = Number(option('--reps', '5'));
const backends = option('--backends', 'native,wasm').split(',');
const withPytorch = !argv.includes('--no-pytorch');
const probe = withPytorch ? probePytorch() : { error: 'skipped (--no-pytorch)' };

const libraries = [
  ...backends.map((b) => ({ id: `neurite-${b}`, run: () => spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--worker', b], { encoding: 'utf8', env: { ...process.env, NEURITE_NUM_THREADS: '1' } }) })),
  ...(probe.error
    ? []
    : [{ id: 'pytorch', run: () => spawnSync(PYTHON, [join(here, 'ops_peer.py')], { encoding: 'utf8', env: { ...process.env, ...pytorchEnv(1) } }) }]),
];
if (probe.error) console.log(`bench:ops: PyTorch not measured: ${probe.error}`);

const cpuInfo = readFileSync('/proc/cpuinfo', 'utf8');
const isa = /\bavx512f\b/.test(cpuInfo) ? 'AVX-512' : /\bavx2\b/.test(cpuInfo) ? 'AVX2' : 'no AVX2';
const loadBefore = loadavg()[0];
console.log(`bench:ops: ${cpus()[0]?.model ?? 'unknown CPU'} (${isa}), ${cpus().length} cores, load ${loadBefore.toFixed(2)}; ${reps} interleaved runs per library, one thread each`);

const runs = Object.fromEntries(libraries.map((l) => [l.id, []]));
const describe = {};
for (let r = 0; r < reps; r++) {
  // Rotate the order, so that no library always runs first (or right after another).
  for (let i = 0; i < libraries.length; i++) {
    const lib = libraries[(i + r) % libraries.length];
    const res = lib.run();
    const line = res.stdout?.trim().split('\n').at(-1);
    if (res.status !== 0 || !line) throw new Error(`bench:ops: ${lib.id} failed (${res.status}): ${res.stderr}`);
    const parsed = JSON.parse(line);
    describe[lib.id] = parsed.describe ?? `PyTorch ${parsed.version}, ${parsed.threads} thread`;
    runs[lib.id].push(parsed.ops);
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const figures = {};
for (const [id, list] of Object.entries(runs)) {
  figures[id] = {};
  for (const op of Object.keys(list[0])) {
    const us = list.map((o) => o[op].us);
    const med = median(us);
    figures[id][op] = { us: med, spread: (Math.max(...us) - Math.min(...us)) / med, cpuUs: median(list.map((o) => o[op].cpuUs)), n: us.length };
  }
}

const ids = libraries.map((l) => l.id);
for (const id of ids) console.log(`  ${id}: ${describe[id]}`);
if (figures.pytorch?.['matmul 512']) {
  const gflops = (2 * 512 ** 3) / figures.pytorch['matmul 512'].us / 1e3;
  console.log(`  PyTorch sanity: its 512^3 product at ${gflops.toFixed(0)} GFLOP/s (OpenBLAS ${probe.openblasCore ?? '?'} kernels)`);
}
const cell = (f) => (f ? `${f.us.toFixed(0)} ±${(f.spread * 100).toFixed(0)}% (cpu ${f.cpuUs.toFixed(0)})` : '-');
const header = ['op', ...ids.map((id) => `${id} µs`), ...(figures.pytorch ? ids.filter((id) => id !== 'pytorch').map((id) => `PyTorch / ${id.replace('neurite-', '')}`) : [])];
console.log(`\n| ${header.join(' | ')} |\n|${header.map(() => ' --- ').join('|')}|`);
for (const op of Object.keys(figures[ids[0]])) {
  const ratios = figures.pytorch
    ? ids.filter((id) => id !== 'pytorch').map((id) => `${(figures.pytorch[op].us / figures[id][op].us).toFixed(2)}x`)
    : [];
  console.log(`| ${op} | ${ids.map((id) => cell(figures[id][op])).join(' | ')} | ${ratios.join(' | ')} |`);
}
console.log('\n(a ratio above 1: neurite takes less time per call than PyTorch)');

const loadAfter = loadavg()[0];
const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
mkdirSync(join(here, 'results'), { recursive: true });
const file = join(here, 'results', `ops-${stamp}.json`);
writeFileSync(
  file,
  `${JSON.stringify({ date: new Date().toISOString(), machine: { cpu: cpus()[0]?.model, isa, cores: cpus().length, loadBefore, loadAfter }, reps, describe, pytorch: probe, figures }, null, 2)}\n`,
);
console.log(`bench:ops: load ${loadAfter.toFixed(2)} at the end; wrote ${file}`);
