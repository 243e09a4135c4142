import { fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { defaultGenerator, Generator } from '../core/random.js';
import { Tensor } from '../core/tensor.js';
import { indexSelect } from '../ops/index.js';

/** One mini-batch: inputs and, for supervised data, targets (the first axis is the sample axis). */
export interface Batch {
  /** The inputs, one sample per row of the first axis. */
  x: Tensor;
  /** The targets, one per sample (absent for unlabelled data). */
  y?: Tensor;
}

/**
 * A dataset whose samples can be gathered by index, which is all a DataLoader
 * needs. TensorDataset implements it; other sources can too.
 */
export interface IndexedDataset {
  /** Number of samples. */
  readonly length: number;
  /** The samples at these indices, stacked along a new first axis, in this order. */
  getBatch(indices: Int32Array): Batch;
}

/**
 * Samples held in memory as tensors: sample i is `x[i]` (and `y[i]`). Both
 * tensors share their first axis.
 */
export class TensorDataset implements IndexedDataset {
  /** The inputs, one sample per row of the first axis. */
  readonly x: Tensor;
  /** The targets, one per sample (absent for unlabelled data). */
  readonly y: Tensor | undefined;

  constructor(x: Tensor, y?: Tensor) {
    if (!(x instanceof Tensor)) throw new ValueError('TensorDataset: x must be a Tensor');
    if (x.ndim === 0) throw new ShapeError('TensorDataset: x must have a sample axis (rank >= 1), got a scalar');
    if (y !== undefined) {
      if (!(y instanceof Tensor)) throw new ValueError('TensorDataset: y must be a Tensor');
      if (y.ndim === 0 || y.shape[0] !== x.shape[0]) {
        throw new ShapeError(`TensorDataset: x has ${x.shape[0]} samples (shape ${fmtShape(x.shape)}) but y has shape ${fmtShape(y.shape)}`);
      }
    }
    this.x = x;
    this.y = y;
  }

  get length(): number {
    return this.x.shape[0];
  }

  /** Sample i as tensors without the sample axis. */
  get(i: number): Batch {
    if (!Number.isInteger(i) || i < -this.length || i >= this.length) {
      throw new ValueError(`TensorDataset.get: index ${i} is out of range for ${this.length} samples`);
    }
    const idx = i < 0 ? i + this.length : i;
    return { x: this.x.slice(idx), y: this.y?.slice(idx) };
  }

  getBatch(indices: Int32Array): Batch {
    // Whole dataset in order: hand out the tensors themselves instead of a copy.
    if (indices.length === this.length && isIdentity(indices)) return { x: this.x, y: this.y };
    const index = new Tensor(indices, [indices.length]);
    return { x: indexSelect(this.x, 0, index), y: this.y === undefined ? undefined : indexSelect(this.y, 0, index) };
  }

  /** A new dataset holding the samples at these indices, in this order. */
  subset(indices: Int32Array | readonly number[]): TensorDataset {
    const idx = indices instanceof Int32Array ? indices : Int32Array.from(indices);
    const b = this.getBatch(idx);
    return new TensorDataset(b.x, b.y);
  }
}

function isIdentity(indices: Int32Array): boolean {
  for (let i = 0; i < indices.length; i++) if (indices[i] !== i) return false;
  return true;
}

/** How a DataLoader batches and shuffles. */
export interface DataLoaderOptions {
  /** Samples per batch (default 32). A value at least the dataset size gives one full batch. */
  batchSize?: number;
  /** Draw a new sample order at the start of every pass (default false). */
  shuffle?: boolean;
  /** Skip the last batch when it is smaller than batchSize (default false). */
  dropLast?: boolean;
  /** The generator behind shuffling (default: the global one, so `seed(n)` reproduces a run). */
  generator?: Generator;
  /**
   * Serve one replica's share of every pass (data-parallel training): the
   * pass's order (the same on every replica when their generators agree) is
   * extended by wrapping around to a multiple of `worldSize`, and replica
   * `rank` takes every `worldSize`-th sample from position `rank`, as
   * PyTorch's DistributedSampler does. Replica r's batch t and the other
   * replicas' batch t together are batch t of one process with a batch size
   * `worldSize` times larger.
   */
  shard?: {
    /** This replica's index, 0 to worldSize - 1. */
    readonly rank: number;
    /** How many replicas share the data. */
    readonly worldSize: number;
  };
}

/**
 * Cuts a dataset into mini-batches. Each iteration (one epoch) draws a fresh
 * order when shuffling, so a DataLoader can be iterated once per epoch.
 */
export class DataLoader implements Iterable<Batch> {
  /** The data being batched. */
  readonly dataset: IndexedDataset;
  /** Samples per batch. */
  readonly batchSize: number;
  /** Whether each epoch visits the samples in a new random order. */
  readonly shuffle: boolean;
  /** Whether a final short batch is left out. */
  readonly dropLast: boolean;
  /** The random stream that shuffles each epoch (undefined when not shuffling). */
  readonly generator: Generator | undefined;
  /** The replica whose share this loader serves, or undefined for all samples. */
  readonly shard:
    | {
        /** This replica's index. */
        readonly rank: number;
        /** How many replicas share the data. */
        readonly worldSize: number;
      }
    | undefined;

  constructor(dataset: IndexedDataset, options: DataLoaderOptions = {}) {
    if (dataset === null || typeof dataset !== 'object' || typeof dataset.getBatch !== 'function' || !Number.isInteger(dataset.length)) {
      throw new ValueError('DataLoader: expected a dataset with a length and getBatch(indices), such as a TensorDataset');
    }
    const batchSize = options.batchSize ?? 32;
    if (!(batchSize >= 1) || (!Number.isInteger(batchSize) && batchSize !== Number.POSITIVE_INFINITY)) {
      throw new ValueError(`DataLoader: batchSize must be a positive integer, got ${batchSize}`);
    }
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = options.shuffle ?? false;
    this.dropLast = options.dropLast ?? false;
    this.generator = options.generator;
    const shard = options.shard;
    if (shard !== undefined) {
      const { rank, worldSize } = shard;
      if (!Number.isInteger(worldSize) || worldSize < 1 || !Number.isInteger(rank) || rank < 0 || rank >= worldSize) {
        throw new ValueError(`DataLoader: shard needs an integer worldSize >= 1 and a rank in [0, worldSize), got rank ${rank} of ${worldSize}`);
      }
      if (worldSize > dataset.length) {
        throw new ValueError(`DataLoader: ${dataset.length} samples cannot be shared among ${worldSize} replicas`);
      }
    }
    this.shard = shard === undefined || shard.worldSize === 1 ? undefined : { rank: shard.rank, worldSize: shard.worldSize };
  }

  /** Samples this loader serves per pass: the dataset's, or one replica's share of them. */
  private get served(): number {
    const n = this.dataset.length;
    return this.shard === undefined ? n : Math.ceil(n / this.shard.worldSize);
  }

  /** Batches per pass. */
  get length(): number {
    const n = this.served;
    // batchSize Infinity asks for the full batch, which dropLast never drops.
    if (this.batchSize >= n) return n === 0 || (this.dropLast && Number.isFinite(this.batchSize) && this.batchSize > n) ? 0 : 1;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** One epoch of batches, reshuffled each time it is iterated. */
  *[Symbol.iterator](): Iterator<Batch> {
    const n = this.served;
    const batches = this.length;
    if (batches === 0) return;
    // A single full batch is the same mean loss in any order, so it needs no permutation (and draws no random numbers);
    // a replica's share depends on the order, so sharded passes always draw it.
    const total = this.dataset.length;
    const full = this.shuffle && (batches > 1 || this.shard !== undefined) ? (this.generator ?? defaultGenerator).permutation(total) : identity(total);
    const order = this.shard === undefined ? full : shareOf(full, this.shard.rank, this.shard.worldSize);
    const size = Math.min(this.batchSize, n);
    for (let b = 0; b < batches; b++) {
      const start = b * size;
      yield this.dataset.getBatch(order.subarray(start, Math.min(start + size, n)));
    }
  }
}

/** Every worldSize-th entry of the order from `rank`, the order wrapping around so that every replica gets the same count. */
/**
 * One replica's share of an epoch's sample order when `worldSize` replicas
 * train on one dataset (data parallelism): every worldSize-th sample from
 * `rank` on, the order wrapped round so that every replica gets
 * ceil(n / worldSize) samples and takes the same number of steps (the few
 * samples that wrap appear twice that epoch, as PyTorch's DistributedSampler
 * does). DataLoader's `shard` option and the `neurite launch` trainer use it.
 */
export function shareOf(order: Int32Array, rank: number, worldSize: number): Int32Array {
  const share = new Int32Array(Math.ceil(order.length / worldSize));
  for (let i = 0; i < share.length; i++) share[i] = order[(rank + i * worldSize) % order.length];
  return share;
}

function identity(n: number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return p;
}

/**
 * Split a dataset into disjoint random subsets. `lengths` are sample counts
 * that add up to the dataset size, or fractions that add up to 1 (the samples
 * left over by rounding down go one each to the first subsets, as in PyTorch).
 */
export function randomSplit(dataset: TensorDataset, lengths: readonly number[], options: { generator?: Generator } = {}): TensorDataset[] {
  const n = dataset.length;
  if (lengths.length === 0 || lengths.some((l) => !(l >= 0)))
    throw new ValueError(`randomSplit: lengths must be non-negative numbers, got [${lengths.join(', ')}]`);
  const total = lengths.reduce((a, b) => a + b, 0);
  let counts: number[];
  if (lengths.every(Number.isInteger) && total === n) counts = [...lengths];
  else if (Math.abs(total - 1) < 1e-9 && lengths.every((l) => l <= 1)) {
    counts = lengths.map((f) => Math.floor(f * n));
    let rest = n - counts.reduce((a, b) => a + b, 0);
    for (let i = 0; rest > 0; i = (i + 1) % counts.length, rest--) counts[i]++;
  } else {
    throw new ValueError(`randomSplit: lengths [${lengths.join(', ')}] must be counts adding up to the dataset size ${n} or fractions adding up to 1`);
  }
  const order = (options.generator ?? defaultGenerator).permutation(n);
  const parts: TensorDataset[] = [];
  let start = 0;
  for (const c of counts) {
    parts.push(dataset.subset(order.subarray(start, start + c)));
    start += c;
  }
  return parts;
}

/** How trainTestSplit() splits. */
export interface TrainTestSplitOptions {
  /** Fraction of the samples that go to the test set, in (0, 1) (default 0.25); the test size is rounded up. */
  testFraction?: number;
  /** Shuffle before splitting (default true); without shuffling the test set is the last samples. */
  shuffle?: boolean;
  /** Seed of a private generator for the shuffle (leaves the global generator untouched). */
  seed?: number;
  /** The generator for the shuffle (default: the global one). Ignored when `seed` is given. */
  generator?: Generator;
  /**
   * Keep class proportions equal in both sets: `true` stratifies by `y`, or
   * pass the class labels to use. Requires shuffling.
   */
  stratify?: boolean | Tensor;
}

/** What trainTestSplit() returns: both halves and the indices that formed them. */
export interface TrainTestSplit {
  /** Training inputs. */
  xTrain: Tensor;
  /** Test inputs. */
  xTest: Tensor;
  /** Training targets (undefined when no targets were given). */
  yTrain: Tensor | undefined;
  /** Test targets (undefined when no targets were given). */
  yTest: Tensor | undefined;
  /** Positions in the original data of the training samples. */
  trainIndices: Int32Array;
  /** Positions in the original data of the test samples. */
  testIndices: Int32Array;
}

/** Split samples into a training and a test set (like scikit-learn's train_test_split). */
export function trainTestSplit(x: Tensor, y?: Tensor, options: TrainTestSplitOptions = {}): TrainTestSplit {
  const data = new TensorDataset(x, y);
  const n = data.length;
  const fraction = options.testFraction ?? 0.25;
  if (!(fraction > 0 && fraction < 1)) throw new ValueError(`trainTestSplit: testFraction must be in (0, 1), got ${fraction}`);
  const testCount = Math.ceil(fraction * n);
  if (testCount >= n) throw new ValueError(`trainTestSplit: testFraction ${fraction} of ${n} samples leaves no training samples`);
  const shuffle = options.shuffle ?? true;
  const generator = pickGenerator(options);
  let trainIndices: Int32Array;
  let testIndices: Int32Array;
  if (options.stratify !== undefined && options.stratify !== false) {
    if (!shuffle) throw new ValueError('trainTestSplit: stratify needs shuffle: true');
    const labels = options.stratify === true ? y : options.stratify;
    if (labels === undefined) throw new ValueError('trainTestSplit: stratify: true needs y');
    const classes = classIndices('trainTestSplit', labels);
    if (classes.length !== n) throw new ShapeError(`trainTestSplit: stratify labels name ${classes.length} samples, x has ${n}`);
    [trainIndices, testIndices] = stratifiedSplit(classes, testCount, generator);
  } else {
    const order = shuffle ? generator.permutation(n) : identity(n);
    trainIndices = order.slice(0, n - testCount);
    testIndices = order.slice(n - testCount);
  }
  const train = data.subset(trainIndices);
  const test = data.subset(testIndices);
  return { xTrain: train.x, xTest: test.x, yTrain: train.y, yTest: test.y, trainIndices, testIndices };
}

function pickGenerator(options: { seed?: number; generator?: Generator }): Generator {
  if (options.seed !== undefined) return new Generator(options.seed);
  return options.generator ?? defaultGenerator;
}

/** Test samples per class by largest remainders, so the total is exactly testCount. */
function stratifiedSplit(classes: Int32Array, testCount: number, generator: Generator): [Int32Array, Int32Array] {
  const n = classes.length;
  const members = groupByClass(classes);
  const quota = members.map((m) => (m.length * testCount) / n);
  const take = quota.map(Math.floor);
  let rest = testCount - take.reduce((a, b) => a + b, 0);
  const byRemainder = quota.map((q, c) => [q - Math.floor(q), c] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let i = 0; rest > 0; i++, rest--) take[byRemainder[i][1]]++;
  const train: number[] = [];
  const test: number[] = [];
  members.forEach((m, c) => {
    const order = generator.permutation(m.length);
    for (let i = 0; i < m.length; i++) (i < take[c] ? test : train).push(m[order[i]]);
  });
  // Interleave the classes again, so that the sets are not sorted by class.
  const shuffleInPlace = (a: number[]) => {
    const p = generator.permutation(a.length);
    return Int32Array.from(p, (i) => a[i]);
  };
  return [shuffleInPlace(train), shuffleInPlace(test)];
}

function groupByClass(classes: Int32Array): number[][] {
  const members: number[][] = [];
  for (let i = 0; i < classes.length; i++) {
    const c = classes[i];
    while (members.length <= c) members.push([]);
    members[c].push(i);
  }
  return members.filter((m) => m.length > 0);
}

/** One fold of kFold(): the indices to train on and to validate on. */
export interface Fold {
  /** Indices of the training samples of this fold, in increasing order. */
  train: Int32Array;
  /** Indices of the held-out samples of this fold. */
  test: Int32Array;
}

/** How kFold() splits. */
export interface KFoldOptions {
  /** Shuffle the samples before cutting the folds (default false: contiguous folds). */
  shuffle?: boolean;
  /** The generator for the shuffle (default: the global one). */
  generator?: Generator;
  /** Seed of a private generator for the shuffle. */
  seed?: number;
}

/**
 * K-fold cross-validation indices: every sample is held out exactly once. The
 * first n mod k folds hold one sample more than the others (as scikit-learn's KFold).
 */
export function kFold(n: number, k: number, options: KFoldOptions = {}): Fold[] {
  if (!Number.isInteger(n) || n < 0) throw new ValueError(`kFold: n must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(k) || k < 2) throw new ValueError(`kFold: k must be an integer >= 2, got ${k}`);
  if (k > n) throw new ValueError(`kFold: k = ${k} folds need at least ${k} samples, got ${n}`);
  const order = options.shuffle ? pickGenerator(options).permutation(n) : identity(n);
  const assignment = new Int32Array(n);
  let start = 0;
  for (let f = 0; f < k; f++) {
    const size = Math.floor(n / k) + (f < n % k ? 1 : 0);
    for (let i = start; i < start + size; i++) assignment[order[i]] = f;
    start += size;
  }
  return foldsFromAssignment(assignment, k);
}

/**
 * K-fold indices that keep each class's share about equal in every fold: the
 * samples of each class are dealt round-robin to the folds, continuing where the
 * previous class stopped so that fold sizes differ by at most one.
 */
export function stratifiedKFold(labels: Tensor, k: number, options: KFoldOptions = {}): Fold[] {
  const classes = classIndices('stratifiedKFold', labels);
  const n = classes.length;
  if (!Number.isInteger(k) || k < 2) throw new ValueError(`stratifiedKFold: k must be an integer >= 2, got ${k}`);
  if (k > n) throw new ValueError(`stratifiedKFold: k = ${k} folds need at least ${k} samples, got ${n}`);
  const generator = options.shuffle ? pickGenerator(options) : undefined;
  const assignment = new Int32Array(n);
  let next = 0;
  for (const m of groupByClass(classes)) {
    const order = generator ? generator.permutation(m.length) : identity(m.length);
    for (let i = 0; i < m.length; i++) {
      assignment[m[order[i]]] = next;
      next = (next + 1) % k;
    }
  }
  return foldsFromAssignment(assignment, k);
}

function foldsFromAssignment(assignment: Int32Array, k: number): Fold[] {
  const folds: Fold[] = [];
  for (let f = 0; f < k; f++) {
    const test: number[] = [];
    const train: number[] = [];
    for (let i = 0; i < assignment.length; i++) (assignment[i] === f ? test : train).push(i);
    folds.push({ train: Int32Array.from(train), test: Int32Array.from(test) });
  }
  return folds;
}

/**
 * Class index per sample from labels given as integers ([n] or [n, 1]) or
 * one-hot / probability rows ([n, C], the largest entry wins).
 * @internal shared with the metrics in train/
 */
export function classIndices(op: string, labels: Tensor): Int32Array {
  if (!(labels instanceof Tensor)) throw new ValueError(`${op}: labels must be a Tensor`);
  const n = labels.ndim === 0 ? 0 : labels.shape[0];
  const width = labels.ndim === 2 ? labels.shape[1] : 1;
  if (labels.ndim === 0 || labels.ndim > 2) throw new ShapeError(`${op}: labels must have shape [n], [n, 1] or [n, classes], got ${fmtShape(labels.shape)}`);
  const out = new Int32Array(n);
  const d = labels.data;
  if (width > 1) {
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let c = 1; c < width; c++) if (d[i * width + c] > d[i * width + best]) best = c;
      out[i] = best;
    }
    return out;
  }
  for (let i = 0; i < n; i++) {
    const v = d[i];
    if (!Number.isInteger(v) || v < 0) throw new ValueError(`${op}: class labels must be non-negative integers, got ${v} at sample ${i}`);
    out[i] = v;
  }
  return out;
}
