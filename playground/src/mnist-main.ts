// MNIST mode's page: the drawing pad, the class probabilities, the first
// convolution's kernels and feature maps, and the training controls. The
// network lives in the MNIST worker; this side only draws.
import uPlot from 'uplot';
import type { DigitPrediction, DigitProgress } from './mnist-engine.js';
import { toMnist } from './mnist-pre.js';
import type { MnistReply, MnistRequest } from './mnist-worker.js';
import { colorOf } from './render.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const worker = new Worker(new URL('./mnist-worker.js', import.meta.url).href, { type: 'module' });
const send = (m: MnistRequest) => worker.postMessage(m);
const pad = $<HTMLCanvasElement>('pad');
const ctx = pad.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D;
const errors: string[] = [];

const state = {
  ready: false,
  training: false,
  progress: null as DigitProgress | null,
  prediction: null as DigitPrediction | null,
  seen: new Float32Array(784) as Float32Array,
  testLabel: null as number | null,
  rate: 0,
};
let nextId = 1;
const waiting = new Map<number, (value: unknown) => void>();
const call = <T>(make: (id: number) => MnistRequest): Promise<T> =>
  new Promise((ok) => {
    const id = nextId++;
    waiting.set(id, ok as (v: unknown) => void);
    send(make(id));
  });

function message(text: string, level: 'info' | 'error' = 'info'): void {
  const line = document.createElement('div');
  line.className = `msg ${level}`;
  line.setAttribute('role', level === 'error' ? 'alert' : 'status');
  line.textContent = text;
  $('messages').append(line);
}

// ------------------------------------------------------------ drawing pad
function clearPad(): void {
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, pad.width, pad.height);
  state.seen = new Float32Array(784);
  state.prediction = null;
  $('test-label').textContent = '';
  state.testLabel = null;
  render();
}

let drawing = false;
let last: [number, number] | null = null;
let pending = 0;
function point(e: PointerEvent): [number, number] {
  const r = pad.getBoundingClientRect();
  return [((e.clientX - r.left) / r.width) * pad.width, ((e.clientY - r.top) / r.height) * pad.height];
}
pad.addEventListener('pointerdown', (e) => {
  drawing = true;
  pad.setPointerCapture(e.pointerId);
  last = point(e);
  stroke(last, last);
});
pad.addEventListener('pointermove', (e) => {
  if (!drawing || !last) return;
  const p = point(e);
  stroke(last, p);
  last = p;
});
const end = () => {
  drawing = false;
  last = null;
  void predict();
};
pad.addEventListener('pointerup', end);
pad.addEventListener('pointercancel', end);

function stroke(a: [number, number], b: [number, number]): void {
  ctx.strokeStyle = '#fff';
  ctx.lineWidth = 20;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  ctx.beginPath();
  ctx.moveTo(a[0], a[1]);
  ctx.lineTo(b[0], b[1]);
  ctx.stroke();
  state.testLabel = null;
  $('test-label').textContent = '';
  // While drawing, ask at most every 80 ms.
  if (!pending)
    pending = window.setTimeout(() => {
      pending = 0;
      void predict();
    }, 80);
}

/** The pad's ink, MNIST-preprocessed, sent to the network. */
async function predict(): Promise<void> {
  if (!state.ready) return;
  const img = ctx.getImageData(0, 0, pad.width, pad.height).data;
  const ink = new Float32Array(pad.width * pad.height);
  for (let i = 0; i < ink.length; i++) ink[i] = img[i * 4] / 255;
  state.seen = toMnist(ink, pad.width);
  await ask(state.seen);
}

async function ask(pixels: Float32Array): Promise<void> {
  state.prediction = await call<DigitPrediction>((id) => ({ type: 'predict', pixels, id }));
  render();
}

async function showTestDigit(index = Math.floor(Math.random() * 1000)): Promise<number> {
  const t = await call<{ pixels: Float32Array; label: number }>((id) => ({ type: 'testImage', index, id }));
  // Draw it on the pad, scaled up, so that the pad shows what is being read.
  const small = document.createElement('canvas');
  small.width = 28;
  small.height = 28;
  const sctx = small.getContext('2d') as CanvasRenderingContext2D;
  const data = sctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = Math.round(t.pixels[i] * 255);
    data.data.set([v, v, v, 255], i * 4);
  }
  sctx.putImageData(data, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, pad.width, pad.height);
  ctx.drawImage(small, 0, 0, pad.width, pad.height);
  state.seen = t.pixels;
  state.testLabel = t.label;
  $('test-label').textContent = `Test digit #${index}: labelled ${t.label}.`;
  await ask(t.pixels);
  return t.label;
}

// ------------------------------------------------------------ drawing the state
function paintGrey(canvas: HTMLCanvasElement, values: Float32Array, size: number, signed = false): void {
  canvas.width = size;
  canvas.height = size;
  const c = canvas.getContext('2d') as CanvasRenderingContext2D;
  const img = c.createImageData(size, size);
  let max = 0;
  for (const v of values) max = Math.max(max, Math.abs(v));
  for (let i = 0; i < size * size; i++) {
    const v = max > 0 ? values[i] / max : 0;
    const rgb = signed ? colorOf(v) : [Math.round(255 * v), Math.round(255 * v), Math.round(255 * v)];
    img.data.set([rgb[0], rgb[1], rgb[2], 255], i * 4);
  }
  c.putImageData(img, 0, 0);
}

