// brain.js side of `npm run bench`: only xor-tiny (it has no tensors, no convolutions).
// Usage: node peers/brain.mjs '{"seconds", "workloads"}'. Prints one JSON object as its last line.
import { createRequire } from 'node:module';
import { emit, measure, parseArgs, timed } from '../common.mjs';

const require = createRequire(import.meta.url);
const brain = require('brain.js');
const args = parseArgs();
const results = { version: require('brain.js/package.json').version };

/**
 * Training iterations per second. One brain.js iteration is a pass over the 4
 * points with a weight update after each point (brain.js trains per sample).
 * train() is called with many iterations at a time, as brain.js is meant to be
 * used: it validates its options and formats the data on every call, which is
 * not part of a training step.
 */
function xorRate() {
  const data = [
    { input: [0, 0], output: [0] },
    { input: [0, 1], output: [1] },
    { input: [1, 0], output: [1] },
    { input: [1, 1], output: [0] },
  ];
  // brain.js rejects momentum 0 and errorThresh 0; a step does the same arithmetic
  // whatever the momentum, so its default (0.1) is kept, and the threshold is
  // tiny so that training never stops early.
  const iterations = 2000;
  const options = { iterations, errorThresh: 1e-12, learningRate: 0.5, momentum: 0.1, log: false };
  const net = new brain.NeuralNetwork({ hiddenLayers: [2], activation: 'sigmoid' });
  const step = () => {
    const done = net.train(data, options).iterations;
    if (done !== iterations) throw new Error(`brain.js stopped after ${done} of ${iterations} iterations`);
  };
  return timed(step, args.seconds, 10, iterations);
}

for (const w of args.workloads) {
  await measure(results, w, () => {
    if (w === 'xor-tiny') return xorRate();
    throw new Error(`brain.js has no '${w}' workload`);
  });
}
emit(results);
