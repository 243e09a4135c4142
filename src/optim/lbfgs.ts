import type { FloatArray } from '../core/dtype.js';
import { SerializationError, ValueError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import type { HyperCheck } from './hyperparams.js';
import { strongWolfe } from './linesearch.js';
import { type Closure, Optimizer, type OptimizerParams, type ParamGroup, type ParamGroupSpec } from './optimizer.js';
import type { StateValue } from './statedict.js';

/** Options of LBFGS (PyTorch's names and defaults). */
export interface LBFGSOptions {
  /** Scales every step (default 1). */
  lr?: number;
  /** Iterations per step() call (default 20). */
  maxIter?: number;
  /** Closure evaluations per step() call (default ⌊1.25·maxIter⌋). */
  maxEval?: number;
  /** Stop when every gradient element is at most this in magnitude (default 1e-7). */
  toleranceGrad?: number;
  /** Stop when the loss or the step changes by less than this (default 1e-9). */
  toleranceChange?: number;
  /** How many (s, y) pairs approximate the inverse Hessian (default 100). */
  historySize?: number;
  /** null: fixed step lr (after the first iteration); 'strongWolfe' (or PyTorch's 'strong_wolfe'): a strong-Wolfe line search. */
  lineSearchFn?: 'strongWolfe' | 'strong_wolfe' | null;
}

/** Hyper-parameters with every default filled in (what each parameter group holds). */
export interface LBFGSHyper {
  /** Step scale. */
  lr: number;
  /** Iterations per step() call. */
  maxIter: number;
  /** Closure evaluations per step() call. */
  maxEval: number;
  /** Stop when every gradient element is at most this in magnitude. */
  toleranceGrad: number;
  /** Stop when the loss or step changes by less than this. */
  toleranceChange: number;
  /** Curvature pairs kept. */
  historySize: number;
  /** The line search, or null for a fixed step. */
  lineSearchFn: 'strongWolfe' | 'strong_wolfe' | null;
}

/**
 * L-BFGS keeps one state for the whole problem (stored under the first
 * parameter, as PyTorch does). Vectors are flat over all parameters, float64.
 */
export interface LBFGSState {
  /** Closure evaluations and iterations over all step() calls. */
  funcEvals: number;
  /** Iterations so far. */
  nIter: number;
  /** Last search direction and step length. */
  d: Tensor | null;
  /** Last step length. */
  t: number | null;
  /** Gradient differences y_k and steps s_k (newest last), with ρ_k = 1/(y_k·s_k). */
  oldDirs: Tensor[];
  /** Past steps s_k. */
  oldStps: Tensor[];
  /** 1 / (y_k · s_k) for each pair. */
  ro: number[];
  /** Scale γ of the initial inverse Hessian γI. */
  hDiag: number;
  /** The gradient at the last iterate. */
  prevFlatGrad: Tensor | null;
  /** The loss at the last iterate. */
  prevLoss: number | null;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const v = Math.abs(a[i]);
    if (v > m || Number.isNaN(v)) m = v;
  }
  return m;
}

function flat(t: Tensor | null): Float64Array | null {
  return t === null ? null : (t.data as Float64Array);
}

function vec(a: Float64Array): Tensor {
  return new Tensor(a, [a.length]);
}

/**
 * Limited-memory BFGS (Nocedal and Wright, Algorithm 7.4 and 7.5): the search
 * direction is −H·g, with the inverse Hessian H built by the two-loop recursion
 * from the last `historySize` steps and gradient changes. Each step() runs up
 * to `maxIter` iterations and calls the closure several times, so the closure
 * must zero the gradients, compute the loss, call backward() and return the
 * loss. Works on one parameter group; its parameters are treated as one
 * flat vector. The iteration, its stopping tests and the line search follow
 * torch.optim.LBFGS, and the trajectories agree with PyTorch's.
 *
 * @example
 * const opt = new LBFGS(model.parameters(), { lineSearchFn: 'strongWolfe' });
 * for (let i = 0; i < 10; i++) opt.step(() => { opt.zeroGrad(); const l = loss(); l.backward(); return l; });
 */
export class LBFGS extends Optimizer<LBFGSHyper, LBFGSState> {
  /** The class name saved in optimizer state dicts. */
  static readonly className = 'LBFGS';

  constructor(params: OptimizerParams<LBFGSHyper>, options: LBFGSOptions = {}) {
    const maxIter = options.maxIter ?? 20;
    const defaults: LBFGSHyper = {
      lr: 1,
      maxIter,
      maxEval: Number.isInteger(maxIter) ? Math.floor((maxIter * 5) / 4) : Number.NaN,
      toleranceGrad: 1e-7,
      toleranceChange: 1e-9,
      historySize: 100,
      lineSearchFn: null,
    };
    super(params, defaults, options);
  }

