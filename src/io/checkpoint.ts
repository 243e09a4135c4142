/**
 * Training checkpoints as one safetensors file: the model's weights
 * (`model.<name>`), the optimizer's tensors (`optimizer.<path>`), and in the
 * metadata the architecture, the rest of the optimizer state, the random
 * generator state, epoch, step and user data. One file means one atomic
 * write: a checkpoint is never half old, half new. Any safetensors reader can
 * open it.
 *
 * Everything here works on bytes; src/io/node.ts adds the files.
 */
import { NeuriteError, SerializationError } from '../core/errors.js';
import { defaultGenerator, Generator, type GeneratorState } from '../core/random.js';
import type { Tensor } from '../core/tensor.js';
import type { Module } from '../nn/module.js';
import { decodeValue, type EncodedValue, encodeNumber, encodeValue } from '../optim/statedict.js';
import { modelFromJSON, modelToJSON } from './architecture.js';
import { FormatVersionError, StateMismatchError } from './errors.js';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';
import { assertJsonSafe, isPlainObject, parseStrictJson } from './strict-json.js';
import { checkStateDict } from './weights.js';

/** The `format` written in every checkpoint's manifest. */
export const CHECKPOINT_FORMAT = 'neurite-checkpoint';
/** The checkpoint format version this version of neurite writes. */
export const CHECKPOINT_FORMAT_VERSION = 1;

/**
 * What checkpoints need from an optimizer (or a scheduler): a JSON-ready
 * snapshot of its state and a way to restore it.
 */
export interface StatefulOptimizer {
  /** A JSON-ready snapshot of the optimizer's state. */
  stateDict(): unknown;
  /** Restore the state taken by stateDict(). */
  loadStateDict(state: unknown): unknown;
}

/** The class name an optimizer is saved under: its className (instance or static), else its constructor's name. */
export function optimizerClassName(optimizer: StatefulOptimizer): string {
  const own = (optimizer as { className?: unknown }).className;
  if (typeof own === 'string') return own;
  const ctor = (optimizer as object).constructor as { className?: unknown; name: string };
  return typeof ctor.className === 'string' ? ctor.className : ctor.name;
}

// ---- random generator state ----

/** A generator state as JSON (the spare normal may be -0 or absent, which plain JSON would blur). */
export function generatorStateToJSON(state: GeneratorState): { algorithm: string; s: number[]; spareNormal: number | string | null } {
  return { algorithm: state.algorithm, s: [...state.s], spareNormal: state.spareNormal === null ? null : encodeNumber(state.spareNormal) };
}

/** The inverse of generatorStateToJSON, checked by loading it into a scratch generator. */
export function generatorStateFromJSON(json: unknown, context: string): GeneratorState {
  const fail = (): never => {
    throw new SerializationError(`${context}: the random generator state is malformed: ${JSON.stringify(json)}`);
  };
  if (!isPlainObject(json) || !Array.isArray(json.s) || json.s.length !== 4) return fail();
  if (!json.s.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff)) fail();
  let spareNormal: number | null = null;
  if (json.spareNormal !== null && json.spareNormal !== undefined) {
    const decoded = decodeValue(json.spareNormal, `${context}: spareNormal`);
    if (typeof decoded !== 'number') fail();
    spareNormal = decoded as number;
  }
  const state = { algorithm: json.algorithm, s: json.s, spareNormal } as GeneratorState;
  try {
    new Generator().setState(state);
  } catch {
    fail();
  }
  return state;
}

// ---- optimizer tensors moved out of the JSON ----

/** A reference, left in the optimizer JSON, to a tensor stored in the safetensors data. */
interface TensorRef {
  $tensor: string;
}

function isEncodedTensor(v: unknown): v is { shape: unknown; dtype: unknown; data: unknown } {
  if (!isPlainObject(v)) return false;
  const keys = Object.keys(v);
  return keys.length === 3 && 'shape' in v && 'dtype' in v && 'data' in v && Array.isArray(v.data);
}

/**
 * Replace every encoded tensor ({shape, dtype, data}) in an optimizer state by
 * a reference and collect the tensors, so moment buffers go into the binary
 * section instead of a header limited to 100 MB of JSON text.
 */
