import { copyOf, type TypedArray } from '../core/dtype.js';
import { enableGrad, getBackend, isGradEnabled, noGrad } from '../core/engine.js';
import { ValueError } from '../core/errors.js';
import { currentGenerator, withGenerator } from '../core/random.js';
import { Tensor } from '../core/tensor.js';
import { activeTrace } from '../core/trace.js';
import { Module } from '../nn/module.js';
import type { StepExecutor } from '../ops/primitives.js';
import { type FusionSummary, type OutputTemplate, outputTemplate, Plan, type PlanMemory } from './plan.js';
import { Trace } from './trace.js';

/*
 * compile(fn): seed 002's symbol-to-symbol idea applied to a whole step.
 * Eager mode builds the graph anew on every call (an object and a closure
 * per op, a fresh output array per op, all garbage a moment later); a
 * compiled step records the kernels once and replays them on storage
 * planned once.
 *
 * The life of one signature (the shapes and dtypes of the arguments, the
 * backend, training flags): call 1 runs eagerly (it creates lazy state:
 * optimizer moments, caches); calls 2 and 3 run eagerly while recording;
 * the two recordings are compared (plan.ts) and, when they agree, call 4
 * onwards replays. Every call before the replay is an eager call, so its
 * result is right by construction; a step the comparison rejects keeps
 * running eagerly, and says why once.
 */

/** Options of {@link compile}. */
export interface CompileOptions {
  /**
   * Modules the step uses. Their training flags are part of the signature
   * (train() and eval() select another plan), their parameters are checked
   * to be the same arrays before each replay (a replaced parameter traces
   * again), and every tensor they hold keeps its own storage.
   */
  readonly modules?: readonly Module[];
  /** Place step-local arrays in reused buffers (default true); false keeps one array per op output. */
  readonly planMemory?: boolean;
  /**
   * Fuse kernels (default true): runs of small reference-kernel calls become
   * generated functions, chains of element-wise kernels one-pass programs
   * where the backend offers them. The numbers are the same either way; false
   * keeps one call per kernel (for comparing, or for profiling kernel by kernel).
   */
  readonly fuse?: boolean;
  /** A name for messages (default: the function's name). */
  readonly name?: string;
  /** Told once why the step runs eagerly; default: console.warn. */
  readonly onFallback?: (reason: string) => void;
  /** Signatures kept at once (default 8); more distinct argument shapes than this run eagerly. */
  readonly maxSignatures?: number;
}

/** Options of {@link compile} for a step replayed on a device such as the GPU ({@link WebGpu.executor}). */
export interface DeviceCompileOptions extends Omit<CompileOptions, 'planMemory' | 'fuse'> {
  /**
   * Where replays run. The first three calls of a signature still run eagerly
   * on the CPU (warm-up and recording); from the fourth, the step's kernels
   * run on the device, the arrays they keep (parameters, optimizer state)
   * stay there between calls, and only the inputs go in and the results come
   * back. Call `pull()` before reading the modules' tensors yourself.
   */
  readonly executor: StepExecutor;
}

/** The shape of a plan: what {@link CompileStats.plan} reports. */
export interface PlanStats {
  /** Kernel calls per replay. */
  readonly kernels: number;
  /** Host steps (JavaScript on tensor data: random draws, label checks, optimizer updates) per replay. */
  readonly hostSteps: number;
  /** Kernel calls of the recording left out because nothing reads their results. */
  readonly dropped: number;
  /** Whether the step runs as one generated JavaScript function. */
  readonly generated: boolean;
  /** What the plan fused: runs of small calls as generated functions, chains of element-wise kernels as one-pass programs. */
  readonly fused: FusionSummary;
}

/** What a compiled function has done so far. */
export interface CompileStats {
  /** Calls that ran eagerly (warm-up, recording and fallback calls). */
  readonly eagerCalls: number;
  /** Calls that recorded a trace. */
  readonly traces: number;
  /** Calls that replayed a plan. */
  readonly replays: number;
  /** Why the step runs eagerly, when it does (null while it compiles). */
  readonly fallback: string | null;
  /** The memory of the plan last built. */
  readonly memory: PlanMemory | null;
  /** The plan last built (null before one is). */
  readonly plan: PlanStats | null;
}

/** A function compiled by {@link compile}: call it as the original. */
export interface CompiledFunction<A extends unknown[], R> {
  (...args: A): R;
  /** Counters and the reason for running eagerly, if any. */
  readonly stats: CompileStats;
  /** The plan last built, printed one kernel per line (null before the third call). */
  toString(): string;
  /** The plan last built as a Graphviz DOT graph (null before one is built). */
  toDot(): string | null;
  /** Forget every plan (the next calls warm up and record again). */
  reset(): void;
}

