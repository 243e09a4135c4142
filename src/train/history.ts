import { ValueError } from '../core/errors.js';

/** What fit reports after an epoch: 'loss', 'lr', each metric, and 'valLoss' / 'valMetric' with validation data. */
export type EpochLogs = Record<string, number>;

/** Why training ended before its last epoch: the AbortSignal fired, or a callback (EarlyStopping...) asked to stop. */
export type StopReason = 'aborted' | 'callback';

/**
 * The per-epoch record of a fit run. `series[key][i]` is the value of `key` at
 * epoch `epoch[i]` (epochs count from 0). Losses are sample-weighted means over
 * the epoch's batches; training metrics are measured on the training batches
 * as they are seen (in training mode), validation ones after the epoch (in
 * evaluation mode).
 */
export class History {
  /** Epoch numbers (0-based), one per completed epoch. */
  readonly epoch: number[] = [];
  /** Every logged quantity, one value per completed epoch. */
  readonly series: Record<string, number[]> = {};
  /** Set when training ended early; null when it ran all its epochs. */
  stopped: StopReason | null = null;
  /** A sentence saying why and when training stopped early. */
  stopMessage: string | null = null;

  /** Append one epoch's logs. A key missing from some epochs holds NaN there, so all series stay aligned with `epoch`. */
  record(epoch: number, logs: EpochLogs): void {
    const index = this.epoch.length;
    this.epoch.push(epoch);
    for (const key of Object.keys(logs)) {
      if (!(key in this.series)) this.series[key] = new Array(index).fill(Number.NaN);
    }
    for (const [key, values] of Object.entries(this.series)) values.push(key in logs ? logs[key] : Number.NaN);
  }

  /** Number of completed epochs. */
  get length(): number {
    return this.epoch.length;
  }

  /** The series of one key; throws (listing the known keys) when it was never logged. */
  get(key: string): number[] {
    const s = this.series[key];
    if (!s) throw new ValueError(`History: no series '${key}'; logged: ${Object.keys(this.series).join(', ') || 'nothing yet'}`);
    return s;
  }

  /** Whether a series was logged under `key`. */
  has(key: string): boolean {
    return key in this.series;
  }

  /** Training loss per epoch. */
  get loss(): number[] {
    return this.series.loss ?? [];
  }

  /** Validation loss per epoch (empty without validation data). */
  get valLoss(): number[] {
    return this.series.valLoss ?? [];
  }

  /** Learning rate (of the first parameter group) at the start of each epoch. */
  get lr(): number[] {
    return this.series.lr ?? [];
  }

  /** The logs of epoch `epoch[i]` (the last one by default). */
  logsAt(i = this.epoch.length - 1): EpochLogs | undefined {
    if (i < 0 || i >= this.epoch.length) return undefined;
    const out: EpochLogs = {};
    for (const [key, values] of Object.entries(this.series)) out[key] = values[i];
    return out;
  }

  /** A CSV table: a header row `epoch,key1,key2...` and one row per epoch; non-finite values are written NaN, Infinity, -Infinity. */
  toCSV(): string {
    const keys = Object.keys(this.series);
    const rows = [['epoch', ...keys].join(',')];
    for (let i = 0; i < this.epoch.length; i++) rows.push([this.epoch[i], ...keys.map((k) => this.series[k][i])].map(String).join(','));
    return `${rows.join('\n')}\n`;
  }

  /** JSON with `epoch`, `series` and the stop fields. NaN and infinities, which JSON cannot hold, become null. */
  toJSON(): {
    /** The epoch number of each entry. */
    epoch: number[];
    /** Each logged key's values, non-finite ones as null. */
    series: Record<string, (number | null)[]>;
    /** Why training stopped early, or null. */
    stopped: StopReason | null;
    /** The stop's message, or null. */
    stopMessage: string | null;
  } {
    const series: Record<string, (number | null)[]> = {};
    for (const [key, values] of Object.entries(this.series)) series[key] = values.map((v) => (Number.isFinite(v) ? v : null));
    return { epoch: [...this.epoch], series, stopped: this.stopped, stopMessage: this.stopMessage };
  }
}
