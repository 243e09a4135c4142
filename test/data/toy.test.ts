import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { circles, gaussians, moons, type ToyData, type ToyOptions, twoSpirals, xorData } from '../../src/data/index.js';
import { Generator, seed, ValueError } from '../../src/index.js';

type Maker = (n: number, options?: ToyOptions) => ToyData;
const MAKERS: Record<string, Maker> = { xorData, circles, gaussians, twoSpirals, moons };

function points(d: ToyData): { x: number; y: number; cls: number }[] {
  return Array.from(d.y.data, (cls, i) => ({ x: d.x.data[2 * i], y: d.x.data[2 * i + 1], cls }));
}

describe('toy 2-D sets: shape, balance, reproducibility', () => {
  for (const [name, make] of Object.entries(MAKERS)) {
    test(`${name}: x [n, 2] float32, y [n] int32, classes balanced to within one`, () => {
      const d = make(101, { noise: 0.1, seed: 1 });
      assert.deepEqual([...d.x.shape], [101, 2]);
      assert.equal(d.x.dtype, 'float32');
      assert.deepEqual([...d.y.shape], [101]);
      assert.equal(d.y.dtype, 'int32');
      const counts = [0, 0];
      for (const c of d.y.data) counts[c]++;
      assert.deepEqual(counts, [51, 50]);
      assert.ok(Array.from(d.x.data).every(Number.isFinite));
      assert.equal(make(3, { dtype: 'float64', seed: 1 }).x.dtype, 'float64');
    });

    test(`${name}: one seed, one data set; another seed, another`, () => {
      const a = make(50, { noise: 0.2, seed: 42 });
      const b = make(50, { noise: 0.2, generator: new Generator(42) });
      assert.deepEqual(Array.from(a.x.data), Array.from(b.x.data));
      assert.deepEqual(Array.from(a.y.data), Array.from(b.y.data));
      seed(7);
      const c = make(50, { noise: 0.2 });
      seed(7);
      const d = make(50, { noise: 0.2 });
      assert.deepEqual(Array.from(c.x.data), Array.from(d.x.data));
      assert.notDeepEqual(Array.from(a.x.data), Array.from(make(50, { noise: 0.2, seed: 43 }).x.data));
    });

    test(`${name}: rejects a bad n or noise`, () => {
      assert.throws(
        () => make(0),
        (e: unknown) => e instanceof ValueError && /n must be a positive integer, got 0/.test(e.message),
      );
      assert.throws(() => make(10, { noise: -1 }), /noise must be a finite number >= 0/);
    });
  }
});

describe('toy 2-D sets: geometry without noise', () => {
  test('xorData: class 1 exactly where the coordinates have opposite signs, inside [-1, 1]^2', () => {
    for (const p of points(xorData(400, { seed: 3 }))) {
      assert.equal(p.cls, p.x * p.y < 0 ? 1 : 0);
      assert.ok(Math.abs(p.x) <= 1 && Math.abs(p.y) <= 1);
    }
  });

  test('circles: class 0 on radius 1, class 1 on radius factor', () => {
    for (const p of points(circles(200, { factor: 0.3, seed: 4, dtype: 'float64' }))) {
      assert.ok(Math.abs(Math.hypot(p.x, p.y) - (p.cls === 0 ? 1 : 0.3)) < 1e-12);
    }
    assert.throws(() => circles(10, { factor: 1 }), /factor must be in \(0, 1\)/);
  });

  test('moons: class 0 on the upper unit arc, class 1 on the lower arc about (1, 0.5)', () => {
    for (const p of points(moons(200, { seed: 5, dtype: 'float64' }))) {
      if (p.cls === 0) {
        assert.ok(Math.abs(Math.hypot(p.x, p.y) - 1) < 1e-12 && p.y >= 0);
      } else {
        assert.ok(Math.abs(Math.hypot(p.x - 1, p.y - 0.5) - 1) < 1e-12 && p.y <= 0.5);
      }
    }
  });

  test('twoSpirals: a point at radius s has angle 2*pi*turns*s (+ pi for class 1)', () => {
    const turns = 1.25;
    for (const p of points(twoSpirals(200, { turns, seed: 6, dtype: 'float64' }))) {
      const s = Math.hypot(p.x, p.y);
      assert.ok(s < 1);
      const expected = 2 * Math.PI * turns * s + p.cls * Math.PI;
      // Compare angles on the circle: the difference is a multiple of 2*pi.
      const diff = Math.atan2(p.y, p.x) - expected;
      assert.ok(Math.abs(Math.sin(diff)) < 1e-9 && Math.cos(diff) > 0, `point (${p.x}, ${p.y}) of class ${p.cls}`);
    }
  });

  test('gaussians: blob means are the centres and their spread is std (plus noise, in quadrature)', () => {
    const centers: [number, number][] = [
      [3, -1],
      [-2, 0.5],
      [0, 4],
    ];
    const n = 6000;
    const d = gaussians(n, { centers, std: 0.3, noise: 0.4, seed: 8, dtype: 'float64' });
    const ps = points(d);
    centers.forEach(([cx, cy], k) => {
      const mine = ps.filter((p) => p.cls === k);
      assert.equal(mine.length, n / 3);
      const mx = mine.reduce((a, p) => a + p.x, 0) / mine.length;
      const my = mine.reduce((a, p) => a + p.y, 0) / mine.length;
      const sd = Math.sqrt(mine.reduce((a, p) => a + (p.x - mx) ** 2, 0) / (mine.length - 1));
      // Standard error of the mean is 0.5 / sqrt(2000) ~ 0.011; of the std about 0.008.
      assert.ok(Math.abs(mx - cx) < 0.05 && Math.abs(my - cy) < 0.05, `centre ${k}: mean (${mx}, ${my})`);
      assert.ok(Math.abs(sd - 0.5) < 0.04, `centre ${k}: std ${sd}`);
    });
    const ring = gaussians(40, { centers: 4, std: 0, seed: 1, dtype: 'float64' });
    for (const p of points(ring)) assert.ok(Math.abs(Math.hypot(p.x, p.y) - 2) < 1e-12);
    assert.deepEqual(new Set(ring.y.data), new Set([0, 1, 2, 3]));
    assert.throws(() => gaussians(10, { centers: [[1, Number.NaN]] }), /centers\[0\] must be a point/);
  });
});
