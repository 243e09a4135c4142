// The training strategies a replica runs inside fit(): data parallelism with
// an all-reduce of the gradients, and Hogwild's lock-free updates of shared
// weights. They implement train's DistributedStrategy over any group that
// offers these collectives.
import { allocate } from '../core/dtype.js';
import { Tensor } from '../core/tensor.js';
import type { Module } from '../nn/module.js';
import type { Parameter } from '../nn/parameter.js';
import type { DistributedStrategy } from '../train/distributed.js';
import type { OptimizerLike } from '../train/index.js';
import { DistributedError } from './errors.js';
import { checkFloat32, FlatLayout, gatherGradients } from './flat.js';

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
 */
export class DataParallel extends GroupStrategy {
  private layout: FlatLayout | null = null;
  private flat = new Float32Array(0);

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
  }

  /** Every replica's gradients replaced by their mean over the replicas. */
  synchronizeGradients(trainable: readonly Parameter[]): void {
    const layout = this.layout;
    if (layout === null) throw new DistributedError('synchronizeGradients: begin() has not run (fit calls it)');
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
