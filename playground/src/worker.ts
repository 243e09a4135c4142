// The Web Worker: a Session answering the page's messages.
import { type Reply, type Request, Session } from './session.js';

const scope = self as unknown as { postMessage(m: Reply): void; onmessage: ((e: MessageEvent<Request>) => void) | null };
const session = new Session((reply) => scope.postMessage(reply));
// Requests are handled one after another: 'init' awaits the backend, and nothing may overtake it.
let queue: Promise<void> = Promise.resolve();
scope.onmessage = (e) => {
  queue = queue.then(() => session.handle(e.data));
};
