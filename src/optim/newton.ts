import { gradients } from '../autograd/backward.js';
import type { FloatArray } from '../core/dtype.js';
import { AutogradError, NeuriteError, SerializationError, ValueError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import type { HyperCheck } from './hyperparams.js';
import { type Closure, Optimizer, type OptimizerParams, type ParamGroup, type ParamGroupSpec } from './optimizer.js';
import type { StateValue } from './statedict.js';

/** Options of Newton's method. */
export interface NewtonOptions {
  /** Fraction of the Newton step taken (default 1: the full step to the minimum of the local quadratic model). */
  lr?: number;
  /** λ ≥ 0 added to the Hessian's diagonal (Levenberg–Marquardt style; default 0). */
  damping?: number;
  /**
   * What to do when H + λI is singular: 'throw' (default) a SingularHessianError,
   * or 'gradientStep': take w ← w − lr·g for this step instead.
   */
  onSingular?: 'throw' | 'gradientStep';
}

/** Hyper-parameters with every default filled in (what each parameter group holds). */
export type NewtonHyper = Required<NewtonOptions>;

/** State of Newton's method. */
export interface NewtonState {
  /** Number of step() calls. */
  step: number;
  /** How the last step was solved: 'cholesky', 'lu' or 'gradient'. */
  lastSolve: 'cholesky' | 'lu' | 'gradient';
}

/** H + λI has no inverse (to working precision), so the Newton step is undefined. */
export class SingularHessianError extends NeuriteError {
  override name = 'SingularHessianError';
}

/** Pivots at most n·ε·max|A| count as zero: A is singular to working precision. */
function pivotTolerance(a: Float64Array, n: number): number {
  let scale = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]));
  return n * Number.EPSILON * scale;
}

/**
 * Solve A·x = b for symmetric positive definite A (n×n, row-major) by
 * Cholesky factorization A = L·Lᵀ; null when A is not positive definite, or
 * so close to singular that a pivot is lost in rounding.
 */
function choleskySolve(a: Float64Array, b: Float64Array, n: number): Float64Array | null {
  const l = new Float64Array(n * n);
  const tiny = pivotTolerance(a, n);
  for (let j = 0; j < n; j++) {
    let diag = a[j * n + j];
    for (let k = 0; k < j; k++) diag -= l[j * n + k] * l[j * n + k];
    if (!(diag > tiny)) return null;
    const ljj = Math.sqrt(diag);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      l[i * n + j] = s / ljj;
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * n + k] * y[k];
    y[i] = s / l[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * x[k];
    x[i] = s / l[i * n + i];
  }
  return x;
}

/**
 * Solve A·x = b by LU factorization with partial pivoting; null when A is
 * singular to working precision.
 */
function luSolve(a: Float64Array, b: Float64Array, n: number): Float64Array | null {
  const m = a.slice();
  const x = b.slice();
  const tiny = pivotTolerance(a, n);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r * n + col]) > Math.abs(m[pivot * n + col])) pivot = r;
    if (!(Math.abs(m[pivot * n + col]) > tiny)) return null;
    if (pivot !== col) {
      for (let c = 0; c < n; c++) {
        const tmp = m[col * n + c];
        m[col * n + c] = m[pivot * n + c];
        m[pivot * n + c] = tmp;
      }
      const tmp = x[col];
      x[col] = x[pivot];
      x[pivot] = tmp;
    }
    const p = m[col * n + col];
    for (let r = col + 1; r < n; r++) {
      const f = m[r * n + col] / p;
      if (f === 0) continue;
      for (let c = col; c < n; c++) m[r * n + c] -= f * m[col * n + c];
      x[r] -= f * x[col];
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i];
    for (let c = i + 1; c < n; c++) s -= m[i * n + c] * x[c];
    x[i] = s / m[i * n + i];
  }
  return x;
}

/**
 * Newton's method for small models: w ← w − lr·(H + λI)⁻¹·g, with g and the
 * exact Hessian H of the closure's loss over all parameters (flattened into
 * one vector, in float64) computed by automatic differentiation: one
 * backward pass with a recorded graph gives g, then one pass per parameter
 * element gives a row of H. That is n backward passes and n² memory for n
 * weights, so keep n in the hundreds.
 *
 * The linear system is solved by Cholesky when H + λI is positive definite,
 * which also guarantees a descent direction. Otherwise it is solved by LU with
 * partial pivoting: that is still the classical Newton–Raphson step, which
 * moves to the stationary point of the local quadratic model (possibly a
 * saddle or a maximum); raise `damping` to force descent. A matrix that is
 * singular to working precision throws a {@link SingularHessianError} unless
 * `onSingular: 'gradientStep'` asks for a plain gradient step instead. The
 * default is to throw, because silently switching methods would hide a
 * degenerate model (a dead unit, a redundant parameter).
 *
 * The closure returns the loss; it need not call backward(). If it does, it
 * must pass `backward(undefined, {retainGraph: true})`, because Newton differentiates the same
 * graph again. Newton neither reads nor writes `.grad`.
 */
export class Newton extends Optimizer<NewtonHyper, NewtonState> {
  /** The class name saved in optimizer state dicts. */
  static readonly className = 'Newton';

