// Convolution and pooling ops: PyTorch's numbers (test/fixtures/conv.json),
// float64 gradient checks of every op in the input and the weights (first and
// second order), float32 against float64, the worked exercises of the lecture
// notes, and error messages.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Tensor } from '../../src/index.js';
import * as nt from '../../src/index.js';
import { assertClose, type FixtureTensor, fromFixture, loadFixture } from '../helpers.js';

interface ConvCase {
  name: string;
  module: string;
  argsCamel: Record<string, unknown>;
  input: FixtureTensor;
  weight: FixtureTensor;
  bias: FixtureTensor | null;
  output: FixtureTensor;
  gradOutput: FixtureTensor;
  grads: { input: FixtureTensor; weight: FixtureTensor; bias: FixtureTensor | null };
}

interface PoolCase {
  name: string;
  module: string;
  argsCamel: Record<string, unknown>;
  input: FixtureTensor;
  output: FixtureTensor;
  indices?: FixtureTensor;
  gradOutput: FixtureTensor;
  grads: { input: FixtureTensor };
}

interface UnpoolCase extends PoolCase {
  outputSize: number[];
  indices: FixtureTensor;
}

const fixture = loadFixture<{ conv: ConvCase[]; pool: PoolCase[]; unpool: UnpoolCase[] }>('conv.json');
const TOL = { atol: 1e-10, rtol: 1e-10 };

const gen = (seed = 3) => new nt.Generator(seed);
const rnd = (shape: number[], seed = 3) => nt.uniform(shape, -1, 1, { dtype: 'float64', generator: gen(seed) });
const f64 = (values: nt.NestedArray) => nt.tensor(values, { dtype: 'float64' });
const grad = (...xs: Tensor[]) => xs.map((x) => x.grad as Tensor);
/** Gradient checks compare backprop with central differences of float64 ops. */
const check = (f: (...xs: Tensor[]) => Tensor, args: Tensor[], argnums?: number[]) => nt.gradcheck(f, args, { atol: 1e-7, rtol: 1e-6, argnums });

function throwsMatching(call: () => unknown, kind: new (...a: never[]) => Error, pattern: RegExp): void {
  assert.throws(call, (e: unknown) => {
    assert.ok(e instanceof kind, `expected ${kind.name}, got ${(e as Error).name}: ${(e as Error).message}`);
    assert.match((e as Error).message, pattern);
    return true;
  });
}

describe('conv fixtures (PyTorch)', () => {
  for (const c of fixture.conv) {
    test(`${c.name}: output and gradients of sum(out * R)`, () => {
      const x = fromFixture(c.input).requiresGrad_();
      const w = fromFixture(c.weight).requiresGrad_();
      const b = c.bias ? fromFixture(c.bias).requiresGrad_() : null;
      const a = c.argsCamel;
      const common = { stride: a.stride as number, padding: a.padding as number, dilation: a.dilation as number, groups: a.groups as number };
      let y: Tensor;
      if (c.module === 'Conv1d') y = nt.conv1d(x, w, b, common);
      else if (c.module === 'Conv2d') y = nt.conv2d(x, w, b, common);
      else y = nt.convTranspose2d(x, w, b, { ...common, padding: a.padding as number, outputPadding: a.outputPadding as number });
      assertClose(y, fromFixture(c.output), { ...TOL, message: `${c.name} output` });
      y.mul(fromFixture(c.gradOutput)).sum().backward();
      assertClose(x.grad as Tensor, fromFixture(c.grads.input), { ...TOL, message: `${c.name} grad input` });
      assertClose(w.grad as Tensor, fromFixture(c.grads.weight), { ...TOL, message: `${c.name} grad weight` });
      if (b && c.grads.bias) assertClose(b.grad as Tensor, fromFixture(c.grads.bias), { ...TOL, message: `${c.name} grad bias` });
    });
  }

  for (const c of fixture.pool) {
    test(`${c.name}: output${c.indices ? ', switches' : ''} and input gradient`, () => {
      const x = fromFixture(c.input).requiresGrad_();
      const a = c.argsCamel;
      const opts = { kernelSize: a.kernelSize as number, stride: a.stride as number, padding: a.padding as number, ceilMode: a.ceilMode as boolean };
      let y: Tensor;
      if (c.module === 'MaxPool2d') {
        const [values, indices] = nt.maxPool2dWithIndices(x, { ...opts, dilation: a.dilation as number });
        assert.equal(indices.dtype, 'int32');
        assert.deepEqual(Array.from(indices.data), c.indices?.data);
        y = values;
      } else {
        y = nt.avgPool2d(x, { ...opts, countIncludePad: a.countIncludePad as boolean });
      }
      assertClose(y, fromFixture(c.output), { ...TOL, message: `${c.name} output` });
      y.mul(fromFixture(c.gradOutput)).sum().backward();
      assertClose(x.grad as Tensor, fromFixture(c.grads.input), { ...TOL, message: `${c.name} grad` });
    });
  }

  for (const c of fixture.unpool) {
    test(`${c.name}: output and input gradient`, () => {
      const x = fromFixture(c.input).requiresGrad_();
      const indices = fromFixture(c.indices, 'int32');
      const a = c.argsCamel;
      const y = nt.maxUnpool2d(x, indices, {
        kernelSize: a.kernelSize as number,
        stride: a.stride as number,
        padding: a.padding as number,
        outputSize: c.outputSize,
      });
      assertClose(y, fromFixture(c.output), { ...TOL, message: `${c.name} output` });
      y.mul(fromFixture(c.gradOutput)).sum().backward();
      assertClose(x.grad as Tensor, fromFixture(c.grads.input), { ...TOL, message: `${c.name} grad` });
    });
  }
});

