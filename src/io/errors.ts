import { SerializationError } from '../core/errors.js';

/**
 * An architecture file names a layer class that no registerLayer() call made
 * known. Callers can register the class and try again, hence its own type.
 */
export class UnknownLayerError extends SerializationError {
  /** The class name as a literal, so that it survives minifiers that rename classes. */
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
  /** The class name as a literal, so that it survives minifiers that rename classes. */
  override name = 'FormatVersionError';
  constructor(
    /** The file format, e.g. 'neurite-model'. */
    readonly format: string,
    /** The version the file declares. */
    readonly found: unknown,
    /** The versions this version of neurite reads. */
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
  /** The class name as a literal, so that it survives minifiers that rename classes. */
  override name = 'StateMismatchError';
  constructor(
    message: string,
    /** Keys the model has that the file lacks. */
    readonly missingKeys: readonly string[] = [],
    /** Keys in the file that the model does not have. */
    readonly unexpectedKeys: readonly string[] = [],
  ) {
    super(message);
  }
}
