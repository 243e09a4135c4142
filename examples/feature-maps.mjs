// What a CNN's first layer learns: a LeNet-like network (6 filters of 5x5,
// then 16, then a linear classifier) is trained for one epoch, and its first
// layer is drawn twice:
//   examples/out/filters.png       the 6 filters, each stretched to black..white
//   examples/out/feature-maps.png  a test digit and its 6 feature maps after ReLU
// Trained filters tend to be oriented edge and stroke detectors, so each map
// lights up a different part of the digit's outline.
//
//   npm run build && node examples/feature-maps.mjs [trainLimit=60000]
import * as nt from 'neurite';
import { GrayCanvas } from './png.mjs';

const { nn, optim } = nt;

const SEED = 1;
const limit = Number(process.argv[2] ?? 60000);
const FILTERS = 6;
const K = 5;
const FILTER_SCALE = 12;
const MAP_SCALE = 4;
const GAP = 6;

nt.seed(SEED);
const { images, labels } = nt.mnist({ split: 'train', limit });
const test = nt.mnist({ split: 'test' });

const conv1 = new nn.Conv2d(1, FILTERS, K);
const firstLayer = new nn.Sequential([conv1, new nn.ReLU()]);
const model = new nn.Sequential([
  firstLayer,
  new nn.MaxPool2d(2), // 24 → 12
  new nn.Conv2d(FILTERS, 16, K), // → 8
  new nn.ReLU(),
  new nn.MaxPool2d(2), // → 4
  new nn.Flatten(),
  new nn.Linear(16 * 4 * 4, 10),
]);

const started = performance.now();
await nt.fit(model, { x: images, y: labels }, { loss: 'crossEntropy', optimizer: new optim.Adam(model.parameters(), { lr: 2e-3 }), epochs: 1, batchSize: 64 });
const seconds = (performance.now() - started) / 1000;
const { accuracy } = await nt.evaluate(model, { x: test.images, y: test.labels }, { metrics: ['accuracy'], batchSize: 1000 });
console.log(
  `LeNet-like CNN: one epoch on ${images.shape[0]} images in ${seconds.toFixed(0)} s, test accuracy ${(100 * accuracy).toFixed(2)}% ` +
    `(backend ${nt.getBackend().name})`,
);

const outDir = new URL('out/', import.meta.url).pathname;
const range = (values) => values.reduce(([lo, hi], v) => [Math.min(lo, v), Math.max(hi, v)], [Infinity, -Infinity]);

// Each filter gets its own contrast stretch: their scales differ, and what
// matters is the pattern (white: positive weights, black: negative).
const weights = conv1.weight.data;
const filterSide = K * FILTER_SCALE;
const filters = new GrayCanvas(FILTERS * (filterSide + GAP) + GAP, filterSide + 2 * GAP, 255);
for (let f = 0; f < FILTERS; f++) {
  const w = weights.subarray(f * K * K, (f + 1) * K * K);
  const [lo, hi] = range(w);
  filters.put(w, K, K, GAP + f * (filterSide + GAP), GAP, { scale: FILTER_SCALE, lo, hi });
  console.log(`filter ${f}: weights in [${lo.toFixed(3)}, ${hi.toFixed(3)}], sum ${w.reduce((s, v) => s + v, 0).toFixed(3)}`);
}
filters.save(`${outDir}filters.png`);
console.log(`wrote ${outDir}filters.png`);

// The maps are ReLU outputs, so 0 is black and each map's maximum is white.
const digit = test.images.slice([0, 1]);
const maps = nt.noGrad(() => firstLayer.forward(digit));
const mapSize = maps.shape[2];
const mapSide = mapSize * MAP_SCALE;
const digitSide = 28 * MAP_SCALE;
const featureMaps = new GrayCanvas(digitSide + 3 * GAP + FILTERS * (mapSide + GAP), digitSide + 2 * GAP, 128);
featureMaps.put(digit.data, 28, 28, GAP, GAP, { scale: MAP_SCALE });
const mapTop = GAP + (digitSide - mapSide) / 2;
for (let f = 0; f < FILTERS; f++) {
  const m = maps.data.subarray(f * mapSize * mapSize, (f + 1) * mapSize * mapSize);
  const [, hi] = range(m);
  featureMaps.put(m, mapSize, mapSize, digitSide + 3 * GAP + f * (mapSide + GAP), mapTop, { scale: MAP_SCALE, lo: 0, hi });
}
featureMaps.save(`${outDir}feature-maps.png`);
console.log(`wrote ${outDir}feature-maps.png (test digit ${test.labels.data[0]}, then its ${FILTERS} ${mapSize}x${mapSize} feature maps after ReLU)`);
