/*
 * The WGSL compute shaders of the WebGPU kernels. Each is a function of the
 * few choices baked into it (an op, a transpose), so that a pipeline is
 * compiled once per choice; sizes arrive in a uniform block at run time.
 * Workgroups stay at 256 invocations or fewer and assume nothing about
 * subgroup sizes: the limits every adapter (SwiftShader's included) offers.
 */

/**
 * NaN tests on the bits: WGSL lets a compiler assume floats are never NaN, so
 * `v != v` may fold to false (SwiftShader's does), while the contract's
 * kernels propagate NaN as PyTorch does.
 */
// A NaN or an infinity written as a constant does not compile in WGSL, so
// they are made from bits at run time, through a function parameter.
const IS_NAN = 'fn isNan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }\nfn fromBits(b: u32) -> f32 { return bitcast<f32>(b); }';
const NAN = 'fromBits(0x7fc00000u)';

/** Invocations per workgroup of the one-dimensional kernels. */
export const WORKGROUP = 256;

/**
 * A kernel's bindings in group 0, in order: storage arrays written 'name
 * read' or 'name read_write' (elements f32, or i32 when a third word says
 * so), then the uniform block, if any, as 'name: type'.
 */
function bindings(storage: readonly string[], uniform?: string): string {
  const lines = storage.map((spec, i) => {
    const [name, access, element = 'f32'] = spec.split(' ');
    return `@group(0) @binding(${i}) var<storage, ${access}> ${name}: array<${element}>;`;
  });
  if (uniform !== undefined) lines.push(`@group(0) @binding(${storage.length}) var<uniform> ${uniform};`);
  return lines.join('\n');
}

/**
 * The entry point of a kernel with one invocation per element: `index` (u32)
 * names the element, and invocations past `count` return at once. Past
 * 65,535 workgroups the host folds the grid into two dimensions (kernels.ts
 * groups1d), undone here.
 */
function perElement(index: string, count: string): string {
  return `@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let ${index} = gid.x + gid.y * nw.x * ${WORKGROUP}u;
  if (${index} >= ${count}) { return; }`;
}

/** perElement with the index `idx` as i32, for kernels whose geometry is signed (convolution, pooling). */
function perCell(count: string): string {
  return `@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let idx = i32(gid.x + gid.y * nw.x * ${WORKGROUP}u);
  if (idx >= ${count}) { return; }`;
}

/**
 * The entry point of a kernel with one invocation per line along an axis of
 * an array viewed as [outer, size, inner] (`p: vec4u` holds the three): the
 * line's index `r`, its `size` and `inner` (the stride between its elements),
 * and the offset of its first element, `start`.
 */
function perLine(): string {
  return `${perElement('r', 'p.x * p.z')}
  let size = p.y;
  let inner = p.z;
  let start = (r / inner) * size * inner + r % inner;`;
}

/** Output rows and columns one GEMM workgroup computes (16 x 16 invocations, 4 x 4 outputs each), and the K slice it stages. */
export const GEMM_TILE = 64;
const GEMM_K = 16;
/** Outputs per invocation along each side of its block. */
const GEMM_PER = 4;

/**
 * One slice load of a GEMM tile: invocation `flat` stages `count` values, the
 * e-th at index flat + 256e. `along` is which index runs fastest between
 * neighbouring invocations: the one that is contiguous in the buffer (k for
 * an untransposed A, the row for a transposed one), so that neighbours read
 * neighbouring addresses.
 */
function stageLoads(tile: string, along: 'k' | 'rc', read: string, bound: string): string {
  const lines: string[] = [];
  for (let e = 0; e < (GEMM_TILE * GEMM_K) / 256; e++) {
    const idx = `flat + ${e * 256}u`;
    const kk = along === 'k' ? `(${idx}) % ${GEMM_K}u` : `(${idx}) / ${GEMM_TILE}u`;
    const rc = along === 'k' ? `(${idx}) / ${GEMM_K}u` : `(${idx}) % ${GEMM_TILE}u`;
    lines.push(`  { let slot = ${kk}; let rc = ${rc}; let kk = k0 + slot; let at = base + rc; var v = 0.0;
    if (at < ${bound} && kk < dims.k) { v = ${read}; }
    ${tile}[slot][rc] = v; }`);
  }
  return lines.join('\n');
}

/**
 * out[b] = op(A[b]) · op(B[b]) (+ bias per column), op(A) [m, k] and op(B)
 * [k, n]. A workgroup stages a 64 x 16 slice of op(A) and a 16 x 64 slice of
 * op(B) in workgroup memory and each invocation accumulates a 4 x 4 block of
 * outputs from them, so every value read from the buffers serves 64 products.
 * The loops over the block are unrolled here, into named registers: a
 * compiler that keeps an indexed private array in memory (SwiftShader's does)
 * ran this kernel 4-5x slower (0.2 against 0.95 GFLOP/s at 512^3 there); a
 * GPU's compiler unrolls such loops itself, so it loses nothing.
 */
export function gemmShader(transA: boolean, transB: boolean, bias: boolean): string {
  const per = [...Array(GEMM_PER).keys()];
  const cells = per.flatMap((i) => per.map((j) => [i, j] as const));
  const rows = per.map((i) => `lid.y + ${16 * i}u`);
  const cols = per.map((j) => `lid.x + ${16 * j}u`);
  const stores = per
    .map(
      (i) => `  { let row = rowBase + ${rows[i]};
    if (row < dims.m) {
${per.map((j) => `      { let col = colBase + ${cols[j]}; if (col < dims.n) { out[outBase + row * dims.n + col] = ${bias ? `bias[col] + c${i}_${j}` : `c${i}_${j}`}; } }`).join('\n')}
    } }`,
    )
    .join('\n');
  return /* wgsl */ `
struct Dims { m: u32, n: u32, k: u32, batch: u32 }
${bindings(['a read', 'b read', 'out read_write'])}
${bias ? '@group(0) @binding(3) var<storage, read> bias: array<f32>;\n@group(0) @binding(4) var<uniform> dims: Dims;' : '@group(0) @binding(3) var<uniform> dims: Dims;'}
var<workgroup> tileA: array<array<f32, ${GEMM_TILE}>, ${GEMM_K}>;
var<workgroup> tileB: array<array<f32, ${GEMM_TILE}>, ${GEMM_K}>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let batch = wg.z;
  let aBase = batch * dims.m * dims.k;
  let bBase = batch * dims.k * dims.n;
  let rowBase = wg.y * ${GEMM_TILE}u;
  let colBase = wg.x * ${GEMM_TILE}u;
  let flat = lid.y * 16u + lid.x;
${cells.map(([i, j]) => `  var c${i}_${j} = 0.0;`).join('\n')}
  for (var k0 = 0u; k0 < dims.k; k0 += ${GEMM_K}u) {
    // 256 invocations stage 1024 values of each slice, 4 each; outside the matrices reads as 0.
    { let base = rowBase;
${stageLoads('tileA', transA ? 'rc' : 'k', transA ? 'a[aBase + kk * dims.m + at]' : 'a[aBase + at * dims.k + kk]', 'dims.m')} }
    { let base = colBase;
${stageLoads('tileB', transB ? 'k' : 'rc', transB ? 'b[bBase + at * dims.k + kk]' : 'b[bBase + kk * dims.n + at]', 'dims.n')} }
    workgroupBarrier();
    for (var t = 0u; t < ${GEMM_K}u; t++) {
${per.map((i) => `      let a${i} = tileA[t][${rows[i]}];`).join('\n')}
${per.map((j) => `      let b${j} = tileB[t][${cols[j]}];`).join('\n')}
${cells.map(([i, j]) => `      c${i}_${j} = fma(a${i}, b${j}, c${i}_${j});`).join('\n')}
    }
    workgroupBarrier();
  }
  let outBase = batch * dims.m * dims.n;
${stores}
}`;
}

