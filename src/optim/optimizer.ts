import { allocate, type FloatArray, isFloatDType, type TypedArray } from '../core/dtype.js';
import { enableGrad } from '../core/engine.js';
import { DTypeError, fmtShape, SerializationError, ShapeError, ValueError } from '../core/errors.js';
import { shapesEqual } from '../core/shape.js';
import { Tensor } from '../core/tensor.js';
import { hostStep } from '../core/trace.js';
import { HyperCheck, show } from './hyperparams.js';
import { decodeRecord, type EncodedValue, encodeRecord, type StateValue } from './statedict.js';

/** Every optimizer has a learning rate, which schedulers change per group. */
export interface BaseHyper {
  /** Learning rate. */
  lr: number;
}

/**
 * A group of parameters that share hyper-parameters. Schedulers write `lr`;
 * the first scheduler built on an optimizer records the starting rate in
 * `initialLr` (PyTorch's `initial_lr`).
 */
export type ParamGroup<H extends BaseHyper> = H & {
  /** The group's parameters. */
  params: Tensor[];
  /** The rate before any scheduler changed it. */
  initialLr?: number;
};

/** A parameter group as given to a constructor: its tensors and the options it overrides. */
export type ParamGroupSpec<H extends BaseHyper> = {
  /** The group's parameters. */
  params: Iterable<Tensor>;
} & Partial<H> & {
    /** The rate before any scheduler changed it (restored groups). */
    initialLr?: number;
  };

/** Parameters to optimize: tensors (one group), or parameter groups. */
export type OptimizerParams<H extends BaseHyper> = Iterable<Tensor> | Iterable<ParamGroupSpec<H>>;

/** Re-evaluates the model: zeroes the gradients, computes the loss, calls backward() and returns the loss. */
export type Closure = () => Tensor;

/**
 * The JSON-serializable form of an optimizer's state (`JSON.stringify` it as
 * is). As in PyTorch, parameters are named by their index in the order of
 * `paramGroups` (group 0's parameters first), so the dict can be loaded into an
 * optimizer built over the same parameters of a freshly constructed model.
 *
 * - `state[String(index)]` holds that parameter's state: numbers (step
 *   counts) and tensors written as {@link EncodedTensor} `{shape, dtype, data}`.
 *   Parameters that were never updated have no entry.
 * - `paramGroups[g]` holds group g's hyper-parameters under their option names
 *   (camelCase: `lr`, `betas`, `weightDecay`...) and `params`, the indices of
 *   its parameters.
 */
export interface OptimizerStateDict {
  /** Always 'neurite.optimizer', so other JSON is refused. */
  format: 'neurite.optimizer';
  /** Format version. */
  version: 1;
  /** The optimizer's class name ('Adam'...), checked on load. */
  optimizer: string;
  /** Per-parameter state by parameter index. */
  state: Record<string, Record<string, EncodedValue>>;
  /** Each group's hyper-parameters and the indices of its parameters. */
  paramGroups: (Record<string, EncodedValue> & {
    /** Indices of the group's parameters. */
    params: number[];
  })[];
}

const RESERVED_GROUP_KEYS = ['params', 'initialLr'];

