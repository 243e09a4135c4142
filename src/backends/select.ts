import { registerBackend, setBackend } from '../core/engine.js';
import { NeuriteError } from '../core/errors.js';
import type { Backend } from './kernels.js';

interface NativeModule {
  createNativeBackend(): Backend | null;
}
interface BindingModule {
  nativeLoadError(): string | null;
}

/**
 * Pick the backend when neurite is first imported. On Node the native addon
 * is registered when it is built and loads; NEURITE_BACKEND=ref|native forces
 * a choice (native fails loudly if it cannot load). In a browser only the
 * reference backend exists.
 */
export async function selectInitialBackend(): Promise<void> {
  const proc = (globalThis as { process?: { versions?: { node?: string }; env?: Record<string, string | undefined> } }).process;
  const requested = proc?.env?.NEURITE_BACKEND?.trim() || undefined;
  let nativeError = 'neurite is not running on Node.js';
  let nativeReady = false;
  if (proc?.versions?.node) {
    // Module names in variables keep browser bundlers from following Node-only code.
    const nativePath = './native/index.js';
    const bindingPath = './native/binding.js';
    const backend = ((await import(nativePath)) as NativeModule).createNativeBackend();
    if (backend) {
      registerBackend(backend);
      nativeReady = true;
    } else nativeError = ((await import(bindingPath)) as BindingModule).nativeLoadError() ?? 'unknown reason';
  }
  if (requested === 'native' && !nativeReady) {
    throw new NeuriteError(`NEURITE_BACKEND=native, but the native backend is unavailable: ${nativeError}`);
  }
  if (!requested && !nativeReady && proc?.versions?.node && !proc.env?.NEURITE_DISABLE_NATIVE) {
    // Said once per process: npm may have skipped the build script, and nobody saw the install-time line.
    console.warn(`neurite: native backend unavailable (${nativeError}); using the pure-TypeScript reference backend. Set NEURITE_BACKEND=ref to silence this.`);
  }
  const choice = requested ?? (nativeReady ? 'native' : 'ref');
  setBackend(choice);
}
