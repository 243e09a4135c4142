// Training beyond one replica: the strategies fit runs (data parallelism,
// Hogwild), the collectives under them, and the launcher of replicas on
// threads. Node only (worker_threads); the browser entry leaves it out.

export {
  compareStreamIds,
  describeOptimizer,
  type GradientEntry,
  type OptimizerSpec,
  ServerShard,
  type ShardStats,
  type StalenessRule,
  stalenessFactor,
} from './downpour.js';
export { DistributedError, DistributedTimeoutError, type WorkerFailure, WorkerLostError } from './errors.js';
export { FlatLayout } from './flat.js';
export { GlooGroup, type GlooGroupInit, glooUnavailableReason } from './gloo.js';
export { init, type Replica } from './init.js';
export { type LaunchOptions, type LaunchResult, launch, MODES, type Mode, type SyncAttempt } from './launch.js';
export type { ScriptLocation, StartedProcess } from './processes.js';
export {
  type AsyncJobInfo,
  CHECKPOINT_COPY_LIMIT,
  CHECKPOINT_POINTER_SECONDS,
  type CheckpointPointer,
  checkpointCopy,
  Downpour,
  lastCheckpoint,
  type SavedCheckpoint,
  type ServeOptions,
  serveShard,
  shardRange,
  type WorkerStats,
} from './redis.js';
export { RedisGroup, type RedisGroupInit } from './redis-group.js';
export { type LocalRedis, redisServerInstalled, startRedis } from './redis-server.js';
export { type JobSpec, type JoinOptions, type JoinResult, join, OPEN_JOBS_KEY } from './remote.js';
export { type BufferRelay, FLOAT64_CAPACITY, type SharedGroupInit, SharedMemoryGroup } from './shared-group.js';
export { type Collectives, DataParallel, type DataParallelOptions, Hogwild } from './strategies.js';
export { type TrialContext, trialWorker as serveTrials } from './trial-worker.js';
export { runTrials, type TrialResult, type TrialsOptions, type TrialWorkerInit } from './trials.js';
