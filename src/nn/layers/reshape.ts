import { fmtShape } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import { type LayerConfig, Module } from '../module.js';
import { LayerSchema, type OptionsOf, option } from '../options.js';
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
/** Flatten's options: the axes it merges (default 1 to -1, every axis but the batch). */
const flattenSchema = new LayerSchema('Flatten', {}, { startAxis: option.axis(1), endAxis: option.axis(-1) });
const reshapeSchema = new LayerSchema('Reshape', {
  targetShape: { default: undefined as unknown as number[], parse: (who: string, name: string, v: unknown) => shapeOption(who, name, v, true) },
});

/** Merges axes startAxis..endAxis (default 1..-1: everything but the batch) into one. No parameters. */
export class Flatten extends Module {
  static override readonly className = 'Flatten';
  /** First axis merged. */
  readonly startAxis: number;
  /** Last axis merged. */
  readonly endAxis: number;

  constructor(options: OptionsOf<typeof flattenSchema.options> & { name?: string } = {}) {
    super();
    const o = flattenSchema.parse([], options);
    this.startAxis = o.startAxis;
    this.endAxis = o.endAxis;
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
    return flattenSchema.config(this);
  }
}

/**
 * Reshapes every sample to `targetShape` (the batch axis is kept):
 * [N, 784] → [N, 1, 28, 28] with `new Reshape([1, 28, 28])`. One entry may be
 * -1 and is inferred. No parameters.
 */
export class Reshape extends Module {
  static override readonly className = 'Reshape';
  /** Per-sample shape of the output. */
  readonly targetShape: readonly number[];

  constructor(targetShape: readonly number[], options: { name?: string } = {}) {
    super();
    this.targetShape = Object.freeze(reshapeSchema.parse([targetShape], options).targetShape);
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
    return reshapeSchema.config(this, { targetShape: [...this.targetShape] });
  }

  override extraRepr(): string {
    return `targetShape=${fmtShape(this.targetShape)}`;
  }
}

registerLayer(Identity.className, () => new Identity());
flattenSchema.register((options) => new Flatten(options as OptionsOf<typeof flattenSchema.options>));
reshapeSchema.register((targetShape, options) => new Reshape(targetShape as number[], options as { name?: string }));
