import { allocate, type DType, dtypeOfArray, type TypedArray } from '../core/dtype.js';
import { referenceKernelTable } from '../core/engine.js';
import { fmtShape } from '../core/errors.js';
import { currentGenerator, type Generator as RandomGenerator, withGenerator } from '../core/random.js';
import { Tensor } from '../core/tensor.js';
import { describeProgram, KERNEL_EFFECTS, type StepCall, type StepExecutor } from '../ops/primitives.js';
import { type GenNode, generateSegments, generateStep, type RefKernels } from './codegen.js';
import { fuseElementwise } from './fuse.js';
import { type ArgTemplate, type ArrayRef, sameRef, sameValue, type Trace, type TraceNode, viewOf } from './trace.js';

/*
 * From two traces of one step to a plan that replays it.
 *
 * The second trace is the plan; the first is what it is checked against.
 * Two runs of the same step must call the same kernels with the same plain
 * arguments, on arrays that correspond: the n-th allocation of one where the
 * other used its n-th, the same input, the same long-lived storage
 * (parameters, optimizer state). Where the second run reads an array the
 * first run made, state is carried from step to step through a new array
 * (a layer that replaces a buffer instead of updating it): the plan copies
 * it forward before each replay. Anything else (an array made in
 * JavaScript that changes between runs, another sequence of kernels, a
 * value read to decide) is a step the plan cannot replay, and the reason is
 * returned instead.
 *
 * The memory planner then gives every allocation that lives only inside the
 * step a place in a few reused buffers: two allocations whose uses do not
 * overlap share one. Allocations that JavaScript can see after the step
 * (outputs, gradients, module state, arrays of host steps, constants made
 * in JavaScript) keep their own storage.
 */

/** How a returned value is rebuilt from the plan's arrays. */
export type OutputTemplate =
  | { readonly t: 'tensor'; readonly ref: ArrayRef; readonly array: TypedArray; readonly shape: readonly number[] }
  | { readonly t: 'list'; readonly items: readonly OutputTemplate[] }
  | { readonly t: 'record'; readonly entries: readonly (readonly [string, OutputTemplate])[] }
  | { readonly t: 'value'; readonly value: unknown };

/** Memory of a plan, in bytes. */
export interface PlanMemory {
  /** What one eager run of the step allocates (every output of every op; all of it garbage for the collector afterwards). */
  readonly eagerBytes: number;
  /** The reused buffers the planner places step-local arrays in. */
  readonly plannedBytes: number;
  /** Arrays that keep their own storage (outputs, gradients, module state, inputs, constants). */
  readonly pinnedBytes: number;
  /** Allocations of one eager run. */
  readonly allocations: number;
  /** How many of them the planner placed in shared buffers. */
  readonly placed: number;
}

/** What a plan fused. */
export interface FusionSummary {
  /** Runs of small reference-kernel calls between a compiled backend's calls, each one generated function. */
  readonly functions: number;
  /** The kernel calls those functions hold. */
  readonly functionKernels: number;
  /** Chains of element-wise kernels run as one pass each (the backend's elementwiseProgram). */
  readonly programs: number;
  /** The kernel calls those programs replace. */
  readonly programKernels: number;
}

export interface PlanSummary {
  readonly kernels: number;
  readonly hostSteps: number;
  /** Kernel calls of the recording left out because nothing reads what they compute. */
  readonly dropped: number;
  /** Whether the step runs as one generated JavaScript function (tiny steps on the reference's kernels). */
  readonly generated: boolean;
  readonly fused: FusionSummary;
  readonly memory: PlanMemory;
}

export function outputTemplate(value: unknown, trace: Trace): OutputTemplate | string {
  if (value instanceof Tensor) return { t: 'tensor', ref: trace.ref(value.data), array: value.data, shape: value.shape.slice() };
  if (value instanceof Promise) return 'the function is async (returns a Promise); compile a synchronous step';
  if (Array.isArray(value)) {
    const items: OutputTemplate[] = [];
    for (const v of value) {
      const t = outputTemplate(v, trace);
      if (typeof t === 'string') return t;
      items.push(t);
    }
    return { t: 'list', items };
  }
  if (value !== null && typeof value === 'object') {
    if (Object.getPrototypeOf(value) !== Object.prototype)
      return `it returns a ${value.constructor?.name ?? 'non-plain object'}; return tensors, arrays or plain objects of them`;
    const entries: [string, OutputTemplate][] = [];
    for (const [key, v] of Object.entries(value)) {
      const t = outputTemplate(v, trace);
      if (typeof t === 'string') return t;
      entries.push([key, t]);
    }
    return { t: 'record', entries };
  }
  return { t: 'value', value };
}

