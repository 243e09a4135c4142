import { record } from '../autograd/graph.js';
import type { Tensor } from '../core/tensor.js';
import { type AvgPoolDivisor, k, type Pool2dGeometry } from './contract.js';
import { gather } from './gather.js';
import { reshape } from './reshape.js';
import { empty, uninitialized } from './util.js';

// Pooling primitives over NCHW planes. Max pooling and unpooling move values
// between cells named by per-plane switches (flat indices h·W + w), so their
// gradients are a scatter-add (maxPool2dBackward) and a per-plane gather;
// average pooling is linear, and its backward kernel is its adjoint. Each
// backward is itself recorded, so second derivatives flow through pooling.
// Arguments are validated by ops/conv.ts.

function inputShape(g: Pool2dGeometry): number[] {
  return [g.batch, g.channels, g.inH, g.inW];
}

function outputShape(g: Pool2dGeometry): number[] {
  return [g.batch, g.channels, g.outH, g.outW];
}

/**
 * src[n, c].flat[indices[n, c, ...]] for tensors whose first two axes are
 * planes: the adjoint of scattering into those cells. Built on the gather
 * primitive over flattened planes, so it is differentiable in turn.
 */
export function gatherPlanes(src: Tensor, indices: Tensor): Tensor {
  const [n, c] = src.shape;
  const planeSize = (shape: readonly number[]) => shape.slice(2).reduce((p, d) => p * d, 1);
  const picked = gather(reshape(src, [n, c, planeSize(src.shape)]), 2, reshape(indices, [n, c, planeSize(indices.shape)]));
  return reshape(picked, indices.shape);
}

/** Max pooling: the pooled values (recorded) and the switches, an int32 tensor of the output's shape. */
export function maxPool2dPrimitive(x: Tensor, geom: Pool2dGeometry): [Tensor, Tensor] {
  const out = uninitialized('maxPool2d', x.dtype, outputShape(geom));
  const indices = uninitialized('maxPool2d', 'int32', outputShape(geom));
  k().maxPool2d(x.data, out.data, indices.data as Int32Array, geom);
  record(out, 'maxPool2d', [x], (g) => [maxPool2dBackward(g, indices, geom)]);
  return [out, indices];
}

/** The input gradient of max pooling: gradOut routed to the cells the switches name, summed where windows overlap. */
export function maxPool2dBackward(gradOut: Tensor, indices: Tensor, geom: Pool2dGeometry): Tensor {
  const out = uninitialized('maxPool2dBackward', gradOut.dtype, inputShape(geom));
  k().maxPool2dBackward(gradOut.data, indices.data as Int32Array, out.data, geom);
  return record(out, 'maxPool2dBackward', [gradOut], (g) => [gatherPlanes(g, indices)]);
}

export function avgPool2dPrimitive(x: Tensor, geom: Pool2dGeometry, divisor: AvgPoolDivisor): Tensor {
  const out = uninitialized('avgPool2d', x.dtype, outputShape(geom));
  k().avgPool2d(x.data, out.data, geom, divisor);
  return record(out, 'avgPool2d', [x], (g) => [avgPool2dBackward(g, geom, divisor)]);
}

export function avgPool2dBackward(gradOut: Tensor, geom: Pool2dGeometry, divisor: AvgPoolDivisor): Tensor {
  const out = uninitialized('avgPool2dBackward', gradOut.dtype, inputShape(geom));
  k().avgPool2dBackward(gradOut.data, out.data, geom, divisor);
  return record(out, 'avgPool2dBackward', [gradOut], (g) => [avgPool2dPrimitive(g, geom, divisor)]);
}

/**
 * Max unpooling: zeros of `outShape` ([N, C, ...spatial]) with x's values
 * written at the cells its switches name (indices has x's shape, flat within
 * each plane). Where switches repeat, the last write wins and the gradient
 * reaches every writer, as in PyTorch.
 */
export function maxUnpoolPrimitive(x: Tensor, indices: Tensor, outShape: readonly number[]): Tensor {
  const out = empty('maxUnpool', x.dtype, outShape);
  const planes = x.shape[0] * x.shape[1];
  const inPlane = x.shape.slice(2).reduce((p, d) => p * d, 1);
  const outPlane = outShape.slice(2).reduce((p, d) => p * d, 1);
  k().maxUnpool(x.data, indices.data as Int32Array, out.data, planes, inPlane, outPlane);
  return record(out, 'maxUnpool', [x], (g) => [gatherPlanes(g, indices)]);
}
