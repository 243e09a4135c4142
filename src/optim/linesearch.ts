/** The loss and flat gradient at x + t·d, for a trial step t along direction d. */
export type DirectionalObjective = (t: number) => {
  /** The loss at x + t·d. */
  loss: number;
  /** The flat gradient at x + t·d. */
  grad: Float64Array;
};

/** Constants and budget of the strong-Wolfe line search. */
export interface StrongWolfeOptions {
  /** Sufficient-decrease (Armijo) constant (default 1e-4). */
  c1?: number;
  /** Curvature constant (default 0.9). */
  c2?: number;
  /** Stop refining once the bracket, measured along d, is shorter than this (default 1e-9). */
  toleranceChange?: number;
  /** Evaluation budget (default 25). */
  maxLs?: number;
}

/** What strongWolfe() found. */
export interface LineSearchResult {
  /** The accepted step t. */
  t: number;
  /** The loss at the accepted step. */
  loss: number;
  /** The flat gradient at the accepted step. */
  grad: Float64Array;
  /** How many times the objective was evaluated. */
  evals: number;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * The minimizer of the cubic that matches φ and φ' at two trial steps x1, x2
 * (Nocedal and Wright, Numerical Optimization, 2nd ed., eq. 3.59), clamped to
 * `bounds` (default: the interval between the two points). When the cubic has
 * no real stationary point, the middle of the bounds.
 */
export function cubicInterpolate(x1: number, f1: number, g1: number, x2: number, f2: number, g2: number, bounds?: readonly [number, number]): number {
  const [lo, hi] = bounds ?? (x1 <= x2 ? [x1, x2] : [x2, x1]);
  const d1 = g1 + g2 - (3 * (f1 - f2)) / (x1 - x2);
  const d2Square = d1 * d1 - g1 * g2;
  if (!(d2Square >= 0)) return (lo + hi) / 2;
  const d2 = Math.sqrt(d2Square);
  // The formula is written from the larger of the two points, which fixes the sign of d2.
  const minPos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2)) : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
  return Math.min(Math.max(minPos, lo), hi);
}

/**
 * A step length t along the descent direction d satisfying the strong Wolfe
 * conditions, φ(t) ≤ φ(0) + c1·t·φ'(0) and |φ'(t)| ≤ c2·|φ'(0)|, where
 * φ(t) = f(x + t·d) (Nocedal and Wright, Algorithms 3.5 and 3.6).
 *
 * The first phase grows the trial step (by cubic extrapolation within
 * [t + 0.01(t − t_prev), 10t]) until it brackets an acceptable point; the
 * second ("zoom") shrinks the bracket by cubic interpolation, moving a trial
 * that lands within 10% of an end to that 10% mark when the previous trial made
 * too little progress. The constants and the stopping rules are those of
 * Schmidt's minFunc, which torch's lswolfe and torch.optim.LBFGS follow, so
 * that trajectories can be compared with PyTorch's.
 *
 * @param evaluate φ and ∇f at x + t·d
 * @param t0 the first trial step
 * @param d the search direction
 * @param f0 φ(0)
 * @param g0 ∇f(x)
 * @param gtd0 φ'(0) = ∇f(x)·d, negative for a descent direction
 */
