// The canonical networks against torchvision (tools/gen_model_fixtures.py,
// torchvision 0.14.1): the same state-dict names and shapes and parameter
// counts for every builder, the same outputs for weights filled by one
// formula on both sides; weights from a file; the transfer-learning helper.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { loadModel, models, nn, saveModel, type Tensor, tensor, weightsToSafetensors } from '../../src/index.js';

interface Fixture {
  architectures: Record<string, { parameters: number; state: [string, number[]][] }>;
  outputs: { model: string; input: number[]; classes: number; part: 'all' | 'features'; shape: number[]; output: number[] }[];
}
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'models.json'), 'utf8')) as Fixture;

type Name = keyof typeof models.BUILDERS;
/** The fixture's names for the builders (GoogLeNet's with and without auxiliary heads). */
function build(name: string, options: { numClasses?: number; dtype?: 'float32' | 'float64' } = {}): nn.Module {
  if (name === 'googlenet_aux') return models.googlenet({ ...options, auxLogits: true });
  return (models.BUILDERS[name as Name] as (o: object) => nn.Module)(options);
}

/** The fixture's formula: each tensor from its name and element index (tools/gen_model_fixtures.py, fill()). */
function fill(model: nn.Module): void {
  fillWithPrefix(model, '');
}

function fillWithPrefix(model: nn.Module, prefix: string): void {
  for (const [own, t] of model.stateDict()) {
    const name = prefix + own;
    const d = t.data;
    if (name.endsWith('num_batches_tracked')) {
      d.fill(0);
      continue;
    }
    let key = 0;
    for (const c of name) key += c.charCodeAt(0);
    const k = (key % 1000) / 100;
    const fanIn = t.ndim > 1 ? t.size / t.shape[0] : 1;
    for (let i = 0; i < d.length; i++) {
      const s = Math.sin(0.7 * i + k);
      d[i] = name.endsWith('running_var')
        ? 1 + 0.25 * (1 + s)
        : name.endsWith('running_mean')
          ? 0.1 * s
          : name.endsWith('bias')
            ? 0.05 * s
            : t.ndim === 1
              ? 1 + 0.1 * s
              : s * Math.sqrt(2 / fanIn);
    }
  }
}

function input(shape: number[], dtype: 'float32' | 'float64'): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.sin(0.3 * i);
  return tensor(data, { shape });
}

/** Names and shapes of a state dict, as 'name' → '3x64x7x7'. */
const shapes = (entries: Iterable<[string, { shape: readonly number[] }]>) => new Map([...entries].map(([k, t]) => [k, t.shape.join('x')]));

function sameState(ours: Map<string, string>, theirs: Map<string, string>): void {
  const missing = [...theirs.keys()].filter((k) => !ours.has(k));
  const extra = [...ours.keys()].filter((k) => !theirs.has(k));
  assert.deepEqual({ missing, extra }, { missing: [], extra: [] });
  for (const [k, s] of theirs) assert.equal(ours.get(k), s, k);
}

describe('models: the architectures are torchvision’s', () => {
  // VGG's classifier (123,642,856 parameters of Linear layers, the same code for every depth) takes seconds to
  // initialise: it is built once, in VGG-16, and each depth's convolutional part is built alone.
  let classifierParameters = 0;
  it(`vgg16: ${fixture.architectures.vgg16.parameters.toLocaleString('en')} parameters, the same names and shapes`, () => {
    const model = models.vgg16();
    assert.equal(model.countParameters(), fixture.architectures.vgg16.parameters);
    sameState(shapes(model.stateDict()), new Map(fixture.architectures.vgg16.state.map(([k, s]) => [k, s.join('x')])));
    classifierParameters = model.classifier.countParameters();
  });
  for (const [name, arch] of Object.entries(fixture.architectures)) {
    if (name === 'vgg16') continue;
    it(`${name}: ${arch.parameters.toLocaleString('en')} parameters, the same names and shapes`, () => {
      const vgg = /^vgg(\d+)(_bn)?$/.exec(name);
      if (vgg) {
        const features = models.vggFeatures(Number(vgg[1]) as models.VggDepth, { batchNorm: vgg[2] !== undefined });
        assert.equal(features.countParameters() + classifierParameters, arch.parameters);
        const theirs = new Map(arch.state.filter(([k]) => k.startsWith('features.')).map(([k, s]) => [k.slice('features.'.length), s.join('x')]));
        sameState(shapes(features.stateDict()), theirs);
        return;
      }
      const model = build(name);
      assert.equal(model.countParameters(), arch.parameters);
      sameState(shapes(model.stateDict()), new Map(arch.state.map(([k, s]) => [k, s.join('x')])));
    });
  }
});

