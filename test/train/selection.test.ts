import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crossValidate, type FitOptions, Generator, gridSearch, linspace, nn, normal, optim, randomSearch, seed } from '../../src/index.js';
import { assertClose } from '../helpers.js';

const f64 = { dtype: 'float64' as const };

// y = 2x - 1 + N(0, 0.05²) on 30 points of [-1, 1].
const x = linspace(-1, 1, 30, f64).reshape([30, 1]);
const y = x
  .mul(2)
  .sub(1)
  .add(normal([30, 1], 0, 0.05, { ...f64, generator: new Generator(4) }));
const data = { x, y };

const fitOptions: FitOptions = { loss: 'mse', optimizer: (p) => new optim.SGD(p, { lr: 0.2 }), epochs: 40, batchSize: 10 };

function mlp(hidden: number): nn.Module {
  return new nn.Sequential(new nn.Linear(1, hidden, f64), new nn.Tanh(), new nn.Linear(hidden, 1, f64));
}

describe('crossValidate', () => {
  it('trains one model per fold and reports per-fold scores with their mean and std', async () => {
    seed(0);
    const built: number[] = [];
    const cv = await crossValidate(
      (fold) => {
        built.push(fold);
        return new nn.Linear(1, 1, f64);
      },
      data,
      { k: 3, fitOptions, metrics: ['mae'], seed: 1 },
    );
    assert.deepEqual(built, [0, 1, 2]);
    assert.equal(cv.folds.length, 3);
    for (const f of cv.folds) {
      assert.equal(f.trainSize, 20);
      assert.equal(f.testSize, 10);
      assert.equal(f.history.length, 40);
      // A linear model on linear data: the held-out MSE gets near the noise variance 0.0025 (below 4σ²).
      assert.ok(f.scores.loss < 0.01, `fold ${f.fold} loss ${f.scores.loss}`);
    }
    const losses = cv.folds.map((f) => f.scores.loss);
    const mean = losses.reduce((a, b) => a + b) / 3;
    assertClose(cv.mean.loss, mean, { atol: 1e-15 });
    assertClose(cv.std.loss, Math.sqrt(losses.reduce((a, b) => a + (b - mean) ** 2, 0) / 3), { atol: 1e-15 });
    assert.ok('mae' in cv.mean);
  });

  it('refuses a shared optimizer instance', async () => {
    const model = new nn.Linear(1, 1, f64);
    await assert.rejects(
      crossValidate(() => new nn.Linear(1, 1, f64), data, { fitOptions: { loss: 'mse', optimizer: new optim.SGD(model.parameters()) } }),
      /fitOptions.optimizer must be a function \(params\) => optimizer, since every run trains a new model/,
    );
  });
});

describe('gridSearch', () => {
  it('tries every combination and sorts the results best first', async () => {
    const seen: string[] = [];
    const results = await gridSearch(
      ({ hidden, lr }) => ({ model: mlp(hidden), fitOptions: { optimizer: (p) => new optim.SGD(p, { lr }) } }),
      { hidden: [2, 6], lr: [0, 0.2] },
      data,
      { fitOptions, seed: 3, generator: new Generator(2), onResult: (r) => void seen.push(JSON.stringify(r.params)) },
    );
    // The last key varies fastest.
    assert.deepEqual(seen, ['{"hidden":2,"lr":0}', '{"hidden":2,"lr":0.2}', '{"hidden":6,"lr":0}', '{"hidden":6,"lr":0.2}']);
    assert.equal(results.length, 4);
    assert.deepEqual(
      results.map((r) => r.rank),
      [1, 2, 3, 4],
    );
    for (let i = 1; i < results.length; i++) assert.ok(results[i - 1].score <= results[i].score);
    // lr 0 never learns, so both lr 0 candidates come last.
    assert.deepEqual(
      results.slice(2).map((r) => r.params.lr),
      [0, 0],
    );
    assert.equal(results[0].score, results[0].scores.loss);
    assert.ok(results[0].history !== undefined);
  });

  it('ranks by a metric that should rise, and can score by cross-validation', async () => {
    const results = await gridSearch(
      ({ lr }) => ({ model: new nn.Linear(1, 1, f64), fitOptions: { optimizer: (p) => new optim.SGD(p, { lr }) } }),
      { lr: [0.001, 0.1] },
      data,
      {
        fitOptions,
        cv: 3,
        metric: 'r2',
        metrics: ['r2'],
        seed: 0,
      },
    );
    // R² is higher-is-better: the learning candidate comes first.
    assert.equal(results[0].params.lr, 0.1);
    assert.ok(results[0].score > results[1].score);
    assert.ok(results[0].std !== undefined && 'r2' in results[0].std);
    await assert.rejects(
      gridSearch(() => new nn.Linear(1, 1, f64), { lr: [] }, data, { fitOptions }),
      /paramGrid.lr must be a non-empty array/,
    );
    await assert.rejects(
      gridSearch(() => new nn.Linear(1, 1, f64), { a: [1] }, data, { fitOptions, metric: 'accuracy' }),
      /metric 'accuracy' is not among the scores \(loss\)/,
    );
  });
});

describe('randomSearch', () => {
  it('draws trials from the space reproducibly and sorts them', async () => {
    const space = { lr: { logUniform: [0.01, 0.3] as const }, hidden: [2, 4, 8], epochs: { int: [3, 6] as const } };
    const run = () =>
      randomSearch(({ lr, hidden, epochs }) => ({ model: mlp(hidden), fitOptions: { epochs, optimizer: (p) => new optim.SGD(p, { lr }) } }), space, data, {
        fitOptions,
        trials: 3,
        generator: new Generator(9),
        seed: 5,
      });
    const a = await run();
    const b = await run();
    assert.deepEqual(
      a.map((r) => r.params),
      b.map((r) => r.params),
    );
    assert.deepEqual(
      a.map((r) => r.score),
      b.map((r) => r.score),
    );
    for (const r of a) {
      assert.ok(r.params.lr >= 0.01 && r.params.lr <= 0.3);
      assert.ok([2, 4, 8].includes(r.params.hidden));
      assert.ok(Number.isInteger(r.params.epochs) && r.params.epochs >= 3 && r.params.epochs <= 6);
      assert.equal(r.history?.length, r.params.epochs);
    }
    for (let i = 1; i < a.length; i++) assert.ok(a[i - 1].score <= a[i].score);
    await assert.rejects(
      randomSearch(() => mlp(2), { lr: { logUniform: [0, 1] } }, data, { fitOptions }),
      /lr: logUniform needs a positive low bound, got 0/,
    );
  });
});
