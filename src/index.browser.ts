/**
 * neurite for browsers (the package's default export condition, and the
 * prebuilt bundles in dist/browser/): the public API on the reference
 * backend. It imports nothing of Node's; saving and loading use the browser
 * functions of io/.
 */
// Installs the Tensor's methods; first, so that nothing can run before them.
import './methods/index.js';
import { selectInitialBackend } from './backends/select.js';
import { setBackendInitializer } from './core/engine.js';

export * from './api.js';

setBackendInitializer(() => selectInitialBackend(null));
