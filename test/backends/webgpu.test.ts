// The WebGPU kernels against the reference kernels of the same names, on
// Dawn in Node. Without a GPU this runs on SwiftShader, the software Vulkan
// driver Debian's chromium package ships: correct but slow, so shapes stay at
// 256 or below. The tests skip, with one line saying how to enable them, when
// the `webgpu` package, libvulkan or SwiftShader's driver is missing.
/// <reference types="@webgpu/types" />
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { refKernels } from '../../src/backends/ref/index.js';
import { type GpuArray, type GpuDevice, openGpuDevice } from '../../src/backends/webgpu/device.js';
import { GPU_BINARY_OPS, GPU_UNARY_OPS, GpuKernels } from '../../src/backends/webgpu/kernels.js';
import { nodeGpu } from '../../src/backends/webgpu/node.js';
import type { AdamStepOptions, BinaryOp, SgdStepOptions, UnaryOp } from '../../src/kernels/contract.js';
import { adamUpdate } from '../../src/optim/adam.js';
import { sgdUpdate } from '../../src/optim/sgd.js';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
// Vulkan's loader reads this once, when Dawn first starts: a machine with a GPU driver keeps its own.
if (process.env.VK_ICD_FILENAMES === undefined && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;

// One GPU object for the whole file: Dawn aborts the process when a second instance is collected while the first is in use.
const gpuObject = await nodeGpu();
const opened = typeof gpuObject === 'string' ? gpuObject : await openGpuDevice(gpuObject, { allowFallback: true });
const skip =
  typeof opened === 'string'
    ? `WebGPU tests need Dawn (npm's webgpu package), libvulkan1 and a Vulkan driver (SwiftShader's ships in Debian's chromium): "apt-get install chromium libvulkan1" (.ci/run does) to run them; here: ${opened}`
    : false;
const device = typeof opened === 'string' ? null : opened;
after(() => device?.destroy());

/** A seeded generator of uniform floats in [lo, hi), so that a failure repeats. */
function rand(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = lo + ((s >>> 0) / 2 ** 32) * (hi - lo);
  }
  return out;
}

/** Every element within `rel` of the reference, relative to the reference's largest magnitude (at least 1). */
function assertClose(got: Float32Array, want: ArrayLike<number>, what: string, rel = 1e-4): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = 1;
  for (let i = 0; i < want.length; i++) if (Number.isFinite(want[i])) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) {
    const w = want[i];
    const g = got[i];
    if (Number.isNaN(w)) {
      assert.ok(Number.isNaN(g), `${what}[${i}]: got ${g}, want NaN`);
      continue;
    }
    if (!Number.isFinite(w)) {
      assert.equal(g, w, `${what}[${i}]`);
      continue;
    }
    assert.ok(Math.abs(g - w) <= rel * scale, `${what}[${i}]: got ${g}, want ${w} (tolerance ${rel * scale})`);
  }
}

