// `neurite export <run> --onnx`, then predict and evaluate on the .onnx file
// as on the run; and an ONNX file from PyTorch used by the same commands.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { encodePng, neurite, tempDir } from './run.js';

let dir: string;
let cleanup: () => void;
let run: string;
before(async () => {
  ({ dir, cleanup } = tempDir('onnx'));
  run = join(dir, 'mlp-run');
  const r = await neurite(['train', 'mlp', '--out', run, '--epochs', '1', '--limit', '1000', '--test-limit', '300'], dir);
  assert.equal(r.code, 0, r.stderr);
});
after(() => cleanup());

test('export writes an ONNX file that evaluate and predict read as they read the run', async () => {
  const file = join(dir, 'mlp.onnx');
  const e = await neurite(['export', run, '--onnx', file], dir);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /wrote .*mlp\.onnx \([\d,]+ bytes, ONNX opset 17, input \[N, 784\]\)/);
  const fromRun = JSON.parse((await neurite(['evaluate', run, '--json'], dir)).stdout);
  const fromFile = JSON.parse((await neurite(['evaluate', file, '--json'], dir)).stdout);
  assert.equal(fromFile.samples, 300);
  assert.equal(fromFile.accuracy, fromRun.accuracy);
  assert.ok(Math.abs(fromFile.loss - fromRun.loss) < 1e-6);
  const digit = join(dir, 'digit.png');
  writeFileSync(
    digit,
    encodePng(
      28,
      28,
      1,
      new Uint8Array(28 * 28).map((_, i) => (i % 28 > 10 && i % 28 < 16 ? 255 : 0)),
    ),
  );
  const a = JSON.parse((await neurite(['predict', run, digit, '--json'], dir)).stdout);
  const b = JSON.parse((await neurite(['predict', file, digit, '--json'], dir)).stdout);
  assert.equal(b.predicted, a.predicted);
  assert.ok(Math.abs(b.probability - a.probability) < 1e-6);
});

test('an ONNX file from PyTorch: predict reads CSV rows by its input shape', async () => {
  const fixture = join(import.meta.dirname, '..', '..', '..', 'test', 'fixtures', 'onnx', 'mlp.onnx');
  const rows = join(dir, 'rows.csv');
  writeFileSync(rows, '0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8\n-1,0,1,0,-1,0,1,0\n');
  const r = await neurite(['predict', fixture, rows, '--json'], dir);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.length, 2);
  assert.ok(['0', '1', '2'].includes(out[0].predicted));
});

test('export and ONNX inputs explain their mistakes', async () => {
  const noFlag = await neurite(['export', run], dir);
  assert.equal(noFlag.code, 2);
  assert.match(noFlag.stderr, /export needs --onnx/);
  const broken = join(dir, 'broken.onnx');
  writeFileSync(broken, 'not an onnx file at all');
  const bad = await neurite(['evaluate', broken], dir);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error: .*broken\.onnx: /);
});