/** The WGSL expression for each unary op the GPU computes, of `v`. */
export const UNARY_WGSL: Readonly<Record<string, string>> = {
  neg: '-v',
  abs: 'abs(v)',
  sign: 'sign(v)',
  exp: 'exp(v)',
  log: 'log(v)',
  sqrt: 'sqrt(v)',
  rsqrt: 'inverseSqrt(v)',
  reciprocal: '1.0 / v',
  square: 'v * v',
  sin: 'sinAccurate(v)',
  cos: 'sinAccurate(v + 1.5707963267948966)',
  // tanh(v) = 1 - 2 / (exp(2v) + 1) overflows to the right limits at both ends; WGSL's tanh is undefined for large |v| on some drivers.
  tanh: '1.0 - 2.0 / (exp(2.0 * v) + 1.0)',
  sigmoid: '1.0 / (1.0 + exp(-v))',
  relu: 'select(v, 0.0, v < 0.0)',
  floor: 'floor(v)',
  ceil: 'ceil(v)',
  // WGSL's round takes ties to even, as the contract's does.
  round: 'round(v)',
  expm1: 'expm1Accurate(v)',
  log1p: 'log1pAccurate(v)',
  erf: 'erfApprox(v)',
  copy: 'v',
};

/**
 * expm1 and log1p near 0, where exp(v) - 1 and log(1 + v) lose the digits of
 * a small v: a Taylor series below |v| = 0.01 (its first dropped term is
 * under 1e-12 of the result), the direct form above. log1p(-1) is -Infinity
 * and below -1 it is NaN, stated rather than left to a driver's log.
 */
const EXPM1_LOG1P = `
fn expm1Accurate(v: f32) -> f32 {
  if (abs(v) < 0.01) { return v * (1.0 + v * (0.5 + v * (0.16666667 + v * (0.041666668 + v * 0.008333334)))); }
  return exp(v) - 1.0;
}
fn log1pAccurate(v: f32) -> f32 {
  if (v == -1.0) { return fromBits(0xff800000u); }
  if (v < -1.0) { return fromBits(0x7fc00000u); }
  if (abs(v) < 0.01) { return v * (1.0 - v * (0.5 - v * (0.33333334 - v * (0.25 - v * 0.2)))); }
  return log(1.0 + v);
}`;

/**
 * erf to about 2e-7 absolute (Abramowitz and Stegun 7.1.26), which the
 * GPU's 1e-4 holds with room; ±1 past |v| = 6 as the reference has it.
 */
const ERF_APPROX = `
fn erfApprox(v: f32) -> f32 {
  let a = abs(v);
  if (a > 6.0) { return sign(v); }
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign(v) * (1.0 - poly * exp(-a * a));
}`;

/**
 * sin to about 1e-7 on moderate arguments. WGSL promises only 2^-11 absolute
 * error for its sin and cos (SwiftShader's is off by 1.6e-4 at 1.3), over the
 * 1e-4 that the kernels are held to: the argument is reduced to [-π/2, π/2]
 * (2π split in two parts so that the reduction stays exact for |v| up to a
 * few thousand) and a degree-11 Taylor polynomial does the rest.
 */
const SIN_ACCURATE = `
fn sinAccurate(v: f32) -> f32 {
  let k = round(v * 0.15915494309189535);
  var r = (v - k * 6.28125) - k * 0.0019353071795864769;
  if (r > 1.5707963267948966) { r = 3.141592653589793 - r; } else if (r < -1.5707963267948966) { r = -3.141592653589793 - r; }
  let r2 = r * r;
  return r * (1.0 - r2 / 6.0 * (1.0 - r2 / 20.0 * (1.0 - r2 / 42.0 * (1.0 - r2 / 72.0 * (1.0 - r2 / 110.0)))));
}`;

export function unaryShader(op: string): string {
  return /* wgsl */ `
${bindings(['x read', 'out read_write'], 'n: vec4u')}
${IS_NAN}
${op === 'sin' || op === 'cos' ? SIN_ACCURATE : ''}
${op === 'expm1' || op === 'log1p' ? EXPM1_LOG1P : ''}
${op === 'erf' ? ERF_APPROX : ''}
${perElement('i', 'n.x')}
  let v = x[i];
  // NaN in, NaN out, for every op (as on the CPU): the GPU's exp or sign may map it elsewhere.
  out[i] = select(${UNARY_WGSL[op]}, v, isNan(v));
}`;
}

/** relu's gradient: g where x > 0 or x is NaN, else 0. */
export function reluBackwardShader(): string {
  return /* wgsl */ `
${bindings(['x read', 'g read', 'out read_write'], 'n: vec4u')}
${IS_NAN}
${perElement('i', 'n.x')}
  out[i] = select(g[i], 0.0, x[i] <= 0.0 && !isNan(x[i]));
}`;
}

/** The WGSL expression for each binary op, of `u` and `v`. */
export const BINARY_WGSL: Readonly<Record<string, string>> = {
  add: 'u + v',
  sub: 'u - v',
  mul: 'u * v',
  div: 'u / v',
  maximum: `select(max(u, v), ${NAN}, isNan(u) || isNan(v))`,
  minimum: `select(min(u, v), ${NAN}, isNan(u) || isNan(v))`,
  pow: 'powReference(u, v)',
  atan2: 'atan2Accurate(u, v)',
};

/** Whether a float's sign bit is set: true for -0, which compares equal to 0. */
const SIGN_BIT = 'fn signBit(v: f32) -> bool { return (bitcast<u32>(v) & 0x80000000u) != 0u; }';

/**
 * u ** v as the reference computes it (JavaScript's exponentiation, rounded
 * to float32), not WGSL's pow, which is undefined for u < 0 and for zeros and
 * infinities. Integer exponents up to 64 in magnitude multiply by repeated
 * squaring (a few roundings; negative bases keep their sign); the rest is
 * exp2(v * log2|u|), within about 2e-5 relative while the result is a finite
 * float32. The special cases are JavaScript's: v = ±0 gives 1 (a NaN u too),
 * a NaN elsewhere gives NaN (1 ** NaN included), and so does ±1 ** ±Infinity.
 */
const POW_REFERENCE = `
fn powReference(u: f32, v: f32) -> f32 {
  let inf = fromBits(0x7f800000u);
  if (v == 0.0) { return 1.0; }
  if (isNan(u) || isNan(v)) { return ${NAN}; }
  let au = abs(u);
  let av = abs(v);
  if (av == inf) {
    if (au == 1.0) { return ${NAN}; }
    return select(0.0, inf, (au > 1.0) == (v > 0.0));
  }
  let integer = floor(v) == v;
  // |v| >= 2^24 is an even integer in float32.
  let odd = integer && av < 16777216.0 && (i32(av) & 1) == 1;
  if (u < 0.0 && au != inf && !integer) { return ${NAN}; }
  let negative = odd && signBit(u);
  var m: f32;
  if (au == 0.0 || au == inf) {
    m = select(0.0, inf, (au == inf) == (v > 0.0));
  } else if (integer && av <= 64.0) {
    var e = u32(av);
    var base = au;
    m = 1.0;
    loop {
      if ((e & 1u) == 1u) { m = m * base; }
      e = e >> 1u;
      if (e == 0u) { break; }
      base = base * base;
    }
    if (v < 0.0) { m = 1.0 / m; }
  } else {
    let y = v * log2(au);
    if (y >= 128.0) { m = inf; } else if (y < -150.0) { m = 0.0; } else { m = exp2(y); }
  }
  return select(m, -m, negative);
}`;

/**
 * atan2(u, v) (u the ordinate, as Math.atan2 takes them) to about 1e-7.
 * WGSL promises only 4096 ULP for its atan2, over the 1e-4 that the kernels
 * are held to: the angle of the ratio of the smaller magnitude to the larger
 * (so in [0, 1]) is reduced by π/4 above tan(π/8) and summed as atan's odd
 * series, then moved to its quadrant by the signs, zeros' signs included,
 * with Math.atan2's results for zeros and infinities.
 */
