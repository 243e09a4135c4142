// Numeric tables from CSV text. csv-parse does the tokenising (quotes,
// delimiters, line endings); this file turns cells into tensors and explains
// precisely which cell it could not read. Reading files is in ./node.ts.
//
// csv-parse's Node build needs the global Buffer as soon as it is imported,
// which a browser lacks; its browser build carries its own, and runs on Node
// too (about 2x slower: ~2.5 s per million cells here), so one import serves both.
import { CsvError, parse } from 'csv-parse/browser/esm/sync';
import { SerializationError, ValueError } from '../core/errors.js';
import { Tensor } from '../core/tensor.js';

/** A cell that is not a number, with its position for programs that want to react. */
export class CsvCellError extends SerializationError {
  /** The class name as a literal, so that it survives minifiers that rename classes. */
  override name = 'CsvCellError';
  constructor(
    message: string,
    /** Row in the file, counted from 1 with the header row included, as a spreadsheet shows it. */
    readonly row: number,
    /** Column name (from the header) or, without a header, its index as a string. */
    readonly column: string,
  ) {
    super(message);
  }
}

/** How readCsv() and parseCsv() read a file. */
export interface CsvOptions {
  /** The first row names the columns (default true). */
  header?: boolean;
  /** Column holding the targets (name or 0-based index); it is left out of x. Without it, y is absent. */
  labelColumn?: string | number;
  /** Feature columns to keep, in this order (names or indices). Default: every column but the label. */
  columns?: readonly (string | number)[];
  /** Cell separator (default ','). */
  delimiter?: string;
  /** dtype of x (default float32). */
  dtype?: 'float32' | 'float64';
  /**
   * dtype of y. By default labels that are all integers, or not numbers at all
   * (class names, numbered in sorted order), give int32 class indices, and any
   * other numbers give float32 regression targets.
   */
  labelDtype?: 'int32' | 'float32' | 'float64';
}

/** A parsed CSV file: the header (if any) and the rows as a tensor. */
export interface CsvData {
  /** Features [rows, columns.length]. */
  x: Tensor;
  /** Targets [rows], when a labelColumn was given. */
  y?: Tensor;
  /** Names of the columns of x, in order (their indices as strings when the file has no header). */
  columns: string[];
  /** When labels were names: the name of each class index. */
  classes?: string[];
}

// Decimal numbers as spreadsheets and numpy write them, plus nan and inf;
// Number() alone would also read '' and ' ' as 0 and '0x1A' as 26.
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPECIAL: Record<string, number> = {
  nan: Number.NaN,
  inf: Infinity,
  '+inf': Infinity,
  '-inf': -Infinity,
  infinity: Infinity,
  '+infinity': Infinity,
  '-infinity': -Infinity,
};

function parseNumber(cell: string): number | undefined {
  const s = cell.trim();
  if (NUMBER.test(s)) return Number(s);
  return SPECIAL[s.toLowerCase()];
}

/**
 * Parse CSV text into a feature matrix and, optionally, a target vector. Every
 * feature cell must be a number: an empty or non-numeric cell throws a
 * CsvCellError naming its row and column.
 */
