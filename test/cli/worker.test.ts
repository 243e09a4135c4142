// Jobs that span machines, on loopback: `neurite launch --local-workers K`
// publishes the job in Redis and `neurite worker` processes (standing in for
// other machines) join it; the emitted Slurm script runs under a stand-in
// srun; mistakes (another version, a worker that never comes, a worker that
// dies) end within seconds with a message naming them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type AsyncJobInfo, recordCheckpoint } from '../../src/distributed/redis.js';
import * as nt from '../../src/index.js';
import { BIN, neurite, type RunResult, start, tempDir } from './run.js';

const haveRedis = nt.distributed.redisServerInstalled();
const haveGloo = nt.distributed.glooUnavailableReason() === null;
if (!haveRedis) console.log('# neurite worker tests skipped: redis-server is not installed (Debian: apt-get install redis-server; .ci/run installs it)');
else if (!haveGloo) console.log(`# neurite worker sync tests skipped: ${nt.distributed.glooUnavailableReason()} (.ci/run installs libgloo-dev)`);

let dir: string;
let cleanup: () => void;
before(() => {
  ({ dir, cleanup } = tempDir('worker'));
});
after(() => cleanup());

/** The xor run every sync comparison makes: batch 8 per replica, 3 epochs. */
const XOR_RUN = ['train', 'xor', '--batch-size', '8', '--epochs', '3'];

/** The xor run of the elastic jobs: 5 epochs of batch 4 per replica into `out`. */
const elasticXor = (out: string) => ['train', 'xor', '--batch-size', '4', '--epochs', '5', '--out', out];

const lossesOf = (run: string) => (JSON.parse(readFileSync(join(dir, run, 'history.json'), 'utf8')) as { series: Record<string, number[]> }).series.loss;

test("VERSION, which replicas compare, is package.json's version, and neurite --version prints it", async () => {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal(nt.VERSION, pkg.version);
  const r = await neurite(['--version'], dir);
  assert.equal(r.stdout.trim(), `neurite ${pkg.version}`);
});

test('launch --emit k8s prints an Indexed Job whose pod 0 launches and whose other pods join; emit mistakes exit 2', async () => {
  const r = await neurite(
    [
      'launch',
      '--workers',
      '4',
      '--mode',
      'async',
      '--servers',
      '2',
      '--threads',
      '2',
      '--redis',
      'redis://redis:6379',
      '--emit',
      'k8s',
      '--image',
      'registry.example/app:1',
      '--job',
      'j42',
      'train',
      'lenet5',
      '--epochs',
      '2',
    ],
    dir,
  );
  assert.equal(r.code, 0, r.stderr);
  const yaml = r.stdout;
  for (const line of [
    'kind: Job',
    'completionMode: Indexed',
    'completions: 4',
    'parallelism: 4',
    'name: neurite-j42',
    'image: "registry.example/app:1"',
    'fieldPath: status.podIP',
    'cpu: "2"',
  ])
    assert.ok(yaml.includes(line), `missing ${line}\n${yaml}`);
  assert.ok(
    yaml.includes(
      'if [ "$JOB_COMPLETION_INDEX" = 0 ]; then exec npx neurite launch --local-workers 1 --job j42 --workers 4 --mode async --servers 2 --threads 2 --redis redis://redis:6379 train lenet5 --epochs 2; else exec npx neurite worker --redis redis://redis:6379 --job j42 --threads 2; fi',
    ),
    yaml,
  );
  const cases: [string[], RegExp][] = [
    [['launch', '--workers', '2', '--emit', 'slurm', 'train', 'xor'], /--emit slurm needs --redis URL/],
    [['launch', '--workers', '2', '--redis', 'redis://r:6379', '--emit', 'k8s', 'train', 'xor'], /--emit k8s needs --image IMAGE/],
    [['launch', '--workers', '2', '--redis', 'redis://r:6379', '--emit', 'pbs', 'train', 'xor'], /--emit must be one of k8s, slurm/],
    [
      ['launch', '--workers', '2', '--mode', 'hogwild', '--local-workers', '1', 'train', 'xor'],
      /--mode hogwild runs threads of one process; --local-workers needs --mode sync or async/,
    ],
    [['launch', '--workers', '2', '--local-workers', '3', 'train', 'xor'], /--local-workers 3 is more than --workers 2/],
    [['launch', '--workers', '2', '--local-workers', '1', '--job', 'a b', 'train', 'xor'], /--job must be 1 to 64 letters/],
    [['worker'], /--redis URL is required/],
  ];
  for (const [args, message] of cases) {
    const bad = await neurite(args, dir);
    assert.equal(bad.code, 2, `${args.join(' ')}: exit ${bad.code}\n${bad.stderr}`);
    assert.match(bad.stderr, message, args.join(' '));
  }
});