function sameOutputs(a: OutputTemplate, b: OutputTemplate): boolean {
  if (a.t !== b.t) return false;
  switch (a.t) {
    case 'tensor':
      return b.t === 'tensor' && sameRef(a.ref, b.ref) && sameValue(a.shape, b.shape);
    case 'list':
      return b.t === 'list' && a.items.length === b.items.length && a.items.every((x, i) => sameOutputs(x, b.items[i]));
    case 'record':
      return (
        b.t === 'record' && a.entries.length === b.entries.length && a.entries.every(([k, x], i) => k === b.entries[i][0] && sameOutputs(x, b.entries[i][1]))
      );
    case 'value':
      return b.t === 'value' && sameValue(a.value, b.value);
  }
}

function* outputRefs(o: OutputTemplate): Generator<ArrayRef> {
  if (o.t === 'tensor') yield o.ref;
  else if (o.t === 'list') for (const x of o.items) yield* outputRefs(x);
  else if (o.t === 'record') for (const [, x] of o.entries) yield* outputRefs(x);
}

function* arrayArgs(args: readonly ArgTemplate[]): Generator<[number, Extract<ArgTemplate, { t: 'array' }>]> {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.t === 'array') yield [i, a];
    else if (a.t === 'list') for (const x of a.items) if (x.t === 'array') yield [-1, x];
  }
}

function describeNode(n: TraceNode): string {
  return n.kind === 'kernel' ? `kernel '${n.name}'` : `host step '${n.label}'`;
}

/**
 * Why two traces of a step do not describe one replayable plan, or null
 * when they do. Fills `carried` with the first trace's allocations that the
 * second reads as state.
 */
function compareTraces(a: Trace, b: Trace, outA: OutputTemplate, outB: OutputTemplate, carried: Set<number>): string | null {
  const read = a.valueReadBy ?? b.valueReadBy;
  if (read !== null) return `it reads a tensor's value with ${read} while it runs (data-dependent); return the tensor and read it after the call`;
  if (a.nodes.length !== b.nodes.length)
    return `two runs called different numbers of kernels (${a.nodes.length} and ${b.nodes.length}): its control flow depends on the data`;
  if (a.allocs.length !== b.allocs.length) return `two runs made different numbers of tensors (${a.allocs.length} and ${b.allocs.length})`;
  for (let i = 0; i < a.allocs.length; i++) {
    const x = a.allocs[i];
    const y = b.allocs[i];
    if (x.length !== y.length || dtypeOfArray(x) !== dtypeOfArray(y)) return `two runs made tensors of different sizes (allocation ${i})`;
  }
  const compareRef = (where: string, ra: ArrayRef, rb: ArrayRef): string | null => {
    if (sameRef(ra, rb)) return null;
    // The second run reads what the first made where the first read older storage: state carried forward.
    if (ra.kind === 'ext' && rb.kind === 'prev' && rb.offset === 0 && rb.length === a.allocs[rb.index].length) {
      carried.add(rb.index);
      return null;
    }
    // Both read one array the first run made and kept (a cache built on first use).
    if (ra.kind === 'alloc' && rb.kind === 'prev' && ra.index === rb.index && ra.offset === rb.offset) return null;
    return `${where} reads an array made outside the recorded kernels that differs between runs (a tensor built in JavaScript from the data?)`;
  };
  for (let n = 0; n < a.nodes.length; n++) {
    const x = a.nodes[n];
    const y = b.nodes[n];
    const where = `step ${n} (${describeNode(y)})`;
    if (x.kind !== y.kind) return `two runs took different paths at ${where}: its control flow depends on the data`;
    if (x.kind === 'host' && y.kind === 'host') {
      if (x.label !== y.label || x.reads.length !== y.reads.length || x.writes.length !== y.writes.length) return `two runs took different paths at ${where}`;
      for (let i = 0; i < x.reads.length; i++) {
        const r = compareRef(where, x.reads[i], y.reads[i]);
        if (r) return r;
      }
      for (let i = 0; i < x.writes.length; i++) {
        const r = compareRef(where, x.writes[i], y.writes[i]);
        if (r) return r;
      }
      continue;
    }
    if (x.kind !== 'kernel' || y.kind !== 'kernel') continue;
    if (x.name !== y.name || x.fn !== y.fn || x.args.length !== y.args.length)
      return `two runs called different kernels at step ${n} ('${x.name}' and '${y.name}')`;
    for (let i = 0; i < x.args.length; i++) {
      const p = x.args[i];
      const q = y.args[i];
      if (p.t !== q.t) return `${where}: argument ${i} differs between runs`;
      if (p.t === 'value' && q.t === 'value') {
        if (!sameValue(p.value, q.value))
          return `${where}: argument ${i} changes between runs (${JSON.stringify(p.value)} then ${JSON.stringify(q.value)}): a value computed in JavaScript each step`;
      } else if (p.t === 'array' && q.t === 'array') {
        const r = compareRef(`${where} argument ${i}`, p.ref, q.ref);
        if (r) return r;
      } else if (p.t === 'list' && q.t === 'list') {
        if (p.items.length !== q.items.length) return `${where}: argument ${i} differs between runs`;
        for (let j = 0; j < p.items.length; j++) {
          const pi = p.items[j];
          const qi = q.items[j];
          if (pi.t !== 'array' || qi.t !== 'array') return `${where}: argument ${i} differs between runs`;
          const r = compareRef(`${where} argument ${i}`, pi.ref, qi.ref);
          if (r) return r;
        }
      }
    }
  }
  for (let i = 0; i < b.allocs.length; i++) {
    const fa = a.firstRead[i];
    const fb = b.firstRead[i];
    if (fa === null && fb === null) continue;
    if (fa === null || fb === null || fa.length !== fb.length || !fa.every((v, j) => v === fb[j])) {
      return `a tensor made in JavaScript (allocation ${i}, ${b.allocs[i].length} elements) holds different values in two runs: a value computed from the data or from a changing variable outside the kernels`;
    }
  }
  if (!sameOutputs(outA, outB)) return 'two runs returned different structures';
  return null;
}

