import { allocate, copyOf, storageRoot, type TypedArray } from '../core/dtype.js';
import { enableGrad, isAnomalyDetectionEnabled, noGrad } from '../core/engine.js';
import { AutogradError, fmtShape } from '../core/errors.js';
import { broadcastsTo, shapesEqual } from '../core/shape.js';
import { type BackwardOptions, Tensor } from '../core/tensor.js';
import { activeTrace } from '../core/trace.js';
import { checkBackward, runVjpUnchecked } from './anomaly.js';

export type { BackwardOptions };

/** Tensors reachable from the roots through recorded ops, inputs before outputs. */
function topologicalOrder(roots: readonly Tensor[]): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: [Tensor, number][] = [];
  for (const r of roots) {
    if (visited.has(r)) continue;
    visited.add(r);
    stack.push([r, 0]);
    while (stack.length > 0) {
      const top = stack[stack.length - 1];
      const [t, i] = top;
      const inputs = t.gradNode?.inputs ?? [];
      if (i < inputs.length) {
        top[1]++;
        const next = inputs[i];
        if (next.requiresGrad && !visited.has(next)) {
          visited.add(next);
          stack.push([next, 0]);
        }
      } else {
        stack.pop();
        order.push(t);
      }
    }
  }
  return order;
}

/**
 * Sum a gradient computed in a broadcast shape back to the input's shape. The
 * only place where broadcasting is undone; every op's vjp may return
 * gradients in its output's shape.
 */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const reduced = axes.length > 0 ? g.sum(axes, true) : g;
  return reduced.reshape(shape);
}

function fitGradient(op: string, index: number, input: Tensor, g: Tensor): Tensor {
  let out = g;
  if (!shapesEqual(g.shape, input.shape)) {
    if (!broadcastsTo(input.shape, g.shape)) {
      throw new AutogradError(
        `backward: the gradient of '${op}' for its input ${index} has shape ${fmtShape(g.shape)}, but that input has shape ${fmtShape(input.shape)}`,
      );
    }
    out = sumTo(g, input.shape);
  }
  return out.dtype === input.dtype ? out : out.cast(input.dtype);
}

/**
 * Reverse-mode sweep from `roots` (seeded with `rootGrads`). With `targets`,
 * returns the gradients of those tensors and leaves every .grad alone;
 * without, accumulates into the .grad of leaves (and of tensors that asked
 * to retain it).
 */
export function runBackward(
  roots: readonly Tensor[],
  rootGrads: readonly Tensor[],
  options: BackwardOptions,
  targets?: readonly Tensor[],
): Map<Tensor, Tensor> {
  const createGraph = options.createGraph ?? false;
  const retainGraph = options.retainGraph ?? createGraph;
  const grads = new Map<Tensor, Tensor>();
  const handedOut = new Set<TypedArray>();
  roots.forEach((r, i) => {
    const g = rootGrads[i];
    handedOut.add(storageRoot(g.data));
    const prev = grads.get(r);
    grads.set(r, prev ? prev.add(g) : g);
  });
  const order = topologicalOrder(roots);
  const wanted = targets ? new Set(targets) : null;
  const sweep = () => {
    for (let n = order.length - 1; n >= 0; n--) {
      const t = order[n];
      const g = grads.get(t);
      if (!g) continue;
      if (!wanted) {
        if (t.gradNode === null || t.retainsGrad) accumulateLeaf(t, g, createGraph, handedOut);
      }
      const node = t.gradNode;
      if (node === null) continue;
      if (wanted?.has(t) && !node.inputs.some((x) => x.requiresGrad)) continue;
      if (node.vjp === null) {
        throw new AutogradError(
          `backward: the graph through '${node.op}' was already freed by an earlier backward(); pass {retainGraph: true} to the first call to run backward twice`,
        );
      }
      const anomaly = isAnomalyDetectionEnabled();
      const vjp = node.vjp;
      const inputGrads = anomaly ? runVjpUnchecked(() => vjp(g)) : vjp(g);
      node.inputs.forEach((x, i) => {
        const gi = inputGrads[i];
        if (!gi || !x.requiresGrad) return;
        if (anomaly) checkBackward(node.op, node.createdAt, g, i, x, gi);
        const fitted = fitGradient(node.op, i, x, gi);
        const prev = grads.get(x);
        grads.set(x, prev ? prev.add(fitted) : fitted);
      });
      if (!retainGraph) {
        node.vjp = null;
        node.inputs = [];
      }
      if (wanted && !wanted.has(t)) grads.delete(t);
    }
  };
  if (createGraph) enableGrad(sweep);
  else noGrad(sweep);
  return grads;
}

