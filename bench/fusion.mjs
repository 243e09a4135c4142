#!/usr/bin/env node
// `npm run bench:fusion`: what fusion in compiled steps is worth. Each
// workload trains as a compiled step on the native backend (one thread), with
// fusion (the default) and with compile({fuse: false}), each measurement in a
// fresh child process, the two alternating in every round so that load that
// comes and goes hits both alike. Prints the medians with their spread, the
// CPU time per wall second, what each plan fused and the memory it planned.
//
// Both columns are neurite: this is an ablation, not a comparison with a peer
// (`npm run bench` has those). The numbers of the two are the same bit for bit
// (test/compile/compile.test.ts); only the time differs.
//
// Options: --seconds S (default 2), --repeat N (default 5), --only a,b,..., --no-save.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runScript } from './run-script.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = join(benchDir, '..');
const WORKLOADS = ['mlp-small', 'mlp-wide', 'mlp-sigmoid-tanh', 'lenet5', 'lstm'];

const opts = { seconds: 2, repeat: 5, only: WORKLOADS, save: true };
for (let i = 2; i < process.argv.length; i++) {
  const [flag, inline] = process.argv[i].split(/=(.*)/s);
  const value = () => inline ?? process.argv[++i];
  if (flag === '--seconds') opts.seconds = Number(value());
  else if (flag === '--repeat') opts.repeat = Number(value());
  else if (flag === '--only') opts.only = value().split(',');
  else if (flag === '--no-save') opts.save = false;
  else throw new Error(`bench:fusion: unknown option '${process.argv[i]}'`);
}
for (const w of opts.only) if (!WORKLOADS.includes(w)) throw new Error(`bench:fusion: unknown workload '${w}'; known: ${WORKLOADS.join(', ')}`);

/** One measurement in a fresh process: samples/s, CPU s per wall s, the plan and its memory. */
async function measure(workload, fuse) {
  const arg = JSON.stringify({ backend: 'native', seconds: opts.seconds, workloads: [workload], compile: true, fuse });
  const r = await runScript(join(benchDir, 'workloads', 'neurite.mjs'), [arg], { cwd: root, env: { NEURITE_NUM_THREADS: '1' }, nodeFlags: ['--single-threaded-gc'] });
  if (r === null || typeof r[workload] !== 'number') {
    console.error(`bench:fusion: ${workload} (fuse ${fuse}) failed: ${JSON.stringify(r?.[workload] ?? null)}`);
    return null;
  }
  return { value: r[workload], cpu: r.cpuPerWall?.[workload] ?? null, plan: r.compilePlan?.[workload] ?? null, memory: r.compileMemory?.[workload] ?? null, describe: r.describe };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const spread = (xs) => (xs.length > 1 ? (Math.max(...xs) - Math.min(...xs)) / 2 / median(xs) : 0);

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const loadBefore = loadavg();
console.log(`bench:fusion: ${opts.only.length} workloads x 2 x ${opts.repeat} rounds of ${opts.seconds} s, native backend, 1 thread, compiled steps`);
const runs = Object.fromEntries(opts.only.map((w) => [w, { true: [], false: [] }]));
const last = {};
let describe = '';
for (let round = 1; round <= opts.repeat; round++) {
  for (const w of opts.only) {
    // Alternate which goes first, so neither always follows the other.
    for (const fuse of round % 2 ? [true, false] : [false, true]) {
      const r = await measure(w, fuse);
      if (r === null) continue;
      runs[w][fuse].push(r);
      last[`${w}:${fuse}`] = r;
      describe = r.describe ?? describe;
      console.log(
        `[round ${round}] ${w.padEnd(17)} fuse ${String(fuse).padEnd(5)} ${Math.round(r.value).toLocaleString('en-US')} samples/s [${r.cpu?.toFixed(2) ?? '?'} CPU s/s]`,
      );
    }
  }
}
const loadAfter = loadavg();

const rows = [];
console.log(
  '\nworkload            fused samples/s        unfused samples/s      fused / unfused   fused by the plan                                   planned buffers fused / unfused',
);
for (const w of opts.only) {
  const on = runs[w].true.map((r) => r.value);
  const off = runs[w].false.map((r) => r.value);
  if (on.length === 0 || off.length === 0) continue;
  const plan = last[`${w}:true`]?.plan?.fused;
  const memOn = last[`${w}:true`]?.memory?.plannedBytes;
  const memOff = last[`${w}:false`]?.memory?.plannedBytes;
  const fmt = (xs) => `${Math.round(median(xs)).toLocaleString('en-US')} ±${(100 * spread(xs)).toFixed(1)}%`;
  const what = plan ? `${plan.programKernels} kernels in ${plan.programs} programs, ${plan.functionKernels} in ${plan.functions} functions` : '?';
  const row = {
    workload: w,
    fused: median(on),
    unfused: median(off),
    ratio: median(on) / median(off),
    spreadFused: spread(on),
    spreadUnfused: spread(off),
    fusedByPlan: plan,
    plannedBytes: { fused: memOn, unfused: memOff },
  };
  rows.push(row);
  console.log(
    `${w.padEnd(18)}  ${fmt(on).padEnd(21)}  ${fmt(off).padEnd(21)}  ${row.ratio.toFixed(2)}x`.padEnd(86) +
      `  ${what.padEnd(50)}  ${((memOn ?? 0) / 1e6).toFixed(2)} / ${((memOff ?? 0) / 1e6).toFixed(2)} MB`,
  );
}
console.log(`\nCPU: ${cpu}, ${cpus().length} cores; ${describe}`);
console.log(`load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ${loadAfter.map((x) => x.toFixed(2)).join(' ')} after`);
if (opts.save) {
  const dir = join(benchDir, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `fusion-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
  writeFileSync(
    file,
    `${JSON.stringify({ date: new Date().toISOString(), neurite: version, cpu, cores: cpus().length, describe, loadBefore, loadAfter, options: opts, rows, runs }, null, 2)}\n`,
  );
  console.log(`Results: ${relative(root, file)}`);
}
