// ResNet-18 at 224×224 (issue 18's figures): inference at batch 1 and 16 and
// one SGD-momentum training step at batch 16, for neurite (models.resnet18 on
// the native backend), PyTorch (torchvision's resnet18, a plain loop) and
// onnxruntime-node (inference, on the network PyTorch exports), measured in
// one run with the same thread count. Each library gets the same warm-up;
// figures are medians of the timed runs with their spread and CPU time.
//
//   npm run bench:resnet [-- --threads N --repeat R --warmup W --no-save]
// Needs the native addon (npm install builds it), /usr/bin/python3 with
// python3-torch and python3-torchvision for PyTorch, and bench/peers
// (npm run bench:setup) for onnxruntime-node; a missing peer is reported and skipped.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import * as nt from '../dist/src/index.js';
import { PYTHON, pytorchEnv } from './pytorch.mjs';

const benchDir = import.meta.dirname;
const opts = { threads: 1, repeat: 5, warmup: 2, save: true };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--threads') opts.threads = Number(argv[++i]);
  else if (a === '--repeat') opts.repeat = Number(argv[++i]);
  else if (a === '--warmup') opts.warmup = Number(argv[++i]);
  else if (a === '--no-save') opts.save = false;
  else throw new Error(`bench:resnet: unknown option '${a}'`);
}

const cpuModel = (readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.+)/) ?? [])[1] ?? 'unknown CPU';
const flags = readFileSync('/proc/cpuinfo', 'utf8');
const simd = flags.includes('avx512f') ? 'AVX-512' : flags.includes('avx2') ? 'AVX2' : 'no AVX2';
console.log(
  `ResNet-18, 224×224, float32; ${cpuModel}, ${cpus().length} cores, ${simd}; load ${loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}`,
);
console.log(`${opts.threads} thread(s) per library, ${opts.warmup} warm-up and ${opts.repeat} timed runs each\n`);

const stats = (runs) => {
  const wall = [...runs.wall].sort((a, b) => a - b);
  const cpu = [...runs.cpu].sort((a, b) => a - b);
  return { median: wall[Math.floor(wall.length / 2)], min: wall[0], max: wall.at(-1), cpu: cpu[Math.floor(cpu.length / 2)] };
};

async function timed(step) {
  for (let i = 0; i < opts.warmup; i++) await step();
  const wall = [];
  const cpu = [];
  for (let i = 0; i < opts.repeat; i++) {
    const c0 = process.cpuUsage();
    const w0 = performance.now();
    await step();
    wall.push((performance.now() - w0) / 1000);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
  }
  return { wall, cpu };
}

const results = { date: new Date().toISOString(), cpu: cpuModel, simd, cores: cpus().length, load: loadavg(), threads: opts.threads, libraries: {} };

// neurite
{
  const backend = nt.listBackends().includes('native') ? 'native' : 'wasm';
  nt.setBackend(backend);
  nt.setNumThreads(opts.threads);
  await nt.backendReady();
  nt.seed(0);
  const net = nt.models.resnet18();
  const lib = { version: JSON.parse(readFileSync(join(benchDir, '..', 'package.json'), 'utf8')).version, backend };
  const a = nt.randn([1024, 1024]);
  const b = nt.randn([1024, 1024]);
  const g = await timed(() => a.matmul(b));
  lib.sgemm1024_gflops = (2 * 1024 ** 3) / stats(g).median / 1e9;
  net.eval();
  for (const batch of [1, 16]) {
    const x = nt.randn([batch, 3, 224, 224]);
    lib[`infer-${batch}`] = await timed(() => nt.noGrad(() => net.forward(x)));
  }
  net.train();
  const x = nt.randn([16, 3, 224, 224]);
  const y = nt.tensor(
    Int32Array.from({ length: 16 }, (_, i) => (i * 37) % 1000),
    { shape: [16] },
  );
  const opt = new nt.optim.SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
  lib['train-16'] = await timed(() => {
    opt.zeroGrad();
    nt.nn.functional.crossEntropy(net.forward(x), y).backward();
    opt.step();
  });
  results.libraries.neurite = lib;
}

