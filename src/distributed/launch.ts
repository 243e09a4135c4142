// One entry for every way of running a job's replicas: threads of this
// process (sync-threads, hogwild) or processes around a Redis (async).
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { ValueError } from '../core/errors.js';
import type { ShardStats } from './downpour.js';
import { DistributedError, type WorkerFailure, WorkerLostError } from './errors.js';
import { glooUnavailableReason } from './gloo.js';
import { launchProcesses, type ScriptLocation, type StartedProcess } from './processes.js';
import type { WorkerStats } from './redis.js';
import { startRedis } from './redis-server.js';
import { launchThreads } from './threads.js';

/** The ways replicas can train together. */
export const MODES = ['sync-threads', 'sync', 'hogwild', 'async'] as const;
/**
 * 'sync-threads': threads of one process average their gradients before
 * every update (replicas stay bit-identical). 'sync': the same across
 * processes (and machines), through Gloo's all-reduce, meeting on a Redis.
 * 'hogwild': threads update one shared set of weights with no lock.
 * 'async': Downpour SGD, worker processes and parameter-server processes
 * around a Redis.
 */
export type Mode = (typeof MODES)[number];

/** Options of launch(). */
export interface LaunchOptions {
  /** Replicas in the job (each runs the script). */
  workers: number;
  /**
   * sync and async: how many of the workers this process starts (ranks 0 to
   * localWorkers - 1; default: all). The others join from other machines
   * with `neurite worker --redis URL --job ID` (or `join()`), within timeoutMs.
   */
  localWorkers?: number;
  /** sync and async: the job's id in Redis, which joining workers name (default: drawn at random). */
  job?: string;
  /** sync and async: the script's path on the machines that join (default: its path here). */
  remoteScript?: string;
  /** How they train together (default 'sync-threads'). */
  mode?: Mode;
  /** How long a replica waits for the others (threads) or for Redis and the servers (async) before it fails (default 30,000 ms). */
  timeoutMs?: number;
  /** Backend threads per replica (default: the machine's cores divided among the replicas, at least 1). */
  threadsPerWorker?: number;
  /** The seed the replicas share (default: drawn at random); it orders the samples. */
  seed?: number;
  /** Arguments the script sees in process.argv after the script's path. */
  argv?: readonly string[];
  /** Any structured-cloneable (threads) or JSON (async) value, handed to every replica as `replica.data`. */
  data?: unknown;
  /**
   * sync: how the processes all-reduce: 'gloo' (Gloo's ring over TCP, rank to
   * rank) or 'redis' (through the job's Redis; slower for large models, needs
   * nothing else). Default: 'gloo' where it is built, else 'redis', said once.
   */
  collectives?: 'gloo' | 'redis';
  /**
   * sync through Gloo: send gradients in buckets of about this many bytes while
   * backward goes on (see DataParallelOptions); 0 sends them all after
   * backward. Default: 256 KiB when workers join from other machines, 0 when
   * all run on this one (there the exchange is CPU work that competes with
   * backward for the same cores; see docs/distributed.md).
   */
  bucketBytes?: number;
  /**
   * sync across processes: go on while at least this many workers remain
   * (default: workers, so a failed worker stops the job). When a worker fails
   * and enough survive, the launcher stops the others and starts the job
   * again with the survivors (those of this process, and the joined workers
   * still answering, which rejoin), running the script with `resumeArgv`: a
   * script that saves checkpoints resumes from its last one.
   */
  minWorkers?: number;
  /**
   * sync with minWorkers: after a lost worker, wait up to this many
   * milliseconds for workers to take the free ranks (`neurite worker`, or
   * `distributed.join()`, on any machine that reaches the job's Redis) before
   * going on (default 0: go on at once with the survivors). The job goes on
   * as soon as it is whole again, or at the end of the wait with whoever came
   * if that is at least minWorkers; with fewer it fails. So a job whose
   * survivors are fewer than minWorkers waits for replacements instead of
   * failing at once.
   */
  replaceWaitMs?: number;
  /** sync with minWorkers: the script's arguments when the job goes on after a lost worker (default: argv). */
  resumeArgv?: readonly string[];
  /** async: parameter-server shards (default 1). */
  servers?: number;
  /** async and sync: the Redis to use, e.g. redis://10.0.0.5:6379 (default: start a private redis-server on 127.0.0.1 and stop it at the end). */
  redis?: string;
  /** async: fetch fresh weights every this many steps (default 1). */
  nFetch?: number;
  /** async: push accumulated gradients every this many steps (default 1). */
  nPush?: number;
  /** async: servers drop gradients computed on weights more than this many updates old (default Infinity: never). */
  maxStaleness?: number;
  /** async: servers divide the learning rate by a gradient's staleness (default false). */
  scaleStale?: boolean;
  /** async: called with each process the launcher starts (workers and servers, restarts included). */
  onStart?: (process: StartedProcess) => void;
  /** Where the launcher says what happens (a server restarted, a worker died); default: nowhere. */
  log?: (line: string) => void;
}

