import type { FloatArray } from '../core/dtype.js';
import type { Tensor } from '../core/tensor.js';
import { fusedStep } from '../ops/primitives.js';
import type { HyperCheck } from './hyperparams.js';
import { type OptimizerParams, ParameterwiseOptimizer, type ParamGroup } from './optimizer.js';

/** Options of RMSprop. */
export interface RMSpropOptions {
  /** Learning rate (default 1e-2). */
  lr?: number;
  /** Decay of the running average of squared gradients (default 0.99). */
  alpha?: number;
  /** Added to the denominator (default 1e-8). */
  eps?: number;
  /** L2 penalty folded into the gradient (default 0). */
  weightDecay?: number;
  /** Momentum on the normalized step (default 0). */
  momentum?: number;
  /** Normalize by the estimated variance (subtract the squared mean gradient) instead of the raw second moment. */
  centered?: boolean;
  /** Ascend the objective instead of descending (default false). */
  maximize?: boolean;
}

/** Hyper-parameters with every default filled in (what each parameter group holds). */
export type RMSpropHyper = Required<RMSpropOptions>;

/** Per-parameter state of RMSprop. */
export interface RMSpropState {
  /** Updates applied so far. */
  step: number;
  /** Running average of squared gradients. */
  squareAvg: Tensor;
  /** Only with momentum > 0. */
  momentumBuffer?: Tensor;
  /** Only when centered. */
  gradAvg?: Tensor;
}

/**
 * RMSprop (Hinton's lecture notes): v ← αv + (1−α)g²; centered: a ← αa + (1−α)g
 * and den = √(v − a²) + eps, else den = √v + eps; with momentum
 * b ← m·b + g/den and w ← w − lr·b, else w ← w − lr·g/den.
 */
export class RMSprop extends ParameterwiseOptimizer<RMSpropHyper, RMSpropState> {
  /** The class name saved in optimizer state dicts. */
  static readonly className = 'RMSprop';
  /** Its update is the fused rmspropStep where the kernel table has one. */
  protected override readonly updatesThroughFusedKernels = true;

  constructor(params: OptimizerParams<RMSpropHyper>, options: RMSpropOptions = {}) {
    super(params, { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false, maximize: false }, options);
  }

  protected checkHyper(h: RMSpropHyper, check: HyperCheck): void {
    check.nonNegative('lr', h.lr);
    check.inRange('alpha', h.alpha, 0, 1);
    check.nonNegative('eps', h.eps);
    check.nonNegative('weightDecay', h.weightDecay);
    check.nonNegative('momentum', h.momentum);
    check.boolean('centered', h.centered);
    check.boolean('maximize', h.maximize);
  }

  protected initState(p: Tensor): RMSpropState {
    return { step: 0, squareAvg: this.zerosLike(p) };
  }

  protected updateParameter(w: FloatArray, g: FloatArray, state: RMSpropState, group: ParamGroup<RMSpropHyper>, p: Tensor): void {
    // Buffers appear when their option is first on, so a group may switch them on mid-training.
    if (group.momentum > 0 && state.momentumBuffer === undefined) state.momentumBuffer = this.zerosLike(p);
    if (group.centered && state.gradAvg === undefined) state.gradAvg = this.zerosLike(p);
    state.step += 1;
    const a = group.centered ? ((state.gradAvg as Tensor).data as FloatArray) : null;
    const b = group.momentum > 0 ? ((state.momentumBuffer as Tensor).data as FloatArray) : null;
    if (!fusedStep('rmspropStep')?.(w, g, state.squareAvg.data as FloatArray, a, b, group))
      rmspropUpdate(w, g, state.squareAvg.data as FloatArray, a, b, group);
  }
}

/**
 * The RMSprop rule, in place: torch.optim.RMSprop's single-tensor update
 * (v: mean square gradient; a: mean gradient, centered only; b: momentum
 * buffer, with momentum only).
 */
export function rmspropUpdate(w: FloatArray, g: FloatArray, v: FloatArray, a: FloatArray | null, b: FloatArray | null, o: RMSpropHyper): void {
  const { lr, alpha, eps, weightDecay, momentum, maximize } = o;
  const negLr = -lr;
  const share = 1 - alpha;
  for (let i = 0; i < w.length; i++) {
    let gi = maximize ? -g[i] : g[i];
    if (weightDecay !== 0) gi = gi + weightDecay * w[i];
    v[i] = v[i] * alpha + share * gi * gi;
    let den: number;
    if (a !== null) {
      a[i] = a[i] * alpha + share * gi;
      den = Math.sqrt(v[i] + -a[i] * a[i]) + eps;
    } else {
      den = Math.sqrt(v[i]) + eps;
    }
    if (b !== null) {
      b[i] = b[i] * momentum + gi / den;
      w[i] = w[i] + negLr * b[i];
    } else {
      w[i] = w[i] + (negLr * gi) / den;
    }
  }
}
