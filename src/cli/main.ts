// The `neurite` command: dispatch to a subcommand, and turn what escapes into
// a message and an exit code (2 for usage and configuration mistakes, 1 for
// failures, 130 after Ctrl-C).
import { VERSION } from '../core/version.js';
import { diagramCommand } from './commands/diagram.js';
import { evaluateCommand } from './commands/evaluate.js';
import { exportCommand } from './commands/export.js';
import { launchCommand } from './commands/launch.js';
import { playgroundCommand } from './commands/playground.js';
import { plotCommand } from './commands/plot.js';
import { predictCommand } from './commands/predict.js';
import { summaryCommand } from './commands/summary.js';
import { trainCommand } from './commands/train.js';
import { tuneCommand } from './commands/tune.js';
import { workerCommand } from './commands/worker.js';
import { EXIT, UsageError } from './errors.js';
import { suggest } from './spec.js';
import { colorEnabled, palette } from './terminal.js';

const COMMANDS: Record<string, { run: (args: readonly string[]) => Promise<number>; about: string }> = {
  train: { run: trainCommand, about: 'train a preset or a model file and write a run folder' },
  launch: { run: launchCommand, about: 'train with several replicas: threads averaging gradients, Hogwild, or async Downpour SGD' },
  tune: { run: tuneCommand, about: 'a grid search of train options, trials on worker processes through a BullMQ queue' },
  worker: { run: workerCommand, about: 'join a launched job from another machine as one of its workers' },
  evaluate: { run: evaluateCommand, about: "a run's (or an .onnx file's) loss and accuracy on its test set (or other data)" },
  predict: { run: predictCommand, about: 'classify an image (PNG, JPEG, PGM), a folder of photos or the rows of a CSV file' },
  export: { run: exportCommand, about: 'write a run as an ONNX file' },
  summary: { run: summaryCommand, about: 'the layer table with output shapes and parameter counts' },
  diagram: { run: diagramCommand, about: 'an SVG drawing of the network' },
  plot: { run: plotCommand, about: "redraw a run's learning curves (curves.svg)" },
  playground: { run: playgroundCommand, about: 'serve the playground web app on 127.0.0.1 and print its URL' },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    'Usage: neurite <command> [options]',
    '',
    'Commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.about}`),
    '',
    'Examples:',
    '  neurite train lenet5                 LeNet-5 on MNIST (about 99% test accuracy)',
    '  neurite train mlp --epochs 5         a 784-128-10 perceptron',
    '  neurite train examples/models/small-cnn.json --limit 5000',
    '  neurite evaluate runs/lenet5-20250101-120000',
    '  neurite predict runs/lenet5-20250101-120000 digit.png',
    '  neurite summary lenet5',
    '  neurite launch --workers 2 train lenet5   two replicas, gradients averaged',
    '  neurite playground --open         the playground in your browser',
    '',
    'Run "neurite <command> --help" for its options.',
  ].join('\n');
}

/** Run the command line `args` (without node and the script); resolves to the exit code. */
/**
 * A reader that stops early (`neurite train xor | head -2`) closes the pipe;
 * Node then reports EPIPE on the next write. The command carries on without
 * its console output, so that the run still finishes and writes its files.
 */
function survivePipeClosed(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listenerCount('error') > 0) continue;
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
    });
  }
}

export async function main(args: readonly string[]): Promise<number> {
  survivePipeClosed();
  const [name, ...rest] = args;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    if (name === 'help' && rest[0] !== undefined && rest[0] in COMMANDS) return COMMANDS[rest[0]].run(['--help']);
    process.stdout.write(`${usage()}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`neurite ${VERSION}\n`);
    return EXIT.ok;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  const colors = palette(colorEnabled(process.stderr));
  try {
    if (!command) {
      const close = suggest(name, Object.keys(COMMANDS));
      throw new UsageError(`unknown command '${name}'${close ? ` (did you mean '${close}'?)` : ''}`, 'run "neurite --help" for the commands');
    }
    return await command.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${colors.red(colors.bold('error:'))} ${e.message}\n`);
      if (e.hint) process.stderr.write(`${colors.dim(e.hint)}\n`);
      return e.exitCode;
    }
    const err = e as Error;
    process.stderr.write(`${colors.red(colors.bold('error:'))} ${err?.message ?? String(e)}\n`);
    if (process.env.NEURITE_DEBUG && err?.stack) process.stderr.write(`${err.stack}\n`);
    return EXIT.failure;
  }
}
