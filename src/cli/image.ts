// Reading the images `neurite predict` classifies: PNG and JPEG (decoded by
// pngjs and jpeg-js) and the Netpbm formats PGM/PPM (binary and
// plain), decoded into grey levels in [0, 1]; and the MNIST-style preparation
// of a free-form digit image (white ink on black, the digit fitted into a
// 20x20 box and centred by its centre of mass in 28x28, as LeCun's set was made).
import { PNG } from 'pngjs';
import { decodeImage as decodeColorImage, NeuriteError } from '../index.js';
import { UsageError } from './errors.js';

/** A grey-level image, row-major, values in [0, 1] where 1 is white. */
export interface GrayImage {
  width: number;
  height: number;
  data: Float32Array;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function isPng(bytes: Uint8Array): boolean {
  return PNG_SIGNATURE.every((v, i) => bytes[i] === v);
}

/**
 * Decode a PNG file (pngjs reads every colour type, bit depth and
 * interlacing) into grey levels by the ITU-R 601 luma weights; transparent
 * pixels are composited over white, as a viewer shows them.
 */
export function decodePng(bytes: Uint8Array, name = 'image'): GrayImage {
  if (!isPng(bytes)) throw new UsageError(`${name}: not a PNG file`);
  let png: { width: number; height: number; data: Uint8Array };
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new UsageError(`${name}: corrupt PNG (${(e as Error).message})`);
  }
  const { width, height, data } = png;
  const gray = new Float32Array(width * height);
  for (let i = 0; i < gray.length; i++) {
    const luma = (0.299 * data[4 * i] + 0.587 * data[4 * i + 1] + 0.114 * data[4 * i + 2]) / 255;
    const alpha = data[4 * i + 3] / 255;
    gray[i] = luma * alpha + (1 - alpha);
  }
  return { width, height, data: gray };
}

/** Decode a Netpbm image: PGM (P2 plain, P5 binary) or PPM (P3, P6), maxval up to 65535. */
export function decodePnm(bytes: Uint8Array, name = 'image'): GrayImage {
  const magic = String.fromCharCode(bytes[0], bytes[1]);
  if (!['P2', 'P3', 'P5', 'P6'].includes(magic)) throw new UsageError(`${name}: not a PGM/PPM file (expected P2, P3, P5 or P6, got ${JSON.stringify(magic)})`);
  const channels = magic === 'P3' || magic === 'P6' ? 3 : 1;
  const binary = magic === 'P5' || magic === 'P6';
  let pos = 2;
  const token = (): number => {
    for (;;) {
      while (pos < bytes.length && /\s/.test(String.fromCharCode(bytes[pos]))) pos++;
      if (bytes[pos] === 0x23) while (pos < bytes.length && bytes[pos] !== 0x0a) pos++;
      else break;
    }
    const start = pos;
    while (pos < bytes.length && /[0-9]/.test(String.fromCharCode(bytes[pos]))) pos++;
    if (start === pos) throw new UsageError(`${name}: malformed ${magic} header or data`);
    return Number(String.fromCharCode(...bytes.subarray(start, pos)));
  };
  const width = token();
  const height = token();
  const maxval = token();
  if (width < 1 || height < 1 || maxval < 1 || maxval > 65535) throw new UsageError(`${name}: bad ${magic} header (${width}x${height}, maxval ${maxval})`);
  const count = width * height * channels;
  const values = new Float32Array(count);
  if (binary) {
    pos++; // the single whitespace after maxval
    const wide = maxval > 255;
    if (bytes.length < pos + count * (wide ? 2 : 1)) throw new UsageError(`${name}: truncated ${magic} data`);
    for (let i = 0; i < count; i++) values[i] = wide ? (bytes[pos + 2 * i] << 8) | bytes[pos + 2 * i + 1] : bytes[pos + i];
  } else for (let i = 0; i < count; i++) values[i] = token();
  const gray = new Float32Array(width * height);
  for (let i = 0; i < width * height; i++) {
    gray[i] = channels === 1 ? values[i] / maxval : (0.299 * values[3 * i] + 0.587 * values[3 * i + 1] + 0.114 * values[3 * i + 2]) / maxval;
  }
  return { width, height, data: gray };
}

const JPEG_SIGNATURE = [0xff, 0xd8, 0xff];

