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
import { GPU_BINARY_OPS, GPU_COMPARE_OPS, GPU_PREDICATE_OPS, GPU_UNARY_OPS, GpuKernels } from '../../src/backends/webgpu/kernels.js';
import { sharedNodeGpu as nodeGpu } from '../../src/backends/webgpu/node.js';
import type { AdamStepOptions, AvgPoolDivisor, BinaryOp, CompareOp, PredicateOp, SgdStepOptions, UnaryOp } from '../../src/kernels/contract.js';
import type { Conv2dGeometry, Pool2dGeometry } from '../../src/kernels/geometry.js';
import { adadeltaUpdate } from '../../src/optim/adadelta.js';
import { adagradUpdate } from '../../src/optim/adagrad.js';
import { adamUpdate } from '../../src/optim/adam.js';
import { rmspropUpdate } from '../../src/optim/rmsprop.js';
import { sgdUpdate } from '../../src/optim/sgd.js';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
// Vulkan's loader reads this once, when Dawn first starts: a machine with a GPU driver keeps its own.
if (process.env.VK_ICD_FILENAMES === undefined && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;

// One GPU object for the whole file: Dawn aborts the process when a second instance is collected while the first is in use.
const gpuObject = await nodeGpu();
const opened = typeof gpuObject === 'string' ? gpuObject : await openGpuDevice(gpuObject, { allowFallback: true });
// The GPU's kernels are checked against the reference's by name, whatever backend the engine runs: once is enough.
const skip =
  process.env.NEURITE_BACKEND && process.env.NEURITE_BACKEND !== 'ref'
    ? 'the kernel parity tests run in the ref pass (they compare with the reference kernels directly)'
    : typeof opened === 'string'
      ? `WebGPU tests need Dawn (npm's webgpu package), libvulkan1 and a Vulkan driver (SwiftShader's ships in Debian's chromium): "apt-get install chromium libvulkan1" (.ci/run does) to run them; here: ${opened}`
      : false;
const device = typeof opened === 'string' ? null : opened;
after(() => device?.destroy());

/** A seeded generator of uniform floats in [lo, hi), so that a failure repeats. */
/** A convolution's geometry with PyTorch's output size. */
function convGeometry(g: Omit<Conv2dGeometry, 'outH' | 'outW'>): Conv2dGeometry {
  const out = (size: number, pad: number, dil: number, k: number, stride: number) => Math.floor((size + 2 * pad - dil * (k - 1) - 1) / stride) + 1;
  return { ...g, outH: out(g.inH, g.padH, g.dilationH, g.kernelH, g.strideH), outW: out(g.inW, g.padW, g.dilationW, g.kernelW, g.strideW) };
}

/** A pooling geometry with PyTorch's output size, floor or ceil mode (a ceil-mode window must start inside the input or its left padding). */
function poolGeometry(g: Omit<Pool2dGeometry, 'outH' | 'outW'>, ceil = false): Pool2dGeometry {
  const out = (size: number, pad: number, dil: number, k: number, stride: number) => {
    const span = size + 2 * pad - dil * (k - 1) - 1;
    let o = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
    if (ceil && (o - 1) * stride >= size + pad) o--;
    return o;
  };
  return { ...g, outH: out(g.inH, g.padH, g.dilationH, g.kernelH, g.strideH), outW: out(g.inW, g.padW, g.dilationW, g.kernelW, g.strideW) };
}

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
  const up = (a: Float32Array | Int32Array) => gpu.upload(a);

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
    x.set([0, -0, Number.NaN, 90, -90, 1e-30, 2.5, -0.5, 1.5, 0.001, -0.005, 0.02, -1], 0);
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

  test('pow and atan2 on every pair of special values: zeros of both signs, ±1, integers odd and even, infinities, NaN', async () => {
    const specials = [0, -0, 1, -1, 2, -2, 0.5, -0.5, 3, -3, 2.5, -2.5, 1e-3, 10, -10, 64, 65, -65, 100, 1e-30, Infinity, -Infinity, Number.NaN];
    const n = specials.length;
    const a = Float32Array.from(specials);
    for (const op of ['pow', 'atan2'] as const) {
      const want = new Float32Array(n * n);
      refKernels.binary(op, a, [n, 1], a, [1, n], want, [n, n]);
      const out = gpu.empty(n * n);
      k.binary(op, up(a), [n, 1], up(a), [1, n], out, [n, n]);
      const got = await gpu.read(out);
      for (let i = 0; i < n * n; i++) {
        const [u, v, w, g] = [specials[Math.floor(i / n)], specials[i % n], want[i], got[i]];
        const what = `${op}(${u}, ${v}): got ${g}, want ${w}`;
        // NaN, the infinities and zeros exactly (a zero's sign too: atan2 of it tells -π from π); the rest to 1e-4 of itself.
        if (Number.isNaN(w) || !Number.isFinite(w) || w === 0) assert.ok(Object.is(g, w), what);
        else assert.ok(Math.abs(g - w) <= 1e-4 * Math.abs(w), what);
      }
    }
  });

  test('maxUnpool puts each input at its index, the last one where two name one place, and ignores indices outside the output', async () => {
    const planes = 3;
    const inPlane = 40;
    const outPlane = 150;
    const x = rand(planes * inPlane, 50);
    const indices = new Int32Array(planes * inPlane);
    let s = 12345;
    for (let i = 0; i < indices.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      // Few places, so that many inputs collide; a few past either end of their plane.
      indices[i] = (s % 70) - 5;
    }
    indices[0] = -1; // before the first plane: nowhere
    indices[planes * inPlane - 1] = outPlane + 3; // past the last plane: nowhere
    const want = new Float32Array(planes * outPlane);
    refKernels.maxUnpool(x, indices, want, planes, inPlane, outPlane);
    const out = gpu.empty(planes * outPlane);
    k.maxUnpool(up(x), gpu.upload(indices), out, planes, inPlane, outPlane);
    assert.deepEqual(await gpu.read(out), want);
  });

  test('sum, product, max and min over leading, trailing, middle and all axes', async () => {
    const shape = [6, 7, 8];
    const x = rand(6 * 7 * 8, 40);
    // Products of up to 336 factors stay near 1 when each factor does.
    const nearOne = rand(6 * 7 * 8, 41, 0.97, 1.03);
    for (const op of ['sum', 'prod', 'max', 'min'] as const) {
      for (const axes of [[0], [2], [1], [0, 2], [0, 1, 2]]) {
        const keptSize = shape.filter((_, d) => !axes.includes(d)).reduce((p, d) => p * d, 1);
        const want = new Float32Array(keptSize);
        const input = op === 'prod' ? nearOne : x;
        refKernels.reduce(op, input, shape, axes, want);
        const out = gpu.empty(keptSize);
        k.reduce(op, up(input), shape, axes, out);
        assertClose(await gpu.read(out), want, `reduce ${op} over ${axes}`);
      }
    }
  });

  test('masks: every comparison and predicate, where, casts and argmax/argmin, NaN and broadcasting included, bit for bit', async () => {
    // A bool array goes to the GPU as its bytes, four to a word; one that is read back is cut to its length.
    const upBool = (m: Uint8Array) => {
      const words = new Uint8Array(Math.max(4, Math.ceil(m.length / 4) * 4));
      words.set(m);
      return up(new Float32Array(words.buffer));
    };
    const readBool = async (a: GpuArray, n: number) => new Uint8Array((await gpu.read(a)).buffer, 0, n);
    const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);
    const withSpecials = (n: number, seed: number) => {
      // Small integers, so that equal pairs occur, and NaN, ±Infinity, ±0.
      const x = rand(n, seed, -3, 3).map(Math.round);
      const specials = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -0];
      for (let i = 0; i < n; i += 7) x[i] = specials[(i / 7) % specials.length];
      return x;
    };
    const broadcasts: [number[], number[], number[]][] = [
      [[37], [37], [37]],
      [[6, 5], [5], [6, 5]],
      [
        [4, 1, 3],
        [5, 1],
        [4, 5, 3],
      ],
      [[1], [2, 3, 2], [2, 3, 2]],
    ];
    let seed = 900;
    for (const op of GPU_COMPARE_OPS) {
      for (const [aShape, bShape, outShape] of broadcasts) {
        const a = withSpecials(size(aShape), seed++);
        const b = withSpecials(size(bShape), seed++);
        const want = new Uint8Array(size(outShape));
        refKernels.compare(op as CompareOp, a, aShape, b, bShape, want, outShape);
        const out = gpu.empty(Math.ceil(want.length / 4));
        k.compare(op, up(a), aShape, up(b), bShape, out, outShape);
        assert.deepEqual(await readBool(out, want.length), want, `compare ${op} ${aShape} with ${bShape}`);
      }
      // Bool operands (masks combined), and a float with a bool.
      const ma = Uint8Array.from({ length: 30 }, (_, i) => ((i * 5) % 3 === 0 ? 1 : 0));
      const mb = Uint8Array.from({ length: 30 }, (_, i) => ((i * 7) % 4 === 1 ? 1 : 0));
      const want = new Uint8Array(30);
      refKernels.compare(op as CompareOp, ma, [30], mb, [30], want, [30]);
      const out = gpu.empty(8);
      k.compare(op, upBool(ma), [30], upBool(mb), [30], out, [30], { a: 'bool', b: 'bool' });
      assert.deepEqual(await readBool(out, 30), want, `compare ${op} of two bool arrays`);
      const fl = withSpecials(30, seed++);
      const wantMixed = new Uint8Array(30);
      refKernels.compare(op as CompareOp, fl, [30], ma, [30], wantMixed, [30]);
      k.compare(op, up(fl), [30], upBool(ma), [30], out, [30], { a: 'f32', b: 'bool' });
      assert.deepEqual(await readBool(out, 30), wantMixed, `compare ${op} of float32 with bool`);
    }
    const x = withSpecials(45, 950);
    const mask = Uint8Array.from({ length: 45 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const whole = Int32Array.from({ length: 45 }, (_, i) => (i % 4) - 1);
    for (const op of GPU_PREDICATE_OPS) {
      for (const [input, element] of [
        [x, 'f32'],
        [mask, 'bool'],
        [whole, 'i32'],
      ] as const) {
        const want = new Uint8Array(45);
        refKernels.predicate(op as PredicateOp, input, want);
        const out = gpu.empty(12);
        k.predicate(op, element === 'bool' ? upBool(mask) : up(input as Float32Array), 45, out, element);
        assert.deepEqual(await readBool(out, 45), want, `predicate ${op} of ${element}`);
      }
    }
    for (const [aShape, bShape, cShape] of [
      [
        [6, 5],
        [6, 5],
        [6, 5],
      ],
      [[6, 5], [1], [5]],
      [
        [4, 1, 3],
        [5, 1],
        [4, 5, 1],
      ],
    ]) {
      const outShape = aShape.length === 3 ? [4, 5, 3] : [6, 5];
      const a = withSpecials(size(aShape), seed++);
      const b = rand(size(bShape), seed++);
      const cond = Uint8Array.from({ length: size(cShape) }, (_, i) => ((i * 11) % 5 < 2 ? 1 : 0));
      const want = new Float32Array(size(outShape));
      refKernels.where(cond, cShape, a, aShape, b, bShape, want, outShape);
      const out = gpu.empty(want.length);
      k.where(upBool(cond), cShape, up(a), aShape, up(b), bShape, out, outShape);
      const got = await gpu.read(out);
      assert.deepEqual(new Uint32Array(got.buffer), new Uint32Array(want.buffer), `where over ${cShape}, ${aShape} and ${bShape}`);
    }
    // Casts: int32 past 2^24 rounds to even as a Float32Array stores it; float32 to int32 truncates, wraps past
    // the int32 range and gives 0 for NaN and the infinities, as an Int32Array stores Math.trunc(v).
    const floats = Float32Array.from([
      1.5,
      -1.5,
      2.999,
      -0.4,
      3e9,
      -3e9,
      5e9,
      1e20,
      2147483520,
      -2147483648,
      16777217,
      Number.NaN,
      Infinity,
      -Infinity,
      0,
      -0,
      7,
      1e-30,
      -8.5,
      123456.7,
    ]);
    const intsForCast = Int32Array.from([0, 1, -1, 16777217, 16777219, -16777219, 2147483647, -2147483648, 33554435, 123456789, -987654321, 7]);
    const bools = Uint8Array.from([1, 0, 0, 1, 1, 1, 0, 1]);
    const sources = { f32: floats, i32: intsForCast, bool: bools } as const;
    for (const from of ['f32', 'i32', 'bool'] as const) {
      for (const to of ['f32', 'i32', 'bool'] as const) {
        const src = sources[from];
        const n = src.length;
        const want = to === 'f32' ? new Float32Array(n) : to === 'i32' ? new Int32Array(n) : new Uint8Array(n);
        refKernels.cast(src, want);
        const out = gpu.empty(to === 'bool' ? Math.ceil(n / 4) : n);
        k.cast(from === 'bool' ? upBool(bools) : up(src as Float32Array), from, out, to, n);
        const got = await gpu.read(out);
        const bytes = new Uint8Array(got.buffer, 0, want.byteLength);
        assert.deepEqual(
          bytes,
          new Uint8Array(want.buffer),
          `cast ${from} to ${to}: got ${Array.from(to === 'f32' ? got : to === 'i32' ? new Int32Array(got.buffer) : bytes)}, want ${Array.from(want)}`,
        );
      }
    }
    const scores = withSpecials(6 * 7 * 5, 980);
    scores.set([1, 1, 1, 1, 1, 1, 1], 7 * 5);
    for (const op of ['argmax', 'argmin'] as const) {
      for (const axis of [0, 1, 2]) {
        const shape = [6, 7, 5];
        const want = new Int32Array(size(shape) / shape[axis]);
        refKernels.argReduce(op, scores, shape, axis, want);
        const out = gpu.empty(want.length);
        k.argReduce(op, up(scores), shape, axis, out);
        assert.deepEqual(await gpu.readInt32(out), want, `${op} along axis ${axis}`);
      }
    }
  });

  test('logSoftmax along the last axis and along a middle one, against the reference kernel', async () => {
    for (const [outer, size, inner] of [
      [50, 10, 1],
      [3, 7, 33],
    ]) {
      const x = rand(outer * size * inner, 50, -20, 20);
      const want = new Float32Array(x.length);
      refKernels.logSoftmax(x, outer, size, inner, want);
      const out = gpu.empty(x.length);
      k.logSoftmax(up(x), outer, size, inner, out);
      assertClose(await gpu.read(out), want, `logSoftmax [${outer}, ${size}, ${inner}]`);
      const g = rand(x.length, 51);
      const wantDx = new Float32Array(x.length);
      refKernels.logSoftmaxBackward(g, want, outer, size, inner, wantDx);
      const dx = gpu.empty(x.length);
      k.logSoftmaxBackward(up(g), up(want), outer, size, inner, dx);
      assertClose(await gpu.read(dx), wantDx, `logSoftmaxBackward [${outer}, ${size}, ${inner}]`);
    }
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
    for (const [decoupled, amsgrad] of [
      [false, false],
      [true, false],
      [false, true],
    ]) {
      const w = rand(n, 80);
      const m = new Float32Array(n);
      const v = new Float32Array(n);
      const vMax = amsgrad ? new Float32Array(n) : null;
      const [wg, mg, vg] = [up(w), up(m), up(v)];
      const vMaxG = vMax && up(vMax);
      for (let step = 1; step <= 3; step++) {
        // Gradients that shrink, so that amsgrad's maximum differs from v.
        const g = rand(n, 81 + step).map((x) => x / step);
        const o: AdamStepOptions = { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, step, decoupled, maximize: false };
        adamUpdate(w, g, m, v, vMax, o);
        k.adamStep(wg, up(g), mg, vg, vMaxG, o);
      }
      assertClose(await gpu.read(wg), w, `adam decoupled=${decoupled} amsgrad=${amsgrad}`);
      assertClose(await gpu.read(mg), m, `adam m decoupled=${decoupled} amsgrad=${amsgrad}`);
      if (vMax !== null) assertClose(await gpu.read(vMaxG as GpuArray), vMax, 'adam vMax');
    }
  });

  test("the fused RMSprop, Adagrad and Adadelta steps follow the optimizers' own rules over several steps", async () => {
    const n = 1000;
    for (const [centered, momentum, maximize, weightDecay] of [
      [false, 0, false, 0],
      [true, 0.9, false, 0.01],
      [false, 0.5, true, 0],
      [true, 0, false, 0],
    ] as [boolean, number, boolean, number][]) {
      const o = { lr: 0.01, alpha: 0.9, eps: 1e-8, weightDecay, momentum, centered, maximize };
      const w = rand(n, 90);
      const [v, a, b] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
      const [wg, vg, ag, bg] = [up(w), up(v), up(a), up(b)];
      for (let step = 1; step <= 3; step++) {
        const g = rand(n, 91 + step);
        rmspropUpdate(w, g, v, centered ? a : null, momentum > 0 ? b : null, o);
        k.rmspropStep(wg, up(g), vg, centered ? ag : null, momentum > 0 ? bg : null, o);
      }
      assertClose(await gpu.read(wg), w, `rmsprop ${JSON.stringify(o)}`);
      assertClose(await gpu.read(vg), v, 'rmsprop squareAvg');
    }
    for (const [lrDecay, weightDecay, maximize] of [
      [0, 0, false],
      [0.1, 0.01, true],
    ] as [number, number, boolean][]) {
      const o = { lr: 0.1, lrDecay, weightDecay, eps: 1e-10, maximize, initialAccumulatorValue: 0 };
      const w = rand(n, 95);
      const sum = new Float32Array(n).fill(0.1);
      const [wg, sg] = [up(w), up(sum)];
      for (let step = 1; step <= 3; step++) {
        const g = rand(n, 96 + step);
        adagradUpdate(w, g, sum, step, o);
        k.adagradStep(wg, up(g), sg, step, o);
      }
      assertClose(await gpu.read(wg), w, `adagrad ${JSON.stringify(o)}`);
      assertClose(await gpu.read(sg), sum, 'adagrad sum');
    }
    for (const [weightDecay, maximize] of [
      [0, false],
      [0.01, true],
    ] as [number, boolean][]) {
      const o = { lr: 1, rho: 0.9, eps: 1e-6, weightDecay, maximize };
      const w = rand(n, 99);
      const [v, u] = [new Float32Array(n), new Float32Array(n)];
      const [wg, vg, ug] = [up(w), up(v), up(u)];
      for (let step = 1; step <= 3; step++) {
        const g = rand(n, 100 + step);
        adadeltaUpdate(w, g, v, u, o);
        k.adadeltaStep(wg, up(g), vg, ug, o);
      }
      assertClose(await gpu.read(wg), w, `adadelta ${JSON.stringify(o)}`);
      assertClose(await gpu.read(ug), u, 'adadelta accDelta');
    }
  });

  test('conv2d forward and both backward passes: stride, padding, dilation, groups, with and without bias', async () => {
    const geometries: Conv2dGeometry[] = [
      // LeNet-5's first layer on four 28 x 28 images.
      convGeometry({
        batch: 4,
        inChannels: 1,
        inH: 28,
        inW: 28,
        outChannels: 6,
        kernelH: 5,
        kernelW: 5,
        strideH: 1,
        strideW: 1,
        padH: 2,
        padW: 2,
        dilationH: 1,
        dilationW: 1,
        groups: 1,
      }),
      convGeometry({
        batch: 2,
        inChannels: 6,
        inH: 11,
        inW: 9,
        outChannels: 4,
        kernelH: 3,
        kernelW: 2,
        strideH: 2,
        strideW: 3,
        padH: 1,
        padW: 0,
        dilationH: 2,
        dilationW: 1,
        groups: 2,
      }),
      convGeometry({
        batch: 3,
        inChannels: 4,
        inH: 7,
        inW: 7,
        outChannels: 8,
        kernelH: 1,
        kernelW: 1,
        strideH: 1,
        strideW: 1,
        padH: 0,
        padW: 0,
        dilationH: 1,
        dilationW: 1,
        groups: 4,
      }),
    ];
    let seed = 100;
    for (const g of geometries) {
      const cg = g.inChannels / g.groups;
      const x = rand(g.batch * g.inChannels * g.inH * g.inW, seed++);
      const w = rand(g.outChannels * cg * g.kernelH * g.kernelW, seed++);
      const bias = rand(g.outChannels, seed++);
      const outSize = g.batch * g.outChannels * g.outH * g.outW;
      const [xg, wg] = [up(x), up(w)];
      for (const withBias of [true, false]) {
        const want = new Float32Array(outSize);
        refKernels.conv2d(x, w, withBias ? bias : null, want, g);
        const out = gpu.empty(outSize);
        k.conv2d(xg, wg, withBias ? up(bias) : null, out, g);
        assertClose(await gpu.read(out), want, `conv2d bias=${withBias} ${JSON.stringify(g)}`);
      }
      const gradOut = rand(outSize, seed++);
      const gradOutG = up(gradOut);
      const wantIn = new Float32Array(x.length);
      refKernels.conv2dBackwardInput(gradOut, w, wantIn, g);
      const gradIn = gpu.empty(x.length);
      k.conv2dBackwardInput(gradOutG, wg, gradIn, g);
      assertClose(await gpu.read(gradIn), wantIn, `conv2dBackwardInput ${JSON.stringify(g)}`);
      const wantW = new Float32Array(w.length);
      refKernels.conv2dBackwardWeight(x, gradOut, wantW, g);
      const gradW = gpu.empty(w.length);
      k.conv2dBackwardWeight(xg, gradOutG, gradW, g);
      assertClose(await gpu.read(gradW), wantW, `conv2dBackwardWeight ${JSON.stringify(g)}`);
    }
  });

  test('max and average pooling forward and backward: overlapping windows, padding, dilation, ceil mode, divisors', async () => {
    const geometries: [Pool2dGeometry, AvgPoolDivisor][] = [
      [
        poolGeometry({ batch: 2, channels: 3, inH: 8, inW: 8, kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, padH: 0, padW: 0, dilationH: 1, dilationW: 1 }),
        { countIncludePad: true, divisorOverride: 0 },
      ],
      [
        poolGeometry(
          { batch: 1, channels: 2, inH: 9, inW: 7, kernelH: 3, kernelW: 3, strideH: 2, strideW: 1, padH: 1, padW: 1, dilationH: 1, dilationW: 1 },
          true,
        ),
        { countIncludePad: false, divisorOverride: 0 },
      ],
      [
        poolGeometry(
          { batch: 2, channels: 1, inH: 10, inW: 10, kernelH: 3, kernelW: 2, strideH: 3, strideW: 2, padH: 1, padW: 0, dilationH: 1, dilationW: 1 },
          true,
        ),
        { countIncludePad: true, divisorOverride: 5 },
      ],
    ];
    let seed = 200;
    for (const [g, divisor] of geometries) {
      const x = rand(g.batch * g.channels * g.inH * g.inW, seed++);
      // Repeated values test the first-maximum rule; a NaN tests its propagation.
      x[1] = x[0];
      x[9] = Number.NaN;
      const nOut = g.batch * g.channels * g.outH * g.outW;
      const xg = up(x);
      const wantOut = new Float32Array(nOut);
      const wantIdx = new Int32Array(nOut);
      refKernels.maxPool2d(x, wantOut, wantIdx, g);
      const [out, idx] = [gpu.empty(nOut), gpu.empty(nOut)];
      k.maxPool2d(xg, out, idx, g);
      assertClose(await gpu.read(out), wantOut, `maxPool2d ${JSON.stringify(g)}`);
      assert.deepEqual(await gpu.readInt32(idx), wantIdx, `maxPool2d indices ${JSON.stringify(g)}`);
      const gradOut = rand(nOut, seed++);
      const wantIn = new Float32Array(x.length);
      refKernels.maxPool2dBackward(gradOut, wantIdx, wantIn, g);
      const gradIn = gpu.empty(x.length);
      k.maxPool2dBackward(up(gradOut), idx, gradIn, g);
      assertClose(await gpu.read(gradIn), wantIn, `maxPool2dBackward ${JSON.stringify(g)}`);

      const avgGeometry = { ...g, dilationH: 1, dilationW: 1 };
      const wantAvg = new Float32Array(nOut);
      const xFinite = x.map((v) => (Number.isNaN(v) ? 0.5 : v));
      refKernels.avgPool2d(xFinite, wantAvg, avgGeometry, divisor);
      const avg = gpu.empty(nOut);
      k.avgPool2d(up(xFinite), avg, avgGeometry, divisor);
      assertClose(await gpu.read(avg), wantAvg, `avgPool2d ${JSON.stringify(divisor)}`);
      const wantAvgIn = new Float32Array(x.length);
      refKernels.avgPool2dBackward(gradOut, wantAvgIn, avgGeometry, divisor);
      const avgIn = gpu.empty(x.length);
      k.avgPool2dBackward(up(gradOut), avgIn, avgGeometry, divisor);
      assertClose(await gpu.read(avgIn), wantAvgIn, `avgPool2dBackward ${JSON.stringify(divisor)}`);
    }
  });

  test('softmax cross-entropy: per-row loss and logit gradient against float64, NaN for a label out of range', async () => {
    const [rows, cols] = [64, 10];
    const x = rand(rows * cols, 300, -8, 8);
    const labels = Int32Array.from({ length: rows }, (_, r) => (r * 7) % cols);
    labels[5] = cols;
    const wantLoss = new Float64Array(rows);
    const wantGrad = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      const row = x.subarray(r * cols, (r + 1) * cols);
      const m = Math.max(...row);
      const s = row.reduce((acc, v) => acc + Math.exp(v - m), 0);
      wantLoss[r] = labels[r] < cols ? m + Math.log(s) - row[labels[r]] : Number.NaN;
      for (let j = 0; j < cols; j++) wantGrad[r * cols + j] = Math.exp(row[j] - m) / s - (j === labels[r] ? 1 : 0);
    }
    const [loss, grad] = [gpu.empty(rows), gpu.empty(rows * cols)];
    k.softmaxCrossEntropy(up(x), up(labels), loss, grad, rows, cols);
    assertClose(await gpu.read(loss), wantLoss, 'cross-entropy loss');
    assertClose(await gpu.read(grad), wantGrad, 'cross-entropy gradient');
  });

  test('gather, scatterAdd and slice (the indexing of cross-entropy and of narrow) against the reference', async () => {
    const shape = [5, 6, 4];
    const x = rand(5 * 6 * 4, 400);
    for (const [axis, indexShape] of [
      [1, [5, 3, 4]],
      [0, [2, 6, 4]],
      [2, [5, 6, 1]],
      [1, [3, 2, 2]],
    ] as [number, number[]][]) {
      const n = indexShape.reduce((p, d) => p * d, 1);
      const index = Int32Array.from({ length: n }, (_, i) => (i * 7 + 3) % shape[axis]);
      const want = new Float32Array(n);
      refKernels.gather(x, shape, axis, index, indexShape, want);
      const out = gpu.empty(n);
      const indexG = up(index);
      k.gather(up(x), shape, axis, indexG, indexShape, out);
      assertClose(await gpu.read(out), want, `gather axis ${axis} ${indexShape}`);
      const src = rand(n, 401);
      const base = rand(x.length, 402);
      const wantAdd = base.slice();
      refKernels.scatterAdd(wantAdd, shape, axis, index, indexShape, src);
      const acc = up(base);
      k.scatterAdd(acc, shape, axis, indexG, indexShape, up(src));
      assertClose(await gpu.read(acc), wantAdd, `scatterAdd axis ${axis} ${indexShape}`);
    }
    for (const [begin, step, outShape] of [
      [
        [1, 0, 0],
        [1, 1, 1],
        [3, 6, 4],
      ],
      [
        [4, 5, 3],
        [-1, -2, -1],
        [3, 3, 2],
      ],
      [
        [0, 2, 1],
        [2, 1, 2],
        [3, 2, 2],
      ],
    ]) {
      const n = outShape.reduce((p, d) => p * d, 1);
      const want = new Float32Array(n);
      refKernels.slice(x, shape, begin, step, want, outShape);
      const out = gpu.empty(n);
      k.slice(up(x), shape, begin, step, out, outShape);
      assertClose(await gpu.read(out), want, `slice ${begin} ${step}`);
    }
  });

  test('permute, sliceAdd, pad, concat and indexSelect (the layout of an LSTM over time, of padding and of embeddings) against the reference', async () => {
    const shape = [3, 4, 5, 2];
    const n = 3 * 4 * 5 * 2;
    const x = rand(n, 500);
    // NaN and infinities are moved, not computed: they must arrive as they are.
    x[7] = Number.NaN;
    x[11] = Number.NEGATIVE_INFINITY;
    for (const perm of [
      [1, 0, 2, 3],
      [3, 2, 1, 0],
      [0, 2, 3, 1],
      [0, 1, 2, 3],
    ]) {
      const want = new Float32Array(n);
      refKernels.permute(x, shape, perm, want);
      const out = gpu.empty(n);
      k.permute(up(x), shape, perm, out);
      assertClose(await gpu.read(out), want, `permute ${perm}`);
    }
    for (const [begin, step, srcShape] of [
      [
        [0, 3, 0, 0],
        [1, 1, 1, 1],
        [3, 1, 5, 2],
      ],
      [
        [2, 3, 4, 1],
        [-1, -2, -2, -1],
        [3, 2, 3, 2],
      ],
    ]) {
      const m = srcShape.reduce((p, d) => p * d, 1);
      const src = rand(m, 501);
      const base = rand(n, 502);
      const want = base.slice();
      refKernels.sliceAdd(src, srcShape, begin, step, want, shape);
      const acc = up(base);
      k.sliceAdd(up(src), srcShape, begin, step, acc, shape);
      assertClose(await gpu.read(acc), want, `sliceAdd ${begin} ${step}`);
    }
    for (const [before, value] of [
      [[0, 1, 2, 0], 0],
      [[1, 0, 0, 3], -1.5],
      [[0, 0, 0, 0], Number.NEGATIVE_INFINITY],
    ] as [number[], number][]) {
      const outShape = shape.map((d, i) => d + before[i] + (i % 2));
      const m = outShape.reduce((p, d) => p * d, 1);
      const want = new Float32Array(m);
      refKernels.pad(x, shape, before, value, want, outShape);
      const out = gpu.empty(m);
      k.pad(up(x), shape, before, value, out, outShape);
      assertClose(await gpu.read(out), want, `pad ${before} with ${value}`);
    }
    for (const axis of [0, 1, 3]) {
      const shapes = [2, 1, 3].map((size) => shape.map((d, i) => (i === axis ? size : d)));
      const parts = shapes.map((sh, i) =>
        rand(
          sh.reduce((p, d) => p * d, 1),
          503 + i,
        ),
      );
      const total = parts.reduce((p, a) => p + a.length, 0);
      const want = new Float32Array(total);
      refKernels.concat(parts, shapes, axis, want);
      const out = gpu.empty(total);
      k.concat(
        parts.map((a) => up(a)),
        shapes,
        axis,
        out,
      );
      assertClose(await gpu.read(out), want, `concat along ${axis}`);
    }
    for (const [axis, index] of [
      [0, [2, 0, 2, 1]],
      [2, [4]],
      [3, [1, 1, 0]],
    ] as [number, number[]][]) {
      const idx = Int32Array.from(index);
      const m = (n / shape[axis]) * idx.length;
      const want = new Float32Array(m);
      refKernels.indexSelect(x, shape, axis, idx, want);
      const out = gpu.empty(m);
      k.indexSelect(up(x), shape, axis, up(idx), out);
      assertClose(await gpu.read(out), want, `indexSelect axis ${axis} [${index}]`);
      // Its adjoint, indexAdd (an embedding's backward), with repeated places: the reference's additions in its
      // order, so the same float32 sums.
      const src = rand(m, 97);
      const base = rand(n, 98);
      const wantAdd = base.slice();
      const srcShape = shape.map((d, i) => (i === axis ? idx.length : d));
      refKernels.indexAdd(wantAdd, shape, axis, idx, src, srcShape);
      const acc = up(base);
      k.indexAdd(acc, shape, axis, up(idx), idx.length, up(src));
      const got = await gpu.read(acc);
      assert.deepEqual(new Uint32Array(got.buffer), new Uint32Array(wantAdd.buffer), `indexAdd axis ${axis} [${index}]`);
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
