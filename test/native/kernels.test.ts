// Parity of the native element-wise, reduction, loss and LSTM-cell kernels
// against float64 JS references.
import assert from 'node:assert/strict';

import { isaPaths, nativeTest, rng, threadCounts } from './harness.js';

/** |got - want| <= rel * |want| + abs, NaN must match NaN, infinities exactly. */
function assertClose(label: string, got: ArrayLike<number>, want: ArrayLike<number>, rel: number, abs: number): void {
  assert.equal(got.length, want.length, `${label}: length`);
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (Number.isNaN(w)) {
      if (!Number.isNaN(g)) assert.fail(`${label}[${i}]: got ${g}, want NaN`);
      continue;
    }
    if (!Number.isFinite(w)) {
      if (g !== w) assert.fail(`${label}[${i}]: got ${g}, want ${w}`);
      continue;
    }
    if (!(Math.abs(g - w) <= rel * Math.abs(w) + abs)) assert.fail(`${label}[${i}]: got ${g}, want ${w}`);
  }
}

const SIZES = [1, 7, 8, 9, 33, 257, 70001];

/** Random float32 values over several magnitudes plus special values. */
function specialInput(n: number, rand: () => number, spread: number): Float32Array {
  const x = new Float32Array(n);
  const specials = [0, -0, 1, -1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e-8, -1e-8, 88.5, -88.5, 100, -100, 0.625, -0.625, 0.624];
  for (let i = 0; i < n; i++) {
    if (i < specials.length && n >= specials.length) x[i] = specials[i];
    else x[i] = (rand() * 2 - 1) * spread * (rand() < 0.5 ? 1 : rand() * 0.01);
  }
  return x;
}

nativeTest('exp / sigmoid / tanh match Math on every ISA path (1e-5 relative)', (a) => {
  const rand = rng(42);
  const fns: [string, (x: Float32Array, out: Float32Array, n: number) => void, (v: number) => number][] = [
    ['exp', (x, o, n) => a.exp(x, o, n), Math.exp],
    ['sigmoid', (x, o, n) => a.sigmoid(x, o, n), (v) => 1 / (1 + Math.exp(-v))],
    ['tanh', (x, o, n) => a.tanh(x, o, n), Math.tanh],
  ];
  for (const isa of isaPaths(a)) {
    a.setIsa(isa);
    for (const threads of threadCounts(a)) {
      a.setNumThreads(threads);
      for (const n of SIZES) {
        for (const [name, fn, ref] of fns) {
          const x = specialInput(n, rand, name === 'exp' ? 90 : 20);
          const out = new Float32Array(n);
          fn(x, out, n);
          // Reference on the float32 inputs, rounded to float32.
          const want = Array.from(x, (v) => Math.fround(ref(v)));
          // Absolute floor: float32 subnormals for exp, 1e-7 for the bounded functions.
          assertClose(`${name}[${isa},t${threads},n=${n}]`, out, want, 1e-5, name === 'exp' ? 1e-37 : 1e-7);
          // In place.
          const y = x.slice();
          fn(y, y, n);
          assert.deepEqual(y, out);
        }
      }
    }
  }
});

nativeTest('tanh and sigmoid keep relative accuracy near 0', (a) => {
  const x = Float32Array.from([1e-3, -1e-3, 1e-5, 3e-4, 0.1, 0.5, 0.6249, 0.6251]);
  const out = new Float32Array(x.length);
  for (const isa of isaPaths(a)) {
    a.setIsa(isa);
    a.tanh(x, out, x.length);
    assertClose(
      `tanh small [${isa}]`,
      out,
      Array.from(x, (v) => Math.tanh(v)),
      2e-6,
      0,
    );
    a.sigmoid(x, out, x.length);
    assertClose(
      `sigmoid small [${isa}]`,
      out,
      Array.from(x, (v) => 1 / (1 + Math.exp(-v))),
      2e-6,
      0,
    );
  }
});