let chart: uPlot | null = null;
function drawChart(): void {
  const h = state.progress?.history ?? [];
  const data: uPlot.AlignedData = [h.map((r) => r.seen), h.map((r) => r.testAccuracy), h.map((r) => r.trainLoss)];
  if (!chart) {
    chart = new uPlot(
      {
        width: 360,
        height: 180,
        scales: { x: { time: false }, acc: { range: [0, 1] }, loss: {} },
        axes: [
          { label: 'images seen', size: 30 },
          { scale: 'acc', size: 40 },
          { scale: 'loss', side: 1, size: 40, grid: { show: false } },
        ],
        series: [
          { label: 'images' },
          { label: 'test accuracy', scale: 'acc', stroke: '#0877bd', width: 2, value: (_u, v) => (v == null ? '–' : `${(100 * v).toFixed(1)}%`) },
          { label: 'train loss', scale: 'loss', stroke: '#777', width: 1.5, value: (_u, v) => (v == null ? '–' : v.toFixed(3)) },
        ],
      },
      data,
      $('chart'),
    );
  } else chart.setData(data);
}

function render(): void {
  paintGrey($<HTMLCanvasElement>('seen'), state.seen, 28);
  const p = state.prediction;
  const bars = $('bars');
  const best = p ? p.probabilities.indexOf(Math.max(...p.probabilities)) : -1;
  bars.replaceChildren(
    ...Array.from({ length: 10 }, (_, k) => {
      const row = document.createElement('div');
      row.className = `bar${k === best ? ' best' : ''}`;
      row.setAttribute('role', 'listitem');
      const v = p ? p.probabilities[k] : 0;
      row.setAttribute('aria-label', `${k}: ${(100 * v).toFixed(1)}%`);
      const fill = document.createElement('div');
      fill.className = 'fill';
      fill.style.width = `${(100 * v).toFixed(1)}%`;
      const label = document.createElement('span');
      label.textContent = String(k);
      const pct = document.createElement('span');
      pct.textContent = `${(100 * v).toFixed(1)}%`;
      const track = document.createElement('div');
      track.append(fill);
      row.append(label, track, pct);
      return row;
    }),
  );
  $('guess').textContent = p && state.seen.some((v) => v > 0) ? String(best) : '–';
  const kernels = $('kernels');
  const maps = $('maps');
  if (p) {
    if (kernels.children.length !== 6) kernels.replaceChildren(...Array.from({ length: 6 }, () => document.createElement('canvas')));
    if (maps.children.length !== 6) maps.replaceChildren(...Array.from({ length: 6 }, () => document.createElement('canvas')));
    p.kernels.forEach((k, i) => {
      paintGrey(kernels.children[i] as HTMLCanvasElement, k, 5, true);
    });
    p.maps.forEach((m, i) => {
      paintGrey(maps.children[i] as HTMLCanvasElement, m, 28);
    });
  }
  const pr = state.progress;
  if (pr) {
    $('numbers').textContent =
      `epoch ${pr.epoch}, batch ${pr.step}/${pr.steps} · train loss ${Number.isFinite(pr.trainLoss) ? pr.trainLoss.toFixed(3) : '–'} · test accuracy ${(100 * pr.testAccuracy).toFixed(1)}%${state.training ? ` · ${state.rate.toFixed(0)} images/s` : ''}`;
    drawChart();
  }
  const b = $('train');
  b.textContent = state.training ? '❚❚' : '▶';
  b.setAttribute('aria-label', state.training ? 'Pause training' : 'Train');
}

worker.onmessage = (e: MessageEvent<MnistReply>) => {
  const m = e.data;
  switch (m.type) {
    case 'ready':
      state.ready = true;
      $('status').textContent =
        `${m.train.toLocaleString('en')} training and ${m.test.toLocaleString('en')} test digits · ${m.backend} backend in a Web Worker`;
      void predict();
      return;
    case 'progress': {
      state.progress = m.progress;
      state.training = m.training;
      state.rate = m.imagesPerSecond;
      render();
      // While training, keep the prediction for the pad up to date.
      if (m.training && state.seen.some((v) => v > 0)) void ask(state.seen);
      return;
    }
    case 'prediction':
    case 'testImage': {
      const ok = waiting.get(m.id);
      waiting.delete(m.id);
      ok?.(m.type === 'prediction' ? m.prediction : { pixels: m.pixels, label: m.label });
      return;
    }
    case 'error':
      errors.push(m.text);
      message(m.text, 'error');
      $('status').textContent = 'not available';
  }
};
worker.onerror = (e) => {
  errors.push(e.message);
  message(`MNIST worker: ${e.message}`, 'error');
};

function toggleTraining(): void {
  if (!state.ready) return;
  state.training = !state.training;
  send({ type: state.training ? 'train' : 'pause' });
  render();
}

$('train').onclick = toggleTraining;
$('clear').onclick = clearPad;
$('test-digit').onclick = () => void showTestDigit();
document.addEventListener('keydown', (e) => {
  if (e.key === ' ' && (e.target as HTMLElement).tagName !== 'BUTTON') {
    e.preventDefault();
    toggleTraining();
  }
});
window.addEventListener('error', (e) => errors.push(String(e.message)));

// The test hook, as the 2-D playground's window.__pg.
(window as unknown as { __mnist: unknown }).__mnist = {
  ready: () => state.ready,
  train: () => !state.training && toggleTraining(),
  pause: () => state.training && toggleTraining(),
  progress: () => structuredClone(state.progress),
  showTestDigit,
  prediction: () => (state.prediction ? { probabilities: state.prediction.probabilities, guess: $('guess').textContent } : null),
  predictPad: () => predict(),
  errors: () => errors.slice(),
};

clearPad();
const query = new URLSearchParams(location.search);
// ?gpu=off keeps the steps on the CPU; ?gpu=force takes a software adapter too (the tests' SwiftShader).
const gpu = query.get('gpu');
send({ type: 'init', seed: Number(query.get('seed') ?? 1), gpu: gpu === 'off' || gpu === 'force' ? gpu : 'auto' });
