import { type StorageProvider, setStorageProvider } from './dtype.js';
import { ValueError } from './errors.js';

/*
 * The engine: which backend computes, and whether operations record the graph.
 *
 * core/ knows nothing about what a kernel is: a backend is a name and a table
 * of functions. The typed contract lives with the kernels (kernels/contract.ts),
 * and backends register themselves here when their module loads, so the
 * engine imports none of them. The backend registered as the reference must
 * implement every kernel; the active backend's table is completed from it.
 */

/** A backend as the engine sees it; kernels/contract.ts types the table. */
export interface BackendEntry {
  /** The backend's name, as setBackend() takes it. */
  readonly name: string;
  /** The backend's kernel table (typed by Kernels in kernels/contract.ts). */
  readonly kernels: object;
  /** One line saying what the backend runs on, e.g. the CPU path of a native addon. */
  describe(): string;
  /** Where the backend keeps tensor storage while it is active (the wasm backend's module memory); absent: JavaScript memory. */
  readonly storage?: StorageProvider | null;
  /** Sets the threads its kernels use, returning the number now in use; absent: one thread. */
  setNumThreads?(n: number): number;
  /** The threads its kernels use. */
  numThreads?(): number;
  /** Resolves when the backend has finished starting (the wasm backend's workers); absent: ready at once. */
  ready?(): Promise<void>;
}

const registry = new Map<string, BackendEntry>();
/** Chooses the backend when the first kernel runs (set by the package entry), so importing neurite runs nothing. */
let pendingInit: (() => void) | null = null;
let reference: BackendEntry | null = null;
let active: BackendEntry | null = null;
/** The kernels in use: the active backend's, with the reference filling the gaps. */
let table: object | null = null;

/**
 * Add a backend to the registry. The first backend registered with
 * `{ reference: true }` becomes the fallback for every kernel another
 * backend leaves out, and is active until setBackend chooses another.
 */
export function registerBackend(backend: BackendEntry, options: { reference?: boolean } = {}): void {
  registry.set(backend.name, backend);
  if (options.reference && reference === null) {
    reference = backend;
    if (active === null) setBackend(backend.name);
  }
}

/**
 * Run `init` once, before the first kernel or backend query: the package
 * entry uses it to choose the backend lazily. A setBackend() call before then
 * cancels it (the user chose).
 */
export function setBackendInitializer(init: () => void): void {
  pendingInit = init;
}

function initialize(): void {
  const init = pendingInit;
  if (init === null) return;
  pendingInit = null;
  init();
}

/** Options of {@link setBackend}. */
export interface SetBackendOptions {
  /** For 'webgpu': accept a software adapter (SwiftShader, WARP), which is slower than the CPU backends; for tests. */
  readonly allowFallback?: boolean;
}

/** A device whose compiled training steps fit() replays (registered by the package entry: 'webgpu'). */
type DeviceOpener = (options: SetBackendOptions) => Promise<unknown>;
const deviceOpeners = new Map<string, DeviceOpener>();
/**
 * The devices setBackend takes. Their openers may register late: the browser
 * entry registers the GPU's with fit, evaluate and predict, so that a bundle
 * without them leaves the GPU's code out.
 */
const DEVICES: ReadonlySet<string> = new Set(['webgpu']);
/** The device fit() trains on when its options name none (null: the CPU backend), with what it was chosen with. */
let trainingDevice: { readonly name: string; readonly options: SetBackendOptions } | null = null;
/** The device once opened: one per process (Dawn allows one instance), shared by every fit(). */
const openedDevices = new Map<string, Promise<unknown>>();

/** Let setBackend(name) choose a device that fit() trains on (the package entries register 'webgpu'). */
export function registerDeviceOpener(name: string, open: DeviceOpener): void {
  deviceOpeners.set(name, open);
}

/**
 * Select a registered backend by name ('ref', 'native', 'wasm'), or
 * 'webgpu': then fit() replays its compiled training steps on the GPU, while
 * eager tensor operations stay on the CPU backend already in use (a kernel
 * here returns its result synchronously, which a GPU cannot).
 */
export function setBackend(name: string, options: SetBackendOptions = {}): void {
  // The entry registers its compiled backends when it chooses one, so that runs first: every backend is then
  // registered (setBackend('ref') followed by setBackend('wasm') works), and this call's choice wins.
  initialize();
  if (DEVICES.has(name) || deviceOpeners.has(name)) {
    if (active === null) throw new ValueError(`setBackend: no CPU backend is registered to run eager operations beside '${name}'`);
    trainingDevice = { name, options: { allowFallback: options.allowFallback === true } };
    return;
  }
  const b = registry.get(name);
  if (!b) throw new ValueError(`setBackend: unknown backend '${name}'; available: ${[...registry.keys(), ...deviceOpeners.keys()].join(', ')}`);
  if (reference === null) throw new ValueError(`setBackend: no reference backend is registered to fill the kernels '${name}' lacks`);
  active = b;
  table = { ...reference.kernels, ...b.kernels };
  setStorageProvider(b.storage ?? null);
  trainingDevice = null;
}

/** The device fit() trains on by default: 'webgpu' after setBackend('webgpu') (or NEURITE_BACKEND=webgpu), else 'cpu'. */
export function getTrainingDevice(): string {
  initialize();
  return trainingDevice?.name ?? 'cpu';
}

