// The playground in Chromium: the built app (dist/playground-site) served the
// way `neurite playground` serves it, driven through its test hook window.__pg
// and through real clicks and keys.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { type PlaygroundSession, playgroundSession, ROOT, skipBrowser } from './harness.js';

// The browser pass runs once, on the reference backend's turn (the page picks its own backend).
const skip = skipBrowser || (process.env.NEURITE_BACKEND && process.env.NEURITE_BACKEND !== 'ref' ? 'browser tests run in the ref pass' : false);

interface Hook {
  spec(): unknown;
  hash(): string;
  step(n?: number): Promise<number>;
  epoch(): Promise<number>;
  losses(): Promise<{ train: string; test: string; testExact: number; testScore: number }>;
  weightsHash(): Promise<string>;
  gridAt(x: number, y: number): Promise<number>;
  playing(): boolean;
  rate(): number;
  client(): string;
  errors(): string[];
  curveAt(x: number): Promise<{ fit: number; sum: number; shown: boolean } | null>;
  diagramSvg(): string;
  compareB(): Promise<{ epoch: number; testLoss: number; hash: string; spec: { optimizer: string; seed: string }; history: number } | null>;
  exportModel(): Promise<{ json: string; typescript: string }>;
  importModel(text: string): Promise<boolean>;
}
declare const __pg: Hook;

