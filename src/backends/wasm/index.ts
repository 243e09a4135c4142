import { registerBackend } from '../../core/engine.js';
import type { Backend } from '../../kernels/contract.js';
import { type AccelerateThresholds, makeAcceleratedKernels } from '../accelerate.js';
import { instantiateWasmModule, type WasmCopyTraffic, type WasmModule } from './module.js';

/*
 * The wasm backend: the native addon's C++ kernels compiled to WebAssembly
 * with SIMD128 (scripts/build-wasm.mjs), behind the same kernel table as the
 * native backend. It runs wherever WebAssembly SIMD does: every current
 * browser, and Node without the addon (no compiler, or install scripts
 * skipped). One thread for now.
 */

/**
 * Crossing into the module costs about what a Node-API call does, plus
 * copying the arrays in and out (a few GB/s), so element-wise kernels pay
 * only on larger arrays than on the native backend.
 */
const WASM_THRESHOLDS: AccelerateThresholds = { minGemmWork: 2048, minElements: 4096 };

let loaded: WasmModule | null | undefined;
let loadError: string | null = null;

function load(): WasmModule | null {
  if (loaded !== undefined) return loaded;
  try {
    loaded = instantiateWasmModule();
  } catch (err) {
    loaded = null;
    loadError = `cannot compile the WebAssembly module (${err instanceof Error ? err.message : String(err)}); WebAssembly SIMD needs Node 16.4+ or a browser from 2021 on`;
  }
  return loaded;
}

/** The wasm backend, or null when this JavaScript engine cannot run its module (no WebAssembly SIMD). */
export function createWasmBackend(): Backend | null {
  const module = load();
  if (module === null) return null;
  return {
    name: 'wasm',
    kernels: makeAcceleratedKernels(module, WASM_THRESHOLDS),
    describe: () => 'WebAssembly SIMD128 kernels (the native C++ compiled to wasm, 1 thread) with the reference for the rest',
  };
}

/** Register the wasm backend with the engine (not selecting it); null when registered, else why it cannot run. */
export function registerWasmBackend(): string | null {
  const backend = createWasmBackend();
  if (backend === null) return loadError ?? 'unknown reason';
  registerBackend(backend);
  return null;
}

/** Bytes the wasm backend has copied between JavaScript arrays and its memory since it loaded (zeros before it loads). */
export function wasmCopyTraffic(): WasmCopyTraffic {
  return loaded ? loaded.copyTraffic() : { bytesIn: 0, bytesOut: 0, calls: 0 };
}
