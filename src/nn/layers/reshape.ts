import { fmtShape, ValueError } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import { type LayerConfig, Module } from '../module.js';
import { registerLayer } from '../registry.js';
import { expectTensor, shapeMismatch, shapeOption } from './checks.js';

/** Passes its input through unchanged: a placeholder, or the notes' purelin as a layer. No parameters. */
export class Identity extends Module {
  static override readonly className = 'Identity';

  constructor(options: { name?: string } = {}) {
    super();
    if (options.name !== undefined) this.withName(options.name);
  }

  forward(x: Tensor): Tensor {
    return expectTensor(this, x);
  }
}

/**
 * Merges axes startAxis..endAxis (inclusive) into one; by default every axis
 * but the batch axis, [N, C, H, W] → [N, C·H·W], before a Linear layer. No
 * parameters.
 */
export class Flatten extends Module {
  static override readonly className = 'Flatten';
  readonly startAxis: number;
  readonly endAxis: number;

  constructor(options: { startAxis?: number; endAxis?: number; name?: string } = {}) {
    super();
    this.startAxis = options.startAxis ?? 1;
    this.endAxis = options.endAxis ?? -1;
    for (const [k, v] of [
      ['startAxis', this.startAxis],
      ['endAxis', this.endAxis],
    ] as const) {
      if (!Number.isInteger(v)) throw new ValueError(`Flatten: ${k} must be an integer, got ${v}`);
    }
    if (options.name !== undefined) this.withName(options.name);
  }

  forward(x: Tensor): Tensor {
    const input = expectTensor(this, x);
    const rank = input.ndim;
    const s = this.startAxis < 0 ? this.startAxis + rank : this.startAxis;
    const e = this.endAxis < 0 ? this.endAxis + rank : this.endAxis;
    if (s < 0 || s >= rank || e < 0 || e >= rank || s > e) {
      throw shapeMismatch(this, `an input in which axes ${this.startAxis} to ${this.endAxis} exist, in that order`, input.shape);
    }
    return input.flatten(s, e);
  }

  override getConfig(): LayerConfig {
    return { startAxis: this.startAxis, endAxis: this.endAxis };
  }
}

/**
 * Reshapes every sample to `targetShape` (the batch axis is kept):
 * [N, 784] → [N, 1, 28, 28] with `new Reshape([1, 28, 28])`. One entry may be
 * -1 and is inferred. No parameters.
 */
export class Reshape extends Module {
  static override readonly className = 'Reshape';
  readonly targetShape: readonly number[];

  constructor(targetShape: readonly number[], options: { name?: string } = {}) {
    super();
    this.targetShape = Object.freeze(shapeOption('Reshape', 'targetShape', targetShape, true));
    if (options.name !== undefined) this.withName(options.name);
  }

  forward(x: Tensor): Tensor {
    const input = expectTensor(this, x);
    if (input.ndim === 0) throw shapeMismatch(this, 'an input with a batch axis', input.shape);
    const perSample = input.shape.slice(1).reduce((p, d) => p * d, 1);
    const known = this.targetShape.reduce((p, d) => (d === -1 ? p : p * d), 1);
    const inferred = this.targetShape.includes(-1);
    const fits = inferred ? known > 0 && perSample % known === 0 : known === perSample;
    if (!fits) {
      throw shapeMismatch(this, `samples of ${inferred ? `a multiple of ${known}` : known} elements to reshape to ${fmtShape(this.targetShape)}`, input.shape);
    }
    return input.reshape([input.shape[0], ...this.targetShape]);
  }

  override getConfig(): LayerConfig {
    return { targetShape: [...this.targetShape] };
  }

  override extraRepr(): string {
    return `targetShape=${fmtShape(this.targetShape)}`;
  }
}

registerLayer(Identity.className, () => new Identity());
registerLayer(Flatten.className, (c) => new Flatten({ startAxis: c.startAxis as number | undefined, endAxis: c.endAxis as number | undefined }));
registerLayer(Reshape.className, (c) => new Reshape(c.targetShape as number[]));
