import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CsvCellError, DataNotFoundError, loadCsv, parseCsv } from '../../src/data/index.js';
import { SerializationError, ValueError } from '../../src/index.js';

const IRIS_LIKE = `sepal_length,sepal_width,species
5.1,3.5,setosa
7.0,3.2,versicolor
6.3,3.3,virginica
4.9,3.0,setosa
`;

describe('parseCsv', () => {
  test('header, a named label column of class names, float32 features', () => {
    const { x, y, columns, classes } = parseCsv(IRIS_LIKE, { labelColumn: 'species' });
    assert.deepEqual(columns, ['sepal_length', 'sepal_width']);
    assert.deepEqual([...x.shape], [4, 2]);
    assert.equal(x.dtype, 'float32');
    assert.deepEqual(Array.from(x.data), [5.1, 3.5, 7.0, 3.2, 6.3, 3.3, 4.9, 3.0].map(Math.fround));
    // Classes are numbered in sorted order of their names.
    assert.deepEqual(classes, ['setosa', 'versicolor', 'virginica']);
    assert.equal(y?.dtype, 'int32');
    assert.deepEqual(Array.from(y!.data), [0, 1, 2, 0]);
  });

  test('integer labels give int32 classes, fractional labels float32 targets, labelDtype overrides', () => {
    const text = 'a,b,target\n1,2,0\n3,4,1\n';
    assert.equal(parseCsv(text, { labelColumn: -1 }).y?.dtype, 'int32');
    const reg = parseCsv('a,price\n1,2.5\n2,3\n', { labelColumn: 'price' });
    assert.equal(reg.y?.dtype, 'float32');
    assert.deepEqual(Array.from(reg.y!.data), [2.5, 3]);
    assert.equal(parseCsv(text, { labelColumn: 'target', labelDtype: 'float64' }).y?.dtype, 'float64');
    assert.throws(
      () => parseCsv(IRIS_LIKE, { labelColumn: 'species', labelDtype: 'float32' }),
      /row 2, column "species" \(index 2\): label "setosa" is not a number/,
    );
  });

  test('no label column: y is absent and every column is a feature', () => {
    const r = parseCsv('p,q\n1,2\n3,4\n', { dtype: 'float64' });
    assert.equal(r.y, undefined);
    assert.equal(r.x.dtype, 'float64');
    assert.deepEqual(r.x.toArray(), [
      [1, 2],
      [3, 4],
    ]);
  });

  test('columns picks and orders features by name or index', () => {
    const r = parseCsv('a,b,c,d\n1,2,3,4\n5,6,7,8\n', { columns: ['c', 0], labelColumn: 'd' });
    assert.deepEqual(r.columns, ['c', 'a']);
    assert.deepEqual(Array.from(r.x.data), [3, 1, 7, 5]);
    assert.deepEqual(Array.from(r.y!.data), [4, 8]);
    assert.throws(() => parseCsv('a,b\n1,2\n', { columns: ['a'], labelColumn: 'a' }), /also listed in columns/);
    assert.throws(
      () => parseCsv('a,b\n1,2\n', { columns: ['z'] }),
      (e: unknown) => e instanceof ValueError && /no column named "z"; the columns are "a", "b"/.test(e.message),
    );
  });

  test('no header, another delimiter, quoted cells, blank lines, CRLF, nan and inf', () => {
    const r = parseCsv('1;"2.5";0\r\n\r\n-3e2;nan;1\r\n4;-inf;0\r\n', { header: false, delimiter: ';', labelColumn: 2 });
    assert.deepEqual(r.columns, ['0', '1']);
    assert.deepEqual([...r.x.shape], [3, 2]);
    const v = Array.from(r.x.data);
    assert.deepEqual([v[0], v[1], v[2], v[4], v[5]], [1, 2.5, -300, 4, -Infinity]);
    assert.ok(Number.isNaN(v[3]));
    assert.deepEqual(Array.from(r.y!.data), [0, 1, 0]);
    assert.throws(() => parseCsv('1,2\n', { header: false, columns: ['a'] }), /without a header columns are referred to by index/);
  });

  test('spaces around cells and names are ignored; a quoted name may hold the delimiter', () => {
    const r = parseCsv('"width, cm" , y\n 1.5 , 2 \n', { labelColumn: 'y' });
    assert.deepEqual(r.columns, ['width, cm']);
    assert.deepEqual(Array.from(r.x.data), [1.5]);
    assert.deepEqual(Array.from(r.y!.data), [2]);
  });

  test('a non-numeric cell names its row (as a spreadsheet counts them) and column', () => {
    const text = 'a,b\n1,2\n3,abc\n';
    assert.throws(
      () => parseCsv(text),
      (e: unknown) =>
        e instanceof CsvCellError &&
        e instanceof SerializationError &&
        e.row === 3 &&
        e.column === 'b' &&
        /row 3, column "b" \(index 1\): "abc" is not a number/.test(e.message),
    );
    assert.throws(() => parseCsv('a,b\n1,\n'), /row 2, column "b" \(index 1\): the cell is empty/);
    // Number() would read these as 16 and 0; a data file means neither.
    assert.throws(() => parseCsv('a\n0x10\n'), /"0x10" is not a number/);
    assert.throws(
      () => parseCsv('5,x\n', { header: false }),
      (e: unknown) => e instanceof CsvCellError && e.row === 1 && e.column === '1',
    );
  });

  test('ragged rows and empty input are SerializationErrors', () => {
    assert.throws(
      () => parseCsv('a,b\n1,2\n3\n'),
      (e: unknown) => e instanceof SerializationError && /parseCsv: .*record length/i.test(e.message),
    );
    assert.throws(() => parseCsv(''), /no rows/);
  });
});

describe('loadCsv', () => {
  const dir = mkdtempSync(join(tmpdir(), 'neurite-csv-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('reads a file, or parses text that spans lines', () => {
    const path = join(dir, 'iris.csv');
    writeFileSync(path, IRIS_LIKE);
    const fromFile = loadCsv(path, { labelColumn: 'species' });
    const fromText = loadCsv(IRIS_LIKE, { labelColumn: 'species' });
    assert.deepEqual(Array.from(fromFile.x.data), Array.from(fromText.x.data));
    assert.deepEqual(Array.from(fromFile.y!.data), [0, 1, 2, 0]);
  });

  test('a missing file is a DataNotFoundError that mentions parseCsv for text', () => {
    const path = join(dir, 'nope.csv');
    assert.throws(
      () => loadCsv(path),
      (e: unknown) => e instanceof DataNotFoundError && e.tried[0] === path && /for CSV text use parseCsv/.test(e.message),
    );
  });
});
