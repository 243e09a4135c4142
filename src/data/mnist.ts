// MNIST from its IDX bytes, without touching the file system: Node reads the
// files in ./node.ts, a browser fetches them and calls mnistFromBytes().
import { fmtShape, SerializationError, ShapeError, ValueError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import { type IdxArray, parseIdx } from './idx.js';

/** Which half of MNIST: the 60,000 training or the 10,000 test images. */
export type MnistSplit = 'train' | 'test';

/** The standard file names of LeCun's distribution (Fashion-MNIST and EMNIST reuse them). */
export const MNIST_FILES: Readonly<
  Record<
    MnistSplit,
    {
      /** The IDX file of the images. */
      images: string;
      /** The IDX file of the labels. */
      labels: string;
    }
  >
> = Object.freeze({
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
});

/** How to turn the raw MNIST bytes into tensors. */
export interface MnistDecodeOptions {
  /** Keep only the first `limit` samples (all of them when the file has fewer). */
  limit?: number;
  /** Divide pixel bytes by 255 into [0, 1] (default true); false keeps 0..255. */
  normalize?: boolean;
  /** Image dtype (default float32). int32 keeps the raw bytes and needs `normalize: false`. */
  dtype?: 'float32' | 'float64' | 'int32';
  /** Images as [N, H*W] rows instead of [N, 1, H, W] (default false). */
  flatten?: boolean;
}

/** Images [N, 1, H, W] (or [N, H*W] when flattened) and their int32 class labels [N]. */
export interface MnistData {
  /** The images, [N, 1, 28, 28] float32 scaled to [0, 1]. */
  images: Tensor;
  /** The digit of each image, [N] int32. */
  labels: Tensor;
}

/**
 * Build MNIST tensors from decoded IDX arrays: uint8 images [N, H, W] and
 * uint8 labels [N] with values 0..9. Any other layout is a SerializationError,
 * so a swapped or foreign file is caught here rather than during training.
 */
export function mnistFromIdx(images: IdxArray, labels: IdxArray, options: MnistDecodeOptions = {}): MnistData {
  const normalize = options.normalize ?? true;
  const dtype = options.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float64' && dtype !== 'int32') {
    throw new ValueError(`mnist: dtype must be 'float32', 'float64' or 'int32', got ${JSON.stringify(dtype)}`);
  }
  if (dtype === 'int32' && normalize) throw new ValueError("mnist: dtype 'int32' keeps raw pixel bytes; pass normalize: false with it");
  if (images.dtype !== 'uint8' || images.shape.length !== 3) {
    throw new SerializationError(`mnist: the images file must hold uint8 [N, H, W], got ${images.dtype} ${fmtShape(images.shape)}`);
  }
  if (labels.dtype !== 'uint8' || labels.shape.length !== 1) {
    throw new SerializationError(`mnist: the labels file must hold uint8 [N], got ${labels.dtype} ${fmtShape(labels.shape)}`);
  }
  const [count, height, width] = images.shape;
  if (labels.shape[0] !== count) throw new ShapeError(`mnist: ${count} images but ${labels.shape[0]} labels`);
  let n = count;
  if (options.limit !== undefined) {
    if (!Number.isInteger(options.limit) || options.limit < 1) throw new ValueError(`mnist: limit must be a positive integer, got ${options.limit}`);
    n = Math.min(options.limit, count);
  }
  const pixels = n * height * width;
  const src = images.data.subarray(0, pixels);
  let data: Float32Array | Float64Array | Int32Array;
  if (dtype === 'int32') data = Int32Array.from(src);
  else {
    // A 256-entry table gives every pixel the exactly rounded value of byte/255
    // at the cost of a load, faster than dividing 47 million times.
    const table = dtype === 'float32' ? new Float32Array(256) : new Float64Array(256);
    for (let b = 0; b < 256; b++) table[b] = normalize ? b / 255 : b;
    data = dtype === 'float32' ? new Float32Array(pixels) : new Float64Array(pixels);
    for (let i = 0; i < pixels; i++) data[i] = table[src[i]];
  }
  const classes = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = labels.data[i];
    if (label > 9) throw new SerializationError(`mnist: label ${i} is ${label}; MNIST labels are digits 0..9`);
    classes[i] = label;
  }
  const shape = options.flatten ? [n, height * width] : [n, 1, height, width];
  return { images: new Tensor(data, shape), labels: new Tensor(classes, [n]) };
}

/**
 * MNIST from the bytes of an images file and a labels file (already
 * decompressed), as a browser gets them from fetch(). `names` only label
 * error messages.
 */
export function mnistFromBytes(
  imageBytes: Uint8Array,
  labelBytes: Uint8Array,
  options: MnistDecodeOptions & { names?: { images?: string; labels?: string } } = {},
): MnistData {
  const images = parseIdx(imageBytes, { source: options.names?.images ?? 'the MNIST images' });
  const labels = parseIdx(labelBytes, { source: options.names?.labels ?? 'the MNIST labels' });
  return mnistFromIdx(images, labels, options);
}