describe('models: the same outputs as torchvision', () => {
  for (const case_ of fixture.outputs) {
    // float64 where the network is small enough to hold twice; float32 elsewhere.
    const dtype = case_.model === 'resnet18' || case_.model === 'vgg11_bn' ? 'float64' : 'float32';
    it(`${case_.model} (${case_.part === 'features' ? 'features' : 'logits'}, ${dtype}) on a ${case_.input.join('×')} input`, () => {
      // VGG's features are built alone (its classifier would take seconds and is checked by name and shape).
      const model = case_.part === 'features' ? models.vggFeatures(11, { batchNorm: true, dtype }) : build(case_.model, { numClasses: case_.classes, dtype });
      fill(model);
      // fill() keys the formula by name: inside a bare features Sequential they lack torchvision's 'features.' prefix.
      if (case_.part === 'features') fillWithPrefix(model, 'features.');
      model.eval();
      const x = input(case_.input, dtype);
      const y = model.forward(x) as Tensor;
      assert.deepEqual(y.shape, case_.shape);
      const tol = dtype === 'float64' ? 1e-9 : 1e-4;
      let worst = 0;
      const scale = Math.max(1, ...case_.output.map(Math.abs));
      for (let i = 0; i < case_.output.length; i++) worst = Math.max(worst, Math.abs(y.data[i] - case_.output[i]) / scale);
      assert.ok(worst <= tol, `largest difference ${worst.toExponential(2)} (relative to ${scale.toFixed(2)}), allowed ${tol}`);
    });
  }
});

