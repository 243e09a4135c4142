// `neurite launch --workers N [--mode M] train <train args>` and
// `neurite launch --workers N script.mjs [args]`: one training job as several
// replicas (threads of this process, or processes around a Redis).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { atomicWriteFile, distributed, NeuriteError } from '../../index.js';
import { choiceFlag, intFlag, numberFlag, parseFlags, textFlag } from '../args.js';
import { kubernetesJob, slurmScript } from '../emit.js';
import { EXIT, UsageError } from '../errors.js';
import { isNetworkName, resolveModelArg } from '../models.js';
import { defaultRunFolder, isNonEmptyFolder, isUnstartedRun, RUN_FILES, writeJson } from '../runs.js';
import { colorEnabled, formatElapsed, palette } from '../terminal.js';
import { TRAIN_FLAGS } from './train.js';
import { TRAIN_SCRIPT } from './worker.js';

/** `sync` runs processes through Gloo where it is built and a Redis is at hand, else threads (`sync-threads`). */
const MODE_CHOICES = ['sync', 'sync-threads', 'hogwild', 'async'] as const;

export const LAUNCH_HELP = `Usage: neurite launch --workers N [options] train <preset|model.json> [train options]
       neurite launch --workers N [options] train --resume <run folder> [--epochs N]
       neurite launch --workers N [options] <script.mjs> [script arguments]

Trains one model with N replicas, each on its share of every epoch.

Modes:
  sync        (default) the replicas average their gradients before every update:
              the same numbers as one process with an N times larger batch. They
              are processes where redis-server is installed (or --redis is given),
              all-reducing through Gloo where it is built (Debian: libgloo-dev),
              else through Redis; without Redis, threads of this process
  sync-threads  the same, always as threads of this process
  hogwild     threads update one shared copy of the weights without locks
  async       Downpour SGD (Dean et al., 2012): worker processes push gradients to
              parameter-server processes and fetch fresh weights, never waiting for
              each other; needs redis-server (apt-get install redis-server) or --redis

Options:
  --workers N           replicas (required)
  --mode NAME           sync, sync-threads, hogwild or async (default sync)
  --threads N           backend threads per replica (default: the cores divided among them)
  --timeout SECONDS     how long a replica waits for the others, or for Redis, before
                        the job fails naming who it waited for (default 30)
  --servers S           async: parameter-server shards (default 1)
  --redis URL           async and sync: use this Redis (default: start a private
                        redis-server on 127.0.0.1 and stop it at the end)
  --collectives NAME    sync: gloo or redis, how the processes all-reduce (default:
                        gloo where it is built, else redis)
  --bucket-kb K         sync through Gloo: all-reduce gradients in buckets of about K KiB,
                        each sent while backward goes on (0: all at once after backward;
                        default 256 with workers on other machines, else 0)
  --resume-job ID       with --redis: continue job ID from the checkpoint its rank 0 last
                        recorded in that Redis (after a crash of the whole job; what
                        follows is train options only, e.g. train --epochs 10)
  --min-workers M       sync: when a worker fails, go on from the last checkpoint (the
                        last finished epoch) with the survivors while at least M remain
                        (default: --workers, so a failed worker stops the job)
  --replace-wait SECONDS
                        sync: after a lost worker, wait up to SECONDS for workers to take
                        the free ranks ("neurite worker --redis URL --job ID" on any
                        machine, the job's first ID), going on as soon as the job is whole
                        again, or at the end with at least --min-workers (default 0: go on
                        at once with the survivors)
  --n-fetch N           async: fetch fresh weights every N steps (default 1)
  --n-push N            async: push accumulated gradients every N steps (default 1)
  --max-staleness T     async: servers drop gradients computed on weights more than T
                        updates old (default: never)
  --scale-stale         async: servers divide the learning rate by a gradient's staleness
  --local-workers K     sync and async: start K of the workers here (ranks 0 to K-1); the
                        others join from other machines with "neurite worker --redis URL
                        --job ID" within --timeout (pass --redis with an address they reach)
  --job ID              sync and async: the job's id in Redis (default: drawn at random)
  --emit k8s|slurm      print the job as a Kubernetes Indexed Job or a Slurm batch script
                        (one launcher task and N-1 "neurite worker" tasks; needs --redis)
                        instead of running it
  --image IMAGE         with --emit k8s: the container image holding the project
  -h, --help            show this help

With train, rank 0 prints the progress and writes the run folder (with
distributed.json: the job's time, per-worker throughput and, in async mode, the
staleness histogram); --out defaults to runs/<model>-<timestamp> as for train.
A script calls distributed.init() and passes the replica to fit(..., {distributed}).

Examples:
  neurite launch --workers 2 train lenet5 --epochs 1
  neurite launch --workers 2 --mode async --servers 2 train mlp --optimizer adagrad --lr 0.01
  neurite launch --workers 2 train.mjs
  neurite launch --workers 3 --local-workers 1 --redis redis://10.0.0.5:6379 train lenet5
  neurite launch --workers 8 --redis redis://redis:6379 --emit slurm train lenet5 > job.sh`;

