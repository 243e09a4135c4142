// Runs the compiled test suite once per available backend (the reference
// and the wasm module always; the native addon when it is built), so every
// test checks every backend. Extra arguments narrow the run to those test files or folders.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const testRoot = join(root, 'dist', 'test');

function collect(path) {
  if (!existsSync(path)) return [];
  if (statSync(path).isFile()) return path.endsWith('.test.js') ? [path] : [];
  return readdirSync(path)
    .sort()
    .flatMap((name) => collect(join(path, name)));
}

const args = process.argv.slice(2);
const targets = args.length ? args.map((a) => resolve(root, a.replace(/^test\//, 'dist/test/').replace(/\.ts$/, '.js'))) : [testRoot];
const files = targets.flatMap(collect);
if (files.length === 0) {
  console.error(`run-tests: no compiled test files under ${targets.join(', ')}; run 'npm run build' first`);
  process.exit(1);
}

const nativeBuilt = existsSync(join(root, 'build', 'Release', 'neurite_native.node'));
const backends = process.env.NEURITE_BACKEND ? [process.env.NEURITE_BACKEND] : nativeBuilt ? ['ref', 'native', 'wasm'] : ['ref', 'wasm'];
if (!nativeBuilt && !process.env.NEURITE_BACKEND) console.log('run-tests: native addon not built; running on the reference and wasm backends');

// Timing tests (*.serial.test.js) run after the rest, one file at a time: beside another file on a small
// machine their figures would measure the neighbour. So do the WebGPU tests, for the opposite reason:
// SwiftShader, the software GPU they run on here, takes every core, and a browser test beside it timed out.
const serial = files.filter((f) => f.endsWith('.serial.test.js'));
const parallel = files.filter((f) => !f.endsWith('.serial.test.js'));

let failed = false;
for (const backend of backends) {
  console.log(`\n=== test suite on backend '${backend}' (${files.length} files) ===`);
  for (const [batch, concurrency] of [
    [parallel, 2],
    [serial, 1],
  ]) {
    if (batch.length === 0) continue;
    const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...batch], {
      stdio: 'inherit',
      env: { ...process.env, NEURITE_BACKEND: backend },
    });
    if (r.status !== 0) failed = true;
  }
}
process.exit(failed ? 1 : 0);
