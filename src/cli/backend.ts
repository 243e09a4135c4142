// Choosing the compute backend for a command: the native addon when it is
// built (the default), else the WebAssembly module, else the pure-TypeScript
// reference; or the one asked for. 'webgpu' is that default backend for
// eager work plus the GPU for fit's training steps.
import { registerNativeBackend } from '../backends/native/index.js';
import { registerWasmBackend } from '../backends/wasm/index.js';
import { openTrainingDevice } from '../core/engine.js';
import { getBackend, listBackends, setBackend, type WebGpu } from '../index.js';
import { UsageError } from './errors.js';

export const BACKEND_CHOICES = ['ref', 'native', 'wasm', 'webgpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface BackendSelection {
  name: string;
  /** Said once when the default could not be had (the native addon is not built). */
  note?: string;
}

/** Null when the backend is registered (registering it now if need be), else why it is not available. */
function unavailable(name: 'native' | 'wasm'): string | null {
  if (listBackends().includes(name)) return null;
  return name === 'native' ? registerNativeBackend() : registerWasmBackend();
}

/**
 * Activate a backend. Without a request (flag or NEURITE_BACKEND) the native
 * backend is used when it is available, else the wasm one (with a note saying
 * why), else the reference; asking for a backend that is not available is an
 * error.
 */
export function selectBackend(requested: BackendChoice | undefined): BackendSelection {
  // The test runner picks the backend of a whole suite with NEURITE_BACKEND; it sets the default here too.
  const fromEnv = process.env.NEURITE_BACKEND;
  if (requested === undefined && (BACKEND_CHOICES as readonly string[]).includes(fromEnv ?? '')) requested = fromEnv as BackendChoice;
  if (requested === 'webgpu') {
    const cpu = selectCpuBackend(undefined);
    setBackend('webgpu', { allowFallback: process.env.NEURITE_WEBGPU_ALLOW_FALLBACK === '1' });
    return { name: 'webgpu', note: cpu.note };
  }
  return selectCpuBackend(requested);
}

/**
 * Opens the GPU that --backend webgpu chose, so that a command fails before
 * it writes anything when there is none; returns a line describing it.
 */
export async function openGpuForTraining(): Promise<string> {
  try {
    const gpu = (await openTrainingDevice('webgpu')) as WebGpu;
    const a = gpu.adapter;
    const name = [a.vendor, a.architecture, a.description].filter((part) => part !== '').join(' ');
    return `webgpu: ${name}${a.isFallbackAdapter ? ' (software)' : ''}; eager work on ${getBackend().name}`;
  } catch (e) {
    throw new UsageError(
      `--backend webgpu: ${(e as Error).message}`,
      'the GPU needs the optional package webgpu (npm install webgpu@0.6.2) and a Vulkan driver; NEURITE_WEBGPU_ALLOW_FALLBACK=1 accepts a software adapter',
    );
  }
}

function selectCpuBackend(requested: Exclude<BackendChoice, 'webgpu'> | undefined): BackendSelection {
  if (requested === 'ref') {
    setBackend('ref');
    return { name: 'ref' };
  }
  if (requested !== undefined) {
    const reason = unavailable(requested);
    if (reason !== null) {
      throw new UsageError(
        `--backend ${requested}: the ${requested} backend is not available (${reason})`,
        requested === 'native' ? 'build it with "npm rebuild neurite" (needs a C++ compiler), or use --backend wasm' : 'use --backend ref',
      );
    }
    setBackend(requested);
    return { name: getBackend().name };
  }
  const nativeReason = unavailable('native');
  if (nativeReason === null) {
    setBackend('native');
    return { name: getBackend().name };
  }
  const wasmReason = unavailable('wasm');
  if (wasmReason === null) {
    setBackend('wasm');
    return { name: 'wasm', note: `the native backend is not available (${nativeReason}); using the WebAssembly backend` };
  }
  setBackend('ref');
  return {
    name: 'ref',
    note: `neither the native backend (${nativeReason}) nor the wasm backend (${wasmReason}) is available; using the pure-TypeScript reference backend (slower)`,
  };
}
