// Parameters laid end to end in one flat buffer: what a collective moves in
// one call (gradients, weights), and what Hogwild's threads share.
import { ValueError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import type { Parameter } from '../nn/parameter.js';

/** Where each tensor's values sit in a flat buffer. */
export class FlatLayout {
  /** The offset of each tensor's first value. */
  readonly offsets: readonly number[];
  /** Values in all. */
  readonly size: number;

  constructor(
    /** The tensors, in the order their values are laid out. */
    readonly tensors: readonly Tensor[],
  ) {
    const offsets: number[] = [];
    let size = 0;
    for (const t of tensors) {
      offsets.push(size);
      size += t.size;
    }
    this.offsets = offsets;
    this.size = size;
  }

  /** Copy every tensor's values into `flat` (float32, length at least size). */
  gather(flat: Float32Array): Float32Array {
    this.tensors.forEach((t, i) => {
      flat.set(t.data as Float32Array, this.offsets[i]);
    });
    return flat;
  }

  /** Copy `flat` back into the tensors. */
  scatter(flat: Float32Array): void {
    this.tensors.forEach((t, i) => {
      (t.data as Float32Array).set(flat.subarray(this.offsets[i], this.offsets[i] + t.size));
    });
  }
}

/** Float32 storage is what the collectives move; say which tensor is not, by name. */
export function checkFloat32(what: string, named: readonly [string, Tensor][]): void {
  for (const [name, t] of named) {
    if (t.dtype !== 'float32') throw new ValueError(`${what}: '${name}' is ${t.dtype}; distributed training moves float32 tensors only`);
  }
}

/**
 * The gradients of `params` laid end to end, followed by one presence flag per
 * parameter (1 where this replica has a gradient): summed over replicas, the
 * flags tell every replica alike whether any replica had one.
 */
export function gatherGradients(params: readonly Parameter[], layout: FlatLayout, flat: Float32Array): void {
  params.forEach((p, i) => {
    const at = layout.offsets[i];
    if (p.grad) flat.set(p.grad.data as Float32Array, at);
    else flat.fill(0, at, at + p.size);
    flat[layout.size + i] = p.grad ? 1 : 0;
  });
}

/**
 * Gradient buckets for data parallelism: the parameters (given by their
 * sizes, in the model's order) grouped in reverse order, since backward
 * finishes the last layers first, each group holding at most `capValues`
 * values unless one parameter alone is larger. Returns each bucket's
 * parameter indices, in the order the buckets are sent.
 */
export function planBuckets(sizes: readonly number[], capValues: number): number[][] {
  if (!(capValues > 0)) throw new ValueError(`planBuckets: the cap must be a positive number of values, got ${capValues}`);
  const buckets: number[][] = [];
  let current: number[] = [];
  let filled = 0;
  for (let i = sizes.length - 1; i >= 0; i--) {
    if (current.length > 0 && filled + sizes[i] > capValues) {
      buckets.push(current);
      current = [];
      filled = 0;
    }
    current.push(i);
    filled += sizes[i];
  }
  if (current.length > 0) buckets.push(current);
  return buckets;
}
