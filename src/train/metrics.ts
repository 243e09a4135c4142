import { fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import { check } from '../core/validate.js';
import { classIndices } from '../data/dataset.js';

/**
 * A streaming metric: fit and evaluate feed it one batch at a time with
 * `update(prediction, target)` and read `result()` at the end of the pass, so
 * metrics that do not decompose over batches (F1, R²) are still exact.
 * Arguments follow the losses: prediction first, target second.
 */
export interface Metric {
  /** The key under which fit and evaluate report it ('accuracy', and 'valAccuracy' on validation data). */
  readonly name: string;
  /** Forget everything seen (before each epoch). */
  reset(): void;
  /** Accumulate one batch. */
  update(prediction: Tensor, target: Tensor): void;
  /** The metric over everything seen since reset(). */
  result(): number;
}

/** A metric given as a plain function of one batch; fit averages it over batches weighted by batch size. */
export type MetricFn = (prediction: Tensor, target: Tensor) => number;

/** Options of metrics that threshold binary predictions. */
export interface ThresholdOptions {
  /**
   * Decision threshold for binary predictions of shape [n] or [n, 1]
   * (default 0.5, for probabilities; use 0 for logits).
   */
  threshold?: number;
}

/** How a multi-class score is averaged: over the positive class only ('binary'), per class then averaged ('macro'), or over all decisions ('micro'). */
export type Average = 'binary' | 'macro' | 'micro';

export interface ClassificationOptions extends ThresholdOptions {
  /**
   * How per-class scores combine: 'binary' scores the positive class only,
   * 'macro' averages the classes that occur in targets or predictions
   * (unweighted), 'micro' pools all decisions. Default: 'binary' with two
   * classes, 'macro' with more.
   */
  average?: Average;
  /** The class counted as positive with average 'binary' (default 1). */
  positiveClass?: number;
}

function assertTensors(op: string, prediction: unknown, target: unknown): asserts prediction is Tensor {
  if (!(prediction instanceof Tensor)) throw new ValueError(`${op}: prediction must be a Tensor`);
  if (!(target instanceof Tensor)) throw new ValueError(`${op}: target must be a Tensor`);
}

/** Is this prediction one score per sample (binary) rather than one score per class? */
function isBinaryShaped(p: Tensor): boolean {
  return p.ndim === 1 || (p.ndim === 2 && p.shape[1] === 1);
}

/**
 * Predicted class per sample: integer predictions are taken as labels, a score
 * per class ([n, C]) gives its argmax, a single score per sample ([n] or
 * [n, 1]) is thresholded into 0/1.
 */
function predictedClasses(op: string, prediction: Tensor, threshold: number): { labels: Int32Array; numClasses: number } {
  if (prediction.ndim === 0 || prediction.ndim > 2) {
    throw new ShapeError(`${op}: prediction must have shape [n], [n, 1] or [n, classes], got ${fmtShape(prediction.shape)}`);
  }
  if (prediction.dtype === 'int32' || prediction.dtype === 'bool') {
    if (!isBinaryShaped(prediction))
      throw new ShapeError(`${op}: integer predictions must be labels of shape [n] or [n, 1], got ${fmtShape(prediction.shape)}`);
    const labels = classIndices(op, prediction);
    return { labels, numClasses: maxPlusOne(labels) };
  }
  const n = prediction.shape[0];
  const d = prediction.data;
  if (isBinaryShaped(prediction)) {
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) labels[i] = d[i] > threshold ? 1 : 0;
    return { labels, numClasses: 2 };
  }
  return { labels: classIndices(op, prediction), numClasses: prediction.shape[1] };
}

function targetClasses(op: string, target: Tensor, n: number): Int32Array {
  const labels = classIndices(op, target);
  if (labels.length !== n) throw new ShapeError(`${op}: prediction has ${n} samples but target has shape ${fmtShape(target.shape)}`);
  return labels;
}

function maxPlusOne(labels: Int32Array): number {
  let m = 0;
  for (let i = 0; i < labels.length; i++) if (labels[i] + 1 > m) m = labels[i] + 1;
  return m;
}

