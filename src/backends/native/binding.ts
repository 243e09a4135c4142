/**
 * Loader and type declarations for the optional native compute addon
 * (build/Release/neurite_native.node, built from native/ by
 * scripts/build-native.mjs at install time).
 *
 * `loadNativeAddon()` returns the addon, or `null` when it is not built, fails
 * to load, is a stale build, or NEURITE_DISABLE_NATIVE=1 is set; the reason is
 * then available from `nativeLoadError()`. Only Node built-ins are used here.
 *
 * Conventions shared by every function:
 * - Arrays are zero-copy views: the kernels read and write the memory the typed
 *   array covers, starting at its byteOffset, so subarrays work.
 * - Matrices are row-major; sizes are explicit arguments and every array must
 *   be at least as long as the sizes require (RangeError otherwise).
 * - Wrong argument types throw TypeError, bad sizes / too-short arrays /
 *   overlapping outputs throw RangeError; messages name the function and the
 *   argument. The addon never reads or writes out of bounds.
 * - Outputs are overwritten (never accumulated) unless stated otherwise.
 *   Element-wise kernels may run in place (out === x); other overlaps between
 *   an output and an input are rejected.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Version of the exported API; must equal the addon's `abiVersion`. */
export const NATIVE_ABI_VERSION = 4;

/** Instruction-set path of the GEMM and vector-math kernels. */
export type NativeIsa = 'avx512' | 'avx2' | 'scalar';

export interface NativeCpuFeatures {
  /** Path in use now (may have been lowered with setIsa). */
  readonly isa: NativeIsa;
  /** Best path this CPU and OS support. */
  readonly detectedIsa: NativeIsa;
  readonly avx2: boolean;
  readonly fma: boolean;
  readonly avx512f: boolean;
  readonly avx512vl: boolean;
  /** Threads the kernels use now (caller thread + pool workers). */
  readonly threads: number;
  /** Upper bound for setNumThreads (hardware threads, at most 16). */
  readonly maxThreads: number;
  /** [MR, NR] register tile of the active float32 GEMM micro-kernel. */
  readonly sgemmTile: readonly [number, number];
  /** [MR, NR] register tile of the active float64 GEMM micro-kernel. */
  readonly dgemmTile: readonly [number, number];
  /**
   * Parallel jobs the thread pool has run on the calling thread alone since
   * the process started, having backed off because the machine was
   * oversubscribed (the caller preempted often, or workers stalling).
   */
  readonly poolSerialJobs: number;
  /** Jobs the pool has run on the caller and its workers together. */
  readonly poolParallelJobs: number;
  /**
   * How the process's malloc is set: loading the addon raises glibc's mmap and
   * trim thresholds (32 and 128 MiB) so that the memory a training step frees
   * is reused by the next instead of faulted in afresh; "system ..." when it
   * was left alone (NEURITE_MALLOC=system, a GLIBC_TUNABLES malloc setting, or
   * not glibc). Optional: an addon built before it lacks it.
   */
  readonly malloc?: string;
}

export interface NativeAddon {
  /** API version of the binary (see NATIVE_ABI_VERSION). */
  readonly abiVersion: number;

  // ---- runtime control ----------------------------------------------------

  /** Which CPU features exist and which kernel path is active. */
  cpuFeatures(): NativeCpuFeatures;
  /** Sets the number of threads (clamped to [1, maxThreads]); returns the value applied. */
  setNumThreads(n: number): number;
  getNumThreads(): number;
  /**
   * Forces a kernel path (for testing and benchmarking); a path the CPU lacks
   * is lowered to the best supported one. Returns the path now active.
   */
  setIsa(isa: NativeIsa | 'auto'): NativeIsa;

  // ---- matrix multiplication ---------------------------------------------

