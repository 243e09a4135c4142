// `neurite diagram MODEL`: draw the network as an SVG.
import { basename, extname, join } from 'node:path';
import { atomicWriteFile, type nn } from '../../index.js';
import { choiceFlag, expectPositionals, type FlagSpec, parseFlags, textFlag } from '../args.js';
import { canDrawUnits, type DiagramStyle, diagramSvg } from '../diagram.js';
import { EXIT, UsageError } from '../errors.js';
import { isNetworkName, loadModelArg, resolveModelArg } from '../models.js';
import { RUN_FILES } from '../runs.js';
import { parseShape } from './summary.js';

export const DIAGRAM_HELP = `Usage: neurite diagram <preset|network|model.json|run folder> [options]

Draws the network as an SVG: units and connections for fully connected
networks (as in the lecture notes' diagrams), one box per layer otherwise;
graph models, ResNets (shortcuts) and GoogLeNet (Inception branches) as graphs.
A network is one of the canonical ones by torchvision's name (resnet18, ...).

Options:
  --out FILE      where to write (default: diagram.svg in a run folder, else <name>.svg; '-' for standard output)
  --style STYLE   auto (default), units or boxes
  --input SHAPE   sample shape when the model does not say, e.g. 1,28,28
  -h, --help      show this help`;

const FLAGS: FlagSpec = { out: { type: 'string' }, style: { type: 'string' }, input: { type: 'string' }, help: { type: 'boolean', short: 'h' } };

export async function diagramCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseFlags('diagram', args, FLAGS);
  if (values.help) {
    process.stdout.write(`${DIAGRAM_HELP}\n`);
    return EXIT.ok;
  }
  const [modelArg] = expectPositionals('diagram', positionals, ['<preset|model.json|run folder>']);
  const style: DiagramStyle = choiceFlag(values, 'style', ['auto', 'units', 'boxes'] as const) ?? 'auto';
  const network = isNetworkName(modelArg);
  const source = network ? null : resolveModelArg(modelArg, { allowRuns: true, allowArchitecture: true });
  const loaded = await loadModelArg(modelArg);
  const inputFlag = textFlag(values, 'input');
  const input = inputFlag !== undefined ? parseShape(inputFlag, '--input') : loaded.input;
  if (input === null) throw new UsageError(`${modelArg} does not record its input shape; pass --input, e.g. --input 1,28,28`);
  if (style === 'units' && !canDrawUnits(loaded.model, input)) {
    throw new UsageError(`${loaded.name} has layers other than Linear and activations; draw it with --style boxes (or auto)`);
  }
  // The canonical networks (ResNet, GoogLeNet) offer themselves as a graph over the same layers, so the
  // drawing shows their shortcuts and Inception branches rather than one box per layer in call order.
  const graphView = (loaded.model as { graph?: (input: readonly number[]) => nn.Model }).graph;
  const drawnModel = style !== 'units' && typeof graphView === 'function' ? graphView.call(loaded.model, input) : loaded.model;
  const { svg, style: drawn } = diagramSvg(drawnModel, input, loaded.name, style);
  const stem = !source
    ? modelArg
    : source.kind === 'spec' && source.preset
      ? source.preset
      : source.kind === 'run'
        ? ''
        : basename(source.kind === 'spec' ? (source.file as string) : source.file, extname(modelArg));
  const target = textFlag(values, 'out') ?? (source?.kind === 'run' ? join(source.dir, RUN_FILES.diagram) : `${stem || 'model'}.svg`);
  if (target === '-') process.stdout.write(svg);
  else {
    await atomicWriteFile(target, svg);
    process.stdout.write(`wrote ${target} (${drawn === 'units' ? 'units and connections' : 'one box per layer'})\n`);
  }
  return EXIT.ok;
}