/** What a finished launch gives back. */
export interface LaunchResult {
  /** What each replica handed to `replica.report()`, by rank (undefined where it reported nothing). */
  results: unknown[];
  /** Wall-clock seconds from the first replica's start to the last one's end. */
  seconds: number;
  /** async: workers that died (the job went on without them); empty otherwise. */
  failures: {
    /** The worker's rank. */
    rank: number;
    /** How it ended ('killed by SIGKILL', 'exited with code 1: ...'). */
    message: string;
  }[];
  /** async: each worker's counts: steps, samples, seconds, pushes, fetches, communication and waiting time. */
  workers?: (WorkerStats | undefined)[];
  /** async: each server shard's counts: applied, dropped, duplicates skipped, staleness histogram, final version. */
  servers?: (
    | (ShardStats & {
        /** The shard's weights version at the end (updates applied, restarts included). */
        version: number;
      })
    | undefined
  )[];
  /** async: server shards restarted after they died. */
  serverRestarts?: number;
  /** sync with minWorkers: the attempts that lost a worker, before the one that finished. */
  attempts?: SyncAttempt[];
}

/** One attempt of a synchronous job that lost a worker. */
export interface SyncAttempt {
  /** Its workers. */
  workers: number;
  /** Those that failed, by rank. */
  failures: WorkerFailure[];
  /** How long it ran before the launcher stopped it. */
  seconds: number;
}

/** The options that apply to more than mode 'async' (the rest are async's alone). */
const WHERE: Record<string, string> = {
  redis: "'async' and 'sync'",
  job: "'async' and 'sync'",
  minWorkers: "'sync'",
  replaceWaitMs: "'sync'",
  resumeArgv: "'sync'",
  remoteScript: "'async' and 'sync'",
  collectives: "'sync'",
  bucketBytes: "'sync'",
};

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new ValueError(`launch: ${name} must be an integer >= 1, got ${value}`);
  return value;
}

/**
 * Run `script` (an ES module's path or URL) as the `workers` replicas of one
 * training job and resolve when it finished. Each replica calls
 * `distributed.init()` and passes what it gets to `fit(..., {distributed})`.
 *
 * With threads, if one replica throws, the others stop at their next
 * collective and the promise rejects with a DistributedError naming the rank
 * and its error; a replica that hangs makes the others fail after
 * `timeoutMs`, naming it. In async mode a worker that dies costs nothing (the
 * job goes on and `failures` lists it) and a server shard that dies is
 * restarted, resuming from what Redis holds.
 *
 * @example
 * const { results } = await distributed.launch(new URL('./train.mjs', import.meta.url), { workers: 2 });
 */