// PyTorch
{
  const env = { ...process.env, ...pytorchEnv(opts.threads) };
  const r = existsSync(PYTHON)
    ? spawnSync(PYTHON, [join(benchDir, 'resnet_peer.py'), JSON.stringify(opts)], { encoding: 'utf8', env, maxBuffer: 1 << 24 })
    : null;
  if (r && r.status === 0) results.libraries.pytorch = JSON.parse(r.stdout.trim().split('\n').pop());
  else results.libraries.pytorch = { missing: r ? (r.stderr || 'failed').trim().split('\n').pop() : `${PYTHON} not found` };
}

// onnxruntime-node (inference only)
{
  const onnx = join(benchDir, 'peers', 'resnet18.onnx');
  let ort = null;
  try {
    ort = createRequire(join(benchDir, 'peers', 'package.json'))('onnxruntime-node');
  } catch {
    results.libraries.onnxruntime = { missing: 'not installed (npm run bench:setup)' };
  }
  if (ort && !existsSync(onnx)) {
    mkdirSync(join(benchDir, 'peers'), { recursive: true });
    const r = spawnSync(PYTHON, [join(benchDir, 'resnet_peer.py'), '--export', onnx], { encoding: 'utf8', env: { ...process.env, ...pytorchEnv(1) } });
    if (r.status !== 0)
      results.libraries.onnxruntime = { missing: `could not export resnet18.onnx with PyTorch: ${(r.stderr || '').trim().split('\n').pop()}` };
  }
  if (ort && existsSync(onnx)) {
    const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: opts.threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
    const lib = { version: createRequire(join(benchDir, 'peers', 'package.json'))('onnxruntime-node/package.json').version };
    for (const batch of [1, 16]) {
      const data = Float32Array.from({ length: batch * 3 * 224 * 224 }, (_, i) => Math.sin(i));
      const feeds = { x: new ort.Tensor('float32', data, [batch, 3, 224, 224]) };
      lib[`infer-${batch}`] = await timed(() => session.run(feeds));
    }
    results.libraries.onnxruntime = lib;
  }
}

// The table: median wall time with its spread, CPU time, images per second, and neurite's ratio to each peer.
const WORKLOADS = [
  ['infer-1', 'inference, batch 1', 1],
  ['infer-16', 'inference, batch 16', 16],
  ['train-16', 'training step, batch 16', 16],
];
for (const [name, lib] of Object.entries(results.libraries)) {
  if (lib.missing) console.log(`${name}: skipped, ${lib.missing}`);
  else if (lib.sgemm1024_gflops)
    console.log(`${name} ${lib.version ?? lib.torch}${lib.backend ? ` (${lib.backend} backend)` : ''}: sgemm 1024³ ${lib.sgemm1024_gflops.toFixed(0)} GFLOP/s`);
}
console.log('');
for (const [id, label, batch] of WORKLOADS) {
  const ours = results.libraries.neurite[id] && stats(results.libraries.neurite[id]);
  for (const [name, lib] of Object.entries(results.libraries)) {
    if (lib.missing || !lib[id]) continue;
    const s = stats(lib[id]);
    const ratio = name === 'neurite' ? '' : `   neurite / ${name}: ${(s.median / ours.median).toFixed(2)}x`;
    console.log(
      `${label.padEnd(24)} ${name.padEnd(12)} ${(s.median * 1000).toFixed(1).padStart(8)} ms (${(s.min * 1000).toFixed(1)}-${(s.max * 1000).toFixed(1)}), CPU ${(s.cpu * 1000).toFixed(0)} ms, ${(batch / s.median).toFixed(1)} images/s${ratio}`,
    );
  }
}
if (opts.save) {
  mkdirSync(join(benchDir, 'results'), { recursive: true });
  const file = join(benchDir, 'results', `resnet18-${results.date.slice(0, 19).replace(/[:T]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 1)}\n`);
  console.log(`\nsaved ${file}`);
}
