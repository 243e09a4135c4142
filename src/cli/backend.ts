// Choosing the compute backend for a command: the native addon when it is
// built (the default), the pure-TypeScript reference otherwise or on request.
import { registerNativeBackend } from '../backends/native/index.js';
import { getBackend, listBackends, setBackend } from '../index.js';
import { UsageError } from './errors.js';

export const BACKEND_CHOICES = ['ref', 'native'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface BackendSelection {
  name: string;
  /** Said once when the default could not be had (the native addon is not built). */
  note?: string;
}

/** Null when the native backend is registered (neurite registers it at import when the addon loads), else why it is not. */
function nativeUnavailable(): string | null {
  if (listBackends().includes('native')) return null;
  return registerNativeBackend();
}

/**
 * Activate a backend. Without a request (flag or NEURITE_BACKEND=ref) the
 * native backend is used when it is available and the reference one
 * otherwise (with a note saying why); asking for 'native' when it is not
 * available is an error.
 */
export function selectBackend(requested: BackendChoice | undefined): BackendSelection {
  // The test runner picks the backend of a whole suite with NEURITE_BACKEND; it sets the default here too.
  if (requested === undefined && process.env.NEURITE_BACKEND === 'ref') requested = 'ref';
  if (requested === 'ref') {
    setBackend('ref');
    return { name: 'ref' };
  }
  const unavailable = nativeUnavailable();
  if (unavailable === null) {
    setBackend('native');
    return { name: getBackend().name };
  }
  const reason = unavailable;
  if (requested === 'native') {
    throw new UsageError(
      `--backend native: the native backend is not available (${reason})`,
      'build it with "npm rebuild neurite" (needs a C++ compiler), or use --backend ref',
    );
  }
  setBackend('ref');
  return { name: 'ref', note: `the native backend is not available (${reason}); using the pure-TypeScript reference backend (slower)` };
}