/** A step-local array to place: its size and the first and last node that use it. */
interface Lifetime {
  readonly index: number;
  readonly dtype: DType;
  readonly length: number;
  readonly first: number;
  readonly last: number;
}

/**
 * Kernels whose output element i depends on element i of its input alone, and whose compiled versions read
 * each vector before writing it. Binary and cast kernels are left out: with them in place too, the LSTM
 * step measured 10 ms against 8.1-8.6 ms without (not yet understood; a guess is the native loops' alias
 * checks sending aliased calls down a scalar path).
 */
const ELEMENTWISE = new Set(['reluBackward', 'unary']);

/** Elements between placements (64 bytes of float32): arrays start on cache lines, as vector kernels like. */
const ALIGN = 16;

/**
 * Offsets in one arena per dtype for arrays with known lifetimes, so that
 * arrays alive at the same time never overlap: greedy by size (TensorFlow
 * Lite's planner does the same): the largest array first, each at the lowest
 * offset that fits between the arrays already placed whose lifetimes meet
 * its own. Close to the lower bound (the most bytes alive at any one node)
 * on the networks tried.
 */
function placeInArenas(arrays: readonly Lifetime[]): { dtype: DType; length: number; offsets: Map<number, number> }[] {
  const byDtype = new Map<DType, Lifetime[]>();
  for (const a of arrays) {
    const list = byDtype.get(a.dtype) ?? [];
    if (list.length === 0) byDtype.set(a.dtype, list);
    list.push(a);
  }
  const out: { dtype: DType; length: number; offsets: Map<number, number> }[] = [];
  for (const [dtype, list] of byDtype) {
    const order = [...list].sort((x, y) => y.length - x.length || x.first - y.first || x.index - y.index);
    const done: { a: Lifetime; offset: number }[] = [];
    const offsets = new Map<number, number>();
    let length = 0;
    for (const a of order) {
      const size = Math.ceil(a.length / ALIGN) * ALIGN;
      const busy = done.filter((d) => d.a.first <= a.last && a.first <= d.a.last).sort((x, y) => x.offset - y.offset);
      let offset = 0;
      for (const d of busy) {
        if (offset + size <= d.offset) break;
        offset = Math.max(offset, d.offset + Math.ceil(d.a.length / ALIGN) * ALIGN);
      }
      done.push({ a, offset });
      offsets.set(a.index, offset);
      length = Math.max(length, offset + size);
    }
    out.push({ dtype, length, offsets });
  }
  return out;
}

