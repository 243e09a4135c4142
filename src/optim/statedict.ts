import { allocate, DTYPES, type DType } from '../core/dtype.js';
import { SerializationError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';

/**
 * A value kept in optimizer or scheduler state: scalars, strings (modes and
 * option names), tensors (moment buffers, L-BFGS history) and lists of them.
 */
export type StateValue = number | boolean | string | null | Tensor | readonly StateValue[];

/**
 * A tensor written into a state dict. `data` holds the elements in row-major
 * order as plain numbers; the values JSON cannot carry (NaN, ±Infinity, and
 * -0, whose sign a later division could expose) are written as the strings
 * `'NaN'`, `'Infinity'`, `'-Infinity'` and `'-0'`. float32 values are exact
 * as doubles, so the round trip is bit-exact for both float dtypes.
 */
export interface EncodedTensor {
  /** Dimensions. */
  shape: number[];
  /** Element type. */
  dtype: DType;
  /** The elements, with non-finite values and -0 as strings. */
  data: (number | string)[];
}

/**
 * The JSON form of a StateValue. Scalars use the same convention as tensor
 * data: a non-finite number or -0 becomes one of the four strings above, so no
 * state string may be spelled like them (none is: modes are 'min', 'rel'...).
 */
export type EncodedValue = number | boolean | string | null | EncodedTensor | EncodedValue[];

const SPECIAL: Record<string, number> = { NaN: Number.NaN, Infinity: Number.POSITIVE_INFINITY, '-Infinity': Number.NEGATIVE_INFINITY, '-0': -0 };

/** A number as JSON can hold it exactly. */
export function encodeNumber(v: number): number | string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return 'Infinity';
  if (v === Number.NEGATIVE_INFINITY) return '-Infinity';
  if (Object.is(v, -0)) return '-0';
  return v;
}

function decodeNumber(v: unknown, where: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v in SPECIAL) return SPECIAL[v];
  throw new SerializationError(`${where}: expected a number, got ${JSON.stringify(v)}`);
}

/** A deep copy of `value` in plain JSON form (tensors are copied, never shared). */
export function encodeValue(value: StateValue): EncodedValue {
  if (value instanceof Tensor) {
    const data: (number | string)[] = new Array(value.size);
    for (let i = 0; i < value.size; i++) data[i] = encodeNumber(value.data[i]);
    return { shape: [...value.shape], dtype: value.dtype, data };
  }
  if (Array.isArray(value)) return value.map((v) => encodeValue(v));
  if (typeof value === 'number') return encodeNumber(value);
  return value as boolean | string | null;
}

function isEncodedTensor(v: object): v is EncodedTensor {
  return 'shape' in v && 'dtype' in v && 'data' in v;
}

/** The inverse of encodeValue; `where` names the entry in error messages. */
export function decodeValue(value: unknown, where: string): StateValue {
  if (value === null || typeof value === 'boolean' || typeof value === 'number') return value;
  if (typeof value === 'string') return value in SPECIAL ? SPECIAL[value] : value;
  if (Array.isArray(value)) return value.map((v, i) => decodeValue(v, `${where}[${i}]`));
  if (typeof value === 'object' && isEncodedTensor(value)) {
    const { shape, dtype, data } = value;
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new SerializationError(`${where}: tensor shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
    }
    if (!(DTYPES as readonly unknown[]).includes(dtype)) throw new SerializationError(`${where}: unknown tensor dtype ${JSON.stringify(dtype)}`);
    const size = shape.reduce((a: number, b: number) => a * b, 1);
    if (!Array.isArray(data) || data.length !== size) {
      throw new SerializationError(
        `${where}: a tensor of shape [${shape.join(', ')}] needs ${size} values, got ${Array.isArray(data) ? data.length : typeof data}`,
      );
    }
    const out = allocate(dtype, size, true);
    for (let i = 0; i < size; i++) out[i] = decodeNumber(data[i], `${where}.data[${i}]`);
    return new Tensor(out, shape);
  }
  throw new SerializationError(`${where}: cannot read ${JSON.stringify(value)} as optimizer state`);
}

/** encodeValue over the entries of a record, skipping undefined ones. */
export function encodeRecord(record: object): Record<string, EncodedValue> {
  const out: Record<string, EncodedValue> = {};
  for (const [k, v] of Object.entries(record)) {
    if (v !== undefined) out[k] = encodeValue(v as StateValue);
  }
  return out;
}

/** decodeValue over the entries of a record. */
export function decodeRecord(record: unknown, where: string): Record<string, StateValue> {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    throw new SerializationError(`${where}: expected an object, got ${JSON.stringify(record)}`);
  }
  const out: Record<string, StateValue> = {};
  for (const [k, v] of Object.entries(record)) out[k] = decodeValue(v, `${where}.${k}`);
  return out;
}