/** Decode a PNG, a JPEG or a PGM/PPM by its content, into grey levels. */
export function decodeImage(bytes: Uint8Array, name: string): GrayImage {
  if (isPng(bytes)) return decodePng(bytes, name);
  if (JPEG_SIGNATURE.every((v, i) => bytes[i] === v)) {
    try {
      const { width, height, image } = decodeColorImage(bytes, { channels: 1, name });
      return { width, height, data: image.data as Float32Array };
    } catch (e) {
      if (e instanceof NeuriteError) throw new UsageError(e.message);
      throw e;
    }
  }
  if (bytes[0] === 0x50 && [0x32, 0x33, 0x35, 0x36].includes(bytes[1])) return decodePnm(bytes, name);
  throw new UsageError(`${name}: unsupported image format; use PNG, JPEG or PGM/PPM (or a CSV of pixel rows)`);
}

/** Bilinear sample at (x, y) in pixel-centre coordinates, 0 outside the image. */
function sampleAt(img: GrayImage, x: number, y: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const at = (c: number, r: number) => (c >= 0 && r >= 0 && c < img.width && r < img.height ? img.data[r * img.width + c] : 0);
  return (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
}

/** Resize by averaging 4x4 bilinear samples per output pixel: smooth when shrinking, not blocky when enlarging. */
export function resize(img: GrayImage, width: number, height: number): GrayImage {
  const out = new Float32Array(width * height);
  const sx = img.width / width;
  const sy = img.height / height;
  const k = 4;
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      let sum = 0;
      for (let j = 0; j < k; j++) for (let i = 0; i < k; i++) sum += sampleAt(img, (c + (i + 0.5) / k) * sx - 0.5, (r + (j + 0.5) / k) * sy - 0.5);
      out[r * width + c] = sum / (k * k);
    }
  }
  return { width, height, data: out };
}

export interface Prepared {
  /** 28x28 grey levels, white digit on black, in [0, 1]. */
  image: GrayImage;
  inverted: boolean;
  /** What was done, for the user. */
  steps: string[];
}

/**
 * Prepare a free-form digit image the way MNIST's were: dark ink on a light
 * background is inverted (judged from the border), a 28x28 image is then
 * used as it is, and any other size has its digit cropped, scaled to fit
 * 20x20 and placed in 28x28 with its centre of mass in the middle.
 */
export function prepareDigit(img: GrayImage): Prepared {
  const steps: string[] = [];
  let border = 0;
  let borderCount = 0;
  for (let r = 0; r < img.height; r++) {
    for (let c = 0; c < img.width; c++) {
      if (r === 0 || c === 0 || r === img.height - 1 || c === img.width - 1) {
        border += img.data[r * img.width + c];
        borderCount++;
      }
    }
  }
  const inverted = border / borderCount > 0.5;
  let data = inverted ? img.data.map((v) => 1 - v) : Float32Array.from(img.data);
  if (inverted) steps.push('inverted (dark digit on a light background)');
  if (img.width === 28 && img.height === 28) return { image: { width: 28, height: 28, data }, inverted, steps };

  let max = 0;
  for (const v of data) if (v > max) max = v;
  if (max <= 0)
    return { image: resize({ width: img.width, height: img.height, data }, 28, 28), inverted, steps: [...steps, 'resized to 28x28 (the image is blank)'] };
  const ink = 0.2 * max;
  let top = img.height;
  let bottom = -1;
  let left = img.width;
  let right = -1;
  for (let r = 0; r < img.height; r++) {
    for (let c = 0; c < img.width; c++) {
      if (data[r * img.width + c] > ink) {
        top = Math.min(top, r);
        bottom = Math.max(bottom, r);
        left = Math.min(left, c);
        right = Math.max(right, c);
      }
    }
  }
  const cropW = right - left + 1;
  const cropH = bottom - top + 1;
  const crop = new Float32Array(cropW * cropH);
  for (let r = 0; r < cropH; r++) for (let c = 0; c < cropW; c++) crop[r * cropW + c] = data[(top + r) * img.width + left + c];
  const scale = 20 / Math.max(cropW, cropH);
  const w = Math.max(1, Math.round(cropW * scale));
  const h = Math.max(1, Math.round(cropH * scale));
  const fitted = resize({ width: cropW, height: cropH, data: crop }, w, h);
  let mass = 0;
  let cy = 0;
  let cx = 0;
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const v = fitted.data[r * w + c];
      mass += v;
      cy += v * r;
      cx += v * c;
    }
  }
  const offY = Math.round(14 - (mass > 0 ? cy / mass : h / 2) - 0.5);
  const offX = Math.round(14 - (mass > 0 ? cx / mass : w / 2) - 0.5);
  data = new Float32Array(28 * 28);
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const y = r + offY;
      const x = c + offX;
      if (y >= 0 && y < 28 && x >= 0 && x < 28) data[y * 28 + x] = fitted.data[r * w + c];
    }
  }
  steps.push(`digit cropped from ${img.width}x${img.height}, scaled into 20x20 and centred by mass in 28x28`);
  return { image: { width: 28, height: 28, data }, inverted, steps };
}