describe('lecture-note exercises (cross-correlation: h_u = Σ_p v_p x_{u+p-1}, no kernel flip)', () => {
  test('x = [0, 3, 10], k = [-2, 1]: h = [0·-2 + 3·1, 3·-2 + 10·1] = [3, 4]', () => {
    const y = nt.conv1d(f64([[[0, 3, 10]]]), f64([[[-2, 1]]]));
    assertClose(y, [[[3, 4]]], { atol: 0, rtol: 0 });
  });

  test('x = [0, 3, 10, -2, 5, 1], k = [-2, 1]: mean pool stride 2, max pool stride 3, conv stride 2', () => {
    const x = f64([[[0, 3, 10, -2, 5, 1]]]);
    // Windows [0, 3], [10, -2], [5, 1] -> means 1.5, 4, 3.
    assertClose(nt.avgPool1d(x, { kernelSize: 2, stride: 2 }), [[[1.5, 4, 3]]], { atol: 0, rtol: 0 });
    // Windows [0, 3, 10], [-2, 5, 1] -> maxima 10, 5 (a stride equal to the kernel, the default).
    assertClose(nt.maxPool1d(x, { kernelSize: 3 }), [[[10, 5]]], { atol: 0, rtol: 0 });
    // Windows [0, 3], [10, -2], [5, 1] -> 3, -22, -9.
    assertClose(nt.conv1d(x, f64([[[-2, 1]]]), null, { stride: 2 }), [[[3, -22, -9]]], { atol: 0, rtol: 0 });
    // The matrix view: stride 1 gives U = D - P + 1 = 5 outputs.
    assertClose(nt.conv1d(x, f64([[[-2, 1]]])), [[[3, 4, -22, 9, -9]]], { atol: 0, rtol: 0 });
  });

  test('output sizes follow (W - K + 2P)/S + 1', () => {
    // 10x10 image, 5x5 kernel, stride 1, no padding: 6x6 per filter; 20 filters give 6·6·20 = 720 outputs.
    const y = nt.conv2d(nt.zeros([1, 1, 10, 10]), nt.zeros([20, 1, 5, 5]));
    assert.deepEqual([...y.shape], [1, 20, 6, 6]);
    // D = 20 inputs, kernel 5, stride 5: (20 - 5)/5 + 1 = 4 outputs.
    assert.deepEqual([...nt.conv1d(nt.zeros([1, 1, 20]), nt.zeros([1, 1, 5]), null, { stride: 5 }).shape], [1, 1, 4]);
    // D = 10 inputs and U = 5 outputs need a kernel of 10 - 5 + 1 = 6.
    assert.deepEqual([...nt.conv1d(nt.zeros([1, 1, 10]), nt.zeros([1, 1, 6])).shape], [1, 1, 5]);
    // 10x10 image, 5x5 max pooling with stride 5: 2x2 = 4 outputs.
    assert.deepEqual([...nt.maxPool2d(nt.zeros([1, 1, 10, 10]), { kernelSize: 5, stride: 5 }).shape], [1, 1, 2, 2]);
    // (32 - 5 + 2·2)/3 + 1 = 11 (floor).
    assert.deepEqual([...nt.conv2d(nt.zeros([1, 1, 32, 32]), nt.zeros([1, 1, 5, 5]), null, { stride: 3, padding: 2 }).shape], [1, 1, 11, 11]);
    assert.equal(nt.convOutputSize(32, 5, 3, 2), 11);
  });

  test('the convolution matrix: each row holds the kernel shifted by one, zeros elsewhere', () => {
    // The Jacobian of conv1d (D = 3, P = 2) is [[v1, v2, 0], [0, v1, v2]].
    const v = f64([[[5, 7]]]);
    const j = nt.jacobian((x) => nt.conv1d(x.reshape([1, 1, 3]), v).reshape([2]), f64([1, 2, 3]));
    assertClose(j, [
      [5, 7, 0],
      [0, 5, 7],
    ]);
  });
});

