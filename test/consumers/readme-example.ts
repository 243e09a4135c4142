// The README's training example in a strict TypeScript project: the package's
// declarations must type-check on their own (skipLibCheck off, no DOM or
// @types/node globals).
declare const console: { log(...args: unknown[]): void };

import { evaluate, fit, type History, loadModel, nn, optim, seed, type Tensor, twoSpirals } from 'neurite';

seed(0);
const train = twoSpirals(400, { noise: 0.05 });
const model = new nn.Sequential(new nn.Linear(2, 32), new nn.Tanh(), new nn.Linear(32, 32), new nn.Tanh(), new nn.Linear(32, 2));
const optimizer = new optim.Adam(model.parameters(), { lr: 0.01 });
const history: History = await fit(model, train, { loss: 'crossEntropy', optimizer, epochs: 300, batchSize: 400, metrics: ['accuracy'] });
const { accuracy } = await evaluate(model, train, { loss: 'crossEntropy', metrics: ['accuracy'] });
const last: Tensor = model.forward(train.x);
console.log(`loss ${history.loss.at(-1)?.toFixed(4)}, accuracy ${((accuracy as number) * 100).toFixed(1)}%`, last.shape.length);

// Names are checked by the compiler: a misspelt loss or metric does not compile,
// and a loss registered at run time is declared by augmenting CustomLossNames.
declare module 'neurite' {
  interface CustomLossNames {
    myLoss: true;
  }
}
// @ts-expect-error 'crossEntropyy' is not a loss name
void fit(model, train, { loss: 'crossEntropyy', optimizer });
// @ts-expect-error 'acuracy' is not a metric name
void evaluate(model, train, { loss: 'mse', metrics: ['acuracy'] });
const custom: Parameters<typeof fit>[2]['loss'] = 'myLoss';
const top3: Parameters<typeof evaluate>[2] = { metrics: ['top3Accuracy', 'f1'] };
void custom;
void top3;

// A loaded model's output is typed: a Tensor (or several for a graph model), never `any`.
export async function loaded(dir: string) {
  const m = await loadModel(dir);
  const out = m.forward(train.x);
  // @ts-expect-error a loaded model's output has no such method
  out.noSuchMethod();
  return Array.isArray(out) ? out[0].argmax(1) : out.argmax(1);
}
