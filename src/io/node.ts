/**
 * Saving and loading on disk (Node only). This is the one file in neurite that
 * touches node:fs.
 *
 * The Node built-ins are imported lazily, inside the functions, from
 * specifiers held in variables: importing neurite in a browser bundle then
 * neither evaluates nor tries to resolve node:fs, and only calling one of
 * these functions outside Node fails. The byte-level functions they build on
 * (encodeSafetensors, encodeCheckpoint, modelToJSON...) work everywhere.
 *
 * Every write is atomic: data goes to a temporary file in the same directory,
 * is flushed to disk (fsync), then renamed over the target, so a crash or an
 * error part way leaves the previous file intact.
 */
import type * as FsPromises from 'node:fs/promises';
import type * as NodePath from 'node:path';
import { SerializationError } from '../core/errors.js';
import { defaultGenerator } from '../core/random.js';
import type { LoadedModel, LoadResult, Module } from '../nn/module.js';
import { modelFromJSON, modelToJSON } from './architecture.js';
import { isBrowserLocation, loadModelFiles, type ModelSource, saveModelFiles } from './browser.js';
import {
  applyOptimizerState,
  type CheckpointContents,
  decodeOptimizerState,
  encodeCheckpoint,
  encodeOptimizerState,
  generatorStateFromJSON,
  generatorStateToJSON,
  OPTIMIZER_FORMAT,
  optimizerClassName,
  type RestoredCheckpoint,
  type RestoreOptions,
  restoreCheckpoint,
  type StatefulOptimizer,
} from './checkpoint.js';
import { FormatVersionError, StateMismatchError } from './errors.js';
import { decodeSafetensors, type SafetensorsMetadata } from './safetensors.js';
import { assertJsonSafe, isPlainObject, parseStrictJson } from './strict-json.js';
import { loadCheckedStateDict, type WeightLoadOptions, weightsToSafetensors } from './weights.js';

interface NodeApis {
  fs: typeof FsPromises;
  path: typeof NodePath;
}

let nodeApis: Promise<NodeApis> | undefined;

function node(): Promise<NodeApis> {
  const fsModule = 'node:fs/promises';
  const pathModule = 'node:path';
  nodeApis ??= Promise.all([import(fsModule), import(pathModule)]).then(([fs, path]) => ({ fs, path }) as NodeApis);
  return nodeApis;
}

/** File names inside a saved-model directory. */
export const MODEL_FILES = {
  /** The architecture (JSON). */
  architecture: 'model.json',
  /** The weights and buffers (safetensors). */
  weights: 'model.safetensors',
  /** The optimizer state, when saved (moment buffers as tensors, the rest in its metadata). */
  optimizer: 'optimizer.safetensors',
  /** The random generator state, when saved. */
  rng: 'rng.json',
} as const;

/** The file saveCheckpoint writes when given a directory. */
export const CHECKPOINT_FILE = 'checkpoint.safetensors';

/** Where saveModel wrote the optimizer state before version 2 (plain JSON); loadOptimizer still reads it. */
const LEGACY_OPTIMIZER_FILE = 'optimizer.json';
const RNG_FORMAT = 'neurite-rng';

/** What atomicWriteFile writes: bytes, text, or an iterable (sync or async) of chunks of either. */
export type Chunks = Uint8Array | string | Iterable<Uint8Array | string> | AsyncIterable<Uint8Array | string>;

function asIterable(data: Chunks): Iterable<Uint8Array | string> | AsyncIterable<Uint8Array | string> {
  return typeof data === 'string' || data instanceof Uint8Array ? [data] : data;
}

/**
 * Write a file atomically: the bytes go to a temporary file next to `path`,
 * which is fsynced and then renamed over `path`. Readers see the old file or
 * the complete new one, never a mix; if writing fails (or `data`, an
 * iterable, throws part way) the temporary file is removed and `path` is left
 * as it was.
 */
export async function atomicWriteFile(path: string, data: Chunks): Promise<void> {
  const { fs, path: paths } = await node();
  const dir = paths.dirname(path);
  const unique = globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const temp = paths.join(dir, `.${paths.basename(path)}.${unique}.tmp`);
  const handle = await fs.open(temp, 'wx');
  let open = true;
  try {
    const encoder = new TextEncoder();
    for await (const chunk of asIterable(data)) {
      const bytes = typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
      let offset = 0;
      while (offset < bytes.length) offset += (await handle.write(bytes, offset, bytes.length - offset)).bytesWritten;
    }
    await handle.sync();
    open = false;
    await handle.close();
    await fs.rename(temp, path);
  } catch (e) {
    if (open) await handle.close().catch(() => {});
    await fs.rm(temp, { force: true }).catch(() => {});
    throw e;
  }
  // Persist the rename itself. Some platforms (Windows) cannot open a directory; the file is already in place there.
  try {
    const dirHandle = await fs.open(dir, 'r');
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  } catch {
    // best effort only
  }
}

