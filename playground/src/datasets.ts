// The datasets, over the domain [−6, 6]². Pure: each generator takes the
// random stream, so one seed gives the same points in Node and in a page.
//
// The original six follow playground.tensorflow.org's generators draw for draw
// (the same calls in the same order, noise meaning what it meant there), which
// is what lets a compat link reproduce its data exactly. Moons, checkerboard
// and the multi-class variants are new.
import seedrandom from 'seedrandom';
import { compileExpression, type Fn2 } from './expr.js';
import type { Spec } from './spec.js';

/** A point and its label: ±1 for two classes, the class index 0…k−1 for more, a value in [−1, 1] for regression. */
export interface Point2D {
  x: number;
  y: number;
  label: number;
}

export type Random = () => number;

/** The original's seeded stream: seedrandom's ARC4 generator keyed by the seed string. */
export function seededRandom(seed: string): Random {
  return seedrandom(seed);
}

/** The original's seed format: a random number printed with 5 decimals. */
export function newSeed(random: Random = Math.random): string {
  return random().toFixed(5);
}

const uniform = (r: Random, a: number, b: number) => r() * (b - a) + a;

/** Marsaglia's polar method, as the original draws it (two uniforms per try, the first coordinate kept). */
function normal(r: Random, mean: number, variance: number): number {
  let v1: number;
  let v2: number;
  let s: number;
  do {
    v1 = 2 * r() - 1;
    v2 = 2 * r() - 1;
    s = v1 * v1 + v2 * v2;
  } while (s > 1);
  return mean + Math.sqrt(variance) * Math.sqrt((-2 * Math.log(s)) / s) * v1;
}

/** Fisher–Yates from the back, picking with floor(random · counter), as the original shuffles. */
export function shuffle<T>(items: T[], r: Random): void {
  let counter = items.length;
  while (counter > 0) {
    const index = Math.floor(r() * counter);
    counter--;
    const t = items[counter];
    items[counter] = items[index];
    items[index] = t;
  }
}

export type Generator = (n: number, noise: number, r: Random, classes: number) => Point2D[];

function circle(n: number, noise: number, r: Random, classes: number): Point2D[] {
  if (classes > 2) {
    // k concentric rings of equal width; noise moves the point.
    const points: Point2D[] = [];
    for (let i = 0; i < n; i++) {
      const c = i % classes;
      const rad = uniform(r, (5 * c) / classes + 0.25, (5 * (c + 1)) / classes - 0.25);
      const angle = uniform(r, 0, 2 * Math.PI);
      points.push({ x: rad * Math.sin(angle) + uniform(r, -1, 1) * noise, y: rad * Math.cos(angle) + uniform(r, -1, 1) * noise, label: c });
    }
    return points;
  }
  const points: Point2D[] = [];
  const radius = 5;
  const label = (x: number, y: number) => (Math.sqrt(x * x + y * y) < radius * 0.5 ? 1 : -1);
  // Inner disc, then the outer ring; noise recomputes the label at a jittered position.
  for (const [lo, hi] of [
    [0, radius * 0.5],
    [radius * 0.7, radius],
  ]) {
    for (let i = 0; i < n / 2; i++) {
      const rad = uniform(r, lo, hi);
      const angle = uniform(r, 0, 2 * Math.PI);
      const x = rad * Math.sin(angle);
      const y = rad * Math.cos(angle);
      const nx = uniform(r, -radius, radius) * noise;
      const ny = uniform(r, -radius, radius) * noise;
      points.push({ x, y, label: label(x + nx, y + ny) });
    }
  }
  return points;
}

function xor(n: number, noise: number, r: Random, classes: number): Point2D[] {
  const points: Point2D[] = [];
  for (let i = 0; i < n; i++) {
    let x = uniform(r, -5, 5);
    x += x > 0 ? 0.3 : -0.3;
    let y = uniform(r, -5, 5);
    y += y > 0 ? 0.3 : -0.3;
    const nx = uniform(r, -5, 5) * noise;
    const ny = uniform(r, -5, 5) * noise;
    const px = x + nx;
    const py = y + ny;
    if (classes > 2) {
      // The four quadrants, counted anticlockwise, folded onto k classes.
      const q = px >= 0 ? (py >= 0 ? 0 : 3) : py >= 0 ? 1 : 2;
      points.push({ x, y, label: q % classes });
    } else {
      points.push({ x, y, label: px * py >= 0 ? 1 : -1 });
    }
  }
  return points;
}