describe('models: weights, training and transfer', () => {
  it('weights from safetensors bytes load strictly; the wrong network’s file is a typed error naming the keys', async () => {
    const a = models.resnet18({ numClasses: 5 });
    const bytes = weightsToSafetensors(a);
    const b = await models.resnet18({ numClasses: 5, weights: bytes });
    a.eval();
    b.eval();
    const x = input([1, 3, 32, 32], 'float32');
    assert.deepEqual(Array.from((b.forward(x) as Tensor).data), Array.from((a.forward(x) as Tensor).data));
    // From a file, by path and by file: URL; a missing file is a SerializationError naming it.
    const dir = mkdtempSync(join(tmpdir(), 'neurite-models-'));
    try {
      const file = join(dir, 'resnet18.safetensors');
      writeFileSync(file, bytes);
      const c = await models.resnet18({ numClasses: 5, weights: file });
      const d = await models.resnet18({ numClasses: 5, weights: pathToFileURL(file) });
      c.eval();
      d.eval();
      assert.deepEqual(Array.from((c.forward(x) as Tensor).data), Array.from((a.forward(x) as Tensor).data));
      assert.deepEqual(Array.from((d.forward(x) as Tensor).data), Array.from((a.forward(x) as Tensor).data));
      await assert.rejects(
        models.resnet18({ weights: join(dir, 'nothing.safetensors') }),
        (e: Error) => e.name === 'SerializationError' && /nothing\.safetensors does not exist/.test(e.message),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await assert.rejects(models.resnet34({ numClasses: 5, weights: bytes }), (e: Error) => e.name === 'StateMismatchError' && /layer1\.2\./.test(e.message));
    await assert.rejects(models.resnet18({ numClasses: 10, weights: bytes }), (e: Error) => e.name === 'StateMismatchError' && /fc\.weight/.test(e.message));
  });

  it('saveModel and loadModel round-trip ResNet-18, GoogLeNet with its heads, AlexNet and LeNet-5: same class, options and outputs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'neurite-models-save-'));
    try {
      const cases: [string, nn.Module, number[]][] = [
        ['resnet18', models.resnet18({ numClasses: 5, zeroInitResidual: true }), [1, 3, 32, 32]],
        ['googlenet', models.googlenet({ numClasses: 3, auxLogits: true }), [1, 3, 64, 64]],
        ['alexnet', models.alexnet({ numClasses: 4, dropout: 0.3 }), [1, 3, 64, 64]],
        ['lenet5', models.lenet5(), [1, 1, 28, 28]],
      ];
      for (const [name, net, shape] of cases) {
        await saveModel(net, join(dir, name));
        const model = await loadModel(join(dir, name));
        assert.equal(model.className, net.className);
        assert.deepEqual(model.getConfig(), net.getConfig());
        net.eval();
        model.eval();
        const x = input(shape, 'float32');
        assert.deepEqual(Array.from((model.forward(x) as Tensor).data), Array.from((net.forward(x) as Tensor).data), name);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('LeNet-5 trains one step; GoogLeNet with auxiliary heads returns them in training mode only', () => {
    const net = models.lenet5();
    const x = input([4, 1, 28, 28], 'float32');
    const before = Array.from(net.parameters()[0].data);
    const loss = nn.functional.crossEntropy(net.forward(x) as Tensor, tensor(Int32Array.from([0, 1, 2, 3]), { shape: [4] }));
    loss.backward();
    const w = net.parameters()[0];
    const g = w.grad?.data as Float32Array;
    for (let i = 0; i < w.data.length; i++) w.data[i] -= 0.1 * g[i];
    assert.notDeepEqual(Array.from(w.data), before);
    const g2 = models.googlenet({ numClasses: 3, auxLogits: true });
    const x2 = input([2, 3, 64, 64], 'float32');
    const train = g2.forwardWithAux(x2);
    assert.deepEqual(train.aux1?.shape, [2, 3]);
    assert.deepEqual(train.aux2?.shape, [2, 3]);
    g2.eval();
    assert.equal(g2.forwardWithAux(x2).aux1, null);
  });

  it('prepareTransfer replaces the head and freezes all, most or none of the rest', () => {
    for (const [freeze, trainable] of [
      ['all', 2],
      ['none', -1],
      ['most', -2],
    ] as const) {
      const net = models.resnet18({ numClasses: 1000 });
      const head = models.prepareTransfer(net, { numClasses: 4, freeze });
      assert.equal(net.fc, head);
      assert.deepEqual(head.weight.shape, [4, 512]);
      const params = net.namedParameters();
      const open = params.filter(([, p]) => p.requiresGrad).map(([n]) => n);
      if (trainable === 2) assert.deepEqual(open, ['fc.weight', 'fc.bias']);
      else if (trainable === -1) assert.equal(open.length, params.length);
      else {
        assert.ok(open.length > 2 && open.length < params.length, `${open.length} of ${params.length}`);
        assert.ok(open.includes('layer4.1.conv2.weight') && !open.includes('conv1.weight'));
      }
    }
  });

  it("a network given a new head by prepareTransfer saves and loads with its new number of classes (GoogLeNet's auxiliary heads too)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'neurite-models-'));
    try {
      for (const net of [models.resnet18(), models.googlenet({ auxLogits: true })]) {
        models.prepareTransfer(net, { numClasses: 3, freeze: 'all' });
        assert.equal(net.getConfig().numClasses, 3);
        if (net instanceof models.GoogLeNet) {
          assert.deepEqual(net.aux1?.fc2.weight.shape, [3, 1024]);
          assert.ok(net.aux2?.fc2.weight.requiresGrad, 'the new auxiliary heads train');
        }
        await saveModel(net, join(dir, net.className));
        const back = await loadModel(join(dir, net.className));
        net.eval();
        back.eval();
        const x = input([1, 3, 64, 64], 'float32');
        assert.deepEqual(Array.from((back.forward(x) as Tensor).data), Array.from((net.forward(x) as Tensor).data));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loadBackbone loads everything but a head sized for other classes, strictly; freezeBackbone changes the policy', async () => {
    const pretrained = models.resnet18({ numClasses: 10 });
    const bytes = weightsToSafetensors(pretrained);
    const net = models.resnet18({ numClasses: 3 });
    const freshHead = Array.from(net.fc.weight.data);
    await models.loadBackbone(net, bytes);
    assert.deepEqual(Array.from(net.fc.weight.data), freshHead, 'the new head keeps its fresh values');
    assert.deepEqual(
      Array.from((net.layer4.at(1) as models.BasicBlock).conv2.weight.data),
      Array.from((pretrained.layer4.at(1) as models.BasicBlock).conv2.weight.data),
    );
    assert.deepEqual(Array.from(net.stateDict().get('bn1.running_var')?.data ?? []), Array.from(pretrained.stateDict().get('bn1.running_var')?.data ?? []));
    // A head of the same size is loaded like the rest.
    const same = await models.loadBackbone(models.resnet18({ numClasses: 10 }), bytes);
    assert.deepEqual(Array.from(same.fc.weight.data), Array.from(pretrained.fc.weight.data));
    // Another architecture's file is a typed error naming what is missing.
    await assert.rejects(
      models.loadBackbone(models.resnet34({ numClasses: 3 }), bytes),
      (e: Error) => e.name === 'StateMismatchError' && /layer1\.2\.conv1\.weight/.test(e.message),
    );
    models.freezeBackbone(net, 'all');
    assert.deepEqual(
      net
        .namedParameters()
        .filter(([, p]) => p.requiresGrad)
        .map(([n]) => n),
      ['fc.weight', 'fc.bias'],
    );
    models.freezeBackbone(net, 'none');
    assert.ok(net.namedParameters().every(([, p]) => p.requiresGrad));
  });

  it('ImageNet preprocessing: the shorter side to 256, the centre 224×224, each channel normalised', () => {
    const img = tensor(new Float32Array(3 * 300 * 400).fill(0.5), { shape: [1, 3, 300, 400] });
    const out = models.preprocess(img);
    assert.deepEqual(out.shape, [1, 3, 224, 224]);
    assert.ok(Math.abs(out.data[0] - (0.5 - 0.485) / 0.229) < 1e-6);
    assert.ok(Math.abs(out.data[224 * 224 * 2] - (0.5 - 0.406) / 0.225) < 1e-6);
  });
});
