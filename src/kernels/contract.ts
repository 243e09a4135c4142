import type { FloatArray, TypedArray } from '../core/dtype.js';
import { activeKernelTable, type BackendEntry } from '../core/engine.js';
import type { Shape } from '../core/shape.js';
import type { Conv2dGeometry, Pool2dGeometry } from './geometry.js';

export type { Conv2dGeometry, Pool2dGeometry } from './geometry.js';

/*
 * The compute contract between the primitives (this folder) and the backends
 * that run them (backends/): plain functions over typed arrays. It sits with
 * the kernels, below every backend, so a backend depends on the contract and
 * never the other way round.
 */

/** Element-wise functions of one argument. Output has the input's dtype unless noted. */
export type UnaryOp =
  | 'neg'
  | 'abs'
  | 'sign'
  | 'exp'
  | 'log'
  | 'log1p'
  | 'expm1'
  | 'sqrt'
  | 'rsqrt'
  | 'reciprocal'
  | 'square'
  | 'sin'
  | 'cos'
  | 'tanh'
  | 'sigmoid'
  | 'relu'
  | 'erf'
  | 'floor'
  | 'ceil'
  | 'round'
  | 'copy';

/** Element-wise functions of two broadcast arguments with the result dtype. */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'atan2';

/** Comparisons and logic; the output is always bool (Uint8Array). */
export type CompareOp = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'and' | 'or' | 'xor';

/** Predicates on one argument with a bool output. */
export type PredicateOp = 'isnan' | 'isfinite' | 'isinf' | 'not';

/** The reductions the reduce kernel computes. */
export type ReduceOp = 'sum' | 'prod' | 'max' | 'min';

/** How average pooling divides a window's sum (PyTorch's avg_pool2d arguments). */
export interface AvgPoolDivisor {
  /**
   * Count padding cells in the divisor. Either way the window is first
   * clipped to the padded input [-pad, in + pad), so a ceil-mode window that
   * runs past the padding is not counted beyond it.
   */
  readonly countIncludePad: boolean;
  /** Divide by this instead (0: no override). */
  readonly divisorOverride: number;
}

/**
 * The compute interface of a backend: plain functions over typed arrays in
 * row-major order. Every function writes into `out`, which the caller
 * allocated with the right dtype and size; inputs are never modified unless
 * the name says so (scatterAdd, indexAdd, sliceAdd accumulate into `out`).
 *
 * The reference backend implements all of them; a fast backend implements a
 * subset and the engine falls back to the reference for the rest.
 */
