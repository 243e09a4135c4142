// Regenerates the playground's screenshots in docs/ (the README shows them):
//   npm run figures:playground     (needs Chromium at /usr/bin/chromium; about 30 s)
// Each is the built site, served as `neurite playground` serves it, driven to
// a pinned state through its test hook.
import { resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { playgroundSite, servePlayground } from '../dist/src/cli/commands/playground.js';

const root = resolve(import.meta.dirname, '..');
const server = await servePlayground(playgroundSite(), 0);
const base = `http://127.0.0.1:${server.address().port}/`;
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });

async function shot(name, url, drive, size = { width: 1300, height: 1000 }) {
  const page = await browser.newPage({ viewport: size });
  await page.goto(`${base}${url}`);
  await drive(page);
  await page.waitForTimeout(300);
  await page.screenshot({ path: resolve(root, 'docs', name) });
  await page.close();
  console.log(`docs/${name}`);
}

const ready = (page) => page.waitForFunction(() => typeof window.__pg === 'object').then(() => page.evaluate(() => window.__pg.epoch()));
try {
  await shot('playground-default.png', '#mode=default&seed=0.12345&initSeed=1', ready);
  await shot('playground.png', '#mode=default&dataset=spiral&seed=0.777&initSeed=2&networkShape=8,8,8&sinX=true&sinY=true&showTestData=true', async (page) => {
    await ready(page);
    await page.evaluate(() => window.__pg.step(300));
  });
  await shot(
    'playground-curve-lecture.png',
    '#mode=default&problem=curve&curveDataset=abs&seed=0.2&initSeed=3&networkShape=4&diagram=lecture',
    async (page) => {
      await ready(page);
      await page.evaluate(() => window.__pg.step(400));
    },
  );
  await shot(
    'playground-mnist.png',
    'mnist.html',
    async (page) => {
      await page.waitForFunction(() => window.__mnist?.ready(), null, { timeout: 60_000 });
      await page.evaluate(() => window.__mnist.train());
      await page.waitForFunction(() => (window.__mnist.progress()?.epoch ?? 0) >= 2, null, { timeout: 240_000 });
      await page.evaluate(() => window.__mnist.pause());
      await page.evaluate(() => window.__mnist.showTestDigit(11));
    },
    { width: 1300, height: 700 },
  );
} finally {
  await browser.close();
  server.close();
}
