// PNG and JPEG decoding and image-folder datasets: the colours that come out,
// the resize-and-crop, the class order and labels, and the typed errors for
// bad files and bad folders.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { DataNotFoundError, decodeImage, fitImage, ImageDecodeError, imageFolder, tensor } from '../../src/index.js';
import { tempDir } from '../cli/run.js';

/** An RGBA picture filled by f(x, y) → [r, g, b, a]. */
function rgba(width: number, height: number, f: (x: number, y: number) => number[]): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(f(x, y), 4 * (y * width + x));
  return data;
}

function png(width: number, height: number, f: (x: number, y: number) => number[], options: { colorType?: 0 | 2 | 4 | 6; bitDepth?: 8 | 16 } = {}): Buffer {
  const image = new PNG({ width, height });
  rgba(width, height, f).copy(image.data);
  return PNG.sync.write(image, { colorType: options.colorType ?? 6, bitDepth: options.bitDepth ?? 8, inputHasAlpha: true });
}

function jpg(width: number, height: number, f: (x: number, y: number) => number[], quality = 95): Uint8Array {
  return jpeg.encode({ width, height, data: rgba(width, height, f) }, quality).data;
}

describe('decodeImage', () => {
  it('reads an RGB PNG channels-first in [0, 1], and a grey PNG as three equal channels', () => {
    const img = decodeImage(png(3, 2, (x, y) => [x * 100, y * 200, 50, 255], { colorType: 2 }));
    assert.deepEqual([img.width, img.height, img.channels], [3, 2, 3]);
    assert.deepEqual(img.image.shape, [3, 2, 3]);
    const d = img.image.data;
    assert.equal(d[2], Math.fround(200 / 255)); // red of (2, 0)
    assert.equal(d[6 + 3], Math.fround(200 / 255)); // green of (0, 1)
    assert.equal(d[12 + 5], Math.fround(50 / 255)); // blue of (2, 1)
    const grey = decodeImage(png(2, 1, (x) => [x * 255, x * 255, x * 255, 255], { colorType: 0 }));
    assert.deepEqual([...grey.image.data], [0, 1, 0, 1, 0, 1]);
  });

  it('converts to one grey channel by the luma weights, and drops transparency as PIL does', () => {
    const img = decodeImage(
      png(1, 1, () => [255, 0, 0, 0]),
      { channels: 1 },
    );
    assert.equal(img.channels, 1);
    assert.ok(Math.abs(img.image.data[0] - 0.299) < 1e-6);
  });

  it('reads a JPEG within its compression error', () => {
    const img = decodeImage(jpg(16, 16, (x) => (x < 8 ? [200, 40, 40, 255] : [30, 30, 220, 255])));
    assert.deepEqual(img.image.shape, [3, 16, 16]);
    const at = (c: number, x: number, y: number) => img.image.data[c * 256 + y * 16 + x] * 255;
    assert.ok(Math.abs(at(0, 2, 5) - 200) < 12 && Math.abs(at(2, 2, 5) - 40) < 12, `${at(0, 2, 5)}, ${at(2, 2, 5)}`);
    assert.ok(Math.abs(at(2, 13, 5) - 220) < 12 && Math.abs(at(0, 13, 5) - 30) < 12);
  });

  it('gives an ImageDecodeError naming the file for other formats and for broken files', () => {
    assert.throws(
      () => decodeImage(new TextEncoder().encode('GIF89a...'), { name: 'cat.gif' }),
      (e) => e instanceof ImageDecodeError && e.file === 'cat.gif' && /not a PNG or JPEG/.test(e.message),
    );
    const good = png(4, 4, () => [1, 2, 3, 255]);
    assert.throws(
      () => decodeImage(good.subarray(0, 40), { name: 'cut.png' }),
      (e) => e instanceof ImageDecodeError && /cut\.png/.test(e.message),
    );
    const bad = Uint8Array.from(good);
    bad[bad.length - 20] ^= 0xff; // inside the image data: its checksum no longer matches
    assert.throws(() => decodeImage(bad, { name: 'flipped.png' }), ImageDecodeError);
    const jpegBytes = jpg(8, 8, () => [0, 0, 0, 255]);
    assert.throws(
      () => decodeImage(jpegBytes.subarray(0, 30), { name: 'cut.jpg' }),
      (e) => e instanceof ImageDecodeError && /cut\.jpg/.test(e.message),
    );
  });
});

