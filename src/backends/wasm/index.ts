import { registerBackend } from '../../core/engine.js';
import type { Backend } from '../../kernels/contract.js';
import { type AccelerateThresholds, makeAcceleratedKernels } from '../accelerate.js';
import { instantiateWasmModule, type WasmCopyTraffic, type WasmModule, type WasmRuntimeInfo } from './module.js';

/*
 * The wasm backend: the native addon's C++ kernels compiled to WebAssembly
 * with SIMD128 (scripts/build-wasm.mjs), behind the same kernel table as the
 * native backend. It runs wherever WebAssembly SIMD does: every current
 * browser, and Node without the addon (no compiler, or install scripts
 * skipped). With shared memory (Node; a cross-origin isolated page) tensors
 * live in the module's memory and workers share the kernels' work.
 */

/**
 * Crossing into the module costs about what a Node-API call does, plus
 * copying the arrays that are not already in its memory (a few GB/s), so
 * element-wise kernels pay only on larger arrays than on the native backend.
 */
const WASM_THRESHOLDS: AccelerateThresholds = { minGemmWork: 2048, minElements: 4096 };
/** The pool's limit (native/wasm/runtime.cc's kMaxWorkers plus the caller), as the native addon's. */
const MAX_THREADS = 16;

let loaded: WasmModule | null | undefined;
let loadError: string | null = null;

/** Threads to use: NEURITE_NUM_THREADS when set, else the host's hardware threads (both capped at MAX_THREADS). */
function wantedThreads(): number {
  const g = globalThis as {
    process?: { env?: Record<string, string | undefined>; getBuiltinModule?: (name: string) => unknown };
    navigator?: { hardwareConcurrency?: number };
  };
  const fromEnv = Number.parseInt(g.process?.env?.NEURITE_NUM_THREADS ?? '', 10);
  const os = g.process?.getBuiltinModule?.('node:os') as { availableParallelism?: () => number } | undefined;
  const hardware = os?.availableParallelism?.() ?? g.navigator?.hardwareConcurrency ?? 1;
  const n = fromEnv >= 1 ? Math.min(fromEnv, hardware) : hardware;
  return Math.max(1, Math.min(n, MAX_THREADS));
}

function load(): WasmModule | null {
  if (loaded !== undefined) return loaded;
  try {
    loaded = instantiateWasmModule(wantedThreads());
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
    storage: module.storage,
    setNumThreads: (n) => module.setNumThreads(n),
    numThreads: () => module.runtimeInfo().threads,
    ready: () => module.startThreads(),
    describe: () => {
      const info = module.runtimeInfo();
      const memory = info.sharedMemory ? 'shared memory' : 'unshared memory, arrays copied per call';
      return `WebAssembly SIMD128 kernels (the native C++ compiled to wasm; ${memory}, ${info.threads} of ${info.maxThreads} threads) with the reference for the rest`;
    },
  };
}

/** Register the wasm backend with the engine (not selecting it); null when registered, else why it cannot run. */
export function registerWasmBackend(): string | null {
  const backend = createWasmBackend();
  if (backend === null) return loadError ?? 'unknown reason';
  registerBackend(backend);
  return null;
}

const NO_TRAFFIC: WasmCopyTraffic = { bytesIn: 0, bytesOut: 0, calls: 0, residentArrays: 0, residentBytes: 0 };

/** Bytes the wasm backend has copied between JavaScript arrays and its memory since it loaded (zeros before it loads). */
export function wasmCopyTraffic(): WasmCopyTraffic {
  return loaded ? loaded.copyTraffic() : NO_TRAFFIC;
}

/** How the wasm module runs here (null before it loads or where it cannot). */
export function wasmRuntimeInfo(): WasmRuntimeInfo | null {
  return loaded ? loaded.runtimeInfo() : null;
}

/** Starts the wasm backend's workers if they are not running and resolves when all have started (at once without shared memory). */
export function wasmThreadsReady(): Promise<void> {
  return loaded ? loaded.startThreads() : Promise.resolve();
}

/** The wasm module itself (tests and the bench read its pool and budget), or null. */
export function wasmModule(): WasmModule | null {
  return load();
}