function extractTensors(value: unknown, path: string, out: Map<string, Tensor>): unknown {
  if (Array.isArray(value)) return value.map((v, i) => extractTensors(v, `${path}.${i}`, out));
  if (isEncodedTensor(value)) {
    let t: unknown;
    try {
      t = decodeValue(value as EncodedValue, path);
    } catch {
      return value; // not a tensor after all; keep it as JSON, exactly as given
    }
    out.set(path, t as Tensor);
    return { $tensor: path } satisfies TensorRef;
  }
  if (isPlainObject(value)) {
    const copy: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) copy[k] = extractTensors(v, `${path}.${k}`, out);
    return copy;
  }
  return value;
}

function insertTensors(value: unknown, tensors: Map<string, Tensor>, used: Set<string>, context: string): unknown {
  if (Array.isArray(value)) return value.map((v) => insertTensors(v, tensors, used, context));
  if (isPlainObject(value)) {
    const keys = Object.keys(value);
    if (keys.length === 1 && typeof value.$tensor === 'string') {
      const t = tensors.get(value.$tensor);
      if (!t) throw new SerializationError(`${context}: the optimizer state refers to tensor '${value.$tensor}', which is not in the file`);
      used.add(value.$tensor);
      return encodeValue(t);
    }
    const copy: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) copy[k] = insertTensors(v, tensors, used, context);
    return copy;
  }
  return value;
}

// ---- writing ----

/** What saveCheckpoint() and encodeCheckpoint() write. */
export interface CheckpointContents {
  /**
   * Its weights and buffers are saved, and its architecture too when every
   * class in it is registered (otherwise loading needs the model passed in).
   */
  model: Module;
  /** Saved with its state, so that training resumes with the same moments and step counts. */
  optimizer?: StatefulOptimizer;
  /** Completed epochs at the time of saving. */
  epoch?: number;
  /** Completed optimizer steps at the time of saving. */
  step?: number;
  /** Any JSON-ready value (numbers must be finite). */
  extra?: unknown;
  /** Save the default random generator's state (default true), so dropout and shuffling resume identically. */
  rng?: boolean;
}

/** Serialize a checkpoint to bytes (a safetensors file). */
export function encodeCheckpoint(contents: CheckpointContents): Uint8Array {
  const context = 'saveCheckpoint';
  const { model, optimizer, epoch, step, extra } = contents;
  const metadata: Record<string, string> = { format: CHECKPOINT_FORMAT, formatVersion: String(CHECKPOINT_FORMAT_VERSION) };
  try {
    metadata.architecture = JSON.stringify(modelToJSON(model));
  } catch (e) {
    // A model whose classes are not registered is still checkpointed; loading it then needs the model (see restoreCheckpoint).
    if (!(e instanceof SerializationError)) throw e;
  }
  for (const [key, value] of [
    ['epoch', epoch],
    ['step', step],
  ] as const) {
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 0) throw new SerializationError(`${context}: ${key} must be a non-negative integer, got ${value}`);
    metadata[key] = String(value);
  }
  if (extra !== undefined) {
    assertJsonSafe(extra, 'extra', context);
    metadata.extra = JSON.stringify(extra);
  }
  if (contents.rng ?? true) metadata.rng = JSON.stringify(generatorStateToJSON(defaultGenerator.getState()));

  const tensors = new Map<string, Tensor>();
  for (const [name, t] of model.stateDict()) tensors.set(`model.${name}`, t);
  if (optimizer) {
    const state = optimizer.stateDict();
    const optimizerTensors = new Map<string, Tensor>();
    const skeleton = extractTensors(state, 'optimizer', optimizerTensors);
    assertJsonSafe(skeleton, 'the optimizer state', context);
    for (const [name, t] of optimizerTensors) tensors.set(name, t);
    metadata.optimizer = JSON.stringify(skeleton);
    metadata.optimizerClass = optimizerClassName(optimizer);
  }
  return encodeSafetensors(tensors, metadata);
}

/** The format tag of saveModel's optimizer file. */
export const OPTIMIZER_FORMAT = 'neurite-optimizer';

/**
 * An optimizer's state as a safetensors file (saveModel's
 * optimizer.safetensors): its moment buffers as tensors, the rest as JSON in
 * the metadata. Version 1 was a JSON file, which for ResNet-18 under Adam ran
 * to 215 MB of text.
 */
