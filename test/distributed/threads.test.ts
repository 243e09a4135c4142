import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as nt from '../../src/index.js';
import { model, optimizerFor, problem, type ReplicaConfig } from './fixtures/problem.js';

const script = new URL('./fixtures/replica.js', import.meta.url);

interface Report {
  rank: number;
  worldSize: number;
  seed: number;
  losses: number[];
  weights: number[][];
}

async function launch(config: ReplicaConfig, options: Partial<nt.distributed.LaunchOptions> = {}): Promise<Report[]> {
  const { results } = await nt.distributed.launch(script, { workers: 2, seed: 7, threadsPerWorker: 1, data: config, ...options });
  return results as Report[];
}

/** The same model (rank 0's), trained by one process with `worldSize` times the batch, in the order the replicas' shared seed gives. */
async function single(config: ReplicaConfig, seed: number, worldSize: number): Promise<{ losses: number[]; weights: number[][] }> {
  const m = model(100);
  const history = await nt.fit(m, problem(config.samples), {
    loss: 'mse',
    optimizer: optimizerFor(m, config),
    epochs: config.epochs,
    batchSize: config.batchSize * worldSize,
    generator: new nt.Generator(seed),
  });
  return { losses: history.get('loss'), weights: m.parameters().map((p) => Array.from(p.data)) };
}

/**
 * The largest weight difference, relative to the weight where it is above 1
 * (absolute below). Float32 rounds the mean of two per-replica means and the
 * mean over the whole batch differently, an ulp or so per step, so weights
 * near zero differ by more than 1e-6 of themselves (about 2e-7 absolute
 * after 200 steps); relative to the weights' scale the runs agree.
 */
function maxRelativeDifference(a: number[][], b: number[][]): number {
  let worst = 0;
  a.forEach((row, i) => {
    row.forEach((v, j) => {
      worst = Math.max(worst, Math.abs(v - b[i][j]) / Math.max(1, Math.abs(b[i][j])));
    });
  });
  return worst;
}

describe('distributed: replicas on threads', () => {
  it('sync-threads: 2 replicas with batch B equal 1 process with batch 2B after 200 steps (within 1e-6), and the replicas hold the same bits', async () => {
    // 400 samples, 8 per replica: 25 steps an epoch, 8 epochs.
    const config: ReplicaConfig = { samples: 400, batchSize: 8, epochs: 8 };
    const [r0, r1] = await launch(config);
    assert.deepEqual([r0.rank, r1.rank, r0.worldSize], [0, 1, 2]);
    assert.deepEqual(r0.weights, r1.weights, 'the replicas diverged');
    assert.deepEqual(r0.losses, r1.losses, 'the replicas logged different epoch losses');
    const one = await single(config, 7, 2);
    const diff = maxRelativeDifference(r0.weights, one.weights);
    assert.ok(diff < 1e-6, `max relative weight difference ${diff}`);
    r0.losses.forEach((l, i) => {
      assert.ok(Math.abs(l - one.losses[i]) <= 1e-6 * Math.abs(one.losses[i]), `epoch ${i}: ${l} vs ${one.losses[i]}`);
    });
    assert.ok(r0.losses.at(-1)! < r0.losses[0] / 2, `did not learn: ${r0.losses}`);
  });

  it('sync-threads with Adam and a compiled step: the same weights as eager replicas', async () => {
    const config: ReplicaConfig = { samples: 96, batchSize: 8, epochs: 3, optimizer: 'adam' };
    const eager = await launch(config);
    const compiled = await launch({ ...config, compile: true });
    assert.deepEqual(compiled[0].weights, eager[0].weights);
    assert.deepEqual(compiled[1].weights, eager[0].weights);
  });

  it('3 replicas: shards are disjoint and the update is the mean of all three', async () => {
    const config: ReplicaConfig = { samples: 90, batchSize: 5, epochs: 2 };
    const reports = await launch(config, { workers: 3 });
    assert.deepEqual(reports[1].weights, reports[0].weights);
    assert.deepEqual(reports[2].weights, reports[0].weights);
    const one = await single(config, 7, 3);
    assert.ok(maxRelativeDifference(reports[0].weights, one.weights) < 1e-6);
  });

  it('hogwild: the replicas update one shared set of weights and it learns', async () => {
    const config: ReplicaConfig = { samples: 400, batchSize: 8, epochs: 6, lr: 0.05 };
    const [r0, r1] = await launch(config, { mode: 'hogwild' });
    // After the last update both see the shared weights; the last writes race, so compare after both ended.
    assert.deepEqual(r0.weights, r1.weights);
    assert.ok(r0.losses.at(-1)! < r0.losses[0] / 2, `did not learn: ${r0.losses}`);
  });

  it('a replica that throws stops the job: launch rejects naming its rank and error, and the other replica does not hang', async () => {
    const started = Date.now();
    await assert.rejects(
      launch({ samples: 64, batchSize: 8, epochs: 4, failAtEpoch: 1, misbehavingRank: 1 }, { timeoutMs: 20_000 }),
      (e: unknown) => e instanceof nt.distributed.DistributedError && /rank 1 of 2 failed: rank 1 fails on purpose at epoch 1/.test((e as Error).message),
    );
    assert.ok(Date.now() - started < 10_000, 'the surviving replica waited for the timeout instead of stopping');
  });

  it('a replica that hangs: the others fail after the timeout with an error naming the missing rank', async () => {
    await assert.rejects(
      launch({ samples: 64, batchSize: 8, epochs: 3, hangMs: 3000, misbehavingRank: 1 }, { timeoutMs: 500 }),
      (e: unknown) => e instanceof nt.distributed.DistributedError && /rank 0 of 2 failed: .*rank 1 did not arrive within 500 ms/.test((e as Error).message),
    );
  });

  it('init() outside a launch is a job of one: fit with it trains as fit without it', async () => {
    const replica = nt.distributed.init();
    assert.equal(replica.launched, false);
    assert.equal(replica.worldSize, 1);
    const config: ReplicaConfig = { samples: 64, batchSize: 8, epochs: 2 };
    const m = model(100);
    const h = await nt.fit(m, problem(64), { loss: 'mse', optimizer: optimizerFor(m, config), epochs: 2, batchSize: 8, distributed: replica });
    const plain = await single(config, replica.seed, 1);
    assert.deepEqual(h.get('loss'), plain.losses);
    assert.deepEqual(
      m.parameters().map((p) => Array.from(p.data)),
      plain.weights,
    );
  });

  it('launch checks its options', async () => {
    await assert.rejects(nt.distributed.launch(script, { workers: 0 }), /workers must be an integer >= 1, got 0/);
    await assert.rejects(
      nt.distributed.launch(script, { workers: 2, mode: 'gossip' as 'hogwild' }),
      /mode must be one of sync-threads, sync, hogwild, async, got 'gossip'/,
    );
  });
});

