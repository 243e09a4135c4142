// Safe arithmetic expressions for custom input features (`x1*x2^2`,
// `tan(x1)`) and "y > f(x)" datasets. A small recursive-descent parser builds
// a tree that is evaluated by closures: nothing reaches eval or Function, so
// a URL cannot run code in the page. Pure: tested in Node.

/** An expression of the two inputs. */
export type Fn2 = (x1: number, x2: number) => number;

export class ExpressionError extends Error {
  constructor(
    readonly source: string,
    readonly position: number,
    detail: string,
  ) {
    super(`"${source}": ${detail} at character ${position + 1}`);
    this.name = 'ExpressionError';
  }
}

type Node =
  | { kind: 'num'; value: number }
  | { kind: 'var'; index: 0 | 1 }
  | { kind: 'neg'; arg: Node }
  | { kind: 'bin'; op: '+' | '-' | '*' | '/' | '^'; left: Node; right: Node }
  | { kind: 'call'; name: string; args: Node[] };

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** Every function an expression may call, with its arity and its TypeScript spelling. */
export const FUNCTIONS: Record<string, { arity: number; fn: (...a: number[]) => number; ts: string }> = {
  sin: { arity: 1, fn: Math.sin, ts: 'Math.sin' },
  cos: { arity: 1, fn: Math.cos, ts: 'Math.cos' },
  tan: { arity: 1, fn: Math.tan, ts: 'Math.tan' },
  asin: { arity: 1, fn: Math.asin, ts: 'Math.asin' },
  acos: { arity: 1, fn: Math.acos, ts: 'Math.acos' },
  atan: { arity: 1, fn: Math.atan, ts: 'Math.atan' },
  sinh: { arity: 1, fn: Math.sinh, ts: 'Math.sinh' },
  cosh: { arity: 1, fn: Math.cosh, ts: 'Math.cosh' },
  tanh: { arity: 1, fn: Math.tanh, ts: 'Math.tanh' },
  exp: { arity: 1, fn: Math.exp, ts: 'Math.exp' },
  log: { arity: 1, fn: Math.log, ts: 'Math.log' },
  ln: { arity: 1, fn: Math.log, ts: 'Math.log' },
  sqrt: { arity: 1, fn: Math.sqrt, ts: 'Math.sqrt' },
  abs: { arity: 1, fn: Math.abs, ts: 'Math.abs' },
  sign: { arity: 1, fn: Math.sign, ts: 'Math.sign' },
  floor: { arity: 1, fn: Math.floor, ts: 'Math.floor' },
  ceil: { arity: 1, fn: Math.ceil, ts: 'Math.ceil' },
  round: { arity: 1, fn: Math.round, ts: 'Math.round' },
  sigmoid: { arity: 1, fn: sigmoid, ts: '' }, // written out inline by typescriptOf
  min: { arity: 2, fn: Math.min, ts: 'Math.min' },
  max: { arity: 2, fn: Math.max, ts: 'Math.max' },
  atan2: { arity: 2, fn: Math.atan2, ts: 'Math.atan2' },
};

const CONSTANTS: Record<string, number> = { pi: Math.PI, e: Math.E };
/** The names of the inputs; x and y are the same as x1 and x2. */
const VARIABLES: Record<string, 0 | 1> = { x1: 0, x2: 1, x: 0, y: 1 };
export const MAX_EXPRESSION_LENGTH = 120;

interface Token {
  text: string;
  at: number;
  kind: 'num' | 'name' | 'op' | 'end';
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    const num = /^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?/i.exec(src.slice(i));
    if (num) {
      out.push({ text: num[0], at: i, kind: 'num' });
      i += num[0].length;
      continue;
    }
    const name = /^[a-z_][a-z0-9_]*/i.exec(src.slice(i));
    if (name) {
      out.push({ text: name[0].toLowerCase(), at: i, kind: 'name' });
      i += name[0].length;
      continue;
    }
    if (src.startsWith('**', i)) {
      out.push({ text: '^', at: i, kind: 'op' });
      i += 2;
      continue;
    }
    if ('+-*/^(),'.includes(c)) {
      out.push({ text: c, at: i, kind: 'op' });
      i++;
      continue;
    }
    throw new ExpressionError(src, i, `"${c}" is not allowed (use numbers, x1, x2, + − * / ^, parentheses and ${Object.keys(FUNCTIONS).join(', ')})`);
  }
  out.push({ text: '', at: src.length, kind: 'end' });
  return out;
}