/**
 * Fraction of correct predictions. Class scores ([n, C], logits or
 * probabilities) are compared by argmax with integer targets ([n]) or one-hot
 * targets ([n, C]); a single score per sample ([n] or [n, 1]) is a binary
 * prediction, thresholded at `threshold` and compared with 0/1 targets.
 */
export class Accuracy implements Metric {
  readonly name: string;
  private readonly threshold: number;
  private correct = 0;
  private count = 0;

  constructor(options: ThresholdOptions & { name?: string } = {}) {
    this.threshold = check('accuracy').finite('threshold', options.threshold ?? 0.5);
    this.name = options.name ?? 'accuracy';
  }

  reset(): void {
    this.correct = 0;
    this.count = 0;
  }

  update(prediction: Tensor, target: Tensor): void {
    assertTensors('accuracy', prediction, target);
    const { labels } = predictedClasses('accuracy', prediction, this.threshold);
    const truth = targetClasses('accuracy', target, labels.length);
    for (let i = 0; i < labels.length; i++) if (labels[i] === truth[i]) this.correct++;
    this.count += labels.length;
  }

  result(): number {
    return this.count === 0 ? Number.NaN : this.correct / this.count;
  }
}

/**
 * Fraction of samples whose target class is among the k highest scores. Tied
 * scores at the boundary all count as inside the top k.
 */
export class TopKAccuracy implements Metric {
  readonly name: string;
  /** How many top classes count as a hit. */
  readonly k: number;
  private correct = 0;
  private count = 0;

  constructor(options: { k?: number; name?: string } = {}) {
    const k = options.k ?? 5;
    if (!Number.isInteger(k) || k < 1) throw new ValueError(`topKAccuracy: k must be a positive integer, got ${k}`);
    this.k = k;
    this.name = options.name ?? `top${k}Accuracy`;
  }

  reset(): void {
    this.correct = 0;
    this.count = 0;
  }

  update(prediction: Tensor, target: Tensor): void {
    assertTensors('topKAccuracy', prediction, target);
    if (prediction.ndim !== 2) throw new ShapeError(`topKAccuracy: prediction must be class scores of shape [n, classes], got ${fmtShape(prediction.shape)}`);
    const [n, c] = prediction.shape;
    const truth = targetClasses('topKAccuracy', target, n);
    const d = prediction.data;
    for (let i = 0; i < n; i++) {
      const t = truth[i];
      if (t >= c) throw new ValueError(`topKAccuracy: target class ${t} is out of range for ${c} classes`);
      const score = d[i * c + t];
      let higher = 0;
      for (let j = 0; j < c; j++) if (d[i * c + j] > score) higher++;
      if (higher < this.k) this.correct++;
    }
    this.count += n;
  }

  result(): number {
    return this.count === 0 ? Number.NaN : this.correct / this.count;
  }
}

/** Accumulates a confusion matrix (rows: true class, columns: predicted class) that grows with the classes seen. */
class ConfusionCounts {
  counts: number[][] = [];

  constructor(
    private readonly op: string,
    private readonly threshold: number,
    private readonly numClasses?: number,
  ) {
    this.reset();
  }

  get size(): number {
    return this.counts.length;
  }

  reset(): void {
    this.counts = [];
    if (this.numClasses !== undefined) this.resize(this.numClasses);
  }

  private resize(size: number): void {
    for (const row of this.counts) while (row.length < size) row.push(0);
    while (this.counts.length < size) this.counts.push(new Array(size).fill(0));
  }

  update(prediction: Tensor, target: Tensor): void {
    assertTensors(this.op, prediction, target);
    const { labels, numClasses } = predictedClasses(this.op, prediction, this.threshold);
    const truth = targetClasses(this.op, target, labels.length);
    if (this.numClasses !== undefined) {
      const largest = Math.max(maxPlusOne(labels), maxPlusOne(truth)) - 1;
      if (largest >= this.numClasses) throw new ValueError(`${this.op}: class ${largest} is out of range for numClasses ${this.numClasses}`);
    } else this.resize(Math.max(numClasses, maxPlusOne(truth)));
    for (let i = 0; i < labels.length; i++) this.counts[truth[i]][labels[i]]++;
  }
}

