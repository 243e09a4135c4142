/**
 * Architecture files: a model's class and configuration as JSON, without its
 * weights. Loading goes through the layer registry (registerLayer), so only
 * registered classes can be built and no code is ever read from a file.
 */
import { NeuriteError, SerializationError } from '../core/errors.js';
// Every built-in layer class registers itself when its module loads; importing
// them all here means a bundle that reads architecture files can build any of
// them, even when the user's code names none.
import '../nn/layers/all.js';
import { type LayerConfig, type LoadedModel, Module } from '../nn/module.js';
import { layerFromConfig, layerToSpec, registeredLayers } from '../nn/registry.js';
import { FormatVersionError, UnknownLayerError } from './errors.js';
import { assertJsonSafe, isPlainObject, parseStrictJson } from './strict-json.js';

/** The identifier in every architecture file. */
export const MODEL_FORMAT = 'neurite-model';
/** The architecture format version this build writes and reads. */
export const MODEL_FORMAT_VERSION = 1;

/**
 * A model's architecture: the top layer's class, config and optional name
 * (a LayerSpec, see nn/registry.ts), children nested inside the config as
 * `{className, config, name?}`.
 */
export interface ModelJSON {
  /** Always 'neurite-model', so other JSON is refused. */
  format: typeof MODEL_FORMAT;
  /** The version of this format the file was written in. */
  formatVersion: number;
  /** The registered class name of the top layer. */
  className: string;
  /** The keyword configuration that recreates the layer. */
  config: LayerConfig;
  /** The layer's optional name. */
  name?: string;
}

/** Where a nested `{className, config}` layer description sits, and what it names. */
interface LayerSpecSite {
  /** The registered class name of the top layer. */
  className: string;
  path: string;
}

/** Every `{className, config}` object in a config tree, with its JSON path. */
function findLayerSpecs(value: unknown, path: string, out: LayerSpecSite[]): LayerSpecSite[] {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) findLayerSpecs(value[i], `${path}[${i}]`, out);
  } else if (isPlainObject(value)) {
    if (typeof value.className === 'string' && isPlainObject(value.config)) out.push({ className: value.className, path: path || '<root>' });
    for (const [k, v] of Object.entries(value)) findLayerSpecs(v, path ? `${path}.${k}` : k, out);
  }
  return out;
}

/**
 * The architecture of `model` as a JSON-ready object. Every layer class in it,
 * nested ones included, must be registered, so that the file can be loaded
 * again; an unregistered class is reported now rather than at load time.
 */
export function modelToJSON(model: Module): ModelJSON {
  const context = 'modelToJSON';
  if (!(model instanceof Module)) throw new SerializationError(`${context}: expected a Module`);
  const className = model.className;
  if (className === Module.className) {
    throw new SerializationError(
      `${context}: ${model.constructor.name} does not declare a static className; add \`static readonly className = '${model.constructor.name}'\` and register it with registerLayer()`,
    );
  }
  const { config, name } = layerToSpec(model);
  if (!isPlainObject(config)) throw new SerializationError(`${context}: ${model.label}.getConfig() must return a plain object`);
  assertJsonSafe(config, 'config', `${context}: ${model.label}`);
  const known = new Set(registeredLayers());
  for (const site of [{ className, path: '<root>' }, ...findLayerSpecs(config, 'config', [])]) {
    if (!known.has(site.className)) {
      throw new SerializationError(
        `${context}: layer class '${site.className}' at ${site.path} is not registered, so the file could not be loaded; call registerLayer('${site.className}', factory)`,
      );
    }
  }
  // A deep copy, so later changes to the model's config objects do not leak into the saved description.
  const json: ModelJSON = { format: MODEL_FORMAT, formatVersion: MODEL_FORMAT_VERSION, className, config: JSON.parse(JSON.stringify(config)) };
  if (name !== undefined) json.name = name;
  return json;
}

/**
 * Build a fresh model (new, randomly initialised weights) from an
 * architecture produced by modelToJSON, given as an object or JSON text.
 *
 * @throws FormatVersionError for another format version, UnknownLayerError
 *   naming the class and its JSON path when a class is not registered, and
 *   SerializationError for anything else malformed or a layer that refuses
 *   its config.
 */
export function modelFromJSON(json: ModelJSON | string | unknown, context = 'modelFromJSON'): LoadedModel {
  const doc = typeof json === 'string' ? parseStrictJson(json, context) : json;
  if (!isPlainObject(doc)) throw new SerializationError(`${context}: expected a JSON object, got ${doc === null ? 'null' : typeof doc}`);
  if (doc.format !== MODEL_FORMAT) {
    throw new SerializationError(`${context}: not a neurite architecture file (format is ${JSON.stringify(doc.format)}, expected '${MODEL_FORMAT}')`);
  }
  if (doc.formatVersion !== MODEL_FORMAT_VERSION) throw new FormatVersionError(MODEL_FORMAT, doc.formatVersion, [MODEL_FORMAT_VERSION], context);
  if (typeof doc.className !== 'string' || doc.className.length === 0) {
    throw new SerializationError(`${context}: className must be a non-empty string, got ${JSON.stringify(doc.className)}`);
  }
  if (!isPlainObject(doc.config)) throw new SerializationError(`${context}: config must be an object, got ${JSON.stringify(doc.config)}`);
  if (doc.name !== undefined && typeof doc.name !== 'string')
    throw new SerializationError(`${context}: name must be a string, got ${JSON.stringify(doc.name)}`);

  const known = new Set(registeredLayers());
  for (const site of [{ className: doc.className, path: '<root>' }, ...findLayerSpecs(doc.config, 'config', [])]) {
    if (!known.has(site.className)) throw new UnknownLayerError(site.className, site.path, context);
  }

  let model: unknown;
  try {
    // Containers build their children from the nested specs themselves (through layerFromConfig).
    model = layerFromConfig({ className: doc.className, config: doc.config as LayerConfig, name: doc.name as string | undefined });
  } catch (e) {
    const reason = e instanceof NeuriteError ? e.message : String(e);
    const err = new SerializationError(`${context}: building '${doc.className}' from its config failed: ${reason}`);
    err.cause = e;
    throw err;
  }
  if (!(model instanceof Module)) throw new SerializationError(`${context}: the factory registered for '${doc.className}' did not return a Module`);
  if (model.className !== doc.className) {
    throw new SerializationError(`${context}: the factory registered for '${doc.className}' built a '${model.className}'`);
  }
  return model;
}
