import { ValueError } from '../core/errors.js';
import type { AbortSignalLike } from '../core/platform.js';
import { defaultGenerator, type Generator } from '../core/random.js';
import { Tensor } from '../core/tensor.js';
import { type Fold, kFold, stratifiedKFold, TensorDataset, trainTestSplit } from '../data/dataset.js';
import { Module } from '../nn/module.js';
import type { MonitorMode } from './callbacks.js';
import { evaluate, type FitOptions, fit } from './fit.js';
import type { EpochLogs, History } from './history.js';
import { higherIsBetter, type MetricSpec } from './metrics.js';

/** Labelled samples held as tensors. */
export interface SupervisedData {
  /** Inputs. */
  x: Tensor;
  /** Targets. */
  y: Tensor;
}

/**
 * What a model builder returns: a fresh model, or a model with fit options
 * that override the shared ones for this run (a learning rate being searched,
 * say: `{model, fitOptions: {optimizer: (p) => new Adam(p, {lr})}}`).
 */
export type BuildResult =
  | Module
  | {
      /** A fresh model for this run. */
      model: Module;
      /** Fit options for this run, overriding the shared ones. */
      fitOptions?: Partial<FitOptions>;
    };

function unpack(op: string, built: BuildResult, base: FitOptions): { model: Module; fitOptions: FitOptions } {
  if (built instanceof Module) return { model: built, fitOptions: base };
  if (built !== null && typeof built === 'object' && built.model instanceof Module) return { model: built.model, fitOptions: { ...base, ...built.fitOptions } };
  throw new ValueError(`${op}: the model builder must return a Module or {model, fitOptions}`);
}

function checkData(op: string, data: SupervisedData): TensorDataset {
  if (data === null || typeof data !== 'object' || !(data.x instanceof Tensor) || !(data.y instanceof Tensor)) {
    throw new ValueError(`${op}: data must be {x, y} tensors`);
  }
  return new TensorDataset(data.x, data.y);
}

function checkFitOptions(op: string, fitOptions: FitOptions | undefined): FitOptions {
  if (fitOptions === null || typeof fitOptions !== 'object') throw new ValueError(`${op}: fitOptions {loss, optimizer, ...} are required`);
  if (fitOptions.optimizer !== undefined && typeof fitOptions.optimizer !== 'function') {
    // One optimizer instance would keep updating the first model's parameters.
    throw new ValueError(`${op}: fitOptions.optimizer must be a function (params) => optimizer, since every run trains a new model`);
  }
  return fitOptions;
}

/** Mean and population standard deviation (ddof 0, as NumPy's std) of each key over runs. */
function summarize(runs: readonly EpochLogs[]): { mean: EpochLogs; std: EpochLogs } {
  const mean: EpochLogs = {};
  const std: EpochLogs = {};
  for (const key of Object.keys(runs[0] ?? {})) {
    const values = runs.map((r) => r[key]);
    const m = values.reduce((a, b) => a + b, 0) / values.length;
    mean[key] = m;
    std[key] = Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / values.length);
  }
  return { mean, std };
}

/** Options of crossValidate(). */
export interface CrossValidateOptions {
  /** Number of folds (default 5). */
  k?: number;
  /** Shuffle before cutting folds (default true). */
  shuffle?: boolean;
  /** Keep the class proportions of `y` in every fold (default false). */
  stratify?: boolean;
  /** Generator for the fold shuffle (default: the global one). */
  generator?: Generator;
  /** Seed of a private generator for the fold shuffle. */
  seed?: number;
  /** How each fold's model is trained; `optimizer` must be a function (params) => optimizer. */
  fitOptions: FitOptions;
  /** Metrics scored on each held-out fold (default: fitOptions.metrics). The loss is always scored. */
  metrics?: readonly MetricSpec[];
  /** Stop at the next batch boundary when this signal aborts. */
  signal?: AbortSignalLike;
}

/** One fold of a cross-validation. */
export interface FoldResult {
  /** The fold (0-based). */
  fold: number;
  /** Loss and metrics on the held-out samples. */
  scores: EpochLogs;
  /** Training history of this run. */
  history: History;
  /** Training samples. */
  trainSize: number;
  /** Held-out samples. */
  testSize: number;
}

/** What crossValidate() returns: each fold's result and their mean. */
export interface CrossValidationResult {
  /** Every fold, in order. */
  folds: FoldResult[];
  /** Mean of each score over the folds. */
  mean: EpochLogs;
  /** Population standard deviation of each score over the folds. */
  std: EpochLogs;
}

