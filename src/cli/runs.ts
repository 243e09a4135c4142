// The run folder: what `neurite train` writes and the other commands read.
//
//   config.json            the resolved configuration (model file with inferred sizes, data, training, seed)
//   model.json             architecture (neurite-model format, rebuilt through the layer registry)
//   model.safetensors      trained weights
//   optimizer.safetensors, rng.json  optimizer state and random state at the end of training
//   checkpoint.safetensors  weights + optimizer + random state + progress, after every epoch and on Ctrl-C
//   history.csv, history.json  loss and accuracy per epoch, train and validation
//   curves.svg             the learning curves
//   results.json           test loss and accuracy, timings
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWriteFile, History } from '../index.js';
import type { DataConfig, Normalization } from './datasets.js';
import { UsageError } from './errors.js';
import type { ModelSpec } from './spec.js';

export const RUN_FILES = {
  config: 'config.json',
  historyCsv: 'history.csv',
  historyJson: 'history.json',
  curves: 'curves.svg',
  results: 'results.json',
  checkpoint: 'checkpoint.safetensors',
  diagram: 'diagram.svg',
} as const;

export const RUN_FORMAT = 'neurite-run';
export const RUN_FORMAT_VERSION = 1;

/** The settings that decide how a run trains. */
export interface TrainingConfig {
  optimizer: string;
  lr: number;
  momentum: number;
  weightDecay: number;
  batchSize: number;
  epochs: number;
  loss: string;
  seed: number;
  augment: { shift: number; rotate: number } | null;
  /** How the learning rate changes over the epochs. */
  schedule: 'constant' | 'cosine';
  /** Pretrained weights the network started from (networks only; absent in older runs). */
  weights?: string | null;
  /** What of a network's backbone stays fixed (networks only; absent in older runs). */
  freeze?: 'all' | 'most' | 'none';
}

/** config.json: everything needed to rebuild the model and the data and to resume training. */
export interface RunConfig {
  format: typeof RUN_FORMAT;
  formatVersion: number;
  /** The preset the run started from, or null for a model file. */
  preset: string | null;
  /** The model file's path when the model came from one. */
  modelFile: string | null;
  /** The model file with every inferred size written out. */
  model: ModelSpec;
  data: DataConfig & { classes: number; classNames?: string[]; normalization?: Normalization };
  training: TrainingConfig;
  backend: string;
  /** The command line that created the run. */
  command: string;
  created: string;
  /** How a `neurite launch` job trained it: the mode and the number of replicas. */
  distributed?: { mode: string; workers: number };
}

export interface RunResults {
  testLoss: number;
  testAccuracy: number;
  testSamples: number;
  epochsTrained: number;
  trainSeconds: number;
  backend: string;
  finished: string;
}

/** Is this path a run folder (it has a config.json written by `neurite train`)? */
export function isRunFolder(path: string): boolean {
  return existsSync(join(path, RUN_FILES.config)) && statSync(path).isDirectory();
}

/** Does a folder exist with something in it? */
export function isNonEmptyFolder(path: string): boolean {
  return existsSync(path) && (!statSync(path).isDirectory() || readdirSync(path).length > 0);
}

export function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError(`${what}: ${path} does not exist`);
    throw e;
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${what}: ${path} is not valid JSON (${(e as Error).message})`);
  }
}

/** Read a run folder's config.json, checking that it is one. */
export function readRunConfig(runDir: string): RunConfig {
  return readRunConfigFile(runDir).config;
}

/** readRunConfig with the file's bytes as read (for a job's rank 0, which hands them to the other replicas). */
export function readRunConfigFile(runDir: string): { config: RunConfig; bytes: Uint8Array } {
  if (!existsSync(runDir)) throw new UsageError(`${runDir}: no such run folder`);
  if (!statSync(runDir).isDirectory()) throw new UsageError(`${runDir} is not a run folder (a folder written by "neurite train")`);
  const path = join(runDir, RUN_FILES.config);
  if (!existsSync(path)) throw new UsageError(`${runDir} is not a run folder: it has no ${RUN_FILES.config}`);
  const bytes = readFileSync(path);
  return { config: parseRunConfig(bytes, path), bytes };
}

/** A run configuration from the bytes of a config.json (`where` names it in errors), checked as readRunConfig checks the file. */
export function parseRunConfig(bytes: Uint8Array, where: string): RunConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new UsageError(`run configuration: ${where} is not valid JSON (${(e as Error).message})`);
  }
  return checkRunConfig(doc, where);
}

/** A run configuration read from elsewhere (`path` names where in errors), checked as readRunConfig checks the file. */
export function checkRunConfig(value: unknown, path: string): RunConfig {
  const doc = value as Partial<RunConfig>;
  if (doc?.format !== RUN_FORMAT) throw new UsageError(`${path} is not a neurite run configuration (format ${JSON.stringify(doc?.format)})`);
  if (doc.formatVersion !== RUN_FORMAT_VERSION)
    throw new UsageError(`${path} has format version ${doc.formatVersion}; this neurite reads version ${RUN_FORMAT_VERSION}`);
  return doc as RunConfig;
}

export async function writeJson(path: string, value: unknown): Promise<void> {
  await atomicWriteFile(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** A History from its toJSON() form (nulls, which stood for NaN, become NaN again). */
export function historyFromJSON(doc: unknown): History {
  const h = new History();
  const d = doc as { epoch?: unknown; series?: unknown; stopped?: unknown; stopMessage?: unknown };
  if (!d || !Array.isArray(d.epoch) || typeof d.series !== 'object' || d.series === null) throw new UsageError('the history is malformed');
  const series = d.series as Record<string, (number | null)[]>;
  d.epoch.forEach((epoch, i) => {
    const row: Record<string, number> = {};
    for (const [key, values] of Object.entries(series)) row[key] = values[i] ?? Number.NaN;
    h.record(epoch as number, row);
  });
  return h;
}

/** `runs/lenet5-20250101-120000`, with `-2`, `-3`... appended if that folder exists. */
export function defaultRunFolder(name: string, now = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  const safe = name.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '') || 'model';
  const base = join('runs', `${safe}-${stamp}`);
  let candidate = base;
  for (let k = 2; existsSync(candidate); k++) candidate = `${base}-${k}`;
  return candidate;
}

/** The caption of a run's plots: 'lenet5 on mnist', or just the name when it is the dataset's. */
export function runTitle(config: RunConfig): string {
  const name = config.model.name ?? 'model';
  return name === config.data.dataset ? name : `${name} on ${config.data.dataset}`;
}

/**
 * Delete the temporary files an interrupted atomic write left behind
 * (`.history.csv.<id>.tmp`): a run killed with kill -9 leaves them, and they
 * are never valid data.
 */
export function removeStaleTemporaries(runDir: string): void {
  if (!existsSync(runDir)) return;
  for (const name of readdirSync(runDir)) {
    if (/^\..+\.tmp$/.test(name)) rmSync(join(runDir, name), { force: true });
  }
}

/**
 * A run folder whose run never reached its first checkpoint (killed early):
 * only its config and temporary files. Training into it again is allowed.
 */
export function isUnstartedRun(runDir: string): boolean {
  if (!isRunFolder(runDir)) return false;
  return readdirSync(runDir).every((name) => name === RUN_FILES.config || /^\..+\.tmp$/.test(name));
}
