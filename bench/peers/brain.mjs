// brain.js side of `npm run bench`: only xor-tiny (it has no tensors, no convolutions).
import { createRequire } from 'node:module';
import { timed } from '../common.mjs';

const brain = createRequire(import.meta.url)('brain.js');
const args = JSON.parse(process.argv[2]);
const results = { version: createRequire(import.meta.url)('brain.js/package.json').version };
if (args.workloads.includes('xor-tiny')) {
  const net = new brain.NeuralNetwork({ hiddenLayers: [2], activation: 'sigmoid', learningRate: 0.5, momentum: 0 });
  const data = [
    { input: [0, 0], output: [0] },
    { input: [0, 1], output: [1] },
    { input: [1, 0], output: [1] },
    { input: [1, 1], output: [0] },
  ];
  // One training iteration over the 4 points per step, as brain.js trains (per sample).
  net.train(data, { iterations: 1 });
  results['xor-tiny'] = timed(() => net.train(data, { iterations: 1, errorThresh: 0 }), args.seconds, 100, 1);
}
console.log(JSON.stringify(results));
