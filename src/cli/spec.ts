// Model files for the command line: a JSON list of layers with the sample
// shape and the dataset, checked entry by entry and built into a Sequential.
// The schema, README-ready, is in src/cli/README.md ("Model files").
//
// Building runs one zero sample through each layer in turn, which both infers
// the input-side sizes a user may leave out (inFeatures, inChannels,
// numFeatures, ...) and catches impossible shapes at the entry that causes
// them, before anything is trained or written.
import { nn, noGrad, Tensor, UnknownOptionError, zeros } from '../index.js';
import { ConfigError } from './errors.js';

type Module = nn.Module;

/** One layer of a model file: its registered class name in `type`, and the constructor options of that layer. */
export interface LayerEntry {
  type: string;
  /** Shown in summaries and errors. */
  name?: string;
  [option: string]: unknown;
}

/** A built-in dataset by name, or with options. */
export type DatasetRef = string | { name: string; [option: string]: unknown };

/** Training defaults a model file may carry; command-line flags override them. */
export interface TrainingDefaults {
  optimizer?: string;
  lr?: number;
  momentum?: number;
  weightDecay?: number;
  batchSize?: number;
  epochs?: number;
  loss?: string;
  /** Fraction of the training data held out for validation. */
  validationSplit?: number;
  /** Random shifts (pixels) and rotations (degrees) of training images, for image datasets. */
  augment?: { shift?: number; rotate?: number };
  /** Learning rate over the epochs: 'constant' (default) or 'cosine' (from lr down to 0 along half a cosine). */
  schedule?: string;
}

/** A model file: see MODEL_FILES.md. */
export interface ModelSpec {
  name?: string;
  description?: string;
  /** Shape of one sample, without the batch axis: [1, 28, 28] for images, [784] for flat pixels, [2] for points. */
  input: number[];
  dataset?: DatasetRef;
  layers: LayerEntry[];
  training?: TrainingDefaults;
}

const TOP_LEVEL_KEYS = ['name', 'description', 'input', 'dataset', 'layers', 'training'];
const TRAINING_KEYS = ['optimizer', 'lr', 'momentum', 'weightDecay', 'batchSize', 'epochs', 'loss', 'validationSplit', 'augment', 'schedule'];
// Containers hold nested layer lists, which this flat format does not describe.
const NOT_IN_LAYER_LISTS = new Set(['Sequential', 'ModuleList', 'Model']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  const text = JSON.stringify(v);
  return text === undefined ? String(v) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Edit distance counting a swap of neighbours as one edit ('trian' is 1 from 'train'), for "did you mean" suggestions. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The closest candidate (case-insensitive), if it is close enough to be a likely typo. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

function didYouMean(word: string, candidates: readonly string[]): string {
  const s = suggest(word, candidates);
  return s ? ` (did you mean '${s}'?)` : '';
}

/** Layer types a model file may use: every registered layer class except the containers. */
export function layerTypes(): string[] {
  return nn.registeredLayers().filter((t) => !NOT_IN_LAYER_LISTS.has(t));
}

function checkShape(value: unknown, path: string): number[] {
  if (!Array.isArray(value) || value.length === 0 || value.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d < 1)) {
    throw new ConfigError(
      `${path} must be the shape of one sample, a non-empty list of positive integers such as [1, 28, 28] or [784], got ${show(value)}`,
      path,
    );
  }
  return [...value];
}

