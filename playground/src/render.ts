// Drawing: the colour map, heatmaps on canvases, the points. DOM only, no neurite.
import type { Point2D } from './datasets.js';

const ORANGE = [0xf5, 0x93, 0x22];
const GREY = [0xe8, 0xea, 0xeb];
const BLUE = [0x08, 0x77, 0xbd];
/** Up to five class colours for multi-class runs (class 0 blue, 1 orange as with ±1, then green, purple, red). */
export const CLASS_COLORS = [BLUE, ORANGE, [0x2c, 0xa0, 0x2c], [0x94, 0x67, 0xbd], [0xd6, 0x27, 0x28]];
/** The original drew the map at alpha 160/255 over white; here that blend is baked in, so the canvas is opaque. */
const ALPHA = 160 / 255;
const SHADES = 31;

function blend(c: number[], alpha: number): [number, number, number] {
  return [Math.round(255 + (c[0] - 255) * alpha), Math.round(255 + (c[1] - 255) * alpha), Math.round(255 + (c[2] - 255) * alpha)];
}

/** The 31 shades from orange (−1) through grey (0) to blue (+1). */
const PALETTE: [number, number, number][] = Array.from({ length: SHADES }, (_, k) => {
  const t = (k / (SHADES - 1)) * 2 - 1;
  const [a, b, u] = t < 0 ? [GREY, ORANGE, -t] : [GREY, BLUE, t];
  return blend([a[0] + (b[0] - a[0]) * u, a[1] + (b[1] - a[1]) * u, a[2] + (b[2] - a[2]) * u], ALPHA);
});

export function colorOf(v: number, discretize = false): [number, number, number] {
  if (!Number.isFinite(v)) return [255, 0, 255];
  const c = discretize ? (v >= 0 ? 1 : -1) : Math.max(-1, Math.min(1, v));
  return PALETTE[Math.round(((c + 1) / 2) * (SHADES - 1))];
}

export const cssColor = (v: number) => `rgb(${colorOf(v).join(',')})`;

/** A data point's colour: the map's end colours at full strength, so points stand out on the blended map. */
export function pointColor(label: number): string {
  const c = label >= 0 ? BLUE : ORANGE;
  return `rgb(${c.join(',')})`;
}

