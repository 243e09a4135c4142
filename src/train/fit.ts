import { type CompiledFunction, compile, type DeviceCompiledFunction } from '../compile/compile.js';
import { detectAnomaly, getTrainingDevice, noGrad, openTrainingDevice } from '../core/engine.js';
import { fmtShape, ShapeError, ValueError } from '../core/errors.js';
import type { AbortSignalLike } from '../core/platform.js';
import { defaultGenerator, deriveGenerator, Generator, withGenerator } from '../core/random.js';
import { Tensor } from '../core/tensor.js';
import { hostStep } from '../core/trace.js';
import { check } from '../core/validate.js';
import { type Batch, DataLoader, type IndexedDataset, TensorDataset } from '../data/dataset.js';
import { getLoss, type Loss, type LossName } from '../nn/losses.js';
import type { Module } from '../nn/module.js';
import type { Parameter } from '../nn/parameter.js';
import { concat } from '../ops/index.js';
import type { StepExecutor } from '../ops/primitives.js';
import { clipGradNorm } from '../optim/clip.js';
import { Optimizer } from '../optim/optimizer.js';
import { l1Penalty, l2Penalty } from '../optim/penalty.js';
import { type BatchLogs, type Callback, type GradientCheck, now, type OptimizerLike, ProgressLogger, TerminateOnNaN, type TrainContext } from './callbacks.js';
import type { DistributedStrategy } from './distributed.js';
import { type EpochLogs, History } from './history.js';
import { getMetric, type Metric, type MetricSpec } from './metrics.js';

/** A loss: prediction and target in, a scalar tensor out (averaged over the batch, so epoch losses are sample-weighted means). */
export type LossFn = (prediction: Tensor, target: Tensor) => Tensor;

/** A loss by name ('mse', 'crossEntropy', 'bceWithLogits'...: see nn.registeredLosses()), as a function, or as a Loss module. */
export type LossSpec = LossName | LossFn | Loss<string>;

/**
 * Training or evaluation data: tensors `{x, y}` (batched by fit), an indexed
 * dataset such as TensorDataset (batched by fit), or ready-made batches: a
 * DataLoader or any iterable / async iterable of `{x, y}` that yields a fresh
 * pass each time it is iterated (a generator function's result can be iterated
 * only once; wrap it in `{ [Symbol.iterator]: () => gen() }`).
 */
export type Data =
  | {
      /** Inputs, one sample per row of the first axis. */
      x: Tensor;
      /** Targets, one per sample. */
      y?: Tensor;
    }
  | IndexedDataset
  | Iterable<Batch>
  | AsyncIterable<Batch>;

/** An optimizer, or a function building one over the model's trainable parameters (needed by model selection, which builds a model per run). */
export type OptimizerSpec = OptimizerLike | ((params: Parameter[]) => OptimizerLike);

/** Options of fit(). */
export interface FitOptions {
  /** The loss: a name such as 'mse' or 'crossEntropy', a function (prediction, target) => scalar tensor, or a Loss module. */
  loss: LossSpec;
  /** The optimizer: a name ('sgd', 'adam'...), an instance, or a factory given the model. */
  optimizer: OptimizerSpec;
  /** Train until this epoch (exclusive; default 1). With initialEpoch, the number of epochs run is epochs - initialEpoch. */
  epochs?: number;
  /** Epoch to start from when resuming (default 0): it only shifts epoch numbers, the caller restores weights and optimizer state. */
  initialEpoch?: number;
  /** Samples per batch for tensor and dataset data (default 32; Infinity or any value >= the sample count: full batch). */
  batchSize?: number;
  /** Reshuffle tensor and dataset data every epoch (default true). */
  shuffle?: boolean;
  /**
   * The generator behind shuffling and the random ops of each step (dropout).
   * Default: shuffling draws from the global generator, and each step from a
   * stream of this fit call derived from the global generator's state when it
   * starts, so `seed(n)` reproduces a run even when other code (another fit on
   * another model) draws random numbers while it trains.
   */
  generator?: Generator;
  /** Hold out this fraction of the samples, taken from the end before any shuffling (as Keras does), for validation. */
  validationSplit?: number;
  /** Data to evaluate after each epoch. */
  validationData?: Data;
  /** Batch size for validation (default: batchSize). */
  validationBatchSize?: number;
  /** Metrics to report per epoch, by name ('accuracy', 'f1'...), as Metric objects or as per-batch functions. */
  metrics?: readonly MetricSpec[];
  /** Hooks run during training, in order. */
  callbacks?: readonly Callback[];
  /** Stop after the current batch when this signal aborts: fit resolves with the history so far and `history.stopped === 'aborted'`. */
  signal?: AbortSignalLike;
  /** 1 or true: print a line per epoch through a ProgressLogger (default 0: silent). */
  verbose?: 0 | 1 | boolean;
  /** Where verbose lines go (default console.log). */
  log?: (line: string) => void;
  /** Add l1·Σ|w| to the objective for every trainable weight with two or more dimensions (biases and norm scales are left alone). */
  l1?: number;
  /** Add l2·Σw² (Keras's convention: the gradient is 2·l2·w) to the objective for the same weights. */
  l2?: number;
  /** Rescale the gradients so that their global L2 norm is at most this (as PyTorch's clip_grad_norm_). */
  clipGradNorm?: number;
  /** Throw a NonFiniteLossError as soon as the loss is NaN or infinite (default true). */
  terminateOnNaN?: boolean;
  /** Yield to the event loop when this many milliseconds passed since the last yield (default 15), so pages and timers stay responsive. */
  yieldEveryMs?: number;
  /** Run every step under detectAnomaly: the first op that makes a NaN or an Infinity, forward or backward, throws an AnomalyError naming it (slow; for debugging). */
  detectAnomaly?: boolean;
  /**
   * Compile the training step (see {@link compile}): after three eager steps per
   * batch shape, each step replays the recorded kernels (forward, backward,
   * clipping and the optimizer's update) on planned storage, with the same
   * numbers as eager training. Steps that cannot be compiled (an optimizer that
   * re-evaluates the loss such as L-BFGS, an onBeforeOptimizerStep callback,
   * detectAnomaly) run eagerly, said once through `log`. Default false.
   */
  compile?: boolean;
  /**
   * Where the training step runs: 'cpu' (the active backend), 'webgpu' (the
   * GPU, opened once per process; a software adapter is refused unless
   * setBackend('webgpu', { allowFallback: true }) or
   * NEURITE_WEBGPU_ALLOW_FALLBACK=1 allowed it), or a device from
   * `await openWebGpu()`. On a device the step is compiled (compile: false is
   * an error): the first three steps per batch shape run on the CPU, then
   * each step's kernels run on the device, where the weights and the
   * optimizer state stay; each batch's loss and prediction come back, and
   * the NaN guard checks the gradients there. Validation runs on the device
   * too. The weights (and optimizer state) are copied back to the CPU at
   * every epoch's end, before the onEpochEnd callbacks, and when fit returns
   * or throws; an onBatchEnd callback that reads weights sees those of the
   * last epoch's end. A step that cannot be compiled trains on the CPU, said
   * once through `log`. Default: 'webgpu' after setBackend('webgpu') or with
   * NEURITE_BACKEND=webgpu, else 'cpu'.
   */
  device?: DeviceOption;
  /**
   * Train as one replica of several (see `distributed.init()` and
   * `neurite launch`): tensor and dataset data are sharded by rank (batchSize
   * is per replica), gradients are synchronized before every update as the
   * strategy's mode says, and each epoch's loss and metrics are the
   * sample-weighted means over all replicas, the same on each. Batches
   * given ready-made (a DataLoader, an iterable) are used as they are:
   * shard them yourself.
   */
  distributed?: DistributedStrategy;
}

