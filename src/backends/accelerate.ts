import type { FloatArray, TypedArray } from '../core/dtype.js';
import type { Shape } from '../core/shape.js';
import type { BinaryOp, CompareOp, FusedKernels, KernelName, Kernels, UnaryOp } from '../kernels/contract.js';
import { CONV2D_GEOMETRY_FIELDS, type Conv2dGeometry, POOL2D_GEOMETRY_FIELDS, type Pool2dGeometry, packGeometry } from '../kernels/geometry.js';
import type { NativeAddon } from './native/binding.js';
import { refKernels } from './ref/index.js';

/*
 * The kernel table shared by the compiled backends. The native addon and the
 * WebAssembly module compile the same C++ kernels (native/), and each
 * presents them as a KernelAddon: functions over typed arrays with the
 * addon's argument conventions. This file maps the engine's Kernels contract
 * onto that, and `accelerate` is the one place that decides per call whether
 * the compiled kernel handles it (all its float arrays float32, enough work to
 * pay for crossing into compiled code) or the reference does.
 */

/** The functions of the native addon that the kernel table calls; the wasm backend provides the same. */
export type KernelAddon = Pick<
  NativeAddon,
  | 'sgemm'
  | 'sgemmBatched'
  | 'dgemm'
  | 'dgemmBatched'
  | 'relu'
  | 'sigmoid'
  | 'tanh'
  | 'exp'
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'biasAdd'
  | 'broadcastBinary'
  | 'compare'
  | 'permute'
  | 'reduceExtreme'
  | 'where'
  | 'sumAll'
  | 'sumRows'
  | 'sumAxis'
  | 'logSoftmax'
  | 'logSoftmaxBackward'
  | 'reluBackward'
  | 'elementwiseProgram'
  | 'conv2dForward'
  | 'conv2dBackwardInput'
  | 'conv2dBackwardWeight'
  | 'maxPool2dForward'
  | 'maxPool2dBackward'
  | 'avgPool2dForward'
  | 'avgPool2dBackward'
  | 'lstmCellForward'
  | 'lstmCellBackward'
  | 'sgdStep'
  | 'adamStep'
>;

/** Where a call is too small to pay for leaving JavaScript: it runs in the reference kernel instead. */
export interface AccelerateThresholds {
  /** Below this many multiply-adds a matrix product stays in JavaScript. */
  readonly minGemmWork: number;
  /** Below this many elements an element-wise kernel, a reduction or a fused optimizer step stays in JavaScript. */
  readonly minElements: number;
}

/** The native addon's: a Node-API call costs a few hundred nanoseconds. */
export const NATIVE_THRESHOLDS: AccelerateThresholds = { minGemmWork: 2048, minElements: 512 };

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
  const select = (args: readonly unknown[]) => (precisionFits(args, indexArgs, precision) && (pays === undefined || pays(...args)) ? native : ref);
  const chosen = (...args: unknown[]): void => select(args)(...args);
  // The choice depends on dtypes and sizes alone: a compiled step (src/compile) makes it once per kernel call, not per replay.
  return Object.assign(chosen, { select }) as unknown as Kernels[N];
}

/** A fused optimizer step: true when it handled the call, false to let the optimizer run its own rule. */
function fused<F extends (...args: never[]) => boolean>(fast: (...args: Parameters<F>) => void, minElements: number): F {
  return ((...args: Parameters<F>) => {
    const arrays = args as unknown[];
    if (!precisionFits(arrays, [], 'f32') || (arrays[0] as FloatArray).length < minElements) return false;
    fast(...args);
    return true;
  }) as F;
}

/**
 * How broadcastBinary, compare and where read an operand over the output viewed as
 * [outer, inner] (native/kernels.h's BroadcastForm): every element, one value,
 * a row of `inner` values repeated for every outer index (a bias), or `outer`
 * values each repeated along its row (a keepdim reduction's result).
 */
