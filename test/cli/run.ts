// Running the real `neurite` executable (bin/neurite.mjs) as a user would,
// with its output captured (so stdout is not a terminal), in temporary folders.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

/** bin/neurite.mjs, from dist/test/cli/ three levels up. */
export const BIN = fileURLToPath(new URL('../../../bin/neurite.mjs', import.meta.url));
export const EXAMPLES = fileURLToPath(new URL('../../../examples/models/', import.meta.url));

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Colour codes must not appear in captured output; the environment asks for none either way. */
const ENV = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '' };

/**
 * Start `neurite args` in `cwd`. `prefix` runs it through another command
 * (`ip netns exec NS` puts it on another "machine"); `env` adds to the
 * environment.
 */
export function start(
  args: readonly string[],
  cwd: string,
  { prefix = [], env = {} }: { prefix?: readonly string[]; env?: Record<string, string> } = {},
): { child: ChildProcess; result: Promise<RunResult>; stdout: () => string; stderr: () => string } {
  const command = [...prefix, process.execPath, BIN, ...args];
  const child = spawn(command[0], command.slice(1), { cwd, env: { ...ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const result = new Promise<RunResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, result, stdout: () => stdout, stderr: () => stderr };
}

export function neurite(args: readonly string[], cwd: string): Promise<RunResult> {
  return start(args, cwd).result;
}

/** A fresh temporary folder, removed by the returned function. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `neurite-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

/**
 * A PNG file of 8-bit samples (`channels` per pixel: 1 grey, 2 grey+alpha,
 * 3 RGB, 4 RGBA), each row with the given filter type (0-4) or cycling through
 * all five, optionally Adam7-interlaced: the encoder side of what the CLI decodes.
 */
export function encodePng(
  width: number,
  height: number,
  channels: 1 | 2 | 3 | 4,
  pixels: Uint8Array,
  options: { filter?: number | 'cycle'; interlace?: boolean } = {},
): Uint8Array {
  const colorType = { 1: 0, 2: 4, 3: 2, 4: 6 }[channels];
  const bpp = channels;
  let row = 0;
  const encodeImage = (w: number, h: number, at: (r: number, c: number, k: number) => number): number[] => {
    const out: number[] = [];
    let prev = new Uint8Array(w * bpp);
    for (let r = 0; r < h; r++) {
      const line = new Uint8Array(w * bpp);
      for (let c = 0; c < w; c++) for (let k = 0; k < bpp; k++) line[c * bpp + k] = at(r, c, k);
      const filter = options.filter === 'cycle' ? row++ % 5 : (options.filter ?? 0);
      out.push(filter);
      for (let i = 0; i < line.length; i++) {
        const a = i >= bpp ? line[i - bpp] : 0;
        const b = prev[i];
        const c = i >= bpp ? prev[i - bpp] : 0;
        const p = a + b - c;
        const pred = [
          0,
          a,
          b,
          (a + b) >> 1,
          Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c,
        ][filter];
        out.push((line[i] - pred) & 0xff);
      }
      prev = line;
    }
    return out;
  };
  const px = (r: number, c: number, k: number) => pixels[(r * width + c) * channels + k];
  let raw: number[];
  if (!options.interlace) raw = encodeImage(width, height, px);
  else {
    raw = [];
    for (const [x0, y0, dx, dy] of [
      [0, 0, 8, 8],
      [4, 0, 8, 8],
      [0, 4, 4, 8],
      [2, 0, 4, 4],
      [0, 2, 2, 4],
      [1, 0, 2, 2],
      [0, 1, 1, 2],
    ]) {
      const w = Math.ceil((width - x0) / dx);
      const h = Math.ceil((height - y0) / dy);
      if (w > 0 && h > 0) raw.push(...encodeImage(w, h, (r, c, k) => px(y0 + r * dy, x0 + c * dx, k)));
    }
  }
  const header = new Uint8Array(13);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  header.set([8, colorType, 0, 0, options.interlace ? 1 : 0], 8);
  const parts = [
    Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Uint8Array.from(raw))),
    chunk('IEND', new Uint8Array(0)),
  ];
  return Buffer.concat(parts);
}

/** A binary PGM (P5) file of 8-bit grey levels. */
export function encodePgm(width: number, height: number, pixels: Uint8Array): Uint8Array {
  return Buffer.concat([Buffer.from(`P5\n# written by the neurite tests\n${width} ${height}\n255\n`), pixels]);
}
