// Convolution and pooling kernels against naive float64 references.
import assert from 'node:assert/strict';
import type { NativeAddon } from '../../src/backends/native/binding.js';
import { CONV2D_GEOMETRY_FIELDS, POOL2D_GEOMETRY_FIELDS, packGeometry } from '../../src/kernels/geometry.js';

import { nativeTest, rng, threadCounts } from './harness.js';

interface Geo {
  N: number;
  C: number;
  H: number;
  W: number;
  O: number;
  KH: number;
  KW: number;
  sH: number;
  sW: number;
  pH: number;
  pW: number;
  dH: number;
  dW: number;
  groups: number;
  OH?: number;
  OW?: number;
}

function outSize(g: Geo): [number, number] {
  const oh = g.OH ?? Math.floor((g.H + 2 * g.pH - g.dH * (g.KH - 1) - 1) / g.sH) + 1;
  const ow = g.OW ?? Math.floor((g.W + 2 * g.pW - g.dW * (g.KW - 1) - 1) / g.sW) + 1;
  return [oh, ow];
}

/** Visits every (n, o, oh, ow, input index, weight index) tap that reads an in-bounds input cell. */
function forEachTap(g: Geo, fn: (outIdx: number, xIdx: number, wIdx: number, o: number) => void): void {
  const [OH, OW] = outSize(g);
  const Cg = g.C / g.groups;
  const Og = g.O / g.groups;
  for (let n = 0; n < g.N; n++)
    for (let o = 0; o < g.O; o++) {
      const grp = Math.floor(o / Og);
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          const outIdx = ((n * g.O + o) * OH + oh) * OW + ow;
          for (let c = 0; c < Cg; c++)
            for (let kh = 0; kh < g.KH; kh++) {
              const ih = oh * g.sH - g.pH + kh * g.dH;
              if (ih < 0 || ih >= g.H) continue;
              for (let kw = 0; kw < g.KW; kw++) {
                const iw = ow * g.sW - g.pW + kw * g.dW;
                if (iw < 0 || iw >= g.W) continue;
                const xIdx = ((n * g.C + grp * Cg + c) * g.H + ih) * g.W + iw;
                const wIdx = ((o * Cg + c) * g.KH + kh) * g.KW + kw;
                fn(outIdx, xIdx, wIdx, o);
              }
            }
        }
    }
}

function assertNear(label: string, got: Float32Array, want: Float64Array, scale: Float64Array, tol: number): void {
  assert.equal(got.length, want.length, `${label}: length`);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol * (scale[i] + 1e-3))) assert.fail(`${label}[${i}]: got ${got[i]}, want ${want[i]}`);
  }
}