export async function launch(script: ScriptLocation, options: LaunchOptions): Promise<LaunchResult> {
  if (options === null || typeof options !== 'object') throw new ValueError('launch: options {workers, mode} are required');
  const workers = positiveInteger('workers', options.workers);
  const mode = options.mode ?? 'sync-threads';
  if (!MODES.includes(mode)) throw new ValueError(`launch: mode must be one of ${MODES.join(', ')}, got '${mode}'`);
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!(timeoutMs > 0)) throw new ValueError(`launch: timeoutMs must be positive, got ${timeoutMs}`);
  const threadsPerWorker = positiveInteger('threadsPerWorker', options.threadsPerWorker ?? Math.max(1, Math.floor(availableParallelism() / workers)));
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
  if (!Number.isInteger(seed) || seed < 0) throw new ValueError(`launch: seed must be a non-negative integer, got ${seed}`);
  const localWorkers = options.localWorkers ?? workers;
  if (!Number.isInteger(localWorkers) || localWorkers < 1 || localWorkers > workers)
    throw new ValueError(`launch: localWorkers must be an integer from 1 to workers (${workers}), got ${localWorkers}`);
  if (options.job !== undefined && !/^[A-Za-z0-9_.-]{1,64}$/.test(options.job))
    throw new ValueError(`launch: job must be 1 to 64 letters, digits, '.', '_' or '-', got '${options.job}'`);
  // What every job of processes takes, whatever its mode.
  const processes = {
    workers,
    localWorkers,
    job: options.job,
    remoteScript: options.remoteScript,
    redis: options.redis,
    timeoutMs,
    threadsPerWorker,
    seed,
    argv: options.argv,
    data: options.data,
    onStart: options.onStart,
    log: options.log,
  };
  if (mode === 'sync') {
    for (const key of ['servers', 'nFetch', 'nPush', 'maxStaleness', 'scaleStale'] as const) {
      if (options[key] !== undefined) throw new ValueError(`launch: ${key} applies to mode 'async', not '${mode}'`);
    }
    const missing = glooUnavailableReason();
    const collectives = options.collectives ?? (missing === null ? 'gloo' : 'redis');
    if (collectives !== 'gloo' && collectives !== 'redis') throw new ValueError(`launch: collectives must be 'gloo' or 'redis', got '${collectives}'`);
    if (collectives === 'gloo' && missing !== null)
      throw new DistributedError(`launch: collectives 'gloo' asked for, and ${missing}; collectives 'redis' need only the job's Redis`);
    if (collectives === 'redis' && options.collectives === undefined)
      options.log?.(`launch: sync collectives go through Redis, slower than Gloo's for large models: ${missing}`);
    // Overlap pays where the exchange waits on a network; between processes of one machine it is CPU work that
    // competes with backward for the same cores (bench/buckets.mjs: 0.73-0.82x on the MLPs, 2 workers on 2 cores).
    const bucketBytes = options.bucketBytes ?? (localWorkers < workers ? 256 * 1024 : 0);
    if (!(Number.isInteger(bucketBytes) && bucketBytes >= 0))
      throw new ValueError(`launch: bucketBytes must be an integer number of bytes, 0 or more, got ${bucketBytes}`);
    const minWorkers = options.minWorkers ?? workers;
    if (!Number.isInteger(minWorkers) || minWorkers < 1 || minWorkers > workers)
      throw new ValueError(`launch: minWorkers must be an integer from 1 to workers (${workers}), got ${minWorkers}`);
    const replaceWaitMs = options.replaceWaitMs ?? 0;
    if (!(Number.isFinite(replaceWaitMs) && replaceWaitMs >= 0))
      throw new ValueError(`launch: replaceWaitMs must be a number of milliseconds, 0 or more, got ${replaceWaitMs}`);
    const replace = replaceWaitMs > 0;
    const base = options.job ?? randomBytes(6).toString('hex');
    const attempts: SyncAttempt[] = [];
    let world = workers;
    let local = localWorkers;
    // After a lost worker, with replacements awaited: the free ranks are open to whoever joins in time.
    let roster = false;
    let argv = options.argv;
    const started = performance.now();
    // A job that may go on after a lost worker keeps one Redis for all its attempts: joined workers are told the next
    // attempt's id on it.
    const ownRedis = options.redis === undefined && (minWorkers < workers || replace) ? await startRedis() : null;
    if (ownRedis) options.log?.(`launch: started redis-server (pid ${ownRedis.pid}) on ${ownRedis.url}`);
    const redis = options.redis ?? ownRedis?.url;
    try {
      for (let attempt = 0; ; attempt++) {
        const job = attempt === 0 ? base : `${base}-r${attempt}`;
        const t0 = performance.now();
        try {
          const result = await launchProcesses(script, {
            ...processes,
            redis,
            workers: world,
            localWorkers: local,
            job,
            checkpointJob: base,
            ...(roster ? { roster: { minWorkers, waitMs: replaceWaitMs } } : {}),
            argv,
            collectives,
            bucketBytes,
            mode: 'sync',
            servers: 0,
            nFetch: 1,
            nPush: 1,
            rule: { maxStaleness: Number.POSITIVE_INFINITY, scale: false },
            elastic: { minWorkers, nextJob: `${base}-r${attempt + 1}`, replace },
          });
          if (attempts.length === 0) return result;
          return {
            ...result,
            seconds: (performance.now() - started) / 1000,
            failures: [...attempts.flatMap((a) => a.failures), ...result.failures],
            attempts,
          };
        } catch (e) {
          if (!(e instanceof WorkerLostError)) throw e;
          // The survivors go on from the last checkpoint, as a smaller job: this process's own (at least one, for rank 0) and the joined workers still answering.
          const nextLocal = Math.max(1, e.localSurvivors);
          const next = nextLocal + e.remoteSurvivors;
          attempts.push({ workers: e.worldSize, failures: [...e.failures], seconds: (performance.now() - t0) / 1000 });
          // A usage mistake (exit 2) fails every worker alike, and each attempt must be able to lose a worker: no retry then.
          const usage = e.failures.some((f) => /^exited with code 2\b/.test(f.message));
          if (replace) {
            // Replacements may come: the next attempt opens every rank past this process's survivors and waits for them.
            if (usage || attempts.length > workers) {
              throw new DistributedError(`${e.message}; no more restarts after ${attempts.length - 1}`, { cause: e });
            }
            options.log?.(
              `${e.message}; going on from the last checkpoint once ${workers - nextLocal} worker(s) join (${next - nextLocal} survivor(s) rejoin), waiting up to ${replaceWaitMs / 1000} s for at least ${minWorkers} in all`,
            );
            world = workers;
            local = nextLocal;
            roster = true;
            argv = options.resumeArgv ?? argv;
            continue;
          }
          if (next < minWorkers || usage || attempts.length > workers - minWorkers) {
            if (attempts.length === 1) throw e;
            throw new DistributedError(
              `${e.message}; ${next} worker(s) would remain, fewer than minWorkers (${minWorkers}), after ${attempts.length - 1} restart(s)`,
              {
                cause: e,
              },
            );
          }
          options.log?.(`${e.message}; going on with ${next} worker(s) from the last checkpoint`);
          world = next;
          local = nextLocal;
          argv = options.resumeArgv ?? argv;
        }
      }
    } finally {
      await ownRedis?.stop();
    }
  }
  if (mode !== 'async') {
    for (const key of [
      'servers',
      'redis',
      'nFetch',
      'nPush',
      'maxStaleness',
      'scaleStale',
      'job',
      'remoteScript',
      'collectives',
      'bucketBytes',
      'minWorkers',
      'resumeArgv',
    ] as const) {
      if (options[key] !== undefined) throw new ValueError(`launch: ${key} applies to mode ${WHERE[key] ?? "'async'"}, not '${mode}'`);
    }
    if (localWorkers !== workers)
      throw new ValueError(`launch: mode '${mode}' runs threads of this process; workers on other machines need mode 'sync' or 'async'`);
    const { results, seconds } = await launchThreads(script, { workers, mode, timeoutMs, threadsPerWorker, seed, argv: options.argv, data: options.data });
    return { results, seconds, failures: [] };
  }
  for (const key of ['collectives', 'bucketBytes', 'minWorkers', 'resumeArgv'] as const)
    if (options[key] !== undefined) throw new ValueError(`launch: ${key} applies to mode 'sync', not 'async'`);
  const maxStaleness = options.maxStaleness ?? Number.POSITIVE_INFINITY;
  if (!(maxStaleness >= 0)) throw new ValueError(`launch: maxStaleness must be >= 0, got ${maxStaleness}`);
  return launchProcesses(script, {
    ...processes,
    servers: positiveInteger('servers', options.servers ?? 1),
    nFetch: positiveInteger('nFetch', options.nFetch ?? 1),
    nPush: positiveInteger('nPush', options.nPush ?? 1),
    rule: { maxStaleness, scale: options.scaleStale ?? false },
  });
}
