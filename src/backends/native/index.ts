import type { FloatArray, TypedArray } from '../../core/dtype.js';
import { registerBackend } from '../../core/engine.js';
import type { Backend, BinaryOp, FusedKernels, KernelName, Kernels, UnaryOp } from '../../kernels/contract.js';
import { CONV2D_GEOMETRY_FIELDS, type Conv2dGeometry, POOL2D_GEOMETRY_FIELDS, type Pool2dGeometry, packGeometry } from '../../kernels/geometry.js';
import { refKernels } from '../ref/index.js';
import { cpuFeatures, loadNativeAddon, type NativeAddon, nativeLoadError } from './binding.js';

/*
 * The native backend: float32 (and float64 GEMM) kernels from the C++ addon,
 * behind the same Kernels interface as the reference. Every kernel is wrapped
 * by `accelerate`, the one place that decides per call whether the addon
 * handles it (all its float arrays float32, enough work to pay for a
 * Node-API call of a few hundred nanoseconds) or the reference does.
 */

/** Below this many multiply-adds a matrix product stays in JavaScript. */
const MIN_GEMM_WORK = 2048;
/** Below this many elements an element-wise kernel stays in JavaScript. */
const MIN_ELEMENTS = 512;

/** Which element types a native kernel computes in. */
type Precision = 'f32' | 'f32-or-f64';

interface AccelerateOptions<A extends unknown[]> {
  /** Argument positions holding Int32Array indices, which any precision may carry. */
  readonly indexArgs?: readonly number[];
  readonly precision?: Precision;
  /** False when the call is too small, or of a form the native kernel lacks. */
  readonly pays?: (...args: A) => boolean;
}

/**
 * True when every typed array among `args` (index arguments aside) is float32,
 * or, where float64 is allowed, every one is float64.
 */
function precisionFits(args: readonly unknown[], indexArgs: readonly number[], precision: Precision): boolean {
  let f32 = 0;
  let f64 = 0;
  let arrays = 0;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!ArrayBuffer.isView(a) || indexArgs.includes(i)) continue;
    arrays++;
    if (a instanceof Float32Array) f32++;
    else if (a instanceof Float64Array) f64++;
  }
  return f32 === arrays || (precision === 'f32-or-f64' && f64 === arrays);
}

/** The reference kernel `name` unless the native `fast` version fits this call. */
function accelerate<N extends KernelName>(name: N, fast: Kernels[N], options: AccelerateOptions<Parameters<Kernels[N]>> = {}): Kernels[N] {
  const ref = refKernels[name] as (...args: unknown[]) => void;
  const native = fast as (...args: unknown[]) => void;
  const indexArgs = options.indexArgs ?? [];
  const precision = options.precision ?? 'f32';
  const pays = options.pays as ((...args: unknown[]) => boolean) | undefined;
  const chosen = (...args: unknown[]): void => {
    if (precisionFits(args, indexArgs, precision) && (pays === undefined || pays(...args))) native(...args);
    else ref(...args);
  };
  return chosen as unknown as Kernels[N];
}

/** A fused optimizer step: true when it handled the call, false to let the optimizer run its own rule. */
function fused<F extends (...args: never[]) => boolean>(fast: (...args: Parameters<F>) => void): F {
  return ((...args: Parameters<F>) => {
    const arrays = args as unknown[];
    if (!precisionFits(arrays, [], 'f32') || (arrays[0] as FloatArray).length < MIN_ELEMENTS) return false;
    fast(...args);
    return true;
  }) as F;
}

