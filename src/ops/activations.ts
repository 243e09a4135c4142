// Activation functions, composed from primitives: none of them has backward
// code, autograd derives every gradient. Where a branch of `where` could
// overflow on elements it does not select, its input is clamped first, because
// the unselected branch still receives a zero gradient and 0 * inf = NaN.
import { fmtShape, ShapeError, ValueError } from '../core/errors.js';
import type { Generator } from '../core/random.js';
import { checkNonEmptyAxes, normalizeAxis } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { check } from '../core/validate.js';
import { logSoftmaxPrimitive } from '../kernels/softmax.js';
import { assertTensor } from '../kernels/util.js';
import { where } from '../kernels/where.js';
import { arange, bernoulli, zerosLike } from './creation.js';

// ---------------------------------------------------------------------------
// Step functions (Hagan's hard limits and competitive transfer function)
// ---------------------------------------------------------------------------

/**
 * Symmetric hard limit (Hagan's `hardlims`): -1 for x < 0, +1 for x >= 0.
 * Piecewise constant, so the gradient is zero everywhere (also at 0).
 */
export function hardlims(x: Tensor): Tensor {
  assertTensor('hardlims', 'input', x);
  // sign() carries the zero gradient of a step and keeps the result attached to
  // the graph (upstream parameters get zeros, not nothing); adding (x == 0)
  // moves sign's 0 at the origin to +1.
  return x.sign().add(x.eq(0));
}

/**
 * Hard limit, the Heaviside step (Hagan's `hardlim`): 0 for x < 0, 1 for
 * x >= 0. The gradient is zero everywhere (also at 0).
 */
export function hardlim(x: Tensor): Tensor {
  assertTensor('hardlim', 'input', x);
  return hardlims(x).add(1).mul(0.5);
}

/**
 * Competitive transfer function (Hagan's `compet`): 1 at the maximum along
 * `axis` (default the last, one sample per row), 0 elsewhere. Ties go to the
 * first maximum, so every slice holds exactly one 1. Not differentiable: the
 * gradient is zero.
 */
export function compet(x: Tensor, axis = -1): Tensor {
  assertTensor('compet', 'input', x);
  if (x.ndim === 0) throw new ShapeError('compet: input must have at least one dimension, got a 0-d tensor');
  const ax = normalizeAxis('compet', axis, x.ndim);
  const winner = x.argmax(ax, true);
  const positions = arange(0, x.shape[ax], 1, { dtype: 'int32' }).reshape(x.shape.map((d, i) => (i === ax ? d : 1)));
  const oneHot = positions.eq(winner).cast(x.dtype === 'float64' ? 'float64' : 'float32');
  // Attach the constant result to x's graph with a zero gradient (sign' = 0),
  // so that a model ending in compet still backpropagates (zeros).
  return x.requiresGrad ? oneHot.add(x.sign().mul(0)) : oneHot;
}

// ---------------------------------------------------------------------------
// Piecewise-linear units
// ---------------------------------------------------------------------------

/**
 * Clamp to [minVal, maxVal] (PyTorch's hardtanh; Hagan's `satlins` with the
 * default bounds -1, 1). The gradient is 1 strictly inside the interval and 0
 * at and beyond the bounds, as in PyTorch.
 */
export function hardtanh(x: Tensor, minVal = -1, maxVal = 1): Tensor {
  assertTensor('hardtanh', 'input', x);
  check('hardtanh').finite('minVal', minVal);
  check('hardtanh').finite('maxVal', maxVal);
  if (!(maxVal > minVal)) throw new ValueError(`hardtanh: maxVal must be greater than minVal, got minVal ${minVal} and maxVal ${maxVal}`);
  return where(x.le(minVal), minVal, where(x.ge(maxVal), maxVal, x));
}

