// Photographs on disk as a dataset: PNG and JPEG files decoded (by pngjs and
// jpeg-js, both pure JavaScript, so nothing native is needed), and a folder
// of class subfolders read as torchvision's ImageFolder reads it. Node only:
// the Node entry exports these, the browser entry does not (a browser decodes
// images with its own <img> and canvas).

import { decode as decodeJpeg } from 'jpeg-js';
import { PNG } from 'pngjs';
import { NeuriteError, ValueError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';
import { centerCrop, resizeImages } from './augment.js';
import { DataNotFoundError } from './node.js';

/** A file that is not a PNG or JPEG image, or is a broken one; the message names the file. */
export class ImageDecodeError extends NeuriteError {
  /** The class name as a literal, so that it survives minifiers that rename classes. */
  override name = 'ImageDecodeError';
  constructor(
    message: string,
    /** The file (or the name given for the bytes). */
    readonly file: string,
  ) {
    super(message);
  }
}

/** A decoded image: channels-first float32 values in [0, 1]. */
export interface DecodedImage {
  /** Pixels per row. */
  width: number;
  /** Rows. */
  height: number;
  /** 3 (RGB) or 1 (grey). */
  channels: 1 | 3;
  /** [channels, height, width], values in [0, 1]. */
  image: Tensor;
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47];
const JPEG_MAGIC = [0xff, 0xd8, 0xff];

function startsWith(bytes: Uint8Array, magic: readonly number[]): boolean {
  return bytes.length >= magic.length && magic.every((v, i) => bytes[i] === v);
}

/** Largest image decoded, in megapixels: a bound on memory for hostile files (jpeg-js's own default). */
const MAX_MEGAPIXELS = 100;

/**
 * Decode a PNG or JPEG (recognised by its first bytes, not its name) into
 * channels-first values in [0, 1]. Colour images give 3 channels; with
 * `channels: 1` they are converted to grey by the ITU-R 601 luma weights, as
 * PIL's convert('L') does, and grey images give 3 equal channels unless
 * `channels: 1`. Transparency is dropped, as PIL's convert('RGB') drops it.
 */
export function decodeImage(bytes: Uint8Array, options: { channels?: 1 | 3; name?: string } = {}): DecodedImage {
  const name = options.name ?? 'image';
  const channels = options.channels ?? 3;
  if (channels !== 1 && channels !== 3) throw new ValueError(`decodeImage: channels must be 1 or 3, got ${channels}`);
  let width: number;
  let height: number;
  let rgba: Uint8Array;
  let stride: number;
  try {
    if (startsWith(bytes, PNG_MAGIC)) {
      // pngjs scales 16-bit samples to 8 and expands palettes and grey to RGBA.
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      ({ width, height } = png);
      rgba = png.data;
      stride = 4;
    } else if (startsWith(bytes, JPEG_MAGIC)) {
      const jpeg = decodeJpeg(bytes, { useTArray: true, formatAsRGBA: false, maxResolutionInMP: MAX_MEGAPIXELS });
      ({ width, height } = jpeg);
      rgba = jpeg.data;
      stride = 3;
    } else {
      throw new ImageDecodeError(`${name}: not a PNG or JPEG file (it starts with bytes ${[...bytes.subarray(0, 4)].join(' ')})`, name);
    }
  } catch (e) {
    if (e instanceof ImageDecodeError) throw e;
    throw new ImageDecodeError(`${name}: cannot decode the image (${(e as Error).message})`, name);
  }
  if (!(width > 0 && height > 0) || rgba.length < width * height * stride)
    throw new ImageDecodeError(`${name}: the image is empty or truncated (${width}×${height})`, name);
  const plane = width * height;
  const out = new Float32Array(channels * plane);
  for (let i = 0; i < plane; i++) {
    const r = rgba[i * stride];
    const g = rgba[i * stride + 1];
    const b = rgba[i * stride + 2];
    if (channels === 1) out[i] = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
    else {
      out[i] = r / 255;
      out[plane + i] = g / 255;
      out[2 * plane + i] = b / 255;
    }
  }
  return { width, height, channels, image: new Tensor(out, [channels, height, width]) };
}

/**
 * Average non-overlapping f×f blocks (f the largest whole factor that keeps
 * the shorter side at least `target`·2): a box prefilter before bilinear
 * resizing, so that a large photograph shrunk to 224 does not alias (what
 * PIL's reducing_gap does).
 */
function boxReduce(image: Tensor, target: number): Tensor {
  const [c, h, w] = image.shape;
  const f = Math.floor(Math.min(h, w) / (2 * target));
  if (f < 2) return image;
  const oh = Math.floor(h / f);
  const ow = Math.floor(w / f);
  const src = image.data as Float32Array;
  const out = new Float32Array(c * oh * ow);
  const scale = 1 / (f * f);
  for (let p = 0; p < c; p++) {
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        let sum = 0;
        for (let dy = 0; dy < f; dy++) {
          const row = p * h * w + (y * f + dy) * w + x * f;
          for (let dx = 0; dx < f; dx++) sum += src[row + dx];
        }
        out[(p * oh + y) * ow + x] = sum * scale;
      }
    }
  }
  return new Tensor(out, [c, oh, ow]);
}

