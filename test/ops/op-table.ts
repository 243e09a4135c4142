// The one table of tensor ops. Each entry brings: a forward check against a
// naive reference (or literal values worked by hand), a float64
// finite-difference gradient check of every differentiable input, and its
// error cases. Adding an op adds one entry here.

import type { NestedArray, Tensor } from '../../src/index.js';
import * as nt from '../../src/index.js';

export interface OpCase {
  name: string;
  /** The op under test, applied to the inputs. */
  fn: (...xs: Tensor[]) => Tensor;
  /** Sample inputs (float64 for gradient checks). */
  inputs: () => Tensor[];
  /** Expected output: literal values, or a naive computation on the inputs' flat data. */
  expected: NestedArray | ((...flat: number[][]) => number[]);
  expectedShape?: number[];
  /** Indices of inputs to gradient-check; default: every float64 input. [] for non-differentiable ops. */
  gradInputs?: number[];
  /** Calls that must throw, with what the message must say. */
  errors?: { call: () => unknown; match: RegExp }[];
}

const f64 = (values: NestedArray, shape?: number[]) => nt.tensor(values, { dtype: 'float64', shape });
const gen = () => new nt.Generator(7);
/** Random float64 values in [lo, hi), seeded so every run sees the same inputs. */
const rnd = (shape: number[], lo = -2, hi = 2, g = gen()) => nt.uniform(shape, lo, hi, { dtype: 'float64', generator: g });
const pos = (shape: number[]) => rnd(shape, 0.5, 2);
const idx = (values: NestedArray) => nt.tensor(values, { dtype: 'int32' });

const map = (f: (v: number) => number) => (a: number[]) => a.map(f);

/** Naive broadcasting of two flat arrays with shapes: the reference for binary ops. */
function broadcast2(a: number[], as: number[], b: number[], bs: number[], f: (x: number, y: number) => number): number[] {
  const r = Math.max(as.length, bs.length);
  const A = [...new Array(r - as.length).fill(1), ...as];
  const B = [...new Array(r - bs.length).fill(1), ...bs];
  const out = A.map((d, i) => Math.max(d, B[i]));
  const n = out.reduce((p, d) => p * d, 1);
  const res: number[] = [];
  for (let flat = 0; flat < n; flat++) {
    let rem = flat;
    let ia = 0;
    let ib = 0;
    let sa = 1;
    let sb = 1;
    const coords: number[] = new Array(r);
    for (let d = r - 1; d >= 0; d--) {
      coords[d] = rem % out[d];
      rem = Math.floor(rem / out[d]);
    }
    for (let d = r - 1; d >= 0; d--) {
      ia += (A[d] === 1 ? 0 : coords[d]) * sa;
      ib += (B[d] === 1 ? 0 : coords[d]) * sb;
      sa *= A[d];
      sb *= B[d];
    }
    res.push(f(a[ia], b[ib]));
  }
  return res;
}

function binaryCase(name: string, op: (a: Tensor, b: Tensor) => Tensor, f: (x: number, y: number) => number, as: number[], bs: number[], makeB = rnd): OpCase {
  const g = gen();
  const a = rnd(as, -2, 2, g);
  const b = makeB(bs);
  return {
    name: `${name} ${JSON.stringify(as)} ${JSON.stringify(bs)}`,
    fn: op,
    inputs: () => [a, b],
    expected: (x, y) => broadcast2(x, as, y, bs, f),
    errors: [{ call: () => op(nt.zeros([2, 3]), nt.zeros([4])), match: new RegExp(`${name}: shapes \\[2, 3\\] and \\[4\\] cannot be broadcast`) }],
  };
}

