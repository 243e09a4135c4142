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
