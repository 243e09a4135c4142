import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  compose,
  flipImages,
  gaussianNoise,
  randomHorizontalFlip,
  randomRotation,
  randomShift,
  randomVerticalFlip,
  rotateImages,
  shiftImages,
} from '../../src/data/index.js';
import { DTypeError, Generator, rand, ShapeError, seed, type Tensor, tensor, ValueError } from '../../src/index.js';
import { assertClose } from '../helpers.js';

// A 2-image, 2-channel batch of 4x5 images whose every pixel value is unique,
// so a moved pixel can be recognised.
function batch(dtype: 'float32' | 'float64' = 'float64'): Tensor {
  const data = Array.from({ length: 2 * 2 * 4 * 5 }, (_, i) => i + 1);
  return tensor(data, { shape: [2, 2, 4, 5], dtype });
}

// Pixel (n, c, r, col) of a [N, C, H, W] tensor.
function at(t: Tensor, n: number, c: number, r: number, col: number): number {
  const [, C, H, W] = t.shape;
  return t.data[((n * C + c) * H + r) * W + col];
}

function same(a: Tensor, b: Tensor): boolean {
  return a.size === b.size && a.data.every((v, i) => v === b.data[i]);
}

describe('shifts', () => {
  test('shiftImages by (1, 0) moves every pixel one row down and fills row 0 with zeros', () => {
    const x = batch();
    const y = shiftImages(x, 1, 0);
    for (let n = 0; n < 2; n++)
      for (let c = 0; c < 2; c++)
        for (let r = 0; r < 4; r++) for (let col = 0; col < 5; col++) assert.equal(at(y, n, c, r, col), r === 0 ? 0 : at(x, n, c, r - 1, col));
  });

  test('shiftImages by (-1, 2): up one row and right two columns', () => {
    const x = batch();
    const y = shiftImages(x, -1, 2);
    assert.equal(at(y, 1, 1, 0, 2), at(x, 1, 1, 1, 0));
    assert.equal(at(y, 1, 1, 2, 4), at(x, 1, 1, 3, 2));
    assert.equal(at(y, 0, 0, 3, 3), 0); // the bottom row came from outside
    assert.equal(at(y, 0, 0, 1, 1), 0); // and so did the two left columns
    assert.ok(shiftImages(x, 9, 0).data.every((v) => v === 0));
  });

  test('randomShift moves each image by whole pixels within maxShift, all channels alike', () => {
    const x = rand([16, 2, 6, 6], { generator: new Generator(1) });
    const y = randomShift({ maxShift: 2 })(x, new Generator(2));
    const seen = new Set<string>();
    for (let n = 0; n < 16; n++) {
      const image = tensor(x.data.slice(n * 72, (n + 1) * 72), { shape: [2, 6, 6] });
      const out = tensor(y.data.slice(n * 72, (n + 1) * 72), { shape: [2, 6, 6] });
      const matches: string[] = [];
      for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) if (same(shiftImages(image, dy, dx), out)) matches.push(`${dy},${dx}`);
      assert.equal(matches.length, 1, `image ${n} is not a single integer shift of its input`);
      seen.add(matches[0]);
    }
    // 16 draws from 25 shifts: all identical would mean the images share one draw.
    assert.ok(seen.size > 4);
    assert.ok(same(randomShift({ maxShift: 0 })(x), x));
    assert.throws(() => randomShift({ maxShift: 1.5 }), ValueError);
  });
});

describe('rotations', () => {
  test('rotation by 0 is the identity, and so are four quarter turns and a full turn', () => {
    const x = batch();
    assert.ok(same(rotateImages(x, 0), x));
    assert.ok(same(randomRotation({ degrees: 0 })(x), x));
    assertClose(rotateImages(x, 360), x, { atol: 1e-9 });
  });

  test('a quarter turn of a square image is numpy.rot90: out[i][j] = in[j][W-1-i] (counter-clockwise)', () => {
    const data = Array.from({ length: 25 }, (_, i) => i * i);
    const x = tensor(data, { shape: [1, 5, 5], dtype: 'float64' });
    const y = rotateImages(x, 90);
    const expected = Array.from({ length: 25 }, (_, k) => data[(k % 5) * 5 + (4 - Math.floor(k / 5))]);
    assertClose(y, expected, { atol: 1e-9 });
    assertClose(rotateImages(rotateImages(rotateImages(rotateImages(x, 90), 90), 90), 90), x, { atol: 1e-9 });
  });

  test('a half turn is a flip both ways (odd and even sizes alike, the centre sits between pixels)', () => {
    const x = batch();
    assertClose(rotateImages(x, 180), flipImages(flipImages(x, 'horizontal'), 'vertical'), { atol: 1e-9 });
  });

  test('a 45 degree turn samples bilinearly: the centre pixel stays, a corner falls outside and becomes 0', () => {
    const x = tensor(
      Array.from({ length: 9 }, () => 1),
      { shape: [1, 3, 3], dtype: 'float64' },
    );
    const y = rotateImages(x, 45);
    assert.equal(y.data[4], 1);
    // Corner (0, 0), at distance sqrt(2) from the centre, samples (row 1 - sqrt(2), col 1):
    // only the in-image neighbour (0, 1) contributes, with weight 1 - (sqrt(2) - 1).
    assertClose(y.data[0], 2 - Math.SQRT2, { atol: 1e-12 });
  });

  test('randomRotation draws within the range; float images only', () => {
    const x = batch('float32');
    const y = randomRotation({ degrees: [10, 20] })(x, new Generator(3));
    assert.equal(y.dtype, 'float32');
    assert.ok(!same(y, x));
    assert.throws(() => randomRotation({ degrees: [5, 1] }), ValueError);
    assert.throws(() => rotateImages(tensor([1, 2, 3, 4], { shape: [1, 2, 2], dtype: 'int32' }), 10), DTypeError);
  });
});