const unaryCases: [string, (x: Tensor) => Tensor, (v: number) => number, () => Tensor][] = [
  ['neg', (x) => x.neg(), (v) => -v, () => rnd([2, 3])],
  ['abs', (x) => x.abs(), Math.abs, () => rnd([2, 3])],
  ['exp', (x) => x.exp(), Math.exp, () => rnd([2, 3])],
  ['log', (x) => x.log(), Math.log, () => pos([2, 3])],
  ['log1p', (x) => x.log1p(), Math.log1p, () => pos([2, 3])],
  ['expm1', (x) => x.expm1(), Math.expm1, () => rnd([2, 3])],
  ['sqrt', (x) => x.sqrt(), Math.sqrt, () => pos([2, 3])],
  ['rsqrt', (x) => x.rsqrt(), (v) => 1 / Math.sqrt(v), () => pos([2, 3])],
  ['reciprocal', (x) => x.reciprocal(), (v) => 1 / v, () => pos([2, 3])],
  ['square', (x) => x.square(), (v) => v * v, () => rnd([2, 3])],
  ['sin', (x) => x.sin(), Math.sin, () => rnd([2, 3])],
  ['cos', (x) => x.cos(), Math.cos, () => rnd([2, 3])],
  ['tanh', (x) => x.tanh(), Math.tanh, () => rnd([2, 3])],
  ['sigmoid', (x) => x.sigmoid(), (v) => 1 / (1 + Math.exp(-v)), () => rnd([2, 3])],
  ['relu', (x) => x.relu(), (v) => Math.max(v, 0), () => rnd([2, 3])],
  // erf(x) from the series 2/sqrt(pi) sum (-1)^n x^(2n+1) / (n! (2n+1)), enough terms for |x| < 2.
  [
    'erf',
    (x) => x.erf(),
    (v) => {
      let s = 0;
      let term = v;
      for (let n = 0; n < 60; n++) {
        s += term / (2 * n + 1);
        term *= (-v * v) / (n + 1);
      }
      return (2 / Math.sqrt(Math.PI)) * s;
    },
    () => rnd([2, 3]),
  ],
];

