// The training strategies a replica runs inside fit(): data parallelism with
// an all-reduce of the gradients, and Hogwild's lock-free updates of shared
// weights. They implement train's DistributedStrategy over any group that
// offers these collectives.
import { allocate } from '../core/dtype.js';
import { Tensor } from '../core/tensor.js';
import { hostStep } from '../core/trace.js';
import type { Module } from '../nn/module.js';
import type { Parameter } from '../nn/parameter.js';
import type { DistributedStrategy } from '../train/distributed.js';
import type { OptimizerLike } from '../train/index.js';
import { DistributedError } from './errors.js';
import { checkFloat32, FlatLayout, gatherGradients, planBuckets } from './flat.js';

/** The collectives the strategies use (SharedMemoryGroup has them). */
export interface Collectives {
  /** This replica's index, 0 to worldSize - 1. */
  readonly rank: number;
  /** How many replicas the group has. */
  readonly worldSize: number;
  /** The strategy's name, for messages. */
  readonly mode: string;
  /** The seed the replicas share. */
  readonly seed: number;
  /** Wait until every replica arrives (`what` names the wait in a timeout's message). */
  barrier(what?: string): void;
  /** Make room for all-reduces and broadcasts of `count` float32 values (collective). */
  reserve(count: number): Promise<void>;
  /** One buffer every replica holds (threads only; collective). */
  share(bytes: number): Promise<SharedArrayBuffer>;
  /** Sum (or average) `values` over the replicas, in place, with the same bits on each. */
  allReduce(values: Float32Array | Float64Array, op?: 'sum' | 'mean'): void;
  /** Overwrite `values` on every replica with rank `root`'s. */
  broadcast(values: Float32Array | Float64Array, root?: number): void;
  /**
   * Optional (GlooGroup has it): start summing `values` over the replicas in
   * place, off this thread, and return at once; started sums finish in order.
   */
  allReduceStart?(values: Float32Array): void;
  /** With allReduceStart: wait until every started sum has finished. */
  allReduceWait?(): void;
}

/** How synchronous data parallelism exchanges gradients. */
export interface DataParallelOptions {
  /**
   * Where the group can sum off the main thread (Gloo), gradients go in
   * buckets of about this many bytes, each sent as soon as backward has
   * finished its parameters while backward goes on through earlier layers.
   * 0: one all-reduce of every gradient after backward. Default 256 KiB.
   */
  bucketBytes?: number;
}

/** One bucket: its parameters (indices in the trainable list), where each sits, and the buffer that travels. */
interface Bucket {
  readonly params: readonly number[];
  readonly offsets: readonly number[];
  /** Gradient values, then one presence flag per parameter. */
  readonly buffer: Float32Array;
  readonly values: number;
}

/** The buckets of one trainable list and this step's progress through them. */
class BucketPlan {
  readonly buckets: Bucket[];
  /** For each trainable parameter: its bucket and its slot in it. */
  private readonly where = new Map<Parameter, { bucket: number; slot: number }>();
  private readonly waiting: Int32Array;
  private readonly arrived: Uint8Array;
  /** Buckets 0 to started - 1 are in flight (buckets start in order, so every replica starts them alike). */
  started = 0;
  /** A gradient arrived twice in one step (a second backward): this step falls back to one all-reduce. */
  spoiled = false;

  constructor(
    readonly trainable: readonly Parameter[],
    capValues: number,
  ) {
    this.buckets = planBuckets(
      trainable.map((p) => p.size),
      capValues,
    ).map((params, b) => {
      const offsets: number[] = [];
      let values = 0;
      params.forEach((i, slot) => {
        offsets.push(values);
        values += trainable[i].size;
        this.where.set(trainable[i], { bucket: b, slot });
      });
      return { params, offsets, values, buffer: new Float32Array(values + params.length) };
    });
    this.waiting = new Int32Array(this.buckets.length);
    this.arrived = new Uint8Array(trainable.length);
    this.reset();
  }

  matches(trainable: readonly Parameter[]): boolean {
    return this.trainable.length === trainable.length && trainable.every((p, i) => p === this.trainable[i]);
  }

