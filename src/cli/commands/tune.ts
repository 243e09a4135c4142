// `neurite tune --workers N --grid lr=0.1,0.01 ... train <preset> [train options]`:
// a grid search (or, with --sample, a random search) whose points train as trials of a BullMQ queue
// (distributed.runTrials), on worker processes here and on any machine that
// runs `neurite worker --trials`, ranked by their final validation figures.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distributed, Generator, NeuriteError } from '../../index.js';
import { choiceFlag, intFlag, parseFlags, textFlag } from '../args.js';
import { EXIT, UsageError } from '../errors.js';
import { defaultRunFolder, isNonEmptyFolder, writeJson } from '../runs.js';
import { colorEnabled, palette, percent } from '../terminal.js';
import type { TuneOutcome } from '../tune-trial.js';
import { TRAIN_FLAGS } from './train.js';

export const TUNE_HELP = `Usage: neurite tune [--workers N] --grid FLAG=V1,V2,... [--grid ...] [options] train <preset|model.json> [train options]
       neurite tune [--workers N] --sample FLAG=DIST:LOW:HIGH [--sample ...] [--grid ...] --trials T [--seed S] train ...

Trains one run per point of the grid (every combination of the values given
for each train flag) as trials of a BullMQ queue on a Redis, each on a worker
process, and ranks them by their final validation figures. Each trial's run
folder is trial-<i> in the tune folder, beside tune.json with the table.

With --sample it is a random search instead (Bergstra and Bengio, 2012): T
trials, each drawing every sampled option from its distribution and every
--grid option uniformly from its values, from one seeded stream.

Options:
  --grid FLAG=V1,V2     a train option and the values to try (repeat for more)
  --sample FLAG=DIST:LOW:HIGH
                        random search: a train option drawn from DIST, one of
                        log (log-uniform, for rates), uniform, or int (an integer
                        from LOW to HIGH inclusive); e.g. lr=log:1e-4:1e-1
  --trials T            random search: how many trials (required with --sample)
  --seed S              random search: the seed of the draws (default: drawn and
                        recorded in tune.json)
  --folds K             k-fold cross-validation: each point trains K times (train
                        --val-fold 1/K ... K/K, runs in trial-<i>/fold-<f>) and is
                        ranked by the mean of its folds' validation figures
  --workers N           trial-worker processes here (default: the cores, at most the trials)
  --metric NAME         rank by valAccuracy (default, highest first) or valLoss (lowest first)
  --redis URL           the queue's Redis (default: a private redis-server on 127.0.0.1);
                        other machines serve the queue with "neurite worker --redis URL
                        --trials QUEUE"
  --out DIR             the tune folder (default runs/tune-<model>-<time>)
  -h, --help            show this help

Example:
  neurite tune --workers 2 --grid lr=0.1,0.03,0.01 --grid batch-size=32,64 train mlp --epochs 2
  neurite tune --workers 2 --sample lr=log:1e-4:1e-1 --sample momentum=uniform:0.5:0.99 --trials 8 train mlp --optimizer sgd`;

