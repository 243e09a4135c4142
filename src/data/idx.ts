// The IDX format (LeCun's MNIST files): two zero bytes, a type byte, a rank
// byte, `rank` big-endian int32 dimensions, then the elements in row-major
// order, big-endian. Pure functions over bytes, so they run in a browser too;
// reading files (and gunzip on Node) lives in ./node.ts.
import { type DType, isFloatDType } from '../core/dtype.js';
import { DTypeError, fmtShape, SerializationError, ValueError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';

/** Element types an IDX file can hold, by their type byte. */
export type IdxDType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

/** The typed arrays an IDX file's elements can be read into. */
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** A decoded IDX file: its element type, dimensions and row-major elements. */
export interface IdxArray {
  /** The element type named in the file's header. */
  dtype: IdxDType;
  /** The dimensions from the file's header. */
  shape: number[];
  /** The elements in row-major order. */
  data: IdxData;
}

interface IdxTypeInfo {
  code: number;
  bytes: number;
}

const IDX_TYPES: Record<IdxDType, IdxTypeInfo> = {
  uint8: { code: 0x08, bytes: 1 },
  int8: { code: 0x09, bytes: 1 },
  int16: { code: 0x0b, bytes: 2 },
  int32: { code: 0x0c, bytes: 4 },
  float32: { code: 0x0d, bytes: 4 },
  float64: { code: 0x0e, bytes: 8 },
};

const DTYPE_BY_CODE = new Map<number, IdxDType>(Object.entries(IDX_TYPES).map(([name, info]) => [info.code, name as IdxDType]));

const INTEGER_RANGE: Partial<Record<IdxDType, [number, number]>> = {
  uint8: [0, 255],
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
};

/** True when the bytes start with the gzip magic number (1f 8b). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, '0')}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * Decode an IDX file held in memory. Every inconsistency (wrong magic number,
 * unknown type byte, a header cut short, data shorter or longer than the
 * dimensions say) throws a SerializationError naming `source` (default
 * "IDX data") and the byte counts involved.
 *
 * Single-byte element types are returned as views into `bytes` (no copy);
 * wider types are decoded from big-endian into new arrays. Gzipped bytes are
 * refused with a pointer to the helpers that decompress them.
 */
export function parseIdx(bytes: Uint8Array, options: { source?: string } = {}): IdxArray {
  const source = options.source ?? 'IDX data';
  if (!(bytes instanceof Uint8Array)) throw new ValueError(`parseIdx: expected a Uint8Array, got ${describe(bytes)}`);
  if (isGzip(bytes)) {
    throw new SerializationError(
      `parseIdx: ${source} is gzip-compressed; decompress it first (readIdxFile() does so on Node, parseIdxAsync() with DecompressionStream in a browser)`,
    );
  }
  if (bytes.length < 4) throw new SerializationError(`parseIdx: ${source} has ${plural(bytes.length, 'byte')}, too short for the 4-byte IDX magic number`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new SerializationError(`parseIdx: ${source} is not an IDX file: its magic number must start with 0x00 0x00, got ${hex(bytes[0])} ${hex(bytes[1])}`);
  }
  const dtype = DTYPE_BY_CODE.get(bytes[2]);
  if (dtype === undefined) {
    throw new SerializationError(
      `parseIdx: ${source} has unknown element type byte ${hex(bytes[2])}; expected 0x08 (uint8), 0x09 (int8), 0x0b (int16), 0x0c (int32), 0x0d (float32) or 0x0e (float64)`,
    );
  }
  const rank = bytes[3];
  if (rank === 0) throw new SerializationError(`parseIdx: ${source} declares rank 0; an IDX array has at least one dimension`);
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    throw new SerializationError(
      `parseIdx: ${source} is truncated: rank ${rank} needs a ${headerBytes}-byte header, got ${plural(bytes.length, 'byte')} in all`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let count = 1;
  for (let d = 0; d < rank; d++) {
    const dim = view.getInt32(4 + 4 * d, false);
    if (dim < 0) throw new SerializationError(`parseIdx: ${source} has a negative dimension ${dim} at axis ${d}`);
    shape.push(dim);
    count *= dim;
  }
  const itemBytes = IDX_TYPES[dtype].bytes;
  const dataBytes = count * itemBytes;
  const actual = bytes.length - headerBytes;
  if (actual !== dataBytes) {
    const problem = actual < dataBytes ? 'truncated' : `${plural(actual - dataBytes, 'byte')} too long`;
    throw new SerializationError(
      `parseIdx: ${source} is ${problem}: ${dtype} ${fmtShape(shape)} needs ${headerBytes + dataBytes} bytes ` +
        `(${headerBytes}-byte header + ${dataBytes} data bytes), got ${bytes.length} (${actual} data bytes)`,
    );
  }
  return { dtype, shape, data: decodeElements(dtype, bytes, headerBytes, count, view) };
}

function decodeElements(dtype: IdxDType, bytes: Uint8Array, offset: number, count: number, view: DataView): IdxData {
  switch (dtype) {
    case 'uint8':
      return bytes.subarray(offset, offset + count);
    case 'int8':
      return new Int8Array(bytes.buffer, bytes.byteOffset + offset, count);
    case 'int16': {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(offset + 2 * i, false);
      return out;
    }
    case 'int32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(offset + 4 * i, false);
      return out;
    }
    case 'float32': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(offset + 4 * i, false);
      return out;
    }
    case 'float64': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(offset + 8 * i, false);
      return out;
    }
  }
}

/**
 * Decode IDX bytes that may be gzip-compressed, decompressing with the
 * standard DecompressionStream where the runtime has one (browsers, Node 18+).
 */
