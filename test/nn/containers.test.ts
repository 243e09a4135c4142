import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nn, noGrad, randn, ShapeError, seed, type Tensor, ValueError } from '../../src/index.js';
import { assertClose, type FixtureTensor, fromFixture, loadFixture } from '../helpers.js';

const tanh = () => new nn.Lambda((x) => x.tanh());

describe('Sequential', () => {
  test('children are keyed 0, 1, ... and parameters named 0.weight; layers without parameters keep their index', () => {
    const model = new nn.Sequential(new nn.Linear(3, 4), tanh(), new nn.Linear(4, 2));
    assert.deepEqual(
      model.namedParameters().map(([n]) => n),
      ['0.weight', '0.bias', '2.weight', '2.bias'],
    );
    assert.equal(model.length, 3);
    assert.ok(model.at(-1) instanceof nn.Linear);
    assert.equal(model.at(0), [...model][0]);
    assert.throws(() => model.at(3), /Sequential\.at: index 3 is out of range for 3 children/);
    // forward is the composition f3(f2(f1(x)))
    const x = randn([5, 3]);
    const manual = (model.at(2) as nn.Linear).forward((model.at(0) as nn.Linear).forward(x).tanh());
    assert.deepEqual(model.forward(x).toFlatArray(), manual.toFlatArray());
  });

  test('an array, an object of named layers, and add()', () => {
    const fromArray = new nn.Sequential([new nn.Linear(2, 2), new nn.Linear(2, 1)]);
    assert.deepEqual(fromArray.keys(), ['0', '1']);
    const named = new nn.Sequential({ fc1: new nn.Linear(2, 3), act: tanh(), fc2: new nn.Linear(3, 1) });
    assert.deepEqual(
      named.namedParameters().map(([n]) => n),
      ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias'],
    );
    named.add(new nn.Linear(1, 1)).add(new nn.Identity(), 'out');
    // insertion order is kept even for the numeric key '3' (JavaScript would list it first)
    assert.deepEqual(named.keys(), ['fc1', 'act', 'fc2', '3', 'out']);
    assert.deepEqual(
      named.namedParameters().map(([n]) => n),
      ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias', '3.weight', '3.bias'],
    );
    assert.throws(() => named.add(new nn.Identity(), 'fc1'), /Sequential: there is already a child named 'fc1'/);
    assert.throws(() => named.add(new nn.Identity(), 'forward'), /Sequential: 'forward' is a property of Sequential and cannot name a child/);
    assert.throws(() => named.add(new nn.Identity(), 'a.b'), /a child name must be a non-empty string without dots/);
    assert.throws(() => new nn.Sequential(new nn.Linear(1, 1), 3 as unknown as nn.Module), /Sequential: argument 1 is not a Module/);
  });

  test("the notes' MLP in PyTorch's naming reproduces PyTorch's first loss and first SGD step", () => {
    interface MlpFixture {
      initialParams: Record<string, FixtureTensor>;
      X: FixtureTensor;
      y: FixtureTensor;
      optimizer: { lr: number };
      float64: { losses: number[]; paramsAfterStep: Record<string, FixtureTensor>[] };
    }
    const fx = loadFixture<MlpFixture>('mlp_sgd.json');
    const model = new nn.Sequential({
      fc1: new nn.Linear(4, 8, { dtype: 'float64' }),
      act: tanh(),
      fc2: new nn.Linear(8, 3, { dtype: 'float64' }),
    });
    model.loadStateDict(Object.fromEntries(Object.entries(fx.initialParams).map(([k, v]) => [k, fromFixture(v)])));
    const logits = model.forward(fromFixture(fx.X));
    const y = fromFixture(fx.y, 'int32');
    // cross-entropy: mean over samples of logsumexp(logits_i) - logits_i[y_i]
    const loss = logits
      .logsumexp(1)
      .sub(logits.gather(1, y.reshape([16, 1])).reshape([16]))
      .mean();
    assertClose(loss.item(), fx.float64.losses[0], { atol: 1e-12 });
    loss.backward();
    // the first momentum-SGD step is plain SGD (the momentum buffer starts as the gradient)
    noGrad(() => {
      for (const [, p] of model.namedParameters()) p.assign(p.sub((p.grad as Tensor).mul(fx.optimizer.lr)));
    });
    for (const [name, p] of model.namedParameters()) assertClose(p, fromFixture(fx.float64.paramsAfterStep[0][name]), { atol: 1e-12, message: name });
  });

  test('errors from unnamed children carry their dotted path; named children keep their name', () => {
    const model = new nn.Sequential(new nn.Linear(10, 100), tanh(), new nn.Linear(99, 1));
    assert.throws(
      () => model.forward(randn([64, 10])),
      (e: Error) => e instanceof ShapeError && e.message === "Linear '2': expected input with last dimension 99, got [64, 100]",
    );
    const nested = new nn.Sequential({ encoder: new nn.Sequential(new nn.Linear(4, 3), new nn.Linear(5, 2)) });
    assert.throws(() => nested.forward(randn([2, 4])), /^ShapeError: Linear 'encoder\.1': expected input with last dimension 5, got \[2, 3\]$/);
    const named = new nn.Sequential(new nn.Linear(4, 3, { name: 'fc2' }));
    assert.throws(() => named.forward(randn([2, 5])), /^ShapeError: Linear 'fc2': expected input with last dimension 4, got \[2, 5\]$/);
  });

  test('train() and eval() reach every child', () => {
    const model = new nn.Sequential(new nn.Linear(2, 2), new nn.Sequential(new nn.Dropout(0.5)));
    model.eval();
    assert.ok(model.modules().every((m) => !m.training));
    const x = randn([3, 2]);
    assert.deepEqual(model.forward(x).toFlatArray(), model.forward(x).toFlatArray());
    model.train();
    assert.ok(model.modules().every((m) => m.training));
  });

  test('freeze and unfreeze a sub-module (transfer learning)', () => {
    const features = new nn.Sequential(new nn.Linear(4, 8), tanh());
    const model = new nn.Sequential({ features, head: new nn.Linear(8, 2) });
    features.freeze();
    assert.equal(model.countParameters(), 4 * 8 + 8 + 8 * 2 + 2);
    assert.equal(model.countParameters(true), 8 * 2 + 2);
    assert.deepEqual(
      model.trainableParameters().map((p) => p.size),
      [16, 2],
    );
    model
      .forward(randn([3, 4]))
      .sum()
      .backward();
    const byName = new Map(model.namedParameters());
    assert.equal(byName.get('features.0.weight')?.grad, null, 'a frozen parameter gets no gradient');
    assert.ok(byName.get('head.weight')?.grad, 'the head is trained');
    features.unfreeze();
    assert.equal(model.countParameters(true), model.countParameters());
  });

  test('loadStateDict: strict errors list missing and unexpected keys; non-strict reports them', () => {
    const model = new nn.Sequential(new nn.Linear(2, 3), new nn.Linear(3, 1));
    const sd = new Map(model.stateDict());
    sd.delete('1.bias');
    sd.set('2.weight', randn([1, 1]));
    assert.throws(() => model.loadStateDict(sd), /Sequential\.loadStateDict: missing keys: 1\.bias; unexpected keys: 2\.weight/);
    const result = model.loadStateDict(sd, { strict: false });
    assert.deepEqual(result, { missingKeys: ['1.bias'], unexpectedKeys: ['2.weight'] });
    assert.throws(
      () => model.loadStateDict({ ...Object.fromEntries(model.stateDict()), '0.weight': randn([2, 2]) }),
      /'0\.weight' has shape \[2, 2\], the model expects \[3, 2\]/,
    );
  });

  test('apply(fn) initialises every Linear', () => {
    const model = new nn.Sequential(new nn.Linear(3, 3), tanh(), new nn.Sequential(new nn.Linear(3, 2)));
    model.apply((m) => {
      if (m instanceof nn.Linear && m.bias) nn.init.constant(m.bias, 0.1);
    });
    for (const [name, p] of model.namedParameters()) if (name.endsWith('bias')) assert.deepEqual(new Set(p.toFlatArray()), new Set([Math.fround(0.1)]));
  });

  test('toString shows the tree', () => {
    const model = new nn.Sequential(new nn.Linear(3, 4), new nn.Sequential(new nn.Dropout(0.5)));
    assert.equal(model.toString(), 'Sequential(\n  (0): Linear(in=3, out=4, bias=true)\n  (1): Sequential(\n    (0): Dropout(p=0.5)\n  )\n)');
  });
});

