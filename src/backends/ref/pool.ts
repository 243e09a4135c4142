import type { TypedArray } from '../../core/dtype.js';
import type { AvgPoolDivisor, Pool2dGeometry } from '../../kernels/contract.js';

// Pooling works on each (n, c) plane on its own; `p` below counts planes.

/** First window row (or column) inside the input, moving from `start` by whole dilation steps. */
function firstInside(start: number, dilation: number): number {
  return start >= 0 ? start : start + Math.ceil(-start / dilation) * dilation;
}

export function maxPool2d(x: TypedArray, out: TypedArray, indices: Int32Array, g: Pool2dGeometry): void {
  const { inH, inW, outH, outW } = g;
  const planes = g.batch * g.channels;
  const inPlane = inH * inW;
  const outPlane = outH * outW;
  for (let p = 0; p < planes; p++) {
    const xp = p * inPlane;
    const op = p * outPlane;
    for (let oh = 0; oh < outH; oh++) {
      const hStart = oh * g.strideH - g.padH;
      const hEnd = Math.min(hStart + (g.kernelH - 1) * g.dilationH + 1, inH);
      const h0 = firstInside(hStart, g.dilationH);
      for (let ow = 0; ow < outW; ow++) {
        const wStart = ow * g.strideW - g.padW;
        const wEnd = Math.min(wStart + (g.kernelW - 1) * g.dilationW + 1, inW);
        const w0 = firstInside(wStart, g.dilationW);
        // Start from the first in-bounds cell so that a window of -Infinity still names a real cell.
        let best = h0 * inW + w0;
        let bestValue = Number.NEGATIVE_INFINITY;
        for (let h = h0; h < hEnd; h += g.dilationH) {
          for (let w = w0; w < wEnd; w += g.dilationW) {
            const idx = h * inW + w;
            const v = x[xp + idx];
            // NaN propagates, as in PyTorch: it beats every number.
            if (v > bestValue || Number.isNaN(v)) {
              bestValue = v;
              best = idx;
            }
          }
        }
        out[op + oh * outW + ow] = bestValue;
        indices[op + oh * outW + ow] = best;
      }
    }
  }
}

export function maxPool2dBackward(gradOut: TypedArray, indices: Int32Array, gradIn: TypedArray, g: Pool2dGeometry): void {
  const planes = g.batch * g.channels;
  const inPlane = g.inH * g.inW;
  const outPlane = g.outH * g.outW;
  const acc = new Float64Array(inPlane);
  for (let p = 0; p < planes; p++) {
    acc.fill(0);
    const op = p * outPlane;
    for (let j = 0; j < outPlane; j++) acc[indices[op + j]] += gradOut[op + j];
    gradIn.set(acc, p * inPlane);
  }
}

/** PyTorch's avg_pool2d window: in-bounds rows [h0, h1), columns [w0, w1), and the divisor. */
function avgWindow(g: Pool2dGeometry, d: AvgPoolDivisor, oh: number, ow: number): [number, number, number, number, number] {
  let h0 = oh * g.strideH - g.padH;
  let w0 = ow * g.strideW - g.padW;
  let h1 = Math.min(h0 + g.kernelH, g.inH + g.padH);
  let w1 = Math.min(w0 + g.kernelW, g.inW + g.padW);
  const padded = (h1 - h0) * (w1 - w0);
  h0 = Math.max(h0, 0);
  w0 = Math.max(w0, 0);
  h1 = Math.min(h1, g.inH);
  w1 = Math.min(w1, g.inW);
  const divisor = d.divisorOverride > 0 ? d.divisorOverride : d.countIncludePad ? padded : (h1 - h0) * (w1 - w0);
  return [h0, h1, w0, w1, divisor];
}

export function avgPool2d(x: TypedArray, out: TypedArray, g: Pool2dGeometry, divisor: AvgPoolDivisor): void {
  const { inH, inW, outH, outW } = g;
  const planes = g.batch * g.channels;
  const inPlane = inH * inW;
  const outPlane = outH * outW;
  for (let oh = 0; oh < outH; oh++) {
    for (let ow = 0; ow < outW; ow++) {
      const [h0, h1, w0, w1, div] = avgWindow(g, divisor, oh, ow);
      const empty = h0 >= h1 || w0 >= w1;
      for (let p = 0; p < planes; p++) {
        let s = 0;
        if (!empty) {
          const xp = p * inPlane;
          for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) s += x[xp + h * inW + w];
          s /= div;
        }
        out[p * outPlane + oh * outW + ow] = s;
      }
    }
  }
}

export function avgPool2dBackward(gradOut: TypedArray, gradIn: TypedArray, g: Pool2dGeometry, divisor: AvgPoolDivisor): void {
  const { inH, inW, outH, outW } = g;
  const planes = g.batch * g.channels;
  const inPlane = inH * inW;
  const outPlane = outH * outW;
  const acc = new Float64Array(planes * inPlane);
  for (let oh = 0; oh < outH; oh++) {
    for (let ow = 0; ow < outW; ow++) {
      const [h0, h1, w0, w1, div] = avgWindow(g, divisor, oh, ow);
      if (h0 >= h1 || w0 >= w1) continue;
      for (let p = 0; p < planes; p++) {
        const share = gradOut[p * outPlane + oh * outW + ow] / div;
        const gp = p * inPlane;
        for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) acc[gp + h * inW + w] += share;
      }
    }
  }
  gradIn.set(acc);
}

export function maxUnpool(x: TypedArray, indices: Int32Array, out: TypedArray, planes: number, inPlaneSize: number, outPlaneSize: number): void {
  out.fill(0);
  for (let p = 0; p < planes; p++) {
    const xp = p * inPlaneSize;
    const op = p * outPlaneSize;
    for (let j = 0; j < inPlaneSize; j++) out[op + indices[xp + j]] = x[xp + j];
  }
}