function makeFolds(
  op: string,
  dataset: TensorDataset,
  k: number,
  options: { shuffle?: boolean; stratify?: boolean; generator?: Generator; seed?: number },
): Fold[] {
  if (!Number.isInteger(k) || k < 2) throw new ValueError(`${op}: k must be an integer >= 2, got ${k}`);
  const foldOptions = { shuffle: options.shuffle ?? true, generator: options.generator, seed: options.seed };
  return options.stratify ? stratifiedKFold(dataset.y as Tensor, k, foldOptions) : kFold(dataset.length, k, foldOptions);
}

async function runFolds(
  op: string,
  build: (fold: number) => BuildResult,
  dataset: TensorDataset,
  folds: readonly Fold[],
  base: FitOptions,
  metrics: readonly MetricSpec[] | undefined,
): Promise<FoldResult[] | null> {
  const results: FoldResult[] = [];
  for (let f = 0; f < folds.length; f++) {
    const { model, fitOptions } = unpack(op, build(f), base);
    const train = dataset.subset(folds[f].train);
    const test = dataset.subset(folds[f].test);
    const history = await fit(model, train, fitOptions);
    if (history.stopped === 'aborted') return null;
    const scores = await evaluate(model, test, { loss: fitOptions.loss, metrics: metrics ?? fitOptions.metrics, batchSize: fitOptions.batchSize });
    results.push({ fold: f, scores, history, trainSize: train.length, testSize: test.length });
  }
  return results;
}

/**
 * K-fold cross-validation: for each fold, build a fresh model with
 * `buildModel(fold)`, train it on the other folds, and score it on this one.
 * Resolves to the per-fold scores with their mean and standard deviation.
 * When `signal` aborts, the promise rejects with the signal's reason.
 */
export async function crossValidate(
  buildModel: (fold: number) => BuildResult,
  data: SupervisedData,
  options: CrossValidateOptions,
): Promise<CrossValidationResult> {
  const op = 'crossValidate';
  if (typeof buildModel !== 'function') throw new ValueError(`${op}: buildModel must be a function (fold) => Module`);
  const dataset = checkData(op, data);
  const base = { ...checkFitOptions(op, options?.fitOptions), signal: options.signal ?? options.fitOptions.signal };
  const folds = makeFolds(op, dataset, options.k ?? 5, options);
  const results = await runFolds(op, buildModel, dataset, folds, base, options.metrics);
  if (results === null) throw options.signal?.reason ?? new ValueError(`${op}: aborted`);
  return { folds: results, ...summarize(results.map((r) => r.scores)) };
}

/** Options of gridSearch() and randomSearch(). */
export interface SearchOptions {
  /** Shared fit options; a builder's `fitOptions` override them per candidate. `optimizer` must be a function (params) => optimizer. */
  fitOptions: FitOptions;
  /** Score candidates on these samples. */
  validationData?: SupervisedData;
  /** Or hold out this random fraction of the data, the same samples for every candidate (default 0.2). */
  validationSplit?: number;
  /** Or score each candidate by k-fold cross-validation (mean over folds). */
  cv?: number;
  /** Keep class proportions in the hold-out split or the folds (default false). */
  stratify?: boolean;
  /** The key that ranks candidates: 'loss' (default) or the name of one of the metrics. */
  metric?: string;
  /** 'min', 'max', or 'auto' (max for accuracy-like keys, else min). */
  mode?: MonitorMode;
  /** Metrics scored on the validation data (default: fitOptions.metrics). */
  metrics?: readonly MetricSpec[];
  /**
   * Reseed the global generator with this before building each candidate, so
   * that every candidate starts from the same initial randomness (weights, shuffles).
   */
  seed?: number;
  /** Generator for the hold-out split, the folds, and randomSearch's draws (default: the global one). */
  generator?: Generator;
  /** Stop between (or during) candidates; resolves with the candidates finished so far. */
  signal?: AbortSignalLike;
  /** Called after each candidate, e.g. to report progress. */
  onResult?: (result: SearchResult<Record<string, unknown>>, index: number) => void;
}

/** One candidate of a search: its parameters and scores. */
export interface SearchResult<P> {
  /** The candidate's parameters. */
  params: P;
  /** The ranking score (the `metric` key of `scores`). */
  score: number;
  /** Loss and metrics on the validation data (means over folds with `cv`). */
  scores: EpochLogs;
  /** Standard deviation of each score over folds (with `cv` only). */
  std?: EpochLogs;
  /** The training history (hold-out validation only). */
  history?: History;
  /** 1 for the best candidate. */
  rank: number;
}

type Evaluator = (params: Record<string, unknown>, index: number) => Promise<Omit<SearchResult<Record<string, unknown>>, 'rank' | 'score'> | null>;

