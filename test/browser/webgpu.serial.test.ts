// The WebGPU kernels in Chromium: the same modules that run on Dawn in Node,
// bundled into a page that opens navigator.gpu and checks each kernel
// against the reference kernel of the same name. Headless Chromium with
// --enable-unsafe-webgpu offers SwiftShader's software adapter here, so
// shapes stay small; a machine with a GPU gets its hardware adapter.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { CHROMIUM, ROOT, runPage, serve, skipBrowser } from './harness.js';

const dist = (path: string) => JSON.stringify(join(ROOT, 'dist', 'src', path));

// Runs in the page: each check returns its largest error relative to the reference's largest magnitude (at least 1).
const PAGE = `
import { openGpuDevice } from ${dist('backends/webgpu/device.js')};
import { GpuKernels } from ${dist('backends/webgpu/kernels.js')};
import { refKernels } from ${dist('backends/ref/index.js')};
import { adamUpdate } from ${dist('optim/adam.js')};

function rand(n, seed, lo = -1, hi = 1) {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; out[i] = lo + ((s >>> 0) / 2 ** 32) * (hi - lo); }
  return out;
}
function relErr(got, want) {
  let scale = 1, err = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
  return got.length === want.length ? err / scale : Infinity;
}

async function run() {
  if (!navigator.gpu) return { error: 'navigator.gpu is undefined' };
  const gpu = await openGpuDevice(navigator.gpu, { allowFallback: true });
  if (typeof gpu === 'string') return { error: gpu };
  const k = new GpuKernels(gpu);
  const up = (a) => gpu.upload(a);
  const errors = {};
  let seed = 1;
  for (const [transA, transB] of [[false, false], [false, true], [true, false], [true, true]]) {
    const [m, n, kk] = [70, 33, 129];
    const a = rand(m * kk, seed++), b = rand(kk * n, seed++);
    const want = new Float32Array(m * n);
    refKernels.matmul(a, b, want, 1, m, n, kk, transA, transB);
    const out = gpu.empty(m * n);
    k.matmul(up(a), up(b), out, 1, m, n, kk, transA, transB);
    errors['matmul ' + transA + ' ' + transB] = relErr(await gpu.read(out), want);
  }
  const g = { batch: 2, inChannels: 1, inH: 28, inW: 28, outChannels: 6, kernelH: 5, kernelW: 5, strideH: 1, strideW: 1, padH: 2, padW: 2, dilationH: 1, dilationW: 1, groups: 1, outH: 28, outW: 28 };
  const x = rand(2 * 28 * 28, 10), w = rand(6 * 25, 11), bias = rand(6, 12), gy = rand(2 * 6 * 28 * 28, 13);
  const y = new Float32Array(gy.length), gx = new Float32Array(x.length), gw = new Float32Array(w.length);
  refKernels.conv2d(x, w, bias, y, g);
  refKernels.conv2dBackwardInput(gy, w, gx, g);
  refKernels.conv2dBackwardWeight(x, gy, gw, g);
  const [yg, gxg, gwg] = [gpu.empty(y.length), gpu.empty(x.length), gpu.empty(w.length)];
  const [xg, wg, gyg] = [up(x), up(w), up(gy)];
  k.conv2d(xg, wg, up(bias), yg, g);
  k.conv2dBackwardInput(gyg, wg, gxg, g);
  k.conv2dBackwardWeight(xg, gyg, gwg, g);
  errors.conv2d = relErr(await gpu.read(yg), y);
  errors.conv2dBackwardInput = relErr(await gpu.read(gxg), gx);
  errors.conv2dBackwardWeight = relErr(await gpu.read(gwg), gw);
  const pg = { batch: 2, channels: 6, inH: 28, inW: 28, kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, padH: 0, padW: 0, dilationH: 1, dilationW: 1, outH: 14, outW: 14 };
  const pooled = new Float32Array(2 * 6 * 14 * 14), idx = new Int32Array(pooled.length);
  refKernels.maxPool2d(y, pooled, idx, pg);
  const [pooledG, idxG] = [gpu.empty(pooled.length), gpu.empty(pooled.length)];
  k.maxPool2d(yg, pooledG, idxG, pg);
  errors.maxPool2d = relErr(await gpu.read(pooledG), pooled);
  const gotIdx = await gpu.readInt32(idxG);
  errors.maxPool2dIndices = gotIdx.every((v, i) => v === idx[i]) ? 0 : Infinity;
  for (const op of ['tanh', 'sigmoid', 'exp', 'relu']) {
    const v = rand(1000, seed++, -5, 5), want = new Float32Array(1000), out = gpu.empty(1000);
    refKernels.unary(op, v, want);
    k.unary(op, up(v), out);
    errors['unary ' + op] = relErr(await gpu.read(out), want);
  }
  for (const [outer, size, inner] of [[50, 10, 1], [3, 7, 33]]) {
    const v = rand(outer * size * inner, seed++, -20, 20), want = new Float32Array(v.length), out = gpu.empty(v.length);
    refKernels.logSoftmax(v, outer, size, inner, want);
    k.logSoftmax(up(v), outer, size, inner, out);
    errors['logSoftmax ' + [outer, size, inner].join('x')] = relErr(await gpu.read(out), want);
    const gy = rand(v.length, seed++), wantDx = new Float32Array(v.length), dx = gpu.empty(v.length);
    refKernels.logSoftmaxBackward(gy, want, outer, size, inner, wantDx);
    k.logSoftmaxBackward(up(gy), up(want), outer, size, inner, dx);
    errors['logSoftmaxBackward ' + [outer, size, inner].join('x')] = relErr(await gpu.read(dx), wantDx);
  }
  const p = rand(500, 20), m1 = new Float32Array(500), v1 = new Float32Array(500);
  const [pg2, mg, vg] = [up(p), up(m1), up(v1)];
  for (let step = 1; step <= 3; step++) {
    const grad = rand(500, 20 + step);
    const o = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step, decoupled: false, maximize: false };
    adamUpdate(p, grad, m1, v1, null, o);
    k.adamStep(pg2, up(grad), mg, vg, null, o);
  }
  errors.adamStep = relErr(await gpu.read(pg2), p);
  // Masks: a comparison into bytes packed four to a word, where over it, a cast of it, argmax, indexAdd.
  // Each is exact on the CPU and here, so its "error" is 0 or Infinity.
  const same = (got, want) => got.length === want.length && got.every((v, i) => Object.is(v, want[i])) ? 0 : Infinity;
  const sa = rand(96, 30, -2, 2).map(Math.round), sb = rand(8, 31, -2, 2).map(Math.round);
  sa[5] = NaN;
  const mask = new Uint8Array(96), maskG = gpu.empty(24);
  refKernels.compare('ge', sa, [12, 8], sb, [8], mask, [12, 8]);
  k.compare('ge', up(sa), [12, 8], up(sb), [8], maskG, [12, 8]);
  errors.compare = same(new Uint8Array((await gpu.read(maskG)).buffer), mask);
  const picked = new Float32Array(96), pickedG = gpu.empty(96);
  refKernels.where(mask, [12, 8], sa, [12, 8], sb, [8], picked, [12, 8]);
  k.where(maskG, [12, 8], up(sa), [12, 8], up(sb), [8], pickedG, [12, 8]);
  errors.where = same(await gpu.read(pickedG), picked);
  const asFloat = new Float32Array(96), asFloatG = gpu.empty(96);
  refKernels.cast(mask, asFloat);
  k.cast(maskG, 'bool', asFloatG, 'f32', 96);
  errors.cast = same(await gpu.read(asFloatG), asFloat);
  const arg = new Int32Array(12), argG = gpu.empty(12);
  refKernels.argReduce('argmax', sa, [12, 8], 1, arg);
  k.argReduce('argmax', up(sa), [12, 8], 1, argG);
  errors.argmax = same(await gpu.readInt32(argG), arg);
  const table = rand(40, 32), rows = Int32Array.from([3, 1, 3, 0, 9]), grads = rand(20, 33);
  const tableG = up(table);
  refKernels.indexAdd(table, [10, 4], 0, rows, grads, [5, 4]);
  k.indexAdd(tableG, [10, 4], 0, up(rows), 5, up(grads));
  errors.indexAdd = same(await gpu.read(tableG), table);
  const unpooled = new Float32Array(2 * 6 * 28 * 28), unpooledG = gpu.empty(unpooled.length);
  refKernels.maxUnpool(pooled, idx, unpooled, 12, 14 * 14, 28 * 28);
  k.maxUnpool(up(pooled), up(idx), unpooledG, 12, 14 * 14, 28 * 28);
  errors.maxUnpool = same(await gpu.read(unpooledG), unpooled);
  // pow on positive bases with exponents of both signs (three of them integers), then atan2 in every quadrant.
  const base = rand(120, 34, 0.2, 3), expo = rand(12, 35, -3, 3);
  expo.set([2, -3, 0]);
  for (const [op, a, b] of [['pow', base, expo], ['atan2', rand(120, 36, -2, 2), rand(12, 37, -2, 2)]]) {
    const want = new Float32Array(120), out = gpu.empty(120);
    refKernels.binary(op, a, [10, 12], b, [12], want, [10, 12]);
    k.binary(op, up(a), [10, 12], up(b), [12], out, [10, 12]);
    errors['binary ' + op] = relErr(await gpu.read(out), want);
  }
  // Their special cases, exactly: a negative base's odd power, -0 to a negative odd power, atan2 of signed zeros (±π, ±0).
  const u = Float32Array.from([-2, -0, -0, 0]), v = Float32Array.from([3, -1, -1, -0]);
  const powWant = new Float32Array(4), powG = gpu.empty(4), atanWant = new Float32Array(4), atanG = gpu.empty(4);
  refKernels.binary('pow', u, [4], v, [4], powWant, [4]);
  k.binary('pow', up(u), [4], up(v), [4], powG, [4]);
  const y0 = Float32Array.from([-0, 0, -0, 0]), x0 = Float32Array.from([-1, -0, 1, 0]);
  refKernels.binary('atan2', y0, [4], x0, [4], atanWant, [4]);
  k.binary('atan2', up(y0), [4], up(x0), [4], atanG, [4]);
  errors['pow special cases'] = same(await gpu.read(powG), powWant);
  errors['atan2 special cases'] = same(await gpu.read(atanG), atanWant);
  const adapter = gpu.adapter;
  gpu.destroy();
  return { adapter, errors };
}
run().then((r) => { window.__result = r; }, (e) => { window.__result = { error: String(e && e.stack || e) }; });
`;

