// The command line's building blocks, in process: model files, presets,
// image decoding and preparation, plotting.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { drawValue, sampleAxis } from '../../src/cli/commands/tune.js';
import { cutFold } from '../../src/cli/datasets.js';
import { ConfigError, UsageError } from '../../src/cli/errors.js';
import { decodePng, decodePnm, prepareDigit } from '../../src/cli/image.js';
import { curvesSvg, niceTicks } from '../../src/cli/plot.js';
import { PRESETS } from '../../src/cli/presets.js';
import { buildModel, parseModelSpec } from '../../src/cli/spec.js';
import { Generator, History, seed, tensor } from '../../src/index.js';
import { EXAMPLES, encodePng } from './run.js';

function configError(doc: unknown, message: RegExp): void {
  assert.throws(
    () => buildModel(parseModelSpec(doc)),
    (e: unknown) => e instanceof ConfigError && message.test(e.message),
  );
}

test('every preset is in examples/models verbatim, and builds', () => {
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.json'));
  for (const [name, spec] of Object.entries(PRESETS)) {
    assert.ok(files.includes(`${name}.json`), `examples/models/${name}.json is missing`);
    assert.deepEqual(JSON.parse(readFileSync(join(EXAMPLES, `${name}.json`), 'utf8')), spec, `${name}.json differs from the preset`);
  }
  // Every example, presets or not, is a valid model file.
  for (const f of files) {
    seed(0);
    const built = buildModel(parseModelSpec(JSON.parse(readFileSync(join(EXAMPLES, f), 'utf8'))));
    assert.ok(built.model.countParameters() > 0, f);
  }
});

test('building infers input sizes and reports LeNet-5 parameter count', () => {
  seed(0);
  const built = buildModel(parseModelSpec(PRESETS.lenet5));
  assert.equal(built.model.countParameters(), 61706);
  assert.deepEqual(built.outputShape, [10]);
  // The second convolution reads the first one's 6 channels; the last Linear the 84 units before it.
  assert.equal(built.resolved.layers[3].inChannels, 6);
  assert.equal(built.resolved.layers[11].inFeatures, 84);
  assert.deepEqual(
    built.layers.map((l) => l.outputShape),
    [[6, 28, 28], [6, 28, 28], [6, 14, 14], [16, 10, 10], [16, 10, 10], [16, 5, 5], [400], [120], [120], [84], [84], [10]],
  );
});

test('configuration errors name the entry', () => {
  const mlp = (layers: unknown[], extra: Record<string, unknown> = {}) => ({ input: [784], layers, ...extra });
  configError(mlp([{ type: 'Linear', inFeatures: 400, outFeatures: 10 }]), /^layers\[0\] \(Linear\): expected input with last dimension 400, got 784 /);
  configError(mlp([{ type: 'Linear', outFeatures: 0 }]), /^layers\[0\] \(Linear\): outFeatures must be a positive integer, got 0$/);
  configError(mlp([{ type: 'Linear' }]), /^layers\[0\] \(Linear\): missing option "outFeatures"/);
  configError(
    mlp([{ type: 'Linear', outFeatures: 3, kernelSize: 3 }]),
    /^layers\[0\] \(Linear\): unknown option "kernelSize"; its options are inFeatures, outFeatures, bias, dtype$/,
  );
  configError(mlp([{ type: 'ReLU', slope: 1 }]), /^layers\[0\] \(ReLU\): unknown option "slope"; it takes no options$/);
  configError(
    mlp([{ type: 'Conv2d', outChannels: 4, kernelSize: 3 }]),
    /^layers\[0\] \(Conv2d\): needs samples shaped \[channels, height, width\], got \[N, 784\] from the input$/,
  );
  configError(
    {
      input: [1, 8, 8],
      layers: [
        { type: 'MaxPool2d', kernelSize: 2 },
        { type: 'Conv2d', outChannels: 2, kernelSize: 5 },
      ],
    },
    /^layers\[1\] \(Conv2d\): .*\(it receives \[N, 1, 4, 4\] from layers\[0\] \(MaxPool2d\)\)$/,
  );
  configError(mlp([{ type: 'Sequential' }]), /^layers\[0\]: Sequential cannot be nested/);
  configError(mlp([{ type: 'Dense', units: 3 }]), /^layers\[0\]: unknown layer type 'Dense'; the layer types are /);
  configError(mlp([{ outFeatures: 3 }]), /^layers\[0\]: missing "type"/);
  configError(mlp([]), /^layers must be a non-empty list/);
  configError({ layers: [{ type: 'ReLU' }] }, /^input is missing/);
  configError({ input: [0], layers: [{ type: 'ReLU' }] }, /^input must be the shape of one sample/);
  configError(mlp([{ type: 'ReLU' }], { trianing: {} }), /^unknown top-level key "trianing" \(did you mean 'training'\?\)/);
  configError(mlp([{ type: 'ReLU' }], { training: { lr: -1 } }), /^training\.lr must be a positive number, got -1$/);
  configError(mlp([{ type: 'ReLU' }], { training: { epoch: 3 } }), /^training\.epoch: unknown setting \(did you mean 'epochs'\?\)/);
  configError(
    {
      input: [28, 28],
      layers: [
        { type: 'LSTM', hiddenSize: 8 },
        { type: 'Linear', outFeatures: 10 },
      ],
    },
    /^layers\[1\] \(Linear\): layers\[0\] \(LSTM\) returns an \[output, state\] pair/,
  );
});

