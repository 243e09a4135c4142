/**
 * The functional API: models as any directed acyclic graph of layers (Keras'
 * functional API), for skip connections, parallel branches, several inputs and
 * several outputs, and layers shared between branches.
 *
 * ```ts
 * const x = nn.input([784]);                      // per-sample shape; the batch axis is implied
 * const h = new nn.Linear(784, 128).call(x);      // Module.call on a symbolic tensor records a node
 * const y = new nn.Linear(128, 10).call(new nn.ReLU().call(h));
 * const model = new nn.Model({ inputs: x, outputs: y });
 * const logits = model.forward(batch);            // a Tensor; with outputs: [y1, y2] an array
 * ```
 *
 * `layer.call(...)` on symbolic tensors infers the output shape at once by
 * running the layer on a zero batch of one sample (in eval mode, without
 * recording gradients, so neither running statistics nor random streams
 * change), and a layer that rejects its input fails right there, naming
 * itself. `Module.apply` keeps PyTorch's meaning (visit every sub-module),
 * which is why the graph verb is `call`.
 *
 * Serialization contract (see also containers.ts): Model.getConfig() is
 * ```
 * { name?: string,
 *   inputs:  [{name, shape, dtype}],                 // the model's inputs, in forward() order
 *   layers:  [{name, className, config}],            // each distinct layer once, as a LayerSpec
 *   nodes:   [{layer: name, inputs: Ref[]}],         // one per layer call, in a topological order
 *   outputs: Ref | Ref[] }                           // a single Ref when the model was built with one output
 * Ref = {input: k} (the model's k-th input) | {node: j, output: i} (output i of node j)
 * ```
 * Nodes are the calls and refs are the edges, so a layer used twice (shared
 * weights) appears once in `layers` and twice in `nodes`. The registered
 * factory rebuilds the layers through the registry (layerFromConfig), orders
 * the nodes topologically (rejecting cycles and dangling references) and
 * replays the calls, which re-checks every shape.
 */
import type { DType } from '../core/dtype.js';
import { noGrad } from '../core/engine.js';
import { fmtShape, NeuriteError, ShapeError, ValueError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import { zeros } from '../ops/index.js';
import { runChild } from './containers.js';
import { type LayerConfig, Module, symbolicApply } from './module.js';
import { type LayerSpec, layerFromConfig, layerToSpec, registerLayer } from './registry.js';
import type { ModelSummary, SummaryOptions } from './summary.js';

/** One recorded layer call (or a model input, when layer is null). */
interface GraphNode {
  /** Creation order; a node is always created after its inputs, so sorting by id is a topological order. */
  readonly id: number;
  readonly layer: Module | null;
  readonly inputs: readonly SymbolicTensor[];
  readonly outputs: SymbolicTensor[];
  /** True when the layer's forward returned an array. */
  multiOutput: boolean;
}

let nextNodeId = 0;

/**
 * A placeholder for a tensor in a functional graph: its per-sample shape and
 * dtype, and the layer call that produces it. Made by `nn.input()` and by
 * `layer.call(symbolic)`; it holds no data.
 */
export class SymbolicTensor {
  /** Shape of one sample (the batch axis is implied). */
  readonly shape: readonly number[];
  /** The element type of the tensor this stands for. */
  readonly dtype: DType;
  /** @internal */
  readonly node: GraphNode;
  /** Which of the node's outputs this is. */
  readonly index: number;
  /** The name given to nn.input(), if any. */
  readonly name?: string;

  /** @internal use nn.input() or layer.call(). */
  constructor(shape: readonly number[], dtype: DType, node: GraphNode, index: number, name?: string) {
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.node = node;
    this.index = index;
    if (name !== undefined) this.name = name;
  }

  /** True for a graph input (made by nn.input). */
  get isInput(): boolean {
    return this.node.layer === null;
  }

  /** @internal Module.call() lands here when any argument is symbolic. */
  [symbolicApply](layer: Module, args: readonly unknown[]): SymbolicTensor | SymbolicTensor[] {
    return recordCall(layer, args);
  }

  /** E.g. `SymbolicTensor([N, 128], float32) from Linear 'fc1'`. */
  toString(): string {
    const origin = this.node.layer ? `from ${this.node.layer.label}` : `input${this.name ? ` '${this.name}'` : ''}`;
    return `SymbolicTensor([N, ${this.shape.join(', ')}], ${this.dtype}, ${origin})`;
  }
}

/**
 * Map a forward's return type to what layer.call() returns on symbolic
 * inputs. An untyped (any) forward, as Module's own, maps to the widest
 * result, so that every layer type stays assignable to Module.
 */
export type SymbolicOf<T> = 0 extends 1 & T
  ? SymbolicTensor | SymbolicTensor[]
  : [T] extends [Tensor]
    ? SymbolicTensor
    : [T] extends [readonly Tensor[]]
      ? SymbolicTensor[]
      : SymbolicTensor | SymbolicTensor[];

/** Options of nn.input(). */
export interface InputOptions {
  /** Shown in errors and kept in the architecture file. */
  name?: string;
  /** Default float32; int32 for index inputs (Embedding). */
  dtype?: DType;
}

/**
 * A graph input: `nn.input([784])` for samples of shape [784], fed batches of
 * shape [N, 784]. Dimensions are fixed (no unknown sizes besides the batch).
 */
export function input(shape: readonly number[], options: InputOptions = {}): SymbolicTensor {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ValueError(`input: shape must be an array of non-negative integers (one sample, without the batch axis), got ${JSON.stringify(shape)}`);
  }
  const dtype = options.dtype ?? 'float32';
  if (!['float32', 'float64', 'int32', 'bool'].includes(dtype)) throw new ValueError(`input: unknown dtype ${JSON.stringify(dtype)}`);
  if (options.name !== undefined && (typeof options.name !== 'string' || options.name.length === 0)) {
    throw new ValueError(`input: name must be a non-empty string, got ${JSON.stringify(options.name)}`);
  }
  const node: GraphNode = { id: nextNodeId++, layer: null, inputs: [], outputs: [], multiOutput: false };
  const t = new SymbolicTensor(shape, dtype, node, 0, options.name);
  node.outputs.push(t);
  return t;
}

