// `neurite plot RUN`: redraw a run's learning curves from its history.json.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWriteFile } from '../../index.js';
import { expectPositionals, type FlagSpec, parseFlags, textFlag } from '../args.js';
import { EXIT, UsageError } from '../errors.js';
import { curvesSvg } from '../plot.js';
import { historyFromJSON, RUN_FILES, readJson, readRunConfig, runTitle } from '../runs.js';

export const PLOT_HELP = `Usage: neurite plot <run folder> [--out FILE]

Redraws the learning curves (loss and accuracy per epoch, train and validation)
from the run's history.json into curves.svg.

Options:
  --out FILE   write the SVG here instead of <run>/curves.svg ('-' for standard output)
  -h, --help   show this help`;

const FLAGS: FlagSpec = { out: { type: 'string' }, help: { type: 'boolean', short: 'h' } };

export async function plotCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseFlags('plot', args, FLAGS);
  if (values.help) {
    process.stdout.write(`${PLOT_HELP}\n`);
    return EXIT.ok;
  }
  const [runDir] = expectPositionals('plot', positionals, ['<run folder>']);
  const config = readRunConfig(runDir);
  const historyPath = join(runDir, RUN_FILES.historyJson);
  if (!existsSync(historyPath)) throw new UsageError(`${runDir} has no ${RUN_FILES.historyJson} yet: no epoch has finished`);
  const history = historyFromJSON(readJson(historyPath, 'history'));
  const svg = curvesSvg(history, runTitle(config));
  const target = textFlag(values, 'out') ?? join(runDir, RUN_FILES.curves);
  if (target === '-') process.stdout.write(svg);
  else {
    await atomicWriteFile(target, svg);
    process.stdout.write(`wrote ${target} (${history.length} epoch${history.length === 1 ? '' : 's'})\n`);
  }
  return EXIT.ok;
}
