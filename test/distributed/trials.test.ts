// Hyper-parameter trials as BullMQ jobs on a private redis-server: each trial
// runs once on one of the worker processes and comes back in the order
// given; a trial that throws is retried and then reported with its error; a
// worker SIGKILLed mid-trial loses nothing: the trial runs again on the other.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as nt from '../../src/index.js';
import type { TrialParams } from './fixtures/trial.js';

const haveRedis = nt.distributed.redisServerInstalled();
if (!haveRedis) console.log('# distributed trials tests skipped: redis-server is not installed (Debian: apt-get install redis-server; .ci/run installs it)');

const script = new URL('./fixtures/trial.js', import.meta.url);
type Outcome = nt.distributed.TrialResult<TrialParams, { loss: number; pid: number }>;

describe('distributed: trials through a BullMQ queue', { skip: !haveRedis }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'neurite-trials-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('4 learning rates on 2 workers: each trial runs once, results in the order given, equal to the same trial run here; a failing one is retried then reported', async () => {
    const params: TrialParams[] = [{ lr: 0.3 }, { lr: 0.1 }, { lr: 0.01 }, { lr: 0.001 }, { lr: 0.1, fail: true }];
    const seen: number[] = [];
    const results = (await nt.distributed.runTrials(script, params, { workers: 2, attempts: 2, onResult: (r) => seen.push(r.index) })) as Outcome[];
    assert.deepEqual(
      results.map((r) => r.index),
      [0, 1, 2, 3, 4],
    );
    assert.deepEqual([...seen].sort(), [0, 1, 2, 3, 4]);
    for (const r of results.slice(0, 4)) {
      assert.equal(r.runs, 1, JSON.stringify(r));
      assert.ok(Number.isFinite(r.result?.loss), JSON.stringify(r));
    }
    // A trial is a plain function of its parameters: run here, it gives the same loss.
    const here = await (await import('./fixtures/trial.js')).default({ lr: 0.01 }, { index: 2, run: 0 });
    assert.equal(results[2].result?.loss, here.loss);
    assert.ok((results[3].result?.loss as number) > (results[1].result?.loss as number), 'lr 0.001 should be behind lr 0.1 after 5 epochs');
    assert.equal(results[4].result, undefined);
    assert.match(results[4].error ?? '', /trial 4 fails on purpose/);
    assert.equal(results[4].runs, 2);
  });

  it('a worker SIGKILLed in the middle of a trial: the trial runs again on the other worker and the job completes', async () => {
    const marks = mkdtempSync(join(dir, 'marks-'));
    const params: TrialParams[] = [{ lr: 0.1, markDir: marks, slowFirstRunMs: 20_000 }, { lr: 0.05 }, { lr: 0.02 }];
    const pids: number[] = [];
    let killed = 0;
    const watcher = setInterval(() => {
      const first = readdirSync(marks).find((f) => f.startsWith('trial-0-run-0-pid-'));
      if (first && killed === 0) {
        killed = Number(first.split('-').at(-1));
        process.kill(killed, 'SIGKILL');
      }
    }, 20);
    const started = performance.now();
    let results: Outcome[];
    try {
      results = (await nt.distributed.runTrials(script, params, { workers: 2, lockMs: 1000, onStart: (p) => pids.push(p.pid) })) as Outcome[];
    } finally {
      clearInterval(watcher);
    }
    assert.ok(killed > 0 && pids.includes(killed), 'the worker running trial 0 was not found');
    assert.ok(existsSync(marks));
    const rerun = readdirSync(marks).find((f) => f.startsWith('trial-0-run-1-pid-'));
    assert.ok(rerun, `trial 0 did not run again: ${readdirSync(marks).join(', ')}`);
    assert.notEqual(Number(rerun.split('-').at(-1)), killed);
    assert.ok(Number.isFinite(results[0].result?.loss));
    assert.notEqual(results[0].result?.pid, killed);
    assert.ok(results[0].runs >= 2, JSON.stringify(results[0]));
    assert.ok(results.every((r) => r.result !== undefined));
    // Well before the slow first run would have ended.
    assert.ok(performance.now() - started < 15_000, `took ${performance.now() - started} ms`);
  });

  it('a queue with no local workers is served by `neurite worker --trials` (as from another machine), which exits when it is drained', async () => {
    const { spawn } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const redis = await nt.distributed.startRedis();
    try {
      const queue = `trials-remote-${process.pid}`;
      const run = nt.distributed.runTrials(script, [{ lr: 0.1 }, { lr: 0.02 }], { workers: 0, queue, redis: redis.url, lockMs: 1000 });
      const bin = fileURLToPath(new URL('../../../bin/neurite.mjs', import.meta.url));
      const worker = spawn(process.execPath, [bin, 'worker', '--redis', redis.url, '--trials', queue, '--lock', '1', fileURLToPath(script)], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      worker.stderr?.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
      });
      const exited = new Promise<number | null>((resolve) => worker.on('exit', (code) => resolve(code)));
      const results = (await run) as Outcome[];
      assert.equal(results.length, 2);
      assert.ok(results.every((r) => Number.isFinite(r.result?.loss)));
      assert.equal(await exited, 0, stderr);
      assert.match(stderr, /ran 2 trial\(s\) from queue/);
    } finally {
      await redis.stop();
    }
  });

  it('bad arguments are refused', async () => {
    await assert.rejects(nt.distributed.runTrials(script, []), /params must be a non-empty array/);
    await assert.rejects(nt.distributed.runTrials(script, [{}], { attempts: 0 }), /attempts must be an integer >= 1/);
    await assert.rejects(nt.distributed.runTrials(script, [{}], { redis: 'http://x' }), /'http:\/\/x' is not a Redis URL/);
  });
});
