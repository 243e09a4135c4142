// Every tensor operation, primitive or composite, in one namespace: the one
// door to kernels/ for the floors above. Tensor's methods (src/methods/)
// delegate here; the public API re-exports it.

// The reference backend registers itself on import; importing it here makes
// sure every op has kernels to run on, whichever entry loaded ops/.
import '../backends/ref/index.js';

export { backward, gradients } from '../autograd/backward.js';
export type { Axes } from '../core/tensor.js';
export { add, atan2, binaryOp, div, maximum, minimum, mul, pow, sub } from '../kernels/binary.js';
export { cast } from '../kernels/cast.js';
export { eq, ge, gt, isfinite, isinf, isnan, le, logicalAnd, logicalNot, logicalOr, logicalXor, lt, ne } from '../kernels/compare.js';
export { concat } from '../kernels/concat.js';
export { gather, indexAdd, indexSelect, scatterAdd } from '../kernels/gather.js';
export { linear } from '../kernels/linear.js';
export { matmul } from '../kernels/matmul.js';
export { permute } from '../kernels/permute.js';
export { argmax, argmin, max, min, prod, sum } from '../kernels/reduce.js';
export { reshape } from '../kernels/reshape.js';
export {
  abs,
  ceil,
  cos,
  erf,
  exp,
  expm1,
  floor,
  log,
  log1p,
  neg,
  reciprocal,
  relu,
  round,
  rsqrt,
  sigmoid,
  sign,
  sin,
  sqrt,
  square,
  tanh,
} from '../kernels/unary.js';
export { assertTensor } from '../kernels/util.js';
export { where } from '../kernels/where.js';
export * from './activations.js';
export {
  type AdaptiveSize,
  type AvgPoolOptions,
  adaptiveAvgPool1d,
  adaptiveAvgPool2d,
  adaptiveMaxPool1d,
  adaptiveMaxPool2d,
  avgPool1d,
  avgPool2d,
  type ConvOptions,
  type ConvPadding,
  type ConvTransposeOptions,
  conv1d,
  conv2d,
  convOutputSize,
  convTranspose1d,
  convTranspose2d,
  globalAvgPool1d,
  globalAvgPool2d,
  globalMaxPool1d,
  globalMaxPool2d,
  type MaxPoolOptions,
  type MaxUnpoolOptions,
  maxPool1d,
  maxPool1dWithIndices,
  maxPool2d,
  maxPool2dWithIndices,
  maxUnpool1d,
  maxUnpool2d,
  type PoolOptions,
  poolOutputSize,
  type SpatialSize,
  type UnfoldOptions,
  unfold,
} from './conv.js';
export * from './creation.js';
export { oneHot } from './encoding.js';
export { clamp } from './math.js';
export { logsumexp, mean, norm, std, variance } from './reductions.js';
export { chunk, expand, flatten, flip, narrow, type PadMode, pad, slice, split, squeeze, stack, tile, transpose, unsqueeze } from './shape.js';
