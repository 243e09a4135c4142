// Hyper-parameter trials and cross-validation folds as jobs of a BullMQ queue
// on the job's Redis: the launcher queues one job per parameter set and starts
// trial-worker processes (here, or `neurite worker --trials` elsewhere); each
// takes one trial at a time, runs the trial script's default export on its
// parameters and stores the result. A worker that dies mid-trial stops
// renewing its lock, BullMQ's stalled-job check puts the trial back in the
// queue, and another worker runs it from the start.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { type Job, Queue } from 'bullmq';
import { ValueError } from '../core/errors.js';
import { DistributedError } from './errors.js';
import type { ScriptLocation, StartedProcess } from './processes.js';
import { type LocalRedis, startRedis } from './redis-server.js';
import { nodeFlags } from './replica-process.js';

/** What a trial-worker process is told (one JSON argument). */
export interface TrialWorkerInit {
  /** The queue's Redis. */
  readonly url: string;
  /** The queue's name. */
  readonly queue: string;
  /** The trial script (a path on this machine). */
  readonly script: string;
  /** A trial whose worker stops renewing its lock for this long is run again elsewhere. */
  readonly lockMs: number;
}

/** Options of runTrials(). */
export interface TrialsOptions {
  /** Trial-worker processes to start here (default: the cores, at most the trials). */
  workers?: number;
  /** The Redis the queue lives on (default: a private redis-server on 127.0.0.1, stopped at the end). */
  redis?: string;
  /** Times a trial that throws is tried before it counts as failed (default 1). */
  attempts?: number;
  /** A trial whose worker stops answering (killed, its machine lost) for this long is run again by another worker (default 30,000 ms). */
  lockMs?: number;
  /** The queue's name (default: drawn at random); workers on other machines name it. */
  queue?: string;
  /** The trial workers' standard output: shown (default) or dropped. */
  output?: 'inherit' | 'ignore';
  /** Called with each trial's outcome as it arrives. */
  onResult?: (result: TrialResult) => void;
  /** Called with each worker process started here. */
  onStart?: (process: StartedProcess) => void;
  /** Where to say what happens; default: nowhere. */
  log?: (line: string) => void;
}

/** One trial's outcome. */
export interface TrialResult<P = unknown, R = unknown> {
  /** The trial's position in the list given. */
  index: number;
  /** Its parameters. */
  params: P;
  /** What the script returned (absent when it failed). */
  result?: R;
  /** Why it failed, after its attempts. */
  error?: string;
  /** Times it was started: attempts after errors, plus re-runs after a worker died. */
  runs: number;
  /** The worker that ran it to the end ('host:pid'). */
  worker?: string;
  /** Seconds its last run took. */
  seconds?: number;
}

function connectionOf(url: string): { host: string; port: number; username?: string; password?: string; db?: number; maxRetriesPerRequest: null } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValueError(`trials: '${url}' is not a Redis URL (redis://host:port)`);
  }
  if (parsed.protocol !== 'redis:') throw new ValueError(`trials: '${url}' is not a Redis URL (redis://host:port)`);
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : undefined;
  return {
    host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: Number(parsed.port || 6379),
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(db !== undefined && Number.isInteger(db) ? { db } : {}),
    // BullMQ's workers block on Redis: their commands must wait for a reconnection rather than fail.
    maxRetriesPerRequest: null,
  };
}

/** BullMQ's connection options for a Redis URL. */
export const bullConnection = connectionOf;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Run `script`'s default export, `async (params, {index, run}) => result`,
 * once per entry of `params`, on trial-worker processes that take the trials
 * from a BullMQ queue; resolve with every trial's outcome, in the order given.
 * A trial that throws is retried up to `attempts` times and then reported
 * with its error; one whose worker dies is run again by another worker. The
 * results must be JSON. Cross-validation folds are trials too: pass
 * `[{fold: 0}, ..., {fold: k - 1}]` and cut the folds in the script.
 *
 * @example
 * const results = await distributed.runTrials(new URL('./trial.mjs', import.meta.url), [{ lr: 0.1 }, { lr: 0.01 }], { workers: 2 });
 */
