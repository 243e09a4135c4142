/*
 * The wasm backend's workers: each instantiates the module on the shared
 * memory, takes the stack and thread-local block the main thread allocated
 * for it, and parks in nt_worker_main(), where the pool (native/wasm/
 * runtime.cc) hands it parts of jobs. worker_threads on Node, Web Workers in
 * a browser; the same worker source serves both, so no file has to be found
 * on disk or on a server.
 */

/** What one worker needs besides the module and the memory. */
export interface WorkerSlot {
  /** Top of its stack (the stack grows down). */
  readonly stackTop: number;
  /** Its thread-local block. */
  readonly tls: number;
}

/** The workers started for one module. */
export interface WorkerStart {
  /** Workers started (0 where the host has no workers). */
  readonly count: number;
  /** Workers that have reached the pool. */
  ready(): number;
  /** Resolves when every worker has reached the pool. */
  readonly allReady: Promise<void>;
}

/** The worker's source: plain JavaScript, run by worker_threads (as CommonJS) or by a browser's Worker. */
const WORKER_SOURCE = `
'use strict';
function start(msg) {
  const now = typeof performance === 'object' ? () => performance.now() : () => Date.now();
  const instance = new WebAssembly.Instance(msg.module, { env: { memory: msg.memory, now_ms: now } });
  const ex = instance.exports;
  ex.__stack_pointer.value = msg.stackTop;
  ex.__wasm_init_tls(msg.tls);
  post({ ready: msg.id });
  ex.nt_worker_main(msg.id);
}
let post;
if (typeof require === 'function') {
  const port = require('node:worker_threads').parentPort;
  post = (m) => port.postMessage(m);
  port.once('message', start);
} else {
  post = (m) => self.postMessage(m);
  self.onmessage = (e) => start(e.data);
}
`;

interface NodeWorker {
  postMessage(message: unknown): void;
  on(event: string, listener: (value: unknown) => void): void;
  unref(): void;
}
interface NodeWorkerThreads {
  Worker: new (source: string, options: { eval: boolean; name?: string }) => NodeWorker;
}
interface BrowserWorker {
  postMessage(message: unknown): void;
  onmessage: ((e: { data: unknown }) => void) | null;
  onerror: ((e: unknown) => void) | null;
}
interface Host {
  process?: { getBuiltinModule?: (name: string) => unknown; versions?: { node?: string } };
  Worker?: new (url: string, options?: { name?: string }) => BrowserWorker;
  Blob?: new (parts: string[], options: { type: string }) => unknown;
  URL?: { createObjectURL(blob: unknown): string };
}

/** A worker running WORKER_SOURCE, with the host's API, or null where the host has none. */
function spawn(index: number, onReady: () => void, onError: (why: string) => void): ((message: unknown) => void) | null {
  const host = globalThis as Host;
  const name = `neurite-wasm-${index + 1}`;
  if (host.process?.versions?.node) {
    const threads = host.process.getBuiltinModule?.('node:worker_threads') as NodeWorkerThreads | undefined;
    if (!threads) return null;
    const w = new threads.Worker(WORKER_SOURCE, { eval: true, name });
    // Held until it reports ready (so a process awaiting the workers does not exit first), then let go: the
    // pool's workers never end, and must not keep the process alive.
    w.on('message', () => {
      w.unref();
      onReady();
    });
    w.on('error', (e) => onError(e instanceof Error ? e.message : String(e)));
    return (m) => w.postMessage(m);
  }
  if (typeof host.Worker !== 'function' || typeof host.Blob !== 'function' || !host.URL) return null;
  const url = host.URL.createObjectURL(new host.Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  const w = new host.Worker(url, { name });
  w.onmessage = onReady;
  w.onerror = (e) => onError(String((e as { message?: string }).message ?? e));
  return (m) => w.postMessage(m);
}

/** Starts `count` workers on the module and its shared memory. */
export function startWorkers(module: WebAssembly.Module, memory: WebAssembly.Memory, count: number, slot: (i: number) => WorkerSlot): WorkerStart {
  let ready = 0;
  let started = 0;
  let resolveAll: () => void = () => {};
  const allReady = new Promise<void>((resolve) => {
    resolveAll = resolve;
  });
  const settle = () => {
    if (ready >= started) resolveAll();
  };
  let warned = false;
  const warn = (why: string) => {
    // A worker that cannot start leaves its parts to the threads that did; said once.
    if (warned) return;
    warned = true;
    console.warn(`neurite: a wasm worker could not start (${why}); the kernels run on fewer threads`);
  };
  for (let i = 0; i < count; i++) {
    let counted = false;
    let post: ((message: unknown) => void) | null;
    try {
      post = spawn(
        i,
        () => {
          if (counted) return;
          counted = true;
          ready++;
          settle();
        },
        (why) => {
          if (counted) return;
          counted = true;
          started--;
          warn(why);
          settle();
        },
      );
    } catch (err) {
      // A page whose Content-Security-Policy forbids blob: workers throws here.
      warn(err instanceof Error ? err.message : String(err));
      break;
    }
    if (post === null) break;
    started++;
    post({ module, memory, id: i, ...slot(i) });
  }
  settle();
  return { count: started, ready: () => ready, allReady };
}