const ATAN2_ACCURATE = `
fn atanUnit(t: f32) -> f32 {
  var offset = 0.0;
  var r = t;
  if (t > 0.41421356) { offset = 0.78539816; r = (t - 1.0) / (t + 1.0); }
  let r2 = r * r;
  var sum = 0.0;
  for (var k = 10; k >= 0; k--) { sum = 1.0 / f32(2 * k + 1) - r2 * sum; }
  return offset + r * sum;
}
fn atan2Accurate(u: f32, v: f32) -> f32 {
  if (isNan(u) || isNan(v)) { return ${NAN}; }
  let inf = fromBits(0x7f800000u);
  let ay = abs(u);
  let ax = abs(v);
  var angle: f32;
  if (ay == inf && ax == inf) {
    angle = 0.78539816;
  } else if (ay <= ax) {
    angle = select(atanUnit(ay / ax), 0.0, ay == 0.0);
  } else {
    angle = 1.57079633 - atanUnit(ax / ay);
  }
  if (signBit(v)) { angle = 3.14159265 - angle; }
  return select(angle, -angle, signBit(u));
}`;

/** Most dimensions a broadcast or a reduction handles (the contract's tensors rarely have more than 5). */
export const MAX_RANK = 6;

/**
 * WGSL that splits the output index `i` into coordinates over `p.shape` and
 * sets `i<x>` for each operand x to the dot product of those coordinates with
 * `p.<x>Stride` (0 along a broadcast dimension), with `indent` before each line.
 */
function broadcastOffsets(operands: readonly string[], indent: string): string {
  return [
    'var rest = i;',
    ...operands.map((x) => `var i${x} = 0u;`),
    'for (var d = i32(p.rank) - 1; d >= 0; d--) {',
    '  let size = at(p.shape, u32(d));',
    '  let c = rest % size;',
    '  rest = rest / size;',
    ...operands.map((x) => `  i${x} += c * at(p.${x}Stride, u32(d));`),
    '}',
  ]
    .map((line) => indent + line)
    .join('\n');
}

/**
 * A binary op with broadcasting: the output index is split into coordinates
 * over the output shape and each input's index is the dot product with its
 * strides (0 along a broadcast dimension).
 */
export function binaryShader(op: string): string {
  return /* wgsl */ `
struct Params { n: u32, rank: u32, pad0: u32, pad1: u32, shape: array<vec4u, 2>, aStride: array<vec4u, 2>, bStride: array<vec4u, 2> }
${bindings(['a read', 'b read', 'out read_write'], 'p: Params')}
fn at(v: array<vec4u, 2>, d: u32) -> u32 { return v[d / 4u][d % 4u]; }
${IS_NAN}
${op === 'pow' || op === 'atan2' ? SIGN_BIT : ''}
${op === 'pow' ? POW_REFERENCE : ''}
${op === 'atan2' ? ATAN2_ACCURATE : ''}
${perElement('i', 'p.n')}
${broadcastOffsets(['a', 'b'], '  ')}
  let u = a[ia];
  let v = b[ib];
  out[i] = ${BINARY_WGSL[op]};
}`;
}

/**
 * Sum, product, max or min over some axes: one invocation per output element walks
 * the reduced elements, whose positions come from the kept and reduced
 * shapes and strides the host computes.
 */
export function reduceShader(op: 'sum' | 'prod' | 'max' | 'min'): string {
  // -Infinity and +Infinity, from their bits (see IS_NAN).
  const init = op === 'sum' ? '0.0' : op === 'prod' ? '1.0' : op === 'max' ? 'fromBits(0xff800000u)' : 'fromBits(0x7f800000u)';
  // Once a NaN is met it stays: no later comparison replaces it.
  const step =
    op === 'sum'
      ? 'acc += v;'
      : op === 'prod'
        ? 'acc *= v;'
        : op === 'max'
          ? 'if (isNan(v) || (v > acc && !isNan(acc))) { acc = v; }'
          : 'if (isNan(v) || (v < acc && !isNan(acc))) { acc = v; }';
  return /* wgsl */ `
struct Params {
  nOut: u32, nRed: u32, keptRank: u32, redRank: u32,
  keptShape: array<vec4u, 2>, keptStride: array<vec4u, 2>, redShape: array<vec4u, 2>, redStride: array<vec4u, 2>,
}
${bindings(['x read', 'out read_write'], 'p: Params')}
fn at(v: array<vec4u, 2>, d: u32) -> u32 { return v[d / 4u][d % 4u]; }
${IS_NAN}
${perElement('o', 'p.nOut')}
  var rest = o;
  var base = 0u;
  for (var d = i32(p.keptRank) - 1; d >= 0; d--) {
    let size = at(p.keptShape, u32(d));
    base += (rest % size) * at(p.keptStride, u32(d));
    rest = rest / size;
  }
  var acc: f32 = ${init};
  for (var r = 0u; r < p.nRed; r++) {
    var rr = r;
    var off = base;
    for (var d = i32(p.redRank) - 1; d >= 0; d--) {
      let size = at(p.redShape, u32(d));
      off += (rr % size) * at(p.redStride, u32(d));
      rr = rr / size;
    }
    let v = x[off];
    ${step}
  }
  out[o] = acc;
}`;
}

/**
 * log softmax along one axis of x viewed as [outer, size, inner] (Kernels.logSoftmax):
 * one invocation per line of `size` elements at stride `inner`, shifted by
 * the line's maximum so exp() stays finite.
 */
export function logSoftmaxShader(): string {
  return /* wgsl */ `
${bindings(['x read', 'out read_write'], 'p: vec4u')}
${perLine()}
  var m = x[start];
  for (var j = 1u; j < size; j++) { m = max(m, x[start + j * inner]); }
  var s = 0.0;
  for (var j = 0u; j < size; j++) { s += exp(x[start + j * inner] - m); }
  let shift = m + log(s);
  for (var j = 0u; j < size; j++) { out[start + j * inner] = x[start + j * inner] - shift; }
}`;
}

/** logSoftmax's gradient from its output (Kernels.logSoftmaxBackward): dx = g - exp(out)·Σ g along each line. */
export function logSoftmaxBackwardShader(): string {
  return /* wgsl */ `
${bindings(['g read', 'y read', 'dx read_write'], 'p: vec4u')}
${perLine()}
  var s = 0.0;
  for (var j = 0u; j < size; j++) { s += g[start + j * inner]; }
  for (var j = 0u; j < size; j++) { dx[start + j * inner] = g[start + j * inner] - exp(y[start + j * inner]) * s; }
}`;
}

/** The LSTM cell forward (gate order i, f, g, o), as the kernel contract defines it. */
export function lstmForwardShader(): string {
  return /* wgsl */ `
${bindings(['gates read', 'cPrev read', 'outC read_write', 'outH read_write', 'outGates read_write'], 'p: vec4u')}
fn sigmoid(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }
fn tanh1(v: f32) -> f32 { return 1.0 - 2.0 / (exp(2.0 * v) + 1.0); }
${perElement('idx', 'p.x * p.y')}
  let h = p.y;
  let r = idx / h;
  let j = idx % h;
  let base = r * 4u * h;
  let i = sigmoid(gates[base + j]);
  let f = sigmoid(gates[base + h + j]);
  let g = tanh1(gates[base + 2u * h + j]);
  let o = sigmoid(gates[base + 3u * h + j]);
  let c = f * cPrev[idx] + i * g;
  outC[idx] = c;
  outH[idx] = o * tanh1(c);
  outGates[base + j] = i;
  outGates[base + h + j] = f;
  outGates[base + 2u * h + j] = g;
  outGates[base + 3u * h + j] = o;
}`;
}

