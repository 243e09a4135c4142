// countNonFinite (ops/primitives.ts): fit's NaN guard. Its fast path is one sum
// through the active backend's reduce kernel, so these sizes are past the
// compiled backends' thresholds and the values sit where a vectorised sum
// splits its lanes (first, middle, last, and a tail that is not a multiple of 8).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fit, NonFiniteLossError, nn, ones, optim, zeros } from '../../src/index.js';
import { countNonFinite } from '../../src/ops/primitives.js';

const SIZE = 4099;

test('countNonFinite finds every NaN and infinity, wherever it is', () => {
  for (const Array32or64 of [Float32Array, Float64Array]) {
    const clean = new Array32or64(SIZE).map((_, i) => Math.sin(i));
    assert.equal(countNonFinite(clean), 0);
    for (const at of [0, 1, 2048, SIZE - 4, SIZE - 1]) {
      for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
        const values = clean.slice();
        values[at] = bad;
        assert.equal(countNonFinite(values), 1, `${Array32or64.name}: ${bad} at ${at}`);
      }
    }
    // +inf and -inf together sum to NaN, still counted as two.
    const both = clean.slice();
    both[5] = Number.POSITIVE_INFINITY;
    both[SIZE - 2] = Number.NEGATIVE_INFINITY;
    assert.equal(countNonFinite(both), 2);
  }
});

test('countNonFinite does not count finite values whose sum overflows', () => {
  // 4099 float32 maxima sum past the float32 range; 4099 values of 1e308 past float64's.
  assert.equal(countNonFinite(new Float32Array(SIZE).fill(3.4e38)), 0);
  assert.equal(countNonFinite(new Float64Array(SIZE).fill(1e308)), 0);
  const one = new Float64Array(SIZE).fill(1e308);
  one[7] = Number.NaN;
  assert.equal(countNonFinite(one), 1);
});

test("fit's NaN guard counts the bad values of a float32 weight large enough for the compiled kernels", async () => {
  // The loss sqrt(x·w)·0 is 0, but every weight's gradient is 1 · 0 · (1 / (2·sqrt(0))) = NaN.
  const layer = new nn.Linear(64, 16, { weightInit: 0, biasInit: 0 });
  const model = new nn.Sequential(layer, new nn.Lambda((y) => y.sqrt().mul(0)));
  await assert.rejects(
    () => fit(model, { x: ones([8, 64]), y: zeros([8, 16]) }, { loss: 'mse', optimizer: new optim.SGD(model.parameters(), { lr: 0.1 }), batchSize: 8 }),
    (e: unknown) =>
      e instanceof NonFiniteLossError &&
      /^TerminateOnNaN: the gradient of '0\.weight' \[16, 64\] has 1024 NaN or infinite values at epoch 1\/1/.test(e.message),
  );
  assert.ok(
    layer.weight.toFlatArray().every((v) => v === 0),
    'the weights were not updated',
  );
});
