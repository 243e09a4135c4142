import type { FloatArray } from '../core/dtype.js';
import type { Tensor } from '../core/tensor.js';
import { type AdamStepOptions, fusedStep } from '../ops/primitives.js';
import { type HyperCheck, show } from './hyperparams.js';
import { type OptimizerParams, ParameterwiseOptimizer, type ParamGroup } from './optimizer.js';

/** Options of Adam and AdamW. */
export interface AdamOptions {
  /** Learning rate (default 1e-3). */
  lr?: number;
  /** Decay rates [β1, β2] of the first and second moment averages (default [0.9, 0.999]). */
  betas?: readonly [number, number];
  /** Added to the denominator (default 1e-8). */
  eps?: number;
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay of the weights (default 1e-2). */
  weightDecay?: number;
  /** Use the running maximum of the second moment (Reddi et al., 2018). */
  amsgrad?: boolean;
  /** Ascend the objective instead of descending (default false). */
  maximize?: boolean;
}

/** Hyper-parameters with every default filled in (what each parameter group holds). */
export type AdamHyper = Required<AdamOptions>;

/** Per-parameter state of Adam: the step count and moment estimates. */
export interface AdamState {
  /** Updates applied so far (for bias correction). */
  step: number;
  /** First moment m. */
  expAvg: Tensor;
  /** Second moment v. */
  expAvgSq: Tensor;
  /** max over steps of v, only with amsgrad. */
  maxExpAvgSq?: Tensor;
}

/**
 * The update shared by Adam and AdamW, which differ only in where the weight
 * decay goes: into the gradient (Adam, an L2 penalty that the adaptive scaling
 * then distorts) or straight onto the weights (AdamW, Loshchilov and Hutter).
 */
export abstract class AdamFamily extends ParameterwiseOptimizer<AdamHyper, AdamState> {
  /** Whether weight decay is applied to the weights directly (AdamW) rather than through the gradient (Adam). */
  protected abstract readonly decoupledWeightDecay: boolean;
  /** Its update is the fused adamStep where the kernel table has one. */
  protected override readonly updatesThroughFusedKernels = true;

  protected constructor(params: OptimizerParams<AdamHyper>, defaults: AdamHyper, options: AdamOptions) {
    super(params, defaults, options);
  }

  protected checkHyper(h: AdamHyper, check: HyperCheck): void {
    check.nonNegative('lr', h.lr);
    if (!Array.isArray(h.betas) || h.betas.length !== 2) check.fail(`betas must be a pair [beta1, beta2], got ${show(h.betas)}`);
    check.inRange('betas[0]', h.betas[0], 0, 1, '[)');
    check.inRange('betas[1]', h.betas[1], 0, 1, '[)');
    check.nonNegative('eps', h.eps);
    check.nonNegative('weightDecay', h.weightDecay);
    check.boolean('amsgrad', h.amsgrad);
    check.boolean('maximize', h.maximize);
  }

  protected initState(p: Tensor): AdamState {
    return { step: 0, expAvg: this.zerosLike(p), expAvgSq: this.zerosLike(p) };
  }

  protected updateParameter(w: FloatArray, g: FloatArray, state: AdamState, group: ParamGroup<AdamHyper>, p: Tensor): void {
    const { lr, betas, eps, weightDecay, amsgrad, maximize } = group;
    if (amsgrad && state.maxExpAvgSq === undefined) state.maxExpAvgSq = this.zerosLike(p);
    state.step += 1;
    const vMax = amsgrad ? ((state.maxExpAvgSq as Tensor).data as FloatArray) : null;
    const m = state.expAvg.data as FloatArray;
    const v = state.expAvgSq.data as FloatArray;
    const options = {
      lr,
      beta1: betas[0],
      beta2: betas[1],
      eps,
      weightDecay,
      step: state.step,
      decoupled: this.decoupledWeightDecay,
      maximize,
    };
    if (!fusedStep('adamStep')?.(w, g, m, v, vMax, options)) adamUpdate(w, g, m, v, vMax, options);
  }
}

/**
 * The Adam/AdamW rule, torch.optim.Adam's single-tensor update, in place
 * (scalars in double): the specification that a backend's fused `adamStep`
 * accelerates (the parity tests compare the two).
 */
export function adamUpdate(w: FloatArray, g: FloatArray, m: FloatArray, v: FloatArray, vMax: FloatArray | null, o: AdamStepOptions): void {
  const { lr, beta1, beta2, eps, weightDecay, step, decoupled, maximize } = o;
  const share1 = 1 - beta1;
  const share2 = 1 - beta2;
  const shrink = 1 - lr * weightDecay;
  const negStepSize = -(lr / (1 - beta1 ** step));
  const bias2Sqrt = Math.sqrt(1 - beta2 ** step);
  for (let i = 0; i < w.length; i++) {
    let gi = maximize ? -g[i] : g[i];
    if (weightDecay !== 0) {
      if (decoupled) w[i] = w[i] * shrink;
      else gi = gi + weightDecay * w[i];
    }
    m[i] = m[i] * beta1 + share1 * gi;
    v[i] = v[i] * beta2 + share2 * gi * gi;
    let second = v[i];
    if (vMax !== null) {
      // Math.max, like torch.maximum, propagates NaN.
      vMax[i] = Math.max(vMax[i], v[i]);
      second = vMax[i];
    }
    const denom = Math.sqrt(second) / bias2Sqrt + eps;
    w[i] = w[i] + (negStepSize * m[i]) / denom;
  }
}

/**
 * Adam (Kingma and Ba, 2015): m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g²,
 * w ← w − (lr / (1−β1ᵗ))·m / (√v / √(1−β2ᵗ) + eps). Weight decay is an L2
 * term added to g; see {@link AdamW} for the decoupled form.
 */
export class Adam extends AdamFamily {
  /** The class name saved in optimizer state dicts. */
  static readonly className = 'Adam';
  /** Adam adds weight decay to the gradient. */
  protected readonly decoupledWeightDecay = false;

  constructor(params: OptimizerParams<AdamHyper>, options: AdamOptions = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, maximize: false }, options);
  }
}