const GEOS: Geo[] = [
  { N: 1, C: 1, H: 5, W: 5, O: 1, KH: 3, KW: 3, sH: 1, sW: 1, pH: 0, pW: 0, dH: 1, dW: 1, groups: 1 },
  { N: 2, C: 3, H: 7, W: 9, O: 4, KH: 3, KW: 2, sH: 2, sW: 1, pH: 1, pW: 0, dH: 1, dW: 1, groups: 1 },
  { N: 3, C: 4, H: 8, W: 8, O: 6, KH: 3, KW: 3, sH: 1, sW: 1, pH: 2, pW: 2, dH: 2, dW: 2, groups: 2 },
  { N: 2, C: 5, H: 6, W: 7, O: 3, KH: 1, KW: 1, sH: 1, sW: 1, pH: 0, pW: 0, dH: 1, dW: 1, groups: 1 },
  { N: 2, C: 6, H: 5, W: 4, O: 4, KH: 1, KW: 1, sH: 1, sW: 1, pH: 0, pW: 0, dH: 1, dW: 1, groups: 2 },
  { N: 2, C: 4, H: 6, W: 6, O: 4, KH: 3, KW: 3, sH: 1, sW: 1, pH: 1, pW: 1, dH: 1, dW: 1, groups: 4 },
  { N: 1, C: 2, H: 6, W: 6, O: 3, KH: 4, KW: 4, sH: 1, sW: 1, pH: 1, pW: 1, dH: 1, dW: 1, groups: 1, OH: 6, OW: 6 },
  { N: 1, C: 2, H: 9, W: 7, O: 2, KH: 3, KW: 3, sH: 3, sW: 2, pH: 1, pW: 2, dH: 1, dW: 1, groups: 1, OH: 2, OW: 5 },
  { N: 4, C: 8, H: 16, W: 16, O: 16, KH: 3, KW: 3, sH: 1, sW: 1, pH: 1, pW: 1, dH: 1, dW: 1, groups: 1 },
  { N: 5, C: 3, H: 12, W: 10, O: 7, KH: 5, KW: 3, sH: 2, sW: 2, pH: 2, pW: 1, dH: 1, dW: 1, groups: 1 },
  { N: 1, C: 16, H: 20, W: 20, O: 32, KH: 3, KW: 3, sH: 1, sW: 1, pH: 1, pW: 1, dH: 1, dW: 1, groups: 1 },
  // Shapes of the direct kernels (stride 1, small channel counts): LeNet-5's two
  // convolutions, a row of 50 (four AVX-512 vectors, too wide for AVX2's), 7
  // output channels (a partial block), and a 7x7 kernel (forward direct, weight
  // gradient through im2col).
  { N: 3, C: 1, H: 28, W: 28, O: 6, KH: 5, KW: 5, sH: 1, sW: 1, pH: 2, pW: 2, dH: 1, dW: 1, groups: 1 },
  { N: 2, C: 6, H: 14, W: 14, O: 16, KH: 5, KW: 5, sH: 1, sW: 1, pH: 0, pW: 0, dH: 1, dW: 1, groups: 1 },
  { N: 2, C: 3, H: 9, W: 50, O: 7, KH: 5, KW: 5, sH: 1, sW: 1, pH: 2, pW: 2, dH: 1, dW: 1, groups: 1 },
  { N: 2, C: 2, H: 11, W: 13, O: 5, KH: 7, KW: 7, sH: 1, sW: 1, pH: 3, pW: 1, dH: 1, dW: 1, groups: 1 },
  // The forward kernel with output channels across the lanes (whole vectors of channels, short rows): 32 channels
  // (two AVX-512 vectors), 8 (one AVX2 vector, two of SIMD128), and 20-column rows (a full tile and a shorter one).
  { N: 2, C: 3, H: 9, W: 9, O: 32, KH: 3, KW: 3, sH: 1, sW: 1, pH: 0, pW: 0, dH: 1, dW: 1, groups: 1 },
  { N: 2, C: 2, H: 8, W: 8, O: 8, KH: 3, KW: 3, sH: 1, sW: 1, pH: 0, pW: 0, dH: 1, dW: 1, groups: 1 },
  { N: 2, C: 3, H: 6, W: 22, O: 16, KH: 3, KW: 3, sH: 1, sW: 1, pH: 1, pW: 0, dH: 1, dW: 1, groups: 1 },
  // The weight gradient with one vector of output channels: 8 on AVX2, 4 on SIMD128 (16 on AVX-512 is LeNet's above).
  { N: 3, C: 2, H: 6, W: 7, O: 8, KH: 3, KW: 3, sH: 1, sW: 1, pH: 0, pW: 0, dH: 1, dW: 1, groups: 1 },
  { N: 3, C: 2, H: 8, W: 9, O: 4, KH: 5, KW: 5, sH: 1, sW: 1, pH: 1, pW: 0, dH: 1, dW: 1, groups: 1 },
];

/** The geometry as the addon reads it: packed in the order of src/kernels/geometry.ts. */
function geoArgs(g: Geo): [Int32Array] {
  const [outH, outW] = outSize(g);
  const geometry = {
    batch: g.N,
    inChannels: g.C,
    inH: g.H,
    inW: g.W,
    outChannels: g.O,
    kernelH: g.KH,
    kernelW: g.KW,
    strideH: g.sH,
    strideW: g.sW,
    padH: g.pH,
    padW: g.pW,
    dilationH: g.dH,
    dilationW: g.dW,
    groups: g.groups,
    outH,
    outW,
  };
  return [packGeometry(CONV2D_GEOMETRY_FIELDS, geometry)];
}