/** An image [C, H, W] made size×size: the shorter side resized to `size`, then the central square cut out. */
export function fitImage(image: Tensor, size: number): Tensor {
  if (!(Number.isInteger(size) && size >= 1)) throw new ValueError(`fitImage: size must be a positive whole number, got ${size}`);
  const [, h, w] = image.shape;
  const resized = h === size && w === size ? image : resizeImages(boxReduce(image, size), size);
  return resized.shape[1] === size && resized.shape[2] === size ? resized : centerCrop(resized, size);
}

/** Options of {@link imageFolder}. */
export interface ImageFolderOptions {
  /** Side of the square images produced (default 224): each image's shorter side is resized to it and the centre cut out. */
  size?: number;
  /** 3 for RGB (default), 1 for grey. */
  channels?: 1 | 3;
  /** Read at most this many images, taken evenly across the classes (default: all). */
  limit?: number;
  /** The class names in label order (a trained model's); by default the subfolders' names, sorted. With them given, a class may lack a folder, but a folder must name a class. */
  classNames?: readonly string[];
}

/** The images of a folder of class subfolders, with their labels. */
export interface ImageFolderData {
  /** [N, channels, size, size], values in [0, 1]. */
  images: Tensor;
  /** [N] int32 class indices into classNames. */
  labels: Tensor;
  /** The subfolders' names: label i is classNames[i]. */
  classNames: string[];
  /** Each image's path, in the order of `images`. */
  files: string[];
}

/** File endings read as images; anything else in a class folder is skipped (torchvision's ImageFolder also filters by extension). */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'] as const;

interface FsPath {
  fs: typeof import('node:fs');
  path: typeof import('node:path');
}

function nodeModules(): FsPath {
  const get = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
  if (!get) throw new NeuriteError('imageFolder needs Node (it reads files); in a browser, decode images with an <img> and a canvas');
  return { fs: get('node:fs') as FsPath['fs'], path: get('node:path') as FsPath['path'] };
}

/** What listImageFolder finds. */
export interface ImageFolderListing {
  /** The classes in label order. */
  classNames: string[];
  /** The image files of each class, sorted. */
  files: string[][];
}