nativeTest('relu / reluBackward / add / sub / mul / div / biasAdd are exact', (a) => {
  const rand = rng(7);
  for (const threads of threadCounts(a)) {
    a.setNumThreads(threads);
    for (const n of [...SIZES, 140001]) {
      const x = specialInput(n, rand, 10);
      const y = specialInput(n, rand, 10);
      for (let i = 0; i < n; i += 13) y[i] = x[i]; // some equal operands
      const out = new Float32Array(n);
      a.relu(x, out, n);
      // Not Math.max: relu keeps -0 (and NaN) as the kernel does.
      // biome-ignore lint/complexity/useMathMinMax: see above
      const reluRef = (v: number): number => (v < 0 ? 0 : v);
      assert.deepEqual(out, Float32Array.from(x, reluRef));
      a.reluBackward(x, y, out, n);
      assert.deepEqual(
        out,
        Float32Array.from(x, (v, i) => (v <= 0 ? 0 : y[i])),
      );
      const ops: [string, (p: Float32Array, q: Float32Array, o: Float32Array, k: number) => void, (p: number, q: number) => number][] = [
        ['add', (p, q, o, k) => a.add(p, q, o, k), (p, q) => p + q],
        ['sub', (p, q, o, k) => a.sub(p, q, o, k), (p, q) => p - q],
        ['mul', (p, q, o, k) => a.mul(p, q, o, k), (p, q) => p * q],
        ['div', (p, q, o, k) => a.div(p, q, o, k), (p, q) => p / q],
      ];
      for (const [name, fn, ref] of ops) {
        fn(x, y, out, n);
        const want = Float32Array.from(x, (v, i) => ref(v, y[i]));
        assert.deepEqual(out, want, `${name} n=${n}`);
      }
      // In place on a subarray (byteOffset != 0).
      const buf = new Float32Array(n + 3);
      buf.set(x, 3);
      const view = buf.subarray(3);
      a.add(view, y, view, n);
      assert.deepEqual(
        view,
        Float32Array.from(x, (v, i) => v + y[i]),
      );
      assert.equal(buf[0], 0);
    }
    for (const [rows, cols] of [
      [1, 1],
      [7, 33],
      [257, 9],
      [3000, 100],
    ] as const) {
      const x = Float32Array.from({ length: rows * cols }, () => rand() * 4 - 2);
      const b = Float32Array.from({ length: cols }, () => rand() * 4 - 2);
      const out = new Float32Array(rows * cols);
      a.biasAdd(x, b, out, rows, cols);
      assert.deepEqual(
        out,
        Float32Array.from(x, (v, i) => v + b[i % cols]),
      );
      a.biasAdd(x, b, x, rows, cols);
      assert.deepEqual(x, out);
    }
  }
});

nativeTest('sumRows and sumAll match double-precision sums', (a) => {
  const rand = rng(11);
  for (const threads of threadCounts(a)) {
    a.setNumThreads(threads);
    for (const [rows, cols] of [
      [1, 1],
      [0, 5],
      [7, 1],
      [33, 257],
      [1000, 300],
      [70000, 3],
    ] as const) {
      const x = Float32Array.from({ length: rows * cols }, () => rand() * 2 - 1);
      const out = new Float32Array(cols).fill(99);
      a.sumRows(x, out, rows, cols);
      const want = new Float32Array(cols);
      for (let j = 0; j < cols; j++) {
        let s = 0;
        for (let i = 0; i < rows; i++) s += x[i * cols + j];
        want[j] = s;
      }
      assert.deepEqual(out, want, `sumRows ${rows}x${cols}`);
      let total = 0;
      for (const v of x) total += v;
      const got = a.sumAll(x, x.length);
      assert.ok(Math.abs(got - total) <= 1e-12 * (x.length + 1), `sumAll ${got} vs ${total}`);
    }
  }
  // n shorter than the array: only the first n count.
  assert.equal(a.sumAll(Float32Array.from([1, 2, 3, 4]), 2), 3);
});

nativeTest('sumAxis sums every axis but one, in double, the same on every thread count', (a) => {
  const rand = rng(12);
  for (const [outer, C, inner] of [
    [1, 1, 1],
    [64, 6, 784],
    [3, 17, 1],
    [1, 5, 70000],
  ] as const) {
    const x = Float32Array.from({ length: outer * C * inner }, () => rand() * 2 - 1);
    const want = new Float32Array(C);
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) s += x[(o * C + c) * inner + i];
      want[c] = s;
    }
    const results = threadCounts(a).map((threads) => {
      a.setNumThreads(threads);
      const out = new Float32Array(C).fill(99);
      a.sumAxis(x, out, outer, C, inner);
      return out;
    });
    for (const out of results) {
      for (let c = 0; c < C; c++) assert.ok(Math.abs(out[c] - want[c]) <= 1e-6 * (1 + Math.abs(want[c])), `sumAxis ${outer}x${C}x${inner} [${c}]`);
      assert.deepEqual(out, results[0], 'sumAxis differs between thread counts');
    }
  }
});

