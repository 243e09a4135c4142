import { record } from '../autograd/graph.js';
import type { Tensor } from '../core/tensor.js';
import { type Conv2dGeometry, k } from './contract.js';
import { uninitialized } from './util.js';

// The three convolution primitives. conv2d is bilinear in (x, weight), and the
// other two are its adjoints in each argument:
//   <conv2d(x, w), g> = <x, conv2dBackwardInput(g, w)> = <w, conv2dBackwardWeight(x, g)>.
// So each one's gradient is made of the other two, and gradients of any order
// stay inside this file. Arguments are validated by ops/conv.ts, which also
// brings x, weight and bias to one float dtype.

function inputShape(g: Conv2dGeometry): number[] {
  return [g.batch, g.inChannels, g.inH, g.inW];
}

function outputShape(g: Conv2dGeometry): number[] {
  return [g.batch, g.outChannels, g.outH, g.outW];
}

function weightShape(g: Conv2dGeometry): number[] {
  return [g.outChannels, g.inChannels / g.groups, g.kernelH, g.kernelW];
}

/** Cross-correlation of x [N, C, H, W] with weight [O, C/groups, KH, KW], plus bias [O] when given. */
export function conv2dPrimitive(x: Tensor, weight: Tensor, bias: Tensor | null, geom: Conv2dGeometry): Tensor {
  // Every kernel writes the whole output (the contract): no zero-filling.
  const out = uninitialized('conv2d', x.dtype, outputShape(geom));
  k().conv2d(x.data, weight.data, bias === null ? null : bias.data, out.data, geom);
  const inputs = bias === null ? [x, weight] : [x, weight, bias];
  return record(out, 'conv2d', inputs, (g) => {
    const grads = [x.requiresGrad ? conv2dBackwardInput(g, weight, geom) : null, weight.requiresGrad ? conv2dBackwardWeight(x, g, geom) : null];
    if (bias !== null) grads.push(bias.requiresGrad ? g.sum([0, 2, 3]) : null);
    return grads;
  });
}

/**
 * The gradient of conv2d with respect to its input, given the output gradient
 * [N, O, outH, outW]: a tensor of shape [N, C, H, W]. With the roles of input
 * and output swapped it is the transposed convolution.
 */
export function conv2dBackwardInput(gradOut: Tensor, weight: Tensor, geom: Conv2dGeometry): Tensor {
  const out = uninitialized('conv2dBackwardInput', gradOut.dtype, inputShape(geom));
  k().conv2dBackwardInput(gradOut.data, weight.data, out.data, geom);
  return record(out, 'conv2dBackwardInput', [gradOut, weight], (g) => [
    gradOut.requiresGrad ? conv2dPrimitive(g, weight, null, geom) : null,
    weight.requiresGrad ? conv2dBackwardWeight(g, gradOut, geom) : null,
  ]);
}

/** The gradient of conv2d with respect to its weight: a tensor of shape [O, C/groups, KH, KW]. */
export function conv2dBackwardWeight(x: Tensor, gradOut: Tensor, geom: Conv2dGeometry): Tensor {
  const out = uninitialized('conv2dBackwardWeight', x.dtype, weightShape(geom));
  k().conv2dBackwardWeight(x.data, gradOut.data, out.data, geom);
  return record(out, 'conv2dBackwardWeight', [x, gradOut], (g) => [
    x.requiresGrad ? conv2dBackwardInput(gradOut, g, geom) : null,
    gradOut.requiresGrad ? conv2dPrimitive(x, g, null, geom) : null,
  ]);
}
