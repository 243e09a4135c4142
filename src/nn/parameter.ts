import { allocateUninitialized, copyOf } from '../core/dtype.js';
import { ValueError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';

/**
 * A trainable tensor: a leaf that requires a gradient and that Module finds by
 * structure. Optimizers update its storage in place, so references to it (in a
 * model and an optimizer) stay valid.
 */
export class Parameter extends Tensor {
  constructor(value: Tensor, requiresGrad = true) {
    if (!(value instanceof Tensor)) throw new ValueError('Parameter: expected a Tensor');
    super(value.dtype === 'float32' || value.dtype === 'float64' ? copyOf(value.data, true) : toFloat32(value.data), value.shape);
    this.requiresGrad = requiresGrad;
  }

  /** Overwrite the values in place (shapes must match), keeping the identity of the parameter. */
  assign(value: Tensor): this {
    if (value.size !== this.size || value.ndim !== this.ndim || value.shape.some((d, i) => d !== this.shape[i])) {
      throw new ValueError(`Parameter.assign: expected shape [${this.shape.join(', ')}], got [${value.shape.join(', ')}]`);
    }
    this.data.set(value.dtype === this.dtype ? value.data : value.cast(this.dtype).data);
    return this;
  }

  /**
   * Point the parameter at other float32 storage of the same length, keeping
   * its identity (optimizers and models still hold this object). The values
   * become whatever `storage` holds. Hogwild training uses it to make the
   * replicas' weights views of one shared buffer.
   */
  shareStorage(storage: Float32Array): this {
    if (!(storage instanceof Float32Array) || storage.length !== this.size || this.dtype !== 'float32') {
      throw new ValueError(
        `Parameter.shareStorage: expected a Float32Array of ${this.size} values for a ${this.dtype} parameter of shape [${this.shape.join(', ')}], got ${storage instanceof Float32Array ? `${storage.length} values` : typeof storage}`,
      );
    }
    (this as { data: Float32Array }).data = storage;
    return this;
  }
}

/** Integer or bool values as float32 storage (a parameter is always floating point). */
function toFloat32(data: ArrayLike<number>): Float32Array {
  const out = allocateUninitialized('float32', data.length, true) as Float32Array;
  for (let i = 0; i < data.length; i++) out[i] = data[i];
  return out;
}
