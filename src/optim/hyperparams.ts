import { ValueError } from '../core/errors.js';

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

/**
 * Checks of hyper-parameters, each throwing a ValueError that names the
 * optimizer or scheduler (`where`), the option and the rejected value, e.g.
 * `Adam: betas[0] must be in [0, 1), got 1.2`.
 */
export class HyperCheck {
  constructor(readonly where: string) {}

  fail(message: string): never {
    throw new ValueError(`${this.where}: ${message}`);
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

  /** An integer >= min (1 unless given). */
  integer(name: string, v: unknown, min = 1): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      const what = min === 1 ? 'a positive integer' : min === 0 ? 'a non-negative integer' : `an integer >= ${min}`;
      this.fail(`${name} must be ${what}, got ${show(v)}`);
    }
    return v;
  }

  boolean(name: string, v: unknown): boolean {
    if (typeof v !== 'boolean') this.fail(`${name} must be a boolean, got ${show(v)}`);
    return v;
  }

  oneOf<T>(name: string, v: unknown, allowed: readonly T[]): T {
    if (!allowed.includes(v as T)) this.fail(`${name} must be one of ${allowed.map(show).join(', ')}, got ${show(v)}`);
    return v as T;
  }

  /** Reject options this optimizer does not have (a typo, or PyTorch's snake_case names). */
  knownKeys(options: object, allowed: readonly string[], what = 'option'): void {
    for (const key of Object.keys(options)) {
      if (!allowed.includes(key)) this.fail(`unknown ${what} '${key}'; expected one of ${allowed.join(', ')}`);
    }
  }
}
