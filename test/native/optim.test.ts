// The fused optimizer steps against a JS transcription of torch.optim's
// single-tensor SGD / Adam / AdamW code, in float32 arithmetic (Math.fround
// after every tensor op, scalars in double), over several steps.
import assert from 'node:assert/strict';

import { isaPaths, nativeTest, rng } from './harness.js';

const f = Math.fround;

/** Values agree to within `ulps` float32 units in the last place. */
function assertUlps(label: string, got: Float32Array, want: Float32Array, ulps: number): void {
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (Object.is(g, w) || g === w) continue;
    const ulp = Math.max(2 ** -149, 2 ** (Math.floor(Math.log2(Math.abs(w) || 2 ** -126)) - 23));
    if (!(Math.abs(g - w) <= ulps * ulp)) assert.fail(`${label}[${i}]: got ${g}, want ${w}`);
  }
}

interface SgdOpts {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
}

// torch/optim/sgd.py _single_tensor_sgd, element-wise, float32 tensors.
function sgdRef(p: Float32Array, g0: Float32Array, buf: Float32Array, first: boolean, o: SgdOpts): void {
  const wd = f(o.weightDecay);
  const mom = f(o.momentum);
  const damp1 = f(1 - o.dampening);
  const neglr = f(-o.lr);
  for (let i = 0; i < p.length; i++) {
    let g = o.maximize ? -g0[i] : g0[i];
    if (o.weightDecay !== 0) g = f(g + f(wd * p[i])); // grad.add(param, alpha=wd)
    if (o.momentum !== 0) {
      // buf = clone(grad) on the first step, else buf.mul_(momentum).add_(grad, alpha=1-dampening)
      buf[i] = first ? g : f(f(buf[i] * mom) + f(damp1 * g));
      g = o.nesterov ? f(g + f(mom * buf[i])) : buf[i];
    }
    p[i] = f(p[i] + f(neglr * g)); // param.add_(grad, alpha=-lr)
  }
}

interface AdamOpts {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  decoupled: boolean;
  maximize: boolean;
}

// torch/optim/adam.py _single_tensor_adam (capturable=False), element-wise.
function adamRef(p: Float32Array, g0: Float32Array, m: Float32Array, v: Float32Array, vmax: Float32Array, step: number, o: AdamOpts): void {
  const bc1 = 1 - o.beta1 ** step;
  const bc2 = 1 - o.beta2 ** step;
  const stepSize = o.lr / bc1;
  const bc2sqrt = Math.sqrt(bc2);
  const w1 = f(1 - o.beta1);
  for (let i = 0; i < p.length; i++) {
    let g = o.maximize ? -g0[i] : g0[i];
    let w = p[i];
    if (o.weightDecay !== 0) {
      if (o.decoupled)
        w = f(w * f(1 - o.lr * o.weightDecay)); // param.mul_(1 - lr * wd)
      else g = f(g + f(f(o.weightDecay) * w)); // grad.add(param, alpha=wd)
    }
    // exp_avg.lerp_(grad, 1 - beta1)
    m[i] = Math.abs(w1) < 0.5 ? f(m[i] + f(w1 * f(g - m[i]))) : f(g - f(f(g - m[i]) * f(1 - w1)));
    // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    v[i] = f(f(v[i] * f(o.beta2)) + f(f(f(1 - o.beta2) * g) * g));
    let base = v[i];
    if (o.amsgrad) {
      vmax[i] = Math.max(vmax[i], v[i]);
      base = vmax[i];
    }
    // denom = (sqrt / bias_correction2_sqrt).add_(eps)
    const denom = f(f(f(Math.sqrt(base)) / f(bc2sqrt)) + f(o.eps));
    // param.addcdiv_(exp_avg, denom, value=-step_size)
    p[i] = f(w + f(f(f(-stepSize) * m[i]) / denom));
  }
}

function randomVec(n: number, rand: () => number, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale);
}

