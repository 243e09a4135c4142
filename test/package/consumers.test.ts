// neurite as other projects consume it: the README's training example run by
// a CommonJS script, an ES module, a strict TypeScript project, a Node bundle
// (esbuild --platform=node) and the prebuilt browser bundles, each through the
// package's own name and export map (Node resolves a package's own name from
// inside it). The browser bundles run here in a VM context without `process`
// or any Node global; test/browser runs them in Chromium when it is installed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import vm from 'node:vm';

const root = resolve(import.meta.dirname, '..', '..', '..');
const consumers = join(root, 'test', 'consumers');
const EXPECTED = 'loss 0.0831, accuracy 97.3%';

function run(args: string[], env: Record<string, string> = {}): string {
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  // Only the end of stderr: a failure inside a minified bundle would print the whole line of code.
  assert.equal(r.status, 0, `node ${args[0].slice(0, 80)} failed:\n${r.stderr.slice(-2000)}`);
  return r.stdout.trim();
}

describe('consumers of the package', () => {
  test('an ES module imports neurite and trains the README example', () => {
    assert.equal(run([join(consumers, 'readme-example.mjs')]), EXPECTED);
  });

  test('a CommonJS script requires neurite (no top-level await) and trains the README example', () => {
    assert.equal(run([join(consumers, 'readme-example.cjs')]), EXPECTED);
  });

  test("a strict TypeScript project type-checks against the package's declarations without DOM or Node types", () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', join(consumers, 'tsconfig.json')], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  test('a Node bundle (esbuild --platform=node) imports and trains, falling back to the reference backend', () => {
    const dir = mkdtempSync(join(tmpdir(), 'neurite-bundle-'));
    try {
      const out = join(dir, 'bundle.mjs');
      const esbuild = join(root, 'node_modules', 'esbuild', 'bin', 'esbuild');
      const b = spawnSync(
        esbuild,
        [join(consumers, 'readme-example.mjs'), '--bundle', '--platform=node', '--format=esm', `--outfile=${out}`, '--log-level=error'],
        {
          cwd: root,
          encoding: 'utf8',
        },
      );
      assert.equal(b.status, 0, b.stderr);
      assert.equal(run([out], { NEURITE_BACKEND: 'ref' }), EXPECTED);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the prebuilt browser ES module bundle trains the README example', () => {
    const script = `import('${join(root, 'dist', 'browser', 'neurite.esm.js')}').then(async (nt) => {
      nt.seed(0);
      const train = nt.twoSpirals(400, { noise: 0.05 });
      const { nn, optim } = nt;
      const model = new nn.Sequential(new nn.Linear(2, 32), new nn.Tanh(), new nn.Linear(32, 32), new nn.Tanh(), new nn.Linear(32, 2));
      const optimizer = new optim.Adam(model.parameters(), { lr: 0.01 });
      const h = await nt.fit(model, train, { loss: 'crossEntropy', optimizer, epochs: 300, batchSize: 400, metrics: ['accuracy'] });
      const { accuracy } = await nt.evaluate(model, train, { loss: 'crossEntropy', metrics: ['accuracy'] });
      console.log(nt.getBackend().name, 'loss ' + h.loss.at(-1).toFixed(4) + ', accuracy ' + (accuracy * 100).toFixed(1) + '%');
    })`;
    // The browser build has no native backend, whatever the suite's NEURITE_BACKEND says.
    assert.equal(run(['--input-type=module', '-e', script], { NEURITE_BACKEND: 'ref' }), `ref ${EXPECTED}`);
  });

  test('the script-tag bundle defines the global `neurite` and trains with no Node globals in reach', async () => {
    const code = readFileSync(join(root, 'dist', 'browser', 'neurite.iife.js'), 'utf8');
    const lines: string[] = [];
    // What a page offers (the web's TextEncoder and TextDecoder among it): no process, require, Buffer or module.
    // `crossOriginIsolated: false` is what a page served without COOP/COEP
    // headers says, so the wasm backend takes its unshared-memory path here
    // (Chromium covers the shared one). Without it this context got shared
    // memory and the finalizer that reclaims resident arrays, and this
    // process then aborted at exit now and then ("illegal access" from
    // FinalizationRegistryCleanupTask inside Node's FreeEnvironment): 12 of
    // 20 runs of a script doing the same with a gc() in beforeExit, and 6 of
    // 20 with the finalizer's callback emptied, so the callback's code is not
    // the cause; 0 of 30 with this flag, and 0 of 30 with the same backend in
    // Node's main context.
    const context = vm.createContext({
      console: { log: (...a: unknown[]) => lines.push(a.join(' ')), warn: () => {} },
      setTimeout,
      MessageChannel,
      performance,
      TextEncoder,
      TextDecoder,
      crossOriginIsolated: false,
    });
    vm.runInContext(code, context);
    const done = vm.runInContext(
      `(async () => {
        const { nn, optim, fit, evaluate, seed, twoSpirals, getBackend } = neurite;
        seed(0);
        const train = twoSpirals(400, { noise: 0.05 });
        const model = new nn.Sequential(new nn.Linear(2, 32), new nn.Tanh(), new nn.Linear(32, 32), new nn.Tanh(), new nn.Linear(32, 2));
        const optimizer = new optim.Adam(model.parameters(), { lr: 0.01 });
        const h = await fit(model, train, { loss: 'crossEntropy', optimizer, epochs: 300, batchSize: 400, metrics: ['accuracy'] });
        const { accuracy } = await evaluate(model, train, { loss: 'crossEntropy', metrics: ['accuracy'] });
        console.log(typeof process, getBackend().name, 'loss ' + h.loss.at(-1).toFixed(4) + ', accuracy ' + (accuracy * 100).toFixed(1) + '%');
      })()`,
      context,
    );
    await done;
    assert.deepEqual(lines, [`undefined wasm ${EXPECTED}`]);
  });

  test("a browser bundle importing only tensor() leaves the rest out: the package's sideEffects list lets bundlers drop layers, optimizers and training", async () => {
    const esbuild = await import('esbuild');
    const { gzipSync } = await import('node:zlib');
    const entry = join(root, 'dist', 'src', 'index.browser.js');
    const gzipped = async (contents: string): Promise<number> => {
      const r = await esbuild.build({
        stdin: { contents, resolveDir: root, loader: 'js' },
        bundle: true,
        minify: true,
        format: 'esm',
        platform: 'browser',
        write: false,
        logLevel: 'error',
      });
      return gzipSync(r.outputFiles[0].contents).length;
    };
    const tensorOnly = await gzipped(`import { tensor } from ${JSON.stringify(entry)}; console.log(tensor([1, 2]).add(1).toArray());`);
    const everything = await gzipped(`import * as neurite from ${JSON.stringify(entry)}; console.log(neurite);`);
    // The wasm backend's module (base64, so that it loads synchronously in any
    // bundle) is part of every bundle: it computes tensor()'s arithmetic too.
    const binary = join(root, 'dist', 'src', 'backends', 'wasm', 'binary.js');
    const module = await gzipped(`import { WASM_BASE64 } from ${JSON.stringify(binary)}; console.log(WASM_BASE64);`);
    // Measured on the commit that added this test: 16.5 KB against 108.6 KB for
    // the whole library, and 56 KB when bundlers ignore the sideEffects field
    // (all before the wasm module, about 61 KB gzipped, joined them). The
    // reference backend is in every bundle (it is every backend's fallback),
    // so each new kernel adds its reference code: 24.7 KB after logSoftmax
    // and its gradient became kernels (2026-12-07). The ratio below is the
    // check that layers, optimizers and training stay out.
    assert.ok(
      tensorOnly - module < 26_000,
      `tensor() alone bundles to ${tensorOnly} bytes gzipped, ${module} of them the wasm module (expected under 26 KB besides)`,
    );
    assert.ok(
      tensorOnly - module < (everything - module) / 4,
      `tensor() alone ${tensorOnly} bytes against ${everything} for everything (${module} in both the wasm module)`,
    );
  });
});