describe('conv gradients (float64 finite differences)', () => {
  test('conv2d: stride 2, padding 1, dilation 2, groups 2, in input, weight and bias', () => {
    const f = (x: Tensor, w: Tensor, b: Tensor) => nt.conv2d(x, w, b, { stride: 2, padding: 1, dilation: 2, groups: 2 });
    check(f, [rnd([2, 4, 7, 6], 1), rnd([6, 2, 3, 3], 2), rnd([6], 3)]);
  });

  test('conv2d: rectangular kernel, mixed strides, padding same with an even kernel', () => {
    check((x, w) => nt.conv2d(x, w, null, { stride: [2, 1], padding: [0, 2] }), [rnd([1, 2, 5, 4], 4), rnd([3, 2, 2, 3], 5)]);
    const same = (x: Tensor, w: Tensor) => nt.conv2d(x, w, null, { padding: 'same', dilation: [1, 2] });
    assert.deepEqual([...same(rnd([1, 2, 5, 4]), rnd([2, 2, 2, 3])).shape], [1, 2, 5, 4]);
    check(same, [rnd([1, 2, 5, 4], 6), rnd([2, 2, 2, 3], 7)]);
  });

  test('conv2d: pointwise (1x1) and unbatched input', () => {
    check((x, w, b) => nt.conv2d(x, w, b), [rnd([2, 3, 3, 2], 8), rnd([4, 3, 1, 1], 9), rnd([4], 10)]);
    const x = rnd([3, 4, 4], 11);
    const w = rnd([2, 3, 3, 3], 12);
    assertClose(nt.conv2d(x, w), nt.conv2d(x.reshape([1, 3, 4, 4]), w).reshape([2, 2, 2]));
    check((x, w) => nt.conv2d(x, w), [x, w]);
  });

  test('conv1d: stride 2, padding 2, dilation 2, groups 2', () => {
    check((x, w, b) => nt.conv1d(x, w, b, { stride: 2, padding: 2, dilation: 2, groups: 2 }), [rnd([2, 4, 11], 13), rnd([6, 2, 3], 14), rnd([6], 15)]);
  });

  test('convTranspose2d: stride 2, padding 1, outputPadding 1, dilation 2, groups 2', () => {
    const f = (x: Tensor, w: Tensor, b: Tensor) => nt.convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1, dilation: 2, groups: 2 });
    // (3 - 1)·2 - 2·1 + 2·(3 - 1) + 1 + 1 = 8
    assert.deepEqual([...f(rnd([1, 4, 3, 3]), rnd([4, 3, 3, 3]), rnd([6])).shape], [1, 6, 8, 8]);
    check(f, [rnd([1, 4, 3, 3], 16), rnd([4, 3, 3, 3], 17), rnd([6], 18)]);
  });

  test('convTranspose1d and outputSize', () => {
    const f = (x: Tensor, w: Tensor) => nt.convTranspose1d(x, w, null, { stride: 3, outputSize: [9] });
    // (3 - 1)·3 + (2 - 1) + 1 = 8, so outputSize 9 means outputPadding 1.
    assert.deepEqual([...f(rnd([2, 2, 3]), rnd([2, 3, 2])).shape], [2, 3, 9]);
    check(f, [rnd([2, 2, 3], 19), rnd([2, 3, 2], 20)]);
  });

  test('convTranspose2d is the adjoint of conv2d: <conv(x, w), y> = <x, convT(y, w)>', () => {
    const x = rnd([2, 4, 7, 6], 21);
    const w = rnd([6, 2, 3, 3], 22);
    const opts = { stride: 2, padding: 1, dilation: 2, groups: 2 };
    const y = rnd([2, 6, 3, 2], 23);
    const lhs = nt.conv2d(x, w, null, opts).mul(y).sum().item();
    const rhs = x
      .mul(nt.convTranspose2d(y, w, null, { ...opts, outputSize: [7, 6] }))
      .sum()
      .item();
    assert.ok(Math.abs(lhs - rhs) < 1e-12, `${lhs} vs ${rhs}`);
  });

  test('second order: gradients of conv2d gradients', () => {
    // g(x, w) = <∇_x L, R1> + <∇_w L, R2> for L = Σ conv2d(x, w)^3 depends on x and w through both adjoint kernels.
    const r1 = rnd([1, 2, 5, 5], 24);
    const r2 = rnd([4, 1, 3, 3], 25);
    const loss = (x: Tensor, w: Tensor) => nt.conv2d(x, w, null, { stride: 2, padding: 1, groups: 2 }).pow(3).sum();
    const g = (x: Tensor, w: Tensor) => {
      const [gx, gw] = nt.grad(loss, { argnums: [0, 1] })(x, w);
      return gx.mul(r1).sum().add(gw.mul(r2).sum());
    };
    check(g, [rnd([1, 2, 5, 5], 26), rnd([4, 1, 3, 3], 27)]);
  });

  test('second order through transposed convolution and pooling', () => {
    const r = rnd([1, 2, 4, 4], 28);
    const loss = (x: Tensor, w: Tensor) =>
      nt
        .avgPool2d(nt.maxPool2d(nt.convTranspose2d(x, w, null, { stride: 2 }).pow(2), { kernelSize: 2, stride: 1 }), { kernelSize: 2, padding: 1 })
        .pow(2)
        .sum();
    const g = (x: Tensor, w: Tensor) =>
      nt
        .grad(loss, { argnums: [0, 1] })(x, w)[0]
        .mul(r)
        .sum();
    check(g, [rnd([1, 2, 4, 4], 29), rnd([2, 3, 2, 2], 30)]);
  });
});