describe('flips', () => {
  test('flipping twice is the identity; a horizontal flip reverses columns, a vertical one rows', () => {
    const x = batch();
    for (const axis of ['horizontal', 'vertical'] as const) assert.ok(same(flipImages(flipImages(x, axis), axis), x));
    const h = flipImages(x, 'horizontal');
    const v = flipImages(x, 'vertical');
    assert.equal(at(h, 1, 0, 2, 0), at(x, 1, 0, 2, 4));
    assert.equal(at(v, 1, 0, 0, 3), at(x, 1, 0, 3, 3));
  });

  test('randomHorizontalFlip / randomVerticalFlip flip each image with probability p', () => {
    const x = batch();
    assert.ok(same(randomHorizontalFlip({ p: 1 })(x), flipImages(x, 'horizontal')));
    assert.ok(same(randomVerticalFlip({ p: 0 })(x), x));
    // 1000 two-pixel images [0, 1]; a flipped one reads [1, 0]. Flipped count: mean 500, sd ~16.
    const many = tensor(
      Array.from({ length: 1000 * 2 }, (_, i) => i % 2),
      { shape: [1000, 1, 1, 2] },
    );
    const out = randomHorizontalFlip({ p: 0.5 })(many, new Generator(4));
    let flipped = 0;
    for (let i = 0; i < 1000; i++) flipped += out.data[2 * i];
    assert.ok(flipped > 430 && flipped < 570, `${flipped} of 1000 flipped`);
    assert.throws(() => randomVerticalFlip({ p: 1.5 }), /p must be in \[0, 1\], got 1.5/);
  });
});

describe('noise', () => {
  test('gaussianNoise has mean 0 and the requested standard deviation', () => {
    const zeros = tensor(new Float64Array(10 * 50 * 50), { shape: [10, 1, 50, 50] });
    const noisy = gaussianNoise({ std: 0.3 })(zeros, new Generator(5));
    const v = Array.from(noisy.data);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1));
    // Over 25,000 draws: se(mean) ~ 0.002, se(sd) ~ 0.0013.
    assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`);
    assert.ok(Math.abs(sd - 0.3) < 0.006, `sd ${sd}`);
    const clipped = gaussianNoise({ std: 1, clip: [0, 1] })(zeros, new Generator(6));
    assert.ok(clipped.data.every((x) => x >= 0 && x <= 1));
    assert.ok(
      zeros.data.every((x) => x === 0),
      'the input is left untouched',
    );
  });
});

describe('compose and reproducibility', () => {
  const pipeline = compose([randomShift({ maxShift: 1 }), randomRotation({ degrees: 15 }), randomHorizontalFlip(), gaussianNoise({ std: 0.05 })]);

  test('same seed, same output; another seed, another output', () => {
    const x = batch('float32');
    const a = pipeline(x, new Generator(11));
    const b = pipeline(x, new Generator(11));
    assert.ok(same(a, b));
    assert.ok(!same(a, pipeline(x, new Generator(12))));
    seed(99);
    const c = pipeline(x);
    seed(99);
    assert.ok(same(c, pipeline(x)));
    assert.deepEqual([...a.shape], [2, 2, 4, 5]);
  });

  test('a single image [C, H, W] goes through the same pipeline', () => {
    const single = tensor(batch('float32').data.slice(0, 40), { shape: [2, 4, 5] });
    const out = pipeline(single, new Generator(1));
    assert.deepEqual([...out.shape], [2, 4, 5]);
  });

  test('the generator given at call time wins over the one given to the transform', () => {
    const x = batch();
    const fixed = randomShift({ maxShift: 2, generator: new Generator(1) });
    assert.ok(same(fixed(x, new Generator(8)), randomShift({ maxShift: 2 })(x, new Generator(8))));
  });

  test('images must be [N, C, H, W] or [C, H, W]', () => {
    assert.throws(
      () => shiftImages(tensor([1, 2, 3]), 1, 0),
      (e: unknown) => e instanceof ShapeError && /got shape \[3\]/.test(e.message),
    );
    assert.throws(() => compose([1 as never]), ValueError);
  });
});
