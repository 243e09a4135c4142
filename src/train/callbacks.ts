import type { FloatArray } from '../core/dtype.js';
import { fmtShape, NeuriteError, ValueError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import type { Module } from '../nn/module.js';
import { countNonFinite } from '../ops/primitives.js';
import { ReduceLROnPlateau as PlateauScheduler, type ReduceLROnPlateauOptions as PlateauSchedulerOptions } from '../optim/plateau.js';
import type { EpochLogs, History } from './history.js';
import { higherIsBetter } from './metrics.js';

/**
 * What fit needs from an optimizer: the optimizers of `optim/` fit it, and so
 * does any object with these members.
 */
export interface OptimizerLike {
  /** One update from the parameters' gradients; optimizers that re-evaluate the loss (L-BFGS) call the closure. */
  step(closure?: () => Tensor): unknown;
  /** Clear the parameters' gradients. */
  zeroGrad(): void;
  /** Parameter groups; `lr` is read for the logs and written by learning-rate callbacks. */
  readonly paramGroups: {
    /** The group's learning rate. */
    lr: number;
  }[];
}

/** Returned by callback hooks; fit awaits promises before it goes on. */
export type Awaitable = void | Promise<void>;

/** What a batch reports to callbacks. */
export interface BatchLogs {
  /** The batch's loss (without the l1/l2 penalty). */
  loss: number;
  /** Samples in the batch. */
  size: number;
  /**
   * Set by fit when the step runs on a device (a GPU), where the gradients
   * stay: whether each one is finite, computed there, so that
   * onBeforeOptimizerStep need not bring them back. Absent on the CPU, where
   * callbacks read `p.grad` themselves.
   */
  gradientCheck?: GradientCheck;
}

/** Whether the gradients are finite, per trainable parameter (see BatchLogs.gradientCheck). */
export interface GradientCheck {
  /** The parameters' names in the model, in the order of `probes`. */
  readonly names: readonly string[];
  /** Their shapes. */
  readonly shapes: readonly (readonly number[])[];
  /** Σ 0·g over each gradient: 0 when every value is finite, NaN when one is NaN or infinite. */
  readonly probes: ArrayLike<number>;
}

/** The running state of a fit call, shared with every callback. */
export interface TrainContext {
  /** The model being trained. */
  readonly model: Module;
  /** The optimizer stepping the model. */
  readonly optimizer: OptimizerLike;
  /** Training runs epochs initialEpoch .. epochs-1. */
  readonly initialEpoch: number;
  /** Training stops before this epoch. */
  readonly epochs: number;
  /** Batches per epoch, when the data can tell (tensors, datasets, DataLoaders). */
  readonly stepsPerEpoch: number | undefined;
  /** The epoch being run (0-based). */
  readonly epoch: number;
  /** Optimizer steps taken so far in this fit call. */
  readonly step: number;
  /** The history being recorded. */
  readonly history: History;
  /** Ask fit to stop: after the current batch when called during an epoch, else before the next epoch. */
  stopTraining(reason: string): void;
  /** True once a callback has called stopTraining(). */
  readonly stopRequested: boolean;
}

/**
 * Hooks into fit. Every method is optional; epochs and batches count from 0.
 * A hook may return a promise, which fit awaits. Callbacks run in the order
 * given, after the built-in TerminateOnNaN.
 */
export interface Callback {
  /** Once, before the first epoch. */
  onTrainBegin?(ctx: TrainContext): Awaitable;
  /** Before an epoch's first batch. */
  onEpochBegin?(epoch: number, ctx: TrainContext): Awaitable;
  /** Before a batch is run. */
  onBatchBegin?(batch: number, ctx: TrainContext): Awaitable;
  /** After backward() and gradient clipping, before optimizer.step(): the gradients are in each parameter's `.grad`. */
  onBeforeOptimizerStep?(batch: number, logs: BatchLogs, ctx: TrainContext): Awaitable;
  /** After a batch's optimizer step. */
  onBatchEnd?(batch: number, logs: BatchLogs, ctx: TrainContext): Awaitable;
  /** After the epoch's logs (validation included) are recorded in the history. */
  onEpochEnd?(epoch: number, logs: EpochLogs, ctx: TrainContext): Awaitable;
  /** Once training ends, normally or stopped early (not after an exception). */
  onTrainEnd?(history: History, ctx: TrainContext): Awaitable;
}

/** Whether the monitored value improves downward ('min'), upward ('max'), or as its name says ('auto': accuracy-like keys up, others down). */
export type MonitorMode = 'min' | 'max' | 'auto';

/** Tracks the best value of a monitored log key. */
class Monitor {
  readonly maximize: boolean;
  best: number;
  bestEpoch = -1;

  constructor(
    private readonly owner: string,
    readonly key: string,
    mode: MonitorMode,
    private readonly minDelta = 0,
    private readonly baseline?: number,
  ) {
    if (typeof key !== 'string' || key.length === 0) throw new ValueError(`${owner}: monitor must be a log key such as 'valLoss', got ${String(key)}`);
    if (mode !== 'min' && mode !== 'max' && mode !== 'auto') throw new ValueError(`${owner}: mode must be 'min', 'max' or 'auto', got '${mode}'`);
    if (!(minDelta >= 0)) throw new ValueError(`${owner}: minDelta must be >= 0, got ${minDelta}`);
    this.maximize = mode === 'auto' ? higherIsBetter(key) : mode === 'max';
    this.best = this.initialBest();
  }

  private initialBest(): number {
    return this.baseline ?? (this.maximize ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY);
  }

  reset(): void {
    this.best = this.initialBest();
    this.bestEpoch = -1;
  }

  read(logs: EpochLogs): number {
    if (!(this.key in logs)) {
      const hint = this.key.startsWith('val') ? "; validation keys need validationData or validationSplit in fit's options" : '';
      throw new ValueError(`${this.owner}: monitored key '${this.key}' is not in the epoch logs (logged: ${Object.keys(logs).join(', ')})${hint}`);
    }
    return logs[this.key];
  }

  /** Whether `value` beats the best by more than minDelta (NaN never does). */
  improves(value: number): boolean {
    if (Number.isNaN(value)) return false;
    return this.maximize ? value - this.minDelta > this.best : value + this.minDelta < this.best;
  }

  accept(value: number, epoch: number): void {
    this.best = value;
    this.bestEpoch = epoch;
  }
}

/** A copy of every parameter and buffer, detached from the model. */
function snapshot(model: Module): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of model.stateDict()) out.set(name, new Tensor(t.data.slice(), t.shape));
  return out;
}

