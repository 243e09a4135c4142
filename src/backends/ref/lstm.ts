import type { TypedArray } from '../../core/dtype.js';

// The same two-branch logistic as the reference `sigmoid` kernel, so that the
// fused cell and the composite one agree to the last bit in float64.
function sigmoid(v: number): number {
  if (v >= 0) return 1 / (1 + Math.exp(-v));
  const e = Math.exp(v);
  return e / (1 + e);
}

/** See Kernels.lstmCellForward. Rows are independent; each is [i | f | g | o] blocks of `hidden`. */
export function lstmCellForward(
  gates: TypedArray,
  cPrev: TypedArray,
  outC: TypedArray,
  outH: TypedArray,
  outGates: TypedArray,
  n: number,
  hidden: number,
): void {
  const width = 4 * hidden;
  for (let r = 0; r < n; r++) {
    const g0 = r * width;
    const s0 = r * hidden;
    for (let j = 0; j < hidden; j++) {
      const gi = g0 + j;
      const gf = gi + hidden;
      const gg = gf + hidden;
      const go = gg + hidden;
      const i = sigmoid(gates[gi]);
      const f = sigmoid(gates[gf]);
      const g = Math.tanh(gates[gg]);
      const o = sigmoid(gates[go]);
      // Round c to the storage type before tanh, as the composite path (which stores every intermediate) does.
      outC[s0 + j] = f * cPrev[s0 + j] + i * g;
      outH[s0 + j] = o * Math.tanh(outC[s0 + j]);
      outGates[gi] = i;
      outGates[gf] = f;
      outGates[gg] = g;
      outGates[go] = o;
    }
  }
}

/** See Kernels.lstmCellBackward. Every input value is read before the outputs at the same index are written, so in-place use is safe. */
export function lstmCellBackward(
  gatesAct: TypedArray,
  cPrev: TypedArray,
  c: TypedArray,
  dh: TypedArray | null,
  dc: TypedArray | null,
  dGates: TypedArray,
  dcPrev: TypedArray,
  n: number,
  hidden: number,
): void {
  const width = 4 * hidden;
  for (let r = 0; r < n; r++) {
    const g0 = r * width;
    const s0 = r * hidden;
    for (let j = 0; j < hidden; j++) {
      const gi = g0 + j;
      const gf = gi + hidden;
      const gg = gf + hidden;
      const go = gg + hidden;
      const i = gatesAct[gi];
      const f = gatesAct[gf];
      const g = gatesAct[gg];
      const o = gatesAct[go];
      const tc = Math.tanh(c[s0 + j]);
      const dhv = dh === null ? 0 : dh[s0 + j];
      const dcv = dc === null ? 0 : dc[s0 + j];
      const cp = cPrev[s0 + j];
      // h = o·tanh(c) feeds c's gradient through tanh' = 1 - tanh².
      const dC = dcv + dhv * o * (1 - tc * tc);
      dGates[gi] = dC * g * i * (1 - i);
      dGates[gf] = dC * cp * f * (1 - f);
      dGates[gg] = dC * i * (1 - g * g);
      dGates[go] = dhv * tc * o * (1 - o);
      dcPrev[s0 + j] = dC * f;
    }
  }
}
