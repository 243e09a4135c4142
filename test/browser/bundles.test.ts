// The prebuilt browser bundles in a real browser: a script-tag page and an
// ES-module page each train the README example, on the default backend (wasm)
// and on the reference one, to Node's loss, with no console errors.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launch, type Site, serve, skipBrowser } from './harness.js';

const EXAMPLE = `
  const { nn, optim, fit, evaluate, seed, twoSpirals, getBackend, setBackend } = nt;
  if (location.search === '?ref') setBackend('ref');
  seed(0);
  const train = twoSpirals(400, { noise: 0.05 });
  const model = new nn.Sequential(new nn.Linear(2, 32), new nn.Tanh(), new nn.Linear(32, 32), new nn.Tanh(), new nn.Linear(32, 2));
  const optimizer = new optim.Adam(model.parameters(), { lr: 0.01 });
  const history = await fit(model, train, { loss: 'crossEntropy', optimizer, epochs: 300, batchSize: 400, metrics: ['accuracy'] });
  const { accuracy } = await evaluate(model, train, { loss: 'crossEntropy', metrics: ['accuracy'] });
  window.__result = getBackend().name + ' loss ' + history.loss.at(-1).toFixed(4) + ', accuracy ' + (accuracy * 100).toFixed(1) + '%';
`;

const PAGES = {
  '/script.html': `<!doctype html><script src="/dist/browser/neurite.iife.js"></script><script>(async () => { const nt = neurite; ${EXAMPLE} })().catch((e) => { window.__result = 'error: ' + e.message; });</script>`,
  '/module.html': `<!doctype html><script type="module">import * as nt from '/dist/browser/neurite.esm.js'; try { ${EXAMPLE} } catch (e) { window.__result = 'error: ' + e.message; }</script>`,
};

describe('the browser bundles in Chromium', { skip: skipBrowser }, () => {
  let site: Site;
  let browser: Browser;
  before(async () => {
    site = await serve(PAGES);
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await site?.close();
  });

  for (const [page, backend] of Object.keys(PAGES).flatMap((p) => [
    [p, 'wasm'],
    [`${p}?ref`, 'ref'],
  ])) {
    test(`${page} trains the README example on the ${backend} backend to the same loss as Node`, async () => {
      const tab = await browser.newPage();
      const errors: string[] = [];
      tab.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      tab.on('pageerror', (e) => errors.push(e.message));
      await tab.goto(`${site.url}${page}`);
      await tab.waitForFunction(() => (window as { __result?: string }).__result !== undefined, undefined, { timeout: 120_000 });
      assert.equal(await tab.evaluate(() => (window as { __result?: string }).__result), `${backend} loss 0.0831, accuracy 97.3%`);
      assert.deepEqual(errors, []);
      await tab.close();
    });
  }
});
