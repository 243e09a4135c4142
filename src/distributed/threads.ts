// Replicas as worker threads of one Node process, sharing memory: the
// launcher (launch) and the replica's side of it (joinFromWorkerData). The
// launcher owns the control block, relays shared buffers between replicas,
// collects what each reports, and stops the others as soon as one fails.
import { availableParallelism } from 'node:os';
import { MessageChannel, type MessagePort as NodeMessagePort, Worker } from 'node:worker_threads';
import { ValueError } from '../core/errors.js';
import { DistributedError } from './errors.js';
import { abortGroup, type BufferRelay, controlLength, float64Bytes, type SharedGroupInit } from './shared-group.js';

/** The modes threads can train in. */
export const THREAD_MODES = ['sync-threads', 'hogwild'] as const;
/** How replicas on threads train: 'sync-threads' averages gradients before every update (bit-exact replicas); 'hogwild' shares the weights with no lock. */
export type ThreadMode = (typeof THREAD_MODES)[number];

/** Options of launch(). */
export interface LaunchOptions {
  /** Replicas to start (each runs the script on its own thread). */
  workers: number;
  /** How they train together (default 'sync-threads'). */
  mode?: ThreadMode;
  /** How long a collective waits for the slowest replica before it fails (default 30,000 ms). */
  timeoutMs?: number;
  /** Backend threads per replica (default: the machine's cores divided among the replicas, at least 1). */
  threadsPerWorker?: number;
  /** The seed the replicas share (default: drawn at random); it orders the samples. */
  seed?: number;
  /** Arguments the script sees in process.argv after the script's path. */
  argv?: readonly string[];
  /** Any structured-cloneable value, handed to every replica as `replica.data`. */
  data?: unknown;
}

/** What a finished launch gives back. */
export interface LaunchResult {
  /** What each replica handed to `replica.report()`, by rank (undefined where it reported nothing). */
  results: unknown[];
  /** Wall-clock seconds from the first thread's start to the last one's end. */
  seconds: number;
}

/** The key under which a launched thread finds its part in workerData. */
export const WORKER_DATA_KEY = 'neuriteDistributed';

/** What a launched thread receives (structured-cloned; the buffers are shared). */
export interface ThreadJoinData extends SharedGroupInit {
  readonly port: NodeMessagePort;
  readonly threads: number;
  readonly data: unknown;
}

type RelayMessage = { kind: 'offer'; key: string; buffer: SharedArrayBuffer } | { kind: 'result'; value: unknown };

function checkOptions(options: LaunchOptions): Required<Omit<LaunchOptions, 'data' | 'argv'>> {
  if (options === null || typeof options !== 'object') throw new ValueError('launch: options {workers, mode} are required');
  const { workers } = options;
  if (!Number.isInteger(workers) || workers < 1) throw new ValueError(`launch: workers must be an integer >= 1, got ${workers}`);
  const mode = options.mode ?? 'sync-threads';
  if (!THREAD_MODES.includes(mode)) throw new ValueError(`launch: mode must be one of ${THREAD_MODES.join(', ')}, got '${mode}'`);
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!(timeoutMs > 0)) throw new ValueError(`launch: timeoutMs must be positive, got ${timeoutMs}`);
  const threadsPerWorker = options.threadsPerWorker ?? Math.max(1, Math.floor(availableParallelism() / workers));
  if (!Number.isInteger(threadsPerWorker) || threadsPerWorker < 1) {
    throw new ValueError(`launch: threadsPerWorker must be an integer >= 1, got ${threadsPerWorker}`);
  }
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
  if (!Number.isInteger(seed) || seed < 0) throw new ValueError(`launch: seed must be a non-negative integer, got ${seed}`);
  return { workers, mode, timeoutMs, threadsPerWorker, seed };
}

/**
 * Run `script` (an ES module's path or URL) on `workers` threads as the
 * replicas of one training job, and resolve when all of them finished.
 * Each replica calls `distributed.init()` to join and passes what it gets to
 * `fit(..., {distributed})`. If one replica throws or exits with an error, the
 * others stop at their next collective and the promise rejects with a
 * DistributedError naming the rank and its error.
 *
 * @example
 * const { results } = await distributed.launch(new URL('./train.mjs', import.meta.url), { workers: 2 });
 */
export async function launch(script: string | URL, options: LaunchOptions): Promise<LaunchResult> {
  const { workers, mode, timeoutMs, threadsPerWorker, seed } = checkOptions(options);
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
    const worker = new Worker(script, {
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