// These test how jobs are launched, joined, resumed and replaced, not the numbers a backend computes (test/distributed
// checks the replicas' numbers on every backend): they run in the reference pass, and the other passes keep their time.
const otherPass = process.env.NEURITE_BACKEND !== undefined && process.env.NEURITE_BACKEND !== 'ref';
const skipJoined = otherPass ? 'the neurite worker job tests run in the ref pass (orchestration, not kernels)' : !haveRedis;

describe('jobs joined by neurite worker', { skip: skipJoined }, () => {
  let redis: nt.distributed.LocalRedis;
  before(async () => {
    redis = await nt.distributed.startRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  test('a worker of another neurite version is refused within seconds, naming both versions; so is a job that does not exist', async () => {
    const { Redis } = await import('ioredis');
    const client = new Redis(redis.url);
    const spec: nt.distributed.JobSpec = {
      version: '99.0.0',
      mode: 'sync',
      workers: 2,
      localWorkers: 1,
      servers: 0,
      seed: 1,
      nFetch: 1,
      nPush: 1,
      timeoutMs: 5000,
      data: null,
      script: 'neurite:train',
      argv: [],
    };
    await client.set('neurite:old:spec', JSON.stringify(spec));
    await client.quit();
    const t0 = performance.now();
    const r = await neurite(['worker', '--redis', redis.url, '--job', 'old'], dir);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`job 'old' was launched with neurite 99\\.0\\.0, this machine has neurite ${nt.VERSION.replace(/\./g, '\\.')}`));
    assert.ok(performance.now() - t0 < 10_000);
    const none = await neurite(['worker', '--redis', redis.url, '--job', 'none', '--timeout', '1'], dir);
    assert.equal(none.code, 2, none.stderr);
    assert.match(none.stderr, /has no job 'none' waiting for workers after 1 s/);
    const unreachable = await neurite(['worker', '--redis', 'redis://127.0.0.1:1', '--timeout', '1'], dir);
    assert.equal(unreachable.code, 2, unreachable.stderr);
    assert.match(unreachable.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
  });

  test('a job whose other workers never join fails after the timeout, naming the missing rank', { skip: !haveGloo }, async () => {
    const t0 = performance.now();
    const r = await neurite(
      ['launch', '--workers', '2', '--local-workers', '1', '--redis', redis.url, '--timeout', '2', 'train', 'xor', '--out', 'lonely'],
      dir,
    );
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /rank 1 of 2 failed: never joined/);
    assert.match(r.stderr, new RegExp(`neurite worker --redis ${redis.url} --job [0-9a-f]+`));
    assert.ok(performance.now() - t0 < 15_000, `took ${performance.now() - t0} ms`);
  });

  test('sync: 1 local worker and 1 joined by neurite worker give the numbers of 2 sync-threads replicas', { skip: !haveGloo }, async () => {
    const launched = start(['launch', '--workers', '2', '--local-workers', '1', '--redis', redis.url, '--job', 'pair', ...XOR_RUN, '--out', 'joined'], dir);
    const joined = await neurite(['worker', '--redis', redis.url, '--job', 'pair'], dir);
    const r = await launched.result;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(joined.code, 0, joined.stderr);
    assert.match(joined.stderr, /joined job 'pair' as rank 1 of 2 \(sync mode\)/);
    const threads = await neurite(['launch', '--workers', '2', '--mode', 'sync-threads', ...XOR_RUN, '--out', 'threads'], dir);
    assert.equal(threads.code, 0, threads.stderr);
    assert.deepEqual(lossesOf('joined'), lossesOf('threads'));
  });

  test('launch --collectives redis: sync processes all-reducing through Redis, no Gloo needed, give the numbers of 2 sync-threads replicas', async () => {
    const r = await neurite(['launch', '--workers', '2', '--collectives', 'redis', ...XOR_RUN, '--out', 'via-redis'], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /launch: 2 replicas in sync mode \(processes, all-reducing through Redis\)/);
    const threads = await neurite(['launch', '--workers', '2', '--mode', 'sync-threads', ...XOR_RUN, '--out', 'threads-2'], dir);
    assert.equal(threads.code, 0, threads.stderr);
    assert.deepEqual(lossesOf('via-redis'), lossesOf('threads-2'));
    const bad = await neurite(['launch', '--workers', '2', '--mode', 'async', '--collectives', 'redis', 'train', 'xor'], dir);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--collectives applies to --mode sync, not async/);
  });

  test('launch --bucket-kb: gradient buckets sent during backward (1 KiB) give the numbers of one all-reduce after backward (0)', {
    skip: !haveGloo,
  }, async () => {
    const bucketed = await neurite(['launch', '--workers', '2', '--bucket-kb', '1', ...XOR_RUN, '--out', 'bucketed'], dir);
    assert.equal(bucketed.code, 0, bucketed.stderr);
    const whole = await neurite(['launch', '--workers', '2', '--bucket-kb', '0', ...XOR_RUN, '--out', 'whole'], dir);
    assert.equal(whole.code, 0, whole.stderr);
    assert.deepEqual(lossesOf('bucketed'), lossesOf('whole'));
    for (const [args, message] of [
      [['--bucket-kb', '-1'], /--bucket-kb must be a whole number of KiB, 0 or more, got '-1'/],
      [['--mode', 'async', '--bucket-kb', '4'], /--bucket-kb applies to --mode sync, not async/],
    ] as const) {
      const bad = await neurite(['launch', '--workers', '2', ...args, 'train', 'xor'], dir);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, message);
    }
  });

  test('launch --resume-job: a job killed whole (launcher and replicas, SIGKILL) goes on from the checkpoint its rank 0 recorded in Redis', async () => {
    const { Redis } = await import('ioredis');
    const client = new Redis(redis.url);
    try {
      const crashed = start(
        [
          'launch',
          '--workers',
          '2',
          '--collectives',
          'redis',
          '--redis',
          redis.url,
          '--job',
          'crash',
          'train',
          'xor',
          '--batch-size',
          '8',
          '--epochs',
          '400',
          '--out',
          'crashed',
        ],
        dir,
      );
      let pointer: nt.distributed.CheckpointPointer | null = null;
      const deadline = Date.now() + 60_000;
      while (pointer === null || pointer.epoch < 2) {
        assert.ok(Date.now() < deadline, 'no checkpoint pointer at epoch 2 within a minute');
        await new Promise((resolve) => setTimeout(resolve, 20));
        pointer = await nt.distributed.lastCheckpoint(redis.url, 'crash');
      }
      const children = spawnSync('pgrep', ['-P', String(crashed.child.pid)], { encoding: 'utf8' })
        .stdout.trim()
        .split('\n')
        .filter(Boolean);
      // Both workers run on this machine: each is told so, and a resume reads the run folder without a hand-over through Redis.
      const told = children.map((pid) => readFileSync(`/proc/${pid}/environ`, 'utf8').match(/NEURITE_DISTRIBUTED=([^\0]*)/)?.[1]).filter(Boolean);
      assert.equal(told.length, 2);
      for (const info of told) assert.equal(JSON.parse(info as string).sharedFileSystem, true);
      crashed.child.kill('SIGKILL');
      for (const pid of children) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {}
      }
      await crashed.result;
      assert.equal(pointer.path, join(dir, 'crashed', 'checkpoint.safetensors'));
      assert.ok((await client.ttl('neurite:crash:checkpoint')) > 6 * 24 * 3600, 'the pointer expires about a week after its last write');
      const last = (await nt.distributed.lastCheckpoint(redis.url, 'crash')) as nt.distributed.CheckpointPointer;
      const total = last.epoch + 2;
      const resumed = await neurite(
        ['launch', '--workers', '2', '--collectives', 'redis', '--redis', redis.url, '--resume-job', 'crash', 'train', '--epochs', String(total)],
        dir,
      );
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.match(resumed.stderr, new RegExp(`job 'crash' wrote its last checkpoint at epoch ${last.epoch} on `));
      assert.equal(lossesOf('crashed').length, total);
      // The machine that held the run is gone (its folder moved away): another machine resumes from the copy kept in Redis.
      const copied = (await nt.distributed.lastCheckpoint(redis.url, 'crash')) as nt.distributed.CheckpointPointer;
      assert.equal(copied.copied, true);
      const copy = (await nt.distributed.checkpointCopy(redis.url, 'crash')) as Record<string, Uint8Array>;
      assert.deepEqual(Object.keys(copy).sort(), ['checkpoint.safetensors', 'config.json']);
      assert.equal(copied.bytes, copy['config.json'].byteLength + copy['checkpoint.safetensors'].byteLength);
      // A machine whose runs/crashed holds another run of that name: the restore refuses to overwrite it.
      const machineC = join(dir, 'machine-c');
      mkdirSync(join(machineC, 'runs', 'crashed'), { recursive: true });
      const other = JSON.parse(readFileSync(join(dir, 'crashed', 'config.json'), 'utf8'));
      other.training.seed += 1;
      const otherRun = `${JSON.stringify(other, null, 2)}\n`;
      writeFileSync(join(machineC, 'runs', 'crashed', 'config.json'), otherRun);
      renameSync(join(dir, 'crashed'), join(dir, 'crashed-away'));
      const refused = await neurite(
        ['launch', '--workers', '2', '--collectives', 'redis', '--redis', redis.url, '--resume-job', 'crash', 'train', '--epochs', String(total + 1)],
        machineC,
      );
      renameSync(join(dir, 'crashed-away'), join(dir, 'crashed'));
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /runs\/crashed holds another run here \(its config.json differs from the job's\); refusing to overwrite it/);
      assert.equal(readFileSync(join(machineC, 'runs', 'crashed', 'config.json'), 'utf8'), otherRun);
      assert.ok(!existsSync(join(machineC, 'runs', 'crashed', 'checkpoint.safetensors')));
      renameSync(join(dir, 'crashed'), join(dir, 'crashed-lost'));
      const machineB = join(dir, 'machine-b');
      mkdirSync(machineB);
      const moved = await neurite(
        ['launch', '--workers', '2', '--collectives', 'redis', '--redis', redis.url, '--resume-job', 'crash', 'train', '--epochs', String(total + 1)],
        machineB,
      );
      assert.equal(moved.code, 0, moved.stderr);
      assert.match(moved.stderr, /is not on this machine; restored the run from the copy in Redis into runs\/crashed/);
      const restored = JSON.parse(readFileSync(join(machineB, 'runs', 'crashed', 'history.json'), 'utf8')).series.loss as number[];
      assert.equal(restored.length, total + 1);
      assert.deepEqual(restored.slice(0, total), lossesOf('crashed-lost'));
      // Mistakes: no Redis named, a job with no pointer, a preset besides the job's own model.
      for (const [args, message] of [
        [['--resume-job', 'crash'], /--resume-job crash needs --redis URL/],
        [['--redis', redis.url, '--resume-job', 'nosuch'], /holds no checkpoint of job 'nosuch'/],
        [['--redis', redis.url, '--resume-job', 'crash', 'train', 'mlp'], /pass only train options/],
      ] as const) {
        const bad = await neurite(['launch', '--workers', '2', ...args], dir);
        assert.equal(bad.code, 2, bad.stderr);
        assert.match(bad.stderr, message);
      }
    } finally {
      client.disconnect();
    }
  });

  test('a checkpoint whose run files are over the copy limit: the pointer keeps their size and no copy, and --resume-job elsewhere says so', async () => {
    const info = { url: redis.url, job: 'big', rank: 0, timeoutMs: 5000 } as AsyncJobInfo;
    const path = join(dir, 'elsewhere', 'big', 'checkpoint.safetensors');
    const small = { 'config.json': new Uint8Array([123, 125]), 'checkpoint.safetensors': new Uint8Array(10) };
    await recordCheckpoint(info, { path, epoch: 1, step: 0, files: small });
    assert.equal((await nt.distributed.lastCheckpoint(redis.url, 'big'))?.copied, true);
    assert.equal((await nt.distributed.lastCheckpoint(redis.url, 'big'))?.bytes, 12);
    // The next one is too large to keep: its size comes instead of its files, and the older copy goes with the older pointer.
    const over = nt.distributed.CHECKPOINT_COPY_LIMIT + 1;
    await recordCheckpoint(info, { path, epoch: 2, step: 0, fileBytes: over });
    const pointer = (await nt.distributed.lastCheckpoint(redis.url, 'big')) as nt.distributed.CheckpointPointer;
    assert.deepEqual([pointer.epoch, pointer.copied, pointer.bytes], [2, false, over]);
    assert.equal(await nt.distributed.checkpointCopy(redis.url, 'big'), null);
    const resumed = await neurite(['launch', '--workers', '2', '--collectives', 'redis', '--redis', redis.url, '--resume-job', 'big', 'train'], dir);
    assert.equal(resumed.code, 2, resumed.stderr);
    assert.match(resumed.stderr, /which this machine cannot read, and .* keeps no copy of it \(its files were 64\.0 MiB, over the 64 MiB it keeps\)/);
  });

  /** The pid of the launcher's child process that runs `rank` (its environment says which). */
  function childOfRank(launcherPid: number, rank: number): number | null {
    const children = spawnSync('pgrep', ['-P', String(launcherPid)], { encoding: 'utf8' })
      .stdout.trim()
      .split('\n')
      .filter(Boolean);
    for (const pid of children) {
      try {
        if (new RegExp(`"rank":${rank},`).test(readFileSync(`/proc/${pid}/environ`, 'utf8'))) return Number(pid);
      } catch {
        // It ended meanwhile.
      }
    }
    return null;
  }

  async function waitFor(what: string, ok: () => boolean): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`waited a minute for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  test('sync --min-workers 2: a worker killed in epoch 3 of 6, and the 2 survivors go on from the checkpoint of epoch 2 to the end', async () => {
    const launched = start(
      ['launch', '--workers', '3', '--min-workers', '2', '--collectives', 'redis', 'train', 'xor', '--batch-size', '4', '--epochs', '6', '--out', 'elastic'],
      dir,
    );
    await waitFor('epoch 2', () => /epoch 2\/6/.test(launched.stdout()));
    const victim = childOfRank(launched.child.pid as number, 2);
    assert.ok(victim !== null, 'rank 2 not found');
    process.kill(victim, 'SIGKILL');
    const r = await launched.result;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /rank 2 of 3 failed: killed by SIGKILL; going on with 2 worker\(s\) from the last checkpoint/);
    assert.match(r.stdout, /continuing at epoch 3, as 2 sync/);
    const losses = lossesOf('elastic');
    assert.equal(losses.length, 6);
    assert.ok(losses.every(Number.isFinite));
    const stats = JSON.parse(readFileSync(join(dir, 'elastic', 'distributed.json'), 'utf8'));
    assert.equal(stats.attempts.length, 1);
    assert.equal(stats.attempts[0].workers, 3);
    assert.deepEqual(
      stats.failures.map((f: { rank: number }) => f.rank),
      [2],
    );
  });

  for (const collectives of ['redis', 'gloo'] as const)
    test(`sync --min-workers 2 with a joined worker (${collectives} collectives): a local worker dies, the joined one rejoins the smaller job as rank 1 of 2`, {
      skip: collectives === 'gloo' && !haveGloo,
    }, async () => {
      const launched = start(
        [
          'launch',
          '--workers',
          '3',
          '--local-workers',
          '2',
          '--min-workers',
          '2',
          '--collectives',
          collectives,
          '--redis',
          redis.url,
          '--job',
          `elastic-${collectives}`,
          ...elasticXor(`elastic-${collectives}`),
        ],
        dir,
      );
      const joined = start(['worker', '--redis', redis.url, '--job', `elastic-${collectives}`], dir);
      await waitFor('epoch 2', () => /epoch 2\/5/.test(launched.stdout()));
      const victim = childOfRank(launched.child.pid as number, 1);
      assert.ok(victim !== null, 'rank 1 not found');
      process.kill(victim, 'SIGKILL');
      const [r, w] = await Promise.all([launched.result, joined.result]);
      assert.equal(r.code, 0, `${r.stderr}\n--- the joined worker:\n${w.stderr}`);
      assert.equal(w.code, 0, w.stderr);
      assert.match(w.stderr, new RegExp(`joined job 'elastic-${collectives}' as rank 2 of 3`));
      assert.match(w.stderr, new RegExp(`the job goes on without a lost worker, as 'elastic-${collectives}-r1'; rejoining`));
      assert.match(w.stderr, new RegExp(`joined job 'elastic-${collectives}-r1' as rank 1 of 2`));
      assert.equal(lossesOf(`elastic-${collectives}`).length, 5);
    });

  /** A sync job of 2 local workers through Redis that waits `wait` seconds for replacements after a lost worker. */
  function replaceableJob(job: string, wait: string, extra: readonly string[] = [], collectives: 'redis' | 'gloo' = 'redis') {
    return start(
      ['launch', '--workers', '2', ...extra, '--replace-wait', wait, '--collectives', collectives, '--redis', redis.url, '--job', job, ...elasticXor(job)],
      dir,
    );
  }

  async function killRankAtEpoch2(launched: ReturnType<typeof start>, rank: number): Promise<void> {
    await waitFor('epoch 2', () => /epoch 2\/5/.test(launched.stdout()));
    const victim = childOfRank(launched.child.pid as number, rank);
    assert.ok(victim !== null, `rank ${rank} not found`);
    process.kill(victim, 'SIGKILL');
  }

  for (const collectives of ['redis', 'gloo'] as const)
    test(`sync --replace-wait, no --min-workers (${collectives} collectives): a lost worker is replaced by a worker started with the job's first id after the loss, on a machine without the run folder, and the job ends whole`, {
      skip: collectives === 'gloo' && !haveGloo,
    }, async () => {
      const id = `replace-late-${collectives}`;
      const launched = replaceableJob(id, '60', [], collectives);
      await killRankAtEpoch2(launched, 1);
      await waitFor('the wait for replacements', () => /waiting up to 60 s for 1 worker\(s\) to take the free rank/.test(launched.stderr()));
      // Started in another folder, as on a machine that does not mount the run folder: rank 0 hands it the checkpoint.
      const elsewhere = join(dir, `elsewhere-${collectives}`);
      mkdirSync(elsewhere, { recursive: true });
      const replacement = start(['worker', '--redis', redis.url, '--job', id], elsewhere);
      const [r, w] = await Promise.all([launched.result, replacement.result]);
      assert.equal(r.code, 0, `${r.stderr}\n--- the replacement:\n${w.stderr}`);
      assert.equal(w.code, 0, w.stderr);
      assert.match(r.stderr, /rank 1 of 2 failed: killed by SIGKILL; going on from the last checkpoint once 1 worker\(s\) join \(0 survivor\(s\) rejoin\)/);
      assert.match(r.stderr, /going on with 2 worker\(s\), 1 of them joined/);
      assert.match(w.stderr, new RegExp(`job '${id}' went on as '${id}-r1'`));
      assert.match(w.stderr, new RegExp(`joined job '${id}-r1' as rank 1 of 2`));
      assert.match(r.stdout, /continuing at epoch [3-5], as 2 sync/);
      assert.ok(!existsSync(join(elsewhere, id)), 'the replacement wrote a run folder of its own');
      // Rolled back to epoch 2's checkpoint, weights and optimizer state, and whole again: the numbers of a job never interrupted.
      const whole = await neurite(
        ['launch', '--workers', '2', '--collectives', collectives, 'train', 'xor', '--batch-size', '4', '--epochs', '5', '--out', `${id}-whole`],
        dir,
      );
      assert.equal(whole.code, 0, whole.stderr);
      assert.deepEqual(lossesOf(id), lossesOf(`${id}-whole`));
      const stats = JSON.parse(readFileSync(join(dir, id, 'distributed.json'), 'utf8'));
      assert.deepEqual(
        stats.attempts.map((a: { workers: number }) => a.workers),
        [2],
      );
    });

  test('sync --replace-wait: a worker that finds the elastic job full waits for a free rank and takes it when a worker is lost', async () => {
    const launched = replaceableJob('replace-early', '60', ['--min-workers', '1']);
    // The job is published whole at its start: the spare finds it so while the replicas load.
    const spare = start(['worker', '--redis', redis.url, '--job', 'replace-early', '--timeout', '60'], dir);
    await waitFor('the spare to wait', () => /already has its 2 workers; it is elastic, so this worker waits/.test(spare.stderr()));
    await killRankAtEpoch2(launched, 1);
    const [r, w] = await Promise.all([launched.result, spare.result]);
    assert.equal(r.code, 0, `${r.stderr}\n--- the spare:\n${w.stderr}`);
    assert.equal(w.code, 0, w.stderr);
    assert.match(w.stderr, /joined job 'replace-early-r1' as rank 1 of 2/);
    // Killed once epoch 2 is printed; on a loaded machine the spare's start may take an epoch or two longer.
    assert.match(r.stdout, /continuing at epoch [3-5], as 2 sync/);
    assert.equal(lossesOf('replace-early').length, 5);
  });

  test('sync --replace-wait with nobody coming: at least --min-workers go on at the end of the wait; fewer fail, naming the wait', async () => {
    const alone = replaceableJob('replace-none', '1', ['--min-workers', '1']);
    await killRankAtEpoch2(alone, 1);
    const r = await alone.result;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /going on with 1 worker\(s\), 0 of them joined/);
    assert.match(r.stdout, /continuing at epoch [3-5], as 1 sync/);
    assert.equal(lossesOf('replace-none').length, 5);

    const t0 = performance.now();
    const short = replaceableJob('replace-short', '1');
    await killRankAtEpoch2(short, 1);
    const failed = await short.result;
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stderr, /waited 1 s for 1 worker\(s\) to join and 0 came: 1 worker\(s\), fewer than minWorkers \(2\)/);
    assert.ok(performance.now() - t0 < 60_000, `took ${performance.now() - t0} ms`);
    for (const [args, message] of [
      [['--replace-wait', '-1'], /--replace-wait must be a number of seconds, 0 or more/],
      [['--mode', 'async', '--replace-wait', '5'], /--replace-wait applies to --mode sync, not async/],
    ] as const) {
      const bad = await neurite(['launch', '--workers', '2', ...args, 'train', 'xor'], dir);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, message);
    }
  });

  test('neurite tune: a grid of 2 learning rates x 2 batch sizes trains as 4 trials on 2 worker processes, ranked by validation accuracy', async () => {
    const r = await neurite(
      ['tune', '--workers', '2', '--grid', 'lr=0.1,0.01', '--grid', 'batch-size=16,32', '--out', 'tuned', 'train', 'xor', '--epochs', '2'],
      dir,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /tune: 4 grid trial\(s\) on 2 worker process\(es\), ranked by valAccuracy/);
    const doc = JSON.parse(readFileSync(join(dir, 'tuned', 'tune.json'), 'utf8')) as {
      trials: { rank: number; params: Record<string, string>; valAccuracy: number; out: string; runs: number }[];
    };
    assert.equal(doc.trials.length, 4);
    assert.deepEqual(doc.trials.map((t) => `${t.params.lr}/${t.params['batch-size']}`).sort(), ['0.01/16', '0.01/32', '0.1/16', '0.1/32']);
    for (let i = 1; i < doc.trials.length; i++) assert.ok(doc.trials[i - 1].valAccuracy >= doc.trials[i].valAccuracy, 'not ranked');
    // Each trial is a real run folder whose config has the grid point's settings.
    for (const t of doc.trials) {
      const config = JSON.parse(readFileSync(join(dir, t.out, 'config.json'), 'utf8'));
      assert.equal(config.training.lr, Number(t.params.lr));
      assert.equal(config.training.batchSize, Number(t.params['batch-size']));
    }
    assert.match(r.stdout.split('\n')[1], /^1 /);
    for (const [args, message] of [
      [['tune', 'train', 'xor'], /at least one --grid FLAG=V1,V2,... or --sample/],
      [['tune', '--grid', 'out=a,b', 'train', 'xor'], /--grid out: not a train option that a trial can vary/],
      [['tune', '--grid', 'lr=0.1', 'train', 'xor', '--lr', '0.2'], /--lr is both varied and in the train options/],
      [['tune', '--grid', 'lr=0.1', '--trials', '3', 'train', 'xor'], /--trials is for a random search/],
      [['tune', '--sample', 'lr=log:1e-3:1e-1', 'train', 'xor'], /--sample needs --trials T/],
      [['tune', '--sample', 'lr=log:0:1', '--trials', '2', 'train', 'xor'], /a log-uniform range must be above 0/],
      [['tune', '--sample', 'epochs=int:1.5:3', '--trials', '2', 'train', 'xor'], /an int range needs integer bounds/],
      [['tune', '--sample', 'lr=normal:0:1', '--trials', '2', 'train', 'xor'], /expected FLAG=log\|uniform\|int:LOW:HIGH/],
      [['tune', '--sample', 'lr=log:1e-3:1e-1', '--grid', 'lr=0.1', '--trials', '2', 'train', 'xor'], /--lr is varied twice/],
      [['tune', '--grid', 'lr', 'train', 'xor'], /expected FLAG=V1,V2/],
    ] as [string[], RegExp][]) {
      const bad = await neurite(args, dir);
      assert.equal(bad.code, 2, `${args.join(' ')}: ${bad.stderr}`);
      assert.match(bad.stderr, message);
    }
  });

  test('neurite tune --sample: a seeded random search draws each trial from its distributions (log-uniform, integer, grid values), the same for the same seed', async () => {
    const args = ['--workers', '2', '--sample', 'lr=log:0.001:0.3', '--sample', 'epochs=int:1:3', '--grid', 'batch-size=8,16', '--trials', '3', '--seed', '7'];
    const r = await neurite(['tune', ...args, '--out', 'random', 'train', 'xor'], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /tune: 3 random \(seed 7\) trial\(s\) on 2 worker process\(es\)/);
    const doc = JSON.parse(readFileSync(join(dir, 'random', 'tune.json'), 'utf8')) as {
      search: string;
      seed: number;
      trials: { params: Record<string, string>; out: string }[];
    };
    assert.equal(doc.search, 'random');
    assert.equal(doc.seed, 7);
    assert.equal(doc.trials.length, 3);
    for (const t of doc.trials) {
      const lr = Number(t.params.lr);
      assert.ok(lr >= 0.001 && lr <= 0.3, `lr ${lr}`);
      assert.ok(['1', '2', '3'].includes(t.params.epochs), `epochs ${t.params.epochs}`);
      assert.ok(['8', '16'].includes(t.params['batch-size']));
      const config = JSON.parse(readFileSync(join(dir, t.out, 'config.json'), 'utf8'));
      assert.equal(config.training.lr, lr);
      assert.equal(config.training.epochs, Number(t.params.epochs));
    }
    // Three different draws, and the same three again from the same seed.
    assert.equal(new Set(doc.trials.map((t) => t.params.lr)).size, 3);
    const again = await neurite(['tune', ...args, '--out', 'random-again', 'train', 'xor'], dir);
    assert.equal(again.code, 0, again.stderr);
    const second = JSON.parse(readFileSync(join(dir, 'random-again', 'tune.json'), 'utf8')) as typeof doc;
    const drawn = (d: typeof doc) => d.trials.map((t) => JSON.stringify(t.params)).sort();
    assert.deepEqual(drawn(second), drawn(doc));
  });

  test('neurite tune --folds 2: each grid point trains once per fold and is ranked by the mean of its folds', async () => {
    const r = await neurite(['tune', '--workers', '2', '--grid', 'lr=0.1,0.01', '--folds', '2', '--out', 'folded', 'train', 'xor', '--epochs', '1'], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /tune: 2 grid trial\(s\) x 2 folds on 2 worker process\(es\), ranked by valAccuracy \(mean over folds\)/);
    const doc = JSON.parse(readFileSync(join(dir, 'folded', 'tune.json'), 'utf8')) as {
      folds: number;
      trials: { params: Record<string, string>; valAccuracy: number; out: string; folds: { fold: number; valAccuracy: number; out: string }[] }[];
    };
    assert.equal(doc.folds, 2);
    assert.equal(doc.trials.length, 2);
    for (const t of doc.trials) {
      assert.equal(t.folds.length, 2);
      const mean = (t.folds[0].valAccuracy + t.folds[1].valAccuracy) / 2;
      assert.ok(Math.abs(t.valAccuracy - mean) < 1e-12, `${t.valAccuracy} is not the mean of ${t.folds.map((f) => f.valAccuracy)}`);
      t.folds.forEach((f, i) => {
        const config = JSON.parse(readFileSync(join(dir, f.out, 'config.json'), 'utf8'));
        assert.deepEqual(config.data.validationFold, { index: i, count: 2 });
        assert.equal(config.training.lr, Number(t.params.lr));
      });
    }
    for (const [args, message] of [
      [['tune', '--grid', 'lr=0.1', '--folds', '1', 'train', 'xor'], /--folds must be a whole number >= 2/],
      [
        ['tune', '--grid', 'lr=0.1', '--folds', '3', 'train', 'xor', '--val-split', '0.1'],
        /--folds holds out each fold in turn for validation; drop --val-split/,
      ],
      [['tune', '--grid', 'lr=0.1', 'train', 'xor', '--val-fold', '1/2'], /the train options may not include --val-fold/],
    ] as [string[], RegExp][]) {
      const bad = await neurite(args, dir);
      assert.equal(bad.code, 2, `${args.join(' ')}: ${bad.stderr}`);
      assert.match(bad.stderr, message);
    }
  });

  test('async: 2 of 3 workers join; a joined worker that dies (its process group killed) is detected by its heartbeat and the job goes on', async () => {
    const args = ['launch', '--workers', '3', '--local-workers', '1', '--mode', 'async', '--redis', redis.url, '--timeout', '4', '--job', 'trio'];
    const launched = start([...args, 'train', 'xor', '--optimizer', 'adagrad', '--lr', '0.1', '--epochs', '15', '--out', 'trio'], dir);
    const survivor = neurite(['worker', '--redis', redis.url, '--job', 'trio'], dir);
    // The one to kill runs in a process group of its own, as a machine of its own would, so the kill takes its replica too.
    const { spawn } = await import('node:child_process');
    const doomed = spawn(process.execPath, [BIN, 'worker', '--redis', redis.url, '--job', 'trio'], {
      cwd: dir,
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let doomedErr = '';
    doomed.stderr?.setEncoding('utf8').on('data', (d: string) => {
      doomedErr += d;
    });
    const deadline = Date.now() + 20_000;
    while (!/joined job 'trio'/.test(doomedErr) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 500));
    process.kill(-(doomed.pid as number), 'SIGKILL');
    const r: RunResult = await launched.result;
    const s = await survivor;
    assert.equal(s.code, 0, s.stderr);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /launch: worker \d stopped answering \(no heartbeat from .+\); the job goes on without it/);
    assert.match(r.stderr, /1 worker\(s\) failed and the job went on without them/);
    const stats = JSON.parse(readFileSync(join(dir, 'trio', 'distributed.json'), 'utf8'));
    assert.equal(stats.failures.length, 1);
    assert.match(stats.failures[0].message, /stopped answering \(no heartbeat from /);
    // The two that lived pushed everything the server applied.
    const pushes = stats.workers.reduce((sum: number, w: { pushes: number } | null) => sum + (w?.pushes ?? 0), 0);
    assert.ok(stats.servers[0].applied + stats.servers[0].dropped >= pushes, JSON.stringify(stats.servers[0]));
  });

  test('the emitted Slurm script trains: task 0 launches, task 1 joins (srun and npx stood in for by scripts)', { skip: !haveGloo }, async () => {
    const emitted = await neurite(
      ['launch', '--workers', '2', '--redis', redis.url, '--emit', 'slurm', '--job', 'slurm1', ...XOR_RUN, '--out', 'slurm run'],
      dir,
    );
    assert.equal(emitted.code, 0, emitted.stderr);
    assert.match(emitted.stdout, /#SBATCH --ntasks=2/);
    const bin = join(dir, 'fake-bin');
    mkdirSync(bin, { recursive: true });
    // srun: run the command once per task with SLURM_PROCID set; npx neurite: this checkout's bin/neurite.mjs.
    writeFileSync(
      join(bin, 'srun'),
      '#!/bin/sh\npids=""\ni=0\nwhile [ $i -lt 2 ]; do SLURM_PROCID=$i "$@" & pids="$pids $!"; i=$((i+1)); done\nrc=0\nfor p in $pids; do wait $p || rc=1; done\nexit $rc\n',
    );
    writeFileSync(join(bin, 'npx'), `#!/bin/sh\nshift\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`);
    chmodSync(join(bin, 'srun'), 0o755);
    chmodSync(join(bin, 'npx'), 0o755);
    writeFileSync(join(dir, 'job.sh'), emitted.stdout);
    const { spawnSync } = await import('node:child_process');
    const run = spawnSync('bash', ['job.sh'], {
      cwd: dir,
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, NO_COLOR: '1' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stderr, /joined job 'slurm1' as rank 1 of 2/);
    assert.ok(existsSync(join(dir, 'slurm run', 'history.json')));
    assert.deepEqual(lossesOf('slurm run'), lossesOf('threads'));
  });
});
