// Parity of the native GEMM kernels (sgemm, dgemm, batched) against a naive
// float64 reference, on awkward sizes, all transpose combinations, padded
// leading dimensions, subarray offsets, every ISA path the CPU supports and
// 1 and 2 threads.
import assert from 'node:assert/strict';

import { isaPaths, nativeTest, rng, threadCounts } from './harness.js';

type FloatArray = Float32Array | Float64Array;

interface Case {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  alpha: number;
  beta: number;
  padA: number;
  padB: number;
  padC: number;
  offset: number;
}

interface Operands<T extends FloatArray> {
  a: T;
  b: T;
  c: T;
  lda: number;
  ldb: number;
  ldc: number;
  c0: T;
}

function makeOperands<T extends FloatArray>(ctor: new (n: number) => T, cs: Case, rand: () => number): Operands<T> {
  const { m, n, k, transA, transB, padA, padB, padC, offset } = cs;
  const lda = (transA ? m : k) + padA || 1;
  const ldb = (transB ? k : n) + padB || 1;
  const ldc = n + padC || 1;
  const aRows = transA ? k : m;
  const bRows = transB ? n : k;
  // Each operand is a subarray of a larger buffer, at an element offset.
  const fill = (len: number): T => {
    const buf = new ctor(len + offset + 5);
    for (let i = 0; i < buf.length; i++) buf[i] = rand() * 2 - 1;
    return buf.subarray(offset, offset + len) as T;
  };
  const a = fill(aRows * lda);
  const b = fill(bRows * ldb);
  const c = fill(m * ldc);
  const c0 = c.slice() as T;
  return { a, b, c, lda, ldb, ldc, c0 };
}

function checkGemm<T extends FloatArray>(label: string, cs: Case, ops: Operands<T>, relTol: number): void {
  const { m, n, k, transA, transB, alpha, beta } = cs;
  const { a, b, c, lda, ldb, ldc, c0 } = ops;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let abs = 0;
      for (let p = 0; p < k; p++) {
        const av = transA ? a[p * lda + i] : a[i * lda + p];
        const bv = transB ? b[j * ldb + p] : b[p * ldb + j];
        s += av * bv;
        abs += Math.abs(av * bv);
      }
      const prev = c0[i * ldc + j];
      const want = alpha * s + (beta === 0 ? 0 : beta * prev);
      const scale = Math.abs(alpha) * abs + (beta === 0 ? 0 : Math.abs(beta * prev));
      const got = c[i * ldc + j];
      const tol = relTol * (k + 4) * scale + 1e-30;
      if (!(Math.abs(got - want) <= tol)) {
        assert.fail(`${label}: C[${i},${j}] = ${got}, want ${want} (tol ${tol})`);
      }
    }
    // Padding columns of C (j >= n) must be untouched.
    for (let j = n; j < ldc && i * ldc + j < c.length; j++) {
      if (!Object.is(c[i * ldc + j], c0[i * ldc + j])) assert.fail(`${label}: wrote C padding [${i},${j}]`);
    }
  }
}

const SIZES: readonly [number, number, number][] = [
  [1, 1, 1],
  [1, 7, 1],
  [7, 1, 7],
  [7, 7, 7],
  [33, 33, 33],
  [1, 257, 33],
  [257, 1, 7],
  [7, 33, 257],
  [13, 19, 5],
  [37, 45, 29],
  [130, 70, 300],
  [70, 130, 300],
  [200, 203, 97],
  // Last row blocks of 2, 4 and 8 rows after whole 14-row (AVX-512) or 6-row tiles, and short products:
  // each takes a narrower micro-kernel (gemm_impl.h's ukernel_rows).
  [16, 40, 50],
  [18, 33, 17],
  [22, 47, 31],
  [4, 20, 9],
  [3, 35, 12],
  // One row (the single-row path): whole vector blocks and tails, and a split across threads.
  [1, 700, 784],
  [1, 65, 3],
];

const TRANS: readonly [boolean, boolean][] = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
];

