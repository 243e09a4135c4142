#!/usr/bin/env node
// `npm run bench:buckets`: what sending gradients in buckets during backward
// buys synchronous data parallelism across 2 processes through Gloo. Each
// configuration trains the bench's MNIST slice with fit() (eager: a compiled
// step's replay runs no hooks, so it always all-reduces after backward) on 2
// worker processes, one backend thread each, with a private redis-server for
// the rendezvous:
//
//   one worker     one process, eager, no distribution (the yardstick)
//   after bwd      bucketBytes 0: one all-reduce of every gradient after backward
//                  (the launcher's default when all workers run on this machine)
//   64 KiB         buckets of 64 KiB, each sent as backward finishes it
//   256 KiB        the launcher's default when workers join from other machines
//   compiled       bucketBytes 0 with fit's compile option (what a user who
//                  wants speed runs today), for scale
//
// Rounds interleave the configurations so that passing load hits all alike;
// figures are medians of the rounds with ±half the range. The ratio that
// matters is each bucketed column over "after bwd": same work, same transport,
// only the overlap differs.
//
// Options: --seconds S (timed seconds per measurement, default 2), --repeat N
// (default 3), --only mlp-small,lenet5,..., --no-save.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as nt from '../dist/src/index.js';
import { runScript } from './run-script.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = join(benchDir, '..');
const replicaScript = join(benchDir, 'workloads', 'replica.mjs');
const SAMPLES = 8192;
const CASES = [
  { workload: 'mlp-small', batch: 256 },
  { workload: 'mlp-wide', batch: 256 },
  { workload: 'lenet5', batch: 256 },
];
const CONFIGS = [
  { name: 'one worker' },
  { name: 'after bwd', bucketBytes: 0 },
  { name: '64 KiB', bucketBytes: 64 * 1024 },
  { name: '256 KiB', bucketBytes: 256 * 1024 },
  { name: 'compiled', bucketBytes: 0, compile: true },
];

const opts = { seconds: 2, repeat: 3, only: null, save: true };
for (let i = 2; i < process.argv.length; i++) {
  const [flag, inline] = process.argv[i].split(/=(.*)/s);
  const value = () => inline ?? process.argv[++i];
  if (flag === '--seconds') opts.seconds = Number(value());
  else if (flag === '--repeat') opts.repeat = Number(value());
  else if (flag === '--only') opts.only = value().split(',');
  else if (flag === '--no-save') opts.save = false;
  else throw new Error(`bench:buckets: unknown option '${process.argv[i]}'`);
}
const missing = nt.distributed.redisServerInstalled() ? nt.distributed.glooUnavailableReason() : 'redis-server is not installed';
if (missing !== null) {
  console.log(`bench:buckets: skipped: ${missing} (Debian: apt-get install libgloo-dev libhiredis-dev redis-server, then npm rebuild)`);
  process.exit(0);
}
const cases = CASES.filter((c) => opts.only === null || opts.only.includes(c.workload));

async function measure(config, run) {
  if (config.bucketBytes === undefined) {
    const r = await runScript(replicaScript, [JSON.stringify({ ...run, threads: 1 })], { cwd: root, env: { NEURITE_NUM_THREADS: '1' } });
    return r === null ? null : { samplesPerSecond: r.samplesPerSecond, stepMs: r.stepMs };
  }
  try {
    const r = await nt.distributed.launch(pathToFileURL(replicaScript), {
      workers: 2,
      mode: 'sync',
      collectives: 'gloo',
      bucketBytes: config.bucketBytes,
      threadsPerWorker: 1,
      seed: 7,
      data: { ...run, compile: config.compile ?? false },
    });
    const reports = r.results.filter((x) => x !== undefined && x !== null);
    if (reports.length !== 2) return null;
    return { samplesPerSecond: reports.reduce((s, x) => s + x.samplesPerSecond, 0), stepMs: Math.max(...reports.map((x) => x.stepMs)) };
  } catch (e) {
    process.stderr.write(`  ${config.name}: ${e.message}\n`);
    return null;
  }
}

