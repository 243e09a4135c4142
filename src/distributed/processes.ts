// Jobs as processes: the launcher starts (or uses) a Redis and N worker
// processes running the script. Asynchronous jobs add S parameter-server
// shard processes, restart a shard that dies and go on when a worker dies;
// synchronous jobs (Gloo) stop when one worker fails, since the others
// cannot step without it. Everything started is stopped by process id.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { VERSION } from '../core/version.js';
import type { ShardStats, StalenessRule } from './downpour.js';
import { DistributedError, WorkerLostError } from './errors.js';
import { closeJob, publishJob, watchJoinedWorker } from './job-board.js';
import { type AsyncJobInfo, jobKeys, type ServeOptions, type WorkerStats } from './redis.js';
import { connectRedis } from './redis-client.js';
import { type LocalRedis, startRedis } from './redis-server.js';
import { errorLine, type WorkerExit } from './remote.js';
import { nodeFlags, spawnReplica } from './replica-process.js';

/** Options of an asynchronous (Downpour) launch; see LaunchOptions. */
export interface AsyncLaunchOptions {
  /** 'async' (Downpour, default) or 'sync' (data parallelism through Gloo or Redis; servers must be 0). */
  mode?: 'async' | 'sync';
  /** sync: the collectives' transport. */
  collectives?: 'gloo' | 'redis';
  /** sync through Gloo: the gradient buckets' size in bytes (DataParallelOptions). */
  bucketBytes?: number;
  /**
   * sync: when a worker fails and at least minWorkers survive (or replacements
   * are awaited, `replace`), joined workers are told to join `nextJob`.
   */
  elastic?: { readonly minWorkers: number; readonly nextJob: string; readonly replace?: boolean };
  /**
   * sync: the ranks from localWorkers on are open to whoever joins within
   * `waitMs` (survivors of the last attempt and replacements alike); the job
   * then runs with this process's workers and those that came, at least
   * `minWorkers` in all, or fails.
   */
  roster?: { readonly minWorkers: number; readonly waitMs: number };
  workers: number;
  /** Workers this process starts (ranks 0 to localWorkers - 1); the others join from other machines (default: all). */
  localWorkers?: number;
  /** The job's id in Redis (default: drawn at random). */
  job?: string;
  /** The id rank 0's checkpoint pointer is stored under (an elastic job's attempts share their first id; default: job). */
  checkpointJob?: string;
  /** The script as workers on other machines find it (default: its path here). */
  remoteScript?: string;
  servers: number;
  redis?: string;
  nFetch: number;
  nPush: number;
  rule: StalenessRule;
  timeoutMs: number;
  threadsPerWorker: number;
  seed: number;
  argv?: readonly string[];
  data?: unknown;
  onStart?: (process: StartedProcess) => void;
  log?: (line: string) => void;
}

/** A process the launcher started, as onStart reports it. */
export interface StartedProcess {
  /** A worker (it runs the script) or a parameter-server shard. */
  readonly role: 'worker' | 'server';
  /** The worker's rank or the server's shard index. */
  readonly index: number;
  /** Its process id (what a test kills). */
  readonly pid: number;
}

/** What an asynchronous launch gives back beside the results. */
export interface AsyncLaunchReport {
  results: unknown[];
  seconds: number;
  /** Workers that died; the job went on without them. */
  failures: { rank: number; message: string }[];
  /** Each worker's counts (undefined for one that died). */
  workers: (WorkerStats | undefined)[];
  /** Each server shard's counts at the end. */
  servers: ((ShardStats & { version: number }) | undefined)[];
  /** Server shards restarted after they died. */
  serverRestarts: number;
  /** The workers the job ran with (fewer than `workers` when a roster closed with free ranks). */
  worldSize: number;
}

/** Poll Redis this often while waiting for workers to join. */
const POLL_MS = 200;

/** Added to the joined count when a roster closes, so that every later claim lands past the last rank. */
const ROSTER_CLOSED = 1_000_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

/**
 * A replica script: a file path, or a file URL (a `URL` object or anything with
 * its `href`, so that the declarations need no DOM or Node types).
 */
export type ScriptLocation =
  | string
  | {
      /** The file URL of the script (file:///...). */
      readonly href: string;
    };

