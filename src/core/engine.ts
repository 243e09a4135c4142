import type { Backend, Kernels } from '../backends/kernels.js';
import { refBackend, refKernels } from '../backends/ref/index.js';
import { ValueError } from './errors.js';

const registry = new Map<string, Backend>([[refBackend.name, refBackend]]);
let active: Backend = refBackend;
/** The kernels in use: the active backend's, with the reference filling the gaps. */
let kernels: Kernels = refKernels;

export function registerBackend(backend: Backend): void {
  registry.set(backend.name, backend);
}

/** Select a registered backend by name ('ref', 'native', ...). */
export function setBackend(name: string): void {
  const b = registry.get(name);
  if (!b) throw new ValueError(`setBackend: unknown backend '${name}'; available: ${[...registry.keys()].join(', ')}`);
  active = b;
  kernels = { ...refKernels, ...b.kernels } as Kernels;
}

export function getBackend(): Backend {
  return active;
}

export function listBackends(): string[] {
  return [...registry.keys()];
}

export function k(): Kernels {
  return kernels;
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
