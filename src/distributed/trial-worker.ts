// The loop of a trial worker: BullMQ hands it one trial at a time and renews
// its lock while the trial runs; the trial script's default export computes
// the result. It runs until the queue is drained and stays idle until
// stopped (its launcher kills it by pid; `neurite worker --trials` stops once
// the queue has nothing left to run).
import { hostname } from 'node:os';
import { pathToFileURL } from 'node:url';
import { type Job, Worker } from 'bullmq';
import { DistributedError } from './errors.js';
import { bullConnection, type TrialWorkerInit } from './trials.js';

export type { TrialWorkerInit } from './trials.js';

/** What a trial script's default export is called with beside the parameters. */
export interface TrialContext {
  /** The trial's position in the list given to runTrials. */
  readonly index: number;
  /** How many times it was started before (after an error, or on a worker that died). */
  readonly run: number;
}

/**
 * Take trials from the queue and run them until `stopWhenIdle` finds the queue
 * with nothing waiting or running (or forever without it).
 */
export async function trialWorker(init: TrialWorkerInit, stopWhenIdle = false): Promise<number> {
  const loaded = (await import(pathToFileURL(init.script).href)) as { default?: unknown };
  const run = loaded.default;
  if (typeof run !== 'function') throw new DistributedError(`trial worker: ${init.script} has no default export (async (params, trial) => result)`);
  const me = `${hostname()}:${process.pid}`;
  let done = 0;
  const worker = new Worker(
    init.queue,
    async (job: Job) => {
      const { index, params } = job.data as { index: number; params: unknown };
      const t0 = performance.now();
      const result = await (run as (params: unknown, trial: TrialContext) => unknown)(params, { index, run: job.attemptsMade + (job.stalledCounter ?? 0) });
      done++;
      return { result: result ?? null, worker: me, seconds: (performance.now() - t0) / 1000 };
    },
    {
      connection: bullConnection(init.url),
      concurrency: 1,
      name: me,
      lockDuration: init.lockMs,
      stalledInterval: Math.max(250, Math.floor(init.lockMs / 2)),
      // A trial whose worker died is run again (up to 3 times), not failed.
      maxStalledCount: 3,
    },
  );
  worker.on('error', () => {});
  if (!stopWhenIdle) {
    await new Promise<never>(() => {});
  }
  // Stop once nothing is waiting, delayed or active for a whole lock period (a trial another worker holds may still come back).
  const { Queue } = await import('bullmq');
  const queue = new Queue(init.queue, { connection: bullConnection(init.url) });
  let idleSince = performance.now();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    // A Redis that went away (its launcher finished and stopped it) ends the wait too.
    const counts = await Promise.race([
      queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'waiting-children'),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), init.lockMs)),
    ]);
    if (counts === null) break;
    const pending = Object.values(counts).reduce((a, b) => a + b, 0);
    if (pending > 0) idleSince = performance.now();
    else if (performance.now() - idleSince > init.lockMs) break;
  }
  await Promise.race([Promise.all([worker.close(), queue.close()]), new Promise((resolve) => setTimeout(resolve, init.lockMs))]);
  return done;
}
