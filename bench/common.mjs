// Shared by the benchmark runner and the peer scripts: the MNIST slice every
// workload trains on, and the timing loop every library is measured with.
import { mnist } from '../dist/src/data/node.js';

/** The first n training images as a flat Float32Array [n*784] in [0, 1] and their labels. */
export function loadMnist(n) {
  const { images, labels } = mnist({ split: 'train', limit: n });
  return { images: images.data, labels: labels.data };
}

/**
 * Run `step` for `warmup` untimed calls, then for at least `seconds`; return
 * units per second, where one step does `perStep` units (samples, FLOPs...).
 */
export function timed(step, seconds, warmup, perStep) {
  for (let i = 0; i < warmup; i++) step();
  let n = 0;
  const start = performance.now();
  for (;;) {
    step();
    n++;
    const elapsed = (performance.now() - start) / 1000;
    if (elapsed >= seconds) return (n * perStep) / elapsed;
  }
}

export async function timedAsync(step, seconds, warmup, perStep) {
  for (let i = 0; i < warmup; i++) await step();
  let n = 0;
  const start = performance.now();
  for (;;) {
    await step();
    n++;
    const elapsed = (performance.now() - start) / 1000;
    if (elapsed >= seconds) return (n * perStep) / elapsed;
  }
}
