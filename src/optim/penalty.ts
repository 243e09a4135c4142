import type { Tensor } from '../core/tensor.js';
import { zeros } from '../ops/index.js';
import { type TensorList, tensorList } from './clip.js';

function total(fn: string, params: TensorList, term: (p: Tensor) => Tensor): Tensor {
  const list = tensorList(fn, params);
  if (list.length === 0) return zeros([]);
  let sum = term(list[0]);
  for (let i = 1; i < list.length; i++) sum = sum.add(term(list[i]));
  return sum;
}

/**
 * The L1 penalty Σ|w| over every element of `params`, as a differentiable
 * scalar: add `lambda * l1Penalty(layer.parameters())` to the loss for LASSO
 * regularization, which drives a subset of the weights to exactly zero. Its
 * gradient is λ·sign(w) (0 at w = 0). An empty list gives 0.
 */
export function l1Penalty(params: TensorList): Tensor {
  return total('l1Penalty', params, (p) => p.abs().sum());
}

/**
 * The L2 penalty Σw² over every element of `params` (no factor 1/2, so its
 * gradient is 2λw), as a differentiable scalar: add `lambda * l2Penalty(...)`
 * to the loss for ridge regularization of chosen layers. For all parameters,
 * the optimizers' `weightDecay` option is the cheaper equivalent: SGD with
 * weightDecay wd matches a penalty with λ = wd/2. An empty list gives 0.
 */
export function l2Penalty(params: TensorList): Tensor {
  return total('l2Penalty', params, (p) => p.square().sum());
}
