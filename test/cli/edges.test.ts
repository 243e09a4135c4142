// Rough edges of the command line that users hit: negative flag values, bad
// predict inputs, a closed pipe, leftovers of kill -9, corrupt files.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { BIN, encodePng, neurite, tempDir } from './run.js';

let dir: string;
let cleanup: () => void;
let run: string;
before(async () => {
  ({ dir, cleanup } = tempDir('edges'));
  run = join(dir, 'xor-run');
  const r = await neurite(['train', 'xor', '--out', run, '--epochs', '3'], dir);
  assert.equal(r.code, 0, r.stderr);
});
after(() => cleanup());

test("a negative flag value gets neurite's own message, exit 2", async () => {
  for (const [flag, message] of [
    ['--lr', '--lr must be a positive number, got "-1"'],
    ['--epochs', '--epochs must be a whole number >= 1, got "-1"'],
  ]) {
    const r = await neurite(['train', 'xor', flag, '-1'], dir);
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim(), `error: ${message}`);
  }
});

test('predict on a missing file or a folder exits 2 with one line', async () => {
  const missing = await neurite(['predict', run, join(dir, 'missing.png')], dir);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^error: predict: no file at .*missing\.png\n/);
  const folder = await neurite(['predict', run, dir], dir);
  assert.equal(folder.code, 2);
  assert.match(folder.stderr, /^error: predict: .* is a folder\n/);
});

test('a damaged PNG is refused with one line, exit 2', async () => {
  const mnistRun = join(dir, 'mlp-run');
  // An MNIST-shaped model is needed for images; a tiny one trains in a second on 500 images.
  const t = await neurite(['train', 'mlp', '--out', mnistRun, '--epochs', '1', '--limit', '500'], dir);
  assert.equal(t.code, 0, t.stderr);
  const png = encodePng(
    28,
    28,
    1,
    new Uint8Array(28 * 28).map((_, i) => (i % 7 === 0 ? 255 : 0)),
  );
  const good = join(dir, 'digit.png');
  writeFileSync(good, png);
  const ok = await neurite(['predict', mnistRun, good, '--json', '--top', '2'], dir);
  assert.equal(ok.code, 0, ok.stderr);
  // --top 2 with --json gives the two most probable classes, not all ten.
  assert.equal(Object.keys(JSON.parse(ok.stdout).probabilities).length, 2);
  const bad = png.slice();
  bad[bad.length - 20] ^= 0xff; // inside the IDAT data: it no longer inflates or matches its CRC
  const corrupt = join(dir, 'corrupt.png');
  writeFileSync(corrupt, bad);
  const r = await neurite(['predict', mnistRun, corrupt], dir);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^error: .*corrupt\.png: corrupt PNG \(.+\)\n$/);
  // A blank image is classified, with a warning saying the answer means nothing.
  const blank = join(dir, 'blank.png');
  writeFileSync(blank, encodePng(28, 28, 1, new Uint8Array(28 * 28)));
  const b = await neurite(['predict', mnistRun, blank], dir);
  assert.equal(b.code, 0);
  assert.match(b.stderr, /warning: .*blank\.png is blank \(a single colour\); the prediction means nothing/);
  const strip = join(dir, 'strip.png');
  writeFileSync(strip, encodePng(500, 1, 1, new Uint8Array(500).fill(200)));
  const s = await neurite(['predict', mnistRun, strip], dir);
  assert.match(s.stderr, /warning: .*strip\.png is 500x1, a strip rather than a digit/);
});

