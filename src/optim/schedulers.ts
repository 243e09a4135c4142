import { SerializationError, ValueError } from '../core/errors.js';
import { HyperCheck, show } from './hyperparams.js';
import { decodeRecord, type EncodedValue, encodeRecord, type StateValue } from './statedict.js';

/** What a scheduler needs from an optimizer: groups whose `lr` it may rewrite. */
export interface SchedulableOptimizer {
  /** The groups whose `lr` the scheduler rewrites. */
  readonly paramGroups: {
    /** The group's current learning rate. */
    lr: number;
    /** The rate before any scheduler changed it. */
    initialLr?: number;
  }[];
}

/**
 * The JSON form of a scheduler's state: its class name, its options and its
 * counters (see each scheduler for the fields). Numbers JSON cannot hold
 * (±Infinity for ReduceLROnPlateau's starting best) are written as strings,
 * as in optimizer state dicts.
 */
export interface SchedulerStateDict {
  /** Always 'neurite.scheduler', so other JSON is refused. */
  format: 'neurite.scheduler';
  /** Format version. */
  version: 1;
  /** The scheduler's class name, checked on load. */
  scheduler: string;
  /** The scheduler's options. */
  options: Record<string, EncodedValue>;
  /** The scheduler's counters. */
  state: Record<string, EncodedValue>;
}

/** Anything that changes learning rates over training: the epoch schedulers and ReduceLROnPlateau. */
export interface LRSchedulerLike {
  /** The rate of each parameter group after the last step (or construction). */
  getLastLr(): number[];
  /** A JSON-ready snapshot of the scheduler's state. */
  stateDict(): SchedulerStateDict;
  /** Restore a state taken by stateDict(). */
  loadStateDict(dict: SchedulerStateDict): void;
}

function checkOptimizer(where: string, optimizer: SchedulableOptimizer): void {
  if (optimizer === null || typeof optimizer !== 'object' || !Array.isArray(optimizer.paramGroups)) {
    throw new ValueError(`${where}: expected an optimizer, got ${show(optimizer)}`);
  }
}

/** Validate the envelope of a scheduler state dict and decode its parts. */
function openDict(where: string, className: string, dict: SchedulerStateDict): { options: Record<string, StateValue>; state: Record<string, StateValue> } {
  if (dict === null || typeof dict !== 'object') throw new SerializationError(`${where}: expected a state dict object, got ${show(dict)}`);
  if (dict.format !== 'neurite.scheduler') throw new SerializationError(`${where}: not a scheduler state dict (format ${show(dict.format)})`);
  if (dict.version !== 1) throw new SerializationError(`${where}: unsupported version ${show(dict.version)} (this build reads version 1)`);
  if (dict.scheduler !== className) throw new SerializationError(`${where}: the dict was saved by ${show(dict.scheduler)}, not ${className}`);
  return { options: decodeRecord(dict.options, `${where}: options`), state: decodeRecord(dict.state, `${where}: state`) };
}

function numberList(where: string, v: StateValue, length: number): number[] {
  if (!Array.isArray(v) || v.length !== length || v.some((x) => typeof x !== 'number')) {
    throw new SerializationError(`${where}: expected a list of ${length} numbers, got ${show(v)}`);
  }
  return v as number[];
}

function integerField(where: string, v: StateValue, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new SerializationError(`${where}: expected an integer >= ${min}, got ${show(v)}`);
  return v;
}

/**
 * Base of the epoch-indexed schedulers. Call `step()` once per epoch, after
 * `optimizer.step()`. Each scheduler computes the next rate from the group's
 * current rate (PyTorch's "chainable" form), so two schedulers can act on one
 * optimizer and a rate set by hand is carried forward.
 *
 * Building a scheduler records each group's rate as `initialLr` (if no
 * earlier scheduler did) and applies the rate of epoch 0, as PyTorch does.
 */
export abstract class LRScheduler<O extends object> implements LRSchedulerLike {
  /** The class name saved in state dicts. */
  readonly className: string;
  /** The optimizer whose rates are changed. */
  readonly optimizer: SchedulableOptimizer;
  /** The rate each group started from. */
  readonly baseLrs: number[];
  /** Number of step() calls, counting the one made by the constructor (so 0 after construction). */
  lastEpoch = -1;
  protected options: O;
  private lastLr: number[] = [];

  protected constructor(optimizer: SchedulableOptimizer, options: object) {
    // A string literal on the class, never the constructor's name, which bundlers rename.
    const className = (new.target as unknown as { className?: unknown }).className;
    if (typeof className !== 'string' || className === '') {
      throw new ValueError("LRScheduler: a subclass must declare its name as a string literal, e.g. static readonly className = 'MySchedule'");
    }
    this.className = className;
    checkOptimizer(this.className, optimizer);
    this.optimizer = optimizer;
    this.options = this.checkOptions(options, new HyperCheck(this.className));
    for (const g of optimizer.paramGroups) if (g.initialLr === undefined) g.initialLr = g.lr;
    this.baseLrs = optimizer.paramGroups.map((g) => g.initialLr as number);
    this.step();
  }

