import { SerializationError, ValueError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import { HyperCheck, show } from './hyperparams.js';
import type { LRSchedulerLike, SchedulableOptimizer, SchedulerStateDict } from './schedulers.js';
import { decodeRecord, encodeRecord, type StateValue } from './statedict.js';

/** Options of ReduceLROnPlateau (PyTorch's names and defaults). */
export interface ReduceLROnPlateauOptions {
  /** 'min': the metric should fall (a loss); 'max': it should rise (an accuracy). Default 'min'. */
  mode?: 'min' | 'max';
  /** Multiply the rate by this on a plateau, in [0, 1) (default 0.1). */
  factor?: number;
  /** Epochs without improvement tolerated before the rate drops (default 10). */
  patience?: number;
  /** Smallest change that counts as an improvement (default 1e-4). */
  threshold?: number;
  /** 'rel': relative to the best value; 'abs': absolute (default 'rel'). */
  thresholdMode?: 'rel' | 'abs';
  /** Epochs after a drop during which bad epochs are not counted (default 0). */
  cooldown?: number;
  /** Lower bound on the rate, one for all groups or one per group (default 0). */
  minLr?: number | readonly number[];
  /** A drop smaller than this is not applied (default 1e-8). */
  eps?: number;
}

interface PlateauOptions {
  mode: 'min' | 'max';
  factor: number;
  patience: number;
  threshold: number;
  thresholdMode: 'rel' | 'abs';
  cooldown: number;
  minLr: number[];
  eps: number;
}

/**
 * Drop the learning rate when a validation metric stops improving: after more
 * than `patience` epochs without an improvement, every group's rate becomes
 * max(lr·factor, minLr), then `cooldown` epochs pass before bad epochs count
 * again. "Improvement" (mode min, threshold mode rel) means
 * metric < best·(1 − threshold); with 'abs', metric < best − threshold (and
 * the mirror images for mode max). Call `step(metric)` once per epoch.
 */
export class ReduceLROnPlateau implements LRSchedulerLike {
  /** The class name saved in state dicts. */
  static readonly className = 'ReduceLROnPlateau';
  /** The class name saved in state dicts. */
  readonly className = ReduceLROnPlateau.className;
  /** The optimizer whose rates are changed. */
  readonly optimizer: SchedulableOptimizer;
  /** Best metric so far (±Infinity before the first step). */
  best: number;
  /** Consecutive epochs without improvement. */
  numBadEpochs = 0;
  /** Epochs of cooldown left. */
  cooldownCounter = 0;
  /** Number of step() calls. */
  lastEpoch = 0;
  private options: PlateauOptions;
  private lastLr: number[];

  constructor(optimizer: SchedulableOptimizer, options: ReduceLROnPlateauOptions = {}) {
    if (optimizer === null || typeof optimizer !== 'object' || !Array.isArray(optimizer.paramGroups)) {
      throw new ValueError(`ReduceLROnPlateau: expected an optimizer, got ${show(optimizer)}`);
    }
    this.optimizer = optimizer;
    this.options = this.checkOptions(options, new HyperCheck('ReduceLROnPlateau'));
    this.best = this.worst();
    this.lastLr = optimizer.paramGroups.map((g) => g.lr);
  }

  private checkOptions(o: ReduceLROnPlateauOptions, check: HyperCheck): PlateauOptions {
    if (o === null || typeof o !== 'object') check.fail(`options must be an object, got ${show(o)}`);
    check.knownKeys(o, ['mode', 'factor', 'patience', 'threshold', 'thresholdMode', 'cooldown', 'minLr', 'eps']);
    const groups = this.optimizer.paramGroups.length;
    const minLrRaw = o.minLr ?? 0;
    let minLr: number[];
    if (Array.isArray(minLrRaw)) {
      if (minLrRaw.length !== groups) check.fail(`minLr has ${minLrRaw.length} entries but the optimizer has ${groups} parameter groups`);
      minLr = minLrRaw.map((v, i) => check.nonNegative(`minLr[${i}]`, v));
    } else {
      minLr = new Array(groups).fill(check.nonNegative('minLr', minLrRaw));
    }
    return {
      mode: check.oneOf('mode', o.mode ?? 'min', ['min', 'max'] as const),
      factor: check.inRange('factor', o.factor ?? 0.1, 0, 1, '[)'),
      patience: check.integer('patience', o.patience ?? 10, 0),
      threshold: check.nonNegative('threshold', o.threshold ?? 1e-4),
      thresholdMode: check.oneOf('thresholdMode', o.thresholdMode ?? 'rel', ['rel', 'abs'] as const),
      cooldown: check.integer('cooldown', o.cooldown ?? 0, 0),
      minLr,
      eps: check.nonNegative('eps', o.eps ?? 1e-8),
    };
  }

  private worst(): number {
    return this.options.mode === 'min' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  }

  /** Whether `a` improves on `best` by more than the threshold. */
  isBetter(a: number, best: number): boolean {
    const { mode, threshold, thresholdMode } = this.options;
    if (mode === 'min') return thresholdMode === 'rel' ? a < best * (1 - threshold) : a < best - threshold;
    return thresholdMode === 'rel' ? a > best * (threshold + 1) : a > best + threshold;
  }

  /** True while the scheduler waits after a reduction before counting bad epochs again. */
  get inCooldown(): boolean {
    return this.cooldownCounter > 0;
  }

  /** Record this epoch's metric (a number or a one-element tensor) and drop the rate if it has plateaued. */
  step(metric: number | Tensor): void {
    const current = metric instanceof Tensor ? metric.item() : metric;
    if (typeof current !== 'number') throw new ValueError(`ReduceLROnPlateau: step() needs the epoch's metric as a number, got ${show(metric)}`);
    this.lastEpoch += 1;
    if (this.isBetter(current, this.best)) {
      this.best = current;
      this.numBadEpochs = 0;
    } else {
      this.numBadEpochs += 1;
    }
    if (this.inCooldown) {
      this.cooldownCounter -= 1;
      this.numBadEpochs = 0;
    }
    if (this.numBadEpochs > this.options.patience) {
      this.reduce();
      this.cooldownCounter = this.options.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  private reduce(): void {
    this.optimizer.paramGroups.forEach((g, i) => {
      const next = Math.max(g.lr * this.options.factor, this.options.minLr[i]);
      // Skip drops too small to matter, so a rate already at minLr stays exactly there.
      if (g.lr - next > this.options.eps) g.lr = next;
    });
  }

  getLastLr(): number[] {
    return [...this.lastLr];
  }

  /** A JSON-ready snapshot of the counters and options. */
  stateDict(): SchedulerStateDict {
    return {
      format: 'neurite.scheduler',
      version: 1,
      scheduler: this.className,
      options: encodeRecord(this.options),
      state: encodeRecord({
        best: this.best,
        numBadEpochs: this.numBadEpochs,
        cooldownCounter: this.cooldownCounter,
        lastEpoch: this.lastEpoch,
        lastLr: this.lastLr,
      }),
    };
  }

  /** Restore a state taken by stateDict(); throws SerializationError on a state of another scheduler. */
  loadStateDict(dict: SchedulerStateDict): void {
    const where = 'ReduceLROnPlateau.loadStateDict';
    if (dict === null || typeof dict !== 'object') throw new SerializationError(`${where}: expected a state dict object, got ${show(dict)}`);
    if (dict.format !== 'neurite.scheduler' || dict.version !== 1) {
      throw new SerializationError(`${where}: not a version 1 scheduler state dict (format ${show(dict.format)}, version ${show(dict.version)})`);
    }
    if (dict.scheduler !== this.className) throw new SerializationError(`${where}: the dict was saved by ${show(dict.scheduler)}, not ${this.className}`);
    const options = this.checkOptions(decodeRecord(dict.options, `${where}: options`) as ReduceLROnPlateauOptions, new HyperCheck(`${where}: options`));
    const s = decodeRecord(dict.state, `${where}: state`);
    const num = (k: string, integer: boolean): number => {
      const v: StateValue = s[k];
      if (typeof v !== 'number' || (integer && (!Number.isInteger(v) || v < 0))) {
        throw new SerializationError(`${where}: state.${k} must be ${integer ? 'a non-negative integer' : 'a number'}, got ${show(v)}`);
      }
      return v;
    };
    const lastLr = s.lastLr;
    if (!Array.isArray(lastLr) || lastLr.length !== this.optimizer.paramGroups.length || lastLr.some((v) => typeof v !== 'number')) {
      throw new SerializationError(`${where}: state.lastLr must list one rate per parameter group`);
    }
    const restored = {
      best: num('best', false),
      numBadEpochs: num('numBadEpochs', true),
      cooldownCounter: num('cooldownCounter', true),
      lastEpoch: num('lastEpoch', true),
    };
    this.options = options;
    Object.assign(this, restored);
    this.lastLr = [...(lastLr as number[])];
  }
}
