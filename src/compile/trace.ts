import { arrayOn, bytesPerElement, dtypeOfArray, type TypedArray } from '../core/dtype.js';
import { activeKernelTable, setKernelTableOverride } from '../core/engine.js';
import { activeTrace, type HostAccess, setActiveTrace, type TraceRecorder } from '../core/trace.js';
import { KERNEL_EFFECTS } from '../ops/primitives.js';

/*
 * Recording one run of a step: every kernel call with its arguments, every
 * allocation, every host step (JavaScript that computes on tensor data), in
 * order. Arrays in the arguments are described by where they live (an
 * allocation of this trace, an input, an allocation of the previous trace,
 * or storage that existed before), so that two traces of the same step can
 * be compared and the second turned into a plan (see plan.ts).
 */

/** Where an array argument lives: byte offset and element count within its region. */
export type ArrayRef =
  | { readonly kind: 'alloc'; readonly index: number; readonly offset: number; readonly length: number }
  | { readonly kind: 'input'; readonly index: number; readonly offset: number; readonly length: number }
  | { readonly kind: 'prev'; readonly index: number; readonly offset: number; readonly length: number }
  | { readonly kind: 'ext'; readonly buffer: ArrayBufferLike; readonly offset: number; readonly length: number };

/** One argument of a recorded kernel call. */
export type ArgTemplate =
  | { readonly t: 'array'; readonly ref: ArrayRef; readonly array: TypedArray }
  | { readonly t: 'list'; readonly items: readonly ArgTemplate[] }
  | { readonly t: 'value'; readonly value: unknown };

export interface KernelNode {
  readonly kind: 'kernel';
  readonly name: string;
  readonly fn: (...args: unknown[]) => unknown;
  readonly self: object;
  readonly args: readonly ArgTemplate[];
}

export interface HostNode {
  readonly kind: 'host';
  readonly label: string;
  readonly run: () => void;
  readonly reads: readonly ArrayRef[];
  readonly writes: readonly ArrayRef[];
  /** The arrays themselves, for an executor that keeps copies elsewhere (kernels/executor.ts). */
  readonly readArrays: readonly TypedArray[];
  readonly writeArrays: readonly TypedArray[];
  /** See HostAccess.fusedUpdates. */
  readonly fusedUpdates: boolean;
  /** See HostAccess.copies. */
  readonly copies: boolean;
}

export type TraceNode = KernelNode | HostNode;

interface Region {
  readonly start: number;
  readonly end: number;
  readonly kind: 'alloc' | 'input' | 'prev';
  readonly index: number;
}

/** A byte range of some buffer: the regions a trace knows, looked up by buffer. */
class RegionMap {
  private readonly byBuffer = new Map<ArrayBufferLike, Region[]>();

  add(array: TypedArray, kind: Region['kind'], index: number): void {
    const list = this.byBuffer.get(array.buffer) ?? [];
    if (list.length === 0) this.byBuffer.set(array.buffer, list);
    list.push({ start: array.byteOffset, end: array.byteOffset + array.byteLength, kind, index });
  }

  find(array: TypedArray): Region | null {
    const list = this.byBuffer.get(array.buffer);
    if (list === undefined) return null;
    const s = array.byteOffset;
    const e = s + array.byteLength;
    // Latest first: a region added later (an input) wins over an older one it lies in.
    for (let i = list.length - 1; i >= 0; i--) {
      const r = list[i];
      if (s >= r.start && e <= r.end) return r;
    }
    return null;
  }
}

function isTypedArray(x: unknown): x is TypedArray {
  return ArrayBuffer.isView(x) && !(x instanceof DataView);
}

/** A copy of a plain value argument (shapes, geometry, options), so later changes by the caller cannot reach the plan. */
function cloneValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(cloneValue);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, x] of Object.entries(v)) out[key] = cloneValue(x);
    return out;
  }
  return v;
}