const FLAGS = {
  grid: { type: 'string', multiple: true },
  sample: { type: 'string', multiple: true },
  trials: { type: 'string' },
  seed: { type: 'string' },
  folds: { type: 'string' },
  workers: { type: 'string' },
  metric: { type: 'string' },
  redis: { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Train options a grid may not vary: where the run goes and how it reports are the tune's. */
const NOT_TUNABLE = new Set(['out', 'resume', 'json', 'help', 'val-fold']);

/** The train option `name` that --grid or --sample varies, checked. */
function tunableFlag(option: string, name: string): string {
  const spec = (TRAIN_FLAGS as Record<string, { type: string }>)[name];
  if (!spec || NOT_TUNABLE.has(name)) throw new UsageError(`tune: ${option} ${name}: not a train option that a trial can vary`, 'see "neurite train --help"');
  if (spec.type !== 'string') throw new UsageError(`tune: ${option} ${name}: a switch, not an option with values`);
  return name;
}

/** `name=v1,v2` as a train flag and its values. */
function gridAxis(text: string): [string, string[]] {
  const m = /^(?:--)?([a-z][a-z-]*)=(.+)$/.exec(text);
  if (!m) throw new UsageError(`tune: --grid ${text}: expected FLAG=V1,V2,... (e.g. lr=0.1,0.01)`);
  const [, name, list] = m;
  tunableFlag('--grid', name);
  const values = list.split(',').map((v) => v.trim());
  if (values.some((v) => v === '')) throw new UsageError(`tune: --grid ${text}: an empty value`);
  return [name, values];
}

/** A distribution a random search draws one train option from. */
export interface SampledAxis {
  readonly name: string;
  readonly dist: 'log' | 'uniform' | 'int';
  readonly low: number;
  readonly high: number;
}

/** `name=dist:low:high` as a train flag and its distribution. */
export function sampleAxis(text: string): SampledAxis {
  const m = /^(?:--)?([a-z][a-z-]*)=(log|uniform|int):([^:]+):([^:]+)$/.exec(text);
  if (!m) throw new UsageError(`tune: --sample ${text}: expected FLAG=log|uniform|int:LOW:HIGH (e.g. lr=log:1e-4:1e-1)`);
  const [, name, dist, lowText, highText] = m;
  tunableFlag('--sample', name);
  const low = Number(lowText);
  const high = Number(highText);
  if (!Number.isFinite(low) || !Number.isFinite(high) || !(low < high))
    throw new UsageError(`tune: --sample ${text}: LOW and HIGH must be numbers with LOW < HIGH`);
  if (dist === 'log' && !(low > 0)) throw new UsageError(`tune: --sample ${text}: a log-uniform range must be above 0`);
  if (dist === 'int' && !(Number.isInteger(low) && Number.isInteger(high))) throw new UsageError(`tune: --sample ${text}: an int range needs integer bounds`);
  return { name, dist: dist as SampledAxis['dist'], low, high };
}

/** One value of `axis` from `g`, as the train option's text (4 significant digits for real values). */
export function drawValue(axis: SampledAxis, g: Generator): string {
  const u = g.nextDouble();
  if (axis.dist === 'int') return String(axis.low + Math.floor(u * (axis.high - axis.low + 1)));
  const x = axis.dist === 'log' ? Math.exp(Math.log(axis.low) + u * (Math.log(axis.high) - Math.log(axis.low))) : axis.low + u * (axis.high - axis.low);
  return String(Number(x.toPrecision(4)));
}

/** `neurite tune`: returns the exit code. */
export async function tuneCommand(args: readonly string[]): Promise<number> {
  const at = args.indexOf('train');
  const own = at < 0 ? [...args] : args.slice(0, at);
  const trainArgs = at < 0 ? [] : args.slice(at + 1);
  const { values, positionals } = parseFlags('tune', own, FLAGS);
  if (values.help || args.length === 0) {
    process.stdout.write(`${TUNE_HELP}\n`);
    return values.help ? EXIT.ok : EXIT.usage;
  }
  if (positionals.length > 0) throw new UsageError(`tune: unexpected argument ${JSON.stringify(positionals[0])}`, 'see "neurite tune --help"');
  if (at < 0 || trainArgs.length === 0) throw new UsageError('tune: missing what to train: train <preset|model.json> [options]', 'see "neurite tune --help"');
  const grid = ((values.grid as unknown as string[] | undefined) ?? []).map(gridAxis);
  const sampled = ((values.sample as unknown as string[] | undefined) ?? []).map(sampleAxis);
  if (grid.length === 0 && sampled.length === 0) throw new UsageError('tune: at least one --grid FLAG=V1,V2,... or --sample FLAG=DIST:LOW:HIGH is needed');
  const names = [...grid.map(([n]) => n), ...sampled.map((a) => a.name)];
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new UsageError(`tune: --${twice} is varied twice`);
  const trials = intFlag(values, 'trials');
  const seedFlag = intFlag(values, 'seed', 0);
  if (sampled.length === 0 && (trials !== undefined || seedFlag !== undefined))
    throw new UsageError(`tune: --${trials !== undefined ? 'trials' : 'seed'} is for a random search (--sample); a grid trains every point`);
  if (sampled.length > 0 && trials === undefined) throw new UsageError('tune: --sample needs --trials T, the number of random points to train');
  const { values: trainValues, positionals: trainPositionals } = parseFlags('train', trainArgs, TRAIN_FLAGS);
  for (const name of names) {
    if (trainValues[name] !== undefined) throw new UsageError(`tune: --${name} is both varied and in the train options`);
  }
  for (const name of ['out', 'resume', 'json', 'val-fold'])
    if (trainValues[name] !== undefined) throw new UsageError(`tune: the train options may not include --${name}`);
  const folds = intFlag(values, 'folds', 2);
  if (folds !== undefined && trainValues['val-split'] !== undefined)
    throw new UsageError('tune: --folds holds out each fold in turn for validation; drop --val-split');
  const metric = choiceFlag(values, 'metric', ['valAccuracy', 'valLoss'] as const) ?? 'valAccuracy';
  const out = textFlag(values, 'out') ?? defaultRunFolder(`tune-${trainPositionals[0] ?? 'model'}`);
  if (isNonEmptyFolder(out)) throw new UsageError(`--out ${out} already exists and is not empty; refusing to overwrite it`);
  let points: Record<string, string>[] = [{}];
  const seed = sampled.length > 0 ? (seedFlag ?? Math.floor(Math.random() * 2 ** 31)) : undefined;
  if (seed === undefined) {
    for (const [name, list] of grid) points = points.flatMap((p) => list.map((v) => ({ ...p, [name]: v })));
  } else {
    // One stream, drawn axis by axis in the order given: the same seed and flags give the same trials.
    const g = new Generator(seed);
    points = Array.from({ length: trials as number }, () => {
      const point: Record<string, string> = {};
      for (const [name, list] of grid) point[name] = list[Math.floor(g.nextDouble() * list.length)];
      for (const axis of sampled) point[axis.name] = drawValue(axis, g);
      return point;
    });
  }
  const axes = names;
  const workers = intFlag(values, 'workers') ?? Math.min(points.length, availableParallelism());
  const colors = palette(colorEnabled(process.stderr));
  const say = (line: string) => process.stderr.write(`${colors.dim(line)}\n`);
  const each = folds === undefined ? '' : ` x ${folds} folds`;
  say(
    `tune: ${points.length} ${seed === undefined ? 'grid' : `random (seed ${seed})`} trial(s)${each} on ${workers} worker process(es), ranked by ${metric}${folds === undefined ? '' : ' (mean over folds)'}`,
  );
  // With --folds K each point trains K times, fold f held out for validation, and is scored by the mean over its folds.
  const params = points.flatMap((p, i) => {
    const args = [...trainArgs, ...Object.entries(p).flatMap(([k, v]) => [`--${k}`, v])];
    if (folds === undefined) return [{ point: i, fold: null as number | null, args, out: join(out, `trial-${i}`) }];
    return Array.from({ length: folds }, (_, f) => ({
      point: i,
      fold: f as number | null,
      args: [...args, '--val-fold', `${f + 1}/${folds}`],
      out: join(out, `trial-${i}`, `fold-${f + 1}`),
    }));
  });
  const script = fileURLToPath(new URL('../tune-trial.js', import.meta.url));
  let results: distributed.TrialResult<(typeof params)[number], TuneOutcome>[];
  try {
    results = await distributed.runTrials<(typeof params)[number], TuneOutcome>(script, params, {
      workers,
      redis: textFlag(values, 'redis'),
      output: 'ignore',
      log: say,
      onResult: (r) => {
        const { point, fold } = params[r.index];
        const which = fold === null ? '' : ` fold ${fold + 1}/${folds}`;
        say(`  trial ${point}${which} (${describe(points[point])}): ${r.error ? `failed: ${r.error}` : summary(r.result as TuneOutcome | undefined)}`);
      },
    });
  } catch (e) {
    if (e instanceof NeuriteError) throw new UsageError(e.message);
    throw e;
  }
  const perPoint = points.map((point, i) =>
    scorePoint(
      point,
      results.filter((r) => params[r.index].point === i),
      folds !== undefined ? join(out, `trial-${i}`) : null,
    ),
  );
  const better = (a: number, b: number) => (metric === 'valLoss' ? a - b : b - a);
  const ranked = [...perPoint].sort((a, b) => {
    const sa = a[metric];
    const sb = b[metric];
    if (sa === undefined || sb === undefined) return sa === undefined ? (sb === undefined ? 0 : 1) : -1;
    return better(sa, sb);
  });
  const table = ranked.map((r, i) => ({ rank: i + 1, ...r }));
  const search = seed === undefined ? { search: 'grid' } : { search: 'random', seed, sampled };
  await writeJson(join(out, 'tune.json'), { metric, ...search, ...(folds !== undefined ? { folds } : {}), trials: table });
  const mean = folds === undefined ? '' : ' (mean)';
  const rows = [['rank', ...axes, `val acc${mean}`, `val loss${mean}`, `test acc${mean}`, 'train s', 'run']];
  for (const row of table) {
    rows.push([
      String(row.rank),
      ...axes.map((n) => row.params[n]),
      row.valAccuracy === undefined ? '-' : percent(row.valAccuracy),
      row.valLoss === undefined ? '-' : row.valLoss.toFixed(4),
      row.testAccuracy === undefined ? '-' : percent(row.testAccuracy),
      row.trainSeconds === undefined ? '-' : row.trainSeconds.toFixed(1),
      row.error === undefined ? (row.out ?? '-') : `failed: ${row.error}`,
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  for (const row of rows) process.stdout.write(`${row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ')}\n`);
  say(`tune: best ${describe(table[0].params)}; table in ${join(out, 'tune.json')}`);
  return results.some((r) => r.error !== undefined || r.result?.code !== 0) ? EXIT.failure : EXIT.ok;
}

/** A point of the search as the table ranks it: its trial's figures, or with folds the means over its folds and each fold's. */
interface PointScore {
  params: Record<string, string>;
  valAccuracy?: number;
  valLoss?: number;
  testAccuracy?: number;
  testLoss?: number;
  /** Seconds of training (with folds, all of them together). */
  trainSeconds?: number;
  /** The run folder (with folds, the folder of its fold runs). */
  out?: string;
  error?: string;
  runs: number;
  folds?: { fold: number; valAccuracy?: number; valLoss?: number; out?: string; error?: string }[];
}

function scorePoint(params: Record<string, string>, trials: distributed.TrialResult<unknown, TuneOutcome>[], foldFolder: string | null): PointScore {
  const runs = trials.reduce((n, t) => n + t.runs, 0);
  if (foldFolder === null) {
    const [t] = trials;
    return { params, ...(t.result ?? {}), ...(t.error ? { error: t.error } : {}), runs };
  }
  // A point is only as good as all its folds: one failed fold leaves it unscored, and named.
  const failedAt = trials.findIndex((t) => t.error !== undefined || t.result?.code !== 0);
  const folds = trials.map((t, f) => ({
    fold: f + 1,
    ...(t.result?.valAccuracy !== undefined ? { valAccuracy: t.result.valAccuracy } : {}),
    ...(t.result?.valLoss !== undefined ? { valLoss: t.result.valLoss } : {}),
    ...(t.result?.out !== undefined ? { out: t.result.out } : {}),
    ...(t.error !== undefined ? { error: t.error } : t.result?.code !== 0 ? { error: `exit ${t.result?.code}` } : {}),
  }));
  const score: PointScore = { params, out: foldFolder, runs, folds };
  if (failedAt >= 0) {
    score.error = `fold ${failedAt + 1}: ${folds[failedAt].error}`;
    return score;
  }
  for (const key of ['valAccuracy', 'valLoss', 'testAccuracy', 'testLoss'] as const) {
    const xs = trials.map((t) => t.result?.[key]);
    if (xs.every((x) => x !== undefined)) score[key] = (xs as number[]).reduce((a, b) => a + b, 0) / xs.length;
  }
  score.trainSeconds = trials.reduce((sum, t) => sum + (t.result?.trainSeconds ?? 0), 0);
  return score;
}

function describe(point: Record<string, string>): string {
  return Object.entries(point)
    .map(([k, v]) => `--${k} ${v}`)
    .join(' ');
}

function summary(r: TuneOutcome | undefined): string {
  if (r === undefined || r.code !== 0) return `exit ${r?.code}`;
  return `val acc ${r.valAccuracy === undefined ? '-' : percent(r.valAccuracy)}, val loss ${r.valLoss?.toFixed(4) ?? '-'}`;
}
