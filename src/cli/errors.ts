// Errors the command line turns into exit codes. Anything else that escapes a
// command is a bug or an environment failure and exits with 1.

/** Exit codes of the `neurite` command. */
export const EXIT = {
  ok: 0,
  /** Training or I/O failed at run time. */
  failure: 1,
  /** The command line or a configuration file is wrong; nothing was written. */
  usage: 2,
  /** Interrupted by Ctrl-C (128 + SIGINT), after saving a checkpoint. */
  interrupted: 130,
} as const;

/**
 * A mistake in what the user asked for (flags, a model file, a run folder):
 * reported as one message, without a stack trace, with exit code 2.
 */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly exitCode: number = EXIT.usage;

  constructor(
    message: string,
    /** A line of advice printed under the message. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A model or data configuration that cannot work; the message names the offending entry, e.g. `layers[3] (Linear): ...`. */
export class ConfigError extends UsageError {
  override name = 'ConfigError';
  constructor(
    message: string,
    /** JSON path of the offending entry, e.g. 'layers[3]' or 'training.lr'. */
    readonly path?: string,
    hint?: string,
  ) {
    super(message, hint);
    this.name = 'ConfigError';
  }
}