function checkTraining(value: unknown): TrainingDefaults {
  if (!isObject(value)) throw new ConfigError(`training must be an object of training defaults, got ${show(value)}`, 'training');
  for (const key of Object.keys(value)) {
    if (!TRAINING_KEYS.includes(key)) {
      throw new ConfigError(
        `training.${key}: unknown setting${didYouMean(key, TRAINING_KEYS)}; the settings are ${TRAINING_KEYS.join(', ')}`,
        `training.${key}`,
      );
    }
  }
  const number = (key: string, ok: (v: number) => boolean, rule: string) => {
    const v = value[key];
    if (v !== undefined && (typeof v !== 'number' || !ok(v))) throw new ConfigError(`training.${key} must be ${rule}, got ${show(v)}`, `training.${key}`);
  };
  const positiveInteger = (v: number) => Number.isInteger(v) && v >= 1;
  number('lr', (v) => Number.isFinite(v) && v > 0, 'a positive number');
  number('momentum', (v) => v >= 0 && v < 1, 'a number in [0, 1)');
  number('weightDecay', (v) => Number.isFinite(v) && v >= 0, 'a number >= 0');
  number('batchSize', positiveInteger, 'a positive integer');
  number('epochs', positiveInteger, 'a positive integer');
  number('validationSplit', (v) => v >= 0 && v < 1, 'a fraction in [0, 1)');
  if (value.schedule !== undefined && value.schedule !== 'constant' && value.schedule !== 'cosine') {
    throw new ConfigError(`training.schedule must be 'constant' or 'cosine', got ${show(value.schedule)}`, 'training.schedule');
  }
  for (const key of ['optimizer', 'loss']) {
    if (value[key] !== undefined && typeof value[key] !== 'string')
      throw new ConfigError(`training.${key} must be a name, got ${show(value[key])}`, `training.${key}`);
  }
  if (value.augment !== undefined) {
    const a = value.augment;
    if (!isObject(a) || Object.keys(a).some((k) => k !== 'shift' && k !== 'rotate')) {
      throw new ConfigError(`training.augment must be an object {shift?, rotate?}, got ${show(a)}`, 'training.augment');
    }
    if (a.shift !== undefined && (typeof a.shift !== 'number' || !Number.isInteger(a.shift) || a.shift < 0)) {
      throw new ConfigError(`training.augment.shift must be a whole number of pixels >= 0, got ${show(a.shift)}`, 'training.augment.shift');
    }
    if (a.rotate !== undefined && (typeof a.rotate !== 'number' || !(a.rotate >= 0 && a.rotate <= 180))) {
      throw new ConfigError(`training.augment.rotate must be a number of degrees in [0, 180], got ${show(a.rotate)}`, 'training.augment.rotate');
    }
  }
  return value as TrainingDefaults;
}

/**
 * Check the structure of a model file (types of fields, unknown keys, layer
 * types) and return it typed. Layer options and shapes are checked by
 * {@link buildModel}.
 */
export function parseModelSpec(doc: unknown): ModelSpec {
  if (!isObject(doc)) throw new ConfigError(`a model file must hold a JSON object with "input" and "layers", got ${show(doc)}`);
  for (const key of Object.keys(doc)) {
    if (!TOP_LEVEL_KEYS.includes(key)) {
      const hint =
        key === 'format' || key === 'className'
          ? ' (a neurite architecture file, such as a run\'s model.json, is read by "neurite summary" and "evaluate", not as a layer list)'
          : '';
      throw new ConfigError(`unknown top-level key "${key}"${didYouMean(key, TOP_LEVEL_KEYS)}; a model file has ${TOP_LEVEL_KEYS.join(', ')}${hint}`, key);
    }
  }
  if (doc.name !== undefined && typeof doc.name !== 'string') throw new ConfigError(`name must be a string, got ${show(doc.name)}`, 'name');
  if (doc.description !== undefined && typeof doc.description !== 'string') {
    throw new ConfigError(`description must be a string, got ${show(doc.description)}`, 'description');
  }
  if (doc.input === undefined) throw new ConfigError('input is missing: give the shape of one sample, e.g. "input": [1, 28, 28] for MNIST images', 'input');
  const input = checkShape(doc.input, 'input');
  if (doc.dataset !== undefined && typeof doc.dataset !== 'string' && !(isObject(doc.dataset) && typeof doc.dataset.name === 'string')) {
    throw new ConfigError(`dataset must be a name such as "mnist" or an object {"name": ..., options}, got ${show(doc.dataset)}`, 'dataset');
  }
  if (!Array.isArray(doc.layers) || doc.layers.length === 0)
    throw new ConfigError(`layers must be a non-empty list of layers, got ${show(doc.layers)}`, 'layers');
  const known = layerTypes();
  const layers = doc.layers.map((entry, i) => {
    const path = `layers[${i}]`;
    if (!isObject(entry)) throw new ConfigError(`${path}: expected an object such as {"type": "Linear", "outFeatures": 10}, got ${show(entry)}`, path);
    if (typeof entry.type !== 'string' || entry.type.length === 0) {
      throw new ConfigError(`${path}: missing "type", the layer class (e.g. "Linear", "Conv2d", "ReLU")`, `${path}.type`);
    }
    if (NOT_IN_LAYER_LISTS.has(entry.type)) throw new ConfigError(`${path}: ${entry.type} cannot be nested in a layer list; list its layers directly`, path);
    if (!known.includes(entry.type)) {
      const close = suggest(entry.type, known);
      throw new ConfigError(
        close
          ? `${path}: unknown layer type '${entry.type}' (did you mean '${close}'?)`
          : `${path}: unknown layer type '${entry.type}'; the layer types are ${known.join(', ')}`,
        `${path}.type`,
      );
    }
    if (entry.name !== undefined && typeof entry.name !== 'string')
      throw new ConfigError(`${path} (${entry.type}): name must be a string, got ${show(entry.name)}`, `${path}.name`);
    return entry as LayerEntry;
  });
  const spec: ModelSpec = { input, layers };
  if (doc.name !== undefined) spec.name = doc.name;
  if (doc.description !== undefined) spec.description = doc.description;
  if (doc.dataset !== undefined) spec.dataset = doc.dataset as DatasetRef;
  if (doc.training !== undefined) spec.training = checkTraining(doc.training);
  return spec;
}

