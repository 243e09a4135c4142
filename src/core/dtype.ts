import { DTypeError, MemoryLimitError, ValueError } from './errors.js';
import { activeTrace, hostStep } from './trace.js';

/** Element types. `bool` is stored as one byte per element (0 or 1). */
export type DType = 'float32' | 'float64' | 'int32' | 'bool';
/** The float dtypes, the ones that can carry gradients. */
export type FloatDType = 'float32' | 'float64';
/** The storage of a tensor of any dtype (bool tensors use Uint8Array). */
export type TypedArray = Float32Array | Float64Array | Int32Array | Uint8Array;
/** The storage of a float tensor. */
export type FloatArray = Float32Array | Float64Array;

export const DTYPES: readonly DType[] = ['float32', 'float64', 'int32', 'bool'];

/** Bytes per element of each dtype. */
const BYTES: Record<DType, number> = { float32: 4, float64: 8, int32: 4, bool: 1 };

/**
 * The largest tensor neurite allocates, in bytes (default 4 GiB; the
 * NEURITE_MAX_TENSOR_BYTES environment variable or setMaxTensorBytes()
 * changes it). A bigger request is refused with a MemoryLimitError naming the
 * op and the shape, before any memory is taken, instead of failing deep in
 * the engine or exhausting the machine's memory.
 */
let maxTensorBytes = initialMaxTensorBytes();

function initialMaxTensorBytes(): number {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.NEURITE_MAX_TENSOR_BYTES;
  const n = env === undefined ? Number.NaN : Number(env);
  return Number.isFinite(n) && n > 0 ? n : 4 * 2 ** 30;
}

/** Set the largest tensor, in bytes, that neurite will allocate (see MemoryLimitError). */
export function setMaxTensorBytes(bytes: number): void {
  if (typeof bytes !== 'number' || !(bytes > 0)) throw new ValueError(`setMaxTensorBytes: bytes must be a positive number, got ${String(bytes)}`);
  maxTensorBytes = bytes;
}

/** The largest tensor, in bytes, that neurite will allocate. */
export function getMaxTensorBytes(): number {
  return maxTensorBytes;
}

/** "16.0 GiB", "512 B": a byte count for a message. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/**
 * The element count of a tensor of `shape`, refused with a MemoryLimitError
 * (naming `op`, the shape and the bytes) when it is over the limit.
 */
export function checkedSize(op: string, dtype: DType, shape: readonly number[]): number {
  let size = 1;
  for (const d of shape) size *= d;
  const bytes = size * BYTES[dtype];
  if (bytes > maxTensorBytes || !Number.isSafeInteger(size)) {
    throw new MemoryLimitError(
      `${op}: a ${dtype} tensor of shape [${shape.join(', ')}] needs ${formatBytes(bytes)} (${bytes.toExponential(3)} bytes), over the limit of ${formatBytes(maxTensorBytes)} per tensor; setMaxTensorBytes() raises it if the machine has the memory`,
      bytes,
    );
  }
  return size;
}

/**
 * Where a backend keeps tensor storage of its own: the wasm backend places
 * tensors in its module's memory, so its kernels need not copy them in and
 * out. Returning null leaves an allocation in JavaScript memory.
 */
export interface StorageProvider {
  /**
   * `persistent`: storage that lives as long as a model does (parameters,
   * optimizer state), which a provider may favour over the many short-lived
   * outputs of a step.
   */
  allocate(dtype: DType, size: number, zeroed: boolean, persistent: boolean): TypedArray | null;
}

let storage: StorageProvider | null = null;

/** Install the active backend's storage (null: JavaScript memory); the engine calls this from setBackend. */
export function setStorageProvider(provider: StorageProvider | null): void {
  storage = provider;
}

/**
 * Storage of `size` zeros. Everything that makes a tensor's storage goes
 * through here or allocateUninitialized (never a bare `new Float32Array`),
 * so the active backend can hold it.
 */
export function allocate(dtype: DType, size: number, persistent = false): TypedArray {
  const out = (storage !== null ? storage.allocate(dtype, size, true, persistent) : null) ?? allocateInJs(dtype, size);
  // A compiled step's trace sees every allocation (one null check when none is recording).
  activeTrace()?.allocated(out);
  return out;
}

function allocateInJs(dtype: DType, size: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(size);
    case 'float64':
      return new Float64Array(size);
    case 'int32':
      return new Int32Array(size);
    case 'bool':
      return new Uint8Array(size);
  }
}

/** Below this many bytes zero-filling is cheaper than going around it. */
const UNINIT_MIN_BYTES = 16384;
type BufferLike = { allocUnsafeSlow(size: number): Uint8Array };

