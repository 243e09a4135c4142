import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Accuracy,
  accuracy,
  confusionMatrix,
  F1Score,
  f1Score,
  getMetric,
  type MetricName,
  meanAbsoluteError,
  meanSquaredError,
  precision,
  R2Score,
  r2Score,
  recall,
  ShapeError,
  tensor,
  topKAccuracy,
} from '../../src/index.js';
import { assertClose } from '../helpers.js';

const int = (v: number[]) => tensor(v, { dtype: 'int32' });

describe('accuracy', () => {
  it('compares the argmax of class scores with integer or one-hot targets', () => {
    // argmax per row: 0, 1, 0, 2 against targets 0, 1, 2, 2 → 3 of 4 right.
    const logits = tensor([
      [2, 1, 0],
      [0, 3, 1],
      [1, 0, 0.5],
      [0, 0, 5],
    ]);
    assert.equal(accuracy(logits, int([0, 1, 2, 2])), 0.75);
    const oneHot = tensor([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
      [0, 0, 1],
    ]);
    assert.equal(accuracy(logits, oneHot), 0.75);
  });

  it('thresholds a single score per sample', () => {
    // p > 0.5 gives 1, 0, 1, 0 against 1, 0, 0, 1: 2 right; p > 0.3 gives 1, 0, 1, 1: 3 right.
    const p = tensor([[0.9], [0.2], [0.6], [0.4]]);
    const t = tensor([[1], [0], [0], [1]]);
    assert.equal(accuracy(p, t), 0.5);
    assert.equal(accuracy(p, t, { threshold: 0.3 }), 0.75);
    // Logits: threshold 0.
    assert.equal(accuracy(tensor([2.0, -1, 0.5, -3]), int([1, 0, 0, 0]), { threshold: 0 }), 0.75);
  });

  it('streams over batches with the same result as one pass', () => {
    const m = new Accuracy();
    m.update(tensor([[0.1, 0.9]]), int([1]));
    m.update(
      tensor([
        [0.8, 0.2],
        [0.3, 0.7],
      ]),
      int([1, 1]),
    );
    assert.equal(m.result(), 2 / 3);
    m.reset();
    assert.ok(Number.isNaN(m.result()));
  });

  it('names both shapes when samples do not match', () => {
    assert.throws(
      () => accuracy(tensor([[1, 0]]), int([0, 1])),
      (e: Error) => e instanceof ShapeError && /1 samples but target has shape \[2\]/.test(e.message),
    );
  });
});

describe('topKAccuracy', () => {
  it('counts a sample when its class is among the k best scores', () => {
    // Row 0: top 2 = {1, 2} holds 2; row 1: top 2 = {2, 0} holds 0; row 2: top 2 = {0, 1} misses 2.
    const s = tensor([
      [0.1, 0.5, 0.4],
      [0.3, 0.2, 0.5],
      [0.6, 0.3, 0.1],
    ]);
    const t = int([2, 0, 2]);
    assertClose(topKAccuracy(s, t, 2), 2 / 3, { atol: 1e-15 });
    assert.equal(topKAccuracy(s, t, 1), 0);
    assert.equal(topKAccuracy(s, t, 3), 1);
  });
});

describe('precision, recall, F1', () => {
  it('binary: tp 2, fp 2, fn 0 gives P 1/2, R 1, F1 2/3', () => {
    const pred = int([1, 1, 1, 1, 0]);
    const truth = int([1, 0, 1, 0, 0]);
    assert.equal(precision(pred, truth), 0.5);
    assert.equal(recall(pred, truth), 1);
    assertClose(f1Score(pred, truth), 2 / 3, { atol: 1e-15 });
    // The other class as positive: tp 1 (sample 4), fp 0, fn 2 → P 1, R 1/3, F1 1/2.
    assert.equal(precision(pred, truth, { positiveClass: 0 }), 1);
    assertClose(recall(pred, truth, { positiveClass: 0 }), 1 / 3, { atol: 1e-15 });
    assertClose(f1Score(pred, truth, { positiveClass: 0 }), 0.5, { atol: 1e-15 });
  });

  it('multi-class macro and micro averages', () => {
    // Confusion (rows true 0..2, columns predicted): [[1,1,0],[0,2,0],[1,0,1]].
    // Precision per class: 1/2, 2/3, 1 → macro 13/18. Recall: 1/2, 1, 1/2 → macro 2/3.
    // F1: 1/2, 4/5, 2/3 → macro 59/90. Micro averages all equal the accuracy 4/6.
    const pred = int([0, 1, 1, 1, 0, 2]);
    const truth = int([0, 0, 1, 1, 2, 2]);
    assertClose(precision(pred, truth), 13 / 18, { atol: 1e-15 });
    assertClose(recall(pred, truth), 2 / 3, { atol: 1e-15 });
    assertClose(f1Score(pred, truth, { average: 'macro' }), 59 / 90, { atol: 1e-15 });
    for (const f of [precision, recall, f1Score]) assertClose(f(pred, truth, { average: 'micro' }), 4 / 6, { atol: 1e-15 });
    assert.throws(() => precision(pred, truth, { average: 'binary' }), /needs two classes, the data has 3/);
  });

  it('macro skips classes absent from both targets and predictions (scikit-learn)', () => {
    // Scores over 4 classes, but only classes 0 and 1 occur: both perfect → 1, not 2/4.
    const scores = tensor([
      [5, 0, 0, 0],
      [0, 5, 0, 0],
    ]);
    assert.equal(f1Score(scores, int([0, 1]), { average: 'macro' }), 1);
  });

  it('F1 streams exactly (it does not decompose into a mean over batches)', () => {
    const m = new F1Score();
    m.update(int([1, 1]), int([1, 0]));
    m.update(int([1, 1, 0]), int([1, 0, 0]));
    assertClose(m.result(), 2 / 3, { atol: 1e-15 });
  });
});

