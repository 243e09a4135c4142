// `npm run bench:browser`: the bench's workloads in Chromium, neurite's wasm
// backend against TensorFlow.js's wasm backend in the same browser and run.
//
// The workload scripts are the Node bench's own (bench/workloads/neurite.mjs,
// bench/peers/tfjs.mjs), bundled for the page by esbuild; bench/common.mjs
// takes its arguments and the MNIST slice from the page. The page is served
// from 127.0.0.1 with the cross-origin isolation headers, so both libraries
// can use shared memory and workers; each library runs in a fresh tab at one
// thread and at every thread the page offers (its own setting: setNumThreads
// for neurite, setThreadsCount for TensorFlow.js).
//
//   node bench/browser.mjs [--seconds S] [--warmup S] [--only a,b] [--threads 1,2] [--repeat N] [--no-save]
//
// With --webgpu it measures the GPU instead (Chromium started with
// --enable-unsafe-webgpu): neurite's compiled steps replayed on WebGPU against
// TensorFlow.js's WebGPU backend, both reading each step's loss back, on
// mlp-wide, lenet5, lstm and sgemm-1024 (products read back too). Without a
// hardware adapter it stops, saying so, unless --allow-fallback is given:
// then the figures are SwiftShader's, a plausibility check and no GPU's speed.
//
// Needs /usr/bin/chromium and the peers (npm run bench:setup). Writes
// bench/results/<date>-browser.json.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { gemmShapes, loadMnist, TRAIN_IMAGES } from './common.mjs';

const root = resolve(import.meta.dirname, '..');
const peers = join(root, 'bench', 'peers', 'node_modules');
const CHROMIUM = '/usr/bin/chromium';

const argv = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const seconds = Number(opt('seconds', 2));
const warmupSeconds = Number(opt('warmup', 1));
const repeat = Number(opt('repeat', 3));
const cores = cpus().length;
const threadCounts = opt('threads', `1,${cores}`)
  .split(',')
  .map(Number)
  .filter((n, i, all) => n >= 1 && all.indexOf(n) === i);
const webgpu = argv.includes('--webgpu');
const allowFallback = argv.includes('--allow-fallback');
const ALL = webgpu
  ? ['mlp-wide', 'lenet5', 'lstm', 'sgemm-1024']
  : ['mlp-small', 'mlp-wide', 'lenet5', 'lstm', 'inference-1', 'inference-256', 'sgemm-1024', 'two-spirals'];
const workloads = opt('only', ALL.join(',')).split(',');

if (!existsSync(CHROMIUM)) {
  console.error(`bench:browser needs Chromium at ${CHROMIUM} (apt-get install chromium)`);
  process.exit(1);
}
const hasTfjs = existsSync(join(peers, '@tensorflow', 'tfjs-backend-wasm'));
if (!hasTfjs) console.log('bench:browser: TensorFlow.js is not installed (npm run bench:setup); measuring neurite alone');

// ---- bundles ------------------------------------------------------------------------------------

/** esbuild plugin: the neurite script's Node-only imports replaced for the page. */
const forThePage = {
  name: 'for-the-page',
  setup(b) {
    b.onResolve({ filter: /dist\/src\/index\.js$/ }, () => ({ path: join(root, 'dist', 'src', 'index.browser.js') }));
    b.onResolve({ filter: /backends\/native\/binding\.js$/ }, () => ({ path: 'binding', namespace: 'page' }));
    b.onResolve({ filter: /^node:fs$/ }, () => ({ path: 'fs', namespace: 'page' }));
    b.onLoad({ filter: /^binding$/, namespace: 'page' }, () => ({
      contents: "export const loadNativeAddon = () => null; export const nativeLoadError = () => 'no native addon in a browser';",
    }));
    b.onLoad({ filter: /^fs$/, namespace: 'page' }, () => ({ contents: "export const readFileSync = () => '{}';" }));
  },
};

async function bundle(entry, extra = {}) {
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    nodePaths: [peers],
    logLevel: 'error',
    plugins: [forThePage],
    ...extra,
  });
  return Buffer.from(out.outputFiles[0].contents);
}

const files = {
  '/neurite.js': await bundle(join(root, 'bench', 'workloads', 'neurite.mjs')),
};
if (hasTfjs) files['/tfjs.js'] = await bundle(join(root, 'bench', 'peers', 'tfjs.mjs'));
const { images, labels } = loadMnist(TRAIN_IMAGES);
files['/images.bin'] = Buffer.from(images.buffer, images.byteOffset, images.byteLength);
files['/labels.bin'] = Buffer.from(labels.buffer, labels.byteOffset, labels.byteLength);
const TFJS_WASM = '/bench/peers/node_modules/@tensorflow/tfjs-backend-wasm/dist/';

