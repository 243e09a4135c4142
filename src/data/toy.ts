// Two-dimensional classification sets of the kind the TensorFlow playground
// shows: small enough to train in a blink, shaped so that a linear model
// fails and a hidden layer (or the right features) succeeds.
import { ValueError } from '../core/errors.js';
import { defaultGenerator, Generator } from '../core/random.js';
import { Tensor } from '../core/tensor.js';

/** Points [n, 2] and their int32 classes [n]. */
export interface ToyData {
  /** The points, [N, 2]. */
  x: Tensor;
  /** The class of each point, [N] int32. */
  y: Tensor;
}

/** Size, noise and random stream of a toy dataset. */
export interface ToyOptions {
  /** Standard deviation of Gaussian noise added to each coordinate (default 0). */
  noise?: number;
  /** Draw from this generator (default: the global one, so `seed(n)` reproduces). */
  generator?: Generator;
  /** Seed of a private generator instead (leaves the global one untouched). */
  seed?: number;
  /** dtype of x (default float32). */
  dtype?: 'float32' | 'float64';
}

interface Setup {
  n: number;
  noise: number;
  generator: Generator;
  /** The points, [N, 2]. */
  x: Float32Array | Float64Array;
  /** The class of each point, [N] int32. */
  y: Int32Array;
}

function setup(op: string, n: number, options: ToyOptions): Setup {
  if (!Number.isInteger(n) || n < 1) throw new ValueError(`${op}: n must be a positive integer, got ${n}`);
  const noise = options.noise ?? 0;
  if (!Number.isFinite(noise) || noise < 0) throw new ValueError(`${op}: noise must be a finite number >= 0, got ${noise}`);
  const dtype = options.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float64') throw new ValueError(`${op}: dtype must be 'float32' or 'float64', got ${JSON.stringify(dtype)}`);
  const generator = options.seed !== undefined ? new Generator(options.seed) : (options.generator ?? defaultGenerator);
  return { n, noise, generator, x: dtype === 'float32' ? new Float32Array(2 * n) : new Float64Array(2 * n), y: new Int32Array(n) };
}

// Sample i belongs to class i % classes: the classes are as balanced as n
// allows, and interleaved, so any prefix of the set is balanced too.
function fill(s: Setup, classes: number, point: (cls: number, g: Generator) => [number, number]): ToyData {
  const { n, noise, generator: g, x, y } = s;
  for (let i = 0; i < n; i++) {
    const cls = i % classes;
    const [px, py] = point(cls, g);
    x[2 * i] = noise > 0 ? px + noise * g.nextNormal() : px;
    x[2 * i + 1] = noise > 0 ? py + noise * g.nextNormal() : py;
    y[i] = cls;
  }
  return { x: new Tensor(x, [n, 2]), y: new Tensor(y, [n]) };
}

function uniform(g: Generator, lo: number, hi: number): number {
  return lo + (hi - lo) * g.nextDouble();
}

/**
 * XOR: points uniform in [-1, 1]^2, class 1 where the coordinates have
 * opposite signs (x*y < 0) and class 0 where they agree. The class is decided
 * before noise is added, so noise blurs the boundary at the axes.
 */
export function xorData(n: number, options: ToyOptions = {}): ToyData {
  const s = setup('xorData', n, options);
  return fill(s, 2, (cls, g) => {
    // Class 0: quadrants I and III; class 1: II and IV. Pick the quadrant, then
    // place the point uniformly inside it.
    const px = g.nextDouble();
    const py = g.nextDouble();
    const flipX = g.nextDouble() < 0.5 ? 1 : -1;
    return cls === 0 ? [flipX * px, flipX * py] : [flipX * px, -flipX * py];
  });
}

/**
 * Two concentric circles: class 0 on the circle of radius 1, class 1 on the
 * circle of radius `factor` (default 0.5), at uniformly random angles.
 */
export function circles(n: number, options: ToyOptions & { factor?: number } = {}): ToyData {
  const factor = options.factor ?? 0.5;
  if (!(factor > 0 && factor < 1)) throw new ValueError(`circles: factor must be in (0, 1), got ${factor}`);
  const s = setup('circles', n, options);
  return fill(s, 2, (cls, g) => {
    const r = cls === 0 ? 1 : factor;
    const t = uniform(g, 0, 2 * Math.PI);
    return [r * Math.cos(t), r * Math.sin(t)];
  });
}

/**
 * Isotropic Gaussian blobs, one class per centre. `centers` is either a list
 * of points or a count k, which places k centres evenly on the circle of
 * radius 2 (the default is two centres, at (2, 2) and (-2, -2)). `std` is each
 * blob's standard deviation (default 0.5); `noise` adds more on top.
 */
export function gaussians(n: number, options: ToyOptions & { centers?: number | readonly (readonly [number, number])[]; std?: number } = {}): ToyData {
  const std = options.std ?? 0.5;
  if (!Number.isFinite(std) || std < 0) throw new ValueError(`gaussians: std must be a finite number >= 0, got ${std}`);
  let centers: (readonly [number, number])[];
  const spec = options.centers ?? [
    [2, 2],
    [-2, -2],
  ];
  if (typeof spec === 'number') {
    if (!Number.isInteger(spec) || spec < 1) throw new ValueError(`gaussians: centers must be a positive integer or a list of points, got ${spec}`);
    centers = Array.from({ length: spec }, (_, k) => [2 * Math.cos((2 * Math.PI * k) / spec), 2 * Math.sin((2 * Math.PI * k) / spec)] as const);
  } else {
    if (!Array.isArray(spec) || spec.length === 0) throw new ValueError('gaussians: centers must be a positive integer or a non-empty list of points');
    spec.forEach((c, k) => {
      if (!Array.isArray(c) || c.length !== 2 || !c.every(Number.isFinite)) {
        throw new ValueError(`gaussians: centers[${k}] must be a point [x, y] of finite numbers, got ${JSON.stringify(c)}`);
      }
    });
    centers = [...spec];
  }
  const s = setup('gaussians', n, options);
  return fill(s, centers.length, (cls, g) => [centers[cls][0] + std * g.nextNormal(), centers[cls][1] + std * g.nextNormal()]);
}

/**
 * Two interleaved spirals around the origin: a point at fraction s in [0, 1)
 * along its arm sits at radius s and angle 2*pi*turns*s, plus pi for class 1.
 * `turns` defaults to 1.75 as in the TensorFlow playground.
 */
export function twoSpirals(n: number, options: ToyOptions & { turns?: number } = {}): ToyData {
  const turns = options.turns ?? 1.75;
  if (!Number.isFinite(turns) || turns <= 0) throw new ValueError(`twoSpirals: turns must be a positive number, got ${turns}`);
  const s = setup('twoSpirals', n, options);
  return fill(s, 2, (cls, g) => {
    const along = g.nextDouble();
    const t = 2 * Math.PI * turns * along + cls * Math.PI;
    return [along * Math.cos(t), along * Math.sin(t)];
  });
}

/**
 * Two interleaving half circles: class 0 is the upper arc of the unit circle,
 * class 1 the lower arc shifted to (1, 0.5), as in scikit-learn's make_moons.
 */
export function moons(n: number, options: ToyOptions = {}): ToyData {
  const s = setup('moons', n, options);
  return fill(s, 2, (cls, g) => {
    const t = uniform(g, 0, Math.PI);
    return cls === 0 ? [Math.cos(t), Math.sin(t)] : [1 - Math.cos(t), 0.5 - Math.sin(t)];
  });
}