test('train piped into a reader that stops early finishes the run instead of crashing on EPIPE', () => {
  const out = join(dir, 'piped');
  const r = spawnSync('bash', ['-c', `"${process.execPath}" "${BIN}" train xor --out "${out}" --epochs 5 | head -2`], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  assert.equal(r.stdout.split('\n').filter(Boolean).length, 2);
  assert.doesNotMatch(r.stderr, /EPIPE|Error/);
  for (const f of ['model.json', 'model.safetensors', 'history.csv', 'checkpoint.safetensors', 'results.json']) assert.ok(existsSync(join(out, f)), f);
});

test('kill -9 leftovers: stale temporary files are removed, and a run that never checkpointed can be resumed or restarted', async () => {
  // A run folder as kill -9 leaves it before the first checkpoint: its config and a half-written temporary file.
  const early = join(dir, 'early');
  mkdirSync(early);
  writeFileSync(join(early, 'config.json'), readFileSync(join(run, 'config.json')));
  writeFileSync(join(early, '.history.csv.1234-abcd.tmp'), 'epoch,lo');
  const resumed = await neurite(['train', '--resume', early], dir);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /no checkpoint yet, starting from the beginning/);
  assert.deepEqual(
    readdirSync(early).filter((n) => n.endsWith('.tmp')),
    [],
  );
  // Restarting into such a folder (instead of resuming) is allowed too.
  const again = join(dir, 'again');
  mkdirSync(again);
  writeFileSync(join(again, 'config.json'), '{}');
  writeFileSync(join(again, '.model.json.99.tmp'), '');
  const r = await neurite(['train', 'xor', '--out', again, '--epochs', '2'], dir);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    readdirSync(again).filter((n) => n.endsWith('.tmp')),
    [],
  );
});

test('a corrupt checkpoint is rejected before any data is loaded', async () => {
  const broken = join(dir, 'broken');
  const t = await neurite(['train', 'xor', '--out', broken, '--epochs', '2'], dir);
  assert.equal(t.code, 0, t.stderr);
  writeFileSync(join(broken, 'checkpoint.safetensors'), 'not a checkpoint');
  const started = Date.now();
  const r = await neurite(['train', '--resume', broken, '--epochs', '4'], dir);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /cannot resume from .*checkpoint\.safetensors/);
  assert.ok(Date.now() - started < 5000);
});

test('a checkpoint that cannot be read (a folder in its place) is a usage error naming it, not a crash', async () => {
  const odd = join(dir, 'odd-checkpoint');
  const t = await neurite(['train', 'xor', '--out', odd, '--epochs', '2'], dir);
  assert.equal(t.code, 0, t.stderr);
  rmSync(join(odd, 'checkpoint.safetensors'));
  mkdirSync(join(odd, 'checkpoint.safetensors'));
  const r = await neurite(['train', '--resume', odd, '--epochs', '4'], dir);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /cannot resume from .*checkpoint\.safetensors: EISDIR/);
});

test('resuming an MNIST run from a corrupt checkpoint names the checkpoint without reading the data', async () => {
  // A tiny MNIST-format folder (64 training and 16 test images) stands in for the 53 MB package.
  const { encodeIdx } = await import('../../src/data/idx.js');
  const data = join(dir, 'tiny-mnist');
  mkdirSync(data);
  const idx = (n: number, labelsOnly: boolean) =>
    labelsOnly
      ? encodeIdx({ dtype: 'uint8', shape: [n], data: Array.from({ length: n }, (_, i) => i % 10) })
      : encodeIdx({ dtype: 'uint8', shape: [n, 28, 28], data: Array.from({ length: n * 784 }, (_, i) => (i * 7) % 256) });
  writeFileSync(join(data, 'train-images-idx3-ubyte'), idx(64, false));
  writeFileSync(join(data, 'train-labels-idx1-ubyte'), idx(64, true));
  writeFileSync(join(data, 't10k-images-idx3-ubyte'), idx(16, false));
  writeFileSync(join(data, 't10k-labels-idx1-ubyte'), idx(16, true));
  const runDir = join(dir, 'tiny-mnist-run');
  const t = await neurite(['train', 'mlp', '--data', data, '--out', runDir, '--epochs', '1'], dir);
  assert.equal(t.code, 0, t.stderr);
  writeFileSync(join(runDir, 'checkpoint.safetensors'), 'not a checkpoint');
  // Were the data read first, resuming would fail on this file instead of the checkpoint.
  writeFileSync(join(data, 'train-images-idx3-ubyte'), 'not an IDX file');
  const r = await neurite(['train', '--resume', runDir, '--epochs', '2'], dir);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /cannot resume from .*checkpoint\.safetensors/);
  assert.doesNotMatch(r.stderr, /IDX|train-images/);
});