function batchShape(shape: readonly number[]): string {
  return `[N${shape.map((d) => `, ${d}`).join('')}]`;
}

/** Record `layer(...args)` as a node, inferring its outputs' shapes by running it on one zero sample. */
function recordCall(layer: Module, args: readonly unknown[]): SymbolicTensor | SymbolicTensor[] {
  args.forEach((a, i) => {
    if (!(a instanceof SymbolicTensor)) {
      throw new ValueError(
        `${layer.label}.call: argument ${i} is ${a instanceof Tensor ? 'a concrete Tensor' : typeof a} among symbolic tensors; a functional graph takes only symbolic tensors (wrap constants in a layer)`,
      );
    }
  });
  const inputs = args as SymbolicTensor[];
  const samples = inputs.map((s) => zeros([1, ...s.shape], { dtype: s.dtype }));
  const modes = layer.modules().map((m) => [m, m.training] as const);
  let out: unknown;
  try {
    layer.eval();
    out = noGrad(() => layer.forward(...samples));
  } catch (e) {
    if (e instanceof NeuriteError) {
      e.message = `${e.message} (while inferring shapes in a functional graph, from input${inputs.length > 1 ? 's' : ''} ${inputs.map((s) => batchShape(s.shape)).join(', ')} with N = 1)`;
    }
    throw e;
  } finally {
    for (const [m, mode] of modes) m.training = mode;
  }
  const multiOutput = Array.isArray(out);
  const outs = multiOutput ? (out as unknown[]) : [out];
  outs.forEach((t, i) => {
    if (!(t instanceof Tensor)) {
      throw new ValueError(`${layer.label}: forward returned ${multiOutput ? `element ${i} as ` : ''}${typeof t}; a functional graph needs Tensor outputs`);
    }
    if (t.ndim === 0 || t.shape[0] !== 1) {
      throw new ShapeError(
        `${layer.label}: a functional graph needs outputs that keep the batch axis first; one sample gave an output of shape ${fmtShape(t.shape)}`,
      );
    }
  });
  const node: GraphNode = { id: nextNodeId++, layer, inputs: [...inputs], outputs: [], multiOutput };
  for (const [i, t] of (outs as Tensor[]).entries()) node.outputs.push(new SymbolicTensor(t.shape.slice(1), t.dtype, node, i));
  return multiOutput ? [...node.outputs] : node.outputs[0];
}

/** The forward() result of a Model built with `outputs: O`: one Tensor for one output, an array for an array. */
export type ModelOutput<O> = [O] extends [SymbolicTensor] ? Tensor : [O] extends [readonly SymbolicTensor[]] ? Tensor[] : Tensor | Tensor[];

/** What new nn.Model() takes: the graph's inputs and outputs. */
export interface ModelSpec<O extends SymbolicTensor | readonly SymbolicTensor[]> {
  /** The graph inputs (from nn.input), in the order forward() takes them. */
  inputs: SymbolicTensor | readonly SymbolicTensor[];
  /** One output, or an array (forward then returns an array in the same order). */
  outputs: O;
  /** Name shown in errors and summaries. */
  name?: string;
}

