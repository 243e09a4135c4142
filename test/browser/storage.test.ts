// Saving and loading models in a real browser: IndexedDB, downloads read back
// through a file input, and a URL; the same files as on Node.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launch, type Site, serve, skipBrowser } from './harness.js';

const PAGE = `<!doctype html><input type="file" id="files" multiple>
<script type="module">
  import * as nt from '/dist/browser/neurite.esm.js';
  window.nt = nt;
  nt.seed(1);
  window.model = new nt.nn.Sequential(new nt.nn.Linear(3, 4), new nt.nn.ReLU(), new nt.nn.Linear(4, 2));
  window.probe = nt.randn([5, 3]);
  window.out = (m) => Array.from(m.forward(window.probe).data);
  window.ready = true;
</script>`;

describe('saving and loading models in Chromium', { skip: skipBrowser }, () => {
  let site: Site;
  let browser: Browser;
  before(async () => {
    site = await serve({ '/storage.html': PAGE });
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await site?.close();
  });

  test('indexeddb:// round-trips a model; a missing name is a SerializationError', async () => {
    const tab = await browser.newPage();
    await tab.goto(`${site.url}/storage.html`);
    await tab.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
    const result = await tab.evaluate(async () => {
      // biome-ignore lint/suspicious/noExplicitAny: the page's globals
      const w = window as any;
      await w.nt.saveModel(w.model, 'indexeddb://tiny');
      const loaded = await w.nt.loadModel('indexeddb://tiny');
      let missing = '';
      try {
        await w.nt.loadModel('indexeddb://nothing-here');
      } catch (e) {
        missing = `${(e as Error).name}: ${(e as Error).message}`;
      }
      return { same: JSON.stringify(w.out(loaded)) === JSON.stringify(w.out(w.model)), missing };
    });
    assert.equal(result.same, true);
    assert.equal(result.missing, "SerializationError: loadModel: no model named 'nothing-here' in IndexedDB");
    await tab.close();
  });

  test('ONNX in the page: toOnnx bytes read back by fromOnnx predict the same, and a Node export reads in the page', async () => {
    const tab = await browser.newPage();
    await tab.goto(`${site.url}/storage.html`);
    await tab.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
    const nodeFile = Array.from(readFileSync(new URL('../../../test/fixtures/onnx/mlp.onnx', import.meta.url)));
    const result = await tab.evaluate(async (bytes) => {
      // biome-ignore lint/suspicious/noExplicitAny: the page's globals
      const w = window as any;
      const file = w.nt.toOnnx(w.model, { inputShape: [3] });
      const back = w.nt.fromOnnx(file);
      const pytorch = w.nt.fromOnnx(new Uint8Array(bytes));
      const out = pytorch.forward(w.nt.zeros([2, 8]));
      return { same: JSON.stringify(w.out(back)) === JSON.stringify(w.out(w.model)), size: file.length, shape: out.shape };
    }, nodeFile);
    assert.equal(result.same, true);
    assert.ok(result.size > 100);
    assert.deepEqual(result.shape, [2, 3]);
    await tab.close();
  });

  test('downloads:// gives model.json and model.safetensors, which load back from a file input', async () => {
    const tab = await browser.newPage();
    await tab.goto(`${site.url}/storage.html`);
    await tab.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true);
    const downloads: { name: string; path: string }[] = [];
    tab.on('download', async (d) => {
      downloads.push({ name: d.suggestedFilename(), path: (await d.path()) ?? '' });
    });
    await tab.evaluate(() =>
      (window as unknown as { nt: { saveModel: (m: unknown, t: string) => Promise<void> }; model: unknown }).nt.saveModel(
        (window as unknown as { model: unknown }).model,
        'downloads://tiny',
      ),
    );
    const deadline = Date.now() + 10_000;
    while ((downloads.length < 2 || downloads.some((d) => d.path === '')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(downloads.map((d) => d.name).sort(), ['tiny.model.json', 'tiny.model.safetensors']);
    await tab.setInputFiles(
      '#files',
      downloads.map((d) => ({ name: d.name, mimeType: 'application/octet-stream', buffer: readFileSync(d.path) })),
    );
    const same = await tab.evaluate(async () => {
      // biome-ignore lint/suspicious/noExplicitAny: the page's globals
      const w = window as any;
      const loaded = await w.nt.loadModel(document.querySelector<HTMLInputElement>('#files')?.files);
      return JSON.stringify(w.out(loaded)) === JSON.stringify(w.out(w.model));
    });
    assert.equal(same, true);
    await tab.close();
  });
});