/** A step ready to replay: the second trace's kernels on planned storage. */
export class Plan {
  private readonly fns: ((...args: unknown[]) => unknown)[] = [];
  private readonly selves: (object | null)[] = [];
  private readonly argLists: unknown[][] = [];
  private readonly hosts: ((() => void) | null)[] = [];
  private readonly carries: [TypedArray, TypedArray][] = [];
  private readonly restores: [Uint8Array, Uint8Array][] = [];
  /** The .grad each leaf had when the plan was recorded: the plan's kernels write there, and the optimizer's host step reads it. */
  private readonly grads: [{ grad: unknown }, unknown][] = [];
  readonly summary: PlanSummary;

  private constructor(
    readonly trace: Trace,
    /** The trace's nodes less those whose results nothing reads. */
    readonly nodes: readonly TraceNode[],
    private readonly output: OutputTemplate,
    private readonly inputBuffers: readonly TypedArray[],
    private readonly resolve: (ref: ArrayRef, original: TypedArray) => TypedArray,
    memory: PlanMemory,
    dropped: number,
    programs: { readonly programs: number; readonly kernels: number },
    fuse: boolean,
  ) {
    let kernels = 0;
    const reference = referenceKernelTable() as Record<string, unknown> | null;
    const gen: GenNode[] = [];
    const onReference: boolean[] = [];
    const calls: { fn: (...args: unknown[]) => unknown; self: object | null; args: unknown[]; host: (() => void) | null }[] = [];
    for (const n of nodes) {
      if (n.kind === 'host') {
        calls.push({ fn: noop, self: null, args: [], host: n.run });
        gen.push({ kind: 'host', run: n.run });
        onReference.push(false);
        continue;
      }
      kernels++;
      const args = n.args.map((a) => this.realize(a));
      // A compiled backend chooses its kernel or the reference's from dtypes and sizes: choose once, here.
      const select = (n.fn as { select?: (args: readonly unknown[]) => (...a: unknown[]) => unknown }).select;
      const fn = select ? select(args) : n.fn;
      onReference.push(reference !== null && fn === reference[n.name]);
      calls.push({ fn, self: n.self, args, host: null });
      gen.push({ kind: 'kernel', name: n.name, args });
    }
    const allReference = reference !== null && onReference.every((r, i) => r || nodes[i].kind === 'host');
    // Every kernel on the reference's code (calls too small for a compiled backend): one generated function.
    this.generated = allReference ? generateStep(gen, reference as unknown as RefKernels) : null;
    // Otherwise the runs of small kernels between the compiled backend's calls, each as one function.
    const segments = fuse && this.generated === null && reference !== null ? generateSegments(gen, onReference, reference as unknown as RefKernels) : [];
    let next = 0;
    for (const segment of segments) {
      this.addCalls(calls.slice(next, segment.start));
      this.addCalls([{ fn: noop, self: null, args: [], host: segment.run }]);
      next = segment.end;
    }
    this.addCalls(calls.slice(next));
    const fused = {
      functions: segments.length,
      functionKernels: segments.reduce((sum, s) => sum + s.kernels, 0),
      programs: programs.programs,
      programKernels: programs.kernels,
    };
    this.summary = { kernels, hostSteps: nodes.length - kernels, dropped, generated: this.generated !== null, fused, memory };
  }

  private addCalls(calls: readonly { fn: (...args: unknown[]) => unknown; self: object | null; args: unknown[]; host: (() => void) | null }[]): void {
    for (const c of calls) {
      this.fns.push(c.fn);
      this.selves.push(c.self);
      this.argLists.push(c.args);
      this.hosts.push(c.host);
    }
  }

  /** The whole step as one generated function, when it is small enough and every kernel is one the generator writes. */
  private readonly generated: (() => void) | null;

  private realize(a: ArgTemplate): unknown {
    if (a.t === 'array') return this.resolve(a.ref, a.array);
    if (a.t === 'list') return a.items.map((x) => this.realize(x));
    return a.value;
  }

