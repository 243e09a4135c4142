import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  decodeSafetensors,
  defaultGenerator,
  encodeSafetensors,
  FormatVersionError,
  Generator,
  loadCheckpoint,
  loadModel,
  loadOptimizer,
  randn,
  restoreCheckpoint,
  SerializationError,
  StateMismatchError,
  saveCheckpoint,
  saveModel,
  seed,
  type Tensor,
} from '../../src/index.js';
import { Sequential } from '../../src/nn/containers.js';
import { mseLoss } from '../../src/nn/functional/losses.js';
import { Tanh } from '../../src/nn/layers/activation.js';
import { Dropout } from '../../src/nn/layers/dropout.js';
import { Linear } from '../../src/nn/layers/linear.js';
import { Module } from '../../src/nn/module.js';
import { Adam, SGD } from '../../src/optim/index.js';

type Optimizer = SGD | Adam;

import { snapshot } from './modules.js';

let root = '';
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'neurite-ckpt-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

// A fixed regression problem, drawn from its own generator so it never depends on the default one.
const dataGen = new Generator(2024);
const X = randn([16, 4], { generator: dataGen });
const Y = randn([16, 2], { generator: dataGen });

function mlp(dropout: number): Sequential {
  return new Sequential(new Linear(4, 8), new Tanh(), new Dropout(dropout), new Linear(8, 2));
}

function train(model: Module, optimizer: Optimizer, steps: number): number[] {
  const losses: number[] = [];
  model.train();
  for (let i = 0; i < steps; i++) {
    optimizer.zeroGrad();
    const loss = mseLoss(model.forward(X) as Tensor, Y);
    loss.backward();
    optimizer.step();
    losses.push(loss.item());
  }
  return losses;
}

type MakeOptimizer = (model: Module, lr: number) => Optimizer;
const sgdMomentum: MakeOptimizer = (m, lr) => new SGD(m.parameters(), { lr, momentum: 0.9 });
const adam: MakeOptimizer = (m, lr) => new Adam(m.parameters(), { lr });

/**
 * 20 straight steps versus 10 steps, a checkpoint, a fresh model and optimizer
 * (built with the wrong learning rate and after scrambling the random state,
 * both of which the checkpoint must restore), and 10 more. Every weight, the
 * optimizer state, the losses and the random state must agree bit for bit.
 */
async function checkResume(makeOptimizer: MakeOptimizer, dropout: number, file: string): Promise<void> {
  seed(11);
  const straight = mlp(dropout);
  const straightOpt = makeOptimizer(straight, 0.05);
  const straightLosses = train(straight, straightOpt, 20);
  const straightRng = defaultGenerator.getState();

  seed(11);
  const first = mlp(dropout);
  const firstOpt = makeOptimizer(first, 0.05);
  const firstLosses = train(first, firstOpt, 10);
  await saveCheckpoint(file, { model: first, optimizer: firstOpt, epoch: 0, step: 10, extra: { note: 'halfway' } });

  seed(999);
  const restored = await loadCheckpoint(file, { optimizer: (m) => makeOptimizer(m, 0.5) });
  assert.notEqual(restored.model, first);
  assert.equal(restored.step, 10);
  assert.equal(restored.epoch, 0);
  assert.deepEqual(restored.extra, { note: 'halfway' });
  const resumedLosses = train(restored.model, restored.optimizer!, 10);

  assert.deepEqual([...firstLosses, ...resumedLosses], straightLosses);
  assert.deepEqual(snapshot(restored.model), snapshot(straight));
  assert.deepEqual(restored.optimizer!.stateDict(), straightOpt.stateDict());
  assert.deepEqual(defaultGenerator.getState(), straightRng);
}