/** Options of EarlyStopping (Keras's names and defaults). */
export interface EarlyStoppingOptions {
  /** Log key to watch (default 'valLoss'). */
  monitor?: string;
  /** 'min', 'max', or 'auto' (max for accuracy-like keys, else min). */
  mode?: MonitorMode;
  /** Epochs without improvement before stopping (default 0). */
  patience?: number;
  /** Smallest change that counts as an improvement (default 0). */
  minDelta?: number;
  /**
   * Put back the weights (and buffers) of the best epoch when training ends,
   * whether it stopped early or ran all its epochs (default false).
   */
  restoreBestWeights?: boolean;
  /** A value to beat: without an improvement over it within `patience` epochs, training stops. */
  baseline?: number;
  /** Epochs (counted from the start of this fit call) to run before watching, for warm-up (default 0). */
  startFromEpoch?: number;
}

/** Stops training once the monitored quantity has stopped improving. */
export class EarlyStopping implements Callback {
  /** Epochs without improvement before stopping. */
  readonly patience: number;
  /** Whether the best epoch's weights are put back at the end. */
  readonly restoreBestWeights: boolean;
  /** Epochs to wait before counting. */
  readonly startFromEpoch: number;
  private readonly monitor: Monitor;
  private wait = 0;
  private bestWeights: Map<string, Tensor> | null = null;
  /** The epoch at which it stopped training, or null. */
  stoppedEpoch: number | null = null;

  constructor(options: EarlyStoppingOptions = {}) {
    this.patience = options.patience ?? 0;
    if (!Number.isInteger(this.patience) || this.patience < 0)
      throw new ValueError(`EarlyStopping: patience must be a non-negative integer, got ${this.patience}`);
    this.startFromEpoch = options.startFromEpoch ?? 0;
    if (!Number.isInteger(this.startFromEpoch) || this.startFromEpoch < 0) {
      throw new ValueError(`EarlyStopping: startFromEpoch must be a non-negative integer, got ${this.startFromEpoch}`);
    }
    this.restoreBestWeights = options.restoreBestWeights ?? false;
    this.monitor = new Monitor('EarlyStopping', options.monitor ?? 'valLoss', options.mode ?? 'auto', options.minDelta ?? 0, options.baseline);
  }