  protected checkHyper(h: LBFGSHyper, check: HyperCheck): void {
    check.nonNegative('lr', h.lr);
    check.integer('maxIter', h.maxIter);
    check.integer('maxEval', h.maxEval);
    check.nonNegative('toleranceGrad', h.toleranceGrad);
    check.nonNegative('toleranceChange', h.toleranceChange);
    check.integer('historySize', h.historySize);
    check.oneOf('lineSearchFn', h.lineSearchFn, [null, 'strongWolfe', 'strong_wolfe']);
  }

  override addParamGroup(spec: ParamGroupSpec<LBFGSHyper>): void {
    if (this.paramGroups.length > 0) throw new ValueError('LBFGS: supports one parameter group; put every parameter in it');
    super.addParamGroup(spec);
  }

  protected updateGroup(_group: ParamGroup<LBFGSHyper>): void {
    throw new ValueError('LBFGS: step() needs a closure');
  }

  private numel(): number {
    return this.paramGroups[0].params.reduce((n, p) => n + p.size, 0);
  }

  /** All gradients in one float64 vector (zeros for parameters without a gradient). */
  private gatherFlatGrad(): Float64Array {
    const out = new Float64Array(this.numel());
    let offset = 0;
    for (const p of this.paramGroups[0].params) {
      const g = this.gradData(p);
      if (g !== null) out.set(g, offset);
      offset += p.size;
    }
    return out;
  }

  /** Parameters ← parameters + t·d. */
  private addScaled(t: number, d: Float64Array): void {
    let offset = 0;
    for (const p of this.paramGroups[0].params) {
      const w = p.data as FloatArray;
      for (let i = 0; i < w.length; i++) w[i] = w[i] + t * d[offset + i];
      offset += w.length;
    }
  }

  private snapshot(): FloatArray[] {
    return this.paramGroups[0].params.map((p) => (p.data as FloatArray).slice());
  }

  private restore(saved: FloatArray[]): void {
    this.paramGroups[0].params.forEach((p, i) => {
      (p.data as FloatArray).set(saved[i]);
    });
  }

  private lossValue(loss: Tensor): number {
    if (loss.size !== 1) throw new ValueError(`LBFGS: the closure must return a single-element loss, got shape [${loss.shape.join(', ')}]`);
    return loss.data[0];
  }

  /**
   * Run up to maxIter iterations. Returns the loss the closure gave at the
   * starting point (before this call's updates), as PyTorch does.
   */
  override step(closure: Closure): Tensor {
    if (typeof closure !== 'function')
      throw new ValueError('LBFGS: step() needs a closure that zeroes the gradients, computes the loss, calls backward() and returns the loss');
    const group = this.paramGroups[0];
    const { lr, maxIter, maxEval, toleranceGrad, toleranceChange, historySize } = group;
    const params = group.params;
    let state = this.state.get(params[0]);
    if (state === undefined) {
      state = { funcEvals: 0, nIter: 0, d: null, t: null, oldDirs: [], oldStps: [], ro: [], hDiag: 1, prevFlatGrad: null, prevLoss: null };
      this.state.set(params[0], state);
    }

    const origLoss = this.evaluate(closure);
    let loss = this.lossValue(origLoss);
    let currentEvals = 1;
    state.funcEvals += 1;
    let flatGrad = this.gatherFlatGrad();
    if (maxAbs(flatGrad) <= toleranceGrad) return origLoss;

    let d = flat(state.d);
    let t = state.t;
    const oldDirs = state.oldDirs.map((x) => x.data as Float64Array);
    const oldStps = state.oldStps.map((x) => x.data as Float64Array);
    const ro = [...state.ro];
    let hDiag = state.hDiag;
    let prevFlatGrad = flat(state.prevFlatGrad);
    let prevLoss = state.prevLoss;

    let nIter = 0;
    while (nIter < maxIter) {
      nIter++;
      state.nIter++;

      if (state.nIter === 1 || d === null || t === null || prevFlatGrad === null) {
        d = flatGrad.map((v) => -v);
        oldDirs.length = 0;
        oldStps.length = 0;
        ro.length = 0;
        hDiag = 1;
      } else {
        // Update the memory with the last step s = t·d and gradient change y, if the curvature y·s is positive.
        const y = new Float64Array(flatGrad.length);
        const s = new Float64Array(flatGrad.length);
        for (let i = 0; i < y.length; i++) {
          y[i] = flatGrad[i] - prevFlatGrad[i];
          s[i] = d[i] * t;
        }
        const ys = dot(y, s);
        if (ys > 1e-10) {
          if (oldDirs.length === historySize) {
            oldDirs.shift();
            oldStps.shift();
            ro.shift();
          }
          oldDirs.push(y);
          oldStps.push(s);
          ro.push(1 / ys);
          hDiag = ys / dot(y, y);
        }
        // Two-loop recursion: d = −H·g.
        const al = new Array<number>(oldDirs.length);
        const q = flatGrad.map((v) => -v);
        for (let k = oldDirs.length - 1; k >= 0; k--) {
          al[k] = dot(oldStps[k], q) * ro[k];
          const a = -al[k];
          const yk = oldDirs[k];
          for (let i = 0; i < q.length; i++) q[i] = q[i] + a * yk[i];
        }
        const r = q.map((v) => v * hDiag);
        for (let k = 0; k < oldDirs.length; k++) {
          const a = al[k] - dot(oldDirs[k], r) * ro[k];
          const sk = oldStps[k];
          for (let i = 0; i < r.length; i++) r[i] = r[i] + a * sk[i];
        }
        d = r;
      }
      prevFlatGrad = flatGrad.slice();
      prevLoss = loss;

      // The first iteration ever has no curvature information: keep its step within 1/|g|₁.
      if (state.nIter === 1) {
        let l1 = 0;
        for (let i = 0; i < flatGrad.length; i++) l1 += Math.abs(flatGrad[i]);
        t = Math.min(1, 1 / l1) * lr;
      } else {
        t = lr;
      }
      const gtd = dot(flatGrad, d);
      if (gtd > -toleranceChange) break;

      let lsEvals = 0;
      if (group.lineSearchFn !== null) {
        const start = this.snapshot();
        const direction = d;
        const result = strongWolfe(
          (step) => {
            this.addScaled(step, direction);
            const f = this.lossValue(this.evaluate(closure));
            const g = this.gatherFlatGrad();
            this.restore(start);
            return { loss: f, grad: g };
          },
          t,
          direction,
          loss,
          flatGrad,
          gtd,
          { toleranceChange },
        );
        ({ loss, grad: flatGrad, t, evals: lsEvals } = result);
        this.addScaled(t, d);
      } else {
        this.addScaled(t, d);
        // The last iteration skips the evaluation: the next step() starts with one anyway.
        if (nIter !== maxIter) {
          loss = this.lossValue(this.evaluate(closure));
          flatGrad = this.gatherFlatGrad();
          lsEvals = 1;
        }
      }
      const optimal = maxAbs(flatGrad) <= toleranceGrad;
      currentEvals += lsEvals;
      state.funcEvals += lsEvals;

      if (nIter === maxIter || currentEvals >= maxEval || optimal) break;
      let stepMax = 0;
      for (let i = 0; i < d.length; i++) stepMax = Math.max(stepMax, Math.abs(d[i] * t));
      if (stepMax <= toleranceChange) break;
      if (Math.abs(loss - prevLoss) < toleranceChange) break;
    }

    state.d = d === null ? null : vec(d);
    state.t = t;
    state.oldDirs = oldDirs.map(vec);
    state.oldStps = oldStps.map(vec);
    state.ro = ro;
    state.hDiag = hDiag;
    state.prevFlatGrad = prevFlatGrad === null ? null : vec(prevFlatGrad);
    state.prevLoss = prevLoss;
    return origLoss;
  }

