import { listBackends, setBackend } from '../core/engine.js';
import { NeuriteError } from '../core/errors.js';

interface NativeModule {
  /** Registers the native backend with the engine when the addon loads; returns why not otherwise. */
  registerNativeBackend(): string | null;
}

/**
 * Pick the backend when neurite is first imported. Backends register
 * themselves with the engine (the reference when ops/ loads it, the native
 * addon here, on Node, when it is built and loads); this only chooses among
 * them. NEURITE_BACKEND=ref|native forces a choice (native fails loudly if it
 * cannot load). In a browser only the reference backend exists.
 */
export async function selectInitialBackend(): Promise<void> {
  const proc = (globalThis as { process?: { versions?: { node?: string }; env?: Record<string, string | undefined> } }).process;
  const requested = proc?.env?.NEURITE_BACKEND?.trim() || undefined;
  let nativeError: string | null = 'neurite is not running on Node.js';
  if (proc?.versions?.node) {
    // A module name in a variable keeps browser bundlers from following Node-only code.
    const nativePath = './native/index.js';
    nativeError = ((await import(nativePath)) as NativeModule).registerNativeBackend();
  }
  const nativeReady = listBackends().includes('native');
  if (requested === 'native' && !nativeReady) {
    throw new NeuriteError(`NEURITE_BACKEND=native, but the native backend is unavailable: ${nativeError}`);
  }
  if (!requested && !nativeReady && proc?.versions?.node && !proc.env?.NEURITE_DISABLE_NATIVE) {
    // Said once per process: npm may have skipped the build script, and nobody saw the install-time line.
    console.warn(`neurite: native backend unavailable (${nativeError}); using the pure-TypeScript reference backend. Set NEURITE_BACKEND=ref to silence this.`);
  }
  setBackend(requested ?? (nativeReady ? 'native' : 'ref'));
}