describe('pool gradients and semantics', () => {
  test('maxPool2d: overlapping windows, padding, dilation 2, ceilMode', () => {
    const f = (x: Tensor) => nt.maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1, dilation: 2, ceilMode: true });
    check(f, [rnd([2, 2, 7, 8], 31)]);
    check((x) => nt.maxPool2d(x, { kernelSize: [2, 3], stride: 1 }), [rnd([1, 2, 4, 5], 32)]);
  });

  test('maxPool1d with switches: indices along L', () => {
    const x = f64([[[1, 5, 2, 8, 3, 0, 4]]]);
    const [y, idx] = nt.maxPool1dWithIndices(x, { kernelSize: 3, stride: 2, padding: 1 });
    // windows [pad, 1, 5], [5, 2, 8], [8, 3, 0], [0, 4, pad]
    assertClose(y, [[[5, 8, 8, 4]]], { atol: 0, rtol: 0 });
    assert.deepEqual(Array.from(idx.data), [1, 3, 3, 6]);
    check((x) => nt.maxPool1d(x, { kernelSize: 3, stride: 2, padding: 1, ceilMode: true }), [rnd([2, 3, 8], 33)]);
  });

  test('max pooling: padding acts as -Infinity and NaN propagates', () => {
    const [y, idx] = nt.maxPool2dWithIndices(
      f64([
        [
          [
            [-5, -6],
            [-7, -8],
          ],
        ],
      ]),
      { kernelSize: 2, stride: 1, padding: 1 },
    );
    assertClose(
      y,
      [
        [
          [
            [-5, -5, -6],
            [-5, -5, -6],
            [-7, -7, -8],
          ],
        ],
      ],
      { atol: 0, rtol: 0 },
    );
    assert.deepEqual(Array.from(idx.data), [0, 0, 1, 0, 0, 1, 2, 2, 3]);
    const withNaN = nt.maxPool2d(
      f64([
        [
          [
            [1, Number.NaN],
            [3, 4],
          ],
        ],
      ]),
      { kernelSize: 2 },
    );
    assert.ok(Number.isNaN(withNaN.item()));
  });

  test('ceilMode: the last window must start inside the input or the left padding', () => {
    // L = 5, k = 2, s = 2: floor gives 2 windows, ceil 3 (the last covers x[4] alone).
    assert.deepEqual([...nt.maxPool1d(nt.zeros([1, 1, 5]), { kernelSize: 2, ceilMode: true }).shape], [1, 1, 3]);
    assertClose(nt.avgPool1d(f64([[[1, 2, 3, 4, 5]]]), { kernelSize: 2, ceilMode: true }), [[[1.5, 3.5, 5]]], { atol: 0, rtol: 0 });
    // L = 4, k = 2, s = 2, p = 1: ceil((4 + 2 - 2)/2) + 1 = 4 would start the 4th window at 6 - 1 = 5, past input + left padding, so 3.
    assert.equal(nt.poolOutputSize(4, 2, 2, 1, 1, true), 3);
    assert.deepEqual([...nt.maxPool1d(nt.zeros([1, 1, 4]), { kernelSize: 2, padding: 1, ceilMode: true }).shape], [1, 1, 3]);
    assert.equal(nt.poolOutputSize(6, 2, 2, 1, 1, true), 4);
  });

  test('avgPool2d: countIncludePad, ceilMode, divisorOverride', () => {
    const x = f64([
      [
        [
          [1, 2, 3],
          [4, 5, 6],
          [7, 8, 9],
        ],
      ],
    ]);
    // The corner window holds 1 real cell and 3 padding cells: 1/4 with padding counted, 1/1 without.
    assertClose(
      nt.avgPool2d(x, { kernelSize: 2, padding: 1 }),
      [
        [
          [
            [0.25, 1.25],
            [2.75, 7],
          ],
        ],
      ],
      { atol: 1e-15 },
    );
    assertClose(
      nt.avgPool2d(x, { kernelSize: 2, padding: 1, countIncludePad: false }),
      [
        [
          [
            [1, 2.5],
            [5.5, 7],
          ],
        ],
      ],
      { atol: 1e-15 },
    );
    // Ceil mode: the overhanging window [3] / [6] / [9] divides by the cells inside input + padding (PyTorch's rule).
    assertClose(
      nt.avgPool2d(x, { kernelSize: 2, ceilMode: true }),
      [
        [
          [
            [3, 4.5],
            [7.5, 9],
          ],
        ],
      ],
      { atol: 1e-15 },
    );
    assertClose(nt.avgPool2d(x, { kernelSize: 2, divisorOverride: 2 }), [[[[6]]]], { atol: 1e-15 });
    for (const opts of [
      { kernelSize: 3, stride: 2, padding: 1, ceilMode: true },
      { kernelSize: 3, stride: 2, padding: 1, countIncludePad: false, ceilMode: true },
      { kernelSize: [2, 3], stride: [1, 2], divisorOverride: 4 },
    ]) {
      check((x) => nt.avgPool2d(x, opts), [rnd([2, 2, 6, 7], 34)]);
    }
    check((x) => nt.avgPool1d(x, { kernelSize: 3, stride: 2, padding: 1 }), [rnd([2, 2, 7], 35)]);
  });

  test('maxUnpool2d puts values back at their switches; gradient gathers', () => {
    const x = rnd([2, 3, 6, 5], 36);
    const [y, idx] = nt.maxPool2dWithIndices(x, { kernelSize: 2 });
    const u = nt.maxUnpool2d(y, idx, { kernelSize: 2, outputSize: [6, 5] });
    assert.deepEqual([...u.shape], [2, 3, 6, 5]);
    // Each unpooled non-zero cell holds the input value there; every pooled value is found again.
    let nonZero = 0;
    for (let i = 0; i < u.size; i++) {
      if (u.data[i] !== 0) {
        nonZero++;
        assert.equal(u.data[i], x.data[i]);
      }
    }
    assert.equal(nonZero, y.size);
    check((v) => nt.maxUnpool2d(v, idx, { kernelSize: 2, outputSize: [6, 5] }), [y.detach()]);
    // 1-D: [5, 8] with switches [1, 3] in a length-4 output.
    const [p, s] = nt.maxPool1dWithIndices(f64([[[1, 5, 2, 8]]]), { kernelSize: 2 });
    assertClose(nt.maxUnpool1d(p, s, { kernelSize: 2 }), [[[0, 5, 0, 8]]], { atol: 0, rtol: 0 });
  });

  test('adaptive pooling: equal windows use the pooling kernels, unequal ones PyTorch windows floor(i·in/out)..ceil((i+1)·in/out)', () => {
    const x = f64([[[1, 2, 3, 4, 5]]]);
    // Windows of 5 into 3: [0, 2), [1, 4), [3, 5).
    assertClose(nt.adaptiveAvgPool1d(x, 3), [[[1.5, 3, 4.5]]], { atol: 1e-15 });
    assertClose(nt.adaptiveMaxPool1d(x, 3), [[[2, 4, 5]]], { atol: 0, rtol: 0 });
    assertClose(nt.adaptiveAvgPool1d(x, 1), [[[3]]], { atol: 1e-15 });
    const img = rnd([2, 3, 7, 5], 37);
    assert.deepEqual([...nt.adaptiveAvgPool2d(img, [3, null]).shape], [2, 3, 3, 5]);
    assertClose(nt.adaptiveAvgPool2d(img, 1).reshape([2, 3]), img.mean([2, 3]));
    assertClose(nt.adaptiveMaxPool2d(img, 1).reshape([2, 3]), img.max([2, 3]));
    check((x) => nt.adaptiveAvgPool2d(x, [3, 2]), [img]);
    check((x) => nt.adaptiveMaxPool2d(x, [3, 4]), [img]);
    check((x) => nt.adaptiveMaxPool2d(x, [7, 1]), [img]);
  });

  test('global pooling: [N, C, H, W] to [N, C]', () => {
    const img = rnd([2, 3, 4, 5], 38);
    assertClose(nt.globalAvgPool2d(img), img.mean([2, 3]));
    assertClose(nt.globalMaxPool2d(img, true), img.max([2, 3], true));
    assert.deepEqual([...nt.globalAvgPool1d(rnd([2, 3, 4])).shape], [2, 3]);
    check((x) => nt.globalAvgPool2d(x), [img]);
    check((x) => nt.globalMaxPool1d(x), [rnd([2, 3, 6], 39)]);
  });

  test('unfold: rows (c, kh, kw) by window positions; conv2d = W · unfold(x)', () => {
    const x = rnd([2, 3, 6, 5], 40);
    const w = rnd([4, 3, 3, 2], 41);
    const opts = { stride: [2, 1] as const, padding: [1, 0] as const, dilation: [1, 2] as const };
    const cols = nt.unfold(x, { kernelSize: [3, 2], ...opts });
    // outH = (6 + 2 - 2 - 1)/2 + 1 = 3, outW = (5 - 2 - 1)/1 + 1 = 3
    assert.deepEqual([...cols.shape], [2, 18, 9]);
    const viaUnfold = w.reshape([4, 18]).matmul(cols).reshape([2, 4, 3, 3]);
    assertClose(viaUnfold, nt.conv2d(x, w, null, opts), { atol: 1e-12 });
    check((x) => nt.unfold(x, { kernelSize: [3, 2], ...opts }), [x]);
  });
});

