import type { FloatArray } from '../core/dtype.js';
import { k } from '../core/engine.js';
import type { Tensor } from '../core/tensor.js';
import type { HyperCheck } from './hyperparams.js';
import { Optimizer, type OptimizerParams, type ParamGroup } from './optimizer.js';

export interface SGDOptions {
  /** Learning rate (default 1e-3). */
  lr?: number;
  /** Momentum factor m (default 0: plain gradient descent). */
  momentum?: number;
  /** Dampening of the gradient's share of the momentum buffer (default 0). */
  dampening?: number;
  /** L2 penalty folded into the gradient: g + weightDecay·w (default 0). */
  weightDecay?: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0). */
  nesterov?: boolean;
  /** Ascend instead of descend. */
  maximize?: boolean;
}

export type SGDHyper = Required<SGDOptions>;

export interface SGDState {
  /** The momentum buffer b, null when momentum is 0. */
  momentumBuffer: Tensor | null;
}

/**
 * Stochastic gradient descent with optional momentum (PyTorch's form):
 * g ← g + wd·w; b ← g at the first step, then b ← m·b + (1 − dampening)·g;
 * the step direction is b, or g + m·b with Nesterov; w ← w − lr·direction.
 */
export class SGD extends Optimizer<SGDHyper, SGDState> {
  static readonly className = 'SGD';

  constructor(params: OptimizerParams<SGDHyper>, options: SGDOptions = {}) {
    super(params, { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false }, options);
  }

  protected checkHyper(h: SGDHyper, check: HyperCheck): void {
    check.nonNegative('lr', h.lr);
    check.nonNegative('momentum', h.momentum);
    check.inRange('dampening', h.dampening, 0, 1);
    check.nonNegative('weightDecay', h.weightDecay);
    check.boolean('nesterov', h.nesterov);
    check.boolean('maximize', h.maximize);
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) {
      check.fail(`nesterov requires momentum > 0 and dampening 0, got momentum ${h.momentum} and dampening ${h.dampening}`);
    }
  }

  protected updateGroup(group: ParamGroup<SGDHyper>): void {
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = group;
    for (const p of group.params) {
      const g = this.gradData(p);
      if (g === null) continue;
      let state = this.state.get(p);
      if (state === undefined) {
        state = { momentumBuffer: null };
        this.state.set(p, state);
      }
      const first = momentum !== 0 && state.momentumBuffer === null;
      if (first) state.momentumBuffer = this.zerosLike(p);
      const buf = momentum === 0 ? null : ((state.momentumBuffer as Tensor).data as FloatArray);
      k().sgdStep(p.data as FloatArray, g, buf, { lr, momentum, dampening, weightDecay, nesterov, firstStep: first, maximize });
    }
  }
}