  /**
   * The plan for trace `b`, checked against trace `a`, or the reason there
   * is none. `pinned` are arrays JavaScript holds after the step (module
   * state, gradients) besides the outputs.
   */
  static build(a: Trace, b: Trace, outA: OutputTemplate, outB: OutputTemplate, pinned: readonly TypedArray[], planMemory: boolean, fuse = true): Plan | string {
    const carried = new Set<number>();
    const reason = compareTraces(a, b, outA, outB, carried);
    if (reason !== null) return reason;

    const keep = new Set<number>(b.hostWritten);
    const pin = (ref: ArrayRef) => {
      if (ref.kind === 'alloc') keep.add(ref.index);
    };
    for (const r of outputRefs(outB)) pin(r);
    for (const holder of b.keptGrads) if (holder.grad) pin(b.ref(holder.grad.data));
    for (const arr of pinned) pin(b.ref(arr));
    for (const j of carried) keep.add(j);
    b.firstRead.forEach((f, i) => {
      if (f !== null) keep.add(i);
    });
    for (const n of b.nodes) {
      if (n.kind !== 'host') continue;
      n.reads.forEach(pin);
      n.writes.forEach(pin);
    }
    if (!planMemory) for (let i = 0; i < b.allocs.length; i++) keep.add(i);
    const live = liveNodes(b.nodes, keep);
    // Chains of element-wise calls as one pass, where the backend offers it; their intermediates need no storage.
    const fusion = fuse ? fuseElementwise(live, keep, b) : { nodes: live, programs: 0, kernels: 0 };
    const nodes = fusion.nodes;

    // Uses of each step-local allocation, by node index.
    const first = new Array<number>(b.allocs.length).fill(-1);
    const last = new Array<number>(b.allocs.length).fill(-1);
    nodes.forEach((n, index) => {
      if (n.kind !== 'kernel') return;
      for (const [, arg] of arrayArgs(n.args)) {
        if (arg.ref.kind !== 'alloc' || keep.has(arg.ref.index)) continue;
        const i = arg.ref.index;
        if (first[i] < 0) first[i] = index;
        last[i] = index;
      }
    });
    // In place: an element-wise kernel's output may take the storage of an input that dies at that kernel
    // (output element i depends on input element i alone), as PyTorch's in-place ops do by hand.
    const home = new Map<number, number>();
    const end = [...last];
    const whole = (arg: ArgTemplate | undefined): number | null =>
      arg?.t === 'array' && arg.ref.kind === 'alloc' && arg.ref.offset === 0 && arg.ref.length === b.allocs[arg.ref.index].length ? arg.ref.index : null;
    nodes.forEach((n, index) => {
      if (n.kind !== 'kernel' || !ELEMENTWISE.has(n.name)) return;
      const outPos = KERNEL_EFFECTS[n.name as keyof typeof KERNEL_EFFECTS].writes[0];
      const out = whole(n.args[outPos]);
      if (out === null || first[out] !== index || home.has(out)) return;
      for (const [p, arg] of n.args.entries()) {
        const input = whole(arg);
        if (p === outPos || input === null || first[input] < 0) continue;
        const root = home.get(input) ?? input;
        if (end[root] !== index || b.allocs[input].length !== b.allocs[out].length || dtypeOfArray(b.allocs[input]) !== dtypeOfArray(b.allocs[out])) continue;
        home.set(out, root);
        end[root] = last[out];
        return;
      }
    });
    const placed = placeInArenas(
      [...first.keys()]
        .filter((i) => first[i] >= 0 && !home.has(i))
        .map((i) => ({ index: i, dtype: dtypeOfArray(b.allocs[i]), length: b.allocs[i].length, first: first[i], last: end[i] })),
    );
    const placedIn = new Map<number, TypedArray>();
    let plannedBytes = 0;
    for (const arena of placed) {
      const base = allocate(arena.dtype, arena.length, true);
      plannedBytes += base.byteLength;
      for (const [index, offset] of arena.offsets) placedIn.set(index, viewOf(base, offset, b.allocs[index].length));
    }
    for (const [index, root] of home) placedIn.set(index, placedIn.get(root) as TypedArray);

    const inputBuffers = b.inputs;
    const resolve = (ref: ArrayRef, original: TypedArray): TypedArray => {
      if (ref.kind !== 'alloc') return original;
      const home = placedIn.get(ref.index);
      return home === undefined ? original : viewOf(home, ref.offset, ref.length);
    };
    let eagerBytes = 0;
    let pinnedBytes = 0;
    b.allocs.forEach((arr, i) => {
      eagerBytes += arr.byteLength;
      if (keep.has(i)) pinnedBytes += arr.byteLength;
    });
    for (const inp of inputBuffers) pinnedBytes += inp.byteLength;
    for (const j of carried) pinnedBytes += a.allocs[j].byteLength;
    const plan = new Plan(
      b,
      nodes,
      outB,
      inputBuffers,
      resolve,
      {
        eagerBytes,
        plannedBytes,
        pinnedBytes,
        allocations: b.allocs.length,
        placed: placedIn.size,
      },
      b.nodes.length - live.length,
      { programs: fusion.programs, kernels: fusion.kernels },
      fuse,
    );
    for (const j of carried) plan.carries.push([a.allocs[j], b.allocs[j]]);
    for (const holder of new Set(b.keptGrads)) plan.grads.push([holder, holder.grad]);
    // A value made in JavaScript that a kernel then changes (zeros that sliceAdd adds into) starts every replay from what it was.
    const changed = new Set<number>();
    for (const n of nodes) {
      if (n.kind !== 'kernel') continue;
      const effect = KERNEL_EFFECTS[n.name as keyof typeof KERNEL_EFFECTS];
      n.args.forEach((arg, p) => {
        if (arg.t === 'array' && arg.ref.kind === 'alloc' && (effect === undefined || effect.writes.includes(p) || effect.updates.includes(p)))
          changed.add(arg.ref.index);
      });
    }
    b.firstRead.forEach((bytes, i) => {
      if (bytes !== null && changed.has(i)) plan.restores.push([new Uint8Array(b.allocs[i].buffer, b.allocs[i].byteOffset, b.allocs[i].byteLength), bytes]);
    });
    return plan;
  }

