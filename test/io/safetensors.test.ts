import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type DType, decodeSafetensors, encodeSafetensors, SerializationError, Tensor, tensor, zeros } from '../../src/index.js';

/** The tensor's storage as raw bytes, so comparisons see NaN payloads and the sign of zero. */
function rawBytes(t: Tensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

function assertSameTensor(actual: Tensor | undefined, expected: Tensor, name: string): void {
  assert.ok(actual, `${name} missing`);
  assert.equal(actual.dtype, expected.dtype, `${name} dtype`);
  assert.deepEqual([...actual.shape], [...expected.shape], `${name} shape`);
  assert.deepEqual(rawBytes(actual), rawBytes(expected), `${name} bytes`);
}

/**
 * A safetensors file assembled by hand, per the spec: 8-byte little-endian
 * header length N, N bytes of header text, then the data section.
 */
function buildFile(header: string, data: ArrayLike<number> = [], headerLength?: number | bigint): Uint8Array {
  const json = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength ?? json.length), true);
  out.set(json, 8);
  out.set(Array.from(data), 8 + json.length);
  return out;
}

function entry(dtype: string, shape: number[], offsets: number[]): string {
  return JSON.stringify({ dtype, shape, data_offsets: offsets });
}

function expectError(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => decodeSafetensors(bytes),
    (e: unknown) => {
      assert.ok(e instanceof SerializationError, `expected a SerializationError, got ${e}`);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

describe('safetensors round trip', () => {
  const f32 = tensor(new Float32Array([1.5, -0, Number.NaN, Number.POSITIVE_INFINITY, -3.4e38, 1e-45]), { shape: [2, 3] });
  const f64 = tensor(new Float64Array([Math.PI, -0, Number.NEGATIVE_INFINITY, 5e-324, Number.MAX_VALUE]), { shape: [5, 1] });
  const i32 = tensor(new Int32Array([-2147483648, 2147483647, 0, -1, 7, 8, 9]), { shape: [7] });
  const bool = tensor([true, false, true, true], { dtype: 'bool' }).reshape([2, 1, 2]);

  test('every dtype keeps its dtype, shape and exact bytes', () => {
    const input = new Map<string, Tensor>([
      ['bool', bool],
      ['f32', f32],
      ['i32', i32],
      ['f64', f64],
    ]);
    const { tensors, metadata, storedDTypes } = decodeSafetensors(encodeSafetensors(input));
    assert.deepEqual(metadata, {});
    assert.deepEqual(new Set(tensors.keys()), new Set(input.keys()));
    for (const [name, t] of input) assertSameTensor(tensors.get(name), t, name);
    assert.deepEqual(Object.fromEntries(storedDTypes), { f64: 'F64', f32: 'F32', i32: 'I32', bool: 'BOOL' });
  });

  test('odd shapes: 0-d scalars, empty tensors, size-1 dimensions', () => {
    const cases: Record<string, Tensor> = {
      scalarF32: tensor(new Float32Array([2.5]), { shape: [] }),
      scalarBool: tensor(new Uint8Array([1]), { shape: [], dtype: 'bool' }),
      empty: zeros([0]),
      emptyMiddle: zeros([2, 0, 3], { dtype: 'float64' }),
      emptyInt: zeros([0, 4], { dtype: 'int32' }),
      ones: tensor(new Int32Array([42]), { shape: [1, 1, 1] }),
    };
    const { tensors } = decodeSafetensors(encodeSafetensors(cases));
    for (const [name, t] of Object.entries(cases)) assertSameTensor(tensors.get(name), t, name);
  });

  test('an empty collection and metadata alone', () => {
    const { tensors, metadata } = decodeSafetensors(encodeSafetensors({}, { note: 'nothing here', '': 'empty key' }));
    assert.equal(tensors.size, 0);
    assert.deepEqual(metadata, { note: 'nothing here', '': 'empty key' });
  });

  test('names with unicode, dots and quotes survive; metadata is kept', () => {
    const t = tensor([1, 2, 3]);
    const names = ['0.weight', 'bn.runningMean', 'naïve "quoted" \\ name', '💡'];
    const input = new Map(names.map((n) => [n, t] as [string, Tensor]));
    const { tensors, metadata } = decodeSafetensors(encodeSafetensors(input, new Map([['format', 'pt']])));
    assert.deepEqual([...tensors.keys()].sort(), [...names].sort());
    assert.deepEqual(metadata, { format: 'pt' });
  });

  test('views (reshaped tensors sharing storage) are written from their own offset', () => {
    const base = new Float32Array([9, 9, 1, 2, 3, 4]);
    const view = new Tensor(base.subarray(2), [2, 2]);
    const { tensors } = decodeSafetensors(encodeSafetensors({ view }));
    assert.deepEqual(Array.from(tensors.get('view')!.data), [1, 2, 3, 4]);
  });

  test('decoded tensors own their data (a Node Buffer input is not aliased)', () => {
    const bytes = Buffer.from(encodeSafetensors({ a: tensor([1, 2]) }));
    const { tensors } = decodeSafetensors(bytes);
    bytes.fill(0);
    assert.deepEqual(Array.from(tensors.get('a')!.data), [1, 2]);
  });
});

describe('safetensors byte layout', () => {
  test('the encoder writes exactly the bytes the spec prescribes', () => {
    // Header: compact JSON, __metadata__ first, tensors in data order; padded with spaces to a multiple of 8.
    // Data: float32 1 = 00 00 80 3f, -2 = 00 00 00 c0 (little-endian), then the bool bytes 01 00 01.
    const header =
      '{"__metadata__":{"k":"v"},' + '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' + '"b":{"dtype":"BOOL","shape":[3],"data_offsets":[8,11]}}';
    const padded = header + ' '.repeat((8 - (header.length % 8)) % 8);
    const expected = buildFile(padded, [0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0, 0x01, 0x00, 0x01]);

    // Insert the bool first: the encoder still puts wider elements first, so every tensor is aligned.
    const b = tensor([true, false, true], { dtype: 'bool' });
    const a = tensor([1, -2]);
    const actual = encodeSafetensors(
      new Map<string, Tensor>([
        ['b', b],
        ['a', a],
      ]),
      { k: 'v' },
    );
    assert.deepEqual(actual, expected);
    assert.equal((8 + padded.length) % 8, 0);
  });

  test('the decoder reads a hand-made file with an unaligned layout and no padding', () => {
    // bool [2] at bytes 0..2, then int32 [1] at 2..6 and float64 [] at 6..14: unaligned, which the spec allows.
    const header = `{"flags":${entry('BOOL', [2], [0, 2])},"count":${entry('I32', [1], [2, 6])},"x":${entry('F64', [], [6, 14])}}`;
    const f64 = new Uint8Array(new Float64Array([-0.125]).buffer);
    const bytes = buildFile(header, [1, 0, 0xfe, 0xff, 0xff, 0xff, ...f64]);
    const { tensors } = decodeSafetensors(bytes);
    assert.deepEqual(Array.from(tensors.get('flags')!.data), [1, 0]);
    assert.deepEqual(Array.from(tensors.get('count')!.data), [-2]);
    assert.equal(tensors.get('x')!.item(), -0.125);
    assert.deepEqual([...tensors.get('x')!.shape], []);
  });

  test('trailing spaces and newlines after the header JSON are accepted', () => {
    const bytes = buildFile(`{"a":${entry('F32', [1], [0, 4])}}   \n `, [0, 0, 0x80, 0x3f]);
    assert.equal(decodeSafetensors(bytes).tensors.get('a')!.item(), 1);
  });

  test('narrow and wide types from other tools are widened exactly', () => {
    // F16 0x3c00 = 1, 0xc000 = -2, 0x7bff = 65504 (max), 0x0001 = 2^-24 (smallest subnormal), 0x7c00 = +inf.
    // BF16 0x3f80 = 1, 0xc0a0 = -5. I64 -5 and 2^31 - 1. U8 255, I8 -128, U16 65535, I16 -32768.
    const le16 = (...v: number[]) => v.flatMap((x) => [x & 0xff, x >> 8]);
    const i64 = (v: bigint) => Array.from(new Uint8Array(new BigInt64Array([v]).buffer));
    const header =
      `{"half":${entry('F16', [5], [0, 10])},"bf":${entry('BF16', [2], [10, 14])},"long":${entry('I64', [2], [14, 30])},` +
      `"u8":${entry('U8', [1], [30, 31])},"i8":${entry('I8', [1], [31, 32])},"u16":${entry('U16', [1], [32, 34])},"i16":${entry('I16', [1], [34, 36])}}`;
    const data = [
      ...le16(0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00),
      ...le16(0x3f80, 0xc0a0),
      ...i64(-5n),
      ...i64(2147483647n),
      255,
      0x80,
      ...le16(0xffff),
      ...le16(0x8000),
    ];
    const { tensors, storedDTypes } = decodeSafetensors(buildFile(header, data));
    assert.equal(tensors.get('half')!.dtype, 'float32');
    assert.deepEqual(Array.from(tensors.get('half')!.data), [1, -2, 65504, 2 ** -24, Number.POSITIVE_INFINITY]);
    assert.deepEqual(Array.from(tensors.get('bf')!.data), [1, -5]);
    assert.equal(tensors.get('long')!.dtype, 'int32');
    assert.deepEqual(Array.from(tensors.get('long')!.data), [-5, 2147483647]);
    assert.deepEqual(
      ['u8', 'i8', 'u16', 'i16'].map((n) => tensors.get(n)!.data[0]),
      [255, -128, 65535, -32768],
    );
    assert.equal(storedDTypes.get('half'), 'F16');
    assert.equal(storedDTypes.get('long'), 'I64');
  });
});

describe('safetensors rejects corrupt files with a SerializationError', () => {
  const good = `{"a":${entry('F32', [2], [0, 8])}}`;
  const eightBytes = [0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0];

  test('too short for the length field', () => expectError(new Uint8Array([1, 2, 3]), /too short for the 8-byte header length/));
  test('header length beyond the file', () => expectError(buildFile(good, eightBytes, 10_000), /header length 10000 runs past the end of the file/));
  test('header length with the high word set', () => expectError(buildFile(good, eightBytes, 1n << 40n), /above the 100000000-byte limit/));
  test('truncated data section', () => expectError(buildFile(good, eightBytes.slice(0, 5)), /run past the end of the data section \(5 bytes; truncated\?\)/));
  test('truncated header', () => {
    const whole = buildFile(good, eightBytes);
    expectError(whole.subarray(0, 20), /runs past the end of the file/);
  });
  test('bad JSON', () => expectError(buildFile('{"a": {"dtype": "F32",,}}'), /invalid JSON at character \d+/));
  test('header not starting with {', () => expectError(buildFile(' {}'), /must start with '\{'/));
  test('two JSON documents in the header', () => expectError(buildFile('{}{}'), /unexpected text after the end/));
  test('invalid UTF-8 in the header', () => {
    const bytes = buildFile('{"a?":{}}');
    bytes[8 + 3] = 0xff;
    expectError(bytes, /not valid UTF-8/);
  });
  test('unknown dtype', () => expectError(buildFile(`{"a":${entry('F17', [2], [0, 8])}}`, eightBytes), /tensor 'a': unknown dtype "F17"/));
  test('valid but unsupported dtype', () =>
    expectError(buildFile(`{"a":${entry('F8_E4M3', [8], [0, 8])}}`, eightBytes), /F8_E4M3 is valid safetensors but neurite has no tensor type/));
  test('offsets out of range', () => expectError(buildFile(`{"a":${entry('F32', [2], [4, 12])}}`, eightBytes), /data_offsets \[4, 12\] run past the end/));
  test('offsets ending before they begin', () => expectError(buildFile(`{"a":${entry('F32', [0], [8, 0])}}`, eightBytes), /end before they begin/));
  test('overlapping offsets', () => {
    const header = `{"a":${entry('F32', [2], [0, 8])},"b":${entry('F32', [1], [4, 8])}}`;
    expectError(buildFile(header, eightBytes), /tensors 'a' \[0, 8\] and 'b' \[4, 8\] overlap/);
  });
  test('a hole between tensors', () => {
    const header = `{"a":${entry('F32', [1], [0, 4])},"b":${entry('BOOL', [2], [6, 8])}}`;
    expectError(buildFile(header, eightBytes), /bytes \[4, 6\) of the data section belong to no tensor/);
  });
  test('trailing bytes after the last tensor', () =>
    expectError(buildFile(good, [...eightBytes, 1, 2, 3]), /3 bytes after the last tensor belong to no tensor/));
  test('shape that does not match the byte span', () =>
    expectError(buildFile(`{"a":${entry('F32', [3], [0, 8])}}`, eightBytes), /shape \[3\] of F32 needs 12 bytes, but data_offsets \[0, 8\] span 8/));
  test('a huge shape cannot overflow into a match', () =>
    expectError(buildFile(`{"a":${entry('F32', [2 ** 30, 2 ** 30, 2 ** 30], [0, 8])}}`, eightBytes), /span 8/));
  test('negative or fractional dimensions', () => {
    expectError(buildFile(`{"a":${entry('F32', [-2], [0, 8])}}`, eightBytes), /shape must be an array of non-negative integers/);
    expectError(buildFile(`{"a":${entry('F32', [1.5], [0, 8])}}`, eightBytes), /shape must be an array of non-negative integers/);
  });
  test('malformed data_offsets', () => expectError(buildFile(`{"a":${entry('F32', [2], [0])}}`, eightBytes), /data_offsets must be \[begin, end\]/));
  test('duplicate keys', () => expectError(buildFile(`{"a":${entry('F32', [1], [0, 4])},"a":${entry('F32', [1], [4, 8])}}`, eightBytes), /duplicate key "a"/));
  test('unknown field in an entry', () =>
    expectError(buildFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}`, eightBytes), /unknown field 'x'/));
  test('non-string metadata', () =>
    expectError(buildFile(`{"__metadata__":{"epoch":3},"a":${entry('F32', [2], [0, 8])}}`, eightBytes), /value 'epoch' must be a string/));
  test('a BOOL byte other than 0 or 1', () => expectError(buildFile(`{"b":${entry('BOOL', [2], [0, 2])}}`, [1, 2]), /BOOL element 1 is 2, expected 0 or 1/));
  test('an I64 value beyond int32', () => {
    const big = Array.from(new Uint8Array(new BigInt64Array([1n << 40n]).buffer));
    expectError(buildFile(`{"n":${entry('I64', [1], [0, 8])}}`, big), /I64 element 0 does not fit in int32/);
  });
  test('deep nesting is refused, not a stack overflow', () => expectError(buildFile(`{"a":${'['.repeat(100_000)}`), /nested deeper than 200 levels/));

  test('every truncation and single-byte corruption of a valid file either decodes or throws a SerializationError', () => {
    const valid = encodeSafetensors(
      {
        w: tensor([
          [1, 2],
          [3, 4],
        ]),
        n: tensor(new Int32Array([5])),
        f: tensor([true], { dtype: 'bool' }),
      },
      { k: 'v' },
    );
    const attempts: Uint8Array[] = [];
    for (let n = 0; n < valid.length; n++) attempts.push(valid.subarray(0, n));
    for (let i = 0; i < valid.length; i++) {
      for (const value of [0x00, 0x22, 0x7b, 0xff]) {
        const copy = valid.slice();
        copy[i] = value;
        attempts.push(copy);
      }
    }
    for (const bytes of attempts) {
      try {
        const { tensors } = decodeSafetensors(bytes);
        for (const t of tensors.values()) assert.ok(t instanceof Tensor);
      } catch (e) {
        assert.ok(e instanceof SerializationError, `unexpected ${(e as Error).name}: ${(e as Error).message}`);
      }
    }
    // Cutting any byte off the end leaves a short file, which is always an error.
    for (let n = 0; n < valid.length; n++) assert.throws(() => decodeSafetensors(valid.subarray(0, n)), SerializationError);
  });
});

describe('encodeSafetensors argument checks', () => {
  test('__metadata__ cannot name a tensor', () => {
    assert.throws(() => encodeSafetensors({ __metadata__: tensor([1]) }), /'__metadata__' is reserved/);
  });
  test('metadata values must be strings', () => {
    assert.throws(() => encodeSafetensors({}, { epoch: 3 } as unknown as Record<string, string>), /metadata 'epoch' must be a string/);
  });
  test('values must be tensors', () => {
    assert.throws(() => encodeSafetensors({ a: [1, 2] } as unknown as Record<string, Tensor>), /'a' is not a Tensor/);
  });
  test('every neurite dtype is written under its safetensors name', () => {
    const names: Record<DType, string> = { float32: 'F32', float64: 'F64', int32: 'I32', bool: 'BOOL' };
    for (const [dtype, name] of Object.entries(names) as [DType, string][]) {
      const bytes = encodeSafetensors({ t: zeros([1], { dtype }) });
      const length = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
      assert.equal(header.t.dtype, name);
    }
  });
});
