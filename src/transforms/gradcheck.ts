import { gradients } from '../autograd/backward.js';
import { enableGrad, noGrad } from '../core/engine.js';
import { DTypeError, fmtShape, NeuriteError, ValueError } from '../core/errors.js';
import { Generator } from '../core/random.js';
import { Tensor } from '../core/tensor.js';

/** Tolerances and step of gradcheck(). */
export interface GradcheckOptions {
  /** Central-difference step. */
  eps?: number;
  /** Absolute tolerance. */
  atol?: number;
  /** Relative tolerance. */
  rtol?: number;
  /** Which arguments to check (default: every float64 argument). */
  argnums?: readonly number[];
  /** Random output weightings to check; each checks vᵀJ for one random v. */
  projections?: number;
  /** Throw a GradcheckError on failure (default true); otherwise return the report. */
  raiseOnFailure?: boolean;
}

/** One element whose analytic and numeric gradients differ beyond the tolerance. */
export interface GradcheckMismatch {
  /** Which input (0-based). */
  argnum: number;
  /** Flat index of the element within that input. */
  index: number;
  /** The gradient from backward(). */
  analytic: number;
  /** The central finite-difference estimate. */
  numeric: number;
}

/** What gradcheck() found. */
export interface GradcheckReport {
  /** True when every element agreed within tolerance. */
  ok: boolean;
  /** The largest absolute difference over every element checked. */
  maxAbsError: number;
  /** The elements that failed, in input order. */
  mismatches: GradcheckMismatch[];
}

export class GradcheckError extends NeuriteError {
  /** The class name as a literal, so that it survives minifiers that rename classes. */
  override name = 'GradcheckError';
}

/**
 * Compare backpropagated gradients with central finite differences,
 * (f(x + eps) - f(x - eps)) / 2eps, element by element, in float64. For a
 * non-scalar f it checks vᵀJ for random v (fixed seed), which catches a wrong
 * Jacobian with probability one.
 */
export function gradcheck(f: (...args: Tensor[]) => Tensor, args: readonly Tensor[], options: GradcheckOptions = {}): GradcheckReport {
  const eps = options.eps ?? 1e-6;
  const atol = options.atol ?? 1e-5;
  const rtol = options.rtol ?? 1e-3;
  const argnums = options.argnums ?? args.map((a, i) => (a.dtype === 'float64' ? i : -1)).filter((i) => i >= 0);
  if (argnums.length === 0) throw new ValueError('gradcheck: no float64 argument to check');
  for (const i of argnums) {
    if (!(args[i] instanceof Tensor)) throw new ValueError(`gradcheck: argument ${i} is not a Tensor`);
    if (args[i].dtype !== 'float64') throw new DTypeError(`gradcheck: argument ${i} is ${args[i].dtype}; finite differences need float64`);
  }
  const leaves = args.map((a, i) => (argnums.includes(i) ? a.detach().requiresGrad_() : a));
  const rng = new Generator(1234);
  const mismatches: GradcheckMismatch[] = [];
  let maxAbsError = 0;
  for (let p = 0; p < (options.projections ?? 2); p++) {
    const y = enableGrad(() => f(...leaves));
    if (!(y instanceof Tensor)) throw new ValueError('gradcheck: the function must return a Tensor');
    const v = new Tensor(new Float64Array(y.size), y.shape);
    for (let i = 0; i < y.size; i++) v.data[i] = y.size === 1 ? 1 : rng.nextNormal();
    const weighted = (t: Tensor) => {
      let s = 0;
      for (let i = 0; i < t.size; i++) s += t.data[i] * v.data[i];
      return s;
    };
    const analytic = gradients(
      y.cast('float64'),
      argnums.map((i) => leaves[i]),
      [v],
    );
    argnums.forEach((argnum, which) => {
      const x = leaves[argnum];
      const a = analytic[which];
      if (a.ndim !== x.ndim || a.shape.some((d, i) => d !== x.shape[i])) {
        throw new GradcheckError(`gradcheck: the gradient of argument ${argnum} has shape ${fmtShape(a.shape)}, expected ${fmtShape(x.shape)}`);
      }
      for (let i = 0; i < x.size; i++) {
        const orig = x.data[i];
        x.data[i] = orig + eps;
        const fp = noGrad(() => weighted(f(...leaves)));
        x.data[i] = orig - eps;
        const fm = noGrad(() => weighted(f(...leaves)));
        x.data[i] = orig;
        const numeric = (fp - fm) / (2 * eps);
        const err = Math.abs(a.data[i] - numeric);
        if (!(err <= atol + rtol * Math.abs(numeric))) mismatches.push({ argnum, index: i, analytic: a.data[i], numeric });
        if (err > maxAbsError || Number.isNaN(err)) maxAbsError = Number.isNaN(err) ? Number.NaN : err;
      }
    });
    if (y.size === 1) break;
  }
  const report = { ok: mismatches.length === 0, maxAbsError, mismatches };
  if (!report.ok && (options.raiseOnFailure ?? true)) {
    const m = mismatches[0];
    throw new GradcheckError(
      `gradcheck: ${mismatches.length} gradient entries disagree with finite differences; first: argument ${m.argnum}, element ${m.index}: backprop ${m.analytic}, numeric ${m.numeric} (atol ${atol}, rtol ${rtol})`,
    );
  }
  return report;
}
