import { allocate } from '../core/dtype.js';
import { isGradEnabled } from '../core/engine.js';
import { Tensor } from '../core/tensor.js';
import { record } from './graph.js';

/**
 * The vector-Jacobian product of an op with several outputs: the gradients of
 * all outputs in (null where an output received none in this backward pass),
 * the gradients of the inputs out.
 */
export type MultiVJP = (grads: readonly (Tensor | null)[]) => readonly (Tensor | null)[];

/**
 * Record an op that produced several differentiable outputs at once (an LSTM
 * cell's h and c, the time steps of a sequence), so that its backward runs
 * once with all output gradients instead of once per output.
 *
 * The graph keeps one node per tensor, so the op gets a 0-d "hub" tensor that
 * depends on the inputs, and each output depends on the hub alone. Reverse
 * topological order visits every output before the hub: each output's vjp
 * files its gradient and passes the hub a zero scalar (which costs nothing
 * and makes sure the hub is visited), then the hub's vjp hands all the filed
 * gradients to `vjp` at once. The filed gradients are cleared there, so a
 * graph kept with retainGraph can be swept again.
 *
 * Without this, an op with T outputs would be T ops each returning a
 * gradient of the full input, which makes unbinding a sequence into its time
 * steps cost O(T²) in backward.
 */
export function recordOutputs(outputs: readonly Tensor[], op: string, inputs: readonly Tensor[], vjp: MultiVJP): void {
  if (!isGradEnabled() || !inputs.some((t) => t.requiresGrad)) return;
  const dtype = outputs[0].dtype;
  const filed: (Tensor | null)[] = outputs.map(() => null);
  const hub = new Tensor(allocate(dtype, 1), []);
  record(hub, op, inputs, () => {
    const grads = filed.slice();
    filed.fill(null);
    return vjp(grads);
  });
  outputs.forEach((out, i) => {
    record(out, op, [hub], (g) => {
      const prev = filed[i];
      filed[i] = prev ? prev.add(g) : g;
      return [new Tensor(allocate(dtype, 1), [])];
    });
  });
}
