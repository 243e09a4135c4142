// The playground's training side in Node: compat mode against the recorded
// playground.tensorflow.org runs, default-mode convergence, determinism,
// live changes, the NaN guard, export/import, CSV input.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { generateFor, parsePointsCsv } from '../../playground/src/datasets.js';
import { Experiment, typescriptSnippet } from '../../playground/src/engine.js';
import { parseHash, type Spec } from '../../playground/src/spec.js';

// The playground runs on neurite's browser entry (wasm, else the reference backend); the native pass has nothing to add.
const skip = process.env.NEURITE_BACKEND === 'native' ? 'the playground uses the browser entry (wasm or ref)' : false;

function experiment(hash: string): Experiment {
  const { spec } = parseHash(hash);
  const d = generateFor(spec);
  return new Experiment(spec, d, d.random);
}

interface Recorded {
  hash: string;
  firstPoints: { x: number; y: number; label: number }[];
  losses: Record<string, { train: number; test: number }>;
  deadLinks: number;
}
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'playground-compat.json'), 'utf8')) as {
  runs: Recorded[];
};

describe('playground compat mode reproduces playground.tensorflow.org', { skip }, () => {
  for (const run of fixture.runs) {
    const label = run.hash.match(/dataset=[^&]+|regDataset=reg-gauss/g)?.join(' ') ?? run.hash.slice(0, 40);
    it(`${label}: same data, same initial loss, same losses to 3 decimals after 1-100 epochs`, () => {
      const e = experiment(`#${run.hash}`);
      assert.equal(e.spec.mode, 'compat');
      assert.deepEqual(e.data.train.slice(0, 3), run.firstPoints);
      const epochs = Object.keys(run.losses).map(Number);
      for (let epoch = 0; epoch <= Math.max(...epochs); epoch++) {
        if (run.losses[epoch]) {
          const s = e.snapshot();
          const want = run.losses[epoch];
          assert.equal(s.trainLoss.toFixed(3), want.train.toFixed(3), `train loss at epoch ${epoch}`);
          assert.equal(s.testLoss.toFixed(3), want.test.toFixed(3), `test loss at epoch ${epoch}`);
          // Batched sums against per-point sums: equal up to rounding.
          assert.ok(Math.abs(s.trainLoss - want.train) < 1e-9 * Math.max(1, want.train), `train loss at epoch ${epoch}: ${s.trainLoss} vs ${want.train}`);
        }
        e.trainEpoch();
      }
      assert.equal(e.snapshot().frozen.length, run.deadLinks, 'links frozen by L1');
    });
  }
});

