import type { TypedArray } from '../../core/dtype.js';
import type { Conv2dGeometry } from '../../kernels/contract.js';

// 2-D convolution as im2col + matrix product, one image and one group at a
// time. For image n and group g, with Cg = inChannels/groups, Og =
// outChannels/groups, K = Cg·kernelH·kernelW and P = outH·outW:
//   col[q, j]     = x[n, g·Cg + c, ih, iw]   (q = (c, kh, kw), j = (oh, ow); 0 outside the input)
//   out_g [Og, P] = W_g [Og, K] · col [K, P]
//   dcol  [K, P]  = W_gᵀ · dout_g,  then scattered back onto the input (col2im)
//   dW_g  [Og, K] = Σ_n dout_g · colᵀ
// Every inner loop runs along a contiguous row of P output cells, and all
// sums are accumulated in float64 whatever the storage dtype.

/** Output columns ow whose input column ow·stride + offset lies in [0, size): [lo, hi). */
function validRange(offset: number, stride: number, size: number, outSize: number): [number, number] {
  const lo = offset >= 0 ? 0 : Math.min(outSize, Math.ceil(-offset / stride));
  const hi = size - offset <= 0 ? 0 : Math.min(outSize, Math.ceil((size - offset) / stride));
  return [lo, Math.max(lo, hi)];
}

function isPointwise(g: Conv2dGeometry): boolean {
  return g.kernelH === 1 && g.kernelW === 1 && g.strideH === 1 && g.strideW === 1 && g.padH === 0 && g.padW === 0 && g.outH === g.inH && g.outW === g.inW;
}

/** col [Cg·kh·kw, outH·outW] from the Cg input planes starting at xOffset. */
function im2col(x: Float64Array, xOffset: number, channels: number, g: Conv2dGeometry, col: Float64Array): void {
  const { inH, inW, outH, outW, kernelH, kernelW } = g;
  const plane = outH * outW;
  let row = 0;
  for (let c = 0; c < channels; c++) {
    const src = xOffset + c * inH * inW;
    for (let kh = 0; kh < kernelH; kh++) {
      for (let kw = 0; kw < kernelW; kw++, row++) {
        const dst = row * plane;
        const offW = kw * g.dilationW - g.padW;
        const [lo, hi] = validRange(offW, g.strideW, inW, outW);
        for (let oh = 0; oh < outH; oh++) {
          const d = dst + oh * outW;
          const ih = oh * g.strideH + kh * g.dilationH - g.padH;
          if (ih < 0 || ih >= inH) {
            col.fill(0, d, d + outW);
            continue;
          }
          const s = src + ih * inW + offW;
          col.fill(0, d, d + lo);
          for (let ow = lo; ow < hi; ow++) col[d + ow] = x[s + ow * g.strideW];
          col.fill(0, d + hi, d + outW);
        }
      }
    }
  }
}

/** gin planes starting at ginOffset += col2im(col): the adjoint of im2col. */
function col2imAdd(col: Float64Array, channels: number, g: Conv2dGeometry, gin: Float64Array, ginOffset: number): void {
  const { inH, inW, outH, outW, kernelH, kernelW } = g;
  const plane = outH * outW;
  let row = 0;
  for (let c = 0; c < channels; c++) {
    const dstPlane = ginOffset + c * inH * inW;
    for (let kh = 0; kh < kernelH; kh++) {
      for (let kw = 0; kw < kernelW; kw++, row++) {
        const src = row * plane;
        const offW = kw * g.dilationW - g.padW;
        const [lo, hi] = validRange(offW, g.strideW, inW, outW);
        for (let oh = 0; oh < outH; oh++) {
          const ih = oh * g.strideH + kh * g.dilationH - g.padH;
          if (ih < 0 || ih >= inH) continue;
          const d = dstPlane + ih * inW + offW;
          const s = src + oh * outW;
          for (let ow = lo; ow < hi; ow++) gin[d + ow * g.strideW] += col[s + ow];
        }
      }
    }
  }
}

/** The data as float64: the hot loops then see one array type only, whatever the storage dtype. */
function asF64(x: TypedArray): Float64Array {
  return x instanceof Float64Array ? x : Float64Array.from(x);
}

/**
 * c[i, :] += Σ_p a(i, p) · b[p, :] for i < m, where a(i, p) = a[aOff + i·ars + p·acs]
 * and b, c hold rows of n at bOff, cOff. Four rows of b per pass over a row of
 * c cut the loads and stores of c by four.
 */
function accumulateProduct(
  m: number,
  n: number,
  depth: number,
  a: Float64Array,
  aOff: number,
  ars: number,
  acs: number,
  b: Float64Array,
  bOff: number,
  c: Float64Array,
  cOff: number,
): void {
  for (let i = 0; i < m; i++) {
    const ci = cOff + i * n;
    const ai = aOff + i * ars;
    let p = 0;
    for (; p + 4 <= depth; p += 4) {
      const a0 = a[ai + p * acs];
      const a1 = a[ai + (p + 1) * acs];
      const a2 = a[ai + (p + 2) * acs];
      const a3 = a[ai + (p + 3) * acs];
      const b0 = bOff + p * n;
      const b1 = b0 + n;
      const b2 = b1 + n;
      const b3 = b2 + n;
      for (let j = 0; j < n; j++) c[ci + j] += a0 * b[b0 + j] + a1 * b[b1 + j] + a2 * b[b2 + j] + a3 * b[b3 + j];
    }
    for (; p < depth; p++) {
      const av = a[ai + p * acs];
      const bp = bOff + p * n;
      for (let j = 0; j < n; j++) c[ci + j] += av * b[bp + j];
    }
  }
}

