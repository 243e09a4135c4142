#!/usr/bin/env node
// `npm run bench:readme [bench/results/<file>.json]`: writes the speed figures
// the README quotes from one `npm run bench` record (the newest when none is
// named), with the machine and the record they come from, between
// <!-- bench:speed --> and <!-- /bench --> in README.md. Nothing is typed by
// hand: a figure in the README is always one a bench run printed.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const resultsDir = join(root, 'bench', 'results');
const named = process.argv[2];
const file = named
  ? resolve(named)
  : join(
      resultsDir,
      readdirSync(resultsDir)
        .filter((f) => /^\d{4}-\d{2}-\d{2}-\d{6}\.json$/.test(f))
        .sort()
        .at(-1),
    );
const record = JSON.parse(readFileSync(file, 'utf8'));
if (!record.figures) throw new Error(`${relative(root, file)} has no medians (it predates --repeat); run npm run bench again`);

const cpu = record.machine.cpu;
const isa = cpu.avx512f ? 'AVX-512' : cpu.avx2 ? 'AVX2, no AVX-512' : 'no AVX2';
const threads = record.options.threads ?? 1;
const neuriteOf = (w) => record.figures[w]?.['neurite-native'] ?? record.figures[w]?.['neurite-ref'] ?? null;
const ratio = (w, peer) => {
  const n = neuriteOf(w);
  const p = record.figures[w]?.[peer];
  return n && p ? n.value / p.value : null;
};
const fmt = (r) => `${r.toFixed(2)}x`;
const LABELS = {
  'mlp-small': 'mlp-small',
  'mlp-wide': 'mlp-wide',
  lenet5: 'LeNet-5',
  lstm: 'LSTM',
  'xor-tiny': 'xor-tiny',
  'inference-1': 'inference at batch 1',
  'inference-256': 'inference at batch 256',
};
const versus = (peer) =>
  Object.keys(LABELS)
    .map((w) => [w, ratio(w, peer)])
    .filter(([, r]) => r !== null)
    .map(([w, r]) => `${LABELS[w]} ${fmt(r)}`)
    .join(', ');

const torch = record.libraries.pytorch;
const gemm = neuriteOf('sgemm-1024');
const torchGemm = record.figures['sgemm-1024']?.pytorch;
const parts = [
  `Measured by \`npm run bench\` on ${record.date.slice(0, 10)} (${relative(root, file)}): ${cpu.model}, ${cpu.cores} cores, ${isa}; ` +
    `${threads} thread per library, each figure the median of ${record.options.repeat} runs in interleaved rounds.`,
];
if (torch && !torch.missing) {
  parts.push(
    `neurite / PyTorch ${torch.version} (a plain training loop${torch.env?.LD_PRELOAD ? ` with ${/tcmalloc/.test(torch.env.LD_PRELOAD) ? 'TCMalloc' : 'jemalloc'}` : ''} on OpenBLAS ${torch.probe?.openblasCore ?? ''} kernels, ${threads} thread): ${versus('pytorch')}.`,
  );
}
if (gemm && torchGemm) {
  parts.push(`sgemm 1024³: ${Math.round(gemm.value)} GFLOP/s against PyTorch's (OpenBLAS) ${Math.round(torchGemm.value)}.`);
}
const compiledId = Object.keys(record.libraries).find((id) => id.endsWith('-compiled'));
if (compiledId) {
  const compiledRatio = (w, peer) => {
    const a = record.figures[w]?.[compiledId];
    const b = record.figures[w]?.[peer];
    return a && b ? a.value / b.value : null;
  };
  const list = (peer, ids) =>
    ids
      .map((w) => [w, compiledRatio(w, peer)])
      .filter(([, r]) => r !== null)
      .map(([w, r]) => `${LABELS[w]} ${fmt(r)}`)
      .join(', ');
  const eagerId = compiledId.replace(/-compiled$/, '');
  const torchPart = list('pytorch', Object.keys(LABELS));
  if (torchPart) parts.push(`Compiled steps (\`compile\`, \`fit(..., {compile: true})\`) / PyTorch: ${torchPart}.`);
  const ortPart = list('onnxruntime', ['inference-1', 'inference-256']);
  if (ortPart) parts.push(`Compiled inference / onnxruntime-node: ${ortPart}.`);
  const eagerPart = list(eagerId, Object.keys(LABELS));
  if (eagerPart) parts.push(`Compiled / eager on the same backend: ${eagerPart}.`);
}
const wasm = versus('tfjs-wasm');
if (wasm) parts.push(`neurite / TensorFlow.js wasm (SIMD): ${wasm}.`);
const wasmRatio = (w, other) => {
  const a = record.figures[w]?.['neurite-wasm'];
  const b = record.figures[w]?.[other];
  return a && b ? a.value / b.value : null;
};
const wasmVersus = Object.keys(LABELS)
  .map((w) => [w, wasmRatio(w, 'tfjs-wasm')])
  .filter(([, r]) => r !== null)
  .map(([w, r]) => `${LABELS[w]} ${fmt(r)}`)
  .join(', ');
if (wasmVersus) {
  const small = record.figures['mlp-small'];
  const nativeOverWasm = small?.['neurite-native'] && small?.['neurite-wasm'] ? `; the native backend is ${fmt(small['neurite-native'].value / small['neurite-wasm'].value)} the wasm backend on mlp-small` : '';
  parts.push(`neurite's wasm backend (what browsers and Node without the addon get) / TensorFlow.js wasm: ${wasmVersus}${nativeOverWasm}.`);
}
const ort = ['inference-1', 'inference-256'].map((w) => [w, ratio(w, 'onnxruntime')]).filter(([, r]) => r !== null);
if (ort.length) parts.push(`neurite / onnxruntime-node: ${ort.map(([w, r]) => `${LABELS[w]} ${fmt(r)}`).join(', ')}.`);
const text = parts.join(' ');

const readmePath = join(root, 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const span = /<!-- bench:speed -->[\s\S]*?<!-- \/bench -->/;
if (!span.test(readme)) throw new Error('README.md has no <!-- bench:speed --> ... <!-- /bench --> span');
writeFileSync(readmePath, readme.replace(span, `<!-- bench:speed -->${text}<!-- /bench -->`));
console.log(text);
