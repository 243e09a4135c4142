// The wasm backend in a real browser, on a page served with and without the
// cross-origin isolation headers: with them the module's memory is shared and
// workers join (two threads here), without them it runs on one thread and
// copies. Either way every accelerated kernel, forward and backward, matches
// the reference backend in the same page, and the README example trains to
// Node's loss.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launch, readmeExample, runPage, type Site, serve, skipBrowser } from './harness.js';

/**
 * Runs each case on the reference backend and on wasm (at one thread and at
 * every thread the page has), comparing outputs and input gradients at 1e-5
 * relative (scaled by sqrt(k) for products of length k). Sizes are the
 * awkward ones of the Node parity test, above and below the thresholds where
 * the module is called.
 */
const PARITY = `
  const { tensor, Generator, setBackend, getBackend, setNumThreads, backendReady, nn, optim } = nt;
  const F = nn.functional;
  const g = new Generator(5);
  const rand = (n) => Float32Array.from({ length: n }, () => 2 * g.nextDouble() - 1);
  const cases = [];
  const add = (name, shapes, fn, scale = 1) => cases.push({ name, inputs: shapes.map((s) => ({ shape: s, data: rand(s.reduce((a, b) => a * b, 1)) })), fn, scale });
  for (const n of [1, 7, 33, 257, 600, 1031, 5000]) {
    for (const op of ['relu', 'sigmoid', 'tanh', 'exp']) add(op + ' ' + n, [[n]], ([x]) => x[op]());
    for (const op of ['add', 'sub', 'mul', 'div']) add(op + ' ' + n, [[n], [n]], ([a, b]) => a[op](op === 'div' ? b.abs().add(0.5) : b));
    add('sum ' + n, [[n]], ([x]) => x.sum(), Math.sqrt(n));
    add('sum rows ' + n, [[n, 9]], ([x]) => x.sum(0), Math.sqrt(n));
  }
  for (const [m, n, k] of [[1, 1, 1], [7, 33, 5], [33, 7, 257], [64, 65, 66], [129, 3, 600], [130, 131, 132]]) {
    add('matmul ' + m + 'x' + n + 'x' + k, [[m, k], [k, n]], ([a, b]) => a.matmul(b), Math.sqrt(k));
    add('matmul tA ' + m + 'x' + n + 'x' + k, [[k, m], [k, n]], ([a, b]) => a.transpose().matmul(b), Math.sqrt(k));
    add('matmul tB ' + m + 'x' + n + 'x' + k, [[m, k], [n, k]], ([a, b]) => a.matmul(b.transpose()), Math.sqrt(k));
    add('matmul tA tB ' + m + 'x' + n + 'x' + k, [[k, m], [n, k]], ([a, b]) => a.transpose().matmul(b.transpose()), Math.sqrt(k));
    add('linear ' + m + 'x' + n + 'x' + k, [[m, k], [n, k], [n]], ([x, w, b]) => F.linear ? F.linear(x, w, b) : x.matmul(w.transpose()).add(b), Math.sqrt(k));
  }
  add('batched matmul', [[3, 40, 50], [3, 50, 60]], ([a, b]) => a.matmul(b), Math.sqrt(50));
  for (const [n, c, h, o, k, stride, padding] of [[2, 3, 13, 5, 3, 1, 1], [4, 1, 28, 6, 5, 1, 2], [3, 6, 14, 16, 5, 1, 0], [2, 4, 17, 8, 3, 2, 1]]) {
    add('conv2d ' + [n, c, h, o, k, stride, padding], [[n, c, h, h], [o, c, k, k], [o]], ([x, w, b]) => nt.conv2d(x, w, b, { stride, padding }), Math.sqrt(c * k * k * n));
  }
  add('maxPool2d', [[3, 6, 28, 28]], ([x]) => nt.maxPool2d(x, { kernelSize: 2 }));
  add('maxPool2d 3x3 s2', [[2, 5, 17, 17]], ([x]) => nt.maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1 }));
  add('avgPool2d', [[3, 6, 28, 28]], ([x]) => nt.avgPool2d(x, { kernelSize: 2 }));
  for (const [n, hidden] of [[1, 7], [33, 64], [64, 257]]) {
    add('lstm cell ' + n + 'x' + hidden, [[n, 4 * hidden], [n, hidden]], ([gates, c]) => { const [h, c2] = nn.lstmCell(gates, c); return h.add(c2.mul(0.5)); });
  }
  add('cross entropy', [[600, 10]], ([x]) => F.crossEntropy(x, tensor(Int32Array.from({ length: 600 }, (_, i) => (i * 7) % 10), { dtype: 'int32' })));

  /** Outputs and input gradients of a case on the active backend, as plain arrays. */
  const run = (c) => {
    const inputs = c.inputs.map((i) => tensor(i.data, { shape: i.shape, requiresGrad: true }));
    const y = c.fn(inputs);
    const w = tensor(Float32Array.from({ length: y.size }, (_, i) => 1 + ((i * 13) % 7) / 7), { shape: y.shape });
    y.mul(w).sum().backward();
    return [Float32Array.from(y.data), ...inputs.map((t) => Float32Array.from(t.grad.data))];
  };
  /** Optimizer steps: SGD with momentum and Adam, five steps each on 6,000 weights (the fused kernels), on the active backend. */
  const steps = () => {
    const sg = new Generator(9);
    const r = (n) => Float32Array.from({ length: n }, () => 2 * sg.nextDouble() - 1);
    const out = [];
    for (const make of [(p) => new optim.SGD(p, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 }), (p) => new optim.Adam(p, { lr: 0.01, amsgrad: true })]) {
      const p = new nn.Parameter(tensor(r(6000), { shape: [6000] }));
      const opt = make([p]);
      const grad = tensor(r(6000), { shape: [6000] });
      for (let s = 0; s < 5; s++) {
        opt.zeroGrad();
        p.mul(grad).sum().backward();
        opt.step();
      }
      out.push(Float32Array.from(p.data));
    }
    return out;
  };
  setBackend('ref');
  const expected = cases.map(run);
  const expectedSteps = steps();
  setBackend('wasm');
  await backendReady();
  const maxThreads = setNumThreads(64);
  const report = { isolated: self.crossOriginIsolated === true, cores: navigator.hardwareConcurrency, maxThreads, describe: getBackend().describe(), failures: [], checked: 0 };
  for (const threads of [...new Set([1, maxThreads])]) {
    setNumThreads(threads);
    cases.forEach((c, ci) => {
      const got = run(c);
      got.forEach((arr, ai) => {
        const want = expected[ci][ai];
        for (let i = 0; i < want.length; i++) {
          const tol = 1e-5 * c.scale * Math.max(1, Math.abs(want[i]));
          if (!(Math.abs(arr[i] - want[i]) <= tol)) {
            report.failures.push(c.name + ' (' + threads + ' threads) ' + (ai === 0 ? 'output' : 'grad of input ' + (ai - 1)) + ' element ' + i + ': wasm ' + arr[i] + ', ref ' + want[i]);
            break;
          }
        }
        report.checked++;
      });
    });
    steps().forEach((arr, si) => {
      const want = expectedSteps[si];
      const bad = want.findIndex((v, i) => !(Math.abs(arr[i] - v) <= 1e-5 * Math.max(1, Math.abs(v))));
      if (bad >= 0) report.failures.push((si === 0 ? 'SGD' : 'Adam') + ' step (' + threads + ' threads) element ' + bad + ': wasm ' + arr[bad] + ', ref ' + want[bad]);
      report.checked++;
    });
  }
  window.__result = report;
`;

