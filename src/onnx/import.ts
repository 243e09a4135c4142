// Import from ONNX: a file made of the operators neurite's layers express
// becomes a graph Model that predicts and fine-tunes. Constant subgraphs
// (Constant, Transpose, Cast, Reshape, Unsqueeze of initializers) are folded
// at import, so a weight that reaches its MatMul through a Transpose is a
// Linear layer's weight; MatMul followed by the Add of a constant is one
// Linear. Each layer that holds weights is named after its weight's
// initializer, dots turned into slashes (an nn.Model's layer keys cannot hold
// dots): the file's `layer1.0.conv1.weight` is layer `layer1/0/conv1`'s weight.
import type { DType } from '../core/dtype.js';
import { NeuriteError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import * as nn from '../nn/index.js';
import { type AttributeProto, decodeModel, GLOBAL_POOL_NOTE, NEURITE_DOMAIN, type NodeProto, ONNX_DTYPE, OnnxError, type TensorProto } from './proto.js';

/** A value during import: a symbolic tensor of the graph being built, or a constant known at import. */
type Value =
  /** timeMajor: the value is `s` with its first two axes swapped (a Transpose before a recurrent operator), not yet a layer. */
  | { kind: 'symbolic'; s: nn.SymbolicTensor; timeMajor?: boolean }
  | { kind: 'const'; t: Tensor; origin: string | null; transposedFrom: string | null }
  /** A shape computed at run time (Shape, Gather, Concat, ...), known at import but for the batch size. */
  | { kind: 'shape'; dims: (number | 'batch')[]; scalar: boolean }
  /** An output of an ONNX RNN/LSTM/GRU (Y or Y_h), before the Transpose and Reshape that give it neurite's layout. */
  | { kind: 'recurrent'; part: 'Y' | 'H' | 'C'; transposed: boolean; layer: nn.Module; input: nn.SymbolicTensor; batchMajor: boolean; key: string | undefined };

/** Where each of neurite's (PyTorch's) gates sits in ONNX's order: the inverse of the export's regrouping. */
const FROM_ONNX_GATES: Record<string, number[]> = { LSTM: [0, 2, 3, 1], GRU: [1, 0, 2], RNN: [0] };

/** Rows [gates·H, ...] of one direction of an ONNX recurrent weight, regrouped into neurite's gate order. */
function regroupFromOnnx(t: Tensor, direction: number, order: number[]): Tensor {
  const perDir = t.size / t.shape[0];
  const rows = t.shape[1];
  const per = perDir / rows;
  const block = rows / order.length;
  const out = new (t.data.constructor as Float32ArrayConstructor)(perDir);
  let o = 0;
  for (const gate of order) {
    const start = direction * perDir + gate * block * per;
    for (let i = 0; i < block * per; i++) out[o++] = t.data[start + i] as number;
  }
  return new Tensor(out, t.ndim === 3 ? [rows, per] : [rows]);
}

const MAX_DIMS = 8;
const MAX_ELEMENTS = 2 ** 31;

/** An initializer or Constant's tensor. Integer tensors come back as int32 (indices, shapes, axes). */
function decodeTensor(t: TensorProto, where: string): Tensor {
  const dims = (t.dims ?? []).map(Number);
  if (dims.length > MAX_DIMS || dims.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new OnnxError(`${where}: bad dimensions [${dims.join(', ')}]`);
  const n = dims.reduce((a, b) => a * b, 1);
  if (n > MAX_ELEMENTS) throw new OnnxError(`${where}: ${n} elements is more than neurite holds in one tensor`);
  if (t.dataLocation === 1) throw new OnnxError(`${where}: the tensor's data is in an external file, which this import does not read`);
  const type = t.dataType ?? 0;
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  const view = (bytes: number) => {
    if (!raw) return null;
    if (raw.length !== n * bytes) throw new OnnxError(`${where}: raw data holds ${raw.length} bytes, [${dims.join(', ')}] needs ${n * bytes}`);
    return new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  };
  const fromList = (list: number[] | undefined, what: string): number[] => {
    const l = list ?? [];
    if (l.length !== n) throw new OnnxError(`${where}: ${what} holds ${l.length} values, [${dims.join(', ')}] needs ${n}`);
    return l;
  };
  if (type === ONNX_DTYPE.float32) {
    const dv = view(4);
    const data = dv ? Float32Array.from({ length: n }, (_, i) => dv.getFloat32(4 * i, true)) : Float32Array.from(fromList(t.floatData, 'float_data'));
    return new Tensor(data, dims);
  }
  if (type === ONNX_DTYPE.float64) {
    const dv = view(8);
    const data = dv ? Float64Array.from({ length: n }, (_, i) => dv.getFloat64(8 * i, true)) : Float64Array.from(fromList(t.doubleData, 'double_data'));
    return new Tensor(data, dims);
  }
  if (type === ONNX_DTYPE.int64) {
    const dv = view(8);
    const values = dv ? Array.from({ length: n }, (_, i) => Number(dv.getBigInt64(8 * i, true))) : fromList(t.int64Data, 'int64_data');
    // Shapes, axes and indices fit in int32; a huge int64 (INT64_MAX as "to the end") is clamped.
    return new Tensor(
      Int32Array.from(values, (v) => Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, v))),
      dims,
    );
  }
  if (type === ONNX_DTYPE.int32) {
    const dv = view(4);
    return new Tensor(dv ? Int32Array.from({ length: n }, (_, i) => dv.getInt32(4 * i, true)) : Int32Array.from(fromList(t.int32Data, 'int32_data')), dims);
  }
  throw new OnnxError(`${where}: tensors of ONNX data type ${type} are not supported (float, double, int32 and int64 are)`);
}

