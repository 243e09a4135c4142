import { listBackends, setBackend } from '../core/engine.js';
import { NeuriteError } from '../core/errors.js';

/**
 * Choose the backend, once, when the first kernel runs. Backends register
 * themselves with the engine (the reference when ops/ loads it); on Node the
 * entry passes `registerNative`, which registers the native addon when it is
 * built and loads and otherwise says why not. NEURITE_BACKEND=ref|native
 * forces a choice (native fails loudly if it cannot load). In a browser only
 * the reference backend exists.
 */
export function selectInitialBackend(registerNative: (() => string | null) | null): void {
  const proc = (globalThis as { process?: { versions?: { node?: string }; env?: Record<string, string | undefined> } }).process;
  const requested = proc?.env?.NEURITE_BACKEND?.trim() || undefined;
  let nativeError: string | null = registerNative ? null : 'this build of neurite is for browsers (the native addon needs Node.js)';
  if (registerNative && !listBackends().includes('native')) nativeError = registerNative();
  const nativeReady = listBackends().includes('native');
  if (requested === 'native' && !nativeReady) {
    throw new NeuriteError(`NEURITE_BACKEND=native, but the native backend is unavailable: ${nativeError}`);
  }
  if (!requested && !nativeReady && registerNative && proc?.versions?.node && !proc.env?.NEURITE_DISABLE_NATIVE) {
    // Said once per process: npm may have skipped the build script, and nobody saw the install-time line.
    console.warn(`neurite: native backend unavailable (${nativeError}); using the pure-TypeScript reference backend. Set NEURITE_BACKEND=ref to silence this.`);
  }
  setBackend(requested ?? (nativeReady ? 'native' : 'ref'));
}
