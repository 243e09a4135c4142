/**
 * neurite for browsers (the package's default export condition, and the
 * prebuilt bundles in dist/browser/): the public API on the WebAssembly
 * backend (the reference backend where WebAssembly SIMD is missing). It
 * imports nothing of Node's; saving and loading use the browser functions of
 * io/.
 */
// Installs the Tensor's methods; first, so that nothing can run before them.
import './methods/index.js';
import { selectInitialBackend } from './backends/select.js';
import { registerWasmBackend } from './backends/wasm/index.js';
import { openWebGpuOn, type WebGpu, type WebGpuOptions } from './backends/webgpu/index.js';
import { registerDeviceOpener, setBackendInitializer } from './core/engine.js';
import { evaluate as evaluateOnDevice, fit as fitOnDevice, predict as predictOnDevice } from './train/fit.js';

export * from './api.js';

setBackendInitializer(() => selectInitialBackend({ native: null, wasm: registerWasmBackend }));

/*
 * The GPU's code (shaders, the executor) comes with the functions that can
 * use it: fit, evaluate and predict register its opener when called, and a
 * page that only computes with tensors leaves it out of its bundle. (The
 * Node entry registers it at import; size does not matter there.)
 */
function withTheGpu(): void {
  registerDeviceOpener('webgpu', (options) => openWebGpu(options));
}

/** Trains a model on data, as `fit` in train/fit.ts documents (its options, callbacks, the `device` option); here it also brings the GPU's opener. */
export function fit(...args: Parameters<typeof fitOnDevice>): ReturnType<typeof fitOnDevice> {
  withTheGpu();
  return fitOnDevice(...args);
}

/** The loss and metrics of a model on data, as `evaluate` in train/fit.ts documents; here it also brings the GPU's opener. */
export function evaluate(...args: Parameters<typeof evaluateOnDevice>): ReturnType<typeof evaluateOnDevice> {
  withTheGpu();
  return evaluateOnDevice(...args);
}

/** A model's outputs for data, in batches, as `predict` in train/fit.ts documents; here it also brings the GPU's opener. */
export function predict(...args: Parameters<typeof predictOnDevice>): ReturnType<typeof predictOnDevice> {
  withTheGpu();
  return predictOnDevice(...args);
}

/**
 * Opens the GPU through the browser's WebGPU (navigator.gpu). A software
 * adapter is refused unless `allowFallback` is set. See {@link WebGpu}.
 */
export async function openWebGpu(options: WebGpuOptions = {}): Promise<WebGpu> {
  const gpu = (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu;
  return openWebGpuOn(gpu ?? 'this browser offers no WebGPU (navigator.gpu is undefined)', options);
}
export type { GpuAdapterSummary, GpuMemory, GpuReplayCounts, GpuTransfers, WebGpu, WebGpuOptions } from './backends/webgpu/index.js';
