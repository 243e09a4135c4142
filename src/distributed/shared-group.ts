// Collectives between threads of one machine over shared memory: a barrier
// on an Int32Array with Atomics, and all-reduce / broadcast through shared
// Float32Array and Float64Array regions. Platform-free: the only thing it
// needs from its host is a relay that hands a SharedArrayBuffer made by one
// thread to the others (Node's worker_threads in threads.ts; Web Workers could
// provide the same).
//
// Determinism: in all-reduce, each element is summed by exactly one thread,
// in rank order 0, 1, ..., N-1, in float64 and rounded once; every replica
// then copies the same result. So the result does not depend on timing, and
// all replicas hold the same bits.
import { DistributedError, DistributedTimeoutError } from './errors.js';

/** Slots of the control array (Int32). */
const COUNT = 0;
const GENERATION = 1;
/** 0 while all is well; rank + 1 of a replica that failed, or -1 when the launcher stopped the job. */
const ABORT = 2;
/** From here on, the generation each rank last arrived at. */
const ARRIVED = 8;

/** Float64 values one all-reduce of doubles can carry (epoch sums are a handful). */
export const FLOAT64_CAPACITY = 1024;

/** The control array's length for a world of this size. */
export function controlLength(worldSize: number): number {
  return ARRIVED + worldSize;
}

/** Bytes of the small float64 region for a world of this size (a slot per rank, plus the result). */
export function float64Bytes(worldSize: number): number {
  return (worldSize + 1) * FLOAT64_CAPACITY * 8;
}

/** The longest a barrier sleeps before it looks for an abort again. */
const ABORT_POLL_MS = 50;

/** Mark a job as stopped (rank + 1 of the replica that failed, or -1) and wake every waiting replica. */
export function abortGroup(control: Int32Array, who: number): void {
  Atomics.compareExchange(control, ABORT, 0, who);
  Atomics.notify(control, GENERATION);
}

/** Hands shared buffers between the replicas: rank 0 offers one under a key, the others receive it. */
export interface BufferRelay {
  /** Rank 0: hand `buffer` to the other replicas under `key`. */
  offer(key: string, buffer: SharedArrayBuffer): void;
  /** The other ranks: the buffer rank 0 offered under `key`, when it arrives. */
  receive(key: string): Promise<SharedArrayBuffer>;
}

/** Everything a replica needs to join a group over shared memory. */
export interface SharedGroupInit {
  /** This replica's index, 0 to worldSize - 1. */
  readonly rank: number;
  /** How many replicas share the group. */
  readonly worldSize: number;
  /** The strategy's name ('sync-threads', 'hogwild'). */
  readonly mode: string;
  /** The seed the replicas share; it orders the samples. */
  readonly seed: number;
  /** How long a collective waits for the slowest replica before it throws. */
  readonly timeoutMs: number;
  /** The barrier's counters (Int32 words: count, generation, abort flag, one arrival word per rank). */
  readonly control: SharedArrayBuffer;
  /** The float64 region of the collectives (the epoch's sums, small buffers). */
  readonly float64: SharedArrayBuffer;
}

/** Collectives for replicas that share memory. All ranks call them in the same order. */
export class SharedMemoryGroup {
  /** This replica's index. */
  readonly rank: number;
  /** How many replicas there are. */
  readonly worldSize: number;
  /** The training mode the launcher asked for. */
  readonly mode: string;
  /** A seed every replica shares (the launcher drew it). */
  readonly seed: number;
  /** How long a collective waits for the slowest replica. */
  readonly timeoutMs: number;
  private readonly control: Int32Array;
  private readonly doubles: Float64Array;
  private floats: Float32Array = new Float32Array(0);
  private floatCapacity = 0;
  private shared = 0;

  constructor(
    init: SharedGroupInit,
    private readonly relay: BufferRelay,
  ) {
    this.rank = init.rank;
    this.worldSize = init.worldSize;
    this.mode = init.mode;
    this.seed = init.seed;
    this.timeoutMs = init.timeoutMs;
    this.control = new Int32Array(init.control);
    this.doubles = new Float64Array(init.float64);
  }

