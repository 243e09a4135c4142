// Downpour over Redis: worker replicas fetch weights and push gradients,
// parameter-server shards apply them. Redis holds, per shard s (one hash tag,
// so one cluster slot and MULTI works):
//   {job:s}:w     the shard's weights (float32 bytes)
//   {job:s}:ver   updates applied so far
//   {job:s}:last  the id of the last gradient entry taken into account
//   {job:s}:opt   the server optimizer's state (JSON, every few updates)
//   {job:s}:g     the gradient stream (fields: v = weights version, r = rank, l = the worker's learning rate, g = bytes)
// and per job: config, size (parameter count), optimizer (the spec servers
// run), stop, result:<rank> and worker:<rank> (statistics).
// A server applies an entry and, in one MULTI, stores the new weights, the
// version and the entry id, and acknowledges and deletes the entry: after a
// crash it replays what it had not acknowledged and skips ids it already
// took, so every gradient counts exactly once.

import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { ChainableCommander, Redis } from 'ioredis';
import type { Module } from '../nn/module.js';
import type { Parameter } from '../nn/parameter.js';
import type { DistributedStrategy } from '../train/distributed.js';
import type { OptimizerLike } from '../train/index.js';
import { describeOptimizer, type OptimizerSpec, ServerShard, type ShardStats, type StalenessRule } from './downpour.js';
import { DistributedError, DistributedTimeoutError } from './errors.js';
import { FlatLayout } from './flat.js';
import { connectRedis } from './redis-client.js';

/** What a process of an asynchronous job is told by its launcher (NEURITE_DISTRIBUTED, as JSON). */
export interface AsyncJobInfo {
  /** 'async' (Downpour, the default) or 'sync' (data parallelism through Gloo). */
  readonly mode?: 'async' | 'sync';
  /** The job's Redis (redis://host:port). */
  readonly url: string;
  /** The job's id, in every key it uses. */
  readonly job: string;
  /** This worker's index, 0 to worldSize - 1. */
  readonly rank: number;
  /** How many workers the job has. */
  readonly worldSize: number;
  /** Parameter-server shards (0 in sync mode). */
  readonly servers: number;
  /** The seed the workers share; it orders the samples. */
  readonly seed: number;
  /** Fetch fresh weights every this many steps. */
  readonly nFetch: number;
  /** Push accumulated gradients every this many steps. */
  readonly nPush: number;
  /** How long to wait for Redis, the servers or the other ranks before failing. */
  readonly timeoutMs: number;
  /** Backend threads for this worker. */
  readonly threads: number;
  /** The launcher's `data` option. */
  readonly data: unknown;
  /** sync: the collectives' transport (default 'gloo'). */
  readonly collectives?: 'gloo' | 'redis';
  /** sync through Gloo: the gradient buckets' size in bytes (DataParallelOptions). */
  readonly bucketBytes?: number;
  /** The launcher's neurite version: a replica of another version refuses to join. */
  readonly version?: string;
  /** The job id rank 0's checkpoint pointer is stored under (an elastic job's first id; default: job). */
  readonly checkpointJob?: string;
  /**
   * Every rank runs on the launcher's machine (it started them all, none joined from elsewhere): the replicas read the
   * same run folder, and rank 0 hands no files over through Redis.
   */
  readonly sharedFileSystem?: boolean;
}