/**
 * Storage whose contents are unspecified, for kernels that write every
 * element of their output. Zero-filling a fresh array costs about as much as
 * an element-wise kernel (13 µs for 128 KB here), so on Node large outputs
 * skip it; elsewhere this is allocate().
 */
export function allocateUninitialized(dtype: DType, size: number, persistent = false): TypedArray {
  const out = allocateUninitializedUntraced(dtype, size, persistent);
  activeTrace()?.allocated(out);
  return out;
}

function allocateUninitializedUntraced(dtype: DType, size: number, persistent: boolean): TypedArray {
  if (storage !== null) {
    const held = storage.allocate(dtype, size, false, persistent);
    if (held !== null) return held;
  }
  const bytes = size * BYTES[dtype];
  const NodeBuffer = (globalThis as { Buffer?: BufferLike }).Buffer;
  if (bytes < UNINIT_MIN_BYTES || !NodeBuffer) return allocateInJs(dtype, size);
  // allocUnsafeSlow gives an unpooled buffer of its own, starting at offset 0, so every element type is aligned.
  return arrayOn(dtype, NodeBuffer.allocUnsafeSlow(bytes).buffer, 0, size);
}

/** Bytes per element of a dtype. */
export function bytesPerElement(dtype: DType): number {
  return BYTES[dtype];
}

/** A typed array of `dtype` over `size` elements of `buffer` from `byteOffset` (which must be aligned for the type). */
export function arrayOn(dtype: DType, buffer: ArrayBufferLike, byteOffset: number, size: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(buffer, byteOffset, size);
    case 'float64':
      return new Float64Array(buffer, byteOffset, size);
    case 'int32':
      return new Int32Array(buffer, byteOffset, size);
    case 'bool':
      return new Uint8Array(buffer, byteOffset, size);
  }
}

export function dtypeOfArray(data: TypedArray): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  return 'bool';
}

export function isFloatDType(dtype: DType): dtype is FloatDType {
  return dtype === 'float32' || dtype === 'float64';
}

const RANK: Record<DType, number> = { bool: 0, int32: 1, float32: 2, float64: 3 };

/** Result type of an operation on two tensors: bool < int32 < float32 < float64. */
export function promoteTypes(a: DType, b: DType): DType {
  return RANK[a] >= RANK[b] ? a : b;
}

/**
 * Result type of tensor-op-number. A plain number does not widen a float tensor
 * (as in PyTorch: float32 + 2.5 stays float32), but a fractional number turns an
 * integer or bool tensor into float32.
 */
export function promoteWithScalar(dtype: DType, value: number): DType {
  if (isFloatDType(dtype)) return dtype;
  if (!Number.isInteger(value)) return 'float32';
  return dtype === 'bool' ? 'int32' : dtype;
}

export function assertDType(op: string, what: string, dtype: DType, allowed: readonly DType[]): void {
  if (!allowed.includes(dtype)) {
    throw new DTypeError(`${op}: ${what} must have dtype ${allowed.join(' or ')}, got ${dtype}`);
  }
}

export function parseDType(op: string, value: unknown): DType {
  if (typeof value === 'string' && (DTYPES as readonly string[]).includes(value)) return value as DType;
  throw new DTypeError(`${op}: unknown dtype ${JSON.stringify(value)}; expected one of ${DTYPES.join(', ')}`);
}

/** A copy of `data` in fresh storage (the active backend's, see allocate): what `data.slice()` would give, but placed. */
export function copyOf<T extends TypedArray>(data: T, persistent = false): T {
  const out = allocateUninitialized(dtypeOfArray(data), data.length, persistent) as T;
  // A host step: a compiled step copies again in every replay (backward copies a gradient that reaches two leaves).
  hostStep('copy', { reads: [data], writes: [out], copies: true }, () => out.set(data as never));
  return out;
}

/** Parent storage of arrays made by subview(); the parent stays alive while a view of it does. */
const parents = new WeakMap<TypedArray, TypedArray>();

/**
 * A view of elements [begin, end) of `data` sharing its storage (a tensor
 * slice that costs no copy). The view keeps `data` alive: storage that a
 * backend frees when its array is collected (the wasm backend's) must not be
 * freed while a view of it is in use.
 */
export function subview<T extends TypedArray>(data: T, begin: number, end: number): T {
  const view = data.subarray(begin, end) as T;
  parents.set(view, parents.get(data) ?? data);
  return view;
}

/** The array whose storage `data` shares (itself unless subview() made it): arrays with the same root may overlap. */
export function storageRoot(data: TypedArray): TypedArray {
  return parents.get(data) ?? data;
}
