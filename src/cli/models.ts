// What a MODEL argument can name: a preset, a model file (a layer list), a
// neurite architecture file (a run's model.json), or a run folder.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel, MODEL_FORMAT, modelFromJSON, models, NeuriteError, type nn, seed } from '../index.js';
import { ConfigError, UsageError } from './errors.js';
import { PRESETS, preset } from './presets.js';
import { isRunFolder, type RunConfig, readJson, readRunConfig } from './runs.js';
import { type BuiltModel, buildModel, type LayerEntry, type ModelSpec, parseModelSpec } from './spec.js';

export type ModelSource =
  | { kind: 'spec'; spec: ModelSpec; preset: string | null; file: string | null }
  | { kind: 'architecture'; file: string; doc: unknown }
  | { kind: 'run'; dir: string; config: RunConfig };

/** Read and check a model file; its errors start with the file's path. */
export function loadSpecFile(file: string): ModelSpec {
  const doc = readJson(file, 'model file');
  try {
    return parseModelSpec(doc);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${file}: ${e.message}`, e.path, e.hint);
    throw e;
  }
}

function presetList(): string {
  return Object.keys(PRESETS).join(', ');
}

/** Resolve a MODEL argument. `allowRuns` accepts run folders (summary, diagram) besides presets and files. */
export function resolveModelArg(arg: string, options: { allowRuns?: boolean; allowArchitecture?: boolean } = {}): ModelSource {
  const spec = preset(arg);
  if (spec) return { kind: 'spec', spec, preset: arg, file: null };
  if (!existsSync(arg)) {
    const looksLikeName = !/[/\\.]/.test(arg);
    throw new UsageError(
      looksLikeName ? `unknown preset '${arg}'; the presets are ${presetList()}` : `${arg}: no such file${options.allowRuns ? ' or run folder' : ''}`,
      looksLikeName ? 'or give the path of a model file (see examples/models/)' : undefined,
    );
  }
  if (statSync(arg).isDirectory()) {
    if (options.allowRuns && isRunFolder(arg)) return { kind: 'run', dir: arg, config: readRunConfig(arg) };
    throw new UsageError(
      `${arg} is a folder${options.allowRuns ? ' without a config.json (not a run folder)' : ''}; expected a model file (.json)${options.allowRuns ? ' or a run folder' : ''}`,
    );
  }
  const doc = readJson(arg, 'model file');
  if (typeof doc === 'object' && doc !== null && (doc as { format?: unknown }).format === MODEL_FORMAT) {
    if (!options.allowArchitecture) {
      throw new UsageError(
        `${arg} is a neurite architecture file (like a run's model.json); train from a model file with "layers" instead`,
        'see examples/models/',
      );
    }
    return { kind: 'architecture', file: arg, doc };
  }
  try {
    return { kind: 'spec', spec: parseModelSpec(doc), preset: null, file: arg };
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${arg}: ${e.message}`, e.path, e.hint);
    throw e;
  }
}

/** Build a model file's model with fresh weights (seeded, so the same every time). */
export function buildFromSpec(spec: ModelSpec, file: string | null, seedValue = 0): BuiltModel {
  seed(seedValue);
  try {
    return buildModel(spec);
  } catch (e) {
    if (e instanceof ConfigError && file !== null) throw new ConfigError(`${file}: ${e.message}`, e.path, e.hint);
    throw e;
  }
}

/** A model and the per-sample input shape it takes, for summary, diagram, evaluate and predict. */
export interface LoadedModel {
  model: nn.Module;
  input: number[] | null;
  name: string;
  /** Present when the model came from a model file or a run: the layer list. */
  spec: ModelSpec | null;
  /** Whether the weights are trained ones (a run folder) or freshly initialised. */
  trained: boolean;
}

/** Load what a MODEL argument names: a run's trained model, or a fresh model from a preset or a file. */
/** A canonical network's name (torchvision's), when no preset or file of that name is there to win. */
export function isNetworkName(arg: string): boolean {
  return Object.hasOwn(models.BUILDERS, arg) && !Object.hasOwn(PRESETS, arg) && !existsSync(arg);
}

/** The model-file layer entry of a canonical network: resnet18 → { type: 'ResNet', depth: 18 }. */
export function networkEntry(name: models.ModelName): LayerEntry {
  const resnet = /^resnet(\d+)$/.exec(name);
  if (resnet) return { type: 'ResNet', depth: Number(resnet[1]) };
  const vgg = /^vgg(\d+)(_bn)?$/.exec(name);
  if (vgg) return { type: 'VGG', depth: Number(vgg[1]), batchNorm: vgg[2] !== undefined };
  if (name === 'alexnet') return { type: 'AlexNet' };
  if (name === 'googlenet') return { type: 'GoogLeNet' };
  throw new UsageError(`${name} is not one of the networks an image folder trains`);
}

export async function loadModelArg(arg: string, options: { requireTrained?: boolean } = {}): Promise<LoadedModel> {
  // The canonical networks by torchvision's name (a preset or a file of the same name wins).
  if (!options.requireTrained && isNetworkName(arg)) {
    const build = models.BUILDERS[arg as models.ModelName] as () => nn.Module;
    return { model: build(), input: [3, 224, 224], name: arg, spec: null, trained: false };
  }
  const source = resolveModelArg(arg, { allowRuns: true, allowArchitecture: !options.requireTrained });
  if (source.kind === 'run') {
    const model = await loadRunModel(source.dir);
    return { model, input: source.config.model.input, name: source.config.model.name ?? source.dir, spec: source.config.model, trained: true };
  }
  if (options.requireTrained) throw new UsageError(`${arg} is not a run folder; give the folder "neurite train" wrote (it has model.safetensors)`);
  if (source.kind === 'architecture') {
    // A model.json inside a run folder knows its input shape from the config beside it.
    const dir = join(source.file, '..');
    const input = isRunFolder(dir) ? readRunConfig(dir).model.input : null;
    let model: nn.Module;
    try {
      model = modelFromJSON(source.doc, source.file);
    } catch (e) {
      if (e instanceof NeuriteError) throw new ConfigError(e.message);
      throw e;
    }
    return { model, input, name: source.file, spec: null, trained: false };
  }
  const built = buildFromSpec(source.spec, source.file);
  return {
    model: built.model,
    input: source.spec.input,
    name: source.spec.name ?? source.preset ?? source.file ?? 'model',
    spec: built.resolved,
    trained: false,
  };
}

/** The trained model of a run folder. */
export async function loadRunModel(dir: string): Promise<nn.Module> {
  if (!existsSync(join(dir, 'model.safetensors'))) {
    const resumable = existsSync(join(dir, 'checkpoint.safetensors'));
    throw new UsageError(
      `${dir} has no trained model (model.safetensors) yet: its training did not finish`,
      resumable ? `finish it with "neurite train --resume ${dir}"` : undefined,
    );
  }
  try {
    return await loadModel(dir);
  } catch (e) {
    if (e instanceof NeuriteError) throw new UsageError(`cannot load the model of ${dir}: ${e.message}`);
    throw e;
  }
}