/**
 * The LSTM cell backward from the saved activated gates. dh and dc are
 * always bound (the host binds a zero array for a missing one); dGates and
 * dcPrev are separate outputs.
 */
export function lstmBackwardShader(): string {
  return /* wgsl */ `
${bindings(['gatesAct read', 'cPrev read', 'c read', 'dh read', 'dc read', 'dGates read_write', 'dcPrev read_write'], 'p: vec4u')}
fn tanh1(v: f32) -> f32 { return 1.0 - 2.0 / (exp(2.0 * v) + 1.0); }
${perElement('idx', 'p.x * p.y')}
  let h = p.y;
  let r = idx / h;
  let j = idx % h;
  let base = r * 4u * h;
  let i = gatesAct[base + j];
  let f = gatesAct[base + h + j];
  let g = gatesAct[base + 2u * h + j];
  let o = gatesAct[base + 3u * h + j];
  let tc = tanh1(c[idx]);
  let dhv = dh[idx];
  let dC = dc[idx] + dhv * o * (1.0 - tc * tc);
  dcPrev[idx] = dC * f;
  dGates[base + j] = dC * g * i * (1.0 - i);
  dGates[base + h + j] = dC * cPrev[idx] * f * (1.0 - f);
  dGates[base + 2u * h + j] = dC * i * (1.0 - g * g);
  dGates[base + 3u * h + j] = dhv * tc * o * (1.0 - o);
}`;
}

/** One SGD step in place (PyTorch's rule, as optim/sgd.ts specifies it). Flags: bit 0 momentum, 1 nesterov, 2 first step, 3 maximize. */
export function sgdShader(): string {
  return /* wgsl */ `
struct Params { n: u32, flags: u32, pad0: u32, pad1: u32, lr: f32, momentum: f32, dampening: f32, weightDecay: f32 }
${bindings(['param read_write', 'grad read', 'buf read_write'], 'p: Params')}
${perElement('i', 'p.n')}
  var d = grad[i];
  if ((p.flags & 8u) != 0u) { d = -d; }
  if (p.weightDecay != 0.0) { d = d + p.weightDecay * param[i]; }
  if ((p.flags & 1u) != 0u) {
    var b: f32;
    if ((p.flags & 4u) != 0u) { b = d; } else { b = p.momentum * buf[i] + (1.0 - p.dampening) * d; }
    buf[i] = b;
    if ((p.flags & 2u) != 0u) { d = d + p.momentum * b; } else { d = b; }
  }
  param[i] = param[i] - p.lr * d;
}`;
}

/** One Adam/AdamW step in place (optim/adam.ts's rule). Flags: bit 0 decoupled weight decay, 1 maximize, 2 amsgrad (vMax). */
export function adamShader(): string {
  return /* wgsl */ `
struct Params { n: u32, flags: u32, pad0: u32, pad1: u32, lr: f32, beta1: f32, beta2: f32, eps: f32, weightDecay: f32, bc1: f32, bc2Sqrt: f32, pad2: f32 }
${bindings(['param read_write', 'grad read', 'm read_write', 'v read_write', 'vMax read_write'], 'p: Params')}
${IS_NAN}
${perElement('i', 'p.n')}
  var g = grad[i];
  if ((p.flags & 2u) != 0u) { g = -g; }
  var w = param[i];
  if (p.weightDecay != 0.0) {
    if ((p.flags & 1u) != 0u) { w = w * (1.0 - p.lr * p.weightDecay); } else { g = g + p.weightDecay * w; }
  }
  let mi = p.beta1 * m[i] + (1.0 - p.beta1) * g;
  let vi = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  var second = vi;
  if ((p.flags & 4u) != 0u) {
    // The running maximum, NaN propagating as Math.max does.
    var mx = vMax[i];
    if (isNan(vi) || isNan(mx)) { mx = fromBits(0x7fc00000u); } else { mx = max(mx, vi); }
    vMax[i] = mx;
    second = mx;
  }
  let denom = sqrt(second) / p.bc2Sqrt + p.eps;
  param[i] = w - (p.lr / p.bc1) * (mi / denom);
}`;
}

/** One RMSprop step in place (optim/rmsprop.ts's rule). Flags: bit 0 centered (gradAvg), 1 momentum (buf), 2 maximize. */
export function rmspropShader(): string {
  return /* wgsl */ `
struct Params { n: u32, flags: u32, pad0: u32, pad1: u32, lr: f32, alpha: f32, eps: f32, weightDecay: f32, momentum: f32, pad2: f32, pad3: f32, pad4: f32 }
${bindings(['param read_write', 'grad read', 'squareAvg read_write', 'gradAvg read_write', 'buf read_write'], 'p: Params')}
${perElement('i', 'p.n')}
  var g = grad[i];
  if ((p.flags & 4u) != 0u) { g = -g; }
  if (p.weightDecay != 0.0) { g = g + p.weightDecay * param[i]; }
  let v = squareAvg[i] * p.alpha + (1.0 - p.alpha) * g * g;
  squareAvg[i] = v;
  var den: f32;
  if ((p.flags & 1u) != 0u) {
    let a = gradAvg[i] * p.alpha + (1.0 - p.alpha) * g;
    gradAvg[i] = a;
    den = sqrt(v - a * a) + p.eps;
  } else {
    den = sqrt(v) + p.eps;
  }
  if ((p.flags & 2u) != 0u) {
    let b = buf[i] * p.momentum + g / den;
    buf[i] = b;
    param[i] = param[i] - p.lr * b;
  } else {
    param[i] = param[i] - p.lr * g / den;
  }
}`;
}

/** One Adagrad step in place (optim/adagrad.ts's rule); \`clr\` is the decayed rate. Flags: bit 0 maximize. */
export function adagradShader(): string {
  return /* wgsl */ `
struct Params { n: u32, flags: u32, pad0: u32, pad1: u32, clr: f32, weightDecay: f32, eps: f32, pad2: f32 }
${bindings(['param read_write', 'grad read', 'sum read_write'], 'p: Params')}
${perElement('i', 'p.n')}
  var g = grad[i];
  if ((p.flags & 1u) != 0u) { g = -g; }
  if (p.weightDecay != 0.0) { g = g + p.weightDecay * param[i]; }
  let s = sum[i] + g * g;
  sum[i] = s;
  param[i] = param[i] - p.clr * g / (sqrt(s) + p.eps);
}`;
}

/** One Adadelta step in place (optim/adadelta.ts's rule). Flags: bit 0 maximize. */
export function adadeltaShader(): string {
  return /* wgsl */ `
struct Params { n: u32, flags: u32, pad0: u32, pad1: u32, lr: f32, rho: f32, eps: f32, weightDecay: f32 }
${bindings(['param read_write', 'grad read', 'squareAvg read_write', 'accDelta read_write'], 'p: Params')}
${perElement('i', 'p.n')}
  var g = grad[i];
  if ((p.flags & 1u) != 0u) { g = -g; }
  if (p.weightDecay != 0.0) { g = g + p.weightDecay * param[i]; }
  let v = squareAvg[i] * p.rho + (1.0 - p.rho) * g * g;
  squareAvg[i] = v;
  let delta = sqrt(accDelta[i] + p.eps) / sqrt(v + p.eps) * g;
  accDelta[i] = accDelta[i] * p.rho + (1.0 - p.rho) * delta * delta;
  param[i] = param[i] - p.lr * delta;
}`;
}

/** Conv2dGeometry as the shaders read it: the kernel contract's field order (kernels/geometry.ts), four vec4<i32>. */
const CONV_GEOMETRY = `struct Geometry {
  batch: i32, inChannels: i32, inH: i32, inW: i32,
  outChannels: i32, kernelH: i32, kernelW: i32, strideH: i32,
  strideW: i32, padH: i32, padW: i32, dilationH: i32,
  dilationW: i32, groups: i32, outH: i32, outW: i32,
}`;