/** Key names of a job. */
export function jobKeys(job: string) {
  const shard = (s: number) => `neurite:{${job}:${s}}`;
  return {
    config: `neurite:${job}:config`,
    size: `neurite:${job}:size`,
    optimizer: `neurite:${job}:optimizer`,
    stop: `neurite:${job}:stop`,
    result: (rank: number) => `neurite:${job}:result:${rank}`,
    worker: (rank: number) => `neurite:${job}:worker:${rank}`,
    server: (s: number) => `neurite:${job}:server:${s}`,
    weights: (s: number) => `${shard(s)}:w`,
    version: (s: number) => `${shard(s)}:ver`,
    last: (s: number) => `${shard(s)}:last`,
    state: (s: number) => `${shard(s)}:opt`,
    gradients: (s: number) => `${shard(s)}:g`,
    /** Each sender's last push number the shard took (a hash). */
    seqs: (s: number) => `${shard(s)}:seq`,
    /** What a worker on another machine needs to join (JSON JobSpec). */
    spec: `neurite:${job}:spec`,
    /** Where the job's latest checkpoint is (JSON CheckpointPointer), written by rank 0 after each one. */
    checkpoint: `neurite:${job}:checkpoint`,
    /** A copy of the run files the checkpoint pointer names (a hash: file name to bytes), written with it. */
    checkpointCopy: `neurite:${job}:checkpoint-copy`,
    /** How many workers have joined from other machines. */
    joined: `neurite:${job}:joined`,
    /** Files rank 0 hands to the other replicas (a hash: name to bytes). */
    files: `neurite:${job}:files`,
    /** An attempt that waited for workers to join: the number it runs with, set when it stops waiting. */
    roster: `neurite:${job}:roster`,
    /** A joined worker's exit (JSON), written by the process that joined it. */
    exit: (rank: number) => `neurite:${job}:exit:${rank}`,
    /** A joined worker's heartbeat: its host, expiring when the joining process stops answering. */
    alive: (rank: number) => `neurite:${job}:alive:${rank}`,
    /** Set by the launcher when a synchronous job fails: joined workers stop. */
    abort: `neurite:${job}:abort`,
    /** Set before abort when the job goes on with the survivors: the id of the job joined workers join next. */
    next: `neurite:${job}:next`,
  };
}

/** The slice [start, end) of n flat values that shard s of `servers` owns. */
export function shardRange(n: number, servers: number, s: number): [number, number] {
  return [Math.floor((s * n) / servers), Math.floor(((s + 1) * n) / servers)];
}