/** min(max(x, 0), 6). Gradient 1 on (0, 6), 0 elsewhere (also at the kinks 0 and 6). */
export function relu6(x: Tensor): Tensor {
  assertTensor('relu6', 'input', x);
  return hardtanh(x, 0, 6);
}

/**
 * Leaky ReLU: x for x > 0, negativeSlope·x otherwise. At 0 the gradient is
 * negativeSlope (the left derivative), as in PyTorch.
 */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  assertTensor('leakyRelu', 'input', x);
  check('leakyRelu').finite('negativeSlope', negativeSlope);
  return where(x.gt(0), x, x.mul(negativeSlope));
}

/**
 * Parametric ReLU: x for x > 0, w[c]·x otherwise, with c the index along axis
 * 1 (PyTorch's layout: `weight` has 1 entry shared by every channel, or one
 * per channel of axis 1). At 0 the input gradient is w[c], as in PyTorch.
 */
export function prelu(x: Tensor, weight: Tensor): Tensor {
  assertTensor('prelu', 'input', x);
  assertTensor('prelu', 'weight', weight);
  if (weight.ndim !== 1) throw new ShapeError(`prelu: weight must be 1-D, got shape ${fmtShape(weight.shape)}`);
  const channels = weight.shape[0];
  let w: Tensor;
  if (channels === 1) {
    w = weight.reshape([]);
  } else {
    if (x.ndim < 2 || x.shape[1] !== channels) {
      const found = x.ndim < 2 ? 'has no channel axis (rank < 2)' : `has ${x.shape[1]} channels on axis 1`;
      throw new ShapeError(`prelu: weight has ${channels} entries, but input ${fmtShape(x.shape)} ${found}`);
    }
    w = weight.reshape([channels, ...new Array<number>(x.ndim - 2).fill(1)]);
  }
  return where(x.gt(0), x, x.mul(w));
}

// ---------------------------------------------------------------------------
// Smooth units
// ---------------------------------------------------------------------------

/**
 * Exponential linear unit: x for x > 0, alpha·(exp(x) - 1) otherwise. At 0
 * the gradient is alpha (the left derivative), as in PyTorch.
 */
export function elu(x: Tensor, alpha = 1): Tensor {
  assertTensor('elu', 'input', x);
  check('elu').finite('alpha', alpha);
  const positive = x.gt(0);
  // expm1 only sees x <= 0: for large positive x it would overflow, and the
  // unselected branch's zero gradient times inf would be NaN.
  return where(positive, x, where(positive, 0, x).expm1().mul(alpha));
}

/** SELU's constants, as PyTorch (Klambauer et al., 2017). */
export const SELU_ALPHA = 1.6732632423543772;
/** SELU's lambda (Klambauer et al. 2017). */
export const SELU_SCALE = 1.0507009873554805;

/** Scaled ELU: SELU_SCALE · elu(x, SELU_ALPHA). Gradient at 0: SELU_SCALE·SELU_ALPHA. */
export function selu(x: Tensor): Tensor {
  assertTensor('selu', 'input', x);
  return elu(x, SELU_ALPHA).mul(SELU_SCALE);
}

/** GELU's formula: 'none' for the exact erf form, 'tanh' for the tanh approximation. */
export type GeluApproximate = 'none' | 'tanh';

/**
 * Gaussian error linear unit, x·Φ(x). `approximate: 'none'` (the default) is
 * the exact form 0.5·x·(1 + erf(x/√2)); 'tanh' is
 * 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), as in PyTorch.
 */
