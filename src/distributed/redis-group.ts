// Synchronous collectives across processes through Redis, for machines
// without Gloo (as TensorFlow's SyncReplicas aggregated gradients at a
// server). Every rank stores its values under the collective's key, the last
// to arrive wakes the others, and each reads every rank's values and sums them
// in rank order, in double precision as the shared-memory group does, so
// every rank gets the same bits and the numbers equal `sync-threads`'.
//
// The strategies call collectives synchronously (a compiled step runs them),
// and Redis speaks only asynchronously in Node: a helper thread owns the
// connections, and the calling thread sleeps in Atomics.wait until the helper
// says it is done (its reply is read with receiveMessageOnPort, which needs no
// event loop turn).
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { DistributedError, DistributedTimeoutError } from './errors.js';
import type { GlooGroupInit } from './gloo.js';
import type { CollectiveReply, CollectiveRequest, RedisGroupWorkerData } from './redis-group-protocol.js';
import type { Collectives } from './strategies.js';

/**
 * Sleep until `flag[0]` is no longer 0 or the deadline (a Date.now() time)
 * passes; true when the flag was set. A wake-up alone proves nothing: the
 * helper posts its reply, stores 1, then notifies, so the notify of the
 * previous call (whose store the caller saw before the notify came, CI's
 * "the Redis collectives thread did not answer") can wake a wait before this
 * call's reply exists. Only the flag says the reply is there.
 */
export function waitForFlag(flag: Int32Array, deadline: number): boolean {
  while (Atomics.load(flag, 0) === 0) {
    const left = deadline - Date.now();
    if (left <= 0) return false;
    Atomics.wait(flag, 0, 0, left);
  }
  return true;
}

/** What a process needs to join a synchronous job through Redis: GlooGroup's, less the address Gloo's TCP pairs use. */
export type RedisGroupInit = Omit<GlooGroupInit, 'host'>;

/**
 * The collectives of synchronous data parallelism through Redis: all-reduce,
 * broadcast and barrier, blocking until every rank arrived. Slower than
 * Gloo's for large models (every rank reads every rank's values through one
 * Redis) but needing nothing beyond the job's Redis.
 */
export class RedisGroup implements Collectives {
  /** The strategy's name. */
  readonly mode = 'sync';
  /** This process's rank, 0 to worldSize - 1. */
  readonly rank: number;
  /** How many processes the job has. */
  readonly worldSize: number;
  /** The seed the replicas share; it orders the samples. */
  readonly seed: number;
  private readonly timeoutMs: number;
  private helper: Worker | null;
  private readonly control = new Int32Array(new SharedArrayBuffer(4));
  private readonly replies: MessagePort;
  private readonly requests: MessagePort;
  private region = new SharedArrayBuffer(1024);
  private seq = 0;

  constructor(init: RedisGroupInit) {
    this.rank = init.rank;
    this.worldSize = init.worldSize;
    this.seed = init.seed;
    this.timeoutMs = init.timeoutMs;
    const replies = new MessageChannel();
    const requests = new MessageChannel();
    this.replies = replies.port1;
    this.requests = requests.port1;
    const workerData: RedisGroupWorkerData = { ...init, control: this.control.buffer as SharedArrayBuffer, replies: replies.port2, requests: requests.port2 };
    this.helper = new Worker(new URL('./redis-group-worker.js', import.meta.url), { workerData, transferList: [replies.port2, requests.port2] });
    // Neither the helper nor its channels may keep the process alive.
    this.helper.unref();
    this.requests.unref();
    this.replies.unref();
  }

  private call(request: Omit<CollectiveRequest, 'seq' | 'region'>): void {
    if (this.helper === null) throw new DistributedError(`${request.what}: the group is closed`);
    const full: CollectiveRequest = { ...request, seq: this.seq++, region: this.region };
    Atomics.store(this.control, 0, 0);
    this.requests.postMessage(full);
    // The helper gives up at the timeout itself; the margin covers its reply.
    waitForFlag(this.control, Date.now() + this.timeoutMs + 10_000);
    const reply = receiveMessageOnPort(this.replies)?.message as CollectiveReply | undefined;
    if (reply === undefined)
      throw new DistributedTimeoutError(`rank ${this.rank} of ${this.worldSize}: ${request.what}: the Redis collectives thread did not answer`);
    if (reply.timeout) throw new DistributedTimeoutError(`rank ${this.rank} of ${this.worldSize}: ${reply.error}`);
    if (reply.error !== undefined) throw new DistributedError(`rank ${this.rank} of ${this.worldSize}: ${reply.error}`);
  }

  /** The shared region, at least `bytes` long. */
  private room(bytes: number): SharedArrayBuffer {
    if (this.region.byteLength < bytes) this.region = new SharedArrayBuffer(Math.max(bytes, 2 * this.region.byteLength));
    return this.region;
  }

  /** Wait until every rank arrives. */
  barrier(what = 'barrier'): void {
    this.call({ kind: 'barrier', dtype: 'float32', count: 0, root: 0, mean: false, what });
  }

  /** Make room for collectives of `count` float32 values. */
  async reserve(count: number): Promise<void> {
    this.room(count * 8);
  }

  /** Refused: processes share no memory (hogwild runs on threads). */
  async share(): Promise<SharedArrayBuffer> {
    throw new DistributedError('share: processes hold no memory in common; hogwild runs on threads of one process');
  }

  private through(values: Float32Array | Float64Array): Float32Array | Float64Array {
    const region = this.room(values.byteLength);
    const view = values instanceof Float64Array ? new Float64Array(region, 0, values.length) : new Float32Array(region, 0, values.length);
    return view;
  }

  /** Sum (or average) `values` over the ranks, in place, with the same bits on each. */
  allReduce(values: Float32Array | Float64Array, op: 'sum' | 'mean' = 'sum'): void {
    const view = this.through(values);
    view.set(values);
    this.call({
      kind: 'allReduce',
      dtype: values instanceof Float64Array ? 'float64' : 'float32',
      count: values.length,
      root: 0,
      mean: op === 'mean',
      what: 'allReduce',
    });
    values.set(view);
  }

  /** Overwrite `values` on every rank with rank `root`'s. */
  broadcast(values: Float32Array | Float64Array, root = 0): void {
    const view = this.through(values);
    if (this.rank === root) view.set(values);
    this.call({ kind: 'broadcast', dtype: values instanceof Float64Array ? 'float64' : 'float32', count: values.length, root, mean: false, what: 'broadcast' });
    if (this.rank !== root) values.set(view);
  }

  /** Stop the helper thread and its connections. */
  close(): void {
    void this.helper?.terminate();
    this.helper = null;
  }
}