export function parseCsv(text: string, options: CsvOptions = {}): CsvData {
  if (typeof text !== 'string') throw new ValueError(`parseCsv: expected CSV text as a string, got ${typeof text}`);
  const header = options.header ?? true;
  const dtype = options.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float64') throw new ValueError(`parseCsv: dtype must be 'float32' or 'float64', got ${JSON.stringify(dtype)}`);
  const delimiter = options.delimiter ?? ',';
  if (typeof delimiter !== 'string' || delimiter.length === 0) throw new ValueError('parseCsv: delimiter must be a non-empty string');

  let records: string[][];
  try {
    records = parse(text, { delimiter, skip_empty_lines: true, trim: true, bom: true }) as string[][];
  } catch (e) {
    if (e instanceof CsvError) throw new SerializationError(`parseCsv: ${e.message}`);
    throw e;
  }
  if (records.length === 0) throw new SerializationError('parseCsv: the CSV text has no rows');
  const width = records[0].length;
  const names = header ? records[0] : Array.from({ length: width }, (_, i) => String(i));
  const body = header ? records.slice(1) : records;
  const firstRow = header ? 2 : 1;

  const resolve = (what: string, ref: string | number): number => {
    if (typeof ref === 'number') {
      if (!Number.isInteger(ref) || ref < -width || ref >= width) throw new ValueError(`parseCsv: ${what} index ${ref} is out of range for ${width} columns`);
      return ref < 0 ? ref + width : ref;
    }
    if (!header) throw new ValueError(`parseCsv: ${what} ${JSON.stringify(ref)} is a name, but without a header columns are referred to by index`);
    const i = names.indexOf(ref);
    if (i < 0) throw new ValueError(`parseCsv: no column named ${JSON.stringify(ref)}; the columns are ${names.map((n) => JSON.stringify(n)).join(', ')}`);
    return i;
  };
  const labelIndex = options.labelColumn === undefined ? -1 : resolve('labelColumn', options.labelColumn);
  const featureIndices = options.columns ? options.columns.map((c) => resolve('columns', c)) : names.map((_, i) => i).filter((i) => i !== labelIndex);
  if (featureIndices.includes(labelIndex)) throw new ValueError(`parseCsv: the label column ${JSON.stringify(names[labelIndex])} is also listed in columns`);

  const rows = body.length;
  const features = featureIndices.length;
  const x = dtype === 'float32' ? new Float32Array(rows * features) : new Float64Array(rows * features);
  const cellError = (r: number, c: number, detail: string): CsvCellError => {
    const row = firstRow + r;
    const column = header ? `column ${JSON.stringify(names[c])} (index ${c})` : `column ${c}`;
    return new CsvCellError(`parseCsv: row ${row}, ${column}: ${detail}`, row, names[c]);
  };
  for (let r = 0; r < rows; r++) {
    const record = body[r];
    for (let f = 0; f < features; f++) {
      const c = featureIndices[f];
      const cell = record[c];
      const v = parseNumber(cell);
      if (v === undefined) throw cellError(r, c, cell === '' ? 'the cell is empty' : `${JSON.stringify(cell)} is not a number`);
      x[r * features + f] = v;
    }
  }
  const result: CsvData = { x: new Tensor(x, [rows, features]), columns: featureIndices.map((c) => names[c]) };
  if (labelIndex >= 0) Object.assign(result, decodeLabels(body, labelIndex, options.labelDtype, cellError));
  return result;
}

function decodeLabels(
  body: string[][],
  column: number,
  labelDtype: CsvOptions['labelDtype'],
  cellError: (r: number, c: number, detail: string) => CsvCellError,
): { y: Tensor; classes?: string[] } {
  const cells = body.map((record) => record[column]);
  const values = cells.map(parseNumber);
  const numeric = values.every((v) => v !== undefined);
  if (labelDtype !== undefined && labelDtype !== 'int32' && labelDtype !== 'float32' && labelDtype !== 'float64') {
    throw new ValueError(`parseCsv: labelDtype must be 'int32', 'float32' or 'float64', got ${JSON.stringify(labelDtype)}`);
  }
  if (!numeric && labelDtype !== 'float32' && labelDtype !== 'float64') {
    const empty = cells.indexOf('');
    if (empty >= 0) throw cellError(empty, column, 'the label cell is empty');
    const classes = [...new Set(cells)].sort();
    const index = new Map(classes.map((name, i) => [name, i]));
    return {
      y: new Tensor(
        Int32Array.from(cells, (c) => index.get(c)!),
        [cells.length],
      ),
      classes,
    };
  }
  if (!numeric) {
    const r = values.indexOf(undefined);
    throw cellError(r, column, `label ${JSON.stringify(cells[r])} is not a number (labelDtype ${labelDtype})`);
  }
  const numbers = values as number[];
  const dtype = labelDtype ?? (numbers.every(Number.isInteger) ? 'int32' : 'float32');
  if (dtype === 'int32') {
    const r = numbers.findIndex((v) => !Number.isInteger(v) || Math.abs(v) > 2147483647);
    if (r >= 0) throw cellError(r, column, `label ${JSON.stringify(cells[r])} is not an int32 class index`);
  }
  const y = dtype === 'int32' ? Int32Array.from(numbers) : dtype === 'float32' ? Float32Array.from(numbers) : Float64Array.from(numbers);
  return { y: new Tensor(y, [numbers.length]) };
}
