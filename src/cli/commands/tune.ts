// `neurite tune --workers N --grid lr=0.1,0.01 ... train <preset> [train options]`:
// a grid search whose points train as trials of a BullMQ queue
// (distributed.runTrials), on worker processes here and on any machine that
// runs `neurite worker --trials`, ranked by their final validation figures.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { distributed, NeuriteError } from '../../index.js';
import { choiceFlag, intFlag, parseFlags, textFlag } from '../args.js';
import { EXIT, UsageError } from '../errors.js';
import { defaultRunFolder, isNonEmptyFolder, writeJson } from '../runs.js';
import { colorEnabled, palette, percent } from '../terminal.js';
import type { TuneOutcome } from '../tune-trial.js';
import { TRAIN_FLAGS } from './train.js';

export const TUNE_HELP = `Usage: neurite tune [--workers N] --grid FLAG=V1,V2,... [--grid ...] [options] train <preset|model.json> [train options]

Trains one run per point of the grid (every combination of the values given
for each train flag) as trials of a BullMQ queue on a Redis, each on a worker
process, and ranks them by their final validation figures. Each trial's run
folder is trial-<i> in the tune folder, beside tune.json with the table.

Options:
  --grid FLAG=V1,V2     a train option and the values to try (repeat for more)
  --workers N           trial-worker processes here (default: the cores, at most the trials)
  --metric NAME         rank by valAccuracy (default, highest first) or valLoss (lowest first)
  --redis URL           the queue's Redis (default: a private redis-server on 127.0.0.1);
                        other machines serve the queue with "neurite worker --redis URL
                        --trials QUEUE"
  --out DIR             the tune folder (default runs/tune-<model>-<time>)
  -h, --help            show this help

Example:
  neurite tune --workers 2 --grid lr=0.1,0.03,0.01 --grid batch-size=32,64 train mlp --epochs 2`;

const FLAGS = {
  grid: { type: 'string', multiple: true },
  workers: { type: 'string' },
  metric: { type: 'string' },
  redis: { type: 'string' },
  out: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Train options a grid may not vary: where the run goes and how it reports are the tune's. */
const NOT_TUNABLE = new Set(['out', 'resume', 'json', 'help']);

/** `name=v1,v2` as a train flag and its values. */
function gridAxis(text: string): [string, string[]] {
  const m = /^(?:--)?([a-z][a-z-]*)=(.+)$/.exec(text);
  if (!m) throw new UsageError(`tune: --grid ${text}: expected FLAG=V1,V2,... (e.g. lr=0.1,0.01)`);
  const [, name, list] = m;
  const spec = (TRAIN_FLAGS as Record<string, { type: string }>)[name];
  if (!spec || NOT_TUNABLE.has(name)) throw new UsageError(`tune: --grid ${name}: not a train option that a trial can vary`, 'see "neurite train --help"');
  if (spec.type !== 'string') throw new UsageError(`tune: --grid ${name}: a switch, not an option with values`);
  const values = list.split(',').map((v) => v.trim());
  if (values.some((v) => v === '')) throw new UsageError(`tune: --grid ${text}: an empty value`);
  return [name, values];
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
  const axes = ((values.grid as unknown as string[] | undefined) ?? []).map(gridAxis);
  if (axes.length === 0) throw new UsageError('tune: at least one --grid FLAG=V1,V2,... is needed');
  const { values: trainValues, positionals: trainPositionals } = parseFlags('train', trainArgs, TRAIN_FLAGS);
  for (const [name] of axes) {
    if (trainValues[name] !== undefined) throw new UsageError(`tune: --${name} is both in the grid and in the train options`);
  }
  for (const name of ['out', 'resume', 'json']) if (trainValues[name] !== undefined) throw new UsageError(`tune: the train options may not include --${name}`);
  const metric = choiceFlag(values, 'metric', ['valAccuracy', 'valLoss'] as const) ?? 'valAccuracy';
  const out = textFlag(values, 'out') ?? defaultRunFolder(`tune-${trainPositionals[0] ?? 'model'}`);
  if (isNonEmptyFolder(out)) throw new UsageError(`--out ${out} already exists and is not empty; refusing to overwrite it`);
  let points: Record<string, string>[] = [{}];
  for (const [name, list] of axes) points = points.flatMap((p) => list.map((v) => ({ ...p, [name]: v })));
  const workers = intFlag(values, 'workers') ?? Math.min(points.length, availableParallelism());
  const colors = palette(colorEnabled(process.stderr));
  const say = (line: string) => process.stderr.write(`${colors.dim(line)}\n`);
  say(`tune: ${points.length} trial(s) on ${workers} worker process(es), ranked by ${metric}`);
  const params = points.map((p, i) => ({
    args: [...trainArgs, ...Object.entries(p).flatMap(([k, v]) => [`--${k}`, v])],
    out: join(out, `trial-${i}`),
  }));
  const script = fileURLToPath(new URL('../tune-trial.js', import.meta.url));
  let results: distributed.TrialResult<(typeof params)[number], TuneOutcome>[];
  try {
    results = await distributed.runTrials<(typeof params)[number], TuneOutcome>(script, params, {
      workers,
      redis: textFlag(values, 'redis'),
      output: 'ignore',
      log: say,
      onResult: (r) =>
        say(`  trial ${r.index} (${describe(points[r.index])}): ${r.error ? `failed: ${r.error}` : summary(r.result as TuneOutcome | undefined)}`),
    });
  } catch (e) {
    if (e instanceof NeuriteError) throw new UsageError(e.message);
    throw e;
  }
  const score = (r: (typeof results)[number]) => r.result?.[metric];
  const better = (a: number, b: number) => (metric === 'valLoss' ? a - b : b - a);
  const ranked = [...results].sort((a, b) => {
    const sa = score(a);
    const sb = score(b);
    if (sa === undefined || sb === undefined) return sa === undefined ? (sb === undefined ? 0 : 1) : -1;
    return better(sa, sb);
  });
  const table = ranked.map((r, i) => ({ rank: i + 1, params: points[r.index], ...(r.result ?? {}), ...(r.error ? { error: r.error } : {}), runs: r.runs }));
  await writeJson(join(out, 'tune.json'), { metric, trials: table });
  const rows = [['rank', ...axes.map(([n]) => n), 'val acc', 'val loss', 'test acc', 'train s', 'run']];
  for (const row of table) {
    const r = row as (typeof table)[number] & Partial<TuneOutcome>;
    rows.push([
      String(row.rank),
      ...axes.map(([n]) => row.params[n]),
      r.valAccuracy === undefined ? '-' : percent(r.valAccuracy),
      r.valLoss === undefined ? '-' : r.valLoss.toFixed(4),
      r.testAccuracy === undefined ? '-' : percent(r.testAccuracy),
      r.trainSeconds === undefined ? '-' : r.trainSeconds.toFixed(1),
      r.out ?? `failed: ${(row as { error?: string }).error ?? ''}`,
    ]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  for (const row of rows) process.stdout.write(`${row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]))).join('  ')}\n`);
  say(`tune: best ${describe(table[0].params)}; table in ${join(out, 'tune.json')}`);
  return results.some((r) => r.error !== undefined || r.result?.code !== 0) ? EXIT.failure : EXIT.ok;
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
