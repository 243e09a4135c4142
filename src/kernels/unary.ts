import { record } from '../autograd/graph.js';
import { isFloatDType } from '../core/dtype.js';
import type { Tensor } from '../core/tensor.js';
import { k, type UnaryOp } from './contract.js';
import { assertTensor, uninitialized } from './util.js';

type UnaryGrad = (x: Tensor, y: Tensor, g: Tensor) => Tensor;

/**
 * The element-wise primitives of one argument: each one's derivative, written
 * with tensor ops so that it can be differentiated again. `floatOnly` ops turn
 * integer input into float32 first (exp of an int32 tensor is float32).
 */
const UNARY: Record<Exclude<UnaryOp, 'copy'>, { grad: UnaryGrad; floatOnly: boolean }> = {
  neg: { floatOnly: false, grad: (_x, _y, g) => g.neg() },
  // d|x|/dx = sign(x), taking the subgradient 0 at x = 0.
  abs: { floatOnly: false, grad: (x, _y, g) => g.mul(x.sign()) },
  // Piecewise constant: zero gradient almost everywhere.
  sign: { floatOnly: false, grad: (_x, _y, g) => g.mul(0) },
  floor: { floatOnly: false, grad: (_x, _y, g) => g.mul(0) },
  ceil: { floatOnly: false, grad: (_x, _y, g) => g.mul(0) },
  round: { floatOnly: false, grad: (_x, _y, g) => g.mul(0) },
  // d e^x = e^x
  exp: { floatOnly: true, grad: (_x, y, g) => g.mul(y) },
  // d log x = 1/x
  log: { floatOnly: true, grad: (x, _y, g) => g.div(x) },
  log1p: { floatOnly: true, grad: (x, _y, g) => g.div(x.add(1)) },
  // d (e^x - 1) = e^x = y + 1
  expm1: { floatOnly: true, grad: (_x, y, g) => g.mul(y.add(1)) },
  // d sqrt(x) = 1 / (2 sqrt(x))
  sqrt: { floatOnly: true, grad: (_x, y, g) => g.div(y.mul(2)) },
  // d x^(-1/2) = -1/2 x^(-3/2) = -y^3 / 2
  rsqrt: { floatOnly: true, grad: (_x, y, g) => g.mul(y.mul(y).mul(y)).mul(-0.5) },
  // d (1/x) = -1/x^2 = -y^2
  reciprocal: { floatOnly: true, grad: (_x, y, g) => g.mul(y.mul(y)).neg() },
  square: { floatOnly: false, grad: (x, _y, g) => g.mul(x).mul(2) },
  sin: { floatOnly: true, grad: (x, _y, g) => g.mul(x.cos()) },
  cos: { floatOnly: true, grad: (x, _y, g) => g.mul(x.sin()).neg() },
  // d tanh = 1 - tanh^2
  tanh: { floatOnly: true, grad: (_x, y, g) => g.mul(y.mul(y).neg().add(1)) },
  // d sigma = sigma (1 - sigma)
  sigmoid: { floatOnly: true, grad: (_x, y, g) => g.mul(y.mul(y.neg().add(1))) },
  // Subgradient 0 at x = 0, as PyTorch. The mask is read from the output: relu(x) > 0 exactly where x > 0 (NaN
  // neither), so the input need not outlive the forward pass (a compiled step then writes relu over it in place).
  relu: { floatOnly: false, grad: (_x, y, g) => reluGrad(y, g) },
  // d erf = 2/sqrt(pi) e^(-x^2)
  erf: {
    floatOnly: true,
    grad: (x, _y, g) =>
      g.mul(
        x
          .square()
          .neg()
          .exp()
          .mul(2 / Math.sqrt(Math.PI)),
      ),
  },
};

export function unaryOp(op: Exclude<UnaryOp, 'copy'>, x: Tensor): Tensor {
  assertTensor(op, 'input', x);
  const spec = UNARY[op];
  let input = x;
  if (!isFloatDType(x.dtype) && (spec.floatOnly || x.dtype === 'bool')) input = x.cast(spec.floatOnly ? 'float32' : 'int32');
  const out = uninitialized(op, input.dtype, input.shape);
  k().unary(op, input.data, out.data);
  return record(out, op, [input], (g) => [spec.grad(input, out, g)]);
}

export const UNARY_OPS = Object.keys(UNARY) as Exclude<UnaryOp, 'copy'>[];

/** Element-wise `-x`. */
export const neg = (x: Tensor) => unaryOp('neg', x);
/** Element-wise `|x|`. */
export const abs = (x: Tensor) => unaryOp('abs', x);
/** Element-wise -1, 0 or 1 (gradient zero). */
export const sign = (x: Tensor) => unaryOp('sign', x);
/** Element-wise round down (gradient zero). */
export const floor = (x: Tensor) => unaryOp('floor', x);
/** Element-wise round up (gradient zero). */
export const ceil = (x: Tensor) => unaryOp('ceil', x);
/** Element-wise round to nearest, halves to even (gradient zero). */
export const round = (x: Tensor) => unaryOp('round', x);
/** Element-wise `e^x`. */
export const exp = (x: Tensor) => unaryOp('exp', x);
/** Element-wise natural logarithm. */
export const log = (x: Tensor) => unaryOp('log', x);
/** Element-wise `log(1 + x)`, accurate for small x. */
export const log1p = (x: Tensor) => unaryOp('log1p', x);
/** Element-wise `e^x - 1`, accurate for small x. */
export const expm1 = (x: Tensor) => unaryOp('expm1', x);
/** Element-wise square root. */
export const sqrt = (x: Tensor) => unaryOp('sqrt', x);
/** Element-wise `1 / sqrt(x)`. */
export const rsqrt = (x: Tensor) => unaryOp('rsqrt', x);
/** Element-wise `1 / x`. */
export const reciprocal = (x: Tensor) => unaryOp('reciprocal', x);
/** Element-wise `x * x`. */
export const square = (x: Tensor) => unaryOp('square', x);
/** Element-wise sine. */
export const sin = (x: Tensor) => unaryOp('sin', x);
/** Element-wise cosine. */
export const cos = (x: Tensor) => unaryOp('cos', x);
/** Element-wise hyperbolic tangent. */
export const tanh = (x: Tensor) => unaryOp('tanh', x);
/** Element-wise logistic function `1 / (1 + e^-x)`. */
export const sigmoid = (x: Tensor) => unaryOp('sigmoid', x);
/** Element-wise `max(x, 0)`. */
export const relu = (x: Tensor) => unaryOp('relu', x);
/** Element-wise Gauss error function. */
export const erf = (x: Tensor) => unaryOp('erf', x);

/**
 * relu's vector-Jacobian product, g where x > 0 and 0 elsewhere, as one
 * primitive: one pass instead of a comparison, a cast and a product, which
 * matters in every convolutional and dense network. `x` may be relu's input
 * or its output: the mask is the same. Linear in g, so its own gradient is
 * itself (the mask does not depend on x almost everywhere).
 */
export function reluGrad(x: Tensor, g: Tensor): Tensor {
  const out = uninitialized('relu', g.dtype, g.shape);
  const xs = x.dtype === g.dtype ? x : x.cast(g.dtype);
  k().reluBackward(xs.data, g.data, out.data);
  return record(out, 'reluBackward', [g], (gg) => [reluGrad(x, gg)]);
}