type Score = 'precision' | 'recall' | 'f1';

function scoreFromCounts(tp: number, fp: number, fn: number, score: Score): number {
  // Undefined ratios (no predicted or no actual positives) count as 0, as scikit-learn's zero_division default does.
  const p = tp + fp === 0 ? 0 : tp / (tp + fp);
  const r = tp + fn === 0 ? 0 : tp / (tp + fn);
  if (score === 'precision') return p;
  if (score === 'recall') return r;
  return p + r === 0 ? 0 : (2 * p * r) / (p + r);
}

function classificationScore(counts: number[][], score: Score, average: Average | undefined, positiveClass: number, op: string): number {
  const size = counts.length;
  if (size === 0) return Number.NaN;
  const tp = (c: number) => counts[c][c];
  const colSum = (c: number) => counts.reduce((s, row) => s + row[c], 0);
  const rowSum = (c: number) => counts[c].reduce((s, v) => s + v, 0);
  const mode = average ?? (size <= 2 ? 'binary' : 'macro');
  if (mode === 'binary') {
    if (size > 2) throw new ValueError(`${op}: average 'binary' needs two classes, the data has ${size}; use 'macro' or 'micro'`);
    if (positiveClass >= size) return 0;
    return scoreFromCounts(tp(positiveClass), colSum(positiveClass) - tp(positiveClass), rowSum(positiveClass) - tp(positiveClass), score);
  }
  if (mode === 'micro') {
    let t = 0;
    let all = 0;
    for (let c = 0; c < size; c++) {
      t += tp(c);
      all += rowSum(c);
    }
    // Single-label data: every wrong decision is one false positive and one false negative, so all three scores are the accuracy.
    return all === 0 ? Number.NaN : t / all;
  }
  if (mode !== 'macro') throw new ValueError(`${op}: average must be 'binary', 'macro' or 'micro', got '${mode}'`);
  let sum = 0;
  let present = 0;
  for (let c = 0; c < size; c++) {
    const predicted = colSum(c);
    const actual = rowSum(c);
    if (predicted === 0 && actual === 0) continue;
    sum += scoreFromCounts(tp(c), predicted - tp(c), actual - tp(c), score);
    present++;
  }
  return present === 0 ? Number.NaN : sum / present;
}

abstract class ClassificationMetric implements Metric {
  readonly name: string;
  private readonly counts: ConfusionCounts;
  private readonly average: Average | undefined;
  private readonly positiveClass: number;

  constructor(
    private readonly score: Score,
    options: ClassificationOptions & { name?: string },
  ) {
    this.name = options.name ?? score;
    this.counts = new ConfusionCounts(score, check(score).finite('threshold', options.threshold ?? 0.5));
    if (options.average !== undefined && !['binary', 'macro', 'micro'].includes(options.average)) {
      throw new ValueError(`${score}: average must be 'binary', 'macro' or 'micro', got '${options.average}'`);
    }
    this.average = options.average;
    this.positiveClass = options.positiveClass ?? 1;
    if (!Number.isInteger(this.positiveClass) || this.positiveClass < 0) {
      throw new ValueError(`${score}: positiveClass must be a non-negative integer, got ${this.positiveClass}`);
    }
  }

  reset(): void {
    this.counts.reset();
  }

  update(prediction: Tensor, target: Tensor): void {
    this.counts.update(prediction, target);
  }

  result(): number {
    return classificationScore(this.counts.counts, this.score, this.average, this.positiveClass, this.score);
  }
}

/** Precision tp / (tp + fp): of the samples predicted positive, the fraction that are. */
export class Precision extends ClassificationMetric {
  constructor(options: ClassificationOptions & { name?: string } = {}) {
    super('precision', options);
  }
}

/** Recall tp / (tp + fn): of the positive samples, the fraction found. */
export class Recall extends ClassificationMetric {
  constructor(options: ClassificationOptions & { name?: string } = {}) {
    super('recall', options);
  }
}

