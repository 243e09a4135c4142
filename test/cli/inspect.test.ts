// The commands that read models and runs: summary, diagram, evaluate and
// predict (images and CSV rows), through bin/neurite.mjs.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { mnist } from '../../src/index.js';
import { EXAMPLES, encodePgm, encodePng, neurite, tempDir } from './run.js';

let dir: string;
let cleanup: () => void;
before(async () => {
  ({ dir, cleanup } = tempDir('inspect'));
  const r = await neurite(['train', 'mlp', '--limit', '1000', '--test-limit', '400', '--epochs', '1', '--out', 'run'], dir);
  assert.equal(r.code, 0, r.stderr);
});
after(() => cleanup());

test("summary of a canonical network by torchvision's name: ResNet-18 at 224×224", async () => {
  const r = await neurite(['summary', 'resnet18'], dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /layer4\.0\.downsample\.0 \(Conv2d\) +\[N, 512, 7, 7\] +131,072/);
  assert.match(r.stdout, /fc \(Linear\) +\[N, 1000\] +513,000/);
  assert.match(r.stdout, /Total params: 11,689,512/);
  assert.match(r.stdout, /Input: \[N, 3, 224, 224\]/);
});

test('summary of a preset prints the layer table and parameter counts', async () => {
  const r = await neurite(['summary', 'lenet5'], dir);
  assert.equal(r.code, 0, r.stderr);
  // LeNet-5: conv 6·1·5·5+6 = 156, conv 16·6·5·5+16 = 2416, fc 400·120+120 = 48120, 120·84+84 = 10164, 84·10+10 = 850.
  for (const row of [
    /0 \(Conv2d\) +\[N, 6, 28, 28\] +156/,
    /3 \(Conv2d\) +\[N, 16, 10, 10\] +2,416/,
    /6 \(Flatten\) +\[N, 400\] +0/,
    /7 \(Linear\) +\[N, 120\] +48,120/,
  ]) {
    assert.match(r.stdout, row);
  }
  assert.match(r.stdout, /Total params: 61,706/);

  // A run folder: the trained model, 784·128+128 + 128·10+10 = 101,770 parameters.
  const run = await neurite(['summary', 'run'], dir);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /Total params: 101,770/);
  assert.match(run.stdout, /trained weights/);

  // A model file from examples/.
  const file = await neurite(['summary', join(EXAMPLES, 'xor.json')], dir);
  assert.equal(file.code, 0, file.stderr);
  assert.match(file.stdout, /Total params: 42/); // 2·8+8 + 8·2+2
});

test('diagram of ResNet-18 and GoogLeNet draws their shortcuts and Inception branches as a graph', async () => {
  const resnet = await neurite(['diagram', 'resnet18', '--out', '-'], dir);
  assert.equal(resnet.code, 0, resnet.stderr);
  // Eight residual blocks, each ending in an Add that the shortcut reaches; three of the shortcuts downsample.
  assert.equal([...resnet.stdout.matchAll(/layer\d\/\d\/add \(Add\)/g)].length, 8);
  assert.equal([...resnet.stdout.matchAll(/layer\d\/0\/downsample \(Sequential\)/g)].length, 3);
  // Every box but the input has one incoming edge, and each block's Add a second one: its shortcut.
  const edges = [...resnet.stdout.matchAll(/class="edge"/g)].length;
  const boxes = [...resnet.stdout.matchAll(/<rect x=/g)].length;
  assert.equal(edges, boxes - 1 + 8, `${edges} edges for ${boxes} boxes`);
  const google = await neurite(['diagram', 'googlenet', '--out', '-'], dir);
  assert.equal(google.code, 0, google.stderr);
  assert.equal([...google.stdout.matchAll(/inception\d[a-e]\/concat \(Concatenate\)/g)].length, 9);
  assert.equal([...google.stdout.matchAll(/inception\d[a-e]\/branch4\/0 \(MaxPool2d\)/g)].length, 9);
});

