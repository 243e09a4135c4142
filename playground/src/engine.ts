// The experiment: data, network, optimizer and the training loop, built on
// neurite's public API. No DOM: it runs in the Web Worker, on the main thread
// as a fallback, and in Node for the tests.
import type { Point2D, Random, Split } from './datasets.js';
import { compileExpression, type Expression, type Fn2 } from './expr.js';
import { CURVE_SAMPLES, curveX, FEATURE_FNS, GRID, gridX, gridY, TILE } from './grid.js';
import { Generator, nn, noGrad, optim, type Tensor, tensor } from './neurite.js';
import { type ActivationName, activationOf, activeFeatures, type FeatureName, type Spec } from './spec.js';

export { CURVE_SAMPLES, curveX, featureGrid, GRID, TILE } from './grid.js';

function activationLayer(name: ActivationName): nn.Module {
  switch (name) {
    case 'tanh':
    case 'tansig':
      return new nn.Tanh();
    case 'relu':
    case 'poslin':
      return new nn.ReLU();
    case 'sigmoid':
    case 'logsig':
      return new nn.Sigmoid();
    case 'linear':
    case 'purelin':
      return new nn.Identity();
    case 'hardlim':
      return new nn.Hardlim();
    case 'hardlims':
      return new nn.Hardlims();
    case 'satlin':
      return new nn.Satlin();
    case 'satlins':
      return new nn.Hardtanh();
    case 'compet':
      return new nn.Compet({ axis: 1 });
    case 'leakyrelu':
      return new nn.LeakyReLU({ negativeSlope: 0.01 });
    case 'elu':
      return new nn.ELU();
    case 'selu':
      return new nn.SELU();
    case 'gelu':
      return new nn.GELU();
    case 'softplus':
      return new nn.Softplus();
    case 'softsign':
      return new nn.Softsign();
    case 'swish':
      return new nn.SiLU();
    case 'mish':
      return new nn.Mish();
    case 'sine':
      return new nn.Lambda((x: Tensor) => x.sin(), { name: 'sine' });
    case 'gaussian':
      return new nn.Lambda((x: Tensor) => x.square().neg().exp(), { name: 'gaussian' });
  }
}

/** A hidden or output layer as the diagram sees it. */
interface Layer {
  linear: nn.Linear;
  norm: nn.BatchNorm1d | null;
  activation: nn.Module;
  dropout: nn.Dropout | null;
}

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  testLoss: number;
  /** Accuracy (classification) or R² (regression), on each split. */
  trainScore: number;
  testScore: number;
  lr: number;
  /** ‖∂L/∂W‖ per layer at the epoch's last step, and ‖∂L/∂a‖ (a: each layer's output, a batch mean). */
  gradW: number[];
  gradA: number[];
}

export interface Snapshot {
  epoch: number;
  trainLoss: number;
  testLoss: number;
  trainScore: number;
  testScore: number;
  /** RMSE on the test split (regression). */
  testRmse: number;
  /** Test confusion matrix, [true][predicted] (classification). */
  confusion: number[][];
  /** The output over the grid in [−1, 1] (two classes, regression), or the winning class. */
  grid: Float32Array;
  /** Multi-class: the winning class's probability per grid cell. */
  confidence: Float32Array | null;
  /** Every hidden and output neuron over the TILE×TILE grid, layer by layer. */
  tiles: Float32Array[][];
  /** One neuron's full-size map when one is selected (hover), else null. */
  selected: Float32Array | null;
  /** weights[l][out][in] and biases[l][out], hidden layers then the output layer. */
  weights: number[][][];
  biases: number[][];
  /** ‖∂L/∂W‖ per layer at the epoch's last step. */
  gradNorms: number[];
  /** ‖∂L/∂a‖ per layer (a: the layer's output) at the epoch's last step, per data point. */
  actGradNorms: number[];
  /** A train-mode view: the hidden units its dropout masks switched off, per hidden layer (empty otherwise). */
  dropped: number[][];
  /** Hidden units that output (at most) zero on every training point, per hidden layer. */
  dead: number[][];
  /** Frozen (L1-dead) links in compat mode, as [layer, out, in]. */
  frozen: [number, number, number][];
  /** The records from `historyFrom` on (all of them when it is 0): the page keeps the rest. */
  history: EpochRecord[];
  historyFrom: number;
  /** Set when training stopped: why (NaN, early stopping, stopAt). */
  stopped: string | null;
  /** 1-D regression: the fit over x1, and what each last-hidden-layer unit adds to it. */
  curve: CurveView | null;
}

export interface CurveView {
  /** The network's output at curveX(i). */
  fit: Float32Array;
  /** parts[j][i]: output weight j times unit j of the last hidden layer at curveX(i). */
  parts: Float32Array[];
  /** The output bias: fit = bias + Σ parts. */
  bias: number;
}

const toNumber = (t: Tensor) => Number(t.item());