/** Read a whole file; a missing file is a SerializationError naming what was being loaded. */
async function readBytes(path: string, context: string): Promise<Uint8Array> {
  const { fs } = await node();
  try {
    return await fs.readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      const err = new SerializationError(`${context}: ${path} does not exist`);
      err.cause = e;
      throw err;
    }
    throw e;
  }
}

async function readJsonFile(path: string, context: string): Promise<unknown> {
  const bytes = await readBytes(path, context);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new SerializationError(`${context}: ${path} is not valid UTF-8`);
  }
  return parseStrictJson(text, `${context}: ${path}`);
}

/** Run fn and put the file's path in front of any SerializationError it throws. */
function inFile<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof SerializationError && !e.message.includes(path)) e.message = `${path}: ${e.message}`;
    throw e;
  }
}

async function exists(path: string): Promise<boolean> {
  const { fs } = await node();
  return fs.stat(path).then(
    () => true,
    () => false,
  );
}

/** What saveModel() writes besides the weights. */
export interface SaveModelOptions {
  /** Also write optimizer.safetensors, so that training can resume (see loadOptimizer). */
  optimizer?: StatefulOptimizer;
  /** JSON-ready data stored in model.json under `extra` (class names, training notes...). */
  extra?: unknown;
  /** Write rng.json with the default generator's state (default: when an optimizer is saved). */
  rng?: boolean;
}

/**
 * Save a model to a directory: model.json (architecture), model.safetensors
 * (weights), and optionally optimizer.safetensors and rng.json. Everything is
 * serialized before the first write, and each file is written atomically.
 * An optimizer or rng.json file left from an earlier save is removed when
 * this save does not write one, so the directory never mixes two saves'
 * optimizer state.
 */
export async function saveModel(model: Module, dir: string, options: SaveModelOptions = {}): Promise<void> {
  const architecture: Record<string, unknown> = { ...modelToJSON(model) };
  if (options.extra !== undefined) {
    assertJsonSafe(options.extra, 'extra', 'saveModel');
    architecture.extra = options.extra;
  }
  const files = new Map<string, Uint8Array | string>();
  files.set(MODEL_FILES.weights, weightsToSafetensors(model));
  if (options.optimizer) {
    files.set(MODEL_FILES.optimizer, encodeOptimizerState(options.optimizer, 'saveModel'));
  }
  if (options.rng ?? options.optimizer !== undefined) {
    const doc = { format: RNG_FORMAT, formatVersion: 1, state: generatorStateToJSON(defaultGenerator.getState()) };
    files.set(MODEL_FILES.rng, `${JSON.stringify(doc)}\n`);
  }
  // The architecture goes last: a directory with a model.json has had its weights written.
  files.set(MODEL_FILES.architecture, `${JSON.stringify(architecture, null, 2)}\n`);

  if (isBrowserLocation(dir)) return saveModelFiles(dir, files);
  const { fs, path } = await node();
  await fs.mkdir(dir, { recursive: true });
  for (const name of [MODEL_FILES.optimizer, MODEL_FILES.rng]) {
    if (!files.has(name)) await fs.rm(path.join(dir, name), { force: true });
  }
  await fs.rm(path.join(dir, LEGACY_OPTIMIZER_FILE), { force: true });
  for (const [name, data] of files) await atomicWriteFile(path.join(dir, name), data);
}

/**
 * Load a model saved by saveModel: a fresh model is built from model.json
 * and the weights are checked against it before they are copied in.
 * Restore the optimizer with loadOptimizer once it has been created on the
 * returned model's parameters.
 */
export async function loadModel(dir: ModelSource, options: Pick<WeightLoadOptions, 'strict'> = {}): Promise<LoadedModel> {
  const context = 'loadModel';
  if (isBrowserLocation(dir)) {
    const files = await loadModelFiles(dir, [MODEL_FILES.architecture, MODEL_FILES.weights], context);
    const where = typeof dir === 'string' ? dir : 'the picked files';
    const text = files.get(MODEL_FILES.architecture) as Uint8Array | string;
    const weights = files.get(MODEL_FILES.weights) as Uint8Array | string;
    const architecture = parseStrictJson(typeof text === 'string' ? text : new TextDecoder().decode(text), `${context}: ${where}`);
    const model = inFile(where, () => modelFromJSON(architecture, context));
    const bytes = typeof weights === 'string' ? new TextEncoder().encode(weights) : weights;
    inFile(where, () => loadCheckedStateDict(model, decodeSafetensors(bytes).tensors, { strict: options.strict, source: context }));
    return model;
  }
  const { path } = await node();
  // Every non-string source is handled above: this one is a folder.
  const folder = dir as string;
  const archPath = path.join(folder, MODEL_FILES.architecture);
  const weightsPath = path.join(folder, MODEL_FILES.weights);
  const architecture = await readJsonFile(archPath, context);
  const bytes = await readBytes(weightsPath, context);
  const model = inFile(archPath, () => modelFromJSON(architecture, context));
  inFile(weightsPath, () => loadCheckedStateDict(model, decodeSafetensors(bytes).tensors, { strict: options.strict, source: context }));
  return model;
}

