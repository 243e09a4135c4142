// Every kernel the compiled backends (native addon, wasm module) accelerate,
// against the reference backend (the spec), on random float32 inputs of
// awkward sizes, including sizes above the thresholds where the compiled code
// is actually called.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { createNativeBackend } from '../../src/backends/native/index.js';
import { refKernels } from '../../src/backends/ref/index.js';
import { createWasmBackend, wasmModule } from '../../src/backends/wasm/index.js';
import type { WasmModule } from '../../src/backends/wasm/module.js';
import { Generator } from '../../src/index.js';
import type { Conv2dGeometry, FusedKernels, Kernels, Pool2dGeometry } from '../../src/kernels/contract.js';
import { PROGRAM_OPS, runProgram } from '../../src/kernels/program.js';
import { adamUpdate } from '../../src/optim/adam.js';
import { sgdUpdate } from '../../src/optim/sgd.js';

const g = new Generator(11);
const rand = (n: number, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * g.nextDouble());

/** |a - b| <= 1e-5 * max(1, |b|) elementwise, with the scale of a dot product of length k where relevant. */
function assertParity(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, scale = 1): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const tol = 1e-5 * scale * Math.max(1, Math.abs(expected[i]));
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) assert.fail(`${what}: element ${i}: compiled ${actual[i]}, reference ${expected[i]}`);
  }
}

const SIZES = [1, 7, 33, 257, 600, 1031];

