// Convolution and pooling ops on NCL / NCHW tensors, in PyTorch's layouts and
// with PyTorch's arithmetic (output sizes, ceil mode, padding rules). The 2-D
// primitives do the work (kernels/conv.ts, kernels/pool.ts); 1-D ops run them
// on a height-1 image, and the rest (transposed convolution, unfold,
// adaptive and global pooling) are composites.
//
// "Convolution" here is cross-correlation, as in every deep-learning library:
// out[o, i] = Σ_{c, p} w[o, c, p] · x[c, i·stride + p·dilation - padding].

import { type DType, isFloatDType, promoteTypes } from '../core/dtype.js';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { check } from '../core/validate.js';
import { concat } from '../kernels/concat.js';
import type { Conv2dGeometry, Pool2dGeometry } from '../kernels/contract.js';
import { conv2dBackwardInput, conv2dPrimitive } from '../kernels/conv.js';
import { matmul } from '../kernels/matmul.js';
import { padConstant } from '../kernels/pad.js';
import { avgPool2dPrimitive, maxPool2dPrimitive, maxUnpoolPrimitive } from '../kernels/pool.js';
import { max } from '../kernels/reduce.js';
import { reshape } from '../kernels/reshape.js';
import { stridedSlice } from '../kernels/slice.js';
import { assertTensor } from '../kernels/util.js';
import { tensor } from './creation.js';
import { mean } from './reductions.js';
import { stack } from './shape.js';

/** A size per spatial axis, or one number for all of them. */
export type SpatialSize = number | readonly number[];

/** Convolution padding: zeros on both sides of each spatial axis, none ('valid'), or enough to keep the size at stride 1 ('same'). */
export type ConvPadding = SpatialSize | 'valid' | 'same';

/** Options of conv1d() and conv2d(). */
export interface ConvOptions {
  /** Step between output positions (default 1). */
  stride?: SpatialSize;
  /** Zero padding on both sides, 'valid' (0) or 'same' (stride 1 only; an odd total puts the extra cell at the end, as PyTorch). Default 0. */
  padding?: ConvPadding;
  /** Spacing between kernel taps (default 1). */
  dilation?: SpatialSize;
  /** Split channels into this many independent groups (default 1): output block g sees input block g only. */
  groups?: number;
}

/** Options of convTranspose1d() and convTranspose2d(). */
export interface ConvTransposeOptions {
  /** Step between windows (default 1; for pooling, the kernel size). */
  stride?: SpatialSize;
  /** Removes this many cells from each side of the output (default 0): the padding of the convolution being transposed. */
  padding?: SpatialSize;
  /** Cells added at the end of each output axis (default 0), to pick among the input sizes a strided convolution maps to one size; smaller than stride or dilation. */
  outputPadding?: SpatialSize;
  /** Split channels into this many independent groups (default 1). */
  groups?: number;
  /** Spacing between kernel elements (default 1). */
  dilation?: SpatialSize;
  /** The output's spatial size (or full shape); sets outputPadding. */
  outputSize?: readonly number[];
}

/** Window options every pooling op takes. */
export interface PoolOptions {
  /** Window size: one number for every spatial axis, or one per axis. */
  kernelSize: SpatialSize;
  /** Default: the kernel size (windows that tile without overlap). */
  stride?: SpatialSize | null;
  /** Implicit padding on both sides (at most half the kernel): -Infinity for max pooling, zeros for average pooling. */
  padding?: SpatialSize;
  /**
   * Round the output size up: the last window may run past the input, as long
   * as it starts inside the input or the left padding (PyTorch's rule).
   */
  ceilMode?: boolean;
}

export interface MaxPoolOptions extends PoolOptions {
  /** Spacing between window cells (default 1). */
  dilation?: SpatialSize;
}

export interface AvgPoolOptions extends PoolOptions {
  /** Count padding cells in the divisor (default true, as PyTorch). */
  countIncludePad?: boolean;
  /** Divide every window's sum by this instead. */
  divisorOverride?: number | null;
}

/** Options of maxUnpool1d() and maxUnpool2d(). */
export interface MaxUnpoolOptions {
  /** Window size: one number for every spatial axis, or one per axis. */
  kernelSize: SpatialSize;
  /** Step between windows (default 1; for pooling, the kernel size). */
  stride?: SpatialSize | null;
  /** Zeros added on both sides of each spatial axis (default 0). */
  padding?: SpatialSize;
  /** The spatial size (or full shape) of the output; default (in - 1)·stride - 2·padding + kernel. */
  outputSize?: readonly number[] | null;
}

