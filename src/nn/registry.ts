import { ValueError } from '../core/errors.js';
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

export function getLayerFactory(className: string): LayerFactory {
  const f = registry.get(className);
  if (!f) {
    throw new ValueError(`unknown layer class '${className}'; known: ${[...registry.keys()].sort().join(', ')}. Register custom layers with registerLayer().`);
  }
  return f;
}

export function registeredLayers(): string[] {
  return [...registry.keys()].sort();
}
