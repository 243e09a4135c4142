// onnxruntime-node side of `npm run bench`: mlp-wide inference from the ONNX file
// that bench:setup exports with PyTorch (bench/peers/mlp-wide.onnx).
// Usage: node peers/onnxruntime.mjs '{"seconds", "workloads"}'. Prints one JSON object as its last line.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { emit, loadMnist, measure, parseArgs, timedAsync } from '../common.mjs';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');
const args = parseArgs();
const model = join(import.meta.dirname, 'mlp-wide.onnx');
const threads = args.threads ?? 1;
const results = { version: require('onnxruntime-node/package.json').version, intraOpNumThreads: threads };

let session;
for (const w of args.workloads) {
  await measure(results, w, async () => {
    if (!w.startsWith('inference-')) throw new Error(`onnxruntime-node runs only the inference workloads, not '${w}'`);
    if (!existsSync(model)) throw new Error('bench/peers/mlp-wide.onnx is missing: `npm run bench:setup` exports it with PyTorch');
    // --threads intra-op threads; one inter-op thread, as the graph is a chain.
    session ??= await ort.InferenceSession.create(model, { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
    const batch = Number(w.split('-')[1]);
    const feeds = { x: new ort.Tensor('float32', loadMnist(batch).images, [batch, 784]) };
    return timedAsync(() => session.run(feeds), args.seconds, 20, batch);
  });
}
emit(results);
