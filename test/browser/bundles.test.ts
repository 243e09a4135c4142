// The prebuilt browser bundles in a real browser: a script-tag page and an
// ES-module page each train the README example, on the default backend (wasm)
// and on the reference one, to Node's loss, with no console errors.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launch, readmeExample, runPage, type Site, serve, skipBrowser } from './harness.js';

const EXAMPLE = readmeExample("if (location.search === '?ref') nt.setBackend('ref');");

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
      const { result, errors } = await runPage(browser, `${site.url}${page}`);
      assert.equal(result, `${backend} loss 0.0831, accuracy 97.3%`);
      assert.deepEqual(errors, []);
    });
  }
});
