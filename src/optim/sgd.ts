import type { FloatArray } from '../core/dtype.js';
import type { Tensor } from '../core/tensor.js';
import { fusedStep, type SgdStepOptions } from '../ops/primitives.js';
import type { HyperCheck } from './hyperparams.js';
import { type OptimizerParams, ParameterwiseOptimizer, type ParamGroup } from './optimizer.js';

/** Options of SGD (PyTorch's names and defaults). */
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

/** Hyper-parameters with every default filled in (what each parameter group holds). */
export type SGDHyper = Required<SGDOptions>;

/** Per-parameter state of SGD: the momentum buffer. */
export interface SGDState {
  /** The momentum buffer b, null when momentum is 0. */
  momentumBuffer: Tensor | null;
}

/**
 * Stochastic gradient descent with optional momentum (PyTorch's form):
 * g ← g + wd·w; b ← g at the first step, then b ← m·b + (1 − dampening)·g;
 * the step direction is b, or g + m·b with Nesterov; w ← w − lr·direction.
 */
export class SGD extends ParameterwiseOptimizer<SGDHyper, SGDState> {
  /** The class name saved in optimizer state dicts. */
  static readonly className = 'SGD';
  /** Its update is the fused sgdStep where the kernel table has one. */
  protected override readonly updatesThroughFusedKernels = true;

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

  protected initState(): SGDState {
    return { momentumBuffer: null };
  }

  protected updateParameter(w: FloatArray, g: FloatArray, state: SGDState, group: ParamGroup<SGDHyper>, p: Tensor): void {
    const { lr, momentum, dampening, weightDecay, nesterov, maximize } = group;
    const first = momentum !== 0 && state.momentumBuffer === null;
    if (first) state.momentumBuffer = this.zerosLike(p);
    const buf = momentum === 0 ? null : ((state.momentumBuffer as Tensor).data as FloatArray);
    const options = { lr, momentum, dampening, weightDecay, nesterov, firstStep: first, maximize };
    if (!fusedStep('sgdStep')?.(w, g, buf, options)) sgdUpdate(w, g, buf, options);
  }
}

/**
 * The SGD rule, torch.optim.SGD's single-tensor update, in place: the
 * specification that a backend's fused `sgdStep` accelerates (the parity
 * tests compare the two).
 */
export function sgdUpdate(w: FloatArray, g: FloatArray, buf: FloatArray | null, o: SgdStepOptions): void {
  const { lr, momentum, dampening, weightDecay, nesterov, firstStep, maximize } = o;
  const negLr = -lr;
  const n = w.length;
  if (buf === null || momentum === 0) {
    for (let i = 0; i < n; i++) {
      let d = maximize ? -g[i] : g[i];
      if (weightDecay !== 0) d = d + weightDecay * w[i];
      w[i] = w[i] + negLr * d;
    }
    return;
  }
  const gradShare = 1 - dampening;
  for (let i = 0; i < n; i++) {
    let d = maximize ? -g[i] : g[i];
    if (weightDecay !== 0) d = d + weightDecay * w[i];
    buf[i] = firstStep ? d : buf[i] * momentum + gradShare * d;
    d = nesterov ? d + momentum * buf[i] : buf[i];
    w[i] = w[i] + negLr * d;
  }
}
