import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FormatVersionError, modelFromJSON, modelToJSON, nn, randn, SerializationError, seed, type Tensor, UnknownLayerError } from '../../src/index.js';
import { Sequential } from '../../src/nn/containers.js';
import { input, Model } from '../../src/nn/graph.js';
import { Tanh } from '../../src/nn/layers/activation.js';
import { Dropout } from '../../src/nn/layers/dropout.js';
import { Linear } from '../../src/nn/layers/linear.js';
import { Add } from '../../src/nn/layers/merge.js';
import { ScaledAffine, Stack } from './modules.js';

function roundTrip(model: nn.Module): nn.Module {
  const text = JSON.stringify(modelToJSON(model));
  const rebuilt = modelFromJSON(text);
  rebuilt.loadStateDict(model.stateDict());
  return rebuilt;
}

describe('architecture JSON', () => {
  test('modelToJSON writes the format, version, class and nested configs', () => {
    const model = new Stack([new ScaledAffine(3, 2), new ScaledAffine(3, 0.5)]);
    assert.deepEqual(modelToJSON(model), {
      format: 'neurite-model',
      formatVersion: 1,
      className: 'test.Stack',
      config: {
        layers: [
          { className: 'test.ScaledAffine', config: { size: 3, scale: 2 } },
          { className: 'test.ScaledAffine', config: { size: 3, scale: 0.5 } },
        ],
      },
    });
  });

  test('a rebuilt custom container has the same structure and, with the weights, the same outputs', () => {
    seed(1);
    const model = new Stack([new ScaledAffine(4, 2), new Stack([new ScaledAffine(4, -1)])]);
    const rebuilt = roundTrip(model);
    assert.ok(rebuilt instanceof Stack);
    assert.deepEqual(
      rebuilt.namedParameters().map(([n, p]) => [n, [...p.shape]]),
      model.namedParameters().map(([n, p]) => [n, [...p.shape]]),
    );
    const x = randn([5, 4]);
    assert.deepEqual(rebuilt.forward(x).data, model.forward(x).data);
  });

  test('the saved config is a copy, not a live reference', () => {
    const model = new ScaledAffine(2);
    const json = modelToJSON(model);
    (json.config as { size: number }).size = 99;
    assert.equal(modelToJSON(model).config.size, 2);
  });

  test('an unknown class is named together with its path in the JSON', () => {
    const json = modelToJSON(new Stack([new ScaledAffine(2), new Stack([new ScaledAffine(2)])]));
    const inner = (json.config.layers as { config: { layers: { className: string }[] } }[])[1];
    inner.config.layers[0].className = 'MysteryLayer';
    assert.throws(
      () => modelFromJSON(json),
      (e: unknown) => {
        assert.ok(e instanceof UnknownLayerError);
        assert.ok(e instanceof SerializationError);
        assert.equal(e.className, 'MysteryLayer');
        assert.equal(e.path, 'config.layers[1].config.layers[0]');
        assert.match(e.message, /unknown layer class 'MysteryLayer' at config\.layers\[1\]\.config\.layers\[0\]; register it with registerLayer/);
        return true;
      },
    );
    assert.throws(
      () => modelFromJSON({ ...json, className: 'Nope' }),
      (e: unknown) => e instanceof UnknownLayerError && e.path === '<root>',
    );
  });

  test('another formatVersion is a FormatVersionError', () => {
    const json = { ...modelToJSON(new ScaledAffine(2)), formatVersion: 2 };
    assert.throws(
      () => modelFromJSON(json),
      (e: unknown) => e instanceof FormatVersionError && /formatVersion 2 is not supported \(this version of neurite reads 1\)/.test(e.message),
    );
  });

  test('malformed documents are SerializationErrors that say what is wrong', () => {
    const good = modelToJSON(new ScaledAffine(2));
    const cases: [unknown, RegExp][] = [
      ['{"format": "neurite-model",', /invalid JSON/],
      [[1, 2], /expected a JSON object/],
      [{ ...good, format: 'keras' }, /not a neurite architecture file \(format is "keras"/],
      [{ ...good, className: 3 }, /className must be a non-empty string/],
      [{ ...good, config: [] }, /config must be an object/],
      ['{"format":"neurite-model","format":"neurite-model"}', /duplicate key "format"/],
    ];
    for (const [doc, pattern] of cases)
      assert.throws(
        () => modelFromJSON(doc),
        (e: unknown) => e instanceof SerializationError && pattern.test(e.message),
      );
  });

  test('a layer that rejects its config is reported with the class name', () => {
    nn.registerLayer('test.Picky', () => {
      throw new SerializationError('size must be positive');
    });
    const json = { format: 'neurite-model', formatVersion: 1, className: 'test.Picky', config: {} };
    assert.throws(() => modelFromJSON(json), /building 'test\.Picky' from its config failed: size must be positive/);
  });

  test('saving refuses what could not be loaded back', () => {
    class Unregistered extends nn.Module {
      static override readonly className = 'test.Unregistered';
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    class Anonymous extends nn.Module {
      forward(x: Tensor): Tensor {
        return x;
      }
    }
    assert.throws(() => modelToJSON(new Stack([new ScaledAffine(2), new Unregistered()])), /'test\.Unregistered' at config\.layers\[1\] is not registered/);
    assert.throws(() => modelToJSON(new Anonymous()), /Anonymous does not declare a static className/);
    assert.throws(() => modelToJSON(new ScaledAffine(2, Number.NaN)), /config\.scale is NaN, which JSON cannot hold exactly/);
  });
});

describe('architecture JSON of the built-in containers', () => {
  test('Sequential: rebuilt from JSON text, same outputs once the weights are loaded', () => {
    seed(4);
    const model = new Sequential(new Linear(3, 5), new Tanh(), new Dropout(0.2), new Linear(5, 2, { bias: false })).withName('net');
    const json = modelToJSON(model);
    assert.equal(json.className, 'Sequential');
    assert.equal(json.name, 'net');
    const rebuilt = roundTrip(model);
    assert.ok(rebuilt instanceof Sequential);
    assert.equal(rebuilt.label, model.label);
    assert.equal(rebuilt.toString(), model.toString());
    model.eval();
    rebuilt.eval();
    const x = randn([4, 3]);
    assert.deepEqual(rebuilt.forward(x).data, model.forward(x).data);
  });

  test('functional graph Model with two inputs and a shared layer: same outputs', () => {
    seed(6);
    const a = input([3], { name: 'a' });
    const b = input([3], { name: 'b' });
    const shared = new Linear(3, 4);
    const sum = new Add().call(new Tanh().call(shared.call(a)), shared.call(b));
    const model = new Model({ inputs: [a, b], outputs: new Linear(4, 1).call(sum) });
    const rebuilt = roundTrip(model);
    assert.ok(rebuilt instanceof Model);
    assert.deepEqual(
      rebuilt.namedParameters().map(([n]) => n),
      model.namedParameters().map(([n]) => n),
    );
    const xa = randn([5, 3]);
    const xb = randn([5, 3]);
    assert.deepEqual(rebuilt.forward(xa, xb).data, model.forward(xa, xb).data);
  });
});