export function encodeOptimizerState(optimizer: StatefulOptimizer, context: string): Uint8Array {
  const tensors = new Map<string, Tensor>();
  const skeleton = extractTensors(optimizer.stateDict(), 'optimizer', tensors);
  assertJsonSafe(skeleton, 'the optimizer state', context);
  return encodeSafetensors(tensors, {
    format: OPTIMIZER_FORMAT,
    formatVersion: '2',
    className: optimizerClassName(optimizer),
    state: JSON.stringify(skeleton),
  });
}

/** Read encodeOptimizerState's bytes back into the class name and the state (tensors in place), checking the format. */
export function decodeOptimizerState(bytes: Uint8Array, context: string): { className: string; state: unknown } {
  const { tensors, metadata } = decodeSafetensors(bytes);
  if (metadata.format !== OPTIMIZER_FORMAT) throw new SerializationError(`${context}: not a neurite optimizer file`);
  if (metadata.formatVersion !== '2') throw new FormatVersionError(OPTIMIZER_FORMAT, metadata.formatVersion, [2], context);
  if (typeof metadata.className !== 'string' || typeof metadata.state !== 'string')
    throw new SerializationError(`${context}: the optimizer file lacks its class name or state`);
  const used = new Set<string>();
  const state = insertTensors(parseStrictJson(metadata.state, `${context}: optimizer state`), tensors, used, context);
  const unused = [...tensors.keys()].filter((k) => !used.has(k));
  if (unused.length > 0) throw new SerializationError(`${context}: the optimizer file holds tensors its state does not use: ${unused.slice(0, 4).join(', ')}`);
  return { className: metadata.className, state };
}

// ---- reading ----

/** How loadCheckpoint() rebuilds what it reads. */
export interface RestoreOptions<O extends StatefulOptimizer = StatefulOptimizer> {
  /** Load into this model (checked first); without it a fresh model is built from the saved architecture. */
  model?: Module;
  /** Restore this optimizer's state; a function receives the (possibly fresh) model and builds the optimizer. */
  optimizer?: O | ((model: Module) => O);
  /** Restore the default random generator (default true when the checkpoint has its state). */
  restoreRng?: boolean;
  /** Require exactly the model's tensors (default true). */
  strict?: boolean;
  /** Names the origin in error messages, e.g. a file path. */
  source?: string;
}

/** What loadCheckpoint() returns: the model and optimizer with their state restored, and the counters. */
export interface RestoredCheckpoint<O extends StatefulOptimizer = StatefulOptimizer> {
  /** The model, weights loaded. */
  model: Module;
  /** The optimizer with its state, when one was saved and a way to build it was given. */
  optimizer: O | undefined;
  /** Completed epochs at the time of saving. */
  epoch: number | undefined;
  /** Completed optimizer steps at the time of saving. */
  step: number | undefined;
  /** The JSON value saved with the checkpoint, if any. */
  extra: unknown;
}

/**
 * Restore a checkpoint from bytes. The whole file is decoded and checked
 * before anything changes: the weights against the model, the random state,
 * the optimizer class. If the optimizer then rejects its state it is put back
 * as it was, and nothing else has been touched.
 */