function xentRef(x: Float32Array, labels: Int32Array, n: number, c: number): { loss: number[]; grad: number[] } {
  const loss: number[] = [];
  const grad: number[] = [];
  for (let i = 0; i < n; i++) {
    let m = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < c; j++) m = Math.max(m, x[i * c + j]);
    let s = 0;
    for (let j = 0; j < c; j++) s += Math.exp(x[i * c + j] - m);
    loss.push(m + Math.log(s) - x[i * c + labels[i]]);
    for (let j = 0; j < c; j++) grad.push(Math.exp(x[i * c + j] - m) / s - (j === labels[i] ? 1 : 0));
  }
  return { loss, grad };
}

nativeTest('softmaxCrossEntropy: stable loss and gradient', (a) => {
  const rand = rng(5);
  for (const isa of isaPaths(a)) {
    a.setIsa(isa);
    for (const threads of threadCounts(a)) {
      a.setNumThreads(threads);
      for (const [n, c, scale] of [
        [1, 1, 1],
        [1, 10, 1],
        [7, 33, 5],
        [64, 10, 1000],
        [500, 257, 3],
      ] as const) {
        const x = Float32Array.from({ length: n * c }, () => (rand() * 2 - 1) * scale);
        const labels = Int32Array.from({ length: n }, () => Math.floor(rand() * c));
        const loss = new Float32Array(n);
        const grad = new Float32Array(n * c);
        const total = a.softmaxCrossEntropy(x, labels, loss, grad, n, c);
        const ref = xentRef(x, labels, n, c);
        const lossTol = 2e-6 * Math.max(1, scale);
        assertClose(`xent loss [${isa},t${threads}] ${n}x${c}`, loss, ref.loss, 1e-5, lossTol);
        assertClose(`xent grad [${isa},t${threads}] ${n}x${c}`, grad, ref.grad, 1e-5, 1e-6);
        const refTotal = ref.loss.reduce((p, q) => p + q, 0);
        assert.ok(Math.abs(total - refTotal) <= 1e-5 * Math.abs(refTotal) + lossTol * n, `xent total ${total} vs ${refTotal}`);
        // Loss only (no gradient buffer) gives the same losses.
        const loss2 = new Float32Array(n);
        a.softmaxCrossEntropy(x, labels, loss2, null, n, c);
        assert.deepEqual(loss2, loss);
      }
    }
  }
  const bad = Int32Array.from([0, 3]);
  assert.throws(
    () => a.softmaxCrossEntropy(new Float32Array(6), bad, new Float32Array(2), null, 2, 3),
    (e: unknown) => e instanceof RangeError && /softmaxCrossEntropy/.test(e.message) && /labels\[1\]/.test(e.message),
  );
});

const sig = (v: number): number => 1 / (1 + Math.exp(-v));