export const BROADCAST_FORMS = { full: 0, scalar: 1, row: 2, column: 3 } as const;
/** broadcastBinary's op codes (native/kernels.h's BroadcastBinaryOp). */
export const BROADCAST_BINARY_OPS: Partial<Record<BinaryOp, number>> = { add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5 };
/** compare's op codes (native/kernels.h's CompareOp). */
export const COMPARE_OPS: Partial<Record<CompareOp, number>> = { lt: 0, le: 1, gt: 2, ge: 3, eq: 4, ne: 5 };

/** The [outer, inner] view of a broadcast element-wise call and its operands' forms. */
export interface BroadcastView {
  aForm: number;
  bForm: number;
  outer: number;
  inner: number;
}

/**
 * An operand's form for an output of `n` elements, writing in `view.inner`
 * the inner size the form fixes (0 when any split fits: every element, or one
 * value); -1 when the operand is in none of the forms (such as [3, 1, 5]
 * into [3, 4, 5]).
 */
function operandForm(length: number, shape: Shape, outShape: Shape, n: number, view: BroadcastView): number {
  view.inner = 0;
  if (length === n) return BROADCAST_FORMS.full;
  if (length === 1) return BROADCAST_FORMS.scalar;
  const r = outShape.length;
  const off = r - shape.length;
  if (off < 0) return -1;
  const dim = (d: number) => (d < off ? 1 : shape[d - off]);
  // A row: ones, then the output's trailing axes.
  let s = 0;
  while (s < r && dim(s) === 1) s++;
  let inner = 1;
  let fits = true;
  for (let d = s; d < r && fits; d++) {
    fits = dim(d) === outShape[d];
    inner *= outShape[d];
  }
  if (fits) {
    view.inner = inner;
    return BROADCAST_FORMS.row;
  }
  // A column: the output's leading axes, then ones.
  let e = r;
  while (e > 0 && dim(e - 1) === 1) e--;
  fits = true;
  for (let d = 0; d < e && fits; d++) fits = dim(d) === outShape[d];
  if (!fits) return -1;
  inner = 1;
  for (let d = e; d < r; d++) inner *= outShape[d];
  view.inner = inner;
  return BROADCAST_FORMS.column;
}

/**
 * Fills `view` for op(a, b) into an output of outShape and returns true, or
 * returns false when the operands' broadcast is not one [outer, inner] view
 * (the reference then walks it).
 */
export function broadcastView(a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, outShape: Shape, n: number, view: BroadcastView): boolean {
  if (n === 0) return false;
  view.aForm = operandForm(a.length, aShape, outShape, n, view);
  const aInner = view.inner;
  if (view.aForm < 0) return false;
  view.bForm = operandForm(b.length, bShape, outShape, n, view);
  const bInner = view.inner;
  if (view.bForm < 0) return false;
  // Two operands that each fix a split must fix the same one.
  if (aInner !== 0 && bInner !== 0 && aInner !== bInner) return false;
  view.inner = aInner || bInner || n;
  view.outer = n / view.inner;
  return true;
}

/**
 * where's view: as broadcastView, with the condition's form in `condForm`
 * (null when the three operands are not one [outer, inner] view).
 */
export function whereView(
  cond: Uint8Array,
  cShape: Shape,
  a: TypedArray,
  aShape: Shape,
  b: TypedArray,
  bShape: Shape,
  outShape: Shape,
  n: number,
  view: BroadcastView,
): number | null {
  if (!broadcastView(a, aShape, b, bShape, outShape, n, view)) return null;
  // The inner size a or b fixed (n: neither did).
  const fixed = view.inner === n ? 0 : view.inner;
  const { aForm, bForm } = view;
  const condForm = operandForm(cond.length, cShape, outShape, n, view);
  const condInner = view.inner;
  if (condForm < 0 || (fixed !== 0 && condInner !== 0 && fixed !== condInner)) return null;
  view.aForm = aForm;
  view.bForm = bForm;
  view.inner = fixed || condInner || n;
  view.outer = n / view.inner;
  return condForm;
}

/**
 * Fills `block` with [outer, size, inner] when `axes` (sorted) are one run of
 * adjacent axes of `shape`, so that a reduction over them reads x as
 * [outer, size, inner]; false otherwise.
 */