function gauss(n: number, noise: number, r: Random, classes: number): Point2D[] {
  // Variance grows linearly from 0.5 at no noise to 4 at noise 0.5.
  const variance = 0.5 + 7 * noise;
  const points: Point2D[] = [];
  if (classes > 2) {
    for (let c = 0; c < classes; c++) {
      const a = (2 * Math.PI * c) / classes + Math.PI / 4;
      const cx = 3 * Math.cos(a);
      const cy = 3 * Math.sin(a);
      for (let i = 0; i < Math.floor(n / classes); i++) points.push({ x: normal(r, cx, variance), y: normal(r, cy, variance), label: c });
    }
    return points;
  }
  for (const [c, label] of [
    [2, 1],
    [-2, -1],
  ]) {
    for (let i = 0; i < n / 2; i++) {
      const x = normal(r, c, variance);
      const y = normal(r, c, variance);
      points.push({ x, y, label });
    }
  }
  return points;
}

function spiral(n: number, noise: number, r: Random, classes: number): Point2D[] {
  const points: Point2D[] = [];
  const k = Math.max(classes, 2);
  const m = n / k;
  for (let c = 0; c < k; c++) {
    const delta = (2 * Math.PI * c) / k;
    const label = k === 2 ? (c === 0 ? 1 : -1) : c;
    for (let i = 0; i < m; i++) {
      const rad = (i / m) * 5;
      const t = ((1.75 * i) / m) * 2 * Math.PI + delta;
      const x = rad * Math.sin(t) + uniform(r, -1, 1) * noise;
      const y = rad * Math.cos(t) + uniform(r, -1, 1) * noise;
      points.push({ x, y, label });
    }
  }
  return points;
}

function moons(n: number, noise: number, r: Random, classes: number): Point2D[] {
  // Two interleaved half circles (scikit-learn's make_moons, scaled to the domain); noise jitters the position.
  const points: Point2D[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % 2;
    const t = uniform(r, 0, Math.PI);
    const bx = c === 0 ? Math.cos(t) : 1 - Math.cos(t);
    const by = c === 0 ? Math.sin(t) : 0.5 - Math.sin(t);
    const x = (bx - 0.5) * 4 + uniform(r, -1, 1) * noise * 2;
    const y = (by - 0.25) * 4 + uniform(r, -1, 1) * noise * 2;
    points.push({ x, y, label: classes > 2 ? c : c === 0 ? 1 : -1 });
  }
  return points;
}

function checkerboard(n: number, noise: number, r: Random, classes: number): Point2D[] {
  // Squares of side 3; noise flips labels the way xor's does, by judging a jittered position.
  const points: Point2D[] = [];
  for (let i = 0; i < n; i++) {
    const x = uniform(r, -6, 6);
    const y = uniform(r, -6, 6);
    const px = x + uniform(r, -3, 3) * noise;
    const py = y + uniform(r, -3, 3) * noise;
    const cell = Math.floor(px / 3) + Math.floor(py / 3);
    const k = Math.max(classes, 2);
    const c = ((cell % k) + k) % k;
    points.push({ x, y, label: k === 2 ? (c === 0 ? 1 : -1) : c });
  }
  return points;
}

/**
 * Both regression sets: a point uniform over the domain, labelled by `label` at
 * a position jittered by U(−6, 6)·noise (four draws per point, in this order).
 */
function jitteredLabels(n: number, noise: number, r: Random, label: (x: number, y: number) => number): Point2D[] {
  const points: Point2D[] = [];
  for (let i = 0; i < n; i++) {
    const x = uniform(r, -6, 6);
    const y = uniform(r, -6, 6);
    const nx = uniform(r, -6, 6) * noise;
    const ny = uniform(r, -6, 6) * noise;
    points.push({ x, y, label: label(x + nx, y + ny) });
  }
  return points;
}

const regressPlane = (n: number, noise: number, r: Random) => jitteredLabels(n, noise, r, (x, y) => (x + y) / 10);

