// Time-series forecasting: an LSTM sees the last 40 values of a noisy sum of
// two sines and predicts the next 10 at once. Its error on a later stretch of
// the series is compared with the naive forecast (repeat the last observed
// value) and with the noise floor (the noise's own standard deviation, the
// error of a perfect forecaster against noisy observations).
//
//   npm run build && node examples/sine-forecast.mjs
import * as nt from 'neurite';

const { nn, optim } = nt;

const SEED = 3;
const WINDOW = 40;
const HORIZON = 10;
const NOISE = 0.1;
const LENGTH = 3000;
const TRAIN_END = 2000;

nt.seed(SEED);
const gen = new nt.Generator(SEED);
// s_t = sin(2πt/30) + 0.5·sin(2πt/11) + ε_t, ε_t ~ N(0, 0.1²)
const series = Float32Array.from({ length: LENGTH }, (_, t) => Math.sin((2 * Math.PI * t) / 30) + 0.5 * Math.sin((2 * Math.PI * t) / 11) + NOISE * gen.nextNormal());

/** Windows of WINDOW inputs [n, WINDOW, 1] and the HORIZON values after each [n, HORIZON], from series[from, to). */
function windows(from, to) {
  const n = to - from - WINDOW - HORIZON + 1;
  const x = new Float32Array(n * WINDOW);
  const y = new Float32Array(n * HORIZON);
  for (let i = 0; i < n; i++) {
    x.set(series.subarray(from + i, from + i + WINDOW), i * WINDOW);
    y.set(series.subarray(from + i + WINDOW, from + i + WINDOW + HORIZON), i * HORIZON);
  }
  return { x: nt.tensor(x, { shape: [n, WINDOW, 1] }), y: nt.tensor(y, { shape: [n, HORIZON] }) };
}

const train = windows(0, TRAIN_END);
const test = windows(TRAIN_END, LENGTH);

// The LSTM's final hidden state summarises the window; a linear layer reads the whole horizon off it.
const model = new nn.Sequential([new nn.LSTM(1, 32, { batchFirst: true }), new nn.RecurrentOutput('final'), new nn.Linear(32, HORIZON)]);
const started = performance.now();
const history = await nt.fit(model, train, {
  loss: 'mse',
  optimizer: new optim.Adam(model.parameters(), { lr: 0.01 }),
  epochs: 12,
  batchSize: 64,
  generator: gen,
});
const seconds = (performance.now() - started) / 1000;
console.log(`trained ${history.epoch.length} epochs (final training loss ${history.series.loss.at(-1).toFixed(4)}) on ${train.x.shape[0]} windows in ${seconds.toFixed(1)} s (backend ${nt.getBackend().name})`);

model.eval();
const prediction = nt.noGrad(() => model.forward(test.x));
const naive = test.x.slice(null, -1).expand([test.x.shape[0], HORIZON]);
const rmse = (p) => p.sub(test.y).square().mean(0).sqrt();
const modelByStep = rmse(prediction).toFlatArray();
const naiveByStep = rmse(naive).toFlatArray();
const overall = (p) => p.sub(test.y).square().mean().sqrt().item();

console.log(`\ntest RMSE over ${test.x.shape[0]} windows (steps ahead 1..${HORIZON}):`);
console.log(`  LSTM        ${overall(prediction).toFixed(4)}   by step: ${modelByStep.map((v) => v.toFixed(3)).join(' ')}`);
console.log(`  last value  ${overall(naive).toFixed(4)}   by step: ${naiveByStep.map((v) => v.toFixed(3)).join(' ')}`);
console.log(`  noise floor ${NOISE.toFixed(4)}`);
console.log(`the LSTM's error is ${(overall(naive) / overall(prediction)).toFixed(1)}x smaller than the naive forecast's`);