function isIterable(x: unknown): x is Iterable<unknown> {
  return x != null && typeof (x as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';
}

function defined(o: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/**
 * Base class of the optimizers: parameter groups with their own
 * hyper-parameters, lazy per-parameter state, `step()`, `zeroGrad()` and a
 * state dict that resumes training bit-exactly.
 *
 * Updates are written directly into each parameter's storage (`param.data`),
 * so they record no autograd graph and keep every reference to the parameter
 * (model, optimizer) valid. The arithmetic follows PyTorch's single-tensor
 * (non-foreach) implementations operation by operation, so float64
 * trajectories agree with PyTorch's to the last bit or two. For float32
 * parameters each value is computed in double precision and rounded to
 * float32 when it is stored (parameter and state buffers), where PyTorch
 * rounds after every operation: the two differ in the last float32 bits.
 *
 * @typeParam H the hyper-parameters of one group
 * @typeParam S the state kept for one parameter
 */
export abstract class Optimizer<H extends BaseHyper = BaseHyper, S extends object = object> {
  /** The class name, used in messages and in state dicts. */
  readonly className: string;
  /** The hyper-parameters a group gets unless it overrides them. */
  readonly defaults: Readonly<H>;
  /** The parameter groups with their hyper-parameters; schedulers rewrite `lr` here. */
  readonly paramGroups: ParamGroup<H>[] = [];
  /**
   * True where every update of array values goes through a fused kernel
   * (sgdStep, adamStep, rmspropStep, adagradStep, adadeltaStep) when the
   * kernel table accepts it (SGD, the Adam family, RMSprop, Adagrad,
   * Adadelta): a GPU replay may then keep the parameters on the GPU.
   */
  protected readonly updatesThroughFusedKernels: boolean = false;

  /** Per-parameter state (moment buffers, step counts), created at a parameter's first update. */
  readonly state = new Map<Tensor, S>();

  protected constructor(params: OptimizerParams<H>, defaults: H, options: object) {
    // A string literal on the class, never the constructor's name: bundlers rename classes, and the name is saved in state dicts.
    const className = (new.target as unknown as { className?: unknown }).className;
    if (typeof className !== 'string' || className === '') {
      throw new ValueError("Optimizer: a subclass must declare its name as a string literal, e.g. static readonly className = 'MyOptimizer'");
    }
    this.className = className;
    const check = new HyperCheck(this.className);
    if (options === null || typeof options !== 'object') check.fail(`options must be an object, got ${show(options)}`);
    check.knownKeys(options, Object.keys(defaults));
    const merged = { ...defaults, ...defined(options) } as H;
    this.checkHyper(merged, check);
    this.defaults = Object.freeze(merged);

    if (params instanceof Tensor) check.fail('params must be an iterable of Tensors or of parameter groups, got a single Tensor (wrap it in an array)');
    if (!isIterable(params)) check.fail(`params must be an iterable of Tensors or of parameter groups, got ${show(params)}`);
    const items = [...(params as Iterable<unknown>)];
    if (items.length === 0) check.fail('got an empty parameter list');
    if (items.every((x) => x instanceof Tensor)) {
      this.addParamGroup({ params: items as Tensor[] } as unknown as ParamGroupSpec<H>);
    } else {
      items.forEach((g, i) => {
        if (g instanceof Tensor || g === null || typeof g !== 'object' || !('params' in g)) {
          check.fail(`params must be all Tensors or all parameter groups {params, ...options}; item ${i} is ${g instanceof Tensor ? 'a Tensor' : show(g)}`);
        }
        this.addParamGroup(g as ParamGroupSpec<H>);
      });
    }
  }

  /**
   * Check one group's hyper-parameters, throwing through `check` (which puts
   * the optimizer's name, and the group's index if it is not the defaults, in
   * front of the message).
   */
  protected abstract checkHyper(hyper: H, check: HyperCheck): void;

  /** Apply one update to the parameters of one group, reading their `.grad`. */
  protected abstract updateGroup(group: ParamGroup<H>): void;

  /** Add a group of parameters with its own options (fine-tuning a new head at another rate, say). */
  addParamGroup(spec: ParamGroupSpec<H>): void {
    const index = this.paramGroups.length;
    const check = new HyperCheck(`${this.className} param group ${index}`);
    if (spec === null || typeof spec !== 'object') check.fail(`expected {params, ...options}, got ${show(spec)}`);
    check.knownKeys(spec, [...RESERVED_GROUP_KEYS, ...Object.keys(this.defaults)]);
    const { params, ...overrides } = spec;
    if (params instanceof Tensor) check.fail('params must be an iterable of Tensors, got a single Tensor (wrap it in an array)');
    if (!isIterable(params)) check.fail(`params must be an iterable of Tensors, got ${show(params)}`);
    const list = [...params];
    if (list.length === 0) check.fail('has no parameters');
    const taken = new Set(this.paramGroups.flatMap((g) => g.params));
    list.forEach((p, i) => {
      if (!(p instanceof Tensor)) check.fail(`params[${i}] must be a Tensor, got ${show(p)}`);
      if (!isFloatDType(p.dtype)) check.fail(`params[${i}] has dtype ${p.dtype}; only float32 and float64 tensors can be optimized`);
      if (!p.isLeaf) check.fail(`params[${i}] is not a leaf tensor (it was produced by '${p.gradNode?.op}'); optimize a leaf, e.g. x.detach().requiresGrad_()`);
      if (taken.has(p)) check.fail(`params[${i}] appears more than once (in this or an earlier group)`);
      taken.add(p);
    });
    const group = { ...this.defaults, ...defined(overrides), params: list } as ParamGroup<H>;
    this.checkHyper(group, check);
    if (group.initialLr !== undefined) check.nonNegative('initialLr', group.initialLr);
    this.paramGroups.push(group);
  }

  /** Set every parameter's gradient to null (the next backward() starts from zero). */
  zeroGrad(): void {
    for (const g of this.paramGroups) for (const p of g.params) p.grad = null;
  }

  /**
   * One update of every parameter that has a gradient. The optional closure
   * is called first (with gradient recording on) and its loss returned.
   */
  step(closure?: Closure): Tensor | null {
    const loss = closure === undefined ? null : this.evaluate(closure);
    // A host step: a compiled training step runs the update rule again in every replay, with the
    // hyper-parameters and state (Adam's step count, a scheduled learning rate) current then.
    const grads = this.allParams().flatMap((p) => (p.grad ? [p.grad.data] : []));
    // It changes the parameters and the state it keeps (moment buffers): said, so that an executor
    // holding copies elsewhere (a GPU replay, kernels/executor.ts) knows they are newer on the CPU.
    const written: TypedArray[] = this.allParams().map((p) => p.data);
    for (const s of this.state.values()) {
      for (const v of Object.values(s as object)) {
        if (v instanceof Tensor) written.push(v.data);
        else if (Array.isArray(v)) for (const x of v) if (x instanceof Tensor) written.push(x.data);
      }
    }
    hostStep(`${this.className}.step`, { reads: [...grads, ...written], writes: written, fusedUpdates: this.updatesThroughFusedKernels }, () => {
      for (const group of this.paramGroups) this.updateGroup(group);
    });
    return loss;
  }

  /** Call the closure with recording on (step() itself may run under noGrad). */
  protected evaluate(closure: Closure): Tensor {
    if (typeof closure !== 'function') throw new ValueError(`${this.className}: the closure must be a function returning the loss, got ${show(closure)}`);
    const loss = enableGrad(closure);
    if (!(loss instanceof Tensor)) throw new ValueError(`${this.className}: the closure must return the loss as a Tensor, got ${show(loss)}`);
    return loss;
  }

  /** Every parameter in group order, the numbering that state dicts use. */
  protected allParams(): Tensor[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /** The storage of p's gradient, or null when it has none (p is then skipped). */
  protected gradData(p: Tensor): FloatArray | null {
    const g = p.grad;
    if (g === null) return null;
    if (!shapesEqual(g.shape, p.shape)) {
      throw new ShapeError(
        `${this.className}: parameter ${this.allParams().indexOf(p)} has shape ${fmtShape(p.shape)} but its gradient has shape ${fmtShape(g.shape)}`,
      );
    }
    if (!isFloatDType(g.dtype)) {
      throw new DTypeError(
        `${this.className}: the gradient of parameter ${this.allParams().indexOf(p)} has dtype ${g.dtype}; gradients must be float32 or float64`,
      );
    }
    return g.data as FloatArray;
  }

  /** A zero buffer shaped and typed like p. */
  protected zerosLike(p: Tensor, fill = 0): Tensor {
    const data = allocate(p.dtype, p.size, true);
    if (fill !== 0) data.fill(fill);
    return new Tensor(data, p.shape);
  }

  /** A snapshot of the state and hyper-parameters; see {@link OptimizerStateDict}. */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((g) => {
      const { params, ...hyper } = g;
      return {
        ...encodeRecord(hyper),
        params: params.map((p) => {
          index.set(p, index.size);
          return index.size - 1;
        }),
      };
    });
    const state: Record<string, Record<string, EncodedValue>> = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i !== undefined) state[String(i)] = encodeRecord(s);
    }
    return { format: 'neurite.optimizer', version: 1, optimizer: this.className, state, paramGroups };
  }

  /**
   * Restore state and hyper-parameters saved by stateDict() from an optimizer
   * of the same class over parameters of the same shapes, in the same order.
   * Nothing changes if the dict does not fit (a SerializationError says why).
   */
  loadStateDict(dict: OptimizerStateDict): void {
    const where = `${this.className}.loadStateDict`;
    if (dict === null || typeof dict !== 'object') throw new SerializationError(`${where}: expected a state dict object, got ${show(dict)}`);
    if (dict.format !== 'neurite.optimizer') throw new SerializationError(`${where}: not an optimizer state dict (format ${show(dict.format)})`);
    if (dict.version !== 1) throw new SerializationError(`${where}: unsupported version ${show(dict.version)} (this build reads version 1)`);
    if (dict.optimizer !== this.className) throw new SerializationError(`${where}: the dict was saved by ${show(dict.optimizer)}, not ${this.className}`);
    if (!Array.isArray(dict.paramGroups) || dict.paramGroups.length !== this.paramGroups.length) {
      throw new SerializationError(
        `${where}: the dict has ${Array.isArray(dict.paramGroups) ? dict.paramGroups.length : 'no'} parameter groups, this optimizer has ${this.paramGroups.length}`,
      );
    }
    const params = this.allParams();
    const groups = this.paramGroups.map((group, g) => {
      const saved = dict.paramGroups[g];
      if (!saved || !Array.isArray(saved.params) || saved.params.length !== group.params.length) {
        throw new SerializationError(
          `${where}: parameter group ${g} has ${saved?.params?.length ?? 'no'} parameters in the dict and ${group.params.length} here`,
        );
      }
      const { params: _indices, ...rawHyper } = saved;
      const hyper = decodeRecord(rawHyper, `${where}: paramGroups[${g}]`);
      const check = new HyperCheck(`${where}: paramGroups[${g}]`);
      check.knownKeys(hyper, [...RESERVED_GROUP_KEYS, ...Object.keys(this.defaults)], 'hyper-parameter');
      const restored = { ...group, ...hyper, params: group.params } as ParamGroup<H>;
      this.checkHyper(restored, check);
      return restored;
    });
    const state = new Map<Tensor, S>();
    for (const [key, raw] of Object.entries(dict.state ?? {})) {
      const i = Number(key);
      if (!Number.isInteger(i) || i < 0 || i >= params.length)
        throw new SerializationError(`${where}: state for parameter ${key}, but there are ${params.length} parameters`);
      state.set(params[i], this.restoreState(params[i], decodeRecord(raw, `${where}: state[${key}]`), `${where}: state[${key}]`));
    }
    groups.forEach((g, i) => {
      this.paramGroups[i] = g;
    });
    this.state.clear();
    for (const [p, s] of state) this.state.set(p, s);
  }

  /**
   * Turn a decoded state entry into this optimizer's state for `param`. By
   * default every tensor in it must have the parameter's shape and is
   * converted to the parameter's dtype (as PyTorch casts state on load).
   */
  protected restoreState(param: Tensor, state: Record<string, StateValue>, where: string): S {
    for (const [k, v] of Object.entries(state)) {
      if (v instanceof Tensor) {
        if (!shapesEqual(v.shape, param.shape))
          throw new SerializationError(`${where}.${k}: shape ${fmtShape(v.shape)} does not match the parameter's ${fmtShape(param.shape)}`);
        state[k] = castLike(v, param);
      }
    }
    return state as unknown as S;
  }
}