/** c[i, q] += Σ_j a[i, j] · b[q, j] (rows of length n) for i < m, q < rows: dot products, four rows of b at a time. */
function accumulateDots(m: number, rows: number, n: number, a: Float64Array, aOff: number, b: Float64Array, bOff: number, c: Float64Array, cOff: number): void {
  for (let i = 0; i < m; i++) {
    const ai = aOff + i * n;
    const ci = cOff + i * rows;
    let q = 0;
    for (; q + 4 <= rows; q += 4) {
      const b0 = bOff + q * n;
      const b1 = b0 + n;
      const b2 = b1 + n;
      const b3 = b2 + n;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let j = 0; j < n; j++) {
        const av = a[ai + j];
        s0 += av * b[b0 + j];
        s1 += av * b[b1 + j];
        s2 += av * b[b2 + j];
        s3 += av * b[b3 + j];
      }
      c[ci + q] += s0;
      c[ci + q + 1] += s1;
      c[ci + q + 2] += s2;
      c[ci + q + 3] += s3;
    }
    for (; q < rows; q++) {
      const bq = bOff + q * n;
      let s = 0;
      for (let j = 0; j < n; j++) s += a[ai + j] * b[bq + j];
      c[ci + q] += s;
    }
  }
}

/** The columns of one group of one image at [array, offset]: x itself when the convolution is pointwise. */
function columnsOf(x: Float64Array, xOffset: number, channels: number, g: Conv2dGeometry, scratch: Float64Array | null): [Float64Array, number] {
  if (scratch === null) return [x, xOffset];
  im2col(x, xOffset, channels, g, scratch);
  return [scratch, 0];
}

export function conv2d(input: TypedArray, weight: TypedArray, bias: TypedArray | null, out: TypedArray, g: Conv2dGeometry): void {
  const x = asF64(input);
  const w = asF64(weight);
  const cg = g.inChannels / g.groups;
  const og = g.outChannels / g.groups;
  const kk = cg * g.kernelH * g.kernelW;
  const plane = g.outH * g.outW;
  const inPlane = g.inH * g.inW;
  const scratch = isPointwise(g) ? null : new Float64Array(kk * plane);
  const acc = new Float64Array(g.outChannels * plane);
  for (let n = 0; n < g.batch; n++) {
    for (let oc = 0; oc < g.outChannels; oc++) acc.fill(bias === null ? 0 : bias[oc], oc * plane, (oc + 1) * plane);
    for (let grp = 0; grp < g.groups; grp++) {
      const [col, colOffset] = columnsOf(x, (n * g.inChannels + grp * cg) * inPlane, cg, g, scratch);
      accumulateProduct(og, plane, kk, w, grp * og * kk, kk, 1, col, colOffset, acc, grp * og * plane);
    }
    out.set(acc, n * g.outChannels * plane);
  }
}

export function conv2dBackwardInput(gradOut: TypedArray, weight: TypedArray, gradIn: TypedArray, g: Conv2dGeometry): void {
  const gout = asF64(gradOut);
  const w = asF64(weight);
  const cg = g.inChannels / g.groups;
  const og = g.outChannels / g.groups;
  const kk = cg * g.kernelH * g.kernelW;
  const plane = g.outH * g.outW;
  const inPlane = g.inH * g.inW;
  const pointwise = isPointwise(g);
  const dcol = new Float64Array(kk * plane);
  const gin = new Float64Array(g.inChannels * inPlane);
  for (let n = 0; n < g.batch; n++) {
    gin.fill(0);
    for (let grp = 0; grp < g.groups; grp++) {
      dcol.fill(0);
      // dcol[q, j] = Σ_o W[o, q] · gradOut[o, j]: W read transposed in place.
      accumulateProduct(kk, plane, og, w, grp * og * kk, 1, kk, gout, (n * g.outChannels + grp * og) * plane, dcol, 0);
      // A pointwise convolution's columns are the input planes themselves.
      if (pointwise) gin.set(dcol, grp * cg * inPlane);
      else col2imAdd(dcol, cg, g, gin, grp * cg * inPlane);
    }
    gradIn.set(gin, n * g.inChannels * inPlane);
  }
}

export function conv2dBackwardWeight(input: TypedArray, gradOut: TypedArray, gradWeight: TypedArray, g: Conv2dGeometry): void {
  const x = asF64(input);
  const gout = asF64(gradOut);
  const cg = g.inChannels / g.groups;
  const og = g.outChannels / g.groups;
  const kk = cg * g.kernelH * g.kernelW;
  const plane = g.outH * g.outW;
  const inPlane = g.inH * g.inW;
  const scratch = isPointwise(g) ? null : new Float64Array(kk * plane);
  const acc = new Float64Array(g.outChannels * kk);
  for (let n = 0; n < g.batch; n++) {
    for (let grp = 0; grp < g.groups; grp++) {
      const [col, colOffset] = columnsOf(x, (n * g.inChannels + grp * cg) * inPlane, cg, g, scratch);
      accumulateDots(og, kk, plane, gout, (n * g.outChannels + grp * og) * plane, col, colOffset, acc, grp * og * kk);
    }
  }
  gradWeight.set(acc);
}
