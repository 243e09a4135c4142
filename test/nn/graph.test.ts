import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { concat, gradcheck, nn, noGrad, rand, randn, ShapeError, seed, type Tensor, tensor, ValueError } from '../../src/index.js';
import { assertClose } from '../helpers.js';

// Registered, so that graphs using them can be saved (getConfig).
nn.Lambda.register('test.relu', (x) => x.relu());
nn.Lambda.register('test.tanh', (x) => x.tanh());
const relu = () => new nn.Lambda('test.relu');
const tanh = () => new nn.Lambda('test.tanh');

function sgdStep(model: nn.Module, lr: number): void {
  noGrad(() => {
    for (const p of model.trainableParameters()) if (p.grad) p.assign(p.sub(p.grad.mul(lr)));
  });
  model.zeroGrad();
}

const mse = (a: Tensor, b: Tensor) => a.sub(b).square().mean();

/** A JSON round trip of the architecture, then the weights copied over. */
function rebuild(model: nn.Module): nn.Module {
  const copy = nn.layerFromConfig(JSON.parse(JSON.stringify(nn.layerToSpec(model))));
  copy.loadStateDict(model.stateDict());
  return copy;
}

describe('functional graph', () => {
  test('symbolic tensors carry per-sample shapes inferred at build time', () => {
    const x = nn.input([784], { name: 'pixels' });
    const h = new nn.Linear(784, 128).call(x);
    const y = new nn.Reshape([2, 64]).call(h);
    assert.deepEqual(x.shape, [784]);
    assert.deepEqual(h.shape, [128]);
    assert.deepEqual(y.shape, [2, 64]);
    assert.ok(x.isInput && !h.isInput);
    assert.equal(String(x), "SymbolicTensor([N, 784], float32, input 'pixels')");
  });

  test('a layer that rejects its symbolic input fails at build time, naming itself', () => {
    const x = nn.input([120]);
    assert.throws(
      () => new nn.Linear(128, 10, { name: 'fc2' }).call(x),
      (e: Error) =>
        e instanceof ShapeError &&
        e.message ===
          "Linear 'fc2': expected input with last dimension 128, got [1, 120] (while inferring shapes in a functional graph, from input [N, 120] with N = 1)",
    );
    assert.throws(() => new nn.Add().call(x, nn.input([60])), /^ShapeError: Add: expected inputs of one shape, got \[1, 120\], \[1, 60\]/);
    assert.throws(() => new nn.Linear(120, 2).call(x, randn([1, 120]) as never), /Linear\.call: argument 1 is a concrete Tensor among symbolic tensors/);
    assert.throws(
      () => new nn.Lambda((t) => t.sum()).call(x),
      /Lambda: a functional graph needs outputs that keep the batch axis first; one sample gave an output of shape \[\]/,
    );
  });

  test('building a graph changes neither running statistics nor the random stream', () => {
    const bn = new nn.BatchNorm1d(4);
    seed(30);
    const expected = rand([3]).toFlatArray();
    seed(30);
    const x = nn.input([4]);
    new nn.Dropout(0.5).call(bn.call(x));
    assert.deepEqual(rand([3]).toFlatArray(), expected);
    assert.deepEqual(bn.getBuffer('running_mean').toFlatArray(), [0, 0, 0, 0]);
    assert.equal(bn.getBuffer('num_batches_tracked').item(), 0);
    assert.ok(bn.training, 'the layer is back in training mode');
  });

  test('a ResNet-style block: y = relu(x + F(x))', () => {
    seed(31);
    const x = nn.input([16]);
    const f1 = new nn.Linear(16, 16);
    const f2 = new nn.Linear(16, 16);
    const residual = f2.call(relu().call(f1.call(x)));
    const y = relu().call(new nn.Add().call(residual, x));
    const block = new nn.Model({ inputs: x, outputs: y });
    assert.deepEqual(
      block.namedParameters().map(([n]) => n),
      ['linear_1.weight', 'linear_1.bias', 'linear_2.weight', 'linear_2.bias'],
    );
    const xb = randn([5, 16]);
    const manual = f2.forward(f1.forward(xb).relu()).add(xb).relu();
    assert.deepEqual(block.forward(xb).toFlatArray(), manual.toFlatArray());
    // With F ≡ 0 the block is relu(x); the skip path alone carries the gradient: d sum(relu(x)) / dx = [x > 0].
    for (const p of block.parameters()) nn.init.zeros(p);
    const xg = xb.detach().requiresGrad_();
    block.forward(xg).sum().backward();
    assert.deepEqual(xg.grad?.toFlatArray(), xb.gt(0).float().toFlatArray());
  });

  test('an Inception-style block: parallel branches concatenated', () => {
    seed(32);
    const x = nn.input([6, 4]); // [N, L, C]: branches act on the last axis
    const b1 = new nn.Linear(4, 2).call(x);
    const b2 = new nn.Linear(3, 3).call(relu().call(new nn.Linear(4, 3).call(x)));
    const b3 = x;
    const y = new nn.Concatenate({ axis: -1 }).call(b1, b2, b3);
    assert.deepEqual(y.shape, [6, 2 + 3 + 4]);
    const model = new nn.Model({ inputs: x, outputs: y });
    const xb = randn([2, 6, 4]);
    const [l1, l2a, , l2b] = model.layers as nn.Linear[];
    const manual = concat([l1.forward(xb), l2b.forward(l2a.forward(xb).relu()), xb], -1);
    assert.deepEqual(model.forward(xb).toFlatArray(), manual.toFlatArray());
  });

  test('two heads with one loss each train together (both losses go down)', () => {
    seed(33);
    const x = nn.input([4]);
    const trunk = tanh().call(new nn.Linear(4, 16).call(x));
    const value = new nn.Linear(16, 1, { name: 'value' }).call(trunk);
    const logits = new nn.Linear(16, 3, { name: 'classes' }).call(trunk);
    const model = new nn.Model({ inputs: x, outputs: [value, logits] });
    const X = randn([32, 4]);
    const target = X.sum(1, true); // regression head: the sum of the features
    const labels = X.slice(null, [0, 3]).argmax(1); // classification head: which of the first three features is largest
    const crossEntropy = (z: Tensor, yy: Tensor) =>
      z
        .logsumexp(1)
        .sub(z.gather(1, yy.reshape([32, 1])).reshape([32]))
        .mean();
    const history: [number, number][] = [];
    for (let step = 0; step < 30; step++) {
      const [v, z] = model.forward(X);
      const l1 = mse(v, target);
      const l2 = crossEntropy(z, labels);
      l1.add(l2).backward();
      history.push([l1.item(), l2.item()]);
      sgdStep(model, 0.1);
    }
    const [first, last] = [history[0], history[history.length - 1]];
    assert.ok(last[0] < 0.5 * first[0], `regression loss ${first[0]} → ${last[0]}`);
    assert.ok(last[1] < 0.9 * first[1], `classification loss ${first[1]} → ${last[1]}`);
    assert.deepEqual(
      model.namedParameters().map(([n]) => n),
      ['linear_1.weight', 'linear_1.bias', 'value.weight', 'value.bias', 'classes.weight', 'classes.bias'],
    );
  });

  test('several inputs; forward checks their number and shapes', () => {
    const a = nn.input([3], { name: 'a' });
    const b = nn.input([2], { name: 'b' });
    const y = new nn.Linear(5, 1).call(new nn.Concatenate().call(a, b));
    const model = new nn.Model({ inputs: [a, b], outputs: y });
    assert.deepEqual(model.forward(randn([4, 3]), randn([4, 2])).shape, [4, 1]);
    assert.throws(() => model.forward(randn([4, 3])), /Model: expected 2 input tensors \(a, b\), got 1/);
    assert.throws(() => model.forward(randn([4, 3]), randn([4, 3])), /^ShapeError: Model: input 1 \('b'\) expected shape \[N, 2\], got \[4, 3\]$/);
    assert.throws(() => new nn.Model({ inputs: a, outputs: y }), /Model: the outputs depend on the input 'b' of shape \[N, 2\], which is not listed in inputs/);
    assert.throws(() => new nn.Model({ inputs: [y], outputs: y }), /Model: inputs\[0\] must be a tensor made by nn\.input\(\)/);
  });

  test('a layer shared by two branches has one set of weights that receives both gradients', () => {
    seed(34);
    const left = nn.input([3]);
    const right = nn.input([3]);
    const shared = new nn.Linear(3, 2);
    nn.Lambda.register('test.squaredDistance', (p, q) => p.sub(q).square().sum(1, true));
    const distance = new nn.Lambda('test.squaredDistance').call(shared.call(left), shared.call(right));
    const siamese = new nn.Model({ inputs: [left, right], outputs: distance });
    assert.deepEqual(
      siamese.namedParameters().map(([n]) => n),
      ['linear_1.weight', 'linear_1.bias'],
    );
    // one layer entry, two calls of it
    assert.deepEqual(
      (siamese.getConfig().nodes as { layer: string }[]).map((n) => n.layer),
      ['linear_1', 'linear_1', 'lambda_1'],
    );
    const [xl, xr] = [randn([4, 3]), randn([4, 3])];
    siamese.forward(xl, xr).sum().backward();
    const fromGraph = shared.weight.grad?.toFlatArray() as number[];
    // by hand: d/dW sum ||W xl - W xr||² = 2 (W (xl - xr))ᵀ (xl - xr), summed over the batch
    const d = xl.sub(xr);
    const manual = shared.weight.matmul(d.T).mul(2).matmul(d);
    assertClose(fromGraph, manual.detach(), { atol: 1e-5 });
    assertClose(shared.bias?.grad as Tensor, [0, 0], { atol: 1e-6 });
  });

  test('an autoencoder from an encoder and a decoder that share only the bottleneck', () => {
    seed(35);
    const x = nn.input([8]);
    const code = new nn.Linear(8, 3).call(tanh().call(new nn.Linear(8, 8).call(x)));
    const encoder = new nn.Model({ inputs: x, outputs: code, name: 'encoder' });
    const z = nn.input([3]);
    const decoder = new nn.Model({ inputs: z, outputs: new nn.Linear(8, 8).call(tanh().call(new nn.Linear(3, 8).call(z))), name: 'decoder' });
    const xa = nn.input([8]);
    const autoencoder = new nn.Model({ inputs: xa, outputs: decoder.call(encoder.call(xa)) });
    // The two halves own disjoint weights, and the only edge between them is the 3-wide code.
    const encParams = new Set(encoder.parameters());
    assert.ok(decoder.parameters().every((p) => !encParams.has(p)));
    assert.deepEqual(autoencoder.getConfig().nodes, [
      { layer: 'encoder', inputs: [{ input: 0 }] },
      { layer: 'decoder', inputs: [{ node: 0, output: 0 }] },
    ]);
    assert.deepEqual(encoder.call(xa).shape, [3]);
    assert.deepEqual(autoencoder.namedParameters().map(([n]) => n)[0], 'encoder.linear_1.weight');
    // Data on a 3-dimensional subspace of R^8, so a 3-wide code can reconstruct it.
    const data = randn([64, 3])
      .matmul(randn([3, 8]))
      .mul(0.5);
    const before = mse(autoencoder.forward(data), data).item();
    for (let i = 0; i < 60; i++) {
      mse(autoencoder.forward(data), data).backward();
      sgdStep(autoencoder, 0.2);
    }
    const after = mse(autoencoder.forward(data), data).item();
    assert.ok(after < 0.3 * before, `reconstruction error ${before} → ${after}`);
    // Training the whole trained its parts: the halves still compose to the autoencoder.
    const sample = data.slice([0, 4]);
    assertClose(decoder.forward(encoder.forward(sample)), autoencoder.forward(sample), { atol: 1e-6 });
  });

  test('float64 gradcheck of a graph with a skip, a branch and a shared layer, on input and weights', () => {
    seed(36);
    const x = nn.input([3], { dtype: 'float64' });
    const shared = new nn.Linear(3, 3, { dtype: 'float64' });
    const h = tanh().call(shared.call(x));
    const skip = new nn.Add().call(shared.call(h), x);
    const branch = new nn.Linear(3, 2, { dtype: 'float64' }).call(x);
    const y = new nn.Concatenate().call(skip, branch);
    const model = new nn.Model({ inputs: x, outputs: y });
    const names = model.namedParameters().map(([n]) => n);
    assert.deepEqual(names, ['linear_1.weight', 'linear_1.bias', 'linear_2.weight', 'linear_2.bias']);
    gradcheck(
      (xx, ...ps) => nn.functionalCall(model, Object.fromEntries(names.map((n, i) => [n, ps[i]])), xx),
      [randn([2, 3], { dtype: 'float64' }), ...model.parameters()],
    );
  });

  test('getConfig → JSON → factory rebuilds the graph; outputs match after copying the state dict', () => {
    seed(37);
    const a = nn.input([4], { name: 'a' });
    const b = nn.input([2], { name: 'b' });
    const shared = new nn.Linear(4, 4);
    const h = new nn.BatchNorm1d(4).call(shared.call(shared.call(a)));
    const inner = new nn.Model({ inputs: b, outputs: new nn.Linear(2, 4).call(b), name: 'inner' });
    const sum = new nn.Add().call(h, inner.call(b));
    const model = new nn.Model({ inputs: [a, b], outputs: [sum, new nn.Dropout(0.3).call(sum)] });
    model.forward(randn([5, 4]), randn([5, 2])); // move the running statistics
    const copy = rebuild(model) as nn.Model;
    assert.equal(copy.className, 'Model');
    assert.deepEqual(copy.getConfig(), model.getConfig());
    model.eval();
    copy.eval();
    const [xa, xb] = [randn([3, 4]), randn([3, 2])];
    const [o1, o2] = model.forward(xa, xb) as Tensor[];
    const [c1, c2] = copy.forward(xa, xb) as Tensor[];
    assert.deepEqual(c1.toFlatArray(), o1.toFlatArray());
    assert.deepEqual(c2.toFlatArray(), o2.toFlatArray());
  });

  test('the factory runs nodes in topological order whatever order the file lists them in', () => {
    seed(38);
    const x = nn.input([2]);
    const model = new nn.Model({ inputs: x, outputs: new nn.Linear(3, 1).call(new nn.Linear(2, 3).call(x)) });
    const spec = JSON.parse(JSON.stringify(nn.layerToSpec(model)));
    // list the nodes backwards, with the references rewritten to match
    spec.config.nodes = [
      { layer: 'linear_2', inputs: [{ node: 1, output: 0 }] },
      { layer: 'linear_1', inputs: [{ input: 0 }] },
    ];
    spec.config.outputs = { node: 0, output: 0 };
    const copy = nn.layerFromConfig(spec);
    copy.loadStateDict(model.stateDict());
    const xb = randn([4, 2]);
    assert.deepEqual((copy.forward(xb) as Tensor).toFlatArray(), model.forward(xb).toFlatArray());

    const cyclic = JSON.parse(JSON.stringify(spec));
    cyclic.config.nodes[1].inputs = [{ node: 0, output: 0 }];
    assert.throws(() => nn.layerFromConfig(cyclic), /Model config: the graph has a cycle among nodes 0, 1/);
    const dangling = JSON.parse(JSON.stringify(spec));
    dangling.config.nodes[0].inputs = [{ node: 7, output: 0 }];
    assert.throws(
      () => nn.layerFromConfig(dangling),
      /Model config: nodes\[0\]\.inputs\[0\] must be \{input: k\} with k < 1 or \{node: j, output: i\} with j < 2/,
    );
    const unknown = JSON.parse(JSON.stringify(spec));
    unknown.config.nodes[0].layer = 'linear_9';
    assert.throws(() => nn.layerFromConfig(unknown), /Model config: nodes\[0\] calls the unknown layer 'linear_9'/);
    const badLayer = JSON.parse(JSON.stringify(spec));
    badLayer.config.layers[1].config.inFeatures = 5;
    assert.throws(() => nn.layerFromConfig(badLayer), /Linear 'linear_2': expected input with last dimension 5, got \[1, 3\]/);
  });

  test('layer names must be unique; train/eval reach the layers', () => {
    const x = nn.input([2]);
    const y = new nn.Linear(2, 2, { name: 'fc' }).call(new nn.Linear(2, 2, { name: 'fc' }).call(x));
    assert.throws(() => new nn.Model({ inputs: x, outputs: y }), /Model: two different layers are named 'fc'/);
    const drop = new nn.Dropout(0.5);
    const model = new nn.Model({ inputs: x, outputs: drop.call(x), name: 'm' });
    model.eval();
    assert.equal(drop.training, false);
    const xb = tensor([[1, 2]]);
    assert.equal(model.forward(xb), xb);
    assert.equal(model.getLayer('dropout_1'), drop);
    assert.throws(() => model.getLayer('nope'), ValueError);
  });
});
