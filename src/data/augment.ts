// Image augmentation: random, label-preserving changes to training inputs.
// These are data transforms, not ops: they run on inputs before the model
// sees them, record nothing for autograd, and return new tensors. Each image
// of a batch draws its own parameters, and every draw comes from one
// Generator, so a seed reproduces a whole pipeline.
import { allocate, isFloatDType, type TypedArray } from '../core/dtype.js';
import { DTypeError, fmtShape, ShapeError, ValueError } from '../core/errors.js';
import { defaultGenerator, type Generator } from '../core/random.js';
import { Tensor } from '../core/tensor.js';
import { check } from '../core/validate.js';

/**
 * An augmentation: images [N, C, H, W] or one image [C, H, W] in, the same
 * shape out. The generator given at call time wins over the one given when
 * the transform was made, which wins over the global one.
 */
export type Transform = (images: Tensor, generator?: Generator) => Tensor;

interface Layout {
  images: number;
  channels: number;
  height: number;
  width: number;
}

function layoutOf(op: string, x: Tensor): Layout {
  if (!(x instanceof Tensor)) throw new ValueError(`${op}: expected a Tensor of images`);
  if (x.ndim === 4) return { images: x.shape[0], channels: x.shape[1], height: x.shape[2], width: x.shape[3] };
  if (x.ndim === 3) return { images: 1, channels: x.shape[0], height: x.shape[1], width: x.shape[2] };
  throw new ShapeError(`${op}: expected images [N, C, H, W] or one image [C, H, W], got shape ${fmtShape(x.shape)}`);
}

function requireFloat(op: string, x: Tensor): void {
  if (!isFloatDType(x.dtype)) throw new DTypeError(`${op}: needs float32 or float64 images, got ${x.dtype}`);
}

function pick(generator: Generator | undefined, fallback: Generator | undefined): Generator {
  return generator ?? fallback ?? defaultGenerator;
}

/** Draw an integer uniformly from [-max, max]. */
function symmetricInt(g: Generator, max: number): number {
  return max === 0 ? 0 : g.nextInt(2 * max + 1) - max;
}

// Translate the planes of image `i` by (dy, dx), filling what enters with 0.
function shiftInto(src: TypedArray, out: TypedArray, layout: Layout, i: number, dy: number, dx: number): void {
  const { channels, height: h, width: w } = layout;
  const rowStart = Math.max(0, dy);
  const rowEnd = Math.min(h, h + dy);
  const colStart = Math.max(0, dx);
  const colEnd = Math.min(w, w + dx);
  if (rowStart >= rowEnd || colStart >= colEnd) return;
  for (let c = 0; c < channels; c++) {
    const plane = (i * channels + c) * h * w;
    for (let r = rowStart; r < rowEnd; r++) {
      const from = plane + (r - dy) * w + (colStart - dx);
      out.set(src.subarray(from, from + (colEnd - colStart)), plane + r * w + colStart);
    }
  }
}

/**
 * Translate every image by whole pixels: `dy` rows down and `dx` columns
 * right (negative values go up and left). Pixels that enter are 0.
 */
export function shiftImages(images: Tensor, dy: number, dx: number): Tensor {
  const layout = layoutOf('shiftImages', images);
  if (!Number.isInteger(dy) || !Number.isInteger(dx)) throw new ValueError(`shiftImages: shifts must be whole pixels, got (${dy}, ${dx})`);
  const out = allocate(images.dtype, images.size);
  for (let i = 0; i < layout.images; i++) shiftInto(images.data, out, layout, i, dy, dx);
  return new Tensor(out, images.shape);
}

/**
 * Random translation by up to `maxShift` pixels each way (default 2), drawn
 * independently for rows and columns and for each image; `[maxDy, maxDx]`
 * sets the two limits apart.
 */
export function randomShift(options: { maxShift?: number | readonly [number, number]; generator?: Generator } = {}): Transform {
  const spec = options.maxShift ?? 2;
  const [maxDy, maxDx] = typeof spec === 'number' ? [spec, spec] : spec;
  for (const m of [maxDy, maxDx]) {
    if (!Number.isInteger(m) || m < 0) throw new ValueError(`randomShift: maxShift must be whole pixels >= 0, got ${JSON.stringify(spec)}`);
  }
  return (images, generator) => {
    const layout = layoutOf('randomShift', images);
    const g = pick(generator, options.generator);
    const out = allocate(images.dtype, images.size);
    for (let i = 0; i < layout.images; i++) shiftInto(images.data, out, layout, i, symmetricInt(g, maxDy), symmetricInt(g, maxDx));
    return new Tensor(out, images.shape);
  };
}