describe('checkpoints resume training bit-exactly', () => {
  test('SGD with momentum', async () => {
    await checkResume(sgdMomentum, 0, join(root, 'sgd.safetensors'));
  });

  test('Adam with Dropout (the random state matters)', async () => {
    await checkResume(adam, 0.3, join(root, 'adam.safetensors'));
  });

  test('the same through saveModel, loadModel and loadOptimizer', async () => {
    const dir = join(root, 'saved-model');
    seed(5);
    const straight = mlp(0.25);
    const straightOpt = adam(straight, 0.01);
    train(straight, straightOpt, 20);

    seed(5);
    const first = mlp(0.25);
    const firstOpt = adam(first, 0.01);
    train(first, firstOpt, 10);
    await saveModel(first, dir, { optimizer: firstOpt });

    seed(12345);
    const model = await loadModel(dir);
    const optimizer = adam(model, 0.3);
    await loadOptimizer(dir, optimizer);
    train(model, optimizer, 10);
    assert.deepEqual(snapshot(model), snapshot(straight));
  });

  test('saveModel keeps the optimizer moments as tensors (optimizer.safetensors), and a folder saved as optimizer.json still loads', async () => {
    const dir = join(root, 'optimizer-files');
    seed(6);
    const model = mlp(0);
    const optimizer = adam(model, 0.01);
    train(model, optimizer, 3);
    await saveModel(model, dir, { optimizer });
    const { tensors, metadata } = decodeSafetensors(await readFile(join(dir, 'optimizer.safetensors')));
    assert.equal(metadata.format, 'neurite-optimizer');
    assert.equal(metadata.formatVersion, '2');
    // Two moment buffers per parameter, in binary rather than as JSON numbers.
    assert.equal(tensors.size, 2 * model.parameters().length);
    // The version-1 layout: one JSON document with the state inline.
    const legacy = join(root, 'optimizer-legacy');
    await saveModel(model, legacy);
    const doc = { format: 'neurite-optimizer', formatVersion: 1, className: 'Adam', state: optimizer.stateDict() };
    await writeFile(join(legacy, 'optimizer.json'), JSON.stringify(doc));
    const fromNew = adam(await loadModel(dir), 0.5);
    const fromOld = adam(await loadModel(legacy), 0.5);
    await loadOptimizer(dir, fromNew);
    await loadOptimizer(legacy, fromOld);
    assert.deepEqual(fromOld.stateDict(), optimizer.stateDict());
    assert.deepEqual(fromNew.stateDict(), optimizer.stateDict());
    // Saving again over the old folder replaces the JSON file.
    await saveModel(model, legacy, { optimizer });
    assert.ok(!existsSync(join(legacy, 'optimizer.json')));
    await assert.rejects(loadOptimizer(dir, sgdMomentum(model, 0.1)), /holds Adam state/);
  });

  test('a directory target holds checkpoint.safetensors, readable by any safetensors reader', async () => {
    seed(1);
    const model = mlp(0);
    const optimizer = sgdMomentum(model, 0.1);
    train(model, optimizer, 2);
    const written = await saveCheckpoint(root, { model, optimizer });
    assert.equal(written, join(root, 'checkpoint.safetensors'));
    const { tensors, metadata } = decodeSafetensors(await readFile(written));
    assert.equal(metadata.format, 'neurite-checkpoint');
    assert.ok(tensors.has('model.0.weight'));
    assert.ok(
      [...tensors.keys()].some((k) => k.startsWith('optimizer.state.0.')),
      'momentum buffers are stored as tensors',
    );
    const restored = await loadCheckpoint(root);
    assert.deepEqual(snapshot(restored.model), snapshot(model));
    assert.equal(restored.optimizer, undefined);
  });
});

