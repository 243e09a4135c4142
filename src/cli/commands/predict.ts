// `neurite predict RUN INPUT`: classify an image or the rows of a CSV file
// with a trained run, printing the predicted class and the probabilities.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import {
  decodeImage as decodeColorImage,
  fitImage,
  IMAGE_EXTENSIONS,
  listImageFolder,
  loadCsv,
  NeuriteError,
  normalizeImages,
  predict,
  Tensor,
} from '../../index.js';
import { choiceFlag, expectPositionals, type FlagSpec, intFlag, parseFlags, textFlag } from '../args.js';
import { BACKEND_CHOICES, selectBackend } from '../backend.js';
import { asUnitPixels, imageOptions, standardize } from '../datasets.js';
import { EXIT, UsageError } from '../errors.js';
import { decodeImage, prepareDigit } from '../image.js';
import { loadRunModel } from '../models.js';
import { isOnnxPath, loadOnnxRun } from '../onnx.js';
import { type RunConfig, readRunConfig } from '../runs.js';
import { colorEnabled, palette, percent } from '../terminal.js';

export const PREDICT_HELP = `Usage: neurite predict <run folder|model.onnx> <image.png|image.jpg|image.pgm|rows.csv> [options]
       neurite predict <run folder|model.onnx> <folder of images>

Classifies an image (PNG, JPEG, or PGM/PPM) or every row of a CSV file with a
trained run and prints the predicted class with the class probabilities.

Runs of a network trained on an image folder take photos of any size (resized
and centre-cropped as in training), or a folder of them; a folder of class
subfolders also prints the accuracy.

An .onnx file written by "neurite export" carries its run's settings; one from
another tool is read by its input shape: [1, 28, 28] or [784] as an MNIST
model, [3, S, S] as a photo model (ImageNet normalisation), else CSV rows.

Images for MNIST models may be any size: a dark digit on a light background is
inverted, and the digit is cropped, scaled into 20x20 and centred in 28x28 as
MNIST's were (28x28 images are only inverted if needed). A CSV holds one sample
per row (pixel values 0-255 or 0-1 for MNIST models); a column named "label",
if present, is compared with the predictions.

Options:
  --top K             show the K most probable classes (default: all, at most 10)
  --raw               use a 28x28 image exactly as it is (no inversion or centring)
  --label-column C    the label column of a CSV (name or 0-based index)
  --backend NAME      native (default when built) or ref
  --json              print the predictions as JSON
  -h, --help          show this help`;

const FLAGS: FlagSpec = {
  top: { type: 'string' },
  raw: { type: 'boolean' },
  'label-column': { type: 'string' },
  backend: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

function softmaxRows(scores: Tensor): Float64Array[] {
  const [n, classes] = scores.shape;
  const d = scores.data;
  const rows: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < classes; c++) max = Math.max(max, d[i * classes + c]);
    const p = new Float64Array(classes);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += p[c] = Math.exp(d[i * classes + c] - max);
    for (let c = 0; c < classes; c++) p[c] /= sum;
    rows.push(p);
  }
  return rows;
}

interface Inputs {
  x: Tensor;
  labels: Int32Array | null;
  names: string[];
  notes: string[];
  /** Reasons the prediction may mean little (a blank image, a strip a digit cannot be). */
  warnings: string[];
}

/** The input must be a file (or, for image-folder runs, a folder): a missing path or a folder is a usage error (exit 2), not a crash. */
function checkInputFile(path: string, folderAllowed: boolean): void {
  let stats: ReturnType<typeof statSync>;
  try {
    stats = statSync(path);
  } catch {
    throw new UsageError(`predict: no file at ${path}`, 'give an image (PNG, PGM/PPM) or a CSV file of pixel rows');
  }
  if (stats.isDirectory() && !folderAllowed) throw new UsageError(`predict: ${path} is a folder`, 'give one image (PNG, PGM/PPM) or a CSV file of pixel rows');
}

/** Warnings about an image that cannot hold a digit: one flat colour, or a strip far from square. */
function imageWarnings(image: { width: number; height: number; data: Float32Array }, path: string): string[] {
  const warnings: string[] = [];
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of image.data) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (max - min < 1e-3) warnings.push(`${path} is blank (a single colour); the prediction means nothing`);
  const ratio = Math.max(image.width, image.height) / Math.min(image.width, image.height);
  if (ratio > 4) warnings.push(`${path} is ${image.width}x${image.height}, a strip rather than a digit; resizing it to 28x28 distorts it`);
  return warnings;
}

