/**
 * `nn.functional`: stateless functions on tensors, PyTorch's torch.nn.functional.
 * Activations go by their modern names and, where Hagan's Neural Network Design
 * (MATLAB's toolbox) gives one, by that name too: hardlim, hardlims, purelin,
 * satlin, satlins, logsig, tansig, poslin, compet.
 */
import type { Tensor } from '../../core/tensor.js';
import { hardtanh } from '../../ops/activations.js';
import { relu, sigmoid, tanh } from '../../ops/index.js';

export * from '../../ops/activations.js';
export { abs, relu, sigmoid, tanh } from '../../ops/index.js';
export * from './losses.js';

/** The identity, a = n: the output unit of a regression network. */
export function identity(x: Tensor): Tensor {
  return x;
}

/** Hagan's `purelin` (linear transfer function): the identity. */
export const purelin: (x: Tensor) => Tensor = identity;

/** Hagan's `logsig` (log-sigmoid): 1 / (1 + e^-n), the logistic sigmoid. */
export const logsig: (x: Tensor) => Tensor = sigmoid;

/** Hagan's `tansig` (hyperbolic tangent sigmoid): tanh. */
export const tansig: (x: Tensor) => Tensor = tanh;

/** Hagan's `poslin` (positive linear): relu, with gradient 0 at 0. */
export const poslin: (x: Tensor) => Tensor = relu;

/**
 * Hagan's `satlin` (saturating linear): clamp to [0, 1]. The gradient is 1
 * on (0, 1) and 0 elsewhere, the bounds included.
 */
export function satlin(x: Tensor): Tensor {
  return hardtanh(x, 0, 1);
}

/**
 * Hagan's `satlins` (symmetric saturating linear): clamp to [-1, 1], PyTorch's
 * hardtanh. The gradient is 1 on (-1, 1) and 0 elsewhere, the bounds included.
 */
export function satlins(x: Tensor): Tensor {
  return hardtanh(x, -1, 1);
}
