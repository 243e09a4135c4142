import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gradcheck, NeuriteError } from '../../src/index.js';
import { assertClose } from '../helpers.js';
import { OP_TABLE } from './op-table.js';

for (const c of OP_TABLE) {
  describe(`op ${c.name}`, () => {
    test('forward matches the reference', () => {
      const inputs = c.inputs();
      const out = c.fn(...inputs);
      const expected = typeof c.expected === 'function' ? c.expected(...inputs.map((t) => Array.from(t.data as ArrayLike<number>))) : c.expected;
      assertClose(out, expected, { atol: 1e-12, rtol: 1e-10 });
      if (c.expectedShape) assert.deepEqual([...out.shape], c.expectedShape);
    });
    test('float32 forward agrees with float64', () => {
      const inputs = c.inputs().map((t) => (t.dtype === 'float64' ? t.float() : t));
      const out = c.fn(...inputs);
      const ref = c.fn(...c.inputs());
      assertClose(out, ref, { atol: 1e-5, rtol: 1e-5 });
    });
    const gradInputs =
      c.gradInputs ??
      c
        .inputs()
        .map((t, i) => (t.dtype === 'float64' ? i : -1))
        .filter((i) => i >= 0);
    if (gradInputs.length > 0) {
      test('gradient matches finite differences (float64)', () => {
        gradcheck(c.fn, c.inputs(), { argnums: gradInputs, atol: 1e-6, rtol: 1e-5 });
      });
    }
    for (const e of c.errors ?? []) {
      test(`rejects bad input: ${e.match.source}`, () => {
        assert.throws(e.call, (err: unknown) => err instanceof NeuriteError && e.match.test((err as Error).message));
      });
    }
  });
}