const FLAGS = {
  workers: { type: 'string' },
  mode: { type: 'string' },
  threads: { type: 'string' },
  timeout: { type: 'string' },
  servers: { type: 'string' },
  redis: { type: 'string' },
  'n-fetch': { type: 'string' },
  'n-push': { type: 'string' },
  'max-staleness': { type: 'string' },
  'scale-stale': { type: 'boolean' },
  'local-workers': { type: 'string' },
  collectives: { type: 'string' },
  'bucket-kb': { type: 'string' },
  'resume-job': { type: 'string' },
  'min-workers': { type: 'string' },
  'replace-wait': { type: 'string' },
  job: { type: 'string' },
  emit: { type: 'string' },
  image: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The flags that say where the job runs rather than what it does: an emitted job's tasks get their own. */
const PLACEMENT_FLAGS = ['emit', 'image', 'local-workers', 'job'];

/** `own` without the placement flags (and their values). */
function withoutPlacement(own: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < own.length; i++) {
    const name = own[i].replace(/^--?/, '').split('=')[0];
    if (PLACEMENT_FLAGS.includes(name)) {
      if (!own[i].includes('=')) i++;
      continue;
    }
    kept.push(own[i]);
  }
  return kept;
}

/** The launch options before the target, the target (train or a script) and its arguments. */
function splitAtTarget(args: readonly string[]): { own: string[]; target: string | undefined; rest: string[] } {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('-')) return { own: args.slice(0, i), target: a, rest: args.slice(i + 1) };
    const name = a.replace(/^--?/, '').split('=')[0];
    const spec = (FLAGS as Record<string, { type: string }>)[name];
    // A flag's value is the next word (unless written --flag=value).
    if (spec?.type === 'string' && !a.includes('=')) i++;
  }
  return { own: [...args], target: undefined, rest: [] };
}

/** The run folder rank 0 will write, checked now so that a mistake costs no replica start. */
/**
 * A job resumed on a machine that cannot read its checkpoint where rank 0 wrote it: the copy kept in Redis becomes a
 * run folder here, runs/<the run's folder name>, which the resumed job then writes.
 */
async function restoreCheckpointCopy(url: string, job: string, pointer: distributed.CheckpointPointer): Promise<string> {
  const copy = await distributed.checkpointCopy(url, job);
  if (copy === null || copy[RUN_FILES.config] === undefined)
    throw new UsageError(
      `--resume-job ${job}: the job's last checkpoint is ${pointer.path} on ${pointer.host}, which this machine cannot read, and ${url} keeps no copy of it (${whyNoCopy(pointer)})`,
      `run this on ${pointer.host}, or keep the runs on a file system every machine mounts`,
    );
  const runDir = join('runs', basename(dirname(pointer.path)));
  if (existsSync(runDir) && !existsSync(join(runDir, RUN_FILES.config)))
    throw new UsageError(`--resume-job ${job}: ${runDir} exists here and is not a run folder; move it away to restore the job's run there`);
  // A run folder of the same name may be this job's own (an earlier restore, or a copy of its files): then the newer
  // checkpoint replaces its own. Any other run there is somebody's work, never overwritten.
  const localConfig = join(runDir, RUN_FILES.config);
  if (existsSync(localConfig) && !Buffer.from(readFileSync(localConfig)).equals(Buffer.from(copy[RUN_FILES.config])))
    throw new UsageError(
      `--resume-job ${job}: ${runDir} holds another run here (its ${RUN_FILES.config} differs from the job's); refusing to overwrite it`,
      `move ${runDir} away, then run this again`,
    );
  mkdirSync(runDir, { recursive: true });
  for (const [name, bytes] of Object.entries(copy)) {
    if (basename(name) !== name) throw new UsageError(`--resume-job ${job}: the copy in ${url} names a file outside its run folder (${JSON.stringify(name)})`);
    await atomicWriteFile(join(runDir, name), bytes);
  }
  process.stderr.write(`launch: ${pointer.path} is not on this machine; restored the run from the copy in Redis into ${runDir}\n`);
  return runDir;
}