describe('confusionMatrix', () => {
  it('counts (true, predicted) pairs, rows true', () => {
    const cm = confusionMatrix(int([0, 1, 1, 1, 0, 2]), int([0, 0, 1, 1, 2, 2]));
    assert.equal(cm.dtype, 'int32');
    assert.deepEqual(cm.toArray(), [
      [1, 1, 0],
      [0, 2, 0],
      [1, 0, 1],
    ]);
    assert.deepEqual(confusionMatrix(int([0, 1]), int([0, 1]), { numClasses: 3 }).shape, [3, 3]);
    assert.throws(() => confusionMatrix(int([0, 3]), int([0, 1]), { numClasses: 3 }), /class 3 is out of range for numClasses 3/);
  });
});

describe('regression metrics', () => {
  it('mse, mae and r2 for y = [1, 1, 5], prediction [1, 2, 3]', () => {
    // errors 0, -1, 2: MSE 5/3, MAE 1. mean(y) = 7/3, SS_tot = 32/3, SS_res = 5 → R² = 1 - 15/32 = 17/32.
    const p = tensor([1, 2, 3]);
    const y = tensor([1, 1, 5]);
    assertClose(meanSquaredError(p, y), 5 / 3, { atol: 1e-15 });
    assert.equal(meanAbsoluteError(p, y), 1);
    assertClose(r2Score(p, y), 17 / 32, { atol: 1e-15 });
    // A trailing axis of size 1 on one side is the same layout.
    assertClose(meanSquaredError(p.reshape([3, 1]), y), 5 / 3, { atol: 1e-15 });
    assert.throws(() => meanSquaredError(tensor([1, 2]), tensor([1, 2, 3])), /prediction of shape \[2\] and target of shape \[3\] differ/);
  });

  it('r2 pooled over batches equals r2 over all samples, and averages output columns', () => {
    const m = new R2Score();
    m.update(tensor([1, 2]), tensor([1, 1]));
    m.update(tensor([3]), tensor([5]));
    assertClose(m.result(), 17 / 32, { atol: 1e-14 });
    // Column 0 as above (17/32); column 1 predicted exactly (1).
    const p = tensor([
      [1, 0],
      [2, 1],
      [3, 2],
    ]);
    const y = tensor([
      [1, 0],
      [1, 1],
      [5, 2],
    ]);
    assertClose(r2Score(p, y), (17 / 32 + 1) / 2, { atol: 1e-15 });
    // A constant target scores 1 when matched exactly, else 0.
    assert.equal(r2Score(tensor([2, 2]), tensor([2, 2])), 1);
    assert.equal(r2Score(tensor([2, 3]), tensor([2, 2])), 0);
  });
});

describe('getMetric', () => {
  it('builds metrics by name, including any topK', () => {
    assert.equal(getMetric('accuracy').name, 'accuracy');
    const top3 = getMetric('top3Accuracy');
    top3.update(
      tensor([
        [4, 3, 2, 1],
        [1, 2, 3, 4],
      ]),
      int([2, 0]),
    );
    assert.equal(top3.result(), 0.5);
    const custom = getMetric(function maxError(p, t) {
      return Math.max(...p.sub(t).abs().toFlatArray());
    });
    assert.equal(custom.name, 'maxError');
    assert.throws(() => getMetric('accurcy' as MetricName), /unknown metric 'accurcy'; known: accuracy/);
  });
});
