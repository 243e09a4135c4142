// Error names are string literals, not constructor names, so they survive
// minifiers that rename classes; callers can rely on error.name.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AutogradError,
  DTypeError,
  GradcheckError,
  NeuriteError,
  nn,
  optim,
  randn,
  SerializationError,
  ShapeError,
  UnknownOptionError,
  ValueError,
} from '../../src/index.js';

test('every error class names itself with a string literal', () => {
  const cases: [new (message: string) => Error, string][] = [
    [NeuriteError, 'NeuriteError'],
    [ShapeError, 'ShapeError'],
    [DTypeError, 'DTypeError'],
    [ValueError, 'ValueError'],
    [AutogradError, 'AutogradError'],
    [SerializationError, 'SerializationError'],
    [GradcheckError, 'GradcheckError'],
    [optim.SingularHessianError, 'SingularHessianError'],
  ];
  for (const [Cls, name] of cases) {
    const e = new Cls('x');
    assert.equal(e.name, name);
    assert.ok(e instanceof NeuriteError);
  }
  const unknown = new UnknownOptionError('Linear: unknown option', 'kernel', ['bias']);
  assert.equal(unknown.name, 'UnknownOptionError');
  assert.ok(unknown instanceof ValueError);
  // The literal is on the class, not derived from it: a renamed class keeps its name.
  const Renamed = ShapeError;
  Object.defineProperty(Renamed, 'name', { value: 'I' });
  assert.equal(new Renamed('x').name, 'ShapeError');
});

test('a gradient of the wrong dtype is a DTypeError naming the optimizer and parameter', () => {
  const w = randn([3], { requiresGrad: true });
  const sgd = new optim.SGD([w], { lr: 0.1 });
  w.grad = randn([3]).int();
  assert.throws(() => sgd.step(), { name: 'DTypeError', message: /^SGD: the gradient of parameter 0 has dtype int32/ });
});

test('errors from layers name the layer', () => {
  assert.throws(() => new nn.Linear(3, 2).forward(randn([4, 5])), ShapeError);
});