function makeEvaluator(op: string, build: (params: Record<string, unknown>) => BuildResult, data: SupervisedData, options: SearchOptions): Evaluator {
  const dataset = checkData(op, data);
  const base = { ...checkFitOptions(op, options?.fitOptions), signal: options.signal ?? options.fitOptions.signal };
  if (options.seed !== undefined && !Number.isFinite(options.seed)) throw new ValueError(`${op}: seed must be a finite number, got ${options.seed}`);
  const reseed = () => {
    if (options.seed !== undefined) defaultGenerator.manualSeed(options.seed);
  };
  const metrics = options.metrics ?? base.metrics;
  const ways = [options.validationData !== undefined, options.validationSplit !== undefined, options.cv !== undefined].filter(Boolean).length;
  if (ways > 1) throw new ValueError(`${op}: give one of validationData, validationSplit and cv`);
  if (options.cv !== undefined) {
    const folds = makeFolds(op, dataset, options.cv, { shuffle: true, stratify: options.stratify, generator: options.generator });
    return async (params) => {
      const results = await runFolds(
        op,
        () => {
          reseed();
          return build(params);
        },
        dataset,
        folds,
        base,
        metrics,
      );
      if (results === null) return null;
      const { mean, std } = summarize(results.map((r) => r.scores));
      return { params, scores: mean, std };
    };
  }
  let train: SupervisedData;
  let validation: SupervisedData;
  if (options.validationData !== undefined) {
    checkData(op, options.validationData);
    train = data;
    validation = options.validationData;
  } else {
    const fraction = options.validationSplit ?? 0.2;
    if (!(fraction > 0 && fraction < 1)) throw new ValueError(`${op}: validationSplit must be in (0, 1), got ${fraction}`);
    const split = trainTestSplit(data.x, data.y, { testFraction: fraction, generator: options.generator, stratify: options.stratify ?? false });
    train = { x: split.xTrain, y: split.yTrain as Tensor };
    validation = { x: split.xTest, y: split.yTest as Tensor };
  }
  return async (params) => {
    reseed();
    const { model, fitOptions } = unpack(op, build(params), base);
    const history = await fit(model, train, fitOptions);
    if (history.stopped === 'aborted') return null;
    const scores = await evaluate(model, validation, { loss: fitOptions.loss, metrics, batchSize: fitOptions.batchSize });
    return { params, scores, history };
  };
}

async function search<P extends Record<string, unknown>>(
  op: string,
  candidates: readonly P[],
  build: (params: P) => BuildResult,
  data: SupervisedData,
  options: SearchOptions,
): Promise<SearchResult<P>[]> {
  if (typeof build !== 'function') throw new ValueError(`${op}: buildModel must be a function (params) => Module`);
  const key = options.metric ?? 'loss';
  const mode = options.mode ?? 'auto';
  if (mode !== 'min' && mode !== 'max' && mode !== 'auto') throw new ValueError(`${op}: mode must be 'min', 'max' or 'auto', got '${mode}'`);
  const maximize = mode === 'auto' ? higherIsBetter(key) : mode === 'max';
  const evaluateCandidate = makeEvaluator(op, build as (params: Record<string, unknown>) => BuildResult, data, options);
  const results: SearchResult<P>[] = [];
  for (let i = 0; i < candidates.length; i++) {
    if (options.signal?.aborted) break;
    const r = await evaluateCandidate(candidates[i], i);
    if (r === null) break;
    if (!(key in r.scores)) throw new ValueError(`${op}: metric '${key}' is not among the scores (${Object.keys(r.scores).join(', ')}); add it to metrics`);
    const result: SearchResult<P> = { ...r, params: candidates[i], score: r.scores[key], rank: 0 };
    results.push(result);
    options.onResult?.(result as SearchResult<Record<string, unknown>>, i);
  }
  // Best first; NaN scores last; ties keep the candidates' order (the sort is stable).
  const order = (a: number, b: number) => {
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : -1;
    return maximize ? b - a : a - b;
  };
  results.sort((a, b) => order(a.score, b.score));
  results.forEach((r, i) => {
    r.rank = i + 1;
  });
  return results;
}

/** The parameter sets a grid spans, the last key varying fastest. */
function expandGrid(op: string, grid: Record<string, readonly unknown[]>): Record<string, unknown>[] {
  if (grid === null || typeof grid !== 'object') throw new ValueError(`${op}: paramGrid must be an object of value arrays`);
  let combos: Record<string, unknown>[] = [{}];
  for (const [name, values] of Object.entries(grid)) {
    if (!Array.isArray(values) || values.length === 0) throw new ValueError(`${op}: paramGrid.${name} must be a non-empty array of values`);
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [name]: v })));
  }
  return combos;
}