  /** The best monitored value seen, and its epoch (-1 before any). */
  get best(): {
    /** The best value of the monitored key so far. */
    value: number;
    /** The epoch (0-based) that reached it. */
    epoch: number;
  } {
    return { value: this.monitor.best, epoch: this.monitor.bestEpoch };
  }

  onTrainBegin(): void {
    this.monitor.reset();
    this.wait = 0;
    this.bestWeights = null;
    this.stoppedEpoch = null;
  }

  onEpochEnd(epoch: number, logs: EpochLogs, ctx: TrainContext): void {
    const value = this.monitor.read(logs);
    if (epoch - ctx.initialEpoch < this.startFromEpoch) return;
    if (this.monitor.improves(value)) {
      this.monitor.accept(value, epoch);
      this.wait = 0;
      if (this.restoreBestWeights) this.bestWeights = snapshot(ctx.model);
      return;
    }
    this.wait++;
    if (this.wait >= this.patience) {
      this.stoppedEpoch = epoch;
      const { key, best, bestEpoch } = this.monitor;
      const reference = bestEpoch >= 0 ? `best ${formatLogValue(best)} at epoch ${bestEpoch + 1}` : `baseline ${formatLogValue(best)} never beaten`;
      ctx.stopTraining(`EarlyStopping: ${key} has not improved for ${this.wait} epoch${this.wait === 1 ? '' : 's'} (patience ${this.patience}); ${reference}`);
    }
  }

  onTrainEnd(_history: History, ctx: TrainContext): void {
    // Restoring here rather than when stopping also covers runs that reach their last epoch while the best one lies behind them.
    if (this.bestWeights) ctx.model.loadStateDict(this.bestWeights);
  }
}

/** A learning-rate scheduler as `optim/` defines them: `step()`, or `step(metric)` for plateau schedulers. */
export interface SchedulerLike {
  /** Steps the schedule; plateau schedulers take the monitored value. */
  step(metric?: number): unknown;
}

/** Options of LRSchedulerCallback. */
export interface LRSchedulerCallbackOptions {
  /** Step the scheduler after every epoch (default) or after every optimizer step. */
  interval?: 'epoch' | 'batch';
  /** Pass this log key's value to `step()` at the end of each epoch (plateau schedulers). */
  monitor?: string;
}

/** Steps a learning-rate scheduler from fit: once per epoch (default) or once per batch. */
export class LRSchedulerCallback implements Callback {
  /** The scheduler being stepped. */
  readonly scheduler: SchedulerLike;
  /** When the scheduler steps: after every epoch or every optimizer step. */
  readonly interval: 'epoch' | 'batch';
  /** The log key watched. */
  readonly monitor: string | undefined;

  constructor(scheduler: SchedulerLike, options: LRSchedulerCallbackOptions = {}) {
    if (scheduler === null || typeof scheduler !== 'object' || typeof scheduler.step !== 'function') {
      throw new ValueError('LRSchedulerCallback: expected a scheduler with a step() method');
    }
    this.scheduler = scheduler;
    this.interval = options.interval ?? 'epoch';
    if (this.interval !== 'epoch' && this.interval !== 'batch')
      throw new ValueError(`LRSchedulerCallback: interval must be 'epoch' or 'batch', got '${this.interval}'`);
    if (options.monitor !== undefined && this.interval === 'batch')
      throw new ValueError('LRSchedulerCallback: a monitored scheduler steps once per epoch; use interval "epoch"');
    this.monitor = options.monitor;
  }

  onBatchEnd(): void {
    if (this.interval === 'batch') this.scheduler.step();
  }

  onEpochEnd(_epoch: number, logs: EpochLogs): void {
    if (this.interval !== 'epoch') return;
    if (this.monitor === undefined) {
      this.scheduler.step();
      return;
    }
    if (!(this.monitor in logs))
      throw new ValueError(`LRSchedulerCallback: monitored key '${this.monitor}' is not in the epoch logs (logged: ${Object.keys(logs).join(', ')})`);
    this.scheduler.step(logs[this.monitor]);
  }
}