/** Options filled in from the incoming sample shape, per layer type, and the sample rank each type needs. */
interface InputSide {
  ranks: readonly number[];
  layout: string;
  infer(shape: readonly number[]): Record<string, unknown>;
}

const last = (s: readonly number[]) => s[s.length - 1];
const FEATURES: InputSide = { ranks: [], layout: '[..., features]', infer: (s) => ({ inFeatures: last(s) }) };
const channels = (rank: number, layout: string): InputSide => ({ ranks: [rank], layout, infer: (s) => ({ inChannels: s[0] }) });
const INPUT_SIDE: Record<string, InputSide> = {
  Linear: FEATURES,
  RBF: FEATURES,
  Conv1d: channels(2, '[channels, length]'),
  ConvTranspose1d: channels(2, '[channels, length]'),
  Conv2d: channels(3, '[channels, height, width]'),
  ConvTranspose2d: channels(3, '[channels, height, width]'),
  LocallyConnected1d: { ranks: [2], layout: '[channels, length]', infer: (s) => ({ inChannels: s[0], inputSize: s[1] }) },
  LocallyConnected2d: { ranks: [3], layout: '[channels, height, width]', infer: (s) => ({ inChannels: s[0], inputSize: [s[1], s[2]] }) },
  BatchNorm1d: { ranks: [1, 2], layout: '[features] or [channels, length]', infer: (s) => ({ numFeatures: s[0] }) },
  BatchNorm2d: { ranks: [3], layout: '[channels, height, width]', infer: (s) => ({ numFeatures: s[0] }) },
  LayerNorm: { ranks: [], layout: '[..., features]', infer: (s) => ({ normalizedShape: [last(s)] }) },
  // Batches reach the layers as [N, time steps, features], so recurrent layers read them batch first.
  LSTM: { ranks: [2], layout: '[time steps, features]', infer: (s) => ({ inputSize: last(s), batchFirst: true }) },
  GRU: { ranks: [2], layout: '[time steps, features]', infer: (s) => ({ inputSize: last(s), batchFirst: true }) },
  RNN: { ranks: [2], layout: '[time steps, features]', infer: (s) => ({ inputSize: last(s), batchFirst: true }) },
};

/** Layers that return an [output, state] pair, which a RecurrentOutput must turn back into one tensor. */
const PAIR_RESULT = new Set(['LSTM', 'GRU', 'RNN', 'ConvLSTM2d']);

/** `[N, 16, 5, 5]` for a per-sample shape [16, 5, 5]. */
export function batchShape(shape: readonly number[]): string {
  return `[N, ${shape.join(', ')}]`;
}

/** Same value for our purposes: 5 and [5, 5] describe the same square size. */
function sameSize(given: unknown, inferred: unknown): boolean {
  if (Array.isArray(inferred) && typeof given === 'number') return inferred.every((v) => v === given);
  return JSON.stringify(given) === JSON.stringify(inferred);
}

function mismatchMessage(key: string, given: unknown, actual: unknown): string {
  switch (key) {
    case 'inFeatures':
      return `expected input with last dimension ${show(given)}, got ${show(actual)}`;
    case 'inChannels':
    case 'numFeatures':
      return `expected ${show(given)} input channels, got ${show(actual)}`;
    case 'batchFirst':
      return 'batchFirst must be true here: samples reach the layer as [N, time steps, features]';
    default:
      return `${key} is ${show(given)} but the input gives ${show(actual)}`;
  }
}

/** The message of an error thrown by a layer, without the `Linear: ` / `Linear 'name': ` label it starts with. */
function withoutLabel(message: string, type: string): string {
  const m = message.match(new RegExp(`^(?:.* > )?${type}(?: '[^']*')?: `));
  return m ? message.slice(m[0].length) : message;
}

/** A layer of a built model with its input and output per-sample shapes. */
export interface BuiltLayer {
  /** The entry with every inferred option filled in. */
  entry: LayerEntry;
  module: Module;
  inputShape: number[];
  outputShape: number[];
}

export interface BuiltModel {
  model: nn.Sequential;
  layers: BuiltLayer[];
  /** Per-sample output shape of the whole model. */
  outputShape: number[];
  /** The spec with inferred options written out, so that it rebuilds the same model. */
  resolved: ModelSpec;
}