export function gelu(x: Tensor, approximate: GeluApproximate = 'none'): Tensor {
  assertTensor('gelu', 'input', x);
  if (approximate === 'none') return x.mul(x.mul(Math.SQRT1_2).erf().add(1)).mul(0.5);
  if (approximate === 'tanh') {
    const inner = x.add(x.square().mul(x).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
    return x.mul(inner.tanh().add(1)).mul(0.5);
  }
  throw new ValueError(`gelu: approximate must be 'none' or 'tanh', got ${JSON.stringify(approximate)}`);
}

/** Sigmoid-weighted linear unit, x·σ(x) (swish with beta 1). */
export function silu(x: Tensor): Tensor {
  assertTensor('silu', 'input', x);
  return x.mul(x.sigmoid());
}

/** Swish, x·σ(beta·x) (Ramachandran et al., 2017); beta 1 is silu. */
export function swish(x: Tensor, beta = 1): Tensor {
  assertTensor('swish', 'input', x);
  check('swish').finite('beta', beta);
  return beta === 1 ? silu(x) : x.mul(x.mul(beta).sigmoid());
}

/**
 * log(1 + exp(beta·x)) / beta, and x itself where beta·x > threshold (where
 * the two agree to double precision), as in PyTorch.
 */
export function softplus(x: Tensor, beta = 1, threshold = 20): Tensor {
  assertTensor('softplus', 'input', x);
  check('softplus').positive('beta', beta);
  check('softplus').finite('threshold', threshold);
  const scaled = beta === 1 ? x : x.mul(beta);
  const linear = scaled.gt(threshold);
  // exp() only sees values <= threshold, so it cannot overflow on the elements
  // that take the linear branch (and poison their gradient with 0 * inf).
  const soft = where(linear, 0, scaled).exp().log1p();
  return where(linear, x, beta === 1 ? soft : soft.div(beta));
}

/** Mish, x·tanh(softplus(x)) (Misra, 2019). */
export function mish(x: Tensor): Tensor {
  assertTensor('mish', 'input', x);
  return x.mul(softplus(x).tanh());
}

/** x / (1 + |x|). */
export function softsign(x: Tensor): Tensor {
  assertTensor('softsign', 'input', x);
  return x.div(x.abs().add(1));
}

/**
 * PyTorch's hard sigmoid, relu6(x + 3) / 6: 0 for x <= -3, 1 for x >= 3 and
 * x/6 + 1/2 between. Gradient 1/6 on (-3, 3) and 0 elsewhere (also at ±3).
 */
export function hardsigmoid(x: Tensor): Tensor {
  assertTensor('hardsigmoid', 'input', x);
  return relu6(x.add(3)).div(6);
}

/**
 * Hard swish, x·relu6(x + 3)/6 (MobileNetV3). At the kinks ±3 the gradient is
 * the outer side's: 0 at -3, 1 at 3.
 */
export function hardswish(x: Tensor): Tensor {
  assertTensor('hardswish', 'input', x);
  return x.mul(relu6(x.add(3))).div(6);
}

/**
 * log σ(x), computed as min(x, 0) - log(1 + exp(-|x|)) so that exp() never
 * overflows: finite values and gradients for any finite x. At 0 the gradient
 * is exactly 1/2 (min's tie splits it evenly and |x|'s subgradient is 0).
 */
export function logSigmoid(x: Tensor): Tensor {
  assertTensor('logSigmoid', 'input', x);
  return x.minimum(0).sub(x.abs().neg().exp().log1p());
}

/** x - tanh(x). */
export function tanhshrink(x: Tensor): Tensor {
  assertTensor('tanhshrink', 'input', x);
  return x.sub(x.tanh());
}

// ---------------------------------------------------------------------------
// Normalizing functions
// ---------------------------------------------------------------------------

/** exp(x) / sum(exp(x)) along `axis` (default the last). */
export function softmax(x: Tensor, axis = -1): Tensor {
  assertTensor('softmax', 'input', x);
  const ax = normalizeAxis('softmax', axis, Math.max(x.ndim, 1));
  const input = x.ndim === 0 ? x.reshape([1]) : x;
  checkNonEmptyAxes('softmax', input.shape, [ax]);
  // Subtract the (detached) max so exp() cannot overflow for logits near 1e4;
  // the shift cancels in the ratio, so its gradient is not needed.
  const e = input.sub(input.max(ax, true).detach()).exp();
  const out = e.div(e.sum(ax, true));
  return x.ndim === 0 ? out.reshape([]) : out;
}

/** log(softmax(x)) along `axis` (default the last), as x - max - log(sum(exp(x - max))), finite for any finite logits. */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  assertTensor('logSoftmax', 'input', x);
  const ax = normalizeAxis('logSoftmax', axis, Math.max(x.ndim, 1));
  const input = x.ndim === 0 ? x.reshape([1]) : x;
  checkNonEmptyAxes('logSoftmax', input.shape, [ax]);
  const out = logSoftmaxPrimitive(input, ax);
  return x.ndim === 0 ? out.reshape([]) : out;
}

