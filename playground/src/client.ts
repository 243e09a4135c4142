// The page's side of the training session: a Web Worker when the browser
// gives one, else the same Session on the main thread (it trains in slices of
// at most 8 ms, so the page stays responsive either way).
import type { Reply, Request } from './session.js';

export interface Client {
  readonly kind: 'worker' | 'main-thread';
  send(req: Request): void;
  /** Send a request that carries an id and wait for its 'done' reply. */
  call<T>(req: Request & { id: number }): Promise<T>;
  onReply: (reply: Reply) => void;
  /** Stop training and free the worker. */
  close(): void;
}

let nextId = 1;
export const newId = () => nextId++;

class Base {
  onReply: (reply: Reply) => void = () => {};
  private waiting = new Map<number, { ok: (v: unknown) => void; fail: (e: Error) => void }>();
  protected receive(reply: Reply): void {
    if (reply.type === 'done') {
      const w = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if (w) {
        if (reply.error !== undefined) w.fail(new Error(reply.error));
        else w.ok(reply.value);
      }
      return;
    }
    this.onReply(reply);
  }
  protected expect(id: number): Promise<unknown> {
    return new Promise((ok, fail) => this.waiting.set(id, { ok, fail }));
  }
}

class WorkerClient extends Base implements Client {
  readonly kind = 'worker' as const;
  constructor(private readonly worker: Worker) {
    super();
    worker.onmessage = (e: MessageEvent<Reply>) => this.receive(e.data);
    worker.onerror = (e) => this.onReply({ type: 'message', text: `training worker: ${e.message}`, level: 'error' });
  }
  send(req: Request): void {
    this.worker.postMessage(req);
  }
  close(): void {
    this.worker.terminate();
  }
  call<T>(req: Request & { id: number }): Promise<T> {
    const p = this.expect(req.id) as Promise<T>;
    this.send(req);
    return p;
  }
}

class MainThreadClient extends Base implements Client {
  readonly kind = 'main-thread' as const;
  private queue: Promise<void> = Promise.resolve();
  private session: Promise<import('./session.js').Session>;
  constructor() {
    super();
    this.session = import('./session.js').then((m) => new m.Session((r) => this.receive(r)));
  }
  private closed = false;
  send(req: Request): void {
    if (this.closed) return;
    this.queue = this.queue.then(async () => (await this.session).handle(structuredClone(req)));
  }
  close(): void {
    this.send({ type: 'pause' });
    this.closed = true;
  }
  call<T>(req: Request & { id: number }): Promise<T> {
    const p = this.expect(req.id) as Promise<T>;
    this.send(req);
    return p;
  }
}

/** A worker from `workerUrl`, or the main-thread fallback when workers are unavailable or `?worker=0` asks for it. */
export function createClient(workerUrl: string, preferWorker: boolean): Client {
  if (preferWorker && typeof Worker !== 'undefined') {
    try {
      return new WorkerClient(new Worker(workerUrl, { type: 'module' }));
    } catch {
      // A Content-Security-Policy without worker-src, for one: train here instead.
    }
  }
  return new MainThreadClient();
}