function accumulateLeaf(t: Tensor, g: Tensor, createGraph: boolean, handedOut: Set<TypedArray>): void {
  // Each leaf's .grad must own its storage (optimizers and clipping write grads in place),
  // but one gradient can reach several leaves (add passes it to both inputs, reshape shares it):
  // copy only storage that was already handed out in this backward pass, or came from the caller.
  let own = g;
  if (!createGraph) {
    if (handedOut.has(storageRoot(g.data))) own = new Tensor(copyOf(g.data), g.shape);
    handedOut.add(storageRoot(own.data));
  }
  t.grad = t.grad ? (createGraph ? t.grad.add(own) : noGrad(() => (t.grad as Tensor).add(own))) : own;
  // A compiled step must keep this storage where it is: .grad outlives the step.
  activeTrace()?.gradientKept(t);
  const hooks = t.postAccumulateGradHooks;
  if (hooks !== null) for (const hook of hooks.slice()) hook(t);
}

function seedGradient(root: Tensor, gradient: Tensor | undefined): Tensor {
  if (gradient === undefined) {
    if (root.size !== 1) {
      throw new AutogradError(
        `backward: the output has shape ${fmtShape(root.shape)}; backward() without a gradient needs a single-element output (pass a gradient of the same shape)`,
      );
    }
    const one = new Tensor(allocate(root.dtype, 1), root.shape);
    one.data[0] = 1;
    return one;
  }
  if (!(gradient instanceof Tensor) || !shapesEqual(gradient.shape, root.shape)) {
    throw new AutogradError(
      `backward: the gradient must have the output's shape ${fmtShape(root.shape)}, got ${gradient instanceof Tensor ? fmtShape(gradient.shape) : typeof gradient}`,
    );
  }
  return gradient.dtype === root.dtype ? gradient : gradient.cast(root.dtype);
}

/** Accumulate d(root)/d(leaf) into every leaf's .grad (what tensor.backward() calls). */
export function backward(root: Tensor, gradient?: Tensor, options: BackwardOptions = {}): void {
  if (!root.requiresGrad) {
    throw new AutogradError('backward: this tensor does not require a gradient (no input had requiresGrad set, or it was computed under noGrad)');
  }
  runBackward([root], [seedGradient(root, gradient)], options);
}

/**
 * The gradients of `outputs` (weighted by `gradOutputs`, default ones for
 * single-element outputs) with respect to `inputs`, without touching any
 * .grad. Inputs that the outputs do not depend on get zeros.
 */
export function gradients(
  outputs: Tensor | readonly Tensor[],
  inputs: readonly Tensor[],
  gradOutputs?: readonly (Tensor | undefined)[],
  options: BackwardOptions = {},
): Tensor[] {
  const outs = outputs instanceof Tensor ? [outputs] : [...outputs];
  inputs.forEach((x, i) => {
    if (!(x instanceof Tensor) || !x.requiresGrad) throw new AutogradError(`gradients: inputs[${i}] does not require a gradient`);
  });
  const live = outs.map((o, i) => [o, i] as const).filter(([o]) => o.requiresGrad);
  const grads =
    live.length === 0
      ? new Map<Tensor, Tensor>()
      : runBackward(
          live.map(([o]) => o),
          live.map(([o, i]) => seedGradient(o, gradOutputs?.[i])),
          options,
          inputs,
        );
  return inputs.map((x) => grads.get(x) ?? new Tensor(new (x.data.constructor as Float64ArrayConstructor)(x.size), x.shape));
}