/** Pool2dGeometry in the contract's field order, then the average pool's divisor options. */
const POOL_GEOMETRY = `struct Geometry {
  batch: i32, channels: i32, inH: i32, inW: i32,
  kernelH: i32, kernelW: i32, strideH: i32, strideW: i32,
  padH: i32, padW: i32, dilationH: i32, dilationW: i32,
  outH: i32, outW: i32, countIncludePad: i32, divisorOverride: i32,
}`;

/** conv2d forward: one invocation per output cell sums its group's channels and taps (plus the bias when `bias`). */
export function conv2dShader(bias: boolean): string {
  return /* wgsl */ `
${CONV_GEOMETRY}
${bindings(['x read', 'w read', 'out read_write'])}
${bias ? '@group(0) @binding(3) var<storage, read> b: array<f32>;\n@group(0) @binding(4) var<uniform> g: Geometry;' : '@group(0) @binding(3) var<uniform> g: Geometry;'}
${perCell('g.batch * g.outChannels * g.outH * g.outW')}
  let ow = idx % g.outW;
  let oh = (idx / g.outW) % g.outH;
  let o = (idx / (g.outW * g.outH)) % g.outChannels;
  let n = idx / (g.outW * g.outH * g.outChannels);
  let cg = g.inChannels / g.groups;
  let og = g.outChannels / g.groups;
  let c0 = (o / og) * cg;
  var acc = ${bias ? 'b[o]' : '0.0'};
  for (var c = 0; c < cg; c++) {
    let xPlane = (n * g.inChannels + c0 + c) * g.inH * g.inW;
    let wBase = ((o * cg + c) * g.kernelH) * g.kernelW;
    for (var kh = 0; kh < g.kernelH; kh++) {
      let ih = oh * g.strideH + kh * g.dilationH - g.padH;
      if (ih < 0 || ih >= g.inH) { continue; }
      for (var kw = 0; kw < g.kernelW; kw++) {
        let iw = ow * g.strideW + kw * g.dilationW - g.padW;
        if (iw < 0 || iw >= g.inW) { continue; }
        acc = fma(w[wBase + kh * g.kernelW + kw], x[xPlane + ih * g.inW + iw], acc);
      }
    }
  }
  out[idx] = acc;
}`;
}

/**
 * conv2d's input gradient in gather form: one invocation per input cell sums
 * gradOut times the weight tap over the output cells that read it (those
 * whose window places a tap exactly there), so no two invocations write one
 * cell and no atomics are needed.
 */
export function conv2dBackwardInputShader(): string {
  return /* wgsl */ `
${CONV_GEOMETRY}
${bindings(['gradOut read', 'w read', 'gradIn read_write'], 'g: Geometry')}
${perCell('g.batch * g.inChannels * g.inH * g.inW')}
  let iw = idx % g.inW;
  let ih = (idx / g.inW) % g.inH;
  let ci = (idx / (g.inW * g.inH)) % g.inChannels;
  let n = idx / (g.inW * g.inH * g.inChannels);
  let cg = g.inChannels / g.groups;
  let og = g.outChannels / g.groups;
  let grp = ci / cg;
  let c = ci - grp * cg;
  var acc = 0.0;
  for (var oi = 0; oi < og; oi++) {
    let o = grp * og + oi;
    let goPlane = (n * g.outChannels + o) * g.outH * g.outW;
    let wBase = ((o * cg + c) * g.kernelH) * g.kernelW;
    for (var kh = 0; kh < g.kernelH; kh++) {
      let th = ih + g.padH - kh * g.dilationH;
      if (th < 0 || th % g.strideH != 0) { continue; }
      let oh = th / g.strideH;
      if (oh >= g.outH) { continue; }
      for (var kw = 0; kw < g.kernelW; kw++) {
        let tw = iw + g.padW - kw * g.dilationW;
        if (tw < 0 || tw % g.strideW != 0) { continue; }
        let ow = tw / g.strideW;
        if (ow >= g.outW) { continue; }
        acc = fma(gradOut[goPlane + oh * g.outW + ow], w[wBase + kh * g.kernelW + kw], acc);
      }
    }
  }
  gradIn[idx] = acc;
}`;
}

/** conv2d's weight gradient: one invocation per weight tap sums gradOut times the input cell it read, over the batch and every output cell. */
export function conv2dBackwardWeightShader(): string {
  return /* wgsl */ `
${CONV_GEOMETRY}
${bindings(['x read', 'gradOut read', 'gradW read_write'], 'g: Geometry')}
${perCell('g.outChannels * (g.inChannels / g.groups) * g.kernelH * g.kernelW')}
  let cg = g.inChannels / g.groups;
  let kw = idx % g.kernelW;
  let kh = (idx / g.kernelW) % g.kernelH;
  let c = (idx / (g.kernelW * g.kernelH)) % cg;
  let o = idx / (g.kernelW * g.kernelH * cg);
  let og = g.outChannels / g.groups;
  let ci = (o / og) * cg + c;
  var acc = 0.0;
  for (var n = 0; n < g.batch; n++) {
    let xPlane = (n * g.inChannels + ci) * g.inH * g.inW;
    let goPlane = (n * g.outChannels + o) * g.outH * g.outW;
    for (var oh = 0; oh < g.outH; oh++) {
      let ih = oh * g.strideH + kh * g.dilationH - g.padH;
      if (ih < 0 || ih >= g.inH) { continue; }
      for (var ow = 0; ow < g.outW; ow++) {
        let iw = ow * g.strideW + kw * g.dilationW - g.padW;
        if (iw < 0 || iw >= g.inW) { continue; }
        acc = fma(gradOut[goPlane + oh * g.outW + ow], x[xPlane + ih * g.inW + iw], acc);
      }
    }
  }
  gradW[idx] = acc;
}`;
}

/** The first window position at or after `start` that lies inside the input (start may be negative). */
const FIRST_INSIDE =
  'fn firstInside(start: i32, dilation: i32) -> i32 { if (start >= 0) { return start; } return start + ((-start + dilation - 1) / dilation) * dilation; }';

/** Max pooling with PyTorch's indices (flat within the plane; NaN wins; first maximum on ties). */
export function maxPool2dShader(): string {
  return /* wgsl */ `
${POOL_GEOMETRY}
${bindings(['x read', 'out read_write', 'indices read_write i32'], 'g: Geometry')}
${IS_NAN}
${FIRST_INSIDE}
${perCell('g.batch * g.channels * g.outH * g.outW')}
  let ow = idx % g.outW;
  let oh = (idx / g.outW) % g.outH;
  let p = idx / (g.outW * g.outH);
  let xp = p * g.inH * g.inW;
  let hStart = oh * g.strideH - g.padH;
  let hEnd = min(hStart + (g.kernelH - 1) * g.dilationH + 1, g.inH);
  let wStart = ow * g.strideW - g.padW;
  let wEnd = min(wStart + (g.kernelW - 1) * g.dilationW + 1, g.inW);
  let h0 = firstInside(hStart, g.dilationH);
  let w0 = firstInside(wStart, g.dilationW);
  var best = h0 * g.inW + w0;
  var bestValue = fromBits(0xff800000u);
  for (var h = h0; h < hEnd; h += g.dilationH) {
    for (var w = w0; w < wEnd; w += g.dilationW) {
      let i = h * g.inW + w;
      let v = x[xp + i];
      // As the reference: a NaN always takes the window (so the last NaN's index is kept), a number only beats a smaller number.
      if (isNan(v) || (!isNan(bestValue) && v > bestValue)) {
        bestValue = v;
        best = i;
      }
    }
  }
  out[idx] = bestValue;
  indices[idx] = best;
}`;
}

