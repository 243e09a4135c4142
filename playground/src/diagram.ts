// The lecture-style network diagram (seed 000's drawings): circle units, a
// "+1" bias unit feeding each layer, every weight written on its link, and
// each layer's equation y = f(Wx + b) under it. One SVG element serves the
// page and the "Export SVG" download, so what you see is what you save.
import { cssColor } from './render.js';

export interface DiagramInput {
  /** Names of the input units, in order (x₁, x₂, x₁², a custom expression…). */
  inputs: string[];
  /** weights[l][out][in] and biases[l][out]: hidden layers, then the output layer. */
  weights: number[][][];
  biases: number[][];
  /** The activation of each hidden layer, then the output's (identity, tanh, σ, softmax). */
  activations: string[];
}

const NS = 'http://www.w3.org/2000/svg';
const R = 17;
const COL = 170;
const ROW = 52;
const TOP = 70;
const LEFT = 60;
/** Above this many links the weight labels would overlap: they move into each link's tooltip. */
export const MAX_LABELLED_LINKS = 48;

const SUB = '₀₁₂₃₄₅₆₇₈₉';
const SUP = '⁰¹²³⁴⁵⁶⁷⁸⁹';
const digits = (n: number, set: string) =>
  String(n)
    .split('')
    .map((d) => set[Number(d)])
    .join('');

function node<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** The unit's name in the notes' notation: x₁ for inputs, h¹₂ for hidden units, ŷ for outputs. */
function unitName(layer: number, unit: number, layers: number, outputs: number, inputs: string[]): string {
  if (layer === 0) return inputs[unit];
  if (layer === layers) return outputs === 1 ? 'ŷ' : `ŷ${digits(unit + 1, SUB)}`;
  return `h${digits(layer, SUP)}${digits(unit + 1, SUB)}`;
}

