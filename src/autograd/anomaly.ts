import { AnomalyError, fmtShape } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';

/*
 * Anomaly detection (see detectAnomaly in core/engine.ts): the checks that
 * record() runs on each op's output and backward on each gradient.
 */

function hasNonFinite(t: Tensor): boolean {
  const d = t.data;
  if (t.dtype !== 'float32' && t.dtype !== 'float64') return false;
  for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i])) return true;
  return false;
}

// This module's own location: stack frames under the same folder are neurite's, not the user's.
const ownRoot = (() => {
  // A script-tag bundle has no import.meta.url; then every frame counts as the user's.
  const url = typeof import.meta.url === 'string' ? import.meta.url : '';
  const cut = url.lastIndexOf('/autograd/');
  return cut < 0 ? null : url.slice(0, cut + 1);
})();

/** The first stack frame outside neurite: the line of user code that called the op. */
export function callSite(): string {
  const frames = (new Error().stack ?? '')
    .split('\n')
    .slice(1)
    .map((l) => l.trim());
  const outside = frames.find((f) => ownRoot === null || !(f.includes(ownRoot) || f.includes(ownRoot.replace(/^file:\/\//, ''))));
  return outside ?? frames.at(-1) ?? 'an unknown place';
}

function describe(inputs: readonly Tensor[]): string {
  return inputs.length === 0 ? 'no inputs' : `input${inputs.length > 1 ? 's' : ''} ${inputs.map((t) => `${t.dtype} ${fmtShape(t.shape)}`).join(', ')}`;
}

let insideBackward = 0;

/**
 * Run a vector-Jacobian product: the ops inside it are not checked one by one
 * (their NaN is reported as the backward of the op that owns them).
 */
export function runVjpUnchecked<T>(fn: () => T): T {
  insideBackward++;
  try {
    return fn();
  } finally {
    insideBackward--;
  }
}

/** Throws when `op` turned finite inputs into a NaN or infinite output. */
export function checkForward(out: Tensor, op: string, inputs: readonly Tensor[]): void {
  if (insideBackward > 0 || !hasNonFinite(out) || inputs.some(hasNonFinite)) return;
  throw new AnomalyError(
    `detectAnomaly: '${op}' produced NaN or Infinity in its ${out.dtype} ${fmtShape(out.shape)} output from finite ${describe(inputs)}; called ${callSite()}`,
  );
}

/** Throws when the backward of `op` turned a finite gradient into a NaN or infinite one. */
export function checkBackward(op: string, createdAt: string | undefined, grad: Tensor, index: number, input: Tensor, inputGrad: Tensor): void {
  if (!hasNonFinite(inputGrad) || hasNonFinite(grad)) return;
  throw new AnomalyError(
    `detectAnomaly: the backward of '${op}' produced NaN or Infinity in the gradient of its input ${index} (${input.dtype} ${fmtShape(input.shape)}) from a finite gradient of its output; the op was called ${createdAt ?? 'before anomaly detection was on'}`,
  );
}
