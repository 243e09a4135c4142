import { record } from '../autograd/graph.js';
import { allocate } from '../core/dtype.js';
import { isGradEnabled } from '../core/engine.js';
import { DTypeError, fmtShape, ShapeError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import { concat } from './concat.js';
import { k } from './contract.js';
import { matmulPrimitive } from './matmul.js';

/**
 * Products x_t·Wᵀ of many [n, in] inputs with one weight W [out, in] (a
 * recurrent layer's W_hh, applied once per time step), whose weight gradient
 * is formed once, Σ_t g_tᵀ·x_t = [g_1; ...; g_T]ᵀ·[x_1; ...; x_T], as one
 * large matrix product when backward reaches W, instead of a small product
 * and a full-size accumulation per step.
 *
 * The products depend on a 0-d hub tensor that depends on W; reverse
 * topological order runs every product's vjp (which returns x_t's gradient
 * and files (g_t, x_t)) before the hub's, which turns the filed pairs into
 * W's gradient. Everything is recorded with tensor ops, so higher-order
 * gradients work as for plain matmul.
 */
export class TiedMatmul {
  readonly weight: Tensor;
  private readonly hub: Tensor | null;
  private filed: [Tensor, Tensor][] = [];

  constructor(weight: Tensor) {
    this.weight = weight;
    if (!isGradEnabled() || !weight.requiresGrad) {
      this.hub = null;
      return;
    }
    this.hub = new Tensor(allocate(weight.dtype, 1), []);
    record(this.hub, 'tiedMatmul', [weight], () => {
      const pairs = this.filed;
      this.filed = [];
      if (pairs.length === 0) return [null];
      const g = joinRows(pairs.map(([gi]) => gi));
      const x = joinRows(pairs.map(([, xi]) => xi));
      return [matmulPrimitive(g, x, true, false)];
    });
  }

  /**
   * x [n, in] · Wᵀ (+ addend [n, out]) → [n, out]. The addend (a step's
   * projected input) is added into the product's own storage, which saves
   * an allocation and an op per step.
   */
  apply(x: Tensor, addend: Tensor | null = null): Tensor {
    const hub = this.hub;
    if (addend !== null && addend.dtype !== this.weight.dtype) {
      throw new DTypeError(`tiedMatmul: the addend is ${addend.dtype} but the weight is ${this.weight.dtype}`);
    }
    if (addend !== null && (addend.ndim !== 2 || addend.shape[0] !== x.shape[0] || addend.shape[1] !== this.weight.shape[0])) {
      throw new ShapeError(`tiedMatmul: the addend must have the product's shape [${x.shape[0]}, ${this.weight.shape[0]}], got ${fmtShape(addend.shape)}`);
    }
    if (hub === null) {
      const y = matmulPrimitive(x, this.weight, false, true);
      return addend === null ? y : y.add(addend);
    }
    // Computed without recording, then attached to the hub instead of to W.
    const out = matmulPrimitive(x.detach(), this.weight.detach(), false, true);
    if (addend !== null) k().binary('add', out.data, out.shape, addend.data, addend.shape, out.data, out.shape);
    const inputs = addend === null ? [x, hub] : [x, hub, addend];
    return record(out, 'tiedMatmul', inputs, (g) => {
      this.filed.push([g, x]);
      const grads = [x.requiresGrad ? matmulPrimitive(g, this.weight, false, false) : null, new Tensor(allocate(hub.dtype, 1), [])];
      if (addend !== null) grads.push(g);
      return grads;
    });
  }
}

function joinRows(tensors: Tensor[]): Tensor {
  return tensors.length === 1 ? tensors[0] : concat(tensors, 0);
}