export function lectureDiagram(d: DiagramInput): SVGSVGElement {
  const layers = d.weights.length;
  const sizes = [d.inputs.length, ...d.weights.map((w) => w.length)];
  const tallest = Math.max(...sizes) + 1; // + the bias unit
  const width = LEFT * 2 + layers * COL;
  const height = TOP + tallest * ROW + 40 + (layers + 1) * 18;
  const svg = node('svg', {
    xmlns: NS,
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    class: 'lecture',
    role: 'img',
    'font-family': 'sans-serif',
    'font-size': 12,
  });
  svg.append(node('title', {}, 'The network as in the lecture notes: units, bias units, weights and layer equations'));
  svg.append(node('rect', { x: 0, y: 0, width, height, fill: '#fff' }));
  const x = (l: number) => LEFT + l * COL;
  // Row 0 is the bias unit; units start on row 1.
  const y = (row: number) => TOP + row * ROW;
  const links = d.weights.reduce((t, w) => t + w.length * (w[0]?.length ?? 0), 0);
  const labelled = links <= MAX_LABELLED_LINKS;

  const edges = node('g', { class: 'edges' });
  const labels = node('g', { class: 'weights' });
  const units = node('g', { class: 'units' });
  svg.append(edges, labels, units);
  // t: where along the link its weight is written.
  const edge = (x1: number, y1: number, x2: number, y2: number, w: number, text: string, t: number) => {
    const line = node('line', {
      x1: x1 + R,
      y1,
      x2: x2 - R,
      y2,
      stroke: cssColor(Math.max(-1, Math.min(1, w))),
      'stroke-width': (0.8 + 3 * Math.min(1, Math.abs(w) / 3)).toFixed(2),
      class: 'edge',
    });
    line.append(node('title', {}, text));
    edges.append(line);
    if (labelled) {
      const lx = x1 + R + (x2 - R - x1 - R) * t;
      const ly = y1 + (y2 - y1) * t;
      labels.append(
        node(
          'text',
          { x: lx.toFixed(1), y: (ly - 3).toFixed(1), 'text-anchor': 'middle', class: 'w', stroke: '#fff', 'stroke-width': 3, 'paint-order': 'stroke' },
          w.toFixed(2),
        ),
      );
    }
  };

  for (let l = 0; l < layers; l++) {
    const w = d.weights[l];
    const b = d.biases[l];
    for (let o = 0; o < w.length; o++) {
      const to = unitName(l + 1, o, layers, sizes[layers], d.inputs);
      // Links bunch up at whichever end has fewer units: the fan out of a source, or the fan into a
      // target. Writing each weight at a distance set by its place in the larger side keeps a fan's
      // labels apart. The bias counts as source 0.
      const ins = w[o].length + 1;
      const at = (i: number) => (w.length >= ins ? 0.22 + (0.56 * o) / Math.max(1, w.length - 1) : 0.2 + (0.6 * i) / Math.max(1, ins - 1));
      for (let i = 0; i < w[o].length; i++)
        edge(
          x(l),
          y(i + 1),
          x(l + 1),
          y(o + 1),
          w[o][i],
          `${unitName(l, i, layers, sizes[layers], d.inputs)} → ${to}: w = ${w[o][i].toPrecision(3)}`,
          at(i + 1),
        );
      edge(x(l), y(0), x(l + 1), y(o + 1), b[o], `+1 → ${to}: b = ${b[o].toPrecision(3)}`, at(0));
    }
  }
  for (let l = 0; l <= layers; l++) {
    if (l < layers) {
      const g = node('g', { class: 'bias-unit' });
      g.append(
        node('circle', { cx: x(l), cy: y(0), r: R, fill: '#f4f4f4', stroke: '#666', 'stroke-dasharray': '3 2' }),
        node('text', { x: x(l), y: y(0) + 4, 'text-anchor': 'middle' }, '+1'),
      );
      units.append(g);
    }
    for (let u = 0; u < sizes[l]; u++) {
      const name = unitName(l, u, layers, sizes[layers], d.inputs);
      const g = node('g', { class: 'unit' });
      g.append(node('circle', { cx: x(l), cy: y(u + 1), r: R, fill: '#fff', stroke: '#183d4e', 'stroke-width': 1.5 }));
      // A long input name (a custom expression) sits to the left of its circle.
      if (l === 0 && name.length > 4) g.append(node('text', { x: x(l) - R - 4, y: y(u + 1) + 4, 'text-anchor': 'end', 'font-family': 'monospace' }, name));
      else g.append(node('text', { x: x(l), y: y(u + 1) + 4, 'text-anchor': 'middle' }, name));
      units.append(g);
    }
    const head = l === 0 ? 'input' : l === layers ? 'output' : `hidden layer ${l}`;
    units.append(node('text', { x: x(l), y: 24, 'text-anchor': 'middle', 'font-weight': 'bold' }, head));
    if (l > 0) units.append(node('text', { x: x(l), y: 42, 'text-anchor': 'middle', fill: '#555' }, `f = ${d.activations[l - 1]}`));
  }
  // The layer equations, in the notes' matrix form.
  const eqTop = TOP + tallest * ROW + 10;
  const eq = node('g', { class: 'equations', 'font-family': 'serif', 'font-size': 14 });
  for (let l = 1; l <= layers; l++) {
    const out = l === layers ? 'ŷ' : `h${digits(l, SUP)}`;
    const inp = l === 1 ? 'x' : `h${digits(l - 1, SUP)}`;
    const [rows, cols] = [sizes[l], sizes[l - 1]];
    eq.append(
      node(
        'text',
        { x: LEFT - 20, y: eqTop + l * 18, class: 'eq' },
        `${out} = ${d.activations[l - 1]}(W${digits(l, SUP)}${inp} + b${digits(l, SUP)}),  W${digits(l, SUP)} is ${rows}×${cols}, b${digits(l, SUP)} has ${rows}`,
      ),
    );
  }
  svg.append(eq);
  return svg;
}

/** The diagram as a standalone SVG file's text. */
export function svgText(svg: SVGSVGElement): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(svg)}\n`;
}
