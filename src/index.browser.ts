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

export * from './api.js';

setBackendInitializer(() => selectInitialBackend({ native: null, wasm: registerWasmBackend }));
// setBackend('webgpu') makes the GPU the device fit() trains on, opened at the first fit.
registerDeviceOpener('webgpu', (options) => openWebGpu(options));

/**
 * Opens the GPU through the browser's WebGPU (navigator.gpu). A software
 * adapter is refused unless `allowFallback` is set. See {@link WebGpu}.
 */
export async function openWebGpu(options: WebGpuOptions = {}): Promise<WebGpu> {
  const gpu = (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu;
  return openWebGpuOn(gpu ?? 'this browser offers no WebGPU (navigator.gpu is undefined)', options);
}
export type { GpuAdapterSummary, GpuMemory, GpuReplayCounts, GpuTransfers, WebGpu, WebGpuOptions } from './backends/webgpu/index.js';
