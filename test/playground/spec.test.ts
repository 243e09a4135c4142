// The experiment <-> URL hash: round trips (property-based), the original's
// links, and bad values that must be clamped or dropped with a warning, never NaN.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ACTIVATIONS,
  CLASSIFY_DATASETS,
  CURVE_DATASETS,
  defaultSpec,
  FEATURES,
  INITS,
  isOriginalHash,
  LEARNING_RATES,
  LOSSES,
  needsReset,
  OPTIMIZERS,
  parseHash,
  REGRESS_DATASETS,
  REGULARIZATION_RATES,
  REGULARIZATIONS,
  SCHEDULES,
  type Spec,
  serializeHash,
} from '../../playground/src/spec.js';

const CONTROLS = ['learningRate', 'activation', 'regularization', 'noise', 'percTrainData', 'batchSize', 'dataset', 'problem', 'numHiddenLayers'];

function specArbitrary(mode: Spec['mode']): fc.Arbitrary<Spec> {
  const lim = mode === 'compat' ? { layers: 6, neurons: 8, batch: 30 } : { layers: 10, neurons: 32, batch: 100 };
  const base = defaultSpec(mode);
  return fc
    .record({
      problem:
        mode === 'compat'
          ? fc.constantFrom('classification' as const, 'regression' as const)
          : fc.constantFrom('classification' as const, 'regression' as const, 'curve' as const),
      dataset: fc.constantFrom(...CLASSIFY_DATASETS.filter((d) => mode === 'default' || d !== 'boundary')),
      regDataset: fc.constantFrom(...REGRESS_DATASETS),
      noise: fc.integer({ min: 0, max: 50 }),
      percTrainData: fc.integer({ min: 10, max: 90 }),
      batchSize: fc.integer({ min: 1, max: lim.batch }),
      learningRate: fc.constantFrom(...LEARNING_RATES),
      regularizationRate: fc.constantFrom(...REGULARIZATION_RATES),
      activation: fc.constantFrom(...(mode === 'compat' ? (['tanh', 'relu', 'sigmoid', 'linear'] as const) : ACTIVATIONS)),
      regularization: fc.constantFrom(...REGULARIZATIONS),
      networkShape: fc.array(fc.integer({ min: 1, max: lim.neurons }), { maxLength: lim.layers }),
      features: fc.record(Object.fromEntries(FEATURES.map((f) => [f, fc.boolean()])) as Record<(typeof FEATURES)[number], fc.Arbitrary<boolean>>),
      seed: fc.string({ minLength: 1, maxLength: 12 }).filter((v) => v.trim() !== ''),
      initSeed: mode === 'compat' ? fc.constant('') : fc.string({ minLength: 1, maxLength: 8 }).filter((v) => v.trim() !== ''),
      showTestData: fc.boolean(),
      discretize: fc.boolean(),
      tutorial: fc.string({ maxLength: 10 }).map((t) => (t.trim() === '' ? '' : t)),
      hidden: fc.uniqueArray(fc.constantFrom(...CONTROLS), { maxLength: 3 }),
      epoch: fc.integer({ min: 0, max: 5000 }),
      extra: fc.record({
        classes: fc.integer({ min: 2, max: 5 }),
        loss: fc.constantFrom(...LOSSES),
        optimizer: fc.constantFrom(...OPTIMIZERS),
        init: fc.constantFrom(...INITS),
        schedule: fc.constantFrom(...SCHEDULES),
        momentum: fc.constantFrom(0, 0.5, 0.9, 0.99),
        patience: fc.integer({ min: 0, max: 500 }),
        stopAt: fc.integer({ min: 0, max: 5000 }),
        curveDataset: fc.constantFrom(...CURVE_DATASETS),
        alpha: fc.constantFrom(0.9, 0.95, 0.99, 0.999),
        rho: fc.constantFrom(0.8, 0.9, 0.95),
        boundary: fc.constantFrom('3*sin(x1)', 'x1^2/4-2', 'abs(x1)-1', '0.5*x1'),
        customFeatures: fc.uniqueArray(fc.constantFrom('x1*x2^2', 'tan(x1)', 'sin(x1)*cos(x2)', 'min(x1, x2)', '-x1^2', 'exp(-(x1^2+x2^2)/4)'), {
          maxLength: 4,
        }),
        perLayer: fc.array(fc.record({ act: fc.constantFrom('', ...ACTIVATIONS), drop: fc.constantFrom(0, 0.1, 0.5), bn: fc.boolean() }), {
          minLength: 10,
          maxLength: 10,
        }),
      }),
    })
    .filter((r) => FEATURES.some((f) => r.features[f]))
    .map(({ extra, ...r }) => {
      const n = r.networkShape.length;
      const spec: Spec = {
        ...base,
        ...r,
        features: { ...r.features },
        layerActivations: new Array(n).fill(''),
        dropout: new Array(n).fill(0),
        batchNorm: new Array(n).fill(false),
      };
      if (mode === 'default') {
        Object.assign(spec, {
          classes: extra.classes,
          loss: extra.loss,
          optimizer: extra.optimizer,
          init: extra.init,
          schedule: extra.schedule,
          momentum: extra.momentum,
          patience: extra.patience,
          stopAt: extra.stopAt,
          curveDataset: extra.curveDataset,
          alpha: extra.alpha,
          rho: extra.rho,
          boundary: extra.boundary,
          customFeatures: extra.customFeatures,
        });
        if (spec.problem === 'curve') {
          // A curve has x1 only: the parser turns the features of x2 off (and x1 on when none is left).
          spec.features = { ...spec.features, y: false, ySquared: false, xTimesY: false, sinY: false };
          if (!spec.features.x && !spec.features.xSquared && !spec.features.sinX) spec.features.x = true;
        }
        spec.layerActivations = extra.perLayer.slice(0, n).map((p) => p.act);
        spec.dropout = extra.perLayer.slice(0, n).map((p) => p.drop);
        spec.batchNorm = extra.perLayer.slice(0, n).map((p) => p.bn);
      }
      return spec;
    });
}