/** Where fit, evaluate and predict run: 'cpu', 'webgpu' (opened once per process) or a device from openWebGpu(). */
export type DeviceOption = 'cpu' | 'webgpu' | TrainingDevice;

/** A device that replays compiled training steps: what openWebGpu() returns, or anything with a StepExecutor. */
export interface TrainingDevice {
  /** Replays compiled steps on the device. */
  readonly executor: StepExecutor;
}

/** Options of evaluate(). */
export interface EvaluateOptions {
  /** Report the sample-weighted mean of this loss as 'loss'. */
  loss?: LossSpec;
  /** Metrics to report beside the loss (names or Metric objects). */
  metrics?: readonly MetricSpec[];
  /** Samples per batch for tensor and dataset data (default 32). */
  batchSize?: number;
  /** Give up between batches when this signal aborts (the promise rejects with the signal's reason). */
  signal?: AbortSignalLike;
  /** Yield to the event loop when this many milliseconds passed since the last yield (default 15), as fit does. */
  yieldEveryMs?: number;
  /** Compile the model's forward pass (see {@link compile}); same numbers, less overhead per batch. Default false. */
  compile?: boolean;
  /** Run the forward passes on a device (see FitOptions.device; the default follows setBackend in the same way): compiled there, each batch's outputs copied back. */
  device?: DeviceOption;
}

/** Options of predict(). */
export interface PredictOptions {
  /** Samples per batch (default 32). */
  batchSize?: number;
  /** Stop at the next batch boundary when this signal aborts. */
  signal?: AbortSignalLike;
  /** Yield to the event loop when this many milliseconds passed since the last yield (default 15), as fit does. */
  yieldEveryMs?: number;
  /** Compile the model's forward pass (see {@link compile}); same numbers, less overhead per batch. Default false. */
  compile?: boolean;
  /** Run the forward passes on a device (see FitOptions.device; the default follows setBackend in the same way): compiled there, each batch's outputs copied back. */
  device?: DeviceOption;
}

/** A pass over the data as async-iterable batches, plus the batch count when it is known. */
interface BatchSource {
  batches(): AsyncIterable<Batch> | Iterable<Batch>;
  steps: number | undefined;
}

