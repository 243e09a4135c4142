// `neurite export RUN --onnx FILE`: a trained run as an ONNX file.
import { atomicWriteFile, OnnxError, toOnnx } from '../../index.js';
import { expectPositionals, type FlagSpec, parseFlags, textFlag } from '../args.js';
import { EXIT, UsageError } from '../errors.js';
import { loadRunModel } from '../models.js';
import { type OnnxRunInfo, RUN_METADATA_KEY } from '../onnx.js';
import { readRunConfig } from '../runs.js';

export const EXPORT_HELP = `Usage: neurite export <run folder> --onnx <file.onnx>

Writes the trained model of a run as an ONNX file (opset 17, a symbolic batch
axis, weights named as in the run's model.safetensors), for onnxruntime,
PyTorch and the other ONNX runtimes. The run's input shape, classes and
preprocessing go into the file's metadata, so "neurite predict file.onnx" and
"neurite evaluate file.onnx" work on it as on the run.

Options:
  --onnx FILE   the file to write (atomically)
  -h, --help    show this help`;

const FLAGS: FlagSpec = {
  onnx: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

export async function exportCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseFlags('export', args, FLAGS);
  if (values.help) {
    process.stdout.write(`${EXPORT_HELP}\n`);
    return EXIT.ok;
  }
  const [runDir] = expectPositionals('export', positionals, ['<run folder>']);
  const out = textFlag(values, 'onnx');
  if (out === undefined) throw new UsageError('export needs --onnx <file.onnx>, the file to write');
  const config = readRunConfig(runDir);
  const model = await loadRunModel(runDir);
  const info: OnnxRunInfo = { input: config.model.input, data: config.data, loss: config.training.loss };
  let bytes: Uint8Array;
  try {
    bytes = toOnnx(model, { inputShape: config.model.input, name: config.model.name ?? 'model', metadata: { [RUN_METADATA_KEY]: JSON.stringify(info) } });
  } catch (e) {
    if (e instanceof OnnxError) throw new UsageError(e.message);
    throw e;
  }
  await atomicWriteFile(out, bytes);
  process.stdout.write(`wrote ${out} (${bytes.length.toLocaleString('en-US')} bytes, ONNX opset 17, input [N, ${config.model.input.join(', ')}])\n`);
  return EXIT.ok;
}