test('diagram draws units for dense networks and boxes for convolutional ones', async () => {
  const units = await neurite(['diagram', 'xor', '--out', 'xor.svg'], dir);
  assert.equal(units.code, 0, units.stderr);
  const svg = readFileSync(join(dir, 'xor.svg'), 'utf8');
  // 2 inputs, 8 hidden and 2 output units; 2·8 + 8·2 edges.
  assert.equal(svg.match(/<circle /g)?.length, 12);
  assert.equal(svg.match(/<line /g)?.length, 32);

  const boxes = await neurite(['diagram', 'lenet5', '--out', '-'], dir);
  assert.equal(boxes.code, 0, boxes.stderr);
  // An input box and one per layer.
  assert.equal(boxes.stdout.match(/<rect x=/g)?.length, 13);
  assert.match(boxes.stdout, /Conv2d 5×5, 1 → 6 channels, padding 2/);

  const refused = await neurite(['diagram', 'lenet5', '--style', 'units'], dir);
  assert.equal(refused.code, 2);
});

test('evaluate reproduces the accuracy that train reported', async () => {
  const results = JSON.parse(readFileSync(join(dir, 'run', 'results.json'), 'utf8'));
  const r = await neurite(['evaluate', 'run', '--json'], dir);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.samples, 400);
  assert.equal(out.accuracy, results.testAccuracy);
  assert.ok(Math.abs(out.loss - results.testLoss) < 1e-6);
  assert.equal(Object.keys(out.perClass).length, 10);

  const text = await neurite(['evaluate', 'run'], dir);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /accuracy \d+\.\d\d%/);
});

test('predict gives the same answer for a digit as PNG, PGM and CSV row', async () => {
  const { images, labels } = mnist({ split: 'test', limit: 3 });
  const bytes = Uint8Array.from(images.data as Float32Array, (v) => Math.round(v * 255));
  const first = bytes.subarray(0, 784);
  writeFileSync(join(dir, 'digit.png'), encodePng(28, 28, 1, first, { filter: 'cycle' }));
  writeFileSync(join(dir, 'digit.pgm'), encodePgm(28, 28, first));
  const rows = [0, 1, 2].map((i) => `${labels.data[i]},${Array.from(bytes.subarray(784 * i, 784 * (i + 1))).join(',')}`);
  writeFileSync(join(dir, 'digits.csv'), `label,${Array.from({ length: 784 }, (_, i) => `p${i}`).join(',')}\n${rows.join('\n')}\n`);

  const png = await neurite(['predict', 'run', 'digit.png', '--json'], dir);
  assert.equal(png.code, 0, png.stderr);
  const pngOut = JSON.parse(png.stdout);
  const pgmOut = JSON.parse((await neurite(['predict', 'run', 'digit.pgm', '--json'], dir)).stdout);
  const csv = await neurite(['predict', 'run', 'digits.csv', '--json'], dir);
  assert.equal(csv.code, 0, csv.stderr);
  const csvOut = JSON.parse(csv.stdout);
  assert.equal(csvOut.length, 3);
  assert.equal(csvOut[0].label, String(labels.data[0]));

  // Probabilities form a distribution, and the three encodings of one image agree (bytes / 255 in each).
  const total = Object.values(pngOut.probabilities as Record<string, number>).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(total - 1) < 1e-9);
  assert.equal(pngOut.predicted, csvOut[0].predicted);
  assert.equal(pgmOut.predicted, pngOut.predicted);
  for (const c of Object.keys(pngOut.probabilities)) {
    assert.ok(Math.abs(pngOut.probabilities[c] - csvOut[0].probabilities[c]) < 1e-6, `class ${c}`);
    assert.ok(Math.abs(pngOut.probabilities[c] - pgmOut.probabilities[c]) < 1e-6, `class ${c}`);
  }

  const text = await neurite(['predict', 'run', 'digit.png'], dir);
  assert.match(text.stdout, new RegExp(`digit\\.png: predicted ${pngOut.predicted} \\(`));
  // All ten classes listed, most probable first.
  assert.equal(text.stdout.split('\n').filter((l) => /^ +\d +\d+\.\d\d%/.test(l)).length, 10);

  const wrong = await neurite(['predict', 'run', 'missing.png'], dir);
  assert.notEqual(wrong.code, 0);
});