// 4x3 RGBA test card with every kind of pixel: opaque colours, grey, and transparent ones (shown over white).
const CARD = Uint8Array.from([
  255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 0, 0, 0, 255, 128, 128, 128, 255, 255, 255, 255, 255, 10, 20, 30, 0, 0, 0, 0, 128, 1, 2, 3, 255, 250, 240,
  230, 255, 60, 70, 80, 255, 90, 100, 110, 255,
]);

function cardGray(): number[] {
  const out: number[] = [];
  for (let i = 0; i < 12; i++) {
    const [r, g, b, a] = CARD.subarray(4 * i, 4 * i + 4);
    // luminance (ITU-R 601) composited over white by alpha
    const y = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
    out.push((a / 255) * y + (1 - a / 255));
  }
  return out;
}

test('PNG decoding: every row filter, interlacing, and alpha over white', () => {
  const expected = cardGray();
  for (const options of [{ filter: 0 }, { filter: 'cycle' as const }, { filter: 4 }, { filter: 'cycle' as const, interlace: true }]) {
    const img = decodePng(encodePng(4, 3, 4, CARD, options));
    assert.equal(img.width, 4);
    assert.equal(img.height, 3);
    Array.from(img.data).forEach((v, i) => {
      assert.ok(Math.abs(v - expected[i]) < 1e-6, `${JSON.stringify(options)} pixel ${i}: ${v} vs ${expected[i]}`);
    });
  }
  // A larger interlaced grey image, where all seven Adam7 passes are non-empty.
  const grey = Uint8Array.from({ length: 11 * 9 }, (_, i) => (i * 37) % 256);
  const img = decodePng(encodePng(11, 9, 1, grey, { filter: 'cycle', interlace: true }));
  assert.deepEqual(
    Array.from(img.data, (v) => Math.round(v * 255)),
    Array.from(grey),
  );
  assert.throws(() => decodePng(Uint8Array.from([1, 2, 3])), /not a PNG file/);
});

test('PGM decoding: plain and binary, comments, 16-bit', () => {
  const plain = decodePnm(new TextEncoder().encode('P2\n# a comment\n3 1\n4\n0 2 4\n'));
  assert.deepEqual(Array.from(plain.data), [0, 0.5, 1]);
  const wide = decodePnm(Uint8Array.from([...new TextEncoder().encode('P5 2 1 65535\n'), 0xff, 0xff, 0x80, 0x00]));
  assert.equal(wide.data[0], 1);
  assert.equal(wide.data[1], Math.fround(0x8000 / 65535));
  assert.throws(() => decodePnm(new TextEncoder().encode('P5 2 2 255\n\x01')), /truncated/);
});

test('prepareDigit: dark-on-light images are inverted, cropped into 20x20 and centred by mass', () => {
  // A 60x40 white canvas with a black 10x30 bar off-centre: a "1".
  const width = 60;
  const height = 40;
  const data = new Float32Array(width * height).fill(1);
  for (let r = 5; r < 35; r++) for (let c = 40; c < 50; c++) data[r * width + c] = 0;
  const { image, inverted } = prepareDigit({ width, height, data });
  assert.ok(inverted);
  assert.equal(image.width, 28);
  let mass = 0;
  let cy = 0;
  let cx = 0;
  let top = 28;
  let bottom = -1;
  image.data.forEach((v, i) => {
    mass += v;
    cy += v * Math.floor(i / 28);
    cx += v * (i % 28);
    if (v > 0.5) {
      top = Math.min(top, Math.floor(i / 28));
      bottom = Math.max(bottom, Math.floor(i / 28));
    }
  });
  // The bar's long side is scaled to 20 pixels, and its centre of mass sits at the middle of the 28x28 field.
  assert.equal(bottom - top + 1, 20);
  assert.ok(Math.abs(cy / mass - 13.5) <= 0.5 && Math.abs(cx / mass - 13.5) <= 0.5, `centre of mass (${cy / mass}, ${cx / mass})`);
  // A 28x28 white-on-black image is used as it is.
  const mnistLike = new Float32Array(784);
  mnistLike[300] = 1;
  const same = prepareDigit({ width: 28, height: 28, data: mnistLike });
  assert.equal(same.inverted, false);
  assert.deepEqual(same.image.data, mnistLike);
});

test('niceTicks: round steps covering the range', () => {
  assert.deepEqual(niceTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0.913, 0.987), [0.9, 0.92, 0.94, 0.96, 0.98, 1]);
  const flat = niceTicks(0.5, 0.5);
  assert.ok(flat[0] < 0.5 && flat[flat.length - 1] > 0.5);
});