/**
 * An optimizer whose rule updates each parameter on its own, from its
 * gradient and its own state (SGD, Adagrad, RMSprop, Adadelta, Adam, AdamW).
 * This is the loop they share: skip parameters without a gradient, create a
 * parameter's state at its first update, apply the rule. The rule itself is a
 * function over typed arrays in the optimizer's own file.
 */
export abstract class ParameterwiseOptimizer<H extends BaseHyper, S extends object> extends Optimizer<H, S> {
  /** The state of a parameter at its first update. */
  protected abstract initState(param: Tensor, group: ParamGroup<H>): S;

  /** Apply the rule to one parameter's storage `w`, given its gradient `g` and its state. */
  protected abstract updateParameter(w: FloatArray, g: FloatArray, state: S, group: ParamGroup<H>, param: Tensor): void;

  protected updateGroup(group: ParamGroup<H>): void {
    for (const p of group.params) {
      const g = this.gradData(p);
      if (g === null) continue;
      let state = this.state.get(p);
      if (state === undefined) {
        state = this.initState(p, group);
        this.state.set(p, state);
      }
      this.updateParameter(p.data as FloatArray, g, state, group, p);
    }
  }
}

/** v's values in the dtype of `like` (v itself when they already agree). */
export function castLike(v: Tensor, like: Tensor): Tensor {
  if (v.dtype === like.dtype) return v;
  const out = allocate(like.dtype, v.size);
  out.set(v.data);
  return new Tensor(out, v.shape);
}
