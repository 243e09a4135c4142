import type { TypedArray } from '../../core/dtype.js';
import type { AvgPoolDivisor, Backend, BinaryOp, Conv2dGeometry, Kernels, Pool2dGeometry, ReduceOp, UnaryOp } from '../kernels.js';
import { refKernels } from '../ref/index.js';
import { cpuFeatures, loadNativeAddon, type NativeAddon } from './binding.js';

/*
 * The native backend: float32 (and float64 GEMM) kernels from the C++ addon,
 * behind the same Kernels interface as the reference. Every function decides
 * per call whether the addon pays: a Node-API call costs a few hundred
 * nanoseconds, so tiny tensors stay in JavaScript (the reference kernels).
 */

/** Below this many multiply-adds a matrix product stays in JavaScript. */
const MIN_GEMM_WORK = 2048;
/** Below this many elements an element-wise kernel stays in JavaScript. */
const MIN_ELEMENTS = 512;

const isF32 = (x: TypedArray): x is Float32Array => x instanceof Float32Array;

function makeKernels(addon: NativeAddon): Partial<Kernels> {
  const matmul: Kernels['matmul'] = (a, b, out, batch, m, n, k, transA, transB) => {
    if (m * n * k < MIN_GEMM_WORK) return refKernels.matmul(a, b, out, batch, m, n, k, transA, transB);
    const lda = transA ? m : k;
    const ldb = transB ? k : n;
    if (isF32(a) && isF32(b) && isF32(out)) {
      if (batch === 1) addon.sgemm(transA, transB, m, n, k, 1, a, lda, b, ldb, 0, out, n);
      else addon.sgemmBatched(transA, transB, m, n, k, 1, a, lda, m * k, b, ldb, k * n, 0, out, n, m * n, batch);
      return;
    }
    if (a instanceof Float64Array && b instanceof Float64Array && out instanceof Float64Array) {
      if (batch === 1) addon.dgemm(transA, transB, m, n, k, 1, a, lda, b, ldb, 0, out, n);
      else addon.dgemmBatched(transA, transB, m, n, k, 1, a, lda, m * k, b, ldb, k * n, 0, out, n, m * n, batch);
      return;
    }
    refKernels.matmul(a, b, out, batch, m, n, k, transA, transB);
  };

  const nativeUnary: Partial<Record<UnaryOp, (x: Float32Array, out: Float32Array, n: number) => void>> = {
    relu: addon.relu,
    sigmoid: addon.sigmoid,
    tanh: addon.tanh,
    exp: addon.exp,
  };
  const unary: Kernels['unary'] = (op, x, out) => {
    const f = nativeUnary[op];
    if (f && x.length >= MIN_ELEMENTS && isF32(x) && isF32(out)) f(x, out, x.length);
    else refKernels.unary(op, x, out);
  };

  const nativeBinary: Partial<Record<BinaryOp, (a: Float32Array, b: Float32Array, out: Float32Array, n: number) => void>> = {
    add: addon.add,
    sub: addon.sub,
    mul: addon.mul,
    div: addon.div,
  };
  const binary: Kernels['binary'] = (op, a, aShape, b, bShape, out, outShape) => {
    const n = out.length;
    if (n >= MIN_ELEMENTS && isF32(a) && isF32(b) && isF32(out)) {
      const f = nativeBinary[op];
      if (f && a.length === n && b.length === n) return f(a, b, out, n);
      // A bias row added to every row of a matrix: the most common broadcast in a network.
      const cols = outShape[outShape.length - 1];
      if (op === 'add' && a.length === n && b.length === cols && bShape[bShape.length - 1] === cols) {
        return addon.biasAdd(a, b, out, n / cols, cols);
      }
    }
    refKernels.binary(op, a, aShape, b, bShape, out, outShape);
  };

  const reduce: Kernels['reduce'] = (op: ReduceOp, x, shape, axes, out) => {
    if (op === 'sum' && isF32(x) && isF32(out) && x.length >= MIN_ELEMENTS) {
      if (axes.length === shape.length) {
        out[0] = addon.sumAll(x, x.length);
        return;
      }
      // Summing the leading axes of a matrix (bias gradients): rows x cols -> cols.
      const lead = axes.length;
      if (axes.every((a, i) => a === i)) {
        let rows = 1;
        for (let i = 0; i < lead; i++) rows *= shape[i];
        addon.sumRows(x, out as Float32Array, rows, x.length / rows);
        return;
      }
    }
    refKernels.reduce(op, x, shape, axes, out);
  };

  const reluBackward: Kernels['reluBackward'] = (x, g, out) => {
    if (x.length >= MIN_ELEMENTS && isF32(x) && isF32(g) && isF32(out)) addon.reluBackward(x, g, out, x.length);
    else refKernels.reluBackward(x, g, out);
  };

  const addmm: Kernels['addmm'] = (bias, a, b, out, m, n, k, transA, transB) => {
    if (m * n * k < MIN_GEMM_WORK || !(isF32(bias) && isF32(a) && isF32(b) && isF32(out))) {
      return refKernels.addmm(bias, a, b, out, m, n, k, transA, transB);
    }
    // Start every row from the bias and let the GEMM accumulate onto it (beta = 1).
    for (let i = 0; i < m; i++) out.set(bias, i * n);
    addon.sgemm(transA, transB, m, n, k, 1, a, transA ? m : k, b, transB ? k : n, 1, out, n);
  };

  const kernels: Partial<Kernels> = { matmul, addmm, unary, binary, reduce, reluBackward };

  // The addon takes geometry as positional numbers, in the order of its C++ signatures.
  const conv = (g: Conv2dGeometry) =>
    [
      g.batch,
      g.inChannels,
      g.inH,
      g.inW,
      g.outChannels,
      g.kernelH,
      g.kernelW,
      g.strideH,
      g.strideW,
      g.padH,
      g.padW,
      g.dilationH,
      g.dilationW,
      g.groups,
      g.outH,
      g.outW,
    ] as const;
  const pool = (g: Pool2dGeometry) => [g.batch, g.channels, g.inH, g.inW, g.kernelH, g.kernelW, g.strideH, g.strideW, g.padH, g.padW] as const;
  const maxPool = (g: Pool2dGeometry) => [...pool(g), g.dilationH, g.dilationW, g.outH, g.outW] as const;
  const avgPool = (g: Pool2dGeometry, d: AvgPoolDivisor) => [...pool(g), d.countIncludePad, d.divisorOverride, g.outH, g.outW] as const;

  kernels.conv2d = (x, w, bias, out, g) => {
    if (!(isF32(x) && isF32(w) && isF32(out) && (bias === null || isF32(bias)))) return refKernels.conv2d(x, w, bias, out, g);
    addon.conv2dForward(x, w, bias, out, ...conv(g));
  };
  kernels.conv2dBackwardInput = (dy, w, dx, g) => {
    if (!(isF32(dy) && isF32(w) && isF32(dx))) return refKernels.conv2dBackwardInput(dy, w, dx, g);
    addon.conv2dBackwardInput(dy, w, dx, ...conv(g));
  };
  kernels.conv2dBackwardWeight = (x, dy, dw, g) => {
    if (!(isF32(x) && isF32(dy) && isF32(dw))) return refKernels.conv2dBackwardWeight(x, dy, dw, g);
    addon.conv2dBackwardWeight(x, dy, dw, null, ...conv(g));
  };
  kernels.maxPool2d = (x, out, indices, g) => {
    if (!(isF32(x) && isF32(out))) return refKernels.maxPool2d(x, out, indices, g);
    addon.maxPool2dForward(x, out, indices, ...maxPool(g));
  };
  kernels.maxPool2dBackward = (dy, indices, dx, g) => {
    if (!(isF32(dy) && isF32(dx))) return refKernels.maxPool2dBackward(dy, indices, dx, g);
    addon.maxPool2dBackward(dy, indices, dx, ...maxPool(g));
  };
  kernels.avgPool2d = (x, out, g, d) => {
    if (!(isF32(x) && isF32(out))) return refKernels.avgPool2d(x, out, g, d);
    addon.avgPool2dForward(x, out, ...avgPool(g, d));
  };
  kernels.avgPool2dBackward = (dy, dx, g, d) => {
    if (!(isF32(dy) && isF32(dx))) return refKernels.avgPool2dBackward(dy, dx, g, d);
    addon.avgPool2dBackward(dy, dx, ...avgPool(g, d));
  };
  kernels.lstmCellForward = (gates, cPrev, outC, outH, outGates, n, hidden) => {
    if (!(isF32(gates) && isF32(cPrev) && isF32(outC) && isF32(outH) && isF32(outGates)))
      return refKernels.lstmCellForward(gates, cPrev, outC, outH, outGates, n, hidden);
    addon.lstmCellForward(gates, cPrev, outC, outH, outGates, n, hidden);
  };
  kernels.lstmCellBackward = (gatesAct, cPrev, c, dh, dc, dGates, dcPrev, n, hidden) => {
    const f32 = isF32(gatesAct) && isF32(cPrev) && isF32(c) && (dh === null || isF32(dh)) && (dc === null || isF32(dc)) && isF32(dGates) && isF32(dcPrev);
    if (!f32) return refKernels.lstmCellBackward(gatesAct, cPrev, c, dh, dc, dGates, dcPrev, n, hidden);
    addon.lstmCellBackward(gatesAct, cPrev, c, dh as Float32Array | null, dc as Float32Array | null, dGates, dcPrev, n, hidden);
  };
  kernels.sgdStep = (w, g, buf, o) => {
    if (!(isF32(w) && isF32(g) && (buf === null || isF32(buf))) || w.length < MIN_ELEMENTS) return refKernels.sgdStep(w, g, buf, o);
    addon.sgdStep(w, g, buf as Float32Array | null, o.lr, o.momentum, o.dampening, o.weightDecay, o.nesterov, o.firstStep, o.maximize);
  };
  kernels.adamStep = (w, g, m, v, vMax, o) => {
    if (!(isF32(w) && isF32(g) && isF32(m) && isF32(v) && (vMax === null || isF32(vMax))) || w.length < MIN_ELEMENTS) {
      return refKernels.adamStep(w, g, m, v, vMax, o);
    }
    addon.adamStep(w, g, m, v, vMax as Float32Array | null, o.lr, o.beta1, o.beta2, o.eps, o.weightDecay, o.step, vMax !== null, o.decoupled, o.maximize);
  };
  return kernels;
}

/** The native backend, or null when the addon is not built or cannot load on this machine. */
export function createNativeBackend(): Backend | null {
  const addon = loadNativeAddon();
  if (!addon) return null;
  const kernels = makeKernels(addon);
  return {
    name: 'native',
    kernels,
    describe: () => {
      const f = cpuFeatures();
      return `native C++ addon (${f ? `${f.isa} kernels, ${addon.getNumThreads()} threads` : 'unknown CPU path'}) with the reference for the rest`;
    },
  };
}