/**
 * Build a Sequential from a checked spec, layer by layer. Each layer's
 * input-side sizes are inferred from the shape reaching it (or, when given,
 * checked against it), unknown options are refused, and a zero sample is run
 * through it so that impossible shapes are reported at their entry:
 * `layers[7] (Linear): expected input with last dimension 400, got 256`.
 * Weights come from the default random generator: seed it first.
 */
function unknownOption(where: string, path: string, key: string, accepted: readonly string[]): ConfigError {
  const options = accepted.length > 0 ? `its options are ${accepted.join(', ')}` : 'it takes no options';
  return new ConfigError(`${where}: unknown option "${key}"${didYouMean(key, accepted)}; ${options}`, `${path}.${key}`);
}

export function buildModel(spec: ModelSpec): BuiltModel {
  // What flows between layers: a tensor, or the [output, state] pair of a recurrent layer.
  let value: unknown = zeros([1, ...spec.input]);
  let shape = [...spec.input];
  let from = 'the input';
  const built: BuiltLayer[] = [];
  spec.layers.forEach((entry, i) => {
    const path = `layers[${i}]`;
    const where = `${path} (${entry.type})`;
    const context = ` (it receives ${batchShape(shape)} from ${from})`;
    const { type, name, ...given } = entry;
    const pair = !(value instanceof Tensor);
    if (pair && type !== 'RecurrentOutput') {
      throw new ConfigError(
        `${where}: ${from} returns an [output, state] pair; put {"type": "RecurrentOutput"} after it to keep the final state (or "select": "sequence")`,
        path,
      );
    }
    const side = pair ? undefined : INPUT_SIDE[type];
    const config: Record<string, unknown> = { ...given };
    if (side) {
      if (side.ranks.length > 0 && !side.ranks.includes(shape.length)) {
        throw new ConfigError(`${where}: needs samples shaped ${side.layout}, got ${batchShape(shape)} from ${from}`, path);
      }
      for (const [key, inferred] of Object.entries(side.infer(shape))) {
        if (key in given && !sameSize(given[key], inferred))
          throw new ConfigError(`${where}: ${mismatchMessage(key, given[key], inferred)}${context}`, `${path}.${key}`);
        config[key] = inferred;
      }
    }
    let module: Module;
    try {
      module = nn.layerFromConfig({ className: type, config });
    } catch (e) {
      if (!(e instanceof Error)) throw e;
      if (e instanceof UnknownOptionError) throw unknownOption(where, path, e.option, e.accepted);
      const reason = withoutLabel(e.message, type);
      const missing = reason.match(/^(\w+) must be .*, got undefined$/);
      if (missing && !(missing[1] in given))
        throw new ConfigError(`${where}: missing option "${missing[1]}" (${reason.replace(/, got undefined$/, '')})`, path);
      throw new ConfigError(`${where}: ${reason}`, path);
    }
    if (name !== undefined) module.withName(name);
    const accepted = Object.keys(module.getConfig());
    for (const key of Object.keys(given)) {
      if (!accepted.includes(key)) throw unknownOption(where, path, key, accepted);
    }
    let out: unknown;
    const mode = module.training;
    try {
      module.eval();
      out = noGrad(() => module.forward(value as Tensor));
    } catch (e) {
      if (!(e instanceof Error)) throw e;
      throw new ConfigError(`${where}: ${withoutLabel(e.message, type)}${context}`, path);
    } finally {
      module.train(mode);
    }
    let outputShape: number[];
    if (out instanceof Tensor) {
      outputShape = out.shape.slice(1);
      if (outputShape.length === 0 || outputShape.some((d) => d === 0))
        throw new ConfigError(`${where}: its output ${batchShape(outputShape)} is empty${context}`, path);
    } else if (PAIR_RESULT.has(type) && Array.isArray(out) && out[0] instanceof Tensor) {
      outputShape = out[0].shape.slice(1);
    } else {
      throw new ConfigError(`${where}: returns several outputs; a layer list needs layers with a single output`, path);
    }
    const resolvedEntry: LayerEntry = { type, ...(name === undefined ? {} : { name }), ...given, ...(side ? side.infer(shape) : {}) };
    built.push({ entry: resolvedEntry, module, inputShape: shape, outputShape });
    value = out;
    shape = outputShape;
    from = where;
  });
  if (!(value instanceof Tensor)) {
    const i = built.length - 1;
    throw new ConfigError(
      `layers[${i}] (${built[i].entry.type}): the model ends with an [output, state] pair; add {"type": "RecurrentOutput"} and a Linear layer`,
      `layers[${i}]`,
    );
  }
  const model = new nn.Sequential(built.map((b) => b.module));
  if (spec.name !== undefined) model.withName(spec.name);
  return { model, layers: built, outputShape: shape, resolved: { ...spec, layers: built.map((b) => b.entry) } };
}
