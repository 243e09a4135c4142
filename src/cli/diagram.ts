// Network diagrams as SVG. Fully connected networks are drawn as the notes
// draw them: a column of units per layer and an edge for every weight (a wide
// layer shows its first and last units around an ellipsis). Any other network
// is drawn as a stack of boxes, one per layer, with its output shape and
// parameter count.
import { nn } from '../index.js';
import { escapeXml } from './plot.js';

export type DiagramStyle = 'auto' | 'units' | 'boxes';

interface Row {
  name: string;
  module: nn.Module;
  className: string;
  outputShape: string;
  params: number;
}

function rowsOf(model: nn.Module, input: readonly number[]): Row[] {
  const byName = new Map(model.namedModules());
  return nn.summary(model, input).rows.map((r) => {
    const module = byName.get(r.name.replace(/ \(call \d+\)$/, '')) as nn.Module;
    return { name: r.name, module, className: r.className, outputShape: r.outputShape, params: r.params };
  });
}

const PASSIVE = new Set(['Dropout', 'AlphaDropout', 'Identity', 'Flatten']);

/** A column of units: its size and what computes it. */
interface UnitColumn {
  units: number;
  title: string;
  activation?: string;
}

/** The columns of a fully connected network, or null when the model has other kinds of layers. */
function unitColumns(rows: readonly Row[], input: readonly number[]): UnitColumn[] | null {
  const size = input.reduce((a, b) => a * b, 1);
  const columns: UnitColumn[] = [{ units: size, title: 'input' }];
  let sawLinear = false;
  for (const r of rows) {
    if (r.module instanceof nn.Linear) {
      columns.push({ units: r.module.outFeatures, title: '' });
      sawLinear = true;
    } else if (r.module instanceof nn.Activation) {
      if (columns.length === 1) return null;
      const last = columns[columns.length - 1];
      last.activation = last.activation ? `${last.activation} · ${r.className}` : r.className;
    } else if (!PASSIVE.has(r.className)) return null;
  }
  if (!sawLinear) return null;
  columns.forEach((c, i) => {
    if (i > 0) c.title = i === columns.length - 1 ? 'output' : `hidden ${i}`;
  });
  return columns;
}

const SHOWN_UNITS = 12;

/** The units drawn for a column: all of them, or the first and last few around a gap (null marks the ellipsis). */
function visibleUnits(n: number): (number | null)[] {
  if (n <= SHOWN_UNITS) return Array.from({ length: n }, (_, i) => i);
  const half = (SHOWN_UNITS - 2) / 2;
  return [...Array.from({ length: half }, (_, i) => i), null, ...Array.from({ length: half }, (_, i) => n - half + i)];
}

function unitsSvg(title: string, columns: UnitColumn[], params: number): string {
  const gapX = 170;
  const gapY = 34;
  const radius = 11;
  const top = 104;
  const tallest = Math.max(...columns.map((c) => visibleUnits(c.units).length));
  const width = 80 + gapX * (columns.length - 1) + 80;
  const height = top + tallest * gapY + 10;
  const centre = top + ((tallest - 1) * gapY) / 2;
  const positions = columns.map((c, k) => {
    const shown = visibleUnits(c.units);
    const x = 80 + k * gapX;
    return shown.map((unit, i) => ({ unit, x, y: centre + (i - (shown.length - 1) / 2) * gapY }));
  });
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${width / 2}" y="44" text-anchor="middle" font-size="12" fill="#555">units per layer: ${columns.map((c) => c.units).join(', ')} · ${params.toLocaleString('en-US')} parameters</text>`,
  ];
  // Edges first, so units are drawn over them; one edge per weight between visible units.
  for (let k = 1; k < positions.length; k++) {
    for (const a of positions[k - 1]) {
      if (a.unit === null) continue;
      for (const b of positions[k]) {
        if (b.unit === null) continue;
        out.push(
          `<line x1="${a.x + radius}" y1="${a.y.toFixed(1)}" x2="${b.x - radius}" y2="${b.y.toFixed(1)}" stroke="#9aa5b1" stroke-width="0.8" stroke-opacity="0.7"/>`,
        );
      }
    }
  }
  const fills = ['#cfe3f7', '#fde2c4', '#d5efd0'];
  positions.forEach((column, k) => {
    const fill = k === 0 ? fills[0] : k === positions.length - 1 ? fills[2] : fills[1];
    for (const p of column) {
      if (p.unit === null) out.push(`<text x="${p.x}" y="${(p.y + 6).toFixed(1)}" text-anchor="middle" font-size="20" fill="#555">⋮</text>`);
      else out.push(`<circle cx="${p.x}" cy="${p.y.toFixed(1)}" r="${radius}" fill="${fill}" stroke="#333" stroke-width="1.2"/>`);
    }
    const c = columns[k];
    const x = 80 + k * gapX;
    out.push(`<text x="${x}" y="${top - 30}" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(c.title)}</text>`);
    out.push(
      `<text x="${x}" y="${top - 14}" text-anchor="middle" font-size="11" fill="#555">${c.units} unit${c.units === 1 ? '' : 's'}${c.activation ? `, ${escapeXml(c.activation)}` : ''}</text>`,
    );
  });
  out.push('</svg>', '');
  return out.join('\n');
}

