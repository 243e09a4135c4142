import { activeKernelTable, referenceKernelTable } from '../core/engine.js';
import { type FusedKernels, KERNEL_EFFECTS, PROGRAM_BINARY, PROGRAM_OPS, PROGRAM_TEMPS, PROGRAM_UNARY, type ProgramOp } from '../ops/primitives.js';
import type { ArgTemplate, ArrayRef, KernelNode, Trace, TraceNode } from './trace.js';

/*
 * Element-wise chains as one pass. Between a step's products and
 * convolutions, activations, their gradients and element-wise arithmetic
 * are each a kernel that reads its inputs from memory and writes its output
 * back. Where the backend offers FusedKernels.elementwiseProgram, a run of
 * such calls over arrays of one length becomes one call: the backend runs
 * the instructions over blocks of elements, and an array that only the run
 * itself reads (an intermediate) stays in a block-sized temporary and never
 * gets storage. Every instruction is the kernel it replaces, on the same
 * elements in the same order, so the numbers are the unfused kernels' bit
 * for bit (kernels/program.ts states the rule; the parity tests hold the
 * backends to it).
 *
 * A run joins consecutive calls: the backend's own unary (relu, sigmoid,
 * tanh, exp), binary (add, sub, mul, div of equal lengths or with one value)
 * and ReLU backward kernels, and, beside at least one of those, the reference's
 * negation and arithmetic with a single value (x * 0.5), whose float32
 * results are the same correctly rounded numbers either way.
 */

/** Instructions in one program at most (each adds a little to the backend's per-block loop). */
const MAX_INSTRUCTIONS = 32;

interface Instruction {
  readonly node: KernelNode;
  readonly op: ProgramOp;
  readonly n: number;
  readonly sources: readonly Extract<ArgTemplate, { t: 'array' }>[];
  readonly out: Extract<ArgTemplate, { t: 'array' }>;
  /** Whether the backend's own kernel runs it (not the reference's). */
  readonly onBackend: boolean;
}

const isF32 = (a: ArgTemplate | undefined): a is Extract<ArgTemplate, { t: 'array' }> => a?.t === 'array' && a.array instanceof Float32Array;

/** The call as a program instruction, or null when it is not one. */
function instructionOf(node: KernelNode, reference: Record<string, unknown>): Instruction | null {
  const select = (node.fn as { select?: (args: readonly unknown[]) => unknown }).select;
  const chosen = select ? select(node.args.map(realArg)) : node.fn;
  const onBackend = chosen !== reference[node.name];
  const a = node.args;
  if (node.name === 'unary') {
    const op = (a[0] as { value?: unknown }).value as ProgramOp;
    const [x, out] = [a[1], a[2]];
    if (!PROGRAM_UNARY.has(op as never) || !isF32(x) || !isF32(out) || x.array.length !== out.array.length) return null;
    if (!onBackend && op !== 'neg') return null;
    return { node, op, n: out.array.length, sources: [x], out, onBackend };
  }
  if (node.name === 'binary') {
    const op = (a[0] as { value?: unknown }).value as ProgramOp;
    const [x, y, out] = [a[1], a[3], a[5]];
    if (!PROGRAM_BINARY.has(op as never) || !isF32(x) || !isF32(y) || !isF32(out)) return null;
    const n = out.array.length;
    const fits = (t: Extract<ArgTemplate, { t: 'array' }>) => t.array.length === n || t.array.length === 1;
    if (!fits(x) || !fits(y)) return null;
    // The backend's binary kernel joins with equal lengths or one value (a program broadcasts an input of one
    // element); the reference's joins only as arithmetic with one value.
    if (!onBackend && x.array.length !== 1 && y.array.length !== 1) return null;
    return { node, op, n, sources: [x, y], out, onBackend };
  }
  if (node.name === 'reluBackward') {
    const [x, g, out] = [a[0], a[1], a[2]];
    if (!onBackend || !isF32(x) || !isF32(g) || !isF32(out)) return null;
    const n = out.array.length;
    if (x.array.length !== n || g.array.length !== n) return null;
    return { node, op: 'reluBackward', n, sources: [x, g], out, onBackend };
  }
  return null;
}

function realArg(a: ArgTemplate): unknown {
  if (a.t === 'array') return a.array;
  if (a.t === 'list') return a.items.map(realArg);
  return a.value;
}

/** A whole allocation of the trace (not a view into one), as its index. */
function wholeAlloc(ref: ArrayRef, trace: Trace): number | null {
  return ref.kind === 'alloc' && ref.offset === 0 && ref.length === trace.allocs[ref.index].length ? ref.index : null;
}

/** Node positions that read each allocation (kernel arguments other than overwritten outputs, host step reads). */
function readersOf(nodes: readonly TraceNode[]): Map<number, number[]> {
  const readers = new Map<number, number[]>();
  const add = (ref: ArrayRef, at: number) => {
    if (ref.kind !== 'alloc') return;
    const list = readers.get(ref.index) ?? [];
    if (list.length === 0) readers.set(ref.index, list);
    list.push(at);
  };
  nodes.forEach((n, at) => {
    if (n.kind === 'host') {
      for (const r of n.reads) add(r, at);
      return;
    }
    const effect = KERNEL_EFFECTS[n.name as keyof typeof KERNEL_EFFECTS];
    n.args.forEach((arg, p) => {
      if (arg.t === 'array' && effect?.writes.includes(p) !== true) add(arg.ref, at);
      else if (arg.t === 'list') for (const x of arg.items) if (x.t === 'array') add(x.ref, at);
    });
  });
  return readers;
}

