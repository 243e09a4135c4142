import { registerBackend } from '../../core/engine.js';
import type { Backend } from '../../kernels/contract.js';
import { makeAcceleratedKernels } from '../accelerate.js';
import { cpuFeatures, loadNativeAddon, nativeLoadError } from './binding.js';

/*
 * The native backend: float32 (and float64 GEMM) kernels from the C++ addon,
 * behind the same Kernels interface as the reference (the table in
 * ../accelerate.ts, shared with the wasm backend, which compiles the same
 * kernels to WebAssembly).
 */

/**
 * Register the native backend with the engine (not selecting it). Returns
 * null when it is registered, or the reason the addon is unavailable (not
 * built, stale, cannot load on this machine, disabled).
 */
export function registerNativeBackend(): string | null {
  const backend = createNativeBackend();
  if (backend === null) return nativeLoadError() ?? 'unknown reason';
  registerBackend(backend);
  return null;
}

/** The native backend, or null when the addon is not built or cannot load on this machine. */
export function createNativeBackend(): Backend | null {
  const addon = loadNativeAddon();
  if (!addon) return null;
  const kernels = makeAcceleratedKernels(addon);
  return {
    name: 'native',
    kernels,
    setNumThreads: (n) => addon.setNumThreads(n),
    numThreads: () => addon.getNumThreads(),
    describe: () => {
      const f = cpuFeatures();
      const malloc = f?.malloc ? `; malloc: ${f.malloc}` : '';
      return `native C++ addon (${f ? `${f.isa} kernels, ${addon.getNumThreads()} threads` : 'unknown CPU path'}${malloc}) with the reference for the rest`;
    },
  };
}
