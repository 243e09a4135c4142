import type { TypedArray } from '../core/dtype.js';

/*
 * Tiny steps as one JavaScript function. A 2-2-1 network's training step is
 * a few dozen kernel calls on arrays of a handful of elements: what it costs
 * is the calls, not the arithmetic. When every kernel of a plan runs on the
 * reference backend's code (the compiled backends leave calls this small to
 * it) and is one this file can write out, the plan becomes one generated
 * function with the loops inline, which the JIT compiles as a whole.
 *
 * Each loop below is the reference kernel's, with the same operations in the
 * same order (values in double, rounded where they are stored), so the
 * generated step gives the reference's numbers bit for bit; the layout maps
 * (broadcasting, slices) are computed by running the reference kernels
 * themselves on index arrays. Where code generation is refused (a page whose
 * Content-Security-Policy forbids eval), the plan runs as a list of calls.
 */

/** One step of a plan as the generator sees it. */
export type GenNode =
  | { readonly kind: 'kernel'; readonly name: string; readonly args: readonly unknown[] }
  | { readonly kind: 'host'; readonly run: () => void };

/** The reference kernels the generator mirrors, and uses to compute layout maps. */
export interface RefKernels {
  binary(op: string, a: TypedArray, aShape: readonly number[], b: TypedArray, bShape: readonly number[], out: TypedArray, outShape: readonly number[]): void;
  slice(x: TypedArray, shape: readonly number[], begin: readonly number[], step: readonly number[], out: TypedArray, outShape: readonly number[]): void;
  gather(x: TypedArray, shape: readonly number[], axis: number, index: Int32Array, indexShape: readonly number[], out: TypedArray): void;
}

/** Arrays up to this many elements: beyond it a kernel's own loop (or the compiled backend's) is where the time goes. */
export const CODEGEN_MAX_ELEMENTS = 4096;

/** Loops up to this many iterations are written out element by element. */
const UNROLL = 16;

const UNARY: Readonly<Record<string, (v: string) => string>> = {
  neg: (v) => `-${v}`,
  abs: (v) => `Math.abs(${v})`,
  exp: (v) => `Math.exp(${v})`,
  log: (v) => `Math.log(${v})`,
  sqrt: (v) => `Math.sqrt(${v})`,
  rsqrt: (v) => `1 / Math.sqrt(${v})`,
  reciprocal: (v) => `1 / ${v}`,
  square: (v) => `${v} * ${v}`,
  tanh: (v) => `Math.tanh(${v})`,
  relu: (v) => `Math.max(${v}, 0)`,
};

const BINARY: Readonly<Record<string, string>> = { add: '+', sub: '-', mul: '*', div: '/' };

function isTyped(x: unknown): x is TypedArray {
  return ArrayBuffer.isView(x) && !(x instanceof DataView);
}

