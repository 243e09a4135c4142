import { ValueError } from './errors.js';

/** Serializable state of a Generator, for bit-exact resumption of training. */
export interface GeneratorState {
  /** The generator's algorithm; only xoshiro128** exists. */
  algorithm: 'xoshiro128**';
  /** The four 32-bit words of the xoshiro128** state. */
  s: [number, number, number, number];
  /** Box-Muller produces normals in pairs; the spare one is part of the state. */
  spareNormal: number | null;
}

function splitmix32(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * A seeded pseudo-random generator (xoshiro128**, 32-bit arithmetic only, so the
 * stream is identical on every platform and in the browser).
 */
export class Generator {
  private s = new Uint32Array(4);
  private spare: number | null = null;
  private initial = 0;

  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  /** Reseed the generator (an integer), restarting its stream. */
  manualSeed(seed: number): this {
    if (!Number.isFinite(seed)) throw new ValueError(`seed: expected a finite number, got ${seed}`);
    // Mix both halves of seeds above 2^32 so that nearby large seeds differ.
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 4294967296) >>> 0;
    const mix = splitmix32(lo ^ Math.imul(hi, 0x27d4eb2d));
    for (let i = 0; i < 4; i++) this.s[i] = mix();
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
    this.spare = null;
    this.initial = seed;
    return this;
  }

  /** The seed the generator was last seeded with. */
  initialSeed(): number {
    return this.initial;
  }

  /** The next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  nextDouble(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal via the Box-Muller transform. */
  nextNormal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.nextDouble(); // log(0) would be -Infinity
    const v = this.nextDouble();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Uniform integer in [0, n). */
  nextInt(n: number): number {
    return Math.floor(this.nextDouble() * n);
  }

  /** A copy of the state, to restore later with setState() for bit-exact resumption. */
  getState(): GeneratorState {
    return { algorithm: 'xoshiro128**', s: [this.s[0], this.s[1], this.s[2], this.s[3]], spareNormal: this.spare };
  }

  /** Restore a state taken by getState(). */
  setState(state: GeneratorState): this {
    if (state?.algorithm !== 'xoshiro128**' || !Array.isArray(state.s) || state.s.length !== 4) {
      throw new ValueError('Generator.setState: expected a state produced by Generator.getState()');
    }
    for (let i = 0; i < 4; i++) this.s[i] = state.s[i] >>> 0;
    this.spare = state.spareNormal ?? null;
    return this;
  }

  /** A Fisher-Yates permutation of 0..n-1. */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

function entropySeed(): number {
  const c = globalThis.crypto;
  if (c?.getRandomValues) return c.getRandomValues(new Uint32Array(1))[0];
  return Math.floor(Math.random() * 4294967296);
}

/**
 * The default generator behind every random draw (initialisation, shuffling,
 * dropout, augmentation). It starts from an unpredictable seed, readable with
 * `initialSeed()`, so a run can always be reproduced; `seed(n)` fixes it.
 */
export const defaultGenerator = new Generator(entropySeed());

/** Seed every random draw in neurite. Same seed, same numbers, on every run. */
export function seed(n: number): void {
  defaultGenerator.manualSeed(n);
}

/** The seed the generator was last seeded with. */
export function initialSeed(): number {
  return defaultGenerator.initialSeed();
}

let active: Generator | null = null;

/**
 * The generator random ops draw from when given none: the global one, or the
 * stream a running fit() step uses (see withGenerator).
 */
export function currentGenerator(): Generator {
  return active ?? defaultGenerator;
}

/**
 * Run synchronous `fn` with random ops drawing from `g` when they are given no
 * generator. fit() runs each of its steps this way with a stream of its own,
 * so dropout masks do not depend on what else draws from the global generator
 * in between (another fit interleaved at its awaits, say).
 */
export function withGenerator<T>(g: Generator, fn: () => T): T {
  const saved = active;
  active = g;
  try {
    return fn();
  } finally {
    active = saved;
  }
}

/**
 * A new generator seeded from `g`'s current state without drawing from it:
 * two calls at the same point give the same stream, and `g`'s own sequence is
 * left exactly as it was.
 */
export function deriveGenerator(g: Generator): Generator {
  const { s } = g.getState();
  let h = 0x811c9dc5;
  for (const word of s) h = Math.imul(h ^ word, 0x01000193) >>> 0;
  return new Generator(h);
}