function outs0(node: NodeProto, where: string): string {
  const out = node.output?.[0];
  if (!out) throw new OnnxError(`${where}: has no outputs`);
  return out;
}

function attrs(node: NodeProto): Map<string, AttributeProto> {
  return new Map((node.attribute ?? []).map((a) => [a.name, a]));
}

function intAttr(a: Map<string, AttributeProto>, name: string, fallback: number): number {
  const v = a.get(name);
  return v?.i !== undefined ? Number(v.i) : fallback;
}

function intsAttr(a: Map<string, AttributeProto>, name: string): number[] | undefined {
  const v = a.get(name);
  return v?.ints ? v.ints.map(Number) : undefined;
}

function floatAttr(a: Map<string, AttributeProto>, name: string, fallback: number): number {
  const v = a.get(name);
  return v?.f !== undefined ? v.f : fallback;
}

function stringAttr(a: Map<string, AttributeProto>, name: string, fallback: string): string {
  const v = a.get(name);
  return v?.s ? new TextDecoder().decode(v.s) : fallback;
}

function transpose2d(t: Tensor): Tensor {
  const [r, c] = t.shape;
  const out = new (t.data.constructor as Float32ArrayConstructor)(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j] as number;
  return new Tensor(out, [c, r]);
}

function elemDType(type: number | undefined, where: string): DType {
  if (type === ONNX_DTYPE.float32) return 'float32';
  if (type === ONNX_DTYPE.float64) return 'float64';
  if (type === ONNX_DTYPE.int64 || type === ONNX_DTYPE.int32) return 'int32';
  throw new OnnxError(`${where}: inputs of ONNX element type ${type} are not supported (float, double, int32, int64 are)`);
}

/** A layer key from an initializer's name: `layer1.0.conv1.weight` → `layer1/0/conv1`. */
function keyFrom(origin: string | null): string | undefined {
  if (!origin) return undefined;
  const base = origin.replace(/\.(weight|bias|running_mean|running_var)$/, '');
  const key = base.replace(/\./g, '/').replace(/^[_/]+/, '');
  return key.length > 0 && !key.startsWith('onnx::') ? key : undefined;
}

/**
 * Build a graph Model from the bytes of an ONNX file. Every operator must be
 * one neurite's layers express (see docs/onnx.md for the list); anything else,
 * a truncated or malformed file included, is an OnnxError naming the node and
 * why. The model comes in eval mode (batch norm uses the file's running
 * statistics) and predicts and trains like any other: its weights are
 * parameters.
 */
export function fromOnnx(bytes: Uint8Array | ArrayBuffer): nn.Model {
  return readOnnx(bytes).model;
}

/** What {@link readOnnx} returns: the model and the file's key-value metadata. */
export interface OnnxFile {
  /** The imported graph model, in eval mode. */
  model: nn.Model;
  /** ModelProto.metadata_props (a neurite export keeps the run's data settings under `neurite.run`). */
  metadata: Record<string, string>;
  /** The tool that wrote the file (producer_name). */
  producer: string;
}

/** {@link fromOnnx}, with the file's metadata and producer. */
export function readOnnx(bytes: Uint8Array | ArrayBuffer): OnnxFile {
  const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  try {
    return importModel(data);
  } catch (e) {
    if (e instanceof NeuriteError) {
      if (e instanceof OnnxError) throw e;
      throw new OnnxError(`ONNX import: ${e.message}`);
    }
    // protobufjs and malformed fields can fail in ways no check foresaw: still a typed error, never a crash.
    throw new OnnxError(`ONNX import: malformed file (${(e as Error).message})`);
  }
}

