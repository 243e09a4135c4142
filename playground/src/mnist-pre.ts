// A drawing turned into an MNIST-style image. Pure: the page uses it (without
// neurite), and the tests check it in Node.

/**
 * A drawing as MNIST's preprocessing would give it: the ink's bounding box
 * scaled to fit 20×20 (keeping its aspect), then placed so that its centre of
 * mass sits at the centre of the 28×28 image. `ink` is a square greyscale
 * image of any size, values in [0, 1].
 */
export function toMnist(ink: Float32Array, size: number): Float32Array {
  let top = size;
  let left = size;
  let bottom = -1;
  let right = -1;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      if (ink[y * size + x] > 0.05) {
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
        left = Math.min(left, x);
        right = Math.max(right, x);
      }
  const out = new Float32Array(784);
  if (bottom < 0) return out;
  const h = bottom - top + 1;
  const w = right - left + 1;
  const scale = 20 / Math.max(h, w);
  // Area-average the box into a (w·scale)×(h·scale) patch.
  const pw = Math.max(1, Math.round(w * scale));
  const ph = Math.max(1, Math.round(h * scale));
  const patch = new Float32Array(pw * ph);
  for (let py = 0; py < ph; py++)
    for (let px = 0; px < pw; px++) {
      const y0 = top + (py * h) / ph;
      const y1 = top + ((py + 1) * h) / ph;
      const x0 = left + (px * w) / pw;
      const x1 = left + ((px + 1) * w) / pw;
      let sum = 0;
      let count = 0;
      for (let y = Math.floor(y0); y < Math.ceil(y1); y++)
        for (let x = Math.floor(x0); x < Math.ceil(x1); x++) {
          sum += ink[y * size + x];
          count++;
        }
      patch[py * pw + px] = count > 0 ? sum / count : 0;
    }
  let mass = 0;
  let cy = 0;
  let cx = 0;
  for (let y = 0; y < ph; y++)
    for (let x = 0; x < pw; x++) {
      const v = patch[y * pw + x];
      mass += v;
      cy += v * y;
      cx += v * x;
    }
  const oy = Math.round(14 - (mass > 0 ? cy / mass : ph / 2));
  const ox = Math.round(14 - (mass > 0 ? cx / mass : pw / 2));
  for (let y = 0; y < ph; y++)
    for (let x = 0; x < pw; x++) {
      const ty = y + oy;
      const tx = x + ox;
      if (ty >= 0 && ty < 28 && tx >= 0 && tx < 28) out[ty * 28 + tx] = Math.min(1, patch[y * pw + x]);
    }
  return out;
}