/** A pooling geometry packed for the addon. */
function poolArgs(g: Omit<PoolGeo, 'ceil'>, outH: number, outW: number): [Int32Array] {
  const geometry = {
    batch: g.N,
    channels: g.C,
    inH: g.H,
    inW: g.W,
    kernelH: g.KH,
    kernelW: g.KW,
    strideH: g.sH,
    strideW: g.sW,
    padH: g.pH,
    padW: g.pW,
    dilationH: g.dH,
    dilationW: g.dW,
    outH,
    outW,
  };
  return [packGeometry(POOL2D_GEOMETRY_FIELDS, geometry)];
}

nativeTest('conv2dForward / BackwardInput / BackwardWeight match naive references', (a) => {
  const rand = rng(3);
  for (const threads of threadCounts(a)) {
    a.setNumThreads(threads);
    for (const g of GEOS) {
      const [OH, OW] = outSize(g);
      const Cg = g.C / g.groups;
      const x = Float32Array.from({ length: g.N * g.C * g.H * g.W }, () => rand() * 2 - 1);
      const w = Float32Array.from({ length: g.O * Cg * g.KH * g.KW }, () => rand() * 2 - 1);
      const bias = Float32Array.from({ length: g.O }, () => rand() * 2 - 1);
      const gout = Float32Array.from({ length: g.N * g.O * OH * OW }, () => rand() * 2 - 1);
      const tag = `t${threads} ${JSON.stringify(g)}`;

      // Forward.
      const want = new Float64Array(gout.length);
      const scale = new Float64Array(gout.length);
      forEachTap(g, (oi, xi, wi) => {
        want[oi] += x[xi] * w[wi];
        scale[oi] += Math.abs(x[xi] * w[wi]);
      });
      const out = new Float32Array(gout.length).fill(Number.NaN);
      a.conv2dForward(x, w, null, out, ...geoArgs(g));
      assertNear(`conv fwd ${tag}`, out, want, scale, 1e-6);
      const outB = new Float32Array(gout.length);
      a.conv2dForward(x, w, bias, outB, ...geoArgs(g));
      const wantB = want.map((v, i) => v + bias[Math.floor(i / (OH * OW)) % g.O]);
      assertNear(
        `conv fwd+bias ${tag}`,
        outB,
        wantB,
        scale.map((s) => s + 1),
        1e-6,
      );

      // Backward input.
      const wantGin = new Float64Array(x.length);
      const scaleGin = new Float64Array(x.length);
      forEachTap(g, (oi, xi, wi) => {
        wantGin[xi] += gout[oi] * w[wi];
        scaleGin[xi] += Math.abs(gout[oi] * w[wi]);
      });
      const gin = new Float32Array(x.length).fill(Number.NaN);
      a.conv2dBackwardInput(gout, w, gin, ...geoArgs(g));
      assertNear(`conv bwd input ${tag}`, gin, wantGin, scaleGin, 1e-6);

      // Backward weight (+ bias).
      const wantGw = new Float64Array(w.length);
      const scaleGw = new Float64Array(w.length);
      forEachTap(g, (oi, xi, wi) => {
        wantGw[wi] += gout[oi] * x[xi];
        scaleGw[wi] += Math.abs(gout[oi] * x[xi]);
      });
      const gw = new Float32Array(w.length).fill(Number.NaN);
      const gb = new Float32Array(g.O).fill(Number.NaN);
      a.conv2dBackwardWeight(x, gout, gw, gb, ...geoArgs(g));
      assertNear(`conv bwd weight ${tag}`, gw, wantGw, scaleGw, 1e-6);
      const wantGb = new Float64Array(g.O);
      const scaleGb = new Float64Array(g.O);
      for (let i = 0; i < gout.length; i++) {
        const o = Math.floor(i / (OH * OW)) % g.O;
        wantGb[o] += gout[i];
        scaleGb[o] += Math.abs(gout[i]);
      }
      assertNear(`conv bwd bias ${tag}`, gb, wantGb, scaleGb, 1e-6);
      // Without the bias gradient, gradW is the same.
      const gw2 = new Float32Array(w.length);
      a.conv2dBackwardWeight(x, gout, gw2, null, ...geoArgs(g));
      assert.deepEqual(gw2, gw);
    }
  }
});