function bytesOf(values: Float32Array): Buffer {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

function floatsOf(bytes: Buffer): Float32Array {
  // A copy: Buffers from a socket are not 4-byte aligned in general.
  const out = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new DistributedTimeoutError(`${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** What a worker measured, stored in Redis at its end and gathered by the launcher. */
export interface WorkerStats {
  /** The worker's rank. */
  rank: number;
  /** Training steps it made. */
  steps: number;
  /** Samples it trained on. */
  samples: number;
  /** Seconds from its start to its end. */
  seconds: number;
  /** Gradients it pushed (one entry per shard each). */
  pushes: number;
  /** Times it fetched the weights. */
  fetches: number;
  /** Seconds the pushes and fetches took (they run while the next step computes). */
  communicationSeconds: number;
  /** Seconds the worker waited for a push or fetch that had not finished when its next step did. */
  blockedSeconds: number;
  /** Seconds spent waiting for servers that fell behind (flow control). */
  waitSeconds: number;
}

/**
 * A worker replica of asynchronous Downpour SGD: every `nPush` steps it
 * pushes the gradients it accumulated to the server shards, every `nFetch`
 * steps it fetches fresh weights, and it never waits for the other workers.
 * The optimizer given to fit runs at the servers. A worker stops pushing and
 * waits when a shard has applied none of its last pushes for a while (a dead
 * or slow server), and fails after the timeout.
 */
export class Downpour implements DistributedStrategy {
  readonly mode = 'async';
  private redis: Redis | null = null;
  private layout: FlatLayout | null = null;
  private params: Parameter[] = [];
  private accumulated: Float32Array = new Float32Array(0);
  /** The gradient buffer of the exchange in flight (or free): it and `accumulated` swap at each push, so pushes allocate nothing. */
  private outgoing: Float32Array = new Float32Array(0);
  /** Where fetched weights are assembled before they are scattered into the model. */
  private fetched = new Float32Array(0);
  private versions: number[] = [];
  private steps = 0;
  private readonly stats: WorkerStats;
  private started = 0;
  private readonly keys: ReturnType<typeof jobKeys>;
  private optimizer: OptimizerLike | null = null;
  private inFlight: Promise<void> | null = null;
  /** This process's name on the gradient streams, and its pushes so far: the servers count each push once. */
  private readonly sender = `${process.pid}.${Math.floor(Math.random() * 2 ** 32).toString(36)}`;
  private pushSeq = 0;

  constructor(
    /** The job this worker joins (from the launcher's environment variable). */
    readonly info: AsyncJobInfo,
  ) {
    this.keys = jobKeys(info.job);
    this.stats = { rank: info.rank, steps: 0, samples: 0, seconds: 0, pushes: 0, fetches: 0, communicationSeconds: 0, blockedSeconds: 0, waitSeconds: 0 };
  }

  get rank(): number {
    return this.info.rank;
  }
  get worldSize(): number {
    return this.info.worldSize;
  }
  get seed(): number {
    return this.info.seed;
  }

  async begin(model: Module, optimizer: OptimizerLike): Promise<void> {
    const { info, keys } = this;
    const redis = await connectRedis(info.url, info.timeoutMs, `worker ${info.rank}`);
    this.redis = redis;
    this.optimizer = optimizer;
    this.params = model.trainableParameters();
    const layout = new FlatLayout(this.params);
    this.layout = layout;
    this.accumulated = new Float32Array(layout.size);
    this.outgoing = new Float32Array(layout.size);
    this.fetched = new Float32Array(layout.size);
    const spec = JSON.stringify(describeOptimizer(optimizer));
    if (info.rank === 0) {
      // The first worker seeds the servers (a restarted one finds them seeded and keeps what they hold).
      const weights = layout.gather(new Float32Array(layout.size));
      const m = redis.multi().set(keys.size, String(layout.size), 'NX').set(keys.optimizer, spec, 'NX');
      for (let s = 0; s < info.servers; s++) {
        const [a, b] = shardRange(layout.size, info.servers, s);
        m.set(keys.weights(s), bytesOf(weights.subarray(a, b)), 'NX').set(keys.version(s), '0', 'NX');
      }
      await m.exec();
    }
    const size = await waitFor(`worker ${info.rank}: rank 0 did not register the model`, info.timeoutMs, () => redis.get(keys.size));
    if (Number(size) !== layout.size) {
      throw new DistributedError(
        `worker ${info.rank}: its model has ${layout.size} trainable parameters, the job's has ${size}; every worker must build the same model`,
      );
    }
    const jobSpec = await redis.get(keys.optimizer);
    if (jobSpec !== spec)
      throw new DistributedError(`worker ${info.rank}: its optimizer is ${spec}, the job's is ${jobSpec}; every worker must use the same one`);
    await this.exchange(null, 0, true);
    this.started = performance.now();
  }

  synchronizeGradients(): void {}

  /** Add this step's gradients to what the next push sends (inside the step, so a compiled step replays it). */
  collectGradients(params: readonly Parameter[]): void {
    const layout = this.layout as FlatLayout;
    let offset = 0;
    for (const p of params) {
      const g = p.grad?.data as Float32Array | undefined;
      if (g) for (let i = 0; i < g.length; i++) this.accumulated[offset + i] += g[i];
      offset += p.size;
    }
    if (offset !== layout.size) throw new DistributedError('Downpour: the trainable parameters changed during training');
  }

  /**
   * Count the step, and push and fetch when their turn comes. The exchange
   * runs while the next step computes (Dean et al.'s replicas fetch and push
   * in the background too): the next call waits only for what is left of
   * it, so the fetched weights arrive one step later than they would if the
   * worker waited, and the worker spends the time computing.
   */
  async update(_params: readonly Parameter[], samples: number): Promise<void> {
    this.steps++;
    this.stats.steps++;
    this.stats.samples += samples;
    await this.settle();
    const push = this.steps % this.info.nPush === 0;
    const fetch = this.steps % this.info.nFetch === 0;
    if (!push && !fetch) return;
    // The gradients leave now, as they are: the next step adds into the other buffer, zeroed (the exchange that last
    // used it has settled above, so the socket no longer holds it).
    let gradient: Float32Array | null = null;
    if (push) {
      gradient = this.accumulated;
      this.accumulated = this.outgoing.fill(0);
      this.outgoing = gradient;
    }
    // One round trip for both: the commands leave now, the replies wait in the socket while the next step computes.
    const exchange = this.exchange(gradient, this.lr(), fetch);
    // Its failure is reported by the next settle(), not as an unhandled rejection meanwhile.
    exchange.catch(() => {});
    this.inFlight = exchange;
  }

  /** Wait for the exchange in flight, counting the time the worker could not spend computing. */
  private async settle(): Promise<void> {
    const exchange = this.inFlight;
    if (exchange === null) return;
    this.inFlight = null;
    const t0 = performance.now();
    await exchange;
    this.stats.blockedSeconds += (performance.now() - t0) / 1000;
  }

  /** The rate the worker's optimizer has now: a schedule (or a callback) that changes it reaches the servers with each push. */
  private lr(): number {
    return (this.optimizer as OptimizerLike).paramGroups[0].lr;
  }

  /**
   * One pipeline to Redis: push `gradient` (one stream entry per shard,
   * tagged with the versions of the weights it was computed on and the
   * learning rate) and/or fetch every shard's weights and version. Flow
   * control: a shard's stream holds only gradients not yet applied (servers
   * delete what they applied), so when it is longer than 2 entries per
   * worker the servers are behind, and the worker waits for them (failing
   * after the timeout if one stopped): a worker faster than its servers
   * would otherwise push ever staler gradients.
   */
  private async exchange(gradient: Float32Array | null, lr: number, fetch: boolean): Promise<void> {
    const { info, keys } = this;
    const redis = this.redis as Redis;
    const t0 = performance.now();
    const pipeline = redis.pipeline();
    if (gradient) this.pushSeq++;
    if (gradient) {
      for (let s = 0; s < info.servers; s++) this.addPush(pipeline, s, gradient, lr);
    }
    if (fetch) for (let s = 0; s < info.servers; s++) pipeline.getBuffer(keys.weights(s)).get(keys.version(s));
    const replies = (await pipeline.exec()) ?? [];
    const t1 = performance.now();
    this.stats.communicationSeconds += (t1 - t0) / 1000;
    const pushed = gradient ? 2 * info.servers : 0;
    if (fetch) this.applyWeights(replies.slice(pushed));
    if (!gradient) return;
    this.stats.pushes++;
    const limit = 2 * info.worldSize;
    for (let s = 0; s < info.servers; s++) {
      if (Number(replies[2 * s + 1]?.[1]) <= limit) continue;
      await waitFor(`worker ${this.rank}: parameter-server shard ${s} applied nothing`, info.timeoutMs, async () => {
        const backlog = await redis.xlen(keys.gradients(s));
        return backlog <= limit / 2 ? backlog : null;
      });
    }
    this.stats.waitSeconds += (performance.now() - t1) / 1000;
  }

  /** Shard s's part of a push (an XADD tagged with the weights' version, the rate, the sender and its number), then the stream's length. */
  private addPush(pipeline: ChainableCommander, s: number, gradient: Float32Array, lr: number): void {
    const { info, keys } = this;
    const [a, b] = shardRange(gradient.length, info.servers, s);
    pipeline.xadd(
      keys.gradients(s),
      '*',
      'v',
      String(this.versions[s]),
      'r',
      String(info.rank),
      'l',
      String(lr),
      's',
      this.sender,
      'q',
      String(this.pushSeq),
      'g',
      bytesOf(gradient.subarray(a, b)),
    );
    pipeline.xlen(keys.gradients(s));
  }

  /** The fetched weights of every shard into the model, with their versions. */
  private applyWeights(replies: [Error | null, unknown][]): void {
    const { info } = this;
    const flat = this.fetched;
    for (let s = 0; s < info.servers; s++) {
      const [err, weights] = replies[2 * s];
      const version = Number(replies[2 * s + 1][1]);
      if (err || !(weights instanceof Buffer))
        throw new DistributedError(`worker ${info.rank}: shard ${s}'s weights are missing from Redis (was it restarted without them?)`);
      const [a, b] = shardRange(flat.length, info.servers, s);
      if (weights.byteLength !== (b - a) * 4)
        throw new DistributedError(`worker ${info.rank}: shard ${s} holds ${weights.byteLength / 4} weights, expected ${b - a}`);
      // Byte for byte: a Buffer from the socket need not be 4-byte aligned, so it cannot be viewed as floats.
      new Uint8Array(flat.buffer, flat.byteOffset + a * 4, (b - a) * 4).set(weights);
      this.versions[s] = version;
    }
    (this.layout as FlatLayout).scatter(flat);
    this.stats.fetches++;
  }

  sumAcross(): void {}
  epochEnd(): void {}

  async end(): Promise<void> {
    const redis = this.redis as Redis;
    await this.settle();
    await this.exchange(this.accumulated.some((v) => v !== 0) ? this.accumulated : null, this.lr(), true);
    this.stats.seconds = (performance.now() - this.started) / 1000;
    await redis.set(this.keys.worker(this.rank), JSON.stringify(this.stats));
    await redis.quit();
    this.redis = null;
  }

  /** Store a result for the launcher (its own short connection, so it works before and after training). */
  async report(value: unknown): Promise<void> {
    await reportResult(this.info, value);
  }
}