export function strongWolfe(
  evaluate: DirectionalObjective,
  t0: number,
  d: Float64Array,
  f0: number,
  g0: Float64Array,
  gtd0: number,
  options: StrongWolfeOptions = {},
): LineSearchResult {
  const c1 = options.c1 ?? 1e-4;
  const c2 = options.c2 ?? 0.9;
  const toleranceChange = options.toleranceChange ?? 1e-9;
  const maxLs = options.maxLs ?? 25;
  let dMax = 0;
  for (let i = 0; i < d.length; i++) dMax = Math.max(dMax, Math.abs(d[i]));
  const armijo = (t: number, f: number) => f > f0 + c1 * t * gtd0;
  const curvature = (gtd: number) => Math.abs(gtd) <= -c2 * gtd0;

  let t = t0;
  let { loss: fNew, grad: gNew } = evaluate(t);
  let evals = 1;
  let gtdNew = dot(gNew, d);

  let tPrev = 0;
  let fPrev = f0;
  let gPrev = g0;
  let gtdPrev = gtd0;
  // Bracket [a, b] with the loss, gradient and slope at each end.
  let bracket: number[] = [];
  let bracketF: number[] = [];
  let bracketG: Float64Array[] = [];
  let bracketGtd: number[] = [];
  let done = false;
  let lsIter = 0;
  while (lsIter < maxLs) {
    if (armijo(t, fNew) || (lsIter > 1 && fNew >= fPrev)) {
      bracket = [tPrev, t];
      bracketF = [fPrev, fNew];
      bracketG = [gPrev, gNew];
      bracketGtd = [gtdPrev, gtdNew];
      break;
    }
    if (curvature(gtdNew)) {
      bracket = [t];
      bracketF = [fNew];
      bracketG = [gNew];
      done = true;
      break;
    }
    if (gtdNew >= 0) {
      bracket = [tPrev, t];
      bracketF = [fPrev, fNew];
      bracketG = [gPrev, gNew];
      bracketGtd = [gtdPrev, gtdNew];
      break;
    }
    // Still descending at t: extrapolate beyond it.
    const minStep = t + 0.01 * (t - tPrev);
    const maxStep = t * 10;
    const next = cubicInterpolate(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, [minStep, maxStep]);
    tPrev = t;
    fPrev = fNew;
    gPrev = gNew;
    gtdPrev = gtdNew;
    t = next;
    ({ loss: fNew, grad: gNew } = evaluate(t));
    evals++;
    gtdNew = dot(gNew, d);
    lsIter++;
  }
  if (lsIter === maxLs) {
    // Out of budget while extrapolating: choose between the start and the last trial.
    bracket = [0, t];
    bracketF = [f0, fNew];
    bracketG = [g0, gNew];
  }

  let insufficientProgress = false;
  let low = bracketF[0] <= bracketF[bracketF.length - 1] ? 0 : 1;
  let high = 1 - low;
  while (!done && lsIter < maxLs) {
    if (Math.abs(bracket[1] - bracket[0]) * dMax < toleranceChange) break;
    t = cubicInterpolate(bracket[0], bracketF[0], bracketGtd[0], bracket[1], bracketF[1], bracketGtd[1]);
    const bMax = Math.max(bracket[0], bracket[1]);
    const bMin = Math.min(bracket[0], bracket[1]);
    const margin = 0.1 * (bMax - bMin);
    if (Math.min(bMax - t, t - bMin) < margin) {
      if (insufficientProgress || t >= bMax || t <= bMin) {
        t = Math.abs(t - bMax) < Math.abs(t - bMin) ? bMax - margin : bMin + margin;
        insufficientProgress = false;
      } else {
        insufficientProgress = true;
      }
    } else {
      insufficientProgress = false;
    }
    ({ loss: fNew, grad: gNew } = evaluate(t));
    evals++;
    gtdNew = dot(gNew, d);
    lsIter++;
    if (armijo(t, fNew) || fNew >= bracketF[low]) {
      // Not low enough: t replaces the high end.
      bracket[high] = t;
      bracketF[high] = fNew;
      bracketG[high] = gNew;
      bracketGtd[high] = gtdNew;
      low = bracketF[0] <= bracketF[1] ? 0 : 1;
      high = 1 - low;
    } else {
      if (curvature(gtdNew)) {
        done = true;
      } else if (gtdNew * (bracket[high] - bracket[low]) >= 0) {
        // The slope at t points away from the high end, so the old low end becomes the high one.
        bracket[high] = bracket[low];
        bracketF[high] = bracketF[low];
        bracketG[high] = bracketG[low];
        bracketGtd[high] = bracketGtd[low];
      }
      bracket[low] = t;
      bracketF[low] = fNew;
      bracketG[low] = gNew;
      bracketGtd[low] = gtdNew;
    }
  }
  return { t: bracket[low], loss: bracketF[low], grad: bracketG[low], evals };
}