  private executorCalls: StepCall[] | null = null;
  /** The generator in use when the replay on an executor began: its host steps (dropout masks) draw from it, as a replay here would. */
  private replayGenerator: RandomGenerator | null = null;
  private resultArrays: TypedArray[] | null = null;

  /**
   * The step for an executor (kernels/executor.ts): the work `run` does
   * before the kernels (inputs, carried state, restored constants) as host
   * steps, then every kernel and host step in order. Built for a plan made
   * without fusion, so that every call is a kernel of the contract.
   */
  stepCalls(inputs: readonly TypedArray[]): StepCall[] {
    if (this.executorCalls === null) {
      const calls: StepCall[] = [];
      // Inputs arrive in `pending` before each run (see runOn); copying them in is the first host step.
      calls.push({
        kind: 'host',
        run: () => {
          for (let i = 0; i < this.pending.length; i++) this.inputBuffers[i].set(this.pending[i] as never);
        },
        reads: [],
        writes: this.inputBuffers,
        fusedUpdates: false,
      });
      for (const [dst, src] of this.carries) {
        calls.push({ kind: 'host', run: () => dst.set(src as never), reads: [src], writes: [dst], fusedUpdates: false, copies: true });
      }
      for (const [dst, bytes] of this.restores) {
        calls.push({
          kind: 'host',
          run: () => dst.set(bytes),
          reads: [],
          writes: [new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength)],
          fusedUpdates: false,
          fills: [bytes],
        });
      }
      for (const n of this.nodes) {
        if (n.kind === 'host') {
          // The executor runs host steps between its awaits, when the caller's withGenerator has long returned.
          const run = n.run;
          const underCaller = () => withGenerator(this.replayGenerator ?? currentGenerator(), run);
          calls.push({ kind: 'host', run: underCaller, reads: n.readArrays, writes: n.writeArrays, fusedUpdates: n.fusedUpdates, copies: n.copies });
        } else {
          const fn = n.fn;
          const self = n.self;
          calls.push({ kind: 'kernel', name: n.name, args: n.args.map((a) => this.realize(a)), run: (...args: unknown[]) => fn.apply(self, args) });
        }
      }
      this.executorCalls = calls;
      const results: TypedArray[] = [];
      const collect = (o: OutputTemplate): void => {
        if (o.t === 'tensor') results.push(this.resolve(o.ref, o.array));
        else if (o.t === 'list') o.items.forEach(collect);
        else if (o.t === 'record') for (const [, x] of o.entries) collect(x);
      };
      collect(this.output);
      this.resultArrays = results;
    }
    this.pending = inputs;
    return this.executorCalls;
  }

  private pending: readonly TypedArray[] = [];

  /** Run the step on an executor (see stepCalls) and rebuild its return value once the results are on the CPU. */
  async runOn(executor: StepExecutor, inputs: readonly TypedArray[]): Promise<unknown> {
    for (const [holder, grad] of this.grads) if (holder.grad !== grad) holder.grad = grad;
    const calls = this.stepCalls(inputs);
    this.replayGenerator = currentGenerator();
    await executor.run(calls, this.resultArrays as TypedArray[]);
    return this.rebuild(this.output);
  }

  /** Run the step on new inputs (same shapes and dtypes as traced) and rebuild its return value. */
  run(inputs: readonly TypedArray[]): unknown {
    for (let i = 0; i < inputs.length; i++) this.inputBuffers[i].set(inputs[i] as never);
    // An eager call in between (another signature's warm-up, a call that fell back) gives leaves new .grad tensors.
    for (const [holder, grad] of this.grads) if (holder.grad !== grad) holder.grad = grad;
    for (const [dst, src] of this.carries) dst.set(src as never);
    for (const [dst, bytes] of this.restores) dst.set(bytes);
    if (this.generated !== null) this.generated();
    else {
      const fns = this.fns;
      const selves = this.selves;
      const argLists = this.argLists;
      const hosts = this.hosts;
      for (let n = 0; n < fns.length; n++) {
        const host = hosts[n];
        if (host !== null) host();
        else fns[n].apply(selves[n], argLists[n]);
      }
    }
    return this.rebuild(this.output);
  }

  private rebuild(o: OutputTemplate): unknown {
    switch (o.t) {
      case 'tensor': {
        const src = this.resolve(o.ref, o.array);
        const copy = allocate(dtypeOfArray(src), src.length);
        copy.set(src as never);
        return new Tensor(copy, o.shape);
      }
      case 'list':
        return o.items.map((x) => this.rebuild(x));
      case 'record':
        return Object.fromEntries(o.entries.map(([k, x]) => [k, this.rebuild(x)]));
      case 'value':
        return o.value;
    }
  }

  /** The plan as text: one line per kernel or host step, arrays named by where they live. */
  toString(): string {
    const names = new ArrayNames(this.trace);
    const lines = this.nodes.map((n, i) => {
      if (n.kind === 'host')
        return `${pad(i)} host ${n.label}(${n.reads.map((r) => names.of(r)).join(', ')}) -> ${n.writes.map((r) => names.of(r)).join(', ') || '-'}`;
      if (n.name === 'elementwiseProgram') {
        const [code, inputs, outputs, size] = n.args as unknown as [
          { value: Int32Array },
          { items: ArgTemplate[] },
          { items: ArgTemplate[] },
          { value: number },
        ];
        const text = (items: ArgTemplate[]) => items.map((a) => argText(a, names)).join(', ');
        const body = describeProgram(code.value, inputs.items.length, outputs.items.length).join('; ');
        return `${pad(i)} ${text(outputs.items)} = elementwiseProgram(${text(inputs.items)}; n=${size.value}) { ${body} }`;
      }
      const effect = KERNEL_EFFECTS[n.name as keyof typeof KERNEL_EFFECTS];
      const outs: string[] = [];
      const ins: string[] = [];
      n.args.forEach((a, p) => {
        const text = argText(a, names);
        if (effect && (effect.writes.includes(p) || effect.updates.includes(p))) outs.push(effect.updates.includes(p) ? `${text}+=` : text);
        else ins.push(text);
      });
      return `${pad(i)} ${outs.join(', ')} = ${n.name}(${ins.join(', ')})`;
    });
    const m = this.summary.memory;
    lines.unshift(
      `compiled step: ${this.summary.kernels} kernels, ${this.summary.hostSteps} host steps${this.summary.dropped ? ` (${this.summary.dropped} unread kernel calls dropped)` : ''}${this.summary.generated ? ', one generated function' : ''}${this.summary.fused.functions ? `, ${this.summary.fused.functionKernels} kernels fused into ${this.summary.fused.functions} generated functions` : ''}${this.summary.fused.programs ? `, ${this.summary.fused.programKernels} element-wise kernels fused into ${this.summary.fused.programs} one-pass programs` : ''}; ${m.allocations} allocations per eager run (${m.eagerBytes} bytes), ${m.placed} placed in ${m.plannedBytes} bytes of reused buffers, ${m.pinnedBytes} bytes kept in place`,
    );
    return lines.join('\n');
  }

  /** The plan as a Graphviz DOT graph: kernels and host steps, an edge from each array's writer to its readers. */
  toDot(): string {
    const names = new ArrayNames(this.trace);
    const lastWriter = new Map<string, number>();
    const out = ['digraph step {', '  rankdir=TB;', '  node [shape=box, fontname="Helvetica"];'];
    const sources = new Set<string>();
    this.nodes.forEach((n, i) => {
      const label = n.kind === 'host' ? `${n.label}` : n.name;
      out.push(`  n${i} [label="${label.replace(/"/g, "'")}"${n.kind === 'host' ? ', style=dashed' : ''}];`);
      const reads: ArrayRef[] = [];
      const writes: ArrayRef[] = [];
      if (n.kind === 'host') {
        reads.push(...n.reads);
        writes.push(...n.writes);
      } else {
        const effect = KERNEL_EFFECTS[n.name as keyof typeof KERNEL_EFFECTS];
        n.args.forEach((a, p) => {
          const refs = a.t === 'array' ? [a.ref] : a.t === 'list' ? a.items.flatMap((x) => (x.t === 'array' ? [x.ref] : [])) : [];
          const isWrite = effect?.writes.includes(p) ?? false;
          const isUpdate = effect?.updates.includes(p) ?? false;
          for (const r of refs) {
            if (!isWrite) reads.push(r);
            if (isWrite || isUpdate) writes.push(r);
          }
        });
      }
      for (const r of reads) {
        const key = names.of(r);
        const w = lastWriter.get(key);
        if (w !== undefined) out.push(`  n${w} -> n${i};`);
        else {
          if (!sources.has(key)) out.push(`  "${key}" [shape=ellipse];`);
          sources.add(key);
          out.push(`  "${key}" -> n${i};`);
        }
      }
      for (const r of writes) lastWriter.set(names.of(r), i);
    });
    out.push('}');
    return out.join('\n');
  }
}