function iota(n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

class Emitter {
  readonly lines: string[] = [];
  readonly values: unknown[] = [];
  private readonly ids = new Map<unknown, number>();

  constructor(private readonly ref: RefKernels) {}

  /** A local name for a captured value (array, map, host function). */
  v(x: unknown): string {
    let id = this.ids.get(x);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(x);
      this.ids.set(x, id);
    }
    return `v${id}`;
  }

  /** Source index of each output element of a layout kernel, by running the reference kernel on an index array. */
  layoutMap(run: (src: Float64Array, out: Float64Array) => void, srcLength: number, outLength: number): Int32Array {
    const out = new Float64Array(outLength);
    run(iota(srcLength), out);
    return Int32Array.from(out);
  }

  /** Emit a kernel call; false when it is not one the generator writes out. */
  kernel(name: string, a: readonly unknown[]): boolean {
    const L = this.lines;
    switch (name) {
      case 'unary': {
        const [op, x, out] = a as [string, TypedArray, TypedArray];
        if (op === 'copy') {
          L.push(`${this.v(out)}.set(${this.v(x)});`);
          return true;
        }
        if (op === 'sigmoid') {
          // Two branches so that exp() only ever sees a non-positive argument (the reference's form).
          L.push(
            `for (let i = 0; i < ${x.length}; i++) { const t = ${this.v(x)}[i]; if (t >= 0) ${this.v(out)}[i] = 1 / (1 + Math.exp(-t)); else { const e = Math.exp(t); ${this.v(out)}[i] = e / (1 + e); } }`,
          );
          return true;
        }
        const f = UNARY[op];
        if (f === undefined) return false;
        if (x.length <= UNROLL) for (let i = 0; i < x.length; i++) L.push(`{ const t = ${this.v(x)}[${i}]; ${this.v(out)}[${i}] = ${f('t')}; }`);
        else L.push(`for (let i = 0; i < ${x.length}; i++) { const t = ${this.v(x)}[i]; ${this.v(out)}[i] = ${f('t')}; }`);
        return true;
      }
      case 'reluBackward': {
        const [x, g, out] = a as [TypedArray, TypedArray, TypedArray];
        L.push(`for (let i = 0; i < ${x.length}; i++) ${this.v(out)}[i] = ${this.v(x)}[i] <= 0 ? 0 : ${this.v(g)}[i];`);
        return true;
      }
      case 'binary': {
        const [op, x, xShape, y, yShape, out, outShape] = a as [string, TypedArray, number[], TypedArray, number[], TypedArray, number[]];
        const sym = BINARY[op];
        if (sym === undefined) return false;
        const n = out.length;
        /** Where element i of the output reads this operand: i itself, 0, or a map computed by the reference. */
        const source = (t: TypedArray, shape: number[], first: boolean): Int32Array | 'same' | 'one' => {
          if (t.length === n) return 'same';
          if (t.length === 1) return 'one';
          const zeros = new Float64Array(first ? y.length : x.length);
          return this.layoutMap(
            (src, dst) =>
              first ? this.ref.binary('add', src, shape, zeros, yShape, dst, outShape) : this.ref.binary('add', zeros, xShape, src, shape, dst, outShape),
            t.length,
            n,
          );
        };
        const sx = source(x, xShape, true);
        const sy = source(y, yShape, false);
        const at = (t: TypedArray, src: Int32Array | 'same' | 'one', i: number | 'i') =>
          src === 'same'
            ? `${this.v(t)}[${i}]`
            : src === 'one'
              ? `${this.v(t)}[0]`
              : typeof i === 'number'
                ? `${this.v(t)}[${src[i]}]`
                : `${this.v(t)}[${this.v(src)}[i]]`;
        if (n <= UNROLL) for (let i = 0; i < n; i++) L.push(`${this.v(out)}[${i}] = ${at(x, sx, i)} ${sym} ${at(y, sy, i)};`);
        else L.push(`for (let i = 0; i < ${n}; i++) ${this.v(out)}[i] = ${at(x, sx, 'i')} ${sym} ${at(y, sy, 'i')};`);
        return true;
      }
      case 'reduce': {
        const [op, x, shape, axes, out] = a as [string, TypedArray, number[], number[], TypedArray];
        if (op !== 'sum' && op !== 'prod' && op !== 'max' && op !== 'min') return false;
        // The reference walks x in memory order and adds each element to its output's double accumulator.
        const slot = new Int32Array(x.length);
        const keptStride = new Array<number>(shape.length).fill(0);
        let s = 1;
        for (let d = shape.length - 1; d >= 0; d--) {
          if (!axes.includes(d)) {
            keptStride[d] = s;
            s *= shape[d];
          }
        }
        for (let i = 0; i < x.length; i++) {
          let rest = i;
          let o = 0;
          for (let d = shape.length - 1; d >= 0; d--) {
            const c = rest % shape[d];
            rest = (rest - c) / shape[d];
            o += c * keptStride[d];
          }
          slot[i] = o;
        }
        if (op !== 'sum') {
          // In memory order, as the reference: a product in double; max and min keep the first NaN and, among equal values, the first.
          const acc = new Float64Array(out.length);
          const [A, X, S] = [this.v(acc), this.v(x), this.v(slot)];
          L.push(`${A}.fill(${op === 'prod' ? 1 : op === 'max' ? '-Infinity' : 'Infinity'});`);
          if (op === 'prod') L.push(`for (let i = 0; i < ${x.length}; i++) ${A}[${S}[i]] *= ${X}[i];`);
          else
            L.push(
              `for (let i = 0; i < ${x.length}; i++) { const e = ${X}[i], o = ${S}[i], v = ${A}[o]; if (e ${op === 'max' ? '>' : '<'} v || (e !== e && v === v)) ${A}[o] = e; }`,
            );
          L.push(`for (let i = 0; i < ${out.length}; i++) ${this.v(out)}[i] = ${A}[i];`);
          return true;
        }
        if (x.length <= UNROLL) {
          // Each output as one expression: 0 + its elements in memory order, the reference's order of additions.
          for (let o = 0; o < out.length; o++) {
            const terms = [...slot.keys()].filter((i) => slot[i] === o).map((i) => `${this.v(x)}[${i}]`);
            L.push(`${this.v(out)}[${o}] = ${['0', ...terms].join(' + ')};`);
          }
          return true;
        }
        const acc = new Float64Array(out.length);
        L.push(`${this.v(acc)}.fill(0);`);
        L.push(`for (let i = 0; i < ${x.length}; i++) ${this.v(acc)}[${this.v(slot)}[i]] += ${this.v(x)}[i];`);
        L.push(`for (let i = 0; i < ${out.length}; i++) ${this.v(out)}[i] = ${this.v(acc)}[i];`);
        return true;
      }
      case 'slice': {
        const [x, shape, begin, step, out, outShape] = a as [TypedArray, number[], number[], number[], TypedArray, number[]];
        const map = this.layoutMap((src, dst) => this.ref.slice(src, shape, begin, step, dst, outShape), x.length, out.length);
        if (out.length <= UNROLL) for (let i = 0; i < out.length; i++) L.push(`${this.v(out)}[${i}] = ${this.v(x)}[${map[i]}];`);
        else L.push(`for (let i = 0; i < ${out.length}; i++) ${this.v(out)}[i] = ${this.v(x)}[${this.v(map)}[i]];`);
        return true;
      }
      case 'gather':
      case 'scatterAdd': {
        // Where each index position reads (gather) or adds (scatterAdd) with index 0, found by the reference gather on an index array;
        // the index itself is data, read at run time (a host step has checked its range).
        const [x, shape, axis, index, indexShape, y] = a as [TypedArray, number[], number, Int32Array, number[], TypedArray];
        let stride = 1;
        for (let d = axis + 1; d < shape.length; d++) stride *= shape[d];
        const base = this.layoutMap((src, dst) => this.ref.gather(src, shape, axis, new Int32Array(index.length), indexShape, dst), x.length, index.length);
        const [X, I, B, Y] = [this.v(x), this.v(index), this.v(base), this.v(y)];
        if (name === 'gather') L.push(`for (let i = 0; i < ${index.length}; i++) ${Y}[i] = ${X}[${B}[i] + ${I}[i] * ${stride}];`);
        else L.push(`for (let i = 0; i < ${index.length}; i++) ${X}[${B}[i] + ${I}[i] * ${stride}] += ${Y}[i];`);
        return true;
      }
      case 'logSoftmax': {
        // The reference's loop: the line's maximum, the sum of exponentials in double, one subtraction per element.
        const [x, outer, size, inner, out] = a as [TypedArray, number, number, number, TypedArray];
        const [X, O] = [this.v(x), this.v(out)];
        L.push(
          `for (let o = 0; o < ${outer}; o++) for (let i = 0; i < ${inner}; i++) { const start = o * ${size * inner} + i, end = start + ${size * inner}; let max = -Infinity; for (let j = start; j < end; j += ${inner}) if (${X}[j] > max) max = ${X}[j]; let sum = 0; for (let j = start; j < end; j += ${inner}) sum += Math.exp(${X}[j] - max); const shift = max + Math.log(sum); for (let j = start; j < end; j += ${inner}) ${O}[j] = ${X}[j] - shift; }`,
        );
        return true;
      }
      case 'logSoftmaxBackward': {
        // The reference's loop: the line's sum of g in double, then g - exp(out)·sum per element.
        const [g, out, outer, size, inner, dx] = a as [TypedArray, TypedArray, number, number, number, TypedArray];
        const [G, O, D] = [this.v(g), this.v(out), this.v(dx)];
        L.push(
          `for (let o = 0; o < ${outer}; o++) for (let i = 0; i < ${inner}; i++) { const start = o * ${size * inner} + i, end = start + ${size * inner}; let sum = 0; for (let j = start; j < end; j += ${inner}) sum += ${G}[j]; for (let j = start; j < end; j += ${inner}) ${D}[j] = ${G}[j] - Math.exp(${O}[j]) * sum; }`,
        );
        return true;
      }
      case 'matmul': {
        const [x, y, out, batch, m, n, k, transA, transB] = a as [TypedArray, TypedArray, TypedArray, number, number, number, number, boolean, boolean];
        this.matmul(x, y, out, batch, m, n, k, transA, transB);
        return true;
      }
      case 'addmm': {
        const [bias, x, y, out, m, n, k, transA, transB] = a as [TypedArray, TypedArray, TypedArray, TypedArray, number, number, number, boolean, boolean];
        this.matmul(x, y, out, 1, m, n, k, transA, transB);
        // After the product is stored (rounded), as the reference adds the bias.
        if (m * n <= UNROLL) for (let i = 0; i < m * n; i++) L.push(`${this.v(out)}[${i}] = ${this.v(out)}[${i}] + ${this.v(bias)}[${i % n}];`);
        else L.push(`for (let i = 0; i < ${m}; i++) for (let j = 0; j < ${n}; j++) ${this.v(out)}[i * ${n} + j] += ${this.v(bias)}[j];`);
        return true;
      }
      default:
        return false;
    }
  }

  /** The reference matmul's loops: i-k-j into a double row for plain B, dot products for transposed B. */
  private matmul(x: TypedArray, y: TypedArray, out: TypedArray, batch: number, m: number, n: number, k: number, transA: boolean, transB: boolean): void {
    const A = this.v(x);
    const B = this.v(y);
    const C = this.v(out);
    const aAt = (ao: string, i: string, q: string) => (transA ? `${A}[${ao} + ${q} * ${m} + ${i}]` : `${A}[${ao} + ${i} * ${k} + ${q}]`);
    const L = this.lines;
    if (batch * m * n * k <= UNROLL * 4) {
      // Each output as one expression: 0 + the products in order of q, summed in double as the reference's row or dot does.
      for (let p = 0; p < batch; p++) {
        for (let i = 0; i < m; i++) {
          for (let j = 0; j < n; j++) {
            const terms: string[] = ['0'];
            for (let q = 0; q < k; q++) {
              const ai = p * m * k + (transA ? q * m + i : i * k + q);
              const bi = p * k * n + (transB ? j * k + q : q * n + j);
              terms.push(`${A}[${ai}] * ${B}[${bi}]`);
            }
            L.push(`${C}[${p * m * n + i * n + j}] = ${terms.join(' + ')};`);
          }
        }
      }
      return;
    }
    L.push(`for (let p = 0; p < ${batch}; p++) { const ao = p * ${m * k}, bo = p * ${k * n}, co = p * ${m * n};`);
    if (!transB) {
      const row = this.v(new Float64Array(n));
      L.push(
        `for (let i = 0; i < ${m}; i++) { ${row}.fill(0); for (let q = 0; q < ${k}; q++) { const av = ${aAt('ao', 'i', 'q')}; const br = bo + q * ${n}; for (let j = 0; j < ${n}; j++) ${row}[j] += av * ${B}[br + j]; } for (let j = 0; j < ${n}; j++) ${C}[co + i * ${n} + j] = ${row}[j]; }`,
      );
    } else {
      L.push(
        `for (let i = 0; i < ${m}; i++) for (let j = 0; j < ${n}; j++) { const br = bo + j * ${k}; let s = 0; for (let q = 0; q < ${k}; q++) s += ${aAt('ao', 'i', 'q')} * ${B}[br + q]; ${C}[co + i * ${n} + j] = s; }`,
      );
    }
    L.push('}');
  }
}

