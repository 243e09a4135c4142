/// <reference types="@webgpu/types" />
import { NeuriteError } from '../../core/errors.js';
import { stridesOf } from '../../core/shape.js';
import type { AdadeltaStepOptions, AdagradStepOptions, AdamStepOptions, AvgPoolDivisor, RmspropStepOptions, SgdStepOptions } from '../../kernels/contract.js';
import { CONV2D_GEOMETRY_FIELDS, type Conv2dGeometry, POOL2D_GEOMETRY_FIELDS, type Pool2dGeometry } from '../../kernels/geometry.js';
import type { GpuArray, GpuDevice } from './device.js';
import {
  adadeltaShader,
  adagradShader,
  adamShader,
  argReduceShader,
  avgPool2dBackwardShader,
  avgPool2dShader,
  BINARY_WGSL,
  binaryShader,
  COMPARE_WGSL,
  castShader,
  compareShader,
  conv2dBackwardInputShader,
  conv2dBackwardWeightShader,
  conv2dShader,
  GEMM_TILE,
  gatherShader,
  gemmShader,
  indexAddShader,
  indexSelectShader,
  logSoftmaxBackwardShader,
  logSoftmaxShader,
  lstmBackwardShader,
  lstmForwardShader,
  MAX_RANK,
  type MaskElement,
  maxPool2dBackwardShader,
  maxPool2dShader,
  maxUnpoolClaimShader,
  maxUnpoolShader,
  PREDICATE_WGSL,
  padShader,
  placeShader,
  predicateShader,
  reduceShader,
  reluBackwardShader,
  rmspropShader,
  scatterAddShader,
  sgdShader,
  sliceShader,
  softmaxCrossEntropyShader,
  UNARY_WGSL,
  unaryShader,
  WORKGROUP,
  whereShader,
} from './shaders.js';

/*
 * The kernels of the kernel contract (kernels/contract.ts) that the GPU
 * computes, over GpuArrays instead of typed arrays and with the same
 * arguments otherwise, so that each is tested against the reference kernel of
 * the same name. A call records its dispatch and returns; results are there
 * for the next kernel at once and for the CPU after `device.read`.
 */

/** The contract's unary ops this backend computes; the rest belong to the reference. */
export const GPU_UNARY_OPS: ReadonlySet<string> = new Set(Object.keys(UNARY_WGSL));
/** The contract's binary ops this backend computes. */
export const GPU_BINARY_OPS: ReadonlySet<string> = new Set(Object.keys(BINARY_WGSL));

/** The contract's comparisons and logical ops this backend computes (all of them). */
export const GPU_COMPARE_OPS: ReadonlySet<string> = new Set(Object.keys(COMPARE_WGSL));
/** The contract's predicates this backend computes (all of them). */
export const GPU_PREDICATE_OPS: ReadonlySet<string> = new Set(Object.keys(PREDICATE_WGSL));

/** Words of a bool array of `n` elements (four to a word). */
function maskWords(n: number): number {
  return Math.ceil(n / 4);
}

/** Writes up to MAX_RANK values as two vec4<u32>. */
function putVec8(words: Uint32Array, at: number, values: readonly number[]): void {
  for (let i = 0; i < values.length; i++) words[at + i] = values[i];
}