/** Reference to a tensor in a saved graph: a model input or an output of a node. */
export type GraphRef =
  | {
      /** Index of the model input. */
      input: number;
    }
  | {
      /** Index of the node (layer call), in execution order. */
      node: number;
      /** Which of the node's outputs. */
      output: number;
    };

/**
 * A model defined by a graph of layer calls between symbolic inputs and
 * outputs (see the top of this file). Layers become its children, keyed by
 * their name (`withName` / the `name` option) or automatically
 * (`linear_1`, `linear_2`, `add_1`, ...), so parameters are named
 * `linear_1.weight`. forward() runs the calls in topological order. A Model
 * is itself a layer: `encoder.call(x)` nests it in a bigger graph.
 */
export class Model<O extends SymbolicTensor | readonly SymbolicTensor[] = SymbolicTensor | readonly SymbolicTensor[]> extends Module {
  static override readonly className = 'Model';
  private readonly _inputs: readonly SymbolicTensor[];
  private readonly _outputs: readonly SymbolicTensor[];
  private readonly _singleOutput: boolean;
  private readonly _nodes: readonly GraphNode[];
  private readonly _layerKeys = new Map<Module, string>();
  private readonly _keyOrder: string[] = [];

  constructor(spec: ModelSpec<O>) {
    super();
    if (typeof spec !== 'object' || spec === null) throw new ValueError('Model: expected {inputs, outputs}');
    if (spec.name !== undefined) this.withName(spec.name);
    const inputs = Array.isArray(spec.inputs) ? [...spec.inputs] : [spec.inputs];
    this._singleOutput = !Array.isArray(spec.outputs);
    const outputs = (Array.isArray(spec.outputs) ? [...spec.outputs] : [spec.outputs]) as SymbolicTensor[];
    if (inputs.length === 0) throw new ValueError(`${this.label}: needs at least one input`);
    if (outputs.length === 0) throw new ValueError(`${this.label}: needs at least one output`);
    inputs.forEach((x, i) => {
      if (!(x instanceof SymbolicTensor) || !x.isInput) throw new ValueError(`${this.label}: inputs[${i}] must be a tensor made by nn.input()`);
      if (inputs.indexOf(x) !== i) throw new ValueError(`${this.label}: inputs[${i}] is listed twice`);
    });
    outputs.forEach((y, i) => {
      if (!(y instanceof SymbolicTensor)) throw new ValueError(`${this.label}: outputs[${i}] must be a symbolic tensor (from nn.input() or layer.call())`);
    });
    this._inputs = inputs;
    this._outputs = outputs;

    // Walk back from the outputs: every node they need, and no input outside `inputs`.
    const needed = new Map<number, GraphNode>();
    const stack = outputs.map((y) => y.node);
    while (stack.length > 0) {
      const node = stack.pop() as GraphNode;
      if (needed.has(node.id)) continue;
      needed.set(node.id, node);
      if (node.layer === null && !inputs.includes(node.outputs[0])) {
        const x = node.outputs[0];
        throw new ValueError(
          `${this.label}: the outputs depend on the input ${x.name ? `'${x.name}' ` : ''}of shape ${batchShape(x.shape)}, which is not listed in inputs`,
        );
      }
      for (const s of node.inputs) stack.push(s.node);
    }
    this._nodes = [...needed.values()].filter((n) => n.layer !== null).sort((a, b) => a.id - b.id);

    const autoCounts = new Map<string, number>();
    const usedKeys = new Set<string>();
    for (const node of this._nodes) {
      const layer = node.layer as Module;
      if (this._layerKeys.has(layer)) continue;
      let key = layer._name;
      if (key !== undefined && usedKeys.has(key))
        throw new ValueError(`${this.label}: two different layers are named '${key}'; names must be unique in a model`);
      if (key === undefined) {
        const base = layer.className.toLowerCase();
        do {
          const n = (autoCounts.get(base) ?? 0) + 1;
          autoCounts.set(base, n);
          key = `${base}_${n}`;
        } while (usedKeys.has(key) || this._nodes.some((other) => other.layer?._name === key));
      }
      if (key in this || key.startsWith('_') || key.includes('.')) {
        throw new ValueError(
          `${this.label}: a layer cannot be named '${key}' (it clashes with a Model property or is not a valid key); rename it with withName()`,
        );
      }
      usedKeys.add(key);
      this._layerKeys.set(layer, key);
      this._keyOrder.push(key);
      (this as unknown as Record<string, Module>)[key] = layer;
    }
  }