// Rotate the planes of image `i` counter-clockwise (as seen on screen, rows
// running down) by `radians` about the image centre, sampling bilinearly.
// Each output pixel looks up where it came from, the inverse rotation, so
// there are no holes; source neighbours outside the image count as 0.
function rotateInto(src: TypedArray, out: TypedArray, layout: Layout, i: number, radians: number): void {
  const { channels, height: h, width: w } = layout;
  const cos = Math.cos(radians);
  const sin = Math.sin(radians);
  const cy = (h - 1) / 2;
  const cx = (w - 1) / 2;
  for (let r = 0; r < h; r++) {
    for (let col = 0; col < w; col++) {
      // Offsets from the centre with y pointing up (rows point down). A
      // counter-clockwise turn by t sends the source offset (x, y) to the
      // output one, so the source is the output turned back by -t:
      // (x cos t + y sin t, -x sin t + y cos t).
      const ox = col - cx;
      const oy = cy - r;
      const sx = cx + ox * cos + oy * sin;
      const sy = cy - (-ox * sin + oy * cos);
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      if (x0 < -1 || y0 < -1 || x0 >= w || y0 >= h) continue;
      const fx = sx - x0;
      const fy = sy - y0;
      const w00 = (1 - fy) * (1 - fx);
      const w01 = (1 - fy) * fx;
      const w10 = fy * (1 - fx);
      const w11 = fy * fx;
      const in00 = y0 >= 0 && x0 >= 0;
      const in01 = y0 >= 0 && x0 + 1 < w;
      const in10 = y0 + 1 < h && x0 >= 0;
      const in11 = y0 + 1 < h && x0 + 1 < w;
      for (let c = 0; c < channels; c++) {
        const plane = (i * channels + c) * h * w;
        const base = plane + y0 * w + x0;
        let v = 0;
        if (in00) v += w00 * src[base];
        if (in01) v += w01 * src[base + 1];
        if (in10) v += w10 * src[base + w];
        if (in11) v += w11 * src[base + w + 1];
        out[plane + r * w + col] = v;
      }
    }
  }
}

/**
 * Rotate every image counter-clockwise by `degrees` about its centre, with
 * bilinear sampling and zero fill. Float images only.
 */
export function rotateImages(images: Tensor, degrees: number): Tensor {
  const layout = layoutOf('rotateImages', images);
  requireFloat('rotateImages', images);
  if (!Number.isFinite(degrees)) throw new ValueError(`rotateImages: degrees must be finite, got ${degrees}`);
  if (degrees === 0) return new Tensor(images.data.slice(), images.shape);
  const out = allocate(images.dtype, images.size);
  for (let i = 0; i < layout.images; i++) rotateInto(images.data, out, layout, i, (degrees * Math.PI) / 180);
  return new Tensor(out, images.shape);
}

/**
 * Random rotation by an angle drawn uniformly, per image, from [-degrees,
 * degrees] (or from [min, max]); positive is counter-clockwise. Float images only.
 */
export function randomRotation(options: { degrees: number | readonly [number, number]; generator?: Generator }): Transform {
  const spec = options?.degrees;
  const [lo, hi] = typeof spec === 'number' ? [-spec, spec] : (spec ?? [Number.NaN, Number.NaN]);
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi) {
    throw new ValueError(`randomRotation: degrees must be a number >= 0 or a range [min, max] with min <= max, got ${JSON.stringify(spec)}`);
  }
  return (images, generator) => {
    const layout = layoutOf('randomRotation', images);
    requireFloat('randomRotation', images);
    const g = pick(generator, options.generator);
    const out = allocate(images.dtype, images.size);
    for (let i = 0; i < layout.images; i++) {
      const degrees = lo + (hi - lo) * g.nextDouble();
      rotateInto(images.data, out, layout, i, (degrees * Math.PI) / 180);
    }
    return new Tensor(out, images.shape);
  };
}

