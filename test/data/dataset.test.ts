import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  arange,
  DataLoader,
  Generator,
  kFold,
  randomSplit,
  ShapeError,
  seed,
  stratifiedKFold,
  TensorDataset,
  tensor,
  trainTestSplit,
  ValueError,
} from '../../src/index.js';

/** x = [[0, 0], [1, 10], [2, 20], ...] so a row's sample index is x[i][0]; y = 100 + index. */
function indexed(n: number): TensorDataset {
  const x = tensor(Array.from({ length: n }, (_, i) => [i, 10 * i]));
  const y = arange(100, 100 + n);
  return new TensorDataset(x, y);
}

function rowIds(x: { toArray(): unknown }): number[] {
  return (x.toArray() as number[][]).map((r) => r[0]);
}

function sorted(a: ArrayLike<number>): number[] {
  return Array.from(a).sort((p, q) => p - q);
}

describe('TensorDataset', () => {
  it('pairs x and y by sample and gathers batches in the given order', () => {
    const d = indexed(5);
    assert.equal(d.length, 5);
    const s = d.get(3);
    assert.deepEqual(s.x.toArray(), [3, 30]);
    assert.equal(s.y?.item(), 103);
    assert.deepEqual(d.get(-1).x.toArray(), [4, 40]);
    const b = d.getBatch(Int32Array.from([4, 0, 2]));
    assert.deepEqual(rowIds(b.x), [4, 0, 2]);
    assert.deepEqual(b.y?.toArray(), [104, 100, 102]);
  });

  it('rejects mismatched sample counts and out-of-range indices', () => {
    assert.throws(
      () => new TensorDataset(tensor([[1], [2], [3]]), tensor([1, 2])),
      (e: Error) => e instanceof ShapeError && /3 samples/.test(e.message),
    );
    assert.throws(() => indexed(3).get(3), ValueError);
  });
});

describe('DataLoader', () => {
  it('cuts batches in order without shuffling and keeps the short last batch unless dropLast', () => {
    const d = indexed(10);
    const loader = new DataLoader(d, { batchSize: 4 });
    assert.equal(loader.length, 3);
    assert.deepEqual(
      [...loader].map((b) => rowIds(b.x)),
      [
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9],
      ],
    );
    const dropping = new DataLoader(d, { batchSize: 4, dropLast: true });
    assert.equal(dropping.length, 2);
    assert.deepEqual(
      [...dropping].map((b) => b.x.shape[0]),
      [4, 4],
    );
  });

  it('shuffles every pass into a permutation, reproducibly from the global seed', () => {
    const d = indexed(12);
    const loader = new DataLoader(d, { batchSize: 5, shuffle: true });
    seed(42);
    const first = [...loader].flatMap((b) => rowIds(b.x));
    const second = [...loader].flatMap((b) => rowIds(b.x));
    assert.deepEqual(
      sorted(first),
      Array.from({ length: 12 }, (_, i) => i),
    );
    assert.notDeepEqual(first, second, 'each pass draws a new order');
    seed(42);
    assert.deepEqual(
      [...loader].flatMap((b) => rowIds(b.x)),
      first,
    );
    // y travels with x: y = 100 + the row id.
    for (const b of loader)
      assert.deepEqual(
        b.y?.toArray(),
        rowIds(b.x).map((i) => 100 + i),
      );
  });

  it('uses its own generator when given one, leaving the global stream alone', () => {
    const d = indexed(8);
    const a = new DataLoader(d, { batchSize: 3, shuffle: true, generator: new Generator(5) });
    const b = new DataLoader(d, { batchSize: 3, shuffle: true, generator: new Generator(5) });
    seed(1);
    const fromA = [...a].flatMap((x) => rowIds(x.x));
    seed(999);
    assert.deepEqual(
      [...b].flatMap((x) => rowIds(x.x)),
      fromA,
    );
  });

  it('hands out the whole dataset as one batch when batchSize covers it', () => {
    const d = indexed(6);
    const batches = [...new DataLoader(d, { batchSize: Number.POSITIVE_INFINITY, shuffle: true })];
    assert.equal(batches.length, 1);
    assert.equal(batches[0].x, d.x, 'no copy for a full in-order batch');
  });

  it('validates batchSize', () => {
    assert.throws(() => new DataLoader(indexed(3), { batchSize: 0 }), /batchSize must be a positive integer, got 0/);
    assert.throws(() => new DataLoader(indexed(3), { batchSize: 2.5 }), /got 2.5/);
  });
});

