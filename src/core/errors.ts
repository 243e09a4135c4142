/**
 * Every error neurite raises on purpose is a NeuriteError, so callers can tell a
 * bad argument from a bug. Messages name the op or layer, what was expected and
 * what was given.
 */
export class NeuriteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Incompatible or invalid shapes. */
export class ShapeError extends NeuriteError {}
/** An argument of the wrong dtype. */
export class DTypeError extends NeuriteError {}
/** A value outside its allowed range (axes, indices, hyper-parameters, non-finite scalars). */
export class ValueError extends NeuriteError {}
/** Misuse of the autograd engine (backward twice, non-scalar without a gradient...). */
export class AutogradError extends NeuriteError {}
/** A file that cannot be read: truncated, corrupted, wrong format or version. */
export class SerializationError extends NeuriteError {}

export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
