// What RedisGroup and its helper thread (redis-group-worker.ts) say to each
// other. Apart from redis-group.ts so that the package's declarations of the
// public RedisGroup name no Node types.
import type { MessagePort } from 'node:worker_threads';
import type { RedisGroupInit } from './redis-group.js';

/** A request to the helper thread. */
export interface CollectiveRequest {
  readonly kind: 'allReduce' | 'broadcast' | 'barrier';
  /** The collective's number, the same on every rank (collectives run in the same order everywhere). */
  readonly seq: number;
  readonly dtype: 'float32' | 'float64';
  /** Values in `region`. */
  readonly count: number;
  readonly root: number;
  readonly mean: boolean;
  /** What the values travel in (shared with the helper). */
  readonly region: SharedArrayBuffer;
  /** What a timeout's message calls the wait. */
  readonly what: string;
}

/** The helper's reply. */
export interface CollectiveReply {
  readonly error?: string;
  readonly timeout?: boolean;
}

/** The helper's start-up data. */
export interface RedisGroupWorkerData extends RedisGroupInit {
  /** control[0] goes from 0 to 1 when the helper has answered. */
  readonly control: SharedArrayBuffer;
  /** Where the helper answers. */
  readonly replies: MessagePort;
  /** Where the helper is asked. */
  readonly requests: MessagePort;
}