describe('float32 agrees with float64', () => {
  test('every op', () => {
    const x = rnd([2, 4, 7, 6], 42);
    const w = rnd([6, 2, 3, 3], 43);
    const b = rnd([6], 44);
    const wt = rnd([4, 3, 3, 3], 45);
    const ops: [string, (x: Tensor, w: Tensor, b: Tensor, wt: Tensor) => Tensor][] = [
      ['conv2d', (x, w, b) => nt.conv2d(x, w, b, { stride: 2, padding: 1, dilation: 2, groups: 2 })],
      ['convTranspose2d', (x, _w, _b, wt) => nt.convTranspose2d(x, wt, null, { stride: 2, groups: 2, outputPadding: 1 })],
      ['maxPool2d', (x) => nt.maxPool2d(x, { kernelSize: 3, stride: 2, padding: 1, ceilMode: true })],
      ['avgPool2d', (x) => nt.avgPool2d(x, { kernelSize: 3, stride: 2, padding: 1, countIncludePad: false })],
      ['adaptiveAvgPool2d', (x) => nt.adaptiveAvgPool2d(x, [3, 4])],
      ['unfold', (x) => nt.unfold(x, { kernelSize: 2 })],
    ];
    for (const [name, f] of ops) {
      const y64 = f(x, w, b, wt);
      const y32 = f(x.float(), w.float(), b.float(), wt.float());
      assert.equal(y32.dtype, 'float32', name);
      assertClose(y32, y64, { atol: 1e-5, rtol: 1e-5, message: name });
      // And the gradient of Σ y² through both.
      const g64 = nt.grad((x) => f(x, w, b, wt).square().sum())(x);
      const g32 = nt.grad((x) => f(x, w.float(), b.float(), wt.float()).square().sum())(x.float());
      assertClose(g32, g64, { atol: 1e-4, rtol: 1e-4, message: `${name} grad` });
    }
  });

  test('mixed float dtypes promote; integer and bool operands are refused (cast them; layers convert their input)', () => {
    assert.throws(() => nt.conv2d(nt.ones([1, 1, 3, 3], { dtype: 'int32' }), nt.ones([1, 1, 2, 2])), {
      name: 'DTypeError',
      message: 'conv2d: operands must be float32 or float64, got int32 [1, 1, 3, 3]; cast integer data with .float()',
    });
    assert.throws(() => nt.conv2d(nt.ones([1, 1, 3, 3]), nt.ones([1, 1, 2, 2], { dtype: 'bool' })), { name: 'DTypeError' });
    assert.throws(() => nt.matmul(nt.ones([2, 3], { dtype: 'int32' }), nt.ones([3, 2])), {
      name: 'DTypeError',
      message: 'matmul: operands must be float32 or float64, got int32 [2, 3] and float32 [3, 2]; cast integer data with .float()',
    });
    // A layer owns its dtype and converts what comes in (pixels often arrive as integers).
    assert.equal(new nt.nn.Conv2d(1, 1, 2).forward(nt.ones([1, 1, 3, 3], { dtype: 'int32' })).dtype, 'float32');
    assert.equal(nt.conv2d(nt.ones([1, 1, 3, 3]), nt.ones([1, 1, 2, 2], { dtype: 'float64' })).dtype, 'float64');
  });
});