// The page runs the browser bundle on Chromium's own backend, whatever NEURITE_BACKEND says: once is enough.
const skip = skipBrowser || (process.env.NEURITE_BACKEND && process.env.NEURITE_BACKEND !== 'ref' ? 'browser tests run in the ref pass' : false);

describe('the WebGPU kernels in Chromium', { skip }, () => {
  test('every kernel checked in the page matches the reference within 1e-4', { timeout: 240_000 }, async (t) => {
    const bundled = await build({ stdin: { contents: PAGE, resolveDir: ROOT, loader: 'js' }, bundle: true, format: 'esm', write: false, logLevel: 'error' });
    const site = await serve({
      '/webgpu.html': '<!doctype html><script type="module" src="/webgpu-check.js"></script>',
      '/webgpu-check.js': bundled.outputFiles[0].text,
    });
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--enable-unsafe-webgpu'] });
    try {
      const { result, errors } = await runPage(browser, `${site.url}/webgpu.html`, 200_000);
      const r = result as { error?: string; adapter?: { description: string }; errors?: Record<string, number> };
      assert.equal(r.error, undefined, `the page failed: ${r.error}`);
      assert.deepEqual(errors, []);
      t.diagnostic(`adapter: ${JSON.stringify(r.adapter)}`);
      const checked = Object.entries(r.errors ?? {});
      assert.equal(checked.length, 28);
      for (const [name, err] of checked) assert.ok(err <= 1e-4, `${name}: relative error ${err} on ${r.adapter?.description}`);
    } finally {
      await browser.close();
      await site.close();
    }
  });

  test('a page trains two spirals on the GPU through the browser bundle (openWebGpu, compile with its executor) to the CPU losses', {
    timeout: 240_000,
  }, async (t) => {
    const page = `<!doctype html><script type="module">
      import * as nt from '/dist/browser/neurite.esm.js';
      try {
        const gpu = await nt.openWebGpu({ allowFallback: true });
        const run = async (executor) => {
          nt.seed(0);
          const data = nt.twoSpirals(200, { noise: 0.05 });
          const model = new nt.nn.Sequential(new nt.nn.Linear(2, 16), new nt.nn.Tanh(), new nt.nn.Linear(16, 2));
          const opt = new nt.optim.Adam(model.parameters(), { lr: 0.03 });
          const step = (x, y) => {
            opt.zeroGrad();
            const loss = nt.nn.functional.crossEntropy(model.call(x), y);
            loss.backward();
            opt.step();
            return loss;
          };
          const compiled = executor ? nt.compile(step, { modules: [model], executor }) : nt.compile(step, { modules: [model] });
          const losses = [];
          for (let i = 0; i < 10; i++) losses.push((await compiled(data.x, data.y)).item());
          if (executor) await compiled.pull();
          return { losses, weights: Array.from(model.parameters()[0].data) };
        };
        const cpu = await run(null);
        const onGpu = await run(gpu.executor);
        window.__result = { cpu, onGpu, calls: gpu.calls(), adapter: gpu.adapter, backend: nt.getBackend().name };
        gpu.destroy();
      } catch (e) {
        window.__result = { error: String((e && e.stack) || e) };
      }
    </script>`;
    const site = await serve({ '/train.html': page });
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--enable-unsafe-webgpu'] });
    try {
      const { result, errors } = await runPage(browser, `${site.url}/train.html`, 200_000);
      const r = result as {
        error?: string;
        cpu: { losses: number[]; weights: number[] };
        onGpu: { losses: number[]; weights: number[] };
        calls: { gpuCalls: number; cpuCalls: number };
        backend: string;
      };
      assert.equal(r.error, undefined, `the page failed: ${r.error}`);
      assert.deepEqual(errors, []);
      t.diagnostic(`engine backend ${r.backend}; ${r.calls.gpuCalls} calls on the GPU, ${r.calls.cpuCalls} on the CPU`);
      assert.ok(r.calls.gpuCalls > 7 * 20, `${r.calls.gpuCalls} calls on the GPU`);
      const close = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) <= 1e-4 * Math.max(1, Math.abs(b[i])));
      assert.ok(close(r.onGpu.losses, r.cpu.losses), `losses ${r.onGpu.losses} against ${r.cpu.losses}`);
      assert.ok(close(r.onGpu.weights, r.cpu.weights), "the first layer's weights after 10 steps");
      assert.ok(r.cpu.losses[9] < r.cpu.losses[0], 'the network learns');
    } finally {
      await browser.close();
      await site.close();
    }
  });

  test("setBackend('webgpu') in a page makes fit train on the GPU through navigator.gpu, to the CPU's history", { timeout: 240_000 }, async (t) => {
    const page = `<!doctype html><script type="module">
      import * as nt from '/dist/browser/neurite.esm.js';
      const train = async () => {
        nt.seed(0);
        const data = nt.twoSpirals(120, { noise: 0.05 });
        const model = new nt.nn.Sequential(new nt.nn.Linear(2, 16), new nt.nn.Tanh(), new nt.nn.Dropout(0.1), new nt.nn.Linear(16, 2));
        const history = await nt.fit(model, data, { loss: 'crossEntropy', optimizer: new nt.optim.Adam(model.parameters(), { lr: 0.03 }), epochs: 3, batchSize: 24, validationSplit: 0.2, metrics: ['accuracy'] });
        return { loss: history.get('loss'), valLoss: history.get('valLoss'), weights: Array.from(model.parameters()[0].data) };
      };
      try {
        const cpu = await train();
        const cpuBackend = nt.getBackend().name;
        nt.setBackend('webgpu', { allowFallback: true });
        const onGpu = await train();
        window.__result = { cpu, onGpu, device: nt.getTrainingDevice(), backend: nt.getBackend().name, cpuBackend };
      } catch (e) {
        window.__result = { error: String((e && e.stack) || e) };
      }
    </script>`;
    const site = await serve({ '/fit.html': page });
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--enable-unsafe-webgpu'] });
    try {
      const { result, errors } = await runPage(browser, `${site.url}/fit.html`, 200_000);
      type Run = { loss: number[]; valLoss: number[]; weights: number[] };
      const r = result as { error?: string; cpu: Run; onGpu: Run; device: string; backend: string; cpuBackend: string };
      assert.equal(r.error, undefined, `the page failed: ${r.error}`);
      assert.deepEqual(errors, []);
      assert.equal(r.device, 'webgpu');
      assert.equal(r.backend, r.cpuBackend, 'eager operations stay on the CPU backend');
      t.diagnostic(`losses on the GPU: ${r.onGpu.loss.map((v) => v.toFixed(4)).join(' ')}; eager backend ${r.backend}`);
      const close = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) <= 1e-4 * Math.max(1, Math.abs(b[i])));
      assert.ok(close(r.onGpu.loss, r.cpu.loss), `losses ${r.onGpu.loss} against ${r.cpu.loss}`);
      assert.ok(close(r.onGpu.valLoss, r.cpu.valLoss), `validation losses ${r.onGpu.valLoss} against ${r.cpu.valLoss}`);
      assert.ok(close(r.onGpu.weights, r.cpu.weights), "the first layer's weights");
    } finally {
      await browser.close();
      await site.close();
    }
  });

  test("the playground's MNIST mode trains LeNet-5 on the GPU with ?gpu=force, and keeps a software adapter off by default", { timeout: 240_000 }, async () => {
    const { playgroundSite, servePlayground } = await import('../../src/cli/commands/playground.js');
    const server = await servePlayground(playgroundSite(), 0);
    const a = server.address();
    const base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/`;
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--enable-unsafe-webgpu'] });
    type Mnist = {
      ready(): boolean;
      train(): void;
      pause(): void;
      progress(): { epoch: number; step: number } | null;
      showTestDigit(i: number): Promise<number>;
      prediction(): { probabilities: number[]; guess: string } | null;
      errors(): string[];
    };
    const hook = 'window.__mnist';
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error' && !m.text().includes('favicon')) errors.push(m.text());
      });
      // SwiftShader is a software adapter: the page stays on the CPU unless told to take it.
      await page.goto(`${base}mnist.html`);
      await page.waitForFunction(`${hook}?.ready()`, null, { timeout: 60_000 });
      assert.match((await page.textContent('#status')) ?? '', / · (wasm|ref) backend in a Web Worker$/);
      await page.goto(`${base}mnist.html?gpu=force`);
      await page.waitForFunction(`${hook}?.ready()`, null, { timeout: 60_000 });
      assert.match((await page.textContent('#status')) ?? '', / · WebGPU \(.+\) \+ (wasm|ref) backend in a Web Worker$/);
      await page.evaluate(() => (window as unknown as { __mnist: Mnist }).__mnist.train());
      // Three steps warm up and record on the CPU; the rest replay on the GPU.
      await page.waitForFunction(`(${hook}.progress()?.step ?? 0) >= 8`, null, { timeout: 180_000 });
      await page.evaluate(() => (window as unknown as { __mnist: Mnist }).__mnist.pause());
      await page.evaluate(() => (window as unknown as { __mnist: Mnist }).__mnist.showTestDigit(0));
      const p = await page.evaluate(() => (window as unknown as { __mnist: Mnist }).__mnist.prediction());
      assert.ok(p && Math.abs(p.probabilities.reduce((sum, v) => sum + v, 0) - 1) < 1e-5, 'a prediction with the weights from the GPU');
      assert.deepEqual(errors, []);
      assert.deepEqual(await page.evaluate(() => (window as unknown as { __mnist: Mnist }).__mnist.errors()), []);
    } finally {
      await browser.close();
      await new Promise((ok) => server.close(ok));
    }
  });
});
