// The neural-network API: modules, layers, activations, losses, initialisers.
export { Module, type LayerConfig, type LoadResult } from './module.js';
export { Parameter } from './parameter.js';
export { getLayerFactory, registerLayer, registeredLayers, type LayerFactory } from './registry.js';
