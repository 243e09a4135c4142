// `neurite train <network> --data <image folder>`, from scratch and from
// pretrained weights with a frozen backbone, then predict and evaluate on
// photos, run as a user runs them: the real executable on PNG and JPEG files.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { loadModel, models, type nn, saveWeights, seed } from '../../src/index.js';
import { neurite, tempDir } from './run.js';

let dir: string;
let cleanup: () => void;

/** Three kinds of picture any network tells apart: a bright disc, diagonal stripes, a dark frame; sizes vary, PNG and JPEG alternate. */
function writePhotos(root: string, perClass: number): void {
  const kinds = {
    disc: (x: number, y: number, w: number, h: number) => (x - w / 2) ** 2 + (y - h / 2) ** 2 < (Math.min(w, h) / 3) ** 2,
    stripes: (x: number, y: number) => Math.floor((x + y) / 4) % 2 === 0,
    frame: (x: number, y: number, w: number, h: number) => x < 5 || y < 5 || x >= w - 5 || y >= h - 5,
  };
  for (const [name, on] of Object.entries(kinds)) {
    mkdirSync(join(root, name), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const w = 36 + 3 * i;
      const h = 40 + ((5 * i) % 9);
      const data = Buffer.alloc(w * h * 4);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const v = on(x, y, w, h) ? 220 : 30;
          data.set([v, (v * (i + 3)) % 256, 255 - v, 255], 4 * (y * w + x));
        }
      }
      if (i % 2 === 1) writeFileSync(join(root, name, `${i}.jpg`), jpeg.encode({ width: w, height: h, data }, 90).data);
      else {
        const png = new PNG({ width: w, height: h });
        data.copy(png.data);
        writeFileSync(join(root, name, `${i}.png`), PNG.sync.write(png));
      }
    }
  }
}

before(() => {
  ({ dir, cleanup } = tempDir('networks'));
  writePhotos(join(dir, 'photos'), 8);
  writePhotos(join(dir, 'split', 'train'), 6);
  writePhotos(join(dir, 'split', 'val'), 2);
});
after(() => cleanup());

test('train resnet18 on a folder of class subfolders, then predict a photo and a folder, and evaluate', async () => {
  const run = join(dir, 'scratch');
  const r = await neurite(['train', 'resnet18', '--data', 'photos', '--image-size', '32', '--epochs', '2', '--batch-size', '8', '--out', run, '--json'], dir);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout);
  assert.equal(summary.epochsTrained, 2);
  assert.equal(summary.testSamples, 5, 'a fifth of 24 photos, stratified by class');
  const config = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
  assert.deepEqual(config.model.layers, [{ type: 'ResNet', depth: 18, numClasses: 3 }]);
  assert.deepEqual(config.model.input, [3, 32, 32]);
  assert.deepEqual(config.data.classNames, ['disc', 'frame', 'stripes']);
  assert.deepEqual(config.data.options.mean, [...models.IMAGENET.mean]);

  const one = await neurite(['predict', run, join('photos', 'frame', '3.jpg'), '--json'], dir);
  assert.equal(one.code, 0, one.stderr);
  const p = JSON.parse(one.stdout);
  assert.ok(['disc', 'frame', 'stripes'].includes(p.predicted));
  const total = Object.values(p.probabilities as Record<string, number>).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(total - 1) < 1e-6);

  const all = await neurite(['predict', run, 'photos'], dir);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /accuracy \d+\.\d+% \(\d+\/24\)/);

  const ev = await neurite(['evaluate', run, '--data', join('split', 'val')], dir);
  assert.equal(ev.code, 0, ev.stderr);
  assert.match(ev.stdout, /accuracy/);
  assert.match(ev.stdout, /disc .* 2\b/);
});

test('a train/ and val/ layout is used as it is: val/ becomes the test set', async () => {
  const r = await neurite(['train', 'resnet18', '--data', 'split', '--image-size', '32', '--epochs', '1', '--out', join(dir, 'split-run')], dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /images .*split \(32×32\): 14 train \/ 4 validation \/ 6 test, 3 classes/);
});

test('--weights loads a pretrained backbone, replaces the 10-class head, trains only the head, and resumes frozen', async () => {
  seed(7);
  const pretrained = models.resnet18({ numClasses: 10 });
  const weights = join(dir, 'resnet18-10.safetensors');
  await saveWeights(pretrained, weights);
  const run = join(dir, 'transfer');
  const r = await neurite(['train', 'resnet18', '--data', 'photos', '--image-size', '32', '--epochs', '1', '--weights', weights, '--out', run], dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /11,178,051 parameters \(1,539 trainable\)/);
  assert.match(r.stdout, /freeze all/);
  const resumed = await neurite(['train', '--resume', run, '--epochs', '2'], dir);
  assert.equal(resumed.code, 0, resumed.stderr);
  const trained = (await loadModel(run)) as nn.Sequential;
  const net = trained.at(0) as models.ResNet;
  // The backbone is the file's, untouched by two epochs; the head learned.
  assert.deepEqual(Array.from(net.conv1.weight.data), Array.from(pretrained.conv1.weight.data));
  assert.deepEqual(
    Array.from((net.layer3.at(0) as models.BasicBlock).conv2.weight.data),
    Array.from((pretrained.layer3.at(0) as models.BasicBlock).conv2.weight.data),
  );
  assert.deepEqual(net.fc.weight.shape, [3, 512]);
  const config = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
  assert.equal(config.training.freeze, 'all');

  const wrong = await neurite(['train', 'resnet34', '--data', 'photos', '--weights', weights], dir);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /^error: --weights: .*missing 'layer1\.2\.conv1\.weight'/);
});

test('networks explain what they need: a folder of images, and weights before --freeze', async () => {
  const noData = await neurite(['train', 'resnet18'], dir);
  assert.equal(noData.code, 2);
  assert.match(noData.stderr, /resnet18 trains on images: pass --data/);
  const freeze = await neurite(['train', 'vgg11', '--data', 'photos', '--freeze', 'most'], dir);
  assert.equal(freeze.code, 2);
  assert.match(freeze.stderr, /--freeze keeps pretrained layers fixed, so it needs --weights/);
  const flat = await neurite(['train', 'alexnet', '--data', join('photos', 'disc')], dir);
  assert.equal(flat.code, 2);
  assert.match(flat.stderr, /has no class subfolders/);
  const notNetwork = await neurite(['train', 'xor', '--weights', 'w.safetensors'], dir);
  assert.equal(notNetwork.code, 2);
  assert.match(notNetwork.stderr, /--weights is for the networks/);
});