const median = (xs) => {
  const s = xs.filter((x) => x !== null && x !== undefined).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// Epochs per case: enough for opts.seconds of timed training in one eager worker.
for (const c of cases) {
  const probe = await measure(CONFIGS[0], { workload: c.workload, batchSize: c.batch, samples: SAMPLES, epochs: 2 });
  const epochSeconds = probe ? SAMPLES / probe.samplesPerSecond : 1;
  c.epochs = 1 + Math.max(1, Math.ceil(opts.seconds / epochSeconds));
  process.stderr.write(`${c.workload} b${c.batch}: ${c.epochs} epochs (${epochSeconds.toFixed(3)} s each in one worker)\n`);
}

const runs = [];
for (let round = 1; round <= opts.repeat; round++) {
  for (const c of cases) {
    for (const config of CONFIGS) {
      const r = await measure(config, { workload: c.workload, batchSize: c.batch, samples: SAMPLES, epochs: c.epochs });
      runs.push({ round, workload: c.workload, batch: c.batch, config: config.name, ...(r ?? { samplesPerSecond: null }) });
      process.stderr.write(
        `[round ${round}] ${`${c.workload} b${c.batch}`.padEnd(15)} ${config.name.padEnd(10)} ${r ? `${Math.round(r.samplesPerSecond).toLocaleString('en-US')} samples/s, step ${r.stepMs.toFixed(1)} ms` : 'failed'}\n`,
      );
    }
  }
}

const pick = (c, name) => runs.filter((r) => r.workload === c.workload && r.batch === c.batch && r.config === name);
const fig = (c, name, key = 'samplesPerSecond') => median(pick(c, name).map((r) => r[key]));
const cell = (c, name) => {
  const v = pick(c, name)
    .map((r) => r.samplesPerSecond)
    .filter((x) => x !== null);
  const m = median(v);
  if (m === null) return '-';
  return `${Math.round(m).toLocaleString('en-US')} ±${(v.length > 1 ? ((Math.max(...v) - Math.min(...v)) / 2 / m) * 100 : 0).toFixed(0)}%`;
};
const over = (c, a, b) => {
  const x = fig(c, a);
  const y = fig(c, b);
  return x === null || y === null ? '-' : `${(x / y).toFixed(2)}x`;
};
// The workloads' parameter counts, from the models replica.mjs builds.
const count = (m) => m.parameters().reduce((n, p) => n + p.size, 0);
const paramsOf = {
  'mlp-small': count(new nt.nn.Sequential(new nt.nn.Linear(784, 128), new nt.nn.ReLU(), new nt.nn.Linear(128, 10))),
  'mlp-wide': count(
    new nt.nn.Sequential(new nt.nn.Linear(784, 512), new nt.nn.ReLU(), new nt.nn.Linear(512, 512), new nt.nn.ReLU(), new nt.nn.Linear(512, 10)),
  ),
  lenet5: count(nt.models.lenet5()),
};
const header = ['workload', 'params', 'step (after bwd)', ...CONFIGS.map((c) => c.name), '64K/after', '256K/after'];
const body = cases.map((c) => [
  `${c.workload} b${c.batch}`,
  paramsOf[c.workload].toLocaleString('en-US'),
  `${fig(c, 'after bwd', 'stepMs')?.toFixed(1) ?? '-'} ms`,
  ...CONFIGS.map((config) => cell(c, config.name)),
  over(c, '64 KiB', 'after bwd'),
  over(c, '256 KiB', 'after bwd'),
]);
const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
const line = (cells) => cells.map((s, i) => (i === 0 ? s.padEnd(widths[i]) : s.padStart(widths[i]))).join('  ');
const cpu = cpus()[0]?.model ?? 'unknown CPU';
const flags = /avx512f/.test(readFileSync('/proc/cpuinfo', 'utf8')) ? 'AVX-512' : 'no AVX-512';
const text = [
  '',
  `neurite gradient buckets, sync across 2 processes through Gloo: samples/s of the job, median of ${opts.repeat} rounds, ±half the range; ${opts.seconds} s timed per measurement; batch per replica`,
  '',
  line(header),
  widths.map((w) => '-'.repeat(w)).join('  '),
  ...body.map(line),
  '',
  `CPU: ${cpu} (${flags}), ${cpus().length} cores; load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}; backend ${nt.getBackend().describe()}`,
];
if (opts.save) {
  const dir = join(benchDir, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `buckets-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), options: opts, cpu, cases, runs, table: body }, null, 2)}\n`);
  text.push('', `Results: ${relative(root, file)}`);
}
console.log(text.join('\n'));
