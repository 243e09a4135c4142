// `neurite launch`, end to end through bin/neurite.mjs: two replicas of
// `train` that equal one process with twice the batch, the async mode's
// statistics in the run folder, a script of one's own, and mistakes refused
// before any replica starts.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import * as nt from '../../src/index.js';
import { neurite, tempDir } from './run.js';

const haveRedis = nt.distributed.redisServerInstalled();
if (!haveRedis)
  console.log('# neurite launch --mode async test skipped: redis-server is not installed (Debian: apt-get install redis-server; .ci/run installs it)');

let dir: string;
let cleanup: () => void;
before(() => {
  ({ dir, cleanup } = tempDir('launch'));
});
after(() => cleanup());

interface HistoryDoc {
  series: Record<string, number[]>;
}
const history = (run: string) => JSON.parse(readFileSync(join(dir, run, 'history.json'), 'utf8')) as HistoryDoc;

test('launch --workers 2 --mode sync-threads train xor --batch-size 8 equals train xor --batch-size 16, and only rank 0 prints', async () => {
  const two = await neurite(['launch', '--workers', '2', '--mode', 'sync-threads', 'train', 'xor', '--batch-size', '8', '--epochs', '3', '--out', 'two'], dir);
  assert.equal(two.code, 0, two.stderr);
  const one = await neurite(['train', 'xor', '--batch-size', '16', '--epochs', '3', '--out', 'one'], dir);
  assert.equal(one.code, 0, one.stderr);
  // One header, one line per epoch, one test line: the second replica is silent.
  assert.equal(two.stdout.match(/^neurite train/gm)?.length, 1, two.stdout);
  assert.equal(two.stdout.match(/^epoch /gm)?.length, 3, two.stdout);
  assert.match(two.stdout, /replicas +2 sync-threads/);
  assert.match(two.stderr, /launch: 2 replicas in sync-threads mode/);
  const a = history('two').series;
  const b = history('one').series;
  for (const key of ['loss', 'accuracy', 'valLoss', 'valAccuracy']) {
    a[key].forEach((v, i) => {
      assert.ok(Math.abs(v - b[key][i]) <= 1e-6 * Math.max(1, Math.abs(b[key][i])), `${key}[${i}]: ${v} vs ${b[key][i]}`);
    });
  }
  const stats = JSON.parse(readFileSync(join(dir, 'two', 'distributed.json'), 'utf8'));
  assert.equal(stats.mode, 'sync-threads');
  assert.equal(stats.replicas, 2);
  const config = JSON.parse(readFileSync(join(dir, 'two', 'config.json'), 'utf8'));
  assert.deepEqual(config.distributed, { mode: 'sync-threads', workers: 2 });
});

// Processes wherever a Redis can be started (all-reducing through Gloo where it is built, else through the Redis).
const syncProcesses = haveRedis;
const through = nt.distributed.glooUnavailableReason() === null ? 'Gloo' : 'Redis';

test(`launch --workers 2 train xor (sync, the default) runs ${syncProcesses ? `processes through ${through}` : 'threads, saying why'} and gives the same numbers`, async () => {
  const r = await neurite(['launch', '--workers', '2', 'train', 'xor', '--batch-size', '8', '--epochs', '3', '--out', 'default'], dir);
  assert.equal(r.code, 0, r.stderr);
  const mode = syncProcesses ? 'sync' : 'sync-threads';
  assert.match(r.stderr, new RegExp(`launch: 2 replicas in ${mode} mode`));
  if (!syncProcesses) assert.match(r.stderr, /sync replicas run as threads of this process: .*install/);
  else assert.match(r.stderr, new RegExp(`all-reducing through ${through}`));
  assert.equal(JSON.parse(readFileSync(join(dir, 'default', 'distributed.json'), 'utf8')).mode, mode);
  assert.deepEqual(history('default').series.loss, history('two').series.loss);
});

test('launch --workers 2 train --resume continues a launched run at its last epoch', async () => {
  const r = await neurite(['launch', '--workers', '2', 'train', '--resume', 'two', '--epochs', '4'], dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /continuing at epoch 4/);
  assert.equal(history('two').series.loss.length, 4);
});