  /**
   * C = alpha * op(A) * op(B) + beta * C (row-major BLAS sgemm). op(A) is
   * [m, k]: A is stored [m, k] with lda >= k, or [k, m] with lda >= m when
   * transA. op(B) is [k, n]: B is [k, n] with ldb >= n, or [n, k] with
   * ldb >= k when transB. C is [m, n] with ldc >= n. beta = 0 means C is not
   * read (NaNs in it do not propagate). C must not overlap A or B.
   */
  sgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    b: Float32Array,
    ldb: number,
    beta: number,
    c: Float32Array,
    ldc: number,
  ): void;
  /** float64 version of sgemm. */
  dgemm(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float64Array,
    lda: number,
    b: Float64Array,
    ldb: number,
    beta: number,
    c: Float64Array,
    ldc: number,
  ): void;
  /**
   * batchCount independent sgemm calls; matrix i starts at element
   * i * strideX of each array. strideA / strideB may be 0 (broadcast);
   * strideC must not let outputs overlap.
   */
  sgemmBatched(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    strideA: number,
    b: Float32Array,
    ldb: number,
    strideB: number,
    beta: number,
    c: Float32Array,
    ldc: number,
    strideC: number,
    batchCount: number,
  ): void;
  dgemmBatched(
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float64Array,
    lda: number,
    strideA: number,
    b: Float64Array,
    ldb: number,
    strideB: number,
    beta: number,
    c: Float64Array,
    ldc: number,
    strideC: number,
    batchCount: number,
  ): void;

  // ---- element-wise (float32, first n elements) ---------------------------

  /** out = x < 0 ? 0 : x (NaN stays NaN). */
  relu(x: Float32Array, out: Float32Array, n: number): void;
  /** out = x <= 0 ? 0 : g (PyTorch's threshold_backward; x is relu's input or output). */
  reluBackward(x: Float32Array, g: Float32Array, out: Float32Array, n: number): void;
  /** A fused chain of element-wise kernels (kernels/program.ts has the instruction set and its rule). */
  elementwiseProgram(code: Int32Array, inputs: readonly Float32Array[], outputs: readonly Float32Array[], n: number): void;
  /** out = 1 / (1 + exp(-x)). */
  sigmoid(x: Float32Array, out: Float32Array, n: number): void;
  tanh(x: Float32Array, out: Float32Array, n: number): void;
  exp(x: Float32Array, out: Float32Array, n: number): void;
  /** out = a + b (same shape). */
  add(a: Float32Array, b: Float32Array, out: Float32Array, n: number): void;
  sub(a: Float32Array, b: Float32Array, out: Float32Array, n: number): void;
  mul(a: Float32Array, b: Float32Array, out: Float32Array, n: number): void;
  div(a: Float32Array, b: Float32Array, out: Float32Array, n: number): void;
  /** out[i, j] = x[i, j] + bias[j] for x [rows, cols]; out may be x. */
  biasAdd(x: Float32Array, bias: Float32Array, out: Float32Array, rows: number, cols: number): void;
  /**
   * out = op(a, b) over the output viewed as [outer, inner], each operand read
   * in a form (BROADCAST_FORMS in backends/accelerate.ts: every element, one
   * value, a row of inner values, a column of outer values); op indexes
   * BROADCAST_BINARY_OPS (add, sub, mul, div, maximum, minimum).
   */
  broadcastBinary(op: number, a: Float32Array, aForm: number, b: Float32Array, bForm: number, out: Float32Array, outer: number, inner: number): void;
  /** As broadcastBinary, with a bool output: op indexes COMPARE_OPS (lt, le, gt, ge, eq, ne). */
  compare(op: number, a: Float32Array, aForm: number, b: Float32Array, bForm: number, out: Uint8Array, outer: number, inner: number): void;
  /** out = cond ? a : b over the output viewed as [outer, inner], each operand in its form (as broadcastBinary's). */
  where(
    cond: Uint8Array,
    condForm: number,
    a: Float32Array,
    aForm: number,
    b: Float32Array,
    bForm: number,
    out: Float32Array,
    outer: number,
    inner: number,
  ): void;
  /** out[o, j] = max (or min) over i of x[o, i, j] for x [outer, size, inner]: the first NaN if any, of equal values the first. */
  reduceExtreme(isMax: boolean, x: Float32Array, out: Float32Array, outer: number, size: number, inner: number): void;
  /** out = x with its axes reordered: output axis i is input axis perm[i] (rank 1 to 8). */
  permute(x: Float32Array, out: Float32Array, shape: Int32Array, perm: Int32Array): void;

  // ---- reductions and loss ------------------------------------------------

  /** out[j] = sum_i x[i, j] for x [rows, cols] (bias gradients); double accumulation. */
  sumRows(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  /** out[c] = sum over o < outer, i < inner of x[(o·channels + c)·inner + i] (a sum over every axis but one), in double. */
  sumAxis(x: Float32Array, out: Float32Array, outer: number, channels: number, inner: number): void;
  /** Sum of the first n elements, accumulated in double. */
  sumAll(x: Float32Array, n: number): number;
  /**
   * Per row i of logits [n, c]: outLoss[i] = logsumexp(x_i) - x_i[labels[i]]
   * (computed stably, subtracting the row max) and, if outGrad is given,
   * outGrad[i, :] = softmax(x_i) - onehot(labels[i]). Labels must lie in
   * [0, c) (RangeError otherwise). Returns the sum of the row losses (divide
   * by n for the mean).
   */
  softmaxCrossEntropy(logits: Float32Array, labels: Int32Array, outLoss: Float32Array, outGrad: Float32Array | null, n: number, c: number): number;
  /** Kernels.logSoftmax: log softmax along the lines of x viewed as [outer, size, inner]; out must not overlap x. */
  logSoftmax(x: Float32Array, out: Float32Array, outer: number, size: number, inner: number): void;
  /** Kernels.logSoftmaxBackward: dx = g - exp(out)·Σ g along each line; dx must not overlap g or out. */
  logSoftmaxBackward(g: Float32Array, out: Float32Array, dx: Float32Array, outer: number, size: number, inner: number): void;

  // ---- optimizers (in place; n = param.length) -------------------------------

  /**
   * One torch.optim.SGD step for one parameter tensor, PyTorch's rule:
   *   g = maximize ? -grad : grad;  if weightDecay: g += weightDecay * param
   *   if momentum: buf = firstStep ? g : momentum * buf + (1 - dampening) * g
   *                g = nesterov ? g + momentum * buf : buf
   *   param -= lr * g
   * momentumBuf may be null when momentum is 0; it is written on firstStep.
   */
  sgdStep(
    param: Float32Array,
    grad: Float32Array,
    momentumBuf: Float32Array | null,
    lr: number,
    momentum: number,
    dampening: number,
    weightDecay: number,
    nesterov: boolean,
    firstStep: boolean,
    maximize?: boolean,
  ): void;
  /**
   * One torch.optim.Adam (decoupled = false) or AdamW (decoupled = true) step,
   * PyTorch's single-tensor rule (tensors in float32, scalars in double):
   *   g = maximize ? -grad : grad
   *   weightDecay: AdamW: param *= 1 - lr * weightDecay; Adam: g += weightDecay * param
   *   m = lerp(m, g, 1 - beta1);  v = beta2 * v + (1 - beta2) * g * g
   *   bc1 = 1 - beta1^step;  bc2 = 1 - beta2^step
   *   amsgrad: vmax = max(vmax, v), denom = sqrt(vmax) / sqrt(bc2) + eps
   *   else:    denom = sqrt(v) / sqrt(bc2) + eps
   *   param += -(lr / bc1) * m / denom
   * `step` is the 1-based count of this update (1 on the first call). m, v
   * (and vmax when amsgrad) start as zeros and are updated in place.
   */
  adamStep(
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    v: Float32Array,
    vmax: Float32Array | null,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    step: number,
    amsgrad: boolean,
    decoupled: boolean,
    maximize?: boolean,
  ): void;

  // ---- convolution (NCHW, float32) ----------------------------------------

  /**
   * out [N, O, outH, outW] = conv2d(x [N, C, H, W], w [O, C/groups, KH, KW]) + bias
   * (cross-correlation, PyTorch semantics; cells outside the input are zero).
   * The geometry's outH/outW imply the padding after the input.
   */
  conv2dForward(
    x: Float32Array,
    w: Float32Array,
    bias: Float32Array | null,
    out: Float32Array,
    /** The Conv2dGeometry packed by packGeometry(CONV2D_GEOMETRY_FIELDS, ...) (native/geometry.h reads the same order). */
    geometry: Int32Array,
  ): void;
  /** gradIn [N, C, H, W] (overwritten) = adjoint of conv2dForward in x. */
  conv2dBackwardInput(
    gradOut: Float32Array,
    w: Float32Array,
    gradIn: Float32Array,
    /** The Conv2dGeometry packed by packGeometry(CONV2D_GEOMETRY_FIELDS, ...) (native/geometry.h reads the same order). */
    geometry: Int32Array,
  ): void;
  /**
   * gradW [O, C/groups, KH, KW] (overwritten) = adjoint of conv2dForward in w;
   * gradBias [O] (overwritten, optional) = sum of gradOut over N, outH, outW.
   */
  conv2dBackwardWeight(
    x: Float32Array,
    gradOut: Float32Array,
    gradW: Float32Array,
    gradBias: Float32Array | null,
    /** The Conv2dGeometry packed by packGeometry(CONV2D_GEOMETRY_FIELDS, ...) (native/geometry.h reads the same order). */
    geometry: Int32Array,
  ): void;

  // ---- pooling (NCHW planes, float32) -------------------------------------

  /**
   * PyTorch's pooling output size: floor (or ceil, with ceilMode) of
   * (inputSize + 2*pad - dilation*(kernel-1) - 1) / stride + 1, with the
   * ceil-mode rule that the last window must start inside the input or left
   * padding.
   */
  pool2dOutputSize(inputSize: number, kernel: number, stride: number, pad: number, dilation?: number, ceilMode?: boolean): number;
  /**
   * out [N, C, outH, outW] = window max; indices (same shape) = flat index
   * ih * W + iw of the winner within its input plane (first maximum on ties;
   * a NaN beats every number and a later NaN an earlier one, as in PyTorch;
   * -1 for a window with no in-bounds cell, whose output is -Infinity).
   */
  maxPool2dForward(
    x: Float32Array,
    out: Float32Array,
    indices: Int32Array,
    /** The Pool2dGeometry packed by packGeometry(POOL2D_GEOMETRY_FIELDS, ...) (native/geometry.h reads the same order). */
    geometry: Int32Array,
  ): void;
  /** gradIn (overwritten) = zeros + gradOut scattered (summed in double) at indices per plane; -1 entries are skipped. */
  maxPool2dBackward(
    gradOut: Float32Array,
    indices: Int32Array,
    gradIn: Float32Array,
    /** The Pool2dGeometry packed by packGeometry(POOL2D_GEOMETRY_FIELDS, ...) (native/geometry.h reads the same order). */
    geometry: Int32Array,
  ): void;
  /**
   * PyTorch avg_pool2d: each window is clipped to the padded input
   * [-pad, in + pad); the divisor is divisorOverride if > 0, else the clipped
   * window's size when countIncludePad (default true), else the number of
   * in-bounds cells; a window with no in-bounds cell gives 0.
   */
  avgPool2dForward(
    x: Float32Array,
    out: Float32Array,
    /** The Pool2dGeometry packed by packGeometry(POOL2D_GEOMETRY_FIELDS, ...) (dilation 1). */
    geometry: Int32Array,
    countIncludePad: boolean,
    divisorOverride: number,
  ): void;
  /** gradIn (overwritten) = adjoint of avgPool2dForward. */
  avgPool2dBackward(
    gradOut: Float32Array,
    gradIn: Float32Array,
    /** The Pool2dGeometry packed by packGeometry(POOL2D_GEOMETRY_FIELDS, ...) (dilation 1). */
    geometry: Int32Array,
    countIncludePad: boolean,
    divisorOverride: number,
  ): void;

  // ---- LSTM cell (gate order i, f, g, o) -----------------------------------

  /**
   * gates [n, 4H] are pre-activations. i = σ(a_i), f = σ(a_f), g = tanh(a_g),
   * o = σ(a_o); outC = f * cPrev + i * g; outH = o * tanh(outC);
   * outGates [n, 4H] = [i | f | g | o] (saved for the backward pass).
   */
  lstmCellForward(gates: Float32Array, cPrev: Float32Array, outC: Float32Array, outH: Float32Array, outGates: Float32Array, n: number, hidden: number): void;
  /**
   * Backward of lstmCellForward from the saved activated gates, cPrev and c
   * (= outC), given dh and dc (null = zeros). With tc = tanh(c):
   *   dC = dc + dh * o * (1 - tc^2);  dcPrev = dC * f
   *   dGates = [dC*g * i(1-i) | dC*cPrev * f(1-f) | dC*i * (1-g^2) | dh*tc * o(1-o)]
   * (gradients w.r.t. the pre-activations). dGates may be gatesAct and
   * dcPrev may be dc (in place).
   */
  lstmCellBackward(
    gatesAct: Float32Array,
    cPrev: Float32Array,
    c: Float32Array,
    dh: Float32Array | null,
    dc: Float32Array | null,
    dGates: Float32Array,
    dcPrev: Float32Array,
    n: number,
    hidden: number,
  ): void;
}

