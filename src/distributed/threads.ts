// Replicas as worker threads of one Node process, sharing memory: the
// launcher (launch) and the replica's side of it (joinFromWorkerData). The
// launcher owns the control block, relays shared buffers between replicas,
// collects what each reports, and stops the others as soon as one fails.

import { MessageChannel, type MessagePort as NodeMessagePort, Worker } from 'node:worker_threads';
import { DistributedError } from './errors.js';
import type { ScriptLocation } from './processes.js';
import { abortGroup, type BufferRelay, controlLength, float64Bytes, type SharedGroupInit } from './shared-group.js';

/** The key under which a launched thread finds its part in workerData. */
export const WORKER_DATA_KEY = 'neuriteDistributed';

/** What a launched thread receives (structured-cloned; the buffers are shared). */
export interface ThreadJoinData extends SharedGroupInit {
  readonly port: NodeMessagePort;
  readonly threads: number;
  readonly data: unknown;
}

type RelayMessage = { kind: 'offer'; key: string; buffer: SharedArrayBuffer } | { kind: 'result'; value: unknown };

/** What launchThreads needs, checked by launch(). */
export interface ThreadLaunch {
  workers: number;
  mode: 'sync-threads' | 'hogwild';
  timeoutMs: number;
  threadsPerWorker: number;
  seed: number;
  argv?: readonly string[];
  data?: unknown;
}

/**
 * Run `script` on `workers` threads as the replicas of one job (see
 * launch()); rejects as soon as all threads ended if one of them failed.
 */
export async function launchThreads(script: ScriptLocation, options: ThreadLaunch): Promise<{ results: unknown[]; seconds: number }> {
  const { workers, mode, timeoutMs, threadsPerWorker, seed } = options;
  const control = new SharedArrayBuffer(controlLength(workers) * 4);
  const controlView = new Int32Array(control);
  const float64 = new SharedArrayBuffer(float64Bytes(workers));
  const results: unknown[] = new Array(workers).fill(undefined);
  const failures: { rank: number; error: unknown }[] = [];
  const ports: NodeMessagePort[] = [];
  const started = performance.now();

  const exits = Array.from({ length: workers }, (_, rank) => {
    const channel = new MessageChannel();
    ports.push(channel.port1);
    const join: ThreadJoinData = {
      rank,
      worldSize: workers,
      mode,
      seed,
      timeoutMs,
      control,
      float64,
      port: channel.port2,
      threads: threadsPerWorker,
      data: options.data,
    };
    const worker = new Worker(typeof script === 'string' ? script : new URL(script.href), {
      workerData: { [WORKER_DATA_KEY]: join },
      transferList: [channel.port2],
      argv: options.argv ? [...options.argv] : [],
    });
    channel.port1.on('message', (message: RelayMessage) => {
      if (message.kind === 'result') results[rank] = message.value;
      else for (let r = 0; r < workers; r++) if (r !== rank) ports[r]?.postMessage(message);
    });
    return new Promise<void>((resolve) => {
      let failed = false;
      worker.on('error', (error) => {
        failed = true;
        failures.push({ rank, error });
        abortGroup(controlView, rank + 1);
      });
      worker.on('exit', (code) => {
        if (code !== 0 && !failed) {
          failures.push({ rank, error: new DistributedError(`the thread exited with code ${code}`) });
          abortGroup(controlView, rank + 1);
        }
        channel.port1.close();
        resolve();
      });
    });
  });
  await Promise.all(exits);
  const seconds = (performance.now() - started) / 1000;
  if (failures.length > 0) {
    // The first failure is the cause; the others stopped because of it.
    const first = failures.find((f) => !(f.error instanceof DistributedError && /failed, so rank/.test(f.error.message))) ?? failures[0];
    const message = first.error instanceof Error ? first.error.message : String(first.error);
    throw new DistributedError(`launch: rank ${first.rank} of ${workers} failed: ${message}`, { cause: first.error });
  }
  return { results, seconds };
}

/** The replica's end of the relay: buffers offered by rank 0 arrive here, and results go back to the launcher. */
export class PortRelay implements BufferRelay {
  private readonly arrived = new Map<string, SharedArrayBuffer>();
  private readonly waiting = new Map<string, (buffer: SharedArrayBuffer) => void>();

  constructor(private readonly port: NodeMessagePort) {
    port.on('message', (message: RelayMessage) => {
      if (message.kind !== 'offer') return;
      const resolve = this.waiting.get(message.key);
      if (resolve) {
        this.waiting.delete(message.key);
        if (this.waiting.size === 0) port.unref();
        resolve(message.buffer);
      } else {
        this.arrived.set(message.key, message.buffer);
      }
    });
    // The port must not keep the thread alive once the script is done.
    port.unref();
  }

  offer(key: string, buffer: SharedArrayBuffer): void {
    this.port.postMessage({ kind: 'offer', key, buffer } satisfies RelayMessage);
  }

  receive(key: string): Promise<SharedArrayBuffer> {
    const buffer = this.arrived.get(key);
    if (buffer) {
      this.arrived.delete(key);
      return Promise.resolve(buffer);
    }
    return new Promise((resolve) => {
      this.waiting.set(key, resolve);
      // While a replica waits for rank 0's buffer, the port keeps its thread alive.
      this.port.ref();
    });
  }

  report(value: unknown): void {
    this.port.postMessage({ kind: 'result', value } satisfies RelayMessage);
  }
}
