import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as nt from '../../src/index.js';
import { startAofRedis } from './fixtures/aof-redis.js';
import { model, optimizerFor, problem, type ReplicaConfig } from './fixtures/problem.js';

const script = new URL('./fixtures/replica.js', import.meta.url);
const haveRedis = nt.distributed.redisServerInstalled();
if (!haveRedis) console.log('# distributed async tests skipped: redis-server is not installed (Debian: apt-get install redis-server; .ci/run installs it)');

interface Report {
  rank: number;
  losses: number[];
  weights: number[][];
}

/** The mean squared error of these weights on the whole problem. */
function lossOf(weights: number[][], samples: number): number {
  const m = model(100);
  m.parameters().forEach((p, i) => {
    (p.data as Float32Array).set(weights[i]);
  });
  const { x, y } = problem(samples);
  return nt.noGrad(() => nt.nn.functional.mseLoss(m.forward(x) as nt.Tensor, y).item());
}

async function singleProcessLoss(config: ReplicaConfig, batchSize: number): Promise<number> {
  const m = model(100);
  await nt.fit(m, problem(config.samples), {
    loss: 'mse',
    optimizer: optimizerFor(m, config),
    epochs: config.epochs,
    batchSize,
    generator: new nt.Generator(7),
  });
  return lossOf(
    m.parameters().map((p) => Array.from(p.data)),
    config.samples,
  );
}

describe('distributed: Downpour parameter-server logic (no Redis)', () => {
  const spec = { name: 'SGD', hyper: { lr: 0.5, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false } };

  it('applies gradients in arrival order with the server optimizer, once per entry id', () => {
    const shard = new nt.distributed.ServerShard(Float32Array.from([1, 2]), spec, { maxStaleness: Number.POSITIVE_INFINITY, scale: false });
    assert.equal(shard.take({ id: '5-0', version: 0, gradient: Float32Array.from([1, 1]) }), 'applied');
    assert.equal(shard.take({ id: '5-1', version: 0, gradient: Float32Array.from([2, 0]) }), 'applied');
    assert.deepEqual(Array.from(shard.weights.data), [-0.5, 1.5]);
    // A replay after a restart: ids up to the last one taken are skipped.
    assert.equal(shard.take({ id: '5-1', version: 0, gradient: Float32Array.from([9, 9]) }), 'duplicate');
    assert.equal(shard.take({ id: '4-9', version: 0, gradient: Float32Array.from([9, 9]) }), 'duplicate');
    assert.equal(shard.version, 2);
    assert.deepEqual(shard.stats.staleness.slice(0, 3), [1, 1, 0]);
    assert.throws(() => shard.take({ id: '6-0', version: 2, gradient: new Float32Array(3) }), /a gradient of 3 values for a shard of 2/);
  });

  it('a push that reached the stream twice (a client resending after a lost reply) counts once: per sender, push numbers up to the last taken are skipped', () => {
    const shard = new nt.distributed.ServerShard(Float32Array.from([0]), spec, { maxStaleness: Number.POSITIVE_INFINITY, scale: false });
    assert.equal(shard.take({ id: '1-0', version: 0, gradient: Float32Array.from([1]), sender: 'a', seq: 1 }), 'applied');
    assert.equal(shard.take({ id: '1-1', version: 0, gradient: Float32Array.from([1]), sender: 'b', seq: 1 }), 'applied');
    // The same push of sender a again, under a new stream id.
    assert.equal(shard.take({ id: '2-0', version: 1, gradient: Float32Array.from([1]), sender: 'a', seq: 1 }), 'duplicate');
    assert.equal(shard.take({ id: '2-1', version: 2, gradient: Float32Array.from([1]), sender: 'a', seq: 2 }), 'applied');
    assert.deepEqual([shard.version, shard.stats.duplicates, shard.lastId], [3, 1, '2-1']);
    // A restarted server resumes the push numbers it stored.
    const resumed = new nt.distributed.ServerShard(
      Float32Array.from([0]),
      spec,
      { maxStaleness: Number.POSITIVE_INFINITY, scale: false },
      { version: 3, lastId: '2-1', lastSeq: Object.fromEntries(shard.lastSeq) },
    );
    assert.equal(resumed.take({ id: '3-0', version: 3, gradient: Float32Array.from([1]), sender: 'a', seq: 2 }), 'duplicate');
    assert.equal(resumed.take({ id: '3-1', version: 3, gradient: Float32Array.from([1]), sender: 'b', seq: 2 }), 'applied');
  });

  it('staleness: drops past maxStaleness, or divides the rate by the staleness', () => {
    assert.equal(nt.distributed.stalenessFactor({ maxStaleness: 2, scale: false }, 3), 0);
    assert.equal(nt.distributed.stalenessFactor({ maxStaleness: 2, scale: false }, 2), 1);
    assert.equal(nt.distributed.stalenessFactor({ maxStaleness: Number.POSITIVE_INFINITY, scale: true }, 4), 0.25);
    assert.equal(nt.distributed.stalenessFactor({ maxStaleness: Number.POSITIVE_INFINITY, scale: true }, 0), 1);
    const dropping = new nt.distributed.ServerShard(Float32Array.from([0]), spec, { maxStaleness: 1, scale: false }, { version: 10 });
    assert.equal(dropping.take({ id: '1-0', version: 8, gradient: Float32Array.from([1]) }), 'dropped');
    assert.equal(dropping.take({ id: '1-1', version: 9, gradient: Float32Array.from([1]) }), 'applied');
    assert.deepEqual([dropping.stats.applied, dropping.stats.dropped, dropping.version], [1, 1, 11]);
    const scaling = new nt.distributed.ServerShard(Float32Array.from([0]), spec, { maxStaleness: Number.POSITIVE_INFINITY, scale: true }, { version: 4 });
    scaling.take({ id: '1-0', version: 0, gradient: Float32Array.from([1]) });
    assert.equal(scaling.weights.data[0], -0.125);
    assert.equal(scaling.optimizer.paramGroups[0].lr, 0.5, 'the rate is restored after a scaled update');
  });

  it('stream ids compare as (milliseconds, sequence)', () => {
    assert.ok(nt.distributed.compareStreamIds('10-0', '9-5') > 0);
    assert.ok(nt.distributed.compareStreamIds('10-2', '10-10') < 0);
    assert.equal(nt.distributed.compareStreamIds('3-3', '3-3'), 0);
  });

  it('describeOptimizer: the servers run the workers optimizer; ones that need the loss are refused', () => {
    const m = model(1);
    const d = nt.distributed.describeOptimizer(new nt.optim.Adagrad(m.parameters(), { lr: 0.05 }));
    assert.equal(d.name, 'Adagrad');
    assert.equal(d.hyper.lr, 0.05);
    assert.throws(() => nt.distributed.describeOptimizer(new nt.optim.LBFGS(m.parameters())), /cannot run LBFGS/);
  });

  it('shardRange splits n values into contiguous slices', () => {
    assert.deepEqual(
      [0, 1, 2].map((s) => nt.distributed.shardRange(10, 3, s)),
      [
        [0, 3],
        [3, 6],
        [6, 10],
      ],
    );
  });
});