describe('ModuleList', () => {
  class Tower extends nn.Module {
    static override readonly className = 'Tower';
    blocks = new nn.ModuleList([new nn.Linear(3, 3), new nn.Linear(3, 3)]);
    forward(x: Tensor): Tensor {
      let h = x;
      for (const b of this.blocks) h = (b as nn.Linear).forward(h).tanh().add(h);
      return h;
    }
  }

  test('holds sub-modules for a hand-written forward', () => {
    const tower = new Tower();
    tower.blocks.append(new nn.Linear(3, 3));
    assert.deepEqual(
      tower.namedParameters().map(([n]) => n),
      ['blocks.0.weight', 'blocks.0.bias', 'blocks.1.weight', 'blocks.1.bias', 'blocks.2.weight', 'blocks.2.bias'],
    );
    assert.deepEqual(tower.forward(randn([2, 3])).shape, [2, 3]);
    assert.throws(() => tower.blocks.forward(), /ModuleList has no forward\(\); iterate over it/);
  });
});

describe('container configs', () => {
  test('getConfig nests children as {className, config}; rebuilding gives the same model', () => {
    seed(20);
    const model = new nn.Sequential({
      encoder: new nn.Sequential(new nn.Linear(6, 4), new nn.BatchNorm1d(4), new nn.Dropout(0.1)),
      head: new nn.ModuleList([new nn.Linear(4, 2)]),
    });
    const config = model.getConfig();
    assert.deepEqual(config.keys, ['encoder', 'head']);
    const layers = config.layers as nn.LayerSpec[];
    assert.equal(layers[0].className, 'Sequential');
    assert.deepEqual(
      (layers[0].config.layers as nn.LayerSpec[]).map((s) => s.className),
      ['Linear', 'BatchNorm1d', 'Dropout'],
    );
    assert.deepEqual(layers[1], {
      className: 'ModuleList',
      config: { modules: [{ className: 'Linear', config: { inFeatures: 4, outFeatures: 2, bias: true, dtype: 'float32' } }] },
    });
    // only JSON goes through
    const copy = nn.layerFromConfig(JSON.parse(JSON.stringify(nn.layerToSpec(model))));
    assert.deepEqual([...copy.stateDict().keys()], [...model.stateDict().keys()]);
    const encoder = (m: nn.Module) => (m as nn.Sequential).at(0) as nn.Sequential;
    encoder(model).forward(randn([5, 6]));
    copy.loadStateDict(model.stateDict());
    model.eval();
    copy.eval();
    const x = randn([3, 6]);
    assert.deepEqual(encoder(copy).forward(x).toFlatArray(), encoder(model).forward(x).toFlatArray());
  });

  test('a bad entry deep in a config is reported with its path', () => {
    const spec = {
      className: 'Sequential',
      config: {
        layers: [
          { className: 'Linear', config: { inFeatures: 2, outFeatures: 3 } },
          { className: 'Sequential', config: { layers: [{ className: 'Linear', config: { inFeatures: -3, outFeatures: 1 } }] } },
        ],
      },
    };
    assert.throws(
      () => nn.layerFromConfig(spec),
      (e: Error) => e instanceof ValueError && e.message === 'Sequential > layers[1] > layers[0]: Linear: inFeatures must be a positive integer, got -3',
    );
    assert.throws(() => nn.layerFromConfig({ className: 'Sequential', config: { layers: 3 } } as nn.LayerSpec), /Sequential: config\.layers must be an array/);
  });

  test('a user-named child keeps its name through a config', () => {
    const model = new nn.Sequential(new nn.Linear(2, 2).withName('fc1'));
    const copy = nn.layerFromConfig(nn.layerToSpec(model)) as nn.Sequential;
    assert.equal(copy.at(0).label, "Linear 'fc1'");
    assert.deepEqual(copy.keys(), ['0']);
  });
});
