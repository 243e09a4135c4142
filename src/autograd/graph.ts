import { isGradEnabled } from '../core/engine.js';
import type { Tensor } from '../core/tensor.js';

/**
 * Maps the gradient of an op's output to the gradients of its inputs (a
 * vector-Jacobian product), one entry per input, null where an input gets no
 * gradient. Written with tensor ops, so the gradient is itself differentiable
 * when backward runs with createGraph.
 */
export type VJP = (grad: Tensor) => readonly (Tensor | null)[];

/** A recorded application of an op: the edge from an output back to its inputs. */
export interface GradNode {
  readonly op: string;
  inputs: readonly Tensor[];
  vjp: VJP | null;
}

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
