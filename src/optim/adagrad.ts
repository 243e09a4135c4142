import type { FloatArray } from '../core/dtype.js';
import type { Tensor } from '../core/tensor.js';
import { fusedStep } from '../ops/primitives.js';
import type { HyperCheck } from './hyperparams.js';
import { type OptimizerParams, ParameterwiseOptimizer, type ParamGroup } from './optimizer.js';

/** Options of Adagrad. */
export interface AdagradOptions {
  /** Learning rate (default 1e-2). */
  lr?: number;
  /** The rate at step t is lr / (1 + (t − 1)·lrDecay) (default 0). */
  lrDecay?: number;
  /** L2 penalty folded into the gradient (default 0). */
  weightDecay?: number;
  /** Starting value of the sum of squared gradients (default 0). */
  initialAccumulatorValue?: number;
  /** Added to the root of the sum, for stability (default 1e-10). */
  eps?: number;
  /** Ascend the objective instead of descending (default false). */
  maximize?: boolean;
}

/** Hyper-parameters with every default filled in (what each parameter group holds). */
export type AdagradHyper = Required<AdagradOptions>;

/** Per-parameter state of Adagrad. */
export interface AdagradState {
  /** Updates applied so far. */
  step: number;
  /** Running sum of squared gradients. */
  sum: Tensor;
}

/**
 * Adagrad (Duchi, Hazan and Singer, 2011): a per-element rate that shrinks with
 * the sum of that element's squared gradients. g ← g + wd·w;
 * s ← s + g²; w ← w − lr_t·g / (√s + eps).
 */
export class Adagrad extends ParameterwiseOptimizer<AdagradHyper, AdagradState> {
  /** The class name saved in optimizer state dicts. */
  static readonly className = 'Adagrad';
  /** Its update is the fused adagradStep where the kernel table has one. */
  protected override readonly updatesThroughFusedKernels = true;

  constructor(params: OptimizerParams<AdagradHyper>, options: AdagradOptions = {}) {
    super(params, { lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10, maximize: false }, options);
  }

  protected checkHyper(h: AdagradHyper, check: HyperCheck): void {
    check.nonNegative('lr', h.lr);
    check.nonNegative('lrDecay', h.lrDecay);
    check.nonNegative('weightDecay', h.weightDecay);
    check.nonNegative('initialAccumulatorValue', h.initialAccumulatorValue);
    check.nonNegative('eps', h.eps);
    check.boolean('maximize', h.maximize);
  }

  protected initState(p: Tensor, group: ParamGroup<AdagradHyper>): AdagradState {
    return { step: 0, sum: this.zerosLike(p, group.initialAccumulatorValue) };
  }

  protected updateParameter(w: FloatArray, g: FloatArray, state: AdagradState, group: ParamGroup<AdagradHyper>): void {
    state.step += 1;
    if (!fusedStep('adagradStep')?.(w, g, state.sum.data as FloatArray, state.step, group))
      adagradUpdate(w, g, state.sum.data as FloatArray, state.step, group);
  }
}

/** The Adagrad rule at step `step` (from 1), in place: torch.optim.Adagrad's single-tensor update. */
export function adagradUpdate(w: FloatArray, g: FloatArray, s: FloatArray, step: number, o: AdagradHyper): void {
  const { lr, lrDecay, weightDecay, eps, maximize } = o;
  const negClr = -(lr / (1 + (step - 1) * lrDecay));
  for (let i = 0; i < w.length; i++) {
    let gi = maximize ? -g[i] : g[i];
    if (weightDecay !== 0) gi = gi + weightDecay * w[i];
    s[i] = s[i] + gi * gi;
    w[i] = w[i] + (negClr * gi) / (Math.sqrt(s[i]) + eps);
  }
}
