import type { FloatArray } from '../../core/dtype.js';
import type { AdamStepOptions, SgdStepOptions } from '../kernels.js';

/** torch.optim.SGD's single-tensor update, in place. */
export function sgdStep(w: FloatArray, g: FloatArray, buf: FloatArray | null, o: SgdStepOptions): void {
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

/** torch.optim.Adam / AdamW's single-tensor update, in place (scalars in double). */
export function adamStep(w: FloatArray, g: FloatArray, m: FloatArray, v: FloatArray, vMax: FloatArray | null, o: AdamStepOptions): void {
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