nativeTest('sgdStep follows torch.optim.SGD over several steps (all options)', (a) => {
  const rand = rng(1);
  const configs: SgdOpts[] = [];
  for (const momentum of [0, 0.9])
    for (const dampening of [0, 0.1])
      for (const weightDecay of [0, 1e-2])
        for (const nesterov of [false, true])
          for (const maximize of [false, true]) {
            if (nesterov && (momentum === 0 || dampening !== 0)) continue;
            configs.push({ lr: 0.05, momentum, dampening, weightDecay, nesterov, maximize });
          }
  for (const threads of a.cpuFeatures().maxThreads > 1 ? [1, 2] : [1]) {
    a.setNumThreads(threads);
    // 140001 elements takes the 2-thread path (>= 2 x 65536); every option
    // combination runs on the small sizes, a representative few on the big one.
    // 25 = 16 + 8 + 1 runs the AVX-512 loop, the AVX2 loop and the scalar tail in one call.
    for (const n of [1, 7, 25, 33, 257, 140001]) {
      for (const o of n > 1000 ? configs.filter((_, i) => i % 5 === 0) : configs) {
        const p = randomVec(n, rand, 1);
        const pRef = p.slice();
        const buf = new Float32Array(n);
        const bufRef = new Float32Array(n);
        for (let step = 0; step < 4; step++) {
          const g = randomVec(n, rand, 0.5);
          a.sgdStep(p, g, o.momentum !== 0 ? buf : null, o.lr, o.momentum, o.dampening, o.weightDecay, o.nesterov, step === 0, o.maximize);
          sgdRef(pRef, g, bufRef, step === 0, o);
        }
        const tag = `sgd t${threads} n=${n} ${JSON.stringify(o)}`;
        assertUlps(`${tag} param`, p, pRef, 1);
        if (o.momentum !== 0) assertUlps(`${tag} buf`, buf, bufRef, 1);
      }
    }
  }
});

nativeTest('adamStep follows torch.optim.Adam / AdamW over several steps (all options)', (a) => {
  const rand = rng(2);
  const configs: AdamOpts[] = [];
  for (const amsgrad of [false, true])
    for (const decoupled of [false, true])
      for (const weightDecay of [0, 0.01])
        for (const maximize of [false, true]) configs.push({ lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay, amsgrad, decoupled, maximize });
  // A large-weight lerp (beta1 < 0.5) and a big learning rate.
  configs.push({ lr: 0.1, beta1: 0.3, beta2: 0.9, eps: 1e-6, weightDecay: 0.1, amsgrad: true, decoupled: false, maximize: false });
  for (const threads of a.cpuFeatures().maxThreads > 1 ? [1, 2] : [1]) {
    a.setNumThreads(threads);
    // 40001 elements takes the 2-thread path (>= 2 x 16384).
    for (const n of [1, 7, 25, 33, 257, 40001]) {
      for (const o of n > 1000 ? configs.filter((_, i) => i % 4 === 0 || i === configs.length - 1) : configs) {
        const p = randomVec(n, rand, 1);
        const pRef = p.slice();
        const m = new Float32Array(n);
        const v = new Float32Array(n);
        const vmax = new Float32Array(n);
        const mRef = new Float32Array(n);
        const vRef = new Float32Array(n);
        const vmaxRef = new Float32Array(n);
        for (let step = 1; step <= 5; step++) {
          const g = randomVec(n, rand, step === 3 ? 1e-4 : 0.5);
          a.adamStep(p, g, m, v, o.amsgrad ? vmax : null, o.lr, o.beta1, o.beta2, o.eps, o.weightDecay, step, o.amsgrad, o.decoupled, o.maximize);
          adamRef(pRef, g, mRef, vRef, vmaxRef, step, o);
        }
        const tag = `adam t${threads} n=${n} ${JSON.stringify(o)}`;
        assertUlps(`${tag} param`, p, pRef, 1);
        assertUlps(`${tag} m`, m, mRef, 1);
        assertUlps(`${tag} v`, v, vRef, 1);
        if (o.amsgrad) assertUlps(`${tag} vmax`, vmax, vmaxRef, 1);
      }
    }
  }
});

