import { noGrad } from '../core/engine.js';
import { fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import type { SymbolicOf, SymbolicTensor } from './graph.js';
import { Parameter } from './parameter.js';
import { type ModelSummary, type SummaryOptions, summary } from './summary.js';

/** JSON-compatible layer configuration, used by architecture files. */
export type LayerConfig = { [key: string]: unknown };

/**
 * @internal The method a symbolic tensor (from `nn.input`) carries so that
 * Module.call() can hand it to the functional-graph builder without this file
 * importing the graph code (which itself extends Module).
 */
export const symbolicApply: unique symbol = Symbol('neurite.symbolicApply');

interface SymbolicHandle {
  [symbolicApply](layer: Module, inputs: readonly unknown[]): unknown;
}

function isSymbolic(x: unknown): x is SymbolicHandle {
  return typeof x === 'object' && x !== null && symbolicApply in x;
}

/** What loadStateDict() found: keys the model has that the state lacked, and the reverse. */
export interface LoadResult {
  /** Model keys the given state did not contain (left unchanged). */
  missingKeys: string[];
  /** Keys in the given state that the model does not have (ignored). */
  unexpectedKeys: string[];
}

/**
 * Base class of every layer and model. Parameters and sub-modules are found by
 * structure: any own property holding a Parameter, a Module or an array of
 * Modules is part of the model, named by its property path (`fc1.weight`,
 * `layers.0.bias`), in the order the properties were assigned. Properties whose
 * names start with an underscore are ignored. Buffers (running statistics)
 * are registered with registerBuffer().
 *
 * @typeParam In the arguments of forward (default: whatever a subclass
 *   declares)
 * @typeParam Out what forward returns (default: whatever a subclass declares)
 */
// biome-ignore lint/suspicious/noExplicitAny: the defaults let each subclass declare its own forward signature
export abstract class Module<In extends unknown[] = any[], Out = any> {
  /** True in training mode (Dropout drops, BatchNorm uses batch statistics). */
  training = true;
  private readonly _buffers = new Map<string, Tensor>();
  /** The optional name shown in errors and summaries (e.g. 'fc2'). */
  _name?: string;

  /**
   * The serialized class name (a string literal, so that minifiers renaming
   * classes do not break saved files). Built-in layers override it.
   */
  static readonly className: string = 'Module';

  /** The computation of this layer or model on real tensors; call() also accepts symbolic ones. */
  abstract forward(...inputs: In): Out;

  /** The class name used in files and summaries. */
  get className(): string {
    return (this.constructor as typeof Module).className;
  }

  /** A label for messages: "Linear 'fc2'" or just "Linear". */
  get label(): string {
    return this._name ? `${this.className} '${this._name}'` : this.className;
  }

  /** Set the name shown in errors and summaries (chainable): `new Linear(4, 8).withName('fc1')`. */
  withName(name: string): this {
    if (typeof name !== 'string' || name.length === 0 || name.includes('.')) {
      throw new ValueError(`${this.label}.withName: a name must be a non-empty string without dots, got ${JSON.stringify(name)}`);
    }
    this._name = name;
    return this;
  }

  /**
   * Apply the layer. On tensors this is forward(). On symbolic tensors (from
   * `nn.input`) it records the call in a functional graph and returns the
   * symbolic output, whose shape is inferred now: `const h = new
   * Linear(784, 128).call(x)`. (`apply` keeps PyTorch's meaning, calling a
   * function on every sub-module.)
   */
  call(...inputs: SymbolicTensor[]): SymbolicOf<ReturnType<this['forward']>>;
  call(...inputs: Parameters<this['forward']>): ReturnType<this['forward']>;
  call(...inputs: unknown[]): unknown {
    const handle = inputs.find(isSymbolic);
    if (handle) return handle[symbolicApply](this, inputs);
    return this.forward(...(inputs as In));
  }

  /**
   * A table of the layers with their output shapes and parameter counts for
   * an input of per-sample shape `inputShape` (one shape per input for
   * several inputs), found by running one sample through the model in eval
   * mode without recording gradients. See {@link summary}.
   */
  summary(inputShape: readonly number[] | readonly (readonly number[])[], options: SummaryOptions = {}): ModelSummary {
    return summary(this, inputShape, options);
  }

  /** Keyword configuration that recreates this layer (without its weights). */
  getConfig(): LayerConfig {
    return {};
  }

  /** Keep a non-trainable tensor (running mean, running variance) in the state dict under `name`. */
  registerBuffer(name: string, value: Tensor): void {
    if (!(value instanceof Tensor)) throw new ValueError(`${this.label}: buffer '${name}' must be a Tensor`);
    this._buffers.set(name, value);
  }

  /** The buffer registered under `name`; throws a ValueError naming the layer if there is none. */
  getBuffer(name: string): Tensor {
    const b = this._buffers.get(name);
    if (!b) throw new ValueError(`${this.label}: no buffer named '${name}'`);
    return b;
  }

  /** Direct sub-modules with their property names (`fc1`, `layers.0`), in assignment order. */
  *namedChildren(): Generator<[string, Module]> {
    for (const [key, value] of Object.entries(this)) {
      if (key.startsWith('_')) continue;
      if (value instanceof Module) yield [key, value];
      else if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (value[i] instanceof Module) yield [`${key}.${i}`, value[i]];
      }
    }
  }

  /** Direct sub-modules, in assignment order. */
  children(): Module[] {
    return [...this.namedChildren()].map(([, m]) => m);
  }

  /** This module and every descendant, depth first, with dotted names ('' for this one). */
  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [name, child] of this.namedChildren()) yield* child.namedModules(prefix ? `${prefix}.${name}` : name);
  }

  /** This module and every descendant, depth first. */
  modules(): Module[] {
    return [...this.namedModules()].map(([, m]) => m);
  }

  /** Parameters of this module alone, without children. */
  *ownParameters(): Generator<[string, Parameter]> {
    for (const [key, value] of Object.entries(this)) {
      if (!key.startsWith('_') && value instanceof Parameter) yield [key, value];
    }
  }

  /** Every parameter with its stable dotted name. A parameter shared by two layers is listed once. */
  namedParameters(): [string, Parameter][] {
    const seen = new Set<Parameter>();
    const out: [string, Parameter][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, p] of m.ownParameters()) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([prefix ? `${prefix}.${name}` : name, p]);
      }
    }
    return out;
  }

  /** Every parameter, shared ones once, in namedParameters() order (the order optimizers and files use). */
  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Parameters that currently require gradients (the ones an optimizer should get). */
  trainableParameters(): Parameter[] {
    return this.parameters().filter((p) => p.requiresGrad);
  }

  /** Every buffer of this module and its descendants, with dotted names. */
  namedBuffers(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const [name, b] of m._buffers) out.push([prefix ? `${prefix}.${name}` : name, b]);
    }
    return out;
  }

  /** Total number of scalar weights (trainable only, if asked). */
  countParameters(trainableOnly = false): number {
    return this.parameters().reduce((s, p) => s + (trainableOnly && !p.requiresGrad ? 0 : p.size), 0);
  }

  /** Switch this module and all descendants to training (true) or evaluation (false) mode. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Switch to evaluation mode (Dropout passes through, BatchNorm uses running statistics); same as train(false). */
  eval(): this {
    return this.train(false);
  }

  /** Stop training these parameters (transfer learning: freeze a pretrained feature extractor). */
  freeze(): this {
    for (const p of this.parameters()) p.requiresGrad = false;
    return this;
  }

  /** Train these parameters again (requiresGrad = true), undoing freeze(). */
  unfreeze(): this {
    for (const p of this.parameters()) p.requiresGrad = true;
    return this;
  }

  /** Drop the accumulated gradients of every parameter (sets `grad` to null). */
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Call fn on every module (children first, then this one), e.g. a custom initialisation. */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  /** Parameters and buffers by name; the tensors share storage with the model. */
  stateDict(): Map<string, Tensor> {
    const sd = new Map<string, Tensor>();
    for (const [n, p] of this.namedParameters()) sd.set(n, p);
    for (const [n, b] of this.namedBuffers()) sd.set(n, b);
    return sd;
  }

  /**
   * Copy values into the model's parameters and buffers. With strict (the
   * default) any missing or unexpected key, or any shape mismatch, throws
   * before anything is written, so a failed load never half-loads.
   */
  loadStateDict(state: Map<string, Tensor> | Record<string, Tensor>, options: { strict?: boolean } = {}): LoadResult {
    const strict = options.strict ?? true;
    const incoming = state instanceof Map ? state : new Map(Object.entries(state));
    const own = this.stateDict();
    const missingKeys = [...own.keys()].filter((k) => !incoming.has(k));
    const unexpectedKeys = [...incoming.keys()].filter((k) => !own.has(k));
    if (strict && (missingKeys.length > 0 || unexpectedKeys.length > 0)) {
      const parts: string[] = [];
      if (missingKeys.length) parts.push(`missing keys: ${missingKeys.join(', ')}`);
      if (unexpectedKeys.length) parts.push(`unexpected keys: ${unexpectedKeys.join(', ')}`);
      throw new ValueError(`${this.label}.loadStateDict: ${parts.join('; ')}`);
    }
    for (const [k, target] of own) {
      const src = incoming.get(k);
      if (!src) continue;
      if (!(src instanceof Tensor) || src.ndim !== target.ndim || src.shape.some((d, i) => d !== target.shape[i])) {
        throw new ShapeError(
          `${this.label}.loadStateDict: '${k}' has shape ${src instanceof Tensor ? fmtShape(src.shape) : typeof src}, the model expects ${fmtShape(target.shape)}`,
        );
      }
    }
    noGrad(() => {
      for (const [k, target] of own) {
        const src = incoming.get(k);
        if (src) target.data.set(src.dtype === target.dtype ? src.data : src.cast(target.dtype).data);
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  /** Extra text inside the parentheses of toString(), e.g. "in=784, out=128". */
  extraRepr(): string {
    const cfg = this.getConfig();
    return Object.entries(cfg)
      .filter(([, v]) => v !== undefined && typeof v !== 'object')
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
  }

  /** A nested, PyTorch-style listing of the module tree, e.g. `Linear(in=784, out=128)`. */
  toString(): string {
    const kids = [...this.namedChildren()];
    if (kids.length === 0) return `${this.className}(${this.extraRepr()})`;
    const inner = kids.map(([n, m]) => `  (${n}): ${m.toString().split('\n').join('\n  ')}`).join('\n');
    return `${this.className}(\n${inner}\n)`;
  }
}

/**
 * Run `module.forward(...inputs)` with some parameters replaced by the given
 * tensors (by their dotted names, as in namedParameters()), then put the
 * originals back; torch.func.functional_call. Gradients then flow to the
 * substitutes, which is what a gradient check of a layer's weights needs.
 */
export function functionalCall<M extends Module>(
  module: M,
  params: Map<string, Tensor> | Record<string, Tensor>,
  ...inputs: Parameters<M['forward']>
): ReturnType<M['forward']> {
  const entries = params instanceof Map ? [...params] : Object.entries(params);
  const owners = new Map(module.namedModules());
  const saved: [Record<string, unknown>, string, unknown][] = [];
  try {
    for (const [name, value] of entries) {
      const dot = name.lastIndexOf('.');
      const owner = owners.get(dot < 0 ? '' : name.slice(0, dot)) as unknown as Record<string, unknown> | undefined;
      const key = name.slice(dot + 1);
      const current = owner?.[key];
      if (!owner || !(current instanceof Parameter)) throw new ValueError(`functionalCall: ${module.label} has no parameter named '${name}'`);
      if (!(value instanceof Tensor) || value.ndim !== current.ndim || value.shape.some((d, i) => d !== current.shape[i])) {
        throw new ShapeError(
          `functionalCall: '${name}' has shape ${fmtShape(current.shape)}, got ${value instanceof Tensor ? fmtShape(value.shape) : typeof value}`,
        );
      }
      saved.push([owner, key, current]);
      owner[key] = value;
    }
    return module.forward(...inputs);
  } finally {
    for (let i = saved.length - 1; i >= 0; i--) {
      const [owner, key, original] = saved[i];
      owner[key] = original;
    }
  }
}

/**
 * A model read from a file: its forward takes tensors and returns a tensor,
 * or several for a graph model with several outputs. Typed so that a loaded
 * model's output is a Tensor to the compiler, not `any`.
 */
export type LoadedModel = Module<Tensor[], Tensor | Tensor[]>;