/** How long a job's checkpoint pointer stays in Redis after its last write: a week. */
export const CHECKPOINT_POINTER_SECONDS = 7 * 24 * 3600;

/** Where a launched job's latest checkpoint is: what rank 0 stores in the job's Redis after writing one. */
export interface CheckpointPointer {
  /** The checkpoint file, an absolute path on `host`. */
  readonly path: string;
  /** The epoch it resumes at (epochs finished). */
  readonly epoch: number;
  /** The step within that epoch it resumes at (0 at an epoch's end). */
  readonly step: number;
  /** The machine that wrote it. */
  readonly host: string;
  /** When (ISO 8601). */
  readonly savedAt: string;
  /** Whether a copy of the run's files (configuration and checkpoint) is kept beside the pointer (see checkpointCopy). */
  readonly copied?: boolean;
  /** The run files' size in bytes, all together, when rank 0 gave it (so a missing copy can say it was over the limit). */
  readonly bytes?: number;
}

/** The largest run files (in bytes, all together) a checkpoint pointer keeps a copy of in Redis: 64 MiB. */
export const CHECKPOINT_COPY_LIMIT = 64 * 1024 * 1024;

/** What rank 0 says after writing a checkpoint; `files` (the run's files by name) are copied into Redis up to CHECKPOINT_COPY_LIMIT. */
export interface SavedCheckpoint {
  /** The checkpoint file. */
  readonly path: string;
  /** Epochs finished. */
  readonly epoch: number;
  /** Steps into the next epoch (0 at an epoch's end). */
  readonly step: number;
  /** The files a run resumes from, by name (e.g. config.json and the checkpoint), to keep in Redis for a machine that cannot read `path`. */
  readonly files?: Readonly<Record<string, Uint8Array>>;
  /**
   * The run files' size in bytes, all together, given instead of `files` when it is over CHECKPOINT_COPY_LIMIT: the
   * caller need not read files that will not be kept. With `files`, their size counts.
   */
  readonly fileBytes?: number;
}

