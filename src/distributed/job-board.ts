// The launcher's side of jobs that workers on other machines join: publish
// the job, take it off the list at its end, and watch each joined worker
// through Redis (its exit, its heartbeat). Kept apart from remote.ts because
// these take an ioredis client, which no declaration of the package's public
// API may name.
import type { Redis } from 'ioredis';
import { jobKeys } from './redis.js';
import { type JobSpec, OPEN_JOBS_KEY, type WorkerExit } from './remote.js';

/** Poll every this many milliseconds for a joined worker's exit. */
const POLL_MS = 200;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Publish a job for workers on other machines. */
export async function publishJob(redis: Redis, job: string, spec: JobSpec): Promise<void> {
  const keys = jobKeys(job);
  await redis.multi().set(keys.spec, JSON.stringify(spec)).set(keys.joined, '0').lpush(OPEN_JOBS_KEY, job).exec();
}

/** Take a job off the list of open jobs (at its end). */
export async function closeJob(redis: Redis, job: string): Promise<void> {
  await redis.lrem(OPEN_JOBS_KEY, 0, job);
}

/**
 * Wait for the worker of `rank` to join from another machine and to end;
 * resolve with how it ended. It fails the worker (code null, with why) when
 * it has not joined by `joinDeadline` (a performance.now() time) or when its
 * heartbeat stops; `stopped()` ends the wait early.
 */
export async function watchJoinedWorker(redis: Redis, job: string, rank: number, joinDeadline: number, stopped: () => boolean): Promise<WorkerExit> {
  const keys = jobKeys(job);
  let seen: string | null = null;
  while (!stopped()) {
    const [exit, alive] = await Promise.all([redis.get(keys.exit(rank)), redis.get(keys.alive(rank))]);
    if (exit !== null) return JSON.parse(exit) as WorkerExit;
    if (alive !== null) seen = alive;
    else if (seen !== null) return { code: null, signal: null, why: `stopped answering (no heartbeat from ${seen})` };
    else if (performance.now() > joinDeadline) return { code: null, signal: null, why: 'never joined (no `neurite worker` took its rank in time)' };
    await sleep(POLL_MS);
  }
  return { code: null, signal: null, why: 'stopped' };
}
