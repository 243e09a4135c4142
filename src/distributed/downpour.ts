// Downpour SGD (Dean et al., 2012), the part that needs no network: what a
// parameter-server shard does with a gradient that arrives, and the rules it
// applies. Workers compute gradients on their own shard of the data with
// weights they fetched some updates ago; each server shard owns a slice of
// the flat weights and applies whatever arrives, in arrival order, with the
// optimizer the workers were given (Adagrad in the paper). The transport
// (Redis streams) is in redis.ts.
import { ValueError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import { Parameter } from '../nn/parameter.js';
import * as optim from '../optim/index.js';
import type { OptimizerLike } from '../train/index.js';

/**
 * What a server does with a gradient computed on weights `staleness` updates
 * older than its own: apply it, drop it past `maxStaleness` (as TensorFlow's
 * DropStaleGradientOptimizer), or, with `scale`, apply it with the learning
 * rate divided by the staleness (by 1 when fresh).
 */
export interface StalenessRule {
  /** Drop gradients more than this many updates old (default Infinity: never). */
  readonly maxStaleness: number;
  /** Divide the learning rate by max(1, staleness) (default false). */
  readonly scale: boolean;
}

/** The learning-rate factor for a gradient of this staleness, or 0 when the rule drops it. */
export function stalenessFactor(rule: StalenessRule, staleness: number): number {
  if (staleness > rule.maxStaleness) return 0;
  return rule.scale ? 1 / Math.max(1, staleness) : 1;
}

/** An optimizer by class name and hyper-parameters, as a worker's optimizer describes itself. */
export interface OptimizerSpec {
  /** The optimizer's class name ('SGD', 'Adagrad', 'Adam'...). */
  readonly name: string;
  /** Its hyper-parameters (lr, momentum, betas...), as its constructor takes them. */
  readonly hyper: Readonly<Record<string, number | boolean | string | null>>;
}

/** The optimizers a server can run: those that update each weight from its own gradient (no line searches, no Hessians). */
const SERVER_OPTIMIZERS: Record<string, (params: Parameter[], hyper: Record<string, unknown>) => OptimizerLike> = {
  SGD: (p, h) => new optim.SGD(p, h),
  Adagrad: (p, h) => new optim.Adagrad(p, h),
  Adam: (p, h) => new optim.Adam(p, h),
  AdamW: (p, h) => new optim.AdamW(p, h),
  RMSprop: (p, h) => new optim.RMSprop(p, h),
  Adadelta: (p, h) => new optim.Adadelta(p, h),
};

/** Describe a worker's optimizer so that a server can build the same one: its class and first group's hyper-parameters. */
export function describeOptimizer(optimizer: OptimizerLike): OptimizerSpec {
  const name = (optimizer as { className?: string }).className ?? 'custom';
  if (!(name in SERVER_OPTIMIZERS)) {
    throw new ValueError(`Downpour: a parameter server cannot run ${name}; use one of ${Object.keys(SERVER_OPTIMIZERS).join(', ')}`);
  }
  if (optimizer.paramGroups.length !== 1)
    throw new ValueError(`Downpour: the optimizer has ${optimizer.paramGroups.length} parameter groups; a server runs one`);
  const { params: _params, ...rest } = optimizer.paramGroups[0] as unknown as Record<string, unknown>;
  const hyper: Record<string, number | boolean | string | null> = {};
  for (const [k, v] of Object.entries(rest)) {
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string' || v === null) hyper[k] = v;
  }
  return { name, hyper };
}

/** Counts a server shard keeps. */
export interface ShardStats {
  /** Gradients applied. */
  applied: number;
  /** Gradients dropped by the staleness rule. */
  dropped: number;
  /** Entries seen again after a restart and skipped, because their update was already stored. */
  duplicates: number;
  /** How many applied or dropped gradients had each staleness (index; the last bucket collects the rest). */
  staleness: number[];
}

/** A gradient as it reaches a server: its stream id, the version of the weights it was computed on, and the values. */
export interface GradientEntry {
  /** The Redis stream id ('milliseconds-sequence'), increasing in arrival order. */
  readonly id: string;
  /** The shard's version of the weights the gradient was computed on. */
  readonly version: number;
  /** The gradient of the shard's slice of the weights. */
  readonly gradient: Float32Array;
  /** The worker's learning rate when it computed the gradient (a schedule's current rate); default: the optimizer's own. */
  readonly lr?: number;
  /** The worker process that pushed it (its rank and a per-process id). */
  readonly sender?: string;
  /** The push's number at its sender, from 1: a push that reaches the stream twice (a client resending after a lost reply) counts once. */
  readonly seq?: number;
}

/** Stream ids are 'milliseconds-sequence'; compare them as pairs of integers. */
export function compareStreamIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am !== bm ? am - bm : as - bs;
}

