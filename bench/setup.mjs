// `npm run bench:setup`: installs the peer libraries into bench/peers (never
// part of the library's own install) and reports which peers are usable.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const peers = join(import.meta.dirname, 'peers');
console.log('Installing benchmark peers into bench/peers ...');
// onnxruntime-node's install script tries to download a CUDA provider; its CPU binaries ship in the package.
const r = spawnSync('npm', ['install', '--no-audit', '--no-fund'], {
  cwd: peers,
  stdio: 'inherit',
  env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
});
if (r.status !== 0) {
  console.error('bench:setup: npm install of the peers failed; npm run bench will skip the missing ones.');
}

const torch = spawnSync('/usr/bin/python3', ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
if (torch.status === 0) {
  console.log(`PyTorch ${torch.stdout.trim()} found (Debian's /usr/bin/python3).`);
  const blas = spawnSync('bash', ['-c', 'readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3'], { encoding: 'utf8' }).stdout.trim();
  if (!blas.includes('openblas')) {
    console.log(`Warning: PyTorch is linked to the reference BLAS (${blas}), which is 40x slower than OpenBLAS.`);
    console.log('For a fair comparison install OpenBLAS: apt-get install libopenblas0-pthread');
  }
} else {
  console.log('PyTorch not found; for the PyTorch column: apt-get install python3-torch libopenblas0-pthread');
}
console.log(existsSync(join(peers, 'node_modules')) ? 'Peers ready.' : 'No peers installed.');