/** Why a checkpoint pointer has no copy of the run files beside it, in words. */
function whyNoCopy(pointer: distributed.CheckpointPointer): string {
  const limitMiB = distributed.CHECKPOINT_COPY_LIMIT / 2 ** 20;
  if (pointer.bytes !== undefined && pointer.bytes > distributed.CHECKPOINT_COPY_LIMIT)
    return `its files were ${(pointer.bytes / 2 ** 20).toFixed(1)} MiB, over the ${limitMiB} MiB it keeps`;
  return 'none was recorded';
}

function runFolderFor(trainArgs: string[]): { args: string[]; runDir: string } {
  const { values, positionals } = parseFlags('train', trainArgs, TRAIN_FLAGS);
  const resumeDir = textFlag(values, 'resume');
  if (resumeDir !== undefined) return { args: trainArgs, runDir: resumeDir };
  const modelArg = positionals[0];
  if (modelArg === undefined) throw new UsageError('launch train: missing <preset|model.json|network>', 'e.g. neurite launch --workers 2 train lenet5');
  const out = textFlag(values, 'out');
  if (out !== undefined) {
    if (isNonEmptyFolder(out) && !isUnstartedRun(out)) {
      throw new UsageError(
        `--out ${out} already exists and is not empty; refusing to overwrite it`,
        `choose another --out, or continue that run with "neurite launch ... train --resume ${out}"`,
      );
    }
    return { args: trainArgs, runDir: out };
  }
  let name = modelArg;
  if (!isNetworkName(modelArg)) {
    const source = resolveModelArg(modelArg);
    if (source.kind === 'spec') name = source.spec.name ?? source.preset ?? 'model';
  }
  const runDir = defaultRunFolder(name);
  return { args: [...trainArgs, '--out', runDir], runDir };
}

function describeHistogram(histogram: readonly number[]): string {
  const last = histogram.reduce((k, v, i) => (v > 0 ? i : k), 0);
  return histogram
    .slice(0, last + 1)
    .map((v, i) => `${i === histogram.length - 1 ? `${i}+` : i}:${v}`)
    .join(' ');
}