describe('randomSplit', () => {
  it('partitions the samples by counts or by fractions', () => {
    const d = indexed(10);
    const [a, b] = randomSplit(d, [7, 3], { generator: new Generator(0) });
    assert.equal(a.length, 7);
    assert.equal(b.length, 3);
    assert.deepEqual(
      sorted([...rowIds(a.x), ...rowIds(b.x)]),
      Array.from({ length: 10 }, (_, i) => i),
    );
    // 10 * [0.5, 0.25, 0.25] = [5, 2.5, 2.5] → floors [5, 2, 2]; the leftover sample goes to the first subset.
    const parts = randomSplit(d, [0.5, 0.25, 0.25], { generator: new Generator(0) });
    assert.deepEqual(
      parts.map((p) => p.length),
      [6, 2, 2],
    );
    assert.throws(() => randomSplit(d, [5, 4]), /must be counts adding up to the dataset size 10/);
  });
});

describe('trainTestSplit', () => {
  it('holds out ceil(testFraction * n) samples, disjoint from the training ones', () => {
    const { x, y } = indexed(10);
    const s = trainTestSplit(x, y, { testFraction: 0.25, seed: 3 });
    // ceil(0.25 * 10) = 3
    assert.equal(s.xTest.shape[0], 3);
    assert.equal(s.xTrain.shape[0], 7);
    assert.deepEqual(
      sorted([...s.trainIndices, ...s.testIndices]),
      Array.from({ length: 10 }, (_, i) => i),
    );
    assert.deepEqual(rowIds(s.xTest), Array.from(s.testIndices));
    assert.deepEqual(
      s.yTest?.toArray(),
      Array.from(s.testIndices, (i) => 100 + i),
    );
    const again = trainTestSplit(x, y, { testFraction: 0.25, seed: 3 });
    assert.deepEqual(again.testIndices, s.testIndices);
  });

  it('takes the last samples when not shuffling', () => {
    const { x } = indexed(8);
    const s = trainTestSplit(x, undefined, { testFraction: 0.5, shuffle: false });
    assert.deepEqual(Array.from(s.testIndices), [4, 5, 6, 7]);
    assert.equal(s.yTest, undefined);
  });

  it('keeps class proportions with stratify', () => {
    // 12 samples of class 0 and 6 of class 1; a third held out: 6 test samples, 4 of class 0 and 2 of class 1.
    const labels = Array.from({ length: 18 }, (_, i) => (i % 3 === 2 ? 1 : 0));
    const y = tensor(labels, { dtype: 'int32' });
    const x = arange(0, 18).reshape([18, 1]);
    for (let s = 0; s < 5; s++) {
      const split = trainTestSplit(x, y, { testFraction: 1 / 3, stratify: true, seed: s });
      const testLabels = Array.from(split.testIndices, (i) => labels[i]);
      assert.equal(testLabels.length, 6);
      assert.equal(testLabels.filter((c) => c === 1).length, 2);
    }
    assert.throws(() => trainTestSplit(x, y, { stratify: true, shuffle: false }), /stratify needs shuffle/);
  });

  it('checks testFraction', () => {
    const { x } = indexed(4);
    assert.throws(() => trainTestSplit(x, undefined, { testFraction: 1 }), /testFraction must be in \(0, 1\), got 1/);
  });
});

describe('kFold', () => {
  it('holds every sample out exactly once, the first n mod k folds one larger', () => {
    const folds = kFold(10, 3);
    assert.deepEqual(
      folds.map((f) => f.test.length),
      [4, 3, 3],
    );
    assert.deepEqual(Array.from(folds[0].test), [0, 1, 2, 3]);
    const shuffled = kFold(10, 3, { shuffle: true, generator: new Generator(1) });
    const held = shuffled.flatMap((f) => Array.from(f.test));
    assert.deepEqual(
      sorted(held),
      Array.from({ length: 10 }, (_, i) => i),
    );
    for (const f of shuffled) {
      assert.equal(f.train.length + f.test.length, 10);
      const test = new Set(f.test);
      assert.ok(Array.from(f.train).every((i) => !test.has(i)));
    }
    assert.throws(() => kFold(3, 4), /k = 4 folds need at least 4 samples/);
    assert.throws(() => kFold(10, 1), /k must be an integer >= 2/);
  });

  it('stratifiedKFold balances the classes across folds', () => {
    // 8 of class 0 and 4 of class 1 in 4 folds: each fold gets 2 and 1.
    const labels = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1];
    const folds = stratifiedKFold(tensor(labels, { dtype: 'int32' }), 4, { shuffle: true, generator: new Generator(2) });
    for (const f of folds) {
      const counts = [0, 0];
      for (const i of f.test) counts[labels[i]]++;
      assert.deepEqual(counts, [2, 1]);
    }
    assert.deepEqual(
      sorted(folds.flatMap((f) => Array.from(f.test))),
      Array.from({ length: 12 }, (_, i) => i),
    );
  });
});