function hashSeed(s: string): number {
  // FNV-1a over the seed string: any string is a valid init seed.
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Learning rate at an epoch under a schedule (the base rate times a factor). */
export function scheduledLr(spec: Spec, epoch: number): number {
  const lr = spec.learningRate;
  switch (spec.schedule) {
    case 'constant':
      return lr;
    case 'step':
      return lr * 0.5 ** Math.floor(epoch / 100);
    case 'exponential':
      return lr * 0.99 ** epoch;
    case 'cosine': {
      const period = spec.stopAt > 0 ? spec.stopAt : 500;
      const t = Math.min(epoch, period) / period;
      return lr * 0.5 * (1 + Math.cos(Math.PI * t));
    }
    case 'cyclic': {
      // Triangle between lr/10 and lr with a 200-epoch period.
      const phase = (epoch % 200) / 100;
      const tri = phase < 1 ? phase : 2 - phase;
      return lr / 10 + (lr - lr / 10) * tri;
    }
    case 'warmup':
      return lr * Math.min(1, (epoch + 1) / 50);
  }
}

export class Experiment {
  readonly spec: Spec;
  readonly data: Split;
  readonly features: FeatureName[];
  /** Custom input features (default mode), after the named ones. */
  readonly custom: Expression[];
  private readonly featureFns: Fn2[];
  readonly model: nn.Sequential;
  readonly layers: Layer[] = [];
  readonly dtype: 'float32' | 'float64';
  readonly outputs: number;
  epoch = 0;
  history: EpochRecord[] = [];
  stopped: string | null = null;
  private optimizer!: optim.Optimizer;
  private optimizerName = '';
  private hyper: Spec;
  private initial: Map<string, Float64Array> = new Map();
  private trainX: Tensor;
  private trainY: Tensor;
  private testX: Tensor;
  private testY: Tensor;
  private gridX: Tensor;
  /** Default mode's shuffling stream (seeded by the init seed). */
  private order: Generator;
  /** Compat mode: the original's stream, which draws the weights after the data. */
  private compatRandom: Random | null;
  /** Compat: gradients accumulated from a partial last batch, carried into the next epoch. */
  private carried = 0;
  /** Compat: L1-dead links per layer (1 = frozen). */
  private deadMasks: Uint8Array[] = [];
  private lastGradNorms: number[] = [];
  private lastActGradNorms: number[] = [];
  /** Each layer's output in the last forward pass that kept them (for ‖∂L/∂a‖). */
  private kept: Tensor[] = [];
  private bestTest = Number.POSITIVE_INFINITY;
  private sinceBest = 0;

  constructor(spec: Spec, data: Split, compatRandom: Random | null = null) {
    this.spec = structuredClone(spec);
    this.hyper = this.spec;
    this.data = data;
    this.compatRandom = spec.mode === 'compat' ? compatRandom : null;
    this.features = activeFeatures(spec);
    this.custom = spec.mode === 'default' ? spec.customFeatures.map((e) => compileExpression(e)) : [];
    this.featureFns = [...this.features.map((n) => FEATURE_FNS[n]), ...this.custom.map((c) => c.fn)];
    // Compat works in float64 like the original's scalar code; the default mode in float32.
    this.dtype = spec.mode === 'compat' ? 'float64' : 'float32';
    this.outputs = spec.problem === 'classification' && spec.classes > 2 ? spec.classes : 1;
    this.order = new Generator(hashSeed(`order:${spec.initSeed}`));

    const sizes = [this.featureFns.length, ...spec.networkShape, this.outputs];
    const modules: nn.Module[] = [];
    for (let l = 1; l < sizes.length; l++) {
      const hidden = l < sizes.length - 1;
      const linear = new nn.Linear(sizes[l - 1], sizes[l], { dtype: this.dtype });
      const norm = hidden && spec.mode === 'default' && spec.batchNorm[l - 1] ? new nn.BatchNorm1d(sizes[l], { dtype: this.dtype }) : null;
      const activation = hidden ? activationLayer(activationOf(spec, l - 1)) : this.outputActivation();
      const p = hidden && spec.mode === 'default' ? (spec.dropout[l - 1] ?? 0) : 0;
      const dropout = p > 0 ? new nn.Dropout(p) : null;
      this.layers.push({ linear, norm, activation, dropout });
      modules.push(linear, ...(norm ? [norm] : []), activation, ...(dropout ? [dropout] : []));
      this.deadMasks.push(new Uint8Array(sizes[l] * sizes[l - 1]));
    }
    this.model = new nn.Sequential(...modules);
    this.initWeights();
    this.snapshotInitial();

    this.trainX = this.featureMatrix(data.train);
    this.testX = this.featureMatrix(data.test);
    this.trainY = this.targets(data.train);
    this.testY = this.targets(data.test);
    const grid: Point2D[] = [];
    for (let j = 0; j < GRID; j++) for (let i = 0; i < GRID; i++) grid.push({ x: gridX(i), y: gridY(j), label: 0 });
    this.gridX = this.featureMatrix(grid);
    this.buildOptimizer();
    this.model.train();
  }

  /** What the output unit applies: tanh for MSE classification (the original), nothing for logits and regression. */
  private outputActivation(): nn.Module {
    if (this.spec.problem === 'classification' && this.outputs === 1 && this.spec.loss === 'mse') return new nn.Tanh();
    return new nn.Identity();
  }

  private featureMatrix(points: readonly Point2D[]): Tensor {
    const f = this.featureFns;
    const data = this.dtype === 'float64' ? new Float64Array(points.length * f.length) : new Float32Array(points.length * f.length);
    for (let i = 0; i < points.length; i++) for (let k = 0; k < f.length; k++) data[i * f.length + k] = f[k](points[i].x, points[i].y);
    return tensor(data, { shape: [points.length, f.length] });
  }

  private targets(points: readonly Point2D[]): Tensor {
    if (this.outputs > 1)
      return tensor(
        Int32Array.from(points, (p) => p.label),
        { shape: [points.length] },
      );
    const data = this.dtype === 'float64' ? new Float64Array(points.length) : new Float32Array(points.length);
    const bce = this.spec.problem === 'classification' && this.spec.loss === 'bce';
    for (let i = 0; i < points.length; i++) data[i] = bce ? (points[i].label + 1) / 2 : points[i].label;
    return tensor(data, { shape: [points.length, 1] });
  }

  private initWeights(): void {
    const spec = this.spec;
    const gen = new Generator(hashSeed(spec.initSeed));
    for (const { linear } of this.layers) {
      const w = linear.weight.data;
      const b = linear.bias?.data;
      if (spec.mode === 'compat' || spec.init === 'uniform') {
        // The original: every weight U(−0.5, 0.5) in link order ([out][in], row-major), every bias 0.1.
        const r = this.compatRandom ?? (() => gen.nextDouble());
        for (let i = 0; i < w.length; i++) w[i] = spec.initZero ? 0 : r() - 0.5;
        if (b) b.fill(spec.initZero ? 0 : 0.1);
        continue;
      }
      if (spec.init === 'zeros') nn.init.zeros(linear.weight);
      else if (spec.init === 'glorot') nn.init.xavierUniform(linear.weight, { generator: gen });
      else if (spec.init === 'he') nn.init.kaimingUniform(linear.weight, { generator: gen, nonlinearity: 'relu' });
      else nn.init.lecunUniform(linear.weight, { generator: gen });
      if (b) b.fill(0);
    }
  }

  private snapshotInitial(): void {
    this.initial = new Map(this.model.namedParameters().map(([n, p]) => [n, Float64Array.from(p.data as Float64Array)]));
  }

  private buildOptimizer(): void {
    const s = this.hyper;
    const params = this.model.parameters();
    const lr = scheduledLr(s, this.epoch);
    this.optimizerName = s.mode === 'compat' ? 'compat' : s.optimizer;
    switch (this.optimizerName) {
      case 'compat':
      case 'sgd':
        this.optimizer = new optim.SGD(params, { lr });
        break;
      case 'momentum':
        this.optimizer = new optim.SGD(params, { lr, momentum: s.momentum });
        break;
      case 'nesterov':
        this.optimizer = new optim.SGD(params, { lr, momentum: Math.max(s.momentum, 1e-3), nesterov: true });
        break;
      case 'adagrad':
        this.optimizer = new optim.Adagrad(params, { lr });
        break;
      case 'adadelta':
        this.optimizer = new optim.Adadelta(params, { lr, rho: s.rho });
        break;
      case 'rmsprop':
        this.optimizer = new optim.RMSprop(params, { lr, alpha: s.alpha });
        break;
      case 'adam':
        this.optimizer = new optim.Adam(params, { lr, betas: [s.beta1, s.beta2] });
        break;
      case 'lbfgs':
        this.optimizer = new optim.LBFGS(params, { lr, lineSearchFn: 'strongWolfe' });
        break;
    }
  }

  /** Apply what changes without a reset: learning rate, schedule, optimizer, regularization, batch size. */
  setHyper(spec: Spec): void {
    const rebuild = (['optimizer', 'momentum', 'beta1', 'beta2', 'alpha', 'rho'] as const).some((k) => spec[k] !== this.hyper[k]);
    this.hyper = structuredClone(spec);
    if (rebuild && spec.mode === 'default') this.buildOptimizer();
    this.applyLr();
  }

  private applyLr(): void {
    const lr = scheduledLr(this.hyper, this.epoch);
    for (const g of this.optimizer.paramGroups) g.lr = lr;
  }

  /** The data loss on a batch (mean over its rows), before any penalty. */
  private dataLoss(out: Tensor, y: Tensor, reduction: 'mean' | 'sum' = 'mean'): Tensor {
    if (this.outputs > 1) return nn.functional.crossEntropy(out, y, { reduction });
    const loss = this.spec.problem === 'classification' ? this.spec.loss : 'mse';
    if (loss === 'bce') return nn.functional.binaryCrossEntropyWithLogits(out, y, { reduction });
    if (loss === 'hinge') {
      const h = out.mul(y).neg().add(1).relu();
      return reduction === 'sum' ? h.sum() : h.mean();
    }
    // The original's error: 0.5·(o − t)² per point.
    const e = out.sub(y).square().mul(0.5);
    return reduction === 'sum' ? e.sum() : e.mean();
  }

  private penalty(): Tensor | null {
    const s = this.hyper;
    if (s.regularization === 'none' || s.regularizationRate === 0) return null;
    let total: Tensor | null = null;
    for (const { linear } of this.layers) {
      const w = linear.weight;
      const term = s.regularization === 'L1' ? w.abs().sum() : w.square().sum().mul(0.5);
      total = total === null ? term : total.add(term);
    }
    return (total as Tensor).mul(s.regularizationRate);
  }

  /** Rows [a, b) of a matrix. */
  private rows(t: Tensor, index: Int32Array, a: number, b: number): Tensor {
    return t.indexSelect(0, tensor(index.subarray(a, b), { shape: [b - a] }));
  }

  /** One epoch. Returns false when training stopped (NaN, early stopping, the stop epoch). */
  trainEpoch(): boolean {
    if (this.stopped !== null) return false;
    this.applyLr();
    this.model.train();
    if (this.spec.mode === 'compat') this.compatEpoch();
    else if (this.hyper.optimizer === 'lbfgs') this.lbfgsEpoch();
    else this.defaultEpoch();
    this.epoch++;
    this.record();
    return this.stopped === null;
  }

  private defaultEpoch(): void {
    const n = this.data.train.length;
    const order = this.order.permutation(n);
    const batch = Math.max(1, this.hyper.batchSize);
    for (let a = 0; a < n; a += batch) {
      const b = Math.min(n, a + batch);
      // BatchNorm cannot normalise a single row; such a leftover is skipped.
      if (b - a < 2 && this.layers.some((l) => l.norm)) continue;
      const x = this.rows(this.trainX, order, a, b);
      const y = this.rows(this.trainY, order, a, b);
      this.optimizer.zeroGrad();
      const last = b >= n;
      let loss = this.dataLoss(this.forward(x, last), y);
      const pen = this.penalty();
      if (pen) loss = loss.add(pen);
      loss.backward();
      if (last) {
        this.lastGradNorms = this.gradNorms();
        // The loss is a batch mean; times the batch size, the norm is per data point as in compat mode.
        this.lastActGradNorms = this.actGradNorms(1 / (b - a));
      }
      this.optimizer.step();
    }
  }

  private lbfgsEpoch(): void {
    const closure = () => {
      this.optimizer.zeroGrad();
      let loss = this.dataLoss(this.forward(this.trainX, true), this.trainY);
      const pen = this.penalty();
      if (pen) loss = loss.add(pen);
      loss.backward();
      return loss;
    };
    (this.optimizer as optim.LBFGS).step(closure);
    this.lastGradNorms = this.gradNorms();
    this.lastActGradNorms = this.actGradNorms(1 / this.data.train.length);
  }

  /**
   * The original's epoch: one pass in a fixed order (no reshuffle); gradients
   * are summed point by point and applied at every batchSize-th point as
   * their mean; a partial last batch carries over into the next epoch; the
   * penalty's derivative is taken at the weight before the step and is not
   * averaged; under L1 a weight that the penalty pushes across 0 is set to 0
   * and frozen.
   */
  private compatEpoch(): void {
    const n = this.data.train.length;
    const batch = Math.max(1, this.hyper.batchSize);
    const index = Int32Array.from({ length: n }, (_, i) => i);
    let a = 0;
    while (a < n) {
      const b = Math.min(n, (Math.floor(a / batch) + 1) * batch);
      const x = this.rows(this.trainX, index, a, b);
      const y = this.rows(this.trainY, index, a, b);
      this.dataLoss(this.forward(x, true), y, 'sum').backward();
      this.carried += b - a;
      if (b % batch === 0) {
        this.lastGradNorms = this.gradNorms(this.carried);
        this.lastActGradNorms = this.actGradNorms(b - a);
        this.compatUpdate(this.carried);
        this.carried = 0;
      }
      a = b;
    }
  }

  private compatUpdate(count: number): void {
    const { learningRate: lr, regularization, regularizationRate: rate } = this.hyper;
    for (let l = 0; l < this.layers.length; l++) {
      const { linear } = this.layers[l];
      const dead = this.deadMasks[l];
      const w = linear.weight.data as Float64Array;
      const gw = linear.weight.grad?.data;
      if (gw) {
        for (let i = 0; i < w.length; i++) {
          if (dead[i]) continue;
          const old = w[i];
          const regDer = regularization === 'L1' ? (old < 0 ? -1 : 1) : regularization === 'L2' ? old : 0;
          const stepped = old - (lr / count) * gw[i];
          const next = stepped - lr * rate * regDer;
          if (regularization === 'L1' && stepped * next < 0) {
            w[i] = 0;
            dead[i] = 1;
          } else w[i] = next;
        }
      }
      const bias = linear.bias;
      const gb = bias?.grad?.data;
      if (bias && gb) {
        const b = bias.data as Float64Array;
        for (let i = 0; i < b.length; i++) b[i] -= (lr * gb[i]) / count;
      }
    }
    this.optimizer.zeroGrad();
  }

  /**
   * The model's forward pass, layer by layer as the Sequential runs it (the
   * same modules in the same order, so the same numbers and random draws);
   * with `keep`, each layer's output keeps its gradient for ‖∂L/∂a‖.
   */
  private forward(x: Tensor, keep: boolean): Tensor {
    if (!keep) return this.model.forward(x);
    this.kept = [];
    let h = x;
    for (const layer of this.layers) {
      h = layer.linear.forward(h);
      if (layer.norm) h = layer.norm.forward(h);
      h = layer.activation.forward(h) as Tensor;
      if (layer.dropout) h = layer.dropout.forward(h) as Tensor;
      h.retainGrad();
      this.kept.push(h);
    }
    return h;
  }

  /** ‖∂L/∂a‖ of each kept layer output, divided by `count`. */
  private actGradNorms(count = 1): number[] {
    return this.kept.map((t) => {
      const g = t.grad?.data;
      if (!g) return 0;
      let s = 0;
      for (let i = 0; i < g.length; i++) s += g[i] * g[i];
      return Math.sqrt(s) / count;
    });
  }

  private gradNorms(count = 1): number[] {
    return this.layers.map(({ linear }) => {
      const g = linear.weight.grad?.data;
      if (!g) return 0;
      let s = 0;
      for (let i = 0; i < g.length; i++) s += g[i] * g[i];
      return Math.sqrt(s) / count;
    });
  }

  /** Loss, score and (for classes) the predictions on a split, in eval mode. */
  private evaluate(x: Tensor, y: Tensor, points: readonly Point2D[]): { loss: number; score: number; rmse: number; predicted: number[] } {
    if (points.length === 0) return { loss: 0, score: 0, rmse: 0, predicted: [] };
    return noGrad(() => {
      this.model.eval();
      const out = this.model.forward(x);
      this.model.train();
      const loss = toNumber(this.dataLoss(out, y));
      const o = out.data;
      const predicted: number[] = [];
      let score = 0;
      let sse = 0;
      if (this.spec.problem !== 'classification') {
        const mean = points.reduce((s, p) => s + p.label, 0) / points.length;
        let sst = 0;
        for (let i = 0; i < points.length; i++) {
          sse += (o[i] - points[i].label) ** 2;
          sst += (points[i].label - mean) ** 2;
        }
        score = sst > 0 ? 1 - sse / sst : 0;
      } else if (this.outputs > 1) {
        const k = this.outputs;
        for (let i = 0; i < points.length; i++) {
          let best = 0;
          for (let c = 1; c < k; c++) if (o[i * k + c] > o[i * k + best]) best = c;
          predicted.push(best);
          if (best === points[i].label) score++;
        }
        score /= points.length;
      } else {
        // Logits (BCE, hinge) and tanh outputs are all positive for the +1 class.
        for (let i = 0; i < points.length; i++) {
          const p = o[i] >= 0 ? 1 : -1;
          predicted.push(p);
          if (p === points[i].label) score++;
        }
        score /= points.length;
      }
      return { loss, score, rmse: Math.sqrt(sse / points.length), predicted };
    });
  }

  private record(): void {
    const tr = this.evaluate(this.trainX, this.trainY, this.data.train);
    const te = this.evaluate(this.testX, this.testY, this.data.test);
    this.history.push({
      epoch: this.epoch,
      trainLoss: tr.loss,
      testLoss: te.loss,
      trainScore: tr.score,
      testScore: te.score,
      lr: scheduledLr(this.hyper, this.epoch - 1),
      gradW: this.lastGradNorms.slice(),
      gradA: this.lastActGradNorms.slice(),
    });
    if (!Number.isFinite(tr.loss) || this.firstNonFinite() !== null) {
      const where = this.firstNonFinite();
      this.stopped = `The ${where ?? 'loss'} became ${Number.isNaN(tr.loss) ? 'NaN' : 'infinite'} at epoch ${this.epoch}: training paused. Lower the learning rate (now ${this.hyper.learningRate}) or the regularization rate, then Reset.`;
      return;
    }
    if (this.hyper.patience > 0 && this.data.test.length > 0) {
      if (te.loss < this.bestTest - 1e-6) {
        this.bestTest = te.loss;
        this.sinceBest = 0;
      } else if (++this.sinceBest >= this.hyper.patience) {
        this.stopped = `Early stopping: the test loss has not improved for ${this.hyper.patience} epochs (best ${this.bestTest.toFixed(3)}).`;
        return;
      }
    }
    if (this.hyper.stopAt > 0 && this.epoch >= this.hyper.stopAt) this.stopped = `Stopped at epoch ${this.epoch}, as asked.`;
  }

  /** The first layer whose weights or biases are not all finite, named for people. */
  private firstNonFinite(): string | null {
    for (let l = 0; l < this.layers.length; l++) {
      for (const p of this.layers[l].linear.parameters()) {
        const d = p.data;
        for (let i = 0; i < d.length; i++)
          if (!Number.isFinite(d[i])) return `${this.layerName(l)}'s ${p === this.layers[l].linear.weight ? 'weights' : 'biases'}`;
      }
    }
    return null;
  }

  layerName(l: number): string {
    const lin = this.layers[l].linear;
    const kind = l === this.layers.length - 1 ? 'output layer' : `hidden layer ${l + 1}`;
    return `${kind} (Linear ${lin.inFeatures}→${lin.outFeatures})`;
  }

  /** Clear a stop (after the user changes something) so Play can go on. */
  resume(): void {
    if (this.stopped !== null && this.firstNonFinite() === null) {
      this.stopped = null;
      this.sinceBest = 0;
    }
  }

  /** Back to the weights the run started from (default mode's Reset). */
  restoreInitial(): void {
    for (const [n, p] of this.model.namedParameters()) (p.data as Float64Array).set(this.initial.get(n) as Float64Array);
    this.epoch = 0;
    this.history = [];
    this.stopped = null;
    this.carried = 0;
    this.bestTest = Number.POSITIVE_INFINITY;
    this.sinceBest = 0;
    for (const m of this.deadMasks) m.fill(0);
    this.order = new Generator(hashSeed(`order:${this.spec.initSeed}`));
    this.buildOptimizer();
  }

  /** Every layer's output over the grid, in eval mode: [layer][row·unit]. */
  /**
   * Every layer's output over the grid in eval mode: [layer][row·unit]. With
   * `maskSeed`, one train-mode pass instead: each dropout layer switches off
   * the same units for the whole plane (one mask drawn from the seed, the
   * kept units scaled by 1/(1 − p)), so the maps show the thinned network that
   * one training step sees. Batch norm stays on its running statistics.
   */
  private gridActivations(maskSeed: number | null = null): { acts: Float32Array[]; out: Tensor; dropped: number[][] } {
    return noGrad(() => {
      this.model.eval();
      const acts: Float32Array[] = [];
      const dropped: number[][] = [];
      const masks = maskSeed === null ? null : new Generator(maskSeed);
      let h = this.gridX;
      for (const layer of this.layers) {
        h = layer.linear.forward(h);
        if (layer.norm) h = layer.norm.forward(h);
        h = layer.activation.forward(h) as Tensor;
        if (masks && layer.dropout) {
          const p = layer.dropout.p;
          const units = layer.linear.outFeatures;
          const scale = this.dtype === 'float64' ? new Float64Array(units) : new Float32Array(units);
          const off: number[] = [];
          for (let u = 0; u < units; u++) {
            const keep = masks.nextDouble() >= p;
            scale[u] = keep ? 1 / (1 - p) : 0;
            if (!keep) off.push(u);
          }
          h = h.mul(tensor(scale, { shape: [1, units] }));
          dropped.push(off);
        } else if (layer !== this.layers[this.layers.length - 1]) dropped.push([]);
        acts.push(Float32Array.from(h.data as Float32Array));
      }
      this.model.train();
      return { acts, out: h, dropped };
    });
  }

  /** The output in [−1, 1] for a raw output value: what the heatmap colours. */
  private display(v: number): number {
    if (this.spec.problem !== 'classification') return Math.max(-1, Math.min(1, v));
    if (this.spec.loss === 'bce') return Math.tanh(v / 2); // 2σ(v) − 1
    return Math.max(-1, Math.min(1, v));
  }

  /**
   * The state the page draws. `selected` is a neuron id "layer:unit" to return
   * at full size; `since` skips the history records the page already has.
   */
  snapshot(selected: string | null = null, since = 0, maskSeed: number | null = null): Snapshot {
    const from = since > 0 && since <= this.history.length ? since : 0;
    const last = this.history[this.history.length - 1];
    const te = this.evaluate(this.testX, this.testY, this.data.test);
    const { acts, dropped } = this.gridActivations(maskSeed);
    const cells = GRID * GRID;
    const out = acts[acts.length - 1];
    const grid = new Float32Array(cells);
    let confidence: Float32Array | null = null;
    if (this.outputs > 1) {
      confidence = new Float32Array(cells);
      const k = this.outputs;
      for (let c = 0; c < cells; c++) {
        let best = 0;
        let max = Number.NEGATIVE_INFINITY;
        for (let q = 0; q < k; q++) if (out[c * k + q] > max) max = out[c * k + (best = q)];
        let z = 0;
        for (let q = 0; q < k; q++) z += Math.exp(out[c * k + q] - max);
        grid[c] = best;
        confidence[c] = 1 / z;
      }
    } else for (let c = 0; c < cells; c++) grid[c] = this.display(out[c]);

    const tiles: Float32Array[][] = acts.map((a, l) => {
      const units = this.layers[l].linear.outFeatures;
      const isOut = l === this.layers.length - 1;
      return Array.from({ length: units }, (_, u) => reduce(a, units, u, isOut && this.outputs === 1 ? (v) => this.display(v) : (v) => v));
    });
    let sel: Float32Array | null = null;
    if (selected !== null) {
      const [l, u] = selected.split(':').map(Number);
      if (acts[l] !== undefined && u < this.layers[l].linear.outFeatures) {
        const units = this.layers[l].linear.outFeatures;
        sel = new Float32Array(cells);
        for (let c = 0; c < cells; c++) sel[c] = acts[l][c * units + u];
      }
    }
    const k = this.outputs > 1 ? this.outputs : 2;
    const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
    if (this.spec.problem === 'classification') {
      te.predicted.forEach((p, i) => {
        const t = this.data.test[i].label;
        const row = this.outputs > 1 ? t : t > 0 ? 1 : 0;
        const col = this.outputs > 1 ? p : p > 0 ? 1 : 0;
        confusion[row][col]++;
      });
    }
    return {
      epoch: this.epoch,
      trainLoss: last?.trainLoss ?? this.evaluate(this.trainX, this.trainY, this.data.train).loss,
      testLoss: te.loss,
      trainScore: last?.trainScore ?? 0,
      testScore: te.score,
      testRmse: te.rmse,
      confusion,
      grid,
      confidence,
      tiles,
      selected: sel,
      weights: this.layers.map(({ linear }) => {
        const w = linear.weight.data;
        return Array.from({ length: linear.outFeatures }, (_, o) => Array.from(w.subarray(o * linear.inFeatures, (o + 1) * linear.inFeatures)));
      }),
      biases: this.layers.map(({ linear }) => Array.from(linear.bias?.data ?? [])),
      gradNorms: this.lastGradNorms.slice(),
      actGradNorms: this.lastActGradNorms.slice(),
      dropped,
      dead: this.deadUnits(),
      frozen: this.deadMasks.flatMap((m, l) => {
        const inF = this.layers[l].linear.inFeatures;
        const r: [number, number, number][] = [];
        m.forEach((d, i) => {
          if (d) r.push([l, Math.floor(i / inF), i % inF]);
        });
        return r;
      }),
      history: this.history.slice(from),
      historyFrom: from,
      stopped: this.stopped,
      curve: this.spec.problem === 'curve' ? this.curveView() : null,
    };
  }

  /** The 1-D fit and each last-hidden-layer unit's share of it (eval mode). */
  curveView(): CurveView {
    return noGrad(() => {
      this.model.eval();
      let h = this.featureMatrix(Array.from({ length: CURVE_SAMPLES }, (_, i) => ({ x: curveX(i), y: 0, label: 0 })));
      for (const layer of this.layers.slice(0, -1)) {
        h = layer.linear.forward(h);
        if (layer.norm) h = layer.norm.forward(h);
        h = layer.activation.forward(h) as Tensor;
      }
      const out = this.layers[this.layers.length - 1];
      const fit = Float32Array.from(out.activation.forward(out.linear.forward(h)).data as Float32Array);
      this.model.train();
      const units = out.linear.inFeatures;
      const w = out.linear.weight.data;
      const hidden = h.data;
      const parts = Array.from({ length: units }, (_, j) => {
        const p = new Float32Array(CURVE_SAMPLES);
        for (let i = 0; i < CURVE_SAMPLES; i++) p[i] = w[j] * hidden[i * units + j];
        return p;
      });
      return { fit, parts, bias: Number(out.linear.bias?.data[0] ?? 0) };
    });
  }

  /** Hidden units whose output is ≤ 0 on every training point (dead ReLUs and their kin). */
  private deadUnits(): number[][] {
    return noGrad(() => {
      this.model.eval();
      const result: number[][] = [];
      let h = this.trainX;
      for (let l = 0; l < this.layers.length - 1; l++) {
        const layer = this.layers[l];
        h = layer.linear.forward(h);
        if (layer.norm) h = layer.norm.forward(h);
        h = layer.activation.forward(h) as Tensor;
        const units = layer.linear.outFeatures;
        const d = h.data;
        const dead: number[] = [];
        for (let u = 0; u < units; u++) {
          let alive = false;
          for (let r = 0; r < d.length / units && !alive; r++) alive = d[r * units + u] > 0;
          if (!alive && ['relu', 'poslin', 'satlin', 'hardlim'].includes(activationOf(this.spec, l))) dead.push(u);
        }
        result.push(dead);
      }
      this.model.train();
      return result;
    });
  }

  /** The output at a point of the plane, in the heatmap's scale (the class index for several classes). */
  outputAt(x: number, y: number): number {
    const p = this.featureMatrix([{ x, y, label: 0 }]);
    return noGrad(() => {
      this.model.eval();
      const o = this.model.forward(p).data;
      this.model.train();
      if (this.outputs > 1) {
        let best = 0;
        for (let c = 1; c < o.length; c++) if (o[c] > o[best]) best = c;
        return best;
      }
      return this.display(o[0]);
    });
  }

  /** Set one weight (or, with `input` -1, a bias) as the link editor does. */
  setWeight(layer: number, output: number, input: number, value: number): void {
    if (!Number.isFinite(value)) throw new RangeError(`weight: ${value} is not a finite number`);
    const lin = this.layers[layer]?.linear;
    if (!lin || output < 0 || output >= lin.outFeatures || input < -1 || input >= lin.inFeatures)
      throw new RangeError(`weight: no link ${layer}:${output}:${input}`);
    if (input === -1) (lin.bias as Tensor).data[output] = value;
    else lin.weight.data[output * lin.inFeatures + input] = value;
  }

  /** A hash of every weight's bits, to compare runs exactly. */
  weightsHash(): string {
    let h = 0x811c9dc5;
    for (const p of this.model.parameters()) {
      const d = p.data;
      const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
      for (let i = 0; i < bytes.length; i++) {
        h ^= bytes[i];
        h = Math.imul(h, 0x01000193);
      }
    }
    return (h >>> 0).toString(16).padStart(8, '0');
  }

  /** Weights and running statistics as plain arrays, by parameter name. */
  stateArrays(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [name, t] of this.model.stateDict()) out[name] = Array.from(t.data as Float32Array);
    return out;
  }

  /** Load what stateArrays() gave; throws naming the first entry that does not fit. */
  loadStateArrays(state: Record<string, unknown>): void {
    const own = this.model.stateDict();
    for (const [name, t] of own) {
      const v = state[name];
      if (!Array.isArray(v) || v.length !== t.size || !v.every((x) => typeof x === 'number' && Number.isFinite(x)))
        throw new RangeError(`weights: "${name}" should be ${t.size} finite numbers${Array.isArray(v) ? `, got ${v.length} values` : ''}`);
    }
    for (const [name, t] of own) (t.data as Float64Array).set(state[name] as number[]);
  }
}

