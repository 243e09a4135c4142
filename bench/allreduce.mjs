#!/usr/bin/env node
// `npm run bench:allreduce`: the all-reduce under `neurite launch --mode sync`
// (neurite's Gloo binding, 2 processes on 127.0.0.1) against PyTorch's gloo
// backend (Debian's python3-torch, torch.distributed, 2 processes), and
// neurite's Redis collectives (--collectives redis, 2 processes through a private
// redis-server) and neurite's shared-memory all-reduce between 2 threads (sync-threads), on
// float32 arrays of 100k and 1M values: median milliseconds per all-reduce
// over --repeat calls after 10 warm-up calls, with the range. Issue 15's
// target: 1M values across 2 processes no slower than PyTorch's gloo.
//
// Options: --repeat N (default 200), --no-torch.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as nt from '../dist/src/index.js';

const benchDir = dirname(fileURLToPath(import.meta.url));
const opts = { repeat: 200, torch: true };
for (let i = 2; i < process.argv.length; i++) {
  const [flag, inline] = process.argv[i].split(/=(.*)/s);
  if (flag === '--repeat') opts.repeat = Number(inline ?? process.argv[++i]);
  else if (flag === '--no-torch') opts.torch = false;
  else throw new Error(`bench:allreduce: unknown option '${process.argv[i]}'`);
}
const COUNTS = [100_000, 1_000_000];
const stats = (times) => {
  const s = [...times].sort((a, b) => a - b);
  return { median: s[s.length >> 1], min: s[0], max: s.at(-1) };
};

// One rank of the Gloo or threads measurement, when this file runs as a replica.
if (process.env.NEURITE_DISTRIBUTED || !(await import('node:worker_threads')).isMainThread) {
  const replica = nt.distributed.init();
  const { count, repeat } = replica.data;
  const x = new Float32Array(count).fill(replica.rank + 1);
  await replica.group.reserve(count);
  for (let i = 0; i < 10; i++) replica.group.allReduce(x);
  const times = [];
  for (let i = 0; i < repeat; i++) {
    replica.group.barrier();
    const t0 = performance.now();
    replica.group.allReduce(x);
    times.push(performance.now() - t0);
  }
  await replica.report(stats(times));
  if (process.env.NEURITE_DISTRIBUTED) process.exit(0);
} else {
  const script = new URL(import.meta.url);
  const rows = [];
  const glooMissing = nt.distributed.glooUnavailableReason() ?? (nt.distributed.redisServerInstalled() ? null : 'redis-server is not installed');
  const python = '/usr/bin/python3';
  const torchOk = opts.torch && existsSync(python) && spawnSync(python, ['-c', 'import torch.distributed as d; assert d.is_gloo_available()']).status === 0;
  for (const count of COUNTS) {
    const row = { count };
    if (glooMissing === null) {
      const r = await nt.distributed.launch(script, { workers: 2, mode: 'sync', collectives: 'gloo', threadsPerWorker: 1, data: { count, repeat: opts.repeat } });
      row.gloo = r.results[0];
    }
    if (nt.distributed.redisServerInstalled()) {
      const r = await nt.distributed.launch(script, { workers: 2, mode: 'sync', collectives: 'redis', threadsPerWorker: 1, data: { count, repeat: opts.repeat } });
      row.redis = r.results[0];
    }
    const t = await nt.distributed.launch(script, { workers: 2, mode: 'sync-threads', threadsPerWorker: 1, data: { count, repeat: opts.repeat } });
    row.threads = t.results[0];
    if (torchOk) {
      const port = 29500 + Math.floor(Math.random() * 1000);
      const ranks = [0, 1].map(
        (rank) =>
          new Promise((resolve) => {
            const child = spawn(python, [join(benchDir, 'allreduce_peer.py'), String(rank), '2', String(port), String(count), String(opts.repeat)], {
              stdio: ['ignore', 'pipe', 'inherit'],
              env: { ...process.env, OMP_NUM_THREADS: '1' },
            });
            let out = '';
            child.stdout.on('data', (d) => {
              out += d;
            });
            child.on('close', () => resolve(out.trim()));
          }),
      );
      const [first] = await Promise.all(ranks);
      try {
        row.torch = JSON.parse(first);
      } catch {
        row.torch = null;
      }
    }
    rows.push(row);
  }
  const cell = (s) => (s ? `${s.median.toFixed(2)} ms (${s.min.toFixed(2)}-${s.max.toFixed(2)})` : '-');
  const torchVersion = rows.find((r) => r.torch)?.torch?.torch;
  console.log(`\nall-reduce of float32 values between 2 ranks: median over ${opts.repeat} calls (min-max)\n`);
  console.log(
    ['values', 'neurite Gloo (processes)', `PyTorch ${torchVersion ?? ''} gloo (processes)`, 'neurite Redis (processes)', 'neurite shared memory (threads)', 'Gloo / PyTorch'].join(
      ' | ',
    ),
  );
  for (const r of rows) {
    const ratio = r.gloo && r.torch ? `${(r.gloo.median / r.torch.median).toFixed(2)}x the time` : '-';
    console.log([r.count.toLocaleString('en-US'), cell(r.gloo), cell(r.torch), cell(r.redis), cell(r.threads), ratio].join(' | '));
  }
  if (glooMissing) console.log(`neurite Gloo: not measured (${glooMissing})`);
  if (!torchOk) console.log('PyTorch: not measured (no /usr/bin/python3 with torch.distributed gloo, or --no-torch)');
  console.log(`\nCPU: ${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}
