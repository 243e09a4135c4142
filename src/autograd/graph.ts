import { isAnomalyDetectionEnabled, isGradEnabled } from '../core/engine.js';
import type { GradNode, Tensor, VJP } from '../core/tensor.js';
import { callSite, checkForward } from './anomaly.js';

export type { GradNode, VJP };

/**
 * Attach the graph node to a freshly computed output when recording is on and
 * some input needs a gradient. The vjp closure sits next to the forward code in
 * the op's own file; this is the only place that decides whether to keep it.
 */
export function record(out: Tensor, op: string, inputs: readonly Tensor[], vjp: VJP): Tensor {
  const anomaly = isAnomalyDetectionEnabled();
  if (anomaly) checkForward(out, op, inputs);
  if (!isGradEnabled()) return out;
  for (const t of inputs) {
    if (t.requiresGrad) {
      out.requiresGrad = true;
      out.gradNode = anomaly ? { op, inputs, vjp, createdAt: callSite() } : { op, inputs, vjp };
      return out;
    }
  }
  return out;
}