export function restoreCheckpoint<O extends StatefulOptimizer = StatefulOptimizer>(
  bytes: Uint8Array | ArrayBuffer,
  options: RestoreOptions<O> = {},
): RestoredCheckpoint<O> {
  const context = options.source ? `loadCheckpoint: ${options.source}` : 'loadCheckpoint';
  const fail = (message: string): never => {
    throw new SerializationError(`${context}: ${message}`);
  };
  let decoded: ReturnType<typeof decodeSafetensors>;
  try {
    decoded = decodeSafetensors(bytes);
  } catch (e) {
    if (e instanceof SerializationError) e.message = `${context}: ${e.message}`;
    throw e;
  }
  const { tensors, metadata } = decoded;
  if (metadata.format !== CHECKPOINT_FORMAT) {
    fail(`not a neurite checkpoint (metadata format is ${JSON.stringify(metadata.format)}, expected '${CHECKPOINT_FORMAT}')`);
  }
  if (metadata.formatVersion !== String(CHECKPOINT_FORMAT_VERSION)) {
    throw new FormatVersionError(CHECKPOINT_FORMAT, metadata.formatVersion, [CHECKPOINT_FORMAT_VERSION], context);
  }
  const readJson = (key: string): unknown => (metadata[key] === undefined ? undefined : parseStrictJson(metadata[key], `${context}: metadata '${key}'`));
  const readCount = (key: string): number | undefined => {
    if (metadata[key] === undefined) return undefined;
    const n = Number(metadata[key]);
    if (!/^\d+$/.test(metadata[key]) || !Number.isSafeInteger(n))
      fail(`metadata '${key}' must be a non-negative integer, got ${JSON.stringify(metadata[key])}`);
    return n;
  };
  const epoch = readCount('epoch');
  const step = readCount('step');
  const extra = readJson('extra');
  const rngJson = readJson('rng');
  const rngState = rngJson === undefined ? undefined : generatorStateFromJSON(rngJson, context);

  const modelState = new Map<string, Tensor>();
  const optimizerTensors = new Map<string, Tensor>();
  for (const [name, t] of tensors) {
    if (name.startsWith('model.')) modelState.set(name.slice('model.'.length), t);
    else if (name.startsWith('optimizer.')) optimizerTensors.set(name, t);
    else fail(`unexpected tensor '${name}' (checkpoint tensors are named model.* or optimizer.*)`);
  }
  let optimizerState: unknown;
  if (metadata.optimizer !== undefined) {
    const used = new Set<string>();
    optimizerState = insertTensors(readJson('optimizer'), optimizerTensors, used, context);
    const orphans = [...optimizerTensors.keys()].filter((k) => !used.has(k));
    if (orphans.length > 0) fail(`tensors ${orphans.map((n) => `'${n}'`).join(', ')} belong to no part of the optimizer state`);
  } else if (optimizerTensors.size > 0) {
    fail('the file has optimizer tensors but no optimizer state');
  }

  let model = options.model;
  if (!model) {
    if (options.optimizer !== undefined && typeof options.optimizer !== 'function') {
      fail('an optimizer instance needs the model it was built on; pass that model too, or pass (model) => optimizer');
    }
    const architecture = readJson('architecture');
    if (architecture === undefined) fail('the checkpoint has no architecture (its model classes were not registered); pass the model to load into');
    model = modelFromJSON(architecture, `${context}: architecture`);
  }
  checkStateDict(model, modelState, { strict: options.strict, source: context });

  let optimizer: O | undefined;
  if (options.optimizer !== undefined) {
    optimizer = typeof options.optimizer === 'function' ? options.optimizer(model) : options.optimizer;
    if (optimizerState === undefined) fail('the checkpoint has no optimizer state (it was saved without an optimizer)');
    const savedClass = metadata.optimizerClass;
    const givenClass = optimizerClassName(optimizer);
    if (savedClass !== undefined && savedClass !== givenClass) {
      throw new StateMismatchError(`${context}: the checkpoint holds ${savedClass} state, it cannot be loaded into ${givenClass}`);
    }
    applyOptimizerState(optimizer, optimizerState, context);
  }

  model.loadStateDict(modelState, { strict: false });
  if (rngState && (options.restoreRng ?? true)) defaultGenerator.setState(rngState);
  return { model, optimizer, epoch, step, extra };
}

/**
 * optimizer.loadStateDict(state), all or nothing: if the optimizer rejects the
 * state part way, its previous state is put back before the error propagates.
 */
export function applyOptimizerState(optimizer: StatefulOptimizer, state: unknown, context: string): void {
  // Round-trip through JSON so the snapshot shares no arrays with the live state.
  const snapshot: unknown = JSON.parse(JSON.stringify(optimizer.stateDict()));
  try {
    optimizer.loadStateDict(state);
  } catch (e) {
    try {
      optimizer.loadStateDict(snapshot);
    } catch {
      // The original error is the one that explains the failure.
    }
    const reason = e instanceof NeuriteError ? e.message : String(e);
    const err = new StateMismatchError(`${context}: the saved optimizer state does not fit ${optimizerClassName(optimizer)}: ${reason}`);
    err.cause = e;
    throw err;
  }
}
