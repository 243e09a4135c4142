// Training beyond one replica: the strategies fit runs (data parallelism,
// Hogwild), the collectives under them, and the launcher of replicas on
// threads. Node only (worker_threads); the browser entry leaves it out.
export { DistributedError, DistributedTimeoutError } from './errors.js';
export { FlatLayout } from './flat.js';
export { init, type Replica } from './init.js';
export { type BufferRelay, FLOAT64_CAPACITY, type SharedGroupInit, SharedMemoryGroup } from './shared-group.js';
export { type Collectives, DataParallel, Hogwild } from './strategies.js';
export { type LaunchOptions, type LaunchResult, launch, THREAD_MODES, type ThreadMode } from './threads.js';