describe('playground in Chromium', { skip }, () => {
  let session: PlaygroundSession;
  let browser: Browser;
  let base = '';
  before(async () => {
    session = await playgroundSession();
    ({ browser, base } = session);
  });
  after(() => session?.close());
  const open = (hash: string, query = ''): Promise<{ page: Page; console: string[] }> => session.open(hash, query);

  it('trains pinned-seed xor in the worker: the map is blue at (3, 3) and orange at (3, −3); discretize leaves two colours', async () => {
    const { page, console } = await open('mode=default&dataset=xor&seed=0.1001&initSeed=1');
    assert.equal(await page.evaluate(() => __pg.client()), 'worker');
    await page.evaluate(() => __pg.step(200));
    const losses = await page.evaluate(() => __pg.losses());
    assert.ok(losses.testExact < 0.05, `test loss ${losses.test}`);
    assert.ok((await page.evaluate(() => __pg.gridAt(3, 3))) > 0);
    assert.ok((await page.evaluate(() => __pg.gridAt(3, -3))) < 0);
    await page.click('#discretize');
    assert.match(await page.evaluate(() => __pg.hash()), /discretize=true/);
    const colours = await page.evaluate(() => {
      const c = document.getElementById('heatmap') as HTMLCanvasElement;
      const d = (c.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, c.width, c.height).data;
      const set = new Set<number>();
      for (let i = 0; i < d.length; i += 4) set.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      return set.size;
    });
    assert.equal(colours, 2);
    assert.deepEqual(console, []);
    await page.close();
  });

  it('is deterministic: the same URL twice gives the same weights and losses after 100 epochs; Reset restores the initial weights', async () => {
    const hash = 'mode=default&dataset=spiral&seed=0.25&initSeed=9&networkShape=6,6&sinX=true&sinY=true&noise=10';
    const runs = [];
    for (let k = 0; k < 2; k++) {
      const { page } = await open(hash);
      const initial = await page.evaluate(() => __pg.weightsHash());
      await page.evaluate(() => __pg.step(100));
      runs.push({ hash: await page.evaluate(() => __pg.weightsHash()), losses: await page.evaluate(() => __pg.losses()) });
      await page.click('#reset');
      assert.equal(await page.evaluate(() => __pg.epoch()), 0);
      assert.equal(await page.evaluate(() => __pg.weightsHash()), initial);
      await page.close();
    }
    assert.equal(runs[0].hash, runs[1].hash);
    assert.equal(runs[0].losses.test, runs[1].losses.test);
    assert.equal(runs[0].losses.train, runs[1].losses.train);
  });

  it('compat mode reproduces the recorded playground.tensorflow.org runs to 3 decimals', async () => {
    const fixture = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'playground-compat.json'), 'utf8')) as {
      runs: { hash: string; losses: Record<string, { train: number; test: number }> }[];
    };
    for (const run of fixture.runs.slice(0, 3)) {
      const { page } = await open(run.hash);
      assert.equal(((await page.evaluate(() => __pg.spec())) as { mode: string }).mode, 'compat');
      await page.evaluate(() => __pg.step(100));
      const l = await page.evaluate(() => __pg.losses());
      assert.equal(l.train, run.losses[100].train.toFixed(3), run.hash.slice(0, 60));
      assert.equal(l.test, run.losses[100].test.toFixed(3), run.hash.slice(0, 60));
      await page.close();
    }
  });

  it('controls change the spec and the hash: LR keeps the epoch, activation resets it; Back restores the previous spec', async () => {
    const { page, console } = await open('mode=default&dataset=gauss&seed=0.4&initSeed=3');
    await page.evaluate(() => __pg.step(5));
    await page.selectOption('#learningRate', '0.1');
    assert.match(await page.evaluate(() => __pg.hash()), /learningRate=0\.1&/);
    assert.equal(await page.evaluate(() => __pg.epoch()), 5);
    await page.selectOption('#activation', 'relu');
    assert.match(await page.evaluate(() => __pg.hash()), /activation=relu&/);
    assert.equal(await page.evaluate(() => __pg.epoch()), 0);
    await page.click('#add-layer');
    assert.deepEqual(((await page.evaluate(() => __pg.spec())) as { networkShape: number[] }).networkShape, [4, 2, 2]);
    await page.click('[data-dataset="xor"]');
    assert.match(await page.evaluate(() => __pg.hash()), /dataset=xor&/);
    await page.goBack();
    await page.waitForFunction(() => location.hash.includes('dataset=gauss'));
    assert.equal(((await page.evaluate(() => __pg.spec())) as { dataset: string }).dataset, 'gauss');
    assert.deepEqual(((await page.evaluate(() => __pg.spec())) as { networkShape: number[] }).networkShape, [4, 2, 2]);
    await page.goForward();
    await page.waitForFunction(() => location.hash.includes('dataset=xor'));
    assert.equal(((await page.evaluate(() => __pg.spec())) as { dataset: string }).dataset, 'xor');
    assert.deepEqual(console, []);
    await page.close();
  });

  it('a bad URL value shows a warning and a NaN never reaches the spec', async () => {
    const { page } = await open('mode=default&noise=abc&networkShape=99&learningRate=zzz');
    const text = (await page.textContent('#messages')) ?? '';
    assert.match(text, /noise: "abc" is not a number/);
    assert.match(text, /networkShape: 99 neurons is outside 1–32; using 32/);
    assert.doesNotMatch(JSON.stringify(await page.evaluate(() => __pg.spec())), /null|NaN/);
    await page.close();
  });

  it('a CSV upload replaces the data; a bad CSV names its line and keeps the data', async () => {
    const { page } = await open('mode=default&dataset=circle&seed=0.6&initSeed=1');
    const good = join(tmpdir(), `pg-${process.pid}.csv`);
    const rows = ['x1,x2,label'];
    for (let i = 0; i < 40; i++) rows.push(`${(i % 10) - 5},${Math.floor(i / 10) - 2},${i % 10 < 5 ? 0 : 1}`);
    writeFileSync(good, `${rows.join('\n')}\n`);
    await page.setInputFiles('#csv-file', good);
    await page.waitForFunction(() => location.hash.includes('dataset=user'));
    await page.evaluate(() => __pg.step(30));
    assert.ok((await page.evaluate(() => __pg.losses())).testScore > 0.9);
    const bad = join(tmpdir(), `pg-bad-${process.pid}.csv`);
    writeFileSync(bad, '1,2,1\n3,oops,1\n');
    await page.setInputFiles('#csv-file', bad);
    await page.waitForFunction(() => document.getElementById('messages')?.textContent?.includes('oops'));
    assert.match((await page.textContent('#messages')) ?? '', /line 2: not three numbers: "3,oops,1"\. The current data is kept\./);
    assert.match(await page.evaluate(() => __pg.hash()), /dataset=user/);
    await page.close();
  });

  it('an exported model imported into a fresh page gives the same outputs; a bad file gives a message', async () => {
    const hash = 'mode=default&dataset=moons&seed=0.8&initSeed=5&networkShape=8,4';
    const a = await open(hash);
    await a.page.evaluate(() => __pg.step(30));
    const exported = await a.page.evaluate(() => __pg.exportModel());
    assert.match(exported.typescript, /new nn\.Linear\(2, 8\)/);
    const points = [
      [3, 3],
      [-2, 1],
      [0.5, -4],
    ];
    const want = [];
    for (const [x, y] of points) want.push(await a.page.evaluate(([x, y]) => __pg.gridAt(x, y), [x, y]));
    const b = await open('mode=default&dataset=circle&seed=0.1&initSeed=1');
    assert.equal(await b.page.evaluate((t) => __pg.importModel(t), exported.json), true);
    for (let i = 0; i < points.length; i++) assert.equal(await b.page.evaluate(([x, y]) => __pg.gridAt(x, y), points[i]), want[i]);
    assert.equal(await b.page.evaluate(() => __pg.importModel('{"format":"other"}')), false);
    assert.match((await b.page.textContent('#messages')) ?? '', /Import: import: not a neurite playground export/);
    await a.page.close();
    await b.page.close();
  });

  it('keyboard: Tab reaches Play, → steps an epoch, a link editor sets a weight', async () => {
    const { page } = await open('mode=default&dataset=xor&seed=0.2&initSeed=1');
    let reached = false;
    for (let i = 0; i < 10 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.id === 'play');
    }
    assert.ok(reached, 'Play is reachable with Tab');
    await page.focus('body');
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => document.getElementById('epoch')?.textContent === '000,001');
    await page.locator('.link-hit').first().focus();
    await page.keyboard.press('Enter');
    await page.fill('#editor input', '2.5');
    await page.keyboard.press('Enter');
    const w = await page.evaluate(
      async () => (await (window as unknown as { __pg: { snapshot(): Promise<{ weights: number[][][] }> } }).__pg.snapshot()).weights[0][0][0],
    );
    assert.equal(w, 2.5);
    await page.close();
  });

  it('1-D regression: the curve view replaces the map, fits sin and its unit shares add up to the fit', async () => {
    const { page, console } = await open('mode=default&problem=curve&curveDataset=sin&seed=0.2&initSeed=1&networkShape=8');
    await page.evaluate(() => __pg.step(300));
    assert.ok((await page.evaluate(() => __pg.losses())).testScore > 0.9);
    const c = await page.evaluate(() => __pg.curveAt(1.5));
    assert.ok(c?.shown, 'the curve canvas is shown');
    assert.ok(Math.abs(c.fit - Math.sin(1.5)) < 0.2, `fit ${c.fit} vs sin(1.5)`);
    assert.ok(Math.abs(c.sum - c.fit) < 1e-5);
    assert.equal(await page.isHidden('#heatmap'), true);
    // The features of x2 cannot be switched on for a curve.
    assert.equal(await page.isDisabled('button.ui-y'), true);
    await page.selectOption('#problem', 'classification');
    assert.equal(await page.evaluate(() => __pg.curveAt(0)), null);
    assert.equal(await page.isVisible('#heatmap'), true);
    assert.deepEqual(console, []);
    await page.close();
  });

  it('a custom feature typed as an expression becomes an input (in the hash); a bad one names its character; y > f(x) data', async () => {
    const { page, console } = await open('mode=default&dataset=boundary&seed=0.5&initSeed=2&networkShape=&x=false&y=true');
    await page.fill('#boundary', 'x1^2/4 - 2');
    await page.click('#boundary-apply');
    await page.waitForFunction(() => location.hash.includes('boundary=x1%5E2%2F4%20-%202'));
    await page.fill('#custom-feature', 'x1 ^ 2');
    await page.click('#add-feature');
    await page.waitForFunction(() => location.hash.includes('custom=x1%20%5E%202'));
    assert.equal(await page.locator('[data-custom]').count(), 1);
    // A new boundary relabels the same points: the URL's data seed stays, so the run is reproducible.
    assert.equal(((await page.evaluate(() => __pg.spec())) as { seed: string }).seed, '0.5');
    await page.evaluate(() => __pg.step(100));
    // With x2 and x1² as its inputs, the boundary y = x1²/4 − 2 is linear: no hidden layer needed.
    const { testScore } = await page.evaluate(() => __pg.losses());
    assert.ok(testScore >= 0.97, `test accuracy ${testScore} after 100 epochs`);
    await page.fill('#custom-feature', 'x1 * (x2');
    await page.click('#add-feature');
    await page.waitForFunction(() => document.getElementById('messages')?.textContent?.includes('expected'));
    assert.match(
      (await page.textContent('#messages')) ?? '',
      /Custom feature "x1 \* \(x2": expected "\)" but the expression ended at character 9\. Nothing was added\./,
    );
    assert.equal(await page.locator('[data-custom]').count(), 1);
    await page.click('[data-custom="0"]');
    await page.waitForFunction(() => !location.hash.includes('custom='));
    assert.deepEqual(console, []);
    await page.close();
  });

  it('the lecture view draws every unit, bias unit, weight and layer equation; Export SVG is a well-formed file', async () => {
    const { page, console } = await open('mode=default&dataset=xor&seed=0.2&initSeed=1&networkShape=3,2');
    await page.click('#diagram-toggle');
    await page.waitForFunction(() => location.hash.includes('diagram=lecture'));
    // Units: 2 inputs + 3 + 2 hidden + 1 output; bias units: one per layer feeding the next (3).
    assert.equal(await page.locator('#lecture g.unit').count(), 8);
    assert.equal(await page.locator('#lecture g.bias-unit').count(), 3);
    // Every weight and bias is a link with its value written on it: 2·3 + 3·2 + 2·1 weights, 3 + 2 + 1 biases.
    assert.equal(await page.locator('#lecture line.edge').count(), 20);
    assert.equal(await page.locator('#lecture text.w').count(), 20);
    const equations = await page.locator('#lecture text.eq').allTextContents();
    assert.deepEqual(equations, [
      'h¹ = tanh(W¹x + b¹),  W¹ is 3×2, b¹ has 3',
      'h² = tanh(W²h¹ + b²),  W² is 2×3, b² has 2',
      'ŷ = σ(W³h² + b³),  W³ is 1×2, b³ has 1',
    ]);
    const svg = await page.evaluate(() => __pg.diagramSvg());
    const parsed = await page.evaluate((text) => {
      const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
      return { error: doc.getElementsByTagName('parsererror').length, root: doc.documentElement.nodeName, circles: doc.getElementsByTagName('circle').length };
    }, svg);
    assert.deepEqual(parsed, { error: 0, root: 'svg', circles: 11 });
    const download = page.waitForEvent('download');
    await page.click('#export-svg');
    assert.equal((await download).suggestedFilename(), 'neurite-network.svg');
    await page.click('#diagram-toggle');
    assert.equal(await page.locator('.link-hit').count(), 2 * 3 + 3 * 2 + 2);
    assert.deepEqual(console, []);
    await page.close();
  });

  it('A/B: an unchanged B matches A weight for weight; a B with SGD trains on the same data and differs; the URL keeps B', async () => {
    const { page, console } = await open('mode=default&dataset=spiral&seed=0.3&initSeed=2&networkShape=6');
    await page.click('#compare');
    await page.waitForFunction(() => location.hash.includes('&b='));
    await page.evaluate(() => __pg.step(40));
    const same = await page.evaluate(() => __pg.compareB());
    assert.ok(same !== null);
    assert.equal(same.epoch, 40);
    assert.equal(same.hash, await page.evaluate(() => __pg.weightsHash()), 'B with A settings is A, bit for bit');
    await page.selectOption('#b-optimizer', 'sgd');
    await page.waitForFunction(() => decodeURIComponent(location.hash).includes('optimizer=sgd'));
    assert.match((await page.textContent('#compare-diff')) ?? '', /with: optimizer sgd\./);
    await page.click('#reset');
    await page.evaluate(() => __pg.step(40));
    const b = await page.evaluate(() => __pg.compareB());
    assert.ok(b !== null);
    assert.equal(b.spec.optimizer, 'sgd');
    assert.equal(b.spec.seed, '0.3', 'B uses A’s data seed');
    assert.equal(b.history, 40);
    assert.notEqual(b.hash, await page.evaluate(() => __pg.weightsHash()));
    const rows = await page.locator('#compare-table tr').allTextContents();
    assert.equal(rows.length, 3);
    assert.match(rows[2], /^B40/);
    // Reloading the link restores the comparison.
    const hash = await page.evaluate(() => location.hash.slice(1));
    const again = await open(hash);
    assert.equal((await again.page.evaluate(() => __pg.compareB()))?.spec.optimizer, 'sgd');
    await again.page.click('#compare-close');
    await again.page.waitForFunction(() => !location.hash.includes('&b='));
    assert.equal(await again.page.evaluate(() => __pg.compareB()), null);
    assert.deepEqual(console, []);
    await page.close();
    await again.page.close();
  });

  it('<neurite-playground> embeds the app with its attributes as URL keys, and follows attribute changes', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}embed.html`);
    type Api = {
      spec(): { dataset: string; networkShape: number[]; activation: string; mode: string; problem: string; hidden: string[]; learningRate: number };
    };
    await page.waitForFunction(() => ['xor', 'curve'].every((id) => (document.getElementById(id) as unknown as { api: unknown } | null)?.api));
    const spec = (id: string) => page.evaluate((id) => (document.getElementById(id) as unknown as { api: Api }).api.spec(), id);
    const xor = await spec('xor');
    assert.deepEqual([xor.mode, xor.dataset, xor.networkShape, xor.activation], ['default', 'xor', [4], 'relu']);
    const curve = await spec('curve');
    assert.deepEqual([curve.problem, curve.hidden], ['curve', ['learningRate', 'noise']]);
    // The hidden controls are hidden inside the embedded app.
    const hiddenShown = await page.evaluate(() => {
      const doc = (document.getElementById('curve') as unknown as { iframe: HTMLIFrameElement }).iframe.contentDocument as Document;
      return Array.from(doc.querySelectorAll<HTMLElement>('.ui-learningRate, .ui-noise')).filter((n) => n.offsetParent !== null).length;
    });
    assert.equal(hiddenShown, 0);
    // HTML lower-cases attribute names; the element maps them back to the URL's keys.
    await page.evaluate(() => document.getElementById('xor')?.setAttribute('learningrate', '0.3'));
    await page.waitForFunction(() => (document.getElementById('xor') as unknown as { api: Api }).api.spec().learningRate === 0.3);
    await page.evaluate(() => document.getElementById('xor')?.setAttribute('dataset', 'circle'));
    await page.waitForFunction(() => (document.getElementById('xor') as unknown as { api: Api }).api.spec().dataset === 'circle');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('MNIST mode: LeNet-5 trains in a worker on the bundled digits, reads test digits, and reads a drawn 1', async () => {
    const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    type Mnist = {
      ready(): boolean;
      progress(): { epoch: number; testAccuracy: number; history: unknown[] } | null;
      showTestDigit(i: number): Promise<number>;
      prediction(): { probabilities: number[]; guess: string } | null;
    };
    const hook = 'window.__mnist';
    await page.goto(`${base}mnist.html`);
    await page.waitForFunction(`${hook}?.ready()`, null, { timeout: 60_000 });
    assert.match((await page.textContent('#status')) ?? '', /^6,000 training and 1,000 test digits · (wasm|ref) backend in a Web Worker$/);
    await page.focus('body');
    await page.keyboard.press('Space');
    // Two epochs of 6,000 digits: about 4 s on a quiet machine.
    await page.waitForFunction(`(${hook}.progress()?.epoch ?? 0) >= 2`, null, { timeout: 240_000 });
    await page.keyboard.press('Space');
    const progress = await page.evaluate(() => (window as unknown as { __mnist: Mnist }).__mnist.progress());
    assert.ok(progress && progress.testAccuracy > 0.85, `test accuracy ${progress?.testAccuracy}`);
    let right = 0;
    for (let i = 0; i < 20; i++) {
      const label = await page.evaluate((i) => (window as unknown as { __mnist: Mnist }).__mnist.showTestDigit(i), i);
      const p = await page.evaluate(() => (window as unknown as { __mnist: Mnist }).__mnist.prediction());
      assert.ok(p && Math.abs(p.probabilities.reduce((s, v) => s + v, 0) - 1) < 1e-5);
      if (p && p.guess === String(label)) right++;
    }
    assert.ok(right >= 16, `${right} of 20 test digits read right`);
    // A vertical stroke down the middle of the pad is a 1.
    await page.click('#clear');
    const box = await page.locator('#pad').boundingBox();
    assert.ok(box);
    await page.mouse.move(box.x + 140, box.y + 40);
    await page.mouse.down();
    for (let y = 50; y <= 240; y += 10) await page.mouse.move(box.x + 142, box.y + y);
    await page.mouse.up();
    await page.waitForFunction(`${hook}.prediction()?.guess === '1'`, null, { timeout: 10_000 });
    assert.equal(await page.locator('#maps canvas').count(), 6);
    assert.equal(await page.locator('#kernels canvas').count(), 6);
    assert.deepEqual(errors, []);
    await page.close();
  });

  it("an optimizer's own settings appear with it and apply without a reset; the train-mode view greys dropped units; sparklines draw", async () => {
    const { page, console } = await open('mode=default&dataset=circle&seed=0.3&initSeed=1&networkShape=8&dropout=0.5');
    await page.evaluate(() => __pg.step(5));
    assert.equal(await page.locator('#alpha').count(), 0);
    await page.selectOption('#optimizer', 'rmsprop');
    await page.selectOption('#alpha', '0.9');
    assert.match(await page.evaluate(() => __pg.hash()), /&alpha=0\.9/);
    assert.equal(await page.evaluate(() => __pg.epoch()), 5, 'no reset');
    await page.selectOption('#optimizer', 'adam');
    assert.equal(await page.locator('#beta1').count(), 1);
    await page.click('#trainMode');
    await page.waitForFunction(() => document.querySelectorAll('.node.dropped').length > 0);
    const dropped = await page.locator('.node.dropped').count();
    assert.ok(dropped > 0 && dropped < 8, `${dropped} units dropped`);
    await page.click('#trainMode');
    await page.waitForFunction(() => document.querySelectorAll('.node.dropped').length === 0);
    // The sparkline has ink once there is a history.
    const ink = await page.evaluate(() => {
      const c = document.getElementById('spark-0') as HTMLCanvasElement;
      const d = (c.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
      return n;
    });
    assert.ok(ink > 20, `${ink} inked pixels`);
    assert.match((await page.textContent('#stat-0')) ?? '', /‖∂L\/∂W‖ \d\.\de[-+]\d+ · ‖∂L\/∂a‖ \d\.\de[-+]\d+/);
    assert.deepEqual(console, []);
    await page.close();
  });

  it('the classroom panel hides a control at once and writes it to the link; links glow with their layer gradient', async () => {
    const { page, console } = await open('mode=default&dataset=circle&seed=0.3&initSeed=1');
    await page.evaluate(() => __pg.step(3));
    assert.equal(await page.isVisible('#learningRate'), true);
    await page.click('#classroom summary');
    await page.click('#hide-learningRate');
    await page.waitForFunction(() => location.hash.includes('learningRate_hide=true'));
    assert.equal(await page.isVisible('#learningRate'), false);
    assert.equal(await page.evaluate(() => __pg.epoch()), 3, 'hiding a control is not a reset');
    await page.click('#hide-learningRate');
    await page.waitForFunction(() => !location.hash.includes('learningRate_hide'));
    assert.equal(await page.isVisible('#learningRate'), true);
    const glow = await page.evaluate(() => Array.from(document.querySelectorAll('#links path.halo'), (p) => Number(p.getAttribute('stroke-opacity'))));
    assert.equal(glow.length, 2 * 4 + 4 * 2 + 2);
    assert.ok(
      glow.some((g) => g > 0),
      'some layer glows after training',
    );
    assert.deepEqual(console, []);
    await page.close();
  });

  it('the NaN guard pauses Play, names the layer and offers a lower learning rate in one click', async () => {
    const { page, console } = await open(
      'mode=default&dataset=spiral&seed=0.2&initSeed=1&optimizer=sgd&learningRate=10&regularization=L2&regularizationRate=10&networkShape=8,8',
    );
    await page.click('#play');
    await page.waitForSelector('.msg-action', { timeout: 30_000 });
    assert.equal(await page.evaluate(() => __pg.playing()), false);
    assert.match((await page.textContent('#messages')) ?? '', /(hidden layer \d|output layer).*became (NaN|infinite)/);
    await page.click('.msg-action');
    await page.waitForFunction(() => location.hash.includes('learningRate=3&'));
    assert.equal(await page.evaluate(() => __pg.epoch()), 0);
    assert.deepEqual(console, []);
    await page.close();
  });
});