nativeTest('sgemm matches the reference on all ISA paths, transposes, sizes and thread counts', (a) => {
  const rand = rng(1234);
  for (const isa of isaPaths(a)) {
    a.setIsa(isa);
    for (const threads of threadCounts(a)) {
      a.setNumThreads(threads);
      let idx = 0;
      for (const [m, n, k] of SIZES) {
        for (const [transA, transB] of TRANS) {
          idx++;
          const cs: Case = {
            m,
            n,
            k,
            transA,
            transB,
            alpha: idx % 3 === 0 ? -0.75 : 1,
            beta: idx % 4 === 0 ? 0.5 : idx % 4 === 1 ? 1 : 0,
            padA: idx % 3,
            padB: (idx * 7) % 5,
            padC: idx % 2 === 0 ? 3 : 0,
            offset: idx % 5,
          };
          const ops = makeOperands(Float32Array, cs, rand);
          a.sgemm(transA, transB, m, n, k, cs.alpha, ops.a, ops.lda, ops.b, ops.ldb, cs.beta, ops.c, ops.ldc);
          checkGemm(`sgemm[${isa},t${threads}] ${m}x${n}x${k} tA=${transA} tB=${transB}`, cs, ops, 2e-7);
        }
      }
    }
  }
});

nativeTest('sgemm crosses every cache-block boundary (K > KC, M > MC, N > NC)', (a) => {
  const rand = rng(99);
  const cases: [number, number, number][] = [
    [300, 40, 600],
    [5, 4133, 9],
    [9, 5, 4133],
  ];
  for (const isa of isaPaths(a)) {
    a.setIsa(isa);
    for (const threads of threadCounts(a)) {
      a.setNumThreads(threads);
      for (const [m, n, k] of cases) {
        for (const [transA, transB] of TRANS) {
          const cs: Case = { m, n, k, transA, transB, alpha: 1, beta: 0, padA: 1, padB: 2, padC: 0, offset: 3 };
          const ops = makeOperands(Float32Array, cs, rand);
          a.sgemm(transA, transB, m, n, k, 1, ops.a, ops.lda, ops.b, ops.ldb, 0, ops.c, ops.ldc);
          checkGemm(`sgemm-blocks[${isa},t${threads}] ${m}x${n}x${k} tA=${transA} tB=${transB}`, cs, ops, 2e-7);
        }
      }
    }
  }
});

nativeTest('sgemm with beta = 0 ignores NaN in C; k = 0 scales C; alpha = 0 does not read A/B', (a) => {
  const m = 5;
  const n = 6;
  const k = 4;
  const A = new Float32Array(m * k).fill(1);
  const B = new Float32Array(k * n).fill(2);
  const C = new Float32Array(m * n).fill(Number.NaN);
  a.sgemm(false, false, m, n, k, 1, A, k, B, n, 0, C, n);
  for (const v of C) assert.equal(v, 8);
  a.sgemm(false, false, m, n, 0, 1, A, k, B, n, 0.5, C, n);
  for (const v of C) assert.equal(v, 4);
  a.sgemm(false, false, m, n, 0, 1, A, k, B, n, 0, C, n);
  for (const v of C) assert.equal(v, 0);
  C.fill(3);
  const Anan = new Float32Array(m * k).fill(Number.NaN);
  a.sgemm(false, false, m, n, k, 0, Anan, k, B, n, 2, C, n);
  for (const v of C) assert.equal(v, 6);
  // Empty problems are no-ops.
  a.sgemm(false, false, 0, n, k, 1, new Float32Array(0), k, B, n, 0, new Float32Array(0), n);
});

nativeTest('2-thread sgemm is bit-identical to 1-thread (both split directions)', (a) => {
  if (a.cpuFeatures().maxThreads < 2) return;
  const rand = rng(5);
  for (const [m, n, k] of [
    [300, 100, 200],
    [100, 300, 200],
    [128, 512, 784],
  ] as const) {
    for (const [transA, transB] of TRANS) {
      const cs: Case = { m, n, k, transA, transB, alpha: 1, beta: 0, padA: 0, padB: 0, padC: 0, offset: 0 };
      const ops = makeOperands(Float32Array, cs, rand);
      a.setNumThreads(1);
      a.sgemm(transA, transB, m, n, k, 1, ops.a, ops.lda, ops.b, ops.ldb, 0, ops.c, ops.ldc);
      const one = ops.c.slice();
      a.setNumThreads(2);
      ops.c.fill(0);
      a.sgemm(transA, transB, m, n, k, 1, ops.a, ops.lda, ops.b, ops.ldb, 0, ops.c, ops.ldc);
      assert.deepEqual(ops.c, one);
    }
  }
});