/** Options of unfold() and fold(). */
export interface UnfoldOptions {
  /** Window size: one number for every spatial axis, or one per axis. */
  kernelSize: SpatialSize;
  /** Spacing between kernel elements (default 1). */
  dilation?: SpatialSize;
  /** Zeros added on both sides of each spatial axis (default 0). */
  padding?: SpatialSize;
  /** Step between windows (default 1; for pooling, the kernel size). */
  stride?: SpatialSize;
}

/** Adaptive pooling target per spatial axis; null keeps the input's size. */
export type AdaptiveSize = number | readonly (number | null)[];

// ---- argument checking ----

/** 'length' for 1-D ops; 'height' or 'width' for 2-D ones. */
function axisName(axis: number, n: number): string {
  return n === 1 ? 'length' : axis === 0 ? 'height' : 'width';
}

function axisNames(n: number): string {
  return n === 1 ? 'L' : 'H, W';
}

/** One integer >= min per spatial axis, from a number or an array of n numbers. */
function sizes(who: string, name: string, value: unknown, n: number, min: number): number[] {
  const list = typeof value === 'number' ? new Array<number>(n).fill(value) : value;
  if (!Array.isArray(list) || list.length !== n || list.some((v) => typeof v !== 'number' || !Number.isInteger(v) || v < min)) {
    throw new ValueError(`${who}: ${name} must be an integer >= ${min}${n > 1 ? ` or ${n} of them` : ''}, got ${JSON.stringify(value)}`);
  }
  return list as number[];
}

/**
 * The one float dtype of the operands. Integer and bool operands are refused,
 * as by matmul: a bare op never guesses a dtype (layers convert their input).
 */
function floatDType(who: string, ...xs: (Tensor | null)[]): DType {
  let d: DType | null = null;
  for (const x of xs) {
    if (x === null) continue;
    if (!isFloatDType(x.dtype)) {
      throw new DTypeError(`${who}: operands must be float32 or float64, got ${x.dtype} ${fmtShape(x.shape)}; cast integer data with .float()`);
    }
    d = d === null ? x.dtype : promoteTypes(d, x.dtype);
  }
  return d ?? 'float32';
}

function castTo(x: Tensor, dtype: DType): Tensor {
  return x.dtype === dtype ? x : x.cast(dtype);
}

/** Accept [N, C, ...spatial] or an unbatched [C, ...spatial]; returns the batched view. */
function batched(who: string, x: Tensor, n: number): [Tensor, boolean] {
  assertTensor(who, 'input', x);
  if (x.ndim === n + 2) return [x, false];
  if (x.ndim === n + 1) return [reshape(x, [1, ...x.shape]), true];
  throw new ShapeError(`${who}: expected input of shape [N, C, ${axisNames(n)}] or [C, ${axisNames(n)}], got ${fmtShape(x.shape)}`);
}

function unbatch(y: Tensor, unbatched: boolean): Tensor {
  return unbatched ? reshape(y, y.shape.slice(1)) : y;
}

/** A 1-D spatial list lifted to 2-D as a height-1 image. */
function lift(values: readonly number[], fill: number): [number, number] {
  return values.length === 1 ? [fill, values[0]] : [values[0], values[1]];
}

function to4d(x: Tensor): Tensor {
  return x.ndim === 4 ? x : reshape(x, [x.shape[0], x.shape[1], 1, x.shape[2]]);
}