/** F1 score, the harmonic mean of precision and recall (per class, then averaged for 'macro'). */
export class F1Score extends ClassificationMetric {
  constructor(options: ClassificationOptions & { name?: string } = {}) {
    super('f1', options);
  }
}

/** Check that prediction and target hold the same values layout; a trailing axis of size 1 on either side is tolerated. */
function regressionPair(op: string, prediction: Tensor, target: Tensor): { n: number; outputs: number } {
  assertTensors(op, prediction, target);
  const squeeze = (s: readonly number[]) => (s.length > 1 && s[s.length - 1] === 1 ? s.slice(0, -1) : s);
  const a = squeeze(prediction.shape);
  const b = squeeze(target.shape);
  if (a.length !== b.length || a.some((d, i) => d !== b[i])) {
    throw new ShapeError(`${op}: prediction of shape ${fmtShape(prediction.shape)} and target of shape ${fmtShape(target.shape)} differ`);
  }
  const n = a.length === 0 ? 1 : a[0];
  return { n, outputs: n === 0 ? 0 : prediction.size / n };
}

/** Mean of (prediction - target)² over all elements. */
export class MeanSquaredError implements Metric {
  readonly name: string;
  private sum = 0;
  private count = 0;

  constructor(options: { name?: string } = {}) {
    this.name = options.name ?? 'mse';
  }

  reset(): void {
    this.sum = 0;
    this.count = 0;
  }

  update(prediction: Tensor, target: Tensor): void {
    regressionPair('mse', prediction, target);
    const p = prediction.data;
    const t = target.data;
    for (let i = 0; i < p.length; i++) this.sum += (p[i] - t[i]) ** 2;
    this.count += p.length;
  }

  result(): number {
    return this.count === 0 ? Number.NaN : this.sum / this.count;
  }
}

/** Root of the mean squared error, in the units of the target. */
export class RootMeanSquaredError extends MeanSquaredError {
  override name = 'RootMeanSquaredError';
  constructor(options: { name?: string } = {}) {
    super({ name: options.name ?? 'rmse' });
  }

  override result(): number {
    return Math.sqrt(super.result());
  }
}

/** Mean of |prediction - target| over all elements. */
export class MeanAbsoluteError implements Metric {
  readonly name: string;
  private sum = 0;
  private count = 0;

  constructor(options: { name?: string } = {}) {
    this.name = options.name ?? 'mae';
  }

  reset(): void {
    this.sum = 0;
    this.count = 0;
  }

  update(prediction: Tensor, target: Tensor): void {
    regressionPair('mae', prediction, target);
    const p = prediction.data;
    const t = target.data;
    for (let i = 0; i < p.length; i++) this.sum += Math.abs(p[i] - t[i]);
    this.count += p.length;
  }

  result(): number {
    return this.count === 0 ? Number.NaN : this.sum / this.count;
  }
}

/**
 * Coefficient of determination R² = 1 - SS_res / SS_tot, per output column and
 * then averaged (scikit-learn's 'uniform_average'). A constant target column
 * scores 1 when predicted exactly and 0 otherwise (scikit-learn's force_finite).
 */
export class R2Score implements Metric {
  readonly name: string;
  private count = 0;
  private mean: Float64Array = new Float64Array(0);
  private m2: Float64Array = new Float64Array(0);
  private ssRes: Float64Array = new Float64Array(0);

  constructor(options: { name?: string } = {}) {
    this.name = options.name ?? 'r2';
  }

  reset(): void {
    this.count = 0;
    this.mean = new Float64Array(0);
    this.m2 = new Float64Array(0);
    this.ssRes = new Float64Array(0);
  }

