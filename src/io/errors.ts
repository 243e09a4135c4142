import { SerializationError } from '../core/errors.js';

/**
 * An architecture file names a layer class that no registerLayer() call made
 * known. Callers can register the class and try again, hence its own type.
 */
export class UnknownLayerError extends SerializationError {
  override name = 'UnknownLayerError';
  constructor(
    /** The unregistered class name, as written in the file. */
    readonly className: string,
    /** Where it sits in the JSON, e.g. `config.layers[2]`. */
    readonly path: string,
    context: string,
  ) {
    super(`${context}: unknown layer class '${className}' at ${path}; register it with registerLayer('${className}', factory) before loading`);
  }
}

/** A file written by a different (usually newer) version of its format. */
export class FormatVersionError extends SerializationError {
  override name = 'FormatVersionError';
  constructor(
    readonly format: string,
    readonly found: unknown,
    readonly supported: readonly number[],
    context: string,
  ) {
    super(`${context}: ${format} formatVersion ${JSON.stringify(found)} is not supported (this version of neurite reads ${supported.join(', ')})`);
  }
}

/**
 * Saved state that does not fit the model or optimizer it is loaded into:
 * missing or unexpected tensors, wrong shapes, incompatible dtypes. Nothing
 * has been written when it is thrown.
 */
export class StateMismatchError extends SerializationError {
  override name = 'StateMismatchError';
  constructor(
    message: string,
    readonly missingKeys: readonly string[] = [],
    readonly unexpectedKeys: readonly string[] = [],
  ) {
    super(message);
  }
}
