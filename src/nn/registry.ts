import { NeuriteError, ValueError } from '../core/errors.js';
import type { LayerConfig, Module } from './module.js';

/** Builds a layer from the config its getConfig() produced. */
export type LayerFactory = (config: LayerConfig) => Module;

const registry = new Map<string, LayerFactory>();

/**
 * Make a layer class loadable from architecture files. Built-in layers
 * register themselves; user layers call this with their className.
 */
export function registerLayer(className: string, factory: LayerFactory): void {
  if (typeof className !== 'string' || className.length === 0) throw new ValueError('registerLayer: className must be a non-empty string');
  registry.set(className, factory);
}

/** The factory registered for `className`; throws UnknownLayerError listing the known ones. */
export function getLayerFactory(className: string): LayerFactory {
  const f = registry.get(className);
  if (!f) {
    throw new ValueError(`unknown layer class '${className}'; known: ${[...registry.keys()].sort().join(', ')}. Register custom layers with registerLayer().`);
  }
  return f;
}

/** Every registered layer class name, sorted. */
export function registeredLayers(): string[] {
  return [...registry.keys()].sort();
}

/**
 * A layer as architecture files store it: its registered class name, the
 * config its getConfig() returned, and optionally the name it carries in
 * errors and summaries. Containers nest their children in this form.
 */
export interface LayerSpec {
  /** The registered class name. */
  className: string;
  /** The keyword configuration that recreates the layer. */
  config: LayerConfig;
  /** The layer's optional name. */
  name?: string;
}

/** The LayerSpec of a built layer (nested children appear inside `config`). */
export function layerToSpec(layer: Module): LayerSpec {
  const spec: LayerSpec = { className: layer.className, config: layer.getConfig() };
  if (layer._name !== undefined) spec.name = layer._name;
  return spec;
}

// The chain of specs being built, so an error deep inside a model says where it happened.
const buildPath: string[] = [];
const locatedErrors = new WeakSet<object>();

/**
 * Build a layer, and recursively its children, from a LayerSpec through the
 * registry: `layerFromConfig({className: 'Linear', config: {inFeatures: 4,
 * outFeatures: 2}})`. The weights are freshly initialised; load a state dict
 * for trained ones. `where` labels this entry in error messages (containers
 * pass e.g. 'layers[2]'), so a bad entry deep in a model is reported as
 * `Sequential > layers[2]: Linear: inFeatures must be a positive integer, got -3`.
 */
export function layerFromConfig(spec: LayerSpec, where?: string): Module {
  if (typeof spec !== 'object' || spec === null || typeof spec.className !== 'string' || typeof spec.config !== 'object' || spec.config === null) {
    throw new ValueError(
      `layerFromConfig: ${where ? `${where}: ` : ''}expected {className: string, config: object}, got ${JSON.stringify(spec)?.slice(0, 200)}`,
    );
  }
  buildPath.push(where ?? spec.className);
  try {
    const layer = getLayerFactory(spec.className)(spec.config);
    if (spec.name !== undefined) layer.withName(spec.name);
    return layer;
  } catch (e) {
    // Prefix the message in place: the error keeps its class (and any fields a subclass adds).
    if (e instanceof NeuriteError && !locatedErrors.has(e) && where !== undefined) {
      e.message = `${buildPath.join(' > ')}: ${e.message}`;
      locatedErrors.add(e);
    }
    throw e;
  } finally {
    buildPath.pop();
  }
}
