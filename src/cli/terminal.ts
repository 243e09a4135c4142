// What the command prints: colours (only on a terminal that wants them), time
// and number formats, and the training progress display, which redraws one
// bar on a terminal and prints one plain line per epoch anywhere else (logs,
// CI, pipes), so that captured output stays readable.

/** Where output goes; a stream with `isTTY` and `columns` when it is a terminal. */
export interface OutStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/**
 * Colour is used on terminals only, and never when NO_COLOR is set
 * (https://no-color.org) or TERM is 'dumb'; FORCE_COLOR=1 turns it on anywhere,
 * FORCE_COLOR=0 turns it off.
 */
export function colorEnabled(stream: OutStream, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '') return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

export interface Palette {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

const sgr = (open: number, close: number) => (s: string) => `\x1b[${open}m${s}\x1b[${close}m`;
const plain = (s: string) => s;

export function palette(enabled: boolean): Palette {
  if (!enabled) return { bold: plain, dim: plain, red: plain, green: plain, yellow: plain, cyan: plain };
  return { bold: sgr(1, 22), dim: sgr(2, 22), red: sgr(31, 39), green: sgr(32, 39), yellow: sgr(33, 39), cyan: sgr(36, 39) };
}

/** 75 s → '1:15', 3725 s → '1:02:05'. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** Seconds with one decimal under a minute ('12.3s'), else as formatDuration. */
export function formatElapsed(seconds: number): string {
  return seconds < 60 ? `${seconds.toFixed(1)}s` : formatDuration(seconds);
}

/** A fraction as a percentage with two decimals ('98.76%'). */
export function percent(fraction: number): string {
  return Number.isFinite(fraction) ? `${(100 * fraction).toFixed(2)}%` : 'n/a';
}

/** A loss with four significant decimals, switching to exponent notation for tiny values. */
export function formatLoss(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return Math.abs(value) >= 1e-3 || value === 0 ? value.toFixed(4) : value.toExponential(2);
}

/** 1234 → '1.2k', 56 → '56'. */
export function compactCount(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${Math.round(n / 1e3)}k`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

/** The numbers of one finished epoch, as the epoch line shows them. */
export interface EpochSummary {
  epoch: number;
  epochs: number;
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  lr: number;
  seconds: number;
}

/** `epoch 3/10  loss 0.0812  acc 97.51%  val_loss 0.0712  val_acc 97.90%  lr 0.05  21.3s` */
export function epochLine(e: EpochSummary, colors: Palette = palette(false)): string {
  const width = String(e.epochs).length;
  const parts = [colors.bold(`epoch ${String(e.epoch).padStart(width)}/${e.epochs}`), `loss ${formatLoss(e.loss)}`, `acc ${percent(e.accuracy)}`];
  if (e.valLoss !== undefined) parts.push(`val_loss ${formatLoss(e.valLoss)}`);
  if (e.valAccuracy !== undefined) parts.push(colors.cyan(`val_acc ${percent(e.valAccuracy)}`));
  parts.push(`lr ${Number(e.lr.toPrecision(4))}`, colors.dim(formatElapsed(e.seconds)));
  return parts.join('  ');
}

/** How far the current epoch is, for the bar. */
export interface BatchProgress {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  loss: number;
  accuracy: number;
  samplesPerSecond: number;
  /** Seconds since the epoch started. */
  elapsed: number;
}

/**
 * The live training display. On a terminal it redraws a single bar at most
 * every `intervalMs` (ETA, running loss and accuracy, throughput) and replaces
 * it by the epoch line when the epoch ends; elsewhere only the epoch lines are
 * printed.
 */
export class ProgressDisplay {
  private readonly colors: Palette;
  private readonly live: boolean;
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly out: OutStream,
    options: { color?: boolean; intervalMs?: number; live?: boolean } = {},
  ) {
    this.colors = palette(options.color ?? colorEnabled(out));
    this.live = options.live ?? out.isTTY === true;
    this.intervalMs = options.intervalMs ?? 100;
  }

  private readonly intervalMs: number;

  /** Redraw the bar (throttled; the last batch of an epoch always draws). */
  update(p: BatchProgress): void {
    if (!this.live) return;
    const now = performance.now();
    if (p.batch < p.batches && now - this.lastDraw < this.intervalMs) return;
    this.lastDraw = now;
    const columns = Math.max(40, (this.out.columns ?? 100) - 1);
    const width = String(p.epochs).length;
    const head = `epoch ${String(p.epoch).padStart(width)}/${p.epochs} `;
    const remaining = p.batch > 0 ? (p.elapsed / p.batch) * (p.batches - p.batch) : Number.NaN;
    const tail =
      ` ${String(p.batch).padStart(String(p.batches).length)}/${p.batches}` +
      `  ETA ${formatDuration(remaining)}  loss ${formatLoss(p.loss)}  acc ${percent(p.accuracy)}  ${compactCount(p.samplesPerSecond)} samples/s`;
    const barWidth = Math.max(10, Math.min(30, columns - head.length - tail.length - 2));
    const line = `${this.colors.bold(head)}${bar(p.batches > 0 ? p.batch / p.batches : 0, barWidth)}${tail}`;
    this.out.write(`\r${line}\x1b[K`);
    this.drawn = true;
  }

  /** Replace the bar by the epoch's summary line. */
  epochEnd(e: EpochSummary): void {
    this.clear();
    this.out.write(`${epochLine(e, this.colors)}\n`);
  }

  /** A message on its own line (the bar, if any, is cleared first and redrawn by the next update). */
  message(text: string): void {
    this.clear();
    this.out.write(`${text}\n`);
  }

  clear(): void {
    if (this.drawn) this.out.write('\r\x1b[K');
    this.drawn = false;
  }
}

const PARTIAL = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

function bar(fraction: number, width: number): string {
  const eighths = Math.round(Math.min(1, Math.max(0, fraction)) * width * 8);
  const full = Math.floor(eighths / 8);
  const part = full < width ? PARTIAL[eighths % 8] : '';
  return `▕${'█'.repeat(full)}${part}${' '.repeat(width - full - (part ? 1 : 0))}▏`;
}
