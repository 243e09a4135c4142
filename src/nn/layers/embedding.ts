import type { FloatDType } from '../../core/dtype.js';
import { DTypeError, ValueError } from '../../core/errors.js';
import type { Generator } from '../../core/random.js';
import type { Tensor } from '../../core/tensor.js';
import { check } from '../../core/validate.js';
import { arange, where, zeros } from '../../ops/index.js';
import { applyInitializer, type Initializer, normal } from '../init.js';
import { type LayerConfig, Module } from '../module.js';
import { LayerSchema, type OptionSpec, type OptionsOf, option, required } from '../options.js';
import { Parameter } from '../parameter.js';
import { expectTensor } from './checks.js';

const paddingIdx: OptionSpec<number | null> = {
  default: null,
  // The range depends on numEmbeddings; the constructor checks it.
  parse: (who, name, v) => (v === null ? null : check(who).anyInteger(name, v)),
};
const schema = new LayerSchema(
  'Embedding',
  { numEmbeddings: required(option.integer(1)), embeddingDim: required(option.integer(1)) },
  {
    /** This index maps to a zero vector that receives no gradient (padding tokens). */
    paddingIdx,
    /** Dtype of the table. */
    dtype: option.floatDType(),
  },
  ['name', 'weightInit', 'generator'],
);

/** Options of Embedding. */
export interface EmbeddingOptions extends Omit<OptionsOf<typeof schema.options>, 'paddingIdx'> {
  /** This index maps to a zero vector that receives no gradient (padding tokens). */
  paddingIdx?: number | null;
  /** Name shown in errors and summaries. */
  name?: string;
  /** Replaces the default N(0, 1) initialisation. */
  weightInit?: Initializer;
  /** Draw the initial table from this generator instead of the default one. */
  generator?: Generator;
}

/**
 * A lookup table: int32 indices of any shape [*] → vectors [*, embeddingDim],
 * row i of `weight` [numEmbeddings, embeddingDim] for index i. Its gradient
 * adds the upstream gradients into the rows that were looked up.
 *
 * Default initialisation (PyTorch's): N(0, 1), with the paddingIdx row zeroed.
 */
export class Embedding extends Module {
  static override readonly className = 'Embedding';
  /** Number of rows (the vocabulary size). */
  readonly numEmbeddings: number;
  /** Length of each vector. */
  readonly embeddingDim: number;
  /** Row whose vector stays zero and gets no gradient (null for none). */
  readonly paddingIdx: number | null;
  /** Dtype of the table. */
  readonly dtype: FloatDType;
  /** The table, [numEmbeddings, embeddingDim]. */
  weight: Parameter;

  constructor(numEmbeddings: number, embeddingDim: number, options: EmbeddingOptions = {}) {
    super();
    const o = schema.parse([numEmbeddings, embeddingDim], options);
    this.numEmbeddings = o.numEmbeddings;
    this.embeddingDim = o.embeddingDim;
    this.dtype = o.dtype;
    let pad = o.paddingIdx;
    if (pad !== null) {
      if (pad < -numEmbeddings || pad >= numEmbeddings) {
        throw new ValueError(`Embedding: paddingIdx must be an integer in [${-numEmbeddings}, ${numEmbeddings - 1}], got ${pad}`);
      }
      if (pad < 0) pad += numEmbeddings;
    }
    this.paddingIdx = pad;
    if (options.name !== undefined) this.withName(options.name);
    this.weight = new Parameter(zeros([numEmbeddings, embeddingDim], { dtype: this.dtype }));
    if (options.weightInit !== undefined) applyInitializer(this.weight, options.weightInit, options.generator);
    else normal(this.weight, 0, 1, { generator: options.generator });
    if (pad !== null) this.weight.data.fill(0, pad * embeddingDim, (pad + 1) * embeddingDim);
  }

  forward(indices: Tensor): Tensor {
    const idx = expectTensor(this, indices);
    if (idx.dtype !== 'int32') throw new DTypeError(`${this.label}: expected int32 indices, got ${idx.dtype}`);
    const data = idx.data as Int32Array;
    for (let i = 0; i < data.length; i++) {
      if (data[i] < 0 || data[i] >= this.numEmbeddings) {
        throw new ValueError(`${this.label}: index ${data[i]} is out of range for ${this.numEmbeddings} embeddings`);
      }
    }
    let table: Tensor = this.weight;
    if (this.paddingIdx !== null) {
      // The padding row is read through detach(), so it is looked up as stored but never trained.
      const isPad = arange(this.numEmbeddings).eq(this.paddingIdx).reshape([this.numEmbeddings, 1]);
      table = where(isPad, table.detach(), table);
    }
    return table.indexSelect(0, idx.reshape([idx.size])).reshape([...idx.shape, this.embeddingDim]);
  }

  override getConfig(): LayerConfig {
    return schema.config(this);
  }
}

schema.register((numEmbeddings, embeddingDim, options) => new Embedding(numEmbeddings as number, embeddingDim as number, options as EmbeddingOptions));