describe('WebGPU kernels against the reference', { skip }, () => {
  const gpu = device as GpuDevice;
  const k = new GpuKernels(gpu);
  const up = (a: Float32Array) => gpu.upload(a);

  test('the adapter is named, and a software one is refused unless allowed', async () => {
    assert.ok(gpu.adapter.description.length > 0 || gpu.adapter.architecture.length > 0);
    if (gpu.adapter.isFallbackAdapter) {
      const refused = await openGpuDevice(gpuObject as GPU);
      assert.equal(typeof refused, 'string');
      assert.match(refused as string, /software fallback/);
    }
  });

  test('matmul in all four transpose forms, batched, on shapes that do not fill the 64 x 64 tiles', async () => {
    const cases: [number, number, number, number][] = [
      [1, 1, 1, 1],
      [1, 70, 33, 129],
      [3, 17, 65, 40],
      [1, 256, 256, 256],
    ];
    let seed = 1;
    for (const [batch, m, n, kk] of cases) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const a = rand(batch * m * kk, seed++);
          const b = rand(batch * kk * n, seed++);
          const want = new Float32Array(batch * m * n);
          refKernels.matmul(a, b, want, batch, m, n, kk, transA, transB);
          const out = gpu.empty(batch * m * n);
          k.matmul(up(a), up(b), out, batch, m, n, kk, transA, transB);
          assertClose(await gpu.read(out), want, `matmul ${batch}x${m}x${n}x${kk} transA=${transA} transB=${transB}`);
        }
      }
    }
  });

  test('addmm adds the bias to every row of the product', async () => {
    for (const [transA, transB] of [
      [false, false],
      [false, true],
      [true, false],
    ] as const) {
      const [m, n, kk] = [37, 90, 75];
      const bias = rand(n, 3);
      const a = rand(m * kk, 4);
      const b = rand(kk * n, 5);
      const want = new Float32Array(m * n);
      refKernels.addmm(bias, a, b, want, m, n, kk, transA, transB);
      const out = gpu.empty(m * n);
      k.addmm(up(bias), up(a), up(b), out, m, n, kk, transA, transB);
      assertClose(await gpu.read(out), want, `addmm transA=${transA} transB=${transB}`);
    }
  });

  test('every GPU unary op, NaN and the ends of the range included', async () => {
    const x = rand(1000, 7, -4, 4);
    x.set([0, -0, Number.NaN, 90, -90, 1e-30], 0);
    for (const op of GPU_UNARY_OPS) {
      // log, sqrt and rsqrt on magnitudes, as the contract's tests do: negative inputs give NaN on both sides anyway.
      const input = ['log', 'sqrt', 'rsqrt', 'reciprocal'].includes(op) ? x.map((v) => Math.abs(v) + 0.5) : x;
      const want = new Float32Array(input.length);
      refKernels.unary(op as UnaryOp, input, want);
      const out = gpu.empty(input.length);
      k.unary(op, up(input), out);
      assertClose(await gpu.read(out), want, `unary ${op}`, op === 'exp' || op === 'square' ? 1e-5 : 1e-4);
    }
  });

  test('reluBackward passes the gradient where x > 0 and where x is NaN', async () => {
    const x = rand(777, 9);
    x[3] = Number.NaN;
    x[4] = 0;
    const g = rand(777, 10);
    const want = new Float32Array(777);
    refKernels.reluBackward(x, g, want);
    const out = gpu.empty(777);
    k.reluBackward(up(x), up(g), out);
    assertClose(await gpu.read(out), want, 'reluBackward');
  });

  test('binary ops with broadcasting in every direction', async () => {
    const shapes: [number[], number[]][] = [
      [[300], [300]],
      [[64, 10], [10]],
      [
        [4, 1, 5],
        [3, 1],
      ],
      [[1], [2, 3, 4]],
      [
        [2, 1, 3, 1],
        [1, 4, 1, 5],
      ],
    ];
    let seed = 20;
    for (const op of GPU_BINARY_OPS) {
      for (const [aShape, bShape] of shapes) {
        const rank = Math.max(aShape.length, bShape.length);
        const outShape = Array.from({ length: rank }, (_, i) => {
          const ad = aShape[aShape.length - rank + i] ?? 1;
          const bd = bShape[bShape.length - rank + i] ?? 1;
          return Math.max(ad, bd);
        });
        const size = (s: number[]) => s.reduce((p, d) => p * d, 1);
        const a = rand(size(aShape), seed++);
        const b = rand(size(bShape), seed++, 0.5, 2);
        if (op === 'maximum') a[0] = Number.NaN;
        const want = new Float32Array(size(outShape));
        refKernels.binary(op as BinaryOp, a, aShape, b, bShape, want, outShape);
        const out = gpu.empty(want.length);
        k.binary(op, up(a), aShape, up(b), bShape, out, outShape);
        assertClose(await gpu.read(out), want, `binary ${op} ${JSON.stringify(aShape)} ${JSON.stringify(bShape)}`);
      }
    }
  });

  test('sum, max and min over leading, trailing, middle and all axes', async () => {
    const shape = [6, 7, 8];
    const x = rand(6 * 7 * 8, 40);
    for (const op of ['sum', 'max', 'min'] as const) {
      for (const axes of [[0], [2], [1], [0, 2], [0, 1, 2]]) {
        const keptSize = shape.filter((_, d) => !axes.includes(d)).reduce((p, d) => p * d, 1);
        const want = new Float32Array(keptSize);
        refKernels.reduce(op, x, shape, axes, want);
        const out = gpu.empty(keptSize);
        k.reduce(op, up(x), shape, axes, out);
        assertClose(await gpu.read(out), want, `reduce ${op} over ${axes}`);
      }
    }
  });

  test('logSoftmax of each row, against float64 arithmetic', async () => {
    const [rows, cols] = [50, 10];
    const x = rand(rows * cols, 50, -20, 20);
    const want = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      const row = x.subarray(r * cols, (r + 1) * cols);
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
      for (let j = 0; j < cols; j++) want[r * cols + j] = row[j] - lse;
    }
    const out = gpu.empty(rows * cols);
    k.logSoftmax(up(x), out, rows, cols);
    assertClose(await gpu.read(out), want, 'logSoftmax');
  });

  test('the LSTM cell forward and backward', async () => {
    const [n, h] = [5, 33];
    const gates = rand(n * 4 * h, 60, -3, 3);
    const cPrev = rand(n * h, 61);
    const wantC = new Float32Array(n * h);
    const wantH = new Float32Array(n * h);
    const wantGates = new Float32Array(n * 4 * h);
    refKernels.lstmCellForward(gates, cPrev, wantC, wantH, wantGates, n, h);
    const [c, hh, act] = [gpu.empty(n * h), gpu.empty(n * h), gpu.empty(n * 4 * h)];
    const cPrevGpu = up(cPrev);
    k.lstmCellForward(up(gates), cPrevGpu, c, hh, act, n, h);
    assertClose(await gpu.read(c), wantC, 'lstm c');
    assertClose(await gpu.read(hh), wantH, 'lstm h');
    assertClose(await gpu.read(act), wantGates, 'lstm gates');

    for (const [withDh, withDc] of [
      [true, true],
      [true, false],
      [false, true],
    ]) {
      const dh = withDh ? rand(n * h, 62) : null;
      const dc = withDc ? rand(n * h, 63) : null;
      const wantDGates = new Float32Array(n * 4 * h);
      const wantDcPrev = new Float32Array(n * h);
      refKernels.lstmCellBackward(wantGates, cPrev, wantC, dh, dc, wantDGates, wantDcPrev, n, h);
      const [dGates, dcPrev] = [gpu.empty(n * 4 * h), gpu.empty(n * h)];
      k.lstmCellBackward(act, cPrevGpu, c, dh && up(dh), dc && up(dc), dGates, dcPrev, n, h);
      assertClose(await gpu.read(dGates), wantDGates, `lstm dGates dh=${withDh} dc=${withDc}`);
      assertClose(await gpu.read(dcPrev), wantDcPrev, `lstm dcPrev dh=${withDh} dc=${withDc}`);
    }
  });

  test("the fused SGD and Adam steps follow the optimizers' own rules over several steps", async () => {
    const n = 1000;
    const sgdCases: Omit<SgdStepOptions, 'firstStep'>[] = [
      { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false },
      { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01, nesterov: false, maximize: false },
      { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: true, maximize: true },
    ];
    for (const o of sgdCases) {
      const w = rand(n, 70);
      const buf = new Float32Array(n);
      const [wg, bufG] = [up(w), up(buf)];
      for (let step = 0; step < 3; step++) {
        const g = rand(n, 71 + step);
        const opts = { ...o, firstStep: step === 0 };
        sgdUpdate(w, g, o.momentum === 0 ? null : buf, opts);
        k.sgdStep(wg, up(g), o.momentum === 0 ? null : bufG, opts);
      }
      assertClose(await gpu.read(wg), w, `sgd ${JSON.stringify(o)}`);
    }
    for (const decoupled of [false, true]) {
      const w = rand(n, 80);
      const m = new Float32Array(n);
      const v = new Float32Array(n);
      const [wg, mg, vg] = [up(w), up(m), up(v)];
      for (let step = 1; step <= 3; step++) {
        const g = rand(n, 81 + step);
        const o: AdamStepOptions = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, step, decoupled, maximize: false };
        adamUpdate(w, g, m, v, null, o);
        k.adamStep(wg, up(g), mg, vg, o);
      }
      assertClose(await gpu.read(wg), w, `adam decoupled=${decoupled}`);
      assertClose(await gpu.read(mg), m, `adam m decoupled=${decoupled}`);
    }
  });

  test('transfers are counted, and released buffers are reused: 1,000 steps leave GPU memory flat', async () => {
    const before = gpu.transferCounts();
    const x = up(rand(4096, 90));
    const w = up(rand(64 * 64, 91));
    const after1 = gpu.transferCounts();
    assert.equal(after1.uploads - before.uploads, 2);
    assert.equal(after1.bytesUp - before.bytesUp, (4096 + 4096) * 4);
    const stepOnce = () => {
      const y = gpu.empty(64 * 64);
      k.matmul(x, w, y, 1, 64, 64, 64, false, false);
      const z = gpu.empty(64 * 64);
      k.unary('tanh', y, z);
      y.release();
      return z;
    };
    stepOnce().release();
    const buffersAfterFirst = gpu.memory().buffers;
    let last: GpuArray | null = null;
    for (let i = 0; i < 1000; i++) {
      last?.release();
      last = stepOnce();
    }
    // Each step takes its two arrays from the pool that the step before filled: not one buffer more than after the first.
    assert.equal(gpu.memory().buffers, buffersAfterFirst);
    const down = gpu.transferCounts();
    await gpu.read(last as GpuArray);
    assert.equal(gpu.transferCounts().downloads, down.downloads + 1);
    assert.equal(gpu.transferCounts().uploads, after1.uploads, 'no upload happened inside the loop');
    assert.throws(() => {
      (last as GpuArray).release();
      k.unary('relu', last as GpuArray, gpu.empty(1));
    }, /released/);
  });
});
