/**
 * Layer options declared once. A schema lists each option with its default
 * and its check; from it come the options type a constructor accepts, the
 * checked values a layer stores, the layer's getConfig(), and the factory
 * that rebuilds the layer from an architecture file. Unknown option names are
 * refused, so a typo (`kernel` for `kernelSize`) is an error, not a no-op.
 */
import type { FloatDType } from '../core/dtype.js';
import { UnknownOptionError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import { check } from '../core/validate.js';
import { tensor } from '../ops/index.js';
import type { LayerConfig, Module } from './module.js';
import { registerLayer } from './registry.js';

/** One option: its default and how a given value is checked. */
export interface OptionSpec<T> {
  /** The value used when the option is not given. */
  readonly default: T;
  /** The checked value; throws a ValueError naming `who` and `name` otherwise. */
  readonly parse: (who: string, name: string, value: unknown) => T;
  /** The value as JSON in getConfig() (default: as it is). */
  readonly toConfig?: (value: T) => unknown;
}

/** A layer's options by name, each with its default and check. */
// biome-ignore lint/suspicious/noExplicitAny: a schema holds options of every value type
export type OptionSchema = Record<string, OptionSpec<any>>;

/** The checked values of a schema's options. */
export type OptionValues<S extends OptionSchema> = { readonly [K in keyof S]: S[K] extends OptionSpec<infer T> ? T : never };

/** What a constructor accepts for a schema: every option optional. */
export type OptionsOf<S extends OptionSchema> = { [K in keyof S]?: S[K] extends OptionSpec<infer T> ? T : never };

/** The option kinds the built-in layers use. */
export const option = {
  /** Any finite number. */
  finite: (fallback: number): OptionSpec<number> => ({ default: fallback, parse: (who, name, v) => check(who).finite(name, v) }),
  /** A finite number > 0. */
  positive: (fallback: number): OptionSpec<number> => ({ default: fallback, parse: (who, name, v) => check(who).positive(name, v) }),
  /** A finite number >= 0. */
  nonNegative: (fallback: number): OptionSpec<number> => ({ default: fallback, parse: (who, name, v) => check(who).nonNegative(name, v) }),
  /** An integer >= min. */
  integer: (fallback: number, min = 1): OptionSpec<number> => ({ default: fallback, parse: (who, name, v) => check(who).integer(name, v, min) }),
  /** An axis: any integer, negative counting from the end. */
  axis: (fallback: number): OptionSpec<number> => ({ default: fallback, parse: (who, name, v) => check(who).anyInteger(name, v) }),
  /** Any integer (a class index such as ignoreIndex, which may be negative). */
  anyInteger: (fallback: number): OptionSpec<number> => ({ default: fallback, parse: (who, name, v) => check(who).anyInteger(name, v) }),
  /** A number in [0, 1] with a default. */
  probability: (fallback: number): OptionSpec<number> => ({ default: fallback, parse: (who, name, v) => check(who).probability(name, v) }),
  /** A true/false option with a default. */
  boolean: (fallback: boolean): OptionSpec<boolean> => ({ default: fallback, parse: (who, name, v) => check(who).boolean(name, v) }),
  /** An option that must be one of the listed values. */
  oneOf: <T extends string | number>(allowed: readonly T[], fallback: T): OptionSpec<T> => ({
    default: fallback,
    parse: (who, name, v) => check(who).oneOf(name, v, allowed),
  }),
  /** A float dtype option ('float32' by default). */
  floatDType: (): OptionSpec<FloatDType> => ({ default: 'float32', parse: (who, name, v) => check(who).floatDType(name, v) }),
  /** An optional tensor (class weights); architecture files store it as nested arrays. */
  tensorOrNull: (): OptionSpec<Tensor | null> => ({
    default: null,
    parse: (who, name, v) => {
      if (v === undefined || v === null) return null;
      if (v instanceof Tensor) return v;
      if (Array.isArray(v)) return tensor(v as number[]);
      return check(who).fail(`${name} must be a Tensor, got ${typeof v}`);
    },
    toConfig: (t) => t?.toArray() ?? null,
  }),
};

/**
 * Check `options` against `schema`: unknown names are refused (except those
 * in `extraKeys`, which the caller handles), missing ones take their default.
 */
export function parseOptions<S extends OptionSchema>(who: string, schema: S, options: unknown, extraKeys: readonly string[] = []): OptionValues<S> {
  const c = check(who);
  if (options === undefined || options === null) options = {};
  if (typeof options !== 'object' || Array.isArray(options)) c.fail(`options must be an object, got ${JSON.stringify(options)}`);
  c.knownKeys(options as object, Object.keys(schema), 'option', extraKeys);
  const given = options as Record<string, unknown>;
  const values: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(schema)) {
    const v = given[name];
    values[name] = v === undefined ? spec.default : spec.parse(who, name, v);
  }
  return values as OptionValues<S>;
}