export const OP_TABLE: OpCase[] = [
  ...unaryCases.map(([name, fn, f, make]): OpCase => ({ name, fn, inputs: () => [make()], expected: map(f) })),
  { name: 'sign', fn: (x) => x.sign(), inputs: () => [f64([-2, 0, 3])], expected: [-1, 0, 1], gradInputs: [] },
  {
    name: 'floor/ceil/round',
    fn: (x) => nt.stack([x.floor(), x.ceil(), x.round()]),
    inputs: () => [f64([-1.5, 0.5, 2.5, 1.2])],
    expected: [
      [-2, 0, 2, 1],
      [-1, 1, 3, 2],
      [-2, 0, 2, 1],
    ],
    gradInputs: [],
  },
  binaryCase(
    'add',
    (a, b) => a.add(b),
    (x, y) => x + y,
    [2, 3],
    [3],
  ),
  binaryCase(
    'sub',
    (a, b) => a.sub(b),
    (x, y) => x - y,
    [2, 1],
    [1, 3],
  ),
  binaryCase(
    'mul',
    (a, b) => a.mul(b),
    (x, y) => x * y,
    [2, 3],
    [2, 3],
  ),
  binaryCase(
    'div',
    (a, b) => a.div(b),
    (x, y) => x / y,
    [2, 3],
    [2, 1],
    pos,
  ),
  binaryCase(
    'pow',
    (a, b) => a.abs().add(0.5).pow(b),
    (x, y) => (Math.abs(x) + 0.5) ** y,
    [3],
    [2, 3],
  ),
  binaryCase('maximum', (a, b) => a.maximum(b), Math.max, [2, 3], [3]),
  binaryCase('minimum', (a, b) => a.minimum(b), Math.min, [4], [1]),
  binaryCase('atan2', nt.atan2, Math.atan2, [2, 3], [2, 3]),
  // Scalars keep the tensor's dtype; a number on either side works.
  {
    name: 'scalar operands',
    fn: (x) => nt.stack([x.add(1), x.mul(2), nt.sub(1, x), nt.div(1, x)]),
    inputs: () => [pos([3])],
    expected: (x) => [...x.map((v) => v + 1), ...x.map((v) => 2 * v), ...x.map((v) => 1 - v), ...x.map((v) => 1 / v)],
  },
  // c = a*b + a uses a twice: dc/da = b + 1 (node reuse).
  {
    name: 'node reuse a*b + a',
    fn: (a, b) => a.mul(b).add(a),
    inputs: () => [rnd([3]), rnd([3], -1, 1, new nt.Generator(3))],
    expected: (a, b) => a.map((v, i) => v * b[i] + v),
  },
  { name: 'x*x (same tensor twice)', fn: (x) => x.mul(x), inputs: () => [rnd([2, 2])], expected: map((v) => v * v) },
  {
    name: 'compare',
    fn: (a, b) => nt.stack([a.lt(b), a.le(b), a.gt(b), a.ge(b), a.eq(b), a.ne(b)]).cast('float64'),
    inputs: () => [f64([1, 2, 3]), f64([2, 2, 2])],
    expected: [
      [1, 0, 0],
      [1, 1, 0],
      [0, 0, 1],
      [0, 1, 1],
      [0, 1, 0],
      [1, 0, 1],
    ],
    gradInputs: [],
  },
  {
    name: 'where',
    fn: (c, a, b) => nt.where(c.gt(0), a, b),
    inputs: () => [f64([1, -1, 1]), rnd([2, 3]), rnd([3], -1, 1, new nt.Generator(9))],
    expected: (c, a, b) => a.map((v, i) => (c[i % 3] > 0 ? v : b[i % 3])),
    gradInputs: [1, 2],
    errors: [{ call: () => nt.where(nt.ones([2]), nt.ones([2]), 0), match: /where: condition must be a bool tensor, got float32/ }],
  },
  {
    name: 'clamp',
    fn: (x) => x.clamp(-0.5, 0.7),
    inputs: () => [f64([-2, -0.2, 0.3, 1.5])],
    expected: [-0.5, -0.2, 0.3, 0.7],
    errors: [{ call: () => nt.ones([2]).clamp(1, 0), match: /clamp: min 1 is greater than max 0/ }],
  },
  {
    name: 'isNaN/isFinite',
    fn: (x) => nt.stack([x.isNaN(), x.isFinite()]).cast('float64'),
    inputs: () => [f64([Number.NaN, Number.POSITIVE_INFINITY, 1])],
    expected: [
      [1, 0, 0],
      [0, 0, 1],
    ],
    gradInputs: [],
  },
  { name: 'cast float64 -> float32 -> float64', fn: (x) => x.float().double(), inputs: () => [f64([0.5, 1.25])], expected: [0.5, 1.25], gradInputs: [] },
  { name: 'cast to int32 truncates toward zero', fn: (x) => x.int().double(), inputs: () => [f64([-1.7, 2.9])], expected: [-1, 2], gradInputs: [] },
  // Reductions
  { name: 'sum all', fn: (x) => x.sum(), inputs: () => [rnd([2, 3])], expected: (x) => [x.reduce((p, v) => p + v, 0)], expectedShape: [] },
  {
    name: 'sum axis 0 keepDims',
    fn: (x) => x.sum(0, true),
    inputs: () => [
      f64([
        [1, 2, 3],
        [4, 5, 6],
      ]),
    ],
    expected: [[5, 7, 9]],
  },
  {
    name: 'sum axes [0, 2]',
    fn: (x) => x.sum([0, 2]),
    inputs: () => [rnd([2, 3, 4])],
    expected: (x) => [0, 1, 2].map((j) => x.filter((_, i) => Math.floor(i / 4) % 3 === j).reduce((p, v) => p + v, 0)),
  },
  {
    name: 'mean axis -1',
    fn: (x) => x.mean(-1),
    inputs: () => [
      f64([
        [1, 2, 3],
        [4, 5, 9],
      ]),
    ],
    expected: [2, 6],
    errors: [{ call: () => nt.ones([2, 3]).mean(2), match: /mean: axis 2 is out of range for a tensor of rank 2/ }],
  },
  { name: 'prod axis 1', fn: (x) => x.prod(1), inputs: () => [pos([2, 3])], expected: (x) => [x[0] * x[1] * x[2], x[3] * x[4] * x[5]] },
  {
    name: 'max axis 1',
    fn: (x) => x.max(1),
    inputs: () => [
      f64([
        [1, 5, 3],
        [7, 2, 0],
      ]),
    ],
    expected: [5, 7],
  },
  {
    name: 'min all',
    fn: (x) => x.min(),
    inputs: () => [
      f64([
        [1, 5, 3],
        [7, -2, 0],
      ]),
    ],
    expected: -2,
  },
  {
    name: 'argmax/argmin',
    fn: (x) => nt.stack([x.argmax(1), x.argmin(1)]).cast('float64'),
    inputs: () => [
      f64([
        [1, 5, 3],
        [7, 2, 9],
      ]),
    ],
    expected: [
      [1, 2],
      [0, 1],
    ],
    gradInputs: [],
  },
  // var uses Bessel's correction by default: [1,2,3,4] -> mean 2.5, sum sq dev 5, /3.
  {
    name: 'var/std',
    fn: (x) => nt.stack([x.var(), x.std(), x.var(null, { correction: 0 })]),
    inputs: () => [f64([1, 2, 3, 4])],
    expected: [5 / 3, Math.sqrt(5 / 3), 5 / 4],
  },
  {
    name: 'logsumexp',
    fn: (x) => x.logsumexp(1),
    inputs: () => [rnd([2, 3])],
    expected: (x) => [0, 1].map((r) => Math.log(x.slice(3 * r, 3 * r + 3).reduce((p, v) => p + Math.exp(v), 0))),
  },
  { name: 'logsumexp of large values is finite', fn: (x) => x.logsumexp(), inputs: () => [f64([1000, 1000])], expected: 1000 + Math.log(2) },
  {
    name: 'norm p=2, 1, inf, 3',
    fn: (x) => nt.stack([x.norm(), x.norm(1), x.norm(Number.POSITIVE_INFINITY), x.norm(3)]),
    inputs: () => [f64([3, -4, 1])],
    expected: [Math.sqrt(26), 8, 4, (27 + 64 + 1) ** (1 / 3)],
  },
  // Linear algebra
  {
    name: 'matmul 2-D',
    fn: (a, b) => a.matmul(b),
    inputs: () => [
      f64([
        [1, 2],
        [3, 4],
        [5, 6],
      ]),
      f64([
        [1, 0, -1],
        [2, 1, 0],
      ]),
    ],
    expected: [
      [5, 2, -1],
      [11, 4, -3],
      [17, 6, -5],
    ],
    errors: [{ call: () => nt.ones([2, 3]).matmul(nt.ones([2, 3])), match: /matmul: cannot multiply \[2, 3\] by \[2, 3\]: inner dimensions 3 and 2 differ/ }],
  },
  {
    name: 'matmul batched with broadcasting',
    fn: (a, b) => a.matmul(b),
    inputs: () => [rnd([2, 1, 2, 3]), rnd([3, 3, 2], -1, 1, new nt.Generator(5))],
    expectedShape: [2, 3, 2, 2],
    expected: (a, b) => {
      const out: number[] = [];
      for (let i = 0; i < 2; i++)
        for (let j = 0; j < 3; j++)
          for (let r = 0; r < 2; r++)
            for (let c = 0; c < 2; c++) {
              let s = 0;
              for (let q = 0; q < 3; q++) s += a[i * 6 + r * 3 + q] * b[j * 6 + q * 2 + c];
              out.push(s);
            }
      return out;
    },
  },
  {
    name: 'matmul vector cases',
    fn: (m, v) => nt.concat([m.matmul(v), v.matmul(m.T), v.matmul(v).reshape([1])]),
    inputs: () => [
      f64([
        [1, 2, 3],
        [4, 5, 6],
      ]),
      f64([1, -1, 2]),
    ],
    expected: [5, 11, 5, 11, 6],
  },
  // A dense layer in one primitive: x·Wᵀ + b.
  {
    name: 'linear (x·Wᵀ + b)',
    fn: (x, w, b) => nt.linear(x, w, b),
    inputs: () => [rnd([3, 4]), rnd([2, 4], -1, 1, new nt.Generator(4)), rnd([2], -1, 1, new nt.Generator(6))],
    expected: (x, w, b) => [0, 1, 2].flatMap((i) => [0, 1].map((j) => b[j] + [0, 1, 2, 3].reduce((s, q) => s + x[i * 4 + q] * w[j * 4 + q], 0))),
    expectedShape: [3, 2],
    errors: [
      {
        call: () => nt.linear(nt.ones([3, 4]), nt.ones([2, 5]), nt.ones([2])),
        match: /linear: expected input \[m, in\], weight \[out, in\] and bias \[out\], got \[3, 4\], \[2, 5\] and \[2\]/,
      },
    ],
  },
  // Backward primitives are differentiable too (double backward): relu's vjp is g masked by x > 0, linear in g.
  {
    name: "relu's vjp (second order)",
    fn: (x, v) => nt.vjp((t) => t.relu(), x, v)[1],
    inputs: () => [f64([-1.5, 0.5, 2, -0.25]), rnd([4], -1, 1, new nt.Generator(8))],
    expected: (x, v) => x.map((xi, i) => (xi > 0 ? v[i] : 0)),
    gradInputs: [1],
  },
  // The adjoint of a strided slice scatters the upstream gradient back into a zero tensor.
  {
    name: "slice's vjp (second order)",
    fn: (x, v) => nt.vjp((t) => t.slice([null, null, 2]), x, v)[1],
    inputs: () => [rnd([5]), rnd([3], -1, 1, new nt.Generator(10))],
    expected: (_x, v) => [v[0], 0, v[1], 0, v[2]],
    gradInputs: [1],
  },
  // Shape and layout
  {
    name: 'reshape with -1',
    fn: (x) => x.reshape(3, -1),
    inputs: () => [rnd([2, 3])],
    expectedShape: [3, 2],
    expected: (x) => x,
    errors: [{ call: () => nt.ones([2, 3]).reshape(4, 2), match: /reshape: cannot reshape \[2, 3\] \(6 elements\) into \[4, 2\]/ }],
  },
  {
    name: 'permute',
    fn: (x) => x.permute(2, 0, 1),
    inputs: () => [
      f64([
        [
          [1, 2],
          [3, 4],
        ],
        [
          [5, 6],
          [7, 8],
        ],
      ]),
    ],
    expected: [
      [
        [1, 3],
        [5, 7],
      ],
      [
        [2, 4],
        [6, 8],
      ],
    ],
    errors: [{ call: () => nt.ones([2, 3]).permute(0, 0), match: /permute: \[0, 0\] is not a permutation/ }],
  },
  {
    name: 'transpose',
    fn: (x) => x.transpose(),
    inputs: () => [
      f64([
        [1, 2, 3],
        [4, 5, 6],
      ]),
    ],
    expected: [
      [1, 4],
      [2, 5],
      [3, 6],
    ],
  },
  {
    name: 'expand',
    fn: (x) => x.expand(2, 3),
    inputs: () => [f64([[1], [2]])],
    expected: [
      [1, 1, 1],
      [2, 2, 2],
    ],
    errors: [{ call: () => nt.ones([2]).expand(3), match: /expand: cannot expand shape \[2\] to \[3\]/ }],
  },
  {
    name: 'squeeze/unsqueeze/flatten',
    fn: (x) => x.unsqueeze(0).squeeze(0).flatten(),
    inputs: () => [
      f64([
        [1, 2],
        [3, 4],
      ]),
    ],
    expected: [1, 2, 3, 4],
    errors: [{ call: () => nt.ones([2, 3]).squeeze(0), match: /squeeze: axis 0 of shape \[2, 3\] has size 2, not 1/ }],
  },
  {
    name: 'slice with steps and negative indices',
    fn: (x) => x.slice([null, null, -1], [1, null, 2]),
    inputs: () => [
      f64([
        [0, 1, 2, 3],
        [4, 5, 6, 7],
        [8, 9, 10, 11],
      ]),
    ],
    expected: [
      [9, 11],
      [5, 7],
      [1, 3],
    ],
    errors: [{ call: () => nt.ones([2, 3]).slice(5), match: /slice: index 5 is out of range for axis 0 of size 2/ }],
  },
  {
    name: 'slice picks an index',
    fn: (x) => x.slice(null, -1),
    inputs: () => [
      f64([
        [1, 2],
        [3, 4],
      ]),
    ],
    expected: [2, 4],
  },
  {
    name: 'narrow',
    fn: (x) => x.narrow(1, 1, 2),
    inputs: () => [
      f64([
        [1, 2, 3],
        [4, 5, 6],
      ]),
    ],
    expected: [
      [2, 3],
      [5, 6],
    ],
    errors: [{ call: () => nt.ones([2, 3]).narrow(1, 2, 2), match: /narrow: start 2 and length 2 do not fit axis 1 of size 3/ }],
  },
  {
    name: 'flip',
    fn: (x) => x.flip([0, 1]),
    inputs: () => [
      f64([
        [1, 2],
        [3, 4],
      ]),
    ],
    expected: [
      [4, 3],
      [2, 1],
    ],
  },
  {
    name: 'tile',
    fn: (x) => x.tile([2, 2]),
    inputs: () => [f64([[1, 2]])],
    expected: [
      [1, 2, 1, 2],
      [1, 2, 1, 2],
    ],
  },
  {
    name: 'concat',
    fn: (a, b) => nt.concat([a, b], 1),
    inputs: () => [
      f64([[1], [2]]),
      f64([
        [3, 4],
        [5, 6],
      ]),
    ],
    expected: [
      [1, 3, 4],
      [2, 5, 6],
    ],
    errors: [
      {
        call: () => nt.concat([nt.ones([2, 2]), nt.ones([3, 3])], 1),
        match: /concat: tensors\[1\] has shape \[3, 3\], which does not match tensors\[0\] \[2, 2\] outside axis 1/,
      },
    ],
  },
  {
    name: 'stack',
    fn: (a, b) => nt.stack([a, b], 1),
    inputs: () => [f64([1, 2]), f64([3, 4])],
    expected: [
      [1, 3],
      [2, 4],
    ],
    errors: [{ call: () => nt.stack([nt.ones([2]), nt.ones([3])]), match: /stack: tensors\[1\] has shape \[3\], expected \[2\]/ }],
  },
  {
    name: 'split and chunk',
    fn: (x) => {
      const [a, b] = x.split([1, 2], 1);
      const [c] = x.chunk(2, 0);
      return nt.concat([a.flatten(), b.flatten(), c.flatten()]);
    },
    inputs: () => [
      f64([
        [1, 2, 3],
        [4, 5, 6],
      ]),
    ],
    expected: [1, 4, 2, 3, 5, 6, 1, 2, 3],
    errors: [{ call: () => nt.ones([4]).split([1, 2]), match: /split: section sizes \[1, 2\] must be non-negative integers summing to 4/ }],
  },
  {
    name: 'pad constant',
    fn: (x) =>
      nt.pad(
        x,
        [
          [1, 0],
          [0, 2],
        ],
        'constant',
        9,
      ),
    inputs: () => [f64([[1, 2]])],
    expected: [
      [9, 9, 9, 9],
      [1, 2, 9, 9],
    ],
    errors: [{ call: () => nt.pad(nt.ones([2]), [[-1, 0]]), match: /pad: padding sizes must be non-negative integers/ }],
  },
  {
    name: 'pad reflect',
    fn: (x) => nt.pad(x, [[2, 1]], 'reflect'),
    inputs: () => [f64([1, 2, 3])],
    expected: [3, 2, 1, 2, 3, 2],
    errors: [{ call: () => nt.pad(nt.ones([2]), [[2, 0]], 'reflect'), match: /pad: reflect padding of 2 needs axis 0 longer than that, got size 2/ }],
  },
  {
    name: 'pad replicate',
    fn: (x) =>
      nt.pad(
        x,
        [
          [0, 0],
          [1, 2],
        ],
        'replicate',
      ),
    inputs: () => [
      f64([
        [1, 2],
        [3, 4],
      ]),
    ],
    expected: [
      [1, 1, 2, 2, 2],
      [3, 3, 4, 4, 4],
    ],
  },
  // Indexing
  {
    name: 'gather',
    fn: (x) =>
      x.gather(
        1,
        idx([
          [2, 0],
          [1, 1],
        ]),
      ),
    inputs: () => [
      f64([
        [1, 2, 3],
        [4, 5, 6],
      ]),
    ],
    expected: [
      [3, 1],
      [5, 5],
    ],
    errors: [
      { call: () => nt.ones([2, 3]).gather(1, idx([[3]])), match: /gather: index 3 is out of range for an axis of size 3/ },
      { call: () => nt.ones([2, 3]).gather(1, nt.ones([2, 1])), match: /gather: index must be an int32 tensor, got float32/ },
    ],
  },
  {
    name: 'scatterAdd',
    fn: (x, s) =>
      nt.scatterAdd(
        x,
        0,
        idx([
          [0, 1, 0],
          [0, 0, 0],
        ]),
        s,
      ),
    inputs: () => [
      nt.zeros([2, 3], { dtype: 'float64' }),
      f64([
        [1, 2, 3],
        [4, 5, 6],
      ]),
    ],
    expected: [
      [5, 5, 9],
      [0, 2, 0],
    ],
  },
  {
    name: 'indexSelect',
    fn: (x) => x.indexSelect(0, [2, 0, 2]),
    inputs: () => [
      f64([
        [1, 2],
        [3, 4],
        [5, 6],
      ]),
    ],
    expected: [
      [5, 6],
      [1, 2],
      [5, 6],
    ],
    errors: [{ call: () => nt.ones([2]).indexSelect(0, [-1]), match: /indexSelect: index -1 is out of range/ }],
  },
  {
    name: 'indexAdd',
    fn: (x, s) => nt.indexAdd(x, 1, idx([1, 1]), s),
    inputs: () => [
      nt.zeros([2, 2], { dtype: 'float64' }),
      f64([
        [1, 2],
        [3, 4],
      ]),
    ],
    expected: [
      [0, 3],
      [0, 7],
    ],
  },
  {
    name: 'oneHot',
    fn: (x) => nt.oneHot(x.int(), 3, 'float64'),
    inputs: () => [f64([2, 0])],
    expected: [
      [0, 0, 1],
      [1, 0, 0],
    ],
    gradInputs: [],
    errors: [{ call: () => nt.oneHot(idx([3]), 3), match: /oneHot: class index 3 is out of range for 3 classes/ }],
  },
];
