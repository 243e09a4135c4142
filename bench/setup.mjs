// `npm run bench:setup`: installs the peer libraries into bench/peers (never
// part of the library's own install), checks PyTorch and its BLAS, and exports
// the ONNX model the onnxruntime-node peer runs. Reports which peers are usable.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PYTHON, PYTORCH_ENV, PYTORCH_TUNING, probePytorch, systemBlas } from './pytorch.mjs';

const peers = join(import.meta.dirname, 'peers');
const onnxFile = join(peers, 'mlp-wide.onnx');
const notes = [];

console.log('Installing the benchmark peers into bench/peers ...');
// onnxruntime-node's install script tries to download a CUDA provider and fails
// offline; its CPU binaries ship inside the package, so the download is skipped.
const install = spawnSync('npm', ['install', '--no-audit', '--no-fund'], {
  cwd: peers,
  stdio: 'inherit',
  env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
});
if (install.status !== 0) notes.push('npm install of the peers failed; `npm run bench` reports the missing ones as not installed.');

const torch = probePytorch();
if (torch.error) {
  notes.push(`PyTorch: ${torch.error}. Without it there is no PyTorch column and no ONNX model, so onnxruntime-node is skipped.`);
} else {
  console.log(`PyTorch ${torch.version} found (${PYTHON}), OpenBLAS kernels: ${torch.openblasCore ?? 'unknown'}.`);
  const blas = systemBlas();
  if (blas && !blas.includes('openblas')) {
    notes.push(`PyTorch uses the reference BLAS (${blas}), about 40x slower than OpenBLAS: apt-get install libopenblas0-pthread for a fair comparison.`);
  }
  if (!PYTORCH_TUNING.LD_PRELOAD) {
    notes.push('PyTorch runs on glibc malloc, which costs it up to 3.5x on the training workloads: apt-get install libtcmalloc-minimal4 (PyTorch\'s CPU performance guide asks for TCMalloc or jemalloc).');
  }
  const exported = spawnSync(PYTHON, [join(import.meta.dirname, 'export_onnx.py'), onnxFile], {
    encoding: 'utf8',
    env: { ...process.env, ...PYTORCH_ENV },
  });
  if (exported.status === 0) console.log(`Exported mlp-wide for onnxruntime-node: ${onnxFile}`);
  else notes.push(`ONNX export failed, onnxruntime-node will be skipped: ${(exported.stderr || '').trim().split('\n').pop()}`);
}

const present = ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm', 'brain.js', 'onnxruntime-node'].filter((p) =>
  existsSync(join(peers, 'node_modules', p, 'package.json')),
);
console.log(`Node peers installed: ${present.length ? present.join(', ') : 'none'}.`);
for (const n of notes) console.log(`Note: ${n}`);