/**
 * Opens the device setBackend chose (once per process; a failed open is
 * tried again next time). Resolves to null when that is the CPU.
 */
export function openTrainingDevice(name: string = getTrainingDevice()): Promise<unknown> {
  if (name === 'cpu') return Promise.resolve(null);
  const open = deviceOpeners.get(name);
  if (!open) {
    const why = DEVICES.has(name) ? `this build registers no opener for '${name}' (import fit from the package entry, 'neurite')` : `no device '${name}'`;
    return Promise.reject(new ValueError(`${why}; devices: cpu, ${[...DEVICES].join(', ')}`));
  }
  let opened = openedDevices.get(name);
  if (opened === undefined) {
    opened = open(trainingDevice?.name === name ? trainingDevice.options : {});
    openedDevices.set(name, opened);
    opened.catch(() => openedDevices.delete(name));
  }
  return opened;
}

/**
 * Set how many threads the active backend's kernels use (native and wasm;
 * the reference runs on one). Returns the number now in use, which is at
 * most what the backend has (the native addon's hardware threads, or 1 plus
 * the wasm backend's workers). Results do not depend on it: kernels split
 * their work so that one seed gives the same numbers on any thread count.
 */
export function setNumThreads(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new ValueError(`setNumThreads: expected an integer >= 1, got ${n}`);
  const b = getBackend();
  return b.setNumThreads ? b.setNumThreads(n) : 1;
}

/**
 * Resolves when the active backend has finished starting: the wasm backend
 * starts its workers in the background the first time a kernel runs, and
 * does the work of any that are not up yet on the calling thread. Await this
 * before timing anything.
 */
export function backendReady(): Promise<void> {
  const b = getBackend();
  return b.ready ? b.ready() : Promise.resolve();
}

/** The threads the active backend's kernels use. */
export function getNumThreads(): number {
  const b = getBackend();
  return b.numThreads ? b.numThreads() : 1;
}

/** The active backend. */
export function getBackend(): BackendEntry {
  initialize();
  if (active === null) throw new ValueError('getBackend: no backend is registered (import neurite, not one of its internal modules)');
  return active;
}

/** Names of the registered kernel backends, e.g. ['ref', 'native', 'wasm'] (setBackend also takes the devices fit() trains on: 'webgpu'). */
export function listBackends(): string[] {
  initialize();
  return [...registry.keys()];
}

/** The reference backend's kernel table (the specification every other backend falls back to), or null before one registers. */
export function referenceKernelTable(): object | null {
  return reference?.kernels ?? null;
}

/** A table that stands in for the active one while a step is traced (src/compile records through it). */
let override: object | null = null;

/**
 * Route every kernel call through `t` (null: back to the active backend's
 * table). src/compile installs a recording wrapper of the active table here
 * while it traces a step.
 */
export function setKernelTableOverride(t: object | null): void {
  override = t;
}

/** The active kernel table, untyped; kernels/contract.ts gives it its type. */
export function activeKernelTable(): object {
  if (override !== null) return override;
  if (pendingInit !== null) initialize();
  if (table === null) throw new ValueError('kernels: no backend is registered (import neurite, not one of its internal modules)');
  return table;
}

let noGradDepth = 0;

/** True when operations record the graph for backward. */
export function isGradEnabled(): boolean {
  return noGradDepth === 0;
}

/**
 * Run `fn` without recording the graph (evaluation, optimizer updates). Works
 * with synchronous functions; for async code wrap each synchronous step.
 */
export function noGrad<T>(fn: () => T): T {
  noGradDepth++;
  try {
    return fn();
  } finally {
    noGradDepth--;
  }
}

/** Run `fn` with graph recording on, even inside noGrad (used for higher-order gradients). */
export function enableGrad<T>(fn: () => T): T {
  const saved = noGradDepth;
  noGradDepth = 0;
  try {
    return fn();
  } finally {
    noGradDepth = saved;
  }
}

let anomalyDepth = 0;

/** True inside detectAnomaly (or after setDetectAnomaly(true)). */
export function isAnomalyDetectionEnabled(): boolean {
  return anomalyDepth > 0;
}

/**
 * Turn anomaly detection on or off for everything that follows (PyTorch's
 * set_detect_anomaly). See detectAnomaly.
 */
export function setDetectAnomaly(enabled: boolean): void {
  anomalyDepth = enabled ? Math.max(anomalyDepth, 1) : 0;
}

/**
 * Run `fn` with anomaly detection (PyTorch's detect_anomaly): every op checks
 * its output, and backward every gradient it computes, and the first that
 * turns finite values into NaN or Infinity throws an AnomalyError naming the
 * op, the shapes of its inputs and the line of user code that called it.
 * It slows every op down, so use it to find a NaN, not to train. An async
 * `fn` keeps detection on until its promise settles.
 */
export function detectAnomaly<T>(fn: () => T): T {
  anomalyDepth++;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    anomalyDepth = Math.max(0, anomalyDepth - 1);
    throw e;
  }
  if (result instanceof Promise) {
    return result.finally(() => {
      anomalyDepth = Math.max(0, anomalyDepth - 1);
    }) as T;
  }
  anomalyDepth = Math.max(0, anomalyDepth - 1);
  return result;
}