  update(prediction: Tensor, target: Tensor): void {
    const { n, outputs } = regressionPair('r2', prediction, target);
    if (n === 0) return;
    if (this.count === 0) {
      this.mean = new Float64Array(outputs);
      this.m2 = new Float64Array(outputs);
      this.ssRes = new Float64Array(outputs);
    } else if (outputs !== this.mean.length) {
      throw new ShapeError(`r2: batches with ${this.mean.length} and ${outputs} outputs per sample cannot be pooled`);
    }
    const p = prediction.data;
    const t = target.data;
    for (let j = 0; j < outputs; j++) {
      // Merge this batch's mean and sum of squared deviations into the running ones (Chan et al.), which avoids the cancellation of sum(t²) - n·mean².
      let bMean = 0;
      for (let i = 0; i < n; i++) bMean += t[i * outputs + j];
      bMean /= n;
      let bM2 = 0;
      for (let i = 0; i < n; i++) {
        bM2 += (t[i * outputs + j] - bMean) ** 2;
        this.ssRes[j] += (t[i * outputs + j] - p[i * outputs + j]) ** 2;
      }
      const total = this.count + n;
      const delta = bMean - this.mean[j];
      this.m2[j] += bM2 + (delta * delta * this.count * n) / total;
      this.mean[j] += (delta * n) / total;
    }
    this.count += n;
  }

  result(): number {
    if (this.count === 0) return Number.NaN;
    let sum = 0;
    for (let j = 0; j < this.mean.length; j++) {
      sum += this.m2[j] === 0 ? (this.ssRes[j] === 0 ? 1 : 0) : 1 - this.ssRes[j] / this.m2[j];
    }
    return sum / this.mean.length;
  }
}

/** Averages a per-batch metric function over samples (each batch weighs its number of samples). */
export class MeanMetric implements Metric {
  readonly name: string;
  private sum = 0;
  private count = 0;

  constructor(
    private readonly fn: MetricFn,
    name?: string,
  ) {
    if (typeof fn !== 'function') throw new ValueError('MeanMetric: expected a function (prediction, target) => number');
    this.name = name ?? (fn.name || 'metric');
  }

  reset(): void {
    this.sum = 0;
    this.count = 0;
  }

  update(prediction: Tensor, target: Tensor): void {
    const n = prediction.ndim === 0 ? 1 : prediction.shape[0];
    const v = this.fn(prediction, target);
    if (typeof v !== 'number') throw new ValueError(`metric '${this.name}': the function must return a number, got ${typeof v}`);
    this.sum += v * n;
    this.count += n;
  }

  result(): number {
    return this.count === 0 ? Number.NaN : this.sum / this.count;
  }
}

/**
 * Whether larger values of a log key are better: keys ending in acc /
 * accuracy, precision, recall, f1, r2 or auc ('valAccuracy', 'top5Accuracy',
 * 'valF1'); losses and errors are minimized. Monitors with mode 'auto' use this.
 */
export function higherIsBetter(key: string): boolean {
  return /(acc|accuracy|precision|recall|f1|r2|auc)$/i.test(key);
}

type MetricFactory = (name: string, threshold: number | undefined) => Metric;

/** The metric names that getMetric knows besides the top-k family. */
export type BuiltinMetricName = 'accuracy' | 'acc' | 'precision' | 'recall' | 'f1' | 'mse' | 'meanSquaredError' | 'rmse' | 'mae' | 'meanAbsoluteError' | 'r2';

const factories: Record<BuiltinMetricName, MetricFactory> = {
  accuracy: (name, threshold) => new Accuracy({ name, threshold }),
  acc: (name, threshold) => new Accuracy({ name, threshold }),
  precision: (name, threshold) => new Precision({ name, threshold }),
  recall: (name, threshold) => new Recall({ name, threshold }),
  f1: (name, threshold) => new F1Score({ name, threshold }),
  mse: (name) => new MeanSquaredError({ name }),
  meanSquaredError: (name) => new MeanSquaredError({ name }),
  rmse: (name) => new RootMeanSquaredError({ name }),
  mae: (name) => new MeanAbsoluteError({ name }),
  meanAbsoluteError: (name) => new MeanAbsoluteError({ name }),
  r2: (name) => new R2Score({ name }),
};

/** The metric names getMetric knows, so that a misspelt name ('acuracy') fails to compile. */
export type MetricName = BuiltinMetricName | `top${number}Accuracy` | 'topKAccuracy';

/** Anything fit and evaluate accept in `metrics`: a name, a Metric object, or a per-batch function. */
export type MetricSpec = MetricName | Metric | MetricFn;

