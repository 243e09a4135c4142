/**
 * Every error neurite raises on purpose is a NeuriteError, so callers can tell a
 * bad argument from a bug. Messages name the op or layer, what was expected and
 * what was given.
 */
export class NeuriteError extends Error {
  /** The class name as a literal, so that it survives minifiers that rename classes. */
  override name = 'NeuriteError';
  constructor(message: string) {
    super(message);
    // Each subclass names itself with a string literal (a class field, set
    // after this constructor): bundlers rename classes, and callers test error.name.
    this.name = 'NeuriteError';
  }
}

/** Incompatible or invalid shapes. */
export class ShapeError extends NeuriteError {
  /** The class name as a literal, so that it survives minifiers that rename classes. */
  override name = 'ShapeError';
}
/** An argument of the wrong dtype. */
export class DTypeError extends NeuriteError {
  /** The class name as a literal, so that it survives minifiers that rename classes. */
  override name = 'DTypeError';
}
/** A value outside its allowed range (axes, indices, hyper-parameters, non-finite scalars). */
export class ValueError extends NeuriteError {
  /** The class name as a literal, so that it survives minifiers that rename classes. */
  override name = 'ValueError';
}
/** An option name the layer, optimizer or function does not have (a typo, or PyTorch's snake_case). */
export class UnknownOptionError extends ValueError {
  /** The class name as a literal, so that it survives minifiers that rename classes. */
  override name = 'UnknownOptionError';
  constructor(
    message: string,
    /** The option given. */
    readonly option: string,
    /** The options that are accepted. */
    readonly accepted: readonly string[],
  ) {
    super(message);
  }
}
/** A tensor larger than the allowed memory per tensor (see setMaxTensorBytes), refused before allocating. */
export class MemoryLimitError extends ValueError {
  /** The class name as a literal, so that it survives minifiers that rename classes. */
  override name = 'MemoryLimitError';
  constructor(
    message: string,
    /** The bytes the tensor would have needed. */
    readonly bytes: number,
  ) {
    super(message);
  }
}
/** Misuse of the autograd engine (backward twice, non-scalar without a gradient...). */
export class AutogradError extends NeuriteError {
  /** The class name as a literal, so that it survives minifiers that rename classes. */
  override name = 'AutogradError';
}
/** An op produced NaN or Infinity from finite values, found by anomaly detection (see detectAnomaly). */
export class AnomalyError extends NeuriteError {
  /** The class name as a literal, so that it survives minifiers that rename classes. */
  override name = 'AnomalyError';
}
/** A file that cannot be read: truncated, corrupted, wrong format or version. */
export class SerializationError extends NeuriteError {
  /** The class name as a literal, so that it survives minifiers that rename classes. */
  override name = 'SerializationError';
}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