  reset(): void {
    this.buckets.forEach((b, i) => {
      this.waiting[i] = b.params.length;
    });
    this.arrived.fill(0);
    this.started = 0;
    this.spoiled = false;
  }

  /** Copy a parameter's final gradient into its bucket; true when that completes the next bucket to start. */
  arrive(p: Parameter): boolean {
    const at = this.where.get(p);
    if (at === undefined) return false;
    const { bucket, slot } = at;
    const i = this.buckets[bucket].params[slot];
    if (this.arrived[i] === 1 || bucket < this.started) {
      this.spoiled = true;
      return false;
    }
    this.arrived[i] = 1;
    this.fill(bucket, slot);
    this.waiting[bucket]--;
    return this.waiting[this.started] === 0;
  }

  /** Copy the gradients of a bucket's parameters that did not arrive (none, or set outside backward). */
  fillMissing(bucket: number): void {
    this.buckets[bucket].params.forEach((i, slot) => {
      if (this.arrived[i] === 0) this.fill(bucket, slot);
    });
  }

  private fill(bucket: number, slot: number): void {
    const b = this.buckets[bucket];
    const p = this.trainable[b.params[slot]];
    const at = b.offsets[slot];
    if (p.grad) b.buffer.set(p.grad.data as Float32Array, at);
    else b.buffer.fill(0, at, at + p.size);
    b.buffer[b.values + slot] = p.grad ? 1 : 0;
  }

  /** The next bucket to start, if every parameter of it has arrived. */
  nextComplete(): number | null {
    return this.started < this.buckets.length && this.waiting[this.started] === 0 ? this.started : null;
  }
}

/** Parameters and buffers in one order every replica agrees on (their names). */
function stateOf(model: Module): { params: Parameter[]; buffers: Tensor[] } {
  const named = model.namedParameters();
  const buffers = model.namedBuffers().filter(([, b]) => b.dtype === 'float32' || b.dtype === 'float64');
  checkFloat32('distributed', named);
  return { params: named.map(([, p]) => p), buffers: buffers.map(([, b]) => b) };
}

/** The element count of the largest buffer (what broadcasting the buffers needs reserved). */
function largest(buffers: readonly Tensor[]): number {
  return buffers.reduce((m, b) => Math.max(m, b.size), 0);
}

/** Rank 0's buffers (BatchNorm statistics and counters) on every replica; float64 ones through the float64 region. */
function broadcastBuffers(group: Collectives, buffers: readonly Tensor[]): void {
  for (const b of buffers) {
    if (b.dtype === 'float64' || b.size <= 1024) {
      const values = Float64Array.from(b.data as ArrayLike<number>);
      group.broadcast(values, 0);
      (b.data as Float32Array | Float64Array).set(values);
    } else {
      group.broadcast(b.data as Float32Array, 0);
    }
  }
}

abstract class GroupStrategy implements DistributedStrategy {
  constructor(protected readonly group: Collectives) {}

  get rank(): number {
    return this.group.rank;
  }
  get worldSize(): number {
    return this.group.worldSize;
  }
  get mode(): string {
    return this.group.mode;
  }
  get seed(): number {
    return this.group.seed;
  }

  abstract begin(model: Module, optimizer: OptimizerLike): Promise<void>;
  abstract synchronizeGradients(params: readonly Parameter[]): void;

  sumAcross(values: Float64Array): void {
    this.group.allReduce(values, 'sum');
  }

  epochEnd(model: Module): void {
    broadcastBuffers(this.group, stateOf(model).buffers);
  }

  async end(): Promise<void> {
    this.group.barrier('end of training');
  }
}

