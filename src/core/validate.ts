import type { FloatDType } from './dtype.js';
import { UnknownOptionError, ValueError } from './errors.js';

/*
 * Argument validation, in one place for every floor: each check names who is
 * asking (the op, layer, optimizer...), the argument and the rejected value,
 * e.g. `Adam: betas[0] must be in [0, 1), got 1.2`, and throws a ValueError.
 */

/** How a rejected value is shown: numbers as typed, strings quoted. */
export function show(v: unknown): string {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  if (v === undefined) return 'undefined';
  try {
    return JSON.stringify(v) ?? typeof v;
  } catch {
    return typeof v;
  }
}

/** Checks for one caller: `new Check('Conv2d').integer('kernelSize', k)`. */
export class Check {
  constructor(
    /** Who is checking (an op or layer name), the prefix of every message. */
    readonly where: string,
  ) {}

  /** Throw a ValueError prefixed with who is checking. */
  fail(message: string): never {
    throw new ValueError(`${this.where}: ${message}`);
  }

  /** Any finite number. */
  finite(name: string, v: unknown): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`${name} must be a finite number, got ${show(v)}`);
    return v;
  }

  /** A finite number >= 0. */
  nonNegative(name: string, v: unknown): number {
    if (typeof v !== 'number' || !(v >= 0) || v === Number.POSITIVE_INFINITY) this.fail(`${name} must be a non-negative number, got ${show(v)}`);
    return v;
  }

  /** A finite number > 0. */
  positive(name: string, v: unknown): number {
    if (typeof v !== 'number' || !(v > 0) || v === Number.POSITIVE_INFINITY) this.fail(`${name} must be a positive number, got ${show(v)}`);
    return v;
  }

  /** A number within [lo, hi], each end open or closed. */
  inRange(name: string, v: unknown, lo: number, hi: number, ends: '[]' | '[)' | '(]' | '()' = '[]'): number {
    const okLo = typeof v === 'number' && (ends[0] === '[' ? v >= lo : v > lo);
    const okHi = typeof v === 'number' && (ends[1] === ']' ? v <= hi : v < hi);
    if (!okLo || !okHi) this.fail(`${name} must be in ${ends[0]}${lo}, ${hi}${ends[1]}, got ${show(v)}`);
    return v as number;
  }

  /** A probability: a number in [0, 1]. */
  probability(name: string, v: unknown): number {
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) this.fail(`${name} must be a probability in [0, 1], got ${show(v)}`);
    return v;
  }

  /** An integer >= min (1 unless given). */
  integer(name: string, v: unknown, min = 1): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      const what = min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer >= ${min}`;
      this.fail(`${name} must be ${what}, got ${show(v)}`);
    }
    return v;
  }

  /** Any integer (an axis, which may count from the end). */
  anyInteger(name: string, v: unknown): number {
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(`${name} must be an integer, got ${show(v)}`);
    return v;
  }

  /** Check that `v` is true or false and return it. */
  boolean(name: string, v: unknown): boolean {
    if (typeof v !== 'boolean') this.fail(`${name} must be a boolean, got ${show(v)}`);
    return v;
  }

  /** Check that `v` is one of `allowed` and return it. */
  oneOf<T>(name: string, v: unknown, allowed: readonly T[]): T {
    if (!allowed.includes(v as T)) this.fail(`${name} must be one of ${allowed.map(show).join(', ')}, got ${show(v)}`);
    return v as T;
  }

  /** 'float32' or 'float64'. */
  floatDType(name: string, v: unknown): FloatDType {
    if (v !== 'float32' && v !== 'float64') this.fail(`${name} must be 'float32' or 'float64', got ${show(v)}`);
    return v;
  }

  /**
   * Reject options the caller does not have (a typo, or PyTorch's snake_case
   * names) with an UnknownOptionError. `alsoAccepted` are taken without being
   * listed (a layer's `name`).
   */
  knownKeys(options: object, allowed: readonly string[], what = 'option', alsoAccepted: readonly string[] = []): void {
    for (const key of Object.keys(options)) {
      if (allowed.includes(key) || alsoAccepted.includes(key)) continue;
      const expected = allowed.length > 0 ? `expected one of ${allowed.join(', ')}` : 'it takes no options';
      throw new UnknownOptionError(`${this.where}: unknown ${what} '${key}'; ${expected}`, key, allowed);
    }
  }
}

/** Shorthand: `check('Conv2d').integer('kernelSize', k)`. */
export function check(where: string): Check {
  return new Check(where);
}