/** A step compiled for a device by {@link compile}: each call resolves to what the original returns. */
export interface DeviceCompiledFunction<A extends unknown[], R> {
  (...args: A): Promise<R>;
  /** Counters and the reason for running eagerly, if any (as {@link CompiledFunction.stats}). */
  readonly stats: CompileStats;
  /** The plan last built, one kernel per line. */
  toString(): string;
  /** The plan last built as a Graphviz DOT graph (null before one is built). */
  toDot(): string | null;
  /** Forget every plan (the next calls warm up and record again). */
  reset(): void;
  /** Copies back to the CPU every value the device holds newer (parameters, gradients, optimizer state). */
  pull(): Promise<void>;
}

type Phase =
  | { readonly kind: 'warm' }
  | { readonly kind: 'recorded'; readonly trace: Trace; readonly output: OutputTemplate }
  | { readonly kind: 'ready'; readonly plan: Plan; readonly params: readonly [Tensor, TypedArray][] }
  | { readonly kind: 'eager'; readonly reason: string };

interface Entry {
  phase: Phase | null;
}

/** What the signature takes from a tensor argument. */
class TensorSignature {
  constructor(
    readonly dtype: string,
    readonly shape: readonly number[],
    readonly requiresGrad: boolean,
  ) {}
}

function signatureOf(args: readonly unknown[]): string | null {
  const parts: string[] = [];
  for (const a of args) {
    if (a instanceof Tensor) parts.push(`${a.dtype}[${a.shape.join(',')}]${a.requiresGrad ? 'g' : ''}`);
    else if (a === undefined || a === null || typeof a === 'number' || typeof a === 'string' || typeof a === 'boolean') parts.push(JSON.stringify(a) ?? 'u');
    else return null;
  }
  return parts.join(' ');
}

/** `value` with every tensor in it replaced by a detached copy (arrays and plain objects rebuilt). */
function copyResult(value: unknown): unknown {
  if (value instanceof Tensor) return new Tensor(copyOf(value.data), value.shape);
  if (Array.isArray(value)) return value.map(copyResult);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, copyResult(v)]));
  }
  return value;
}

function allModules(roots: readonly Module[]): Module[] {
  const seen = new Set<Module>();
  for (const r of roots) for (const m of r.modules()) seen.add(m);
  return [...seen];
}

/** Every tensor a module holds in a property (parameters, buffers, cached state), with its gradient. */
function heldArrays(modules: readonly Module[]): TypedArray[] {
  const out: TypedArray[] = [];
  const add = (v: unknown) => {
    if (v instanceof Tensor) {
      out.push(v.data);
      if (v.grad) out.push(v.grad.data);
    }
  };
  for (const m of modules) {
    for (const v of Object.values(m)) {
      if (Array.isArray(v)) v.forEach(add);
      else if (v instanceof Map) for (const x of v.values()) add(x);
      else add(v);
    }
  }
  return out;
}

/**
 * Compile a step: `fn` is traced (every kernel it runs, forward, backward
 * and the optimizer's update alike) and then replayed with no graph, no
 * closures and no allocation per op, on buffers planned once.
 *
 * `fn` takes tensors and plain values and returns tensors (alone, in arrays
 * or in plain objects) or plain values. Results are the same numbers as
 * eager mode, bit for bit: the replay calls the same kernels on the same
 * values in the same order. What it returns are fresh tensors detached from
 * any graph. Inputs are copied in, so `fn` must not rely on their identity.
 *
 * The first three calls with a new signature run eagerly (one to warm up,
 * two to record and compare); a step that cannot be replayed (it reads a
 * value to decide, its control flow depends on the data, it builds tensors
 * in JavaScript from changing values) keeps running eagerly and says why
 * once, through `onFallback`.
 *
 * @example
 * const step = nt.compile((x: nt.Tensor, y: nt.Tensor) => {
 *   opt.zeroGrad();
 *   const loss = nt.nn.functional.mseLoss(model.call(x), y);
 *   loss.backward();
 *   opt.step();
 *   return loss;
 * }, { modules: [model] });
 * for (const [x, y] of batches) step(x, y);
 */
