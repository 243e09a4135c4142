// Bad input gives a typed error naming the op, the shapes or the values, never
// a raw RangeError or a silent wrong answer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as nt from '../../src/index.js';

const { nn } = nt;

test('a tensor over the memory limit is refused before allocating, naming the op, the shape and the bytes', () => {
  // 1e12 float32 elements need 3.6 TiB; nothing is allocated.
  assert.throws(() => nt.zeros([1e6, 1e6]), {
    name: 'MemoryLimitError',
    message: /^zeros: a float32 tensor of shape \[1000000, 1000000\] needs 3\.6 TiB \(4\.000e\+12 bytes\), over the limit of 4\.0 GiB per tensor/,
  });
  // Below the typed-array limit but 16 GiB: refused too, instead of eating the machine's memory.
  assert.throws(() => nt.ones([65536, 65536]), { name: 'MemoryLimitError', message: /^ones: .*needs 16\.0 GiB/ });
  assert.throws(() => new nn.Linear(1e6, 1e6), { name: 'MemoryLimitError', message: /^Linear weight: a float32 tensor of shape \[1000000, 1000000\]/ });
  assert.throws(() => nt.matmul(nt.ones([1e5, 1]), nt.ones([1, 1e5])), {
    name: 'MemoryLimitError',
    message: /^matmul: a float32 tensor of shape \[100000, 100000\]/,
  });
  assert.throws(() => nt.tile(nt.ones([1000, 1000]), [1000, 1000]), { name: 'MemoryLimitError' });
  assert.throws(() => nt.randn([1e6, 1e6]), { name: 'MemoryLimitError', message: /^randn: / });
  // The limit is configurable.
  const limit = nt.getMaxTensorBytes();
  try {
    nt.setMaxTensorBytes(1024);
    assert.throws(() => nt.zeros([257]), { name: 'MemoryLimitError', message: /over the limit of 1\.0 KiB/ });
    assert.equal(nt.zeros([256]).size, 256);
  } finally {
    nt.setMaxTensorBytes(limit);
  }
  assert.throws(() => nt.setMaxTensorBytes(-1), { name: 'ValueError' });
});

test('a model file asking for a huge layer is refused with a typed error, not a crash', () => {
  const file = JSON.stringify({ format: 'neurite-model', formatVersion: 1, className: 'Linear', config: { inFeatures: 784, outFeatures: 3e8 } });
  assert.throws(
    () => nt.modelFromJSON(file),
    (e: unknown) => e instanceof nt.SerializationError && /MemoryLimit|over the limit/.test(String((e as Error).message)),
  );
});

test('creation ops name themselves and check their arguments', () => {
  assert.throws(() => nt.full([2], 'x' as unknown as number), { name: 'ValueError', message: 'full: value must be a number, got "x"' });
  assert.throws(() => nt.zeros(5 as unknown as number[]), {
    name: 'ShapeError',
    message: 'zeros: shape must be an array of sizes, got 5 (write [5] for a 1-D shape)',
  });
  assert.throws(() => nt.ones([2, -1]), { message: /^ones: shape \[2, -1\] has an invalid dimension -1/ });
  assert.throws(() => nt.randn([2, 1.5]), { message: /^randn: / });
  assert.throws(() => nt.rand([-1]), { message: /^rand: / });
});

test('fractional indices are refused by indexSelect', () => {
  assert.throws(() => nt.indexSelect(nt.ones([3, 2]), 0, [0, 1.5]), {
    name: 'ValueError',
    message: 'indexSelect: indices must be integers, got 1.5 at position 1',
  });
});

test('a batched matmul whose batch dims do not broadcast names both operand shapes', () => {
  assert.throws(() => nt.matmul(nt.ones([2, 3, 4]), nt.ones([5, 4, 6])), {
    name: 'ShapeError',
    message: 'matmul: cannot multiply [2, 3, 4] by [5, 4, 6]: their batch dimensions [2] and [5] do not broadcast',
  });
});

test('bceWithLogits is 0, with a 0 gradient, at a logit of -Infinity with target 0 and +Infinity with target 1', () => {
  // loss = -(t·log σ(x) + (1 - t)·log σ(-x)): both cases are exact zeros, not 0·(-Infinity).
  const x = nt.tensor([-Infinity, Infinity, 0], { requiresGrad: true });
  const t = nt.tensor([0, 1, 1]);
  const loss = nn.functional.binaryCrossEntropyWithLogits(x, t, { reduction: 'none' });
  assert.ok(
    (loss.toArray() as number[]).slice(0, 2).every((v) => v === 0),
    String(loss),
  );
  assert.ok(Math.abs((loss.toArray() as number[])[2] - Math.log(2)) < 1e-6);
  loss.sum().backward();
  const g = x.grad?.toArray() as number[];
  assert.ok(
    g.slice(0, 2).every((v) => v === 0),
    String(g),
  );
  assert.ok(Math.abs(g[2] + 0.5) < 1e-6);
});

test('softmax, logSoftmax and logsumexp over an empty axis name themselves, not the max inside them', () => {
  for (const [op, call] of [
    ['softmax', () => nn.functional.softmax(nt.zeros([2, 0]), 1)],
    ['logSoftmax', () => nn.functional.logSoftmax(nt.zeros([2, 0]), 1)],
    ['logsumexp', () => nt.logsumexp(nt.zeros([2, 0]), 1)],
  ] as const) {
    assert.throws(call, { name: 'ShapeError', message: `${op}: cannot reduce over the empty axis 1 of shape [2, 0]` });
  }
});
