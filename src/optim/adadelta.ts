import type { FloatArray } from '../core/dtype.js';
import type { Tensor } from '../core/tensor.js';
import { fusedStep } from '../ops/primitives.js';
import type { HyperCheck } from './hyperparams.js';
import { type OptimizerParams, ParameterwiseOptimizer, type ParamGroup } from './optimizer.js';

/** Options of Adadelta. */
export interface AdadeltaOptions {
  /** Scales the computed step (default 1.0, Zeiler's method has no rate). */
  lr?: number;
  /** Decay of both running averages (default 0.9). */
  rho?: number;
  /** Added inside both roots (default 1e-6). */
  eps?: number;
  /** L2 penalty folded into the gradient (default 0). */
  weightDecay?: number;
  /** Ascend the objective instead of descending (default false). */
  maximize?: boolean;
}

/** Hyper-parameters with every default filled in (what each parameter group holds). */
export type AdadeltaHyper = Required<AdadeltaOptions>;

/** Per-parameter state of Adadelta. */
export interface AdadeltaState {
  /** Updates applied so far. */
  step: number;
  /** Running average of squared gradients. */
  squareAvg: Tensor;
  /** Running average of squared updates. */
  accDelta: Tensor;
}

/**
 * Adadelta (Zeiler, 2012): the step is the gradient scaled by the ratio of the
 * RMS of past updates to the RMS of past gradients, so its units match the
 * parameter's. v ← ρv + (1−ρ)g²; Δ = √(u+eps)/√(v+eps)·g;
 * u ← ρu + (1−ρ)Δ²; w ← w − lr·Δ.
 */
export class Adadelta extends ParameterwiseOptimizer<AdadeltaHyper, AdadeltaState> {
  /** The class name saved in optimizer state dicts. */
  static readonly className = 'Adadelta';
  /** Its update is the fused adadeltaStep where the kernel table has one. */
  protected override readonly updatesThroughFusedKernels = true;

  constructor(params: OptimizerParams<AdadeltaHyper>, options: AdadeltaOptions = {}) {
    super(params, { lr: 1.0, rho: 0.9, eps: 1e-6, weightDecay: 0, maximize: false }, options);
  }

  protected checkHyper(h: AdadeltaHyper, check: HyperCheck): void {
    check.nonNegative('lr', h.lr);
    check.inRange('rho', h.rho, 0, 1);
    check.nonNegative('eps', h.eps);
    check.nonNegative('weightDecay', h.weightDecay);
    check.boolean('maximize', h.maximize);
  }

  protected initState(p: Tensor): AdadeltaState {
    return { step: 0, squareAvg: this.zerosLike(p), accDelta: this.zerosLike(p) };
  }

  protected updateParameter(w: FloatArray, g: FloatArray, state: AdadeltaState, group: ParamGroup<AdadeltaHyper>): void {
    state.step += 1;
    const v = state.squareAvg.data as FloatArray;
    const u = state.accDelta.data as FloatArray;
    if (!fusedStep('adadeltaStep')?.(w, g, v, u, group)) adadeltaUpdate(w, g, v, u, group);
  }
}

/** The Adadelta rule, in place: torch.optim.Adadelta's single-tensor update (v: mean square gradient, u: mean square step). */
export function adadeltaUpdate(w: FloatArray, g: FloatArray, v: FloatArray, u: FloatArray, o: AdadeltaHyper): void {
  const { lr, rho, eps, weightDecay, maximize } = o;
  const negLr = -lr;
  const share = 1 - rho;
  for (let i = 0; i < w.length; i++) {
    let gi = maximize ? -g[i] : g[i];
    if (weightDecay !== 0) gi = gi + weightDecay * w[i];
    v[i] = v[i] * rho + share * gi * gi;
    const delta = (Math.sqrt(u[i] + eps) / Math.sqrt(v[i] + eps)) * gi;
    u[i] = u[i] * rho + share * delta * delta;
    w[i] = w[i] + negLr * delta;
  }
}