  constructor(params: OptimizerParams<NewtonHyper>, options: NewtonOptions = {}) {
    super(params, { lr: 1, damping: 0, onSingular: 'throw' }, options);
  }

  protected checkHyper(h: NewtonHyper, check: HyperCheck): void {
    check.nonNegative('lr', h.lr);
    check.nonNegative('damping', h.damping);
    check.oneOf('onSingular', h.onSingular, ['throw', 'gradientStep']);
  }

  override addParamGroup(spec: ParamGroupSpec<NewtonHyper>): void {
    if (this.paramGroups.length > 0) throw new ValueError('Newton: supports one parameter group; put every parameter in it');
    super.addParamGroup(spec);
  }

  protected updateGroup(_group: ParamGroup<NewtonHyper>): void {
    throw new ValueError('Newton: step() needs a closure that returns the loss');
  }

  /** One Newton step; returns the closure's loss at the point before the step. */
  override step(closure: Closure): Tensor {
    if (typeof closure !== 'function') throw new ValueError('Newton: step() needs a closure that returns the loss');
    const group = this.paramGroups[0];
    const params = group.params;
    for (const [i, p] of params.entries()) {
      if (!p.requiresGrad) throw new ValueError(`Newton: parameter ${i} does not require a gradient`);
    }
    const loss = this.evaluate(closure);
    if (loss.size !== 1) throw new ValueError(`Newton: the closure must return a single-element loss, got shape [${loss.shape.join(', ')}]`);
    if (!loss.requiresGrad) throw new ValueError('Newton: the loss does not depend on the parameters (or was computed under noGrad)');
    const offsets: number[] = [];
    let n = 0;
    for (const p of params) {
      offsets.push(n);
      n += p.size;
    }

    let grads: Tensor[];
    try {
      grads = gradients(loss, params, undefined, { createGraph: true });
    } catch (e) {
      if (e instanceof AutogradError) {
        throw new AutogradError(
          `Newton: cannot differentiate the closure's loss (${e.message}); return the loss without calling backward(), or call backward(undefined, {retainGraph: true})`,
        );
      }
      throw e;
    }
    const g = new Float64Array(n);
    grads.forEach((gp, j) => {
      g.set(gp.data, offsets[j]);
    });

    // Row r of H is the gradient of g[r]: a backward pass from the recorded gradient, seeded with a one-hot vector.
    const h = new Float64Array(n * n);
    grads.forEach((gp, j) => {
      for (let k = 0; k < gp.size; k++) {
        const row = offsets[j] + k;
        if (!gp.requiresGrad) continue; // g[row] is constant, so its row of H is zero
        const seed = new Tensor(new (gp.data.constructor as Float64ArrayConstructor)(gp.size), gp.shape);
        seed.data[k] = 1;
        const rowGrads = gradients(gp, params, [seed], { retainGraph: true });
        rowGrads.forEach((rg, q) => {
          h.set(rg.data, row * n + offsets[q]);
        });
      }
    });
    // Mixed partials agree in exact arithmetic; averaging removes rounding asymmetry before Cholesky.
    for (let r = 0; r < n; r++) {
      for (let c = r + 1; c < n; c++) {
        const avg = 0.5 * (h[r * n + c] + h[c * n + r]);
        h[r * n + c] = avg;
        h[c * n + r] = avg;
      }
      h[r * n + r] += group.damping;
    }

    let state = this.state.get(params[0]);
    if (state === undefined) {
      state = { step: 0, lastSolve: 'cholesky' };
      this.state.set(params[0], state);
    }
    let direction = choleskySolve(h, g, n);
    state.lastSolve = 'cholesky';
    if (direction === null) {
      direction = luSolve(h, g, n);
      state.lastSolve = 'lu';
    }
    if (direction === null) {
      if (group.onSingular === 'throw') {
        throw new SingularHessianError(
          `Newton: the Hessian${group.damping > 0 ? ` plus damping ${group.damping}` : ''} is singular at this point (${n} parameters); pass a positive damping, or onSingular: 'gradientStep'`,
        );
      }
      direction = g;
      state.lastSolve = 'gradient';
    }
    state.step += 1;
    const negLr = -group.lr;
    params.forEach((p, j) => {
      const w = p.data as FloatArray;
      const o = offsets[j];
      for (let i = 0; i < w.length; i++) w[i] = w[i] + negLr * (direction as Float64Array)[o + i];
    });
    return loss;
  }

  protected override restoreState(param: Tensor, raw: Record<string, StateValue>, where: string): NewtonState {
    if (param !== this.paramGroups[0].params[0]) throw new SerializationError(`${where}: Newton keeps its state under parameter 0 only`);
    const { step, lastSolve } = raw;
    if (typeof step !== 'number' || !Number.isInteger(step) || step < 0)
      throw new SerializationError(`${where}.step: expected a non-negative integer, got ${JSON.stringify(step)}`);
    if (lastSolve !== 'cholesky' && lastSolve !== 'lu' && lastSolve !== 'gradient') {
      throw new SerializationError(`${where}.lastSolve: expected 'cholesky', 'lu' or 'gradient', got ${JSON.stringify(lastSolve)}`);
    }
    return { step, lastSolve };
  }
}