nativeTest('dgemm matches the reference (float64 tolerance)', (a) => {
  const rand = rng(77);
  for (const isa of isaPaths(a)) {
    a.setIsa(isa);
    for (const threads of threadCounts(a)) {
      a.setNumThreads(threads);
      let idx = 0;
      for (const [m, n, k] of [...SIZES, [300, 40, 600] as [number, number, number]]) {
        for (const [transA, transB] of TRANS) {
          idx++;
          const cs: Case = {
            m,
            n,
            k,
            transA,
            transB,
            alpha: idx % 2 ? 1 : 2.5,
            beta: idx % 3 === 0 ? -1 : 0,
            padA: idx % 2,
            padB: idx % 3,
            padC: 1,
            offset: idx % 4,
          };
          const ops = makeOperands(Float64Array, cs, rand);
          a.dgemm(transA, transB, m, n, k, cs.alpha, ops.a, ops.lda, ops.b, ops.ldb, cs.beta, ops.c, ops.ldc);
          checkGemm(`dgemm[${isa},t${threads}] ${m}x${n}x${k} tA=${transA} tB=${transB}`, cs, ops, 4e-16);
        }
      }
    }
  }
});

nativeTest('sgemmBatched / dgemmBatched match per-matrix results, including broadcast (stride 0)', (a) => {
  const rand = rng(3);
  for (const threads of threadCounts(a)) {
    a.setNumThreads(threads);
    for (const [m, n, k, batch] of [
      [3, 5, 7, 4],
      [33, 17, 9, 6],
      [64, 64, 64, 3],
      [2, 2, 2, 1],
    ] as const) {
      for (const [transA, transB] of TRANS) {
        for (const broadcastB of [false, true]) {
          const lda = transA ? m : k;
          const ldb = transB ? k : n;
          const sizeA = m * k;
          const sizeB = k * n;
          const strideA = sizeA + 2;
          const strideB = broadcastB ? 0 : sizeB + 1;
          const strideC = m * n + 3;
          const A = Float32Array.from({ length: strideA * batch }, () => rand() - 0.5);
          const B = Float32Array.from({ length: broadcastB ? sizeB : strideB * batch }, () => rand() - 0.5);
          const C = new Float32Array(strideC * batch).fill(7);
          a.sgemmBatched(transA, transB, m, n, k, 1, A, lda, strideA, B, ldb, strideB, 0, C, n, strideC, batch);
          const Ad = Float64Array.from(A);
          const Bd = Float64Array.from(B);
          const Cd = new Float64Array(C.length).fill(7);
          a.dgemmBatched(transA, transB, m, n, k, 1, Ad, lda, strideA, Bd, ldb, strideB, 0, Cd, n, strideC, batch);
          for (let bi = 0; bi < batch; bi++) {
            const want = new Float32Array(m * n);
            a.sgemm(
              transA,
              transB,
              m,
              n,
              k,
              1,
              A.subarray(bi * strideA, bi * strideA + sizeA),
              lda,
              B.subarray(bi * strideB, bi * strideB + sizeB),
              ldb,
              0,
              want,
              n,
            );
            for (let i = 0; i < m * n; i++) {
              const got = C[bi * strideC + i];
              const tol = 1e-6 * (k + 4);
              assert.ok(Math.abs(got - want[i]) <= tol, `batched sgemm b=${bi} i=${i}: ${got} vs ${want[i]}`);
              assert.ok(Math.abs(Cd[bi * strideC + i] - want[i]) <= tol, `batched dgemm b=${bi} i=${i}`);
            }
            // Gap between matrices untouched.
            for (let i = m * n; i < strideC; i++) assert.equal(C[bi * strideC + i], 7);
          }
        }
      }
    }
  }
});