describe('distributed: collectives and sharding', () => {
  it('DataLoader shard: the replicas share each pass without overlap, wrapping to equal counts', () => {
    const n = 10;
    const ds = new nt.TensorDataset(nt.arange(n), nt.arange(n));
    const seen: number[][] = [0, 1, 2].map((rank) => {
      const loader = new nt.DataLoader(ds, { batchSize: 2, shuffle: true, generator: new nt.Generator(3), shard: { rank, worldSize: 3 } });
      assert.equal(loader.length, 2);
      return [...loader].flatMap((b) => Array.from(b.x.data));
    });
    assert.deepEqual(
      seen.map((s) => s.length),
      [4, 4, 4],
    );
    const all = seen.flat();
    assert.deepEqual(
      [...new Set(all)].sort((a, b) => a - b),
      [...Array(n).keys()],
    );
    // 12 slots for 10 samples: exactly two samples appear twice.
    assert.equal(all.length - new Set(all).size, 2);
    const order = Array.from(new nt.Generator(3).permutation(n));
    assert.deepEqual(seen[1], [order[1], order[4], order[7], order[0]]);
    assert.throws(() => new nt.DataLoader(ds, { shard: { rank: 3, worldSize: 3 } }), /rank in \[0, worldSize\), got rank 3 of 3/);
    // The rule itself, which the launched trainer shares: every worldSize-th sample from rank on, wrapping round.
    assert.deepEqual(Array.from(nt.shareOf(Int32Array.from([9, 8, 7, 6, 5]), 1, 2)), [8, 6, 9]);
    assert.deepEqual(Array.from(nt.shareOf(Int32Array.from([9, 8, 7, 6, 5]), 0, 2)), [9, 7, 5]);
  });

  it('FlatLayout gathers and scatters tensors end to end', () => {
    const a = nt.tensor([1, 2, 3]);
    const b = nt.tensor([
      [4, 5],
      [6, 7],
    ]);
    const layout = new nt.distributed.FlatLayout([a, b]);
    assert.equal(layout.size, 7);
    assert.deepEqual(layout.offsets, [0, 3]);
    const flat = layout.gather(new Float32Array(7));
    assert.deepEqual(Array.from(flat), [1, 2, 3, 4, 5, 6, 7]);
    layout.scatter(Float32Array.from([7, 6, 5, 4, 3, 2, 1]));
    assert.deepEqual(Array.from(b.data), [4, 3, 2, 1]);
  });
});