export async function parseIdxAsync(bytes: Uint8Array, options: { source?: string } = {}): Promise<IdxArray> {
  if (!isGzip(bytes)) return parseIdx(bytes, options);
  if (typeof DecompressionStream === 'undefined') {
    throw new SerializationError(`parseIdxAsync: ${options.source ?? 'IDX data'} is gzip-compressed and this runtime has no DecompressionStream`);
  }
  // Blob takes only ArrayBuffer-backed views; copy one backed by shared memory.
  const part = bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : bytes.slice();
  const stream = new Blob([part]).stream().pipeThrough(new DecompressionStream('gzip'));
  const plain = new Uint8Array(await new Response(stream).arrayBuffer());
  return parseIdx(plain, options);
}

const IDX_FOR_TENSOR: Record<DType, IdxDType> = { float32: 'float32', float64: 'float64', int32: 'int32', bool: 'uint8' };

/**
 * Encode an array (or a tensor) as IDX bytes. The element type defaults to the
 * array's own (a tensor's float32/float64/int32, and uint8 for bool); integer
 * types reject values they cannot hold exactly rather than wrapping them.
 */
export function encodeIdx(
  array: IdxArray | Tensor | { dtype: IdxDType; shape: readonly number[]; data: ArrayLike<number> },
  options: { dtype?: IdxDType } = {},
): Uint8Array {
  const shape = [...array.shape];
  const dtype = options.dtype ?? (array instanceof Tensor ? IDX_FOR_TENSOR[array.dtype] : array.dtype);
  const info = IDX_TYPES[dtype];
  if (info === undefined) throw new DTypeError(`encodeIdx: unknown IDX dtype ${JSON.stringify(dtype)}; expected one of ${Object.keys(IDX_TYPES).join(', ')}`);
  if (shape.length === 0 || shape.length > 255) throw new ValueError(`encodeIdx: an IDX array has 1 to 255 dimensions, got shape ${fmtShape(shape)}`);
  let count = 1;
  for (const dim of shape) {
    if (!Number.isInteger(dim) || dim < 0 || dim > 2147483647)
      throw new ValueError(`encodeIdx: dimensions must be integers in [0, 2^31), got shape ${fmtShape(shape)}`);
    count *= dim;
  }
  const data = array.data;
  if (data.length !== count) throw new ValueError(`encodeIdx: shape ${fmtShape(shape)} holds ${count} elements but data has ${data.length}`);
  const headerBytes = 4 + 4 * shape.length;
  const out = new Uint8Array(headerBytes + count * info.bytes);
  const view = new DataView(out.buffer);
  out[2] = info.code;
  out[3] = shape.length;
  for (let d = 0; d < shape.length; d++) view.setInt32(4 + 4 * d, shape[d], false);
  const range = INTEGER_RANGE[dtype];
  if (range) {
    for (let i = 0; i < count; i++) {
      const v = data[i];
      if (!Number.isInteger(v) || v < range[0] || v > range[1]) {
        throw new ValueError(`encodeIdx: element ${i} is ${v}, which ${dtype} cannot hold (integers in [${range[0]}, ${range[1]}])`);
      }
    }
  }
  let p = headerBytes;
  switch (dtype) {
    case 'uint8':
    case 'int8':
      // Masking writes a negative int8 as its two's-complement byte.
      for (let i = 0; i < count; i++) out[p + i] = data[i] & 0xff;
      break;
    case 'int16':
      for (let i = 0; i < count; i++, p += 2) view.setInt16(p, data[i], false);
      break;
    case 'int32':
      for (let i = 0; i < count; i++, p += 4) view.setInt32(p, data[i], false);
      break;
    case 'float32':
      for (let i = 0; i < count; i++, p += 4) view.setFloat32(p, data[i], false);
      break;
    case 'float64':
      for (let i = 0; i < count; i++, p += 8) view.setFloat64(p, data[i], false);
      break;
  }
  return out;
}

/**
 * Turn decoded IDX elements into a tensor. Integer files become int32 by
 * default and float files keep their precision; `dtype` overrides that
 * (integers to float, for instance). `scale` multiplies every element, as in
 * dividing pixel bytes by 255, and needs a float result.
 */
export function idxToTensor(array: IdxArray, options: { dtype?: DType; scale?: number } = {}): Tensor {
  const natural: DType = array.dtype === 'float32' ? 'float32' : array.dtype === 'float64' ? 'float64' : 'int32';
  const dtype = options.dtype ?? (options.scale !== undefined ? (natural === 'int32' ? 'float32' : natural) : natural);
  if (options.scale !== undefined && !isFloatDType(dtype)) throw new DTypeError(`idxToTensor: scale needs a float32 or float64 result, got dtype ${dtype}`);
  const src = array.data;
  const n = src.length;
  let out: Float32Array | Float64Array | Int32Array | Uint8Array;
  switch (dtype) {
    case 'float32':
      out = new Float32Array(n);
      break;
    case 'float64':
      out = new Float64Array(n);
      break;
    case 'int32':
      if (array.dtype === 'float32' || array.dtype === 'float64') {
        throw new DTypeError(`idxToTensor: refusing to truncate ${array.dtype} IDX data to int32; ask for a float dtype`);
      }
      out = new Int32Array(n);
      break;
    case 'bool':
      throw new DTypeError('idxToTensor: IDX data cannot become a bool tensor; ask for int32, float32 or float64');
    default:
      throw new DTypeError(`idxToTensor: unknown dtype ${JSON.stringify(dtype)}`);
  }
  const scale = options.scale;
  if (scale === undefined || scale === 1) out.set(src);
  else for (let i = 0; i < n; i++) out[i] = src[i] * scale;
  return new Tensor(out, array.shape);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return (value as object).constructor?.name ?? 'an object';
}
