// Seed 004's transfer-learning table with a ready model: LeNet-5
// (models.lenet5) is pretrained on digits 0-4 and saved as safetensors; the
// file is loaded back with models.lenet5({ weights }), prepareTransfer gives it
// a new 5-class head for digits 5-9, and the three freeze policies (all: train
// the head only; most: the head and the later layers; none: fine-tune
// everything) are compared with the same network trained from scratch, on a
// small set of 5-9 images.
//
//   npm run build && node examples/transfer-models.mjs [fewShot=300] [pretrainEpochs=2]
import * as nt from 'neurite';

const { models, optim } = nt;
const fewShot = Number(process.argv[2] ?? 300);
const pretrainEpochs = Number(process.argv[3] ?? 2);
const EPOCHS = 20;
nt.seed(1);

/** Samples with labels in [lo, lo + 5), relabelled 0..4, at most `max`. */
function digits({ images, labels }, lo, max = Infinity) {
  const picked = [];
  for (let i = 0; i < labels.size && picked.length < max; i++) if (labels.data[i] >= lo && labels.data[i] < lo + 5) picked.push(i);
  const x = new Float32Array(picked.length * 784);
  const y = new Int32Array(picked.length);
  for (const [k, i] of picked.entries()) {
    x.set(images.data.subarray(i * 784, (i + 1) * 784), k * 784);
    y[k] = labels.data[i] - lo;
  }
  return { x: nt.tensor(x, { shape: [picked.length, 1, 28, 28] }), y: nt.tensor(y, { shape: [picked.length] }) };
}

const train = nt.mnist({ split: 'train', limit: 30000 });
const test = nt.mnist({ split: 'test' });
const low = digits(train, 0);
const highFew = digits(train, 5, fewShot);
const highTest = digits(test, 5);

async function fit(model, data, epochs) {
  await nt.fit(model, data, { loss: 'crossEntropy', optimizer: new optim.Adam(model.trainableParameters(), { lr: 1e-3 }), epochs, batchSize: 64 });
}
async function accuracy(model, data) {
  return (await nt.evaluate(model, data, { metrics: ['accuracy'], batchSize: 1000 })).accuracy;
}
const pct = (v) => `${(100 * v).toFixed(2)}%`;

// 1. Pretrain LeNet-5 on 0-4 and keep its weights as a safetensors file's bytes.
const pretrained = models.lenet5({ numClasses: 5 });
await fit(pretrained, low, pretrainEpochs);
const file = nt.weightsToSafetensors(pretrained);
console.log(`pretrained on digits 0-4 (${low.x.shape[0]} images, ${pretrainEpochs} epochs): ${pct(await accuracy(pretrained, digits(test, 0)))}; saved ${file.length.toLocaleString('en')} bytes`);

// 2. Each policy starts from the file, with a new head for 5-9.
const rows = [];
for (const freeze of ['all', 'most', 'none']) {
  const model = await models.lenet5({ numClasses: 5, weights: file });
  models.prepareTransfer(model, { numClasses: 5, freeze });
  await fit(model, highFew, EPOCHS);
  rows.push([`pretrained, freeze ${freeze}`, model.countParameters(true), await accuracy(model, highTest)]);
}
// 3. From scratch on the same images.
const scratch = models.lenet5({ numClasses: 5 });
await fit(scratch, highFew, EPOCHS);
rows.push(['from scratch', scratch.countParameters(true), await accuracy(scratch, highTest)]);

console.log(`digits 5-9 from ${highFew.x.shape[0]} training images, ${EPOCHS} epochs, tested on ${highTest.x.shape[0]}:`);
for (const [what, trained, acc] of rows) console.log(`  ${what.padEnd(26)} ${String(trained).padStart(6)} parameters trained   ${pct(acc)}`);