describe('errors name the op and the shapes', () => {
  test('conv', () => {
    throwsMatching(
      () => nt.conv2d(nt.zeros([2, 4, 5, 5]), nt.zeros([6, 3, 3, 3])),
      nt.ShapeError,
      /conv2d: input \[2, 4, 5, 5\] has 4 channels, but weight \[6, 3, 3, 3\] with groups 1 expects 3/,
    );
    throwsMatching(
      () => nt.conv2d(nt.zeros([4, 5]), nt.zeros([6, 3, 3, 3])),
      nt.ShapeError,
      /conv2d: expected input of shape \[N, C, H, W\] or \[C, H, W\], got \[4, 5\]/,
    );
    throwsMatching(
      () => nt.conv2d(nt.zeros([1, 1, 3, 3]), nt.zeros([1, 1, 5, 5])),
      nt.ShapeError,
      /conv2d: input \[1, 1, 3, 3\] padded by \[0, 0\] is smaller than the kernel \[5, 5\]/,
    );
    throwsMatching(
      () => nt.conv2d(nt.zeros([1, 4, 5, 5]), nt.zeros([6, 2, 3, 3]), nt.zeros([5]), { groups: 2 }),
      nt.ShapeError,
      /conv2d: expected bias of shape \[6\], got \[5\]/,
    );
    throwsMatching(
      () => nt.conv2d(nt.zeros([1, 4, 5, 5]), nt.zeros([5, 2, 3, 3]), null, { groups: 2 }),
      nt.ValueError,
      /groups 2 must divide .* output channels \(5\)/,
    );
    throwsMatching(
      () => nt.conv2d(nt.zeros([1, 1, 5, 5]), nt.zeros([1, 1, 3, 3]), null, { stride: 2, padding: 'same' }),
      nt.ValueError,
      /padding 'same' needs stride 1/,
    );
    throwsMatching(
      () => nt.conv2d(nt.zeros([1, 1, 5, 5]), nt.zeros([1, 1, 3, 3]), null, { stride: 0 }),
      nt.ValueError,
      /conv2d: stride must be an integer >= 1/,
    );
    throwsMatching(
      () => nt.conv1d(nt.zeros([1, 2, 5]), nt.zeros([1, 2, 3]), null, { padding: -1 }),
      nt.ValueError,
      /conv1d: padding must be an integer >= 0, got -1/,
    );
    throwsMatching(
      () => nt.convTranspose2d(nt.zeros([1, 3, 3, 3]), nt.zeros([4, 2, 3, 3])),
      nt.ShapeError,
      /convTranspose2d: input \[1, 3, 3, 3\] has 3 channels, but weight \[4, 2, 3, 3\] expects 4/,
    );
    throwsMatching(
      () => nt.convTranspose2d(nt.zeros([1, 3, 3, 3]), nt.zeros([3, 2, 3, 3]), null, { stride: 2, outputPadding: 2 }),
      nt.ValueError,
      /output padding along the height must be in \[0, 2\)/,
    );
  });

  test('pooling and unpooling', () => {
    // Taps at -1 (padding) and 2 (past the input): PyTorch returns -inf with an out-of-range switch.
    throwsMatching(
      () => nt.maxPool1d(nt.zeros([1, 1, 2]), { kernelSize: 2, stride: 1, padding: 1, dilation: 3 }),
      nt.ValueError,
      /maxPool1d: window 0 along the length of input \[1, 1, 2\] covers only padding/,
    );
    throwsMatching(
      () => nt.maxPool2d(nt.zeros([1, 1, 4, 4]), { kernelSize: 2, padding: 2 }),
      nt.ValueError,
      /maxPool2d: padding 2 must be at most half the kernel size 2/,
    );
    throwsMatching(
      () => nt.avgPool2d(nt.zeros([1, 1, 2, 2]), { kernelSize: 3 }),
      nt.ShapeError,
      /avgPool2d: input \[1, 1, 2, 2\] padded by \[0, 0\] is smaller than the window \[3, 3\]/,
    );
    throwsMatching(
      () => nt.maxPool1d(nt.zeros([1, 1, 2, 2]), { kernelSize: 2 }),
      nt.ShapeError,
      /maxPool1d: expected input of shape \[N, C, L\] or \[C, L\], got \[1, 1, 2, 2\]/,
    );
    const [y, idx] = nt.maxPool2dWithIndices(nt.zeros([1, 1, 4, 4]), { kernelSize: 2 });
    throwsMatching(() => nt.maxUnpool2d(y, idx.float(), { kernelSize: 2 }), nt.DTypeError, /maxUnpool2d: indices must be an int32 tensor/);
    throwsMatching(
      () => nt.maxUnpool2d(y, idx, { kernelSize: 2, outputSize: [6, 4] }),
      nt.ValueError,
      /maxUnpool2d: outputSize \[6,4\] is invalid: its height must be strictly between 2 and 6/,
    );
    throwsMatching(
      () => nt.maxUnpool2d(y, nt.full([1, 1, 2, 2], 16, { dtype: 'int32' }), { kernelSize: 2 }),
      nt.ValueError,
      /switch 16 .* outside an output plane of \[4, 4\]/,
    );
    throwsMatching(
      () => nt.maxUnpool2d(y, idx.reshape([1, 1, 4]), { kernelSize: 2 }),
      nt.ShapeError,
      /indices \[1, 1, 4\] must have the input's shape \[1, 1, 2, 2\]/,
    );
    throwsMatching(() => nt.adaptiveAvgPool2d(nt.zeros([1, 1, 4, 4]), [0, 2]), nt.ValueError, /adaptiveAvgPool2d: output sizes must be positive integers/);
  });
});