let cached: NativeAddon | null | undefined;
let loadError: string | null = null;

/** Package root: this file is <root>/dist/src/backends/native/binding.js once compiled. */
function packageRoot(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
}

/** Absolute path where the addon is expected. */
export function nativeAddonPath(): string {
  return join(packageRoot(), 'build', 'Release', 'neurite_native.node');
}

const REQUIRED_FUNCTIONS: readonly (keyof NativeAddon)[] = [
  'cpuFeatures',
  'setNumThreads',
  'getNumThreads',
  'setIsa',
  'sgemm',
  'dgemm',
  'sgemmBatched',
  'dgemmBatched',
  'relu',
  'reluBackward',
  'elementwiseProgram',
  'sigmoid',
  'tanh',
  'exp',
  'add',
  'sub',
  'mul',
  'div',
  'biasAdd',
  'broadcastBinary',
  'compare',
  'permute',
  'reduceExtreme',
  'where',
  'sumRows',
  'sumAxis',
  'sumAll',
  'softmaxCrossEntropy',
  'logSoftmax',
  'logSoftmaxBackward',
  'sgdStep',
  'adamStep',
  'conv2dForward',
  'conv2dBackwardInput',
  'conv2dBackwardWeight',
  'pool2dOutputSize',
  'maxPool2dForward',
  'maxPool2dBackward',
  'avgPool2dForward',
  'avgPool2dBackward',
  'lstmCellForward',
  'lstmCellBackward',
];