function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export class GpuKernels {
  constructor(readonly device: GpuDevice) {}

  /** Workgroups for `n` invocations of WORKGROUP each, folded into two dimensions past the per-dimension limit. */
  private groups1d(n: number): [number, number] {
    const total = Math.ceil(n / WORKGROUP);
    const max = this.device.device.limits.maxComputeWorkgroupsPerDimension;
    if (total <= max) return [total, 1];
    const y = Math.ceil(total / max);
    return [Math.ceil(total / y), y];
  }

  private check(name: string, arrays: Record<string, [GpuArray, number]>): void {
    for (const [what, [a, n]] of Object.entries(arrays)) {
      if (a.isReleased) throw new NeuriteError(`webgpu ${name}: ${what} was released`);
      if (a.length < n) throw new NeuriteError(`webgpu ${name}: ${what} holds ${a.length} elements, needs ${n}`);
    }
  }

  /** out[b] = op(A[b]) · op(B[b]); op(A) [m, k], op(B) [k, n], `batch` stacked. */
  matmul(a: GpuArray, b: GpuArray, out: GpuArray, batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean): void {
    this.check('matmul', { a: [a, batch * m * k], b: [b, batch * k * n], out: [out, batch * m * n] });
    const p = this.device.pipeline(`gemm:${transA}:${transB}:0`, () => gemmShader(transA, transB, false));
    this.device.dispatch(p, [a, b, out], new Uint32Array([m, n, k, batch]).buffer, [Math.ceil(n / GEMM_TILE), Math.ceil(m / GEMM_TILE), batch]);
  }

  /** out[i, j] = bias[j] + (op(A)·op(B))[i, j]. */
  addmm(bias: GpuArray, a: GpuArray, b: GpuArray, out: GpuArray, m: number, n: number, k: number, transA: boolean, transB: boolean): void {
    this.check('addmm', { bias: [bias, n], a: [a, m * k], b: [b, k * n], out: [out, m * n] });
    const p = this.device.pipeline(`gemm:${transA}:${transB}:1`, () => gemmShader(transA, transB, true));
    this.device.dispatch(p, [a, b, out, bias], new Uint32Array([m, n, k, 1]).buffer, [Math.ceil(n / GEMM_TILE), Math.ceil(m / GEMM_TILE), 1]);
  }

  /** out[i] = op(x[i]) over `x.length` elements, for the ops in GPU_UNARY_OPS. */
  unary(op: string, x: GpuArray, out: GpuArray): void {
    if (!GPU_UNARY_OPS.has(op)) throw new NeuriteError(`webgpu unary: no GPU kernel for '${op}'`);
    const n = x.length;
    this.check(`unary ${op}`, { x: [x, n], out: [out, n] });
    this.device.dispatch(
      this.device.pipeline(`unary:${op}`, () => unaryShader(op)),
      [x, out],
      new Uint32Array([n, 0, 0, 0]).buffer,
      this.groups1d(n),
    );
  }

  private checkTyped(name: string, arrays: Record<string, [GpuArray, number, MaskElement]>): void {
    const plain: Record<string, [GpuArray, number]> = {};
    for (const [what, [a, n, element]] of Object.entries(arrays)) plain[what] = [a, element === 'bool' ? maskWords(n) : n];
    this.check(name, plain);
  }

  /** Each input's strides over the output's axes, right-aligned; 0 where it is broadcast (as binary takes them). */
  private broadcastWords(n: number, outShape: readonly number[], inputs: readonly (readonly number[])[]): ArrayBuffer {
    const rank = outShape.length;
    const words = new Uint32Array(4 + 8 * (1 + inputs.length));
    words[0] = n;
    words[1] = rank;
    putVec8(words, 4, outShape);
    inputs.forEach((shape, i) => {
      const own = stridesOf(shape);
      const strides = new Array<number>(rank).fill(0);
      for (let d = 0; d < shape.length; d++) if (shape[d] !== 1) strides[rank - shape.length + d] = own[d];
      putVec8(words, 12 + 8 * i, strides);
    });
    return words.buffer;
  }

  /**
   * out = a op b with broadcasting, into a bool array (the contract's
   * compare): a and b float32 or bool, each as its `element` says. (int32
   * operands stay on the CPU: compared as float32 here, those past 2^24
   * would not compare as the exact numbers they are.)
   */
  compare(
    op: string,
    a: GpuArray,
    aShape: readonly number[],
    b: GpuArray,
    bShape: readonly number[],
    out: GpuArray,
    outShape: readonly number[],
    elements: { a: 'f32' | 'bool'; b: 'f32' | 'bool' } = { a: 'f32', b: 'f32' },
  ): void {
    if (!GPU_COMPARE_OPS.has(op)) throw new NeuriteError(`webgpu compare: no GPU kernel for '${op}'`);
    if ((elements.a as MaskElement) === 'i32' || (elements.b as MaskElement) === 'i32')
      throw new NeuriteError(`webgpu compare ${op}: int32 operands have no GPU kernel`);
    this.checkRank(`compare ${op}`, outShape.length);
    const n = sizeOf(outShape);
    this.checkTyped(`compare ${op}`, { a: [a, sizeOf(aShape), elements.a], b: [b, sizeOf(bShape), elements.b], out: [out, n, 'bool'] });
    this.device.dispatch(
      this.device.pipeline(`compare:${op}:${elements.a}:${elements.b}`, () => compareShader(op, elements.a, elements.b)),
      [a, b, out],
      this.broadcastWords(n, outShape, [aShape, bShape]),
      this.groups1d(maskWords(n)),
    );
  }

  /** isnan, isfinite, isinf or not of each element of x (float32, int32 or bool), into a bool array. */
  predicate(op: string, x: GpuArray, n: number, out: GpuArray, element: MaskElement = 'f32'): void {
    if (!GPU_PREDICATE_OPS.has(op)) throw new NeuriteError(`webgpu predicate: no GPU kernel for '${op}'`);
    this.checkTyped(`predicate ${op}`, { x: [x, n, element], out: [out, n, 'bool'] });
    this.device.dispatch(
      this.device.pipeline(`predicate:${op}:${element}`, () => predicateShader(op, element)),
      [x, out],
      new Uint32Array([n, 0, 0, 0]).buffer,
      this.groups1d(maskWords(n)),
    );
  }

  /** out = cond ? a : b with broadcasting over all three (cond a bool array; a, b and out float32). */
  where(
    cond: GpuArray,
    cShape: readonly number[],
    a: GpuArray,
    aShape: readonly number[],
    b: GpuArray,
    bShape: readonly number[],
    out: GpuArray,
    outShape: readonly number[],
  ): void {
    this.checkRank('where', outShape.length);
    const n = sizeOf(outShape);
    this.checkTyped('where', { cond: [cond, sizeOf(cShape), 'bool'], a: [a, sizeOf(aShape), 'f32'], b: [b, sizeOf(bShape), 'f32'], out: [out, n, 'f32'] });
    this.device.dispatch(
      this.device.pipeline('where', whereShader),
      [cond, a, b, out],
      this.broadcastWords(n, outShape, [aShape, bShape, cShape]),
      this.groups1d(n),
    );
  }

  /** The contract's cast of n elements between float32, int32 and bool. */
  cast(x: GpuArray, from: MaskElement, out: GpuArray, to: MaskElement, n: number): void {
    this.checkTyped(`cast ${from} to ${to}`, { x: [x, n, from], out: [out, n, to] });
    this.device.dispatch(
      this.device.pipeline(`cast:${from}:${to}`, () => castShader(from, to)),
      [x, out],
      new Uint32Array([n, 0, 0, 0]).buffer,
      this.groups1d(to === 'bool' ? maskWords(n) : n),
    );
  }

  /** argmax or argmin along `axis` into an int32 array (the contract's argReduce). */
  argReduce(op: 'argmax' | 'argmin', x: GpuArray, shape: readonly number[], axis: number, out: GpuArray): void {
    const size = shape[axis];
    const outer = sizeOf(shape.slice(0, axis));
    const inner = sizeOf(shape.slice(axis + 1));
    if (!(size > 0)) throw new NeuriteError(`webgpu ${op}: axis ${axis} of shape [${shape.join(', ')}] is empty`);
    this.check(op, { x: [x, outer * size * inner], out: [out, outer * inner] });
    this.device.dispatch(
      this.device.pipeline(op, () => argReduceShader(op)),
      [x, out],
      new Uint32Array([outer, size, inner, 0]).buffer,
      this.groups1d(outer * inner),
    );
  }

  /** The contract's indexAdd: out (its `shape`) += src along `axis` at the places `index` names, in index order. */
  indexAdd(out: GpuArray, shape: readonly number[], axis: number, index: GpuArray, m: number, src: GpuArray): void {
    const size = shape[axis];
    const outer = sizeOf(shape.slice(0, axis));
    const inner = sizeOf(shape.slice(axis + 1));
    this.check('indexAdd', { out: [out, outer * size * inner], index: [index, m], src: [src, outer * m * inner] });
    this.device.dispatch(
      this.device.pipeline('indexAdd', indexAddShader),
      [out, index, src],
      new Uint32Array([outer, size, inner, m]).buffer,
      this.groups1d(outer * size * inner),
    );
  }

  /** relu's gradient: out = x <= 0 ? 0 : g. */
  reluBackward(x: GpuArray, g: GpuArray, out: GpuArray): void {
    const n = x.length;
    this.check('reluBackward', { x: [x, n], g: [g, n], out: [out, n] });
    this.device.dispatch(this.device.pipeline('reluBackward', reluBackwardShader), [x, g, out], new Uint32Array([n, 0, 0, 0]).buffer, this.groups1d(n));
  }

  /** out = a op b with broadcasting (shapes as the contract's binary kernel takes them). */
  binary(op: string, a: GpuArray, aShape: readonly number[], b: GpuArray, bShape: readonly number[], out: GpuArray, outShape: readonly number[]): void {
    if (!GPU_BINARY_OPS.has(op)) throw new NeuriteError(`webgpu binary: no GPU kernel for '${op}'`);
    const rank = outShape.length;
    if (rank > MAX_RANK) throw new NeuriteError(`webgpu binary ${op}: rank ${rank} output, the GPU kernel handles up to ${MAX_RANK}`);
    const n = sizeOf(outShape);
    this.check(`binary ${op}`, { a: [a, sizeOf(aShape)], b: [b, sizeOf(bShape)], out: [out, n] });
    // Each input's strides over the output's axes, right-aligned; 0 where it is broadcast.
    const broadcastStrides = (shape: readonly number[]): number[] => {
      const own = stridesOf(shape);
      const s = new Array<number>(rank).fill(0);
      for (let d = 0; d < shape.length; d++) {
        const od = rank - shape.length + d;
        if (shape[d] !== 1) s[od] = own[d];
        else if (outShape[od] !== 1) s[od] = 0;
      }
      return s;
    };
    const words = new Uint32Array(4 + 8 * 3);
    words[0] = n;
    words[1] = rank;
    putVec8(words, 4, outShape);
    putVec8(words, 12, broadcastStrides(aShape));
    putVec8(words, 20, broadcastStrides(bShape));
    this.device.dispatch(
      this.device.pipeline(`binary:${op}`, () => binaryShader(op)),
      [a, b, out],
      words.buffer,
      this.groups1d(n),
    );
  }

  /** Sum, product, max or min over `axes` (sorted, unique); `out` holds the kept axes' elements. */
  reduce(op: 'sum' | 'prod' | 'max' | 'min', x: GpuArray, shape: readonly number[], axes: readonly number[], out: GpuArray): void {
    if (shape.length > MAX_RANK) throw new NeuriteError(`webgpu reduce ${op}: rank ${shape.length} input, the GPU kernel handles up to ${MAX_RANK}`);
    const strides = stridesOf(shape);
    const kept = shape.map((_, d) => d).filter((d) => !axes.includes(d));
    const keptShape = kept.map((d) => shape[d]);
    const redShape = axes.map((d) => shape[d]);
    const nOut = sizeOf(keptShape);
    const nRed = sizeOf(redShape);
    this.check(`reduce ${op}`, { x: [x, sizeOf(shape)], out: [out, nOut] });
    if (nRed === 0 && (op === 'max' || op === 'min')) throw new NeuriteError(`webgpu reduce ${op}: reducing an empty axis has no ${op}`);
    const words = new Uint32Array(4 + 8 * 4);
    words.set([nOut, nRed, kept.length, axes.length]);
    putVec8(words, 4, keptShape);
    putVec8(
      words,
      12,
      kept.map((d) => strides[d]),
    );
    putVec8(words, 20, redShape);
    putVec8(
      words,
      28,
      axes.map((d) => strides[d]),
    );
    this.device.dispatch(
      this.device.pipeline(`reduce:${op}`, () => reduceShader(op)),
      [x, out],
      words.buffer,
      this.groups1d(nOut),
    );
  }

  /** log softmax along one axis of x viewed as [outer, size, inner] (Kernels.logSoftmax; the core of the cross-entropy loss). */
  logSoftmax(x: GpuArray, outer: number, size: number, inner: number, out: GpuArray): void {
    const n = outer * size * inner;
    this.check('logSoftmax', { x: [x, n], out: [out, n] });
    this.device.dispatch(
      this.device.pipeline('logSoftmax', logSoftmaxShader),
      [x, out],
      new Uint32Array([outer, size, inner, 0]).buffer,
      this.groups1d(outer * inner),
    );
  }

  /** logSoftmax's gradient from its output (Kernels.logSoftmaxBackward). */
  logSoftmaxBackward(g: GpuArray, out: GpuArray, outer: number, size: number, inner: number, dx: GpuArray): void {
    const n = outer * size * inner;
    this.check('logSoftmaxBackward', { g: [g, n], out: [out, n], dx: [dx, n] });
    this.device.dispatch(
      this.device.pipeline('logSoftmaxBackward', logSoftmaxBackwardShader),
      [g, out, dx],
      new Uint32Array([outer, size, inner, 0]).buffer,
      this.groups1d(outer * inner),
    );
  }

  lstmCellForward(gates: GpuArray, cPrev: GpuArray, outC: GpuArray, outH: GpuArray, outGates: GpuArray, n: number, hidden: number): void {
    const nh = n * hidden;
    this.check('lstmCellForward', { gates: [gates, 4 * nh], cPrev: [cPrev, nh], outC: [outC, nh], outH: [outH, nh], outGates: [outGates, 4 * nh] });
    this.device.dispatch(
      this.device.pipeline('lstmForward', lstmForwardShader),
      [gates, cPrev, outC, outH, outGates],
      new Uint32Array([n, hidden, 0, 0]).buffer,
      this.groups1d(nh),
    );
  }

  /**
   * The LSTM cell backward; dh or dc null reads as zeros. Unlike the CPU
   * kernel, dGates must not be gatesAct and dcPrev must not be dc: a GPU
   * binding cannot be read-only and written in one dispatch.
   */
  lstmCellBackward(
    gatesAct: GpuArray,
    cPrev: GpuArray,
    c: GpuArray,
    dh: GpuArray | null,
    dc: GpuArray | null,
    dGates: GpuArray,
    dcPrev: GpuArray,
    n: number,
    hidden: number,
  ): void {
    const nh = n * hidden;
    if (dGates === gatesAct || dcPrev === dc) throw new NeuriteError('webgpu lstmCellBackward: outputs must be separate arrays from the inputs');
    let zeros: GpuArray | null = null;
    if (dh === null || dc === null) {
      zeros = this.zeros(nh);
    }
    this.check('lstmCellBackward', { gatesAct: [gatesAct, 4 * nh], cPrev: [cPrev, nh], c: [c, nh], dGates: [dGates, 4 * nh], dcPrev: [dcPrev, nh] });
    this.device.dispatch(
      this.device.pipeline('lstmBackward', lstmBackwardShader),
      [gatesAct, cPrev, c, dh ?? (zeros as GpuArray), dc ?? (zeros as GpuArray), dGates, dcPrev],
      new Uint32Array([n, hidden, 0, 0]).buffer,
      this.groups1d(nh),
    );
    zeros?.release();
  }

  /** A new array of zeros. */
  zeros(n: number): GpuArray {
    const z = this.device.empty(n);
    // A recycled buffer holds old values: clear it as a GPU command, in order with the kernels around it.
    this.device.clear(z);
    return z;
  }

  /** One in-place SGD step (optim/sgd.ts's rule); buf null or momentum 0: plain SGD. */
  sgdStep(param: GpuArray, grad: GpuArray, buf: GpuArray | null, o: SgdStepOptions): void {
    const n = param.length;
    const momentum = buf !== null && o.momentum !== 0;
    this.check('sgdStep', { param: [param, n], grad: [grad, n], ...(buf !== null ? { buf: [buf, n] as [GpuArray, number] } : {}) });
    const words = new ArrayBuffer(32);
    const u = new Uint32Array(words);
    const f = new Float32Array(words);
    u[0] = n;
    u[1] = (momentum ? 1 : 0) | (o.nesterov ? 2 : 0) | (o.firstStep ? 4 : 0) | (o.maximize ? 8 : 0);
    f[4] = o.lr;
    f[5] = o.momentum;
    f[6] = o.dampening;
    f[7] = o.weightDecay;
    // Without momentum the shader never touches buf; the parameter stands in for the binding.
    const bufBinding = momentum ? (buf as GpuArray) : this.scratch();
    this.device.dispatch(this.device.pipeline('sgd', sgdShader), [param, grad, bufBinding], words, this.groups1d(n));
  }

  /** One in-place Adam/AdamW step (optim/adam.ts's rule); vMax, amsgrad's running maximum, or null. */
  adamStep(param: GpuArray, grad: GpuArray, m: GpuArray, v: GpuArray, vMax: GpuArray | null, o: AdamStepOptions): void {
    const n = param.length;
    this.check('adamStep', { param: [param, n], grad: [grad, n], m: [m, n], v: [v, n], ...(vMax !== null ? { vMax: [vMax, n] as [GpuArray, number] } : {}) });
    const words = new ArrayBuffer(48);
    const u = new Uint32Array(words);
    const f = new Float32Array(words);
    u[0] = n;
    u[1] = (o.decoupled ? 1 : 0) | (o.maximize ? 2 : 0) | (vMax !== null ? 4 : 0);
    f[4] = o.lr;
    f[5] = o.beta1;
    f[6] = o.beta2;
    f[7] = o.eps;
    f[8] = o.weightDecay;
    f[9] = 1 - o.beta1 ** o.step;
    f[10] = Math.sqrt(1 - o.beta2 ** o.step);
    this.device.dispatch(this.device.pipeline('adam', adamShader), [param, grad, m, v, vMax ?? this.scratch()], words, this.groups1d(n));
  }

  /** One in-place RMSprop step (optim/rmsprop.ts's rule); gradAvg only when centered, buf only with momentum. */
  rmspropStep(param: GpuArray, grad: GpuArray, squareAvg: GpuArray, gradAvg: GpuArray | null, buf: GpuArray | null, o: RmspropStepOptions): void {
    const n = param.length;
    this.check('rmspropStep', { param: [param, n], grad: [grad, n], squareAvg: [squareAvg, n] });
    const momentum = buf !== null && o.momentum > 0;
    const words = new ArrayBuffer(48);
    const u = new Uint32Array(words);
    const f = new Float32Array(words);
    u[0] = n;
    u[1] = (gradAvg !== null ? 1 : 0) | (momentum ? 2 : 0) | (o.maximize ? 4 : 0);
    f[4] = o.lr;
    f[5] = o.alpha;
    f[6] = o.eps;
    f[7] = o.weightDecay;
    f[8] = o.momentum;
    this.device.dispatch(
      this.device.pipeline('rmsprop', rmspropShader),
      [param, grad, squareAvg, gradAvg ?? this.scratch(), momentum ? (buf as GpuArray) : this.scratch(2)],
      words,
      this.groups1d(n),
    );
  }

  /** One in-place Adagrad step at `step` (from 1; optim/adagrad.ts's rule). */
  adagradStep(param: GpuArray, grad: GpuArray, sum: GpuArray, step: number, o: AdagradStepOptions): void {
    const n = param.length;
    this.check('adagradStep', { param: [param, n], grad: [grad, n], sum: [sum, n] });
    const words = new ArrayBuffer(32);
    const u = new Uint32Array(words);
    const f = new Float32Array(words);
    u[0] = n;
    u[1] = o.maximize ? 1 : 0;
    f[4] = o.lr / (1 + (step - 1) * o.lrDecay);
    f[5] = o.weightDecay;
    f[6] = o.eps;
    this.device.dispatch(this.device.pipeline('adagrad', adagradShader), [param, grad, sum], words, this.groups1d(n));
  }

  /** One in-place Adadelta step (optim/adadelta.ts's rule). */
  adadeltaStep(param: GpuArray, grad: GpuArray, squareAvg: GpuArray, accDelta: GpuArray, o: AdadeltaStepOptions): void {
    const n = param.length;
    this.check('adadeltaStep', { param: [param, n], grad: [grad, n], squareAvg: [squareAvg, n], accDelta: [accDelta, n] });
    const words = new ArrayBuffer(32);
    const u = new Uint32Array(words);
    const f = new Float32Array(words);
    u[0] = n;
    u[1] = o.maximize ? 1 : 0;
    f[4] = o.lr;
    f[5] = o.rho;
    f[6] = o.eps;
    f[7] = o.weightDecay;
    this.device.dispatch(this.device.pipeline('adadelta', adadeltaShader), [param, grad, squareAvg, accDelta], words, this.groups1d(n));
  }

  private readonly scratchArrays: GpuArray[] = [];
  /**
   * A one-element array for bindings a shader declares and a call does not
   * use; a second unused writable binding of one dispatch takes scratch(2),
   * as WebGPU forbids binding one buffer writable twice.
   */
  private scratch(which = 1): GpuArray {
    while (this.scratchArrays.length < which) this.scratchArrays.push(this.device.empty(1));
    return this.scratchArrays[which - 1];
  }

  /** The conv geometry as the shaders' uniform block (the contract's field order). */
  private convWords(g: Conv2dGeometry): ArrayBuffer {
    return Int32Array.from(CONV2D_GEOMETRY_FIELDS, (f) => g[f]).buffer;
  }

  private poolWords(g: Pool2dGeometry, divisor: AvgPoolDivisor | null): ArrayBuffer {
    const words = new Int32Array(16);
    POOL2D_GEOMETRY_FIELDS.forEach((f, i) => {
      words[i] = g[f];
    });
    words[14] = divisor?.countIncludePad ? 1 : 0;
    words[15] = divisor?.divisorOverride ?? 0;
    return words.buffer;
  }

  /** 2-D cross-correlation plus an optional bias per output channel (the contract's conv2d). */
  conv2d(x: GpuArray, weight: GpuArray, bias: GpuArray | null, out: GpuArray, g: Conv2dGeometry): void {
    const cg = g.inChannels / g.groups;
    const n = g.batch * g.outChannels * g.outH * g.outW;
    this.check('conv2d', {
      x: [x, g.batch * g.inChannels * g.inH * g.inW],
      weight: [weight, g.outChannels * cg * g.kernelH * g.kernelW],
      out: [out, n],
      ...(bias !== null ? { bias: [bias, g.outChannels] as [GpuArray, number] } : {}),
    });
    const withBias = bias !== null;
    const p = this.device.pipeline(`conv2d:${withBias}`, () => conv2dShader(withBias));
    this.device.dispatch(p, withBias ? [x, weight, out, bias] : [x, weight, out], this.convWords(g), this.groups1d(n));
  }

  /** conv2d's adjoint in its input (also a transposed convolution's forward). */
  conv2dBackwardInput(gradOut: GpuArray, weight: GpuArray, gradIn: GpuArray, g: Conv2dGeometry): void {
    const n = g.batch * g.inChannels * g.inH * g.inW;
    this.check('conv2dBackwardInput', { gradOut: [gradOut, g.batch * g.outChannels * g.outH * g.outW], gradIn: [gradIn, n] });
    this.device.dispatch(
      this.device.pipeline('conv2dBackwardInput', conv2dBackwardInputShader),
      [gradOut, weight, gradIn],
      this.convWords(g),
      this.groups1d(n),
    );
  }

  /** conv2d's adjoint in its weight. */
  conv2dBackwardWeight(x: GpuArray, gradOut: GpuArray, gradWeight: GpuArray, g: Conv2dGeometry): void {
    const n = g.outChannels * (g.inChannels / g.groups) * g.kernelH * g.kernelW;
    this.check('conv2dBackwardWeight', {
      x: [x, g.batch * g.inChannels * g.inH * g.inW],
      gradOut: [gradOut, g.batch * g.outChannels * g.outH * g.outW],
      gradWeight: [gradWeight, n],
    });
    this.device.dispatch(
      this.device.pipeline('conv2dBackwardWeight', conv2dBackwardWeightShader),
      [x, gradOut, gradWeight],
      this.convWords(g),
      this.groups1d(n),
    );
  }

  /** Max pooling with PyTorch's indices (an int32 array). */
  maxPool2d(x: GpuArray, out: GpuArray, indices: GpuArray, g: Pool2dGeometry): void {
    const n = g.batch * g.channels * g.outH * g.outW;
    this.check('maxPool2d', { x: [x, g.batch * g.channels * g.inH * g.inW], out: [out, n], indices: [indices, n] });
    this.device.dispatch(this.device.pipeline('maxPool2d', maxPool2dShader), [x, out, indices], this.poolWords(g, null), this.groups1d(n));
  }

  maxPool2dBackward(gradOut: GpuArray, indices: GpuArray, gradIn: GpuArray, g: Pool2dGeometry): void {
    const n = g.batch * g.channels * g.inH * g.inW;
    const nOut = g.batch * g.channels * g.outH * g.outW;
    this.check('maxPool2dBackward', { gradOut: [gradOut, nOut], indices: [indices, nOut], gradIn: [gradIn, n] });
    this.device.dispatch(
      this.device.pipeline('maxPool2dBackward', maxPool2dBackwardShader),
      [gradOut, indices, gradIn],
      this.poolWords(g, null),
      this.groups1d(n),
    );
  }

  /**
   * The contract's maxUnpool: each plane of `out` is zero but at the places
   * `indices` names, which take their inputs (the last input where two name
   * one place, as in the reference's loop).
   */
  maxUnpool(x: GpuArray, indices: GpuArray, out: GpuArray, planes: number, inPlaneSize: number, outPlaneSize: number): void {
    const nIn = planes * inPlaneSize;
    const nOut = planes * outPlaneSize;
    this.check('maxUnpool', { x: [x, nIn], indices: [indices, nIn], out: [out, nOut] });
    if (nOut === 0) return;
    const claims = this.zeros(nOut);
    const words = new Uint32Array([planes, inPlaneSize, outPlaneSize, 0]).buffer;
    if (nIn > 0) this.device.dispatch(this.device.pipeline('maxUnpoolClaim', maxUnpoolClaimShader), [indices, claims], words, this.groups1d(nIn));
    this.device.dispatch(this.device.pipeline('maxUnpool', maxUnpoolShader), [x, claims, out], words, this.groups1d(nOut));
    claims.release();
  }

  avgPool2d(x: GpuArray, out: GpuArray, g: Pool2dGeometry, divisor: AvgPoolDivisor): void {
    const n = g.batch * g.channels * g.outH * g.outW;
    this.check('avgPool2d', { x: [x, g.batch * g.channels * g.inH * g.inW], out: [out, n] });
    this.device.dispatch(this.device.pipeline('avgPool2d', avgPool2dShader), [x, out], this.poolWords(g, divisor), this.groups1d(n));
  }

  avgPool2dBackward(gradOut: GpuArray, gradIn: GpuArray, g: Pool2dGeometry, divisor: AvgPoolDivisor): void {
    const n = g.batch * g.channels * g.inH * g.inW;
    this.check('avgPool2dBackward', { gradOut: [gradOut, g.batch * g.channels * g.outH * g.outW], gradIn: [gradIn, n] });
    this.device.dispatch(this.device.pipeline('avgPool2dBackward', avgPool2dBackwardShader), [gradOut, gradIn], this.poolWords(g, divisor), this.groups1d(n));
  }

  /**
   * Softmax cross-entropy of [rows, cols] logits against int32 labels: the
   * loss of each row and the gradient of each row's loss with respect to
   * its logits (softmax minus one-hot; divide by rows for a mean).
   */
  softmaxCrossEntropy(logits: GpuArray, labels: GpuArray, loss: GpuArray, gradLogits: GpuArray, rows: number, cols: number): void {
    this.check('softmaxCrossEntropy', { logits: [logits, rows * cols], labels: [labels, rows], loss: [loss, rows], gradLogits: [gradLogits, rows * cols] });
    this.device.dispatch(
      this.device.pipeline('softmaxCrossEntropy', softmaxCrossEntropyShader),
      [logits, labels, loss, gradLogits],
      new Uint32Array([rows, cols, 0, 0]).buffer,
      this.groups1d(rows),
    );
  }

  /** The uniform block of the ranked kernels (shaders.ts RANKED_PARAMS). */
  private rankedWords(
    n: number,
    rank: number,
    axis: number,
    base: number,
    shape: readonly number[],
    strides: readonly number[],
    other: readonly number[] = [],
    otherStrides: readonly number[] = [],
  ): ArrayBuffer {
    const words = new Int32Array(4 + 8 * 4);
    words.set([n, rank, axis, base]);
    words.set(shape, 4);
    words.set(strides, 12);
    words.set(other, 20);
    words.set(otherStrides, 28);
    return words.buffer;
  }

  private checkRank(name: string, rank: number): void {
    if (rank > MAX_RANK) throw new NeuriteError(`webgpu ${name}: rank ${rank}, the GPU kernel handles up to ${MAX_RANK}`);
  }

  /** torch.gather along `axis` (the contract's gather): out has the index's shape. */
  gather(x: GpuArray, shape: readonly number[], axis: number, index: GpuArray, indexShape: readonly number[], out: GpuArray): void {
    this.checkRank('gather', shape.length);
    const n = sizeOf(indexShape);
    this.check('gather', { x: [x, sizeOf(shape)], index: [index, n], out: [out, n] });
    this.device.dispatch(
      this.device.pipeline('gather', gatherShader),
      [x, index, out],
      this.rankedWords(n, indexShape.length, axis, 0, indexShape, stridesOf(shape)),
      this.groups1d(n),
    );
  }

  /** The adjoint of gather (the contract's scatterAdd): out[..index[..i..]..] += src[..i..], in place. */
  scatterAdd(out: GpuArray, shape: readonly number[], axis: number, index: GpuArray, indexShape: readonly number[], src: GpuArray): void {
    this.checkRank('scatterAdd', shape.length);
    const n = sizeOf(shape);
    this.check('scatterAdd', { out: [out, n], index: [index, sizeOf(indexShape)], src: [src, sizeOf(indexShape)] });
    this.device.dispatch(
      this.device.pipeline('scatterAdd', scatterAddShader),
      [out, index, src],
      this.rankedWords(n, shape.length, axis, 0, shape, [], indexShape, stridesOf(indexShape)),
      this.groups1d(n),
    );
  }

  /** The contract's slice: out = x[begin[d] + i·step[d]] over outShape (steps may be negative). */
  slice(x: GpuArray, shape: readonly number[], begin: readonly number[], step: readonly number[], out: GpuArray, outShape: readonly number[]): void {
    this.checkRank('slice', shape.length);
    const n = sizeOf(outShape);
    const st = stridesOf(shape);
    let base = 0;
    for (let d = 0; d < shape.length; d++) base += begin[d] * st[d];
    this.check('slice', { x: [x, sizeOf(shape)], out: [out, n] });
    this.device.dispatch(
      this.device.pipeline('slice', sliceShader),
      [x, out],
      this.rankedWords(
        n,
        outShape.length,
        0,
        base,
        outShape,
        st.map((s, d) => s * step[d]),
      ),
      this.groups1d(n),
    );
  }

  /** The contract's permute: output axis i is input axis perm[i] (a slice whose strides are x's, permuted). */
  permute(x: GpuArray, shape: readonly number[], perm: readonly number[], out: GpuArray): void {
    this.checkRank('permute', shape.length);
    const n = sizeOf(shape);
    const st = stridesOf(shape);
    this.check('permute', { x: [x, n], out: [out, n] });
    this.device.dispatch(
      this.device.pipeline('slice', sliceShader),
      [x, out],
      this.rankedWords(
        n,
        shape.length,
        0,
        0,
        perm.map((p) => shape[p]),
        perm.map((p) => st[p]),
      ),
      this.groups1d(n),
    );
  }

  /** The contract's sliceAdd, the adjoint of slice: out[begin + i·step] += src[i], in place. */
  sliceAdd(src: GpuArray, srcShape: readonly number[], begin: readonly number[], step: readonly number[], out: GpuArray, outShape: readonly number[]): void {
    this.checkRank('sliceAdd', outShape.length);
    if (step.some((s) => s === 0)) throw new NeuriteError('webgpu sliceAdd: a step of 0 would add two values into one cell');
    const n = sizeOf(srcShape);
    const st = stridesOf(outShape);
    let base = 0;
    for (let d = 0; d < outShape.length; d++) base += begin[d] * st[d];
    this.check('sliceAdd', { src: [src, n], out: [out, sizeOf(outShape)] });
    this.device.dispatch(
      this.device.pipeline('sliceAdd', () => placeShader(true)),
      [src, out],
      this.rankedWords(
        n,
        srcShape.length,
        0,
        base,
        srcShape,
        st.map((s, d) => s * step[d]),
      ),
      this.groups1d(n),
    );
  }

  /** The contract's pad: x placed `before[d]` elements in along each axis of out, the rest `value`. */
  pad(x: GpuArray, shape: readonly number[], before: readonly number[], value: number, out: GpuArray, outShape: readonly number[]): void {
    this.checkRank('pad', outShape.length);
    if (before.some((b) => b < 0)) throw new NeuriteError(`webgpu pad: negative padding [${before.join(', ')}]`);
    const n = sizeOf(outShape);
    this.check('pad', { x: [x, sizeOf(shape)], out: [out, n] });
    const valueBits = new Int32Array(new Float32Array([value]).buffer)[0];
    this.device.dispatch(
      this.device.pipeline('pad', padShader),
      [x, out],
      this.rankedWords(n, outShape.length, 0, valueBits, outShape, stridesOf(shape), before, shape),
      this.groups1d(n),
    );
  }

  /** The contract's concat along `axis`: one dispatch per input, each writing its slab of every outer row. */
  concat(xs: readonly GpuArray[], shapes: readonly (readonly number[])[], axis: number, out: GpuArray): void {
    const first = shapes[0];
    let outer = 1;
    for (let d = 0; d < axis; d++) outer *= first[d];
    let inner = 1;
    for (let d = axis + 1; d < first.length; d++) inner *= first[d];
    const total = shapes.reduce((sum, s) => sum + s[axis] * inner, 0);
    this.check('concat', { out: [out, outer * total] });
    let offset = 0;
    xs.forEach((x, i) => {
      const row = shapes[i][axis] * inner;
      const n = outer * row;
      this.check('concat', { [`input ${i}`]: [x, n] });
      if (n > 0) {
        this.device.dispatch(
          this.device.pipeline('place', () => placeShader(false)),
          [x, out],
          this.rankedWords(n, 2, 0, offset, [outer, row], [total, 1]),
          this.groups1d(n),
        );
      }
      offset += row;
    });
  }

  /** The contract's indexSelect: the slices of x along `axis` that `index` names, in its order. */
  indexSelect(x: GpuArray, shape: readonly number[], axis: number, index: GpuArray, out: GpuArray): void {
    this.checkRank('indexSelect', shape.length);
    const outShape = shape.map((s, d) => (d === axis ? index.length : s));
    const n = sizeOf(outShape);
    this.check('indexSelect', { x: [x, sizeOf(shape)], out: [out, n] });
    this.device.dispatch(
      this.device.pipeline('indexSelect', indexSelectShader),
      [x, index, out],
      this.rankedWords(n, shape.length, axis, 0, outShape, stridesOf(shape)),
      this.groups1d(n),
    );
  }
}