/** Options of the ReduceLROnPlateau callback: the scheduler's options and the log key it watches. */
export interface ReduceLROnPlateauOptions extends Omit<PlateauSchedulerOptions, 'mode'> {
  /** Log key to watch (default 'valLoss'). */
  monitor?: string;
  /** 'min', 'max', or 'auto' (max for accuracy-like keys, else min). */
  mode?: MonitorMode;
  /** Receives a line at each reduction (default: silent). */
  log?: (line: string) => void;
}

/**
 * Lowers the learning rate of every parameter group when the monitored log
 * key stops improving: optim's ReduceLROnPlateau scheduler (PyTorch's rules:
 * factor, patience, threshold, cooldown, minLr) stepped with that key's value
 * at the end of each epoch.
 */
export class ReduceLROnPlateau implements Callback {
  /** The log key watched. */
  readonly monitor: string;
  /** The scheduler of the current (or last) fit call. */
  scheduler: PlateauScheduler | null = null;
  private readonly schedulerOptions: PlateauSchedulerOptions;
  private readonly log: ((line: string) => void) | undefined;

  constructor(options: ReduceLROnPlateauOptions = {}) {
    const { monitor, mode, log, ...rest } = options;
    const watched = new Monitor('ReduceLROnPlateau', monitor ?? 'valLoss', mode ?? 'auto');
    this.monitor = watched.key;
    this.schedulerOptions = { ...rest, mode: watched.maximize ? 'max' : 'min' };
    this.log = log;
    // Check the options now rather than when training starts: a stand-in optimizer with one group per minLr entry.
    const groups = Array.isArray(rest.minLr) ? rest.minLr.length : 1;
    new PlateauScheduler({ paramGroups: Array.from({ length: groups }, () => ({ lr: 1 })) }, this.schedulerOptions);
  }

  onTrainBegin(ctx: TrainContext): void {
    this.scheduler = new PlateauScheduler(ctx.optimizer, this.schedulerOptions);
  }

  onEpochEnd(epoch: number, logs: EpochLogs, ctx: TrainContext): void {
    if (!(this.monitor in logs)) {
      throw new ValueError(`ReduceLROnPlateau: monitored key '${this.monitor}' is not in the epoch logs (logged: ${Object.keys(logs).join(', ')})`);
    }
    const scheduler = this.scheduler as PlateauScheduler;
    const before = ctx.optimizer.paramGroups.map((g) => g.lr);
    scheduler.step(logs[this.monitor]);
    ctx.optimizer.paramGroups.forEach((g, i) => {
      if (g.lr !== before[i])
        this.log?.(`ReduceLROnPlateau: epoch ${epoch + 1}: ${this.monitor} has plateaued; learning rate of group ${i}: ${before[i]} -> ${g.lr}`);
    });
  }
}

/** Options of ModelCheckpoint. */
export interface ModelCheckpointOptions {
  /** Stores the model; called with the epoch (0-based) and its logs. Write files through `io/`, or keep weights in memory. */
  save: (model: Module, epoch: number, logs: EpochLogs) => Awaitable;
  /** Log key that decides what "best" is (default 'valLoss'). */
  monitor?: string;
  /** Whether smaller or larger values of the monitored key are better (default 'auto'). */
  mode?: MonitorMode;
  /** Save only when the monitored value improves (default false: save every `every` epochs). */
  saveBestOnly?: boolean;
  /** Without saveBestOnly, save every this many epochs (default 1); the last epoch is always saved. */
  every?: number;
}

/**
 * Saves the model during training through a user-supplied `save` hook, every
 * few epochs or at each new best. The hook decides where: a file through
 * `io/` in Node, IndexedDB in a browser, or a copy in memory.
 *
 * @example
 * new ModelCheckpoint({ save: (model) => saveModel(model, 'checkpoints/best'), saveBestOnly: true })
 */
export class ModelCheckpoint implements Callback {
  /** Write only when the monitored value improves. */
  readonly saveBestOnly: boolean;
  /** Act every this many epochs. */
  readonly every: number;
  private readonly save: ModelCheckpointOptions['save'];
  private readonly monitor: Monitor;
  /** The epoch of the last save, or -1. */
  lastSavedEpoch = -1;