nativeTest('conv2d rejects inconsistent geometry and short arrays', (a) => {
  const x = new Float32Array(2 * 3 * 5 * 5);
  const w = new Float32Array(4 * 3 * 3 * 3);
  const out = new Float32Array(2 * 4 * 3 * 3);
  const g: Geo = { N: 2, C: 3, H: 5, W: 5, O: 4, KH: 3, KW: 3, sH: 1, sW: 1, pH: 0, pW: 0, dH: 1, dW: 1, groups: 1 };
  a.conv2dForward(x, w, null, out, ...geoArgs(g));
  assert.throws(
    () => a.conv2dForward(x, w, null, out, ...geoArgs({ ...g, groups: 2 })),
    (e: unknown) => e instanceof RangeError && /conv2dForward/.test(e.message) && /groups/.test(e.message),
  );
  assert.throws(
    () => a.conv2dForward(x, w, null, out.subarray(1), ...geoArgs(g)),
    (e: unknown) => e instanceof RangeError && /'out'/.test(e.message),
  );
  // The geometry crosses as one Int32Array in the order of src/kernels/geometry.ts: a wrong length or a bad field is named.
  assert.throws(
    () => a.conv2dForward(x, w, null, out, geoArgs(g)[0].subarray(1)),
    (e: unknown) => e instanceof RangeError && /geometry/.test(e.message) && /16 elements/.test(e.message),
  );
  assert.throws(
    () => a.conv2dForward(x, w, null, out, ...geoArgs({ ...g, sH: 0 })),
    (e: unknown) => e instanceof RangeError && /strideH/.test(e.message),
  );
});

interface PoolGeo {
  N: number;
  C: number;
  H: number;
  W: number;
  KH: number;
  KW: number;
  sH: number;
  sW: number;
  pH: number;
  pW: number;
  dH: number;
  dW: number;
  ceil: boolean;
}

function poolOut(a: NativeAddon, g: PoolGeo): [number, number] {
  return [a.pool2dOutputSize(g.H, g.KH, g.sH, g.pH, g.dH, g.ceil), a.pool2dOutputSize(g.W, g.KW, g.sW, g.pW, g.dW, g.ceil)];
}

function maxPoolRef(x: Float32Array, g: PoolGeo, OH: number, OW: number): { out: Float32Array; idx: Int32Array } {
  const planes = g.N * g.C;
  const out = new Float32Array(planes * OH * OW);
  const idx = new Int32Array(planes * OH * OW);
  for (let p = 0; p < planes; p++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        let best = Number.NEGATIVE_INFINITY;
        let bi = -1;
        for (let i = 0; i < g.KH; i++) {
          const h = oh * g.sH - g.pH + i * g.dH;
          if (h < 0 || h >= g.H) continue;
          for (let j = 0; j < g.KW; j++) {
            const w = ow * g.sW - g.pW + j * g.dW;
            if (w < 0 || w >= g.W) continue;
            const v = x[p * g.H * g.W + h * g.W + w];
            if (bi < 0) bi = h * g.W + w;
            if (v > best || Number.isNaN(v)) {
              best = v;
              bi = h * g.W + w;
            }
          }
        }
        out[(p * OH + oh) * OW + ow] = best;
        idx[(p * OH + oh) * OW + ow] = bi;
      }
  return { out, idx };
}

