// A replica joins its job: inside a thread started by launch() (or
// `neurite launch`) it joins the others; anywhere else it is a job of one, so
// the same script runs alone or launched.
import { workerData } from 'node:worker_threads';
import { setNumThreads } from '../core/engine.js';
import { VERSION } from '../core/version.js';
import type { DistributedStrategy } from '../train/distributed.js';
import { DistributedError } from './errors.js';
import { GlooGroup } from './gloo.js';
import { type AsyncJobInfo, Downpour, receiveRunFiles, recordCheckpoint, reportResult, type SavedCheckpoint, shareRunFiles } from './redis.js';
import { RedisGroup } from './redis-group.js';
import { SharedMemoryGroup } from './shared-group.js';
import { DataParallel, Hogwild } from './strategies.js';
import { PortRelay, type ThreadJoinData, WORKER_DATA_KEY } from './threads.js';

/** One replica of a job: pass it to `fit(..., {distributed})`; its group offers the collectives to code of your own. */
export type Replica = DistributedStrategy & {
  /** The collectives (barrier, allReduce, broadcast) this replica shares with the others: on threads, or through Gloo across processes; null in async mode. */
  readonly group: SharedMemoryGroup | GlooGroup | RedisGroup | null;
  /** Whether a launcher started this replica (false: a job of one). */
  readonly launched: boolean;
  /** The launcher's `data` option. */
  readonly data: unknown;
  /** Hand a value to the launcher (it appears in `results[rank]`): structured-cloneable on threads, JSON in async mode (await it there). */
  report(value: unknown): void | Promise<void>;
  /**
   * Say that a checkpoint was written (rank 0, after each): a job of
   * processes records where in its Redis (see `lastCheckpoint`), with a copy
   * of `files` up to CHECKPOINT_COPY_LIMIT (see `checkpointCopy`), so that
   * `neurite launch --resume-job` finds it, also from another machine;
   * threads and a job of one have nothing to record.
   */
  checkpointSaved(saved: SavedCheckpoint): Promise<void>;
  /**
   * Rank 0: hand files (by name) to the other replicas, through the job's
   * Redis in a job of processes, so that a replica on a machine that does not
   * mount rank 0's folders can read them; threads and a job of one share a
   * file system and do nothing.
   */
  shareFiles(files: Readonly<Record<string, Uint8Array>>): Promise<void>;
  /** The other ranks: the files rank 0 shared (waiting up to the job's timeout), or null where replicas share a file system (threads). */
  receiveFiles(): Promise<Record<string, Uint8Array> | null>;
};

type CheckpointSaved = Parameters<Replica['checkpointSaved']>[0];
const nothingToRecord = async (): Promise<void> => {};
// Threads and a job of one share this process's file system.
const sameFileSystem = { shareFiles: nothingToRecord, receiveFiles: async () => null };

/** How rank 0's run files reach the other replicas: through the job's Redis, unless every rank shares this machine's disk. */
function fileHandOver(info: AsyncJobInfo): Pick<Replica, 'shareFiles' | 'receiveFiles'> {
  if (info.sharedFileSystem) return sameFileSystem;
  return {
    shareFiles: (files: Readonly<Record<string, Uint8Array>>) => shareRunFiles(info, files),
    receiveFiles: () => receiveRunFiles(info),
  };
}

let joined: Replica | null = null;

/**
 * Join the job this thread or process was launched into
 * (`distributed.launch()` or `neurite launch --workers N script.mjs`), or,
 * when nothing launched it,
 * become a job of one replica (rank 0 of 1) so that the same script runs
 * alone. Calling it again returns the same replica. It also sets the
 * backend's thread count to the launcher's share per replica.
 */
export function init(): Replica {
  if (joined !== null) return joined;
  const join = (workerData as Record<string, unknown> | null)?.[WORKER_DATA_KEY] as ThreadJoinData | undefined;
  const asyncJob = process.env.NEURITE_DISTRIBUTED;
  let replica: Replica;
  if (join === undefined && asyncJob !== undefined) {
    let info: AsyncJobInfo;
    try {
      info = JSON.parse(asyncJob) as AsyncJobInfo;
    } catch {
      throw new DistributedError('init: NEURITE_DISTRIBUTED is not the JSON a launcher sets');
    }
    if (info.version !== undefined && info.version !== VERSION)
      throw new DistributedError(
        `init: rank ${info.rank} runs neurite ${VERSION}, its job was launched with neurite ${info.version}; every replica must run the same version`,
      );
    if (info.mode === 'sync') {
      const join = { rank: info.rank, worldSize: info.worldSize, seed: info.seed, url: info.url, job: info.job, timeoutMs: info.timeoutMs };
      const group = info.collectives === 'redis' ? new RedisGroup(join) : new GlooGroup(join);
      const strategy = new DataParallel(group, info.bucketBytes !== undefined ? { bucketBytes: info.bucketBytes } : {});
      replica = Object.assign(strategy, {
        group,
        launched: true,
        data: info.data,
        report: (value: unknown) => reportResult(info, value),
        checkpointSaved: (saved: CheckpointSaved) => recordCheckpoint(info, saved),
        ...fileHandOver(info),
      });
    } else {
      const strategy = new Downpour(info);
      replica = Object.assign(strategy, {
        group: null,
        launched: true,
        data: info.data,
        checkpointSaved: (saved: CheckpointSaved) => recordCheckpoint(info, saved),
        ...fileHandOver(info),
      });
    }
    setNumThreads(info.threads);
  } else if (join === undefined) {
    const group = new SharedMemoryGroup(
      {
        rank: 0,
        worldSize: 1,
        mode: 'sync-threads',
        seed: Math.floor(Math.random() * 2 ** 32),
        timeoutMs: 30_000,
        control: new SharedArrayBuffer(64),
        float64: new SharedArrayBuffer(2 * 1024 * 8),
      },
      {
        offer() {},
        receive() {
          return Promise.reject(new DistributedError('a job of one replica receives no buffers'));
        },
      },
    );
    replica = Object.assign(new DataParallel(group), {
      group,
      launched: false,
      data: undefined,
      report() {},
      checkpointSaved: nothingToRecord,
      ...sameFileSystem,
    });
  } else {
    const relay = new PortRelay(join.port);
    const group = new SharedMemoryGroup(join, relay);
    const strategy = join.mode === 'hogwild' ? new Hogwild(group) : new DataParallel(group);
    replica = Object.assign(strategy, {
      group,
      launched: true,
      data: join.data,
      report: (value: unknown) => relay.report(value),
      checkpointSaved: nothingToRecord,
      ...sameFileSystem,
    });
    setNumThreads(join.threads);
  }
  joined = replica;
  return replica;
}
