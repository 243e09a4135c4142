/**
 * Containers: Sequential (a chain of layers) and ModuleList (a list of
 * sub-modules for a hand-written forward).
 *
 * Serialization contract (shared with the functional graph in graph.ts and
 * relied on by io/architecture.ts): a container's getConfig() holds its
 * children as nested LayerSpec objects, `{className, config, name?}`, each
 * `config` being that child's own getConfig(), recursively. Every container's
 * factory, registered with registerLayer(), rebuilds its children with
 * `layerFromConfig(spec, where)` from registry.ts, so a whole model is rebuilt
 * from JSON through the registry alone, and a bad entry is reported with its
 * path (`Sequential > layers[2]: Linear: ...`). Weights are not part of the
 * config; they travel in the state dict, whose keys are the dotted property
 * paths (`0.weight`, `encoder.fc1.bias`).
 *
 * - Sequential: `{layers: LayerSpec[], keys?: string[]}`; `keys` is present
 *   only when the children are not keyed '0', '1', ... in order.
 * - ModuleList: `{modules: LayerSpec[]}`.
 */
import { NeuriteError, ValueError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import { type LayerConfig, Module } from './module.js';
import { type LayerSpec, layerFromConfig, layerToSpec, registerLayer } from './registry.js';

// Errors from unnamed children are relabelled with their dotted path as they
// travel up through containers, so `Linear: expected ...` raised three levels
// down reaches the user as `Linear 'encoder.2': expected ...`.
const locatedErrors = new WeakMap<Error, { className: string; path: string }>();

/**
 * @internal Run `fn` (a child's forward) and, if it throws, make the error
 * name the child by its key in the parent (unless the child has its own name).
 */
export function runChild<T>(key: string, child: Module, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof NeuriteError)) throw e;
    const loc = locatedErrors.get(e);
    if (loc) {
      const oldHead = `${loc.className} '${loc.path}'`;
      loc.path = `${key}.${loc.path}`;
      if (e.message.startsWith(oldHead)) e.message = `${loc.className} '${loc.path}'${e.message.slice(oldHead.length)}`;
    } else if (child._name === undefined) {
      const bare = `${child.className}: `;
      const rest = e.message.startsWith(bare) ? e.message.slice(bare.length) : e.message;
      e.message = `${child.className} '${key}': ${rest}`;
      locatedErrors.set(e, { className: child.className, path: key });
    }
    throw e;
  }
}

function checkChildKey(owner: Module, key: string, taken: ReadonlySet<string>): void {
  if (typeof key !== 'string' || key.length === 0 || key.includes('.') || key.startsWith('_')) {
    throw new ValueError(`${owner.label}: a child name must be a non-empty string without dots that does not start with '_', got ${JSON.stringify(key)}`);
  }
  if (taken.has(key)) throw new ValueError(`${owner.label}: there is already a child named '${key}'`);
  if (key in owner) throw new ValueError(`${owner.label}: '${key}' is a property of ${owner.className} and cannot name a child`);
}

function asModule(owner: string, value: unknown, where: string): Module {
  if (!(value instanceof Module)) throw new ValueError(`${owner}: ${where} is not a Module (got ${value === null ? 'null' : typeof value})`);
  return value;
}

/** Shared bookkeeping of the ordered, keyed children of Sequential and ModuleList. */
abstract class OrderedContainer extends Module {
  // Own integer-like keys are enumerated before string keys by JavaScript, so
  // the insertion order is kept here rather than taken from the object.
  protected readonly _keys: string[] = [];

  protected addChild(module: Module, key: string): void {
    asModule(this.className, module, `child '${key}'`);
    checkChildKey(this, key, new Set(this._keys));
    (this as unknown as Record<string, Module>)[key] = module;
    this._keys.push(key);
  }

  protected child(key: string): Module {
    return (this as unknown as Record<string, Module>)[key];
  }

  override *namedChildren(): Generator<[string, Module]> {
    for (const key of this._keys) yield [key, this.child(key)];
  }

  /** Number of children. */
  get length(): number {
    return this._keys.length;
  }

  /** The i-th child; negative indices count from the end. */
  at(index: number): Module {
    const n = this._keys.length;
    if (!Number.isInteger(index) || index < -n || index >= n) throw new ValueError(`${this.label}.at: index ${index} is out of range for ${n} children`);
    return this.child(this._keys[index < 0 ? index + n : index]);
  }

  /** The keys of the children, in order ('0', '1', ... unless named). */
  keys(): string[] {
    return [...this._keys];
  }