/** Which way flipImages mirrors: left-right ('horizontal') or top-bottom ('vertical'). */
export type FlipAxis = 'horizontal' | 'vertical';

// Mirror image `i` left-right (horizontal) or top-bottom (vertical), or copy it unchanged.
function flipInto(src: TypedArray, out: TypedArray, layout: Layout, i: number, axis: FlipAxis | null): void {
  const { channels, height: h, width: w } = layout;
  const plane0 = i * channels * h * w;
  if (axis === null) {
    out.set(src.subarray(plane0, plane0 + channels * h * w), plane0);
    return;
  }
  for (let c = 0; c < channels; c++) {
    const plane = plane0 + c * h * w;
    for (let r = 0; r < h; r++) {
      if (axis === 'vertical') {
        const from = plane + (h - 1 - r) * w;
        out.set(src.subarray(from, from + w), plane + r * w);
      } else {
        const row = plane + r * w;
        for (let col = 0; col < w; col++) out[row + col] = src[row + w - 1 - col];
      }
    }
  }
}

/** Mirror every image: 'horizontal' swaps left and right, 'vertical' swaps top and bottom. */
export function flipImages(images: Tensor, axis: FlipAxis): Tensor {
  const layout = layoutOf('flipImages', images);
  if (axis !== 'horizontal' && axis !== 'vertical') throw new ValueError(`flipImages: axis must be 'horizontal' or 'vertical', got ${JSON.stringify(axis)}`);
  const out = allocate(images.dtype, images.size);
  for (let i = 0; i < layout.images; i++) flipInto(images.data, out, layout, i, axis);
  return new Tensor(out, images.shape);
}

function randomFlip(op: string, axis: FlipAxis, options: { p?: number; generator?: Generator }): Transform {
  const p = options.p ?? 0.5;
  check(op).inRange('p', p, 0, 1);
  return (images, generator) => {
    const layout = layoutOf(op, images);
    const g = pick(generator, options.generator);
    const out = allocate(images.dtype, images.size);
    for (let i = 0; i < layout.images; i++) flipInto(images.data, out, layout, i, g.nextDouble() < p ? axis : null);
    return new Tensor(out, images.shape);
  };
}

/** Mirror each image left-right with probability `p` (default 0.5). Not for digits, whose meaning a mirror changes. */
export function randomHorizontalFlip(options: { p?: number; generator?: Generator } = {}): Transform {
  return randomFlip('randomHorizontalFlip', 'horizontal', options);
}

/** Mirror each image top-bottom with probability `p` (default 0.5). */
export function randomVerticalFlip(options: { p?: number; generator?: Generator } = {}): Transform {
  return randomFlip('randomVerticalFlip', 'vertical', options);
}

/**
 * Add independent Gaussian noise of standard deviation `std` to every
 * element, then clamp to `clip` (for instance [0, 1] for normalised pixels)
 * when given. Float images only.
 */
export function gaussianNoise(options: { std: number; clip?: readonly [number, number]; generator?: Generator }): Transform {
  const std = options?.std;
  if (!Number.isFinite(std) || std < 0) throw new ValueError(`gaussianNoise: std must be a finite number >= 0, got ${std}`);
  const clip = options.clip;
  if (clip !== undefined && !(clip.length === 2 && clip[0] <= clip[1])) {
    throw new ValueError(`gaussianNoise: clip must be [min, max] with min <= max, got ${JSON.stringify(clip)}`);
  }
  return (images, generator) => {
    layoutOf('gaussianNoise', images);
    requireFloat('gaussianNoise', images);
    const g = pick(generator, options.generator);
    const src = images.data;
    const out = allocate(images.dtype, images.size);
    for (let i = 0; i < src.length; i++) {
      const v = src[i] + std * g.nextNormal();
      out[i] = clip ? Math.min(clip[1], Math.max(clip[0], v)) : v;
    }
    return new Tensor(out, images.shape);
  };
}

/**
 * Chain transforms, first to last. The pipeline passes its generator to each
 * step, so `pipeline(batch, new Generator(7))` is reproducible as a whole.
 */
export function compose(transforms: readonly Transform[]): Transform {
  if (!Array.isArray(transforms) || transforms.some((t) => typeof t !== 'function')) {
    throw new ValueError('compose: expected an array of transforms (functions of images and a generator)');
  }
  const steps = [...transforms];
  return (images, generator) => steps.reduce((x, step) => step(x, generator), images);
}