/** Structural equality of plain value arguments (NaN equals NaN). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((key) => sameValue((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
  }
  return false;
}

export function sameRef(a: ArrayRef, b: ArrayRef): boolean {
  // An empty array carries no data: any two are the same argument.
  if (a.length === 0 && b.length === 0) return true;
  if (a.kind !== b.kind || a.offset !== b.offset || a.length !== b.length) return false;
  if (a.kind === 'ext') return b.kind === 'ext' && a.buffer === b.buffer;
  return a.index === (b as { index: number }).index;
}

/** `ranges` (sorted, disjoint [start, end) pairs) with [start, end) added, merged with the ranges it meets. */
function addRange(ranges: readonly number[], start: number, end: number): number[] {
  const out: number[] = [];
  let s = start;
  let e = end;
  let placed = false;
  for (let i = 0; i < ranges.length; i += 2) {
    const rs = ranges[i];
    const re = ranges[i + 1];
    if (re < s) out.push(rs, re);
    else if (rs > e) {
      if (!placed) {
        out.push(s, e);
        placed = true;
      }
      out.push(rs, re);
    } else {
      s = Math.min(s, rs);
      e = Math.max(e, re);
    }
  }
  if (!placed) out.push(s, e);
  return out;
}

/** Whether [start, end) lies inside one of `ranges` (merged, so one range must hold it all). */
function insideRanges(ranges: readonly number[], start: number, end: number): boolean {
  for (let i = 0; i < ranges.length; i += 2) if (ranges[i] <= start && end <= ranges[i + 1]) return true;
  return false;
}

/** One recorded run of a step. */
export class Trace implements TraceRecorder {
  readonly nodes: TraceNode[] = [];
  readonly allocs: TypedArray[] = [];
  /** Per allocation: its bytes just before a kernel first read it (a value made in JavaScript), or null. */
  readonly firstRead: (Uint8Array | null)[] = [];
  /** Per allocation: whether something (a kernel write, a host step, a snapshot) has touched it yet. */
  private readonly touched: boolean[] = [];
  /**
   * Per allocation not yet touched as a whole: the element ranges that
   * kernels have written so far, as sorted, disjoint [start, end) pairs. An
   * op that fills its output piece by piece (a sequence op writing one time
   * step per kernel, and reading the step before) reads only what kernels
   * wrote, so nothing made in JavaScript needs a snapshot.
   */
  private readonly written = new Map<number, number[]>();
  readonly hostWritten = new Set<number>();
  readonly keptGrads: { grad: { data: TypedArray } | null }[] = [];
  /** The first value read by JavaScript while recording (the step is then data-dependent). */
  valueReadBy: string | null = null;
  private readonly regions = new RegionMap();
  private depth = 0;

  constructor(
    readonly inputs: readonly TypedArray[],
    previous: Trace | null,
  ) {
    if (previous !== null) {
      for (const [i, a] of previous.allocs.entries()) this.regions.add(a, 'prev', i);
    }
    for (const [i, a] of inputs.entries()) this.regions.add(a, 'input', i);
  }

  allocated(data: TypedArray): void {
    const index = this.allocs.length;
    this.allocs.push(data);
    this.firstRead.push(null);
    this.touched.push(false);
    this.regions.add(data, 'alloc', index);
  }

  ref(array: TypedArray): ArrayRef {
    const r = this.regions.find(array);
    const bytes = bytesPerElement(dtypeOfArray(array));
    if (r === null) return { kind: 'ext', buffer: array.buffer, offset: array.byteOffset, length: array.length };
    return { kind: r.kind, index: r.index, offset: (array.byteOffset - r.start) / bytes, length: array.length };
  }

  host(label: string, run: () => void, access: HostAccess): void {
    const writes = (access.writes ?? []).map((a) => this.ref(a));
    for (const w of writes) {
      if (w.kind === 'alloc') {
        this.touched[w.index] = true;
        this.hostWritten.add(w.index);
      }
    }
    this.nodes.push({
      kind: 'host',
      label,
      run,
      reads: (access.reads ?? []).map((a) => this.ref(a)),
      writes,
      readArrays: access.reads ?? [],
      writeArrays: access.writes ?? [],
      fusedUpdates: access.fusedUpdates === true,
      copies: access.copies === true,
    });
  }