  constructor(options: ModelCheckpointOptions) {
    if (typeof options?.save !== 'function')
      throw new ValueError('ModelCheckpoint: options.save must be a function (model, epoch, logs) => void | Promise<void>');
    this.save = options.save;
    this.saveBestOnly = options.saveBestOnly ?? false;
    this.every = options.every ?? 1;
    if (!Number.isInteger(this.every) || this.every < 1) throw new ValueError(`ModelCheckpoint: every must be a positive integer, got ${this.every}`);
    this.monitor = new Monitor('ModelCheckpoint', options.monitor ?? 'valLoss', options.mode ?? 'auto');
  }

  onTrainBegin(): void {
    this.monitor.reset();
    this.lastSavedEpoch = -1;
  }

  async onEpochEnd(epoch: number, logs: EpochLogs, ctx: TrainContext): Promise<void> {
    if (this.saveBestOnly) {
      const value = this.monitor.read(logs);
      if (!this.monitor.improves(value)) return;
      this.monitor.accept(value, epoch);
    } else if ((epoch - ctx.initialEpoch + 1) % this.every !== 0 && epoch !== ctx.epochs - 1) return;
    await this.save(ctx.model, epoch, logs);
    this.lastSavedEpoch = epoch;
  }
}

/** Thrown by TerminateOnNaN: the loss became NaN or infinite. Positions are 0-based; the message counts from 1. */
export class NonFiniteLossError extends NeuriteError {
  override name = 'NonFiniteLossError';
  constructor(
    message: string,
    /** The epoch (0-based). */
    readonly epoch: number,
    /** The batch (0-based, within the epoch). */
    readonly batch: number,
    /** Optimizer steps taken before this batch. */
    readonly step: number,
    /** The loss that was not finite. */
    readonly loss: number,
  ) {
    super(message);
  }
}

/**
 * Fails fast when the loss or a gradient becomes NaN or infinite, before the
 * optimizer writes it into the weights: a finite loss can still have a NaN
 * gradient (a square root at 0, a division by a tiny norm), and one optimizer
 * step with it corrupts every weight it touches. fit installs one unless told
 * `terminateOnNaN: false`; `nt.detectAnomaly` then finds the op that made it.
 */
export class TerminateOnNaN implements Callback {
  private lastFinite: { loss: number; step: number } | null = null;

  onTrainBegin(): void {
    this.lastFinite = null;
  }

  onBeforeOptimizerStep(batch: number, logs: BatchLogs, ctx: TrainContext): void {
    if (Number.isFinite(logs.loss)) {
      this.checkGradients(batch, logs, ctx);
      this.lastFinite = { loss: logs.loss, step: ctx.step };
      return;
    }
    const of = ctx.stepsPerEpoch === undefined ? '' : `/${ctx.stepsPerEpoch}`;
    const before = this.lastFinite
      ? `the last finite loss was ${this.lastFinite.loss} at step ${this.lastFinite.step + 1}`
      : 'it was not finite at the first step either, so check the data and the initial weights';
    throw new NonFiniteLossError(
      `TerminateOnNaN: the loss is ${logs.loss} at epoch ${ctx.epoch + 1}/${ctx.epochs}, batch ${batch + 1}${of} (step ${ctx.step + 1}); ${before}. ` +
        'Try a lower learning rate or clipGradNorm, and check the inputs and targets for NaN or Infinity.',
      ctx.epoch,
      batch,
      ctx.step,
      logs.loss,
    );
  }

  /** The first parameter whose gradient holds a NaN or an infinity, with how many such values. */
  private static badGradient(ctx: TrainContext): { name: string; count: number; shape: readonly number[] } | null {
    for (const [name, p] of ctx.model.namedParameters()) {
      const g = p.grad?.data;
      if (!g) continue;
      const count = countNonFinite(g as FloatArray);
      if (count > 0) return { name, count, shape: p.shape };
    }
    return null;
  }

  /** The first parameter whose probe is not finite (a step on a device: see BatchLogs.gradientCheck). */
  private static badProbe(check: GradientCheck): { name: string; count: null; shape: readonly number[] } | null {
    for (let i = 0; i < check.names.length; i++) if (!Number.isFinite(check.probes[i])) return { name: check.names[i], count: null, shape: check.shapes[i] };
    return null;
  }

