/*
 * The geometry of convolution and pooling, declared once. Each field list is
 * the single source of both the TypeScript type and the Int32Array that
 * carries a geometry across the native boundary: scripts/gen-native-geometry.mjs
 * reads these lists and writes native/geometry.h, whose structs the C++ kernels
 * read, and a test fails when the header is out of date.
 */

/** Conv2dGeometry's fields, in the order they cross the native boundary. */
export const CONV2D_GEOMETRY_FIELDS = [
  'batch',
  'inChannels',
  'inH',
  'inW',
  'outChannels',
  'kernelH',
  'kernelW',
  'strideH',
  'strideW',
  'padH',
  'padW',
  'dilationH',
  'dilationW',
  'groups',
  'outH',
  'outW',
] as const;

/** Pool2dGeometry's fields, in the order they cross the native boundary. */
export const POOL2D_GEOMETRY_FIELDS = [
  'batch',
  'channels',
  'inH',
  'inW',
  'kernelH',
  'kernelW',
  'strideH',
  'strideW',
  'padH',
  'padW',
  'dilationH',
  'dilationW',
  'outH',
  'outW',
] as const;

/**
 * Geometry of a 2-D convolution in PyTorch's layouts: input [batch,
 * inChannels, inH, inW], weight [outChannels, inChannels/groups, kernelH,
 * kernelW], output [batch, outChannels, outH, outW]; output channel block g
 * reads input channel block g. Output cell (oh, ow) reads input cell
 * (oh*strideH + kh*dilationH - padH, ow*strideW + kw*dilationW - padW) for
 * each tap (kh, kw); cells outside the input count as zeros.
 *
 * padH/padW are the padding before the first row/column only: the padding
 * after is implied by outH/outW, which the caller computes (usually
 * floor((inH + 2*padH - dilationH*(kernelH-1) - 1) / strideH) + 1). That
 * covers the asymmetric padding of 'same' with an even kernel and the
 * output padding of a transposed convolution.
 */
export type Conv2dGeometry = { readonly [F in (typeof CONV2D_GEOMETRY_FIELDS)[number]]: number };

/**
 * Geometry of 2-D pooling over each (n, c) plane of an NCHW tensor
 * independently: output cell (oh, ow) pools the input cells
 * (oh*strideH - padH + i*dilationH, ow*strideW - padW + j*dilationW) for
 * i < kernelH, j < kernelW. As for convolution, padH/padW pad the start and
 * outH/outW (the caller applies floor or ceil mode) imply the end. Average
 * pooling has no dilation (1).
 */
export type Pool2dGeometry = { readonly [F in (typeof POOL2D_GEOMETRY_FIELDS)[number]]: number };

/** A geometry as the Int32Array the native kernels read (the field lists' order). */
export function packGeometry<F extends string>(fields: readonly F[], geometry: { readonly [K in F]: number }, out = new Int32Array(fields.length)): Int32Array {
  for (let i = 0; i < fields.length; i++) out[i] = geometry[fields[i]];
  return out;
}
