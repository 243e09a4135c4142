import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  atomicWriteFile,
  decodeSafetensors,
  loadModel,
  loadModelExtra,
  loadWeights,
  randn,
  SerializationError,
  StateMismatchError,
  saveModel,
  saveWeights,
  seed,
} from '../../src/index.js';
import { ScaledAffine, Stack, snapshot } from './modules.js';

let root = '';
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'neurite-io-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let counter = 0;
async function freshDir(): Promise<string> {
  const dir = join(root, `case-${counter++}`);
  await mkdir(dir);
  return dir;
}

describe('atomicWriteFile', () => {
  test('writes bytes, text and chunk sequences', async () => {
    const dir = await freshDir();
    await atomicWriteFile(join(dir, 'a.bin'), new Uint8Array([1, 2, 3]));
    await atomicWriteFile(join(dir, 'b.txt'), 'héllo');
    await atomicWriteFile(join(dir, 'c.txt'), ['ab', new Uint8Array([0x63]), 'd']);
    assert.deepEqual([...(await readFile(join(dir, 'a.bin')))], [1, 2, 3]);
    assert.equal(await readFile(join(dir, 'b.txt'), 'utf8'), 'héllo');
    assert.equal(await readFile(join(dir, 'c.txt'), 'utf8'), 'abcd');
    assert.deepEqual((await readdir(dir)).sort(), ['a.bin', 'b.txt', 'c.txt']);
  });

  test('a failure part way through the write leaves the old file intact and no temporary file', async () => {
    const dir = await freshDir();
    const target = join(dir, 'weights.bin');
    await writeFile(target, 'old contents');
    function* failingMidway() {
      yield new Uint8Array(1 << 16).fill(7); // this part reaches the temporary file...
      throw new Error('disk full (simulated)'); // ...then the writer dies
    }
    await assert.rejects(atomicWriteFile(target, failingMidway()), /disk full \(simulated\)/);
    assert.equal(await readFile(target, 'utf8'), 'old contents');
    assert.deepEqual(await readdir(dir), ['weights.bin']);
  });

  test('a failing rename (the target is a directory) also cleans up', async () => {
    const dir = await freshDir();
    await mkdir(join(dir, 'taken'));
    await writeFile(join(dir, 'taken', 'inside'), 'x');
    await assert.rejects(atomicWriteFile(join(dir, 'taken'), 'data'));
    assert.deepEqual(await readdir(dir), ['taken']);
  });
});

describe('saveModel / loadModel', () => {
  test('round trip: same architecture, same weights and buffers, same outputs', async () => {
    seed(3);
    const dir = join(await freshDir(), 'nested', 'model');
    const model = new Stack([new ScaledAffine(3, 2), new ScaledAffine(3, -1)]);
    await saveModel(model, dir, { extra: { classes: ['cat', 'dog'] } });
    assert.deepEqual((await readdir(dir)).sort(), ['model.json', 'model.safetensors']);

    const loaded = await loadModel(dir);
    assert.ok(loaded instanceof Stack);
    assert.deepEqual(snapshot(loaded), snapshot(model));
    const x = randn([4, 3]);
    assert.deepEqual(loaded.forward(x).data, model.forward(x).data);
    assert.deepEqual(await loadModelExtra(dir), { classes: ['cat', 'dog'] });

    // The weights file is plain safetensors with the state-dict names.
    const { tensors } = decodeSafetensors(await readFile(join(dir, 'model.safetensors')));
    assert.deepEqual([...tensors.keys()].sort(), ['layers.0.bias', 'layers.0.calls', 'layers.0.weight', 'layers.1.bias', 'layers.1.calls', 'layers.1.weight']);
  });

  test('a truncated weights file is a SerializationError naming the file', async () => {
    const dir = await freshDir();
    await saveModel(new ScaledAffine(4), dir);
    const path = join(dir, 'model.safetensors');
    const bytes = await readFile(path);
    await writeFile(path, bytes.subarray(0, bytes.length - 3));
    await assert.rejects(loadModel(dir), (e: unknown) => e instanceof SerializationError && e.message.includes(path) && /truncated/.test(e.message));
  });

  test('weights from a different model are a StateMismatchError listing the differences', async () => {
    const dir = await freshDir();
    await saveModel(new ScaledAffine(4), dir);
    const other = await freshDir();
    await saveModel(new ScaledAffine(5), other);
    await writeFile(join(dir, 'model.safetensors'), await readFile(join(other, 'model.safetensors')));
    await assert.rejects(loadModel(dir), (e: unknown) => {
      assert.ok(e instanceof StateMismatchError);
      assert.match(e.message, /'weight' has shape \[5\], the model expects \[4\]/);
      assert.match(e.message, /'bias' has shape \[5\], the model expects \[4\]/);
      return true;
    });
  });

  test('a missing file says which', async () => {
    const dir = await freshDir();
    await assert.rejects(loadModel(dir), /loadModel: .*model\.json does not exist/);
  });
});

describe('saveWeights / loadWeights into an existing model', () => {
  test('loading a mismatched file throws and leaves the model untouched', async () => {
    const dir = await freshDir();
    const file = join(dir, 'w.safetensors');
    await saveWeights(new Stack([new ScaledAffine(3)]), file);

    const target = new Stack([new ScaledAffine(3), new ScaledAffine(3)]);
    const before = snapshot(target);
    await assert.rejects(loadWeights(target, file), (e: unknown) => {
      assert.ok(e instanceof StateMismatchError);
      assert.deepEqual(e.missingKeys, ['layers.1.weight', 'layers.1.bias', 'layers.1.calls']);
      assert.match(e.message, /missing 'layers\.1\.weight', 'layers\.1\.bias', 'layers\.1\.calls'/);
      return true;
    });
    assert.deepEqual(snapshot(target), before);

    // Non-strict loading takes what matches and reports the rest.
    const result = await loadWeights(target, file, { strict: false });
    assert.deepEqual(result.missingKeys, ['layers.1.weight', 'layers.1.bias', 'layers.1.calls']);
    assert.deepEqual(result.unexpectedKeys, []);
  });

  test('a corrupt file leaves the model untouched', async () => {
    const dir = await freshDir();
    const file = join(dir, 'w.safetensors');
    const model = new ScaledAffine(3);
    await saveWeights(model, file);
    const bytes = await readFile(file);
    bytes[8] = 0x5b; // '[' where the header's '{' was
    await writeFile(file, bytes);
    const before = snapshot(model);
    await assert.rejects(loadWeights(model, file), /must start with '\{'/);
    assert.deepEqual(snapshot(model), before);
  });
});
