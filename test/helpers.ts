import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type NestedArray, Tensor, tensor } from '../src/index.js';

/** Assert every element of `actual` is within atol + rtol*|expected| of `expected`. */
export function assertClose(
  actual: Tensor | number | NestedArray,
  expected: Tensor | number | NestedArray | Float64Array | number[],
  options: { atol?: number; rtol?: number; message?: string } = {},
): void {
  const atol = options.atol ?? 1e-6;
  const rtol = options.rtol ?? 1e-5;
  const a = flat(actual);
  const e = flat(expected);
  if (actual instanceof Tensor && expected instanceof Tensor) {
    assert.deepEqual([...actual.shape], [...expected.shape], `${options.message ?? ''} shape`);
  }
  assert.equal(a.length, e.length, `${options.message ?? 'assertClose'}: ${a.length} values vs ${e.length} expected`);
  for (let i = 0; i < a.length; i++) {
    const ok = (Number.isNaN(a[i]) && Number.isNaN(e[i])) || a[i] === e[i] || Math.abs(a[i] - e[i]) <= atol + rtol * Math.abs(e[i]);
    if (!ok) assert.fail(`${options.message ?? 'assertClose'}: element ${i}: got ${a[i]}, expected ${e[i]} (atol ${atol}, rtol ${rtol})`);
  }
}

/** Largest difference relative to the largest magnitude of `want` (at least 1): how the GPU's results are compared with the CPU's. */
export function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let scale = 1;
  let err = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i] - want[i]));
  return err / scale;
}

function flat(x: unknown): number[] {
  if (x instanceof Tensor) return Array.from(x.data as ArrayLike<number>);
  if (typeof x === 'number' || typeof x === 'boolean') return [Number(x)];
  if (ArrayBuffer.isView(x)) return Array.from(x as unknown as ArrayLike<number>);
  if (Array.isArray(x)) return x.flatMap((v) => flat(v));
  throw new Error(`assertClose: cannot compare ${typeof x}`);
}

/** Fixture tensors are written as {shape, data} (see tools/README.md). */
export interface FixtureTensor {
  shape: number[];
  data: number[];
}

export function fromFixture(t: FixtureTensor, dtype: 'float64' | 'float32' | 'int32' = 'float64'): Tensor {
  return tensor(t.data, { shape: t.shape, dtype });
}

const here = dirname(fileURLToPath(import.meta.url));

/** Read a committed fixture (test/fixtures/NAME.json); the compiled tests live in dist/test. */
export function loadFixture<T = unknown>(name: string): T {
  const candidates = [join(here, 'fixtures', name), join(here, '..', '..', 'test', 'fixtures', name)];
  for (const p of candidates) {
    try {
      return JSON.parse(readFileSync(p, 'utf8')) as T;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  throw new Error(`fixture ${name} not found in test/fixtures`);
}