export interface Kernels {
  /** An element-wise unary op: `out[i] = op(x[i])`. */
  unary(op: UnaryOp, x: TypedArray, out: TypedArray): void;
  /** An element-wise test (NaN, finite, not...), 1 or 0 into `out`. */
  predicate(op: PredicateOp, x: TypedArray, out: Uint8Array): void;
  /** relu's gradient: out = x <= 0 ? 0 : g (NaN in x passes g, as PyTorch's threshold_backward). */
  reluBackward(x: TypedArray, g: TypedArray, out: TypedArray): void;
  /** An element-wise binary op with broadcasting: `out[i] = a[i] op b[i]`. */
  binary(op: BinaryOp, a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, out: TypedArray, outShape: Shape): void;
  /** An element-wise comparison with broadcasting, 1 or 0 into `out`. */
  compare(op: CompareOp, a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, out: Uint8Array, outShape: Shape): void;
  /** `out[i] = cond[i] ? a[i] : b[i]`, with broadcasting. */
  where(cond: Uint8Array, cShape: Shape, a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, out: TypedArray, outShape: Shape): void;
  /** Reduce over `axes` (sorted, unique); `out` has the kept dims' sizes. */
  reduce(op: ReduceOp, x: TypedArray, shape: Shape, axes: readonly number[], out: TypedArray): void;
  /**
   * log softmax along one axis of x viewed as [outer, size, inner]: for each
   * of the outer·inner lines, out = x - max - log Σ exp(x - max) over its
   * `size` elements (stride `inner`). The shift by the line's maximum keeps
   * exp() finite; a NaN or +Infinity in a line makes the line NaN.
   */
  logSoftmax(x: TypedArray, outer: number, size: number, inner: number, out: TypedArray): void;
  /**
   * The adjoint of logSoftmax from its output: dx = g - exp(out)·Σ g along
   * each line (softmax = exp(out)), with logSoftmax's [outer, size, inner] view.
   */
  logSoftmaxBackward(g: TypedArray, out: TypedArray, outer: number, size: number, inner: number, dx: TypedArray): void;
  /** Index of the largest or smallest element along one axis, written to `out`. */
  argReduce(op: 'argmax' | 'argmin', x: TypedArray, shape: Shape, axis: number, out: Int32Array): void;
  /** out[b] = op(A[b]) · op(B[b]) for `batch` stacked matrices; op(A) is [m, k], op(B) is [k, n]. */
  matmul(a: TypedArray, b: TypedArray, out: TypedArray, batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean): void;
  /** out[i, j] = bias[j] + (op(A)·op(B))[i, j]: a dense layer's product and bias in one pass over out. */
  addmm(bias: TypedArray, a: TypedArray, b: TypedArray, out: TypedArray, m: number, n: number, k: number, transA: boolean, transB: boolean): void;
  /** Reorder the axes of `x` into `out`: output axis i is input axis perm[i]. */
  permute(x: TypedArray, shape: Shape, perm: readonly number[], out: TypedArray): void;
  /** out = x[begin[d] + i*step[d]] over outShape; steps may be negative. */
  slice(x: TypedArray, shape: Shape, begin: readonly number[], step: readonly number[], out: TypedArray, outShape: Shape): void;
  /** The adjoint of slice: out[begin + i*step] += src[i]. */
  sliceAdd(src: TypedArray, srcShape: Shape, begin: readonly number[], step: readonly number[], out: TypedArray, outShape: Shape): void;
  /** Copy `x` into the larger `out`, `before[i]` elements in along each axis, filling the rest with `value`. */
  pad(x: TypedArray, shape: Shape, before: readonly number[], value: number, out: TypedArray, outShape: Shape): void;
  /** Join the inputs along `axis` into `out`. */
  concat(xs: readonly TypedArray[], shapes: readonly Shape[], axis: number, out: TypedArray): void;
  /** torch.gather: out[..i..] = x[..index[..i..]..] along axis; index has out's shape. */
  gather(x: TypedArray, shape: Shape, axis: number, index: Int32Array, indexShape: Shape, out: TypedArray): void;
  /** The adjoint of gather: out[..index[..i..]..] += src[..i..]. */
  scatterAdd(out: TypedArray, shape: Shape, axis: number, index: Int32Array, indexShape: Shape, src: TypedArray): void;
  /** Copy the slices of `x` along `axis` named by `index` into `out`. */
  indexSelect(x: TypedArray, shape: Shape, axis: number, index: Int32Array, out: TypedArray): void;
  /** The adjoint of indexSelect: out[.., index[i], ..] += src[.., i, ..]. */
  indexAdd(out: TypedArray, shape: Shape, axis: number, index: Int32Array, src: TypedArray, srcShape: Shape): void;
  /** Convert every element of `x` into `out`'s type (truncating toward zero for integers). */
  cast(x: TypedArray, out: TypedArray): void;
  /**
   * 2-D cross-correlation (the "convolution" of deep learning) plus an
   * optional bias per output channel: out[n, o, oh, ow] = bias[o] +
   * Σ_{c, kh, kw} w[o, c, kh, kw] · x[n, g·Cg + c, ih, iw] with the input cell
   * (ih, iw) that Conv2dGeometry defines. `out` is overwritten.
   */
  conv2d(x: TypedArray, weight: TypedArray, bias: TypedArray | null, out: TypedArray, geom: Conv2dGeometry): void;
  /**
   * The adjoint of conv2d in its input: gradIn (overwritten, [batch,
   * inChannels, inH, inW]) = Σ over output cells of gradOut times the weight
   * tap that read each input cell. Also the forward of a transposed
   * convolution.
   */
  conv2dBackwardInput(gradOut: TypedArray, weight: TypedArray, gradIn: TypedArray, geom: Conv2dGeometry): void;
  /**
   * The adjoint of conv2d in its weight: gradWeight (overwritten, the
   * weight's shape) [o, c, kh, kw] = Σ_{n, oh, ow} gradOut[n, o, oh, ow] ·
   * x[n, g·Cg + c, ih, iw]. The bias gradient is a plain sum and not part of it.
   */
  conv2dBackwardWeight(x: TypedArray, gradOut: TypedArray, gradWeight: TypedArray, geom: Conv2dGeometry): void;
  /**
   * Max pooling; padding cells act as -Infinity and a NaN wins its window.
   * indices[n, c, oh, ow] is the flat index ih·inW + iw of the chosen cell
   * within its own (n, c) input plane (PyTorch's return_indices); on ties the
   * first cell in row-major window order wins.
   */
  maxPool2d(x: TypedArray, out: TypedArray, indices: Int32Array, geom: Pool2dGeometry): void;
  /**
   * The adjoint of maxPool2d: gradIn (overwritten, the input's shape) is zero
   * except gradOut[n, c, oh, ow] added at indices[n, c, oh, ow] within plane
   * (n, c); overlapping windows that chose the same cell add up.
   */
  maxPool2dBackward(gradOut: TypedArray, indices: Int32Array, gradIn: TypedArray, geom: Pool2dGeometry): void;
  /**
   * Average pooling: each output is the sum of the window's in-bounds cells
   * divided as `divisor` says; a window with no in-bounds cell gives 0.
   */
  avgPool2d(x: TypedArray, out: TypedArray, geom: Pool2dGeometry, divisor: AvgPoolDivisor): void;
  /** The adjoint of avgPool2d: gradIn (overwritten) gets gradOut / divisor spread over each window's in-bounds cells. */
  avgPool2dBackward(gradOut: TypedArray, gradIn: TypedArray, geom: Pool2dGeometry, divisor: AvgPoolDivisor): void;
  /**
   * Max unpooling from pooling switches, per plane: out (overwritten,
   * [planes, outPlaneSize]) is zero except out[p, indices[p, j]] = x[p, j]
   * (x is [planes, inPlaneSize]). Repeated indices keep the last write, as
   * PyTorch's CPU kernel does; indices are in [0, outPlaneSize).
   */
  maxUnpool(x: TypedArray, indices: Int32Array, out: TypedArray, planes: number, inPlaneSize: number, outPlaneSize: number): void;
  /**
   * The LSTM cell's gate non-linearities and state update for n rows, gate
   * order i, f, g, o: gates [n, 4·hidden] holds the pre-activations, and with
   * i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o) it writes
   * outC = f·cPrev + i·g and outH = o·tanh(outC) ([n, hidden] each) and the
   * activated gates [i | f | g | o] to outGates [n, 4·hidden] for backward.
   */
  lstmCellForward(gates: TypedArray, cPrev: TypedArray, outC: TypedArray, outH: TypedArray, outGates: TypedArray, n: number, hidden: number): void;
  /**
   * The adjoint of lstmCellForward from its saved activated gates, cPrev and
   * c (its outC), given dh and dc (null: zeros). With tc = tanh(c) and
   * dC = dc + dh·o·(1 - tc²): dcPrev = dC·f and dGates (with respect to the
   * pre-activations) = [dC·g·i(1-i) | dC·cPrev·f(1-f) | dC·i·(1-g²) | dh·tc·o(1-o)].
   * dGates may be gatesAct and dcPrev may be dc (in place).
   */
  lstmCellBackward(
    gatesAct: TypedArray,
    cPrev: TypedArray,
    c: TypedArray,
    dh: TypedArray | null,
    dc: TypedArray | null,
    dGates: TypedArray,
    dcPrev: TypedArray,
    n: number,
    hidden: number,
  ): void;
}