/**
 * Synchronous data parallelism (what PyTorch's DistributedDataParallel
 * does): every replica starts from rank 0's weights and buffers, computes
 * gradients on its shard, and before each update all replicas average their
 * gradients, so that every replica applies the same update and the weights
 * stay identical. A parameter without a gradient on some replica counts as
 * zero there; one without a gradient anywhere keeps none.
 *
 * Where the group sums off the main thread (Gloo), the gradients travel in
 * buckets (see {@link DataParallelOptions}): a hook on each parameter copies
 * its gradient as soon as backward has finished it, and a full bucket is sent
 * while backward computes the rest. Buckets start in one fixed order on every
 * replica, so a late parameter holds back the buckets after its own, never
 * reorders them; the sums are the same bits as one all-reduce would give. A
 * compiled step replays the hooks' work where backward ran them.
 */
export class DataParallel extends GroupStrategy {
  private layout: FlatLayout | null = null;
  private flat = new Float32Array(0);
  private readonly bucketValues: number;
  private plan: BucketPlan | null = null;
  private armed = false;
  private hooks: { remove(): void }[] = [];

  constructor(group: Collectives, options: DataParallelOptions = {}) {
    super(group);
    const bytes = options.bucketBytes ?? 256 * 1024;
    if (!(Number.isFinite(bytes) && bytes >= 0)) {
      throw new DistributedError(`DataParallel: bucketBytes must be a number of bytes, 0 or more (0: one all-reduce after backward), got ${bytes}`);
    }
    this.bucketValues = Math.floor(bytes / 4);
  }

  /** Whether gradients go in buckets during backward (the group can sum off this thread, and bucketBytes is not 0). */
  get overlaps(): boolean {
    return this.bucketValues > 0 && typeof this.group.allReduceStart === 'function' && typeof this.group.allReduceWait === 'function';
  }

  /** Rank 0's weights and buffers on every replica. */
  async begin(model: Module): Promise<void> {
    const { params, buffers } = stateOf(model);
    const layout = new FlatLayout(params);
    await this.group.reserve(Math.max(layout.size + params.length, largest(buffers)));
    this.layout = layout;
    this.flat = new Float32Array(layout.size + params.length);
    // Replicas built their models from different random streams: rank 0's weights win.
    const weights = layout.gather(new Float32Array(layout.size));
    this.group.broadcast(weights, 0);
    layout.scatter(weights);
    broadcastBuffers(this.group, buffers);
    this.removeHooks();
    this.plan = null;
    if (this.overlaps) {
      this.hooks = params.map((p) => p.registerPostAccumulateGradHook(() => this.gradientReady(p)));
    }
  }

  /** Arm the hooks for the backward about to run. */
  beforeBackward(): void {
    // Host steps: a compiled step's replays run no hooks, but they replay these at the points where they ran.
    hostStep('distributed: arm gradient buckets', {}, () => {
      this.armed = this.plan !== null;
    });
  }

  private gradientReady(p: Parameter): void {
    if (!this.armed || this.plan === null) return;
    const grad = p.grad?.data;
    hostStep('distributed: gradient to its bucket', { reads: grad ? [grad] : [] }, () => this.arrive(p));
  }

  private arrive(p: Parameter): void {
    const plan = this.plan;
    if (!this.armed || plan === null) return;
    if (!plan.arrive(p)) return;
    for (let b = plan.nextComplete(); b !== null; b = plan.nextComplete()) {
      plan.started++;
      this.startBucket(plan.buckets[b].buffer);
    }
  }

  /** Every replica's gradients replaced by their mean over the replicas. */
  synchronizeGradients(trainable: readonly Parameter[]): void {
    const layout = this.layout;
    if (layout === null) throw new DistributedError('synchronizeGradients: begin() has not run (fit calls it)');
    const armed = this.armed;
    this.armed = false;
    const plan = this.plan;
    if (armed && plan?.matches(trainable) && !plan.spoiled) {
      this.finishBuckets(plan);
      return;
    }
    if (plan !== null && plan.started > 0) {
      // A step whose buckets were started and then abandoned (a second backward): they finish before the whole exchange.
      this.waitBuckets();
    }
    plan?.reset();
    this.allAtOnce(layout, trainable);
    // The next step sends buckets, planned for this trainable list (fit passes the same list every step).
    if (this.overlaps && (plan === null || !plan.matches(trainable))) this.plan = new BucketPlan(trainable, this.bucketValues);
  }