function tryLoad(): NativeAddon | null {
  const disable = typeof process !== 'undefined' ? process.env.NEURITE_DISABLE_NATIVE : undefined;
  if (disable !== undefined && disable !== '' && disable !== '0' && disable.toLowerCase() !== 'false') {
    loadError = 'disabled by NEURITE_DISABLE_NATIVE';
    return null;
  }
  const file = nativeAddonPath();
  if (!existsSync(file)) {
    loadError = `native addon not built (${file} does not exist)`;
    return null;
  }
  let mod: unknown;
  try {
    const require = createRequire(import.meta.url);
    mod = require(file);
  } catch (err) {
    loadError = `failed to load ${file}: ${err instanceof Error ? err.message : String(err)}`;
    return null;
  }
  if (typeof mod !== 'object' || mod === null) {
    loadError = `${file} did not export an object`;
    return null;
  }
  const rec = mod as Record<string, unknown>;
  if (rec.abiVersion !== NATIVE_ABI_VERSION) {
    loadError = `stale native addon: abiVersion ${String(rec.abiVersion)}, expected ${NATIVE_ABI_VERSION} (rebuild with 'node scripts/build-native.mjs')`;
    return null;
  }
  for (const name of REQUIRED_FUNCTIONS) {
    if (typeof rec[name] !== 'function') {
      loadError = `native addon lacks function '${name}' (rebuild with 'node scripts/build-native.mjs')`;
      return null;
    }
  }
  loadError = null;
  return mod as NativeAddon;
}

/** The native addon, loaded on first call (cached); null if unavailable. */
export function loadNativeAddon(): NativeAddon | null {
  if (cached === undefined) cached = tryLoad();
  return cached;
}

/** Why loadNativeAddon() returned null, or null if the addon loaded (tries to load it first). */
export function nativeLoadError(): string | null {
  if (cached === undefined) loadNativeAddon();
  return loadError;
}

/** Features of the loaded addon, or null when it is unavailable. */
export function cpuFeatures(): NativeCpuFeatures | null {
  const addon = loadNativeAddon();
  return addon ? addon.cpuFeatures() : null;
}
