// Convolutional autoencoder: an encoder squeezes each 28x28 digit (784
// values) into 8 feature maps of 7x7 (392 values) with two conv + max-pool
// blocks, and a decoder grows it back with two stride-2 transposed
// convolutions. It is trained to reproduce its input (y = x, MSE), and its
// test reconstruction error is compared with always answering the mean
// training image. examples/out/autoencoder.png shows 8 test digits (top)
// and their reconstructions (bottom).
//
//   npm run build && node examples/conv-autoencoder.mjs [epochs=5] [trainLimit=20000]
import * as nt from 'neurite';
import { GrayCanvas } from './png.mjs';

const { nn, optim } = nt;

const SEED = 1;
const epochs = Number(process.argv[2] ?? 5);
const limit = Number(process.argv[3] ?? 20000);
const SHOWN = 8;
const SCALE = 3;

nt.seed(SEED);
const train = nt.mnist({ split: 'train', limit }).images;
const test = nt.mnist({ split: 'test', limit: 2000 }).images;

const encoder = new nn.Sequential([
  new nn.Conv2d(1, 16, 3, { padding: 1 }),
  new nn.ReLU(),
  new nn.MaxPool2d(2),
  new nn.Conv2d(16, 8, 3, { padding: 1 }),
  new nn.ReLU(),
  new nn.MaxPool2d(2),
]);
// Kernel 2, stride 2: every input pixel paints its own 2x2 output block, so
// the two layers undo the two poolings exactly (7 → 14 → 28).
const decoder = new nn.Sequential([
  new nn.ConvTranspose2d(8, 16, 2, { stride: 2 }),
  new nn.ReLU(),
  new nn.ConvTranspose2d(16, 1, 2, { stride: 2 }),
  new nn.Sigmoid(),
]);
const model = new nn.Sequential([encoder, decoder]);
const codeShape = nt.noGrad(() => encoder.forward(test.slice([0, 1])).shape);
console.log(`code size ${codeShape.slice(1).join('x')} for 784 pixels, ${model.countParameters()} parameters`);

const started = performance.now();
await nt.fit(model, { x: train, y: train }, {
  loss: 'mse',
  optimizer: new optim.Adam(model.parameters(), { lr: 2e-3 }),
  epochs,
  batchSize: 64,
  verbose: 1,
});
const seconds = (performance.now() - started) / 1000;

const { loss: testMse } = await nt.evaluate(model, { x: test, y: test }, { loss: 'mse', batchSize: 500 });
const meanImage = train.mean([0], true);
const baselineMse = test.sub(meanImage).pow(2).mean().item();
console.log(
  `conv autoencoder: test reconstruction MSE ${testMse.toFixed(4)} vs ${baselineMse.toFixed(4)} for the mean training image ` +
    `(${(baselineMse / testMse).toFixed(1)}x lower), ${epochs} epochs on ${train.shape[0]} images in ${seconds.toFixed(0)} s ` +
    `(backend ${nt.getBackend().name})`,
);

const originals = test.slice([0, SHOWN]);
const reconstructions = await nt.predict(model, originals);
const side = 28 * SCALE;
const gap = 4;
const canvas = new GrayCanvas(SHOWN * (side + gap) + gap, 2 * (side + gap) + gap, 128);
for (let i = 0; i < SHOWN; i++) {
  const left = gap + i * (side + gap);
  canvas.put(originals.data.subarray(i * 784, (i + 1) * 784), 28, 28, left, gap, { scale: SCALE });
  canvas.put(reconstructions.data.subarray(i * 784, (i + 1) * 784), 28, 28, left, 2 * gap + side, { scale: SCALE });
}
const path = new URL('out/autoencoder.png', import.meta.url);
canvas.save(path.pathname);
console.log(`wrote ${path.pathname} (top: test digits, bottom: reconstructions)`);