  /** Validate user options (or loaded ones) and fill in defaults. */
  protected abstract checkOptions(options: object, check: HyperCheck): O;

  /** The rate of every group for epoch `lastEpoch`, from the rates they have now. */
  protected abstract nextLrs(): number[];

  /** Advance one epoch and set each group's rate. */
  step(): void {
    this.lastEpoch += 1;
    const lrs = this.nextLrs();
    this.optimizer.paramGroups.forEach((g, i) => {
      g.lr = lrs[i];
    });
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /** The group rates as they are now. */
  protected currentLrs(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** Options (for the record) plus `lastEpoch`, `baseLrs` and `lastLr`. */
  stateDict(): SchedulerStateDict {
    return {
      format: 'neurite.scheduler',
      version: 1,
      scheduler: this.className,
      options: encodeRecord(this.options),
      state: encodeRecord({ lastEpoch: this.lastEpoch, baseLrs: this.baseLrs, lastLr: this.lastLr }),
    };
  }

  /** Resume: restore the options and counters. The optimizer's rates come from the optimizer's own state dict. */
  loadStateDict(dict: SchedulerStateDict): void {
    const where = `${this.className}.loadStateDict`;
    const { options, state } = openDict(where, this.className, dict);
    const groups = this.optimizer.paramGroups.length;
    const checked = this.checkOptions(options, new HyperCheck(`${where}: options`));
    const lastEpoch = integerField(`${where}: lastEpoch`, state.lastEpoch, 0);
    const baseLrs = numberList(`${where}: baseLrs`, state.baseLrs, groups);
    const lastLr = numberList(`${where}: lastLr`, state.lastLr, groups);
    this.options = checked;
    this.lastEpoch = lastEpoch;
    this.baseLrs.splice(0, this.baseLrs.length, ...baseLrs);
    this.lastLr = [...lastLr];
  }
}

/** Options of StepLR. */
export interface StepLROptions {
  /** Multiply the rate by gamma every stepSize epochs. */
  stepSize: number;
  /** Default 0.1. */
  gamma?: number;
}

/** lr = initialLr · gamma^⌊epoch / stepSize⌋. */
export class StepLR extends LRScheduler<Required<StepLROptions>> {
  /** The class name saved in state dicts. */
  static readonly className = 'StepLR';

  constructor(optimizer: SchedulableOptimizer, options: StepLROptions) {
    super(optimizer, options);
  }

  protected checkOptions(o: Partial<StepLROptions>, check: HyperCheck): Required<StepLROptions> {
    check.knownKeys(o ?? {}, ['stepSize', 'gamma']);
    return { stepSize: check.integer('stepSize', o?.stepSize), gamma: check.nonNegative('gamma', o?.gamma ?? 0.1) };
  }

  protected nextLrs(): number[] {
    const { stepSize, gamma } = this.options;
    const lrs = this.currentLrs();
    if (this.lastEpoch === 0 || this.lastEpoch % stepSize !== 0) return lrs;
    return lrs.map((lr) => lr * gamma);
  }
}

/** Options of MultiStepLR. */
export interface MultiStepLROptions {
  /** Epochs at which the rate is multiplied by gamma (a repeated epoch multiplies by gamma once per mention). */
  milestones: readonly number[];
  /** Default 0.1. */
  gamma?: number;
}

/** lr = initialLr · gamma^(number of milestones ≤ epoch). */
export class MultiStepLR extends LRScheduler<{
  /** Epochs at which the rate is multiplied by gamma. */
  milestones: number[];
  /** The factor applied at each milestone. */
  gamma: number;
}> {
  /** The class name saved in state dicts. */
  static readonly className = 'MultiStepLR';

  constructor(optimizer: SchedulableOptimizer, options: MultiStepLROptions) {
    super(optimizer, options);
  }

  protected checkOptions(o: Partial<MultiStepLROptions>, check: HyperCheck): { milestones: number[]; gamma: number } {
    check.knownKeys(o ?? {}, ['milestones', 'gamma']);
    const milestones = o?.milestones;
    if (!Array.isArray(milestones)) check.fail(`milestones must be a list of epochs, got ${show(milestones)}`);
    milestones.forEach((m, i) => {
      check.integer(`milestones[${i}]`, m, 0);
      if (i > 0 && m < milestones[i - 1]) check.fail(`milestones must be in increasing order, got ${show(milestones)}`);
    });
    return { milestones: [...milestones], gamma: check.nonNegative('gamma', o?.gamma ?? 0.1) };
  }

  protected nextLrs(): number[] {
    const { milestones, gamma } = this.options;
    const hits = milestones.filter((m) => m === this.lastEpoch).length;
    const lrs = this.currentLrs();
    return hits === 0 ? lrs : lrs.map((lr) => lr * gamma ** hits);
  }
}

/** Options of ExponentialLR. */
export interface ExponentialLROptions {
  /** Multiply the rate by gamma every epoch. */
  gamma: number;
}

/** lr = initialLr · gamma^epoch. */
export class ExponentialLR extends LRScheduler<ExponentialLROptions> {
  /** The class name saved in state dicts. */
  static readonly className = 'ExponentialLR';

  constructor(optimizer: SchedulableOptimizer, options: ExponentialLROptions) {
    super(optimizer, options);
  }

  protected checkOptions(o: Partial<ExponentialLROptions>, check: HyperCheck): ExponentialLROptions {
    check.knownKeys(o ?? {}, ['gamma']);
    return { gamma: check.nonNegative('gamma', o?.gamma) };
  }

  protected nextLrs(): number[] {
    const lrs = this.currentLrs();
    return this.lastEpoch === 0 ? lrs : lrs.map((lr) => lr * this.options.gamma);
  }
}

/** Options of CosineAnnealingLR. */
export interface CosineAnnealingLROptions {
  /** Epochs from the initial rate down to etaMin (half a period). */
  tMax: number;
  /** The lowest rate (default 0). */
  etaMin?: number;
}

/**
 * Cosine annealing (Loshchilov and Hutter, SGDR, without restarts):
 * lr = etaMin + (initialLr − etaMin)·(1 + cos(π·epoch/tMax))/2, which keeps
 * following the cosine past tMax (rising again over the next tMax epochs).
 * Computed by PyTorch's recursion, which equals this closed form when
 * nothing else changes the rate.
 */
export class CosineAnnealingLR extends LRScheduler<Required<CosineAnnealingLROptions>> {
  /** The class name saved in state dicts. */
  static readonly className = 'CosineAnnealingLR';

  constructor(optimizer: SchedulableOptimizer, options: CosineAnnealingLROptions) {
    super(optimizer, options);
  }

  protected checkOptions(o: Partial<CosineAnnealingLROptions>, check: HyperCheck): Required<CosineAnnealingLROptions> {
    check.knownKeys(o ?? {}, ['tMax', 'etaMin']);
    return { tMax: check.integer('tMax', o?.tMax), etaMin: check.nonNegative('etaMin', o?.etaMin ?? 0) };
  }

  protected nextLrs(): number[] {
    const { tMax, etaMin } = this.options;
    const e = this.lastEpoch;
    const lrs = this.currentLrs();
    if (e === 0) return lrs;
    if ((e - 1 - tMax) % (2 * tMax) === 0) {
      // At the bottom of the cosine the ratio below is 0/0; step up by the closed-form increment instead.
      return lrs.map((lr, i) => lr + ((this.baseLrs[i] - etaMin) * (1 - Math.cos(Math.PI / tMax))) / 2);
    }
    const ratio = (1 + Math.cos((Math.PI * e) / tMax)) / (1 + Math.cos((Math.PI * (e - 1)) / tMax));
    return lrs.map((lr) => ratio * (lr - etaMin) + etaMin);
  }
}

/** Options of LinearLR. */
export interface LinearLROptions {
  /** Factor at epoch 0, in (0, 1] (default 1/3). */
  startFactor?: number;
  /** Factor from epoch totalIters on, in [0, 1] (default 1). */
  endFactor?: number;
  /** Epochs of the linear ramp (default 5). */
  totalIters?: number;
}

/**
 * Linear warm-up (or decay): the rate's factor goes linearly from
 * startFactor to endFactor over totalIters epochs, then stays:
 * lr = initialLr·(startFactor + (endFactor − startFactor)·min(epoch, totalIters)/totalIters).
 */
export class LinearLR extends LRScheduler<Required<LinearLROptions>> {
  /** The class name saved in state dicts. */
  static readonly className = 'LinearLR';

  constructor(optimizer: SchedulableOptimizer, options: LinearLROptions = {}) {
    super(optimizer, options);
  }

  protected checkOptions(o: LinearLROptions, check: HyperCheck): Required<LinearLROptions> {
    check.knownKeys(o ?? {}, ['startFactor', 'endFactor', 'totalIters']);
    return {
      startFactor: check.inRange('startFactor', o?.startFactor ?? 1 / 3, 0, 1, '(]'),
      endFactor: check.inRange('endFactor', o?.endFactor ?? 1, 0, 1, '[]'),
      totalIters: check.integer('totalIters', o?.totalIters ?? 5),
    };
  }

  protected nextLrs(): number[] {
    const { startFactor, endFactor, totalIters } = this.options;
    const e = this.lastEpoch;
    const lrs = this.currentLrs();
    if (e === 0) return lrs.map((lr) => lr * startFactor);
    if (e > totalIters) return lrs;
    // The ratio of consecutive factors, so that the group's current rate carries the schedule.
    const ratio = 1 + (endFactor - startFactor) / (totalIters * startFactor + (e - 1) * (endFactor - startFactor));
    return lrs.map((lr) => lr * ratio);
  }
}