  /**
   * Wait until every replica has arrived. Throws a DistributedTimeoutError
   * naming the missing ranks after `timeoutMs`, and a DistributedError as
   * soon as another replica failed.
   */
  barrier(what = 'barrier'): void {
    const c = this.control;
    this.checkAbort(what);
    const generation = Atomics.load(c, GENERATION);
    Atomics.store(c, ARRIVED + this.rank, generation + 1);
    if (Atomics.add(c, COUNT, 1) === this.worldSize - 1) {
      // The last to arrive resets the count before it releases the others, so that a fast replica's next arrival counts.
      Atomics.store(c, COUNT, 0);
      Atomics.add(c, GENERATION, 1);
      Atomics.notify(c, GENERATION);
      return;
    }
    const deadline = Date.now() + this.timeoutMs;
    while (Atomics.load(c, GENERATION) === generation) {
      this.checkAbort(what);
      const left = deadline - Date.now();
      if (left <= 0) {
        const missing: number[] = [];
        for (let r = 0; r < this.worldSize; r++) if (Atomics.load(c, ARRIVED + r) !== generation + 1) missing.push(r);
        throw new DistributedTimeoutError(
          `${what}: rank${missing.length === 1 ? '' : 's'} ${missing.join(', ')} did not arrive within ${this.timeoutMs} ms (rank ${this.rank} of ${this.worldSize} waited); a replica hangs or stopped`,
        );
      }
      // In slices: an abort posted between checkAbort() and this wait notifies before anyone waits, and
      // would otherwise be noticed only at the deadline (seen in CI as a survivor waiting out a 20 s timeout).
      Atomics.wait(c, GENERATION, generation, Math.min(left, ABORT_POLL_MS));
    }
  }

  private checkAbort(what: string): void {
    const who = Atomics.load(this.control, ABORT);
    if (who === 0) return;
    throw new DistributedError(
      who > 0
        ? `${what}: rank ${who - 1} failed, so rank ${this.rank} stops too (the launcher reports rank ${who - 1}'s error)`
        : `${what}: the launcher stopped the job`,
    );
  }

  /** Make sure one all-reduce can carry `count` float32 values (collective: every rank calls it with the same count). */
  async reserve(count: number): Promise<void> {
    if (count <= this.floatCapacity) return;
    const capacity = Math.max(count, Math.ceil(this.floatCapacity * 1.5));
    const buffer = await this.share((this.worldSize + 1) * capacity * 4);
    this.floats = new Float32Array(buffer);
    this.floatCapacity = capacity;
  }

  /**
   * One SharedArrayBuffer of `bytes` that every replica holds (collective):
   * rank 0 makes it and the relay hands it to the others.
   */
  async share(bytes: number): Promise<SharedArrayBuffer> {
    const key = `buffer-${this.shared++}`;
    if (this.rank === 0) {
      const buffer = new SharedArrayBuffer(bytes);
      this.relay.offer(key, buffer);
      return buffer;
    }
    const buffer = await this.relay.receive(key);
    if (buffer.byteLength !== bytes) {
      throw new DistributedError(`share: rank 0 shared ${buffer.byteLength} bytes where rank ${this.rank} expected ${bytes}; the replicas' models differ`);
    }
    return buffer;
  }

  /**
   * Sum (or average) `values` over the replicas, in place, with the same bits
   * on every replica. Float32 values need a `reserve` of at least their count
   * first; float64 values are limited to FLOAT64_CAPACITY.
   */
  allReduce(values: Float32Array | Float64Array, op: 'sum' | 'mean' = 'sum'): void {
    const n = values.length;
    const [region, capacity] = values instanceof Float64Array ? [this.doubles, FLOAT64_CAPACITY] : [this.floats, this.floatCapacity];
    if (n > capacity) {
      throw new DistributedError(
        `allReduce: ${n} ${values instanceof Float64Array ? 'float64' : 'float32'} values exceed the ${capacity} reserved${values instanceof Float64Array ? '' : ' (await reserve(count) on every replica first)'}`,
      );
    }
    const world = this.worldSize;
    region.set(values, this.rank * capacity);
    this.barrier('allReduce');
    const result = world * capacity;
    const part = Math.ceil(n / world);
    const end = Math.min(n, (this.rank + 1) * part);
    for (let i = this.rank * part; i < end; i++) {
      let sum = region[i];
      for (let r = 1; r < world; r++) sum += region[r * capacity + i];
      region[result + i] = op === 'mean' ? sum / world : sum;
    }
    this.barrier('allReduce');
    values.set(region.subarray(result, result + n));
  }

  /** Overwrite `values` on every replica with rank `root`'s (same limits as allReduce). */
  broadcast(values: Float32Array | Float64Array, root = 0): void {
    const n = values.length;
    const [region, capacity] = values instanceof Float64Array ? [this.doubles, FLOAT64_CAPACITY] : [this.floats, this.floatCapacity];
    if (n > capacity) throw new DistributedError(`broadcast: ${n} values exceed the ${capacity} reserved (await reserve(count) on every replica first)`);
    const result = this.worldSize * capacity;
    if (this.rank === root) region.set(values, result);
    this.barrier('broadcast');
    if (this.rank !== root) values.set(region.subarray(result, result + n));
    this.barrier('broadcast');
  }
}