// ---------------------------------------------------------------------------
// Units with weights: maxout groups and radial basis functions
// ---------------------------------------------------------------------------

/**
 * Maxout (Goodfellow et al., 2013): split the features along `axis` (default
 * 1, the feature/channel axis of PyTorch's layouts) into consecutive groups of
 * `groupSize` and keep each group's maximum, so that axis shrinks by that
 * factor: group i holds features i·k .. i·k + k - 1. Where a group's maximum
 * is tied, the gradient is split evenly between the tied entries.
 */
export function maxout(x: Tensor, groupSize: number, axis = 1): Tensor {
  assertTensor('maxout', 'input', x);
  if (!Number.isInteger(groupSize) || groupSize < 1) throw new ValueError(`maxout: groupSize must be a positive integer, got ${groupSize}`);
  const ax = normalizeAxis('maxout', axis, x.ndim);
  const features = x.shape[ax];
  if (features % groupSize !== 0) {
    throw new ShapeError(`maxout: input ${fmtShape(x.shape)} has ${features} features on axis ${ax}, which do not split into groups of ${groupSize}`);
  }
  const grouped = x.reshape([...x.shape.slice(0, ax), features / groupSize, groupSize, ...x.shape.slice(ax + 1)]);
  return grouped.max(ax + 1);
}

/**
 * Radial basis function units as in Bishop's notes: z_j = Σ_i (x_i - w_ji)²,
 * the squared Euclidean distance from the input to each centre (row) of
 * `weight` [out, in]. Input [..., in] gives [..., out]. Computed from the
 * differences themselves (not |x|² - 2x·w + |w|², which cancels
 * catastrophically near a centre), at the cost of an [..., out, in]
 * intermediate. A Gaussian unit is exp(-gamma·z).
 */
export function rbf(x: Tensor, weight: Tensor): Tensor {
  assertTensor('rbf', 'input', x);
  assertTensor('rbf', 'weight', weight);
  if (weight.ndim !== 2) throw new ShapeError(`rbf: weight must be 2-D [out, in], got shape ${fmtShape(weight.shape)}`);
  if (x.ndim === 0 || x.shape[x.ndim - 1] !== weight.shape[1]) {
    throw new ShapeError(`rbf: expected input with last dimension ${weight.shape[1]} (weight ${fmtShape(weight.shape)}), got ${fmtShape(x.shape)}`);
  }
  return x.unsqueeze(-2).sub(weight).square().sum(-1);
}

/**
 * Inverted dropout, the training-mode form: each element is zeroed with
 * probability p and the kept ones are scaled by 1/(1 - p), so the expected
 * value is unchanged and evaluation needs no rescaling. p = 0 returns x; p = 1
 * returns zeros. The mask is drawn from `generator` (default: the global one).
 */
export function dropout(x: Tensor, p: number, options: { generator?: Generator } = {}): Tensor {
  check('dropout').probability('p', p);
  if (p === 0) return x;
  if (p === 1) return x.mul(zerosLike(x));
  const keep = bernoulli(x.shape, 1 - p, { dtype: x.dtype, generator: options.generator });
  return x.mul(keep.mul(1 / (1 - p)));
}
