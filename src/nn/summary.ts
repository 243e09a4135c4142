/**
 * summary(): the layer table of a model, Keras' model.summary() / torchinfo.
 * Shapes are found by running one batch of zeros through the model, in eval
 * mode and without recording gradients, while every sub-module's forward is
 * temporarily wrapped to note what it returns. That works for any module,
 * Sequential, functional Model or hand-written, as long as it calls its
 * children's forward (or call).
 */
import type { DType } from '../core/dtype.js';
import { noGrad } from '../core/engine.js';
import { ValueError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import { zeros } from '../ops/index.js';
// Types only: module.ts imports this file for Module.summary().
import type { Module } from './module.js';
import type { Parameter } from './parameter.js';

/** Options of Module.summary(). */
export interface SummaryOptions {
  /** Batch size of the probe batch (default 1); its axis is printed as N. */
  batchSize?: number;
  /** Dtype of each input (default float32; int32 for an Embedding input). */
  dtypes?: DType | readonly DType[];
}

/** One layer's line in a summary. */
export interface SummaryRow {
  /** Dotted name in the model ('0', 'encoder.linear_1'); a second call of a shared layer gets ' (call 2)'. */
  name: string;
  /** The layer's class. */
  className: string;
  /** Output shape(s), batch axis as N: '[N, 100]'; '(not called)' if forward never ran it. */
  outputShape: string;
  /** Parameters owned by this layer itself (a shared parameter is counted at its first appearance only). */
  params: number;
  /** Of which trainable (requiresGrad). */
  trainableParams: number;
}

/** The result of summary(): rows and totals, printed as a table by toString(). */
export class ModelSummary {
  constructor(
    /** The model's class and name, the table's title. */
    readonly modelLabel: string,
    /** One row per layer call, in execution order. */
    readonly rows: readonly SummaryRow[],
    /** Every scalar weight in the model. */
    readonly totalParams: number,
    /** The weights that require gradients. */
    readonly trainableParams: number,
  ) {}

  /** Parameters excluded from training (frozen with freeze() or requiresGrad = false). Buffers are not parameters. */
  get nonTrainableParams(): number {
    return this.totalParams - this.trainableParams;
  }

  /** The table as text, Keras style, with totals. */
  toString(): string {
    const fmt = (n: number) => n.toLocaleString('en-US');
    const header = ['Layer (type)', 'Output shape', 'Param #'];
    const cells = this.rows.map((r) => [`${r.name} (${r.className})`, r.outputShape, fmt(r.params)]);
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
    const line = (c: string[]) => `${c[0].padEnd(widths[0])}   ${c[1].padEnd(widths[1])}   ${c[2].padStart(widths[2])}`;
    const total = widths[0] + widths[1] + widths[2] + 6;
    return [
      `Model: ${this.modelLabel}`,
      '='.repeat(total),
      line(header),
      '-'.repeat(total),
      ...cells.map(line),
      '='.repeat(total),
      `Total params: ${fmt(this.totalParams)}`,
      `Trainable params: ${fmt(this.trainableParams)}`,
      `Non-trainable params: ${fmt(this.nonTrainableParams)}`,
    ].join('\n');
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

function normalizeShapes(inputShape: readonly number[] | readonly (readonly number[])[]): number[][] {
  if (!Array.isArray(inputShape)) throw new ValueError(`summary: inputShape must be a shape like [784] or a list of shapes, got ${JSON.stringify(inputShape)}`);
  const shapes = inputShape.length > 0 && Array.isArray(inputShape[0]) ? (inputShape as number[][]) : [inputShape as number[]];
  for (const s of shapes) {
    if (!Array.isArray(s) || s.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new ValueError(`summary: input shapes are arrays of non-negative integers for one sample (no batch axis), got ${JSON.stringify(s)}`);
    }
  }
  return shapes;
}

/**
 * An output's shape with the batch axis written N. The model runs on two
 * batch sizes, and the axes whose size changed between them are the batch
 * axes, wherever they are: an LSTM's state [layers, N, hidden] keeps its
 * layers axis even when it happens to equal the probe's batch size.
 */
function describe(out: unknown, other: unknown): string {
  if (out instanceof Tensor) {
    const alt = other instanceof Tensor && other.ndim === out.ndim ? other.shape : out.shape;
    return `[${out.shape.map((d, i) => (d !== alt[i] ? 'N' : String(d))).join(', ')}]`;
  }
  if (Array.isArray(out)) return out.map((o, i) => describe(o, Array.isArray(other) ? other[i] : undefined)).join(', ');
  return '?';
}

/**
 * The layer table of `model` for inputs of per-sample shape `inputShape`
 * (several inputs: a list of shapes). Rows list the layers that hold
 * parameters or have no sub-modules, in call order, with their output shapes
 * and own parameter counts; totals count every parameter once, trainable or
 * not. The notes' quiz: d = 10 inputs, 100 hidden units and 1 output give
 * 10·100 + 100 + 100·1 + 1 = 1201 parameters.
 */
export function summary(model: Module, inputShape: readonly number[] | readonly (readonly number[])[], options: SummaryOptions = {}): ModelSummary {
  const shapes = normalizeShapes(inputShape);
  const batch = options.batchSize ?? 1;
  if (!Number.isInteger(batch) || batch < 1) throw new ValueError(`summary: batchSize must be a positive integer, got ${batch}`);
  const dtypes = shapes.map((_, i) => (Array.isArray(options.dtypes) ? options.dtypes[i] : options.dtypes) ?? 'float32') as DType[];

  const names = new Map<Module, string>();
  for (const [name, m] of model.namedModules()) if (!names.has(m)) names.set(m, name || '(model)');
  // Leaves and modules with weights of their own get a row; pure containers do not (their children do).
  const shown = (m: Module) => m.children().length === 0 || [...m.ownParameters()].length > 0;

  type Call = { module: Module; output?: unknown };
  const calls: Call[] = [];
  const patched: [Module, PropertyDescriptor | undefined][] = [];
  for (const m of names.keys()) {
    if (!shown(m)) continue;
    const own = Object.getOwnPropertyDescriptor(m, 'forward');
    const original = m.forward;
    patched.push([m, own]);
    Object.defineProperty(m, 'forward', {
      configurable: true,
      writable: true,
      value: (...args: unknown[]) => {
        const call: Call = { module: m };
        calls.push(call);
        call.output = original.apply(m, args);
        return call.output;
      },
    });
  }
  const modes = model.modules().map((m) => [m, m.training] as const);
  // A second, larger probe: the axes whose size follows the batch are the ones shown as N.
  let probe: unknown[] = [];
  try {
    model.eval();
    noGrad(() => model.forward(...shapes.map((s, i) => zeros([batch + 1, ...s], { dtype: dtypes[i] }))));
    probe = calls.splice(0).map((c) => c.output);
    noGrad(() => model.forward(...shapes.map((s, i) => zeros([batch, ...s], { dtype: dtypes[i] }))));
  } finally {
    for (const [m, own] of patched) {
      if (own) Object.defineProperty(m, 'forward', own);
      else delete (m as unknown as Record<string, unknown>).forward;
    }
    for (const [m, mode] of modes) m.training = mode;
  }

  const counted = new Set<Parameter>();
  const count = (m: Module) => {
    let params = 0;
    let trainable = 0;
    for (const [, p] of m.ownParameters()) {
      if (counted.has(p)) continue;
      counted.add(p);
      params += p.size;
      if (p.requiresGrad) trainable += p.size;
    }
    return { params, trainableParams: trainable };
  };
  const callCount = new Map<Module, number>();
  const rows: SummaryRow[] = calls.map(({ module, output }, index) => {
    const k = (callCount.get(module) ?? 0) + 1;
    callCount.set(module, k);
    const name = (names.get(module) as string) + (k > 1 ? ` (call ${k})` : '');
    return { name, className: module.className, outputShape: describe(output, probe[index]), ...count(module) };
  });
  for (const m of names.keys()) {
    if (shown(m) && !callCount.has(m)) rows.push({ name: names.get(m) as string, className: m.className, outputShape: '(not called)', ...count(m) });
  }
  const params = model.parameters();
  const total = params.reduce((s, p) => s + p.size, 0);
  const trainable = params.reduce((s, p) => s + (p.requiresGrad ? p.size : 0), 0);
  return new ModelSummary(model.label, rows, total, trainable);
}