const BUMPS = [
  [-4, 2.5, 1],
  [0, 2.5, -1],
  [4, 2.5, 1],
  [-4, -2.5, -1],
  [0, -2.5, 1],
  [4, -2.5, -1],
] as const;

/** The bump largest in absolute value wins; each falls linearly from 1 at its centre to 0 at distance 2. */
function bumpLabel(x: number, y: number): number {
  let best = 0;
  for (const [cx, cy, sign] of BUMPS) {
    const v = sign * Math.min(1, Math.max(0, 1 - Math.hypot(x - cx, y - cy) / 2));
    if (Math.abs(v) > Math.abs(best)) best = v;
  }
  return best;
}

const regressGauss = (n: number, noise: number, r: Random) => jitteredLabels(n, noise, r, bumpLabel);

/**
 * "y > f(x)": points uniform in [−5, 5]², labelled by which side of the curve
 * y = f(x1) they fall on (at the noise-jittered position, as xor does). With
 * k > 2 classes, k − 1 parallel copies of the curve cut the square into bands.
 */
export function boundaryPoints(f: Fn2, n: number, noise: number, r: Random, classes: number): Point2D[] {
  const points: Point2D[] = [];
  for (let i = 0; i < n; i++) {
    const x = uniform(r, -5, 5);
    const y = uniform(r, -5, 5);
    const px = x + uniform(r, -5, 5) * noise;
    const py = y + uniform(r, -5, 5) * noise;
    const gap = py - f(px, 0);
    if (classes > 2) {
      let c = 0;
      for (let j = 1; j < classes; j++) if (gap > -5 + (10 * j) / classes) c++;
      points.push({ x, y, label: c });
    } else points.push({ x, y, label: gap > 0 ? 1 : -1 });
  }
  return points;
}

/** 1-D targets over x1 ∈ [−6, 6], each in about [−1, 1]. */
export const CURVES: Record<string, (x: number) => number> = {
  sin: (x) => Math.sin(x),
  abs: (x) => Math.abs(x) / 3 - 1,
  step: (x) => (x < 0 ? -0.6 : 0.6),
  cubic: (x) => (x / 5) ** 3 - 0.6 * (x / 5),
};

/**
 * A curve's points: x1 uniform in [−6, 6], label f(x1) plus Gaussian noise of
 * standard deviation noise (0–0.5); the y coordinate is 0. The noisy cubic
 * keeps a floor of 0.05 so it is noisy even at noise 0.
 */
function curvePoints(name: string, n: number, noise: number, r: Random): Point2D[] {
  const f = CURVES[name];
  const sd = name === 'cubic' ? Math.max(0.05, noise) : noise;
  const points: Point2D[] = [];
  for (let i = 0; i < n; i++) {
    const x = uniform(r, -6, 6);
    const e = sd > 0 ? normal(r, 0, sd * sd) : 0;
    points.push({ x, y: 0, label: f(x) + e });
  }
  return points;
}

export const GENERATORS: Record<string, Generator> = {
  circle,
  xor,
  gauss,
  spiral,
  moons,
  checkerboard,
  'reg-plane': regressPlane,
  'reg-gauss': regressGauss,
};

/** 500 points to classify, 1,200 to regress (the original's counts), 200 on a curve. */
export const NUM_SAMPLES = { classification: 500, regression: 1200, curve: 200 } as const;

export interface Split {
  train: Point2D[];
  test: Point2D[];
}

/**
 * Generate, shuffle and split as the original does: one stream seeded by
 * `seed` draws the points and then the shuffle; the first ⌊N·perc/100⌋ train.
 * Returns the stream too, because in compat mode the initial weights are
 * drawn from where the data left it.
 */
export function generate(
  name: string,
  problem: 'classification' | 'regression' | 'curve',
  noisePercent: number,
  percTrain: number,
  seed: string,
  classes = 2,
  boundary?: Fn2,
): Split & { random: Random } {
  const random = seededRandom(seed);
  const n = NUM_SAMPLES[problem];
  const noise = noisePercent / 100;
  let points: Point2D[];
  if (problem === 'curve') {
    if (!(name in CURVES)) throw new Error(`dataset: no curve named "${name}"`);
    points = curvePoints(name, n, noise, random);
  } else if (name === 'boundary') {
    if (boundary === undefined) throw new Error('dataset: the boundary dataset needs its f(x)');
    points = boundaryPoints(boundary, n, noise, random, classes);
  } else {
    const generator = GENERATORS[name];
    if (generator === undefined) throw new Error(`dataset: no generator named "${name}"`);
    points = generator(n, noise, random, classes);
  }
  shuffle(points, random);
  const cut = Math.floor((points.length * percTrain) / 100);
  return { train: points.slice(0, cut), test: points.slice(cut), random };
}