const KIND_COLORS: [RegExp, string][] = [
  [/^(Conv|ConvTranspose|LocallyConnected)/, '#cfe3f7'],
  [/Pool|Unpool/, '#d5efd0'],
  [/^(Linear|RBF|Embedding)$/, '#fde2c4'],
  [/Norm/, '#e6dcf5'],
  [/^(LSTM|GRU|RNN)/, '#f7d4dc'],
];

function boxColor(className: string, module: nn.Module): string {
  if (module instanceof nn.Activation) return '#eeeeee';
  return KIND_COLORS.find(([re]) => re.test(className))?.[1] ?? '#f6f6f6';
}

const times = (v: number | number[]) => (Array.isArray(v) ? v.join('×') : `${v}×${v}`);
const same = (v: number | number[], n: number) => (Array.isArray(v) ? v.every((d) => d === n) : v === n);
/** 2 for [2, 2], '1×2' for [1, 2]. */
const amount = (v: number | number[]) => (Array.isArray(v) ? (v.every((d) => d === v[0]) ? String(v[0]) : v.join('×')) : String(v));

/** A short description of a layer for its box: 'Conv2d 5×5, 6 filters, padding 2', 'Linear 400 → 120'. */
export function describeLayer(m: nn.Module): string {
  if (m instanceof nn.Linear) return `Linear ${m.inFeatures} → ${m.outFeatures}`;
  if (m instanceof nn.Conv2d || m instanceof nn.Conv1d || m instanceof nn.ConvTranspose2d || m instanceof nn.ConvTranspose1d) {
    const parts = [`${m.className} ${times(m.kernelSize)}`, `${m.inChannels} → ${m.outChannels} channels`];
    if (!same(m.stride, 1)) parts.push(`stride ${amount(m.stride)}`);
    const padding = (m as { padding?: unknown }).padding;
    if (typeof padding === 'string') parts.push(`padding ${padding}`);
    else if (padding !== undefined && !same(padding as number | number[], 0)) parts.push(`padding ${amount(padding as number | number[])}`);
    return parts.join(', ');
  }
  const config = m.getConfig();
  if (/Pool\d?d$/.test(m.className) && config.kernelSize !== undefined) {
    const stride = config.stride as number | number[] | null;
    const kernel = config.kernelSize as number | number[];
    const strided = stride !== null && stride !== undefined && JSON.stringify(stride) !== JSON.stringify(kernel);
    return `${m.className} ${times(kernel)}${strided ? `, stride ${amount(stride)}` : ''}`;
  }
  if (m instanceof nn.Activation || m.className === 'Flatten') return m.className;
  const repr = m.extraRepr();
  const text = `${m.className}${repr ? ` ${repr}` : ''}`;
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function boxesSvg(title: string, rows: readonly Row[], input: readonly number[], params: number): string {
  const boxW = 420;
  const boxH = 44;
  const gap = 22;
  const left = 40;
  const top = 62;
  const items = [{ label: 'Input', detail: `[N, ${input.join(', ')}]`, color: '#ffffff' }].concat(
    rows.map((r) => {
      return {
        label: describeLayer(r.module),
        detail: `${r.outputShape}${r.params > 0 ? ` · ${r.params.toLocaleString('en-US')} params` : ''}`,
        color: boxColor(r.className, r.module),
      };
    }),
  );
  const width = boxW + 2 * left;
  const height = top + items.length * (boxH + gap) + 10;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${width / 2}" y="44" text-anchor="middle" font-size="12" fill="#555">${rows.length} layers · ${params.toLocaleString('en-US')} parameters</text>`,
  ];
  items.forEach((item, i) => {
    const y = top + i * (boxH + gap);
    if (i > 0)
      out.push(`<line x1="${width / 2}" y1="${y - gap + 2}" x2="${width / 2}" y2="${y - 2}" stroke="#555" stroke-width="1.5" marker-end="url(#arrow)"/>`);
    out.push(`<rect x="${left}" y="${y}" width="${boxW}" height="${boxH}" rx="6" fill="${item.color}" stroke="#333"/>`);
    out.push(`<text x="${width / 2}" y="${y + 18}" text-anchor="middle" font-size="13">${escapeXml(item.label)}</text>`);
    out.push(`<text x="${width / 2}" y="${y + 35}" text-anchor="middle" font-size="11" fill="#444">${escapeXml(item.detail)}</text>`);
  });
  out.push('</svg>', '');
  return out.join('\n');
}

interface GraphRef {
  input?: number;
  node?: number;
  output?: number;
}
interface GraphConfig {
  inputs: { name: string; shape: number[] }[];
  layers: { name: string; className: string }[];
  nodes: { layer: string; inputs: GraphRef[] }[];
  outputs: GraphRef | GraphRef[];
}

