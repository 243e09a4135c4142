// Two "machines": two Linux network namespaces joined by a veth pair, each
// with its own address and no loopback path to the other. The launcher and
// Redis live in one, `neurite worker` joins from the other, and the sync job
// (Gloo over TCP between the two addresses, or Redis collectives) must give
// the numbers of two sync-threads replicas; an async job across them trains.
// Needs root and `ip netns` (skipped with one line elsewhere).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as nt from '../../src/index.js';
import { neurite, type RunResult, start, tempDir } from '../cli/run.js';

/** The xor run every sync comparison makes: batch 8 per replica, 3 epochs. */
const XOR_RUN = ['train', 'xor', '--batch-size', '8', '--epochs', '3'];

const tag = `nt${process.pid % 100000}`;
const nsA = `${tag}a`;
const nsB = `${tag}b`;
const addrA = '10.213.0.1';
const addrB = '10.213.0.2';

function ip(...args: string[]): boolean {
  return spawnSync('ip', args, { stdio: 'ignore' }).status === 0;
}

/** Null when two namespaces can be made here, else why not. */
function namespacesUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'they need root';
  if (!nt.distributed.redisServerInstalled()) return 'redis-server is not installed';
  if (!ip('netns', 'add', `${tag}probe`)) return '`ip netns add` is not allowed here';
  ip('netns', 'del', `${tag}probe`);
  if (!ip('link', 'add', `${tag}pa`, 'type', 'veth', 'peer', 'name', `${tag}pb`)) return 'veth pairs cannot be made here';
  ip('link', 'del', `${tag}pa`);
  return null;
}

const unavailable = namespacesUnavailable();
if (unavailable !== null)
  console.log(`# two-namespace distributed tests skipped: ${unavailable} (run the suite as root on Linux with iproute2, as .ci/run does)`);

/** Run the neurite command inside namespace `ns`, with `env` added. */
function inNamespace(ns: string, args: readonly string[], cwd: string, env: Record<string, string> = {}): { child: ChildProcess; result: Promise<RunResult> } {
  return start(args, cwd, { prefix: ['ip', 'netns', 'exec', ns], env });
}

describe('distributed across two network namespaces (two machines on one host)', { skip: unavailable !== null }, () => {
  let dir: string;
  let cleanup: () => void;
  let redis: ChildProcess | null = null;
  const port = 20000 + (process.pid % 20000);
  const url = `redis://${addrA}:${port}`;

  before(async () => {
    ({ dir, cleanup } = tempDir('netns'));
    for (const ns of [nsA, nsB]) assert.ok(ip('netns', 'add', ns), `ip netns add ${ns}`);
    assert.ok(ip('link', 'add', `${tag}va`, 'type', 'veth', 'peer', 'name', `${tag}vb`));
    assert.ok(ip('link', 'set', `${tag}va`, 'netns', nsA));
    assert.ok(ip('link', 'set', `${tag}vb`, 'netns', nsB));
    for (const [ns, dev, addr] of [
      [nsA, `${tag}va`, addrA],
      [nsB, `${tag}vb`, addrB],
    ]) {
      assert.ok(ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev));
      assert.ok(ip('-n', ns, 'link', 'set', dev, 'up'));
      assert.ok(ip('-n', ns, 'link', 'set', 'lo', 'up'));
    }
    redis = spawn(
      'ip',
      ['netns', 'exec', nsA, 'redis-server', '--port', String(port), '--bind', addrA, '--save', '', '--appendonly', 'no', '--protected-mode', 'no'],
      {
        stdio: 'ignore',
      },
    );
    // Wait until it answers, from the other namespace: the path the workers take.
    const deadline = Date.now() + 10_000;
    while (spawnSync('ip', ['netns', 'exec', nsB, 'redis-cli', '-h', addrA, '-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() !== 'PONG') {
      if (Date.now() > deadline) throw new Error('redis-server in the first namespace did not answer from the second');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  after(() => {
    // `ip netns exec` became redis-server: its pid is the server's.
    redis?.kill('SIGKILL');
    // Deleting a namespace takes its veth end, and so the pair, with it.
    for (const ns of [nsA, nsB]) ip('netns', 'del', ns);
    cleanup?.();
  });

  test('the second namespace cannot reach the first through 127.0.0.1: the job really crosses the link', () => {
    const r = spawnSync('ip', ['netns', 'exec', nsB, 'redis-cli', '-h', '127.0.0.1', '-p', String(port), 'ping'], { encoding: 'utf8' });
    assert.notEqual(r.stdout?.trim(), 'PONG');
  });

  for (const collectives of ['gloo', 'redis'] as const) {
    test(`sync through ${collectives}: a launcher in one namespace and a worker joining from the other equal 2 sync-threads replicas`, {
      skip: collectives === 'gloo' && nt.distributed.glooUnavailableReason() !== null,
    }, async () => {
      const job = `ns-${collectives}`;
      const launched = inNamespace(
        nsA,
        ['launch', '--workers', '2', '--local-workers', '1', '--collectives', collectives, '--redis', url, '--job', job, ...XOR_RUN, '--out', job],
        dir,
        { NEURITE_GLOO_HOST: addrA },
      );
      const joined = inNamespace(nsB, ['worker', '--redis', url, '--job', job], dir, { NEURITE_GLOO_HOST: addrB });
      const [r, w] = await Promise.all([launched.result, joined.result]);
      assert.equal(r.code, 0, `${r.stderr}\n--- worker:\n${w.stderr}`);
      assert.equal(w.code, 0, w.stderr);
      const threads = await neurite(['launch', '--workers', '2', '--mode', 'sync-threads', ...XOR_RUN, '--out', `threads-${collectives}`], dir);
      assert.equal(threads.code, 0, threads.stderr);
      const losses = (run: string) => JSON.parse(readFileSync(join(dir, run, 'history.json'), 'utf8')).series.loss as number[];
      assert.deepEqual(losses(job), losses(`threads-${collectives}`));
    });
  }

  test('async: the launcher, its parameter server and rank 0 in one namespace, a worker in the other; both push', async () => {
    const launched = inNamespace(
      nsA,
      [
        'launch',
        '--workers',
        '2',
        '--local-workers',
        '1',
        '--mode',
        'async',
        '--redis',
        url,
        '--job',
        'ns-async',
        'train',
        'xor',
        '--optimizer',
        'adagrad',
        '--lr',
        '0.1',
        '--epochs',
        '4',
        '--out',
        'ns-async',
      ],
      dir,
    );
    const joined = inNamespace(nsB, ['worker', '--redis', url, '--job', 'ns-async'], dir);
    const [r, w] = await Promise.all([launched.result, joined.result]);
    assert.equal(r.code, 0, `${r.stderr}\n--- worker:\n${w.stderr}`);
    assert.equal(w.code, 0, w.stderr);
    const stats = JSON.parse(readFileSync(join(dir, 'ns-async', 'distributed.json'), 'utf8'));
    assert.equal(stats.workers.length, 2);
    assert.ok(
      stats.workers.every((s: { pushes: number }) => s.pushes > 0),
      JSON.stringify(stats.workers),
    );
    const pushes = stats.workers.reduce((sum: number, s: { pushes: number }) => sum + s.pushes, 0);
    assert.equal(stats.servers[0].applied + stats.servers[0].dropped, pushes);
  });
});
