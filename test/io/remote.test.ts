// Loading a model from a URL (fetch; the same code serves browsers), and the
// browser-only targets refused with a typed error on Node.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadModel, nn, randn, saveModel, seed, type Tensor } from '../../src/index.js';

test('loadModel(url) fetches model.json and model.safetensors from the URL folder', async () => {
  seed(2);
  const model = new nn.Sequential(new nn.Linear(3, 2), new nn.Tanh());
  const dir = mkdtempSync(join(tmpdir(), 'neurite-remote-'));
  await saveModel(model, dir);
  const server = createServer((req, res) => {
    const url = req.url ?? '';
    const name = url.startsWith('/models/tiny/') ? url.slice('/models/tiny/'.length) : '';
    try {
      const body = readFileSync(join(dir, name));
      res.writeHead(200);
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  try {
    const loaded = await loadModel(`http://127.0.0.1:${port}/models/tiny/`);
    const x = randn([4, 3]);
    assert.deepEqual((loaded.forward(x) as Tensor).toArray(), model.forward(x).toArray());
    await assert.rejects(() => loadModel(`http://127.0.0.1:${port}/models/missing/`), {
      name: 'SerializationError',
      message: `loadModel: http://127.0.0.1:${port}/models/missing/model.json answered HTTP 404`,
    });
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('browser targets on Node are SerializationErrors that say what they need', async () => {
  const model = new nn.Linear(2, 2);
  await assert.rejects(() => saveModel(model, 'indexeddb://m'), {
    name: 'SerializationError',
    message: 'saveModel: indexeddb:// needs IndexedDB, which this environment does not have (it is a browser API)',
  });
  await assert.rejects(() => saveModel(model, 'downloads://m'), { name: 'SerializationError', message: /downloads:\/\/ needs a browser page/ });
});
