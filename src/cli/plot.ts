// Learning curves as a standalone SVG: loss on the left, accuracy on the
// right, training and validation per epoch. Plain SVG 1.1 with inline styles,
// so browsers, image viewers and GitHub render it alike.
import type { History } from '../index.js';

export interface CurveSeries {
  label: string;
  values: readonly number[];
  color: string;
  dashed?: boolean;
}

export interface Panel {
  title: string;
  series: CurveSeries[];
  /** Format a y tick ('0.25', '98%'). */
  format: (v: number) => string;
  /** Fixed y range, e.g. [0, 1] for accuracy; default: fitted to the data. */
  range?: [number, number];
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** About `count` round tick values (steps of 1, 2 or 5 times a power of ten) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) {
    const pad = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1;
    return niceTicks(lo - pad, hi + pad, count);
  }
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let t = Math.floor(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
  if (ticks[ticks.length - 1] < hi - step * 1e-9) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  return ticks;
}

const WIDTH = 420;
const HEIGHT = 300;
const MARGIN = { left: 58, right: 16, top: 30, bottom: 44 };

function panelSvg(panel: Panel, epochs: readonly number[], offsetX: number): string {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const finite = panel.series.flatMap((s) => s.values.filter(Number.isFinite));
  const [lo, hi] = panel.range ?? (finite.length > 0 ? [Math.min(...finite), Math.max(...finite)] : [0, 1]);
  const yTicks = niceTicks(lo, hi);
  const yMin = yTicks[0];
  const yMax = yTicks[yTicks.length - 1];
  const first = epochs[0] ?? 1;
  const lastEpoch = epochs[epochs.length - 1] ?? 1;
  // One epoch is one point: centre it, with room on both sides, instead of pinning it to the left border.
  const single = lastEpoch <= first;
  const xMin = single ? first - 1 : first;
  const xMax = single ? first + 1 : lastEpoch;
  const x = (e: number) => MARGIN.left + ((e - xMin) / (xMax - xMin)) * plotW;
  const y = (v: number) => MARGIN.top + (1 - (v - yMin) / (yMax - yMin)) * plotH;
  const xTicks = single ? [first] : niceTicks(xMin, xMax, Math.min(8, Math.max(1, xMax - xMin))).filter((t) => Number.isInteger(t) && t >= xMin && t <= xMax);
  if (!single && !xTicks.includes(xMin)) xTicks.unshift(xMin);
  // A tick right next to the first one would overprint its label.
  if (xTicks.length > 2 && x(xTicks[1]) - x(xTicks[0]) < 18) xTicks.splice(1, 1);

  const out: string[] = [`<g transform="translate(${offsetX},0)">`];
  out.push(`<text x="${MARGIN.left + plotW / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(panel.title)}</text>`);
  for (const t of yTicks) {
    out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${MARGIN.left - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end" font-size="11" fill="#555">${escapeXml(panel.format(t))}</text>`);
  }
  for (const t of xTicks) {
    out.push(`<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH + 4}" stroke="#555"/>`);
    out.push(`<text x="${x(t).toFixed(1)}" y="${MARGIN.top + plotH + 17}" text-anchor="middle" font-size="11" fill="#555">${t}</text>`);
  }
  out.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#555"/>`);
  out.push(`<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 8}" text-anchor="middle" font-size="12">epoch</text>`);
  for (const s of panel.series) {
    const points = s.values.map((v, i) => [epochs[i], v] as const).filter(([, v]) => Number.isFinite(v));
    if (points.length === 0) continue;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    if (points.length > 1) {
      const d = points.map(([e, v], i) => `${i === 0 ? 'M' : 'L'}${x(e).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`);
    }
    // Markers keep a one-epoch run (or a gap in a series) visible.
    if (points.length <= 40)
      for (const [e, v] of points) out.push(`<circle cx="${x(e).toFixed(1)}" cy="${y(v).toFixed(1)}" r="${single ? 5 : 2.5}" fill="${s.color}"/>`);
    // A lone point gets its value written beside it: there is no curve to read it from.
    if (single) {
      const [e, v] = points[0];
      out.push(`<text x="${(x(e) + 9).toFixed(1)}" y="${(y(v) + 4).toFixed(1)}" font-size="11" fill="${s.color}">${escapeXml(panel.format(v))}</text>`);
    }
  }
  out.push('</g>');
  return out.join('\n');
}

/** An SVG document with the given panels side by side, sharing the epoch axis, with one legend for all of them. */
export function renderPanels(panels: readonly Panel[], epochs: readonly number[], title?: string): string {
  const top = 30;
  const width = WIDTH * panels.length;
  const height = HEIGHT + top;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
  ];
  if (title) parts.push(`<text x="${MARGIN.left}" y="20" font-size="15">${escapeXml(title)}</text>`);
  // The legend: each label once, from the series that have data.
  const legend = new Map<string, CurveSeries>();
  for (const p of panels) for (const s of p.series) if (s.values.some(Number.isFinite) && !legend.has(s.label)) legend.set(s.label, s);
  let lx = width - MARGIN.right - 120 * legend.size;
  for (const s of legend.values()) {
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    parts.push(`<line x1="${lx}" x2="${lx + 24}" y1="15" y2="15" stroke="${s.color}" stroke-width="2"${dash}/>`);
    parts.push(`<text x="${lx + 30}" y="19" font-size="12">${escapeXml(s.label)}</text>`);
    lx += 120;
  }
  parts.push(`<g transform="translate(0,${top})">`);
  panels.forEach((p, i) => {
    parts.push(panelSvg(p, epochs, i * WIDTH));
  });
  parts.push('</g>', '</svg>', '');
  return parts.join('\n');
}

const TRAIN_COLOR = '#1f77b4';
const VAL_COLOR = '#d62728';

/** The learning curves of a history: loss and accuracy per epoch (epochs shown from 1). */
export function curvesSvg(history: History, title?: string): string {
  const epochs = history.epoch.map((e) => e + 1);
  const series = (key: string) => (history.has(key) ? history.get(key) : []);
  const panels: Panel[] = [
    {
      title: 'Loss',
      series: [
        { label: 'train', values: series('loss'), color: TRAIN_COLOR },
        { label: 'validation', values: series('valLoss'), color: VAL_COLOR, dashed: true },
      ],
      format: (v) => String(Number(v.toPrecision(3))),
    },
    {
      title: 'Accuracy',
      series: [
        { label: 'train', values: series('accuracy'), color: TRAIN_COLOR },
        { label: 'validation', values: series('valAccuracy'), color: VAL_COLOR, dashed: true },
      ],
      format: (v) => `${Number((100 * v).toPrecision(4))}%`,
    },
  ];
  return renderPanels(panels, epochs, title);
}