/**
 * One server shard: a slice of the flat weights, its optimizer, its version
 * (updates applied so far) and the id of the last entry it has taken into
 * account. `take` is idempotent per entry id, so replaying a stream after a
 * restart applies each gradient exactly once, and per sender and push
 * number, so a push that reached the stream twice (a Redis client resends
 * commands whose reply a dropped connection lost) counts once.
 */
export class ServerShard {
  /** The shard's slice of the weights, as one parameter. */
  readonly weights: Parameter;
  /** The workers' optimizer, rebuilt here from its description. */
  readonly optimizer: OptimizerLike;
  /** Updates applied so far (the version workers tag their gradients with). */
  version: number;
  /** The stream id of the last entry taken; entries up to it are skipped as duplicates. */
  lastId: string;
  /** What the shard has done: applied, dropped, duplicates, staleness histogram. */
  readonly stats: ShardStats = { applied: 0, dropped: 0, duplicates: 0, staleness: new Array(17).fill(0) };
  /** Each sender's last push number taken; pushes up to it are skipped as duplicates. */
  readonly lastSeq: Map<string, number>;
  private readonly baseLr: number;

  constructor(
    weights: Float32Array,
    spec: OptimizerSpec,
    /** When a stale gradient is dropped or its rate scaled. */
    readonly rule: StalenessRule,
    state: { version?: number; lastId?: string; lastSeq?: Record<string, number> } = {},
  ) {
    const build = SERVER_OPTIMIZERS[spec.name];
    if (!build) throw new ValueError(`ServerShard: unknown optimizer '${spec.name}'`);
    this.weights = new Parameter(new Tensor(weights, [weights.length]));
    this.optimizer = build([this.weights], { ...spec.hyper });
    this.baseLr = this.optimizer.paramGroups[0].lr;
    this.version = state.version ?? 0;
    this.lastId = state.lastId ?? '0-0';
    this.lastSeq = new Map(Object.entries(state.lastSeq ?? {}));
  }

  /** Apply (or drop, or skip as already taken) one gradient; says which. */
  take(entry: GradientEntry): 'applied' | 'dropped' | 'duplicate' {
    const resent = entry.sender !== undefined && entry.seq !== undefined && entry.seq <= (this.lastSeq.get(entry.sender) ?? 0);
    if (compareStreamIds(entry.id, this.lastId) <= 0 || resent) {
      this.stats.duplicates++;
      if (compareStreamIds(entry.id, this.lastId) > 0) this.lastId = entry.id;
      return 'duplicate';
    }
    if (entry.gradient.length !== this.weights.size) {
      throw new ValueError(`ServerShard: a gradient of ${entry.gradient.length} values for a shard of ${this.weights.size}; the workers' models differ`);
    }
    this.lastId = entry.id;
    if (entry.sender !== undefined && entry.seq !== undefined) this.lastSeq.set(entry.sender, entry.seq);
    const staleness = Math.max(0, this.version - entry.version);
    this.stats.staleness[Math.min(staleness, this.stats.staleness.length - 1)]++;
    const factor = stalenessFactor(this.rule, staleness);
    if (factor === 0) {
      this.stats.dropped++;
      return 'dropped';
    }
    const group = this.optimizer.paramGroups[0];
    group.lr = (entry.lr ?? this.baseLr) * factor;
    this.weights.grad = new Tensor(entry.gradient, [entry.gradient.length]);
    this.optimizer.step();
    this.weights.grad = null;
    group.lr = this.baseLr;
    this.version++;
    this.stats.applied++;
    return 'applied';
  }
}