/** The parameter type a grid or a space produces. */
export type GridParams<G extends Record<string, readonly unknown[]>> = { [K in keyof G]: G[K][number] };

/**
 * Try every combination of the values in `paramGrid`: each candidate's model
 * comes from `buildModel(params)`, is trained with the fit options and scored
 * on validation data (a hold-out split by default, or k-fold with `cv`).
 * Resolves to the results sorted best first.
 */
export async function gridSearch<G extends Record<string, readonly unknown[]>>(
  buildModel: (params: GridParams<G>) => BuildResult,
  paramGrid: G,
  data: SupervisedData,
  options: SearchOptions,
): Promise<SearchResult<GridParams<G>>[]> {
  return search('gridSearch', expandGrid('gridSearch', paramGrid) as GridParams<G>[], buildModel, data, options);
}

/**
 * How randomSearch draws a parameter: uniformly from a list of values, from
 * a continuous range (`{uniform: [a, b]}`, `{logUniform: [a, b]}` for scales such
 * as learning rates), from the integers a..b inclusive (`{int: [a, b]}`), or by a
 * function of the generator.
 */
export type ParamDistribution =
  | readonly unknown[]
  | ((generator: Generator) => unknown)
  | {
      /** Uniform on [a, b]. */
      uniform: readonly [number, number];
    }
  | {
      /** Log-uniform on [a, b] (both positive), for scales such as learning rates. */
      logUniform: readonly [number, number];
    }
  | {
      /** An integer from a to b inclusive. */
      int: readonly [number, number];
    };

/** The parameter values a search space produces: numbers for distributions, the choices' type for lists. */
export type SpaceParams<S extends Record<string, ParamDistribution>> = {
  [K in keyof S]: S[K] extends readonly (infer V)[] ? V : S[K] extends (g: Generator) => infer R ? R : number;
};

function sampler(op: string, name: string, d: ParamDistribution): (g: Generator) => unknown {
  const range = (r: unknown, kind: string) => {
    if (!Array.isArray(r) || r.length !== 2 || !r.every(Number.isFinite) || r[0] > r[1]) {
      throw new ValueError(`${op}: ${name}: ${kind} needs [low, high] with low <= high, got ${JSON.stringify(r)}`);
    }
    return r as [number, number];
  };
  if (Array.isArray(d)) {
    if (d.length === 0) throw new ValueError(`${op}: ${name}: the list of values is empty`);
    return (g) => d[g.nextInt(d.length)];
  }
  if (typeof d === 'function') return d;
  if (d !== null && typeof d === 'object') {
    if ('uniform' in d) {
      const [a, b] = range(d.uniform, 'uniform');
      return (g) => a + (b - a) * g.nextDouble();
    }
    if ('logUniform' in d) {
      const [a, b] = range(d.logUniform, 'logUniform');
      if (!(a > 0)) throw new ValueError(`${op}: ${name}: logUniform needs a positive low bound, got ${a}`);
      return (g) => Math.exp(Math.log(a) + (Math.log(b) - Math.log(a)) * g.nextDouble());
    }
    if ('int' in d) {
      const [a, b] = range(d.int, 'int');
      if (!Number.isInteger(a) || !Number.isInteger(b)) throw new ValueError(`${op}: ${name}: int needs integer bounds, got [${a}, ${b}]`);
      return (g) => a + g.nextInt(b - a + 1);
    }
  }
  throw new ValueError(`${op}: ${name}: expected a list of values, {uniform}, {logUniform}, {int} or a function of the generator`);
}

/**
 * Draw `trials` parameter sets from `space` (all drawn before training
 * starts, from `options.generator` or the global one) and evaluate them as
 * gridSearch does. Resolves to the results sorted best first.
 */
export async function randomSearch<S extends Record<string, ParamDistribution>>(
  buildModel: (params: SpaceParams<S>) => BuildResult,
  space: S,
  data: SupervisedData,
  options: SearchOptions & { trials?: number },
): Promise<SearchResult<SpaceParams<S>>[]> {
  const op = 'randomSearch';
  const trials = options?.trials ?? 10;
  if (!Number.isInteger(trials) || trials < 1) throw new ValueError(`${op}: trials must be a positive integer, got ${trials}`);
  if (space === null || typeof space !== 'object') throw new ValueError(`${op}: space must be an object of distributions`);
  const samplers = Object.entries(space).map(([name, d]) => [name, sampler(op, name, d)] as const);
  const g = options.generator ?? defaultGenerator;
  const candidates = Array.from({ length: trials }, () => Object.fromEntries(samplers.map(([name, draw]) => [name, draw(g)]))) as SpaceParams<S>[];
  return search(op, candidates, buildModel, data, options);
}
