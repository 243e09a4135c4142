// Synchronous data parallelism across processes, through each transport:
// Gloo's collectives (native/gloo) with the rendezvous on a private
// redis-server, and the Redis collectives (RedisGroup) that need nothing
// else. Skipped, with one line, where Gloo is not built or redis-server is
// not installed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as nt from '../../src/index.js';
import { startAofRedis } from './fixtures/aof-redis.js';
import type { ReplicaConfig } from './fixtures/problem.js';

const noRedis = nt.distributed.redisServerInstalled() ? null : 'redis-server is not installed';
const missingFor = { gloo: noRedis ?? nt.distributed.glooUnavailableReason(), redis: noRedis };
for (const [collectives, missing] of Object.entries(missingFor))
  if (missing !== null)
    console.log(
      `# distributed sync (${collectives}) tests skipped: ${missing} (Debian: apt-get install libgloo-dev redis-server, then npm rebuild; .ci/run does)`,
    );

const replicaScript = new URL('./fixtures/replica.js', import.meta.url);
const collectivesScript = new URL('./fixtures/collectives.js', import.meta.url);

interface Report {
  rank: number;
  weights: number[][];
  losses: number[];
}

for (const collectives of ['gloo', 'redis'] as const)
  describe(`distributed: sync across processes through ${collectives}`, { skip: missingFor[collectives] !== null }, () => {
    for (const workers of [2, 3, 4]) {
      it(`allReduce (float32 and float64, sum and mean), broadcast and barrier across ${workers} processes give the exact results`, async () => {
        const r = await nt.distributed.launch(collectivesScript, { workers, mode: 'sync', collectives, seed: 1, threadsPerWorker: 1 });
        for (let rank = 0; rank < workers; rank++) {
          const got = r.results[rank] as {
            rank: number;
            floatsExact: boolean;
            startedExact: boolean | null;
            doubles: number[];
            mean: number[];
            broadcast: number[];
          };
          assert.equal(got.rank, rank);
          assert.ok(got.floatsExact, `rank ${rank}: a float32 sum is not exact`);
          // Gloo sums off the main thread as well (gradient buckets during backward); Redis collectives do not.
          assert.equal(got.startedExact, collectives === 'gloo' ? true : null, `rank ${rank}: started sums`);
          const ranks = Array.from({ length: workers }, (_, k) => k);
          assert.deepEqual(
            got.doubles,
            Array.from({ length: 7 }, (_, i) => ranks.reduce((s, k) => s + k * 10 + i + 0.25, 0)),
          );
          assert.deepEqual(got.mean, [workers - 1, 1]);
          assert.deepEqual(
            got.broadcast,
            [0, 1, 2, 3, 4].map((i) => (workers - 1) * 100 + i),
          );
        }
      });
    }

    /** Run `workers` processes and as many sync-threads replicas on the same data; both reports, by rank. */
    async function processesAndThreads(workers: number, seed: number, config: ReplicaConfig): Promise<[Report[], Report[]]> {
      const processes = (await nt.distributed.launch(replicaScript, { workers, mode: 'sync', collectives, seed, threadsPerWorker: 1, data: config }))
        .results as Report[];
      const threads = (await nt.distributed.launch(replicaScript, { workers, mode: 'sync-threads', seed, threadsPerWorker: 1, data: config }))
        .results as Report[];
      assert.deepEqual(processes[workers - 1].weights, processes[0].weights, 'the processes diverged');
      return [processes, threads];
    }

    it('2 processes give the same weights as 2 sync-threads replicas (and so as one process with batch 2B) after 200 steps', async () => {
      const [processes, threads] = await processesAndThreads(2, 7, { samples: 400, batchSize: 8, epochs: 8 });
      // Two float32 values sum to the same float32 in any order, and halving is exact: the bits agree.
      assert.deepEqual(processes[0].weights, threads[0].weights);
      assert.deepEqual(processes[0].losses, threads[0].losses);
    });

    if (collectives === 'gloo') {
      it('gradient buckets sent during backward (bucketBytes 64: four buckets) give the same bits as one all-reduce, eager and compiled', async () => {
        for (const compile of [false, true]) {
          const config: ReplicaConfig = { samples: 400, batchSize: 8, epochs: 4, compile };
          const run = async (bucketBytes: number): Promise<Report[]> =>
            (await nt.distributed.launch(replicaScript, { workers: 2, mode: 'sync', collectives, seed: 7, threadsPerWorker: 1, bucketBytes, data: config }))
              .results as Report[];
          const [bucketed, whole] = [await run(64), await run(0)];
          assert.deepEqual(bucketed[1].weights, bucketed[0].weights, 'the bucketed processes diverged');
          assert.deepEqual(bucketed[0].weights, whole[0].weights, `compile ${compile}`);
          assert.deepEqual(bucketed[0].losses, whole[0].losses, `compile ${compile}`);
        }
      });

      it('3 processes with buckets keep identical weights, within 1e-6 of one all-reduce', async () => {
        const config: ReplicaConfig = { samples: 300, batchSize: 10, epochs: 3 };
        const run = async (bucketBytes: number): Promise<Report[]> =>
          (await nt.distributed.launch(replicaScript, { workers: 3, mode: 'sync', collectives, seed: 5, threadsPerWorker: 1, bucketBytes, data: config }))
            .results as Report[];
        const [bucketed, whole] = [await run(64), await run(0)];
        assert.deepEqual(bucketed[2].weights, bucketed[0].weights);
        bucketed[0].weights.forEach((w, i) => {
          w.forEach((v, j) => {
            assert.ok(Math.abs(v - whole[0].weights[i][j]) <= 1e-6, `parameter ${i}[${j}]: ${v} vs ${whole[0].weights[i][j]}`);
          });
        });
      });
    }

    it('a rank that throws stops the job at once: launch rejects naming it, and the other process does not wait for the timeout', async () => {
      const started = performance.now();
      await assert.rejects(
        nt.distributed.launch(replicaScript, {
          workers: 2,
          mode: 'sync',
          collectives,
          seed: 7,
          threadsPerWorker: 1,
          timeoutMs: 20_000,
          data: { samples: 64, batchSize: 8, epochs: 3, failAtEpoch: 1, misbehavingRank: 1 } satisfies ReplicaConfig,
        }),
        (e: unknown) =>
          e instanceof nt.distributed.DistributedError &&
          /rank 1 of 2 failed: exited with code 1: rank 1 fails on purpose at epoch 1/.test((e as Error).message),
      );
      assert.ok(performance.now() - started < 10_000, 'the job waited for the timeout');
    });

    it('a rank that hangs: the other fails after the timeout naming the collective', async () => {
      await assert.rejects(
        nt.distributed.launch(replicaScript, {
          workers: 2,
          mode: 'sync',
          collectives,
          seed: 7,
          threadsPerWorker: 1,
          timeoutMs: 1000,
          data: { samples: 64, batchSize: 8, epochs: 3, hangMs: 6000, misbehavingRank: 1 } satisfies ReplicaConfig,
        }),
        (e: unknown) =>
          e instanceof nt.distributed.DistributedError &&
          /rank 0 of 2 failed: exited with code 1: rank 0 of 2: (allReduce|barrier|broadcast|allReduce \(started earlier\)).*[Tt]imed? ?out/.test(
            (e as Error).message,
          ),
      );
    });

    if (collectives === 'redis')
      it('3 processes give the bits of 3 sync-threads replicas: the Redis all-reduce sums in rank order in double precision, as the threads do', async () => {
        const [processes, threads] = await processesAndThreads(3, 5, { samples: 240, batchSize: 8, epochs: 3 });
        assert.deepEqual(processes[0].weights, threads[0].weights);
        assert.deepEqual(processes[0].losses, threads[0].losses);
      });

    if (collectives === 'redis')
      it('Redis SIGKILLed mid-run and restarted (append-only file): the job finishes with the bits of a run without the restart', async () => {
        const config: ReplicaConfig = { samples: 400, batchSize: 8, epochs: 12 };
        const redis = await startAofRedis();
        try {
          const job = nt.distributed.launch(replicaScript, {
            workers: 2,
            mode: 'sync',
            collectives,
            seed: 3,
            threadsPerWorker: 1,
            redis: redis.url,
            data: config,
          });
          // Killed once the collectives are well under way (collective 100), not while the processes still start.
          await redis.restartWhen(async (client) => (await client.keys('neurite:*:c:*:n')).some((k) => Number(k.split(':').at(-2)) >= 100), 'collective 100');
          const restarted = (await job).results as Report[];
          const plain = (await nt.distributed.launch(replicaScript, { workers: 2, mode: 'sync', collectives, seed: 3, threadsPerWorker: 1, data: config }))
            .results as Report[];
          assert.deepEqual(restarted[1].weights, restarted[0].weights);
          assert.deepEqual(restarted[0].weights, plain[0].weights);
          assert.deepEqual(restarted[0].losses, plain[0].losses);
        } finally {
          redis.stop();
        }
      });

    it('options that only async takes are refused for sync', async () => {
      await assert.rejects(
        nt.distributed.launch(replicaScript, { workers: 2, mode: 'sync', collectives, servers: 2 }),
        (e: unknown) => e instanceof nt.ValueError && /servers applies to mode 'async', not 'sync'/.test((e as Error).message),
      );
    });
  });