/** The field that marks a complete set of shared run files (no file is named so). */
const SHARED_MARKER = ':complete';

/** Record in the job's Redis where its latest checkpoint is (under the job's first id: an elastic job's attempts share it). */
export async function recordCheckpoint(info: AsyncJobInfo, saved: SavedCheckpoint): Promise<void> {
  const client = await connectRedis(info.url, info.timeoutMs, `worker ${info.rank}`);
  try {
    const files = Object.entries(saved.files ?? {});
    const bytes = files.length > 0 ? files.reduce((sum, [, data]) => sum + data.byteLength, 0) : saved.fileBytes;
    const copied = files.length > 0 && bytes !== undefined && bytes <= CHECKPOINT_COPY_LIMIT;
    const pointer: CheckpointPointer = {
      path: resolve(saved.path),
      epoch: saved.epoch,
      step: saved.step,
      host: hostname(),
      savedAt: new Date().toISOString(),
      copied,
      ...(bytes !== undefined ? { bytes } : {}),
    };
    const keys = jobKeys(info.checkpointJob ?? info.job);
    // Kept a week after its last write, also past the job's end: a shared Redis does not keep it forever. The pointer
    // and the copy change in one transaction, and a copy too large to keep is dropped: never an older copy beside a newer pointer.
    const write = client.multi().set(keys.checkpoint, JSON.stringify(pointer), 'EX', CHECKPOINT_POINTER_SECONDS).del(keys.checkpointCopy);
    if (copied) {
      const fields = files.flatMap(([name, data]) => [name, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
      write.hset(keys.checkpointCopy, ...fields).expire(keys.checkpointCopy, CHECKPOINT_POINTER_SECONDS);
    }
    await write.exec();
  } finally {
    client.disconnect();
  }
}

/**
 * The copy of the run files kept beside a job's latest checkpoint pointer (by
 * file name), or null when there is none (no pointer, or files over
 * CHECKPOINT_COPY_LIMIT). It lets a job resume on a machine that cannot read
 * the checkpoint where rank 0 wrote it.
 */
export async function checkpointCopy(url: string, job: string, timeoutMs = 5000): Promise<Record<string, Uint8Array> | null> {
  const client = await connectRedis(url, timeoutMs, 'checkpointCopy');
  try {
    const found = await client.hgetallBuffer(jobKeys(job).checkpointCopy);
    const names = Object.keys(found);
    if (names.length === 0) return null;
    return Object.fromEntries(names.map((name) => [name, new Uint8Array(found[name].buffer, found[name].byteOffset, found[name].byteLength)]));
  } finally {
    client.disconnect();
  }
}

/** The latest checkpoint a launched job recorded in its Redis (`url`), or null when it recorded none. */
export async function lastCheckpoint(url: string, job: string, timeoutMs = 5000): Promise<CheckpointPointer | null> {
  const client = await connectRedis(url, timeoutMs, 'lastCheckpoint');
  try {
    const text = await client.get(jobKeys(job).checkpoint);
    if (text === null) return null;
    const p = JSON.parse(text) as CheckpointPointer;
    if (typeof p?.path !== 'string' || !Number.isInteger(p.epoch))
      throw new DistributedError(`lastCheckpoint: job '${job}' has a malformed checkpoint pointer: ${text.slice(0, 200)}`);
    return p;
  } finally {
    client.disconnect();
  }
}

/**
 * Rank 0 hands files to the other replicas of its job through the job's Redis
 * (a run's configuration and checkpoint, for replicas on machines that do not
 * mount its run folder); they expire a day after.
 */
export async function shareRunFiles(info: AsyncJobInfo, files: Readonly<Record<string, Uint8Array>>): Promise<void> {
  const client = await connectRedis(info.url, info.timeoutMs, `worker ${info.rank}`);
  try {
    const key = jobKeys(info.job).files;
    const fields = Object.entries(files).flatMap(([name, bytes]) => [name, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]);
    // One transaction: a reader sees all the files or none.
    await client
      .multi()
      .del(key)
      .hset(key, SHARED_MARKER, '1', ...fields)
      .pexpire(key, 24 * 3600_000)
      .exec();
  } finally {
    client.disconnect();
  }
}

/** The files rank 0 shared (shareRunFiles), waiting for them up to the job's timeout. */
export async function receiveRunFiles(info: AsyncJobInfo): Promise<Record<string, Uint8Array>> {
  const client = await connectRedis(info.url, info.timeoutMs, `worker ${info.rank}`);
  try {
    const key = jobKeys(info.job).files;
    const found = await waitFor(`rank ${info.rank}: rank 0 of job '${info.job}' shared no run files`, info.timeoutMs, async () => {
      const all = await client.hgetallBuffer(key);
      return all[SHARED_MARKER] === undefined ? null : all;
    });
    delete found[SHARED_MARKER];
    return Object.fromEntries(Object.entries(found).map(([name, bytes]) => [name, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)]));
  } finally {
    client.disconnect();
  }
}

export async function reportResult(info: AsyncJobInfo, value: unknown): Promise<void> {
  const client = await connectRedis(info.url, info.timeoutMs, `worker ${info.rank}`);
  await client.set(jobKeys(info.job).result(info.rank), JSON.stringify(value ?? null));
  await client.quit();
}

/** Options of a parameter-server shard. */
export interface ServeOptions {
  /** The job's Redis (redis://host:port). */
  readonly url: string;
  /** The job's id. */
  readonly job: string;
  /** Which shard this server holds, 0 to servers - 1. */
  readonly shard: number;
  /** How many shards the weights are split into. */
  readonly servers: number;
  /** When a stale gradient is dropped or its rate scaled. */
  readonly rule: StalenessRule;
  /** How long to wait for the workers to register the model before failing. */
  readonly timeoutMs: number;
  /** Store the optimizer's state every this many updates (default 50); weights and version are stored with every update. */
  readonly stateEvery?: number;
}

/**
 * Run parameter-server shard `shard` until the job's stop key appears:
 * load (or resume) its state from Redis, replay the gradients it received
 * but had not acknowledged, then apply arrivals in order. Resolves with its
 * counts.
 */
export async function serveShard(options: ServeOptions): Promise<
  ShardStats & {
    /** The shard's weights version at the end. */
    version: number;
  }
> {
  const { url, job, shard, servers, rule, timeoutMs } = options;
  const keys = jobKeys(job);
  const who = `parameter server ${shard}`;
  const redis = await connectRedis(url, timeoutMs, who);
  const stateEvery = options.stateEvery ?? 50;
  try {
    const size = Number(await waitFor(`${who}: no worker registered the model`, timeoutMs, () => redis.get(keys.size)));
    const spec = JSON.parse(await waitFor(`${who}: no optimizer`, timeoutMs, () => redis.get(keys.optimizer))) as OptimizerSpec;
    const [a, b] = shardRange(size, servers, shard);
    const weights = floatsOf(await waitFor(`${who}: no weights`, timeoutMs, () => redis.getBuffer(keys.weights(shard))));
    if (weights.length !== b - a) throw new DistributedError(`${who}: holds ${weights.length} weights, expected ${b - a}`);
    const version = Number((await redis.get(keys.version(shard))) ?? 0);
    const lastId = (await redis.get(keys.last(shard))) ?? '0-0';
    const lastSeq = Object.fromEntries(Object.entries(await redis.hgetall(keys.seqs(shard))).map(([k, v]) => [k, Number(v)]));
    const server = new ServerShard(weights, spec, rule, { version, lastId, lastSeq });
    const saved = await redis.get(keys.state(shard));
    if (saved !== null) (server.optimizer as unknown as { loadStateDict(d: unknown): void }).loadStateDict(JSON.parse(saved));
    const stream = keys.gradients(shard);
    try {
      await redis.xgroup('CREATE', stream, 'ps', '0', 'MKSTREAM');
    } catch (e) {
      if (!/BUSYGROUP/.test((e as Error).message)) throw e;
    }
    let sinceState = 0;
    const senders = new Set<string>();
    // '0' first: entries this consumer received before a crash and never acknowledged; then '>' for new ones.
    let cursor = '0';
    // A read that Redis answered as it died delivered its entries (they are in the group's pending list) but never
    // reached this process, and the client sends it again after reconnecting, which delivers newer ones: taken
    // first, those would make the lost ones look like duplicates. So after a reconnection the pending list is read
    // again from its start, in order, before anything new.
    let reconnected = false;
    redis.on('ready', () => {
      reconnected = true;
    });
    for (;;) {
      const reply = (await redis.callBuffer('XREADGROUP', 'GROUP', 'ps', 'server', 'COUNT', '16', 'BLOCK', '100', 'STREAMS', stream, cursor)) as
        | [Buffer, [Buffer, Buffer[] | null][]][]
        | null;
      if (reconnected) {
        reconnected = false;
        cursor = '0';
        continue;
      }
      const entries = reply?.[0]?.[1] ?? [];
      if (cursor === '0' && entries.length === 0) cursor = '>';
      if (entries.length > 0) {
        // Everything this read returned is applied in memory, then stored with one MULTI: the weights, the
        // version, the last id taken and the acknowledgements change together or not at all.
        const ids: string[] = [];
        let applied = 0;
        for (const [idBytes, fields] of entries) {
          const id = idBytes.toString();
          ids.push(id);
          if (fields === null) continue;
          const field = (name: string) => fields[fields.findIndex((f, i) => i % 2 === 0 && f.toString() === name) + 1];
          const lr = field('l');
          const sender = field('s');
          const seq = field('q');
          const entry = {
            id,
            version: Number(field('v').toString()),
            gradient: floatsOf(field('g')),
            ...(lr === undefined ? {} : { lr: Number(lr.toString()) }),
            ...(sender === undefined || seq === undefined ? {} : { sender: sender.toString(), seq: Number(seq.toString()) }),
          };
          if (server.take(entry) === 'applied') applied++;
          if (entry.sender !== undefined) senders.add(entry.sender);
        }
        const m = redis.multi();
        for (const sender of senders) m.hset(keys.seqs(shard), sender, String(server.lastSeq.get(sender) ?? 0));
        senders.clear();
        if (applied > 0) {
          m.set(keys.weights(shard), bytesOf(server.weights.data as Float32Array)).set(keys.version(shard), String(server.version));
          sinceState += applied;
          if (sinceState >= stateEvery) {
            sinceState = 0;
            m.set(keys.state(shard), JSON.stringify((server.optimizer as unknown as { stateDict(): unknown }).stateDict()));
          }
        }
        m.set(keys.last(shard), server.lastId)
          .xack(stream, 'ps', ...ids)
          .xdel(stream, ...ids);
        await m.exec();
      }
      if (entries.length === 0 && (await redis.exists(keys.stop)) === 1) break;
    }
    const stats = { ...server.stats, version: server.version };
    await redis.set(keys.server(shard), JSON.stringify(stats));
    return stats;
  } finally {
    redis.disconnect();
  }
}