/**
 * A functional graph model (nn.Model) as boxes placed by depth: each node one
 * row below the deepest node it reads, nodes of one depth side by side, and an
 * arrow for every connection, so residual shortcuts and inception branches
 * show as the branches they are.
 */
function graphSvg(title: string, model: nn.Model, rows: readonly Row[], params: number): string {
  const config = model.getConfig() as unknown as GraphConfig;
  const shapes = new Map(rows.map((r) => [r.name.replace(/ \(call \d+\)$/, ''), r.outputShape]));
  const classOf = new Map(config.layers.map((l) => [l.name, l.className]));
  // Boxes: the inputs first, then the nodes in the model's (topological) order.
  type Box = { label: string; detail: string; color: string; level: number; sources: number[] };
  const boxes: Box[] = config.inputs.map((inp) => ({ label: inp.name, detail: `[N, ${inp.shape.join(', ')}]`, color: '#ffffff', level: 0, sources: [] }));
  const boxOfRef = (ref: GraphRef) => (ref.input !== undefined ? ref.input : config.inputs.length + (ref.node as number));
  for (const node of config.nodes) {
    const sources = node.inputs.map(boxOfRef);
    const module = model.getLayer(node.layer);
    boxes.push({
      label: `${node.layer} (${classOf.get(node.layer) ?? '?'})`,
      detail: shapes.get(node.layer) ?? '',
      color: boxColor(classOf.get(node.layer) ?? '', module),
      level: 1 + Math.max(0, ...sources.map((i) => boxes[i].level)),
      sources,
    });
  }
  const levels = Math.max(...boxes.map((b) => b.level)) + 1;
  const perLevel = Array.from({ length: levels }, (_, l) =>
    boxes
      .map((b, i) => [b, i] as const)
      .filter(([b]) => b.level === l)
      .map(([, i]) => i),
  );
  const boxW = 190;
  const boxH = 44;
  const gapX = 24;
  const gapY = 34;
  const top = 62;
  const widest = Math.max(...perLevel.map((l) => l.length));
  const width = Math.max(460, widest * (boxW + gapX) + gapX);
  const height = top + levels * (boxH + gapY) + 10;
  const position = new Map<number, { x: number; y: number }>();
  perLevel.forEach((indices, level) => {
    const rowWidth = indices.length * boxW + (indices.length - 1) * gapX;
    indices.forEach((i, k) => {
      position.set(i, { x: (width - rowWidth) / 2 + k * (boxW + gapX), y: top + level * (boxH + gapY) });
    });
  });
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${width / 2}" y="44" text-anchor="middle" font-size="12" fill="#555">${config.nodes.length} layers · ${params.toLocaleString('en-US')} parameters</text>`,
  ];
  boxes.forEach((b, i) => {
    const to = position.get(i) as { x: number; y: number };
    for (const source of b.sources) {
      const from = position.get(source) as { x: number; y: number };
      out.push(
        `<path class="edge" d="M${(from.x + boxW / 2).toFixed(1)},${from.y + boxH} C${(from.x + boxW / 2).toFixed(1)},${from.y + boxH + gapY / 2} ${(to.x + boxW / 2).toFixed(1)},${to.y - gapY / 2} ${(to.x + boxW / 2).toFixed(1)},${to.y - 2}" fill="none" stroke="#555" stroke-width="1.5" marker-end="url(#arrow)"/>`,
      );
    }
  });
  boxes.forEach((b, i) => {
    const { x, y } = position.get(i) as { x: number; y: number };
    out.push(`<rect x="${x.toFixed(1)}" y="${y}" width="${boxW}" height="${boxH}" rx="6" fill="${b.color}" stroke="#333"/>`);
    out.push(`<text x="${(x + boxW / 2).toFixed(1)}" y="${y + 18}" text-anchor="middle" font-size="12">${escapeXml(b.label)}</text>`);
    out.push(`<text x="${(x + boxW / 2).toFixed(1)}" y="${y + 35}" text-anchor="middle" font-size="11" fill="#444">${escapeXml(b.detail)}</text>`);
  });
  out.push('</svg>', '');
  return out.join('\n');
}

/**
 * The SVG diagram of a model for samples of shape `input`. 'auto' draws units
 * and connections for fully connected networks, the branches of a functional
 * graph model, and boxes for anything else.
 */
export function diagramSvg(model: nn.Module, input: readonly number[], title: string, style: DiagramStyle = 'auto'): { svg: string; style: 'units' | 'boxes' } {
  const rows = rowsOf(model, input);
  if (model instanceof nn.Model && style !== 'units') return { svg: graphSvg(title, model, rows, model.countParameters()), style: 'boxes' };
  const params = model.countParameters();
  const columns = style === 'boxes' ? null : unitColumns(rows, input);
  if (columns) return { svg: unitsSvg(title, columns, params), style: 'units' };
  return { svg: boxesSvg(title, rows, input, params), style: 'boxes' };
}

/** Whether the units style can draw this model (it has only dense layers and activations). */
export function canDrawUnits(model: nn.Module, input: readonly number[]): boolean {
  return unitColumns(rowsOf(model, input), input) !== null;
}
