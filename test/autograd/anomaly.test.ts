// Anomaly detection names the op that first turns finite values into NaN or
// Infinity, forward or backward, and the line of user code that called it;
// the NaN guard in fit checks gradients before the optimizer writes them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as nt from '../../src/index.js';

test('forward: the op that makes the first NaN is named, with its input shapes and the calling line', () => {
  const x = nt.tensor([1, -1, 4]);
  // Without detection: a silent NaN. sqrt(-1) = NaN.
  assert.ok(Number.isNaN((x.sqrt().toArray() as number[])[1]));
  assert.throws(
    () => nt.detectAnomaly(() => x.mul(2).sqrt().add(1)),
    (e: unknown) =>
      e instanceof nt.AnomalyError &&
      /^detectAnomaly: 'sqrt' produced NaN or Infinity in its float32 \[3\] output from finite input float32 \[3\]; called /.test(e.message) &&
      /anomaly\.test\.js/.test(e.message),
  );
  // Inputs that already hold a NaN are not blamed on the op that passes it on.
  assert.doesNotThrow(() => nt.detectAnomaly(() => nt.tensor([Number.NaN, 1]).add(1)));
  assert.equal(nt.isAnomalyDetectionEnabled(), false);
});

test('backward: a finite loss with a NaN gradient is traced to the op whose backward made it', () => {
  // d/dx sqrt(x) at 0 is Infinity; multiplied by 0 later in the chain it becomes NaN.
  const x = nt.tensor([0, 1], { requiresGrad: true });
  const loss = () =>
    x
      .sqrt()
      .mul(nt.tensor([0, 1]))
      .sum();
  const plain = loss();
  assert.ok(Number.isFinite(plain.item()));
  plain.backward();
  assert.ok(Number.isNaN(((x.grad as nt.Tensor).toArray() as number[])[0]));
  x.grad = null;
  assert.throws(
    () => nt.detectAnomaly(() => loss().backward()),
    (e: unknown) =>
      e instanceof nt.AnomalyError &&
      /^detectAnomaly: the backward of 'sqrt' produced NaN or Infinity in the gradient of its input 0 \(float32 \[2\]\)/.test(e.message) &&
      /anomaly\.test\.js/.test(e.message),
  );
});

test('detectAnomaly stays on through an async function and off after it', async () => {
  await nt.detectAnomaly(async () => {
    await Promise.resolve();
    assert.equal(nt.isAnomalyDetectionEnabled(), true);
  });
  assert.equal(nt.isAnomalyDetectionEnabled(), false);
  nt.setDetectAnomaly(true);
  assert.equal(nt.isAnomalyDetectionEnabled(), true);
  nt.setDetectAnomaly(false);
  assert.equal(nt.isAnomalyDetectionEnabled(), false);
});

test("fit's NaN guard stops on a NaN gradient before the step, leaving the weights untouched", async () => {
  // The loss sqrt(w·x)·0 is finite (0), but its gradient at w·x = 0 is 0·Infinity = NaN.
  const w = new nt.nn.Linear(1, 1, { weightInit: 0, biasInit: 0 });
  const model = new nt.nn.Sequential(w, new nt.nn.Lambda((y: nt.Tensor) => y.sqrt().mul(0)));
  const before = w.weight.toArray();
  await assert.rejects(
    () =>
      nt.fit(model, { x: nt.ones([4, 1]), y: nt.zeros([4, 1]) }, { loss: 'mse', optimizer: new nt.optim.SGD(model.parameters(), { lr: 0.1 }), batchSize: 4 }),
    (e: unknown) =>
      e instanceof nt.NonFiniteLossError &&
      /^TerminateOnNaN: the gradient of '0\.(weight|bias)' \[1(, 1)?\] has 1 NaN or infinite value at epoch 1\/1, batch 1\/1 \(step 1\), though the loss is 0; the weights were not updated/.test(
        e.message,
      ),
  );
  assert.deepEqual(w.weight.toArray(), before);
  // With detectAnomaly: true, fit names the op instead.
  await assert.rejects(
    () =>
      nt.fit(
        model,
        { x: nt.ones([4, 1]), y: nt.zeros([4, 1]) },
        { loss: 'mse', optimizer: new nt.optim.SGD(model.parameters(), { lr: 0.1 }), batchSize: 4, detectAnomaly: true },
      ),
    (e: unknown) => e instanceof nt.AnomalyError && /the backward of 'sqrt'/.test(e.message),
  );
});