/** The class subfolders of `root` (sorted by name) and the image files in each (sorted), without reading the images. */
export function listImageFolder(root: string, options: { classNames?: readonly string[] } = {}): ImageFolderListing {
  const { fs, path } = nodeModules();
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new DataNotFoundError(`${root}: no such folder of class subfolders`, [root]);
  const found = fs
    .readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort();
  const classNames = options.classNames ? [...options.classNames] : found;
  if (classNames.length === 0)
    throw new DataNotFoundError(
      `${root} has no class subfolders; put the images of each class in a folder named after it (${root}/cat/1.jpg, ${root}/dog/2.png)`,
      [root],
    );
  // With the classes given (a test folder for a trained model), a folder may lack some of them but may not add others.
  const unknown = found.filter((c) => !classNames.includes(c));
  if (unknown.length > 0)
    throw new DataNotFoundError(
      `${root} has the folder${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}, which ${unknown.length > 1 ? 'are not classes' : 'is not a class'} of the model (its classes are ${classNames.join(', ')})`,
      unknown.map((u) => path.join(root, u)),
    );
  const files = classNames.map((c) =>
    !found.includes(c)
      ? []
      : fs
          .readdirSync(path.join(root, c), { withFileTypes: true })
          .filter((d) => d.isFile() && (IMAGE_EXTENSIONS as readonly string[]).includes(path.extname(d.name).toLowerCase()))
          .map((d) => path.join(root, c, d.name))
          .sort(),
  );
  const empty = classNames.filter((_, i) => files[i].length === 0);
  if (files.every((f) => f.length === 0)) throw new DataNotFoundError(`${root}: its class folders hold no ${IMAGE_EXTENSIONS.join('/')} files`, [root]);
  if (empty.length > 0 && !options.classNames)
    throw new DataNotFoundError(`${root}: the class folder${empty.length > 1 ? 's' : ''} ${empty.join(', ')} hold${empty.length > 1 ? '' : 's'} no images`, [
      ...empty.map((e) => path.join(root, e)),
    ]);
  return { classNames, files };
}

/**
 * Read a folder of class subfolders (`root/cat/*.jpg`, `root/dog/*.png`) as
 * torchvision's ImageFolder does: the classes are the subfolders' names in
 * sorted order, every PNG and JPEG in them is one sample. Each image is
 * decoded, its shorter side resized to `size` (with a box prefilter when it
 * shrinks more than twofold) and its centre size×size cut out. Values stay in
 * [0, 1]; normalise them with normalizeImages (models.IMAGENET's constants for
 * pretrained networks). A file that does not decode is an ImageDecodeError
 * naming it.
 */
export function imageFolder(root: string, options: ImageFolderOptions = {}): ImageFolderData {
  const size = options.size ?? 224;
  const channels = options.channels ?? 3;
  if (!(Number.isInteger(size) && size >= 1)) throw new ValueError(`imageFolder: size must be a positive whole number, got ${size}`);
  if (channels !== 1 && channels !== 3) throw new ValueError(`imageFolder: channels must be 1 or 3, got ${channels}`);
  const { fs } = nodeModules();
  const listing = listImageFolder(root, { classNames: options.classNames });
  // Interleave the classes so that a limit takes from each of them alike.
  const order: [string, number][] = [];
  const longest = Math.max(...listing.files.map((f) => f.length));
  for (let i = 0; i < longest; i++) {
    listing.files.forEach((list, c) => {
      if (i < list.length) order.push([list[i], c]);
    });
  }
  const limit = options.limit ?? order.length;
  if (!(Number.isInteger(limit) && limit >= 1)) throw new ValueError(`imageFolder: limit must be a positive whole number, got ${limit}`);
  const chosen = order.slice(0, limit);
  const per = channels * size * size;
  const images = new Float32Array(chosen.length * per);
  const labels = new Int32Array(chosen.length);
  chosen.forEach(([file, label], i) => {
    const decoded = decodeImage(fs.readFileSync(file), { channels, name: file });
    images.set(fitImage(decoded.image, size).data as Float32Array, i * per);
    labels[i] = label;
  });
  return {
    images: new Tensor(images, [chosen.length, channels, size, size]),
    labels: new Tensor(labels, [chosen.length]),
    classNames: listing.classNames,
    files: chosen.map(([f]) => f),
  };
}
