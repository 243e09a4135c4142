// The plane [−6, 6]² sampled for the heatmaps, and the input features over it.
// Shared by the page and the engine; imports nothing, so the page's own
// bundle stays free of neurite (the training side loads it).
import type { FeatureName } from './spec.js';

/** The heatmap's resolution: the original's DENSITY. */
export const GRID = 100;
/** Per-neuron tiles are the grid block-averaged down to this. */
export const TILE = 20;

/** Samples across x1 ∈ [−6, 6] for the 1-D (curve) view. */
export const CURVE_SAMPLES = 241;
export const curveX = (i: number) => -6 + (12 * i) / (CURVE_SAMPLES - 1);

export const gridX = (i: number) => -6 + (12 * i) / (GRID - 1);
export const gridY = (j: number) => 6 - (12 * j) / (GRID - 1);

export const FEATURE_FNS: Record<FeatureName, (x: number, y: number) => number> = {
  x: (x) => x,
  y: (_x, y) => y,
  xSquared: (x) => x * x,
  ySquared: (_x, y) => y * y,
  xTimesY: (x, y) => x * y,
  sinX: (x) => Math.sin(x),
  sinY: (_x, y) => Math.sin(y),
};

/** A feature's value over the grid, row-major from the top (y = 6) left (x = −6). */
export function featureGrid(f: FeatureName): Float32Array {
  const out = new Float32Array(GRID * GRID);
  for (let j = 0; j < GRID; j++) for (let i = 0; i < GRID; i++) out[j * GRID + i] = FEATURE_FNS[f](gridX(i), gridY(j));
  return out;
}
