// What fit needs from distributed training, and nothing more: the replicas,
// their transport and their launch live in src/distributed (above this
// floor), which implements this interface; fit only calls it at the points
// where a replica must agree with the others.
import type { Module } from '../nn/module.js';
import type { Parameter } from '../nn/parameter.js';
import type { OptimizerLike } from './callbacks.js';

/**
 * How fit trains as one replica among several (`fit(..., {distributed})`).
 * `distributed.init()` gives one; a custom transport can implement it too.
 *
 * fit calls, in order: `begin` once before the first epoch; each step,
 * `beforeBackward` (when present) just before backward, then after backward (and clipping) and before the optimizer's update,
 * `synchronizeGradients`; after each epoch's batches, `sumAcross` on the
 * epoch's sums (loss and metrics, weighted by samples) so that every replica
 * logs the same figures, then `epochEnd`; `end` once after the last epoch.
 * Tensor and dataset data are sharded by `rank` and `worldSize`
 * (DataLoader's `shard`), with the shuffle order drawn from `seed`.
 */
export interface DistributedStrategy {
  /** This replica's index, 0 to worldSize - 1. */
  readonly rank: number;
  /** How many replicas train together. */
  readonly worldSize: number;
  /** The strategy's name, for messages ('sync-threads', 'hogwild'...). */
  readonly mode: string;
  /** A seed the replicas share: it orders the samples, so that their shards are disjoint. */
  readonly seed: number;
  /** Bring the replicas to one starting state (weights and buffers from rank 0, or shared weights). */
  begin(model: Module, optimizer: OptimizerLike): Promise<void>;
  /**
   * Optional: each step's backward is about to run. Data parallelism uses it
   * to send buckets of gradients while backward goes on; a backward that no
   * beforeBackward announced (a compiled step's replay, a user's own) sends
   * nothing early, and synchronizeGradients exchanges all of them.
   */
  beforeBackward?(): void;
  /** Make the gradients of the trainable parameters what the update should use (their mean over the replicas, for data parallelism). Synchronous, so that a compiled step can run it. */
  synchronizeGradients(params: readonly Parameter[]): void;
  /**
   * Optional: the strategy applies the update itself (asynchronous parameter
   * servers). When present, fit calls it after each step's gradients instead
   * of the optimizer's update (with the batch's sample count). With
   * `collectGradients` too, a compiled step can run it; without, the step
   * runs eagerly.
   */
  update?(params: readonly Parameter[], samples: number): Promise<void>;
  /**
   * Optional, with `update`: take this step's final gradients (after
   * clipping). Called inside the step, synchronously, so that a compiled step
   * replays it; `update` then sends what it took.
   */
  collectGradients?(params: readonly Parameter[]): void;
  /** Add `values` over the replicas, in place, in the same order on every replica. */
  sumAcross(values: Float64Array): void;
  /** After an epoch's batches and before validation (broadcast BatchNorm statistics, say). */
  epochEnd(model: Module): void;
  /** After training: wait for the other replicas. */
  end(model: Module): Promise<void>;
}