/** The rows (or columns) of output windows that can contain input row `i`: [first, last]. */
const WINDOWS_OVER = `fn windowsOver(i: i32, pad: i32, span: i32, stride: i32, outSize: i32) -> vec2i {
  // Output o covers [o*stride - pad, o*stride - pad + span): o*stride >= i + pad - span + 1 and o*stride <= i + pad.
  let lo = i + pad - span + 1;
  var first = 0;
  if (lo > 0) { first = (lo + stride - 1) / stride; }
  let last = min((i + pad) / stride, outSize - 1);
  return vec2i(first, last);
}`;

/** Max pooling's adjoint in gather form: each input cell adds the gradients of the windows whose index names it. */
export function maxPool2dBackwardShader(): string {
  return /* wgsl */ `
${POOL_GEOMETRY}
${bindings(['gradOut read', 'indices read i32', 'gradIn read_write'], 'g: Geometry')}
${WINDOWS_OVER}
${perCell('g.batch * g.channels * g.inH * g.inW')}
  let iw = idx % g.inW;
  let ih = (idx / g.inW) % g.inH;
  let p = idx / (g.inW * g.inH);
  let cell = ih * g.inW + iw;
  let rows = windowsOver(ih, g.padH, (g.kernelH - 1) * g.dilationH + 1, g.strideH, g.outH);
  let cols = windowsOver(iw, g.padW, (g.kernelW - 1) * g.dilationW + 1, g.strideW, g.outW);
  let op = p * g.outH * g.outW;
  var acc = 0.0;
  for (var oh = rows.x; oh <= rows.y; oh++) {
    for (var ow = cols.x; ow <= cols.y; ow++) {
      let j = op + oh * g.outW + ow;
      if (indices[j] == cell) { acc += gradOut[j]; }
    }
  }
  gradIn[idx] = acc;
}`;
}

/** PyTorch's avg_pool2d window for output (oh, ow): in-bounds rows and columns, and the divisor (see ref/pool.ts avgWindow). */
const AVG_WINDOW = `struct Window { h0: i32, h1: i32, w0: i32, w1: i32, divisor: f32 }
fn avgWindow(oh: i32, ow: i32) -> Window {
  var h0 = oh * g.strideH - g.padH;
  var w0 = ow * g.strideW - g.padW;
  var h1 = min(h0 + g.kernelH, g.inH + g.padH);
  var w1 = min(w0 + g.kernelW, g.inW + g.padW);
  let padded = (h1 - h0) * (w1 - w0);
  h0 = max(h0, 0);
  w0 = max(w0, 0);
  h1 = min(h1, g.inH);
  w1 = min(w1, g.inW);
  var divisor = (h1 - h0) * (w1 - w0);
  if (g.divisorOverride > 0) { divisor = g.divisorOverride; } else if (g.countIncludePad != 0) { divisor = padded; }
  return Window(h0, h1, w0, w1, f32(divisor));
}`;

export function avgPool2dShader(): string {
  return /* wgsl */ `
${POOL_GEOMETRY}
${bindings(['x read', 'out read_write'], 'g: Geometry')}
${AVG_WINDOW}
${perCell('g.batch * g.channels * g.outH * g.outW')}
  let ow = idx % g.outW;
  let oh = (idx / g.outW) % g.outH;
  let p = idx / (g.outW * g.outH);
  let win = avgWindow(oh, ow);
  var s = 0.0;
  if (win.h0 < win.h1 && win.w0 < win.w1) {
    let xp = p * g.inH * g.inW;
    for (var h = win.h0; h < win.h1; h++) { for (var w = win.w0; w < win.w1; w++) { s += x[xp + h * g.inW + w]; } }
    s = s / win.divisor;
  }
  out[idx] = s;
}`;
}

/** Average pooling's adjoint in gather form: each input cell adds gradOut / divisor of every window it lies in. */
export function avgPool2dBackwardShader(): string {
  return /* wgsl */ `
${POOL_GEOMETRY}
${bindings(['gradOut read', 'gradIn read_write'], 'g: Geometry')}
${AVG_WINDOW}
${WINDOWS_OVER}
${perCell('g.batch * g.channels * g.inH * g.inW')}
  let iw = idx % g.inW;
  let ih = (idx / g.inW) % g.inH;
  let p = idx / (g.inW * g.inH);
  let rows = windowsOver(ih, g.padH, g.kernelH, g.strideH, g.outH);
  let cols = windowsOver(iw, g.padW, g.kernelW, g.strideW, g.outW);
  let op = p * g.outH * g.outW;
  var acc = 0.0;
  for (var oh = rows.x; oh <= rows.y; oh++) {
    for (var ow = cols.x; ow <= cols.y; ow++) {
      let win = avgWindow(oh, ow);
      if (ih >= win.h0 && ih < win.h1 && iw >= win.w0 && iw < win.w1) { acc += gradOut[op + oh * g.outW + ow] / win.divisor; }
    }
  }
  gradIn[idx] = acc;
}`;
}

/**
 * Softmax cross-entropy per row from logits and integer labels: loss[r] =
 * logsumexp(x[r, :]) - x[r, label[r]] and its gradient with respect to the
 * logits, softmax(x[r, :]) - onehot(label[r]) (unscaled: the caller divides
 * for a mean). A label outside [0, cols) gives a NaN loss.
 */
export function softmaxCrossEntropyShader(): string {
  return /* wgsl */ `
${bindings(['x read', 'labels read i32', 'loss read_write', 'grad read_write'], 'p: vec4u')}
${IS_NAN}
${perElement('r', 'p.x')}
  let rows = p.x;
  let cols = p.y;
  let base = r * cols;
  var m = x[base];
  for (var j = 1u; j < cols; j++) { m = max(m, x[base + j]); }
  var s = 0.0;
  for (var j = 0u; j < cols; j++) { s += exp(x[base + j] - m); }
  let label = labels[r];
  for (var j = 0u; j < cols; j++) {
    var onehot = 0.0;
    if (i32(j) == label) { onehot = 1.0; }
    grad[base + j] = exp(x[base + j] - m) / s - onehot;
  }
  if (label < 0 || label >= i32(cols)) { loss[r] = fromBits(0x7fc00000u); return; }
  loss[r] = m + log(s) - x[base + u32(label)];
}`;
}

/** Shapes and strides of up to MAX_RANK dimensions in a uniform block, and the lookup of dimension d. */
const RANKED_PARAMS = `struct Params {
  n: u32, rank: u32, axis: u32, base: i32,
  shape: array<vec4u, 2>, strides: array<vec4i, 2>, other: array<vec4u, 2>, otherStrides: array<vec4u, 2>,
}
fn at(v: array<vec4u, 2>, d: u32) -> u32 { return v[d / 4u][d % 4u]; }
fn atI(v: array<vec4i, 2>, d: u32) -> i32 { return v[d / 4u][d % 4u]; }
// Position pos of shape (row-major) as an offset: base + sum of c[d] * strides[d].
fn stridedOffset(pos: u32) -> i32 {
  var rest = pos;
  var off = p.base;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let size = at(p.shape, u32(d));
    off += i32(rest % size) * atI(p.strides, u32(d));
    rest = rest / size;
  }
  return off;
}
// Position pos of shape as (the offset of its coordinates off the axis, its coordinate along the axis).
fn offAxis(pos: u32) -> vec2i {
  var rest = pos;
  var off = 0;
  var along = 0;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let size = at(p.shape, u32(d));
    let c = i32(rest % size);
    rest = rest / size;
    if (u32(d) == p.axis) { along = c; } else { off += c * atI(p.strides, u32(d)); }
  }
  return vec2i(off, along);
}`;

/**
 * torch.gather along `axis`: out (index's shape) at position p takes x at
 * p's coordinates with the axis coordinate replaced by index[p]. `shape` is
 * the index's shape, `strides` x's strides.
 */
export function gatherShader(): string {
  return /* wgsl */ `
${RANKED_PARAMS}
${bindings(['x read', 'index read i32', 'out read_write'], 'p: Params')}
${perElement('pos', 'p.n')}
  let o = offAxis(pos);
  out[pos] = x[o.x + index[pos] * atI(p.strides, p.axis)];
}`;
}