/** `neurite launch`: returns the exit code. */
export async function launchCommand(args: readonly string[]): Promise<number> {
  const split = splitAtTarget(args);
  const { own } = split;
  let { target, rest } = split;
  const { values, positionals } = parseFlags('launch', own, FLAGS);
  if (values.help || (target === undefined && own.length === 0)) {
    process.stdout.write(`${LAUNCH_HELP}\n`);
    return values.help ? EXIT.ok : EXIT.usage;
  }
  if (positionals.length > 0) throw new UsageError(`launch: unexpected argument ${JSON.stringify(positionals[0])}`);
  const resumeJob = textFlag(values, 'resume-job');
  if (resumeJob !== undefined) {
    // The run comes from the job's checkpoint pointer in its Redis: what rank 0 wrote after its last checkpoint.
    const url = textFlag(values, 'redis');
    if (url === undefined) throw new UsageError(`--resume-job ${resumeJob} needs --redis URL: the job's checkpoint pointer is in its Redis`);
    if ((target !== undefined && target !== 'train') || (rest.length > 0 && !rest[0].startsWith('-')) || rest.includes('--resume'))
      throw new UsageError(`--resume-job ${resumeJob}: the model and its run come from the job's checkpoint; pass only train options (e.g. train --epochs 10)`);
    const pointer = await distributed.lastCheckpoint(url, resumeJob);
    if (pointer === null)
      throw new UsageError(`--resume-job ${resumeJob}: ${url} holds no checkpoint of job '${resumeJob}' (none written yet, or the last was over a week ago)`);
    process.stderr.write(`launch: job '${resumeJob}' wrote its last checkpoint at epoch ${pointer.epoch} on ${pointer.host} (${pointer.savedAt})\n`);
    let runDir = dirname(pointer.path);
    if (!existsSync(pointer.path)) runDir = await restoreCheckpointCopy(url, resumeJob, pointer);
    target = 'train';
    rest = ['--resume', runDir, ...rest];
  }
  if (target === undefined)
    throw new UsageError('launch: missing what to run: train <preset|model.json> [options], or a script', 'see "neurite launch --help"');
  const workers = intFlag(values, 'workers');
  if (workers === undefined) throw new UsageError('launch: --workers N is required', 'e.g. neurite launch --workers 2 train lenet5');
  const chosen = choiceFlag(values, 'mode', MODE_CHOICES) ?? 'sync';
  const redis = textFlag(values, 'redis');
  const colors = palette(colorEnabled(process.stderr));
  const say = (line: string) => process.stderr.write(`${colors.dim(line)}\n`);
  const localWorkers = intFlag(values, 'local-workers');
  const job = textFlag(values, 'job');
  if (job !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(job)) throw new UsageError(`--job must be 1 to 64 letters, digits, '.', '_' or '-', got '${job}'`);
  const emit = choiceFlag(values, 'emit', ['k8s', 'slurm'] as const);
  const spread = localWorkers !== undefined || emit !== undefined;
  if (spread && (chosen === 'sync-threads' || chosen === 'hogwild'))
    throw new UsageError(`--mode ${chosen} runs threads of one process; ${emit ? '--emit' : '--local-workers'} needs --mode sync or async`);
  if (localWorkers !== undefined && localWorkers > workers) throw new UsageError(`--local-workers ${localWorkers} is more than --workers ${workers}`);
  if (values.image !== undefined && emit !== 'k8s') throw new UsageError('--image applies to --emit k8s');
  if (emit !== undefined) {
    if (redis === undefined)
      throw new UsageError(`--emit ${emit} needs --redis URL: a Redis every task of the job reaches`, 'e.g. --redis redis://10.0.0.5:6379');
    if (localWorkers !== undefined) throw new UsageError('--emit runs one launcher task (rank 0) and N-1 worker tasks; leave out --local-workers');
    const image = textFlag(values, 'image');
    if (emit === 'k8s' && image === undefined) throw new UsageError('--emit k8s needs --image IMAGE: a container image holding the project (npm install done)');
    const threads = intFlag(values, 'threads') ?? 1;
    const timeout = textFlag(values, 'timeout');
    const plan = {
      workers,
      job: job ?? randomBytes(4).toString('hex'),
      redis,
      launchArgs: [...withoutPlacement(own), target, ...rest],
      workerArgs: [...(values.threads !== undefined ? ['--threads', String(threads)] : []), ...(timeout !== undefined ? ['--timeout', timeout] : [])],
      threads,
    };
    process.stdout.write(emit === 'k8s' ? kubernetesJob(plan, image as string) : slurmScript(plan));
    return EXIT.ok;
  }
  let mode: distributed.Mode = chosen;
  const collectives = choiceFlag(values, 'collectives', ['gloo', 'redis'] as const);
  if (collectives !== undefined && chosen !== 'sync') throw new UsageError(`--collectives applies to --mode sync, not ${chosen}`);
  if (collectives === 'gloo' && distributed.glooUnavailableReason() !== null)
    throw new UsageError(`--collectives gloo: ${distributed.glooUnavailableReason()}`, 'or --collectives redis, which needs only the Redis');
  const bucketKb = values['bucket-kb'] === undefined ? undefined : Number(values['bucket-kb']);
  if (bucketKb !== undefined && !(Number.isInteger(bucketKb) && bucketKb >= 0))
    throw new UsageError(`--bucket-kb must be a whole number of KiB, 0 or more, got '${values['bucket-kb']}'`);
  if (bucketKb !== undefined && chosen !== 'sync') throw new UsageError(`--bucket-kb applies to --mode sync, not ${chosen}`);
  const minWorkers = intFlag(values, 'min-workers');
  if (minWorkers !== undefined && chosen !== 'sync') throw new UsageError(`--min-workers applies to --mode sync, not ${chosen}`);
  if (minWorkers !== undefined && minWorkers > workers) throw new UsageError(`--min-workers ${minWorkers} is more than --workers ${workers}`);
  const replaceWait = numberFlag(values, 'replace-wait', (v) => v >= 0, 'a number of seconds, 0 or more');
  if (replaceWait !== undefined && chosen !== 'sync') throw new UsageError(`--replace-wait applies to --mode sync, not ${chosen}`);
  const elastic = minWorkers !== undefined || (replaceWait ?? 0) > 0;
  if (chosen === 'sync') {
    // Processes where a Redis is at hand (all-reducing through Gloo where it is built, else through Redis); else threads of this process, said once.
    const noRedis =
      redis === undefined && !distributed.redisServerInstalled() ? 'redis-server is not installed (apt-get install redis-server), or pass --redis URL' : null;
    if (noRedis === null) mode = 'sync';
    else if (localWorkers !== undefined || collectives !== undefined || minWorkers !== undefined || replaceWait !== undefined || bucketKb !== undefined)
      throw new UsageError(`--mode sync across processes needs a Redis: ${noRedis}`);
    else {
      mode = 'sync-threads';
      say(`launch: sync replicas run as threads of this process: ${noRedis}, for processes`);
    }
  }
  const flagsOf: Record<string, string[]> = {
    sync: ['redis'],
    async: ['servers', 'redis', 'n-fetch', 'n-push', 'max-staleness', 'scale-stale'],
  };
  const misplaced = ['servers', 'redis', 'n-fetch', 'n-push', 'max-staleness', 'scale-stale'].filter(
    (f) => values[f] !== undefined && !(flagsOf[mode] ?? []).includes(f),
  );
  if (misplaced.length > 0) throw new UsageError(`--${misplaced[0]} applies to --mode async${misplaced[0] === 'redis' ? ' and sync' : ''}, not ${chosen}`);
  if (mode === 'async' && redis === undefined && !distributed.redisServerInstalled()) {
    throw new UsageError(
      'launch --mode async runs workers and parameter servers as processes around a Redis, and redis-server is not installed',
      'install it (apt-get install redis-server) or pass --redis URL; --mode sync and hogwild need nothing beyond npm install',
    );
  }
  const timeoutSeconds = numberFlag(values, 'timeout', (v) => v > 0, 'a positive number of seconds') ?? 30;
  const maxStaleness = intFlag(values, 'max-staleness', 0);
  const options: distributed.LaunchOptions = {
    workers,
    mode,
    timeoutMs: timeoutSeconds * 1000,
    threadsPerWorker: intFlag(values, 'threads') ?? Math.max(1, Math.floor(availableParallelism() / workers)),
    ...(mode === 'sync'
      ? {
          redis,
          ...(collectives !== undefined ? { collectives } : {}),
          ...(minWorkers !== undefined ? { minWorkers } : {}),
          ...(replaceWait !== undefined ? { replaceWaitMs: replaceWait * 1000 } : {}),
          ...(bucketKb !== undefined ? { bucketBytes: bucketKb * 1024 } : {}),
        }
      : {}),
    ...(localWorkers !== undefined ? { localWorkers } : {}),
    ...(job !== undefined ? { job } : {}),
    ...(mode === 'async'
      ? {
          servers: intFlag(values, 'servers') ?? 1,
          redis,
          nFetch: intFlag(values, 'n-fetch') ?? 1,
          nPush: intFlag(values, 'n-push') ?? 1,
          maxStaleness: maxStaleness ?? Number.POSITIVE_INFINITY,
          scaleStale: values['scale-stale'] === true,
        }
      : {}),
  };

  let script: string | URL;
  let runDir: string | null = null;
  if (target === 'train') {
    const prepared = runFolderFor(rest);
    runDir = prepared.runDir;
    options.argv = prepared.args;
    script = new URL('../replica-main.js', import.meta.url);
    if (elastic) {
      // Going on after a lost worker: the run continues from its checkpoint, with the flags that may change on resuming.
      const { values: trainValues } = parseFlags('train', rest, TRAIN_FLAGS);
      const carried = ['epochs', 'backend'].flatMap((f) => (typeof trainValues[f] === 'string' ? [`--${f}`, trainValues[f] as string] : []));
      const switches = ['compile', 'json'].flatMap((f) => (trainValues[f] === true ? [`--${f}`] : []));
      options.resumeArgv = ['--resume', runDir, ...carried, ...switches];
    }
    // Workers that join (from the start, or as replacements) resolve the train script on their own machine.
    if (localWorkers !== undefined || elastic) options.remoteScript = TRAIN_SCRIPT;
  } else {
    if (!existsSync(target) || !statSync(target).isFile())
      throw new UsageError(`launch: ${target}: no such script`, 'launch runs "train <preset|model.json> [options]" or a script that calls distributed.init()');
    options.argv = rest;
    script = pathToFileURL(resolve(target));
  }
  options.log = say;
  const placement =
    mode === 'async'
      ? `processes, ${options.servers} parameter server${options.servers === 1 ? '' : 's'}`
      : mode === 'sync'
        ? `processes, all-reducing through ${(collectives ?? (distributed.glooUnavailableReason() === null ? 'gloo' : 'redis')) === 'gloo' ? 'Gloo' : 'Redis'}`
        : 'threads of this process';
  say(`launch: ${workers} replica${workers === 1 ? '' : 's'} in ${mode} mode (${placement}), ${options.threadsPerWorker} backend thread(s) each`);

  let result: distributed.LaunchResult;
  try {
    result = await distributed.launch(script, options);
  } catch (e) {
    // A replica's own mistake (a bad flag, a missing file) is the user's to fix: exit 2 as train would.
    const cause = (e as { cause?: { name?: string } }).cause;
    const usage = cause?.name === 'UsageError' || cause?.name === 'ConfigError' || /failed: exited with code 2\b/.test((e as Error).message);
    if (e instanceof NeuriteError && usage) throw new UsageError(e.message);
    throw e;
  }
  const codes = result.results.map((r) => (r as { code?: number } | undefined)?.code);
  say(
    `launch: finished in ${formatElapsed(result.seconds)}${result.failures.length > 0 ? `; ${result.failures.length} worker(s) failed and the job went on without them` : ''}`,
  );
  for (const f of result.failures) say(`  worker ${f.rank}: ${f.message}`);
  result.workers?.forEach((w, rank) => {
    if (w === undefined) return;
    const rate = w.seconds > 0 ? w.samples / w.seconds : 0;
    say(
      `  worker ${rank}: ${w.steps} steps, ${Math.round(rate).toLocaleString('en-US')} samples/s, ${w.pushes} pushes, ${w.fetches} fetches, communication ${formatElapsed(w.communicationSeconds)} (${formatElapsed(w.blockedSeconds)} not hidden behind computing), waiting for servers ${formatElapsed(w.waitSeconds)}`,
    );
  });
  result.servers?.forEach((s, shard) => {
    if (s === undefined) return;
    say(`  server ${shard}: ${s.applied} updates applied, ${s.dropped} dropped as stale, staleness ${describeHistogram(s.staleness)}`);
  });
  if (result.serverRestarts) say(`  ${result.serverRestarts} parameter-server restart(s)`);
  if (runDir !== null && existsSync(runDir)) {
    const { results: _results, ...stats } = result;
    await writeJson(join(runDir, 'distributed.json'), { mode, replicas: workers, threadsPerWorker: options.threadsPerWorker, ...stats });
  }
  const failed = codes.find((c) => c !== undefined && c !== EXIT.ok);
  return failed ?? (codes.every((c) => c === undefined) && target === 'train' ? EXIT.failure : EXIT.ok);
}