export function compile<A extends unknown[], R>(fn: ((...args: A) => R) | Module, options: DeviceCompileOptions): DeviceCompiledFunction<A, R>;
export function compile<A extends unknown[], R>(fn: ((...args: A) => R) | Module, options?: CompileOptions): CompiledFunction<A, R>;
export function compile<A extends unknown[], R>(
  fn: ((...args: A) => R) | Module,
  options: CompileOptions | DeviceCompileOptions = {},
): CompiledFunction<A, R> | DeviceCompiledFunction<A, R> {
  const executor = 'executor' in options ? options.executor : null;
  const step: (...args: A) => R = fn instanceof Module ? (...args: A) => fn.call(...(args as unknown as Parameters<Module['forward']>)) as R : fn;
  if (typeof step !== 'function') throw new ValueError(`compile: expected a function or a Module, got ${typeof fn}`);
  const roots = fn instanceof Module ? [fn, ...(options.modules ?? [])] : [...(options.modules ?? [])];
  for (const [i, m] of roots.entries()) {
    if (!(m instanceof Module)) throw new ValueError(`compile: options.modules[${i}] is not a Module`);
  }
  const name = options.name ?? (fn instanceof Module ? fn.className : fn.name || 'step');
  // A device keeps its own memory, and runs the contract's kernels one by one: no CPU arenas, no fused JavaScript.
  const planMemory = executor === null && ((options as CompileOptions).planMemory ?? true);
  const fuse = executor === null && ((options as CompileOptions).fuse ?? true);
  const maxSignatures = options.maxSignatures ?? 8;
  const onFallback = options.onFallback ?? ((reason: string) => console.warn(`neurite compile(${name}): runs eagerly: ${reason}`));
  const entries = new Map<string, Entry>();
  let evictions = 0;
  let told = false;
  const counts = { eagerCalls: 0, traces: 0, replays: 0 };
  let fallback: string | null = null;
  let lastPlan: Plan | null = null;
  let mods: Module[] | null = null;

  const giveUp = (entry: Entry, reason: string) => {
    entry.phase = { kind: 'eager', reason };
    fallback = reason;
    if (!told) {
      told = true;
      onFallback(reason);
    }
  };

  const eager = (args: A): R => {
    counts.eagerCalls++;
    return step(...args);
  };

  const record = (args: A, previous: Trace | null): { trace: Trace; output: OutputTemplate | string; result: R } => {
    // The step runs on copies of its tensor arguments: the plan owns them, and replays copy new inputs in.
    const copies: TypedArray[] = [];
    const traced = args.map((a) => {
      if (!(a instanceof Tensor)) return a;
      const c = new Tensor(copyOf(a.data), a.shape);
      if (a.requiresGrad) c.requiresGrad = true;
      copies.push(c.data);
      return c;
    }) as A;
    const trace = new Trace(copies, previous);
    counts.eagerCalls++;
    counts.traces++;
    const result = trace.record(() => step(...traced));
    // What the caller gets must not share storage with the plan, which replays overwrite.
    return { trace, output: outputTemplate(result, trace), result: copyResult(result) as R };
  };

  /** The last call that replayed: a call with the same signature goes straight to its plan. */
  let last: { entry: Entry; args: unknown[]; backend: object; grad: boolean; training: boolean[] } | null = null;
  const sameAsLast = (args: readonly unknown[]): Entry | null => {
    const l = last;
    if (l === null || l.args.length !== args.length || l.backend !== getBackend() || l.grad !== isGradEnabled() || mods === null) return null;
    for (let i = 0; i < mods.length; i++) if (mods[i].training !== l.training[i]) return null;
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      const b = l.args[i];
      if (a instanceof Tensor) {
        if (!(b instanceof TensorSignature) || a.dtype !== b.dtype || a.requiresGrad !== b.requiresGrad || a.ndim !== b.shape.length) return null;
        for (let d = 0; d < a.ndim; d++) if (a.shape[d] !== b.shape[d]) return null;
      } else if (a !== b) return null;
    }
    return l.entry;
  };

  const compiled = ((...args: A): R => {
    // Inside another trace the step is part of that one.
    if (activeTrace() !== null) return step(...args);
    const fast = sameAsLast(args);
    if (fast !== null && fast.phase?.kind === 'ready') return replay(fast, fast.phase, args);
    const signature = signatureOf(args);
    if (signature === null) {
      if (!told) {
        told = true;
        fallback = 'its arguments include objects other than tensors and plain values';
        onFallback(fallback);
      }
      return eager(args);
    }
    // The module tree is walked when a step records (and on the first call), not on every replay: a walk
    // costs more than a tiny network's whole step. A module added to the tree later needs reset().
    if (mods === null) mods = allModules(roots);
    let flags = isGradEnabled() ? 'g' : 'n';
    for (const m of mods) flags += m.training ? 't' : 'e';
    const key = `${getBackend().name}|${flags}|${signature}`;
    let entry = entries.get(key);
    if (entry === undefined) {
      if (entries.size >= maxSignatures) {
        const oldest = entries.keys().next().value as string;
        entries.delete(oldest);
        evictions++;
      }
      entry = { phase: null };
      entries.set(key, entry);
      if (evictions > 2 * maxSignatures) giveUp(entry, `its argument signatures keep changing (more than ${maxSignatures} in use; the last was ${signature})`);
    }
    const phase = entry.phase;
    if (phase === null) {
      entry.phase = { kind: 'warm' };
      return eager(args);
    }
    switch (phase.kind) {
      case 'eager':
        return eager(args);
      case 'warm': {
        mods = allModules(roots);
        const { trace, output, result } = record(args, null);
        if (typeof output === 'string') giveUp(entry, output);
        else entry.phase = { kind: 'recorded', trace, output };
        return result;
      }
      case 'recorded': {
        const { trace, output, result } = record(args, phase.trace);
        if (typeof output === 'string') {
          giveUp(entry, output);
          return result;
        }
        const pinned = heldArrays(mods);
        const plan = Plan.build(phase.trace, trace, phase.output, output, pinned, planMemory, fuse);
        if (typeof plan === 'string') giveUp(entry, plan);
        else {
          const params = mods.flatMap((m) => [...m.ownParameters()].map(([, p]) => [p, p.data] as [Tensor, TypedArray]));
          entry.phase = { kind: 'ready', plan, params };
          lastPlan = plan;
        }
        return result;
      }
      case 'ready':
        last = {
          entry,
          args: args.map((a) => (a instanceof Tensor ? new TensorSignature(a.dtype, a.shape.slice(), a.requiresGrad) : a)),
          backend: getBackend(),
          grad: isGradEnabled(),
          training: mods.map((m) => m.training),
        };
        return replay(entry, phase, args);
    }
  }) as CompiledFunction<A, R>;

  function replay(entry: Entry, phase: Extract<Phase, { kind: 'ready' }>, args: A): R {
    // A parameter given new storage (loaded weights, a replaced tensor) is not what the plan reads: record again.
    for (const [p, data] of phase.params) {
      if (p.data !== data) {
        entry.phase = { kind: 'warm' };
        last = null;
        return compiled(...args);
      }
    }
    counts.replays++;
    const inputs: TypedArray[] = [];
    for (const a of args) if (a instanceof Tensor) inputs.push(a.data);
    if (executor !== null) return phase.plan.runOn(executor, inputs) as R;
    return phase.plan.run(inputs) as R;
  }

  if (executor !== null) {
    // Every call but a replay reads and writes the CPU's copies: bring back what the device holds newer first.
    const onDevice = ((...args: A): Promise<R> => {
      const fast = sameAsLast(args);
      if (fast !== null && fast.phase?.kind === 'ready' && activeTrace() === null) return Promise.resolve(compiled(...args));
      // The eager call runs after an await: under the generator and gradient mode of this call, as a replay does (Plan.runOn).
      const generator = currentGenerator();
      const grad = isGradEnabled();
      return executor.pull().then(() => withGenerator(generator, () => (grad ? enableGrad : noGrad)(() => compiled(...args))));
    }) as DeviceCompiledFunction<A, R>;
    Object.defineProperty(onDevice, 'stats', { get: () => compiled.stats });
    onDevice.toString = () => compiled.toString();
    onDevice.toDot = () => compiled.toDot();
    onDevice.reset = () => compiled.reset();
    onDevice.pull = () => executor.pull();
    defineCompiledExtras();
    return onDevice;
  }
  defineCompiledExtras();
  return compiled;

  function defineCompiledExtras(): void {
    Object.defineProperty(compiled, 'stats', {
      get: (): CompileStats => {
        const summary = lastPlan?.summary ?? null;
        return {
          ...counts,
          fallback,
          memory: summary?.memory ?? null,
          plan: summary && {
            kernels: summary.kernels,
            hostSteps: summary.hostSteps,
            dropped: summary.dropped,
            generated: summary.generated,
            fused: summary.fused,
          },
        };
      },
    });
    compiled.toString = () => lastPlan?.toString() ?? `compiled ${name}: no plan yet (${counts.traces} traces${fallback ? `; runs eagerly: ${fallback}` : ''})`;
    compiled.toDot = () => lastPlan?.toDot() ?? null;
    compiled.reset = () => {
      entries.clear();
      mods = null;
      last = null;
      lastPlan = null;
      fallback = null;
      told = false;
      evictions = 0;
    };
  }
}