  /** The children, in order. */
  *[Symbol.iterator](): Iterator<Module> {
    for (const key of this._keys) yield this.child(key);
  }

  protected specs(): LayerSpec[] {
    return this._keys.map((k) => layerToSpec(this.child(k)));
  }

  protected customKeys(): string[] | undefined {
    return this._keys.every((k, i) => k === String(i)) ? undefined : [...this._keys];
  }
}

/**
 * A chain of layers applied in order: `new Sequential(new Linear(10, 100),
 * new ReLU(), new Linear(100, 1))`. Children are keyed '0', '1', ... so
 * parameters are named `0.weight`, `2.bias`; pass an object to key them by
 * name instead, `new Sequential({fc1: ..., act: ..., fc2: ...})` →
 * `fc1.weight`. Errors from an unnamed child carry its key:
 * `Linear '2': expected input with last dimension 100, got [64, 99]`.
 */
export class Sequential extends OrderedContainer {
  static override readonly className = 'Sequential';

  constructor(...layers: Module[]);
  constructor(layers: readonly Module[] | Readonly<Record<string, Module>>);
  constructor(...args: unknown[]) {
    super();
    const only = args.length === 1 ? args[0] : undefined;
    if (Array.isArray(only)) {
      for (const [i, m] of only.entries()) this.addChild(asModule('Sequential', m, `layers[${i}]`), String(i));
    } else if (only !== undefined && !(only instanceof Module) && typeof only === 'object' && only !== null) {
      for (const [key, m] of Object.entries(only)) this.addChild(asModule('Sequential', m, `layer '${key}'`), key);
    } else {
      for (const [i, m] of args.entries()) this.addChild(asModule('Sequential', m, `argument ${i}`), String(i));
    }
  }

  /** Append a layer (keyed by its position unless a key is given); chainable. */
  add(layer: Module, key?: string): this {
    this.addChild(layer, key ?? String(this._keys.length));
    return this;
  }

  forward(x: Tensor): Tensor {
    let h: Tensor = x;
    for (const key of this._keys) {
      const layer = this.child(key);
      h = runChild(key, layer, () => layer.forward(h));
    }
    return h;
  }

  override getConfig(): LayerConfig {
    const keys = this.customKeys();
    return keys ? { layers: this.specs(), keys } : { layers: this.specs() };
  }
}

/**
 * A list of sub-modules whose parameters belong to the owner (named `0.weight`,
 * `1.weight`, ...), for a forward written by hand, e.g. a loop over blocks.
 * It has no forward of its own.
 */
export class ModuleList extends OrderedContainer {
  static override readonly className = 'ModuleList';

  constructor(modules: readonly Module[] = []) {
    super();
    if (!Array.isArray(modules)) throw new ValueError('ModuleList: expected an array of modules');
    for (const [i, m] of modules.entries()) this.addChild(asModule('ModuleList', m, `modules[${i}]`), String(i));
  }

  /** Append a module; chainable. */
  append(module: Module): this {
    this.addChild(module, String(this._keys.length));
    return this;
  }

  /** Append every module of `modules`, in order. */
  extend(modules: Iterable<Module>): this {
    for (const m of modules) this.append(m);
    return this;
  }

  forward(): never {
    throw new ValueError(`${this.label} has no forward(); iterate over it in the forward of the module that owns it`);
  }

  override getConfig(): LayerConfig {
    return { modules: this.specs() };
  }
}

function specList(owner: string, value: unknown, field: string): LayerSpec[] {
  if (!Array.isArray(value)) throw new ValueError(`${owner}: config.${field} must be an array of {className, config}, got ${JSON.stringify(value)}`);
  return value as LayerSpec[];
}

registerLayer(Sequential.className, (c) => {
  const specs = specList('Sequential', c.layers, 'layers');
  const keys = c.keys === undefined ? undefined : (c.keys as unknown[]);
  if (keys !== undefined && (!Array.isArray(keys) || keys.length !== specs.length || keys.some((k) => typeof k !== 'string'))) {
    throw new ValueError(`Sequential: config.keys must be ${specs.length} strings, one per layer, got ${JSON.stringify(c.keys)}`);
  }
  const model = new Sequential();
  for (const [i, spec] of specs.entries()) model.add(layerFromConfig(spec, `layers[${i}]`), keys?.[i] as string | undefined);
  return model;
});

registerLayer(
  ModuleList.className,
  (c) => new ModuleList(specList('ModuleList', c.modules, 'modules').map((spec, i) => layerFromConfig(spec, `modules[${i}]`))),
);
