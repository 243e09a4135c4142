// The playground's speed in Chromium: epochs per second, long tasks and frame
// gaps during 5 s of Play. A timing test, so it runs alone (run-tests.mjs runs
// *.serial.test.js files one at a time after the rest): beside another test
// file on a 2-core machine, the renderer is preempted mid-task and the
// figures say more about the neighbour than about the page.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { type PlaygroundSession, playgroundSession, skipBrowser } from './harness.js';

const skip = skipBrowser || (process.env.NEURITE_BACKEND && process.env.NEURITE_BACKEND !== 'ref' ? 'browser tests run in the ref pass' : false);

interface Hook {
  epoch(): Promise<number>;
  playing(): boolean;
  client(): string;
}
declare const __pg: Hook;

describe('playground speed in Chromium', { skip }, () => {
  let session: PlaygroundSession;
  before(async () => {
    session = await playgroundSession();
  });
  after(() => session?.close());
  const open = (hash: string, query = ''): Promise<{ page: Page; console: string[] }> => session.open(hash, query);

  for (const mode of ['worker', 'main-thread'] as const) {
    it(`plays without a main-thread task over 50 ms, redrawing at least 10 times a second, above its epochs-per-second floor (${mode})`, async () => {
      const { page, console } = await open('mode=default&dataset=circle&seed=0.3&initSeed=2', mode === 'worker' ? '' : '?worker=0');
      assert.equal(await page.evaluate(() => __pg.client()), mode);
      await page.evaluate(() => {
        const w = window as unknown as { __long: number[]; __gap: number };
        w.__long = [];
        w.__gap = 0;
        new PerformanceObserver((list) => {
          for (const e of list.getEntries()) w.__long.push(e.duration);
        }).observe({ type: 'longtask', buffered: false });
        let last = performance.now();
        const tick = () => {
          const now = performance.now();
          w.__gap = Math.max(w.__gap, now - last);
          last = now;
          requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      });
      await page.keyboard.press('Tab');
      await page.focus('body');
      // Three 5-second windows at most: on a 2-core machine the worker, Chromium's processes and the test runner share
      // the cores, and the OS now and then stretches one task of an otherwise quiet page past 50 ms (clean-clone CI
      // on the 2-vCPU VM, nothing else running: 60 ms and then 56 ms in the main-thread mode, whose slices are 8 ms).
      // A page that really blocks its main thread (a slow redraw, training on it in big slices) fails every window.
      let long: number[] = [];
      let gap = 0;
      let rate = 0;
      for (let attempt = 1; attempt <= 3; attempt++) {
        await page.evaluate(() => {
          const w = window as unknown as { __long: number[]; __gap: number };
          w.__long.length = 0;
          w.__gap = 0;
        });
        await page.keyboard.press('Space');
        assert.equal(await page.evaluate(() => __pg.playing()), true);
        const e0 = await page.evaluate(() => __pg.epoch());
        const t0 = Date.now();
        await page.waitForTimeout(5000);
        const e1 = await page.evaluate(() => __pg.epoch());
        const seconds = (Date.now() - t0) / 1000;
        await page.keyboard.press('Space');
        ({ long, gap } = await page.evaluate(() => ({
          long: [...(window as unknown as { __long: number[] }).__long],
          gap: (window as unknown as { __gap: number }).__gap,
        })));
        rate = (e1 - e0) / seconds;
        process.stdout.write(
          `# playground ${mode}, window ${attempt}: ${rate.toFixed(0)} epochs/s, longest task ${Math.max(0, ...long).toFixed(0)} ms, largest frame gap ${gap.toFixed(0)} ms\n`,
        );
        if (Math.max(0, ...long) <= 50 && gap < 100) break;
      }
      const drawing = await page.evaluate(() =>
        (window as unknown as { __pg: { renderMs(): { max: number; median: number; frames: number } } }).__pg.renderMs(),
      );
      process.stdout.write(
        `# playground ${mode}: drawing per frame median ${drawing.median.toFixed(1)} ms, max ${drawing.max.toFixed(1)} ms over ${drawing.frames} frames\n`,
      );
      // The bounds: no task over 50 ms during Play, and the maps and charts redrawn at least 10 times a
      // second (no frame gap of 100 ms). The worker trains ~100-200 epochs/s; the main-thread fallback trains in
      // 8 ms slices. The page's own drawing, about 1-2 ms a frame (median), is checked apart: it is the part the
      // page controls.
      assert.ok(Math.max(0, ...long) <= 50, `long tasks: ${long.join(', ')}`);
      assert.ok(drawing.median <= 8, `drawing median ${drawing.median} ms`);
      assert.ok(gap < 100, `frame gap ${gap} ms`);
      assert.ok(rate >= (mode === 'worker' ? 60 : 20), `${rate.toFixed(0)} epochs/s`);
      assert.match((await page.textContent('#live')) ?? '', /^Epoch \d+\. Training loss \d\.\d{3}, test loss \d\.\d{3}\.$/);
      assert.deepEqual(console, []);
      await page.close();
    });
  }
});
