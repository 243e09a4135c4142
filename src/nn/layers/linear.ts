import type { FloatDType } from '../../core/dtype.js';
import type { Tensor } from '../../core/tensor.js';
import { linear } from '../../ops/index.js';
import { matmulPrimitive } from '../../ops/primitives.js';
import { defaultLinearWeight, initLayerParameters, type ParameterInitOptions } from '../init.js';
import { type LayerConfig, Module } from '../module.js';
import { LayerSchema, type OptionsOf, option, required } from '../options.js';
import type { Parameter } from '../parameter.js';
import { floatInput, shapeMismatch } from './checks.js';

const schema = new LayerSchema(
  'Linear',
  { inFeatures: required(option.integer(1)), outFeatures: required(option.integer(1)) },
  {
    /** Learn an additive bias (default true). */
    bias: option.boolean(true),
    /** Dtype of the weights (default float32). */
    dtype: option.floatDType(),
  },
  ['name', 'weightInit', 'biasInit', 'generator'],
);

export interface LinearOptions extends OptionsOf<typeof schema.options>, ParameterInitOptions {
  /** Name shown in errors and summaries. */
  name?: string;
}

/**
 * A fully connected (dense) layer, y = x·Wᵀ + b, the notes' z = h(Wx + b)
 * without the non-linearity. The weight has PyTorch's layout [out, in]. The
 * input may have any number of leading dims, [*, inFeatures] → [*, outFeatures].
 *
 * Default initialisation (PyTorch's): weight from kaimingUniform with
 * a = √5, i.e. U(-1/√in, 1/√in), and bias from U(-1/√in, 1/√in). Pass
 * `biasInit: 0` or `biasInit: 0.1` for a constant bias.
 */
export class Linear extends Module {
  static override readonly className = 'Linear';
  /** Input features. */
  readonly inFeatures: number;
  /** Output features. */
  readonly outFeatures: number;
  /** Dtype of the weights. */
  readonly dtype: FloatDType;
  /** Learned weights, [outFeatures, inFeatures]. */
  weight: Parameter;
  /** Learned bias, [outFeatures] (null without bias). */
  bias: Parameter | null;

  constructor(inFeatures: number, outFeatures: number, options: LinearOptions = {}) {
    super();
    const o = schema.parse([inFeatures, outFeatures], options);
    this.inFeatures = o.inFeatures;
    this.outFeatures = o.outFeatures;
    this.dtype = o.dtype;
    const hasBias = o.bias;
    if (options.name !== undefined) this.withName(options.name);
    const { weight, bias } = initLayerParameters(
      'Linear',
      [outFeatures, inFeatures],
      hasBias ? [outFeatures] : null,
      this.dtype,
      inFeatures,
      options,
      defaultLinearWeight,
    );
    this.weight = weight;
    this.bias = bias;
  }

  forward(x: Tensor): Tensor {
    const input = floatInput(this, x, this.dtype);
    if (input.ndim === 0 || input.shape[input.ndim - 1] !== this.inFeatures) {
      throw shapeMismatch(this, `input with last dimension ${this.inFeatures}`, input.shape);
    }
    // The primitive multiplies by Wᵀ through a flag, so the weight is never transposed in memory.
    const flat = input.ndim === 2 ? input : input.reshape([-1, this.inFeatures]);
    const y = this.bias ? linear(flat, this.weight, this.bias) : matmulPrimitive(flat, this.weight, false, true);
    return input.ndim === 2 ? y : y.reshape([...input.shape.slice(0, -1), this.outFeatures]);
  }

  override getConfig(): LayerConfig {
    return schema.config(this, { bias: this.bias !== null });
  }

  override extraRepr(): string {
    return `in=${this.inFeatures}, out=${this.outFeatures}, bias=${this.bias !== null}${this.dtype === 'float32' ? '' : `, dtype=${this.dtype}`}`;
  }
}

schema.register((inFeatures, outFeatures, options) => new Linear(inFeatures as number, outFeatures as number, options as LinearOptions));