function parse(src: string, allowX2: boolean): Node {
  const tokens = tokenize(src);
  let p = 0;
  const peek = () => tokens[p];
  const expect = (text: string) => {
    const t = tokens[p];
    if (t.text !== text)
      throw new ExpressionError(src, t.at, t.kind === 'end' ? `expected "${text}" but the expression ended` : `expected "${text}", found "${t.text}"`);
    p++;
  };
  const expr = (): Node => {
    let left = term();
    while (peek().text === '+' || peek().text === '-') {
      const op = tokens[p++].text as '+' | '-';
      left = { kind: 'bin', op, left, right: term() };
    }
    return left;
  };
  const term = (): Node => {
    let left = unary();
    while (peek().text === '*' || peek().text === '/') {
      const op = tokens[p++].text as '*' | '/';
      left = { kind: 'bin', op, left, right: unary() };
    }
    return left;
  };
  // −x^2 is −(x^2), and 2^−1 is allowed: a sign binds looser than ^ on its left, tighter on its right.
  const unary = (): Node => {
    if (peek().text === '-') {
      p++;
      return { kind: 'neg', arg: unary() };
    }
    if (peek().text === '+') {
      p++;
      return unary();
    }
    return power();
  };
  const power = (): Node => {
    const base = primary();
    if (peek().text === '^') {
      p++;
      return { kind: 'bin', op: '^', left: base, right: unary() };
    }
    return base;
  };
  const primary = (): Node => {
    const t = tokens[p];
    if (t.kind === 'num') {
      p++;
      return { kind: 'num', value: Number(t.text) };
    }
    if (t.kind === 'name') {
      p++;
      // Own properties only: "constructor" or "toString" must not reach Object.prototype.
      if (Object.hasOwn(VARIABLES, t.text)) {
        const index = VARIABLES[t.text];
        if (index === 1 && !allowX2) throw new ExpressionError(src, t.at, `"${t.text}" is not available here: a boundary y > f(x) uses x1 only`);
        return { kind: 'var', index };
      }
      if (Object.hasOwn(CONSTANTS, t.text)) return { kind: 'num', value: CONSTANTS[t.text] };
      const f = Object.hasOwn(FUNCTIONS, t.text) ? FUNCTIONS[t.text] : undefined;
      if (!f) throw new ExpressionError(src, t.at, `"${t.text}" is not a known name (x1, x2, pi, e or a function: ${Object.keys(FUNCTIONS).join(', ')})`);
      expect('(');
      const args = [expr()];
      while (peek().text === ',') {
        p++;
        args.push(expr());
      }
      expect(')');
      if (args.length !== f.arity) throw new ExpressionError(src, t.at, `${t.text} takes ${f.arity} argument${f.arity === 1 ? '' : 's'}, got ${args.length}`);
      return { kind: 'call', name: t.text, args };
    }
    if (t.text === '(') {
      p++;
      const inner = expr();
      expect(')');
      return inner;
    }
    throw new ExpressionError(src, t.at, t.kind === 'end' ? 'the expression ends too early' : `unexpected "${t.text}"`);
  };
  const tree = expr();
  if (peek().kind !== 'end') throw new ExpressionError(src, peek().at, `unexpected "${peek().text}"`);
  return tree;
}

function evaluator(n: Node): Fn2 {
  switch (n.kind) {
    case 'num': {
      const v = n.value;
      return () => v;
    }
    case 'var':
      return n.index === 0 ? (x1) => x1 : (_x1, x2) => x2;
    case 'neg': {
      const a = evaluator(n.arg);
      return (x1, x2) => -a(x1, x2);
    }
    case 'bin': {
      const a = evaluator(n.left);
      const b = evaluator(n.right);
      switch (n.op) {
        case '+':
          return (x1, x2) => a(x1, x2) + b(x1, x2);
        case '-':
          return (x1, x2) => a(x1, x2) - b(x1, x2);
        case '*':
          return (x1, x2) => a(x1, x2) * b(x1, x2);
        case '/':
          return (x1, x2) => a(x1, x2) / b(x1, x2);
        case '^':
          return (x1, x2) => a(x1, x2) ** b(x1, x2);
      }
      break;
    }
    case 'call': {
      const f = FUNCTIONS[n.name].fn;
      const args = n.args.map(evaluator);
      if (args.length === 1) {
        const [a] = args;
        return (x1, x2) => f(a(x1, x2));
      }
      const [a, b] = args;
      return (x1, x2) => f(a(x1, x2), b(x1, x2));
    }
  }
  throw new Error('unreachable');
}

function typescriptOf(n: Node): string {
  switch (n.kind) {
    case 'num':
      return String(n.value);
    case 'var':
      return n.index === 0 ? 'x1' : 'x2';
    case 'neg':
      return `-(${typescriptOf(n.arg)})`;
    case 'bin':
      return `(${typescriptOf(n.left)} ${n.op === '^' ? '**' : n.op} ${typescriptOf(n.right)})`;
    case 'call':
      if (n.name === 'sigmoid') return `(1 / (1 + Math.exp(-(${typescriptOf(n.args[0])}))))`;
      return `${FUNCTIONS[n.name].ts}(${n.args.map(typescriptOf).join(', ')})`;
  }
}

export interface Expression {
  /** As typed, trimmed. */
  source: string;
  fn: Fn2;
  /** The same expression as TypeScript over x1 and x2 (for the "copy as TypeScript" program). */
  typescript: string;
}

/**
 * Compile an expression of x1 (and x2 unless `x1Only`). Throws an
 * ExpressionError naming the expression, the character and what is wrong.
 */
export function compileExpression(text: string, options: { x1Only?: boolean } = {}): Expression {
  const source = text.trim();
  if (source === '') throw new ExpressionError(source, 0, 'the expression is empty');
  if (source.length > MAX_EXPRESSION_LENGTH)
    throw new ExpressionError(source.slice(0, 20), MAX_EXPRESSION_LENGTH, `longer than ${MAX_EXPRESSION_LENGTH} characters`);
  const tree = parse(source, !options.x1Only);
  return { source, fn: evaluator(tree), typescript: typescriptOf(tree) };
}

/** Compile, or return the error's message. */
export function tryCompile(text: string, options: { x1Only?: boolean } = {}): Expression | string {
  try {
    return compileExpression(text, options);
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