/** The JSON config of checked option values (what getConfig() returns). */
export function optionsConfig<S extends OptionSchema>(schema: S, values: OptionValues<S>): LayerConfig {
  const config: LayerConfig = {};
  for (const [name, spec] of Object.entries(schema)) {
    const v = (values as Record<string, unknown>)[name];
    config[name] = spec.toConfig ? spec.toConfig(v) : v;
  }
  return config;
}

/** A required argument: no default; a missing one is reported as `name must be ..., got undefined`. */
export function required<T>(spec: OptionSpec<T>): OptionSpec<T> {
  return { ...spec, default: undefined as T, parse: spec.parse };
}

/** One integer >= min per spatial axis: a number for 1-D layers, [h, w] for 2-D ones (as configs store it). */
export function spatial(n: number, min: number, fallback: number): OptionSpec<number | number[]> {
  return {
    default: n === 1 ? fallback : new Array<number>(n).fill(fallback),
    parse: (who, name, value) => {
      const list = typeof value === 'number' ? new Array<number>(n).fill(value) : value;
      if (!Array.isArray(list) || list.length !== n || list.some((v) => typeof v !== 'number' || !Number.isInteger(v) || v < min)) {
        check(who).fail(`${name} must be an integer >= ${min}${n > 1 ? ` or ${n} of them` : ''}, got ${JSON.stringify(value)}`);
      }
      return n === 1 ? (list as number[])[0] : [...(list as number[])];
    },
  };
}

/**
 * A layer's arguments declared once: the positional ones (in constructor
 * order) and the keyword options, each with its check and default. From it
 * come the options type (`OptionsOf<typeof schema.options>`), the checked
 * values the constructor stores, `getConfig()` and the registry factory that
 * rebuilds the layer from an architecture file.
 */
export class LayerSchema<P extends OptionSchema, O extends OptionSchema> {
  constructor(
    /** The registered class name of the layer. */
    readonly className: string,
    /** The positional arguments, in order: name to spec. */
    readonly positional: P,
    /** The keyword options: name to spec. */
    readonly options: O = {} as O,
    /** Options accepted by the constructor but not saved (name, generator, initializers...). */
    readonly extraKeys: readonly string[] = ['name'],
  ) {}

  /** The checked values of the positional arguments and of the options. */
  parse(args: readonly unknown[], options: unknown): OptionValues<P> & OptionValues<O> {
    const names = Object.keys(this.positional);
    const values: Record<string, unknown> = {};
    names.forEach((name, i) => {
      const spec = this.positional[name];
      values[name] = args[i] === undefined && spec.default !== undefined ? spec.default : spec.parse(this.className, name, args[i]);
    });
    try {
      return { ...values, ...parseOptions(this.className, this.options, options, this.extraKeys) } as OptionValues<P> & OptionValues<O>;
    } catch (e) {
      // A config holds the positional arguments too: list them among the accepted names.
      if (e instanceof UnknownOptionError) throw new UnknownOptionError(e.message, e.option, [...names, ...e.accepted]);
      throw e;
    }
  }

  /** getConfig(): every declared argument, read from the layer (or `overrides`, for values stored in another form). */
  config(layer: object, overrides: LayerConfig = {}): LayerConfig {
    const config: LayerConfig = {};
    const source = layer as Record<string, unknown>;
    for (const [name, spec] of [...Object.entries(this.positional), ...Object.entries(this.options)]) {
      const v = name in overrides ? overrides[name] : source[name];
      config[name] = name in overrides || !spec.toConfig ? v : spec.toConfig(v);
    }
    return config;
  }

  /** Register the layer: the factory passes a config's positional values in order, and its options. */
  register(construct: (...args: unknown[]) => Module): void {
    const names = Object.keys(this.positional);
    registerLayer(this.className, (config) => {
      const options: LayerConfig = {};
      for (const [k, v] of Object.entries(config)) if (!names.includes(k)) options[k] = v;
      return construct(...names.map((n) => config[n]), options);
    });
  }
}