test('launch --mode hogwild trains xor', async () => {
  const r = await neurite(['launch', '--workers', '2', '--mode', 'hogwild', 'train', 'xor', '--epochs', '5', '--out', 'hog', '--json'], dir);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.ok(summary.testAccuracy > 0.8, `test accuracy ${summary.testAccuracy}`);
});

test("launch runs a script of one's own: every replica sees its rank and the world size", async () => {
  const script = join(dir, 'ranks.mjs');
  const entry = pathToFileURL(join(import.meta.dirname, '../../src/index.js')).href;
  writeFileSync(
    script,
    `import { writeFileSync } from 'node:fs';
import { distributed } from ${JSON.stringify(entry)};
const replica = distributed.init();
const sum = new Float64Array([replica.rank + 1]);
replica.sumAcross(sum);
writeFileSync('rank-' + replica.rank + '.json', JSON.stringify({ rank: replica.rank, world: replica.worldSize, sum: sum[0], argv: process.argv.slice(2) }));
`,
  );
  const r = await neurite(['launch', '--workers', '3', script, 'hello'], dir);
  assert.equal(r.code, 0, r.stderr);
  for (let rank = 0; rank < 3; rank++) {
    const got = JSON.parse(readFileSync(join(dir, `rank-${rank}.json`), 'utf8'));
    assert.deepEqual(got, { rank, world: 3, sum: 6, argv: ['hello'] });
  }
});

test('launch refuses mistakes before any replica starts, and names a failing replica', async () => {
  const cases: [string[], RegExp][] = [
    [['launch', 'train', 'xor'], /--workers N is required/],
    [['launch', '--workers', '0', 'train', 'xor'], /--workers must be a whole number >= 1/],
    [['launch', '--workers', '2', '--servers', '2', 'train', 'xor'], /--servers applies to --mode async, not sync/],
    [
      ['launch', '--workers', '2', '--mode', 'hogwild', '--redis', 'redis://127.0.0.1:1', 'train', 'xor'],
      /--redis applies to --mode async and sync, not hogwild/,
    ],
    [['launch', '--workers', '2', '--mode', 'ring', 'train', 'xor'], /--mode must be one of sync, sync-threads, hogwild, async/],
    [['launch', '--workers', '2', 'nothing-here.mjs'], /nothing-here\.mjs: no such script/],
    [['launch', '--workers', '2', 'train', 'xor', '--out', 'two'], /--out two already exists/],
    [['launch', '--workers', '2', 'train', 'xor', '--lr', '-1', '--out', 'bad'], /rank \d of 2 failed: (exited with code 2: )?--lr must be a positive number/],
  ];
  for (const [args, message] of cases) {
    const r = await neurite(args, dir);
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
  }
  assert.ok(!existsSync(join(dir, 'bad', 'history.json')));
});

test('launch --mode async: Downpour workers and two parameter servers, their statistics in distributed.json', { skip: !haveRedis }, async () => {
  const r = await neurite(
    [
      'launch',
      '--workers',
      '2',
      '--mode',
      'async',
      '--servers',
      '2',
      'train',
      'xor',
      '--optimizer',
      'adagrad',
      '--lr',
      '0.1',
      '--epochs',
      '4',
      '--out',
      'async',
      '--json',
    ],
    dir,
  );
  assert.equal(r.code, 0, r.stderr);
  assert.ok(JSON.parse(r.stdout).testAccuracy > 0.8, r.stdout);
  assert.match(r.stderr, /server 1: \d+ updates applied, 0 dropped as stale, staleness 0:\d+/);
  const stats = JSON.parse(readFileSync(join(dir, 'async', 'distributed.json'), 'utf8'));
  assert.equal(stats.mode, 'async');
  assert.equal(stats.workers.length, 2);
  const pushes = stats.workers.reduce((s: number, w: { pushes: number }) => s + w.pushes, 0);
  // Every push reached both shards exactly once.
  for (const shard of stats.servers) assert.equal(shard.applied + shard.dropped, pushes);
  assert.ok(stats.workers.every((w: { samples: number }) => w.samples > 0));
});