const page = (body: string) =>
  `<!doctype html><script type="module">import * as nt from '/dist/browser/neurite.esm.js'; try { ${body} } catch (e) { window.__result = { error: e.message + ' ' + e.stack }; }</script>`;

const TRAIN = readmeExample('await nt.backendReady();');

/**
 * The README example in a module Web Worker (where an app trains so its page
 * never stalls): the worker's own wasm backend, whose workers are then nested
 * workers, reports its backend, threads and result to the page.
 */
const WORKER = `import * as nt from '/dist/browser/neurite.esm.js';
  try {
    ${TRAIN}
    postMessage({ result: self.__result ?? globalThis.__result, describe: nt.getBackend().describe(), threads: nt.getNumThreads(), cores: navigator.hardwareConcurrency, isolated: self.crossOriginIsolated });
  } catch (e) {
    postMessage({ error: e.message });
  }`.replace(/window\.__result/g, 'globalThis.__result');
const IN_WORKER = `<!doctype html><script>
  const w = new Worker('/worker.js', { type: 'module' });
  w.onmessage = (e) => { window.__result = e.data; };
  w.onerror = (e) => { window.__result = { error: e.message || 'worker error' }; };
</script>`;

const PAGES = { '/parity.html': page(PARITY), '/train.html': page(TRAIN), '/worker.html': IN_WORKER, '/worker.js': WORKER };

