// Workers on other machines. A launcher whose job has more workers than it
// starts itself publishes the job in Redis (its spec, and its id in the list
// of open jobs); `join()` (what `neurite worker` runs) on another machine
// reads the spec, refuses a job of another neurite version, claims the next
// free rank, runs the replica as a child process and tells the launcher, through
// Redis, that it is alive (a heartbeat that expires) and how it ended.
import { existsSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { ValueError } from '../core/errors.js';
import { VERSION } from '../core/version.js';
import { DistributedError } from './errors.js';
import { type AsyncJobInfo, jobKeys } from './redis.js';
import { connectRedis } from './redis-client.js';
import { spawnReplica } from './replica-process.js';

/** The Redis list of jobs waiting for workers, newest first. */
export const OPEN_JOBS_KEY = 'neurite:open-jobs';

/** What a worker on another machine needs to run its share of a job (stored as JSON under the job's `spec` key). */
export interface JobSpec {
  /** The launcher's neurite version. */
  readonly version: string;
  /** How the workers train together. */
  readonly mode: 'sync' | 'async';
  /** Workers in all. */
  readonly workers: number;
  /** Workers the launcher runs itself: ranks 0 to localWorkers - 1; joined workers take the ranks after them. */
  readonly localWorkers: number;
  /** sync: the collectives' transport. */
  readonly collectives?: 'gloo' | 'redis';
  /** sync through Gloo: the gradient buckets' size in bytes. */
  readonly bucketBytes?: number;
  /** Parameter-server shards (async). */
  readonly servers: number;
  /** The seed the workers share; it orders the samples. */
  readonly seed: number;
  /** async: fetch fresh weights every this many steps. */
  readonly nFetch: number;
  /** async: push accumulated gradients every this many steps. */
  readonly nPush: number;
  /** How long a replica waits for the others, and the launcher for a silent joined worker. */
  readonly timeoutMs: number;
  /**
   * sync, an attempt after a lost worker: the launcher waits this long for
   * workers to take the ranks from localWorkers on, then fixes the number it
   * runs with (the `roster` key); a worker waits for that number before it starts.
   */
  readonly rosterWaitMs?: number;
  /** sync: the job takes replacements after a lost worker (replaceWaitMs), so a worker that finds it whole may wait for a free rank. */
  readonly elastic?: boolean;
  /** The launcher's `data` option. */
  readonly data: unknown;
  /** The script every replica runs: a path (the same on every machine), or a name the joining command resolves (`neurite:train`). */
  readonly script: string;
  /** The script's arguments. */
  readonly argv: readonly string[];
}

/** How a worker ended, as the launcher learns it. */
export interface WorkerExit {
  readonly code: number | null;
  readonly signal: string | null;
  /** The error line its output ended with, if any. */
  readonly why?: string;
}

/** Poll every this many milliseconds for a joined worker's exit; a heartbeat is refreshed three times per timeout. */
const POLL_MS = 200;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The last error line of a process's output (`SomeError: message`). */
export function errorLine(output: string): string | undefined {
  return /^\w*Error: (.*)$/m.exec(output.split('\n').reverse().join('\n'))?.[1];
}

/** Options of join(). */
export interface JoinOptions {
  /** The job to join (default: the newest open job on this Redis). */
  job?: string;
  /** Backend threads for the replica (default: this machine's cores). */
  threads?: number;
  /** How long to wait for Redis before failing (default 30,000 ms). */
  timeoutMs?: number;
  /** Map the spec's script to a path on this machine (`neurite worker` maps `neurite:train` to its replica entry). */
  resolveScript?: (script: string) => string;
  /** Where to say what happens; default: nowhere. */
  log?: (line: string) => void;
}

/** How a joined worker ended. */
export interface JoinResult {
  /** The job joined. */
  readonly job: string;
  /** The rank this worker took. */
  readonly rank: number;
  /** The replica's exit code (null when a signal ended it). */
  readonly code: number | null;
  /** The signal that ended the replica, if one did. */
  readonly signal: string | null;
}

/**
 * Join a job launched on another machine with more workers than it runs
 * itself (`neurite launch --workers N --local-workers K --redis URL`): take
 * the next free rank and run the job's script as that replica, here, until it
 * ends. Fails at once, naming both, when this machine's neurite version is
 * not the launcher's, when the job has all its workers, or when the script is
 * missing here.
 */
export async function join(url: string, options: JoinOptions = {}): Promise<JoinResult> {
  let result = await joinOnce(url, options);
  // A synchronous job that lost a worker goes on as a new job with the survivors: rejoin it.
  while (result.next !== null) {
    options.log?.(`worker: the job goes on without a lost worker, as '${result.next}'; rejoining`);
    result = await joinOnce(url, { ...options, job: result.next });
  }
  return { job: result.job, rank: result.rank, code: result.code, signal: result.signal };
}

async function joinOnce(url: string, options: JoinOptions): Promise<JoinResult & { next: string | null }> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (!(timeoutMs > 0)) throw new ValueError(`join: timeoutMs must be positive, got ${timeoutMs}`);
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) throw new ValueError(`join: threads must be an integer >= 1, got ${threads}`);
  const log = options.log ?? (() => {});
  const redis = await connectRedis(url, timeoutMs, 'worker');
  let rank = -1;
  let job = '';
  try {
    job = options.job ?? (await redis.lindex(OPEN_JOBS_KEY, 0)) ?? '';
    if (job === '') throw new DistributedError(`worker: no job is waiting for workers on ${url} (start one with neurite launch --local-workers K)`);
    // A synchronous job that lost a worker went on under a new id: a worker named the first (a replacement, started as the original was) joins the latest.
    for (let hops = 0, next = await redis.get(jobKeys(job).next); next !== null && hops < 1000; hops++, next = await redis.get(jobKeys(job).next)) {
      log(`worker: job '${job}' went on as '${next}'`);
      job = next;
    }
    const keys = jobKeys(job);
    // A named job may not be published yet (the tasks of an emitted job start together): wait for it up to the timeout.
    let raw = await redis.get(keys.spec);
    const deadline = performance.now() + timeoutMs;
    while (raw === null && options.job !== undefined && performance.now() < deadline) {
      await sleep(POLL_MS);
      raw = await redis.get(keys.spec);
    }
    if (raw === null)
      throw new DistributedError(
        `worker: ${url} has no job '${job}' waiting for workers${options.job !== undefined ? ` after ${timeoutMs / 1000} s` : ''} (it ended, or the id is wrong)`,
      );
    const spec = JSON.parse(raw) as JobSpec;
    if (spec.version !== VERSION)
      throw new DistributedError(
        `worker: job '${job}' was launched with neurite ${spec.version}, this machine has neurite ${VERSION}; every machine must run the same version`,
      );
    const script = options.resolveScript ? options.resolveScript(spec.script) : spec.script;
    if (!existsSync(script)) throw new DistributedError(`worker: job '${job}' runs ${spec.script}, which is not on this machine (${script})`);
    const claimed = await redis.incr(keys.joined);
    if (spec.localWorkers + claimed - 1 >= spec.workers) {
      const roster = await redis.get(keys.roster);
      const full =
        roster !== null
          ? `worker: job '${job}' stopped taking workers and runs with ${roster}`
          : `worker: job '${job}' already has its ${spec.workers} workers`;
      if (!spec.elastic) throw new DistributedError(full);
      // An elastic job that loses a worker goes on under a new id with free ranks: wait for that, up to the timeout.
      log(`${full}; it is elastic, so this worker waits up to ${timeoutMs / 1000} s for it to lose one`);
      const until = performance.now() + timeoutMs;
      while (performance.now() < until) {
        const next = await redis.get(keys.next);
        if (next !== null) return { job, rank: -1, code: null, signal: null, next };
        await sleep(POLL_MS);
      }
      throw new DistributedError(`${full}, and lost none in ${timeoutMs / 1000} s`);
    }
    rank = spec.localWorkers + claimed - 1;
    const host = hostname();
    // The heartbeat lives for the job's timeout (the launcher's), which is how long the launcher waits on a silent worker.
    const beat = () => redis.set(keys.alive(rank), host, 'PX', spec.timeoutMs).catch(() => null);
    await beat();
    let worldSize = spec.workers;
    if (spec.rosterWaitMs !== undefined) {
      // The launcher is waiting for workers to take the free ranks: how many it runs with is known when it stops waiting.
      log(`worker: took rank ${rank} of job '${job}'; waiting for the launcher to stop taking workers (up to ${spec.rosterWaitMs / 1000} s)`);
      const until = performance.now() + spec.rosterWaitMs + spec.timeoutMs;
      let roster: string | null = null;
      while ((roster = await redis.get(keys.roster)) === null) {
        if ((await redis.exists(keys.abort)) === 1) throw new DistributedError(`worker: job '${job}' was given up by its launcher (too few workers joined)`);
        if (performance.now() > until)
          throw new DistributedError(`worker: job '${job}' did not start within ${(spec.rosterWaitMs + spec.timeoutMs) / 1000} s of joining`);
        await beat();
        await sleep(POLL_MS);
      }
      worldSize = Number(roster);
    }
    log(`worker: joined job '${job}' as rank ${rank} of ${worldSize} (${spec.mode} mode)`);
    const info: AsyncJobInfo = {
      mode: spec.mode,
      url,
      job,
      rank,
      worldSize,
      servers: spec.servers,
      seed: spec.seed,
      nFetch: spec.nFetch,
      nPush: spec.nPush,
      timeoutMs: spec.timeoutMs,
      threads,
      data: spec.data,
      version: spec.version,
      ...(spec.collectives ? { collectives: spec.collectives } : {}),
      ...(spec.bucketBytes !== undefined ? { bucketBytes: spec.bucketBytes } : {}),
    };
    const { child, stderrTail } = spawnReplica(script, spec.argv, info);
    const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    // Heartbeat, and stop the replica when the launcher aborts the job (a synchronous job lost a worker).
    let aborted = false;
    const timer = setInterval(
      () => {
        void beat();
        void redis
          .get(keys.abort)
          .then((v) => {
            if (v !== null && child.exitCode === null && child.signalCode === null) {
              aborted = true;
              child.kill('SIGKILL');
            }
          })
          .catch(() => null);
      },
      Math.min(1000, Math.max(POLL_MS, Math.floor(spec.timeoutMs / 3))),
    );
    const { code, signal } = await ended;
    clearInterval(timer);
    // Whether the replica was stopped or failed on its own (a collective broke when a peer died), the job may go on without the lost worker.
    // A replica that failed on its own may have seen its peer die before the launcher did: wait for the launcher's word.
    const decided = performance.now() + spec.timeoutMs;
    while (code !== 0 && spec.mode === 'sync' && !aborted && (await redis.exists(keys.abort)) === 0 && performance.now() < decided) await sleep(POLL_MS);
    const next = code !== 0 ? await redis.get(keys.next) : null;
    const why = aborted ? 'the launcher stopped the job' : errorLine(stderrTail());
    await redis.set(keys.exit(rank), JSON.stringify({ code, signal, ...(why ? { why } : {}) } satisfies WorkerExit), 'PX', 24 * 3600_000);
    log(`worker: rank ${rank} ${code === 0 ? 'finished' : `ended (${signal ?? `code ${code}`}${why ? `: ${why}` : ''})`}`);
    return { job, rank, code, signal, next };
  } finally {
    if (rank >= 0) await redis.del(jobKeys(job).alive(rank)).catch(() => 0);
    redis.disconnect();
  }
}