  private finishBuckets(plan: BucketPlan): void {
    for (let b = plan.started; b < plan.buckets.length; b++) {
      plan.fillMissing(b);
      this.startBucket(plan.buckets[b].buffer);
    }
    this.waitBuckets();
    const n = this.worldSize;
    for (const bucket of plan.buckets) {
      const buffer = bucket.buffer;
      bucket.params.forEach((i, slot) => {
        if (!(buffer[bucket.values + slot] > 0)) return;
        const p = plan.trainable[i];
        if (p.grad === null) p.grad = new Tensor(allocate('float32', p.size), p.shape);
        const grad = p.grad.data as Float32Array;
        const at = bucket.offsets[slot];
        // The same float32 division as allReduce(values, 'mean'): the same bits as one all-reduce.
        for (let k = 0; k < p.size; k++) grad[k] = buffer[at + k] / n;
      });
    }
    plan.reset();
  }

  private allAtOnce(layout: FlatLayout, trainable: readonly Parameter[]): void {
    // The trainable subset's layout, cached while it stays the same list.
    const sub = layout.tensors.length === trainable.length && trainable.every((p, i) => p === layout.tensors[i]) ? layout : this.subLayout(trainable);
    const flat = this.flat.subarray(0, sub.size + trainable.length);
    gatherGradients(trainable, sub, flat);
    this.group.allReduce(flat, 'mean');
    trainable.forEach((p, i) => {
      const present = flat[sub.size + i] > 0;
      if (!present) return;
      if (p.grad === null) p.grad = new Tensor(allocate('float32', p.size), p.shape);
      (p.grad.data as Float32Array).set(flat.subarray(sub.offsets[i], sub.offsets[i] + p.size));
    });
  }

  private startBucket(buffer: Float32Array): void {
    if (this.group.allReduceStart === undefined) throw new DistributedError('synchronizeGradients: the group cannot start an all-reduce');
    this.group.allReduceStart(buffer);
  }

  private waitBuckets(): void {
    this.group.allReduceWait?.();
  }

  private removeHooks(): void {
    for (const h of this.hooks) h.remove();
    this.hooks = [];
  }

  /** Take the gradient hooks off and wait for the other replicas. */
  override async end(): Promise<void> {
    this.removeHooks();
    this.plan = null;
    await super.end();
  }

  private cachedSub: FlatLayout | null = null;
  private subLayout(trainable: readonly Parameter[]): FlatLayout {
    const c = this.cachedSub;
    if (c !== null && c.tensors.length === trainable.length && trainable.every((p, i) => p === c.tensors[i])) return c;
    const layout = new FlatLayout(trainable);
    if (layout.size + trainable.length > this.flat.length) {
      throw new DistributedError("synchronizeGradients: the trainable parameters are not the model's (fit passes the model's trainable parameters)");
    }
    this.cachedSub = layout;
    return layout;
  }
}

/**
 * Hogwild (Niu et al., 2011): the replicas' weights are one shared buffer,
 * and each replica applies its own updates to it with no lock and no
 * waiting. Gradients are not exchanged; each replica's optimizer keeps its
 * own state. Updates race: ECMAScript does not promise that a float32 store
 * racing with another is not torn, but V8 moves aligned 4-byte values whole,
 * so in practice a weight holds one replica's write or another's.
 */
export class Hogwild extends GroupStrategy {
  /** Rebind every replica's parameters to one shared buffer holding rank 0's weights. */
  async begin(model: Module): Promise<void> {
    const { params, buffers } = stateOf(model);
    const layout = new FlatLayout(params);
    await this.group.reserve(largest(buffers));
    const shared = new Float32Array(await this.group.share(layout.size * 4));
    if (this.rank === 0) layout.gather(shared);
    this.group.barrier('hogwild: sharing the weights');
    params.forEach((p, i) => {
      p.shareStorage(shared.subarray(layout.offsets[i], layout.offsets[i] + p.size));
    });
    broadcastBuffers(this.group, buffers);
  }

  /** Nothing: each replica updates the shared weights from its own gradients. */
  synchronizeGradients(): void {}
}