function importModel(bytes: Uint8Array): OnnxFile {
  const model = decodeModel(bytes);
  const metadata: Record<string, string> = {};
  for (const entry of model.metadataProps ?? []) if (entry.key) metadata[entry.key] = entry.value ?? '';
  const graph = model.graph ?? {};
  const opset = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version;
  if (opset !== undefined && Number(opset) < 11) throw new OnnxError(`ONNX import: opset ${opset} is older than 11, the oldest this import reads`);
  const values = new Map<string, Value>();
  for (const [i, init] of (graph.initializer ?? []).entries()) {
    const name = init.name ?? `initializer_${i}`;
    values.set(name, { kind: 'const', t: decodeTensor(init, `initializer '${name}'`), origin: name, transposedFrom: null });
  }
  const inputs: nn.SymbolicTensor[] = [];
  for (const info of graph.input ?? []) {
    if (values.has(info.name)) continue;
    const where = `graph input '${info.name}'`;
    const tt = info.type?.tensorType;
    const dims = tt?.shape?.dim ?? [];
    if (dims.length < 1) throw new OnnxError(`${where}: needs a shape with a batch axis first`);
    const sample = dims.slice(1).map((d, i) => {
      if (d.dimValue === undefined || Number(d.dimValue) < 1)
        throw new OnnxError(`${where}: axis ${i + 1} has no fixed size (${d.dimParam ?? '?'}); only the batch axis may be symbolic`);
      return Number(d.dimValue);
    });
    const x = nn.input(sample, { name: info.name, dtype: elemDType(tt?.elemType, where) });
    inputs.push(x);
    values.set(info.name, { kind: 'symbolic', s: x });
  }
  if (inputs.length === 0) throw new OnnxError('ONNX import: the graph has no inputs');

  const nodes = graph.node ?? [];
  const uses = new Map<string, number>();
  for (const n of nodes) for (const i of n.input ?? []) uses.set(i, (uses.get(i) ?? 0) + 1);
  const skip = new Set<number>();
  for (const [index, node] of nodes.entries()) {
    if (skip.has(index)) continue;
    const op = node.opType ?? '';
    const where = `node ${node.name ? `'${node.name}' ` : ''}(${op || 'no op type'})`;
    if (node.domain === NEURITE_DOMAIN) {
      // A neurite layer ONNX has no operator for, exported as a call to a local function: rebuilt as the layer itself.
      let spec: { className?: unknown; config?: unknown; params?: unknown };
      try {
        spec = JSON.parse(node.docString ?? '');
      } catch {
        throw new OnnxError(`${where}: a neurite function call without its layer description`);
      }
      if (typeof spec.className !== 'string' || typeof spec.config !== 'object' || !Array.isArray(spec.params))
        throw new OnnxError(`${where}: a neurite function call without its layer description`);
      const callIns = (node.input ?? []).map((name) => values.get(name));
      const x = callIns[0];
      if (x?.kind !== 'symbolic' || x.timeMajor) throw new OnnxError(`${where}: its first input must come from the graph`);
      const layer = nn.layerFromConfig({ className: spec.className, config: spec.config as Record<string, unknown> });
      const state = new Map<string, Tensor>();
      let origin: string | null = null;
      (spec.params as unknown[]).forEach((key, i) => {
        const v = callIns[i + 1];
        if (typeof key !== 'string' || v?.kind !== 'const') throw new OnnxError(`${where}: parameter ${i + 1} of the call is not a constant`);
        state.set(key, v.t);
        origin ??= v.origin;
      });
      if (state.size > 0) layer.loadStateDict(state, { strict: true });
      const key = keyFrom(origin);
      if (key !== undefined && ![...values.values()].some((v) => v.kind === 'symbolic' && v.s.node.layer?._name === key)) layer.withName(key);
      values.set(outs0(node, where), { kind: 'symbolic', s: layer.call(x.s) as nn.SymbolicTensor });
      continue;
    }
    if (node.domain && node.domain !== 'ai.onnx') throw new OnnxError(`${where}: operators of domain '${node.domain}' are not ONNX's own`);
    const ins = (node.input ?? []).map((name) => {
      if (name === '') return null;
      const v = values.get(name);
      if (!v) throw new OnnxError(`${where}: its input '${name}' is computed nowhere before it (the nodes must be in topological order)`);
      return v;
    });
    const outs = node.output ?? [];
    if (outs.length === 0) throw new OnnxError(`${where}: has no outputs`);
    const a = attrs(node);
    const setOut = (v: Value) => values.set(outs[0], v);
    const constOf = (i: number, what: string): Tensor => {
      const v = ins[i];
      if (v?.kind !== 'const') throw new OnnxError(`${where}: ${what} (input ${i}) must be a constant (an initializer), not computed at run time`);
      return v.t;
    };
    const sym = (i: number): nn.SymbolicTensor => {
      const v = ins[i];
      if (v?.kind === 'recurrent')
        throw new OnnxError(`${where}: uses a recurrent operator's output other than as neurite exports it (Transpose then Reshape)`);
      if (v?.kind !== 'symbolic') throw new OnnxError(`${where}: input ${i} must come from the graph's inputs, not be a constant`);
      if (v.timeMajor) throw new OnnxError(`${where}: a transposed (time-major) tensor reaches an operator other than RNN, LSTM or GRU`);
      return v.s;
    };
    const allConst = ins.every((v) => v === null || v.kind === 'const');
    const first = ins[0];

    // Shape arithmetic (PyTorch's x.view(x.size(0), -1)): shapes are known at import but for the batch size.
    const shapeOf = (i: number): (number | 'batch')[] | null => {
      const v = ins[i];
      if (v?.kind === 'shape') return v.dims;
      if (v?.kind === 'const' && v.t.dtype === 'int32') return Array.from(v.t.data as Int32Array);
      return null;
    };
    if (op === 'Shape' && first?.kind === 'symbolic' && !first.timeMajor) {
      const all: (number | 'batch')[] = ['batch', ...first.s.shape];
      const start = intAttr(a, 'start', 0);
      const end = a.has('end') ? intAttr(a, 'end', all.length) : all.length;
      setOut({ kind: 'shape', dims: all.slice(start < 0 ? start + all.length : start, end < 0 ? end + all.length : end), scalar: false });
      continue;
    }
    if (ins.some((v) => v?.kind === 'shape')) {
      const dims = shapeOf(0);
      if (op === 'Gather' && dims && ins[1]?.kind === 'const') {
        const idx = Array.from(ins[1].t.data as Int32Array).map((k) => (k < 0 ? k + dims.length : k));
        if (idx.some((k) => k < 0 || k >= dims.length)) throw new OnnxError(`${where}: index out of the shape's ${dims.length} entries`);
        setOut({ kind: 'shape', dims: idx.map((k) => dims[k]), scalar: ins[1].t.ndim === 0 });
        continue;
      }
      if ((op === 'Unsqueeze' || op === 'Cast' || op === 'Identity' || op === 'Squeeze') && dims) {
        setOut({ kind: 'shape', dims, scalar: op === 'Squeeze' });
        continue;
      }
      if (op === 'Concat') {
        const parts = ins.map((_, i) => shapeOf(i));
        if (parts.every((x) => x !== null)) {
          setOut({ kind: 'shape', dims: (parts as (number | 'batch')[][]).flat(), scalar: false });
          continue;
        }
      }
      if (op === 'Slice' && dims) {
        const at = (i: number, fallback: number) => (ins[i]?.kind === 'const' ? (ins[i] as { t: Tensor }).t.data[0] : fallback);
        const start = at(1, 0);
        const end = Math.min(at(2, dims.length), dims.length);
        setOut({ kind: 'shape', dims: dims.slice(start < 0 ? start + dims.length : start, end < 0 ? end + dims.length : end), scalar: false });
        continue;
      }
      if ((op === 'Mul' || op === 'Div' || op === 'Add' || op === 'Sub') && dims && shapeOf(1)) {
        const other = shapeOf(1) as (number | 'batch')[];
        if (dims.length === 1 && other.length === 1 && typeof dims[0] === 'number' && typeof other[0] === 'number') {
          const [x, y] = [dims[0], other[0]];
          const v = op === 'Mul' ? x * y : op === 'Div' ? Math.trunc(x / y) : op === 'Add' ? x + y : x - y;
          setOut({ kind: 'shape', dims: [v], scalar: (ins[0] as { scalar?: boolean }).scalar === true });
          continue;
        }
      }
      if (op !== 'Reshape')
        throw new OnnxError(
          `${where}: shape arithmetic with ${op} is not followed by this import (it reads Shape, Gather, Slice, Unsqueeze, Concat and Reshape)`,
        );
    }

    // Constant folding: what weights pass through before they meet their layer.
    if (op === 'Constant') {
      const t = a.get('value')?.t;
      if (t) {
        setOut({ kind: 'const', t: decodeTensor(t, where), origin: null, transposedFrom: null });
        continue;
      }
      const vf = a.get('value_float');
      if (vf?.f !== undefined) {
        setOut({ kind: 'const', t: new Tensor(Float32Array.of(vf.f), []), origin: null, transposedFrom: null });
        continue;
      }
      const vi = a.get('value_int');
      if (vi?.i !== undefined) {
        setOut({ kind: 'const', t: new Tensor(Int32Array.of(Number(vi.i)), []), origin: null, transposedFrom: null });
        continue;
      }
      const vis = a.get('value_ints');
      if (vis?.ints) {
        setOut({ kind: 'const', t: new Tensor(Int32Array.from(vis.ints.map(Number)), [vis.ints.length]), origin: null, transposedFrom: null });
        continue;
      }
      throw new OnnxError(`${where}: a Constant without a tensor, float or ints value`);
    }
    if (allConst && ins.length > 0) {
      const c = ins[0] as Extract<Value, { kind: 'const' }>;
      if (op === 'Transpose' && c.t.ndim === 2) {
        const perm = intsAttr(a, 'perm') ?? [1, 0];
        if (perm[0] === 1 && perm[1] === 0) {
          setOut({ kind: 'const', t: transpose2d(c.t), origin: null, transposedFrom: c.origin });
          continue;
        }
        setOut(c);
        continue;
      }
      if (op === 'Identity') {
        setOut(c);
        continue;
      }
      if (op === 'Cast') {
        const to = intAttr(a, 'to', 1);
        const t = to === ONNX_DTYPE.float64 ? c.t.cast('float64') : to === ONNX_DTYPE.float32 ? c.t.cast('float32') : c.t.cast('int32');
        setOut({ ...c, t });
        continue;
      }
      if (op === 'Reshape') {
        const target = Array.from(constOf(1, 'the shape').data as Int32Array).map((d, i) => (d === 0 ? (c.t.shape[i] ?? 0) : d));
        const known = target.filter((d) => d !== -1).reduce((x, y) => x * y, 1);
        const shape = target.map((d) => (d === -1 ? c.t.size / known : d));
        if (shape.reduce((x, y) => x * y, 1) !== c.t.size || shape.some((d) => !Number.isInteger(d) || d < 0))
          throw new OnnxError(`${where}: cannot reshape a constant of shape [${c.t.shape.join(', ')}] to [${target.join(', ')}]`);
        setOut({ ...c, t: c.t.reshape(shape) });
        continue;
      }
      if (op === 'Unsqueeze' || op === 'Squeeze') {
        const axesIn = ins[1]?.kind === 'const' ? Array.from(ins[1].t.data as Int32Array) : (intsAttr(a, 'axes') ?? []);
        let shape = [...c.t.shape];
        if (op === 'Unsqueeze') {
          const rank = shape.length + axesIn.length;
          for (const axis of axesIn.map((x) => (x < 0 ? x + rank : x)).sort((x, y) => x - y)) shape.splice(axis, 0, 1);
        } else {
          const drop = new Set((axesIn.length > 0 ? axesIn : shape.flatMap((d, i) => (d === 1 ? [i] : []))).map((x) => (x < 0 ? x + shape.length : x)));
          shape = shape.filter((_, i) => !drop.has(i));
        }
        setOut({ ...c, t: c.t.reshape(shape) });
        continue;
      }
    }

    // PyTorch 1.13 puts an all-zero Pad before every AveragePool: nothing to do.
    if (op === 'Pad') {
      const pads = Array.from(constOf(1, 'the pads').data as Int32Array);
      if (pads.some((p) => p !== 0)) throw new OnnxError(`${where}: padding [${pads.join(', ')}] outside a convolution or pooling has no neurite layer`);
      const v = ins[0];
      if (!v) throw new OnnxError(`${where}: has no data input`);
      setOut(v);
      continue;
    }

    // The layout changes around recurrent operators, as neurite exports them: folded into the recurrent layer.
    if (op === 'Transpose' && first?.kind === 'symbolic' && first.s.shape.length === 2) {
      const perm = intsAttr(a, 'perm') ?? [2, 1, 0];
      if (perm.join() !== '1,0,2') throw new OnnxError(`${where}: a transpose [${perm.join(', ')}] of a sequence has no neurite layer`);
      setOut({ ...first, timeMajor: !first.timeMajor });
      continue;
    }
    if ((op === 'Transpose' || op === 'Reshape') && first?.kind === 'recurrent') {
      if (op === 'Transpose') {
        const perm = (intsAttr(a, 'perm') ?? []).join();
        const expected = first.part === 'Y' ? '0,2,1,3' : '1,0,2';
        if (first.batchMajor || first.transposed || perm !== expected)
          throw new OnnxError(`${where}: a transpose [${perm}] of a recurrent output is not one neurite reads`);
        setOut({ ...first, transposed: true });
        continue;
      }
      const shape = Array.from(constOf(1, 'the shape').data as Int32Array).join();
      if (!(first.transposed || first.batchMajor) || first.part === 'C' || shape !== (first.part === 'Y' ? '0,0,-1' : '0,-1'))
        throw new OnnxError(`${where}: a reshape to [${shape}] of a recurrent output is not one neurite reads`);
      // Y as [seq, batch, dirs·H] (time-major) is neurite's output sequence; Y_h as [batch, dirs·H] its final state.
      const pick = new nn.Sequential(first.layer, new nn.RecurrentOutput(first.part === 'Y' ? 'sequence' : 'final'));
      const taken = first.key !== undefined && [...values.values()].some((v) => v.kind === 'symbolic' && v.s.node.layer?._name === first.key);
      if (first.key !== undefined && !taken) pick.withName(first.key);
      setOut({ kind: 'symbolic', s: pick.call(first.input) as nn.SymbolicTensor, timeMajor: first.part === 'Y' && !first.batchMajor });
      continue;
    }
    if (op === 'LSTM' || op === 'GRU' || op === 'RNN') {
      if (first?.kind !== 'symbolic') throw new OnnxError(`${where}: its input must be a sequence from the graph`);
      const batchMajor = intAttr(a, 'layout', 0) === 1;
      if (!batchMajor && !first.timeMajor)
        throw new OnnxError(
          `${where}: reads its sequence time-major from a batch-first graph input; neurite imports recurrent operators after a Transpose [1, 0, 2] (as it exports them) or with layout 1`,
        );
      if ((node.input ?? []).slice(4).some((name) => name !== ''))
        throw new OnnxError(`${where}: sequence lengths, initial states and peepholes are not imported`);
      const direction = stringAttr(a, 'direction', 'forward');
      if (direction === 'reverse') throw new OnnxError(`${where}: a reverse-only recurrent layer has no neurite layer`);
      if (a.has('clip')) throw new OnnxError(`${where}: clipped cells have no neurite layer`);
      if (op === 'GRU' && intAttr(a, 'linear_before_reset', 0) !== 1)
        throw new OnnxError(`${where}: only GRU with linear_before_reset 1 (PyTorch's) has a neurite layer`);
      const activations = (a.get('activations')?.strings ?? []).map((b) => new TextDecoder().decode(b));
      const defaults = op === 'LSTM' ? ['Sigmoid', 'Tanh', 'Tanh'] : op === 'GRU' ? ['Sigmoid', 'Tanh'] : ['Tanh'];
      const relu = op === 'RNN' && activations.length > 0 && activations.every((x) => x === 'Relu');
      if (activations.length > 0 && !relu && activations.some((x, i) => x !== defaults[i % defaults.length]))
        throw new OnnxError(`${where}: activations ${activations.join(', ')} have no neurite layer`);
      const w = constOf(1, 'W');
      const r = constOf(2, 'R');
      const b = ins[3] ? constOf(3, 'B') : null;
      const dirs = direction === 'bidirectional' ? 2 : 1;
      const H = intAttr(a, 'hidden_size', r.shape[2]);
      const order = FROM_ONNX_GATES[op];
      const config: Record<string, unknown> = {
        inputSize: w.shape[2],
        hiddenSize: H,
        numLayers: 1,
        bias: b !== null,
        batchFirst: true,
        bidirectional: dirs === 2,
        dtype: w.dtype,
      };
      if (op === 'RNN') config.nonlinearity = relu ? 'relu' : 'tanh';
      const recurrent = nn.layerFromConfig({ className: op, config });
      const state = new Map<string, Tensor>();
      for (let d = 0; d < dirs; d++) {
        const suffix = d === 1 ? '_reverse' : '';
        state.set(`weight_ih_l0${suffix}`, regroupFromOnnx(w, d, order));
        state.set(`weight_hh_l0${suffix}`, regroupFromOnnx(r, d, order));
        if (b) {
          const half = b.shape[1] / 2;
          const both = b.reshape([dirs, 2, half]);
          const bias = (k: number) => new Tensor((both.data as Float32Array).slice((d * 2 + k) * half, (d * 2 + k + 1) * half), [1, half]);
          state.set(`bias_ih_l0${suffix}`, regroupFromOnnx(bias(0).reshape([1, half]), 0, order).reshape([half]));
          state.set(`bias_hh_l0${suffix}`, regroupFromOnnx(bias(1).reshape([1, half]), 0, order).reshape([half]));
        }
      }
      recurrent.loadStateDict(state, { strict: true });
      const wc = ins[1] as Extract<Value, { kind: 'const' }>;
      const key = wc.origin ? wc.origin.replace(/\.[WRB]_l\d+$/, '').replace(/\./g, '/') : undefined;
      const base = { kind: 'recurrent' as const, transposed: false, layer: recurrent, input: first.s, batchMajor, key };
      values.set(outs[0], { ...base, part: 'Y' });
      if (outs[1]) values.set(outs[1], { ...base, part: 'H' });
      if (outs[2]) values.set(outs[2], { ...base, part: 'C' });
      continue;
    }

    let layer: nn.Module;
    let args: nn.SymbolicTensor[];
    let key: string | undefined;
    const weights = new Map<string, Tensor>();
    switch (op) {
      case 'Gemm': {
        if (floatAttr(a, 'alpha', 1) !== 1 || floatAttr(a, 'beta', 1) !== 1 || intAttr(a, 'transA', 0) !== 0)
          throw new OnnxError(`${where}: only Gemm with alpha 1, beta 1 and transA 0 is a Linear layer`);
        const b = constOf(1, 'the weight');
        const w = intAttr(a, 'transB', 0) === 1 ? b : transpose2d(b);
        const bias = ins[2] ? constOf(2, 'the bias') : null;
        layer = nn.layerFromConfig({ className: 'Linear', config: { inFeatures: w.shape[1], outFeatures: w.shape[0], bias: bias !== null, dtype: w.dtype } });
        weights.set('weight', w);
        if (bias) weights.set('bias', bias.reshape([w.shape[0]]));
        key = keyFrom((ins[1] as { origin: string | null }).origin);
        args = [sym(0)];
        break;
      }
      case 'MatMul': {
        const wc = ins[1] as Extract<Value, { kind: 'const' }>;
        const wt = constOf(1, 'the weight');
        if (wt.ndim !== 2) throw new OnnxError(`${where}: a MatMul is a Linear layer only with a 2-D constant weight, got [${wt.shape.join(', ')}]`);
        const w = transpose2d(wt);
        // MatMul then the Add of a constant vector is one Linear layer with a bias.
        const next = nodes[index + 1];
        let bias: Tensor | null = null;
        if (next && next.opType === 'Add' && (uses.get(outs[0]) ?? 0) === 1 && next.input?.includes(outs[0])) {
          const other = values.get(next.input[0] === outs[0] ? next.input[1] : next.input[0]);
          if (other?.kind === 'const' && other.t.size === w.shape[0]) {
            bias = other.t.reshape([w.shape[0]]);
            skip.add(index + 1);
            outs[0] = next.output?.[0] ?? outs[0];
          }
        }
        layer = nn.layerFromConfig({ className: 'Linear', config: { inFeatures: w.shape[1], outFeatures: w.shape[0], bias: bias !== null, dtype: w.dtype } });
        weights.set('weight', w);
        if (bias) weights.set('bias', bias);
        key = keyFrom(wc.transposedFrom ?? wc.origin);
        args = [sym(0)];
        break;
      }
      case 'Conv':
      case 'ConvTranspose': {
        const w = constOf(1, 'the weight');
        const dims = w.ndim - 2;
        if (dims !== 1 && dims !== 2) throw new OnnxError(`${where}: ${dims}-D convolutions have no neurite layer (1-D and 2-D do)`);
        const autoPad = stringAttr(a, 'auto_pad', 'NOTSET');
        if (autoPad !== 'NOTSET' && autoPad !== 'VALID') throw new OnnxError(`${where}: auto_pad ${autoPad} is not supported; export with explicit pads`);
        const pads = intsAttr(a, 'pads') ?? new Array(2 * dims).fill(0);
        const begin = pads.slice(0, dims);
        if (pads.slice(dims).some((p, i) => p !== begin[i])) throw new OnnxError(`${where}: asymmetric padding [${pads.join(', ')}] has no neurite layer`);
        const group = intAttr(a, 'group', 1);
        const stride = intsAttr(a, 'strides') ?? new Array(dims).fill(1);
        const dilation = intsAttr(a, 'dilations') ?? new Array(dims).fill(1);
        const kernel = w.shape.slice(2);
        const one = (v: number[]) => (dims === 1 ? v[0] : v);
        const bias = ins[2] ? constOf(2, 'the bias') : null;
        if (op === 'Conv') {
          layer = nn.layerFromConfig({
            className: `Conv${dims}d`,
            config: {
              inChannels: w.shape[1] * group,
              outChannels: w.shape[0],
              kernelSize: one(kernel),
              stride: one(stride),
              padding: one(begin),
              dilation: one(dilation),
              groups: group,
              bias: bias !== null,
              dtype: w.dtype,
            },
          });
        } else {
          if (a.has('output_shape')) throw new OnnxError(`${where}: output_shape is not supported; export with pads and output_padding`);
          layer = nn.layerFromConfig({
            className: `ConvTranspose${dims}d`,
            config: {
              inChannels: w.shape[0],
              outChannels: w.shape[1] * group,
              kernelSize: one(kernel),
              stride: one(stride),
              padding: one(begin),
              outputPadding: one(intsAttr(a, 'output_padding') ?? new Array(dims).fill(0)),
              dilation: one(dilation),
              groups: group,
              bias: bias !== null,
              dtype: w.dtype,
            },
          });
        }
        weights.set('weight', w);
        if (bias) weights.set('bias', bias);
        key = keyFrom((ins[1] as { origin: string | null }).origin);
        args = [sym(0)];
        break;
      }
      case 'MaxPool':
      case 'AveragePool': {
        const kernel = intsAttr(a, 'kernel_shape');
        if (!kernel) throw new OnnxError(`${where}: kernel_shape is missing`);
        const dims = kernel.length;
        const pads = intsAttr(a, 'pads') ?? new Array(2 * dims).fill(0);
        const begin = pads.slice(0, dims);
        if (pads.slice(dims).some((p, i) => p !== begin[i])) throw new OnnxError(`${where}: asymmetric padding [${pads.join(', ')}] has no neurite layer`);
        const autoPad = stringAttr(a, 'auto_pad', 'NOTSET');
        if (autoPad !== 'NOTSET' && autoPad !== 'VALID') throw new OnnxError(`${where}: auto_pad ${autoPad} is not supported`);
        const one = (v: number[]) => (dims === 1 ? v[0] : v);
        const config: Record<string, unknown> = {
          kernelSize: one(kernel),
          stride: one(intsAttr(a, 'strides') ?? new Array(dims).fill(1)),
          padding: one(begin),
          ceilMode: intAttr(a, 'ceil_mode', 0) === 1,
        };
        if (op === 'MaxPool') config.dilation = one(intsAttr(a, 'dilations') ?? new Array(dims).fill(1));
        else config.countIncludePad = intAttr(a, 'count_include_pad', 0) === 1;
        if (outs.length > 1) throw new OnnxError(`${where}: the indices output of MaxPool is not supported`);
        layer = nn.layerFromConfig({ className: `${op === 'MaxPool' ? 'MaxPool' : 'AvgPool'}${dims}d`, config });
        args = [sym(0)];
        break;
      }
      case 'GlobalAveragePool':
      case 'GlobalMaxPool': {
        const x = sym(0);
        const dims = x.shape.length - 1;
        if (dims !== 1 && dims !== 2) throw new OnnxError(`${where}: ${dims}-D global pooling has no neurite layer`);
        // neurite's GlobalAvg/MaxPool layers say so in the node; anything else is adaptive pooling to 1 (PyTorch's export of it).
        layer =
          node.docString === GLOBAL_POOL_NOTE
            ? nn.layerFromConfig({ className: `Global${op === 'GlobalAveragePool' ? 'Avg' : 'Max'}Pool${dims}d`, config: { keepDims: true } })
            : nn.layerFromConfig({ className: `Adaptive${op === 'GlobalAveragePool' ? 'Avg' : 'Max'}Pool${dims}d`, config: { outputSize: 1 } });
        args = [x];
        break;
      }
      case 'BatchNormalization': {
        const x = sym(0);
        if (outs.length > 1) throw new OnnxError(`${where}: the training outputs of BatchNormalization are not supported`);
        const scale = constOf(1, 'the scale');
        const c = scale.shape[0];
        layer = nn.layerFromConfig({
          className: x.shape.length === 3 ? 'BatchNorm2d' : 'BatchNorm1d',
          config: { numFeatures: c, eps: floatAttr(a, 'epsilon', 1e-5), momentum: 1 - floatAttr(a, 'momentum', 0.9), dtype: scale.dtype },
        });
        weights.set('weight', scale);
        weights.set('bias', constOf(2, 'the bias'));
        weights.set('running_mean', constOf(3, 'the mean'));
        weights.set('running_var', constOf(4, 'the variance'));
        key = keyFrom((ins[1] as { origin: string | null }).origin);
        args = [x];
        break;
      }
      case 'LayerNormalization': {
        const x = sym(0);
        const rank = x.shape.length + 1;
        const axis = intAttr(a, 'axis', -1);
        const first = axis < 0 ? axis + rank : axis;
        if (first < 1) throw new OnnxError(`${where}: normalising over the batch axis has no neurite layer`);
        const scale = constOf(1, 'the scale');
        const bias = ins[2] ? constOf(2, 'the bias') : null;
        layer = nn.layerFromConfig({
          className: 'LayerNorm',
          config: {
            normalizedShape: x.shape.slice(first - 1),
            eps: floatAttr(a, 'epsilon', 1e-5),
            elementwiseAffine: true,
            bias: bias !== null,
            dtype: scale.dtype,
          },
        });
        weights.set('weight', scale);
        if (bias) weights.set('bias', bias);
        key = keyFrom((ins[1] as { origin: string | null }).origin);
        args = [x];
        break;
      }
      case 'Relu':
      case 'Sigmoid':
      case 'Tanh':
      case 'Softsign':
      case 'Abs':
      case 'HardSwish':
      case 'Identity':
      case 'Dropout': {
        const names: Record<string, string> = { Relu: 'ReLU', HardSwish: 'Hardswish', Dropout: 'Identity' };
        layer = nn.layerFromConfig({ className: names[op] ?? op, config: {} });
        args = [sym(0)];
        break;
      }
      case 'Selu': {
        if (Math.abs(floatAttr(a, 'alpha', 1.6732632) - 1.6732632) > 1e-6 || Math.abs(floatAttr(a, 'gamma', 1.0507009) - 1.0507009) > 1e-6)
          throw new OnnxError(`${where}: only the standard SELU constants have a neurite layer`);
        layer = nn.layerFromConfig({ className: 'SELU', config: {} });
        args = [sym(0)];
        break;
      }
      case 'Softplus':
        layer = nn.layerFromConfig({ className: 'Softplus', config: {} });
        args = [sym(0)];
        break;
      case 'LeakyRelu':
        layer = nn.layerFromConfig({ className: 'LeakyReLU', config: { negativeSlope: floatAttr(a, 'alpha', 0.01) } });
        args = [sym(0)];
        break;
      case 'Elu':
        layer = nn.layerFromConfig({ className: 'ELU', config: { alpha: floatAttr(a, 'alpha', 1) } });
        args = [sym(0)];
        break;
      case 'Softmax':
      case 'LogSoftmax':
        layer = nn.layerFromConfig({ className: op, config: { axis: intAttr(a, 'axis', -1) } });
        args = [sym(0)];
        break;
      case 'HardSigmoid': {
        if (Math.abs(floatAttr(a, 'alpha', 0.2) - 1 / 6) > 1e-6 || Math.abs(floatAttr(a, 'beta', 0.5) - 0.5) > 1e-6)
          throw new OnnxError(`${where}: only PyTorch's hard sigmoid (alpha 1/6, beta 0.5) has a neurite layer`);
        layer = nn.layerFromConfig({ className: 'Hardsigmoid', config: {} });
        args = [sym(0)];
        break;
      }
      case 'Clip': {
        const lo = ins[1] ? constOf(1, 'min').data[0] : Number.NEGATIVE_INFINITY;
        const hi = ins[2] ? constOf(2, 'max').data[0] : Number.POSITIVE_INFINITY;
        if (lo === 0 && hi === 6) layer = nn.layerFromConfig({ className: 'ReLU6', config: {} });
        else if (Number.isFinite(lo) && Number.isFinite(hi)) layer = nn.layerFromConfig({ className: 'Hardtanh', config: { minVal: lo, maxVal: hi } });
        else if (lo === 0 && hi === Number.POSITIVE_INFINITY) layer = nn.layerFromConfig({ className: 'ReLU', config: {} });
        else throw new OnnxError(`${where}: a clip to [${lo}, ${hi}] has no neurite layer`);
        args = [sym(0)];
        break;
      }
      case 'PRelu': {
        const slope = constOf(1, 'the slope');
        layer = nn.layerFromConfig({ className: 'PReLU', config: { numParameters: slope.size, dtype: slope.dtype } });
        weights.set('weight', slope.reshape([slope.size]));
        key = keyFrom((ins[1] as { origin: string | null }).origin);
        args = [sym(0)];
        break;
      }
      case 'Flatten': {
        const axis = intAttr(a, 'axis', 1);
        if (axis !== 1) throw new OnnxError(`${where}: only Flatten at axis 1 keeps the batch axis; got axis ${axis}`);
        layer = nn.layerFromConfig({ className: 'Flatten', config: {} });
        args = [sym(0)];
        break;
      }
      case 'Reshape': {
        const computed = ins[1]?.kind === 'shape' ? ins[1].dims : null;
        if (computed?.slice(1).includes('batch')) throw new OnnxError(`${where}: the batch size may only come first in a reshape`);
        const shape = computed ? computed.map((d, i) => (d === 'batch' ? (i === 0 ? 0 : -1) : d)) : Array.from(constOf(1, 'the shape').data as Int32Array);
        if (shape[0] !== 0 && shape[0] !== -1)
          throw new OnnxError(`${where}: a reshape must keep the batch axis (shape starting with 0), got [${shape.join(', ')}]`);
        const rest = shape.slice(1);
        if (shape[0] === -1 && rest.includes(-1)) throw new OnnxError(`${where}: a reshape to [${shape.join(', ')}] does not say which axis is the batch`);
        layer = nn.layerFromConfig({ className: 'Reshape', config: { targetShape: rest } });
        args = [sym(0)];
        break;
      }
      case 'Add':
      case 'Sum':
      case 'Mul':
      case 'Concat': {
        if (ins.some((v) => v?.kind !== 'symbolic'))
          throw new OnnxError(`${where}: adding or multiplying a constant outside a Linear layer has no neurite layer`);
        layer =
          op === 'Concat'
            ? nn.layerFromConfig({ className: 'Concatenate', config: { axis: intAttr(a, 'axis', -1) } })
            : nn.layerFromConfig({ className: op === 'Mul' ? 'Multiply' : 'Add', config: {} });
        args = ins.map((_, i) => sym(i));
        break;
      }
      case 'Gather': {
        const table = constOf(0, 'the embedding table');
        if (intAttr(a, 'axis', 0) !== 0 || table.ndim !== 2) throw new OnnxError(`${where}: only a Gather of rows of a 2-D table is an Embedding`);
        layer = nn.layerFromConfig({ className: 'Embedding', config: { numEmbeddings: table.shape[0], embeddingDim: table.shape[1], dtype: table.dtype } });
        weights.set('weight', table);
        key = keyFrom((ins[0] as { origin: string | null }).origin);
        args = [sym(1)];
        break;
      }
      default:
        throw new OnnxError(`${where}: the operator ${op} has no neurite layer in this import`);
    }
    if (weights.size > 0) {
      layer.loadStateDict(weights, { strict: false });
    }
    if (key !== undefined && ![...values.values()].some((v) => v.kind === 'symbolic' && v.s.node.layer?._name === key)) layer.withName(key);
    let out: nn.SymbolicTensor;
    try {
      out = layer.call(...args) as nn.SymbolicTensor;
    } catch (e) {
      throw new OnnxError(`${where}: ${(e as Error).message}`);
    }
    setOut({ kind: 'symbolic', s: out });
  }
  const outputs = (graph.output ?? []).map((o) => {
    const v = values.get(o.name);
    if (!v) throw new OnnxError(`ONNX import: the graph output '${o.name}' is computed by no node`);
    if (v.kind !== 'symbolic') throw new OnnxError(`ONNX import: the graph output '${o.name}' is a constant`);
    return v.s;
  });
  if (outputs.length === 0) throw new OnnxError('ONNX import: the graph has no outputs');
  const built = new nn.Model({
    inputs: inputs.length === 1 ? inputs[0] : inputs,
    outputs: outputs.length === 1 ? outputs[0] : outputs,
    name: graph.name || undefined,
  });
  // An ONNX file describes inference: the model starts in eval mode (fit() switches to training and back).
  built.eval();
  return { model: built, metadata, producer: model.producerName ?? '' };
}
