// Gradient buckets of synchronous data parallelism, without any transport:
// the planner, and DataParallel over a group that records what it is asked
// and "sums" by doubling (as if a second replica had the same gradients), so
// that the averaged gradients must equal this replica's own, bit for bit.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planBuckets } from '../../src/distributed/flat.js';
import type { Collectives } from '../../src/distributed/strategies.js';
import * as nt from '../../src/index.js';

class RecordingGroup implements Collectives {
  readonly rank = 0;
  readonly worldSize = 2;
  readonly mode = 'sync';
  readonly seed = 1;
  readonly events: string[] = [];
  private pending: Float32Array[] = [];

  barrier(): void {}
  async reserve(): Promise<void> {}
  async share(): Promise<SharedArrayBuffer> {
    throw new Error('not shared');
  }
  broadcast(): void {}
  allReduce(values: Float32Array | Float64Array, op: 'sum' | 'mean' = 'sum'): void {
    this.events.push(`allReduce ${values.length}`);
    for (let i = 0; i < values.length; i++) values[i] = op === 'mean' ? (values[i] * 2) / 2 : values[i] * 2;
  }
  allReduceStart(values: Float32Array): void {
    this.events.push(`start ${values.length}`);
    this.pending.push(values);
  }
  allReduceWait(): void {
    this.events.push('wait');
    for (const values of this.pending) for (let i = 0; i < values.length; i++) values[i] *= 2;
    this.pending = [];
  }
}

function mlp(): nt.nn.Sequential {
  nt.seed(3);
  // Parameter sizes 24, 6, 18, 3, 6, 2 (in the model's order).
  return new nt.nn.Sequential(new nt.nn.Linear(4, 6), new nt.nn.Tanh(), new nt.nn.Linear(6, 3), new nt.nn.Tanh(), new nt.nn.Linear(3, 2));
}

const x = nt.randn([5, 4], { generator: new nt.Generator(9) });

/** One data-parallel step on x, 'backward done' marking in the group's events where backward ended. */
function step(dp: nt.distributed.DataParallel, group: RecordingGroup, m: nt.nn.Module, params: readonly nt.nn.Parameter[]): void {
  m.zeroGrad();
  group.events.length = 0;
  dp.beforeBackward();
  m.forward(x).square().sum().backward();
  group.events.push('backward done');
  dp.synchronizeGradients(params);
}

/** This model's gradients on x, with no distribution. */
function ownGradients(): number[][] {
  const m = mlp();
  m.forward(x).square().sum().backward();
  return m.parameters().map((p) => Array.from(p.grad!.data));
}

