import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { encodeIdx, type IdxDType, idxToTensor, isGzip, parseIdx, parseIdxAsync, readIdxFile, writeIdxFile } from '../../src/data/index.js';
import { SerializationError, tensor, ValueError } from '../../src/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'neurite-idx-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

// Extreme and ordinary values of each element type; every one is exactly
// representable in its type, so a round trip must give them back bit for bit.
const SAMPLES: Record<IdxDType, number[]> = {
  uint8: [0, 1, 127, 128, 254, 255],
  int8: [-128, -1, 0, 1, 100, 127],
  int16: [-32768, -258, -1, 0, 258, 32767],
  int32: [-2147483648, -65536, -1, 0, 16777217, 2147483647],
  float32: [-3.5, -0, 0, 1.5, 3.4028234663852886e38, 1.401298464324817e-45],
  float64: [-Math.PI, -0, 1e-300, 1 / 3, Number.MAX_VALUE, 5e-324],
};

describe('IDX round trip', () => {
  for (const dtype of Object.keys(SAMPLES) as IdxDType[]) {
    test(`${dtype}: encodeIdx then parseIdx gives the same dtype, shape and values`, () => {
      const values = SAMPLES[dtype];
      const decoded = parseIdx(encodeIdx({ dtype, shape: [2, 3], data: values }));
      assert.equal(decoded.dtype, dtype);
      assert.deepEqual(decoded.shape, [2, 3]);
      assert.deepEqual(Array.from(decoded.data), values);
      // -0 survives too (deepEqual on numbers uses Object.is).
      if (dtype.startsWith('float')) assert.ok(Object.is(decoded.data[1], -0));
    });
  }

  test('a tensor encodes with its own dtype (bool as uint8)', () => {
    const t = tensor(
      [
        [1.25, -2],
        [3, 4],
      ],
      { dtype: 'float64' },
    );
    const back = parseIdx(encodeIdx(t));
    assert.equal(back.dtype, 'float64');
    assert.deepEqual(back.shape, [2, 2]);
    assert.deepEqual(Array.from(back.data), [1.25, -2, 3, 4]);
    assert.equal(parseIdx(encodeIdx(tensor([true, false]))).dtype, 'uint8');
    assert.equal(parseIdx(encodeIdx(tensor([1, 2], { dtype: 'int32' }), { dtype: 'int16' })).dtype, 'int16');
  });
});

describe('IDX byte layout', () => {
  test('a hand-built big-endian int16 file decodes as written', () => {
    // magic 00 00 0b 01 (int16, rank 1), dim 3 = 00 00 00 03, then 0x0102 = 258, 0xfffe = -2, 0x8000 = -32768.
    const bytes = new Uint8Array([0, 0, 0x0b, 1, 0, 0, 0, 3, 0x01, 0x02, 0xff, 0xfe, 0x80, 0x00]);
    const a = parseIdx(bytes);
    assert.equal(a.dtype, 'int16');
    assert.deepEqual(a.shape, [3]);
    assert.deepEqual(Array.from(a.data), [258, -2, -32768]);
    assert.deepEqual(encodeIdx(a), bytes);
  });

  test('dimensions are big-endian int32 and floats are big-endian IEEE 754', () => {
    // float32, rank 2, dims [1, 256] (00 00 01 00), 1.0f = 3f 80 00 00, -2.0f = c0 00 00 00.
    const header = [0, 0, 0x0d, 2, 0, 0, 0, 1, 0, 0, 1, 0];
    const data = new Uint8Array(256 * 4);
    data.set([0x3f, 0x80, 0, 0, 0xc0, 0, 0, 0]);
    const bytes = new Uint8Array([...header, ...data]);
    const a = parseIdx(bytes);
    assert.deepEqual(a.shape, [1, 256]);
    assert.equal(a.data[0], 1);
    assert.equal(a.data[1], -2);
    assert.equal(a.data[255], 0);
    assert.deepEqual(encodeIdx(a), bytes);
  });

  test('bytes that are a view into a larger buffer decode from their own offset', () => {
    const file = encodeIdx({ dtype: 'int32', shape: [2], data: [7, -7] });
    const big = new Uint8Array(file.length + 5);
    big.set(file, 3);
    assert.deepEqual(Array.from(parseIdx(big.subarray(3, 3 + file.length)).data), [7, -7]);
    const int8 = encodeIdx({ dtype: 'int8', shape: [2], data: [-5, 5] });
    const big8 = new Uint8Array(int8.length + 1);
    big8.set(int8, 1);
    assert.deepEqual(Array.from(parseIdx(big8.subarray(1)).data), [-5, 5]);
  });
});