describe('fitImage', () => {
  it('resizes the shorter side and cuts out the centre', () => {
    // 3 channels, 4 high, 8 wide: the left half 0, the right half 1.
    const data = new Float32Array(3 * 4 * 8);
    for (let c = 0; c < 3; c++) for (let y = 0; y < 4; y++) for (let x = 4; x < 8; x++) data[c * 32 + y * 8 + x] = 1;
    const out = fitImage(tensor(data, { shape: [3, 4, 8] }), 2);
    assert.deepEqual(out.shape, [3, 2, 2]);
    // The shorter side 4 → 2 makes the image 2×4; its centre columns are the last of the left half and the first of the right.
    assert.deepEqual([...out.data.slice(0, 4)], [0, 1, 0, 1]);
  });

  it('averages blocks before shrinking more than twofold, so stripes become their mean instead of aliasing', () => {
    const data = new Float32Array(64 * 64);
    for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) data[y * 64 + x] = x % 2;
    const out = fitImage(tensor(data, { shape: [1, 64, 64] }), 8);
    for (const v of out.data) assert.ok(Math.abs(v - 0.5) < 1e-6, `${v}`);
  });
});

describe('imageFolder', () => {
  function makeFolder(dir: string): void {
    for (const [name, colour] of [
      ['red', [255, 0, 0, 255]],
      ['blue', [0, 0, 255, 255]],
    ] as const) {
      mkdirSync(`${dir}/${name}`, { recursive: true });
      for (let i = 0; i < 3; i++)
        writeFileSync(
          `${dir}/${name}/${i}.png`,
          png(6 + i, 5, () => [...colour]),
        );
      writeFileSync(
        `${dir}/${name}/photo.JPG`,
        jpg(10, 7, () => [...colour]),
      );
      writeFileSync(`${dir}/${name}/notes.txt`, 'not an image');
    }
  }

  it('reads class subfolders in sorted order, every PNG and JPEG, resized and cropped to size×size', () => {
    const { dir, cleanup } = tempDir('imagefolder');
    try {
      makeFolder(dir);
      const data = imageFolder(dir, { size: 4 });
      assert.deepEqual(data.classNames, ['blue', 'red']);
      assert.deepEqual(data.images.shape, [8, 3, 4, 4]);
      assert.equal(data.files.length, 8);
      const labels = [...(data.labels.data as Int32Array)];
      assert.deepEqual(labels, [0, 1, 0, 1, 0, 1, 0, 1]);
      data.files.forEach((f, i) => {
        assert.ok(f.includes(labels[i] === 0 ? '/blue/' : '/red/'));
        const blue = data.images.data[i * 48 + 2 * 16 + 5];
        const red = data.images.data[i * 48 + 5];
        assert.ok(labels[i] === 0 ? blue > 0.95 && red < 0.05 : red > 0.95 && blue < 0.05, `${f}: red ${red} blue ${blue}`);
      });
      const few = imageFolder(dir, { size: 3, limit: 3, channels: 1 });
      assert.deepEqual(few.images.shape, [3, 1, 3, 3]);
      assert.deepEqual([...(few.labels.data as Int32Array)], [0, 1, 0]);
    } finally {
      cleanup();
    }
  });

  it("with a trained model's classes, a folder may lack a class but may not add one", () => {
    const { dir, cleanup } = tempDir('imagefolder');
    try {
      makeFolder(dir);
      const data = imageFolder(dir, { size: 2, classNames: ['blue', 'green', 'red'] });
      assert.deepEqual([...new Set(data.labels.data as Int32Array)].sort(), [0, 2]);
      assert.throws(
        () => imageFolder(dir, { size: 2, classNames: ['blue'] }),
        (e) => e instanceof DataNotFoundError && /red.*not a class/.test(e.message),
      );
    } finally {
      cleanup();
    }
  });

  it('explains a folder without class subfolders, an empty class and an undecodable image', () => {
    const { dir, cleanup } = tempDir('imagefolder');
    try {
      assert.throws(() => imageFolder(`${dir}/nowhere`), DataNotFoundError);
      assert.throws(
        () => imageFolder(dir),
        (e) => e instanceof DataNotFoundError && /no class subfolders/.test(e.message),
      );
      mkdirSync(`${dir}/a`);
      mkdirSync(`${dir}/b`);
      writeFileSync(
        `${dir}/a/1.png`,
        png(2, 2, () => [0, 0, 0, 255]),
      );
      assert.throws(
        () => imageFolder(dir),
        (e) => e instanceof DataNotFoundError && /b holds no images/.test(e.message),
      );
      writeFileSync(`${dir}/b/broken.jpg`, 'this is no JPEG');
      assert.throws(
        () => imageFolder(dir, { size: 2 }),
        (e) => e instanceof ImageDecodeError && e.file.endsWith('broken.jpg'),
      );
    } finally {
      cleanup();
    }
  });
});