function avgPoolRef(
  x: Float32Array,
  g: PoolGeo,
  OH: number,
  OW: number,
  includePad: boolean,
  divisor: number,
): { out: Float64Array; gradOf: (go: Float32Array) => Float64Array } {
  const planes = g.N * g.C;
  const windows: { p: number; o: number; h0: number; h1: number; w0: number; w1: number; div: number }[] = [];
  for (let p = 0; p < planes; p++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        let h0 = oh * g.sH - g.pH;
        let w0 = ow * g.sW - g.pW;
        let h1 = Math.min(h0 + g.KH, g.H + g.pH);
        let w1 = Math.min(w0 + g.KW, g.W + g.pW);
        const poolSize = (h1 - h0) * (w1 - w0);
        h0 = Math.max(h0, 0);
        w0 = Math.max(w0, 0);
        h1 = Math.min(h1, g.H);
        w1 = Math.min(w1, g.W);
        const div = divisor > 0 ? divisor : includePad ? poolSize : (h1 - h0) * (w1 - w0);
        windows.push({ p, o: (p * OH + oh) * OW + ow, h0, h1, w0, w1, div });
      }
  const out = new Float64Array(planes * OH * OW);
  for (const wd of windows) {
    if (wd.h0 >= wd.h1 || wd.w0 >= wd.w1) continue;
    let s = 0;
    for (let h = wd.h0; h < wd.h1; h++) for (let w = wd.w0; w < wd.w1; w++) s += x[wd.p * g.H * g.W + h * g.W + w];
    out[wd.o] = s / wd.div;
  }
  const gradOf = (go: Float32Array): Float64Array => {
    const gin = new Float64Array(x.length);
    for (const wd of windows) {
      if (wd.h0 >= wd.h1 || wd.w0 >= wd.w1) continue;
      for (let h = wd.h0; h < wd.h1; h++) for (let w = wd.w0; w < wd.w1; w++) gin[wd.p * g.H * g.W + h * g.W + w] += go[wd.o] / wd.div;
    }
    return gin;
  };
  return { out, gradOf };
}

const POOLS: PoolGeo[] = [
  { N: 1, C: 1, H: 4, W: 4, KH: 2, KW: 2, sH: 2, sW: 2, pH: 0, pW: 0, dH: 1, dW: 1, ceil: false },
  { N: 2, C: 3, H: 7, W: 6, KH: 3, KW: 3, sH: 2, sW: 2, pH: 1, pW: 1, dH: 1, dW: 1, ceil: false },
  { N: 2, C: 3, H: 7, W: 6, KH: 3, KW: 3, sH: 2, sW: 2, pH: 1, pW: 1, dH: 1, dW: 1, ceil: true },
  { N: 1, C: 2, H: 5, W: 5, KH: 2, KW: 2, sH: 2, sW: 2, pH: 0, pW: 0, dH: 1, dW: 1, ceil: true },
  { N: 1, C: 2, H: 9, W: 8, KH: 3, KW: 2, sH: 1, sW: 2, pH: 1, pW: 1, dH: 2, dW: 3, ceil: false },
  { N: 1, C: 1, H: 1, W: 9, KH: 1, KW: 3, sH: 1, sW: 3, pH: 0, pW: 1, dH: 1, dW: 1, ceil: true },
  { N: 8, C: 16, H: 28, W: 28, KH: 2, KW: 2, sH: 2, sW: 2, pH: 0, pW: 0, dH: 1, dW: 1, ceil: false },
  // The 2x2 stride-2 fast path with a row and a column left over.
  { N: 2, C: 3, H: 5, W: 7, KH: 2, KW: 2, sH: 2, sW: 2, pH: 0, pW: 0, dH: 1, dW: 1, ceil: false },
];

nativeTest('pool2dOutputSize follows PyTorch (floor and ceil mode)', (a) => {
  assert.equal(a.pool2dOutputSize(5, 2, 2, 0), 2);
  assert.equal(a.pool2dOutputSize(5, 2, 2, 0, 1, true), 3);
  assert.equal(a.pool2dOutputSize(6, 3, 2, 1, 1, true), 4);
  assert.equal(a.pool2dOutputSize(7, 2, 2, 1, 1, true), 4);
  assert.equal(a.pool2dOutputSize(28, 2, 2, 0), 14);
  assert.equal(a.pool2dOutputSize(9, 3, 1, 1, 2), 7);
});

