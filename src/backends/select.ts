import { listBackends, setBackend } from '../core/engine.js';
import { NeuriteError } from '../core/errors.js';

/** Registers one backend; returns null when registered, else why it cannot run here. */
export type BackendRegistrar = () => string | null;

/** The compiled backends an entry offers, fastest first. */
export interface BackendOffer {
  /** The native addon (Node only). */
  readonly native: BackendRegistrar | null;
  /** The WebAssembly module (Node and browsers). */
  readonly wasm: BackendRegistrar | null;
}

function env(): Record<string, string | undefined> | undefined {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
}

function isNode(): boolean {
  return Boolean((globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node);
}

/**
 * Choose the backend, once, when the first kernel runs. The order is native >
 * wasm > reference on Node and wasm > reference in browsers; NEURITE_BACKEND=
 * ref|native|wasm forces one (a forced compiled backend that cannot load is
 * an error). Falling back past a backend the platform should have is said
 * once, naming the reason and the backend in use. NEURITE_BACKEND=webgpu
 * chooses the CPU backend as without it and makes the GPU the device fit()
 * trains on (NEURITE_WEBGPU_ALLOW_FALLBACK=1 accepts a software adapter).
 */
export function selectInitialBackend(offer: BackendOffer): void {
  const requested = env()?.NEURITE_BACKEND?.trim() || undefined;
  const reasons: Record<string, string> = {};
  const ready = (name: 'native' | 'wasm'): boolean => {
    if (listBackends().includes(name)) return true;
    const register = offer[name];
    if (register === null) {
      reasons[name] = name === 'native' ? 'the native addon needs Node.js' : 'this build of neurite has no wasm backend';
      return false;
    }
    const why = register();
    if (why !== null) reasons[name] = why;
    return why === null;
  };
  // The wasm backend is registered whatever is chosen (it compiles in a few milliseconds), so setBackend('wasm') works.
  const wasmReady = ready('wasm');
  if (requested === 'native' || requested === 'wasm') {
    if (!ready(requested)) throw new NeuriteError(`NEURITE_BACKEND=${requested}, but the ${requested} backend is unavailable: ${reasons[requested]}`);
    setBackend(requested);
    return;
  }
  if (requested !== undefined && requested !== 'webgpu') {
    setBackend(requested);
    return;
  }
  const nativeReady = offer.native !== null && ready('native');
  const chosen = nativeReady ? 'native' : wasmReady ? 'wasm' : 'ref';
  if (offer.native !== null && !nativeReady && isNode() && !env()?.NEURITE_DISABLE_NATIVE) {
    // Said once per process: npm may have skipped the build script, and nobody saw the install-time line.
    const using = chosen === 'wasm' ? 'the WebAssembly backend' : 'the pure-TypeScript reference backend';
    console.warn(`neurite: native backend unavailable (${reasons.native}); using ${using}. Set NEURITE_BACKEND=${chosen} to silence this.`);
  } else if (chosen === 'ref' && offer.wasm !== null) {
    console.warn(`neurite: wasm backend unavailable (${reasons.wasm}); using the pure-TypeScript reference backend. Set NEURITE_BACKEND=ref to silence this.`);
  }
  setBackend(chosen);
  if (requested === 'webgpu') setBackend('webgpu', { allowFallback: env()?.NEURITE_WEBGPU_ALLOW_FALLBACK === '1' });
}
