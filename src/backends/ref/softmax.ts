import type { TypedArray } from '../../core/dtype.js';

/**
 * See Kernels.logSoftmax. Each of the outer·inner lines along the axis is
 * shifted by its maximum, so exp() cannot overflow, and computed in float64
 * (the sum of exponentials and the logarithm), rounded once into `out`. A NaN
 * or +Infinity anywhere in a line makes the whole line NaN, as the composite
 * x - max - log Σ exp(x - max) does.
 */
export function logSoftmax(x: TypedArray, outer: number, size: number, inner: number, out: TypedArray): void {
  for (let o = 0; o < outer; o++) {
    const base = o * size * inner;
    for (let i = 0; i < inner; i++) {
      const start = base + i;
      const end = start + size * inner;
      let max = -Infinity;
      for (let j = start; j < end; j += inner) if (x[j] > max) max = x[j];
      let sum = 0;
      for (let j = start; j < end; j += inner) sum += Math.exp(x[j] - max);
      const shift = max + Math.log(sum);
      for (let j = start; j < end; j += inner) out[j] = x[j] - shift;
    }
  }
}

/**
 * See Kernels.logSoftmaxBackward: per line, the sum of g in float64, then
 * dx = g - exp(out)·Σg, rounded once per element.
 */
export function logSoftmaxBackward(g: TypedArray, out: TypedArray, outer: number, size: number, inner: number, dx: TypedArray): void {
  for (let o = 0; o < outer; o++) {
    const base = o * size * inner;
    for (let i = 0; i < inner; i++) {
      const start = base + i;
      const end = start + size * inner;
      let sum = 0;
      for (let j = start; j < end; j += inner) sum += g[j];
      for (let j = start; j < end; j += inner) dx[j] = g[j] - Math.exp(out[j]) * sum;
    }
  }
}
