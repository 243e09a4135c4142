/**
 * neurite: deep learning in TypeScript. This is the Node entry (the package's
 * `node` export condition): the public API, with the native addon offered
 * as a backend when it is built and the WebAssembly one otherwise. Browsers
 * and bundlers for them get src/index.browser.ts instead.
 *
 * Nothing runs at import: the backend is chosen when the first kernel runs
 * (native, else wasm, else the reference; NEURITE_BACKEND=ref|native|wasm
 * forces one), so the module has no top-level await and `require('neurite')`
 * works.
 */
// Installs the Tensor's methods; first, so that nothing can run before them.
import './methods/index.js';
import { registerNativeBackend } from './backends/native/index.js';
import { selectInitialBackend } from './backends/select.js';
import { registerWasmBackend } from './backends/wasm/index.js';
import { openWebGpuOn, type WebGpu, type WebGpuOptions } from './backends/webgpu/index.js';
import { sharedNodeGpu } from './backends/webgpu/node.js';
import { registerDeviceOpener, setBackendInitializer } from './core/engine.js';

export * from './api.js';

setBackendInitializer(() => selectInitialBackend({ native: registerNativeBackend, wasm: registerWasmBackend }));
// setBackend('webgpu') makes the GPU the device fit() trains on, opened at the first fit.
registerDeviceOpener('webgpu', (options) => openWebGpu(options));

/**
 * Opens the GPU through WebGPU: on Node through Dawn, the optional package
 * `webgpu` (npm install webgpu@0.6.2). A software adapter is refused unless
 * `allowFallback` is set. See {@link WebGpu} for what to do with it.
 */
export async function openWebGpu(options: WebGpuOptions = {}): Promise<WebGpu> {
  return openWebGpuOn(await sharedNodeGpu(), options);
}
export type { GpuAdapterSummary, GpuMemory, GpuReplayCounts, GpuTransfers, WebGpu, WebGpuOptions } from './backends/webgpu/index.js';

// Node only: PNG/JPEG decoding and image-folder datasets (pngjs and jpeg-js need Node's Buffer and zlib).
export {
  type DecodedImage,
  decodeImage,
  fitImage,
  IMAGE_EXTENSIONS,
  ImageDecodeError,
  type ImageFolderData,
  type ImageFolderListing,
  type ImageFolderOptions,
  imageFolder,
  listImageFolder,
} from './data/image-folder.js';
// Node only: replicas on worker threads (the browser entry has no worker_threads).
export * as distributed from './distributed/index.js';
