// Browser tests drive Debian's Chromium through playwright-core against pages
// served here on 127.0.0.1. Without /usr/bin/chromium they are skipped with
// one line saying how to enable them; .ci/run installs it.
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const ROOT = resolve(import.meta.dirname, '..', '..', '..');

/** The skip reason when Chromium is absent, else false (node:test's `skip` option). */
export const skipBrowser: string | false = existsSync(CHROMIUM)
  ? false
  : `browser tests need Chromium at ${CHROMIUM}: install it with "apt-get install chromium" (.ci/run does) to run them`;

const TYPES: Record<string, string> = {
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.html': 'text/html',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

export interface Site {
  url: string;
  close(): Promise<void>;
}

/**
 * Serve the repository's files, plus the given pages by path, on 127.0.0.1.
 * `isolated` adds the headers that make a page cross-origin isolated
 * (SharedArrayBuffer), which the wasm backend's threads will need.
 */
export async function serve(pages: Record<string, string>, options: { isolated?: boolean; headers?: Record<string, string> } = {}): Promise<Site> {
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    const headers: Record<string, string> = {
      ...(options.isolated ? { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' } : {}),
      ...options.headers,
    };
    if (path === '/favicon.ico') {
      res.writeHead(204);
      res.end();
      return;
    }
    if (path in pages) {
      res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(path)] ?? 'text/html' });
      res.end(pages[path]);
      return;
    }
    const file = normalize(join(ROOT, path));
    if (!file.startsWith(ROOT) || !existsSync(file)) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

/** Headless Chromium; --no-sandbox because CI runs as root. */
export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}

/**
 * The README's training example as page code over the bundle's namespace `nt`,
 * after `prelude` (which may pick a backend); it leaves
 * 'BACKEND loss L, accuracy A%' in window.__result.
 */
export function readmeExample(prelude = ''): string {
  return `
  const { nn, optim, fit, evaluate, seed, twoSpirals, getBackend } = nt;
  ${prelude}
  seed(0);
  const train = twoSpirals(400, { noise: 0.05 });
  const model = new nn.Sequential(new nn.Linear(2, 32), new nn.Tanh(), new nn.Linear(32, 32), new nn.Tanh(), new nn.Linear(32, 2));
  const optimizer = new optim.Adam(model.parameters(), { lr: 0.01 });
  const history = await fit(model, train, { loss: 'crossEntropy', optimizer, epochs: 300, batchSize: 400, metrics: ['accuracy'] });
  const { accuracy } = await evaluate(model, train, { loss: 'crossEntropy', metrics: ['accuracy'] });
  window.__result = getBackend().name + ' loss ' + history.loss.at(-1).toFixed(4) + ', accuracy ' + (accuracy * 100).toFixed(1) + '%';
`;
}

/** Opens `url` in a new tab, waits for the page to set window.__result, and returns it with the console errors seen. */
export async function runPage(browser: Browser, url: string, timeoutMs = 180_000): Promise<{ result: unknown; errors: string[] }> {
  const tab = await browser.newPage();
  const errors: string[] = [];
  tab.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  tab.on('pageerror', (e) => errors.push(e.message));
  await tab.goto(url);
  await tab.waitForFunction(() => (window as { __result?: unknown }).__result !== undefined, undefined, { timeout: timeoutMs });
  const result = await tab.evaluate(() => (window as { __result?: unknown }).__result);
  await tab.close();
  return { result, errors };
}

/** The built playground served as `neurite playground` serves it, and a Chromium to open it in. */
export interface PlaygroundSession {
  browser: Browser;
  base: string;
  close(): Promise<void>;
  /** A page at `base + query + '#' + hash`, once its test hook answers; console errors collected. */
  open(hash: string, query?: string): Promise<{ page: Page; console: string[] }>;
}

export async function playgroundSession(): Promise<PlaygroundSession> {
  const { playgroundSite, servePlayground } = await import('../../src/cli/commands/playground.js');
  const server = await servePlayground(playgroundSite(), 0);
  const a = server.address();
  const base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/`;
  const browser = await launch();
  return {
    browser,
    base,
    close: async () => {
      await browser.close();
      await new Promise((ok) => server.close(ok));
    },
    open: async (hash, query = '') => {
      const page = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
      const messages: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' && !m.text().includes('favicon')) messages.push(m.text());
      });
      page.on('pageerror', (e) => messages.push(e.message));
      await page.goto(`${base}${query}#${hash}`);
      await page.waitForFunction(() => typeof (window as unknown as { __pg?: unknown }).__pg === 'object');
      await page.evaluate(() => (window as unknown as { __pg: { epoch(): Promise<number> } }).__pg.epoch());
      return { page, console: messages };
    },
  };
}
