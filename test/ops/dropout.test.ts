// Inverted dropout, written once (ops/activations.ts dropout) and used by the
// Dropout layer and between stacked recurrent layers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Generator, nn, ones, tensor } from '../../src/index.js';

test('dropout zeroes about p of the units and scales the rest by 1/(1 - p)', () => {
  // E[dropout(x)] = x: with 100,000 ones and p = 0.3, about 30% are 0 and the rest are 1/0.7.
  const y = nn.functional.dropout(ones([100000]), 0.3, { generator: new Generator(3) });
  const values = y.data as Float32Array;
  let zeros = 0;
  for (const v of values) {
    if (v === 0) zeros++;
    else assert.ok(Math.abs(v - 1 / 0.7) < 1e-6);
  }
  assert.ok(Math.abs(zeros / values.length - 0.3) < 0.01, `dropped fraction ${zeros / values.length}`);
  assert.ok(Math.abs(y.mean().item() - 1) < 0.02);
});

test('dropout with p = 0 is the identity and with p = 1 gives zeros; a bad p is refused', () => {
  const x = tensor([1, -2, 3]);
  assert.equal(nn.functional.dropout(x, 0), x);
  assert.deepEqual(nn.functional.dropout(x, 1).toArray(), [0, -0, 0]);
  assert.throws(() => nn.functional.dropout(x, 1.5), { name: 'ValueError', message: 'dropout: p must be a probability in [0, 1], got 1.5' });
});

test('the Dropout layer and the function draw the same mask from the same generator', () => {
  const x = ones([64]);
  const layer = new nn.Dropout(0.5, { generator: new Generator(9) });
  assert.deepEqual(layer.forward(x).toArray(), nn.functional.dropout(x, 0.5, { generator: new Generator(9) }).toArray());
});

test('gradients flow through the kept units only', () => {
  const x = ones([1000], { requiresGrad: true });
  const y = nn.functional.dropout(x, 0.4, { generator: new Generator(5) });
  y.sum().backward();
  const g = x.grad?.data as Float32Array;
  const out = y.data as Float32Array;
  for (let i = 0; i < g.length; i++) assert.equal(g[i], out[i]);
});