for (const isolated of [true, false]) {
  describe(`the wasm backend in Chromium, ${isolated ? 'cross-origin isolated (shared memory, workers)' : 'not isolated (one thread, copies)'}`, {
    skip: skipBrowser,
  }, () => {
    let site: Site;
    let browser: Browser;
    before(async () => {
      site = await serve(PAGES, { isolated });
      browser = await launch();
    });
    after(async () => {
      await browser?.close();
      await site?.close();
    });

    const open = (path: string) => runPage(browser, `${site.url}${path}`);

    test('every accelerated kernel, forward and backward, matches the reference in the page', async () => {
      const { result, errors } = await open('/parity.html');
      const report = result as { isolated: boolean; cores: number; maxThreads: number; describe: string; failures: string[]; checked: number; error?: string };
      assert.equal(report.error, undefined);
      assert.equal(report.isolated, isolated);
      if (isolated) {
        assert.equal(report.maxThreads, Math.min(report.cores, 16), `workers joined (${report.describe})`);
        assert.match(report.describe, /shared memory/);
      } else {
        assert.equal(report.maxThreads, 1);
        assert.match(report.describe, /unshared memory/);
      }
      assert.deepEqual(report.failures, []);
      assert.ok(report.checked > 150, `${report.checked} arrays checked`);
      assert.deepEqual(errors, []);
    });

    test('the README example trains in a Web Worker to the same loss as Node', async () => {
      const { result, errors } = await open('/worker.html');
      const report = result as { result?: string; describe?: string; threads?: number; cores?: number; isolated?: boolean; error?: string };
      assert.equal(report.error, undefined);
      assert.equal(report.result, 'wasm loss 0.0831, accuracy 97.3%');
      assert.equal(report.isolated, isolated);
      assert.match(report.describe ?? '', isolated ? /shared memory/ : /unshared memory/);
      assert.equal(report.threads, isolated ? Math.min(report.cores ?? 1, 16) : 1);
      assert.deepEqual(errors, []);
    });

    test('the README example trains to the same loss as Node', async () => {
      const { result, errors } = await open('/train.html');
      assert.equal(result, 'wasm loss 0.0831, accuracy 97.3%');
      assert.deepEqual(errors, []);
    });
  });
}

describe('the wasm backend in Chromium on an isolated page whose Content-Security-Policy forbids blob: workers', { skip: skipBrowser }, () => {
  let site: Site;
  let browser: Browser;
  before(async () => {
    site = await serve(PAGES, { isolated: true, headers: { 'Content-Security-Policy': "worker-src 'self'" } });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await site?.close();
  });

  test('the workers cannot start: one warning, and training goes on to the same loss', async () => {
    const tab = await browser.newPage();
    const messages: string[] = [];
    tab.on('console', (m) => messages.push(`${m.type()}: ${m.text()}`));
    tab.on('pageerror', (e) => messages.push(`pageerror: ${e.message}`));
    await tab.goto(`${site.url}/train.html`);
    await tab.waitForFunction(() => (window as { __result?: unknown }).__result !== undefined, undefined, { timeout: 180_000 });
    assert.equal(await tab.evaluate(() => (window as { __result?: unknown }).__result), 'wasm loss 0.0831, accuracy 97.3%');
    await tab.close();
    const warnings = messages.filter((m) => m.includes('neurite: a wasm worker could not start'));
    assert.equal(warnings.length, 1, messages.join('\n'));
    // Besides the browser's own report of the refused worker, nothing went wrong.
    const other = messages.filter((m) => !m.includes('neurite: a wasm worker could not start') && !/Content Security Policy|worker-src/i.test(m));
    assert.deepEqual(other, []);
  });
});
