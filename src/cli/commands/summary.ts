// `neurite summary MODEL`: the layer table of a preset, a model file or a run.
import { nn } from '../../index.js';
import { expectPositionals, type FlagSpec, parseFlags, textFlag } from '../args.js';
import { EXIT, UsageError } from '../errors.js';
import { loadModelArg } from '../models.js';

export const SUMMARY_HELP = `Usage: neurite summary <preset|network|model.json|run folder> [--input SHAPE]

Prints each layer with its output shape and parameter count, and the totals.
A network is one of the canonical ones by torchvision's name (alexnet, vgg11 to
vgg19_bn, resnet18 to resnet152, googlenet), at 3×224×224 unless --input says.

Options:
  --input SHAPE   sample shape when the model does not say, e.g. 1,28,28
  -h, --help      show this help`;

const FLAGS: FlagSpec = { input: { type: 'string' }, help: { type: 'boolean', short: 'h' } };

/** A shape given on the command line: '1,28,28', '[1, 28, 28]' or '784'. */
export function parseShape(text: string, flag: string): number[] {
  const dims = text
    .replace(/[[\]\s]/g, '')
    .split(/[,x]/)
    .map(Number);
  if (dims.length === 0 || dims.some((d) => !Number.isInteger(d) || d < 1))
    throw new UsageError(`${flag} must be a sample shape such as 1,28,28 or 784, got ${JSON.stringify(text)}`);
  return dims;
}

export async function summaryCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseFlags('summary', args, FLAGS);
  if (values.help) {
    process.stdout.write(`${SUMMARY_HELP}\n`);
    return EXIT.ok;
  }
  const [modelArg] = expectPositionals('summary', positionals, ['<preset|model.json|run folder>']);
  const inputFlag = textFlag(values, 'input');
  const loaded = await loadModelArg(modelArg);
  const input = inputFlag !== undefined ? parseShape(inputFlag, '--input') : loaded.input;
  if (input === null) throw new UsageError(`${modelArg} does not record its input shape; pass --input, e.g. --input 1,28,28`);
  let table: nn.ModelSummary;
  try {
    table = nn.summary(loaded.model, input);
  } catch (e) {
    throw new UsageError(`cannot run a sample of shape [${input.join(', ')}] through ${loaded.name}: ${(e as Error).message}`);
  }
  process.stdout.write(`${table.toString()}\nInput: [N, ${input.join(', ')}]${loaded.trained ? ' (trained weights)' : ''}\n`);
  return EXIT.ok;
}