/** Paint a size×size map of values in [−1, 1] (or class indices with confidences) onto a canvas of that size. */
export function paintMap(
  canvas: HTMLCanvasElement,
  values: Float32Array,
  size: number,
  discretize: boolean,
  confidence: Float32Array | null = null,
  classes = 2,
): void {
  if (canvas.width !== size) canvas.width = size;
  if (canvas.height !== size) canvas.height = size;
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
  const img = ctx.createImageData(size, size);
  for (let c = 0; c < size * size; c++) {
    let rgb: [number, number, number];
    if (confidence) {
      // Several classes: the winner's colour, stronger the surer the network is (4 steps; one with discretize).
      const floor = 1 / classes;
      const sure = discretize ? 1 : Math.round(((confidence[c] - floor) / (1 - floor)) * 4) / 4;
      rgb = blend(CLASS_COLORS[values[c] % CLASS_COLORS.length], 0.2 + 0.6 * Math.max(0, sure));
    } else rgb = colorOf(values[c], discretize);
    img.data[c * 4] = rgb[0];
    img.data[c * 4 + 1] = rgb[1];
    img.data[c * 4 + 2] = rgb[2];
    img.data[c * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/** The points over the output map: train with a white ring, test with a black one; optional shapes for the classes. */
export function paintPoints(
  canvas: HTMLCanvasElement,
  train: readonly Point2D[],
  test: readonly Point2D[],
  multiClass: boolean,
  shapes: boolean,
  regression = false,
): void {
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
  const w = canvas.width;
  ctx.clearRect(0, 0, w, w);
  const px = (x: number) => ((x + 6) / 12) * w;
  const py = (y: number) => ((6 - y) / 12) * w;
  const draw = (p: Point2D, stroke: string) => {
    const color = multiClass ? `rgb(${CLASS_COLORS[p.label % CLASS_COLORS.length].join(',')})` : regression ? cssColor(p.label) : pointColor(p.label);
    const x = px(p.x);
    const y = py(p.y);
    ctx.lineWidth = 1;
    ctx.strokeStyle = stroke;
    ctx.fillStyle = color;
    if (shapes && (multiClass ? p.label % 2 === 1 : p.label < 0)) {
      // ×: a second channel besides colour for the negative (odd) class.
      ctx.lineWidth = 3;
      ctx.strokeStyle = stroke;
      ctx.beginPath();
      ctx.moveTo(x - 3.5, y - 3.5);
      ctx.lineTo(x + 3.5, y + 3.5);
      ctx.moveTo(x + 3.5, y - 3.5);
      ctx.lineTo(x - 3.5, y + 3.5);
      ctx.stroke();
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = color;
      ctx.stroke();
      return;
    }
    ctx.beginPath();
    ctx.arc(x, y, 3, 0, 2 * Math.PI);
    ctx.fill();
    ctx.stroke();
  };
  for (const p of train) draw(p, '#fff');
  for (const p of test) draw(p, '#000');
}

/** A dataset thumbnail: 200 noiseless points as 4-px squares on a 100×100 canvas. */
export function paintThumbnail(canvas: HTMLCanvasElement, points: readonly Point2D[], multiClass: boolean): void {
  canvas.width = 100;
  canvas.height = 100;
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
  for (const p of points) {
    ctx.fillStyle = multiClass ? `rgb(${CLASS_COLORS[p.label % CLASS_COLORS.length].join(',')})` : pointColor(p.label);
    ctx.fillRect((100 * (p.x + 6)) / 12, (100 * (6 - p.y)) / 12, 4, 4);
  }
}

/** The 1-D view's y range. */
export const CURVE_Y = 2;

/**
 * A curve fit on x1 ∈ [−6, 6]: the training points (dark), the test points
 * (hollow), the fit (thick), and, when asked, what each last-hidden-layer unit
 * adds (thin lines) with the output bias dashed: their sum is the fit, which
 * is the universality argument drawn.
 */
export function paintCurve(
  canvas: HTMLCanvasElement,
  fit: Float32Array,
  parts: readonly Float32Array[] | null,
  bias: number,
  train: readonly Point2D[],
  test: readonly Point2D[],
): void {
  const w = canvas.width;
  const h = canvas.height;
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
  const px = (x: number) => ((x + 6) / 12) * w;
  const py = (y: number) => ((CURVE_Y - Math.max(-CURVE_Y * 1.5, Math.min(CURVE_Y * 1.5, y))) / (2 * CURVE_Y)) * h;
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, w, h);
  ctx.strokeStyle = '#ccc';
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(0, py(0));
  ctx.lineTo(w, py(0));
  ctx.moveTo(px(0), 0);
  ctx.lineTo(px(0), h);
  ctx.stroke();
  const line = (values: Float32Array, color: string, width: number, dash: number[] = []) => {
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.setLineDash(dash);
    ctx.beginPath();
    values.forEach((v, i) => {
      const x = (i / (values.length - 1)) * w;
      if (i === 0) ctx.moveTo(x, py(v));
      else ctx.lineTo(x, py(v));
    });
    ctx.stroke();
    ctx.setLineDash([]);
  };
  if (parts) {
    parts.forEach((p, j) => {
      const c = CLASS_COLORS[(j + 2) % CLASS_COLORS.length];
      line(p, `rgba(${c.join(',')},0.7)`, 1);
    });
    line(new Float32Array(fit.length).fill(bias), 'rgba(0,0,0,0.5)', 1, [4, 3]);
  }
  ctx.fillStyle = '#444';
  for (const p of train) ctx.fillRect(px(p.x) - 1.5, py(p.label) - 1.5, 3, 3);
  ctx.strokeStyle = '#444';
  for (const p of test) ctx.strokeRect(px(p.x) - 2, py(p.label) - 2, 4, 4);
  line(fit, `rgb(${ORANGE.join(',')})`, 3);
}