/**
 * Resize images so that their shorter side is `size` (the other keeps the
 * aspect ratio), or to exactly [height, width], by bilinear sampling with
 * half-pixel centres (torchvision's tensor Resize without antialiasing).
 */
export function resizeImages(images: Tensor, size: number | readonly [number, number]): Tensor {
  const layout = layoutOf('resizeImages', images);
  requireFloat('resizeImages', images);
  const { height: h, width: w } = layout;
  let oh: number;
  let ow: number;
  if (typeof size === 'number') {
    if (!Number.isInteger(size) || size < 1) throw new ValueError(`resizeImages: size must be a positive whole number, got ${size}`);
    if (h <= w) [oh, ow] = [size, Math.floor((size * w) / h)];
    else [oh, ow] = [Math.floor((size * h) / w), size];
  } else [oh, ow] = size;
  if (!(Number.isInteger(oh) && Number.isInteger(ow) && oh >= 1 && ow >= 1))
    throw new ValueError(`resizeImages: size must be positive whole numbers, got ${oh}×${ow}`);
  const planes = layout.images * layout.channels;
  const src = images.data;
  const out = allocate(images.dtype, planes * oh * ow);
  const sy = h / oh;
  const sx = w / ow;
  for (let p = 0; p < planes; p++) {
    const base = p * h * w;
    for (let y = 0; y < oh; y++) {
      const fy = Math.max(0, (y + 0.5) * sy - 0.5);
      const y0 = Math.min(h - 1, Math.floor(fy));
      const y1 = Math.min(h - 1, y0 + 1);
      const ty = fy - y0;
      for (let x = 0; x < ow; x++) {
        const fx = Math.max(0, (x + 0.5) * sx - 0.5);
        const x0 = Math.min(w - 1, Math.floor(fx));
        const x1 = Math.min(w - 1, x0 + 1);
        const tx = fx - x0;
        const top = src[base + y0 * w + x0] * (1 - tx) + src[base + y0 * w + x1] * tx;
        const bottom = src[base + y1 * w + x0] * (1 - tx) + src[base + y1 * w + x1] * tx;
        out[(p * oh + y) * ow + x] = top * (1 - ty) + bottom * ty;
      }
    }
  }
  return new Tensor(out, images.ndim === 4 ? [layout.images, layout.channels, oh, ow] : [layout.channels, oh, ow]);
}

/** The central size×size (or [height, width]) window of each image, as torchvision's CenterCrop rounds it. */
export function centerCrop(images: Tensor, size: number | readonly [number, number]): Tensor {
  const layout = layoutOf('centerCrop', images);
  const [ch, cw] = typeof size === 'number' ? [size, size] : size;
  if (!(Number.isInteger(ch) && Number.isInteger(cw) && ch >= 1 && cw >= 1 && ch <= layout.height && cw <= layout.width))
    throw new ValueError(`centerCrop: a ${ch}×${cw} crop does not fit images of ${layout.height}×${layout.width}`);
  const top = Math.round((layout.height - ch) / 2);
  const left = Math.round((layout.width - cw) / 2);
  const axes = images.ndim - 2;
  return images.narrow(axes, top, ch).narrow(axes + 1, left, cw);
}

/** (x − mean[c]) / std[c] for each channel c of images [N, C, H, W] or [C, H, W]. */
export function normalizeImages(images: Tensor, mean: readonly number[], std: readonly number[]): Tensor {
  const layout = layoutOf('normalizeImages', images);
  requireFloat('normalizeImages', images);
  if (mean.length !== layout.channels || std.length !== layout.channels)
    throw new ValueError(`normalizeImages: ${layout.channels} channels need ${layout.channels} means and deviations, got ${mean.length} and ${std.length}`);
  if (std.some((s) => !(s > 0))) throw new ValueError(`normalizeImages: every standard deviation must be positive, got ${std.join(', ')}`);
  const out = allocate(images.dtype, images.size);
  const plane = layout.height * layout.width;
  const src = images.data;
  for (let i = 0; i < images.size; i++) {
    const c = Math.floor(i / plane) % layout.channels;
    out[i] = (src[i] - mean[c]) / std[c];
  }
  return new Tensor(out, images.shape);
}