/** Whether the generator writes this kernel call out (a known kernel, no array past CODEGEN_MAX_ELEMENTS). */
function writable(n: GenNode, ref: RefKernels): boolean {
  if (n.kind === 'host') return true;
  for (const arg of n.args) if (isTyped(arg) && arg.length > CODEGEN_MAX_ELEMENTS) return false;
  return new Emitter(ref).kernel(n.name, n.args);
}

/**
 * The nodes as one function, or null when a kernel is not one the generator
 * writes, an array is larger than CODEGEN_MAX_ELEMENTS, or the platform
 * refuses code generation.
 */
export function generateStep(nodes: readonly GenNode[], ref: RefKernels): (() => void) | null {
  const e = new Emitter(ref);
  for (const n of nodes) {
    if (n.kind === 'host') {
      e.lines.push(`${e.v(n.run)}();`);
      continue;
    }
    for (const arg of n.args) if (isTyped(arg) && arg.length > CODEGEN_MAX_ELEMENTS) return null;
    if (!e.kernel(n.name, n.args)) return null;
  }
  const names = e.values.map((_, i) => `v${i}`);
  const body = `"use strict";\nconst [${names.join(', ')}] = values;\nreturn function step() {\n${e.lines.join('\n')}\n};`;
  try {
    const make = new Function('values', body) as (values: unknown[]) => () => void;
    return make(e.values);
  } catch {
    // A Content-Security-Policy without 'unsafe-eval' refuses new Function: the plan runs as a list of calls.
    return null;
  }
}