function isIterable(x: unknown): x is Iterable<Batch> {
  return x != null && typeof (x as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';
}

function isAsyncIterable(x: unknown): x is AsyncIterable<Batch> {
  return x != null && typeof (x as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
}

function isIndexedDataset(x: unknown): x is IndexedDataset {
  return x != null && typeof (x as IndexedDataset).getBatch === 'function' && typeof (x as IndexedDataset).length === 'number';
}

function isTensorPair(x: unknown): x is { x: Tensor; y?: Tensor } {
  return x != null && typeof x === 'object' && (x as { x?: unknown }).x instanceof Tensor && !isIndexedDataset(x);
}

/** Tensors and datasets become a dataset (so that they can be split and batched); anything else must already be batches. */
function asDataset(op: string, data: Data): IndexedDataset | null {
  if (data instanceof TensorDataset || isIndexedDataset(data)) return data;
  if (isTensorPair(data)) {
    if (data.y !== undefined && !(data.y instanceof Tensor)) throw new ValueError(`${op}: y must be a Tensor`);
    if (data.x.ndim === 0) throw new ShapeError(`${op}: x must have a sample axis, got a scalar`);
    if (data.y !== undefined && (data.y.ndim === 0 || data.y.shape[0] !== data.x.shape[0])) {
      throw new ShapeError(`${op}: x has ${data.x.shape[0]} samples (shape ${fmtShape(data.x.shape)}) but y has shape ${fmtShape(data.y.shape)}`);
    }
    return new TensorDataset(data.x, data.y);
  }
  if (isIterable(data) || isAsyncIterable(data)) return null;
  throw new ValueError(`${op}: data must be {x, y} tensors, a TensorDataset, a DataLoader or an iterable of {x, y} batches`);
}

function checkBatchSize(op: string, batchSize: number): number {
  if (!(batchSize >= 1) || (!Number.isInteger(batchSize) && batchSize !== Number.POSITIVE_INFINITY)) {
    throw new ValueError(`${op}: batchSize must be a positive integer, got ${batchSize}`);
  }
  return batchSize;
}

/** Data resolved once: a dataset that fit batches (and may split), or ready-made batches. */
type ResolvedData = { dataset: IndexedDataset } | { batches: Iterable<Batch> | AsyncIterable<Batch> };

function resolveData(op: string, data: Data): ResolvedData {
  const dataset = asDataset(op, data);
  return dataset ? { dataset } : { batches: data as Iterable<Batch> | AsyncIterable<Batch> };
}

/**
 * Batches for a dataset, or the batches themselves when the data came
 * batched. `batchSizeGiven` says whether the caller chose batchSize for this
 * data (an error with batched data) or it was inherited (ignored then).
 */
function batchSource(
  op: string,
  data: ResolvedData,
  loaderOptions: { batchSize?: number; shuffle?: boolean; generator?: Generator; shard?: { rank: number; worldSize: number } },
  batchSizeGiven = loaderOptions.batchSize !== undefined,
): BatchSource {
  if ('dataset' in data) {
    const loader = new DataLoader(data.dataset, { ...loaderOptions, batchSize: checkBatchSize(op, loaderOptions.batchSize ?? 32) });
    return { batches: () => loader, steps: loader.length };
  }
  if (batchSizeGiven) {
    throw new ValueError(`${op}: batchSize applies to tensors and datasets; this data is already batched (set the batch size on the DataLoader)`);
  }
  const length = (data.batches as { length?: unknown }).length;
  return { batches: () => data.batches, steps: typeof length === 'number' ? length : undefined };
}

function checkBatch(op: string, batch: Batch, index: number, needTarget: boolean): void {
  if (batch === null || typeof batch !== 'object' || !(batch.x instanceof Tensor)) {
    throw new ValueError(`${op}: batch ${index} is not an {x, y} object with a Tensor x`);
  }
  if (needTarget && !(batch.y instanceof Tensor)) throw new ValueError(`${op}: batch ${index} has no target tensor y`);
}

function forward(op: string, model: Module, x: Tensor): Tensor {
  const out = model.forward(x);
  if (!(out instanceof Tensor)) throw new ValueError(`${op}: ${model.label}.forward must return a Tensor, got ${out === null ? 'null' : typeof out}`);
  return out;
}

function computeLoss(op: string, lossFn: LossFn, prediction: Tensor, target: Tensor): Tensor {
  const loss = lossFn(prediction, target);
  if (!(loss instanceof Tensor) || loss.size !== 1) {
    throw new ValueError(
      `${op}: the loss must return a scalar Tensor (use reduction 'mean'), got ${loss instanceof Tensor ? `shape ${fmtShape(loss.shape)}` : typeof loss}`,
    );
  }
  return loss;
}

function checkLoss(op: string, loss: LossSpec): LossFn {
  if (loss === undefined || loss === null)
    throw new ValueError(`${op}: a loss is required: a name such as 'mse' or 'crossEntropy', a function, or a Loss module`);
  return getLoss(loss);
}

/** Every module's own training flag, so that a mix (a frozen BatchNorm kept in eval mode) comes back as it was. */
function saveModes(model: Module): Map<Module, boolean> {
  return new Map(model.modules().map((m) => [m, m.training]));
}

function restoreModes(modes: Map<Module, boolean>): void {
  for (const [m, training] of modes) m.training = training;
}

/**
 * Run one batch (synchronous work) in training or evaluation mode, and put
 * every module's flag back afterwards. The mode belongs to the batch, not to
 * the whole call: fit, evaluate and predict on one model may interleave at
 * their awaits (a page predicting while it trains), and each batch still runs
 * in its own call's mode, so a predict during fit never runs with dropout on
 * or updates batch-norm statistics.
 */
function inMode<T>(model: Module, training: boolean, batch: () => T): T {
  const modes = saveModes(model);
  model.train(training);
  try {
    return batch();
  } finally {
    restoreModes(modes);
  }
}

/** inMode for a batch that awaits (a step on a device): the modes hold until it settles. */
async function inModeAsync<T>(model: Module, training: boolean, batch: () => Promise<T>): Promise<T> {
  const modes = saveModes(model);
  model.train(training);
  try {
    return await batch();
  } finally {
    restoreModes(modes);
  }
}

/**
 * Hand control back to the event loop: setImmediate in Node, a MessageChannel
 * message in browsers (setTimeout would be clamped to 4 ms there after a few
 * nested calls).
 */
function yieldToEventLoop(): Promise<void> {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown; MessageChannel?: typeof MessageChannel };
  if (typeof g.setImmediate === 'function') return new Promise((resolve) => g.setImmediate?.(resolve));
  if (typeof g.MessageChannel === 'function') {
    return new Promise((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        channel.port1.close();
        resolve();
      };
      channel.port2.postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Hands control to the event loop once `everyMs` have passed since it last did (fit, evaluate and predict share it). */
class Yielder {
  private last = now();
  constructor(private readonly everyMs: number) {}

  static fromOption(op: string, everyMs: number | undefined): Yielder {
    const ms = everyMs ?? 15;
    if (!(ms >= 0)) throw new ValueError(`${op}: yieldEveryMs must be >= 0, got ${ms}`);
    return new Yielder(ms);
  }

  async maybeYield(): Promise<void> {
    if (now() - this.last >= this.everyMs) {
      await yieldToEventLoop();
      this.last = now();
    }
  }
}

function resolveOptimizer(model: Module, spec: OptimizerSpec): OptimizerLike {
  const optimizer = typeof spec === 'function' ? spec(model.trainableParameters()) : spec;
  if (optimizer === null || typeof optimizer !== 'object' || typeof optimizer.step !== 'function' || typeof optimizer.zeroGrad !== 'function') {
    throw new ValueError('fit: optimizer must be an optimizer (with step() and zeroGrad()) or a function (params) => optimizer');
  }
  if (!Array.isArray(optimizer.paramGroups) || optimizer.paramGroups.length === 0) throw new ValueError('fit: the optimizer has no parameter groups');
  return optimizer;
}

function nonNegativeOption(name: string, value: number | undefined): number {
  if (value === undefined) return 0;
  if (!(value >= 0) || !Number.isFinite(value)) throw new ValueError(`fit: ${name} must be a finite number >= 0, got ${value}`);
  return value;
}

/** l1·Σ|w| + l2·Σw² over the given weights. */
function weightPenalty(weights: readonly Parameter[], l1: number, l2: number): Tensor {
  const l1Term = l1 > 0 ? l1Penalty(weights).mul(l1) : null;
  const l2Term = l2 > 0 ? l2Penalty(weights).mul(l2) : null;
  return l1Term && l2Term ? l1Term.add(l2Term) : ((l1Term ?? l2Term) as Tensor);
}

/**
 * Metric objects for the specs. Binary predictions of a model trained with a
 * logits loss ('bceWithLogits') are logits, so named metrics threshold them at 0.
 */
function resolveMetrics(op: string, specs: readonly MetricSpec[] | undefined, loss?: LossSpec): Metric[] {
  if (specs === undefined) return [];
  if (!Array.isArray(specs)) throw new ValueError(`${op}: metrics must be an array`);
  const threshold = typeof loss === 'string' && /logits/i.test(loss) ? 0 : undefined;
  const metrics = specs.map((s) => getMetric(s, { threshold }));
  const names = new Set<string>();
  for (const m of metrics) {
    if (m.name === 'loss' || m.name === 'lr' || names.has(m.name))
      throw new ValueError(`${op}: metric name '${m.name}' is used twice or clashes with 'loss'/'lr'`);
    names.add(m.name);
  }
  return metrics;
}

function valKey(name: string): string {
  return `val${name[0].toUpperCase()}${name.slice(1)}`;
}

function checkSignal(signal: AbortSignalLike | undefined, op: string): AbortSignalLike | undefined {
  if (signal !== undefined && (signal === null || typeof signal.aborted !== 'boolean')) throw new ValueError(`${op}: signal must be an AbortSignal`);
  return signal;
}

/**
 * Train a model. Each batch runs, in the model's training mode: zeroGrad,
 * forward, loss (+ l1/l2 penalty), backward, optional gradient clipping, then
 * optimizer.step. Forward and backward run inside a closure passed to
 * `optimizer.step(closure)`, so optimizers that re-evaluate the loss (L-BFGS)
 * work too. Validation, if any, runs after every epoch in evaluation mode.
 *
 * The returned promise resolves with the History once the last epoch ends,
 * a callback stops training, or `signal` aborts (then after the current batch;
 * the unfinished epoch is not recorded and `history.stopped` is 'aborted').
 * It rejects on errors, including a NaN loss (NonFiniteLossError). Every
 * module's train/eval flag is restored at the end.
 *
 * Long runs stay responsive: fit hands control to the event loop whenever
 * `yieldEveryMs` have passed (between batches), in Node and in browsers.
 *
 * @example
 * const history = await fit(model, { x, y }, {
 *   loss: 'crossEntropy',
 *   optimizer: new optim.Adam(model.parameters(), { lr: 1e-3 }),
 *   epochs: 20,
 *   batchSize: 64,
 *   validationSplit: 0.1,
 *   metrics: ['accuracy'],
 *   callbacks: [new EarlyStopping({ patience: 3, restoreBestWeights: true })],
 * });
 * history.get('valAccuracy');
 */
export async function fit(model: Module, data: Data, options: FitOptions): Promise<History> {
  // Everything but opening the GPU happens at the call (the step's random stream is derived now, as without a device).
  const choice = deviceChoice('fit', options);
  const run = prepareRun(model, data, options, choice);
  if (choice === 'webgpu') onDevice(run, options, (await openTrainingDevice('webgpu')) as TrainingDevice);
  const modes = saveModes(model);
  try {
    // Callbacks see the model in training mode; each batch also sets it for itself (inMode).
    model.train();
    if (run.distributed) await run.distributed.begin(model, run.optimizer);
    for (const c of run.callbacks) await c.onTrainBegin?.(run.ctx);
    for (; run.epoch < run.epochs && run.stopReason === null && !run.aborted; run.epoch++) {
      const logs = await trainEpoch(run);
      // The strategy reads the weights on the CPU; validation runs on the device, with its copies.
      if (run.distributed) await run.onDevice?.pull();
      if (logs === null) break;
      run.distributed?.epochEnd(model);
      if (run.validation) {
        const valLogs = await validate(run);
        if (valLogs === null) break;
        for (const [k, v] of Object.entries(valLogs)) logs[valKey(k)] = v;
      }
      // The callbacks (a checkpoint, early stopping's best weights) read the weights: the CPU's copies become the ones that count.
      await run.onDevice?.pull();
      logs.lr = run.epochLr;
      run.history.record(run.epoch, logs);
      for (const c of run.callbacks) await c.onEpochEnd?.(run.epoch, logs, run.ctx);
      await run.yielder.maybeYield();
    }
    const history = await finish(run);
    if (run.distributed) await run.distributed.end(model);
    return history;
  } finally {
    restoreModes(modes);
    // Also when a step threw (a NaN loss, an abort): the model and optimizer hold the last step's values.
    await run.onDevice?.pull();
  }
}

/** The device the options (or setBackend) name: 'cpu', 'webgpu' (opened by the caller) or one opened already. */
function deviceChoice(op: string, options: { device?: DeviceOption } | undefined): DeviceOption {
  const choice = options?.device ?? getTrainingDevice();
  if (choice === 'cpu' || choice === 'webgpu') return choice;
  const executor = (choice as Partial<TrainingDevice> | null)?.executor;
  if (typeof executor?.run !== 'function' || typeof executor.pull !== 'function') {
    throw new ValueError(
      `${op}: device must be 'cpu', 'webgpu' or a device from openWebGpu(), got ${typeof choice === 'string' ? `'${choice}'` : typeof choice}`,
    );
  }
  return choice as TrainingDevice;
}

/** The device named, opened (null: the CPU). */
async function openDevice(op: string, options: { device?: DeviceOption; compile?: boolean } | undefined): Promise<TrainingDevice | null> {
  const choice = deviceChoice(op, options);
  if (choice === 'cpu') return null;
  if (options?.compile === false) throw new ValueError(`${op}: a device runs compiled steps; leave compile unset (or true) to run on one`);
  return choice === 'webgpu' ? ((await openTrainingDevice('webgpu')) as TrainingDevice) : choice;
}

/** Compile the run's training step and validation pass for `device` (or say once through `log` why it trains on the CPU). */
function onDevice(run: Run, options: FitOptions, device: TrainingDevice): void {
  const step = compileTrainStep(run, options.log ?? ((line: string) => console.log(line)), device.executor);
  (run as { onDevice: Run['onDevice'] }).onDevice = step;
  if (step !== null) (run as { validationForward: Run['validationForward'] }).validationForward = deviceForward('fit', run.model, device);
}

/** Everything one fit() call works with, checked and resolved once. */
interface Run {
  readonly model: Module;
  readonly lossFn: LossFn;
  readonly optimizer: OptimizerLike;
  readonly epochs: number;
  readonly initialEpoch: number;
  /** Trainable parameters (gradient clipping) and the weights that l1/l2 apply to. */
  readonly trainable: Parameter[];
  readonly regularized: Parameter[];
  readonly l1: number;
  readonly l2: number;
  readonly clipNorm: number | undefined;
  readonly metrics: Metric[];
  readonly train: BatchSource;
  readonly validation: BatchSource | undefined;
  readonly callbacks: Callback[];
  readonly signal: AbortSignalLike | undefined;
  readonly yielder: Yielder;
  readonly detectAnomaly: boolean;
  /** The replicas this run trains with, if any. */
  readonly distributed: DistributedStrategy | undefined;
  /** The compiled training step, when fit was asked to compile and the step can be. */
  readonly compiled: CompiledFunction<[Tensor, Tensor], { prediction: Tensor; loss: Tensor }> | null;
  /** The training step compiled for a device, when fit trains on one and the step can be compiled. */
  readonly onDevice: DeviceCompiledFunction<[Tensor, Tensor], { prediction: Tensor; loss: Tensor }> | null;
  /** The batch being trained and its size, read by the compiled step's host steps. */
  batch: number;
  batchSize: number;
  /** The forward pass validation runs (compiled when fit compiles). */
  readonly validationForward: Forward | undefined;
  /** Where each step's random ops draw from. */
  readonly stream: Generator;
  readonly history: History;
  readonly ctx: TrainContext;
  epoch: number;
  step: number;
  /** The learning rate when the current epoch began (reported as 'lr'). */
  epochLr: number;
  stopReason: string | null;
  aborted: boolean;
}

/** Check the options and resolve the data (once), the optimizer, the metrics and the callbacks. */
function prepareRun(model: Module, data: Data, options: FitOptions, device: 'cpu' | 'webgpu' | TrainingDevice): Run {
  const op = 'fit';
  if (options === null || typeof options !== 'object') throw new ValueError('fit: options {loss, optimizer, ...} are required');
  const lossFn = checkLoss(op, options.loss);
  const optimizer = resolveOptimizer(model, options.optimizer);
  const epochs = options.epochs ?? 1;
  const initialEpoch = options.initialEpoch ?? 0;
  if (!Number.isInteger(epochs) || epochs < 0) throw new ValueError(`fit: epochs must be a non-negative integer, got ${epochs}`);
  if (!Number.isInteger(initialEpoch) || initialEpoch < 0 || initialEpoch > epochs) {
    throw new ValueError(`fit: initialEpoch must be an integer in [0, epochs = ${epochs}], got ${initialEpoch}`);
  }
  const l1 = nonNegativeOption('l1', options.l1);
  const l2 = nonNegativeOption('l2', options.l2);
  const clipNorm = options.clipGradNorm;
  if (clipNorm !== undefined && !(clipNorm > 0)) throw new ValueError(`fit: clipGradNorm must be a positive number, got ${clipNorm}`);
  const yielder = Yielder.fromOption(op, options.yieldEveryMs);
  const signal = checkSignal(options.signal, op);
  const metrics = resolveMetrics(op, options.metrics, options.loss);
  const distributed = checkDistributed(options.distributed);
  const { train, validation } = trainingSources(op, data, options, distributed);
  const callbacks = resolveCallbacks(options);
  const trainable = model.trainableParameters();
  const run: Run = {
    model,
    lossFn,
    optimizer,
    epochs,
    initialEpoch,
    trainable,
    regularized: l1 > 0 || l2 > 0 ? trainable.filter((p) => p.ndim >= 2) : [],
    l1,
    l2,
    clipNorm,
    metrics,
    train,
    validation,
    callbacks,
    signal,
    yielder,
    detectAnomaly: check(op).boolean('detectAnomaly', options.detectAnomaly ?? false),
    distributed,
    compiled: null,
    onDevice: null,
    validationForward: undefined,
    batch: 0,
    batchSize: 0,
    stream: options.generator ?? deriveGenerator(defaultGenerator),
    history: new History(),
    ctx: undefined as unknown as TrainContext,
    epoch: initialEpoch,
    step: 0,
    epochLr: optimizer.paramGroups[0].lr,
    stopReason: null,
    aborted: false,
  };
  (run as { ctx: TrainContext }).ctx = {
    model,
    optimizer,
    initialEpoch,
    epochs,
    stepsPerEpoch: train.steps,
    history: run.history,
    get epoch() {
      return run.epoch;
    },
    get step() {
      return run.step;
    },
    stopTraining(reason: string) {
      run.stopReason = typeof reason === 'string' && reason ? reason : 'a callback asked to stop';
    },
    get stopRequested() {
      return run.stopReason !== null;
    },
  };
  if (device !== 'cpu') {
    if (options.compile === false) throw new ValueError('fit: a device runs compiled steps; leave compile unset (or true) to train on one');
    if (device !== 'webgpu') onDevice(run, options, device);
  } else if (check(op).boolean('compile', options.compile ?? false)) {
    (run as { compiled: Run['compiled'] }).compiled = compileTrainStep(run, options.log ?? ((line: string) => console.log(line)), null);
    (run as { validationForward: Run['validationForward'] }).validationForward = compiledForward('fit', model);
  }
  return run;
}

/**
 * zeroGrad, forward, loss (+ l1/l2 penalty), backward and optional clipping:
 * the part of a step that eager and compiled training share.
 */
function gradientsOf(run: Run, x: Tensor, y: Tensor): { prediction: Tensor; loss: Tensor; objective: Tensor } {
  // The model's too: parameters outside the optimizer would otherwise accumulate gradients forever.
  run.model.zeroGrad();
  run.optimizer.zeroGrad();
  const prediction = forward('fit', run.model, x);
  const loss = computeLoss('fit', run.lossFn, prediction, y);
  const penalty = run.regularized.length > 0 ? weightPenalty(run.regularized, run.l1, run.l2) : null;
  const objective = penalty ? loss.add(penalty) : loss;
  const distributed = run.distributed;
  distributed?.beforeBackward?.();
  objective.backward();
  if (distributed) {
    // Replicas agree on the gradient before clipping, so that every replica clips (and then updates) alike.
    // A host step: a compiled step exchanges each replay's gradients at this point too.
    const grads = run.trainable.flatMap((p) => (p.grad ? [p.grad.data] : []));
    hostStep('synchronizeGradients', { reads: grads, writes: grads }, () => distributed.synchronizeGradients(run.trainable));
  }
  if (run.clipNorm !== undefined) clipGradNorm(run.trainable, run.clipNorm);
  return { prediction, loss, objective };
}

function checkDistributed(strategy: DistributedStrategy | undefined): DistributedStrategy | undefined {
  if (strategy === undefined) return undefined;
  const methods = ['begin', 'synchronizeGradients', 'sumAcross', 'epochEnd', 'end'] as const;
  if ((strategy as { beforeBackward?: unknown } | null)?.beforeBackward !== undefined && typeof strategy?.beforeBackward !== 'function') {
    throw new ValueError('fit: distributed.beforeBackward must be a function when present');
  }
  if (strategy === null || typeof strategy !== 'object' || methods.some((m) => typeof strategy[m] !== 'function')) {
    throw new ValueError(`fit: distributed must be a strategy from distributed.init() (with ${methods.join(', ')})`);
  }
  if (
    !Number.isInteger(strategy.worldSize) ||
    strategy.worldSize < 1 ||
    !Number.isInteger(strategy.rank) ||
    strategy.rank < 0 ||
    strategy.rank >= strategy.worldSize
  ) {
    throw new ValueError(`fit: distributed has rank ${strategy.rank} of world size ${strategy.worldSize}`);
  }
  return strategy;
}

/**
 * The training step as one compiled function, or null (said through `log`)
 * when it cannot be: the optimizer must update from gradients alone (not
 * re-evaluate the loss), and nothing may run between backward and the update.
 */
function compileTrainStep(run: Run, log: (line: string) => void, executor: null): Run['compiled'];
function compileTrainStep(run: Run, log: (line: string) => void, executor: StepExecutor): Run['onDevice'];
function compileTrainStep(run: Run, log: (line: string) => void, executor: StepExecutor | null): Run['compiled'] | Run['onDevice'] {
  const why =
    !(run.optimizer instanceof Optimizer) || run.optimizer.step !== Optimizer.prototype.step
      ? `the optimizer (${(run.optimizer as { className?: string }).className ?? 'custom'}) evaluates the loss itself`
      : run.detectAnomaly
        ? 'detectAnomaly checks every op'
        : run.distributed?.update && !run.distributed.collectGradients
          ? `the ${run.distributed.mode} strategy applies updates itself and cannot collect gradients inside a step`
          : null;
  if (why !== null) {
    log(`fit: compile: the training step runs eagerly${executor ? ' on the CPU' : ''}: ${why}`);
    return null;
  }
  const optimizer = run.optimizer;
  const before = run.callbacks.filter((c) => c.onBeforeOptimizerStep);
  // On a device the NaN guard checks the gradients there and reads one number per parameter, not the gradients.
  // Any other callback may read p.grad itself, so with one the gradients come back as on the CPU.
  const probeOnDevice = executor !== null && before.length > 0 && before.every((c) => c instanceof TerminateOnNaN);
  const names = new Map([...run.model.namedParameters()].map(([name, p]) => [p as Parameter, name]));
  const step = (x: Tensor, y: Tensor) => {
    const { prediction, loss } = gradientsOf(run, x, y);
    if (probeOnDevice) {
      const withGrad = run.trainable.filter((p) => p.grad);
      const check: GradientCheck = {
        names: withGrad.map((p) => names.get(p) ?? '(a parameter outside the model)'),
        shapes: withGrad.map((p) => p.shape),
        probes:
          withGrad.length > 0
            ? concat(
                withGrad.map((p) => (p.grad as Tensor).mul(0).sum().reshape([1])),
                0,
              ).data
            : new Float32Array(0),
      };
      // A host step: the guard sees this replay's loss and probes before the update.
      hostStep('onBeforeOptimizerStep', { reads: [loss.data, check.probes as Float32Array] }, () => {
        const logs: BatchLogs = { loss: loss.data[0], size: run.batchSize, gradientCheck: check };
        for (const c of before) c.onBeforeOptimizerStep?.(run.batch, logs, run.ctx);
      });
    } else if (before.length > 0) {
      // A host step: the callbacks (TerminateOnNaN) see this replay's loss and gradients before the update.
      const grads = run.trainable.flatMap((p) => (p.grad ? [p.grad.data] : []));
      hostStep('onBeforeOptimizerStep', { reads: [loss.data, ...grads] }, () => {
        const logs: BatchLogs = { loss: loss.data[0], size: run.batchSize };
        for (const c of before) c.onBeforeOptimizerStep?.(run.batch, logs, run.ctx);
      });
    }
    const strategy = run.distributed;
    if (strategy?.update && strategy.collectGradients) {
      // The strategy applies the update after the replay (over the network); the step hands it the gradients.
      const grads = run.trainable.flatMap((p) => (p.grad ? [p.grad.data] : []));
      hostStep('collectGradients', { reads: grads }, () => strategy.collectGradients?.(run.trainable));
    } else optimizer.step();
    return { prediction, loss };
  };
  const onFallback = (reason: string) => log(`fit: compile: the training step runs eagerly${executor ? ' on the CPU' : ''}: ${reason}`);
  if (executor !== null) return compile(step, { executor, modules: [run.model], name: 'fit', onFallback });
  return compile(step, { modules: [run.model], name: 'fit', onFallback });
}

/** The training batches and the validation batches (from validationData, or the last validationSplit of the samples). */
function trainingSources(
  op: string,
  data: Data,
  options: FitOptions,
  distributed: DistributedStrategy | undefined,
): { train: BatchSource; validation: BatchSource | undefined } {
  let trainData = resolveData(op, data);
  let validationData = options.validationData === undefined ? undefined : resolveData(op, options.validationData);
  const split = options.validationSplit;
  if (split !== undefined) {
    if (!(split > 0 && split < 1)) throw new ValueError(`fit: validationSplit must be in (0, 1), got ${split}`);
    if (validationData !== undefined) throw new ValueError('fit: give validationSplit or validationData, not both');
    const dataset = 'dataset' in trainData ? trainData.dataset : null;
    if (!(dataset instanceof TensorDataset))
      throw new ValueError('fit: validationSplit needs {x, y} tensors or a TensorDataset; for other data pass validationData');
    const n = dataset.length;
    const nVal = Math.ceil(split * n);
    if (nVal >= n) throw new ValueError(`fit: validationSplit ${split} of ${n} samples leaves nothing to train on`);
    const indices = (start: number, end: number) => Int32Array.from({ length: end - start }, (_, i) => start + i);
    trainData = { dataset: dataset.subset(indices(0, n - nVal)) };
    validationData = { dataset: dataset.subset(indices(n - nVal, n)) };
  }
  const shard = distributed && { rank: distributed.rank, worldSize: distributed.worldSize };
  // Replicas must agree on each pass's order for their shards to be disjoint: it comes from the strategy's shared seed.
  const generator = options.generator ?? (distributed ? new Generator(distributed.seed) : undefined);
  const train = batchSource(op, trainData, { batchSize: options.batchSize, shuffle: options.shuffle ?? true, generator, shard });
  const validation =
    validationData === undefined
      ? undefined
      : batchSource(op, validationData, { batchSize: options.validationBatchSize ?? options.batchSize }, options.validationBatchSize !== undefined);
  return { train, validation };
}

/** The NaN guard (unless turned off or given), the user's callbacks, and the progress logger when verbose. */
function resolveCallbacks(options: FitOptions): Callback[] {
  const callbacks: Callback[] = [];
  const userCallbacks = options.callbacks ?? [];
  if (!Array.isArray(userCallbacks)) throw new ValueError('fit: callbacks must be an array');
  if ((options.terminateOnNaN ?? true) && !userCallbacks.some((c) => c instanceof TerminateOnNaN)) callbacks.push(new TerminateOnNaN());
  callbacks.push(...userCallbacks);
  if (options.verbose) callbacks.push(new ProgressLogger({ log: options.log }));
  return callbacks;
}

/**
 * One pass over the training batches. Returns the epoch's logs (sample-weighted
 * mean loss and the metrics), or null when the epoch did not complete (the
 * signal aborted it, or a callback stopped it before its last batch).
 */
async function trainEpoch(run: Run): Promise<EpochLogs | null> {
  if (run.signal?.aborted) {
    run.aborted = true;
    return null;
  }
  run.epochLr = run.optimizer.paramGroups[0].lr;
  for (const m of run.metrics) m.reset();
  for (const c of run.callbacks) await c.onEpochBegin?.(run.epoch, run.ctx);
  let lossSum = 0;
  let samples = 0;
  let batch = 0;
  let finished = true;
  for await (const b of run.train.batches()) {
    if (run.signal?.aborted) {
      run.aborted = true;
      finished = false;
      break;
    }
    checkBatch('fit', b, batch, true);
    const y = b.y as Tensor;
    const size = b.x.ndim === 0 ? 1 : b.x.shape[0];
    for (const c of run.callbacks) await c.onBatchBegin?.(batch, run.ctx);
    const { prediction, loss } = run.onDevice
      ? await inModeAsync(run.model, true, () => deviceTrainStep(run, run.onDevice as NonNullable<Run['onDevice']>, b.x, y, batch, size))
      : inMode(run.model, true, () => trainStep(run, b.x, y, batch, size));
    if (run.distributed?.update) await run.distributed.update(run.trainable, size);
    lossSum += loss * size;
    samples += size;
    for (const m of run.metrics) m.update(prediction, y);
    run.step++;
    for (const c of run.callbacks) await c.onBatchEnd?.(batch, { loss, size }, run.ctx);
    batch++;
    if (run.stopReason !== null) {
      finished = false;
      break;
    }
    await run.yielder.maybeYield();
  }
  // A stop requested at the last batch leaves a complete epoch; one mid-epoch (or with an unknown batch count) does not, and is not recorded.
  if (!finished && (run.aborted || run.train.steps === undefined || batch < run.train.steps)) return null;
  if (batch === 0) {
    throw new ValueError(
      `fit: the training data produced no batches in epoch ${run.epoch + 1}${run.epoch > run.initialEpoch ? ' (a generator can be iterated only once: pass a DataLoader or a re-iterable object)' : ''}`,
    );
  }
  const logs: EpochLogs = { loss: lossSum / samples };
  for (const m of run.metrics) logs[m.name] = m.result();
  return run.distributed ? meanAcross(run.distributed, logs, samples) : logs;
}

/**
 * Each figure of the epoch as the sample-weighted mean over the replicas
 * (exact for the loss and for means such as accuracy), the same on every one.
 */
function meanAcross(distributed: DistributedStrategy, logs: EpochLogs, samples: number): EpochLogs {
  const names = Object.keys(logs);
  const sums = new Float64Array(names.length + 1);
  names.forEach((name, i) => {
    sums[i] = logs[name] * samples;
  });
  sums[names.length] = samples;
  distributed.sumAcross(sums);
  const total = sums[names.length];
  const out: EpochLogs = {};
  names.forEach((name, i) => {
    out[name] = sums[i] / total;
  });
  return out;
}

/** One step replayed on the device (its warm-up steps on the CPU), drawing from the run's stream as trainStep does. */
async function deviceTrainStep(
  run: Run,
  step: NonNullable<Run['onDevice']>,
  x: Tensor,
  y: Tensor,
  batch: number,
  size: number,
): Promise<{ prediction: Tensor; loss: number }> {
  run.batch = batch;
  run.batchSize = size;
  const out = await withGenerator(run.stream, () => step(x, y));
  return { prediction: out.prediction, loss: out.loss.item() };
}

/**
 * One optimizer step on one batch: zeroGrad, forward, loss (+ l1/l2 penalty),
 * backward, optional clipping, inside the closure that optimizer.step calls
 * (so optimizers that re-evaluate the loss, L-BFGS, work too). Returns the
 * prediction and the loss of the closure's first evaluation.
 */
function trainStep(run: Run, x: Tensor, y: Tensor, batch: number, size: number): { prediction: Tensor; loss: number } {
  const compiled = run.compiled;
  if (compiled !== null) {
    run.batch = batch;
    run.batchSize = size;
    const out = withGenerator(run.stream, () => compiled(x, y));
    return { prediction: out.prediction, loss: out.loss.item() };
  }
  if (run.distributed?.update) {
    // The strategy applies the update (after this returns); the step only computes the gradients.
    return withGenerator(run.stream, () => {
      const { prediction, loss } = gradientsOf(run, x, y);
      const logs: BatchLogs = { loss: loss.item(), size };
      for (const c of run.callbacks) c.onBeforeOptimizerStep?.(batch, logs, run.ctx);
      run.distributed?.collectGradients?.(run.trainable);
      return { prediction: prediction.detach(), loss: logs.loss };
    });
  }
  let first: { prediction: Tensor; loss: number } | null = null;
  const closure = () => {
    const { prediction, loss, objective } = gradientsOf(run, x, y);
    if (first === null) {
      first = { prediction: prediction.detach(), loss: loss.item() };
      const logs: BatchLogs = { loss: first.loss, size };
      for (const c of run.callbacks) {
        const r = c.onBeforeOptimizerStep?.(batch, logs, run.ctx);
        if (r instanceof Promise) throw new ValueError('fit: onBeforeOptimizerStep must be synchronous (it runs inside the optimizer step)');
      }
    }
    return objective;
  };
  withGenerator(run.stream, () => {
    if (run.detectAnomaly) detectAnomaly(() => run.optimizer.step(closure));
    else run.optimizer.step(closure);
  });
  if (first === null)
    throw new ValueError('fit: optimizer.step(closure) did not call the closure; fit needs optimizers that evaluate it, as the ones in optim/ do');
  return first;
}

/** The model's forward pass, compiled (evaluate and predict run it in eval mode under noGrad). */
/** A forward pass: run here (the outputs at once), or on a device (the outputs when they are back). */
type Forward = { readonly onDevice: false; readonly run: (x: Tensor) => Tensor } | { readonly onDevice: true; readonly run: (x: Tensor) => Promise<Tensor> };

/** The model's forward pass compiled for a device: each call resolves to the outputs, copied back. */
function deviceForward(op: string, model: Module, device: TrainingDevice): Forward {
  const run = compile((x: Tensor) => forward(op, model, x), {
    executor: device.executor,
    modules: [model],
    name: op,
    onFallback: (reason) => console.warn(`${op}: compile: runs eagerly on the CPU: ${reason}`),
  });
  return { onDevice: true, run };
}

/** One batch through a forward pass, in evaluation mode and without gradients (held until a device's answer is back). */
async function evalForward(model: Module, f: Forward, x: Tensor): Promise<Tensor> {
  if (!f.onDevice) return inMode(model, false, () => noGrad(() => f.run(x)));
  return inModeAsync(model, false, () => noGrad(() => f.run(x)));
}

function compiledForward(op: string, model: Module): Forward {
  return { onDevice: false, run: compiledForwardFn(op, model) };
}

function compiledForwardFn(op: string, model: Module): (x: Tensor) => Tensor {
  return compile((x: Tensor) => forward(op, model, x), {
    modules: [model],
    name: op,
    onFallback: (reason) => console.warn(`${op}: compile: runs eagerly: ${reason}`),
  });
}

/** The validation logs after an epoch, or null when the signal aborted. */
async function validate(run: Run): Promise<EpochLogs | null> {
  if (run.signal?.aborted) {
    run.aborted = true;
    return null;
  }
  const logs = await evaluateSource('fit', run.model, run.validation as BatchSource, run.lossFn, run.metrics, run.signal, run.yielder, run.validationForward);
  if (logs === null) run.aborted = true;
  return logs;
}

/** Say how training ended, tell the callbacks, and hand back the history. */
async function finish(run: Run): Promise<History> {
  const { history } = run;
  if (run.aborted) {
    history.stopped = 'aborted';
    history.stopMessage = `fit: aborted by the signal during epoch ${run.epoch + 1}/${run.epochs}; ${history.length} epoch${history.length === 1 ? '' : 's'} completed`;
  } else if (run.stopReason !== null) {
    history.stopped = 'callback';
    history.stopMessage = run.stopReason;
  }
  for (const c of run.callbacks) await c.onTrainEnd?.(history, run.ctx);
  return history;
}

/** Mean loss and metrics over one pass, in eval mode without gradients; null when the signal aborted it. */
async function evaluateSource(
  op: string,
  model: Module,
  source: BatchSource,
  lossFn: LossFn | undefined,
  metrics: readonly Metric[],
  signal: AbortSignalLike | undefined,
  yielder: Yielder,
  run: Forward = { onDevice: false, run: (x) => forward(op, model, x) },
): Promise<EpochLogs | null> {
  for (const m of metrics) m.reset();
  let lossSum = 0;
  let samples = 0;
  let index = 0;
  for await (const b of source.batches()) {
    if (signal?.aborted) return null;
    checkBatch(op, b, index, true);
    const y = b.y as Tensor;
    const size = b.x.ndim === 0 ? 1 : b.x.shape[0];
    const prediction = run.onDevice ? await evalForward(model, run, b.x) : null;
    const lossValue = inMode(model, false, () =>
      noGrad(() => {
        const p = prediction ?? (run.run as (x: Tensor) => Tensor)(b.x);
        for (const m of metrics) m.update(p, y);
        return lossFn ? computeLoss(op, lossFn, p, y).item() : 0;
      }),
    );
    lossSum += lossValue * size;
    samples += size;
    index++;
    await yielder.maybeYield();
  }
  if (samples === 0) throw new ValueError(`${op}: the evaluation data produced no batches`);
  const logs: EpochLogs = {};
  if (lossFn) logs.loss = lossSum / samples;
  for (const m of metrics) logs[m.name] = m.result();
  return logs;
}

/**
 * Loss and metrics of a model on data, in evaluation mode and without
 * recording gradients: weights and BatchNorm statistics are left untouched
 * and every module's train/eval flag is restored. Resolves to
 * `{loss?, ...metrics}` (the loss is the sample-weighted mean of the batch losses).
 */
export async function evaluate(model: Module, data: Data, options: EvaluateOptions = {}): Promise<EpochLogs> {
  const op = 'evaluate';
  const lossFn = options.loss === undefined ? undefined : checkLoss(op, options.loss);
  const metrics = resolveMetrics(op, options.metrics, options.loss);
  if (!lossFn && metrics.length === 0) throw new ValueError('evaluate: nothing to compute; give a loss and/or metrics');
  const signal = checkSignal(options.signal, op);
  const yielder = Yielder.fromOption(op, options.yieldEveryMs);
  const source = batchSource(op, resolveData(op, data), { batchSize: options.batchSize, shuffle: false });
  const compiled = check(op).boolean('compile', options.compile ?? false);
  const device = await openDevice(op, options);
  const run = device ? deviceForward(op, model, device) : compiled ? compiledForward(op, model) : undefined;
  const logs = await evaluateSource(op, model, source, lossFn, metrics, signal, yielder, run);
  if (logs === null) throw signal?.reason ?? new ValueError('evaluate: aborted');
  return logs;
}

/**
 * The model's outputs for every sample, computed in batches in evaluation
 * mode without gradients, concatenated along the first axis. Accepts a
 * tensor, `{x}`, a dataset, or batches (their `y` is ignored). Weights,
 * buffers and train/eval flags are left as they were.
 */
export async function predict(model: Module, data: Tensor | Data, options: PredictOptions = {}): Promise<Tensor> {
  const op = 'predict';
  const signal = checkSignal(options.signal, op);
  const yielder = Yielder.fromOption(op, options.yieldEveryMs);
  const source = batchSource(op, resolveData(op, data instanceof Tensor ? { x: data } : data), { batchSize: options.batchSize, shuffle: false });
  const compiled = check(op).boolean('compile', options.compile ?? false);
  const device = await openDevice(op, options);
  const run: Forward = device
    ? deviceForward(op, model, device)
    : compiled
      ? compiledForward(op, model)
      : { onDevice: false, run: (x) => forward(op, model, x) };
  const outputs: Tensor[] = [];
  let index = 0;
  for await (const b of source.batches()) {
    if (signal?.aborted) throw signal.reason ?? new ValueError('predict: aborted');
    checkBatch(op, b, index++, false);
    outputs.push(run.onDevice ? await evalForward(model, run, b.x) : inMode(model, false, () => noGrad(() => run.run(b.x))));
    await yielder.maybeYield();
  }
  if (outputs.length === 0) throw new ValueError('predict: the data produced no batches');
  return outputs.length === 1 ? outputs[0] : concat(outputs, 0);
}