export type KernelName = keyof Kernels;

/** Hyper-parameters of one SGD step (PyTorch's names and rule). */
export interface SgdStepOptions {
  /** Learning rate. */
  readonly lr: number;
  /** Momentum factor (0 for plain SGD). */
  readonly momentum: number;
  /** Fraction of the gradient not added to the momentum buffer. */
  readonly dampening: number;
  /** L2 penalty factor. */
  readonly weightDecay: number;
  /** Use Nesterov momentum. */
  readonly nesterov: boolean;
  /** The momentum buffer is initialised from this step's gradient. */
  readonly firstStep: boolean;
  /** Ascend the objective instead of descending. */
  readonly maximize: boolean;
}

/** Hyper-parameters of one Adam/AdamW step; `step` counts from 1. */
export interface AdamStepOptions {
  /** Learning rate. */
  readonly lr: number;
  /** Decay of the first moment estimate. */
  readonly beta1: number;
  /** Decay of the second moment estimate. */
  readonly beta2: number;
  /** Added to the denominator for numerical stability. */
  readonly eps: number;
  /** L2 penalty factor. */
  readonly weightDecay: number;
  /** The step number, counted from 1 (for bias correction). */
  readonly step: number;
  /** AdamW's weight decay applied to the weights rather than the gradient. */
  readonly decoupled: boolean;
  /** Ascend the objective instead of descending. */
  readonly maximize: boolean;
}