nativeTest('lstmCellForward / lstmCellBackward match the documented formulas', (a) => {
  const rand = rng(21);
  for (const isa of isaPaths(a)) {
    a.setIsa(isa);
    for (const threads of threadCounts(a)) {
      a.setNumThreads(threads);
      for (const [n, H] of [
        [1, 1],
        [3, 7],
        [5, 33],
        [64, 257],
      ] as const) {
        const gates = Float32Array.from({ length: n * 4 * H }, () => (rand() * 2 - 1) * 3);
        const cPrev = Float32Array.from({ length: n * H }, () => rand() * 2 - 1);
        const outC = new Float32Array(n * H);
        const outH = new Float32Array(n * H);
        const act = new Float32Array(n * 4 * H);
        a.lstmCellForward(gates, cPrev, outC, outH, act, n, H);
        const wantAct: number[] = [];
        const wantC: number[] = [];
        const wantH: number[] = [];
        for (let r = 0; r < n; r++) {
          const base = r * 4 * H;
          for (let q = 0; q < 4; q++)
            for (let j = 0; j < H; j++) {
              const v = gates[base + q * H + j];
              wantAct.push(q === 2 ? Math.tanh(v) : sig(v));
            }
          for (let j = 0; j < H; j++) {
            const i = wantAct[base + j];
            const f = wantAct[base + H + j];
            const g = wantAct[base + 2 * H + j];
            const o = wantAct[base + 3 * H + j];
            const c = f * cPrev[r * H + j] + i * g;
            wantC.push(c);
            wantH.push(o * Math.tanh(c));
          }
        }
        const tag = `[${isa},t${threads}] n=${n} H=${H}`;
        assertClose(`lstm act ${tag}`, act, wantAct, 1e-5, 1e-6);
        assertClose(`lstm c ${tag}`, outC, wantC, 1e-5, 1e-6);
        assertClose(`lstm h ${tag}`, outH, wantH, 1e-5, 1e-6);

        const dh = Float32Array.from({ length: n * H }, () => rand() * 2 - 1);
        const dc = Float32Array.from({ length: n * H }, () => rand() * 2 - 1);
        for (const [useDh, useDc] of [
          [true, true],
          [true, false],
          [false, true],
        ] as const) {
          const dG = new Float32Array(n * 4 * H);
          const dcPrev = new Float32Array(n * H);
          a.lstmCellBackward(act, cPrev, outC, useDh ? dh : null, useDc ? dc : null, dG, dcPrev, n, H);
          const wantDG: number[] = new Array<number>(n * 4 * H);
          const wantDc: number[] = [];
          for (let r = 0; r < n; r++) {
            for (let j = 0; j < H; j++) {
              const b = r * 4 * H;
              const i = act[b + j];
              const f = act[b + H + j];
              const g = act[b + 2 * H + j];
              const o = act[b + 3 * H + j];
              const tc = Math.tanh(outC[r * H + j]);
              const dhj = useDh ? dh[r * H + j] : 0;
              const dcj = useDc ? dc[r * H + j] : 0;
              const dC = dcj + dhj * o * (1 - tc * tc);
              wantDc.push(dC * f);
              wantDG[b + j] = dC * g * i * (1 - i);
              wantDG[b + H + j] = dC * cPrev[r * H + j] * f * (1 - f);
              wantDG[b + 2 * H + j] = dC * i * (1 - g * g);
              wantDG[b + 3 * H + j] = dhj * tc * o * (1 - o);
            }
          }
          assertClose(`lstm dGates ${tag} dh=${useDh} dc=${useDc}`, dG, wantDG, 1e-5, 1e-6);
          assertClose(`lstm dcPrev ${tag} dh=${useDh} dc=${useDc}`, dcPrev, wantDc, 1e-5, 1e-6);
          if (useDh && useDc) {
            // In place: dGates over the activations, dcPrev over dc.
            const actCopy = act.slice();
            const dcCopy = dc.slice();
            a.lstmCellBackward(actCopy, cPrev, outC, dh, dcCopy, actCopy, dcCopy, n, H);
            assert.deepEqual(actCopy, dG);
            assert.deepEqual(dcCopy, dcPrev);
          }
        }
      }
    }
  }
});

nativeTest('LSTM cell forward/backward agrees with finite differences', (a) => {
  a.setIsa('auto');
  const rand = rng(8);
  const n = 2;
  const H = 3;
  const gates = Float64Array.from({ length: n * 4 * H }, () => rand() * 2 - 1);
  const cPrev = Float64Array.from({ length: n * H }, () => rand() * 2 - 1);
  const wH = Float64Array.from({ length: n * H }, () => rand() * 2 - 1);
  const wC = Float64Array.from({ length: n * H }, () => rand() * 2 - 1);
  // L = sum(wH * h) + sum(wC * c); computed through the native forward.
  const lossAt = (g: Float64Array, cp: Float64Array): number => {
    const outC = new Float32Array(n * H);
    const outH = new Float32Array(n * H);
    a.lstmCellForward(Float32Array.from(g), Float32Array.from(cp), outC, outH, new Float32Array(n * 4 * H), n, H);
    let s = 0;
    for (let i = 0; i < n * H; i++) s += wH[i] * outH[i] + wC[i] * outC[i];
    return s;
  };
  const act = new Float32Array(n * 4 * H);
  const outC = new Float32Array(n * H);
  a.lstmCellForward(Float32Array.from(gates), Float32Array.from(cPrev), outC, new Float32Array(n * H), act, n, H);
  const dG = new Float32Array(n * 4 * H);
  const dcPrev = new Float32Array(n * H);
  a.lstmCellBackward(act, Float32Array.from(cPrev), outC, Float32Array.from(wH), Float32Array.from(wC), dG, dcPrev, n, H);
  const eps = 1e-2;
  for (let i = 0; i < gates.length; i++) {
    const gp = gates.slice();
    gp[i] += eps;
    const gm = gates.slice();
    gm[i] -= eps;
    const fd = (lossAt(gp, cPrev) - lossAt(gm, cPrev)) / (2 * eps);
    assert.ok(Math.abs(fd - dG[i]) < 2e-3, `dGates[${i}] ${dG[i]} vs fd ${fd}`);
  }
  for (let i = 0; i < cPrev.length; i++) {
    const cp = cPrev.slice();
    cp[i] += eps;
    const cm = cPrev.slice();
    cm[i] -= eps;
    const fd = (lossAt(gates, cp) - lossAt(gates, cm)) / (2 * eps);
    assert.ok(Math.abs(fd - dcPrev[i]) < 2e-3, `dcPrev[${i}] ${dcPrev[i]} vs fd ${fd}`);
  }
});