/** A run of a plan's nodes, [start, end), that runs as one generated function. */
export interface Segment {
  readonly start: number;
  readonly end: number;
  readonly kernels: number;
  readonly run: () => void;
}

/**
 * Runs of consecutive nodes on the reference's code, fused into generated
 * functions, for a plan that also calls a compiled backend's kernels. Between
 * two products on the native backend a loss or a normalisation is a chain of
 * small element-wise kernels and reductions; each call costs more than its
 * arithmetic, and as one function the chain costs one call (the values and
 * their order are the reference's, so nothing changes in the result).
 * `onReference[i]` says whether node i's kernel is the reference's; host steps
 * may sit inside a run. Runs of fewer than two kernels are left as they are.
 */
export function generateSegments(nodes: readonly GenNode[], onReference: readonly boolean[], ref: RefKernels): Segment[] {
  const segments: Segment[] = [];
  let i = 0;
  while (i < nodes.length) {
    if (nodes[i].kind === 'host' || !onReference[i] || !writable(nodes[i], ref)) {
      i++;
      continue;
    }
    let end = i;
    let kernels = 0;
    let lastKernel = i;
    while (end < nodes.length && (nodes[end].kind === 'host' || (onReference[end] && writable(nodes[end], ref)))) {
      if (nodes[end].kind === 'kernel') {
        kernels++;
        lastKernel = end;
      }
      end++;
    }
    // A run starts and ends with a kernel; host steps after its last kernel stay outside.
    end = lastKernel + 1;
    if (kernels >= 2) {
      const run = generateStep(nodes.slice(i, end), ref);
      if (run === null) return segments; // code generation refused: nothing will be generated
      segments.push({ start: i, end, kernels, run });
    }
    i = end;
  }
  return segments;
}