function makeKernels(addon: NativeAddon): Partial<Kernels> & FusedKernels {
  // Reused for every call: the addon reads the geometry synchronously.
  const convGeometry = new Int32Array(CONV2D_GEOMETRY_FIELDS.length);
  const poolGeometry = new Int32Array(POOL2D_GEOMETRY_FIELDS.length);
  const conv = (g: Conv2dGeometry) => packGeometry(CONV2D_GEOMETRY_FIELDS, g, convGeometry);
  const pool = (g: Pool2dGeometry) => packGeometry(POOL2D_GEOMETRY_FIELDS, g, poolGeometry);
  const bigEnough = (x: TypedArray) => x.length >= MIN_ELEMENTS;

  const nativeUnary: Partial<Record<UnaryOp, (x: Float32Array, out: Float32Array, n: number) => void>> = {
    relu: addon.relu,
    sigmoid: addon.sigmoid,
    tanh: addon.tanh,
    exp: addon.exp,
  };
  const nativeBinary: Partial<Record<BinaryOp, (a: Float32Array, b: Float32Array, out: Float32Array, n: number) => void>> = {
    add: addon.add,
    sub: addon.sub,
    mul: addon.mul,
    div: addon.div,
  };
  /** A bias row added to every row of a matrix: the most common broadcast in a network. */
  const isBiasAdd = (op: BinaryOp, a: TypedArray, b: TypedArray, bShape: readonly number[], out: TypedArray, outShape: readonly number[]) => {
    const cols = outShape[outShape.length - 1];
    return op === 'add' && a.length === out.length && b.length === cols && bShape[bShape.length - 1] === cols;
  };
  /** Summing the leading axes of a tensor (bias gradients), or all of them. */
  const sumsLeadingAxes = (axes: readonly number[]) => axes.every((a, i) => a === i);
  /** The one axis a sum keeps when it sums every other (axes sorted), else -1. */
  const keptAxis = (shape: readonly number[], axes: readonly number[]): number => {
    if (axes.length !== shape.length - 1) return -1;
    for (let i = 0; i < axes.length; i++) if (axes[i] !== i) return axes.every((a, j) => a === (j < i ? j : j + 1)) ? i : -1;
    return -1;
  };

  return {
    matmul: accelerate(
      'matmul',
      (a, b, out, batch, m, n, k, transA, transB) => {
        const lda = transA ? m : k;
        const ldb = transB ? k : n;
        if (a instanceof Float32Array) {
          const [fa, fb, fo] = [a, b as Float32Array, out as Float32Array];
          if (batch === 1) addon.sgemm(transA, transB, m, n, k, 1, fa, lda, fb, ldb, 0, fo, n);
          else addon.sgemmBatched(transA, transB, m, n, k, 1, fa, lda, m * k, fb, ldb, k * n, 0, fo, n, m * n, batch);
        } else {
          const [da, db, dout] = [a as Float64Array, b as Float64Array, out as Float64Array];
          if (batch === 1) addon.dgemm(transA, transB, m, n, k, 1, da, lda, db, ldb, 0, dout, n);
          else addon.dgemmBatched(transA, transB, m, n, k, 1, da, lda, m * k, db, ldb, k * n, 0, dout, n, m * n, batch);
        }
      },
      { precision: 'f32-or-f64', pays: (_a, _b, _out, _batch, m, n, k) => m * n * k >= MIN_GEMM_WORK },
    ),
    addmm: accelerate(
      'addmm',
      (bias, a, b, out, m, n, k, transA, transB) => {
        // Start every row from the bias and let the GEMM accumulate onto it (beta = 1).
        for (let i = 0; i < m; i++) out.set(bias, i * n);
        addon.sgemm(transA, transB, m, n, k, 1, a as Float32Array, transA ? m : k, b as Float32Array, transB ? k : n, 1, out as Float32Array, n);
      },
      { pays: (_bias, _a, _b, _out, m, n, k) => m * n * k >= MIN_GEMM_WORK },
    ),
    unary: accelerate(
      'unary',
      (op, x, out) => (nativeUnary[op] as NonNullable<(typeof nativeUnary)[UnaryOp]>)(x as Float32Array, out as Float32Array, x.length),
      { pays: (op, x) => nativeUnary[op] !== undefined && bigEnough(x) },
    ),
    binary: accelerate(
      'binary',
      (op, a, _aShape, b, _bShape, out) => {
        const n = out.length;
        const f = nativeBinary[op];
        if (f && a.length === n && b.length === n) f(a as Float32Array, b as Float32Array, out as Float32Array, n);
        else addon.biasAdd(a as Float32Array, b as Float32Array, out as Float32Array, n / b.length, b.length);
      },
      {
        pays: (op, a, _aShape, b, bShape, out, outShape) =>
          bigEnough(out) &&
          ((nativeBinary[op] !== undefined && a.length === out.length && b.length === out.length) || isBiasAdd(op, a, b, bShape, out, outShape)),
      },
    ),
    reduce: accelerate(
      'reduce',
      (_op, x, shape, axes, out) => {
        if (axes.length === shape.length) {
          out[0] = addon.sumAll(x as Float32Array, x.length);
          return;
        }
        if (sumsLeadingAxes(axes)) {
          let rows = 1;
          for (let i = 0; i < axes.length; i++) rows *= shape[i];
          addon.sumRows(x as Float32Array, out as Float32Array, rows, x.length / rows);
          return;
        }
        // Every axis but one (a convolution's bias gradient).
        const kept = keptAxis(shape, axes);
        let outer = 1;
        for (let i = 0; i < kept; i++) outer *= shape[i];
        addon.sumAxis(x as Float32Array, out as Float32Array, outer, shape[kept], x.length / (outer * shape[kept]));
      },
      { pays: (op, x, shape, axes) => op === 'sum' && bigEnough(x) && (sumsLeadingAxes(axes) || keptAxis(shape, axes) >= 0) },
    ),
    reluBackward: accelerate('reluBackward', (x, g, out) => addon.reluBackward(x as Float32Array, g as Float32Array, out as Float32Array, x.length), {
      pays: bigEnough,
    }),
    conv2d: accelerate('conv2d', (x, w, bias, out, g) =>
      addon.conv2dForward(x as Float32Array, w as Float32Array, bias as Float32Array | null, out as Float32Array, conv(g)),
    ),
    conv2dBackwardInput: accelerate('conv2dBackwardInput', (dy, w, dx, g) =>
      addon.conv2dBackwardInput(dy as Float32Array, w as Float32Array, dx as Float32Array, conv(g)),
    ),
    conv2dBackwardWeight: accelerate('conv2dBackwardWeight', (x, dy, dw, g) =>
      addon.conv2dBackwardWeight(x as Float32Array, dy as Float32Array, dw as Float32Array, null, conv(g)),
    ),
    maxPool2d: accelerate('maxPool2d', (x, out, indices, g) => addon.maxPool2dForward(x as Float32Array, out as Float32Array, indices, pool(g)), {
      indexArgs: [2],
    }),
    maxPool2dBackward: accelerate(
      'maxPool2dBackward',
      (dy, indices, dx, g) => addon.maxPool2dBackward(dy as Float32Array, indices, dx as Float32Array, pool(g)),
      { indexArgs: [1] },
    ),
    avgPool2d: accelerate('avgPool2d', (x, out, g, d) =>
      addon.avgPool2dForward(x as Float32Array, out as Float32Array, pool(g), d.countIncludePad, d.divisorOverride),
    ),
    avgPool2dBackward: accelerate('avgPool2dBackward', (dy, dx, g, d) =>
      addon.avgPool2dBackward(dy as Float32Array, dx as Float32Array, pool(g), d.countIncludePad, d.divisorOverride),
    ),
    lstmCellForward: accelerate('lstmCellForward', (gates, cPrev, outC, outH, outGates, n, hidden) =>
      addon.lstmCellForward(gates as Float32Array, cPrev as Float32Array, outC as Float32Array, outH as Float32Array, outGates as Float32Array, n, hidden),
    ),
    lstmCellBackward: accelerate('lstmCellBackward', (gatesAct, cPrev, c, dh, dc, dGates, dcPrev, n, hidden) =>
      addon.lstmCellBackward(
        gatesAct as Float32Array,
        cPrev as Float32Array,
        c as Float32Array,
        dh as Float32Array | null,
        dc as Float32Array | null,
        dGates as Float32Array,
        dcPrev as Float32Array,
        n,
        hidden,
      ),
    ),
    sgdStep: fused<NonNullable<FusedKernels['sgdStep']>>((w, g, buf, o) =>
      addon.sgdStep(
        w as Float32Array,
        g as Float32Array,
        buf as Float32Array | null,
        o.lr,
        o.momentum,
        o.dampening,
        o.weightDecay,
        o.nesterov,
        o.firstStep,
        o.maximize,
      ),
    ),
    adamStep: fused<NonNullable<FusedKernels['adamStep']>>((w, g, m, v, vMax, o) =>
      addon.adamStep(
        w as Float32Array,
        g as Float32Array,
        m as Float32Array,
        v as Float32Array,
        vMax as Float32Array | null,
        o.lr,
        o.beta1,
        o.beta2,
        o.eps,
        o.weightDecay,
        o.step,
        vMax !== null,
        o.decoupled,
        o.maximize,
      ),
    ),
  };
}

/**
 * Register the native backend with the engine (not selecting it). Returns
 * null when it is registered, or the reason the addon is unavailable (not
 * built, stale, cannot load on this machine, disabled).
 */
export function registerNativeBackend(): string | null {
  const backend = createNativeBackend();
  if (backend === null) return nativeLoadError() ?? 'unknown reason';
  registerBackend(backend);
  return null;
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
