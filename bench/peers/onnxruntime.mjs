// onnxruntime-node side of `npm run bench`: mlp-wide inference from the ONNX file
// that bench:setup exported (bench/peers/mlp-wide.onnx).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { loadMnist, timedAsync } from '../common.mjs';

const ort = createRequire(import.meta.url)('onnxruntime-node');
const args = JSON.parse(process.argv[2]);
const model = join(import.meta.dirname, 'mlp-wide.onnx');
const results = { version: createRequire(import.meta.url)('onnxruntime-node/package.json').version };
if (!existsSync(model)) {
  results.error = 'bench/peers/mlp-wide.onnx is missing (bench:setup exports it with PyTorch)';
} else {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 2, interOpNumThreads: 1 });
  const { images } = loadMnist(256);
  for (const w of args.workloads.filter((x) => x.startsWith('inference-'))) {
    const batch = Number(w.split('-')[1]);
    const feeds = { x: new ort.Tensor('float32', images.subarray(0, batch * 784), [batch, 784]) };
    results[w] = await timedAsync(() => session.run(feeds), args.seconds, 20, batch);
  }
}
console.log(JSON.stringify(results));