/** A source or destination while a program is built: an input, an output, or a temporary, numbered at the end. */
type Slot = { readonly kind: 'in' | 'out' | 'tmp'; readonly index: number };

/**
 * The nodes with runs of element-wise calls replaced by elementwiseProgram
 * calls, where the active backend offers one. `keep` holds the allocations
 * JavaScript sees after the step (they are written to memory even when only
 * the run reads them).
 */
export function fuseElementwise(
  nodes: readonly TraceNode[],
  keep: ReadonlySet<number>,
  trace: Trace,
): { nodes: TraceNode[]; programs: number; kernels: number } {
  const table = activeKernelTable() as unknown as FusedKernels & Record<string, unknown>;
  const program = table.elementwiseProgram;
  const reference = referenceKernelTable() as Record<string, unknown> | null;
  if (program === undefined || reference === null) return { nodes: [...nodes], programs: 0, kernels: 0 };
  const readers = readersOf(nodes);
  const out: TraceNode[] = [];
  let programs = 0;
  let kernels = 0;
  let run: { at: number; instr: Instruction }[] = [];

  const flush = () => {
    const node = run.length >= 2 && run.some((r) => r.instr.onBackend) ? buildProgram(run) : null;
    if (node === null) for (const r of run) out.push(r.instr.node);
    else {
      out.push(node);
      programs++;
      kernels += run.length;
    }
    run = [];
  };

  const buildProgram = (items: readonly { at: number; instr: Instruction }[]): KernelNode | null => {
    const last = items[items.length - 1].at;
    const inputs: Extract<ArgTemplate, { t: 'array' }>[] = [];
    const outputs: Extract<ArgTemplate, { t: 'array' }>[] = [];
    const written = new Map<number, Slot>();
    const inputKeys = new Map<string, number>();
    const freeTemps: number[] = Array.from({ length: PROGRAM_TEMPS }, (_, i) => PROGRAM_TEMPS - 1 - i);
    const code: [number, Slot, Slot, Slot | null][] = [];
    // Temporaries whose last reader is at a node position: freed after it.
    const releaseAt = new Map<number, number[]>();
    for (const { at, instr } of items) {
      const sources = instr.sources.map((s): Slot => {
        const index = wholeAlloc(s.ref, trace);
        const mine = index === null ? undefined : written.get(index);
        if (mine !== undefined) return mine;
        const key = refKey(s.ref);
        let slot = inputKeys.get(key);
        if (slot === undefined) {
          slot = inputs.length;
          inputs.push(s);
          inputKeys.set(key, slot);
        }
        return { kind: 'in', index: slot };
      });
      const index = wholeAlloc(instr.out.ref, trace);
      // An output read earlier in the run would be read before it is written: not a chain this pass handles.
      if (index === null || inputKeys.has(refKey(instr.out.ref)) || written.has(index)) return null;
      const uses = readers.get(index) ?? [];
      const local = !keep.has(index) && uses.length > 0 && uses.every((p) => p > at && p <= last);
      let dest: Slot;
      if (local && freeTemps.length > 0) {
        dest = { kind: 'tmp', index: freeTemps.pop() as number };
        const end = Math.max(...uses);
        const list = releaseAt.get(end) ?? [];
        if (list.length === 0) releaseAt.set(end, list);
        list.push(dest.index);
      } else {
        dest = { kind: 'out', index: outputs.length };
        outputs.push(instr.out);
      }
      written.set(index, dest);
      code.push([PROGRAM_OPS.indexOf(instr.op), dest, sources[0], sources[1] ?? null]);
      for (const t of releaseAt.get(at) ?? []) freeTemps.push(t);
    }
    if (outputs.length === 0) return null;
    const number = (s: Slot) => (s.kind === 'in' ? s.index : s.kind === 'out' ? inputs.length + s.index : inputs.length + outputs.length + s.index);
    const encoded = new Int32Array(code.length * 4);
    code.forEach(([op, dest, a, b], i) => {
      encoded.set([op, number(dest), number(a), b === null ? -1 : number(b)], i * 4);
    });
    return {
      kind: 'kernel',
      name: 'elementwiseProgram',
      fn: program as (...args: unknown[]) => unknown,
      self: table,
      args: [
        { t: 'value', value: encoded },
        { t: 'list', items: inputs },
        { t: 'list', items: outputs },
        { t: 'value', value: items[0].instr.n },
      ],
    };
  };

  nodes.forEach((node, at) => {
    const instr = node.kind === 'kernel' ? instructionOf(node, reference) : null;
    if (instr !== null && run.length > 0 && run.length < MAX_INSTRUCTIONS && instr.n === run[0].instr.n) {
      run.push({ at, instr });
      return;
    }
    flush();
    if (instr !== null) run.push({ at, instr });
    else out.push(node);
  });
  flush();
  return { nodes: out, programs, kernels };
}

const bufferIds = new WeakMap<ArrayBufferLike, number>();
let nextBufferId = 0;

/** A key naming the same array the same way: its region, offset and length. */
function refKey(ref: ArrayRef): string {
  if (ref.kind !== 'ext') return `${ref.kind}${ref.index}:${ref.offset}:${ref.length}`;
  let id = bufferIds.get(ref.buffer);
  if (id === undefined) {
    id = nextBufferId++;
    bufferIds.set(ref.buffer, id);
  }
  return `ext${id}:${ref.offset}:${ref.length}`;
}