  valueRead(what: string): void {
    this.valueReadBy ??= what;
  }

  gradientKept(holder: { grad: { data: TypedArray } | null }): void {
    this.keptGrads.push(holder);
  }

  /** Record a kernel call before it runs (first reads are snapshotted then). */
  kernel(name: string, fn: (...args: unknown[]) => unknown, self: object, args: readonly unknown[]): void {
    const effect = KERNEL_EFFECTS[name as keyof typeof KERNEL_EFFECTS];
    // A kernel missing from the table is taken to read every argument first (the planner then keeps what it touches).
    const templates = args.map((a, position) => this.template(a, effect?.writes.includes(position) === true));
    this.nodes.push({ kind: 'kernel', name, fn, self, args: templates });
  }

  private template(a: unknown, overwrites: boolean): ArgTemplate {
    if (isTypedArray(a)) {
      const ref = this.ref(a);
      if (ref.kind === 'alloc' && !this.touched[ref.index]) this.firstTouch(ref.index, ref.offset, ref.length, overwrites);
      return { t: 'array', ref, array: a };
    }
    if (Array.isArray(a) && a.some(isTypedArray)) return { t: 'list', items: a.map((x) => this.template(x, false)) };
    return { t: 'value', value: cloneValue(a) };
  }

  /**
   * A kernel touches elements [offset, offset + length) of an allocation not
   * yet touched as a whole: a write is added to its written ranges (the
   * allocation counts as touched once they cover it); a read of anything
   * else snapshots the allocation's bytes, which a replay then restores.
   */
  private firstTouch(index: number, offset: number, length: number, overwrites: boolean): void {
    const whole = this.allocs[index];
    const ranges = this.written.get(index) ?? [];
    const end = offset + length;
    if (overwrites) {
      const merged = addRange(ranges, offset, end);
      if (merged.length === 2 && merged[0] === 0 && merged[1] >= whole.length) {
        this.touched[index] = true;
        this.written.delete(index);
      } else {
        this.written.set(index, merged);
      }
      return;
    }
    if (length === 0 || insideRanges(ranges, offset, end)) return;
    this.touched[index] = true;
    this.written.delete(index);
    this.firstRead[index] = new Uint8Array(whole.buffer, whole.byteOffset, whole.byteLength).slice();
  }

  /** Run `fn` with this trace recording every kernel, allocation and host step. */
  record<T>(fn: () => T): T {
    if (activeTrace() !== null) throw new Error('compile: traces do not nest');
    const real = activeKernelTable() as Record<string, unknown>;
    const wrapped: Record<string, unknown> = {};
    for (const [name, entry] of Object.entries(real)) {
      if (typeof entry !== 'function') {
        wrapped[name] = entry;
        continue;
      }
      const kernel = entry as (...args: unknown[]) => unknown;
      wrapped[name] = (...args: unknown[]) => {
        // Host steps run with no recorder; kernels a kernel calls belong to it.
        if (activeTrace() !== this || this.depth > 0) return kernel.apply(real, args);
        this.kernel(name, kernel, real, args);
        this.depth++;
        try {
          return kernel.apply(real, args);
        } finally {
          this.depth--;
        }
      };
    }
    setKernelTableOverride(wrapped);
    setActiveTrace(this);
    try {
      return fn();
    } finally {
      setActiveTrace(null);
      setKernelTableOverride(null);
    }
  }

  /** The array a reference names in this trace (a view at its offset), or null for 'prev' and 'ext'. */
  arrayOf(ref: ArrayRef): TypedArray | null {
    if (ref.kind === 'alloc') return viewOf(this.allocs[ref.index], ref.offset, ref.length);
    if (ref.kind === 'input') return viewOf(this.inputs[ref.index], ref.offset, ref.length);
    return null;
  }
}

/** Elements [offset, offset + length) of `base`, as a fresh view. */
export function viewOf(base: TypedArray, offset: number, length: number): TypedArray {
  if (offset === 0 && length === base.length) return base;
  return arrayOn(dtypeOfArray(base), base.buffer, base.byteOffset + offset * bytesPerElement(dtypeOfArray(base)), length);
}
