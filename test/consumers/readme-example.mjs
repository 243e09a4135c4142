// The README's training example, as a user's ES module would write it.
import { evaluate, fit, nn, optim, seed, twoSpirals } from 'neurite';

seed(0);
const train = twoSpirals(400, { noise: 0.05 });
const model = new nn.Sequential(new nn.Linear(2, 32), new nn.Tanh(), new nn.Linear(32, 32), new nn.Tanh(), new nn.Linear(32, 2));
const optimizer = new optim.Adam(model.parameters(), { lr: 0.01 });
const history = await fit(model, train, { loss: 'crossEntropy', optimizer, epochs: 300, batchSize: 400, metrics: ['accuracy'] });
const { accuracy } = await evaluate(model, train, { loss: 'crossEntropy', metrics: ['accuracy'] });
console.log(`loss ${history.loss.at(-1).toFixed(4)}, accuracy ${(accuracy * 100).toFixed(1)}%`);