/**
 * A fresh Metric from a name: 'accuracy' (or 'acc'), 'topKAccuracy' /
 * 'top5Accuracy' (any k), 'precision', 'recall', 'f1', 'mse', 'rmse', 'mae',
 * 'r2'. Classification metrics use their defaults ('binary' average for two
 * classes and 'macro' otherwise, and the threshold given here, else 0.5);
 * build the class for other settings.
 */
export function getMetric(spec: MetricSpec, defaults: ThresholdOptions = {}): Metric {
  // Names come from untyped sources too (model files, the command line); they are checked here.
  if (typeof spec === 'function') return new MeanMetric(spec);
  if (typeof spec === 'object' && spec !== null && typeof spec.update === 'function' && typeof spec.result === 'function') return spec;
  if (typeof spec !== 'string') throw new ValueError(`getMetric: expected a metric name, a Metric or a function, got ${typeof spec}`);
  const topK = /^top(\d*)Accuracy$/i.exec(spec) ?? /^topKAccuracy$/i.exec(spec);
  if (topK) return new TopKAccuracy({ k: topK[1] ? Number(topK[1]) : 5, name: spec });
  const factory = (factories as Record<string, MetricFactory | undefined>)[spec];
  if (!factory) throw new ValueError(`unknown metric '${spec}'; known: ${[...Object.keys(factories), 'top5Accuracy (any k)'].join(', ')}`);
  return factory(spec, defaults.threshold);
}

function once(metric: Metric, prediction: Tensor, target: Tensor): number {
  metric.update(prediction, target);
  return metric.result();
}

/** Fraction of correct predictions (see {@link Accuracy} for the accepted shapes). */
export function accuracy(prediction: Tensor, target: Tensor, options: ThresholdOptions = {}): number {
  return once(new Accuracy(options), prediction, target);
}

/** Fraction of samples whose target class is among the k highest scores (default k = 5). */
export function topKAccuracy(prediction: Tensor, target: Tensor, k = 5): number {
  return once(new TopKAccuracy({ k }), prediction, target);
}

/** Precision tp / (tp + fp), binary or averaged over classes. */
export function precision(prediction: Tensor, target: Tensor, options: ClassificationOptions = {}): number {
  return once(new Precision(options), prediction, target);
}

/** Recall tp / (tp + fn), binary or averaged over classes. */
export function recall(prediction: Tensor, target: Tensor, options: ClassificationOptions = {}): number {
  return once(new Recall(options), prediction, target);
}

/** F1 = 2PR / (P + R), binary or averaged over classes. */
export function f1Score(prediction: Tensor, target: Tensor, options: ClassificationOptions = {}): number {
  return once(new F1Score(options), prediction, target);
}

/** Mean squared error over all elements. */
export function meanSquaredError(prediction: Tensor, target: Tensor): number {
  return once(new MeanSquaredError(), prediction, target);
}

/** Mean absolute error over all elements. */
export function meanAbsoluteError(prediction: Tensor, target: Tensor): number {
  return once(new MeanAbsoluteError(), prediction, target);
}

/** Coefficient of determination R² (averaged over output columns). */
export function r2Score(prediction: Tensor, target: Tensor): number {
  return once(new R2Score(), prediction, target);
}

/**
 * Counts of (true class, predicted class) pairs as an int32 tensor of shape
 * `[C, C]`: row i, column j counts samples of class i predicted as class j
 * (scikit-learn's layout). C is `numClasses` or else the number of classes
 * seen in the prediction's shape and in both label sets.
 */
export function confusionMatrix(prediction: Tensor, target: Tensor, options: ThresholdOptions & { numClasses?: number } = {}): Tensor {
  if (options.numClasses !== undefined && (!Number.isInteger(options.numClasses) || options.numClasses < 1)) {
    throw new ValueError(`confusionMatrix: numClasses must be a positive integer, got ${options.numClasses}`);
  }
  const counts = new ConfusionCounts('confusionMatrix', check('confusionMatrix').finite('threshold', options.threshold ?? 0.5), options.numClasses);
  counts.update(prediction, target);
  return new Tensor(Int32Array.from(counts.counts.flat()), [counts.size, counts.size]);
}
