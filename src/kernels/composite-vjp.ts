import { gradients } from '../autograd/backward.js';
import type { Tensor } from '../core/tensor.js';

/**
 * The vector-Jacobian product of a fused op as a recorded computation, for a
 * backward pass that is itself recorded (createGraph, higher-order
 * derivatives): run the op's composite definition on the same inputs and
 * differentiate it with a graph. `seeds` are the gradients of the op's
 * outputs (null where an output got none), in the order `composite` returns
 * them; the result has one gradient (or null) per input.
 */
export function compositeVjp(composite: () => readonly Tensor[], inputs: readonly Tensor[], seeds: readonly (Tensor | null)[]): (Tensor | null)[] {
  const results = composite();
  const outs: Tensor[] = [];
  const grads: Tensor[] = [];
  results.forEach((r, i) => {
    const g = seeds[i];
    if (g && r.requiresGrad) {
      outs.push(r);
      grads.push(g);
    }
  });
  const wrt = inputs.filter((t) => t.requiresGrad);
  if (outs.length === 0 || wrt.length === 0) return inputs.map(() => null);
  const found = gradients(outs, wrt, grads, { createGraph: true });
  let next = 0;
  return inputs.map((t) => (t.requiresGrad ? found[next++] : null));
}