/**
 * The nodes less the kernel calls whose results nothing reads: a call is
 * dropped when every array it writes is a step-local allocation (not kept)
 * that no other call or host step reads, and this repeats until none is left
 * (backward computes gradients for inputs that need none, which then feed
 * nothing).
 */
function liveNodes(nodes: readonly TraceNode[], keep: ReadonlySet<number>): TraceNode[] {
  const reads = new Map<number, number>();
  const count = (n: TraceNode, by: number) => {
    const bump = (ref: ArrayRef) => {
      if (ref.kind === 'alloc') reads.set(ref.index, (reads.get(ref.index) ?? 0) + by);
    };
    if (n.kind === 'host') {
      n.reads.forEach(bump);
      return;
    }
    const effect = KERNEL_EFFECTS[n.name as keyof typeof KERNEL_EFFECTS];
    n.args.forEach((arg, p) => {
      const overwritten = effect?.writes.includes(p) === true;
      if (arg.t === 'array' && !overwritten) bump(arg.ref);
      else if (arg.t === 'list') for (const x of arg.items) if (x.t === 'array') bump(x.ref);
    });
  };
  for (const n of nodes) count(n, 1);
  const alive = nodes.map(() => true);
  for (let changed = true; changed; ) {
    changed = false;
    nodes.forEach((n, i) => {
      if (!alive[i] || n.kind !== 'kernel') return;
      const effect = KERNEL_EFFECTS[n.name as keyof typeof KERNEL_EFFECTS];
      if (effect === undefined || effect.updates.length > 0) return;
      const outputs = effect.writes.map((p) => n.args[p]);
      const unread = outputs.every((o) => o?.t === 'array' && o.ref.kind === 'alloc' && !keep.has(o.ref.index) && (reads.get(o.ref.index) ?? 0) === 0);
      if (!unread) return;
      alive[i] = false;
      changed = true;
      count(n, -1);
    });
  }
  return nodes.filter((_, i) => alive[i]);
}