describe('IDX corruption', () => {
  const good = encodeIdx({ dtype: 'uint8', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }); // 12-byte header + 6 bytes

  const rejects = (bytes: Uint8Array, pattern: RegExp) =>
    assert.throws(
      () => parseIdx(bytes, { source: 'sample.idx' }),
      (e: unknown) => e instanceof SerializationError && pattern.test(e.message),
    );

  test('bad magic number', () => {
    const bad = good.slice();
    bad[0] = 0x01;
    rejects(bad, /sample\.idx is not an IDX file.*0x01 0x00/);
  });

  test('unknown element type byte', () => {
    const bad = good.slice();
    bad[2] = 0x0a;
    rejects(bad, /unknown element type byte 0x0a/);
  });

  test('truncated data reports expected and actual byte counts', () => {
    rejects(good.subarray(0, good.length - 1), /truncated: uint8 \[2, 3\] needs 18 bytes \(12-byte header \+ 6 data bytes\), got 17 \(5 data bytes\)/);
  });

  test('data longer than the dimensions say', () => {
    const long = new Uint8Array(good.length + 2);
    long.set(good);
    rejects(long, /2 bytes too long: uint8 \[2, 3\] needs 18 bytes .* got 20/);
  });

  test('wrong dimensions in the header', () => {
    const bad = good.slice();
    bad[11] = 4; // now claims [2, 4] = 8 elements
    rejects(bad, /truncated: uint8 \[2, 4\] needs 20 bytes/);
  });

  test('a header cut short, rank 0, and a file shorter than the magic number', () => {
    rejects(good.subarray(0, 9), /rank 2 needs a 12-byte header, got 9 bytes/);
    rejects(new Uint8Array([0, 0, 8, 0]), /rank 0/);
    rejects(new Uint8Array([0, 0]), /2 bytes, too short/);
  });

  test('negative dimension', () => {
    const bad = encodeIdx({ dtype: 'uint8', shape: [1], data: [9] });
    bad.set([0xff, 0xff, 0xff, 0xff], 4);
    rejects(bad, /negative dimension -1/);
  });

  test('encodeIdx refuses values its integer type cannot hold, and data that does not fill the shape', () => {
    assert.throws(
      () => encodeIdx({ dtype: 'uint8', shape: [2], data: [1, 256] }),
      (e: unknown) => e instanceof ValueError && /element 1 is 256/.test(e.message),
    );
    assert.throws(() => encodeIdx({ dtype: 'int8', shape: [1], data: [0.5] }), ValueError);
    assert.throws(() => encodeIdx({ dtype: 'int16', shape: [3], data: [1, 2] }), /holds 3 elements but data has 2/);
  });
});

describe('gzip', () => {
  const plain = encodeIdx({ dtype: 'int16', shape: [2, 2], data: [1, -2, 300, -400] });
  const zipped = gzipSync(plain);

  test('parseIdx detects gzip and says how to decompress', () => {
    assert.ok(isGzip(zipped));
    assert.ok(!isGzip(plain));
    assert.throws(
      () => parseIdx(zipped),
      (e: unknown) => e instanceof SerializationError && /gzip-compressed.*readIdxFile/.test(e.message),
    );
  });

  test('readIdxFile gunzips by content, and writeIdxFile can gzip', () => {
    const path = join(tmp, 'a.idx.gz');
    writeFileSync(path, zipped);
    assert.deepEqual(Array.from(readIdxFile(path).data), [1, -2, 300, -400]);
    const written = join(tmp, 'b.idx');
    writeIdxFile(written, { dtype: 'float64', shape: [2], data: new Float64Array([0.5, -1]) }, { gzip: true });
    const back = readIdxFile(written);
    assert.equal(back.dtype, 'float64');
    assert.deepEqual(Array.from(back.data), [0.5, -1]);
  });

  test('parseIdxAsync decompresses with DecompressionStream', async () => {
    const a = await parseIdxAsync(zipped);
    assert.deepEqual(a.shape, [2, 2]);
    assert.deepEqual(Array.from(a.data), [1, -2, 300, -400]);
  });
});

describe('idxToTensor', () => {
  test('integers become int32, floats keep their precision, scale gives floats', () => {
    const bytes = parseIdx(encodeIdx({ dtype: 'uint8', shape: [1, 2], data: [0, 255] }));
    const t = idxToTensor(bytes);
    assert.equal(t.dtype, 'int32');
    assert.deepEqual([...t.shape], [1, 2]);
    const scaled = idxToTensor(bytes, { scale: 1 / 255 });
    assert.equal(scaled.dtype, 'float32');
    assert.deepEqual(Array.from(scaled.data), [0, 1]);
    assert.equal(idxToTensor(parseIdx(encodeIdx({ dtype: 'float64', shape: [1], data: [0.1] }))).dtype, 'float64');
    assert.throws(() => idxToTensor(bytes, { dtype: 'int32', scale: 2 }), /scale needs a float32 or float64 result/);
  });
});
