import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { nn } from '../../src/index.js';

nn.Lambda.register('test.summary.relu', (x) => x.relu());
const relu = () => new nn.Lambda('test.summary.relu');

/** The notes' network: d inputs, one hidden layer of u units, k outputs. */
const mlp = (d: number, u: number, k: number, bias = true) => new nn.Sequential(new nn.Linear(d, u, { bias }), relu(), new nn.Linear(u, k, { bias }));

describe('summary', () => {
  test("the notes' quiz: d = 10 inputs, 100 hidden units, 1 or 10 outputs", () => {
    // one output: 10·100 + 100 (hidden weights and biases) + 100·1 + 1 = 1201
    const one = nn.summary(mlp(10, 100, 1), [10]);
    assert.equal(one.totalParams, 1201);
    assert.deepEqual(
      one.rows.map((r) => [r.name, r.className, r.outputShape, r.params]),
      [
        ['0', 'Linear', '[N, 100]', 1100],
        ['1', 'Lambda', '[N, 100]', 0],
        ['2', 'Linear', '[N, 1]', 101],
      ],
    );
    // ten outputs: 1100 + 100·10 + 10 = 2110
    assert.equal(nn.summary(mlp(10, 100, 10), [10]).totalParams, 2110);
    // the notes' own count, Σ u(l)·u(l-1), leaves the biases out: 1100 and 2000
    assert.equal(mlp(10, 100, 1, false).summary([10]).totalParams, 1100);
    assert.equal(mlp(10, 100, 10, false).summary([10]).totalParams, 2000);
  });

  test('the printed table', () => {
    assert.equal(
      mlp(10, 100, 1).summary([10]).toString(),
      [
        'Model: Sequential',
        '=====================================',
        'Layer (type)   Output shape   Param #',
        '-------------------------------------',
        '0 (Linear)     [N, 100]         1,100',
        '1 (Lambda)     [N, 100]             0',
        '2 (Linear)     [N, 1]             101',
        '=====================================',
        'Total params: 1,201',
        'Trainable params: 1,201',
        'Non-trainable params: 0',
      ].join('\n'),
    );
  });

  test('frozen parameters are non-trainable', () => {
    const model = mlp(10, 100, 1);
    (model.at(0) as nn.Linear).freeze();
    const s = model.summary([10]);
    assert.equal(s.trainableParams, 101);
    assert.equal(s.nonTrainableParams, 1100);
    assert.deepEqual(
      s.rows.map((r) => r.trainableParams),
      [0, 0, 101],
    );
  });

  test('nested containers, a functional model with a shared layer, several inputs', () => {
    const nested = new nn.Sequential({ encoder: new nn.Sequential(new nn.Linear(4, 3), new nn.BatchNorm1d(3)), head: new nn.Linear(3, 2) });
    assert.deepEqual(
      nested.summary([4]).rows.map((r) => [r.name, r.outputShape, r.params]),
      [
        ['encoder.0', '[N, 3]', 15],
        ['encoder.1', '[N, 3]', 6],
        ['head', '[N, 2]', 8],
      ],
    );
    const a = nn.input([5]);
    const b = nn.input([5]);
    const shared = new nn.Linear(5, 2);
    const model = new nn.Model({ inputs: [a, b], outputs: new nn.Concatenate().call(shared.call(a), shared.call(b)) });
    const s = model.summary();
    assert.deepEqual(
      s.rows.map((r) => [r.name, r.outputShape, r.params]),
      [
        ['linear_1', '[N, 2]', 12],
        ['linear_1 (call 2)', '[N, 2]', 0],
        ['concatenate_1', '[N, 4]', 0],
      ],
    );
    assert.equal(s.totalParams, 12);
  });

  test('a single layer is its own row', () => {
    const s = new nn.Linear(3, 2).summary([3]);
    assert.deepEqual(
      s.rows.map((r) => [r.name, r.outputShape, r.params]),
      [['(model)', '[N, 2]', 8]],
    );
  });

  test('integer inputs, and a probe that leaves the model as it was', () => {
    const bn = new nn.BatchNorm1d(4);
    const model = new nn.Sequential(new nn.Embedding(10, 4), new nn.Flatten(), new nn.Linear(12, 4), bn);
    const s = model.summary([3], { dtypes: 'int32', batchSize: 2 });
    assert.deepEqual(
      s.rows.map((r) => r.outputShape),
      ['[N, 3, 4]', '[N, 12]', '[N, 4]', '[N, 4]'],
    );
    assert.ok(
      model.modules().every((m) => m.training),
      'training mode is restored',
    );
    assert.equal(bn.getBuffer('num_batches_tracked').item(), 0, 'running statistics are untouched');
    assert.ok(!Object.hasOwn(bn, 'forward'), 'forward is unwrapped');
    assert.throws(() => model.summary([3.5]), /summary: input shapes are arrays of non-negative integers for one sample/);
  });
});

test('the batch axis is found wherever it is: an LSTM state is [layers, N, hidden], even when layers equals the probe batch', () => {
  // Two probes of different batch sizes: the axes that follow the batch are N.
  const model = new nn.Sequential(new nn.LSTM(28, 16, { batchFirst: true }), new nn.RecurrentOutput('final'), new nn.Linear(16, 10));
  const rows = model.summary([28, 28]).rows;
  assert.equal(rows[0].outputShape, '[N, 28, 16], [1, N, 16], [1, N, 16]');
  assert.equal(rows[2].outputShape, '[N, 10]');
});
