import { isGradEnabled } from '../core/engine.js';
import type { GradNode, Tensor, VJP } from '../core/tensor.js';

export type { GradNode, VJP };

/**
 * Attach the graph node to a freshly computed output when recording is on and
 * some input needs a gradient. The vjp closure sits next to the forward code in
 * the op's own file; this is the only place that decides whether to keep it.
 */
export function record(out: Tensor, op: string, inputs: readonly Tensor[], vjp: VJP): Tensor {
  if (!isGradEnabled()) return out;
  for (const t of inputs) {
    if (t.requiresGrad) {
      out.requiresGrad = true;
      out.gradNode = { op, inputs, vjp };
      return out;
    }
  }
  return out;
}
