import type { TypedArray } from '../../core/dtype.js';
import type { Shape } from '../../core/shape.js';
import type { BinaryOp, CompareOp, PredicateOp, UnaryOp } from '../../kernels/contract.js';
import { erf } from './special.js';

export function unary(op: UnaryOp, x: TypedArray, out: TypedArray): void {
  const n = x.length;
  switch (op) {
    case 'neg':
      for (let i = 0; i < n; i++) out[i] = -x[i];
      return;
    case 'abs':
      for (let i = 0; i < n; i++) out[i] = Math.abs(x[i]);
      return;
    case 'sign':
      for (let i = 0; i < n; i++) out[i] = Math.sign(x[i]);
      return;
    case 'exp':
      for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]);
      return;
    case 'log':
      for (let i = 0; i < n; i++) out[i] = Math.log(x[i]);
      return;
    case 'log1p':
      for (let i = 0; i < n; i++) out[i] = Math.log1p(x[i]);
      return;
    case 'expm1':
      for (let i = 0; i < n; i++) out[i] = Math.expm1(x[i]);
      return;
    case 'sqrt':
      for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]);
      return;
    case 'rsqrt':
      for (let i = 0; i < n; i++) out[i] = 1 / Math.sqrt(x[i]);
      return;
    case 'reciprocal':
      for (let i = 0; i < n; i++) out[i] = 1 / x[i];
      return;
    case 'square':
      for (let i = 0; i < n; i++) out[i] = x[i] * x[i];
      return;
    case 'sin':
      for (let i = 0; i < n; i++) out[i] = Math.sin(x[i]);
      return;
    case 'cos':
      for (let i = 0; i < n; i++) out[i] = Math.cos(x[i]);
      return;
    case 'tanh':
      for (let i = 0; i < n; i++) out[i] = Math.tanh(x[i]);
      return;
    case 'sigmoid':
      // Two branches so that exp() only ever sees a non-positive argument and cannot overflow.
      for (let i = 0; i < n; i++) {
        const v = x[i];
        if (v >= 0) out[i] = 1 / (1 + Math.exp(-v));
        else {
          const e = Math.exp(v);
          out[i] = e / (1 + e);
        }
      }
      return;
    case 'relu':
      for (let i = 0; i < n; i++) {
        const v = x[i];
        out[i] = Math.max(v, 0);
      }
      return;
    case 'erf':
      for (let i = 0; i < n; i++) out[i] = erf(x[i]);
      return;
    case 'floor':
      for (let i = 0; i < n; i++) out[i] = Math.floor(x[i]);
      return;
    case 'ceil':
      for (let i = 0; i < n; i++) out[i] = Math.ceil(x[i]);
      return;
    // Round half to even, as NumPy and PyTorch do.
    case 'round':
      for (let i = 0; i < n; i++) {
        const v = x[i];
        const r = Math.round(v);
        out[i] = Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
      }
      return;
    case 'copy':
      out.set(x);
      return;
  }
}

export function reluBackward(x: TypedArray, g: TypedArray, out: TypedArray): void {
  for (let i = 0; i < x.length; i++) out[i] = x[i] <= 0 ? 0 : g[i];
}

export function predicate(op: PredicateOp, x: TypedArray, out: Uint8Array): void {
  const n = x.length;
  switch (op) {
    case 'isnan':
      for (let i = 0; i < n; i++) out[i] = x[i] !== x[i] ? 1 : 0;
      return;
    case 'isfinite':
      for (let i = 0; i < n; i++) out[i] = Number.isFinite(x[i]) ? 1 : 0;
      return;
    case 'isinf':
      for (let i = 0; i < n; i++) {
        const v = x[i];
        out[i] = v === Infinity || v === -Infinity ? 1 : 0;
      }
      return;
    case 'not':
      for (let i = 0; i < n; i++) out[i] = x[i] ? 0 : 1;
      return;
  }
}