function noop(): void {}

function pad(i: number): string {
  return `${i}`.padStart(4);
}

function argText(a: ArgTemplate, names: ArrayNames): string {
  if (a.t === 'array') return names.of(a.ref);
  if (a.t === 'list') return `[${a.items.map((x) => argText(x, names)).join(', ')}]`;
  const v = a.value;
  if (Array.isArray(v)) return fmtShape(v as number[]);
  if (v !== null && typeof v === 'object') return '{…}';
  return typeof v === 'string' ? v : String(v);
}

/** Stable short names for arrays in a printed plan: t3 (allocation 3), in0 (input 0), state2, p5 (storage that existed before). */
class ArrayNames {
  private readonly ext = new Map<ArrayBufferLike, Map<number, number>>();
  private count = 0;
  constructor(private readonly trace: Trace) {}

  of(ref: ArrayRef): string {
    const suffix = (base: TypedArray | null) =>
      base !== null && (ref.offset !== 0 || ref.length !== base.length) ? `[${ref.offset}:${ref.offset + ref.length}]` : '';
    switch (ref.kind) {
      case 'alloc':
        return `t${ref.index}${suffix(this.trace.allocs[ref.index])}`;
      case 'input':
        return `in${ref.index}${suffix(this.trace.inputs[ref.index])}`;
      case 'prev':
        return `state${ref.index}`;
      case 'ext': {
        let byOffset = this.ext.get(ref.buffer);
        if (byOffset === undefined) {
          byOffset = new Map();
          this.ext.set(ref.buffer, byOffset);
        }
        let id = byOffset.get(ref.offset);
        if (id === undefined) {
          id = this.count++;
          byOffset.set(ref.offset, id);
        }
        return `p${id}`;
      }
    }
  }
}
