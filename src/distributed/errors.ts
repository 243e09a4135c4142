import { NeuriteError } from '../core/errors.js';

/** A replica could not go on: another one failed or stopped, or the group was misconfigured. */
export class DistributedError extends NeuriteError {
  /** The class name as a literal, so that it survives minifiers that rename classes. */
  override name = 'DistributedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message);
    if (options && 'cause' in options) (this as { cause?: unknown }).cause = options.cause;
  }
}

/** Replicas did not meet within the group's timeout: one of them hangs, or stopped without saying so. */
export class DistributedTimeoutError extends DistributedError {
  /** The class name as a literal, so that it survives minifiers that rename classes. */
  override name = 'DistributedTimeoutError';
}

/** A worker that failed. */
export interface WorkerFailure {
  /** Its rank. */
  readonly rank: number;
  /** How it ended ('killed by SIGKILL', 'exited with code 1: ...'). */
  readonly message: string;
}

/**
 * A worker of a synchronous job across processes failed, and the launcher
 * stopped the others: what `launch` retries with the survivors when
 * `minWorkers` allows.
 */
export class WorkerLostError extends DistributedError {
  /** The class name as a literal, so that it survives minifiers that rename classes. */
  override name = 'WorkerLostError';
  constructor(
    message: string,
    /** The workers that failed, by rank, with how. */
    readonly failures: readonly WorkerFailure[],
    /** Workers of this process that did not fail (all stopped by the launcher). */
    readonly localSurvivors: number,
    /** Joined workers still answering, which join the next attempt. */
    readonly remoteSurvivors: number,
    /** The workers the failed attempt ran with. */
    readonly worldSize: number,
  ) {
    super(message);
  }
}
