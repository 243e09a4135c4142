#!/usr/bin/env node
// `npm run bench:threads`: how neurite's native thread pool scales, and how it
// behaves when another process keeps a core busy (a laptop's browser, a shared
// server's neighbour). Each figure is the median of --repeat measurements,
// each in a fresh child process, one thread count after the other in every
// round so that load that comes and goes hits both alike.
//
// Targets (issue 11): on a quiet machine, two threads give at least 1.8x one
// thread on sgemm 1024^3 and 1.4x on mlp-wide and lenet5; with one other busy
// process, two threads are never more than 5% slower than one on any workload.
//
// Options: --seconds S (default 2), --repeat N (default 3), --only a,b,...,
// --threads N (the many-thread count, default: every core), --no-save.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScript } from './run-script.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = join(benchDir, '..');
const WORKLOADS = ['mlp-small', 'mlp-wide', 'lenet5', 'lstm', 'sgemm-1024'];
const SGEMM = { 'sgemm-1024': [1024, 1024, 1024, false, false] };

const opts = { seconds: 2, repeat: 3, only: WORKLOADS, threads: cpus().length, save: true };
for (let i = 2; i < process.argv.length; i++) {
  const [flag, inline] = process.argv[i].split(/=(.*)/s);
  const value = () => inline ?? process.argv[++i];
  if (flag === '--seconds') opts.seconds = Number(value());
  else if (flag === '--repeat') opts.repeat = Number(value());
  else if (flag === '--only') opts.only = value().split(',');
  else if (flag === '--threads') opts.threads = Number(value());
  else if (flag === '--no-save') opts.save = false;
  else throw new Error(`bench:threads: unknown option '${process.argv[i]}'`);
}
for (const w of opts.only) if (!WORKLOADS.includes(w)) throw new Error(`bench:threads: unknown workload '${w}'; known: ${WORKLOADS.join(', ')}`);
if (!(opts.threads >= 2)) throw new Error('bench:threads: needs at least 2 threads to compare with 1');

/** One measurement: neurite's native backend with `threads` threads on one workload. */
async function measure(workload, threads) {
  const arg = JSON.stringify({ backend: 'native', seconds: opts.seconds, workloads: [workload], sgemm: SGEMM });
  const r = await runScript(join(benchDir, 'workloads', 'neurite.mjs'), [arg], { cwd: root, env: { NEURITE_NUM_THREADS: String(threads) } });
  if (r === null) return { value: null, cpu: null };
  return { value: typeof r[workload] === 'number' ? r[workload] : null, cpu: r.cpuPerWall?.[workload] ?? null, describe: r.describe };
}

/** A process spinning on one core for as long as it lives. */
function busyProcess() {
  return spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
}

const median = (xs) => {
  const s = xs.filter((x) => x !== null).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const runs = [];
let describe = '';
const counts = [1, opts.threads];
for (let round = 1; round <= opts.repeat; round++) {
  for (const condition of ['quiet', 'busy']) {
    const busy = condition === 'busy' ? busyProcess() : null;
    if (busy) await new Promise((r) => setTimeout(r, 300));
    for (const workload of opts.only) {
      for (const threads of counts) {
        const r = await measure(workload, threads);
        if (r.describe) describe = r.describe;
        runs.push({ round, condition, workload, threads, ...r });
        process.stderr.write(
          `[round ${round}] ${condition.padEnd(5)} ${workload.padEnd(11)} ${threads} thread(s): ${r.value === null ? 'error' : Math.round(r.value).toLocaleString('en-US')}\n`,
        );
      }
    }
    busy?.kill('SIGKILL');
  }
}

const fig = (condition, workload, threads) =>
  median(runs.filter((r) => r.condition === condition && r.workload === workload && r.threads === threads).map((r) => r.value));
const spread = (condition, workload, threads) => {
  const v = runs.filter((r) => r.condition === condition && r.workload === workload && r.threads === threads && r.value !== null).map((r) => r.value);
  const m = median(v);
  return v.length > 1 && m ? (Math.max(...v) - Math.min(...v)) / 2 / m : 0;
};
const fmt = (v) => (v === null ? 'error' : v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1));
const cellOf = (c, w, t) => `${fmt(fig(c, w, t))} ±${(spread(c, w, t) * 100).toFixed(0)}%`;
const QUIET_TARGET = { 'sgemm-1024': 1.8, 'mlp-wide': 1.4, lenet5: 1.4 };
const BUSY_TARGET = 0.95;

const header = ['workload', 'quiet 1t', `quiet ${opts.threads}t`, 'ratio', 'busy 1t', `busy ${opts.threads}t`, 'ratio', 'targets'];
const body = opts.only.map((w) => {
  const q = fig('quiet', w, opts.threads) / fig('quiet', w, 1);
  const b = fig('busy', w, opts.threads) / fig('busy', w, 1);
  const verdicts = [];
  if (QUIET_TARGET[w]) verdicts.push(`quiet >= ${QUIET_TARGET[w]}x ${q >= QUIET_TARGET[w] ? 'met' : 'missed'}`);
  verdicts.push(`busy >= ${BUSY_TARGET}x ${b >= BUSY_TARGET ? 'met' : 'missed'}`);
  return [
    w,
    cellOf('quiet', w, 1),
    cellOf('quiet', w, opts.threads),
    `${q.toFixed(2)}x`,
    cellOf('busy', w, 1),
    cellOf('busy', w, opts.threads),
    `${b.toFixed(2)}x`,
    verdicts.join(', '),
  ];
});
const widths = header.map((h, c) => Math.max(h.length, ...body.map((r) => r[c].length)));
const line = (cells) => cells.map((s, c) => (c === 0 || c === 7 ? s.padEnd(widths[c]) : s.padStart(widths[c]))).join('  ');
const cpu = cpus()[0]?.model ?? 'unknown CPU';
const text = [
  '',
  `neurite thread pool: 1 vs ${opts.threads} threads, quiet and with one other process spinning on a core; median of ${opts.repeat}, ±half the range; ${opts.seconds} s per measurement`,
  '',
  line(header),
  widths.map((w) => '-'.repeat(w)).join('  '),
  ...body.map(line),
  '',
  `CPU: ${cpu}, ${cpus().length} cores; load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}; ${describe}`,
];
if (opts.save) {
  const dir = join(benchDir, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `threads-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), options: opts, cpu, runs, table: body }, null, 2)}\n`);
  text.push('', `Results: ${relative(root, file)}`);
}
console.log(text.join('\n'));