/**
 * scatterAdd's gather form: each element of `out` (its `shape`) adds the
 * src values whose index, at the same coordinates off the axis, names its
 * axis coordinate. `other` is the index's shape and `otherStrides` its
 * strides (src is laid out as the index).
 */
export function scatterAddShader(): string {
  return /* wgsl */ `
${RANKED_PARAMS}
${bindings(['out read_write', 'index read i32', 'src read'], 'p: Params')}
${perElement('q', 'p.n')}
  var rest = q;
  var base = 0u;
  var mine = 0;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let size = at(p.shape, u32(d));
    let c = rest % size;
    rest = rest / size;
    if (u32(d) == p.axis) { mine = i32(c); continue; }
    // Off the axis the index may be smaller than out: cells beyond it receive nothing.
    if (c >= at(p.other, u32(d))) { return; }
    base += c * at(p.otherStrides, u32(d));
  }
  var acc = 0.0;
  var any = false;
  let along = at(p.other, p.axis);
  let stride = at(p.otherStrides, p.axis);
  for (var k = 0u; k < along; k++) {
    let i = base + k * stride;
    if (index[i] == mine) { acc += src[i]; any = true; }
  }
  if (any) { out[q] = out[q] + acc; }
}`;
}

/** slice: out (outShape, in `shape`) at coordinates c takes x[base + Σ c[d]·strides[d]] (strides may be negative). */
export function sliceShader(): string {
  return /* wgsl */ `
${RANKED_PARAMS}
${bindings(['x read', 'out read_write'], 'p: Params')}
${perElement('pos', 'p.n')}
  let off = stridedOffset(pos);
  out[pos] = x[off];
}`;
}

/**
 * The adjoint of a strided read: src (its `shape`) at coordinates c lands in
 * out[base + Σ c[d]·strides[d]], added (sliceAdd) or written (a concat's
 * part). Distinct c give distinct places (no stride is 0), so no two
 * invocations touch one cell.
 */
export function placeShader(accumulate: boolean): string {
  return /* wgsl */ `
${RANKED_PARAMS}
${bindings(['src read', 'out read_write'], 'p: Params')}
${perElement('pos', 'p.n')}
  let off = stridedOffset(pos);
  out[off] = ${accumulate ? 'out[off] + src[pos]' : 'src[pos]'};
}`;
}

/**
 * pad: out (its `shape`) at coordinates c takes x at c - before (`other`)
 * when that lies inside x (its shape in `otherStrides`, its strides in
 * `strides`), else the fill value, whose bits arrive in `base`.
 */
export function padShader(): string {
  return /* wgsl */ `
${RANKED_PARAMS}
${bindings(['x read', 'out read_write'], 'p: Params')}
${perElement('pos', 'p.n')}
  var rest = pos;
  var off = 0;
  var inside = true;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let size = at(p.shape, u32(d));
    let c = i32(rest % size) - i32(at(p.other, u32(d)));
    rest = rest / size;
    if (c < 0 || c >= i32(at(p.otherStrides, u32(d)))) { inside = false; }
    off += c * atI(p.strides, u32(d));
  }
  out[pos] = select(bitcast<f32>(p.base), x[off], inside);
}`;
}

/** indexSelect: out (its `shape`) at coordinates c takes x with the axis coordinate index[c[axis]] (x's `strides`). */
export function indexSelectShader(): string {
  return /* wgsl */ `
${RANKED_PARAMS}
${bindings(['x read', 'index read i32', 'out read_write'], 'p: Params')}
${perElement('pos', 'p.n')}
  let o = offAxis(pos);
  out[pos] = x[o.x + index[o.y] * atI(p.strides, p.axis)];
}`;
}

// ---------------------------------------------------------------------------
// Masks: comparisons, predicates, where, casts and arg-reductions. A bool
// array (the contract's Uint8Array, one byte per element) sits in a GPU
// buffer as it does in memory, four elements to a u32 word, byte i of the
// array in bits 8·(i % 4) of word i / 4. A kernel that writes one computes a
// whole word per invocation, so no two invocations write one word; the bytes
// past the last element in its last word are written 0 (the replay only
// binds bool arrays whose length is a multiple of 4).

/** The element types a mask kernel reads or writes: float32, int32, or bool (bytes packed in words). */
export type MaskElement = 'f32' | 'i32' | 'bool';

/** The binding spec (see bindings) of an array of `element`s. */
function storageOf(name: string, access: string, element: MaskElement): string {
  return element === 'f32' ? `${name} ${access}` : `${name} ${access} ${element === 'i32' ? 'i32' : 'u32'}`;
}

/** `fn <name>Value(i: u32) -> f32`: element i of binding `name` as a float (bool as 0 or 1, int32 converted). */
function valueReader(name: string, element: MaskElement): string {
  const body = element === 'f32' ? `${name}[i]` : element === 'i32' ? `f32(${name}[i])` : `f32((${name}[i / 4u] >> ((i % 4u) * 8u)) & 0xffu)`;
  return `fn ${name}Value(i: u32) -> f32 { return ${body}; }`;
}

/**
 * The entry point of a kernel that writes a bool array: one invocation per
 * word of `count` elements; the body sets `bit` for element `i` (a u32 index
 * below `count`), and the word is written at the end.
 */
function perMaskWord(count: string, body: string): string {
  return `@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nw: vec3u) {
  let w = gid.x + gid.y * nw.x * ${WORKGROUP}u;
  if (w * 4u >= ${count}) { return; }
  var word = 0u;
  for (var j = 0u; j < 4u; j++) {
    let i = w * 4u + j;
    if (i >= ${count}) { break; }
    var bit = false;
${body}
    if (bit) { word = word | (1u << (j * 8u)); }
  }
  out[w] = word;
}`;
}

/**
 * JavaScript truthiness of a number: 0 and NaN are false (the reference's
 * `a && b`). NaN is tested on the bits (see IS_NAN).
 */
const TRUTHY = 'fn truthy(v: f32) -> bool { return v != 0.0 && !isNan(v); }';

/**
 * The WGSL test of each comparison, of `u` and `v` with `nan` true when
 * either is NaN: spelled out, because a compiler that assumes no NaN may
 * rewrite `!(u < v)` as `u >= v`.
 */
export const COMPARE_WGSL: Readonly<Record<string, string>> = {
  eq: '!nan && u == v',
  ne: 'nan || u != v',
  lt: '!nan && u < v',
  le: '!nan && u <= v',
  gt: '!nan && u > v',
  ge: '!nan && u >= v',
  and: 'truthy(u) && truthy(v)',
  or: 'truthy(u) || truthy(v)',
  xor: 'truthy(u) != truthy(v)',
};

/** A comparison or logical op with broadcasting (shapes and strides as binaryShader takes them), into a bool array. */
export function compareShader(op: string, a: MaskElement, b: MaskElement): string {
  return /* wgsl */ `
struct Params { n: u32, rank: u32, pad0: u32, pad1: u32, shape: array<vec4u, 2>, aStride: array<vec4u, 2>, bStride: array<vec4u, 2> }
${bindings([storageOf('a', 'read', a), storageOf('b', 'read', b), 'out read_write u32'], 'p: Params')}
fn at(v: array<vec4u, 2>, d: u32) -> u32 { return v[d / 4u][d % 4u]; }
${IS_NAN}
${TRUTHY}
${valueReader('a', a)}
${valueReader('b', b)}
${perMaskWord(
  'p.n',
  `${broadcastOffsets(['a', 'b'], '    ')}
    let u = aValue(ia);
    let v = bValue(ib);
    let nan = isNan(u) || isNan(v);
    bit = ${COMPARE_WGSL[op]};`,
)}`;
}

