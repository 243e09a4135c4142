import { fmtShape, ShapeError, ValueError } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import { concat } from '../../ops/index.js';
import { type LayerConfig, Module } from '../module.js';
import { LayerSchema, type OptionsOf, option } from '../options.js';
import { registerLayer } from '../registry.js';
import { expectTensor } from './checks.js';

function sameShapeInputs(layer: Module, inputs: readonly Tensor[]): Tensor[] {
  if (inputs.length < 1) throw new ValueError(`${layer.label}: expected at least one input tensor, got none`);
  const xs = inputs.map((x, i) => expectTensor(layer, x, `input ${i}`));
  const first = xs[0].shape;
  if (xs.some((x) => x.ndim !== first.length || x.shape.some((d, i) => d !== first[i]))) {
    throw new ShapeError(`${layer.label}: expected inputs of one shape, got ${xs.map((x) => fmtShape(x.shape)).join(', ')}`);
  }
  return xs;
}

/**
 * Element-wise sum of its inputs, all of one shape: the merge of a residual
 * (skip) connection, `new Add().call(h, x)`. No parameters.
 */
export class Add extends Module {
  static override readonly className = 'Add';

  constructor(options: { name?: string } = {}) {
    super();
    if (options.name !== undefined) this.withName(options.name);
  }

  forward(...inputs: Tensor[]): Tensor {
    const xs = sameShapeInputs(this, inputs);
    return xs.slice(1).reduce((acc, x) => acc.add(x), xs[0]);
  }
}

/** Element-wise product of its inputs, all of one shape (gating). No parameters. */
export class Multiply extends Module {
  static override readonly className = 'Multiply';

  constructor(options: { name?: string } = {}) {
    super();
    if (options.name !== undefined) this.withName(options.name);
  }

  forward(...inputs: Tensor[]): Tensor {
    const xs = sameShapeInputs(this, inputs);
    return xs.slice(1).reduce((acc, x) => acc.mul(x), xs[0]);
  }
}

/**
 * Joins its inputs along `axis` (counted on the whole tensor, batch axis
 * included; default -1, the last): parallel branches of an Inception block
 * concatenated along channels use `{axis: 1}` for [N, C, H, W]. All other axes
 * must match. No parameters.
 */
/** Concatenate's option: the axis the inputs are joined along (default -1). */
const concatenateSchema = new LayerSchema('Concatenate', {}, { axis: option.axis(-1) });

/** Joins its inputs along one axis; every other axis must match. No parameters. */
export class Concatenate extends Module {
  static override readonly className = 'Concatenate';
  /** The axis to join along. */
  readonly axis: number;

  constructor(options: OptionsOf<typeof concatenateSchema.options> & { name?: string } = {}) {
    super();
    this.axis = concatenateSchema.parse([], options).axis;
    if (options.name !== undefined) this.withName(options.name);
  }

  forward(...inputs: Tensor[]): Tensor {
    if (inputs.length < 1) throw new ValueError(`${this.label}: expected at least one input tensor, got none`);
    const xs = inputs.map((x, i) => expectTensor(this, x, `input ${i}`));
    const rank = xs[0].ndim;
    const ax = this.axis < 0 ? this.axis + rank : this.axis;
    const shapes = xs.map((x) => fmtShape(x.shape)).join(', ');
    if (ax < 0 || ax >= rank) throw new ShapeError(`${this.label}: axis ${this.axis} does not exist in inputs of rank ${rank} (${shapes})`);
    if (xs.some((x) => x.ndim !== rank || x.shape.some((d, i) => i !== ax && d !== xs[0].shape[i]))) {
      throw new ShapeError(`${this.label}: inputs must agree on every axis except axis ${this.axis}, got ${shapes}`);
    }
    return xs.length === 1 ? xs[0] : concat(xs, ax);
  }

  override getConfig(): LayerConfig {
    return concatenateSchema.config(this);
  }
}

registerLayer(Add.className, () => new Add());
registerLayer(Multiply.className, () => new Multiply());
concatenateSchema.register((options) => new Concatenate(options as OptionsOf<typeof concatenateSchema.options>));