export function reducedBlock(shape: Shape, axes: readonly number[], block: [number, number, number]): boolean {
  if (axes.length === 0) return false;
  for (let i = 1; i < axes.length; i++) if (axes[i] !== axes[i - 1] + 1) return false;
  const first = axes[0];
  const last = axes[axes.length - 1];
  let outer = 1;
  let size = 1;
  let inner = 1;
  for (let d = 0; d < shape.length; d++) {
    if (d < first) outer *= shape[d];
    else if (d <= last) size *= shape[d];
    else inner *= shape[d];
  }
  block[0] = outer;
  block[1] = size;
  block[2] = inner;
  return true;
}

export function makeAcceleratedKernels(addon: KernelAddon, thresholds: AccelerateThresholds = NATIVE_THRESHOLDS): Partial<Kernels> & FusedKernels {
  const { minGemmWork, minElements } = thresholds;
  // Reused for every call: the addon reads the geometry synchronously.
  const convGeometry = new Int32Array(CONV2D_GEOMETRY_FIELDS.length);
  const poolGeometry = new Int32Array(POOL2D_GEOMETRY_FIELDS.length);
  const conv = (g: Conv2dGeometry) => packGeometry(CONV2D_GEOMETRY_FIELDS, g, convGeometry);
  const pool = (g: Pool2dGeometry) => packGeometry(POOL2D_GEOMETRY_FIELDS, g, poolGeometry);
  const bigEnough = (x: TypedArray) => x.length >= minElements;
  // Reused by every broadcast call: pays() fills it, the kernel call reads it again.
  const view: BroadcastView = { aForm: 0, bForm: 0, outer: 0, inner: 0 };

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
  // Reused by max and min: [outer, size, inner] around the reduced axes.
  const block: [number, number, number] = [0, 0, 0];
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
      { precision: 'f32-or-f64', pays: (_a, _b, _out, _batch, m, n, k) => m * n * k >= minGemmWork },
    ),
    addmm: accelerate(
      'addmm',
      (bias, a, b, out, m, n, k, transA, transB) => {
        // Start every row from the bias and let the GEMM accumulate onto it (beta = 1).
        for (let i = 0; i < m; i++) out.set(bias, i * n);
        addon.sgemm(transA, transB, m, n, k, 1, a as Float32Array, transA ? m : k, b as Float32Array, transB ? k : n, 1, out as Float32Array, n);
      },
      { pays: (_bias, _a, _b, _out, m, n, k) => m * n * k >= minGemmWork },
    ),
    unary: accelerate(
      'unary',
      (op, x, out) => (nativeUnary[op] as NonNullable<(typeof nativeUnary)[UnaryOp]>)(x as Float32Array, out as Float32Array, x.length),
      { pays: (op, x) => nativeUnary[op] !== undefined && bigEnough(x) },
    ),
    binary: accelerate(
      'binary',
      (op, a, aShape, b, bShape, out, outShape) => {
        const n = out.length;
        if (op === 'pow') {
          // The value is read here, not when a compiled step chooses the kernel: its replays may change it.
          if (b[0] === 2) addon.broadcastBinary(BROADCAST_BINARY_OPS.mul as number, a as Float32Array, 0, a as Float32Array, 0, out as Float32Array, 1, n);
          else refKernels.binary(op, a, aShape, b, bShape, out, outShape);
          return;
        }
        const f = nativeBinary[op];
        if (f && a.length === n && b.length === n) f(a as Float32Array, b as Float32Array, out as Float32Array, n);
        else if (isBiasAdd(op, a, b, bShape, out, outShape)) addon.biasAdd(a as Float32Array, b as Float32Array, out as Float32Array, n / b.length, b.length);
        else {
          broadcastView(a, aShape, b, bShape, outShape, n, view);
          addon.broadcastBinary(
            BROADCAST_BINARY_OPS[op] as number,
            a as Float32Array,
            view.aForm,
            b as Float32Array,
            view.bForm,
            out as Float32Array,
            view.outer,
            view.inner,
          );
        }
      },
      {
        pays: (op, a, aShape, b, bShape, out, outShape) =>
          bigEnough(out) &&
          // x.pow(2): the reference's x ** 2 is x * x exactly (V8 and SpiderMonkey square for an exponent of 2,
          // and the square of a float32 is a double, so a correctly rounded pow gives it too).
          ((op === 'pow' && b.length === 1 && a.length === out.length) ||
            (nativeBinary[op] !== undefined && a.length === out.length && b.length === out.length) ||
            isBiasAdd(op, a, b, bShape, out, outShape) ||
            (BROADCAST_BINARY_OPS[op] !== undefined && broadcastView(a, aShape, b, bShape, outShape, out.length, view))),
      },
    ),
    compare: accelerate(
      'compare',
      (op, a, aShape, b, bShape, out, outShape) => {
        broadcastView(a, aShape, b, bShape, outShape, out.length, view);
        addon.compare(COMPARE_OPS[op] as number, a as Float32Array, view.aForm, b as Float32Array, view.bForm, out, view.outer, view.inner);
      },
      {
        // The bool output is not a float array: exempt from the float32 check that a and b pass.
        indexArgs: [5],
        pays: (op, a, aShape, b, bShape, out, outShape) =>
          bigEnough(out) && COMPARE_OPS[op] !== undefined && broadcastView(a, aShape, b, bShape, outShape, out.length, view),
      },
    ),
    where: accelerate(
      'where',
      (cond, cShape, a, aShape, b, bShape, out, outShape) => {
        const condForm = whereView(cond, cShape, a, aShape, b, bShape, outShape, out.length, view) as number;
        addon.where(cond, condForm, a as Float32Array, view.aForm, b as Float32Array, view.bForm, out as Float32Array, view.outer, view.inner);
      },
      {
        // The condition is bool: exempt from the float32 check that a, b and out pass.
        indexArgs: [0],
        pays: (cond, cShape, a, aShape, b, bShape, out, outShape) =>
          bigEnough(out) && whereView(cond, cShape, a, aShape, b, bShape, outShape, out.length, view) !== null,
      },
    ),
    permute: accelerate(
      'permute',
      (x, shape, perm, out) => addon.permute(x as Float32Array, out as Float32Array, Int32Array.from(shape), Int32Array.from(perm)),
      {
        pays: (x, shape) => bigEnough(x) && shape.length <= 8,
      },
    ),
    reduce: accelerate(
      'reduce',
      (op, x, shape, axes, out) => {
        if (op === 'max' || op === 'min') {
          reducedBlock(shape, axes, block);
          addon.reduceExtreme(op === 'max', x as Float32Array, out as Float32Array, block[0], block[1], block[2]);
          return;
        }
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
      {
        pays: (op, x, shape, axes) =>
          bigEnough(x) &&
          (op === 'sum' ? sumsLeadingAxes(axes) || keptAxis(shape, axes) >= 0 : (op === 'max' || op === 'min') && reducedBlock(shape, axes, block)),
      },
    ),
    logSoftmax: accelerate('logSoftmax', (x, outer, size, inner, out) => addon.logSoftmax(x as Float32Array, out as Float32Array, outer, size, inner), {
      pays: bigEnough,
    }),
    logSoftmaxBackward: accelerate(
      'logSoftmaxBackward',
      (g, out, outer, size, inner, dx) => addon.logSoftmaxBackward(g as Float32Array, out as Float32Array, dx as Float32Array, outer, size, inner),
      { pays: bigEnough },
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
    // Only a compiled step calls it, and only for chains whose kernels run here (src/compile/fuse.ts).
    elementwiseProgram: (code, inputs, outputs, n) => addon.elementwiseProgram(code, inputs, outputs, n),
    sgdStep: fused<NonNullable<FusedKernels['sgdStep']>>(
      (w, g, buf, o) =>
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
      minElements,
    ),
    adamStep: fused<NonNullable<FusedKernels['adamStep']>>(
      (w, g, m, v, vMax, o) =>
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
      minElements,
    ),
  };
}