export async function runTrials<P = unknown, R = unknown>(
  script: ScriptLocation,
  params: readonly P[],
  options: TrialsOptions = {},
): Promise<TrialResult<P, R>[]> {
  if (!Array.isArray(params) || params.length === 0) throw new ValueError('runTrials: params must be a non-empty array of parameter sets');
  const location = typeof script === 'string' ? script : script.href;
  const scriptPath = location.startsWith('file:') ? fileURLToPath(location) : location;
  const workers = options.workers ?? Math.min(params.length, availableParallelism());
  if (!Number.isInteger(workers) || workers < 0) throw new ValueError(`runTrials: workers must be an integer >= 0, got ${workers}`);
  const attempts = options.attempts ?? 1;
  if (!Number.isInteger(attempts) || attempts < 1) throw new ValueError(`runTrials: attempts must be an integer >= 1, got ${attempts}`);
  const lockMs = options.lockMs ?? 30_000;
  if (!(lockMs >= 500)) throw new ValueError(`runTrials: lockMs must be at least 500, got ${lockMs}`);
  const log = options.log ?? (() => {});
  let local: LocalRedis | null = null;
  const url = options.redis ?? (local = await startRedis()).url;
  const name = options.queue ?? `neurite-trials-${randomBytes(6).toString('hex')}`;
  const queue = new Queue(name, { connection: connectionOf(url) });
  queue.on('error', () => {});
  const children: ChildProcess[] = [];
  let stopping = false;
  try {
    await queue.waitUntilReady().catch((e: Error) => {
      throw new DistributedError(`runTrials: cannot reach Redis at ${url}: ${e.message}`);
    });
    // Trials keep their outcome until the end (removeOnComplete false): the launcher reads them all from the queue.
    await queue.addBulk(
      params.map((p, index) => ({ name: 'trial', data: { index, params: p }, opts: { attempts, removeOnComplete: false, removeOnFail: false } })),
    );
    let alive = 0;
    const workerPath = fileURLToPath(new URL('./trial-worker-main.js', import.meta.url));
    for (let w = 0; w < workers; w++) {
      const init: TrialWorkerInit = { url, queue: name, script: scriptPath, lockMs };
      const child = spawn(process.execPath, [...nodeFlags(), workerPath, JSON.stringify(init)], {
        stdio: ['ignore', options.output ?? 'inherit', 'inherit'],
        env: { ...process.env, NEURITE_NUM_THREADS: process.env.NEURITE_NUM_THREADS ?? '1' },
      });
      alive++;
      child.once('exit', (code, signal) => {
        alive--;
        if (!stopping) log(`trials: worker ${w} (pid ${child.pid}) ended (${signal ?? `code ${code}`}); its trial, if any, goes to another worker`);
      });
      children.push(child);
      options.onStart?.({ role: 'worker', index: w, pid: child.pid as number });
    }
    log(
      `trials: queue '${name}' on ${url}${workers === 0 ? ' waits for workers' : ''}; other machines serve it with: neurite worker --redis ${url} --trials ${name} ${scriptPath}`,
    );
    const reported = new Set<number>();
    const outcomes: TrialResult<P, R>[] = new Array(params.length);
    for (;;) {
      // Finished trials: completed, or failed after their last attempt (a failed attempt with more to come waits in the queue).
      const finished = await queue.getJobs(['completed', 'failed'], 0, -1);
      for (const job of finished) {
        const index = (job.data as { index: number }).index;
        if (reported.has(index)) continue;
        reported.add(index);
        outcomes[index] = outcomeOf(job as Job, params[index]);
        options.onResult?.(outcomes[index]);
      }
      if (reported.size === params.length) return outcomes;
      if (workers > 0 && alive === 0)
        throw new DistributedError(`runTrials: every trial worker ended with ${params.length - reported.size} of ${params.length} trials unfinished`);
      await sleep(100);
    }
  } finally {
    stopping = true;
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (!local) await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close().catch(() => undefined);
    if (local) await local.stop();
  }
}

function outcomeOf<P, R>(job: Job, params: P): TrialResult<P, R> {
  const value = job.returnvalue as { result: R; worker: string; seconds: number } | null;
  const runs = job.attemptsMade + (job.stalledCounter ?? 0);
  if (job.failedReason !== undefined && (value === null || value === undefined))
    return { index: (job.data as { index: number }).index, params, error: job.failedReason, runs };
  return { index: (job.data as { index: number }).index, params, result: value?.result as R, runs, worker: value?.worker, seconds: value?.seconds };
}