  override *namedChildren(): Generator<[string, Module]> {
    for (const key of this._keyOrder) yield [key, (this as unknown as Record<string, Module>)[key]];
  }

  /** The symbolic inputs, in forward() order. */
  get inputs(): readonly SymbolicTensor[] {
    return this._inputs;
  }

  /** The symbolic outputs, in the order forward() returns them. */
  get outputs(): readonly SymbolicTensor[] {
    return this._outputs;
  }

  /** Per-sample shapes of the inputs. */
  get inputShapes(): number[][] {
    return this._inputs.map((x) => [...x.shape]);
  }

  /** The distinct layers, in the order of their first call. */
  get layers(): Module[] {
    return this._keyOrder.map((k) => (this as unknown as Record<string, Module>)[k]);
  }

  /** A layer by its key in this model. */
  getLayer(key: string): Module {
    if (!this._keyOrder.includes(key)) throw new ValueError(`${this.label}: no layer named '${key}'; layers: ${this._keyOrder.join(', ')}`);
    return (this as unknown as Record<string, Module>)[key];
  }

  private inputName(i: number): string {
    return this._inputs[i].name ?? `input_${i + 1}`;
  }

  forward(...inputs: Tensor[]): ModelOutput<O> {
    if (inputs.length !== this._inputs.length) {
      throw new ValueError(
        `${this.label}: expected ${this._inputs.length} input tensor${this._inputs.length > 1 ? 's' : ''} (${this._inputs.map((_, i) => this.inputName(i)).join(', ')}), got ${inputs.length}`,
      );
    }
    const values = new Map<SymbolicTensor, Tensor>();
    inputs.forEach((x, i) => {
      const spec = this._inputs[i];
      if (!(x instanceof Tensor)) throw new ValueError(`${this.label}: input ${i} ('${this.inputName(i)}') must be a Tensor, got ${typeof x}`);
      if (x.ndim !== spec.shape.length + 1 || spec.shape.some((d, j) => x.shape[j + 1] !== d)) {
        throw new ShapeError(`${this.label}: input ${i} ('${this.inputName(i)}') expected shape ${batchShape(spec.shape)}, got ${fmtShape(x.shape)}`);
      }
      values.set(spec, x);
    });
    for (const node of this._nodes) {
      const layer = node.layer as Module;
      const args = node.inputs.map((s) => values.get(s) as Tensor);
      const key = this._layerKeys.get(layer) as string;
      const out = runChild(key, layer, () => layer.forward(...args));
      if (node.multiOutput) {
        if (!Array.isArray(out) || out.length !== node.outputs.length) {
          throw new ValueError(
            `${layer.label}: returned ${Array.isArray(out) ? out.length : 'a single'} output(s) where the graph was built with ${node.outputs.length}`,
          );
        }
        for (const [i, t] of out.entries()) values.set(node.outputs[i], t);
      } else values.set(node.outputs[0], out);
    }
    const results = this._outputs.map((s) => values.get(s) as Tensor);
    return (this._singleOutput ? results[0] : results) as ModelOutput<O>;
  }

  /** The layer table; the input shapes default to the model's own. */
  override summary(inputShape?: readonly number[] | readonly (readonly number[])[], options: SummaryOptions = {}): ModelSummary {
    return super.summary(inputShape ?? this.inputShapes, { dtypes: this._inputs.map((x) => x.dtype), ...options });
  }

  override getConfig(): LayerConfig {
    const nodeIndex = new Map(this._nodes.map((n, j) => [n, j]));
    const ref = (s: SymbolicTensor): GraphRef =>
      s.node.layer === null ? { input: this._inputs.indexOf(s) } : { node: nodeIndex.get(s.node) as number, output: s.index };
    const config: LayerConfig = {
      inputs: this._inputs.map((x, i) => ({ name: this.inputName(i), shape: [...x.shape], dtype: x.dtype })),
      layers: this.layers.map((layer) => ({ ...layerToSpec(layer), name: this._layerKeys.get(layer) as string })),
      nodes: this._nodes.map((n) => ({ layer: this._layerKeys.get(n.layer as Module) as string, inputs: n.inputs.map(ref) })),
      outputs: this._singleOutput ? ref(this._outputs[0]) : this._outputs.map(ref),
    };
    if (this._name !== undefined) config.name = this._name;
    return config;
  }

  override extraRepr(): string {
    return `inputs=${this._inputs.map((x) => batchShape(x.shape)).join(', ')}`;
  }
}

function isPlainRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Rebuild a Model from its getConfig(); see the contract at the top of this file. */
function modelFromConfig(c: LayerConfig): Model {
  const fail = (msg: string): never => {
    throw new ValueError(`Model config: ${msg}`);
  };
  if (!Array.isArray(c.inputs) || c.inputs.length === 0) fail(`inputs must be a non-empty array of {name, shape, dtype}, got ${JSON.stringify(c.inputs)}`);
  if (!Array.isArray(c.layers)) fail(`layers must be an array of {name, className, config}, got ${JSON.stringify(c.layers)}`);
  if (!Array.isArray(c.nodes)) fail(`nodes must be an array of {layer, inputs}, got ${JSON.stringify(c.nodes)}`);
  const inputSpecs = c.inputs as unknown[];
  const layerSpecs = c.layers as unknown[];
  const nodeSpecs = c.nodes as unknown[];

  const inputs = inputSpecs.map((s, i) => {
    if (!isPlainRecord(s)) return fail(`inputs[${i}] must be {name, shape, dtype}`);
    return input(s.shape as number[], { name: s.name as string | undefined, dtype: s.dtype as DType | undefined });
  });
  const layers = new Map<string, Module>();
  for (const [i, s] of layerSpecs.entries()) {
    if (!isPlainRecord(s) || typeof s.name !== 'string') fail(`layers[${i}] must be {name, className, config} with a string name`);
    const spec = s as unknown as LayerSpec & { name: string };
    if (layers.has(spec.name)) fail(`layers[${i}]: the name '${spec.name}' is used twice`);
    layers.set(spec.name, layerFromConfig(spec, `layers[${i}]`));
  }

  const checkRef = (r: unknown, where: string): GraphRef => {
    if (isPlainRecord(r) && typeof r.input === 'number' && Number.isInteger(r.input) && r.input >= 0 && r.input < inputs.length) return { input: r.input };
    if (
      isPlainRecord(r) &&
      Number.isInteger(r.node) &&
      Number.isInteger(r.output) &&
      (r.node as number) >= 0 &&
      (r.node as number) < nodeSpecs.length &&
      (r.output as number) >= 0
    ) {
      return { node: r.node as number, output: r.output as number };
    }
    return fail(`${where} must be {input: k} with k < ${inputs.length} or {node: j, output: i} with j < ${nodeSpecs.length}, got ${JSON.stringify(r)}`);
  };
  const nodes = nodeSpecs.map((s, j) => {
    if (!isPlainRecord(s) || typeof s.layer !== 'string' || !Array.isArray(s.inputs)) return fail(`nodes[${j}] must be {layer: name, inputs: Ref[]}`);
    const layer = layers.get(s.layer) ?? fail(`nodes[${j}] calls the unknown layer '${s.layer}'`);
    return { layer, inputs: (s.inputs as unknown[]).map((r, k) => checkRef(r, `nodes[${j}].inputs[${k}]`)) };
  });

  // Kahn's algorithm: a node runs once every node it reads from has run.
  const pending = nodes.map((n) => new Set(n.inputs.filter((r): r is { node: number; output: number } => 'node' in r).map((r) => r.node)));
  const order: number[] = [];
  const done = new Set<number>();
  while (order.length < nodes.length) {
    const ready = pending.findIndex((deps, j) => !done.has(j) && [...deps].every((d) => done.has(d)));
    if (ready < 0) {
      const stuck = nodes.map((_, j) => j).filter((j) => !done.has(j));
      fail(`the graph has a cycle among nodes ${stuck.join(', ')}`);
    }
    order.push(ready);
    done.add(ready);
  }

  const produced: SymbolicTensor[][] = [];
  const resolve = (r: GraphRef, where: string): SymbolicTensor => {
    if ('input' in r) return inputs[r.input];
    const outs = produced[r.node];
    if (r.output >= outs.length) fail(`${where} reads output ${r.output} of node ${r.node}, which has ${outs.length} output(s)`);
    return outs[r.output];
  };
  for (const j of order) {
    const n = nodes[j];
    const args = n.inputs.map((r, k) => resolve(r, `nodes[${j}].inputs[${k}]`));
    const result = n.layer.call(...args);
    produced[j] = Array.isArray(result) ? result : [result];
  }
  const outputs = Array.isArray(c.outputs)
    ? c.outputs.map((r, i) => resolve(checkRef(r, `outputs[${i}]`), `outputs[${i}]`))
    : resolve(checkRef(c.outputs, 'outputs'), 'outputs');
  return new Model({ inputs, outputs, name: c.name as string | undefined });
}

registerLayer(Model.className, modelFromConfig);