const PAGE = `<!doctype html><script type="module">
  // #probe: an empty page, where the launcher asks for the WebGPU adapter.
  if (location.hash === '#probe') throw new Error('probe');
  const args = JSON.parse(decodeURIComponent(location.hash.slice(1)));
  const [images, labels] = await Promise.all(['/images.bin', '/labels.bin'].map((f) => fetch(f).then((r) => r.arrayBuffer())));
  globalThis.__bench = { args: args.args, wasmPaths: '${TFJS_WASM}', images: new Float32Array(images), labels: new Int32Array(labels) };
  try {
    await import(args.script);
  } catch (e) {
    globalThis.__bench.results = { error: String(e && e.message || e) };
  }
  window.__done = { results: globalThis.__bench.results, isolated: self.crossOriginIsolated, cores: navigator.hardwareConcurrency };
</script>`;

const TYPES = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };
const server = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
  const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
  if (path === '/') {
    res.writeHead(200, { ...headers, 'Content-Type': 'text/html' });
    res.end(PAGE);
    return;
  }
  const body = files[path] ?? (path.startsWith(TFJS_WASM) ? readFileIfInside(path) : null);
  if (!body) {
    res.writeHead(404);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(path)] ?? 'application/octet-stream' });
  res.end(body);
});

function readFileIfInside(path) {
  const file = normalize(join(root, path));
  return file.startsWith(peers) && existsSync(file) ? readFileSync(file) : null;
}