/** A run trained on an image folder: each picture resized and cropped as in training, then normalised with the run's statistics. */
function photoInputs(path: string, config: RunConfig): Inputs {
  const o = imageOptions(config.data.options);
  const files: string[] = [];
  let labels: Int32Array | null = null;
  if (statSync(path).isDirectory()) {
    // A folder of class subfolders gives labels (and an accuracy); otherwise its images are classified one by one.
    const hasSubfolders = readdirSync(path, { withFileTypes: true }).some((d) => d.isDirectory());
    if (hasSubfolders) {
      let listing: ReturnType<typeof listImageFolder>;
      try {
        listing = listImageFolder(path, { classNames: config.data.classNames });
      } catch (e) {
        if (e instanceof NeuriteError) throw new UsageError(e.message);
        throw e;
      }
      const l: number[] = [];
      listing.files.forEach((list, c) => {
        for (const f of list) {
          files.push(f);
          l.push(c);
        }
      });
      labels = Int32Array.from(l);
    } else {
      for (const d of readdirSync(path, { withFileTypes: true })) {
        if (d.isFile() && (IMAGE_EXTENSIONS as readonly string[]).includes(extname(d.name).toLowerCase())) files.push(join(path, d.name));
      }
      files.sort();
    }
    if (files.length === 0) throw new UsageError(`predict: ${path} holds no ${IMAGE_EXTENSIONS.join('/')} files`);
  } else files.push(path);
  const per = o.channels * o.size * o.size;
  const x = new Float32Array(files.length * per);
  files.forEach((file, i) => {
    let decoded: ReturnType<typeof decodeColorImage>;
    try {
      decoded = decodeColorImage(readFileSync(file), { channels: o.channels, name: file });
    } catch (e) {
      if (e instanceof NeuriteError) throw new UsageError(e.message);
      throw e;
    }
    x.set(normalizeImages(fitImage(decoded.image, o.size), o.mean, o.std).data as Float32Array, i * per);
  });
  return { x: new Tensor(x, [files.length, o.channels, o.size, o.size]), labels, names: files, notes: [], warnings: [] };
}

function imageInputs(path: string, config: RunConfig, raw: boolean): Inputs {
  const size = config.model.input.reduce((a, b) => a * b, 1);
  const image = decodeImage(readFileSync(path), path);
  if (raw) {
    if (image.width * image.height !== size)
      throw new UsageError(`${path} is ${image.width}x${image.height}, but the model takes ${size} values per sample; drop --raw to resize it`);
    return { x: new Tensor(image.data, [1, ...config.model.input]), labels: null, names: [path], notes: [], warnings: imageWarnings(image, path) };
  }
  if (size !== 784) throw new UsageError(`images can be classified by 28x28 (MNIST-style) models; this run's input is [${config.model.input.join(', ')}]`);
  const prepared = prepareDigit(image);
  return {
    x: new Tensor(prepared.image.data, [1, ...config.model.input]),
    labels: null,
    names: [path],
    notes: prepared.steps,
    warnings: imageWarnings(image, path),
  };
}

function csvInputs(path: string, config: RunConfig, labelColumn: string | undefined): Inputs {
  const size = config.model.input.reduce((a, b) => a * b, 1);
  const firstLine = readFileSync(path, 'utf8').split(/\r?\n/, 1)[0] ?? '';
  const cells = firstLine.split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
  const header = cells.some((c) => c !== '' && !Number.isFinite(Number(c)));
  let label: string | number | undefined;
  if (labelColumn !== undefined) label = /^\d+$/.test(labelColumn) ? Number(labelColumn) : labelColumn;
  else if (header && cells.some((c) => c.toLowerCase() === 'label')) label = cells.findIndex((c) => c.toLowerCase() === 'label');
  else if (cells.length === size + 1) label = cells.length - 1;
  let table: ReturnType<typeof loadCsv>;
  try {
    table = loadCsv(path, { header, labelColumn: label, labelDtype: config.data.classNames ? undefined : 'int32' });
  } catch (e) {
    if (e instanceof NeuriteError) throw new UsageError(`${path}: ${e.message}`);
    throw e;
  }
  if (table.x.shape[1] !== size) {
    throw new UsageError(
      `${path} has ${table.x.shape[1]} feature columns per row, but the model takes ${size} values per sample (input [${config.model.input.join(', ')}])`,
    );
  }
  let x = table.x;
  if (config.data.normalization) x = standardize(x, config.data.normalization);
  else if (config.data.dataset === 'mnist') x = asUnitPixels(x);
  let labels: Int32Array | null = null;
  if (table.y) {
    if (table.classes && config.data.classNames) {
      const index = new Map(config.data.classNames.map((n, i) => [n, i]));
      labels = Int32Array.from(table.y.data as Int32Array, (v) => index.get((table.classes as string[])[v]) ?? -1);
    } else labels = Int32Array.from(table.y.data as ArrayLike<number>);
  }
  const n = x.shape[0];
  return { x: x.reshape([n, ...config.model.input]), labels, names: Array.from({ length: n }, (_, i) => `row ${i + 1}`), notes: [], warnings: [] };
}