/** What one RMSprop update of a parameter needs (optim/rmsprop.ts's hyper-parameters). */
export interface RmspropStepOptions {
  /** Learning rate. */
  readonly lr: number;
  /** Decay of the running averages. */
  readonly alpha: number;
  /** Added to the denominator. */
  readonly eps: number;
  /** L2 penalty factor. */
  readonly weightDecay: number;
  /** Momentum on the normalized step (0: none). */
  readonly momentum: number;
  /** Ascend the objective instead of descending. */
  readonly maximize: boolean;
}

/** What one Adagrad update of a parameter needs (optim/adagrad.ts's hyper-parameters and the step). */
export interface AdagradStepOptions {
  /** Learning rate before decay. */
  readonly lr: number;
  /** The rate is lr / (1 + (step - 1)·lrDecay). */
  readonly lrDecay: number;
  /** L2 penalty factor. */
  readonly weightDecay: number;
  /** Added to the denominator. */
  readonly eps: number;
  /** Ascend the objective instead of descending. */
  readonly maximize: boolean;
}

/** What one Adadelta update of a parameter needs (optim/adadelta.ts's hyper-parameters). */
export interface AdadeltaStepOptions {
  /** Scale of the step. */
  readonly lr: number;
  /** Decay of the running averages. */
  readonly rho: number;
  /** Added inside both square roots. */
  readonly eps: number;
  /** L2 penalty factor. */
  readonly weightDecay: number;
  /** Ascend the objective instead of descending. */
  readonly maximize: boolean;
}

/**
 * Accelerations of rules whose specification lives above the kernels: the
 * optimizer updates, written once in optim/ beside each optimizer (sgdUpdate in optim/sgd.ts, adamUpdate in optim/adam.ts). A backend may
 * offer them fused (the WebGPU executor has all five; native and wasm sgdStep and adamStep);
 * without one the rule's own TypeScript runs, and the
 * parity tests check each fused kernel against its rule.
 */
export interface FusedKernels {
  /**
   * One in-place SGD update of a parameter (buf: the momentum buffer, null
   * without momentum). Returns false, having changed nothing, when the call is
   * outside what the kernel accelerates; the optimizer then applies its rule.
   */
  sgdStep?(param: FloatArray, grad: FloatArray, buf: FloatArray | null, options: SgdStepOptions): boolean;
  /** One in-place Adam/AdamW update of a parameter and its moment estimates (vMax only with amsgrad); false as for sgdStep. */
  adamStep?(param: FloatArray, grad: FloatArray, m: FloatArray, v: FloatArray, vMax: FloatArray | null, options: AdamStepOptions): boolean;
  /** One in-place RMSprop update (gradAvg only when centered, buf only with momentum); false as for sgdStep. */
  rmspropStep?(
    param: FloatArray,
    grad: FloatArray,
    squareAvg: FloatArray,
    gradAvg: FloatArray | null,
    buf: FloatArray | null,
    options: RmspropStepOptions,
  ): boolean;
  /** One in-place Adagrad update at `step` (from 1) of a parameter and its sum of squared gradients; false as for sgdStep. */
  adagradStep?(param: FloatArray, grad: FloatArray, sum: FloatArray, step: number, options: AdagradStepOptions): boolean;
  /** One in-place Adadelta update of a parameter and its running averages; false as for sgdStep. */
  adadeltaStep?(param: FloatArray, grad: FloatArray, squareAvg: FloatArray, accDelta: FloatArray, options: AdadeltaStepOptions): boolean;
  /**
   * A chain of element-wise kernels in one pass over memory, for a compiled
   * step (src/compile): `code` is the program (kernels/program.ts defines the
   * instructions and the rule it must equal: the same kernels one after
   * another), `inputs` and `outputs` its arrays of `n` float32 elements (an
   * input may be a single value, broadcast). Temporaries never reach memory.
   */
  elementwiseProgram?(code: Int32Array, inputs: readonly Float32Array[], outputs: readonly Float32Array[], n: number): void;
}

/** A backend: a name, the kernels it accelerates, and the fused optimizer steps it offers. */
export interface Backend extends BackendEntry {
  /** The kernels this backend accelerates (the rest fall back to the reference) and its fused optimizer steps. */
  readonly kernels: Partial<Kernels> & FusedKernels;
}

/** The kernels in use: the active backend's, with the reference filling the gaps. */
export function k(): Kernels & FusedKernels {
  return activeKernelTable() as Kernels & FusedKernels;
}