  /** Flat vectors must have the total parameter count; they stay float64. */
  protected override restoreState(param: Tensor, raw: Record<string, StateValue>, where: string): LBFGSState {
    if (param !== this.paramGroups[0].params[0]) throw new SerializationError(`${where}: L-BFGS keeps its state under parameter 0 only`);
    const n = this.numel();
    const asVec = (v: StateValue, key: string): Tensor => {
      if (!(v instanceof Tensor) || v.ndim !== 1 || v.size !== n) throw new SerializationError(`${where}.${key}: expected a vector of ${n} values`);
      return vec(Float64Array.from(v.data));
    };
    const asVecOrNull = (v: StateValue, key: string) => (v === null || v === undefined ? null : asVec(v, key));
    const asNumber = (v: StateValue, key: string): number => {
      if (typeof v !== 'number') throw new SerializationError(`${where}.${key}: expected a number, got ${JSON.stringify(v)}`);
      return v;
    };
    const asList = (v: StateValue, key: string): readonly StateValue[] => {
      if (!Array.isArray(v)) throw new SerializationError(`${where}.${key}: expected a list`);
      return v;
    };
    const oldDirs = asList(raw.oldDirs, 'oldDirs').map((v, i) => asVec(v, `oldDirs[${i}]`));
    const oldStps = asList(raw.oldStps, 'oldStps').map((v, i) => asVec(v, `oldStps[${i}]`));
    const ro = asList(raw.ro, 'ro').map((v, i) => asNumber(v, `ro[${i}]`));
    if (oldStps.length !== oldDirs.length || ro.length !== oldDirs.length) throw new SerializationError(`${where}: oldDirs, oldStps and ro differ in length`);
    return {
      funcEvals: asNumber(raw.funcEvals, 'funcEvals'),
      nIter: asNumber(raw.nIter, 'nIter'),
      d: asVecOrNull(raw.d, 'd'),
      t: raw.t === null || raw.t === undefined ? null : asNumber(raw.t, 't'),
      oldDirs,
      oldStps,
      ro,
      hDiag: asNumber(raw.hDiag, 'hDiag'),
      prevFlatGrad: asVecOrNull(raw.prevFlatGrad, 'prevFlatGrad'),
      prevLoss: raw.prevLoss === null || raw.prevLoss === undefined ? null : asNumber(raw.prevLoss, 'prevLoss'),
    };
  }
}