describe('reference kernel speed', () => {
  test('LeNet-5 forward + backward on a batch of 64 MNIST-sized images', () => {
    // conv 1->6 5x5 pad 2, max pool 2, conv 6->16 5x5, max pool 2, dense 400-120-84-10.
    const g = gen(50);
    const p = (shape: number[]) => nt.uniform(shape, -0.1, 0.1, { generator: g }).requiresGrad_();
    const [c1, b1, c2, b2] = [p([6, 1, 5, 5]), p([6]), p([16, 6, 5, 5]), p([16])];
    const [f1, f2, f3] = [p([400, 120]), p([120, 84]), p([84, 10])];
    const x = nt.uniform([64, 1, 28, 28], 0, 1, { generator: g });
    const step = () => {
      let h = nt.maxPool2d(nt.conv2d(x, c1, b1, { padding: 2 }).relu(), { kernelSize: 2 });
      h = nt.maxPool2d(nt.conv2d(h, c2, b2).relu(), { kernelSize: 2 });
      const out = h.reshape([64, 400]).matmul(f1).relu().matmul(f2).relu().matmul(f3);
      out.square().mean().backward();
    };
    step();
    const t0 = performance.now();
    const runs = 3;
    for (let i = 0; i < runs; i++) step();
    const ms = (performance.now() - t0) / runs;
    console.log(`# LeNet-5 forward+backward, batch 64, backend ${nt.getBackend().name}: ${ms.toFixed(0)} ms`);
    // About 150 ms on an idle 2-core machine (reported above); the bound is
    // loose so that a busy CI machine passes, but catches a kernel gone 10x slower.
    assert.ok(ms < 2000, `took ${ms} ms`);
    assert.deepEqual(grad(c1)[0].shape, [6, 1, 5, 5]);
  });
});