nativeTest('optimizer steps work on subarrays and validate their buffers', (a) => {
  const big = new Float32Array(20).fill(1);
  const p = big.subarray(5, 10);
  const g = new Float32Array(5).fill(2);
  a.sgdStep(p, g, null, 0.5, 0, 0, 0, false, true);
  assert.deepEqual(Array.from(big.subarray(4, 11)), [1, 0, 0, 0, 0, 0, 1]);
  assert.throws(
    () => a.sgdStep(p, g, null, 0.1, 0.9, 0, 0, false, true),
    (e: unknown) => e instanceof TypeError && /sgdStep/.test(e.message) && /momentumBuf/.test(e.message),
  );
  assert.throws(
    () => a.adamStep(p, new Float32Array(4), new Float32Array(5), new Float32Array(5), null, 1e-3, 0.9, 0.999, 1e-8, 0, 1, false, false),
    (e: unknown) => e instanceof RangeError && /adamStep/.test(e.message) && /'grad'/.test(e.message),
  );
  assert.throws(
    () => a.adamStep(p, g, p, new Float32Array(5), null, 1e-3, 0.9, 0.999, 1e-8, 0, 1, false, false),
    (e: unknown) => e instanceof RangeError && /overlap/.test(e.message),
  );
  assert.throws(
    () => a.adamStep(p, g, new Float32Array(5), new Float32Array(5), null, 1e-3, 0.9, 0.999, 1e-8, 0, 0, false, false),
    (e: unknown) => e instanceof RangeError && /step/.test(e.message),
  );
});

// The vector loops (optim_impl.h, AVX2 and AVX-512) do the scalar loop's operations in its order: every ISA path
// gives the same bits, with NaN, infinities and the Adam / SGD options, so one seed trains alike on any x86 CPU.
nativeTest('sgdStep and adamStep give the same bits on every ISA path', (a) => {
  const rand = rng(7);
  const n = 1031;
  const grads = Array.from({ length: 3 }, (_, s) => {
    const g = randomVec(n, rand, s === 1 ? 1e-4 : 0.5);
    g[5] = Number.NaN;
    g[17] = Number.POSITIVE_INFINITY;
    return g;
  });
  const start = randomVec(n, rand, 1);
  // A NaN is compared as NaN: IEEE 754 leaves its sign and payload to the hardware, and a compiler may swap the
  // operands of an addition (the scalar loop gives 0x7fc00000 where the vector loops give 0xffc00000).
  const bits = (x: Float32Array) => Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length), (b, i) => (Number.isNaN(x[i]) ? -1 : b));
  const runs = new Map<string, number[][]>();
  for (const isa of isaPaths(a)) {
    a.setIsa(isa);
    const out: number[][] = [];
    for (const [amsgrad, decoupled, maximize] of [
      [false, false, false],
      [true, false, true],
      [true, true, false],
    ] as const) {
      const p = start.slice();
      const m = new Float32Array(n);
      const v = new Float32Array(n);
      const vmax = new Float32Array(n);
      for (const [s, g] of grads.entries()) a.adamStep(p, g, m, v, amsgrad ? vmax : null, 1e-3, 0.9, 0.999, 1e-8, 0.01, s + 1, amsgrad, decoupled, maximize);
      out.push(bits(p), bits(m), bits(v), bits(vmax));
    }
    for (const nesterov of [false, true]) {
      const p = start.slice();
      const buf = new Float32Array(n);
      for (const [s, g] of grads.entries()) a.sgdStep(p, g, buf, 0.05, 0.9, 0, 0.01, nesterov, s === 0, nesterov);
      out.push(bits(p), bits(buf));
    }
    runs.set(isa, out);
  }
  a.setIsa('auto');
  const [first, ...others] = [...runs];
  for (const [isa, out] of others) assert.deepEqual(out, first[1], `${isa} differs from ${first[0]}`);
});
