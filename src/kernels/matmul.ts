import { record } from '../autograd/graph.js';
import { isFloatDType, promoteTypes } from '../core/dtype.js';
import { DTypeError, fmtShape, ShapeError } from '../core/errors.js';
import { broadcastShapes } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import { k } from './contract.js';
import { assertTensor, uninitialized } from './util.js';

/**
 * The matrix-product primitive on operands of rank >= 2 with identical batch
 * dims: op(a) · op(b), where op transposes the last two axes when asked.
 * Backward needs the transposed products (G·Bᵀ, Aᵀ·G), which use the flags
 * instead of materialising transposes.
 */
export function matmulPrimitive(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  const r = a.ndim;
  const m = transA ? a.shape[r - 1] : a.shape[r - 2];
  const kk = transA ? a.shape[r - 2] : a.shape[r - 1];
  const kb = transB ? b.shape[r - 1] : b.shape[r - 2];
  const n = transB ? b.shape[r - 2] : b.shape[r - 1];
  if (kk !== kb) {
    throw new ShapeError(
      `matmul: inner dimensions differ: ${fmtShape(a.shape)}${transA ? 'ᵀ' : ''} · ${fmtShape(b.shape)}${transB ? 'ᵀ' : ''} (${kk} vs ${kb})`,
    );
  }
  const batchShape = a.shape.slice(0, r - 2);
  const batch = batchShape.reduce((p, d) => p * d, 1);
  const out = uninitialized('matmul', a.dtype, [...batchShape, m, n]);
  k().matmul(a.data, b.data, out.data, batch, m, n, kk, transA, transB);
  return record(out, 'matmul', [a, b], (g) => [
    a.requiresGrad ? (transA ? matmulPrimitive(b, g, transB, true) : matmulPrimitive(g, b, false, !transB)) : null,
    b.requiresGrad ? (transB ? matmulPrimitive(g, a, true, transA) : matmulPrimitive(a, g, !transA, false)) : null,
  ]);
}

/**
 * NumPy/PyTorch matmul: 1-D operands are treated as a row (left) or column
 * (right) vector and that axis is dropped from the result; batch dims broadcast.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  assertTensor('matmul', 'first operand', a);
  assertTensor('matmul', 'second operand', b);
  if (a.ndim === 0 || b.ndim === 0) {
    throw new ShapeError(`matmul: both operands need at least one dimension, got ${fmtShape(a.shape)} and ${fmtShape(b.shape)}`);
  }
  // The common case (two float matrices of one dtype) goes straight to the primitive: tiny networks are dominated by per-op overhead.
  if (a.ndim === 2 && b.ndim === 2 && a.dtype === b.dtype && isFloatDType(a.dtype) && a.shape[1] === b.shape[0]) return matmulPrimitive(a, b, false, false);
  // One rule for products and convolutions: a bare op never guesses a dtype, so integer and
  // bool operands are refused (as PyTorch refuses them next to floats); layers convert their input.
  if (!isFloatDType(a.dtype) || !isFloatDType(b.dtype)) {
    throw new DTypeError(
      `matmul: operands must be float32 or float64, got ${a.dtype} ${fmtShape(a.shape)} and ${b.dtype} ${fmtShape(b.shape)}; cast integer data with .float()`,
    );
  }
  const dtype = promoteTypes(a.dtype, b.dtype);
  let x = a.dtype === dtype ? a : a.cast(dtype);
  let y = b.dtype === dtype ? b : b.cast(dtype);
  const vecA = x.ndim === 1;
  const vecB = y.ndim === 1;
  if (vecA) x = x.reshape([1, x.shape[0]]);
  if (vecB) y = y.reshape([y.shape[0], 1]);
  if (x.shape[x.ndim - 1] !== y.shape[y.ndim - 2]) {
    throw new ShapeError(
      `matmul: cannot multiply ${fmtShape(a.shape)} by ${fmtShape(b.shape)}: inner dimensions ${x.shape[x.ndim - 1]} and ${y.shape[y.ndim - 2]} differ`,
    );
  }
  let batch: number[];
  try {
    batch = broadcastShapes('matmul', x.shape.slice(0, -2), y.shape.slice(0, -2));
  } catch {
    throw new ShapeError(
      `matmul: cannot multiply ${fmtShape(a.shape)} by ${fmtShape(b.shape)}: their batch dimensions ${fmtShape(x.shape.slice(0, -2))} and ${fmtShape(y.shape.slice(0, -2))} do not broadcast`,
    );
  }
  const xs = [...batch, ...x.shape.slice(-2)];
  const ys = [...batch, ...y.shape.slice(-2)];
  if (x.ndim !== xs.length || x.shape.some((d, i) => d !== xs[i])) x = x.expand(xs);
  if (y.ndim !== ys.length || y.shape.some((d, i) => d !== ys[i])) y = y.expand(ys);
  let out = matmulPrimitive(x, y, false, false);
  if (vecA && vecB) out = out.reshape([...batch]);
  else if (vecA) out = out.reshape([...batch, out.shape[out.ndim - 1]]);
  else if (vecB) out = out.reshape([...batch, out.shape[out.ndim - 2]]);
  return out;
}