describe('distributed: asynchronous Downpour over Redis', { skip: !haveRedis }, () => {
  for (const compile of [false, true]) {
    it(`2 workers and 2 server shards (Adagrad, as Dean et al.) converge at least as far as one process; every push is applied exactly once${compile ? '; compiled workers' : ''}`, async () => {
      const config: ReplicaConfig = { samples: 400, batchSize: 8, epochs: 8, lr: 0.05, optimizer: 'adagrad', compile };
      const r = await nt.distributed.launch(script, { workers: 2, mode: 'async', servers: 2, seed: 7, threadsPerWorker: 1, data: config });
      const reports = r.results as Report[];
      assert.deepEqual(r.failures, []);
      const pushes = r.workers!.reduce((s, w) => s + w!.pushes, 0);
      assert.equal(pushes, 2 * 200, 'one push per step');
      for (const server of r.servers!) {
        assert.equal(server!.version, pushes, 'each shard applied every push once');
        assert.equal(server!.dropped, 0);
      }
      // Both workers fetched the final weights at their end; the later one saw every update.
      const asyncLoss = Math.min(...reports.map((rep) => lossOf(rep.weights, config.samples)));
      const syncLoss = await singleProcessLoss(config, 16);
      assert.ok(
        asyncLoss <
          0.1 *
            lossOf(
              model(100)
                .parameters()
                .map((p) => Array.from(p.data)),
              config.samples,
            ),
        `async did not learn: ${asyncLoss}`,
      );
      // The same samples and epochs; async makes twice the updates (of half the batch), so it ends about as far. How far
      // depends on scheduling (how stale each gradient is): measured 0.75x to 1.07x of one process's loss, the high end
      // with another test file running beside it on 2 cores. A lost, doubled or misapplied update shows as far more.
      assert.ok(asyncLoss <= 1.25 * syncLoss, `async ${asyncLoss} vs one process ${syncLoss}`);
    });
  }

  it('a worker killed with SIGKILL mid-run: the job goes on and finishes with the other', async () => {
    const config: ReplicaConfig = { samples: 2000, batchSize: 8, epochs: 3, lr: 0.05, optimizer: 'adagrad' };
    let killed = false;
    const r = await nt.distributed.launch(script, {
      workers: 2,
      mode: 'async',
      seed: 7,
      threadsPerWorker: 1,
      data: config,
      onStart: (p) => {
        if (p.role === 'worker' && p.index === 1) {
          setTimeout(() => {
            killed = true;
            process.kill(p.pid, 'SIGKILL');
          }, 1500);
        }
      },
    });
    assert.ok(killed);
    assert.deepEqual(
      r.failures.map((f) => [f.rank, f.message]),
      [[1, 'killed by SIGKILL']],
    );
    const survivor = r.results[0] as Report;
    assert.ok(lossOf(survivor.weights, config.samples) < 0.05, 'the survivor did not converge');
  });

  it('the parameter server killed with SIGKILL mid-run is restarted, resumes from Redis and applies every push exactly once', async () => {
    const config: ReplicaConfig = { samples: 2000, batchSize: 8, epochs: 2, lr: 0.05, optimizer: 'adagrad' };
    let kills = 0;
    const lines: string[] = [];
    const r = await nt.distributed.launch(script, {
      workers: 2,
      mode: 'async',
      seed: 7,
      threadsPerWorker: 1,
      data: config,
      log: (line) => lines.push(line),
      onStart: (p) => {
        if (p.role === 'server' && kills === 0) {
          kills++;
          setTimeout(() => process.kill(p.pid, 'SIGKILL'), 1500);
        }
      },
    });
    assert.equal(r.serverRestarts, 1, lines.join('\n'));
    assert.ok(
      lines.some((l) => /parameter server 0 died \(SIGKILL\); restarting it/.test(l)),
      lines.join('\n'),
    );
    const pushes = r.workers!.reduce((s, w) => s + w!.pushes, 0);
    assert.equal(r.servers![0]!.version, pushes, 'a push was lost or applied twice across the restart');
  });

  it('Redis itself SIGKILLed mid-run and restarted (append-only file): workers and server reconnect, the job finishes, every push applied exactly once', async () => {
    const redis = await startAofRedis();
    try {
      const config: ReplicaConfig = { samples: 2000, batchSize: 8, epochs: 8, lr: 0.05, optimizer: 'adagrad' };
      const job = nt.distributed.launch(script, {
        workers: 2,
        mode: 'async',
        seed: 7,
        threadsPerWorker: 1,
        timeoutMs: 20_000,
        redis: redis.url,
        data: config,
      });
      // Kill it once the job is well under way (100 updates applied), not while its processes still start: a process
      // that cannot reach Redis at its start fails at once, by design.
      await redis.restartWhen(async (client) => {
        const versions = await client.keys('neurite:{*:0}:ver');
        return versions.length > 0 && Number(await client.get(versions[0])) >= 100;
      }, '100 updates applied');
      const r = await job;
      assert.deepEqual(r.failures, []);
      const pushes = r.workers!.reduce((sum, w) => sum + w!.pushes, 0);
      assert.equal(pushes, 2 * 8 * 125, 'one push per step');
      assert.equal(r.servers![0]!.version, pushes, 'a push was lost or applied twice across the Redis restart');
      assert.equal(r.servers![0]!.applied + r.servers![0]!.dropped, pushes);
    } finally {
      redis.stop();
    }
  });

  it('bad configuration fails fast: an unreachable Redis, and workers whose models differ', async () => {
    const t0 = Date.now();
    await assert.rejects(
      nt.distributed.launch(script, {
        workers: 1,
        mode: 'async',
        redis: 'redis://127.0.0.1:1',
        timeoutMs: 2000,
        data: { samples: 16, batchSize: 8, epochs: 1 },
      }),
      /cannot reach Redis at redis:\/\/127\.0\.0\.1:1/,
    );
    assert.ok(Date.now() - t0 < 5000);
    await assert.rejects(nt.distributed.launch(script, { workers: 1, mode: 'async', redis: 'http://x', data: {} }), /'http:\/\/x' is not a Redis URL/);
    const r = await nt.distributed.launch(script, {
      workers: 2,
      mode: 'async',
      timeoutMs: 5000,
      data: { samples: 64, batchSize: 8, epochs: 1, optimizer: 'adagrad', differentModelRank: 1 } satisfies ReplicaConfig,
    });
    assert.equal(r.failures.length, 1);
    assert.equal(r.failures[0].rank, 1);
    assert.match(r.failures[0].message, /worker 1: its model has 155 trainable parameters, the job's has 146; every worker must build the same model/);
  });
});
