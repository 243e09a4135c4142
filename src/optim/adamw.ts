import { AdamFamily, type AdamHyper, type AdamOptions } from './adam.js';
import type { OptimizerParams } from './optimizer.js';

/**
 * AdamW (Loshchilov and Hutter, 2019): Adam with the weight decay applied to
 * the weights, w ← w·(1 − lr·weightDecay), before the Adam step on the
 * unmodified gradient, so that decay is not scaled by 1/√v. weightDecay
 * defaults to 1e-2.
 */
export class AdamW extends AdamFamily {
  /** The class name saved in optimizer state dicts. */
  static readonly className = 'AdamW';
  /** AdamW decays the weights directly. */
  protected readonly decoupledWeightDecay = true;

  constructor(params: OptimizerParams<AdamHyper>, options: AdamOptions = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, amsgrad: false, maximize: false }, options);
  }
}