describe('playground default mode', { skip }, () => {
  // Calibrated once (BCE + Adam, Glorot init, [4, 2] tanh): on 20 seeds, 12 end below 0.05 at epoch 200
  // (median 0.018); the rest stall in xor's local minimum (0.3-0.4, one quadrant wrong). On the 10 seeds
  // here, 5 do. The original's MSE + SGD stalls on 10-15% of seeds by its own (0.5·MSE) measure.
  it('trains xor to a test loss below 0.05 within 200 epochs for at least 5 of 10 pinned seeds (BCE + Adam)', () => {
    let good = 0;
    for (let k = 0; k < 10; k++) {
      const e = experiment(`#mode=default&dataset=xor&seed=0.${1000 + k}&initSeed=${k}`);
      for (let i = 0; i < 200; i++) e.trainEpoch();
      const last = e.history.at(-1);
      if (last && last.testLoss < 0.05) good++;
    }
    assert.ok(good >= 5, `${good} of 10 seeds below 0.05`);
  });

  it('x1·x2 alone with no hidden layer separates xor within 50 epochs', () => {
    const e = experiment('#mode=default&dataset=xor&seed=0.424&initSeed=5&networkShape=&x=false&y=false&xTimesY=true');
    for (let i = 0; i < 50; i++) e.trainEpoch();
    assert.ok((e.history.at(-1) as { testScore: number }).testScore >= 0.98, `accuracy ${e.history.at(-1)?.testScore}`);
  });

  it('learns the spiral with [8, 8, 8] and sines', () => {
    const e = experiment('#mode=default&dataset=spiral&seed=0.777&initSeed=2&networkShape=8,8,8&sinX=true&sinY=true');
    for (let i = 0; i < 300; i++) e.trainEpoch();
    const last = e.history.at(-1) as { testScore: number; testLoss: number };
    assert.ok(last.testScore >= 0.9, `spiral test accuracy ${last.testScore}`);
  });

  it('three classes with softmax: the blobs are learned and the grid holds class indices', () => {
    const e = experiment('#mode=default&dataset=gauss&classes=3&seed=0.31&initSeed=1');
    for (let i = 0; i < 60; i++) e.trainEpoch();
    const s = e.snapshot();
    assert.ok(s.testScore > 0.9, `accuracy ${s.testScore}`);
    assert.ok(s.confidence !== null);
    assert.deepEqual([...new Set(s.grid)].sort(), [0, 1, 2]);
    assert.equal(s.confusion.length, 3);
  });

  it('the same hash gives the same weights after 100 epochs, and Reset returns to the initial weights', () => {
    const hash = '#mode=default&dataset=circle&seed=0.5&initSeed=11&noise=20';
    const a = experiment(hash);
    const b = experiment(hash);
    const initial = a.weightsHash();
    for (let i = 0; i < 100; i++) {
      a.trainEpoch();
      b.trainEpoch();
    }
    assert.equal(a.weightsHash(), b.weightsHash());
    assert.deepEqual(
      a.history.map((h) => h.testLoss.toFixed(3)),
      b.history.map((h) => h.testLoss.toFixed(3)),
    );
    assert.notEqual(a.weightsHash(), initial);
    a.restoreInitial();
    assert.equal(a.weightsHash(), initial);
    assert.equal(a.epoch, 0);
  });

  it('a learning-rate change applies on the next step without a reset', () => {
    const e = experiment('#mode=default&dataset=circle&seed=0.5&initSeed=1');
    e.trainEpoch();
    e.setHyper({ ...e.spec, learningRate: 0.3, optimizer: 'sgd' });
    e.trainEpoch();
    assert.equal(e.epoch, 2);
    assert.equal(e.history[1].lr, 0.3);
  });

  it('pauses with a message naming the layer when the weights blow up (#77: lr 10 with L2 at 10)', () => {
    const e = experiment(
      '#mode=default&dataset=spiral&seed=0.2&initSeed=1&optimizer=sgd&learningRate=10&regularization=L2&regularizationRate=10&networkShape=8,8',
    );
    let epochs = 0;
    while (e.trainEpoch() && epochs < 200) epochs++;
    assert.ok(e.stopped !== null, 'training stopped');
    assert.match(e.stopped as string, /(hidden layer \d|output layer).*(NaN|infinite).*Lower the learning rate/);
    const s = e.snapshot();
    assert.equal(s.stopped, e.stopped);
  });

  it('early stopping and stopAt stop the run with a reason', () => {
    const e = experiment('#mode=default&dataset=gauss&seed=0.2&initSeed=1&patience=5');
    let n = 0;
    while (e.trainEpoch() && n < 1000) n++;
    assert.match(e.stopped as string, /Early stopping/);
    const f = experiment('#mode=default&dataset=gauss&seed=0.2&initSeed=1&stopAt=7');
    while (f.trainEpoch());
    assert.equal(f.epoch, 7);
  });

  it('exported weights loaded into a fresh experiment give the same outputs', () => {
    const hash = '#mode=default&dataset=xor&seed=0.9&initSeed=4&batchNorm=1,0&dropout=0.1,0';
    const a = experiment(hash);
    for (let i = 0; i < 20; i++) a.trainEpoch();
    const b = experiment(hash);
    b.loadStateArrays(JSON.parse(JSON.stringify(a.stateArrays())));
    for (const [x, y] of [
      [3, 3],
      [3, -3],
      [-1.5, 0.5],
    ])
      assert.equal(b.outputAt(x, y), a.outputAt(x, y));
    assert.throws(() => b.loadStateArrays({ ...a.stateArrays(), '0.weight': [1, 2] }), /"0.weight" should be \d+ finite numbers, got 2 values/);
  });

  it("1-D regression: a [8] tanh net fits sin(x) (R² > 0.9 in 300 epochs), and the units' shares plus the bias add up to the curve", () => {
    const e = experiment('#mode=default&problem=curve&curveDataset=sin&seed=0.2&initSeed=1&networkShape=8');
    assert.equal(e.data.train.length + e.data.test.length, 200);
    assert.ok(
      e.data.train.every((p) => p.y === 0 && Math.abs(p.label - Math.sin(p.x)) < 1e-12),
      'noise 0: the points lie on sin',
    );
    for (let i = 0; i < 300; i++) e.trainEpoch();
    const last = e.history.at(-1) as { testScore: number };
    assert.ok(last.testScore > 0.9, `R² ${last.testScore}`);
    const c = e.snapshot().curve;
    assert.ok(c !== null);
    assert.equal(c.parts.length, 8);
    for (const i of [40, 80, 120, 160, 200]) {
      const sum = c.bias + c.parts.reduce((t, p) => t + p[i], 0);
      assert.ok(Math.abs(sum - c.fit[i]) < 1e-5, `at sample ${i}: ${sum} vs ${c.fit[i]}`);
      assert.ok(Math.abs(c.fit[i] - Math.sin(-6 + (12 * i) / 240)) < 0.25, `the fit follows sin at sample ${i}`);
    }
    assert.equal(e.outputAt(1, 0), Math.max(-1, Math.min(1, e.outputAt(1, 5))), 'x2 plays no part in a curve');
  });

  it('"y > f(x)" labels each point by its side of the curve; custom features become extra inputs that learn it', () => {
    const e = experiment(
      `#mode=default&dataset=boundary&boundary=${encodeURIComponent('x1^2/4-2')}&seed=0.5&initSeed=2&networkShape=&x=false&y=true&custom=${encodeURIComponent('x1^2')}`,
    );
    for (const p of [...e.data.train, ...e.data.test]) assert.equal(p.label, p.y > (p.x * p.x) / 4 - 2 ? 1 : -1);
    assert.equal(e.layers[0].linear.inFeatures, 2, 'x2 and the custom x1^2');
    // With x2 and x1² as inputs the boundary is linear: no hidden layer needed.
    for (let i = 0; i < 100; i++) e.trainEpoch();
    assert.ok((e.history.at(-1) as { testScore: number }).testScore >= 0.97, `accuracy ${e.history.at(-1)?.testScore}`);
    const three = experiment('#mode=default&dataset=boundary&classes=3&seed=0.5&initSeed=2');
    assert.deepEqual(new Set(three.data.train.map((p) => p.label)), new Set([0, 1, 2]));
  });

  it('‖∂L/∂a‖ shows the vanishing gradient of a 6-layer sigmoid net: each layer back is about 4x smaller (σ′ ≤ 1/4)', () => {
    const e = experiment('#mode=default&dataset=circle&seed=0.3&initSeed=1&networkShape=8,8,8,8,8,8&activation=sigmoid&optimizer=sgd&learningRate=0.1');
    e.trainEpoch();
    const r = e.history.at(-1) as { gradA: number[]; gradW: number[] };
    assert.equal(r.gradA.length, 7);
    assert.equal(r.gradW.length, 7);
    // Measured: 2.4e-3 9.3e-3 3.6e-2 1.6e-1 5.0e-1 2.1 (hidden layers 1-6).
    for (let l = 0; l < 5; l++) assert.ok(r.gradA[l] < r.gradA[l + 1] / 2, `layer ${l + 1}: ${r.gradA[l]} vs ${r.gradA[l + 1]}`);
    assert.ok(r.gradA[0] < r.gradA[5] / 100);
    const s = e.snapshot();
    assert.deepEqual(s.actGradNorms, r.gradA);
  });

  it('the train-mode view switches off the same units across the plane for one mask seed; eval mode drops none', () => {
    const e = experiment('#mode=default&dataset=circle&seed=0.3&initSeed=1&networkShape=8,8&dropout=0.5,0');
    for (let i = 0; i < 5; i++) e.trainEpoch();
    const evalView = e.snapshot();
    assert.deepEqual(evalView.dropped, [[], []]);
    const a = e.snapshot(null, 0, 1234);
    const b = e.snapshot(null, 0, 1234);
    assert.deepEqual(a.dropped, b.dropped);
    assert.ok(a.dropped[0].length > 0 && a.dropped[0].length < 8, `dropped ${a.dropped[0]}`);
    assert.deepEqual(a.dropped[1], [], 'the layer without dropout keeps every unit');
    for (const u of a.dropped[0])
      assert.ok(
        a.tiles[0][u].every((v) => v === 0),
        `unit ${u} is off everywhere`,
      );
    const kept = [...Array(8).keys()].find((u) => !a.dropped[0].includes(u)) as number;
    // A kept unit is scaled by 1/(1 − p) = 2 against eval mode.
    assert.ok(Math.abs(a.tiles[0][kept][7] - 2 * evalView.tiles[0][kept][7]) < 1e-5);
    assert.notDeepEqual(a.grid, evalView.grid);
  });

  it('the optimizers take their own settings from the URL (RMSprop α, Adadelta ρ) and the program says them', () => {
    const e = experiment('#mode=default&dataset=xor&seed=0.2&initSeed=1&optimizer=rmsprop&alpha=0.9');
    assert.equal(e.spec.alpha, 0.9);
    assert.match(typescriptSnippet(e.spec, e.features), /RMSprop\(model\.parameters\(\), \{ lr: 0\.03, alpha: 0\.9 \}\)/);
    const d = experiment('#mode=default&dataset=xor&seed=0.2&initSeed=1&optimizer=adadelta&rho=0.95&learningRate=1');
    assert.match(typescriptSnippet(d.spec, d.features), /Adadelta\(model\.parameters\(\), \{ lr: 1, rho: 0\.95 \}\)/);
    // A different α gives a different run.
    const f = experiment('#mode=default&dataset=xor&seed=0.2&initSeed=1&optimizer=rmsprop&alpha=0.999');
    for (let i = 0; i < 3; i++) {
      e.trainEpoch();
      f.trainEpoch();
    }
    assert.notEqual(e.weightsHash(), f.weightsHash());
  });

  it('every activation and optimizer trains without an error', () => {
    for (const activation of [
      'relu',
      'sigmoid',
      'linear',
      'hardlim',
      'hardlims',
      'satlin',
      'satlins',
      'compet',
      'elu',
      'gelu',
      'softplus',
      'swish',
      'mish',
      'sine',
      'gaussian',
    ] as const) {
      const e = experiment(`#mode=default&dataset=circle&seed=0.1&initSeed=1&activation=${activation}`);
      e.trainEpoch();
      assert.ok(Number.isFinite(e.history[0].trainLoss), activation);
    }
    for (const optimizer of ['sgd', 'momentum', 'nesterov', 'adagrad', 'adadelta', 'rmsprop', 'adam', 'lbfgs'] as Spec['optimizer'][]) {
      const e = experiment(`#mode=default&dataset=gauss&seed=0.1&initSeed=1&optimizer=${optimizer}&learningRate=0.1`);
      for (let i = 0; i < 5; i++) e.trainEpoch();
      assert.ok(
        e.history[4].trainLoss < e.history[0].trainLoss * 1.01 || e.history[4].testScore > 0.95,
        `${optimizer}: ${e.history.map((h) => h.trainLoss.toFixed(3))}`,
      );
    }
  });
});

describe('playground CSV input', () => {
  it('reads x1,x2,label rows with a header, mapping 0/1 labels to ±1', () => {
    const r = parsePointsCsv('x1,x2,label\n1,2,0\n-3,4.5,1\n', 'classification');
    assert.equal(r.error, undefined);
    assert.deepEqual(r.points, [
      { x: 1, y: 2, label: -1 },
      { x: -3, y: 4.5, label: 1 },
    ]);
  });
  it('names the line that is wrong', () => {
    assert.match(parsePointsCsv('1,2,1\n3,4\n', 'classification').error as string, /^line 2: expected 3 columns/);
    assert.match(parsePointsCsv('1,2,1\n3,x,1\n', 'classification').error as string, /^line 2: not three numbers/);
    assert.match(parsePointsCsv('1,2,1\n30,1,1\n', 'classification').error as string, /^line 2: x1 and x2 must lie in \[−6, 6\]/);
    assert.match(parsePointsCsv('1,2,0.5\n3,1,7\n', 'regression').error as string, /^line 2: a regression label must lie in \[−1, 1\]/);
    assert.match(parsePointsCsv('\u0089PNG\r\n\u001a\n', 'classification').error as string, /^line \d+: /);
  });
});