export async function launchProcesses(script: ScriptLocation, options: AsyncLaunchOptions): Promise<AsyncLaunchReport> {
  const log = options.log ?? (() => {});
  const sync = options.mode === 'sync';
  const location = typeof script === 'string' ? script : script.href;
  const scriptPath = location.startsWith('file:') ? fileURLToPath(location) : location;
  let local: LocalRedis | null = null;
  const url = options.redis ?? (local = await startRedis()).url;
  if (local) log(`launch: started redis-server (pid ${local.pid}) on ${url}`);
  const job = options.job ?? randomBytes(6).toString('hex');
  const localWorkers = options.localWorkers ?? options.workers;
  let joining = options.workers - localWorkers;
  let worldSize = options.workers;
  const keys = jobKeys(job);
  const control = await connectRedis(url, options.timeoutMs, 'launch');
  const started = performance.now();
  const servers: (ChildProcess | null)[] = new Array(options.servers).fill(null);
  let stopping = false;
  let serverRestarts = 0;
  const serverDone: Promise<void>[] = [];
  // A job that awaits replacements is published even with every rank here: a spare worker finds it, and waits for a free rank.
  const published = joining > 0 || options.elastic?.replace === true;
  try {
    if (published && (await control.exists(keys.spec)) === 1) throw new DistributedError(`launch: ${url} already has a job '${job}'; choose another job id`);
    if (published) {
      await publishJob(control, job, {
        version: VERSION,
        mode: sync ? 'sync' : 'async',
        workers: options.workers,
        localWorkers,
        servers: options.servers,
        seed: options.seed,
        nFetch: options.nFetch,
        nPush: options.nPush,
        timeoutMs: options.timeoutMs,
        ...(options.roster ? { rosterWaitMs: options.roster.waitMs } : {}),
        // Only a job that takes replacements has a rank for a worker that finds it whole; a shrinking one has none, ever.
        ...(options.elastic?.replace ? { elastic: true } : {}),
        data: options.data ?? null,
        ...(sync ? { collectives: options.collectives ?? 'gloo' } : {}),
        ...(sync && options.bucketBytes !== undefined ? { bucketBytes: options.bucketBytes } : {}),
        script: options.remoteScript ?? scriptPath,
        argv: [...(options.argv ?? [])],
      });
      if (options.roster) {
        const rosterJob = options.checkpointJob ?? job;
        log(
          `launch: waiting up to ${options.roster.waitMs / 1000} s for ${joining} worker(s) to take the free rank(s); on each machine: neurite worker --redis ${url} --job ${rosterJob}`,
        );
        const deadline = performance.now() + options.roster.waitMs;
        while (performance.now() < deadline && Number(await control.get(keys.joined)) < joining) await sleep(POLL_MS);
        // Closed in one step: a claim after this one lands past the last rank, so a worker that comes too late is refused, never half counted.
        const came = Math.min(joining, (await control.incrby(keys.joined, ROSTER_CLOSED)) - ROSTER_CLOSED);
        if (localWorkers + came < options.roster.minWorkers) {
          await control.set(keys.abort, '1', 'PX', 600_000).catch(() => null);
          throw new DistributedError(
            `launch: waited ${options.roster.waitMs / 1000} s for ${joining} worker(s) to join and ${came} came: ${localWorkers + came} worker(s), fewer than minWorkers (${options.roster.minWorkers})`,
          );
        }
        joining = came;
        worldSize = localWorkers + came;
        await control.set(keys.roster, String(worldSize), 'PX', 24 * 3600_000);
        log(`launch: going on with ${worldSize} worker(s), ${came} of them joined`);
      } else if (joining > 0) {
        log(
          `launch: waiting up to ${options.timeoutMs / 1000} s for ${joining} worker(s) from other machines; on each run: neurite worker --redis ${url} --job ${job}`,
        );
      }
    }
    await control.hset(keys.config, { workers: worldSize, servers: options.servers, nFetch: options.nFetch, nPush: options.nPush, seed: options.seed });
    const serverPath = fileURLToPath(new URL('./server-main.js', import.meta.url));
    const startServer = (s: number): Promise<void> => {
      const serve: ServeOptions = { url, job, shard: s, servers: options.servers, rule: options.rule, timeoutMs: options.timeoutMs };
      // JSON has no Infinity: null stands for it.
      const arg = JSON.stringify(serve, (_k, v) => (v === Number.POSITIVE_INFINITY ? null : v));
      const child = spawn(process.execPath, [...nodeFlags(), serverPath, arg], {
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, NEURITE_NUM_THREADS: '1' },
      });
      servers[s] = child;
      options.onStart?.({ role: 'server', index: s, pid: child.pid as number });
      return exitOf(child).then(({ code, signal }) => {
        if (stopping) return;
        if (serverRestarts >= 5 * options.servers) {
          log(`launch: parameter server ${s} died again (${signal ?? `code ${code}`}); no more restarts`);
          return;
        }
        serverRestarts++;
        log(`launch: parameter server ${s} died (${signal ?? `code ${code}`}); restarting it`);
        return startServer(s);
      });
    };
    for (let s = 0; s < options.servers; s++) serverDone.push(startServer(s));

    const failures: { rank: number; message: string }[] = [];
    const children: ChildProcess[] = [];
    let remoteSurvivors = 0;
    const ended = async (rank: number, { code, signal, why }: WorkerExit): Promise<void> => {
      if (code === 0 || (sync && stopping)) return;
      const message = signal ? `killed by ${signal}` : code === null ? (why ?? 'lost') : `exited with code ${code}${why ? `: ${why}` : ''}`;
      failures.push({ rank, message });
      if (!sync) log(`launch: worker ${rank} ${message}; the job goes on without it`);
      else {
        // The others cannot step without it: stop them now rather than at their next collective.
        stopping = true;
        for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        if (joining > 0 || options.elastic?.replace) {
          // Joined workers still answering go on to the next attempt (when there is one), told before they are stopped.
          const alive = await Promise.all(
            Array.from({ length: joining }, (_, i) => localWorkers + i)
              .filter((r) => r !== rank)
              .map((r) => control.exists(keys.alive(r)).catch(() => 0)),
          );
          remoteSurvivors = alive.filter((n) => n === 1).length;
          const survivors = Math.max(1, localWorkers - (rank < localWorkers ? 1 : 0)) + remoteSurvivors;
          // Awaiting replacements, the job goes on whatever survives: the next attempt's roster decides.
          if (options.elastic && (survivors >= options.elastic.minWorkers || options.elastic.replace))
            await control.set(keys.next, options.elastic.nextJob, 'PX', 3600_000).catch(() => null);
          await control.set(keys.abort, '1', 'PX', 600_000).catch(() => null);
        }
      }
    };
    const joinDeadline = performance.now() + options.timeoutMs;
    const workers = Array.from({ length: worldSize }, (_, rank) => {
      if (rank >= localWorkers) return watchJoinedWorker(control, job, rank, joinDeadline, () => stopping && sync).then((exit) => ended(rank, exit));
      const info: AsyncJobInfo = {
        mode: sync ? 'sync' : 'async',
        url,
        job,
        rank,
        worldSize,
        servers: options.servers,
        seed: options.seed,
        nFetch: options.nFetch,
        nPush: options.nPush,
        timeoutMs: options.timeoutMs,
        threads: options.threadsPerWorker,
        data: options.data,
        checkpointJob: options.checkpointJob ?? job,
        // With no worker from another machine in this attempt (none asked for, or none came), all share this disk.
        ...(joining === 0 ? { sharedFileSystem: true } : {}),
        version: VERSION,
        ...(sync ? { collectives: options.collectives ?? 'gloo' } : {}),
        ...(sync && options.bucketBytes !== undefined ? { bucketBytes: options.bucketBytes } : {}),
      };
      // The worker's errors still reach this process's stderr; the tail is kept to say why it failed.
      const { child, stderrTail } = spawnReplica(scriptPath, options.argv ?? [], info);
      children.push(child);
      options.onStart?.({ role: 'worker', index: rank, pid: child.pid as number });
      return exitOf(child).then(({ code, signal }) => ended(rank, { code, signal, why: errorLine(stderrTail()) }));
    });
    await Promise.all(workers);
    if (sync && failures.length > 0) {
      const first = failures[0];
      const localFailed = failures.filter((f) => f.rank < localWorkers).length;
      throw new WorkerLostError(
        `launch: rank ${first.rank} of ${worldSize} failed: ${first.message}`,
        failures,
        localWorkers - localFailed,
        remoteSurvivors,
        worldSize,
      );
    }
    if (failures.length === worldSize) {
      throw new DistributedError(`launch: every worker failed (${failures.map((f) => `rank ${f.rank} ${f.message}`).join('; ')})`);
    }
    stopping = true;
    await control.set(keys.stop, '1');
    const deadline = setTimeout(() => {
      for (const child of servers) if (child && child.exitCode === null) child.kill('SIGKILL');
    }, options.timeoutMs);
    await Promise.all(serverDone);
    clearTimeout(deadline);
    const seconds = (performance.now() - started) / 1000;
    const read = async <T>(key: string): Promise<T | undefined> => {
      const raw = await control.get(key);
      return raw === null ? undefined : (JSON.parse(raw) as T);
    };
    const results = await Promise.all(Array.from({ length: worldSize }, (_, r) => read<unknown>(keys.result(r))));
    const workerStats = await Promise.all(Array.from({ length: worldSize }, (_, r) => read<WorkerStats>(keys.worker(r))));
    const serverStats = await Promise.all(Array.from({ length: options.servers }, (_, s) => read<ShardStats & { version: number }>(keys.server(s))));
    failures.sort((a, b) => a.rank - b.rank);
    return { results, seconds, failures, workers: workerStats, servers: serverStats, serverRestarts, worldSize };
  } finally {
    stopping = true;
    if (published) await closeJob(control, job).catch(() => 0);
    for (const child of servers) if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    if (!local) {
      // A shared Redis keeps nothing of a finished job (its keys, its shards' and Gloo's, and no other job's), except
      // what joined workers read after their replica stopped (abort, next, their exits), which expires on its own.
      const patterns = [`neurite:${job}:*`, `neurite:{${job}:*`, `neurite:gloo:${job}/*`];
      const found = (await Promise.all(patterns.map((p) => control.keys(p).catch(() => [] as string[])))).flat();
      // The checkpoint pointer stays (it expires a week after its last write): `neurite launch --resume-job` finds the run with it.
      const keep = new Set([keys.abort, keys.next, jobKeys(options.checkpointJob ?? job).checkpoint]);
      const drop = found.filter((k) => !keep.has(k) && !k.startsWith(`neurite:${job}:exit:`));
      if (drop.length > 0) await control.del(...drop).catch(() => 0);
    }
    control.disconnect();
    if (local) await local.stop();
  }
}