describe('a bad checkpoint changes nothing', () => {
  async function trainedCheckpoint(name: string) {
    seed(3);
    const model = mlp(0);
    const optimizer = sgdMomentum(model, 0.1);
    train(model, optimizer, 3);
    const file = join(root, name);
    await saveCheckpoint(file, { model, optimizer, step: 3 });
    return file;
  }

  /** A model, optimizer and random state with state of their own, and a check that none of them changed. */
  function bystanders(model: Module, optimizer: Optimizer) {
    train(model, optimizer, 1);
    const weights = snapshot(model);
    const optState = JSON.stringify(optimizer.stateDict());
    const rng = defaultGenerator.getState();
    return () => {
      assert.deepEqual(snapshot(model), weights);
      assert.equal(JSON.stringify(optimizer.stateDict()), optState);
      assert.deepEqual(defaultGenerator.getState(), rng);
    };
  }

  test('weights for a different architecture', async () => {
    const file = await trainedCheckpoint('a.safetensors');
    const other = new Sequential(new Linear(4, 6), new Tanh(), new Dropout(0), new Linear(6, 2));
    const optimizer = sgdMomentum(other, 0.1);
    const unchanged = bystanders(other, optimizer);
    await assert.rejects(loadCheckpoint(file, { model: other, optimizer }), (e: unknown) => {
      assert.ok(e instanceof StateMismatchError);
      assert.match(e.message, /'0\.weight' has shape \[8, 4\], the model expects \[6, 4\]/);
      return true;
    });
    unchanged();
  });

  test('a truncated file', async () => {
    const file = await trainedCheckpoint('b.safetensors');
    const bytes = await readFile(file);
    await writeFile(file, bytes.subarray(0, bytes.length - 10));
    const model = mlp(0);
    const optimizer = sgdMomentum(model, 0.1);
    const unchanged = bystanders(model, optimizer);
    await assert.rejects(loadCheckpoint(file, { model, optimizer }), (e: unknown) => e instanceof SerializationError && e.message.includes(file));
    unchanged();
  });

  test('state of another optimizer class', async () => {
    const file = await trainedCheckpoint('c.safetensors');
    const model = mlp(0);
    const optimizer = adam(model, 0.1);
    const unchanged = bystanders(model, optimizer);
    await assert.rejects(loadCheckpoint(file, { model, optimizer }), /the checkpoint holds SGD state, it cannot be loaded into Adam/);
    unchanged();
  });

  test('optimizer state that the optimizer rejects is rolled back', async () => {
    const file = await trainedCheckpoint('d.safetensors');
    const model = mlp(0);
    // Same class, but over only the first layer: the saved state has 4 parameters, this optimizer 2.
    const optimizer = new SGD((model as Sequential).children()[0].parameters(), { lr: 0.1, momentum: 0.9 });
    const unchanged = bystanders(model, optimizer);
    await assert.rejects(loadCheckpoint(file, { model, optimizer }), (e: unknown) => e instanceof StateMismatchError && /does not fit SGD/.test(e.message));
    unchanged();
  });

  test('another format version', async () => {
    const file = await trainedCheckpoint('e.safetensors');
    const { tensors, metadata } = decodeSafetensors(await readFile(file));
    const bytes = encodeSafetensors(tensors, { ...metadata, formatVersion: '7' });
    assert.throws(
      () => restoreCheckpoint(bytes),
      (e: unknown) => e instanceof FormatVersionError && /neurite-checkpoint formatVersion "7" is not supported/.test(e.message),
    );
  });

  test('plain safetensors weights are not a checkpoint', () => {
    const bytes = encodeSafetensors(mlp(0).stateDict());
    assert.throws(() => restoreCheckpoint(bytes), /not a neurite checkpoint/);
  });

  test('a tensor the optimizer state does not refer to', async () => {
    const file = await trainedCheckpoint('f.safetensors');
    const { tensors, metadata } = decodeSafetensors(await readFile(file));
    tensors.set('optimizer.stray', randn([2]));
    assert.throws(() => restoreCheckpoint(encodeSafetensors(tensors, metadata)), /'optimizer\.stray' belong to no part of the optimizer state/);
  });

  test('a model of unregistered classes is checkpointed without its architecture', async () => {
    class Custom extends Module {
      static override readonly className = 'test.UnregisteredCustom';
      fc = new Linear(2, 2);
      forward(x: Tensor): Tensor {
        return this.fc.forward(x);
      }
    }
    seed(8);
    const model = new Custom();
    const file = join(root, 'custom.safetensors');
    await saveCheckpoint(file, { model });
    await assert.rejects(loadCheckpoint(file), /the checkpoint has no architecture .*pass the model to load into/);
    const into = new Custom();
    await loadCheckpoint(file, { model: into });
    assert.deepEqual(snapshot(into), snapshot(model));
  });

  test('an optimizer instance without its model is refused', async () => {
    const file = await trainedCheckpoint('g.safetensors');
    const optimizer = sgdMomentum(mlp(0), 0.1);
    await assert.rejects(loadCheckpoint(file, { optimizer }), /an optimizer instance needs the model it was built on/);
  });

  test('saving checks its arguments', async () => {
    const model = mlp(0);
    assert.throws(() => restoreCheckpoint(new Uint8Array(0)), SerializationError);
    await assert.rejects(saveCheckpoint(join(root, 'x.safetensors'), { model, step: -1 }), /step must be a non-negative integer, got -1/);
    await assert.rejects(saveCheckpoint(join(root, 'y.safetensors'), { model, extra: { lr: Number.POSITIVE_INFINITY } }), /extra\.lr is Infinity/);
  });
});