test('a one-epoch curves.svg shows each value as a centred, labelled point', () => {
  // One epoch is one point per series: no curve can be drawn, so the point is centred and its value written beside it.
  const history = new History();
  history.record(0, { loss: 0.6031, accuracy: 0.721 });
  const svg = curvesSvg(history, 'one epoch');
  const circles = [...svg.matchAll(/<circle cx="([\d.]+)" cy="[\d.]+" r="5"/g)].map((m) => Number(m[1]));
  assert.equal(circles.length, 2);
  // The plot area spans x = 58 to 404: its centre is 231.
  for (const cx of circles) assert.equal(cx, 231);
  assert.match(svg, />0\.603</);
  assert.match(svg, />72\.1%</);
});

test("tune's random search draws: log-uniform spreads evenly over the exponents, int covers both ends, uniform stays in range", () => {
  const g = new Generator(3);
  const log = sampleAxis('lr=log:1e-4:1e-1');
  const lrs = Array.from({ length: 4000 }, () => Number(drawValue(log, g)));
  assert.ok(lrs.every((v) => v >= 1e-4 && v <= 1e-1));
  // Each decade holds about a third of a log-uniform draw over three decades.
  for (const [lo, hi] of [
    [1e-4, 1e-3],
    [1e-3, 1e-2],
    [1e-2, 1e-1],
  ]) {
    const share = lrs.filter((v) => v >= lo && v < hi).length / lrs.length;
    assert.ok(Math.abs(share - 1 / 3) < 0.03, `decade ${lo}: ${share}`);
  }
  const ints = new Set(Array.from({ length: 400 }, () => drawValue(sampleAxis('epochs=int:2:5'), g)));
  assert.deepEqual([...ints].sort(), ['2', '3', '4', '5']);
  const uniform = Array.from({ length: 4000 }, () => Number(drawValue(sampleAxis('momentum=uniform:0.5:0.9'), g)));
  assert.ok(uniform.every((v) => v >= 0.5 && v <= 0.9));
  const mean = uniform.reduce((a, b) => a + b, 0) / uniform.length;
  assert.ok(Math.abs(mean - 0.7) < 0.01, `mean ${mean}`);
  // The same seed gives the same stream of values.
  const a = new Generator(11);
  const b = new Generator(11);
  assert.deepEqual(
    Array.from({ length: 5 }, () => drawValue(log, a)),
    Array.from({ length: 5 }, () => drawValue(log, b)),
  );
  assert.throws(
    () => sampleAxis('lr=log:0.1:0.01'),
    (e: unknown) => e instanceof UsageError && /LOW < HIGH/.test(e.message),
  );
  assert.throws(
    () => sampleAxis('json=uniform:0:1'),
    (e: unknown) => e instanceof UsageError && /not a train option that a trial can vary/.test(e.message),
  );
});

test('cutFold: the K folds of one seed partition the pool (each sample validates once), sizes differ by at most one, labels stay with their samples', () => {
  const n = 23;
  const pool = { x: tensor(Float32Array.from({ length: n * 2 }, (_, i) => i)).reshape([n, 2]), y: tensor(Int32Array.from({ length: n }, (_, i) => i % 3)) };
  const k = 5;
  const seen = new Map<number, number>();
  const sizes: number[] = [];
  for (let f = 0; f < k; f++) {
    const { train, validation } = cutFold(pool, { index: f, count: k }, 7);
    const ids = (split: typeof train) => Array.from({ length: split.x.shape[0] }, (_, i) => (split.x.data as Float32Array)[2 * i] / 2);
    const valIds = ids(validation);
    const trainIds = ids(train);
    sizes.push(valIds.length);
    assert.equal(valIds.length + trainIds.length, n);
    assert.deepEqual(
      [...new Set([...valIds, ...trainIds])].sort((a, b) => a - b),
      Array.from({ length: n }, (_, i) => i),
    );
    for (const id of valIds) seen.set(id, (seen.get(id) ?? 0) + 1);
    // A sample's label travels with it.
    valIds.forEach((id, i) => {
      assert.equal((validation.y.data as Int32Array)[i], id % 3);
    });
  }
  assert.equal(seen.size, n);
  assert.ok([...seen.values()].every((c) => c === 1));
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `sizes ${sizes}`);
  // Another seed, another order; the same seed, the same folds.
  const a = cutFold(pool, { index: 0, count: k }, 7).validation.x.data;
  assert.deepEqual(cutFold(pool, { index: 0, count: k }, 7).validation.x.data, a);
  assert.notDeepEqual(cutFold(pool, { index: 0, count: k }, 8).validation.x.data, a);
  assert.throws(
    () => cutFold(pool, { index: 0, count: 30 }, 7),
    (e: unknown) => e instanceof ConfigError && /23 training samples cannot make 30 folds/.test(e.message),
  );
});
