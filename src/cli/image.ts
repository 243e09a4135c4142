// Reading the images `neurite predict` classifies: PNG (every colour type and
// bit depth, interlaced or not) and the Netpbm formats PGM/PPM (binary and
// plain), decoded into grey levels in [0, 1]; and the MNIST-style preparation
// of a free-form digit image (white ink on black, the digit fitted into a
// 20x20 box and centred by its centre of mass in 28x28, as LeCun's set was made).
import { crc32, inflateSync } from 'node:zlib';
import { UsageError } from './errors.js';

/** A grey-level image, row-major, values in [0, 1] where 1 is white. */
export interface GrayImage {
  width: number;
  height: number;
  data: Float32Array;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function readU32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

export function isPng(bytes: Uint8Array): boolean {
  return PNG_SIGNATURE.every((v, i) => bytes[i] === v);
}

/** Samples per pixel of each PNG colour type. */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const ALLOWED_DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Undo the per-row filters of one (sub-)image in place; returns the raw rows without their filter bytes. */
function unfilter(data: Uint8Array, offset: number, rows: number, rowBytes: number, bpp: number, name: string): Uint8Array {
  const out = new Uint8Array(rows * rowBytes);
  for (let r = 0; r < rows; r++) {
    const filter = data[offset + r * (rowBytes + 1)];
    const src = offset + r * (rowBytes + 1) + 1;
    const row = r * rowBytes;
    const prev = row - rowBytes;
    for (let i = 0; i < rowBytes; i++) {
      const x = data[src + i];
      const a = i >= bpp ? out[row + i - bpp] : 0;
      const b = r > 0 ? out[prev + i] : 0;
      const c = r > 0 && i >= bpp ? out[prev + i - bpp] : 0;
      let v: number;
      switch (filter) {
        case 0:
          v = x;
          break;
        case 1:
          v = x + a;
          break;
        case 2:
          v = x + b;
          break;
        case 3:
          v = x + ((a + b) >> 1);
          break;
        case 4:
          v = x + paeth(a, b, c);
          break;
        default:
          throw new UsageError(`${name}: corrupt PNG (unknown row filter ${filter})`);
      }
      out[row + i] = v & 0xff;
    }
  }
  return out;
}

// Adam7 passes: starting column/row and step of each.
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

/** Decode a PNG file into grey levels; transparent pixels are composited over white, as a viewer shows them. */
export function decodePng(bytes: Uint8Array, name = 'image'): GrayImage {
  if (!isPng(bytes)) throw new UsageError(`${name}: not a PNG file`);
  let pos = 8;
  let width = 0;
  let height = 0;
  let depth = 0;
  let colorType = 0;
  let interlace = 0;
  let palette: Uint8Array | null = null;
  let paletteAlpha: Uint8Array | null = null;
  let transparentGray: number | null = null;
  const idat: Uint8Array[] = [];
  while (pos + 8 <= bytes.length) {
    const length = readU32(bytes, pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    const body = bytes.subarray(pos + 8, pos + 8 + length);
    if (body.length < length || pos + 12 + length > bytes.length) throw new UsageError(`${name}: truncated PNG (chunk ${type})`);
    // Every chunk ends with the CRC-32 of its type and data: a mismatch means the file was damaged.
    if (crc32(bytes.subarray(pos + 4, pos + 8 + length)) !== readU32(bytes, pos + 8 + length)) {
      throw new UsageError(`${name}: corrupt PNG (the checksum of chunk ${type} at byte ${pos} does not match)`);
    }
    if (type === 'IHDR') {
      width = readU32(body, 0);
      height = readU32(body, 4);
      depth = body[8];
      colorType = body[9];
      interlace = body[12];
    } else if (type === 'PLTE') palette = body.slice();
    else if (type === 'tRNS') {
      if (colorType === 3) paletteAlpha = body.slice();
      else if (colorType === 0) transparentGray = (body[0] << 8) | body[1];
    } else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    pos += 12 + length;
  }
  if (width === 0 || height === 0) throw new UsageError(`${name}: PNG without a valid IHDR header`);
  if (!(colorType in CHANNELS) || !ALLOWED_DEPTHS[colorType].includes(depth))
    throw new UsageError(`${name}: unsupported PNG colour type ${colorType} with bit depth ${depth}`);
  if (colorType === 3 && palette === null) throw new UsageError(`${name}: palette PNG without a PLTE chunk`);
  if (width * height > 64e6) throw new UsageError(`${name}: image too large (${width}x${height})`);
  let raw: Uint8Array;
  try {
    raw = inflateSync(Buffer.concat(idat));
  } catch (e) {
    throw new UsageError(`${name}: corrupt PNG data (${(e as Error).message})`);
  }
  const channels = CHANNELS[colorType];
  const bitsPerPixel = channels * depth;
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const maxValue = (1 << depth) - 1;
  const gray = new Float32Array(width * height);

  const sample = (rows: Uint8Array, rowBytes: number, r: number, i: number): number => {
    if (depth === 8) return rows[r * rowBytes + i];
    if (depth === 16) return (rows[r * rowBytes + 2 * i] << 8) | rows[r * rowBytes + 2 * i + 1];
    const bit = i * depth;
    return (rows[r * rowBytes + (bit >> 3)] >> (8 - depth - (bit & 7))) & maxValue;
  };
  const luminance = (r: number, g: number, b: number) => 0.299 * r + 0.587 * g + 0.114 * b;
  const put = (rows: Uint8Array, rowBytes: number, r: number, c: number, target: number) => {
    const base = c * channels;
    let value: number;
    let alpha = 1;
    if (colorType === 3) {
      const index = sample(rows, rowBytes, r, c);
      const p = palette as Uint8Array;
      value = luminance(p[3 * index], p[3 * index + 1], p[3 * index + 2]) / 255;
      if (paletteAlpha && index < paletteAlpha.length) alpha = paletteAlpha[index] / 255;
    } else if (colorType === 0 || colorType === 4) {
      const v = sample(rows, rowBytes, r, base);
      value = v / maxValue;
      if (colorType === 4) alpha = sample(rows, rowBytes, r, base + 1) / maxValue;
      else if (transparentGray !== null && v === transparentGray) alpha = 0;
    } else {
      value = luminance(sample(rows, rowBytes, r, base), sample(rows, rowBytes, r, base + 1), sample(rows, rowBytes, r, base + 2)) / maxValue;
      if (colorType === 6) alpha = sample(rows, rowBytes, r, base + 3) / maxValue;
    }
    gray[target] = alpha * value + (1 - alpha);
  };

  const rowBytesOf = (w: number) => Math.ceil((w * bitsPerPixel) / 8);
  if (interlace === 0) {
    const rowBytes = rowBytesOf(width);
    if (raw.length < height * (rowBytes + 1)) throw new UsageError(`${name}: truncated PNG image data`);
    const rows = unfilter(raw, 0, height, rowBytes, bpp, name);
    for (let r = 0; r < height; r++) for (let c = 0; c < width; c++) put(rows, rowBytes, r, c, r * width + c);
  } else {
    let offset = 0;
    for (const [x0, y0, dx, dy] of ADAM7) {
      const w = Math.ceil((width - x0) / dx);
      const h = Math.ceil((height - y0) / dy);
      if (w <= 0 || h <= 0) continue;
      const rowBytes = rowBytesOf(w);
      if (raw.length < offset + h * (rowBytes + 1)) throw new UsageError(`${name}: truncated PNG image data`);
      const rows = unfilter(raw, offset, h, rowBytes, bpp, name);
      for (let r = 0; r < h; r++) for (let c = 0; c < w; c++) put(rows, rowBytes, r, c, (y0 + r * dy) * width + x0 + c * dx);
      offset += h * (rowBytes + 1);
    }
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

/** Decode a PNG or a PGM/PPM by its content. */
export function decodeImage(bytes: Uint8Array, name: string): GrayImage {
  if (isPng(bytes)) return decodePng(bytes, name);
  if (bytes[0] === 0x50 && [0x32, 0x33, 0x35, 0x36].includes(bytes[1])) return decodePnm(bytes, name);
  throw new UsageError(`${name}: unsupported image format; use PNG or PGM/PPM (or a CSV of pixel rows)`);
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
