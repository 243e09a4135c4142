// `neurite evaluate RUN`: a trained run's loss and accuracy on its test set.
import { evaluate, type LossName, predict } from '../../index.js';
import { choiceFlag, expectPositionals, type FlagSpec, intFlag, parseFlags, textFlag } from '../args.js';
import { BACKEND_CHOICES, selectBackend } from '../backend.js';
import { loadTestSet, shapeFor } from '../datasets.js';
import { EXIT, UsageError } from '../errors.js';
import { loadRunModel } from '../models.js';
import { isOnnxPath, loadOnnxRun } from '../onnx.js';
import { readRunConfig } from '../runs.js';
import { colorEnabled, palette, percent } from '../terminal.js';

export const EVALUATE_HELP = `Usage: neurite evaluate <run folder|model.onnx> [options]

Loads the trained model of a run (or an ONNX file) and prints its loss and
accuracy on the run's test set, with the accuracy of each class. An .onnx file
from "neurite export" knows its run's test set; one from another tool needs
--data unless it takes MNIST digits.

Options:
  --data PATH      evaluate on other data: a folder of MNIST IDX files, a CSV file,
                   or (photo models) a folder of class subfolders
  --limit N        use at most N test samples
  --backend NAME   native (default when built) or ref
  --json           print the results as JSON
  -h, --help       show this help`;

const FLAGS: FlagSpec = {
  data: { type: 'string' },
  limit: { type: 'string' },
  backend: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export async function evaluateCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseFlags('evaluate', args, FLAGS);
  if (values.help) {
    process.stdout.write(`${EVALUATE_HELP}\n`);
    return EXIT.ok;
  }
  const [runDir] = expectPositionals('evaluate', positionals, ['<run folder|model.onnx>']);
  const backend = selectBackend(choiceFlag(values, 'backend', BACKEND_CHOICES));
  const onnx = isOnnxPath(runDir);
  const { model, config } = onnx ? loadOnnxRun(runDir) : { model: await loadRunModel(runDir), config: readRunConfig(runDir) };
  if (onnx && config.data.dataset !== 'mnist' && values.data === undefined && config.data.path === null)
    throw new UsageError(`${runDir} does not say where its test data is; pass --data (a CSV file or a folder of class subfolders)`);
  const { split, description } = loadTestSet(config.data, textFlag(values, 'data') ?? null, intFlag(values, 'limit') ?? null);
  const x = shapeFor(split.x, config.model.input, config.data.dataset);
  const data = { x, y: split.y };
  const result = await evaluate(model, data, { loss: config.training.loss as LossName, metrics: ['accuracy'], batchSize: 1000 });

  // Per-class accuracy: which digits (or classes) the model gets wrong.
  const scores = await predict(model, x, { batchSize: 1000 });
  const classes = config.data.classes;
  const total = new Array<number>(classes).fill(0);
  const right = new Array<number>(classes).fill(0);
  const labels = split.y.data as Int32Array;
  const s = scores.data;
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (s[i * classes + c] > s[i * classes + best]) best = c;
    total[labels[i]]++;
    if (best === labels[i]) right[labels[i]]++;
  }
  const names = config.data.classNames ?? Array.from({ length: classes }, (_, c) => String(c));
  if (values.json) {
    const perClass = Object.fromEntries(names.map((n, c) => [n, total[c] > 0 ? right[c] / total[c] : null]));
    process.stdout.write(
      `${JSON.stringify({ loss: result.loss, accuracy: result.accuracy, samples: labels.length, perClass, backend: backend.name }, null, 2)}\n`,
    );
    return EXIT.ok;
  }
  const colors = palette(colorEnabled(process.stdout));
  if (backend.note) process.stdout.write(`${colors.yellow(`note: ${backend.note}`)}\n`);
  process.stdout.write(`${colors.bold('evaluate')} ${runDir} on ${description}\n`);
  process.stdout.write(`  accuracy ${colors.green(colors.bold(percent(result.accuracy)))}  loss ${result.loss.toFixed(4)}\n`);
  const width = Math.max(5, ...names.map((n) => n.length));
  process.stdout.write(`  ${'class'.padEnd(width)}  accuracy  samples\n`);
  names.forEach((n, c) => {
    if (total[c] > 0) process.stdout.write(`  ${n.padEnd(width)}  ${percent(right[c] / total[c]).padStart(8)}  ${String(total[c]).padStart(7)}\n`);
  });
  return EXIT.ok;
}