/** Block-average one unit's column of a [cells, units] activation to TILE×TILE. */
function reduce(a: Float32Array, units: number, unit: number, map: (v: number) => number): Float32Array {
  const f = GRID / TILE;
  const out = new Float32Array(TILE * TILE);
  for (let j = 0; j < GRID; j++)
    for (let i = 0; i < GRID; i++) out[Math.floor(j / f) * TILE + Math.floor(i / f)] += map(a[(j * GRID + i) * units + unit]) / (f * f);
  return out;
}

/** A TypeScript program that rebuilds and retrains this experiment with neurite. */
export function typescriptSnippet(spec: Spec, features: readonly FeatureName[], custom: readonly Expression[] = []): string {
  const classes = spec.problem === 'classification' && spec.classes > 2 ? spec.classes : 1;
  const layerLines: string[] = [];
  let inF = features.length + custom.length;
  spec.networkShape.forEach((units, l) => {
    layerLines.push(`  new nn.Linear(${inF}, ${units}),`);
    if (spec.batchNorm[l]) layerLines.push(`  new nn.BatchNorm1d(${units}),`);
    layerLines.push(`  ${activationSource(activationOf(spec, l))},`);
    if ((spec.dropout[l] ?? 0) > 0) layerLines.push(`  new nn.Dropout(${spec.dropout[l]}),`);
    inF = units;
  });
  layerLines.push(`  new nn.Linear(${inF}, ${classes}),`);
  const loss =
    classes > 1 ? "'crossEntropy'" : spec.problem !== 'classification' || spec.loss === 'mse' ? "'mse'" : spec.loss === 'bce' ? "'bceWithLogits'" : "'hinge'";
  const featureExpr: Record<FeatureName, string> = {
    x: 'x1',
    y: 'x2',
    xSquared: 'x1 * x1',
    ySquared: 'x2 * x2',
    xTimesY: 'x1 * x2',
    sinX: 'Math.sin(x1)',
    sinY: 'Math.sin(x2)',
  };
  return [
    "import { nn, optim, tensor } from 'neurite';",
    '',
    `// Made by the neurite playground: ${spec.problem}, ${spec.problem === 'classification' ? (spec.dataset === 'boundary' ? `y > ${spec.boundary}` : spec.dataset) : spec.problem === 'curve' ? spec.curveDataset : spec.regDataset} data.`,
    `// points: [x1, x2, label] rows (the playground's "Download data" CSV has them).`,
    `const features = (x1: number, x2: number) => [${[...features.map((f) => featureExpr[f]), ...custom.map((c) => c.typescript)].join(', ')}];`,
    'const model = new nn.Sequential(',
    ...layerLines,
    ');',
    `const optimizer = new optim.${optimizerSource(spec)};`,
    'export function train(points: [number, number, number][], epochs = 100) {',
    '  const x = tensor(points.map(([a, b]) => features(a, b)));',
    classes > 1
      ? '  const y = tensor(Int32Array.from(points, (p) => p[2]), { shape: [points.length] });'
      : spec.problem === 'classification' && spec.loss === 'bce'
        ? '  const y = tensor(points.map((p) => [(p[2] + 1) / 2]));'
        : '  const y = tensor(points.map((p) => [p[2]]));',
    `  for (let epoch = 0; epoch < epochs; epoch++) {`,
    `    for (let i = 0; i < points.length; i += ${spec.batchSize}) {`,
    `      const rows = Array.from({ length: Math.min(${spec.batchSize}, points.length - i) }, (_, k) => i + k);`,
    '      const index = tensor(Int32Array.from(rows), { shape: [rows.length] });',
    '      optimizer.zeroGrad();',
    `      const loss = nn.getLoss(${loss})(model.forward(x.indexSelect(0, index)), y.indexSelect(0, index));`,
    '      loss.backward();',
    '      optimizer.step();',
    '    }',
    '  }',
    '  return model;',
    '}',
    '',
  ].join('\n');
}