describe('playground URL hash', () => {
  it('round-trips 200 random default-mode specs: parse(serialize(s)) = s, with no warnings', () => {
    fc.assert(
      fc.property(specArbitrary('default'), (spec) => {
        const { spec: back, warnings } = parseHash(`#${serializeHash(spec)}`);
        assert.deepEqual(warnings, []);
        assert.deepEqual(back, spec);
      }),
      { numRuns: 200 },
    );
  });

  it('round-trips 200 random compat-mode specs', () => {
    fc.assert(
      fc.property(specArbitrary('compat'), (spec) => {
        const { spec: back, warnings } = parseHash(`#${serializeHash(spec)}`);
        assert.deepEqual(warnings, []);
        assert.deepEqual(back, spec);
      }),
      { numRuns: 200 },
    );
  });

  it('reads a playground.tensorflow.org link as compat mode, with its values', () => {
    const hash =
      '#activation=relu&batchSize=17&dataset=spiral&regDataset=reg-plane&learningRate=0.01&regularizationRate=0&noise=35&networkShape=8,8,5&seed=0.59316&showTestData=true&discretize=false&percTrainData=70&x=true&y=true&xTimesY=false&xSquared=false&ySquared=false&cosX=false&sinX=true&cosY=false&sinY=true&collectStats=false&problem=classification&initZero=false&hideText=false';
    assert.equal(isOriginalHash(hash), true);
    const { spec, warnings } = parseHash(hash);
    assert.deepEqual(warnings, []);
    assert.equal(spec.mode, 'compat');
    assert.equal(spec.loss, 'mse');
    assert.equal(spec.optimizer, 'sgd');
    assert.deepEqual(spec.networkShape, [8, 8, 5]);
    assert.equal(spec.batchSize, 17);
    assert.equal(spec.noise, 35);
    assert.equal(spec.seed, '0.59316');
    assert.equal(spec.showTestData, true);
    assert.equal(spec.features.sinX, true);
    assert.equal(spec.features.xTimesY, false);
    // The original writes hidden controls as <id>_hide=true.
    assert.deepEqual(parseHash(`${hash}&learningRate_hide=true&noise_hide=false`).spec.hidden, ['learningRate']);
    assert.equal(isOriginalHash('#mode=default&dataset=xor'), false);
    assert.equal(isOriginalHash(''), false);
  });

  it("clamps the #63 example (10 layers of 8, noise 2000) to the UI's limits, with warnings", () => {
    const { spec, warnings } = parseHash('#networkShape=8,8,8,8,8,8,8,8,8,8&noise=2000&dataset=circle');
    assert.equal(spec.mode, 'compat');
    assert.deepEqual(spec.networkShape, [8, 8, 8, 8, 8, 8]);
    assert.equal(spec.noise, 80);
    assert.ok(warnings.some((w) => w.startsWith('networkShape: 10 hidden layers is more than 6')));
    assert.ok(warnings.some((w) => w.startsWith('noise: 2000 is outside 0–80')));
  });

  it('turns bad values into defaults or clamped values with a warning naming the key, never NaN', () => {
    const { spec, warnings } = parseHash(
      '#mode=default&noise=abc&networkShape=99,x,0&batchSize=-3&learningRate=0.02&activation=bogus&percTrainData=NaN&classes=9&seed=&beta2=7',
    );
    assert.equal(spec.noise, 0);
    assert.deepEqual(spec.networkShape, [32, 1]);
    assert.equal(spec.batchSize, 1);
    assert.equal(spec.learningRate, 0.03);
    assert.equal(spec.activation, 'tanh');
    assert.equal(spec.percTrainData, 50);
    assert.equal(spec.classes, 5);
    assert.equal(spec.beta2, 0.9999);
    for (const key of ['noise', 'networkShape', 'batchSize', 'learningRate', 'activation', 'percTrainData', 'classes', 'beta2']) {
      assert.ok(
        warnings.some((w) => w.startsWith(`${key}:`)),
        `a warning for ${key}: ${warnings.join(' | ')}`,
      );
    }
    const numbers = JSON.stringify(spec).match(/NaN|null/);
    assert.equal(numbers, null, 'no NaN (JSON writes it as null) anywhere in the spec');
  });

  it('reads custom features, the boundary and 1-D curves; bad expressions are dropped with a warning naming them', () => {
    const ok = parseHash(`#mode=default&problem=curve&curveDataset=cubic&y=true&x=false&sinX=true&custom=${encodeURIComponent('x1*x2^2;tan(x1)')}`);
    assert.deepEqual(ok.warnings, []);
    assert.equal(ok.spec.problem, 'curve');
    assert.equal(ok.spec.curveDataset, 'cubic');
    assert.equal(ok.spec.features.y, false, 'a curve has no x2');
    assert.deepEqual(ok.spec.customFeatures, ['x1*x2^2', 'tan(x1)']);
    const bad = parseHash(`#mode=default&dataset=boundary&boundary=${encodeURIComponent('x2+1')}&custom=${encodeURIComponent('sin(x1);foo(x2);1/;a;b;c')}`);
    assert.equal(bad.spec.boundary, '3*sin(x1)');
    assert.deepEqual(bad.spec.customFeatures, ['sin(x1)']);
    assert.ok(bad.warnings.some((w) => w.startsWith('boundary: "x2+1": "x2" is not available here')));
    assert.ok(bad.warnings.some((w) => w.startsWith('custom feature "foo(x2)": "foo" is not a known name')));
    assert.ok(bad.warnings.some((w) => w.startsWith('custom feature "1/": the expression ends too early')));
    assert.ok(bad.warnings.some((w) => w.startsWith('custom: 6 features is more than 4')));
    // Compat mode has none of them.
    const compat = parseHash('#dataset=boundary&problem=curve&custom=x1');
    assert.equal(compat.spec.mode, 'compat');
    assert.equal(compat.spec.dataset, 'circle');
    assert.equal(compat.spec.problem, 'classification');
    assert.deepEqual(compat.spec.customFeatures, []);
  });

  it('says which changes need a reset: the learning rate never does, the activation always does', () => {
    const a = defaultSpec();
    assert.equal(needsReset(a, { ...a, learningRate: 0.3 }), false);
    assert.equal(needsReset(a, { ...a, optimizer: 'sgd', batchSize: 3, regularization: 'L2' }), false);
    assert.equal(needsReset(a, { ...a, activation: 'relu' }), true);
    const c = defaultSpec('compat');
    assert.equal(needsReset(c, { ...c, learningRate: 0.3 }), false);
    assert.equal(needsReset(c, { ...c, batchSize: 3 }), true);
  });
});
