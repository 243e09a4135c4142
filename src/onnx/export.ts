// Export to ONNX (opset 17): a Sequential, a graph Model, or a network with a
// graph() method (ResNet, GoogLeNet) becomes an ONNX graph whose initializers
// carry the model's state-dict names and layouts, with a symbolic batch
// dimension. Each layer class maps to ONNX operators in one table entry; a
// layer without an entry is an OnnxError naming it and saying why.
import type { DType } from '../core/dtype.js';
import { noGrad } from '../core/engine.js';
import type { Tensor } from '../core/tensor.js';
import { VERSION } from '../core/version.js';
import * as nn from '../nn/index.js';
import { zeros } from '../ops/index.js';
import {
  type AttributeProto,
  encodeModel,
  type FunctionProto,
  GLOBAL_POOL_NOTE,
  type GraphProto,
  NEURITE_DOMAIN,
  type NodeProto,
  ONNX_DTYPE,
  OnnxError,
  type TensorProto,
  type ValueInfoProto,
} from './proto.js';

/** The ONNX operator set the export targets. */
export const ONNX_OPSET = 17;
/** ONNX IR version 8 goes with opset 17. */
const IR_VERSION = 8;

/** Options of {@link toOnnx}. */
export interface OnnxExportOptions {
  /**
   * The shape of one sample of each input, without the batch axis ([1, 28, 28]);
   * a graph Model knows its own, a Sequential needs it.
   */
  inputShape?: readonly number[] | readonly (readonly number[])[];
  /** The input dtype when the model does not say (default: int32 before an Embedding, else the dtype of its first parameter, else float32). */
  inputDType?: 'float32' | 'float64' | 'int32';
  /** The graph's name (default: the model's name or class). */
  name?: string;
  /** A description stored in the file. */
  docString?: string;
  /** Key-value metadata stored in the file (ModelProto.metadata_props); the CLI keeps a run's data settings here. */
  metadata?: Record<string, string>;
}

/** A value flowing through the exported graph: its ONNX name and per-sample shape. */
interface Value {
  name: string;
  shape: number[];
  dtype: DType;
  /** After a recurrent layer: its final hidden state [batch, directions·H], which RecurrentOutput('final') picks. */
  final?: Value;
}

type Attr = number | number[] | string | { floats: number[] } | { float: number } | { strings: string[] } | { tensor: TensorProto };