nativeTest('maxPool2d forward (values, argmax indices, ties, NaN) and backward', (a) => {
  const rand = rng(9);
  for (const threads of threadCounts(a)) {
    a.setNumThreads(threads);
    for (const g of POOLS) {
      const [OH, OW] = poolOut(a, g);
      // Small integers: plenty of ties.
      const x = Float32Array.from({ length: g.N * g.C * g.H * g.W }, () => Math.floor(rand() * 5) - 2);
      if (x.length > 10) {
        x[3] = Number.NaN;
        x[7] = Number.NaN;
      }
      const out = new Float32Array(g.N * g.C * OH * OW);
      const idx = new Int32Array(out.length);
      a.maxPool2dForward(x, out, idx, ...poolArgs(g, OH, OW));
      const ref = maxPoolRef(x, g, OH, OW);
      const tag = `t${threads} ${JSON.stringify(g)}`;
      assert.deepEqual(out, ref.out, `maxpool out ${tag}`);
      assert.deepEqual(idx, ref.idx, `maxpool idx ${tag}`);
      const go = Float32Array.from({ length: out.length }, () => rand() * 2 - 1);
      const gin = new Float32Array(x.length).fill(Number.NaN);
      a.maxPool2dBackward(go, idx, gin, ...poolArgs(g, OH, OW));
      const want = new Float32Array(x.length);
      const plane = OH * OW;
      for (let i = 0; i < go.length; i++) {
        const p = Math.floor(i / plane);
        if (idx[i] >= 0) want[p * g.H * g.W + idx[i]] += go[i];
      }
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(gin[i] - want[i]) <= 1e-6, `maxpool bwd ${tag} [${i}]`);
    }
  }
  // A 2x2 pool over a 4x4 plane; corrupt indices are rejected.
  const x = Float32Array.from({ length: 16 }, (_, i) => i);
  const out = new Float32Array(4);
  const idx = new Int32Array(4);
  const small = { N: 1, C: 1, H: 4, W: 4, KH: 2, KW: 2, sH: 2, sW: 2, pH: 0, pW: 0, dH: 1, dW: 1 };
  a.maxPool2dForward(x, out, idx, ...poolArgs(small, 2, 2));
  assert.deepEqual(Array.from(out), [5, 7, 13, 15]);
  assert.deepEqual(Array.from(idx), [5, 7, 13, 15]);
  idx[2] = 16;
  assert.throws(
    () => a.maxPool2dBackward(out, idx, new Float32Array(16), ...poolArgs(small, 2, 2)),
    (e: unknown) => e instanceof RangeError && /maxPool2dBackward/.test(e.message) && /indices\[2\]/.test(e.message),
  );
});

nativeTest('avgPool2d forward/backward (count_include_pad, divisor_override, ceil mode)', (a) => {
  const rand = rng(10);
  for (const threads of threadCounts(a)) {
    a.setNumThreads(threads);
    for (const g0 of POOLS) {
      const g = { ...g0, dH: 1, dW: 1 };
      const [OH, OW] = poolOut(a, g);
      const x = Float32Array.from({ length: g.N * g.C * g.H * g.W }, () => rand() * 2 - 1);
      for (const [includePad, divisor] of [
        [true, 0],
        [false, 0],
        [true, 3],
      ] as const) {
        const out = new Float32Array(g.N * g.C * OH * OW);
        a.avgPool2dForward(x, out, ...poolArgs(g, OH, OW), includePad, divisor);
        const ref = avgPoolRef(x, g, OH, OW, includePad, divisor);
        const tag = `t${threads} pad=${includePad} div=${divisor} ${JSON.stringify(g)}`;
        for (let i = 0; i < out.length; i++) assert.ok(Math.abs(out[i] - ref.out[i]) <= 1e-6, `avgpool out ${tag} [${i}]: ${out[i]} vs ${ref.out[i]}`);
        const go = Float32Array.from({ length: out.length }, () => rand() * 2 - 1);
        const gin = new Float32Array(x.length).fill(Number.NaN);
        a.avgPool2dBackward(go, gin, ...poolArgs(g, OH, OW), includePad, divisor);
        const want = ref.gradOf(go);
        for (let i = 0; i < gin.length; i++) assert.ok(Math.abs(gin[i] - want[i]) <= 1e-6, `avgpool bwd ${tag} [${i}]`);
      }
    }
  }
});