/** The WGSL test of each predicate, of `v` (its bits in `bits`). */
export const PREDICATE_WGSL: Readonly<Record<string, string>> = {
  isnan: 'isNan(v)',
  isfinite: '(bits & 0x7f800000u) != 0x7f800000u',
  isinf: '(bits & 0x7fffffffu) == 0x7f800000u',
  not: '!truthy(v)',
};

/** isnan, isfinite, isinf or not, element by element, into a bool array. */
export function predicateShader(op: string, x: MaskElement): string {
  return /* wgsl */ `
${bindings([storageOf('x', 'read', x), 'out read_write u32'], 'n: vec4u')}
${IS_NAN}
${TRUTHY}
${valueReader('x', x)}
${perMaskWord(
  'n.x',
  `    let v = xValue(i);
    let bits = bitcast<u32>(v);
    bit = ${PREDICATE_WGSL[op]};`,
)}`;
}

/**
 * where(cond, a, b) with broadcasting over three operands: cond a bool array,
 * a and b float32, out float32.
 */
export function whereShader(): string {
  return /* wgsl */ `
struct Params {
  n: u32, rank: u32, pad0: u32, pad1: u32,
  shape: array<vec4u, 2>, aStride: array<vec4u, 2>, bStride: array<vec4u, 2>, cStride: array<vec4u, 2>,
}
${bindings(['cond read u32', 'a read', 'b read', 'out read_write'], 'p: Params')}
fn at(v: array<vec4u, 2>, d: u32) -> u32 { return v[d / 4u][d % 4u]; }
${perElement('i', 'p.n')}
${broadcastOffsets(['a', 'b', 'c'], '  ')}
  let picked = ((cond[ic / 4u] >> ((ic % 4u) * 8u)) & 0xffu) != 0u;
  out[i] = select(b[ib], a[ia], picked);
}`;
}

/**
 * int32 to float32 rounded to nearest, ties to even, as a Float32Array
 * stores an int32: exact below 2^24 in magnitude, and above it built from the
 * bits, since WGSL lets the conversion round either way.
 */
const I32_TO_F32 = `
fn i32ToF32(v: i32) -> f32 {
  let neg = v < 0;
  let mag = select(bitcast<u32>(v), 0u - bitcast<u32>(v), neg);
  if (mag < 16777216u) { return select(f32(mag), -f32(mag), neg); }
  let shift = firstLeadingBit(mag) - 23u;
  var m = mag >> shift;
  let rest = mag & ((1u << shift) - 1u);
  let half = 1u << (shift - 1u);
  if (rest > half || (rest == half && (m & 1u) == 1u)) { m = m + 1u; }
  let r = f32(m) * f32(1u << shift);
  return select(r, -r, neg);
}`;

/**
 * float32 to int32 as an Int32Array stores Math.trunc(v): toward zero,
 * modulo 2^32 past the int32 range, and 0 for NaN and the infinities (WGSL's
 * own conversion saturates instead).
 */
const F32_TO_I32 = `
fn f32ToI32(v: f32) -> i32 {
  let bits = bitcast<u32>(v);
  let e = i32((bits >> 23u) & 0xffu) - 127;
  if (e < 0 || e == 128) { return 0; }
  let m = (bits & 0x7fffffu) | 0x800000u;
  var mag = 0u;
  if (e <= 23) {
    mag = m >> u32(23 - e);
  } else if (e < 55) {
    let s = u32(e - 23);
    mag = select(m << min(s, 31u), 0u, s >= 32u);
  }
  return bitcast<i32>(select(mag, 0u - mag, (bits >> 31u) == 1u));
}`;

/** The contract's cast between float32, int32 and bool (Kernels.cast): bool is x !== 0 (NaN included), int32 truncates. */
export function castShader(from: MaskElement, to: MaskElement): string {
  if (to === 'bool') {
    // x !== 0: on the bits for a float (NaN is not 0, and -0 is).
    const test = from === 'f32' ? '(bitcast<u32>(x[i]) & 0x7fffffffu) != 0u' : from === 'i32' ? 'x[i] != 0' : '((x[i / 4u] >> ((i % 4u) * 8u)) & 0xffu) != 0u';
    return /* wgsl */ `
${bindings([storageOf('x', 'read', from), 'out read_write u32'], 'n: vec4u')}
${perMaskWord('n.x', `    bit = ${test};`)}`;
  }
  const value = from === 'bool' ? `((x[i / 4u] >> ((i % 4u) * 8u)) & 0xffu)` : from === to ? 'x[i]' : from === 'i32' ? 'i32ToF32(x[i])' : 'f32ToI32(x[i])';
  const converted = from === 'bool' ? (to === 'f32' ? `f32(${value})` : `i32(${value})`) : value;
  return /* wgsl */ `
${bindings([storageOf('x', 'read', from), storageOf('out', 'read_write', to)], 'n: vec4u')}
${from === 'i32' && to === 'f32' ? I32_TO_F32 : ''}
${from === 'f32' && to === 'i32' ? F32_TO_I32 : ''}
${perElement('i', 'n.x')}
  out[i] = ${converted};
}`;
}

/**
 * argmax or argmin along one axis of x viewed as [outer, size, inner]: one
 * invocation per line, the first extreme wins, and a NaN is the answer at
 * its first place (as the reference and PyTorch have it).
 */
export function argReduceShader(op: 'argmax' | 'argmin'): string {
  return /* wgsl */ `
${bindings(['x read', 'out read_write i32'], 'p: vec4u')}
${IS_NAN}
${perLine()}
  var best = x[start];
  var bi = 0u;
  if (!isNan(best)) {
    for (var i = 1u; i < size; i++) {
      let v = x[start + i * inner];
      if (isNan(v)) { bi = i; break; }
      if (v ${op === 'argmax' ? '>' : '<'} best) { best = v; bi = i; }
    }
  }
  out[r] = i32(bi);
}`;
}

/**
 * indexAdd: out viewed as [outer, size, inner] adds src [outer, m, inner]
 * at the axis places index[0..m) names. Each out element walks the index and
 * adds, in index order, the src elements that land on it: the reference's
 * order of additions, so the same float32 sums, and no two invocations
 * write one element (WGSL has no float atomics).
 */
export function indexAddShader(): string {
  return /* wgsl */ `
${bindings(['out read_write', 'index read i32', 'src read'], 'p: vec4u')}
${perElement('q', 'p.x * p.y * p.z')}
  let size = p.y;
  let inner = p.z;
  let m = p.w;
  let o = q / (size * inner);
  let r = i32((q / inner) % size);
  let j = q % inner;
  var acc = out[q];
  for (var i = 0u; i < m; i++) {
    if (index[i] == r) { acc += src[(o * m + i) * inner + j]; }
  }
  out[q] = acc;
}`;
}

/**
 * maxUnpool's first pass: each input claims the output place its index names
 * in its plane, an atomicMax of its position plus one, so that where two
 * inputs name one place (overlapping pooling windows) the last one in the
 * reference's order (planes, then inputs) holds it whatever order the GPU
 * runs them in. p = (planes, inPlaneSize, outPlaneSize). An index that falls
 * outside the output claims nothing; one that falls in a neighbouring plane
 * claims there, as the reference's write does.
 */
export function maxUnpoolClaimShader(): string {
  return /* wgsl */ `
${bindings(['indices read i32', 'claim read_write atomic<i32>'], 'p: vec4u')}
${perElement('e', 'p.x * p.y')}
  let place = i32((e / p.y) * p.z) + indices[e];
  if (place >= 0 && place < i32(p.x * p.z)) { atomicMax(&claim[place], i32(e) + 1); }
}`;
}

/** maxUnpool's second pass: each output place takes the input that claimed it, or 0. */
export function maxUnpoolShader(): string {
  return /* wgsl */ `
${bindings(['x read', 'claim read i32', 'out read_write'], 'p: vec4u')}
${perElement('o', 'p.x * p.z')}
  let w = claim[o];
  out[o] = select(0.0, x[max(w, 1) - 1], w > 0);
}`;
}