function activationSource(a: ActivationName): string {
  const map: Partial<Record<ActivationName, string>> = {
    tanh: 'new nn.Tanh()',
    tansig: 'new nn.Tanh()',
    relu: 'new nn.ReLU()',
    poslin: 'new nn.ReLU()',
    sigmoid: 'new nn.Sigmoid()',
    logsig: 'new nn.Sigmoid()',
    linear: 'new nn.Identity()',
    purelin: 'new nn.Identity()',
    hardlim: 'new nn.Hardlim()',
    hardlims: 'new nn.Hardlims()',
    satlin: 'new nn.Satlin()',
    satlins: 'new nn.Hardtanh()',
    compet: 'new nn.Compet({ axis: 1 })',
    leakyrelu: 'new nn.LeakyReLU({ negativeSlope: 0.01 })',
    elu: 'new nn.ELU()',
    selu: 'new nn.SELU()',
    gelu: 'new nn.GELU()',
    softplus: 'new nn.Softplus()',
    softsign: 'new nn.Softsign()',
    swish: 'new nn.SiLU()',
    mish: 'new nn.Mish()',
    sine: 'new nn.Lambda((x) => x.sin())',
    gaussian: 'new nn.Lambda((x) => x.square().neg().exp())',
  };
  return map[a] as string;
}

function optimizerSource(s: Spec): string {
  switch (s.optimizer) {
    case 'sgd':
      return `SGD(model.parameters(), { lr: ${s.learningRate} })`;
    case 'momentum':
      return `SGD(model.parameters(), { lr: ${s.learningRate}, momentum: ${s.momentum} })`;
    case 'nesterov':
      return `SGD(model.parameters(), { lr: ${s.learningRate}, momentum: ${s.momentum}, nesterov: true })`;
    case 'adagrad':
      return `Adagrad(model.parameters(), { lr: ${s.learningRate} })`;
    case 'adadelta':
      return `Adadelta(model.parameters(), { lr: ${s.learningRate}, rho: ${s.rho} })`;
    case 'rmsprop':
      return `RMSprop(model.parameters(), { lr: ${s.learningRate}, alpha: ${s.alpha} })`;
    case 'adam':
      return `Adam(model.parameters(), { lr: ${s.learningRate}, betas: [${s.beta1}, ${s.beta2}] })`;
    case 'lbfgs':
      return `LBFGS(model.parameters(), { lr: ${s.learningRate} }) // step(closure): see neurite's L-BFGS docs`;
  }
}