  private checkGradients(batch: number, logs: BatchLogs, ctx: TrainContext): void {
    const bad = logs.gradientCheck ? TerminateOnNaN.badProbe(logs.gradientCheck) : TerminateOnNaN.badGradient(ctx);
    if (bad === null) return;
    const of = ctx.stepsPerEpoch === undefined ? '' : `/${ctx.stepsPerEpoch}`;
    const values = bad.count === null ? 'NaN or infinite values' : `${bad.count} NaN or infinite value${bad.count === 1 ? '' : 's'}`;
    throw new NonFiniteLossError(
      `TerminateOnNaN: the gradient of '${bad.name}' ${fmtShape(bad.shape)} has ${values} at epoch ${ctx.epoch + 1}/${ctx.epochs}, batch ${batch + 1}${of} (step ${ctx.step + 1}), though the loss is ${logs.loss}; the weights were not updated. ` +
        'Run the step under nt.detectAnomaly(() => ...) (or fit with detectAnomaly: true) to find the op that produced it.',
      ctx.epoch,
      batch,
      ctx.step,
      logs.loss,
    );
  }
}

/** How a number is printed in progress lines: 4 decimals in a readable range, else scientific. */
export function formatLogValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : v.toFixed(4);
}

/** Options of ProgressLogger. */
export interface ProgressLoggerOptions {
  /** Where lines go (default console.log). */
  log?: (line: string) => void;
  /** Print every this many epochs (default 1); the first and last epochs are always printed. */
  every?: number;
}

/** One line per epoch: `Epoch 3/10 - 12ms - loss: 0.1234 - accuracy: 0.9500 - valLoss: ... - lr: 0.0010`. */
export class ProgressLogger implements Callback {
  /** Act every this many epochs. */
  readonly every: number;
  private readonly log: (line: string) => void;
  private started = 0;

  constructor(options: ProgressLoggerOptions = {}) {
    this.log = options.log ?? ((line) => console.log(line));
    this.every = options.every ?? 1;
    if (!Number.isInteger(this.every) || this.every < 1) throw new ValueError(`ProgressLogger: every must be a positive integer, got ${this.every}`);
  }

  onEpochBegin(): void {
    this.started = now();
  }

  onEpochEnd(epoch: number, logs: EpochLogs, ctx: TrainContext): void {
    const first = epoch === ctx.initialEpoch;
    const last = epoch === ctx.epochs - 1;
    if (!first && !last && (epoch - ctx.initialEpoch + 1) % this.every !== 0) return;
    const ms = Math.round(now() - this.started);
    const parts = Object.entries(logs).map(([k, v]) => `${k}: ${formatLogValue(v)}`);
    this.log([`Epoch ${epoch + 1}/${ctx.epochs}`, `${ms}ms`, ...parts].join(' - '));
  }

  onTrainEnd(history: History): void {
    if (history.stopMessage) this.log(history.stopMessage);
  }
}

/** Options of HistoryLogger. */
export interface HistoryLoggerOptions {
  /** Receives the whole history document after every epoch, so it can overwrite a file (through `io/`) or a storage entry. */
  write: (text: string) => Awaitable;
  /** 'csv' (default) or 'json'. */
  format?: 'csv' | 'json';
}

/** Writes the history as CSV or JSON after each epoch (Keras's CSVLogger), through a `write` hook. */
export class HistoryLogger implements Callback {
  /** The file format: 'csv' or 'json'. */
  readonly format: 'csv' | 'json';
  private readonly write: HistoryLoggerOptions['write'];

  constructor(options: HistoryLoggerOptions) {
    if (typeof options?.write !== 'function') throw new ValueError('HistoryLogger: options.write must be a function (text) => void | Promise<void>');
    this.write = options.write;
    this.format = options.format ?? 'csv';
    if (this.format !== 'csv' && this.format !== 'json') throw new ValueError(`HistoryLogger: format must be 'csv' or 'json', got '${this.format}'`);
  }

  private render(history: History): string {
    return this.format === 'csv' ? history.toCSV() : `${JSON.stringify(history.toJSON(), null, 2)}\n`;
  }

  async onEpochEnd(_epoch: number, _logs: EpochLogs, ctx: TrainContext): Promise<void> {
    await this.write(this.render(ctx.history));
  }

  async onTrainEnd(history: History): Promise<void> {
    // Once more at the end: the stop fields are only known now.
    if (history.stopped) await this.write(this.render(history));
  }
}

/** Milliseconds from a monotonic clock (performance.now() exists in Node and in browsers). */
export function now(): number {
  return globalThis.performance?.now() ?? Date.now();
}
