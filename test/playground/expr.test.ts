// Custom-feature expressions: what they compute, the TypeScript they export,
// and the errors a person sees for a bad one (the character and the reason).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compileExpression, ExpressionError, FUNCTIONS, tryCompile } from '../../playground/src/expr.js';

const at = (text: string, x1: number, x2 = 0) => compileExpression(text).fn(x1, x2);

describe('playground expressions', () => {
  it('computes with the usual precedence: ^ before a sign, right-associative; * / before + −', () => {
    assert.equal(at('-2^2', 0), -4);
    assert.equal(at('2^-1', 0), 0.5);
    assert.equal(at('2^3^2', 0), 512);
    assert.equal(at('1 + 2 * 3 - 4 / 2', 0), 5);
    assert.equal(at('(1 + 2) * 3', 0), 9);
    assert.equal(at('x1*x2^2', 3, 2), 12);
    assert.equal(at('x * y', 3, 2), 6, 'x and y name the same inputs as x1 and x2');
    assert.equal(at('x1**2', 3), 9, '** is ^');
    assert.equal(at('2.5e1 + .5', 0), 25.5);
    assert.equal(at('pi', 0), Math.PI);
    assert.equal(at('min(x1, x2) + max(x1, x2)', 3, -1), 2);
    assert.equal(at('SIN(X1)', 1), Math.sin(1), 'names are case-insensitive');
    assert.equal(at('sigmoid(0)', 0), 0.5);
  });

  it('exports TypeScript that computes the same values (every function, random inputs)', () => {
    const names = Object.keys(FUNCTIONS);
    fc.assert(
      fc.property(
        fc.constantFrom(...names),
        fc.double({ min: -0.9, max: 0.9, noNaN: true }),
        fc.double({ min: -0.9, max: 0.9, noNaN: true }),
        (name, x1, x2) => {
          const text = FUNCTIONS[name].arity === 1 ? `${name}(x1 * 2 - x2) ^ 2 - 3 / (1 + x2^2)` : `${name}(x1, -x2) * 2`;
          const e = compileExpression(text);
          const viaTs = new Function('x1', 'x2', `return ${e.typescript};`) as (a: number, b: number) => number;
          const want = e.fn(x1, x2);
          const got = viaTs(x1, x2);
          assert.ok(Object.is(want, got) || Math.abs(want - got) <= 1e-12 * Math.max(1, Math.abs(want)), `${text}: ${want} vs ${got}`);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('rejects anything else with the character and the reason, and never reaches the prototype', () => {
    const cases: [string, RegExp][] = [
      ['x1 +', /ends too early at character 5/],
      ['foo(x1)', /"foo" is not a known name .* at character 1/],
      ['x1; alert(1)', /";" is not allowed .* at character 3/],
      ['sin(1, 2)', /sin takes 1 argument, got 2/],
      ['(x1', /expected "\)" but the expression ended/],
      ['x1 x2', /unexpected "x2" at character 4/],
      ['constructor', /"constructor" is not a known name/],
      ['toString(1)', /"tostring" is not a known name/],
      ['__proto__', /"__proto__" is not a known name/],
      ['', /empty/],
      ['x1+'.repeat(50), /longer than 120 characters/],
      ["x1['a']", /"\[" is not allowed/],
    ];
    for (const [text, want] of cases) {
      assert.throws(
        () => compileExpression(text),
        (e: unknown) => e instanceof ExpressionError && want.test(e.message),
        text,
      );
    }
    assert.match(String(tryCompile('x2 + 1', { x1Only: true })), /"x2" is not available here: a boundary y > f\(x\) uses x1 only/);
    assert.equal(typeof tryCompile('x1 + 1', { x1Only: true }), 'object');
  });
});
