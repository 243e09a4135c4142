// A minimal PNG writer for 8-bit grayscale images, so the examples can save
// pictures without an image dependency. A PNG is an 8-byte signature and a
// list of chunks (length, type, data, CRC-32 of type and data); grayscale
// needs three: IHDR (size and pixel format), IDAT (the zlib-compressed
// scanlines, each prefixed by a filter byte) and IEND.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { deflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const GRAYSCALE = 0;
const FILTER_NONE = 0;

// CRC-32 with the reflected polynomial 0xEDB88320, as the PNG specification's
// annex D computes it, one byte at a time through a 256-entry table.
const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const typeAndData = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

/**
 * Encode a grayscale image as PNG bytes.
 * @param {Uint8Array | ArrayLike<number>} pixels row-major, one byte (0 black .. 255 white) per pixel
 */
export function encodeGrayPng(width, height, pixels) {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`encodeGrayPng: width and height must be positive integers, got ${width}x${height}`);
  }
  if (pixels.length !== width * height) throw new Error(`encodeGrayPng: expected ${width * height} pixels, got ${pixels.length}`);
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bits per sample
  header[9] = GRAYSCALE;
  header[10] = 0; // compression: deflate
  header[11] = 0; // filter method: adaptive (every row here uses filter type None)
  header[12] = 0; // no interlacing
  const scanlines = Buffer.alloc(height * (width + 1));
  for (let y = 0; y < height; y++) {
    scanlines[y * (width + 1)] = FILTER_NONE;
    for (let x = 0; x < width; x++) scanlines[y * (width + 1) + 1 + x] = pixels[y * width + x];
  }
  return Buffer.concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(scanlines)), chunk('IEND', Buffer.alloc(0))]);
}

/** Write a grayscale PNG, creating its folder if needed. */
export function writeGrayPng(path, width, height, pixels) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, encodeGrayPng(width, height, pixels));
}

/**
 * A canvas to tile small images on: `put` pastes a float image (values mapped
 * from [lo, hi] to 0..255, clamped) enlarged `scale` times by nearest neighbour.
 */
export class GrayCanvas {
  constructor(width, height, background = 255) {
    this.width = width;
    this.height = height;
    this.pixels = new Uint8Array(width * height).fill(background);
  }

  put(values, w, h, left, top, { scale = 1, lo = 0, hi = 1 } = {}) {
    const range = hi - lo || 1;
    for (let y = 0; y < h * scale; y++) {
      for (let x = 0; x < w * scale; x++) {
        const v = (values[Math.floor(y / scale) * w + Math.floor(x / scale)] - lo) / range;
        this.pixels[(top + y) * this.width + left + x] = Math.round(255 * Math.min(1, Math.max(0, v)));
      }
    }
  }

  save(path) {
    writeGrayPng(path, this.width, this.height, this.pixels);
  }
}