/** Collects the nodes and initializers of the graph under construction. */
class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  /** The model-local functions (one per composite layer configuration), shared by the graph and its function bodies. */
  readonly functions: Map<string, FunctionProto>;
  private readonly used = new Set<string>();
  private counter = 0;

  constructor(
    readonly paths: Map<nn.Module, string>,
    functions?: Map<string, FunctionProto>,
  ) {
    this.functions = functions ?? new Map();
  }

  fresh(base: string): string {
    let name = base;
    while (this.used.has(name)) name = `${base}_${++this.counter}`;
    this.used.add(name);
    return name;
  }

  /** A parameter or buffer of `layer` as an initializer named by its state-dict path. */
  param(layer: nn.Module, key: string, t: Tensor): string {
    const path = this.paths.get(layer);
    const name = this.fresh(path ? `${path}.${key}` : key);
    this.initializers.push(tensorProto(name, t.shape, t.dtype, t.data));
    return name;
  }

  /** A constant (an initializer with a fresh name). */
  constant(base: string, shape: number[], dtype: 'float32' | 'float64' | 'int64', values: ArrayLike<number>): string {
    const name = this.fresh(base);
    this.initializers.push(tensorProto(name, shape, dtype, values));
    return name;
  }

  scalar(value: number, dtype: DType): string {
    return this.constant('const', [], dtype === 'float64' ? 'float64' : 'float32', [value]);
  }

  node(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, base = opType.toLowerCase()): string {
    return this.nodeWithOutputs(opType, inputs, attrs, 1, base)[0];
  }

  nodeWithOutputs(opType: string, inputs: string[], attrs: Record<string, Attr>, outputs: number, base = opType.toLowerCase()): string[] {
    const names = Array.from({ length: outputs }, (_, i) => this.fresh(i === 0 ? base : `${base}_${i}`));
    this.nodes.push({
      opType,
      input: inputs,
      output: names,
      name: this.fresh(`${base}_node`),
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return names;
  }
}

/**
 * Builds the body of a model-local function: constants become Constant
 * nodes (a function has no initializers) and parameters become the
 * function's extra inputs, bound at the call to the graph's initializers.
 */
class FunctionBuilder extends GraphBuilder {
  /** The call's extra inputs: the graph initializer each formal parameter is bound to. */
  readonly bound: { formal: string; actual: string; key: string }[] = [];

  constructor(private readonly graph: GraphBuilder) {
    super(graph.paths, graph.functions);
  }

  override param(layer: nn.Module, key: string, t: Tensor): string {
    const formal = this.fresh(key);
    this.bound.push({ formal, actual: this.graph.param(layer, key, t), key });
    return formal;
  }

  override constant(base: string, shape: number[], dtype: 'float32' | 'float64' | 'int64', values: ArrayLike<number>): string {
    return this.node('Constant', [], { value: { tensor: tensorProto('', shape, dtype, values) } }, base);
  }
}

function attribute(name: string, v: Attr): AttributeProto {
  if (typeof v === 'object' && !Array.isArray(v) && 'tensor' in v) return { name, type: 4, t: v.tensor };
  if (typeof v === 'string') return { name, type: 3, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: 7, ints: v };
  if (typeof v === 'number') return { name, type: 2, i: v };
  if ('float' in v) return { name, type: 1, f: v.float };
  if ('strings' in v) return { name, type: 8, strings: v.strings.map((x) => new TextEncoder().encode(x)) };
  return { name, type: 6, floats: v.floats };
}

function tensorProto(name: string, shape: readonly number[], dtype: DType | 'int64', values: ArrayLike<number>): TensorProto {
  const n = shape.reduce((a, b) => a * b, 1);
  let raw: Uint8Array;
  let dataType: number;
  if (dtype === 'float64') {
    raw = new Uint8Array(Float64Array.from({ length: n }, (_, i) => values[i]).buffer);
    dataType = ONNX_DTYPE.float64;
  } else if (dtype === 'int64') {
    raw = new Uint8Array(BigInt64Array.from({ length: n }, (_, i) => BigInt(values[i])).buffer);
    dataType = ONNX_DTYPE.int64;
  } else if (dtype === 'int32') {
    raw = new Uint8Array(Int32Array.from({ length: n }, (_, i) => values[i]).buffer);
    dataType = ONNX_DTYPE.int32;
  } else {
    raw = new Uint8Array(Float32Array.from({ length: n }, (_, i) => values[i]).buffer);
    dataType = ONNX_DTYPE.float32;
  }
  // Typed arrays are little-endian on every platform neurite runs on, which is what raw_data requires.
  return { name, dims: [...shape], dataType, rawData: raw };
}

function elemType(dtype: DType): number {
  if (dtype === 'float64') return ONNX_DTYPE.float64;
  if (dtype === 'int32') return ONNX_DTYPE.int32;
  if (dtype === 'bool') return ONNX_DTYPE.bool;
  return ONNX_DTYPE.float32;
}

function valueInfo(v: Value): ValueInfoProto {
  return {
    name: v.name,
    type: { tensorType: { elemType: elemType(v.dtype), shape: { dim: [{ dimParam: 'N' }, ...v.shape.map((d) => ({ dimValue: d }))] } } },
  };
}

/** The per-sample output shapes of a layer, from a zero batch of one sample (eval mode, no gradient). */
function outputsOf(layer: nn.Module, inputs: Value[]): Value[] {
  const out = noGrad(() => layer.forward(...inputs.map((v) => zeros([1, ...v.shape], { dtype: v.dtype }))));
  const list = (Array.isArray(out) ? out : [out]) as Tensor[];
  return list.map((t) => ({ name: '', shape: t.shape.slice(1), dtype: t.dtype }));
}

type Exporter = (layer: nn.Module, inputs: Value[], g: GraphBuilder, out: Value[]) => string[];

const pair = (v: number | number[]): number[] => (Array.isArray(v) ? v : [v]);

function unsupported(layer: nn.Module, why: string): never {
  throw new OnnxError(`ONNX export: ${layer.label} cannot be exported: ${why}`);
}

function convAttrs(layer: nn.Module, c: Record<string, unknown>, dims: number): Record<string, Attr> {
  if (c.paddingMode !== undefined && c.paddingMode !== 'zeros') unsupported(layer, `paddingMode '${c.paddingMode}' has no ONNX Conv equivalent (only zeros)`);
  const k = pair(c.kernelSize as number | number[]);
  const d = pair((c.dilation as number | number[]) ?? 1);
  const kernel = k.length === dims ? k : new Array(dims).fill(k[0]);
  const dilation = d.length === dims ? d : new Array(dims).fill(d[0]);
  let begin: number[];
  let end: number[];
  if (c.padding === 'same') {
    const total = kernel.map((kk, i) => dilation[i] * (kk - 1));
    begin = total.map((t) => Math.floor(t / 2));
    end = total.map((t, i) => t - begin[i]);
  } else if (c.padding === 'valid') {
    begin = new Array(dims).fill(0);
    end = begin;
  } else {
    const p = pair(c.padding as number | number[]);
    begin = p.length === dims ? p : new Array(dims).fill(p[0]);
    end = begin;
  }
  const s = pair((c.stride as number | number[]) ?? 1);
  return {
    kernel_shape: kernel,
    strides: s.length === dims ? s : new Array(dims).fill(s[0]),
    pads: [...begin, ...end],
    dilations: dilation,
    group: (c.groups as number) ?? 1,
  };
}

function conv(dims: number): Exporter {
  return (layer, [x], g) => {
    const l = layer as nn.Conv2d;
    const inputs = [x.name, g.param(layer, 'weight', l.weight)];
    if (l.bias) inputs.push(g.param(layer, 'bias', l.bias));
    return [g.node('Conv', inputs, convAttrs(layer, layer.getConfig(), dims), 'conv')];
  };
}

function convTranspose(dims: number): Exporter {
  return (layer, [x], g) => {
    const l = layer as nn.ConvTranspose2d;
    const c = layer.getConfig();
    const attrs = convAttrs(layer, { ...c, paddingMode: 'zeros' }, dims);
    const op = pair(c.outputPadding as number | number[]);
    attrs.output_padding = op.length === dims ? op : new Array(dims).fill(op[0]);
    const inputs = [x.name, g.param(layer, 'weight', l.weight)];
    if (l.bias) inputs.push(g.param(layer, 'bias', l.bias));
    return [g.node('ConvTranspose', inputs, attrs, 'convtranspose')];
  };
}

function pool(kind: 'MaxPool' | 'AveragePool', dims: number): Exporter {
  return (layer, [x], g) => {
    const c = layer.getConfig();
    if (c.divisorOverride !== undefined && c.divisorOverride !== null) unsupported(layer, 'divisorOverride has no ONNX AveragePool equivalent');
    const a = convAttrs(layer, { ...c, stride: c.stride ?? c.kernelSize, groups: 1 }, dims);
    const attrs: Record<string, Attr> = { kernel_shape: a.kernel_shape, strides: a.strides, pads: a.pads, ceil_mode: c.ceilMode ? 1 : 0 };
    if (kind === 'MaxPool') attrs.dilations = a.dilations;
    else attrs.count_include_pad = c.countIncludePad === false ? 0 : 1;
    return [g.node(kind, [x.name], attrs, kind.toLowerCase())];
  };
}

/** Adaptive pooling: global when the output is 1, an ordinary pooling window when the input divides evenly, else not expressible. */
function adaptive(kind: 'Max' | 'Average', dims: number): Exporter {
  return (layer, [x], g, [y]) => {
    const inSize = x.shape.slice(-dims);
    const outSize = y.shape.slice(-dims);
    if (outSize.every((o) => o === 1)) return [g.node(`Global${kind}Pool`, [x.name], {}, `global${kind.toLowerCase()}pool`)];
    if (inSize.some((s, i) => s % outSize[i] !== 0))
      unsupported(layer, `an input of ${inSize.join('×')} does not divide into ${outSize.join('×')} windows, which ONNX pooling cannot express`);
    const k = inSize.map((s, i) => s / outSize[i]);
    return [g.node(`${kind}Pool`, [x.name], { kernel_shape: k, strides: k }, `${kind.toLowerCase()}pool`)];
  };
}

function globalPool(kind: 'Max' | 'Average'): Exporter {
  return (layer, [x], g) => {
    const pooled = g.node(`Global${kind}Pool`, [x.name], {}, `global${kind.toLowerCase()}pool`);
    // ONNX's global pooling is also what AdaptiveAvgPool(1) exports to; the note lets neurite's import pick this layer back.
    (g.nodes.at(-1) as NodeProto).docString = GLOBAL_POOL_NOTE;
    return [layer.getConfig().keepDims ? pooled : g.node('Flatten', [pooled], { axis: 1 }, 'flatten')];
  };
}

function unary(op: string, attrs: (c: Record<string, unknown>) => Record<string, Attr> = () => ({})): Exporter {
  return (layer, [x], g) => [g.node(op, [x.name], attrs(layer.getConfig()), op.toLowerCase())];
}

function clip(lo: number, hi: number): Exporter {
  return (_, [x], g) => [g.node('Clip', [x.name, g.scalar(lo, x.dtype), g.scalar(hi, x.dtype)], {}, 'clip')];
}

const identity: Exporter = (_, [x], g) => [g.node('Identity', [x.name], {}, 'identity')];

/** A reshape that keeps the batch axis (0 copies it) and gives each sample `shape`. */
function reshapeTo(g: GraphBuilder, x: string, shape: number[]): string {
  return g.node('Reshape', [x, g.constant('shape', [shape.length + 1], 'int64', [0, ...shape])], {}, 'reshape');
}

/**
 * A locally connected layer as the equivalent ops: its input padded, one
 * strided Slice per kernel offset stacked into the unfolded patches
 * [N, C·K, P] (channel-major, as the layer's weight), then Einsum with the
 * per-position weight [P, out, C·K], and the per-position bias added.
 */
function locallyConnected(dims: number): Exporter {
  return (layer, [x], g, [y]) => {
    const c = layer.getConfig();
    const l = layer as nn.LocallyConnected2d;
    const list = (v: unknown) => (Array.isArray(v) ? (v as number[]) : new Array(dims).fill(v as number));
    const [k, s, p, d] = [list(c.kernelSize), list(c.stride), list(c.padding), list(c.dilation)];
    const out = y.shape.slice(1);
    const channels = c.inChannels as number;
    const spatial = Array.from({ length: dims }, (_, i) => i + 2);
    let padded = x.name;
    if (p.some((v) => v > 0))
      padded = g.node('Pad', [x.name, g.constant('pads', [2 * (dims + 2)], 'int64', [0, 0, ...p, 0, 0, ...p])], { mode: 'constant' }, 'pad');
    const offsets: number[][] =
      dims === 1 ? Array.from({ length: k[0] }, (_, i) => [i]) : Array.from({ length: k[0] * k[1] }, (_, i) => [Math.floor(i / k[1]), i % k[1]]);
    const slices = offsets.map((o) => {
      const starts = o.map((v, i) => v * d[i]);
      const ends = starts.map((v, i) => v + (out[i] - 1) * s[i] + 1);
      const slice = g.node(
        'Slice',
        [
          padded,
          g.constant('starts', [dims], 'int64', starts),
          g.constant('ends', [dims], 'int64', ends),
          g.constant('axes', [dims], 'int64', spatial),
          g.constant('steps', [dims], 'int64', s),
        ],
        {},
        'patch',
      );
      return g.node('Unsqueeze', [slice, g.constant('axes', [1], 'int64', [2])], {}, 'patch');
    });
    const kernel = offsets.length;
    const positions = out.reduce((a, b) => a * b, 1);
    const stacked = slices.length === 1 ? slices[0] : g.node('Concat', slices, { axis: 2 }, 'patches');
    const cols = g.node('Reshape', [stacked, g.constant('shape', [3], 'int64', [0, channels * kernel, positions])], {}, 'unfold');
    const weight = g.param(layer, 'weight', l.weight);
    let result = g.node('Einsum', [cols, weight], { equation: 'nkp,pok->nop' }, 'locally_connected');
    result = g.node('Reshape', [result, g.constant('shape', [dims + 2], 'int64', [0, c.outChannels as number, ...out])], {}, 'reshape');
    if (l.bias) result = g.node('Add', [result, g.param(layer, 'bias', l.bias)], {}, 'add');
    return [result];
  };
}

const EXPORTERS: Record<string, Exporter> = {
  LocallyConnected1d: locallyConnected(1),
  LocallyConnected2d: locallyConnected(2),
  Linear: (layer, [x], g) => {
    const l = layer as nn.Linear;
    const w = g.param(layer, 'weight', l.weight);
    const b = l.bias ? g.param(layer, 'bias', l.bias) : null;
    if (x.shape.length === 1) return [g.node('Gemm', b ? [x.name, w, b] : [x.name, w], { transB: 1 }, 'gemm')];
    // Batches of sequences or images: x·Wᵀ (+ b), the weight kept in its [out, in] layout.
    const y = g.node('MatMul', [x.name, g.node('Transpose', [w], { perm: [1, 0] }, 'weight_t')], {}, 'matmul');
    return [b ? g.node('Add', [y, b], {}, 'add') : y];
  },
  Conv1d: conv(1),
  Conv2d: conv(2),
  ConvTranspose1d: convTranspose(1),
  ConvTranspose2d: convTranspose(2),
  MaxPool1d: pool('MaxPool', 1),
  MaxPool2d: pool('MaxPool', 2),
  AvgPool1d: pool('AveragePool', 1),
  AvgPool2d: pool('AveragePool', 2),
  AdaptiveAvgPool1d: adaptive('Average', 1),
  AdaptiveAvgPool2d: adaptive('Average', 2),
  AdaptiveMaxPool1d: adaptive('Max', 1),
  AdaptiveMaxPool2d: adaptive('Max', 2),
  GlobalAvgPool1d: globalPool('Average'),
  GlobalAvgPool2d: globalPool('Average'),
  GlobalMaxPool1d: globalPool('Max'),
  GlobalMaxPool2d: globalPool('Max'),
  BatchNorm1d: batchNorm,
  BatchNorm2d: batchNorm,
  LayerNorm: (layer, [x], g) => {
    const c = layer.getConfig();
    const l = layer as nn.LayerNorm;
    const shape = c.normalizedShape as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    const dt = x.dtype === 'float64' ? 'float64' : 'float32';
    const scale = l.weight ? g.param(layer, 'weight', l.weight) : g.constant('ones', shape, dt, new Array(n).fill(1));
    const inputs = [x.name, scale];
    if (l.bias) inputs.push(g.param(layer, 'bias', l.bias));
    return [g.node('LayerNormalization', inputs, { axis: -shape.length, epsilon: { float: c.eps as number } }, 'layernorm')];
  },
  ReLU: unary('Relu'),
  Sigmoid: unary('Sigmoid'),
  Tanh: unary('Tanh'),
  Softsign: unary('Softsign'),
  Abs: unary('Abs'),
  SELU: unary('Selu'),
  Hardswish: unary('HardSwish'),
  LeakyReLU: unary('LeakyRelu', (c) => ({ alpha: { float: c.negativeSlope as number } })),
  ELU: unary('Elu', (c) => ({ alpha: { float: c.alpha as number } })),
  Softmax: unary('Softmax', (c) => ({ axis: c.axis as number })),
  LogSoftmax: unary('LogSoftmax', (c) => ({ axis: c.axis as number })),
  // PyTorch's hardsigmoid is relu6(x + 3) / 6.
  Hardsigmoid: unary('HardSigmoid', () => ({ alpha: { float: 1 / 6 }, beta: { float: 0.5 } })),
  Hardtanh: (layer, inputs, g, out) => {
    const c = layer.getConfig();
    return clip(c.minVal as number, c.maxVal as number)(layer, inputs, g, out);
  },
  ReLU6: clip(0, 6),
  Satlin: clip(0, 1),
  Softplus: (layer, [x], g) => {
    const beta = layer.getConfig().beta as number;
    if (beta === 1) return [g.node('Softplus', [x.name], {}, 'softplus')];
    const b = g.scalar(beta, x.dtype);
    return [g.node('Div', [g.node('Softplus', [g.node('Mul', [x.name, b])], {}, 'softplus'), b], {}, 'div')];
  },
  GELU: (layer, [x], g) => {
    const half = g.node('Mul', [x.name, g.scalar(0.5, x.dtype)]);
    if (layer.getConfig().approximate === 'tanh') {
      // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
      const cube = g.node('Mul', [g.node('Mul', [x.name, x.name]), x.name]);
      const inner = g.node('Mul', [g.node('Add', [x.name, g.node('Mul', [cube, g.scalar(0.044715, x.dtype)])]), g.scalar(Math.sqrt(2 / Math.PI), x.dtype)]);
      return [g.node('Mul', [half, g.node('Add', [g.node('Tanh', [inner]), g.scalar(1, x.dtype)])], {}, 'gelu')];
    }
    // 0.5·x·(1 + erf(x/√2))
    const erf = g.node('Erf', [g.node('Div', [x.name, g.scalar(Math.SQRT2, x.dtype)])]);
    return [g.node('Mul', [half, g.node('Add', [erf, g.scalar(1, x.dtype)])], {}, 'gelu')];
  },
  SiLU: (_, [x], g) => [g.node('Mul', [x.name, g.node('Sigmoid', [x.name])], {}, 'silu')],
  Mish: (_, [x], g) => [g.node('Mul', [x.name, g.node('Tanh', [g.node('Softplus', [x.name])])], {}, 'mish')],
  LogSigmoid: (_, [x], g) => [g.node('Neg', [g.node('Softplus', [g.node('Neg', [x.name])])], {}, 'logsigmoid')],
  Tanhshrink: (_, [x], g) => [g.node('Sub', [x.name, g.node('Tanh', [x.name])], {}, 'tanhshrink')],
  // Hagan's hard limits: 1 where x ≥ 0, else 0 (hardlim) or −1 (hardlims).
  Hardlim: (_, [x], g) => [g.node('Cast', [g.node('GreaterOrEqual', [x.name, g.scalar(0, x.dtype)])], { to: elemType(x.dtype) }, 'hardlim')],
  Hardlims: (_, [x], g) => {
    const step = g.node('Cast', [g.node('GreaterOrEqual', [x.name, g.scalar(0, x.dtype)])], { to: elemType(x.dtype) });
    return [g.node('Sub', [g.node('Mul', [step, g.scalar(2, x.dtype)]), g.scalar(1, x.dtype)], {}, 'hardlims')];
  },
  // Hagan's compet: one-hot of the first maximum along the axis.
  Compet: (layer, [x], g) => {
    const axis = layer.getConfig().axis as number;
    const rank = x.shape.length + 1;
    const a = axis < 0 ? axis + rank : axis;
    const index = g.node('ArgMax', [x.name], { axis: a, keepdims: 0, select_last_index: 0 });
    const depth = g.constant('depth', [], 'int64', [x.shape[a - 1]]);
    const values = g.constant('onehot_values', [2], x.dtype === 'float64' ? 'float64' : 'float32', [0, 1]);
    return [g.node('OneHot', [index, depth, values], { axis: a }, 'compet')];
  },
  PReLU: (layer, [x], g) => {
    const l = layer as nn.PReLU;
    let slope = g.param(layer, 'weight', l.weight);
    // One slope per channel (axis 1): shaped [C, 1, ...] so that it broadcasts over the trailing axes.
    if (l.weight.size > 1 && x.shape.length > 1)
      slope = g.node(
        'Reshape',
        [slope, g.constant('shape', [x.shape.length], 'int64', [l.weight.size, ...new Array(x.shape.length - 1).fill(1)])],
        {},
        'slope',
      );
    return [g.node('PRelu', [x.name, slope], {}, 'prelu')];
  },
  Identity: identity,
  Dropout: identity,
  AlphaDropout: identity,
  Flatten: (layer, [x], g, [y]) => {
    const c = layer.getConfig();
    const rank = x.shape.length + 1;
    const end = (c.endAxis as number) < 0 ? (c.endAxis as number) + rank : (c.endAxis as number);
    if (c.startAxis === 1 && end === rank - 1) return [g.node('Flatten', [x.name], { axis: 1 }, 'flatten')];
    return [reshapeTo(g, x.name, y.shape)];
  },
  Reshape: (layer, [x], g) => [reshapeTo(g, x.name, layer.getConfig().targetShape as number[])],
  Add: (_, xs, g) => [
    g.node(
      xs.length === 2 ? 'Add' : 'Sum',
      xs.map((v) => v.name),
      {},
      'add',
    ),
  ],
  Multiply: (_, xs, g) => [xs.slice(1).reduce((acc, v) => g.node('Mul', [acc, v.name], {}, 'mul'), xs[0].name)],
  Concatenate: (layer, xs, g) => [
    g.node(
      'Concat',
      xs.map((v) => v.name),
      { axis: layer.getConfig().axis as number },
      'concat',
    ),
  ],
  Embedding: (layer, [x], g) => {
    const l = layer as nn.Embedding;
    return [g.node('Gather', [g.param(layer, 'weight', l.weight), x.name], { axis: 0 }, 'embedding')];
  },
};

function batchNorm(layer: nn.Module, [x]: Value[], g: GraphBuilder): string[] {
  const c = layer.getConfig();
  if (c.trackRunningStats === false)
    unsupported(layer, 'without running statistics it normalises with each batch’s own, which ONNX BatchNormalization in inference does not');
  const l = layer as nn.BatchNorm2d;
  const n = c.numFeatures as number;
  const dt = x.dtype === 'float64' ? 'float64' : 'float32';
  const state = layer.stateDict();
  const scale = l.weight ? g.param(layer, 'weight', l.weight) : g.constant('ones', [n], dt, new Array(n).fill(1));
  const bias = l.bias ? g.param(layer, 'bias', l.bias) : g.constant('zeros', [n], dt, new Array(n).fill(0));
  const mean = g.param(layer, 'running_mean', state.get('running_mean') as Tensor);
  const variance = g.param(layer, 'running_var', state.get('running_var') as Tensor);
  return [
    g.node(
      'BatchNormalization',
      [x.name, scale, bias, mean, variance],
      { epsilon: { float: c.eps as number }, momentum: { float: 1 - (c.momentum as number) } },
      'batchnorm',
    ),
  ];
}

/** Gates per recurrent layer, and where each of ONNX's gates sits in neurite's (PyTorch's) order. */
const RECURRENT_GATES: Record<string, number[]> = {
  // ONNX LSTM: i, o, f, c; PyTorch: i, f, g, o.
  LSTM: [0, 3, 1, 2],
  // ONNX GRU: z, r, h; PyTorch: r, z, n.
  GRU: [1, 0, 2],
  RNN: [0],
};

/** Rows of a [gates·H, ...] weight (or [gates·H] bias) regrouped into ONNX's gate order. */
function regroup(t: Tensor, order: number[]): number[] {
  const rows = t.shape[0] / order.length;
  const per = t.size / t.shape[0];
  const out: number[] = [];
  for (const gate of order) for (let i = gate * rows * per; i < (gate + 1) * rows * per; i++) out.push(t.data[i] as number);
  return out;
}

/**
 * RNN, LSTM and GRU as ONNX's operators of the same names, one per stacked
 * layer: the weights regrouped into ONNX's gate order and stacked by
 * direction, GRU with linear_before_reset (PyTorch's formula), each layer's
 * [seq, directions, batch, H] output made [seq, batch, directions·H] for the
 * next.
 */
function exportRecurrent(layer: nn.Module, x: Value, g: GraphBuilder): Value {
  const c = layer.getConfig();
  const kind = layer.className;
  if (c.peephole) unsupported(layer, 'peephole connections are not exported (ONNX LSTM has them, in another layout; not mapped yet)');
  const order = RECURRENT_GATES[kind];
  const H = c.hiddenSize as number;
  const dirs = c.bidirectional ? 2 : 1;
  const state = layer.stateDict();
  const dt = x.dtype === 'float64' ? 'float64' : 'float32';
  const path = g.paths.get(layer);
  const prefix = path ? `${path}.` : '';
  const out = outputsOfRecurrent(layer, x);
  let seq = c.batchFirst ? g.node('Transpose', [x.name], { perm: [1, 0, 2] }, 'time_major') : x.name;
  let final = '';
  for (let l = 0; l < (c.numLayers as number); l++) {
    const suffixes = dirs === 2 ? ['', '_reverse'] : [''];
    const get = (name: string) => state.get(name) as Tensor;
    const w = suffixes.flatMap((s) => regroup(get(`weight_ih_l${l}${s}`), order));
    const r = suffixes.flatMap((s) => regroup(get(`weight_hh_l${l}${s}`), order));
    const inSize = get(`weight_ih_l${l}`).shape[1];
    const inputs = [
      seq,
      g.constant(`${prefix}W_l${l}`, [dirs, order.length * H, inSize], dt, w),
      g.constant(`${prefix}R_l${l}`, [dirs, order.length * H, H], dt, r),
    ];
    if (c.bias) {
      const b = suffixes.flatMap((s) => [...regroup(get(`bias_ih_l${l}${s}`), order), ...regroup(get(`bias_hh_l${l}${s}`), order)]);
      inputs.push(g.constant(`${prefix}B_l${l}`, [dirs, 2 * order.length * H], dt, b));
    }
    const attrs: Record<string, Attr> = { hidden_size: H, direction: dirs === 2 ? 'bidirectional' : 'forward' };
    if (kind === 'GRU') attrs.linear_before_reset = 1;
    if (kind === 'RNN') attrs.activations = { strings: new Array(dirs).fill(c.nonlinearity === 'relu' ? 'Relu' : 'Tanh') };
    const [y, yh] = g.nodeWithOutputs(kind, inputs, attrs, 2, kind.toLowerCase());
    // [seq, dirs, batch, H] → [seq, batch, dirs·H]
    seq = reshapeKeeping(g, g.node('Transpose', [y], { perm: [0, 2, 1, 3] }), [0, 0, -1]);
    // [dirs, batch, H] → [batch, dirs·H]: forward then reverse, as RecurrentOutput('final') concatenates them
    final = reshapeKeeping(g, g.node('Transpose', [yh], { perm: [1, 0, 2] }), [0, -1]);
  }
  const output = c.batchFirst ? g.node('Transpose', [seq], { perm: [1, 0, 2] }, 'batch_major') : seq;
  return { name: output, shape: out.shape, dtype: x.dtype, final: { name: final, shape: [dirs * H], dtype: x.dtype } };
}

function reshapeKeeping(g: GraphBuilder, x: string, shape: number[]): string {
  return g.node('Reshape', [x, g.constant('shape', [shape.length], 'int64', shape)], {}, 'reshape');
}

function outputsOfRecurrent(layer: nn.Module, x: Value): { shape: number[] } {
  const result = noGrad(() => layer.forward(zeros([1, ...x.shape], { dtype: x.dtype }))) as [Tensor, unknown];
  return { shape: result[0].shape.slice(1) };
}

/**
 * Layers that ONNX has no single operator for. Each is exported as a call to a
 * model-local function (domain 'neurite') whose body is the standard-operator
 * formula: every ONNX runtime inlines it, and neurite's import reads the call
 * back as the layer itself (its class and options are in the call's
 * doc_string), where the formula alone would not say which layer it was.
 */
function isComposite(module: nn.Module): boolean {
  const name = module.className;
  if (name === 'Softplus') return module.getConfig().beta !== 1;
  return ['GELU', 'SiLU', 'Mish', 'LogSigmoid', 'Tanhshrink', 'Hardlim', 'Hardlims', 'Compet', 'LocallyConnected1d', 'LocallyConnected2d'].includes(name);
}

/** Export a composite layer as a call to a model-local function (one function per class and options). */
function exportAsFunction(module: nn.Module, exporter: Exporter, x: Value, g: GraphBuilder, out: Value[]): string {
  const body = new FunctionBuilder(g);
  const formal = body.fresh('x');
  const [result] = exporter(module, [{ ...x, name: formal }], body, out);
  const config = module.getConfig();
  const signature = `${module.className}:${JSON.stringify(config)}:${x.shape.join('x')}`;
  let fn = g.functions.get(signature);
  if (!fn) {
    fn = {
      name: `${module.className}_${g.functions.size + 1}`,
      domain: NEURITE_DOMAIN,
      input: [formal, ...body.bound.map((b) => b.formal)],
      output: [result],
      node: body.nodes,
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      docString: `neurite ${module.className}`,
    };
    g.functions.set(signature, fn);
  }
  const output = g.fresh(module.className.toLowerCase());
  g.nodes.push({
    opType: fn.name,
    domain: NEURITE_DOMAIN,
    input: [x.name, ...body.bound.map((b) => b.actual)],
    output: [output],
    name: g.fresh(`${module.className.toLowerCase()}_node`),
    docString: JSON.stringify({ className: module.className, config, params: body.bound.map((b) => b.key) }),
  });
  return output;
}

/** Export one module applied to `inputs`, recursing into containers; returns its outputs. */
function exportModule(module: nn.Module, inputs: Value[], g: GraphBuilder): Value[] {
  const exporter = EXPORTERS[module.className];
  if (exporter && isComposite(module) && inputs.length === 1) {
    const out = outputsOf(module, inputs);
    return [{ ...out[0], name: exportAsFunction(module, exporter, inputs[0], g, out) }];
  }
  if (exporter) {
    const out = outputsOf(module, inputs);
    const names = exporter(module, inputs, g, out);
    return out.map((v, i) => ({ ...v, name: names[i] }));
  }
  if (RECURRENT_GATES[module.className] !== undefined) return [exportRecurrent(module, inputs[0], g)];
  if (module.className === 'RecurrentOutput') {
    const [x] = inputs;
    if ((module.getConfig().select ?? 'final') === 'sequence') return [x];
    if (!x.final) unsupported(module, 'it must follow an RNN, LSTM or GRU');
    return [x.final];
  }
  if (module instanceof nn.Sequential) {
    let values = inputs;
    for (const child of module.children()) values = exportModule(child, values, g);
    return values;
  }
  if (module instanceof nn.Model) return exportGraph(module, inputs, g);
  const withGraph = module as nn.Module & { graph?: (shape: readonly number[]) => nn.Model };
  if (typeof withGraph.graph === 'function' && inputs.length === 1) return exportGraph(withGraph.graph(inputs[0].shape), inputs, g);
  if (module.className === 'LSTM' || module.className === 'GRU' || module.className === 'RNN')
    unsupported(module, "recurrent layers are not in the ONNX export yet (ONNX's LSTM/GRU/RNN gate order and layouts are still to be mapped)");
  return unsupported(module, `no ONNX form is defined for ${module.className}${module.className === 'Lambda' ? ' (a Lambda runs arbitrary code)' : ''}`);
}

function exportGraph(model: nn.Model, inputs: Value[], g: GraphBuilder): Value[] {
  const config = model.getConfig() as {
    nodes: { layer: string; inputs: ({ input: number } | { node: number; output: number })[] }[];
    outputs: { input: number } | { node: number; output: number } | ({ input: number } | { node: number; output: number })[];
  };
  const results: Value[][] = [];
  const resolve = (r: { input: number } | { node: number; output: number }): Value => ('input' in r ? inputs[r.input] : results[r.node][r.output]);
  for (const node of config.nodes) results.push(exportModule(model.getLayer(node.layer), node.inputs.map(resolve), g));
  return (Array.isArray(config.outputs) ? config.outputs : [config.outputs]).map(resolve);
}

/** What a model without declared inputs takes: integer indices when it starts with an Embedding, else its parameters' dtype. */
function defaultInputDType(model: nn.Module): DType {
  let first: nn.Module = model;
  while (first instanceof nn.Sequential && first.children().length > 0) first = first.children()[0];
  if (first.className === 'Embedding') return 'int32';
  const p = model.parameters()[0];
  return p ? p.dtype : 'float32';
}

/**
 * Export a model to the bytes of an ONNX file (opset 17, IR version 8): a
 * Sequential, a graph Model, or a network with a graph() method, in eval mode
 * (dropout is the identity, batch norm uses its running statistics). The
 * batch axis is symbolic ('N'), initializers are named by the state dict
 * ('0.weight', 'layer1.0.conv1.weight'). A layer with no ONNX form is an
 * OnnxError naming it.
 */
export function toOnnx(model: nn.Module, options: OnnxExportOptions = {}): Uint8Array {
  const shapes = options.inputShape
    ? Array.isArray(options.inputShape[0])
      ? (options.inputShape as number[][])
      : [options.inputShape as number[]]
    : model instanceof nn.Model
      ? model.inputShapes
      : null;
  if (shapes === null) throw new OnnxError(`ONNX export: ${model.label} needs inputShape, the shape of one sample without the batch axis (e.g. [1, 28, 28])`);
  const graphInputs = model instanceof nn.Model ? (model.getConfig().inputs as { name: string; dtype: DType }[]) : null;
  const paths = new Map<nn.Module, string>();
  for (const [path, m] of model.namedModules()) if (!paths.has(m)) paths.set(m, path);
  const g = new GraphBuilder(paths);
  const inputs: Value[] = shapes.map((shape, i) => ({
    name: g.fresh(graphInputs?.[i]?.name ?? (shapes.length === 1 ? 'input' : `input_${i + 1}`)),
    shape: [...shape],
    dtype: graphInputs?.[i]?.dtype ?? options.inputDType ?? defaultInputDType(model),
  }));
  const wasTraining = model.training;
  model.eval();
  let outputs: Value[];
  try {
    outputs = exportModule(model, inputs, g);
  } finally {
    model.train(wasTraining);
  }
  // Graph outputs need names of their own: an output that is an input or a repeated value goes through Identity.
  const seen = new Set(inputs.map((v) => v.name));
  const named = outputs.map((v, i) => {
    const name = g.fresh(outputs.length === 1 ? 'output' : `output_${i + 1}`);
    g.nodes.push({ opType: 'Identity', input: [v.name], output: [name], name: g.fresh('output_node') });
    seen.add(name);
    return { ...v, name };
  });
  // Drop what no output needs (a recurrent layer's unused sequence or final-state reshapes), and the constants only they used.
  const needed = new Set(named.map((v) => v.name));
  const kept: NodeProto[] = [];
  for (const node of [...g.nodes].reverse()) {
    if (!(node.output ?? []).some((o) => needed.has(o))) continue;
    kept.unshift(node);
    for (const i of node.input ?? []) needed.add(i);
  }
  const graph: GraphProto = {
    name: options.name ?? model._name ?? model.className,
    node: kept,
    initializer: g.initializers.filter((t) => needed.has(t.name ?? '')),
    input: inputs.map(valueInfo),
    output: named.map(valueInfo),
  };
  if (options.docString) graph.docString = options.docString;
  const functions = [...g.functions.values()];
  return encodeModel({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }, ...(functions.length > 0 ? [{ domain: NEURITE_DOMAIN, version: 1 }] : [])],
    functions,
    producerName: 'neurite',
    producerVersion: VERSION,
    graph,
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
  });
}