/** Read the `extra` value saveModel stored in model.json (undefined if none). */
export async function loadModelExtra(dir: string): Promise<unknown> {
  const { path } = await node();
  const doc = await readJsonFile(path.join(dir, MODEL_FILES.architecture), 'loadModelExtra');
  return isPlainObject(doc) ? doc.extra : undefined;
}

/**
 * Restore an optimizer (created on the loaded model's parameters, in the same
 * order) from a directory written by saveModel with an optimizer, and, unless
 * told otherwise, the default random generator from rng.json. Both files are
 * read and checked before either state changes.
 */
export async function loadOptimizer(dir: string, optimizer: StatefulOptimizer, options: { restoreRng?: boolean } = {}): Promise<void> {
  const { path } = await node();
  const context = 'loadOptimizer';
  const rngPath = path.join(dir, MODEL_FILES.rng);
  const restoreRng = options.restoreRng ?? true;
  const rngDoc = restoreRng && (await exists(rngPath)) ? await readJsonFile(rngPath, context) : undefined;
  // optimizer.safetensors since format 2; a folder saved before has optimizer.json.
  let optPath = path.join(dir, MODEL_FILES.optimizer);
  let saved: { className: unknown; state: unknown };
  if (!(await exists(optPath)) && (await exists(path.join(dir, LEGACY_OPTIMIZER_FILE)))) {
    optPath = path.join(dir, LEGACY_OPTIMIZER_FILE);
    const doc = await readJsonFile(optPath, context);
    saved = inFile(optPath, () => {
      if (!isPlainObject(doc) || doc.format !== OPTIMIZER_FORMAT) throw new SerializationError(`${context}: not a neurite optimizer file`);
      if (doc.formatVersion !== 1) throw new FormatVersionError(OPTIMIZER_FORMAT, doc.formatVersion, [1], context);
      return { className: doc.className, state: doc.state };
    });
  } else {
    const bytes = await readBytes(optPath, context);
    saved = inFile(optPath, () => decodeOptimizerState(bytes, context));
  }
  const state = inFile(optPath, () => {
    const given = optimizerClassName(optimizer);
    if (saved.className !== given)
      throw new StateMismatchError(`${context}: the file holds ${String(saved.className)} state, it cannot be loaded into ${given}`);
    return saved.state;
  });
  const rngState =
    rngDoc === undefined
      ? undefined
      : inFile(rngPath, () => {
          if (!isPlainObject(rngDoc) || rngDoc.format !== RNG_FORMAT) throw new SerializationError(`${context}: not a neurite random-state file`);
          if (rngDoc.formatVersion !== 1) throw new FormatVersionError(RNG_FORMAT, rngDoc.formatVersion, [1], context);
          return generatorStateFromJSON(rngDoc.state, context);
        });
  inFile(optPath, () => applyOptimizerState(optimizer, state, context));
  if (rngState) defaultGenerator.setState(rngState);
}

/** Write only the weights (state dict) of `model` as a safetensors file. */
export async function saveWeights(model: Module, file: string, metadata?: SafetensorsMetadata): Promise<void> {
  await atomicWriteFile(file, weightsToSafetensors(model, metadata));
}

/**
 * Load a safetensors file into an existing model (transfer learning, or
 * weights from another tool with the same names). The model is untouched
 * when the file is corrupt or does not fit.
 */
export async function loadWeights(model: Module, file: string, options: Pick<WeightLoadOptions, 'strict' | 'keepMismatched'> = {}): Promise<LoadResult> {
  const bytes = await readBytes(file, 'loadWeights');
  return inFile(file, () => {
    const { tensors } = decodeSafetensors(bytes);
    return loadCheckedStateDict(model, tensors, { strict: options.strict, keepMismatched: options.keepMismatched, source: 'loadWeights' });
  });
}

async function checkpointPath(target: string): Promise<string> {
  const { fs, path } = await node();
  const stat = await fs.stat(target).catch(() => undefined);
  return stat?.isDirectory() ? path.join(target, CHECKPOINT_FILE) : target;
}

/**
 * Save a training checkpoint (weights, optimizer state, random state, epoch,
 * step, extra) as one safetensors file, written atomically. `target` is a
 * file path, or an existing directory to write checkpoint.safetensors in.
 *
 * @returns the path of the file written
 */
export async function saveCheckpoint(target: string, contents: CheckpointContents): Promise<string> {
  const bytes = encodeCheckpoint(contents);
  const file = await checkpointPath(target);
  await atomicWriteFile(file, bytes);
  return file;
}

/**
 * Load a checkpoint written by saveCheckpoint and restore the model, the
 * optimizer and the default random generator, so that training resumes
 * bit-exactly. Everything is checked before any state changes; see
 * restoreCheckpoint for the options.
 */
export async function loadCheckpoint<O extends StatefulOptimizer = StatefulOptimizer>(
  target: string,
  options: RestoreOptions<O> = {},
): Promise<RestoredCheckpoint<O>> {
  const file = await checkpointPath(target);
  const bytes = await readBytes(file, 'loadCheckpoint');
  return restoreCheckpoint(bytes, { ...options, source: options.source ?? file });
}