export async function predictCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseFlags('predict', args, FLAGS);
  if (values.help) {
    process.stdout.write(`${PREDICT_HELP}\n`);
    return EXIT.ok;
  }
  const [runDir, inputPath] = expectPositionals('predict', positionals, ['<run folder>', '<image|csv>']);
  const backend = selectBackend(choiceFlag(values, 'backend', BACKEND_CHOICES));
  const { model, config } = isOnnxPath(runDir) ? loadOnnxRun(runDir) : { model: await loadRunModel(runDir), config: readRunConfig(runDir) };
  checkInputFile(inputPath, config.data.dataset === 'images');
  const inputs =
    extname(inputPath).toLowerCase() === '.csv'
      ? csvInputs(inputPath, config, textFlag(values, 'label-column'))
      : config.data.dataset === 'images'
        ? photoInputs(inputPath, config)
        : imageInputs(inputPath, config, values.raw === true);
  const probabilities = softmaxRows(await predict(model, inputs.x, { batchSize: 1000 }));
  const classNames = config.data.classNames ?? Array.from({ length: config.data.classes }, (_, c) => String(c));
  const top = Math.min(classNames.length, intFlag(values, 'top') ?? Math.min(10, classNames.length));
  const ranked = probabilities.map((p) => Array.from(p.keys()).sort((a, b) => p[b] - p[a]));

  if (values.json) {
    // With --top, the K most probable classes, most probable first; without it, every class in class order.
    const topGiven = values.top !== undefined;
    const rows = probabilities.map((p, i) => ({
      input: inputs.names[i],
      predicted: classNames[ranked[i][0]],
      probability: p[ranked[i][0]],
      probabilities: Object.fromEntries(topGiven ? ranked[i].slice(0, top).map((c) => [classNames[c], p[c]]) : classNames.map((n, c) => [n, p[c]])),
      ...(inputs.warnings.length > 0 ? { warnings: inputs.warnings } : {}),
      ...(inputs.labels ? { label: classNames[inputs.labels[i]] ?? inputs.labels[i] } : {}),
    }));
    process.stdout.write(`${JSON.stringify(rows.length === 1 && !inputs.labels ? rows[0] : rows, null, 2)}\n`);
    return EXIT.ok;
  }
  const colors = palette(colorEnabled(process.stdout));
  for (const warning of inputs.warnings) process.stderr.write(`${colors.yellow(`warning: ${warning}`)}\n`);
  if (backend.note) process.stdout.write(`${colors.yellow(`note: ${backend.note}`)}\n`);
  for (const note of inputs.notes) process.stdout.write(colors.dim(`${note}\n`));
  const single = probabilities.length === 1;
  let correct = 0;
  probabilities.forEach((p, i) => {
    const best = ranked[i][0];
    const label = inputs.labels?.[i];
    const mark = label === undefined ? '' : label === best ? colors.green('  ✓') : colors.red(`  ✗ (label ${classNames[label] ?? label})`);
    if (label === best) correct++;
    process.stdout.write(`${inputs.names[i]}: predicted ${colors.bold(classNames[best])} (${percent(p[best])})${mark}\n`);
    if (single) {
      const width = Math.max(...classNames.map((n) => n.length));
      for (const c of ranked[i].slice(0, top)) {
        process.stdout.write(`  ${classNames[c].padStart(width)}  ${percent(p[c]).padStart(7)}  ${'█'.repeat(Math.round(p[c] * 30))}\n`);
      }
    }
  });
  if (inputs.labels) process.stdout.write(`accuracy ${percent(correct / probabilities.length)} (${correct}/${probabilities.length})\n`);
  return EXIT.ok;
}