// The wasm module runs once on the caller alone and once with a worker (where
// memory can be shared); its pool splits work so both give the same numbers.
for (const [name, create, threads] of [
  ['native', createNativeBackend, 0],
  ['wasm', createWasmBackend, 1],
  ['wasm', createWasmBackend, 2],
] as const) {
  const compiled = create()?.kernels;
  const label = threads === 0 ? name : `${name} (${threads} thread${threads > 1 ? 's' : ''})`;
  describe(`${label} backend parity with the reference`, { skip: compiled ? false : `${name} backend unavailable` }, () => {
    const k = compiled as Kernels & FusedKernels;
    if (threads > 0) {
      before(async () => {
        const module = wasmModule() as WasmModule;
        await module.startThreads();
        const using = module.setNumThreads(threads);
        if (module.runtimeInfo().sharedMemory) assert.equal(using, Math.min(threads, module.runtimeInfo().maxThreads));
      });
    }

    test('elementwiseProgram equals its rule, the same kernels one after another, bit for bit', () => {
      assert.ok(k.elementwiseProgram, 'the backend offers elementwiseProgram');
      const op = (name: string) => PROGRAM_OPS.indexOf(name as never);
      // Inputs 0-3 (input 2 a single value, broadcast), outputs 4-6, temporaries from 7: every op, a temporary reused,
      // an output read back by a later instruction.
      const code = Int32Array.from(
        [
          ['sigmoid', 7, 0, -1],
          ['sub', 8, 2, 7],
          ['mul', 9, 7, 8],
          ['mul', 4, 9, 1],
          ['tanh', 7, 3, -1],
          ['exp', 8, 7, -1],
          ['neg', 9, 8, -1],
          ['relu', 10, 1, -1],
          ['add', 5, 9, 10],
          ['div', 11, 5, 2],
          ['reluBackward', 6, 3, 11],
        ].flatMap(([name, ...slots]) => [op(name as string), ...(slots as number[])]),
      );
      // Above every backend's threshold, so that the rule's kernels are the backend's own.
      for (const n of [4096, 5003, 70001]) {
        const inputs = [rand(n, -4, 4), rand(n, -4, 4), Float32Array.of(1.5), rand(n, -2, 2)];
        const outputs = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
        const expected = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
        k.elementwiseProgram?.(code, inputs, outputs, n);
        runProgram(k, code, inputs, expected, n);
        outputs.forEach((o, i) => {
          for (let j = 0; j < n; j++) if (!Object.is(o[j], expected[i][j])) assert.fail(`n ${n}, output ${i}, element ${j}: ${o[j]}, rule ${expected[i][j]}`);
        });
      }
    });

    test('matmul in all four transpose combinations and batched', () => {
      for (const [m, n, kk] of [
        [1, 1, 1],
        [7, 33, 5],
        [33, 7, 257],
        [64, 65, 66],
        [3, 129, 40],
      ]) {
        for (const batch of [1, 3]) {
          for (const transA of [false, true]) {
            for (const transB of [false, true]) {
              const a = rand(batch * m * kk);
              const b = rand(batch * kk * n);
              const out = new Float32Array(batch * m * n);
              const ref = new Float32Array(batch * m * n);
              k.matmul(a, b, out, batch, m, n, kk, transA, transB);
              refKernels.matmul(a, b, ref, batch, m, n, kk, transA, transB);
              assertParity(out, ref, `matmul ${m}x${n}x${kk} batch ${batch} tA ${transA} tB ${transB}`, Math.sqrt(kk));
            }
          }
        }
      }
    });

    test('addmm (product plus a bias row) in all transpose combinations', () => {
      for (const [m, n, kk] of [
        [1, 1, 1],
        [7, 33, 5],
        [64, 65, 66],
        [256, 130, 40],
      ]) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            const a = rand(m * kk);
            const b = rand(kk * n);
            const bias = rand(n);
            const out = new Float32Array(m * n);
            const ref = new Float32Array(m * n);
            k.addmm(bias, a, b, out, m, n, kk, transA, transB);
            refKernels.addmm(bias, a, b, ref, m, n, kk, transA, transB);
            assertParity(out, ref, `addmm ${m}x${n}x${kk} tA ${transA} tB ${transB}`, Math.sqrt(kk));
          }
        }
      }
    });

    test('float64 matmul', () => {
      const a = Float64Array.from(rand(40 * 70));
      const b = Float64Array.from(rand(70 * 50));
      const out = new Float64Array(40 * 50);
      const ref = new Float64Array(40 * 50);
      k.matmul(a, b, out, 1, 40, 50, 70, false, false);
      refKernels.matmul(a, b, ref, 1, 40, 50, 70, false, false);
      assertParity(out, ref, 'dgemm', 1e-7);
    });

    test('unary and binary element-wise kernels, and the bias broadcast', () => {
      for (const n of SIZES) {
        for (const op of ['relu', 'sigmoid', 'tanh', 'exp'] as const) {
          const x = rand(n, -5, 5);
          const out = new Float32Array(n);
          const ref = new Float32Array(n);
          k.unary(op, x, out);
          refKernels.unary(op, x, ref);
          assertParity(out, ref, `${op} n=${n}`);
        }
        const xr = rand(n);
        const gUp = rand(n);
        const relu = new Float32Array(n);
        const reluRef = new Float32Array(n);
        k.reluBackward(xr, gUp, relu);
        refKernels.reluBackward(xr, gUp, reluRef);
        assertParity(relu, reluRef, `reluBackward n=${n}`);
        for (const op of ['add', 'sub', 'mul', 'div'] as const) {
          const a = rand(n);
          const b = rand(n, 0.5, 2);
          const out = new Float32Array(n);
          const ref = new Float32Array(n);
          k.binary(op, a, [n], b, [n], out, [n]);
          refKernels.binary(op, a, [n], b, [n], ref, [n]);
          assertParity(out, ref, `${op} n=${n}`);
        }
        const rows = 9;
        const x = rand(rows * n);
        const bias = rand(n);
        const out = new Float32Array(rows * n);
        const ref = new Float32Array(rows * n);
        k.binary('add', x, [rows, n], bias, [n], out, [rows, n]);
        refKernels.binary('add', x, [rows, n], bias, [n], ref, [rows, n]);
        assertParity(out, ref, `bias add ${rows}x${n}`);
      }
    });

    // The broadcast forms of broadcastBinary and compare: a scalar on either side, a row, a column, a column
    // against a row (an outer sum), over several leading axes; the last pair is in none of the forms.
    const BROADCASTS: [number[], number[], number[], boolean][] = [
      [[70, 65], [], [70, 65], true],
      [[], [70, 65], [70, 65], true],
      [[70, 65], [70, 1], [70, 65], true],
      [[70, 1], [1, 65], [70, 65], true],
      [[5, 14, 65], [14, 65], [5, 14, 65], true],
      [[5, 14, 1], [5, 14, 65], [5, 14, 65], true],
      [[5, 14, 1], [65], [5, 14, 65], true],
      [[520, 257], [520, 1], [520, 257], true],
      [[5, 14, 65], [5, 1, 65], [5, 14, 65], false],
    ];
    const size = (shape: number[]) => shape.reduce((p, d) => p * d, 1);
    /** Random values with NaN, both zeros, infinities and repeats among them, so that every comparison and tie is met. */
    const awkward = (n: number) =>
      Float32Array.from({ length: n }, () => {
        const r = g.nextDouble();
        if (r < 0.04) return Number.NaN;
        if (r < 0.08) return 0;
        if (r < 0.12) return -0;
        if (r < 0.14) return Number.POSITIVE_INFINITY;
        if (r < 0.16) return Number.NEGATIVE_INFINITY;
        if (r < 0.4) return Math.round(g.nextDouble() * 4) - 2;
        return g.nextDouble() * 4 - 2;
      });
    /** A number as text, -0 with its sign. */
    const signed = (x: number) => (Object.is(x, -0) ? '-0' : String(x));
    /** Whether the backend's kernel `name` runs its compiled code for these arguments (not the reference's). */
    const compiledFor = (name: 'binary' | 'compare' | 'permute' | 'reduce' | 'where', args: unknown[]) =>
      (k[name] as unknown as { select: (a: unknown[]) => unknown }).select(args) !== refKernels[name];

    test('binary ops on broadcast operands (scalar, row, column, outer sum), NaN, zeros and infinities included: the bits of the reference', () => {
      for (const [aShape, bShape, outShape, inForm] of BROADCASTS) {
        for (const op of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'] as const) {
          const a = awkward(size(aShape));
          const b = awkward(size(bShape));
          const out = new Float32Array(size(outShape));
          const ref = new Float32Array(size(outShape));
          const args = [op, a, aShape, b, bShape, out, outShape];
          // The compiled kernel is the one called: the forms it reads, and the reference for the rest.
          assert.equal(compiledFor('binary', args), inForm, `${op} ${aShape} ${bShape}: compiled kernel chosen`);
          k.binary(op, a, aShape, b, bShape, out, outShape);
          refKernels.binary(op, a, aShape, b, bShape, ref, outShape);
          for (let i = 0; i < ref.length; i++) {
            if (!Object.is(out[i], ref[i])) assert.fail(`${op} [${aShape}] [${bShape}] element ${i}: compiled ${signed(out[i])}, reference ${signed(ref[i])}`);
          }
        }
      }
    });

    test('pow by a scalar: 2 runs as a product with the bits of x ** 2, other exponents in the reference', () => {
      for (const exponent of [2, 3, 0.5, -1]) {
        const a = awkward(70 * 65);
        const b = Float32Array.of(exponent);
        const out = new Float32Array(a.length);
        const ref = new Float32Array(a.length);
        k.binary('pow', a, [70, 65], b, [], out, [70, 65]);
        refKernels.binary('pow', a, [70, 65], b, [], ref, [70, 65]);
        for (let i = 0; i < ref.length; i++) {
          if (!Object.is(out[i], ref[i])) assert.fail(`pow ${exponent} element ${i} (${a[i]}): compiled ${signed(out[i])}, reference ${signed(ref[i])}`);
        }
      }
    });

    test("comparisons on broadcast operands, NaN, zeros and infinities included: the reference's booleans", () => {
      for (const [aShape, bShape, outShape, inForm] of BROADCASTS) {
        for (const op of ['lt', 'le', 'gt', 'ge', 'eq', 'ne'] as const) {
          const a = awkward(size(aShape));
          const b = awkward(size(bShape));
          const out = new Uint8Array(size(outShape));
          const ref = new Uint8Array(size(outShape));
          const args = [op, a, aShape, b, bShape, out, outShape];
          assert.equal(compiledFor('compare', args), inForm, `${op} ${aShape} ${bShape}: compiled kernel chosen`);
          k.compare(op, a, aShape, b, bShape, out, outShape);
          refKernels.compare(op, a, aShape, b, bShape, ref, outShape);
          assert.deepEqual(out, ref, `${op} [${aShape}] [${bShape}]`);
        }
      }
    });

    test('where on broadcast operands (the condition full, a row, a column or one value), NaN and both zeros included: the bits of the reference', () => {
      const cases: [number[], number[], number[], number[], boolean][] = [
        [[70, 65], [70, 65], [70, 65], [70, 65], true],
        [[70, 65], [70, 65], [], [70, 65], true],
        [[70, 65], [], [70, 65], [70, 65], true],
        [[70, 1], [70, 65], [1, 65], [70, 65], true],
        [[], [5, 14, 65], [14, 65], [5, 14, 65], true],
        [[5, 14, 65], [5, 14, 1], [65], [5, 14, 65], true],
        [[520, 257], [520, 257], [520, 1], [520, 257], true],
        [[5, 1, 65], [5, 14, 65], [5, 14, 65], [5, 14, 65], false],
      ];
      for (const [cShape, aShape, bShape, outShape, inForm] of cases) {
        const cond = Uint8Array.from({ length: size(cShape) }, () => (g.nextDouble() < 0.5 ? 1 : 0));
        const a = awkward(size(aShape));
        const b = awkward(size(bShape));
        const out = new Float32Array(size(outShape));
        const ref = new Float32Array(size(outShape));
        const args = [cond, cShape, a, aShape, b, bShape, out, outShape];
        assert.equal(compiledFor('where', args), inForm, `where [${cShape}] [${aShape}] [${bShape}]: compiled kernel chosen`);
        k.where(cond, cShape, a, aShape, b, bShape, out, outShape);
        refKernels.where(cond, cShape, a, aShape, b, bShape, ref, outShape);
        for (let i = 0; i < ref.length; i++) {
          if (!Object.is(out[i], ref[i]))
            assert.fail(`where [${cShape}] [${aShape}] [${bShape}] element ${i}: compiled ${signed(out[i])}, reference ${signed(ref[i])}`);
        }
      }
    });

    test('max and min over a run of adjacent axes (rows, columns, middle, all), NaN and both zeros included: the bits of the reference', () => {
      const cases: [number[], number[], boolean][] = [
        [[70, 65], [1], true],
        [[70, 65], [0], true],
        [[70, 65], [0, 1], true],
        [[5, 14, 65], [1], true],
        [[5, 14, 65], [1, 2], true],
        [[5, 14, 65], [0, 1], true],
        [[5, 14, 65], [2], true],
        [[3, 4099], [1], true],
        [[5, 14, 65], [0, 2], false],
      ];
      for (const [shape, axes, inForm] of cases) {
        for (const [op, ties] of [
          ['max', false],
          ['min', false],
          ['max', true],
          ['min', true],
        ] as const) {
          // Values with NaN, zeros and infinities; then lines whose extreme is a zero (its first occurrence decides the sign).
          const x = ties
            ? Float32Array.from({ length: size(shape) }, () => [0, -0, op === 'max' ? -1 : 1][Math.floor(g.nextDouble() * 3)])
            : awkward(size(shape));
          const n = size(shape.filter((_, d) => !axes.includes(d)));
          const out = new Float32Array(n);
          const ref = new Float32Array(n);
          const args = [op, x, shape, axes, out];
          assert.equal(compiledFor('reduce', args), inForm, `${op} [${shape}] over [${axes}]: compiled kernel chosen`);
          k.reduce(op, x, shape, axes, out);
          refKernels.reduce(op, x, shape, axes, ref);
          for (let i = 0; i < n; i++) {
            if (!Object.is(out[i], ref[i]))
              assert.fail(`${op} [${shape}] over [${axes}] element ${i}: compiled ${signed(out[i])}, reference ${signed(ref[i])}`);
          }
        }
      }
    });

    test('permute: every order of four axes, transposes of awkward and power-of-two sizes, axes of one element, rank 5', () => {
      const cases: [number[], number[]][] = [
        [
          [600, 257],
          [1, 0],
        ],
        [
          [1031, 7],
          [1, 0],
        ],
        [
          [512, 512],
          [1, 0],
        ],
        [
          [2, 1, 4099],
          [2, 0, 1],
        ],
        [
          [65, 1, 70],
          [2, 1, 0],
        ],
        [
          [3, 4, 5, 6, 70],
          [4, 2, 0, 3, 1],
        ],
        [
          [9, 33, 40],
          [1, 0, 2],
        ],
      ];
      const orders = (n: number): number[][] =>
        n === 1 ? [[0]] : orders(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
      for (const perm of orders(4)) cases.push([[3, 33, 7, 17], perm]);
      for (const [shape, perm] of cases) {
        const x = rand(size(shape));
        const out = new Float32Array(x.length);
        const ref = new Float32Array(x.length);
        assert.ok(compiledFor('permute', [x, shape, perm, out]), `[${shape}] by [${perm}]: compiled kernel chosen`);
        k.permute(x, shape, perm, out);
        refKernels.permute(x, shape, perm, ref);
        assert.deepEqual(
          new Uint32Array(out.buffer, out.byteOffset, out.length),
          new Uint32Array(ref.buffer, ref.byteOffset, ref.length),
          `[${shape}] by [${perm}]`,
        );
      }
    });

    test('sum over all axes and over leading axes', () => {
      for (const n of SIZES) {
        const rows = 5;
        const x = rand(rows * n);
        const all = new Float32Array(1);
        const allRef = new Float32Array(1);
        k.reduce('sum', x, [rows, n], [0, 1], all);
        refKernels.reduce('sum', x, [rows, n], [0, 1], allRef);
        assertParity(all, allRef, `sum all ${rows}x${n}`, Math.sqrt(rows * n));
        const cols = new Float32Array(n);
        const colsRef = new Float32Array(n);
        k.reduce('sum', x, [rows, n], [0], cols);
        refKernels.reduce('sum', x, [rows, n], [0], colsRef);
        assertParity(cols, colsRef, `sum rows ${rows}x${n}`, rows);
      }
    });

    test('sum over every axis but one (a convolution bias gradient, and the other kept axes)', () => {
      for (const [shape, axes] of [
        [
          [64, 6, 28, 28],
          [0, 2, 3],
        ],
        [
          [3, 5, 7, 11],
          [0, 1, 3],
        ],
        [
          [9, 1000, 4],
          [0, 2],
        ],
        [
          [2, 3, 4, 700],
          [1, 2, 3],
        ],
      ] as [number[], number[]][]) {
        const size = shape.reduce((p, d) => p * d, 1);
        const x = rand(size);
        const outSize = size / axes.reduce((p, a) => p * shape[a], 1);
        const out = new Float32Array(outSize);
        const ref = new Float32Array(outSize);
        k.reduce('sum', x, shape, axes, out);
        refKernels.reduce('sum', x, shape, axes, ref);
        assertParity(out, ref, `sum of [${shape}] over [${axes}]`, Math.sqrt(size / outSize));
      }
    });

    test('logSoftmax and its backward along the last, a middle and the first axis, NaN and infinities included', () => {
      // Not vacuous: the backend chooses its own kernel for calls this size (native from 512 elements, wasm from 4096;
      // all but the first and the fifth shape below reach both).
      const select = (k.logSoftmax as unknown as { select?: (args: unknown[]) => unknown }).select;
      const big = new Float32Array(4096 * 10);
      assert.ok(select && select([big, 4096, 10, 1, big]) !== refKernels.logSoftmax, 'the backend runs its own logSoftmax');
      for (const [outer, size, inner] of [
        [64, 10, 1],
        [1031, 7, 1],
        [3, 33, 257],
        [1, 600, 7],
        [600, 1, 1],
        [4096, 10, 1],
      ]) {
        const n = outer * size * inner;
        const x = rand(n, -30, 30);
        // Line l's first element (lines run along the axis, `inner` apart).
        const lineStart = (l: number) => Math.floor(l / inner) * size * inner + (l % inner);
        if (outer * inner >= 3 && size > 1) {
          // Line 0 holds a NaN and line 1 a +Infinity (both lines all NaN), line 2 one -Infinity (a log-probability of -Infinity).
          x[lineStart(0)] = Number.NaN;
          x[lineStart(1)] = Number.POSITIVE_INFINITY;
          x[lineStart(2) + inner] = Number.NEGATIVE_INFINITY;
        }
        const out = new Float32Array(n);
        const ref = new Float32Array(n);
        k.logSoftmax(x, outer, size, inner, out);
        refKernels.logSoftmax(x, outer, size, inner, ref);
        const what = `logSoftmax [${outer}, ${size}, ${inner}]`;
        for (let i = 0; i < n; i++) {
          if (Number.isNaN(ref[i]) || !Number.isFinite(ref[i])) assert.ok(Object.is(out[i], ref[i]), `${what}: element ${i}: ${out[i]}, reference ${ref[i]}`);
        }
        const finite = (a: Float32Array) => a.map((v) => (Number.isFinite(v) ? v : 0));
        assertParity(finite(out), finite(ref), what);
        const gy = rand(n);
        const dx = new Float32Array(n);
        const dxRef = new Float32Array(n);
        k.logSoftmaxBackward(gy, ref, outer, size, inner, dx);
        refKernels.logSoftmaxBackward(gy, ref, outer, size, inner, dxRef);
        for (let i = 0; i < n; i++) if (Number.isNaN(dxRef[i])) assert.ok(Number.isNaN(dx[i]), `${what} backward: element ${i} should be NaN`);
        assertParity(finite(dx), finite(dxRef), `${what} backward`, Math.sqrt(size));
      }
    });

    test('convolution forward and both backward passes', () => {
      const geoms: Conv2dGeometry[] = [
        {
          batch: 2,
          inChannels: 3,
          inH: 9,
          inW: 7,
          outChannels: 4,
          kernelH: 3,
          kernelW: 2,
          strideH: 2,
          strideW: 1,
          padH: 1,
          padW: 0,
          dilationH: 1,
          dilationW: 2,
          groups: 1,
          outH: 5,
          outW: 5,
        },
        {
          batch: 3,
          inChannels: 4,
          inH: 12,
          inW: 12,
          outChannels: 6,
          kernelH: 5,
          kernelW: 5,
          strideH: 1,
          strideW: 1,
          padH: 2,
          padW: 2,
          dilationH: 1,
          dilationW: 1,
          groups: 2,
          outH: 12,
          outW: 12,
        },
      ];
      // Stride-1 layers the direct kernels take, on every vector width: LeNet-5's two, and output channels that fill
      // whole vectors over short rows (channels across the lanes: 16 and 8 forward, 4 and 8 in the weight gradient).
      for (const [batch, inChannels, inH, inW, outChannels, k, pad] of [
        [3, 1, 28, 28, 6, 5, 2],
        [3, 6, 14, 14, 16, 5, 0],
        [2, 2, 8, 8, 8, 3, 0],
        [3, 2, 8, 9, 4, 5, 1],
        [3, 2, 6, 7, 8, 3, 0],
      ]) {
        const [outH, outW] = [inH + 2 * pad - k + 1, inW + 2 * pad - k + 1];
        geoms.push({
          batch,
          inChannels,
          inH,
          inW,
          outChannels,
          kernelH: k,
          kernelW: k,
          strideH: 1,
          strideW: 1,
          padH: pad,
          padW: pad,
          dilationH: 1,
          dilationW: 1,
          groups: 1,
          outH,
          outW,
        });
      }
      for (const geom of geoms) {
        const { batch, inChannels, inH, inW, outChannels, kernelH, kernelW, groups, outH, outW } = geom;
        const x = rand(batch * inChannels * inH * inW);
        const w = rand((outChannels * inChannels * kernelH * kernelW) / groups);
        const bias = rand(outChannels);
        const outSize = batch * outChannels * outH * outW;
        const y = new Float32Array(outSize);
        const yRef = new Float32Array(outSize);
        k.conv2d(x, w, bias, y, geom);
        refKernels.conv2d(x, w, bias, yRef, geom);
        const depth = Math.sqrt((inChannels / groups) * kernelH * kernelW);
        assertParity(y, yRef, 'conv2d', depth);
        const dy = rand(outSize);
        const dx = new Float32Array(x.length);
        const dxRef = new Float32Array(x.length);
        k.conv2dBackwardInput(dy, w, dx, geom);
        refKernels.conv2dBackwardInput(dy, w, dxRef, geom);
        assertParity(dx, dxRef, 'conv2dBackwardInput', depth);
        const dw = new Float32Array(w.length);
        const dwRef = new Float32Array(w.length);
        k.conv2dBackwardWeight(x, dy, dw, geom);
        refKernels.conv2dBackwardWeight(x, dy, dwRef, geom);
        assertParity(dw, dwRef, 'conv2dBackwardWeight', Math.sqrt(batch * outH * outW));
      }
    });

    test("2x2 max pooling at stride 2 (LeNet's and VGG's: the vectorised path) picks the reference's maxima and indices, ties and NaN included", () => {
      for (const [h, w] of [
        [2, 16],
        [4, 17],
        [28, 28],
        [6, 30],
        [5, 41],
      ]) {
        const outH = Math.floor(h / 2);
        const outW = Math.floor(w / 2);
        const geom: Pool2dGeometry = {
          batch: 2,
          channels: 3,
          inH: h,
          inW: w,
          kernelH: 2,
          kernelW: 2,
          strideH: 2,
          strideW: 2,
          padH: 0,
          padW: 0,
          dilationH: 1,
          dilationW: 1,
          outH,
          outW,
        };
        // Few distinct values, so windows hold ties; a sprinkling of NaN, sometimes two in one window.
        const x = Float32Array.from(rand(2 * 3 * h * w), (v, i) => (i % 23 === 5 || i % 37 === 6 ? Number.NaN : Math.round(v * 2) / 2));
        const n = 2 * 3 * outH * outW;
        const [y, yRef, idx, idxRef] = [new Float32Array(n), new Float32Array(n), new Int32Array(n), new Int32Array(n)];
        k.maxPool2d(x, y, idx, geom);
        refKernels.maxPool2d(x, yRef, idxRef, geom);
        assert.deepEqual(idx, idxRef, `indices ${h}x${w}`);
        assert.deepEqual(y, yRef, `maxima ${h}x${w}`);
      }
    });

    test('reluBackward passes the gradient where x > 0 or x is NaN, zero where x <= 0 (including -0)', () => {
      for (const n of SIZES) {
        const x = Float32Array.from(rand(n), (v, i) => (i % 11 === 3 ? Number.NaN : i % 13 === 4 ? -0 : i % 17 === 2 ? 0 : v));
        const gy = rand(n);
        const [out, ref] = [new Float32Array(n), new Float32Array(n)];
        k.reluBackward(x, gy, out);
        refKernels.reluBackward(x, gy, ref);
        assert.deepEqual(out, ref, `n=${n}`);
      }
    });

    test('max and average pooling forward and backward', () => {
      const geom: Pool2dGeometry = {
        batch: 2,
        channels: 3,
        inH: 9,
        inW: 8,
        kernelH: 3,
        kernelW: 2,
        strideH: 2,
        strideW: 2,
        padH: 1,
        padW: 0,
        dilationH: 1,
        dilationW: 1,
        outH: 5,
        outW: 4,
      };
      const x = rand(2 * 3 * 9 * 8);
      const outSize = 2 * 3 * 5 * 4;
      const y = new Float32Array(outSize);
      const yRef = new Float32Array(outSize);
      const idx = new Int32Array(outSize);
      const idxRef = new Int32Array(outSize);
      k.maxPool2d(x, y, idx, geom);
      refKernels.maxPool2d(x, yRef, idxRef, geom);
      assertParity(y, yRef, 'maxPool2d');
      assert.deepEqual(idx, idxRef);
      const dy = rand(outSize);
      const dx = new Float32Array(x.length);
      const dxRef = new Float32Array(x.length);
      k.maxPool2dBackward(dy, idx, dx, geom);
      refKernels.maxPool2dBackward(dy, idxRef, dxRef, geom);
      assertParity(dx, dxRef, 'maxPool2dBackward');
      for (const divisor of [
        { countIncludePad: true, divisorOverride: 0 },
        { countIncludePad: false, divisorOverride: 0 },
      ]) {
        k.avgPool2d(x, y, geom, divisor);
        refKernels.avgPool2d(x, yRef, geom, divisor);
        assertParity(y, yRef, 'avgPool2d');
        k.avgPool2dBackward(dy, dx, geom, divisor);
        refKernels.avgPool2dBackward(dy, dxRef, geom, divisor);
        assertParity(dx, dxRef, 'avgPool2dBackward');
      }
    });

    test('work large enough to split across threads: products in every transpose combination, element-wise kernels', () => {
      const jobsBefore = threads > 1 ? (wasmModule() as WasmModule).poolJobs().parallel : 0;
      const [m, n, kk] = [300, 257, 600];
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          const a = rand(m * kk);
          const b = rand(kk * n);
          const out = new Float32Array(m * n);
          const ref = new Float32Array(m * n);
          k.matmul(a, b, out, 1, m, n, kk, transA, transB);
          refKernels.matmul(a, b, ref, 1, m, n, kk, transA, transB);
          assertParity(out, ref, `matmul ${m}x${n}x${kk} tA ${transA} tB ${transB}`, Math.sqrt(kk));
        }
      }
      const big = 200_003;
      const x = rand(big);
      const y = rand(big);
      for (const op of ['relu', 'tanh'] as const) {
        const out = new Float32Array(big);
        const ref = new Float32Array(big);
        k.unary(op, x, out);
        refKernels.unary(op, x, ref);
        assertParity(out, ref, `${op} ${big}`);
      }
      const out = new Float32Array(big);
      const ref = new Float32Array(big);
      k.binary('mul', x, [big], y, [big], out, [big]);
      refKernels.binary('mul', x, [big], y, [big], ref, [big]);
      assertParity(out, ref, `mul ${big}`);
      // A single row (one sample through a Linear layer) splits by columns at two threads: the same bits as one thread.
      if (threads > 1) {
        const module = wasmModule() as WasmModule;
        for (const transB of [false, true]) {
          const a1 = rand(784);
          const w = rand(784 * 512);
          const one = new Float32Array(512);
          const two = new Float32Array(512);
          module.setNumThreads(1);
          k.matmul(a1, w, one, 1, 1, 512, 784, false, transB);
          module.setNumThreads(threads);
          k.matmul(a1, w, two, 1, 1, 512, 784, false, transB);
          assert.deepEqual(two, one, `1x512x784 tB ${transB}: two threads differ from one`);
          const ref = new Float32Array(512);
          refKernels.matmul(a1, w, ref, 1, 1, 512, 784, false, transB);
          assertParity(two, ref, `1x512x784 tB ${transB}`, Math.sqrt(784));
        }
      }
      // Not vacuous: with two threads the pool split some of this work.
      if (threads > 1 && (wasmModule() as WasmModule).runtimeInfo().maxThreads > 1) {
        assert.ok((wasmModule() as WasmModule).poolJobs().parallel > jobsBefore, 'no job ran on two threads');
      }
    });

    test('LSTM cell forward and backward', () => {
      for (const [n, h] of [
        [1, 1],
        [7, 33],
        [64, 128],
      ]) {
        const gates = rand(n * 4 * h, -3, 3);
        const cPrev = rand(n * h);
        const [c, hh, act] = [new Float32Array(n * h), new Float32Array(n * h), new Float32Array(n * 4 * h)];
        const [cR, hR, actR] = [new Float32Array(n * h), new Float32Array(n * h), new Float32Array(n * 4 * h)];
        k.lstmCellForward(gates, cPrev, c, hh, act, n, h);
        refKernels.lstmCellForward(gates, cPrev, cR, hR, actR, n, h);
        assertParity(c, cR, 'lstm c');
        assertParity(hh, hR, 'lstm h');
        const dh = rand(n * h);
        const dc = rand(n * h);
        const [dG, dcp] = [new Float32Array(n * 4 * h), new Float32Array(n * h)];
        const [dGR, dcpR] = [new Float32Array(n * 4 * h), new Float32Array(n * h)];
        k.lstmCellBackward(act, cPrev, c, dh, dc, dG, dcp, n, h);
        refKernels.lstmCellBackward(actR, cPrev, cR, dh, dc, dGR, dcpR, n, h);
        assertParity(dG, dGR, 'lstm dGates');
        assertParity(dcp, dcpR, 'lstm dcPrev');
      }
    });

    test("fused SGD and Adam steps follow the optimizers' rules (sgdUpdate, adamUpdate)", () => {
      for (const n of [7, 600, 1031]) {
        const opts = { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01, nesterov: false, maximize: false };
        const w = rand(n);
        const wRef = w.slice();
        const buf = new Float32Array(n);
        const bufRef = new Float32Array(n);
        for (let step = 0; step < 4; step++) {
          const grad = rand(n);
          if (!k.sgdStep?.(w, grad, buf, { ...opts, firstStep: step === 0 })) sgdUpdate(w, grad, buf, { ...opts, firstStep: step === 0 });
          sgdUpdate(wRef, grad, bufRef, { ...opts, firstStep: step === 0 });
        }
        assertParity(w, wRef, `sgd n=${n}`);
        for (const decoupled of [false, true]) {
          const p = rand(n);
          const pRef = p.slice();
          const [m, v, vm] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
          const [mR, vR, vmR] = [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
          for (let step = 1; step <= 4; step++) {
            const grad = rand(n);
            const o = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step, decoupled, maximize: false };
            if (!k.adamStep?.(p, grad, m, v, vm, o)) adamUpdate(p, grad, m, v, vm, o);
            adamUpdate(pRef, grad, mR, vR, vmR, o);
          }
          assertParity(p, pRef, `adam decoupled=${decoupled} n=${n}`);
        }
      }
    });
  });
}
