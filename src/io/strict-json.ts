import { SerializationError } from '../core/errors.js';

/**
 * Nesting deeper than this is rejected instead of risking a stack overflow on
 * a hostile file; real headers and architectures nest a few levels.
 */
const MAX_DEPTH = 200;

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * JSON.parse, but a duplicated object key is an error instead of "last one
 * wins". The safetensors spec forbids duplicate keys, and in any saved file a
 * duplicate means two writers disagreed, so silently keeping one would hide
 * corruption. Objects are built without a prototype setter, so a key named
 * `__proto__` is an ordinary property, as with JSON.parse.
 *
 * Tokens (strings, numbers) are still decoded by JSON.parse, so escapes and
 * number syntax follow the platform parser exactly; this only walks the
 * structure.
 *
 * @param what names the document in error messages ("safetensors header").
 */
export function parseStrictJson(text: string, what: string): unknown {
  let pos = 0;

  const fail = (message: string): never => {
    throw new SerializationError(`${what}: invalid JSON at character ${pos}: ${message}`);
  };

  const skipWhitespace = (): void => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else break;
    }
  };

  const parseToken = (end: number): unknown => {
    const token = text.slice(pos, end);
    try {
      const value = JSON.parse(token);
      pos = end;
      return value;
    } catch {
      return fail(`bad token ${JSON.stringify(token.length > 40 ? `${token.slice(0, 40)}...` : token)}`);
    }
  };

  const parseString = (): string => {
    let i = pos + 1;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x22) return parseToken(i + 1) as string;
      if (c === 0x5c) i += 2;
      else if (c < 0x20) {
        pos = i;
        fail('control character inside a string');
      } else i++;
    }
    return fail('unterminated string');
  };

  const parseValue = (depth: number): unknown => {
    if (depth > MAX_DEPTH) fail(`nested deeper than ${MAX_DEPTH} levels`);
    skipWhitespace();
    const c = text[pos];
    if (c === '{') return parseObject(depth);
    if (c === '[') return parseArray(depth);
    if (c === '"') return parseString();
    if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER.lastIndex = pos;
      const m = NUMBER.exec(text);
      if (!m) return fail('bad number');
      return parseToken(pos + m[0].length);
    }
    for (const [word, value] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return value;
      }
    }
    return fail(c === undefined ? 'unexpected end of text' : `unexpected character ${JSON.stringify(c)}`);
  };

  const parseObject = (depth: number): Record<string, unknown> => {
    const obj: Record<string, unknown> = {};
    pos++; // '{'
    skipWhitespace();
    if (text[pos] === '}') {
      pos++;
      return obj;
    }
    for (;;) {
      skipWhitespace();
      if (text[pos] !== '"') fail('expected a string key');
      const keyAt = pos;
      const key = parseString();
      if (Object.hasOwn(obj, key)) {
        pos = keyAt;
        fail(`duplicate key ${JSON.stringify(key)}`);
      }
      skipWhitespace();
      if (text[pos] !== ':') fail("expected ':'");
      pos++;
      Object.defineProperty(obj, key, { value: parseValue(depth + 1), enumerable: true, writable: true, configurable: true });
      skipWhitespace();
      if (text[pos] === ',') pos++;
      else if (text[pos] === '}') {
        pos++;
        return obj;
      } else fail("expected ',' or '}'");
    }
  };

  const parseArray = (depth: number): unknown[] => {
    const arr: unknown[] = [];
    pos++; // '['
    skipWhitespace();
    if (text[pos] === ']') {
      pos++;
      return arr;
    }
    for (;;) {
      arr.push(parseValue(depth + 1));
      skipWhitespace();
      if (text[pos] === ',') pos++;
      else if (text[pos] === ']') {
        pos++;
        return arr;
      } else fail("expected ',' or ']'");
    }
  };

  const value = parseValue(0);
  skipWhitespace();
  if (pos !== text.length) fail('unexpected text after the end of the document');
  return value;
}

/** A JSON object (not null, not an array). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Throw unless `value` survives JSON.stringify/JSON.parse unchanged: JSON
 * would turn NaN and Infinity into null, undefined array items into null,
 * -0 into 0 and class instances into bare objects. Saved files should fail at save time
 * rather than load something different.
 *
 * @param path where `value` sits, for the message ("config", "extra")
 */
export function assertJsonSafe(value: unknown, path: string, context: string): void {
  const fail = (what: string): never => {
    throw new SerializationError(`${context}: ${path} is ${what}, which JSON cannot hold exactly`);
  };
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) fail(String(value));
    if (Object.is(value, -0)) fail('-0');
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) assertJsonSafe(value[i], `${path}[${i}]`, context);
    return;
  }
  if (isPlainObject(value) && (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null)) {
    // An undefined property is dropped, which reads back as the same undefined.
    for (const [k, v] of Object.entries(value)) if (v !== undefined) assertJsonSafe(v, `${path}.${k}`, context);
    return;
  }
  if (value === undefined) fail('undefined');
  if (typeof value === 'function') fail('a function');
  fail(`a ${(value as object).constructor?.name ?? typeof value}`);
}