/** floor((in + 2·pad - dilation·(kernel - 1) - 1) / stride) + 1: the output length of a convolution. */
export function convOutputSize(inSize: number, kernel: number, stride = 1, padding = 0, dilation = 1): number {
  return Math.floor((inSize + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1;
}

/** PyTorch's pooling output length, with ceil mode's rule that the last window starts inside the input or the left padding. */
export function poolOutputSize(inSize: number, kernel: number, stride: number, padding: number, dilation: number, ceilMode: boolean): number {
  let out = Math.floor((inSize + 2 * padding - dilation * (kernel - 1) - 1 + (ceilMode ? stride - 1 : 0)) / stride) + 1;
  if (ceilMode && (out - 1) * stride >= inSize + padding) out--;
  return out;
}

// ---- convolution ----

/** @internal conv1d/conv2d with errors prefixed by `who` (a layer's label). */
export function convNd(who: string, input: Tensor, weight: Tensor, bias: Tensor | null, options: ConvOptions, n: number): Tensor {
  const [x, unbatched] = batched(who, input, n);
  assertTensor(who, 'weight', weight);
  if (weight.ndim !== n + 2) throw new ShapeError(`${who}: expected weight of shape [O, C/groups, ${n === 1 ? 'K' : 'KH, KW'}], got ${fmtShape(weight.shape)}`);
  const groups = check(who).integer('groups', options.groups ?? 1);
  const channels = x.shape[1];
  const outChannels = weight.shape[0];
  if (channels % groups !== 0 || outChannels % groups !== 0) {
    throw new ValueError(`${who}: groups ${groups} must divide the input channels (${channels}) and the output channels (${outChannels})`);
  }
  if (weight.shape[1] * groups !== channels) {
    throw new ShapeError(
      `${who}: input ${fmtShape(input.shape)} has ${channels} channels, but weight ${fmtShape(weight.shape)} with groups ${groups} expects ${weight.shape[1] * groups}`,
    );
  }
  if (bias !== null && bias !== undefined) {
    assertTensor(who, 'bias', bias);
    if (bias.ndim !== 1 || bias.shape[0] !== outChannels) throw new ShapeError(`${who}: expected bias of shape [${outChannels}], got ${fmtShape(bias.shape)}`);
  }
  const b = bias ?? null;
  const kernel = weight.shape.slice(2);
  const inSize = x.shape.slice(2);
  const stride = sizes(who, 'stride', options.stride ?? 1, n, 1);
  const dilation = sizes(who, 'dilation', options.dilation ?? 1, n, 1);
  const padOption = options.padding ?? 0;
  let padBefore: number[];
  let outSize: number[];
  if (padOption === 'same') {
    if (stride.some((s) => s !== 1)) throw new ValueError(`${who}: padding 'same' needs stride 1, got stride ${JSON.stringify(options.stride)}`);
    padBefore = kernel.map((kk, i) => Math.floor((dilation[i] * (kk - 1)) / 2));
    outSize = inSize;
  } else {
    padBefore = padOption === 'valid' ? new Array<number>(n).fill(0) : sizes(who, 'padding', padOption, n, 0);
    outSize = inSize.map((s, i) => convOutputSize(s, kernel[i], stride[i], padBefore[i], dilation[i]));
    if (outSize.some((s) => s < 1)) {
      throw new ShapeError(
        `${who}: input ${fmtShape(input.shape)} padded by ${fmtShape(padBefore)} is smaller than the kernel ${fmtShape(kernel)} dilated by ${fmtShape(dilation)}`,
      );
    }
  }
  const dtype = floatDType(who, x, weight, b);
  const [inH, inW] = lift(inSize, 1);
  const [kernelH, kernelW] = lift(kernel, 1);
  const [strideH, strideW] = lift(stride, 1);
  const [padH, padW] = lift(padBefore, 0);
  const [dilationH, dilationW] = lift(dilation, 1);
  const [outH, outW] = lift(outSize, 1);
  const geom: Conv2dGeometry = {
    batch: x.shape[0],
    inChannels: channels,
    inH,
    inW,
    outChannels,
    kernelH,
    kernelW,
    strideH,
    strideW,
    padH,
    padW,
    dilationH,
    dilationW,
    groups,
    outH,
    outW,
  };
  const y = conv2dPrimitive(to4d(castTo(x, dtype)), to4d(castTo(weight, dtype)), b === null ? null : castTo(b, dtype), geom);
  return unbatch(reshape(y, [x.shape[0], outChannels, ...outSize]), unbatched);
}

/**
 * 2-D convolution (cross-correlation) of input [N, C, H, W] (or [C, H, W])
 * with weight [O, C/groups, KH, KW] and an optional bias [O]; the output is
 * [N, O, outH, outW] with outH = floor((H + 2·padding - dilation·(KH - 1) - 1) / stride) + 1.
 */
export function conv2d(input: Tensor, weight: Tensor, bias: Tensor | null = null, options: ConvOptions = {}): Tensor {
  return convNd('conv2d', input, weight, bias, options, 2);
}

/** 1-D convolution (cross-correlation) of input [N, C, L] (or [C, L]) with weight [O, C/groups, K] and an optional bias [O]. */
export function conv1d(input: Tensor, weight: Tensor, bias: Tensor | null = null, options: ConvOptions = {}): Tensor {
  return convNd('conv1d', input, weight, bias, options, 1);
}

/** @internal convTranspose1d/2d with errors prefixed by `who`. */
export function convTransposeNd(who: string, input: Tensor, weight: Tensor, bias: Tensor | null, options: ConvTransposeOptions, n: number): Tensor {
  const [x, unbatched] = batched(who, input, n);
  assertTensor(who, 'weight', weight);
  if (weight.ndim !== n + 2)
    throw new ShapeError(`${who}: expected weight of shape [C_in, C_out/groups, ${n === 1 ? 'K' : 'KH, KW'}], got ${fmtShape(weight.shape)}`);
  const groups = check(who).integer('groups', options.groups ?? 1);
  const channels = x.shape[1];
  if (weight.shape[0] !== channels) {
    throw new ShapeError(`${who}: input ${fmtShape(input.shape)} has ${channels} channels, but weight ${fmtShape(weight.shape)} expects ${weight.shape[0]}`);
  }
  if (channels % groups !== 0) throw new ValueError(`${who}: groups ${groups} must divide the input channels (${channels})`);
  const outChannels = weight.shape[1] * groups;
  if (bias !== null && bias !== undefined) {
    assertTensor(who, 'bias', bias);
    if (bias.ndim !== 1 || bias.shape[0] !== outChannels) throw new ShapeError(`${who}: expected bias of shape [${outChannels}], got ${fmtShape(bias.shape)}`);
  }
  const b = bias ?? null;
  const kernel = weight.shape.slice(2);
  const inSize = x.shape.slice(2);
  const stride = sizes(who, 'stride', options.stride ?? 1, n, 1);
  const padding = sizes(who, 'padding', options.padding ?? 0, n, 0);
  const dilation = sizes(who, 'dilation', options.dilation ?? 1, n, 1);
  const minimal = inSize.map((s, i) => (s - 1) * stride[i] - 2 * padding[i] + dilation[i] * (kernel[i] - 1) + 1);
  let outputPadding: number[];
  if (options.outputSize !== undefined && options.outputSize !== null) {
    const wanted = options.outputSize.slice(-n);
    if (wanted.length !== n) throw new ValueError(`${who}: outputSize must give ${n} spatial sizes, got ${JSON.stringify(options.outputSize)}`);
    outputPadding = wanted.map((s, i) => s - minimal[i]);
  } else {
    outputPadding = sizes(who, 'outputPadding', options.outputPadding ?? 0, n, 0);
  }
  outputPadding.forEach((p, i) => {
    const limit = Math.max(stride[i], dilation[i]);
    if (!Number.isInteger(p) || p < 0 || p >= limit) {
      throw new ValueError(
        `${who}: output padding along the ${axisName(i, n)} must be in [0, ${limit}) (smaller than stride or dilation), got ${p}` +
          (options.outputSize
            ? ` for outputSize ${JSON.stringify(options.outputSize)}; sizes from ${minimal[i]} to ${minimal[i] + limit - 1} are possible`
            : ''),
      );
    }
  });
  const outSize = minimal.map((s, i) => s + outputPadding[i]);
  if (outSize.some((s) => s < 1)) {
    throw new ShapeError(`${who}: input ${fmtShape(input.shape)} with padding ${fmtShape(padding)} gives an empty output ${fmtShape(outSize)}`);
  }
  const dtype = floatDType(who, x, weight, b);
  // The transposed convolution is the input-gradient of the convolution that
  // maps an output-sized image back to x's size with the same weight.
  const [inH, inW] = lift(outSize, 1);
  const [kernelH, kernelW] = lift(kernel, 1);
  const [strideH, strideW] = lift(stride, 1);
  const [padH, padW] = lift(padding, 0);
  const [dilationH, dilationW] = lift(dilation, 1);
  const [outH, outW] = lift(inSize, 1);
  const geom: Conv2dGeometry = {
    batch: x.shape[0],
    inChannels: outChannels,
    inH,
    inW,
    outChannels: channels,
    kernelH,
    kernelW,
    strideH,
    strideW,
    padH,
    padW,
    dilationH,
    dilationW,
    groups,
    outH,
    outW,
  };
  let y = conv2dBackwardInput(to4d(castTo(x, dtype)), to4d(castTo(weight, dtype)), geom);
  y = reshape(y, [x.shape[0], outChannels, ...outSize]);
  if (b !== null) y = y.add(reshape(castTo(b, dtype), [outChannels, ...new Array<number>(n).fill(1)]));
  return unbatch(y, unbatched);
}

/**
 * Transposed 2-D convolution ("deconvolution"): the adjoint of conv2d with
 * the same weight, mapping [N, C_in, H, W] to [N, C_out, outH, outW] with
 * outH = (H - 1)·stride - 2·padding + dilation·(KH - 1) + outputPadding + 1.
 * Weight [C_in, C_out/groups, KH, KW], bias [C_out].
 */
export function convTranspose2d(input: Tensor, weight: Tensor, bias: Tensor | null = null, options: ConvTransposeOptions = {}): Tensor {
  return convTransposeNd('convTranspose2d', input, weight, bias, options, 2);
}

/** Transposed 1-D convolution: [N, C_in, L] to [N, C_out, (L - 1)·stride - 2·padding + dilation·(K - 1) + outputPadding + 1]. */
export function convTranspose1d(input: Tensor, weight: Tensor, bias: Tensor | null = null, options: ConvTransposeOptions = {}): Tensor {
  return convTransposeNd('convTranspose1d', input, weight, bias, options, 1);
}

// ---- pooling ----

interface PoolSetup {
  x: Tensor;
  unbatched: boolean;
  geom: Pool2dGeometry;
  outSize: number[];
}

function poolSetup(who: string, input: Tensor, options: MaxPoolOptions, n: number, allowDilation: boolean): PoolSetup {
  const [x, unbatched] = batched(who, input, n);
  if (options === null || typeof options !== 'object') throw new ValueError(`${who}: expected options with a kernelSize`);
  const kernel = sizes(who, 'kernelSize', options.kernelSize, n, 1);
  const stride = options.stride === undefined || options.stride === null ? kernel : sizes(who, 'stride', options.stride, n, 1);
  const padding = sizes(who, 'padding', options.padding ?? 0, n, 0);
  const dilation = allowDilation ? sizes(who, 'dilation', options.dilation ?? 1, n, 1) : new Array<number>(n).fill(1);
  const ceilMode = options.ceilMode ?? false;
  padding.forEach((p, i) => {
    if (p > Math.floor(kernel[i] / 2)) throw new ValueError(`${who}: padding ${p} must be at most half the kernel size ${kernel[i]}`);
  });
  const inSize = x.shape.slice(2);
  const outSize = inSize.map((s, i) => poolOutputSize(s, kernel[i], stride[i], padding[i], dilation[i], ceilMode));
  if (outSize.some((s) => s < 1)) {
    throw new ShapeError(
      `${who}: input ${fmtShape(input.shape)} padded by ${fmtShape(padding)} is smaller than the window ${fmtShape(kernel)}${allowDilation ? ` dilated by ${fmtShape(dilation)}` : ''}`,
    );
  }
  // A dilated window that starts in the padding can step over the whole
  // input; its maximum would be -Infinity from no cell at all.
  for (let a = 0; a < n; a++) {
    for (let i = 0; i < outSize[a]; i++) {
      const start = i * stride[a] - padding[a];
      const first = start >= 0 ? start : start + Math.ceil(-start / dilation[a]) * dilation[a];
      if (first >= inSize[a] || first > start + dilation[a] * (kernel[a] - 1)) {
        throw new ValueError(
          `${who}: window ${i} along the ${axisName(a, n)} of input ${fmtShape(input.shape)} covers only padding (kernel ${kernel[a]}, padding ${padding[a]}, dilation ${dilation[a]})`,
        );
      }
    }
  }
  const [inH, inW] = lift(inSize, 1);
  const [kernelH, kernelW] = lift(kernel, 1);
  const [strideH, strideW] = lift(stride, 1);
  const [padH, padW] = lift(padding, 0);
  const [dilationH, dilationW] = lift(dilation, 1);
  const [outH, outW] = lift(outSize, 1);
  const dtype = floatDType(who, x);
  const geom = { batch: x.shape[0], channels: x.shape[1], inH, inW, kernelH, kernelW, strideH, strideW, padH, padW, dilationH, dilationW, outH, outW };
  return { x: to4d(castTo(x, dtype)), unbatched, geom, outSize };
}

/** @internal max pooling with switches, errors prefixed by `who`. */
export function maxPoolNd(who: string, input: Tensor, options: MaxPoolOptions, n: number): [Tensor, Tensor] {
  const { x, unbatched, geom, outSize } = poolSetup(who, input, options, n, true);
  const [y, indices] = maxPool2dPrimitive(x, geom);
  const shape = [geom.batch, geom.channels, ...outSize];
  return [unbatch(reshape(y, shape), unbatched), unbatch(reshape(indices, shape), unbatched)];
}

/** @internal average pooling, errors prefixed by `who`. */
export function avgPoolNd(who: string, input: Tensor, options: AvgPoolOptions, n: number): Tensor {
  const { x, unbatched, geom, outSize } = poolSetup(who, input, options, n, false);
  const override = options.divisorOverride ?? null;
  if (override !== null && (!Number.isInteger(override) || override < 1))
    throw new ValueError(`${who}: divisorOverride must be a positive integer, got ${override}`);
  const y = avgPool2dPrimitive(x, geom, { countIncludePad: options.countIncludePad ?? true, divisorOverride: override ?? 0 });
  return unbatch(reshape(y, [geom.batch, geom.channels, ...outSize]), unbatched);
}

/** Max pooling over windows of [N, C, H, W] (or [C, H, W]); padding cells count as -Infinity. */
export function maxPool2d(input: Tensor, options: MaxPoolOptions): Tensor {
  return maxPoolNd('maxPool2d', input, options, 2)[0];
}

/**
 * Max pooling that also returns the switches: an int32 tensor of the output's
 * shape holding, for each output, the flat index h·W + w of the chosen cell
 * within its own (n, c) input plane (PyTorch's return_indices).
 */
export function maxPool2dWithIndices(input: Tensor, options: MaxPoolOptions): [Tensor, Tensor] {
  return maxPoolNd('maxPool2d', input, options, 2);
}

/** Max pooling over windows of [N, C, L] (or [C, L]). */
export function maxPool1d(input: Tensor, options: MaxPoolOptions): Tensor {
  return maxPoolNd('maxPool1d', input, options, 1)[0];
}

/** 1-D max pooling with switches (indices along L). */
export function maxPool1dWithIndices(input: Tensor, options: MaxPoolOptions): [Tensor, Tensor] {
  return maxPoolNd('maxPool1d', input, options, 1);
}

/** Average pooling over windows of [N, C, H, W] (or [C, H, W]). */
export function avgPool2d(input: Tensor, options: AvgPoolOptions): Tensor {
  return avgPoolNd('avgPool2d', input, options, 2);
}

/** Average pooling over windows of [N, C, L] (or [C, L]). */
export function avgPool1d(input: Tensor, options: AvgPoolOptions): Tensor {
  return avgPoolNd('avgPool1d', input, options, 1);
}

/** @internal max unpooling, errors prefixed by `who`. */
export function maxUnpoolNd(who: string, input: Tensor, indices: Tensor, options: MaxUnpoolOptions, n: number): Tensor {
  const [x, unbatched] = batched(who, input, n);
  assertTensor(who, 'indices', indices);
  if (indices.dtype !== 'int32') throw new DTypeError(`${who}: indices must be an int32 tensor (the switches of max pooling), got ${indices.dtype}`);
  if (indices.ndim !== input.ndim || indices.shape.some((d, i) => d !== input.shape[i])) {
    throw new ShapeError(`${who}: indices ${fmtShape(indices.shape)} must have the input's shape ${fmtShape(input.shape)}`);
  }
  if (options === null || typeof options !== 'object') throw new ValueError(`${who}: expected options with a kernelSize`);
  const kernel = sizes(who, 'kernelSize', options.kernelSize, n, 1);
  const stride = options.stride === undefined || options.stride === null ? kernel : sizes(who, 'stride', options.stride, n, 1);
  const padding = sizes(who, 'padding', options.padding ?? 0, n, 0);
  const inSize = x.shape.slice(2);
  const defaults = inSize.map((s, i) => (s - 1) * stride[i] - 2 * padding[i] + kernel[i]);
  let outSize = defaults;
  if (options.outputSize !== undefined && options.outputSize !== null) {
    const wanted = options.outputSize.slice(-n);
    if (wanted.length !== n || (options.outputSize.length !== n && options.outputSize.length !== n + 2)) {
      throw new ValueError(`${who}: outputSize must give ${n} spatial sizes (or a full shape of ${n + 2}), got ${JSON.stringify(options.outputSize)}`);
    }
    wanted.forEach((s, i) => {
      if (!Number.isInteger(s) || s <= defaults[i] - stride[i] || s >= defaults[i] + stride[i]) {
        throw new ValueError(
          `${who}: outputSize ${JSON.stringify(options.outputSize)} is invalid: its ${axisName(i, n)} must be strictly between ${defaults[i] - stride[i]} and ${defaults[i] + stride[i]}`,
        );
      }
    });
    outSize = wanted;
  }
  const plane = outSize.reduce((p, d) => p * d, 1);
  const idx = indices.data as Int32Array;
  for (let i = 0; i < idx.length; i++) {
    if (idx[i] < 0 || idx[i] >= plane) {
      throw new ValueError(`${who}: switch ${idx[i]} (element ${i} of indices) is outside an output plane of ${fmtShape(outSize)} (${plane} cells)`);
    }
  }
  const dtype = floatDType(who, x);
  const idxBatched = unbatched ? reshape(indices, [1, ...indices.shape]) : indices;
  const y = maxUnpoolPrimitive(castTo(x, dtype), idxBatched, [x.shape[0], x.shape[1], ...outSize]);
  return unbatch(y, unbatched);
}

/**
 * Max unpooling ("deconvolution" with switches): zeros of the pooled input's
 * size with each value of `input` put back where `indices` (from
 * maxPool2dWithIndices) says its maximum came from.
 */
export function maxUnpool2d(input: Tensor, indices: Tensor, options: MaxUnpoolOptions): Tensor {
  return maxUnpoolNd('maxUnpool2d', input, indices, options, 2);
}

/** Max unpooling of [N, C, L] from maxPool1dWithIndices switches. */
export function maxUnpool1d(input: Tensor, indices: Tensor, options: MaxUnpoolOptions): Tensor {
  return maxUnpoolNd('maxUnpool1d', input, indices, options, 1);
}

// ---- adaptive and global pooling ----

/** Window [start, end) of adaptive pooling output cell i: floor(i·in/out) to ceil((i+1)·in/out), as PyTorch. */
function adaptiveWindow(i: number, inSize: number, outSize: number): [number, number] {
  return [Math.floor((i * inSize) / outSize), Math.ceil(((i + 1) * inSize) / outSize)];
}

function adaptiveSizes(who: string, x: Tensor, outputSize: AdaptiveSize, n: number): number[] {
  const list = typeof outputSize === 'number' ? new Array<number | null>(n).fill(outputSize) : outputSize;
  if (!Array.isArray(list) || list.length !== n)
    throw new ValueError(`${who}: outputSize must be a number or ${n} of them (null keeps a size), got ${JSON.stringify(outputSize)}`);
  return list.map((s, i) => {
    const size = s === null ? x.shape[2 + i] : s;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 1)
      throw new ValueError(`${who}: output sizes must be positive integers, got ${JSON.stringify(outputSize)}`);
    return size;
  });
}

/** [out, in] matrix whose row i averages adaptive window i. */
function averagingMatrix(inSize: number, outSize: number, dtype: DType): Tensor {
  const m = tensor(new Array<number>(outSize * inSize).fill(0), { dtype, shape: [outSize, inSize] });
  for (let i = 0; i < outSize; i++) {
    const [s, e] = adaptiveWindow(i, inSize, outSize);
    for (let j = s; j < e; j++) m.data[i * inSize + j] = 1 / (e - s);
  }
  return m;
}

/** @internal adaptive average pooling, errors prefixed by `who`. */
export function adaptiveAvgPoolNd(who: string, input: Tensor, outputSize: AdaptiveSize, n: number): Tensor {
  const [x, unbatched] = batched(who, input, n);
  const outSize = adaptiveSizes(who, x, outputSize, n);
  const inSize = x.shape.slice(2);
  if (inSize.some((s) => s < 1)) throw new ShapeError(`${who}: input ${fmtShape(input.shape)} has an empty spatial axis`);
  let y: Tensor;
  if (inSize.every((s, i) => s % outSize[i] === 0)) {
    // Equal windows that tile the input: plain average pooling.
    const kernel = inSize.map((s, i) => s / outSize[i]);
    y = avgPoolNd(who, x, { kernelSize: kernel }, n);
  } else {
    // Windows of unequal sizes: average along each axis with a matrix product, x·Awᵀ then Ah·(…).
    const dtype = floatDType(who, x);
    y = matmul(castTo(x, dtype), averagingMatrix(inSize[n - 1], outSize[n - 1], dtype).transpose());
    if (n === 2) y = matmul(averagingMatrix(inSize[0], outSize[0], dtype), y);
  }
  return unbatch(y, unbatched);
}

/** @internal adaptive max pooling, errors prefixed by `who`. */
export function adaptiveMaxPoolNd(who: string, input: Tensor, outputSize: AdaptiveSize, n: number): Tensor {
  const [x, unbatched] = batched(who, input, n);
  const outSize = adaptiveSizes(who, x, outputSize, n);
  const inSize = x.shape.slice(2);
  if (inSize.some((s) => s < 1)) throw new ShapeError(`${who}: input ${fmtShape(input.shape)} has an empty spatial axis`);
  let y: Tensor;
  if (inSize.every((s, i) => s % outSize[i] === 0)) {
    y = maxPoolNd(who, x, { kernelSize: inSize.map((s, i) => s / outSize[i]) }, n)[0];
  } else {
    // A window's maximum is the maximum over its rows of the maxima over its
    // columns, so one axis at a time needs only out-size slices per axis.
    y = castTo(x, floatDType(who, x));
    for (let a = 0; a < n; a++) {
      const axis = 2 + a;
      const parts: Tensor[] = [];
      for (let i = 0; i < outSize[a]; i++) {
        const [s, e] = adaptiveWindow(i, inSize[a], outSize[a]);
        parts.push(max(y.narrow(axis, s, e - s), axis, true));
      }
      y = concat(parts, axis);
    }
  }
  return unbatch(y, unbatched);
}

/** Adaptive average pooling of [N, C, H, W] to [N, C, outH, outW] (windows floor(i·H/outH) to ceil((i+1)·H/outH)). */
export function adaptiveAvgPool2d(input: Tensor, outputSize: AdaptiveSize): Tensor {
  return adaptiveAvgPoolNd('adaptiveAvgPool2d', input, outputSize, 2);
}

/** Average pooling of [N, C, L] to a fixed output length, windows chosen as PyTorch does. */
export function adaptiveAvgPool1d(input: Tensor, outputSize: AdaptiveSize): Tensor {
  return adaptiveAvgPoolNd('adaptiveAvgPool1d', input, outputSize, 1);
}

/** Adaptive max pooling of [N, C, H, W] to [N, C, outH, outW]. */
export function adaptiveMaxPool2d(input: Tensor, outputSize: AdaptiveSize): Tensor {
  return adaptiveMaxPoolNd('adaptiveMaxPool2d', input, outputSize, 2);
}

/** Max pooling of [N, C, L] to a fixed output length, windows chosen as PyTorch does. */
export function adaptiveMaxPool1d(input: Tensor, outputSize: AdaptiveSize): Tensor {
  return adaptiveMaxPoolNd('adaptiveMaxPool1d', input, outputSize, 1);
}

function globalPool(who: string, input: Tensor, n: number, keepDims: boolean, reduce: (x: Tensor, axes: number[]) => Tensor): Tensor {
  const [x, unbatched] = batched(who, input, n);
  if (x.shape.slice(2).some((s) => s < 1)) throw new ShapeError(`${who}: input ${fmtShape(input.shape)} has an empty spatial axis`);
  const axes = n === 1 ? [2] : [2, 3];
  const y = reduce(castTo(x, floatDType(who, x)), axes);
  return unbatch(keepDims ? reshape(y, [...y.shape, ...axes.map(() => 1)]) : y, unbatched);
}

/** Mean over all of H and W: [N, C, H, W] to [N, C] ([N, C, 1, 1] with keepDims). */
export function globalAvgPool2d(input: Tensor, keepDims = false): Tensor {
  return globalPool('globalAvgPool2d', input, 2, keepDims, (x, axes) => mean(x, axes));
}

/** Maximum over all of H and W: [N, C, H, W] to [N, C] ([N, C, 1, 1] with keepDims). */
export function globalMaxPool2d(input: Tensor, keepDims = false): Tensor {
  return globalPool('globalMaxPool2d', input, 2, keepDims, (x, axes) => max(x, axes));
}

/** Mean over L: [N, C, L] to [N, C] ([N, C, 1] with keepDims). */
export function globalAvgPool1d(input: Tensor, keepDims = false): Tensor {
  return globalPool('globalAvgPool1d', input, 1, keepDims, (x, axes) => mean(x, axes));
}

/** Maximum over L: [N, C, L] to [N, C] ([N, C, 1] with keepDims). */
export function globalMaxPool1d(input: Tensor, keepDims = false): Tensor {
  return globalPool('globalMaxPool1d', input, 1, keepDims, (x, axes) => max(x, axes));
}

// ---- unfold ----

/** @internal unfold with errors prefixed by `who`; also returns the number of window positions per axis. */
export function unfoldNd(who: string, input: Tensor, options: UnfoldOptions, n: number): [Tensor, number[]] {
  const [x, unbatched] = batched(who, input, n);
  if (options === null || typeof options !== 'object') throw new ValueError(`${who}: expected options with a kernelSize`);
  const kernel = sizes(who, 'kernelSize', options.kernelSize, n, 1);
  const stride = sizes(who, 'stride', options.stride ?? 1, n, 1);
  const padding = sizes(who, 'padding', options.padding ?? 0, n, 0);
  const dilation = sizes(who, 'dilation', options.dilation ?? 1, n, 1);
  const inSize = x.shape.slice(2);
  const outSize = inSize.map((s, i) => convOutputSize(s, kernel[i], stride[i], padding[i], dilation[i]));
  if (outSize.some((s) => s < 1)) {
    throw new ShapeError(
      `${who}: input ${fmtShape(input.shape)} padded by ${fmtShape(padding)} is smaller than the kernel ${fmtShape(kernel)} dilated by ${fmtShape(dilation)}`,
    );
  }
  const [batch, channels] = x.shape;
  const padded = padding.some((p) => p > 0) ? padConstant(x, [0, 0, ...padding], [0, 0, ...padding], 0) : x;
  // One strided slice per kernel tap, stacked after the channel axis, gives
  // the (c, kh, kw) row order of PyTorch's unfold; the gradient is their adjoint.
  const taps: Tensor[] = [];
  const tapCount = kernel.reduce((p, d) => p * d, 1);
  for (let t = 0; t < tapCount; t++) {
    const offset = n === 1 ? [t] : [Math.floor(t / kernel[1]), t % kernel[1]];
    taps.push(stridedSlice(padded, [0, 0, ...offset.map((o, i) => o * dilation[i])], [1, 1, ...stride], [batch, channels, ...outSize]));
  }
  const positions = outSize.reduce((p, d) => p * d, 1);
  const cols = reshape(stack(taps, 2), [batch, channels * tapCount, positions]);
  return [unbatch(cols, unbatched), outSize];
}

/**
 * Sliding local blocks (im2col), as torch.nn.functional.unfold: [N, C, H, W]
 * to [N, C·KH·KW, L] where L counts window positions in row-major order and
 * row (c, kh, kw) holds that tap of every window. conv2d(x, w) equals
 * w.reshape([O, -1]) · unfold(x) reshaped to [N, O, outH, outW].
 */
export function unfold(input: Tensor, options: UnfoldOptions): Tensor {
  return unfoldNd('unfold', input, options, 2)[0];
}