/**
 * Broadcast iteration plan: the output's dims, merged where both inputs are
 * laid out contiguously across them, with each input's stride per merged dim
 * (0 where it is broadcast). The innermost merged dim is the inner loop.
 */
export interface BroadcastPlan {
  dims: number[];
  strides: number[][];
}

export function planBroadcast(outShape: Shape, inputShapes: readonly Shape[]): BroadcastPlan {
  const rank = outShape.length;
  const raw = inputShapes.map((s) => {
    const st = new Array<number>(rank).fill(0);
    let acc = 1;
    for (let i = s.length - 1; i >= 0; i--) {
      const d = i + rank - s.length;
      st[d] = s[i] === 1 ? 0 : acc;
      acc *= s[i];
    }
    return st;
  });
  const dims: number[] = [];
  const strides: number[][] = inputShapes.map(() => []);
  for (let d = 0; d < rank; d++) {
    const size = outShape[d];
    if (size === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && raw.every((st, k) => strides[k][last] === st[d] * size)) {
      dims[last] *= size;
      raw.forEach((st, k) => {
        strides[k][last] = st[d];
      });
    } else {
      dims.push(size);
      raw.forEach((st, k) => {
        strides[k].push(st[d]);
      });
    }
  }
  if (dims.length === 0) {
    dims.push(1);
    for (const s of strides) s.push(0);
  }
  return { dims, strides };
}

/** Calls body(offsets..., outOffset, innerLength) for every inner row of the plan. */
function forEachRow(plan: BroadcastPlan, body: (oa: number, ob: number, oc: number, out: number, n: number) => void): void {
  const { dims, strides } = plan;
  const r = dims.length;
  const inner = dims[r - 1];
  const sa = strides[0];
  const sb = strides[1] ?? sa;
  const sc = strides[2] ?? sa;
  let rows = 1;
  for (let i = 0; i < r - 1; i++) rows *= dims[i];
  const idx = new Array<number>(Math.max(r - 1, 0)).fill(0);
  let oa = 0;
  let ob = 0;
  let oc = 0;
  for (let row = 0; row < rows; row++) {
    body(oa, ob, oc, row * inner, inner);
    for (let d = r - 2; d >= 0; d--) {
      idx[d]++;
      oa += sa[d];
      ob += sb[d];
      oc += sc[d];
      if (idx[d] < dims[d]) break;
      oa -= sa[d] * dims[d];
      ob -= sb[d] * dims[d];
      oc -= sc[d] * dims[d];
      idx[d] = 0;
    }
  }
}

export function binary(op: BinaryOp, a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, out: TypedArray, outShape: Shape): void {
  // Same-size operands and scalar operands need no broadcast plan; they are most calls in a small network.
  const n = out.length;
  if ((a.length === n || a.length === 1) && (b.length === n || b.length === 1)) {
    binaryRow(op, a, 0, a.length === 1 ? 0 : 1, b, 0, b.length === 1 ? 0 : 1, out, 0, n);
    return;
  }
  const plan = planBroadcast(outShape, [aShape, bShape]);
  const r = plan.dims.length - 1;
  const sa = plan.strides[0][r];
  const sb = plan.strides[1][r];
  forEachRow(plan, (ia, ib, _ic, io, n) => binaryRow(op, a, ia, sa, b, ib, sb, out, io, n));
}