describe('gradient buckets', () => {
  it('planBuckets groups parameters last first, up to the cap, a larger parameter alone', () => {
    assert.deepEqual(planBuckets([24, 6, 18, 3, 6, 2], 10), [[5, 4], [3], [2], [1], [0]]);
    assert.deepEqual(planBuckets([24, 6, 18, 3, 6, 2], 30), [
      [5, 4, 3, 2],
      [1, 0],
    ]);
    assert.deepEqual(planBuckets([24, 6, 18, 3, 6, 2], 1000), [[5, 4, 3, 2, 1, 0]]);
    assert.deepEqual(planBuckets([], 10), []);
    assert.throws(() => planBuckets([1], 0), /cap must be a positive number/);
  });

  it('buckets start while backward runs (from the second step, once planned) and the mean is the same bits as one all-reduce', async () => {
    const group = new RecordingGroup();
    const dp = new nt.distributed.DataParallel(group, { bucketBytes: 40 });
    assert.ok(dp.overlaps);
    const m = mlp();
    await dp.begin(m);
    const params = m.parameters();
    const expected = ownGradients();
    for (let n = 0; n < 3; n++) {
      step(dp, group, m, params);
      assert.deepEqual(
        params.map((p) => Array.from(p.grad!.data)),
        expected,
        `step ${n}`,
      );
      if (n === 0) {
        // Nothing planned yet: one all-reduce of every gradient and its presence flag.
        assert.deepEqual(group.events, ['backward done', `allReduce ${24 + 6 + 18 + 3 + 6 + 2 + 6}`]);
      } else {
        // Cap 10 values: buckets of 2+6 values and 2 flags, 3+1, 18+1, 6+1 and 24+1, each sent from inside backward
        // as its last gradient arrives.
        assert.deepEqual(group.events, ['start 10', 'start 4', 'start 19', 'start 7', 'start 25', 'backward done', 'wait']);
      }
    }
  });

  it('a parameter without a gradient holds back the buckets from its own on (they go in order) and keeps no gradient', async () => {
    const group = new RecordingGroup();
    const dp = new nt.distributed.DataParallel(group, { bucketBytes: 40 });
    const m = mlp();
    await dp.begin(m);
    const params = m.parameters();
    // The last layer's bias (parameter 5, in the first bucket) is frozen here.
    params[5].requiresGrad = false;
    const expected = ownGradients();
    for (let n = 0; n < 2; n++) {
      step(dp, group, m, params);
      assert.equal(params[5].grad, null);
      assert.deepEqual(
        params.slice(0, 5).map((p) => Array.from(p.grad!.data)),
        expected.slice(0, 5),
      );
      if (n === 1) assert.deepEqual(group.events, ['backward done', 'start 10', 'start 4', 'start 19', 'start 7', 'start 25', 'wait']);
    }
  });

  it('a second backward in one step (gradient accumulation) falls back to one all-reduce of the summed gradients', async () => {
    const group = new RecordingGroup();
    const dp = new nt.distributed.DataParallel(group, { bucketBytes: 40 });
    const m = mlp();
    await dp.begin(m);
    const params = m.parameters();
    m.forward(x).square().sum().backward();
    dp.synchronizeGradients(params);
    m.zeroGrad();
    group.events.length = 0;
    dp.beforeBackward();
    m.forward(x).square().sum().backward();
    m.forward(x).square().sum().backward();
    dp.synchronizeGradients(params);
    assert.deepEqual(group.events.slice(-2), ['wait', `allReduce ${24 + 6 + 18 + 3 + 6 + 2 + 6}`]);
    assert.deepEqual(
      params.map((p) => Array.from(p.grad!.data)),
      ownGradients().map((g) => g.map((v) => Math.fround(v + v))),
    );
  });

  it('a compiled training step replays the buckets where backward sent them, with the numbers of eager training', async () => {
    const y = nt.randn([5, 2], { generator: new nt.Generator(10) });
    const logs: string[] = [];
    const train = async (compile: boolean) => {
      const group = new RecordingGroup();
      const dp = new nt.distributed.DataParallel(group, { bucketBytes: 40 });
      const sync = dp.synchronizeGradients.bind(dp);
      dp.synchronizeGradients = (params) => {
        group.events.push('sync');
        sync(params);
      };
      const m = mlp();
      let forwards = 0;
      const forward = m.forward.bind(m);
      m.forward = (input: nt.Tensor) => {
        forwards++;
        return forward(input);
      };
      const history = await nt.fit(
        m,
        { x: nt.concat([x, x]), y: nt.concat([y, y]) },
        {
          loss: 'mse',
          optimizer: new nt.optim.SGD(m.parameters(), { lr: 0.05 }),
          epochs: 6,
          batchSize: 5,
          compile,
          distributed: dp,
          log: (line) => logs.push(line),
        },
      );
      return { group, forwards, losses: history.get('loss'), weights: m.parameters().map((p) => Array.from(p.data)) };
    };
    const [eager, compiled] = [await train(false), await train(true)];
    assert.deepEqual(
      logs.filter((l) => /compile/.test(l)),
      [],
      'the step did not compile',
    );
    // Replays run no JavaScript forward: only the eager warm-up steps and the recorded one did.
    assert.equal(eager.forwards, 6);
    assert.ok(compiled.forwards < 6, `compiled: ${compiled.forwards} forward calls in 6 steps`);
    assert.deepEqual(compiled.losses, eager.losses);
    assert.deepEqual(compiled.weights, eager.weights);
    // Every step after the first sends its 5 buckets before synchronizeGradients is called, compiled or not.
    for (const { group } of [eager, compiled]) {
      const syncs = group.events.flatMap((e, i) => (e === 'sync' ? [i] : []));
      assert.equal(syncs.length, 6);
      assert.equal(group.events[syncs[0] + 1], `allReduce ${24 + 6 + 18 + 3 + 6 + 2 + 6}`);
      for (const i of syncs.slice(1)) {
        assert.deepEqual(group.events.slice(i - 5, i + 2), ['start 10', 'start 4', 'start 19', 'start 7', 'start 25', 'sync', 'wait']);
      }
    }
  });

  it('bucketBytes 0, or a group that cannot sum off the thread, sends everything after backward; a bad size is refused', async () => {
    const group = new RecordingGroup();
    assert.equal(new nt.distributed.DataParallel(group, { bucketBytes: 0 }).overlaps, false);
    const plain = Object.assign(new RecordingGroup(), { allReduceStart: undefined, allReduceWait: undefined });
    assert.equal(new nt.distributed.DataParallel(plain).overlaps, false);
    assert.throws(() => new nt.distributed.DataParallel(group, { bucketBytes: -1 }), /bucketBytes must be a number of bytes/);
  });
});