await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const url = `http://127.0.0.1:${server.address().port}/`;
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', ...(webgpu ? ['--enable-unsafe-webgpu'] : [])] });
const version = browser.version();
let adapter = null;
if (webgpu) {
  const probe = await browser.newPage();
  await probe.goto(`${url}#probe`);
  adapter = await probe.evaluate(async () => {
    const found = await navigator.gpu?.requestAdapter();
    if (!found) return null;
    const info = found.info ?? {};
    return { vendor: info.vendor, architecture: info.architecture, description: info.description, fallback: found.isFallbackAdapter ?? info.isFallbackAdapter ?? false };
  });
  await probe.close();
  const name = adapter ? `${adapter.vendor} ${adapter.architecture} ${adapter.description ?? ''}`.trim() : null;
  if (!adapter || (adapter.fallback && !allowFallback)) {
    console.log(`bench:browser --webgpu: ${adapter ? `Chromium's only adapter is a software one (${name})` : 'Chromium offers no WebGPU adapter'}; no GPU to measure (--allow-fallback measures the software adapter as a plausibility check)`);
    await browser.close();
    server.close();
    process.exit(0);
  }
  console.log(`bench:browser --webgpu: adapter ${name}${adapter.fallback ? ' (SOFTWARE FALLBACK: a plausibility check, not a GPU figure)' : ''}`);
}

/** One library at one thread count in a fresh tab: its results object. */
async function runPage(script, args) {
  const tab = await browser.newPage();
  const errors = [];
  tab.on('pageerror', (e) => errors.push(e.message));
  await tab.goto(`${url}#${encodeURIComponent(JSON.stringify({ script, args }))}`);
  await tab.waitForFunction(() => window.__done !== undefined, undefined, { timeout: 1_200_000, polling: 500 });
  const done = await tab.evaluate(() => window.__done);
  await tab.close();
  if (!done.isolated) throw new Error('the bench page is not cross-origin isolated');
  if (errors.length) done.results = { ...done.results, pageErrors: errors };
  return done;
}

const median = (xs) => {
  const s = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : null;
};

// On the GPU the thread count is not the comparison's: both libraries record on the page's main thread, at one.
const ours = webgpu ? 'neurite-webgpu' : 'neurite-wasm';
const theirs = webgpu ? 'tfjs-webgpu' : 'tfjs-wasm';
const threadsCompared = webgpu ? [1] : threadCounts;
const libraries = [{ id: ours, script: '/neurite.js', backend: webgpu ? 'webgpu' : 'wasm', workloads, threads: threadsCompared }];
// The README example on the reference backend, the page's speed before the wasm backend: the baseline of issue 12's 10x.
if (!webgpu && workloads.includes('two-spirals'))
  libraries.push({ id: 'neurite-ref', script: '/neurite.js', backend: 'ref', workloads: ['two-spirals'], threads: [1] });
if (webgpu && hasTfjs) libraries.push({ id: theirs, script: '/tfjs.js', backend: 'webgpu', workloads, threads: threadsCompared });
else if (hasTfjs) {
  const peerWorkloads = workloads.filter((w) => w !== 'two-spirals');
  if (peerWorkloads.length) libraries.push({ id: 'tfjs-wasm', script: '/tfjs.js', backend: 'wasm', workloads: peerWorkloads, threads: threadCounts });
}

const measured = {};
const notes = {};
for (const lib of libraries) {
  for (const threads of lib.threads) {
    const key = `${lib.id} ${threads}t`;
    const runs = [];
    for (let r = 0; r < repeat; r++) {
      const args = { backend: lib.backend, seconds, warmupSeconds, threads, workloads: lib.workloads, sgemm: gemmShapes(lib.workloads), allowFallback };
      const { results } = await runPage(lib.script, args);
      runs.push(results);
      process.stdout.write(`${key} run ${r + 1}/${repeat} done\n`);
    }
    measured[key] = {};
    for (const w of lib.workloads) {
      const values = runs.map((x) => x[w]);
      const numbers = values.filter((v) => typeof v === 'number');
      measured[key][w] = numbers.length
        ? { median: median(numbers), min: Math.min(...numbers), max: Math.max(...numbers), runs: numbers.length }
        : { error: values.find((v) => v?.error)?.error ?? 'no result' };
    }
    notes[key] = {
      describe: runs[0].describe,
      version: runs[0].version,
      wasmSimd: runs[0].wasmSimd,
      wasmThreads: runs[0].wasmThreads,
      ...(runs[0].adapter ? { adapter: runs[0].adapter } : {}),
    };
  }
}
await browser.close();
server.close();

// ---- report -------------------------------------------------------------------------------------

const fmt = (v) => (v === undefined ? '-' : v.error ? `error: ${v.error.slice(0, 60)}` : v.median >= 100 ? Math.round(v.median).toLocaleString('en-US') : v.median.toFixed(1));
const cpu = cpus()[0]?.model ?? 'unknown CPU';
const flags = readFileSync('/proc/cpuinfo', 'utf8').includes(' avx512f') ? 'AVX-512' : 'AVX2';
console.log(`\nChromium ${version}; ${cpu} (${flags}), ${cores} cores; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
console.log(`medians of ${repeat} runs of ${seconds} s each (after ${warmupSeconds} s warm-up), one fresh tab per run\n`);
const columns = Object.keys(measured);
if (adapter) console.log(`WebGPU adapter: ${adapter.vendor} ${adapter.architecture} ${adapter.description ?? ''}${adapter.fallback ? ' (SOFTWARE FALLBACK: no GPU speed)' : ''}`);
console.log(['workload', ...columns, ...(hasTfjs ? threadsCompared.map((t) => `neurite/tfjs ${t}t`) : [])].join(' | '));
for (const w of workloads) {
  const cells = columns.map((c) => fmt(measured[c][w]));
  const ratios = hasTfjs
    ? threadsCompared.map((t) => {
        const a = measured[`${ours} ${t}t`]?.[w];
        const b = measured[`${theirs} ${t}t`]?.[w];
        return a?.median && b?.median ? `${(a.median / b.median).toFixed(2)}x` : '-';
      })
    : [];
  console.log([w, ...cells, ...ratios].join(' | '));
}
const spirals = measured['neurite-wasm 1t']?.['two-spirals']?.median;
const spiralsRef = measured['neurite-ref 1t']?.['two-spirals']?.median;
if (spirals && spiralsRef) {
  console.log(`\ntwo-spirals (the README example): wasm ${Math.round(spirals)} steps/s, reference ${Math.round(spiralsRef)}: ${(spirals / spiralsRef).toFixed(1)}x (issue 12's target: at least 10x)`);
}
for (const [k, n] of Object.entries(notes)) {
  const tfjs = n.version ? `tfjs ${n.version}${n.adapter === undefined ? `, SIMD ${n.wasmSimd}, threads ${n.wasmThreads}` : ''}` : '';
  console.log(`${k}: ${n.describe ?? ''}${tfjs}${n.adapter !== undefined ? ` on ${n.adapter}` : ''}`);
}

if (!argv.includes('--no-save')) {
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 13);
  const file = join(dir, `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}-${stamp.slice(9)}-browser${webgpu ? '-webgpu' : ''}.json`);
  const commit = (() => {
    try {
      return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    } catch {
      return null;
    }
  })();
  const record = { date: new Date().toISOString(), commit, chromium: version, cpu, isa: flags, cores, loadavg: loadavg(), ...(adapter ? { adapter } : {}), seconds, warmupSeconds, repeat, measured, notes };
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  console.log(`\nwrote ${file}`);
}
