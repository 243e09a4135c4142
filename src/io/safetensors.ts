/**
 * The safetensors format (Hugging Face), read and written without node:fs so
 * that it works in a browser too.
 *
 * Layout: 8 bytes N (unsigned 64-bit little-endian), N bytes of UTF-8 JSON
 * header starting with `{` and possibly padded at the end with spaces, then the
 * data section. The header maps each tensor name to `{dtype, shape,
 * data_offsets: [begin, end]}` (offsets relative to the data section, end one
 * past the last byte) and may hold `__metadata__`, a string-to-string map.
 * Tensors are row-major and little-endian. The data section must be covered
 * exactly by the tensors' ranges: no overlaps, no holes, nothing after the
 * last tensor (so a file cannot smuggle a second payload).
 */
import type { DType } from '../core/dtype.js';
import { fmtShape, SerializationError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import { isPlainObject, parseStrictJson } from './strict-json.js';

/** Free-form string-to-string metadata stored under `__metadata__`. */
export type SafetensorsMetadata = Record<string, string>;

/** A decoded safetensors file: the tensors by name and the metadata strings. */
export interface DecodedSafetensors {
  /** Tensors by name, in the order of their bytes in the file. */
  tensors: Map<string, Tensor>;
  /** The `__metadata__` map ({} when the file has none). */
  metadata: SafetensorsMetadata;
  /**
   * The dtype each tensor had in the file. It differs from the tensor's dtype
   * when neurite widened it: F16 and BF16 become float32; I8, U8, I16, U16,
   * U32, I64 and U64 become int32 (when every value fits).
   */
  storedDTypes: Map<string, string>;
}

const METADATA_KEY = '__metadata__';

/** The reference implementation refuses larger headers; so do we, before parsing. */
const MAX_HEADER_BYTES = 100_000_000;

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

interface FileDType {
  /** Bytes per element in the file. */
  size: number;
  /** The neurite dtype it is read into. */
  target: DType;
  /** Read element i of the tensor whose bytes start at byteOffset; undefined when the value does not fit `target`. */
  read: (view: DataView, byteOffset: number, i: number) => number | undefined;
}

function int32Or(value: number | bigint): number | undefined {
  const n = Number(value);
  return n >= -2147483648 && n <= 2147483647 && Number.isInteger(n) ? n : undefined;
}

function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

const bf16Scratch = new DataView(new ArrayBuffer(4));
function bfloat16ToFloat(bits: number): number {
  bf16Scratch.setUint32(0, bits << 16, true);
  return bf16Scratch.getFloat32(0, true);
}

const FILE_DTYPES: Record<string, FileDType> = {
  F64: { size: 8, target: 'float64', read: (v, o, i) => v.getFloat64(o + 8 * i, true) },
  F32: { size: 4, target: 'float32', read: (v, o, i) => v.getFloat32(o + 4 * i, true) },
  I32: { size: 4, target: 'int32', read: (v, o, i) => v.getInt32(o + 4 * i, true) },
  BOOL: { size: 1, target: 'bool', read: (v, o, i) => (v.getUint8(o + i) <= 1 ? v.getUint8(o + i) : undefined) },
  F16: { size: 2, target: 'float32', read: (v, o, i) => halfToFloat(v.getUint16(o + 2 * i, true)) },
  BF16: { size: 2, target: 'float32', read: (v, o, i) => bfloat16ToFloat(v.getUint16(o + 2 * i, true)) },
  I8: { size: 1, target: 'int32', read: (v, o, i) => v.getInt8(o + i) },
  U8: { size: 1, target: 'int32', read: (v, o, i) => v.getUint8(o + i) },
  I16: { size: 2, target: 'int32', read: (v, o, i) => v.getInt16(o + 2 * i, true) },
  U16: { size: 2, target: 'int32', read: (v, o, i) => v.getUint16(o + 2 * i, true) },
  U32: { size: 4, target: 'int32', read: (v, o, i) => int32Or(v.getUint32(o + 4 * i, true)) },
  I64: { size: 8, target: 'int32', read: (v, o, i) => int32Or(v.getBigInt64(o + 8 * i, true)) },
  U64: { size: 8, target: 'int32', read: (v, o, i) => int32Or(v.getBigUint64(o + 8 * i, true)) },
};

/** Valid safetensors dtypes that neurite has no tensor type for. */
const UNSUPPORTED_DTYPES = new Set(['F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'C64']);

const WRITE_DTYPE: Record<DType, string> = { float64: 'F64', float32: 'F32', int32: 'I32', bool: 'BOOL' };
const ITEM_SIZE: Record<DType, number> = { float64: 8, float32: 4, int32: 4, bool: 1 };

function toEntries<V>(what: string, input: Map<string, V> | Record<string, V>): [string, V][] {
  if (input instanceof Map) return [...input.entries()];
  if (isPlainObject(input)) return Object.entries(input);
  throw new SerializationError(`encodeSafetensors: ${what} must be a Map or a plain object`);
}

/**
 * Serialize tensors (and optional string metadata) to safetensors bytes.
 *
 * Tensors are laid out by decreasing element size, keeping the given order
 * among equal sizes, and the header is padded with spaces to a multiple of 8
 * bytes, so every tensor starts at a file offset aligned to its element size
 * and a reader can view it without copying.
 *
 * @param tensors name to tensor, e.g. `model.stateDict()`
 * @param metadata stored under `__metadata__`; values must be strings
 */
export function encodeSafetensors(tensors: Map<string, Tensor> | Record<string, Tensor>, metadata?: Map<string, string> | SafetensorsMetadata): Uint8Array {
  const entries = toEntries('tensors', tensors);
  for (const [name, t] of entries) {
    if (name === METADATA_KEY) throw new SerializationError(`encodeSafetensors: '${METADATA_KEY}' is reserved for metadata and cannot name a tensor`);
    if (!(t instanceof Tensor)) throw new SerializationError(`encodeSafetensors: '${name}' is not a Tensor`);
  }
  const meta = metadata === undefined ? [] : toEntries('metadata', metadata);
  for (const [key, value] of meta) {
    if (typeof value !== 'string') {
      throw new SerializationError(`encodeSafetensors: metadata '${key}' must be a string (safetensors metadata is string-to-string), got ${typeof value}`);
    }
  }

  const ordered = entries.map(([name, t], index) => ({ name, t, index })).sort((a, b) => ITEM_SIZE[b.t.dtype] - ITEM_SIZE[a.t.dtype] || a.index - b.index);

  const parts: string[] = [];
  if (meta.length > 0) parts.push(`${JSON.stringify(METADATA_KEY)}:${JSON.stringify(Object.fromEntries(meta))}`);
  let dataLength = 0;
  const offsets: number[] = [];
  for (const { name, t } of ordered) {
    const begin = dataLength;
    dataLength += t.size * ITEM_SIZE[t.dtype];
    offsets.push(begin);
    parts.push(`${JSON.stringify(name)}:${JSON.stringify({ dtype: WRITE_DTYPE[t.dtype], shape: t.shape, data_offsets: [begin, dataLength] })}`);
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;

  const out = new Uint8Array(8 + headerLength + dataLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength % 4294967296, true);
  view.setUint32(4, Math.floor(headerLength / 4294967296), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);

  const dataStart = 8 + headerLength;
  ordered.forEach(({ t }, k) => {
    const at = dataStart + offsets[k];
    if (LITTLE_ENDIAN_HOST) {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
      return;
    }
    const size = ITEM_SIZE[t.dtype];
    for (let i = 0; i < t.size; i++) {
      const x = t.data[i];
      if (t.dtype === 'float64') view.setFloat64(at + size * i, x, true);
      else if (t.dtype === 'float32') view.setFloat32(at + size * i, x, true);
      else if (t.dtype === 'int32') view.setInt32(at + size * i, x, true);
      else view.setUint8(at + i, x);
    }
  });
  return out;
}

interface HeaderEntry {
  name: string;
  fileDType: string;
  info: FileDType;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Parse safetensors bytes. Everything is checked before any tensor is built:
 * the header length against the file, the header's UTF-8 and JSON (duplicate
 * keys are an error), each entry's dtype, shape and offsets, that each byte
 * range matches its shape and dtype, and that the ranges tile the data section
 * exactly. Any problem throws a SerializationError saying what and where; a
 * partial result is never returned. The tensors own fresh copies of the data.
 */
export function decodeSafetensors(input: Uint8Array | ArrayBuffer): DecodedSafetensors {
  const fail = (message: string): never => {
    throw new SerializationError(`decodeSafetensors: ${message}`);
  };
  if (!(input instanceof Uint8Array) && !(input instanceof ArrayBuffer)) fail('expected a Uint8Array or an ArrayBuffer');
  // A plain Uint8Array view, so that slice() copies even when given a Node Buffer (whose slice() is a view).
  const bytes = input instanceof ArrayBuffer ? new Uint8Array(input) : new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  if (bytes.length < 8) fail(`the file is ${bytes.length} bytes long, too short for the 8-byte header length (truncated?)`);
  const headerLength = view.getUint32(0, true) + view.getUint32(4, true) * 4294967296;
  if (headerLength > MAX_HEADER_BYTES) fail(`header length ${headerLength} is above the ${MAX_HEADER_BYTES}-byte limit (corrupted?)`);
  if (headerLength > bytes.length - 8) {
    fail(`header length ${headerLength} runs past the end of the file, which has ${bytes.length - 8} bytes after the length field (truncated?)`);
  }
  if (headerLength < 2) fail(`header length ${headerLength} is too small for a JSON object`);
  if (bytes[8] !== 0x7b) fail(`the header must start with '{', found byte 0x${bytes[8].toString(16).padStart(2, '0')}`);

  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + headerLength));
  } catch {
    fail('the header is not valid UTF-8');
  }
  const header = parseStrictJson(text, 'decodeSafetensors: header');
  if (!isPlainObject(header)) return fail('the header must be a JSON object');

  const dataStart = 8 + headerLength;
  const dataLength = bytes.length - dataStart;
  let metadata: SafetensorsMetadata = {};
  const entries: HeaderEntry[] = [];

  for (const [name, raw] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      if (!isPlainObject(raw)) fail(`'${METADATA_KEY}' must be an object of strings`);
      for (const [k, v] of Object.entries(raw as object)) {
        if (typeof v !== 'string') fail(`'${METADATA_KEY}' value '${k}' must be a string, got ${JSON.stringify(v)}`);
      }
      metadata = raw as SafetensorsMetadata;
      continue;
    }
    const where = `tensor '${name}'`;
    if (!isPlainObject(raw)) return fail(`${where}: expected {dtype, shape, data_offsets}, got ${JSON.stringify(raw)}`);
    for (const key of Object.keys(raw)) {
      if (key !== 'dtype' && key !== 'shape' && key !== 'data_offsets') fail(`${where}: unknown field '${key}'`);
    }
    const { dtype, shape, data_offsets: offsets } = raw;
    if (typeof dtype !== 'string') return fail(`${where}: dtype must be a string, got ${JSON.stringify(dtype)}`);
    const info = FILE_DTYPES[dtype];
    if (!info) {
      if (UNSUPPORTED_DTYPES.has(dtype)) fail(`${where}: dtype ${dtype} is valid safetensors but neurite has no tensor type for it`);
      fail(`${where}: unknown dtype ${JSON.stringify(dtype)}; known: ${Object.keys(FILE_DTYPES).join(', ')}`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      return fail(`${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      return fail(`${where}: data_offsets must be [begin, end] with non-negative integers, got ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) fail(`${where}: data_offsets [${begin}, ${end}] end before they begin`);
    if (end > dataLength) fail(`${where}: data_offsets [${begin}, ${end}] run past the end of the data section (${dataLength} bytes; truncated?)`);
    // Multiply step by step against the span so a huge shape cannot overflow into a match.
    const span = end - begin;
    let elements = shape.includes(0) ? 0 : 1;
    for (const d of shape) {
      elements *= d;
      if (elements * info.size > span) break;
    }
    if (elements * info.size !== span) {
      fail(
        `${where}: shape ${fmtShape(shape)} of ${dtype} needs ${shape.reduce((a, b) => a * b, 1) * info.size} bytes, but data_offsets [${begin}, ${end}] span ${span}`,
      );
    }
    entries.push({ name, fileDType: dtype, info, shape, begin, end });
  }

  // Empty tensors own no bytes; the others must tile [0, dataLength) exactly.
  const occupied = entries.filter((e) => e.end > e.begin).sort((a, b) => a.begin - b.begin);
  let covered = 0;
  let previous: HeaderEntry | undefined;
  for (const e of occupied) {
    if (e.begin < covered) fail(`tensors '${previous!.name}' [${previous!.begin}, ${previous!.end}] and '${e.name}' [${e.begin}, ${e.end}] overlap`);
    if (e.begin > covered) fail(`bytes [${covered}, ${e.begin}) of the data section belong to no tensor`);
    covered = e.end;
    previous = e;
  }
  if (covered !== dataLength) fail(`${dataLength - covered} bytes after the last tensor belong to no tensor (trailing data)`);

  const tensors = new Map<string, Tensor>();
  const storedDTypes = new Map<string, string>();
  const ordered = [...entries].sort((a, b) => a.begin - b.begin);
  for (const e of ordered) {
    tensors.set(e.name, readTensor(bytes, view, dataStart, e, fail));
    storedDTypes.set(e.name, e.fileDType);
  }
  return { tensors, metadata, storedDTypes };
}

function readTensor(bytes: Uint8Array, view: DataView, dataStart: number, e: HeaderEntry, fail: (m: string) => never): Tensor {
  const count = (e.end - e.begin) / e.info.size;
  const start = dataStart + e.begin;
  const native = WRITE_DTYPE[e.info.target] === e.fileDType;
  if (native && LITTLE_ENDIAN_HOST) {
    // slice() copies into a fresh, aligned buffer that the tensor can own.
    const buffer = bytes.slice(start, dataStart + e.end).buffer;
    const data =
      e.info.target === 'float64'
        ? new Float64Array(buffer)
        : e.info.target === 'float32'
          ? new Float32Array(buffer)
          : e.info.target === 'int32'
            ? new Int32Array(buffer)
            : new Uint8Array(buffer);
    if (data instanceof Uint8Array) {
      const bad = data.findIndex((b) => b > 1);
      if (bad >= 0) fail(`tensor '${e.name}': BOOL element ${bad} is ${data[bad]}, expected 0 or 1`);
    }
    return new Tensor(data, e.shape);
  }
  const data =
    e.info.target === 'float64'
      ? new Float64Array(count)
      : e.info.target === 'float32'
        ? new Float32Array(count)
        : e.info.target === 'int32'
          ? new Int32Array(count)
          : new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const value = e.info.read(view, start, i);
    if (value === undefined) {
      fail(
        e.fileDType === 'BOOL'
          ? `tensor '${e.name}': BOOL element ${i} is ${bytes[start + i]}, expected 0 or 1`
          : `tensor '${e.name}': ${e.fileDType} element ${i} does not fit in int32, neurite's integer type`,
      );
    }
    data[i] = value as number;
  }
  return new Tensor(data, e.shape);
}
