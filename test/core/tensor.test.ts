import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as nt from '../../src/index.js';
import { assertClose } from '../helpers.js';

describe('creation', () => {
  test('nested arrays, typed arrays and dtypes', () => {
    assert.equal(
      nt.tensor([
        [1, 2],
        [3, 4],
      ]).dtype,
      'float32',
    );
    assert.deepEqual(
      [
        ...nt.tensor([
          [1, 2],
          [3, 4],
        ]).shape,
      ],
      [2, 2],
    );
    assert.equal(nt.tensor(new Float64Array([1, 2])).dtype, 'float64');
    assert.equal(nt.tensor([true, false]).dtype, 'bool');
    assert.equal(nt.tensor(3).ndim, 0);
    assert.deepEqual(nt.tensor(new Int32Array([1, 2, 3, 4]), { shape: [2, 2] }).toArray(), [
      [1, 2],
      [3, 4],
    ]);
    assert.throws(() => nt.tensor([[1, 2], [3]]), /tensor: ragged nested array: values\[1\] has shape \[1\] but values\[0\] has \[2\]/);
  });

  test('zeros, ones, full, arange, linspace, eye', () => {
    assert.deepEqual(nt.full([2], 7).toArray(), [7, 7]);
    assert.deepEqual(nt.arange(5).toArray(), [0, 1, 2, 3, 4]);
    assert.equal(nt.arange(5).dtype, 'int32');
    assertClose(nt.arange(0, 1, 0.25), [0, 0.25, 0.5, 0.75]);
    assertClose(nt.linspace(0, 1, 5), [0, 0.25, 0.5, 0.75, 1]);
    assert.deepEqual(nt.eye(2, 3).toArray(), [
      [1, 0, 0],
      [0, 1, 0],
    ]);
    assert.throws(() => nt.zeros([2, -1]), /zeros|full: shape \[2, -1\] has an invalid dimension -1/);
  });

  test('dtype promotion', () => {
    assert.equal(nt.ones([2]).add(nt.ones([2], { dtype: 'float64' })).dtype, 'float64');
    assert.equal(nt.ones([2], { dtype: 'int32' }).add(1).dtype, 'int32');
    assert.equal(nt.ones([2], { dtype: 'int32' }).add(0.5).dtype, 'float32');
    assert.equal(nt.ones([2], { dtype: 'int32' }).div(2).dtype, 'float32');
    assert.equal(nt.ones([2]).mul(2.5).dtype, 'float32');
  });

  test('printing is readable', () => {
    assert.equal(
      nt
        .tensor([
          [1, 2],
          [3, 4],
        ])
        .toString(),
      'tensor([[1.0000, 2.0000],\n        [3.0000, 4.0000]], dtype=float32)',
    );
    assert.match(nt.zeros([100, 100]).toString(), /shape=\[100, 100\]/);
    assert.match(nt.ones([2], { requiresGrad: true }).mul(2).toString(), /gradFn=mul/);
  });

  test('item and toArray', () => {
    assert.equal(nt.tensor([5]).item(), 5);
    assert.throws(() => nt.tensor([1, 2]).item(), /item: expected a tensor with one element, got shape \[2\]/);
    assert.deepEqual(nt.tensor([1, 2]).gt(1).toArray(), [false, true]);
  });
});

describe('random numbers', () => {
  test('the same seed gives the same numbers; different seeds differ', () => {
    nt.seed(42);
    const a = nt.randn([5]).toFlatArray();
    const u = nt.rand([3]).toFlatArray();
    nt.seed(42);
    assert.deepEqual(nt.randn([5]).toFlatArray(), a);
    assert.deepEqual(nt.rand([3]).toFlatArray(), u);
    nt.seed(43);
    assert.notDeepEqual(nt.randn([5]).toFlatArray(), a);
  });

  test('two processes with the same seed produce bit-identical tensors', () => {
    const index = fileURLToPath(new URL('../../src/index.js', import.meta.url));
    const script = `import * as nt from ${JSON.stringify(index)}; nt.seed(7); const t = nt.randn([64], {dtype: 'float64'}); const u = nt.uniform([64]); console.log(Buffer.from(t.data.buffer).toString('hex') + Buffer.from(u.data.buffer).toString('hex'));`;
    const run = () => spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).stdout.trim();
    const first = run();
    assert.ok(first.length > 100);
    assert.equal(run(), first);
  });

  test('distributions have the right moments', () => {
    nt.seed(1);
    const n = nt.normal([20000], 3, 2, { dtype: 'float64' });
    assertClose(n.mean(), 3, { atol: 0.05 });
    assertClose(n.std(), 2, { atol: 0.05 });
    const u = nt.uniform([20000], -1, 1);
    assert.ok(u.min().item() >= -1 && u.max().item() < 1);
    const b = nt.bernoulli([20000], 0.3);
    assertClose(b.mean(), 0.3, { atol: 0.02 });
    assert.throws(() => nt.bernoulli([2], 1.5), /bernoulli: p must be in \[0, 1\], got 1.5/);
  });

  test('generator state round-trips', () => {
    const g = new nt.Generator(5);
    g.nextNormal();
    const state = g.getState();
    const a = [g.nextNormal(), g.nextDouble()];
    g.setState(state);
    assert.deepEqual([g.nextNormal(), g.nextDouble()], a);
  });
});

describe('memory', () => {
  test('100,000 forward+backward steps keep the heap flat (no manual disposal)', async () => {
    const { setFlagsFromString } = await import('node:v8');
    const { runInNewContext } = await import('node:vm');
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const w = nt.randn([4, 4], { requiresGrad: true });
    const x = nt.randn([2, 4]);
    const step = () => {
      const loss = x.matmul(w).tanh().square().mean();
      loss.backward();
      w.grad = null;
    };
    for (let i = 0; i < 10000; i++) step();
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 100000; i++) step();
    gc();
    const after = process.memoryUsage().heapUsed;
    // A leak of even one 4x4 float32 tensor per step would be 6.4 MB or more.
    assert.ok(after - before < 2e6, `heap grew by ${((after - before) / 1e6).toFixed(2)} MB`);
  });
});
