// Synchronous collectives across processes and machines through Gloo
// (native/gloo/, built where Debian's libgloo-dev is installed). The replicas
// meet through Gloo's RedisStore on the job's Redis and then exchange over
// TCP, rank to rank. The calls block, which is what lets DataParallel's
// all-reduce run inside a (compiled) training step.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { DistributedError } from './errors.js';
import type { Collectives } from './strategies.js';

interface NativeGlooGroup {
  allReduce(values: Float32Array | Float64Array): void;
  allReduceStart(values: Float32Array | Float64Array): void;
  wait(): void;
  broadcast(values: Float32Array | Float64Array, root: number): void;
  barrier(): void;
  close(): void;
}

interface GlooBinding {
  GlooGroup: new (options: {
    rank: number;
    size: number;
    redisHost: string;
    redisPort: number;
    prefix: string;
    hostname: string;
    timeoutMs: number;
  }) => NativeGlooGroup;
}

const ADDON = fileURLToPath(new URL('../../../native/gloo/build/Release/neurite_gloo.node', import.meta.url));
let loaded: { binding: GlooBinding | null; reason: string | null } | null = null;

function load(): { binding: GlooBinding | null; reason: string | null } {
  if (loaded !== null) return loaded;
  if (!existsSync(ADDON)) {
    loaded = { binding: null, reason: 'the Gloo collectives are not built (Debian: apt-get install libgloo-dev, then npm rebuild neurite)' };
    return loaded;
  }
  try {
    loaded = { binding: createRequire(import.meta.url)(ADDON) as GlooBinding, reason: null };
  } catch (e) {
    loaded = { binding: null, reason: `the Gloo collectives do not load: ${(e as Error).message}` };
  }
  return loaded;
}

/** Null when the Gloo collectives are built and load here, else why not (with what to install). */
export function glooUnavailableReason(): string | null {
  return load().reason;
}

/** What a process needs to join a synchronous job through Gloo. */
export interface GlooGroupInit {
  /** This process's rank, 0 to worldSize - 1. */
  rank: number;
  /** How many processes the job has. */
  worldSize: number;
  /** The seed the replicas share. */
  seed: number;
  /** The job's Redis (redis://host:port), where the ranks find each other. */
  url: string;
  /** A prefix unique to the job (and to each rendezvous within it). */
  job: string;
  /** How long the rendezvous and each collective wait for the other ranks. */
  timeoutMs: number;
  /** The address the other ranks reach this one at (default: 127.0.0.1 when Redis is local, else this machine's hostname; env NEURITE_GLOO_HOST). */
  host?: string;
}

/**
 * The collectives of synchronous data parallelism across processes: Gloo's
 * ring all-reduce (each segment reduced once and passed around, so every
 * rank gets the same bits), broadcast and barrier. A peer that dies makes
 * the others' next collective fail at once ("Connection closed by peer"); one
 * that hangs makes it fail after the timeout.
 */
export class GlooGroup implements Collectives {
  /** The strategy's name. */
  readonly mode = 'sync';
  /** This process's rank, 0 to worldSize - 1. */
  readonly rank: number;
  /** How many processes the job has. */
  readonly worldSize: number;
  /** The seed the replicas share; it orders the samples. */
  readonly seed: number;
  private native: NativeGlooGroup | null;

  constructor(init: GlooGroupInit) {
    const { binding, reason } = load();
    if (binding === null) throw new DistributedError(`sync across processes: ${reason}`);
    let url: URL;
    try {
      url = new URL(init.url);
    } catch {
      throw new DistributedError(`sync across processes: '${init.url}' is not a Redis URL (redis://host:port)`);
    }
    const redisHost = url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
    const local = ['127.0.0.1', 'localhost', '::1'].includes(redisHost);
    const host = init.host ?? process.env.NEURITE_GLOO_HOST ?? (local ? '127.0.0.1' : hostname());
    this.rank = init.rank;
    this.worldSize = init.worldSize;
    this.seed = init.seed;
    try {
      this.native = new binding.GlooGroup({
        rank: init.rank,
        size: init.worldSize,
        redisHost,
        redisPort: Number(url.port || 6379),
        prefix: `neurite:gloo:${init.job}`,
        hostname: host,
        timeoutMs: init.timeoutMs,
      });
    } catch (e) {
      throw new DistributedError(`rank ${init.rank} of ${init.worldSize}: ${(e as Error).message} (waited up to ${init.timeoutMs} ms for the other ranks)`, {
        cause: e,
      });
    }
  }

  private group(what: string): NativeGlooGroup {
    if (this.native === null) throw new DistributedError(`${what}: the group is closed`);
    return this.native;
  }

  private run(what: string, fn: (g: NativeGlooGroup) => void): void {
    try {
      fn(this.group(what));
    } catch (e) {
      if (e instanceof DistributedError) throw e;
      throw new DistributedError(`rank ${this.rank} of ${this.worldSize}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Wait until every rank arrives. */
  barrier(what = 'barrier'): void {
    this.run(what, (g) => g.barrier());
  }

  /** Nothing to reserve: Gloo reduces the caller's own array. */
  async reserve(): Promise<void> {}

  /** Refused: processes share no memory (hogwild runs on threads). */
  async share(): Promise<SharedArrayBuffer> {
    throw new DistributedError('share: processes hold no memory in common; hogwild runs on threads of one process');
  }

  /** Sum (or average) `values` over the ranks, in place, with the same bits on each. */
  allReduce(values: Float32Array | Float64Array, op: 'sum' | 'mean' = 'sum'): void {
    this.run('allReduce', (g) => g.allReduce(values));
    if (op === 'mean') for (let i = 0; i < values.length; i++) values[i] /= this.worldSize;
  }

  /**
   * Start summing `values` over the ranks, in place, on the group's
   * communication thread, and return at once; `values` must not be read or
   * written until allReduceWait() returns. Started sums run in the order they
   * were started, before any later blocking collective.
   */
  allReduceStart(values: Float32Array): void {
    this.run('allReduceStart', (g) => g.allReduceStart(values));
  }

  /** Wait until every started sum has finished (throws the first that failed). */
  allReduceWait(): void {
    this.run('allReduceWait', (g) => g.wait());
  }

  /** Overwrite `values` on every rank with rank `root`'s. */
  broadcast(values: Float32Array | Float64Array, root = 0): void {
    this.run('broadcast', (g) => g.broadcast(values, root));
  }

  /** Drop the connections. */
  close(): void {
    this.native?.close();
    this.native = null;
  }
}
