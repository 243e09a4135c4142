// Command-line parsing on node:util's parseArgs, with flag values checked and
// errors worded for people: `--lr must be a positive number, got "fast"`.
import { parseArgs } from 'node:util';
import { UsageError } from './errors.js';
import { suggest } from './spec.js';

export type FlagSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** Parse `args` against the flags of one command; unknown flags and missing values are UsageErrors. */
export function parseFlags(command: string, args: readonly string[], flags: FlagSpec): Parsed {
  try {
    const { values, positionals } = parseArgs({ args: joinNegativeValues(args, flags), options: flags, allowPositionals: true, strict: true });
    return { values: values as Parsed['values'], positionals };
  } catch (e) {
    const err = e as Error & { code?: string };
    if (typeof err.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS')) {
      const unknown = err.message.match(/Unknown option '(-{1,2}[^']+)'/);
      if (unknown) {
        const names = Object.keys(flags).map((f) => `--${f}`);
        const close = suggest(unknown[1], names);
        throw new UsageError(`${command}: unknown option ${unknown[1]}${close ? ` (did you mean ${close}?)` : ''}`, `see "neurite ${command} --help"`);
      }
      throw new UsageError(`${command}: ${err.message.replace(/\. To specify a positional argument.*$/s, '')}`, `see "neurite ${command} --help"`);
    }
    throw e;
  }
}

/**
 * `--lr -1` as `--lr=-1`: parseArgs reads a value that starts with '-' as
 * another option, which would bury the real problem (a negative rate) under
 * its own message; joined, the value reaches neurite's check of the flag.
 */
function joinNegativeValues(args: readonly string[], flags: FlagSpec): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const name = a.startsWith('--') ? a.slice(2) : null;
    const next = args[i + 1];
    if (name !== null && flags[name]?.type === 'string' && next !== undefined && /^-(\d|\.\d|Infinity)/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

function stringFlag(values: Parsed['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A whole number >= min, or undefined when the flag is absent. */
export function intFlag(values: Parsed['values'], name: string, min = 1): number | undefined {
  const text = stringFlag(values, name);
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isInteger(v) || v < min || !Number.isSafeInteger(v)) {
    throw new UsageError(`--${name} must be a whole number >= ${min}, got ${JSON.stringify(text)}`);
  }
  return v;
}

/** A finite number that passes `ok`, or undefined when the flag is absent. */
export function numberFlag(values: Parsed['values'], name: string, ok: (v: number) => boolean, rule: string): number | undefined {
  const text = stringFlag(values, name);
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || !ok(v)) throw new UsageError(`--${name} must be ${rule}, got ${JSON.stringify(text)}`);
  return v;
}

/** One of the allowed words, or undefined when the flag is absent. */
export function choiceFlag<T extends string>(values: Parsed['values'], name: string, choices: readonly T[]): T | undefined {
  const text = stringFlag(values, name);
  if (text === undefined) return undefined;
  const v = text.toLowerCase() as T;
  if (!choices.includes(v)) {
    const close = suggest(text, choices);
    throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got ${JSON.stringify(text)}${close ? ` (did you mean ${close}?)` : ''}`);
  }
  return v;
}

export function textFlag(values: Parsed['values'], name: string): string | undefined {
  const text = stringFlag(values, name);
  if (text !== undefined && text.trim() === '') throw new UsageError(`--${name} needs a value`);
  return text;
}

/** Exactly `count` positional arguments, named in the error when some are missing or extra. */
export function expectPositionals(command: string, positionals: readonly string[], names: readonly string[], optional = 0): string[] {
  const min = names.length - optional;
  if (positionals.length < min)
    throw new UsageError(`${command}: missing ${names.slice(positionals.length, min).join(' and ')}`, `usage: neurite ${command} ${names.join(' ')}`);
  if (positionals.length > names.length)
    throw new UsageError(`${command}: unexpected argument ${JSON.stringify(positionals[names.length])}`, `usage: neurite ${command} ${names.join(' ')}`);
  return [...positionals];
}
