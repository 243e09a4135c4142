// Transfer learning: a small CNN learns digits 0-4 from plenty of data; its
// convolutional feature extractor is then frozen and reused for digits 5-9,
// where only a fresh linear head is trained, on 1000 images. For comparison
// the same architecture is trained from scratch on those same 1000 images.
// Strokes, edges and loops learnt on 0-4 are useful for 5-9 too, so the
// transferred model should beat the one that starts from nothing.
//
//   npm run build && node examples/transfer-learning.mjs [pretrainEpochs=2] [fewShot=1000]
import * as nt from 'neurite';

const { nn, optim } = nt;

const SEED = 1;
const pretrainEpochs = Number(process.argv[2] ?? 2);
const fewShot = Number(process.argv[3] ?? 1000);
const FINE_TUNE_EPOCHS = 15;
const FEATURES = 32 * 7 * 7;

nt.seed(SEED);

/** The samples whose label is in [lo, lo + 5), relabelled 0..4, at most `max` of them. */
function digits({ images, labels }, lo, max = Infinity) {
  const picked = [];
  for (let i = 0; i < labels.size && picked.length < max; i++) {
    const label = labels.data[i];
    if (label >= lo && label < lo + 5) picked.push(i);
  }
  const x = new Float32Array(picked.length * 784);
  const y = new Int32Array(picked.length);
  for (const [k, i] of picked.entries()) {
    x.set(images.data.subarray(i * 784, (i + 1) * 784), k * 784);
    y[k] = labels.data[i] - lo;
  }
  return { x: nt.tensor(x, { shape: [picked.length, 1, 28, 28] }), y: nt.tensor(y, { shape: [picked.length] }) };
}

const trainAll = nt.mnist({ split: 'train', limit: 30000 });
const testAll = nt.mnist({ split: 'test' });
const lowTrain = digits(trainAll, 0);
const lowTest = digits(testAll, 0);
const highFew = digits(trainAll, 5, fewShot);
const highTest = digits(testAll, 5);

const featureExtractor = () =>
  new nn.Sequential([
    new nn.Conv2d(1, 16, 3, { padding: 1 }),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Conv2d(16, 32, 3, { padding: 1 }),
    new nn.ReLU(),
    new nn.MaxPool2d(2),
    new nn.Flatten(),
  ]);

async function train(model, data, epochs, parameters = model.trainableParameters()) {
  const started = performance.now();
  await nt.fit(model, data, { loss: 'crossEntropy', optimizer: new optim.Adam(parameters, { lr: 1e-3 }), epochs, batchSize: 64 });
  return (performance.now() - started) / 1000;
}
async function accuracy(model, data) {
  const { accuracy } = await nt.evaluate(model, data, { metrics: ['accuracy'], batchSize: 1000 });
  return `${(100 * accuracy).toFixed(2)}%`;
}

// 1. Pretrain on 0-4.
const features = featureExtractor();
const lowModel = new nn.Sequential([features, new nn.Linear(FEATURES, 5)]);
const pretrainSeconds = await train(lowModel, lowTrain, pretrainEpochs);
console.log(
  `digits 0-4: ${lowTrain.x.shape[0]} training images, ${pretrainEpochs} epochs in ${pretrainSeconds.toFixed(0)} s, ` +
    `test accuracy ${await accuracy(lowModel, lowTest)} on ${lowTest.x.shape[0]} test images`,
);

// 2. Freeze the convolutions, put a new head on them, train only the head on 5-9.
features.freeze();
const before = new Map([...features.stateDict()].map(([name, t]) => [name, t.data.slice()]));
const highModel = new nn.Sequential([features, new nn.Linear(FEATURES, 5)]);
const fineTuneSeconds = await train(highModel, highFew, FINE_TUNE_EPOCHS);
console.log(
  `digits 5-9, frozen features + new head (${highModel.countParameters(true)} of ${highModel.countParameters()} parameters trained): ` +
    `${highFew.x.shape[0]} training images, ${FINE_TUNE_EPOCHS} epochs in ${fineTuneSeconds.toFixed(1)} s, ` +
    `test accuracy ${await accuracy(highModel, highTest)} on ${highTest.x.shape[0]} test images`,
);
let largestChange = 0;
for (const [name, after] of features.stateDict()) {
  const old = before.get(name);
  for (let i = 0; i < after.size; i++) largestChange = Math.max(largestChange, Math.abs(after.data[i] - old[i]));
}
console.log(`frozen conv weights: ${before.size} tensors, largest change during fine-tuning ${largestChange} (${largestChange === 0 ? 'unchanged' : 'CHANGED'})`);

// 3. The same architecture from scratch on the same 1000 images.
const scratch = new nn.Sequential([featureExtractor(), new nn.Linear(FEATURES, 5)]);
const scratchSeconds = await train(scratch, highFew, FINE_TUNE_EPOCHS);
console.log(
  `digits 5-9, from scratch (all ${scratch.countParameters()} parameters trained): ${highFew.x.shape[0]} training images, ` +
    `${FINE_TUNE_EPOCHS} epochs in ${scratchSeconds.toFixed(1)} s, test accuracy ${await accuracy(scratch, highTest)}`,
);