/** The data a spec names (not user data): its dataset, noise, split and seed. */
export function generateFor(s: Spec): Split & { random: Random } {
  const name = s.problem === 'classification' ? s.dataset : s.problem === 'curve' ? s.curveDataset : s.regDataset;
  const boundary = s.problem === 'classification' && s.dataset === 'boundary' ? compileExpression(s.boundary, { x1Only: true }).fn : undefined;
  return generate(name, s.problem, s.noise, s.percTrainData, s.seed, s.problem === 'classification' ? s.classes : 2, boundary);
}

/** Split user points (already in order) the same way, shuffling with the data seed. */
export function splitUserPoints(points: readonly Point2D[], percTrain: number, seed: string): Split {
  const copy = points.slice();
  shuffle(copy, seededRandom(seed));
  const cut = Math.max(1, Math.floor((copy.length * percTrain) / 100));
  return { train: copy.slice(0, cut), test: copy.slice(cut) };
}

export interface CsvResult {
  points: Point2D[];
  /** Set when the text is not a usable CSV: names the line and what is wrong. */
  error?: string;
}

/**
 * Read `x1,x2,label` rows (a header line is allowed). Labels: ±1 or 0/1 for
 * two classes, 0…4 for more, any number in [−1, 1] for regression.
 */
export function parsePointsCsv(text: string, problem: 'classification' | 'regression'): CsvResult {
  const points: Point2D[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#')) continue;
    const cells = line.split(/[,;\t]/).map((c) => c.trim());
    if (i === 0 && cells.some((c) => c !== '' && !Number.isFinite(Number(c)))) continue; // a header
    if (cells.length < 3) return { points: [], error: `line ${i + 1}: expected 3 columns (x1, x2, label), got ${cells.length}: "${line.slice(0, 60)}"` };
    const [x, y, label] = cells.slice(0, 3).map(Number);
    if (![x, y, label].every(Number.isFinite)) return { points: [], error: `line ${i + 1}: not three numbers: "${line.slice(0, 60)}"` };
    if (Math.abs(x) > 6 || Math.abs(y) > 6) return { points: [], error: `line ${i + 1}: x1 and x2 must lie in [−6, 6], got ${x}, ${y}` };
    if (problem === 'regression' && Math.abs(label) > 1) return { points: [], error: `line ${i + 1}: a regression label must lie in [−1, 1], got ${label}` };
    if (problem === 'classification' && !(Number.isInteger(label) && label >= -1 && label <= 4))
      return { points: [], error: `line ${i + 1}: a class label must be −1, 0, 1, 2, 3 or 4, got ${label}` };
    points.push({ x, y, label });
  }
  if (points.length < 2) return { points: [], error: 'the file has fewer than 2 data rows' };
  if (problem === 'classification') {
    const labels = new Set(points.map((p) => p.label));
    if (labels.has(-1) && [...labels].some((l) => l > 1))
      return { points: [], error: 'labels mix −1 with classes above 1: use ±1 for two classes or 0…4 for more' };
    // 0/1 labels mean two classes: map them to the ±1 the single-output network uses.
    if (!labels.has(-1) && [...labels].every((l) => l === 0 || l === 1)) for (const p of points) p.label = p.label === 1 ? 1 : -1;
  }
  return { points };
}

/** The number of classes in user points (2 for ±1 labels). */
export function classesIn(points: readonly Point2D[]): number {
  if (points.some((p) => p.label === -1)) return 2;
  return Math.max(2, ...points.map((p) => p.label + 1));
}

export function pointsToCsv(split: Split): string {
  const rows = ['x1,x2,label,split'];
  for (const p of split.train) rows.push(`${p.x},${p.y},${p.label},train`);
  for (const p of split.test) rows.push(`${p.x},${p.y},${p.label},test`);
  return `${rows.join('\n')}\n`;
}