function binaryRow(op: BinaryOp, a: TypedArray, ia: number, sa: number, b: TypedArray, ib: number, sb: number, out: TypedArray, io: number, n: number): void {
  switch (op) {
    case 'add':
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i * sa] + b[ib + i * sb];
      return;
    case 'sub':
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i * sa] - b[ib + i * sb];
      return;
    case 'mul':
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i * sa] * b[ib + i * sb];
      return;
    case 'div':
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i * sa] / b[ib + i * sb];
      return;
    case 'pow':
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i * sa] ** b[ib + i * sb];
      return;
    case 'atan2':
      for (let i = 0; i < n; i++) out[io + i] = Math.atan2(a[ia + i * sa], b[ib + i * sb]);
      return;
    // NaN propagates, as in PyTorch's maximum/minimum.
    case 'maximum':
      for (let i = 0; i < n; i++) {
        const x = a[ia + i * sa];
        const y = b[ib + i * sb];
        out[io + i] = x !== x || y !== y ? Number.NaN : Math.max(x, y);
      }
      return;
    case 'minimum':
      for (let i = 0; i < n; i++) {
        const x = a[ia + i * sa];
        const y = b[ib + i * sb];
        out[io + i] = x !== x || y !== y ? Number.NaN : Math.min(x, y);
      }
      return;
  }
}

export function compare(op: CompareOp, a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, out: Uint8Array, outShape: Shape): void {
  const n = out.length;
  if ((a.length === n || a.length === 1) && (b.length === n || b.length === 1)) {
    // No broadcast plan for same-size or scalar operands (masks such as x > 0).
    compareRow(op, a, 0, a.length === 1 ? 0 : 1, b, 0, b.length === 1 ? 0 : 1, out, 0, n);
    return;
  }
  const plan = planBroadcast(outShape, [aShape, bShape]);
  const r = plan.dims.length - 1;
  const sa = plan.strides[0][r];
  const sb = plan.strides[1][r];
  forEachRow(plan, (ia, ib, _ic, io, len) => compareRow(op, a, ia, sa, b, ib, sb, out, io, len));
}

function compareRow(op: CompareOp, a: TypedArray, ia: number, sa: number, b: TypedArray, ib: number, sb: number, out: Uint8Array, io: number, n: number): void {
  switch (op) {
    case 'eq':
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i * sa] === b[ib + i * sb] ? 1 : 0;
      return;
    case 'ne':
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i * sa] !== b[ib + i * sb] ? 1 : 0;
      return;
    case 'lt':
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i * sa] < b[ib + i * sb] ? 1 : 0;
      return;
    case 'le':
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i * sa] <= b[ib + i * sb] ? 1 : 0;
      return;
    case 'gt':
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i * sa] > b[ib + i * sb] ? 1 : 0;
      return;
    case 'ge':
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i * sa] >= b[ib + i * sb] ? 1 : 0;
      return;
    case 'and':
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i * sa] && b[ib + i * sb] ? 1 : 0;
      return;
    case 'or':
      for (let i = 0; i < n; i++) out[io + i] = a[ia + i * sa] || b[ib + i * sb] ? 1 : 0;
      return;
    case 'xor':
      for (let i = 0; i < n; i++) out[io + i] = (a[ia + i * sa] ? 1 : 0) !== (b[ib + i * sb] ? 1 : 0) ? 1 : 0;
      return;
  }
}

export function where(cond: Uint8Array, cShape: Shape, a: TypedArray, aShape: Shape, b: TypedArray, bShape: Shape, out: TypedArray, outShape: Shape): void {
  const plan = planBroadcast(outShape, [aShape, bShape, cShape]);
  const r = plan.dims.length - 1;
  const sa = plan.strides[0][r];
  const sb = plan.strides[1][r];
  const sc = plan.strides[2][r];
  forEachRow(plan, (ia, ib, ic, io, n) => {
    for (let i = 0; i < n; i++) out[io + i] = cond[ic + i * sc] ? a[ia + i * sa] : b[ib + i * sb];
  });
}

export function cast(x: TypedArray, out: TypedArray): void {
  const n = x.length;
  if (out instanceof Uint8Array) {
    for (let i = 0; i < n; i++) out[i] = x[i] !== 0 ? 1 : 0;
  } else if (out instanceof Int32Array && !(x instanceof Int32Array) && !(x instanceof Uint8Array)) {
    // Truncate toward zero like a C cast; NaN becomes 0.
    for (let i = 0; i < n; i++) out[i] = Math.trunc(x[i]);
  } else {
    out.set(x);
  }
}
