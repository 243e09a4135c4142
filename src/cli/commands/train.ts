// `neurite train <preset|model.json>` and `neurite train --resume RUN`.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type DistributedStrategy, distributed, evaluate, type LossName, models, NeuriteError, type nn, restoreCheckpoint, saveModel } from '../../index.js';
import { choiceFlag, expectPositionals, type FlagSpec, intFlag, numberFlag, type Parsed, parseFlags, textFlag } from '../args.js';
import { BACKEND_CHOICES, openGpuForTraining, selectBackend } from '../backend.js';
import {
  type DataConfig,
  defaultValidationSplit,
  imageClasses,
  type LoadedData,
  loadData,
  resolveDataset,
  shapeFor,
  type ValidationFold,
} from '../datasets.js';
import { ConfigError, EXIT, UsageError } from '../errors.js';
import { buildFromSpec, isNetworkName, type ModelSource, networkEntry, resolveModelArg } from '../models.js';
import {
  defaultRunFolder,
  historyFromJSON,
  isNonEmptyFolder,
  isUnstartedRun,
  parseRunConfig,
  RUN_FILES,
  RUN_FORMAT,
  RUN_FORMAT_VERSION,
  type RunConfig,
  type RunResults,
  readRunConfigFile,
  removeStaleTemporaries,
  runTitle,
  type TrainingConfig,
  writeJson,
} from '../runs.js';
import type { BuiltModel, ModelSpec } from '../spec.js';
import { colorEnabled, formatDuration, ProgressDisplay, palette, percent } from '../terminal.js';
import { freshProgress, LOSSES, makeOptimizer, OPTIMIZERS, type Progress, runTraining, writeHistoryFiles } from '../training.js';

const NETWORK_LIST = models.MODEL_NAMES.filter((n) => n !== 'lenet5').join(', ');
const FREEZE_POLICIES = ['all', 'most', 'none'] as const;

export const TRAIN_HELP = `Usage: neurite train <preset|model.json> [options]
       neurite train <network> --data <image folder> [--weights FILE] [options]
       neurite train --resume <run folder> [--epochs N]

Trains a model, prints its test accuracy and writes a run folder.

Presets: lenet5 (LeNet-5 on MNIST), mlp (784-128-10 on MNIST), xor, spiral,
lstm (sequential MNIST: an LSTM reads each digit row by row).
A model file is a JSON list of layers; see examples/models/.
Networks (torchvision's names): ${NETWORK_LIST}; they train on
a folder of class subfolders (photos/cat/*.jpg, photos/dog/*.png), or on one
holding train/ and val/ (or test/) folders of class subfolders.

Options:
  --epochs N          epochs to train (with --resume: the new total)
  --batch-size N      samples per batch
  --lr X              learning rate
  --optimizer NAME    ${OPTIMIZERS.join(', ')}
  --momentum X        momentum (sgd, rmsprop)
  --weight-decay X    L2 weight decay
  --seed N            random seed for weights and batch order (default 42)
  --data PATH         a folder with the MNIST IDX files, or a CSV file (label column: "label" or the last one)
  --out DIR           run folder (default runs/<model>-<timestamp>)
  --resume DIR        continue an interrupted run from its checkpoint
  --limit N           train on at most N samples (quick runs)
  --test-limit N      evaluate on at most N test samples
  --val-split F       fraction of the training data held out for validation
  --val-fold I/K      k-fold cross-validation: fold I of K (1 to K) is the validation set,
                      the other folds train (instead of --val-split; --limit caps the pool)
  --schedule NAME     learning rate over the epochs: constant or cosine (lr down to 0)
  --backend NAME      native (default when built), wasm, ref, or webgpu: the training
                      steps on the GPU (compiled; eager work on the default backend)
  --compile           compile the training step (record it once, replay it; the same
                      numbers, less time per step); kept for this session only
  --image-size N      networks: the side images are resized and cropped to (default 224)
  --weights FILE      networks: start from pretrained weights (safetensors, torchvision's
                      names); a head for another number of classes is replaced
  --freeze POLICY     with --weights: all (train the head only; default), most
                      (the last quarter of the layers too) or none
  --json              print one JSON summary (run folder, test accuracy, files) instead of progress lines
  -h, --help          show this help

Ctrl-C stops after the current batch and saves checkpoint.safetensors; --resume continues from it.`;

export const TRAIN_FLAGS: FlagSpec = {
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  optimizer: { type: 'string' },
  momentum: { type: 'string' },
  'weight-decay': { type: 'string' },
  seed: { type: 'string' },
  data: { type: 'string' },
  out: { type: 'string' },
  resume: { type: 'string' },
  limit: { type: 'string' },
  'test-limit': { type: 'string' },
  'val-split': { type: 'string' },
  'val-fold': { type: 'string' },
  schedule: { type: 'string' },
  backend: { type: 'string' },
  compile: { type: 'boolean' },
  'image-size': { type: 'string' },
  weights: { type: 'string' },
  freeze: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const DEFAULT_SEED = 42;
const DEFAULTS = { optimizer: 'adam', lr: 1e-3, momentum: 0, weightDecay: 0, batchSize: 32, epochs: 10, loss: 'crossEntropy' };
/** Flags that change what is trained, which a resumed run must keep as they were. */
const FIXED_ON_RESUME = [
  'batch-size',
  'lr',
  'optimizer',
  'momentum',
  'weight-decay',
  'seed',
  'data',
  'out',
  'limit',
  'test-limit',
  'val-split',
  'val-fold',
  'schedule',
  'image-size',
  'weights',
  'freeze',
];

function trainingConfig(spec: ModelSpec, values: Parsed['values']): TrainingConfig {
  const d = spec.training ?? {};
  const optimizer = (choiceFlag(values, 'optimizer', OPTIMIZERS) ?? d.optimizer ?? DEFAULTS.optimizer).toLowerCase();
  if (!(OPTIMIZERS as readonly string[]).includes(optimizer)) {
    throw new ConfigError(`training.optimizer: unknown optimizer '${optimizer}'; the optimizers are ${OPTIMIZERS.join(', ')}`, 'training.optimizer');
  }
  const loss = d.loss ?? DEFAULTS.loss;
  const normalized = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, '');
  const lossName = LOSSES.find((l) => normalized(l) === normalized(loss));
  if (lossName === undefined) {
    throw new ConfigError(`training.loss: '${loss}' is not a classification loss for class labels; use one of ${LOSSES.join(', ')}`, 'training.loss');
  }
  return {
    optimizer,
    lr: numberFlag(values, 'lr', (v) => v > 0, 'a positive number') ?? d.lr ?? DEFAULTS.lr,
    momentum: numberFlag(values, 'momentum', (v) => v >= 0 && v < 1, 'a number in [0, 1)') ?? d.momentum ?? DEFAULTS.momentum,
    weightDecay: numberFlag(values, 'weight-decay', (v) => v >= 0, 'a number >= 0') ?? d.weightDecay ?? DEFAULTS.weightDecay,
    batchSize: intFlag(values, 'batch-size') ?? d.batchSize ?? DEFAULTS.batchSize,
    epochs: intFlag(values, 'epochs') ?? d.epochs ?? DEFAULTS.epochs,
    loss: lossName,
    seed: intFlag(values, 'seed', 0) ?? DEFAULT_SEED,
    augment: d.augment ? { shift: d.augment.shift ?? 0, rotate: d.augment.rotate ?? 0 } : null,
    schedule: choiceFlag(values, 'schedule', ['constant', 'cosine'] as const) ?? (d.schedule as 'constant' | 'cosine' | undefined) ?? 'constant',
  };
}

/** A canonical network as a one-layer model file over the images of --data, its head sized to their classes. */
function networkModel(name: models.ModelName, values: Parsed['values']): { spec: ModelSpec; weights: string | null; freeze: models.FreezePolicy } {
  const dataPath = textFlag(values, 'data');
  if (dataPath === undefined)
    throw new UsageError(`${name} trains on images: pass --data with a folder of class subfolders`, 'e.g. photos/cat/*.jpg and photos/dog/*.png');
  if (!existsSync(dataPath) || !statSync(dataPath).isDirectory())
    throw new UsageError(`--data ${dataPath}: no such folder (${name} trains on a folder of class subfolders)`);
  const size = intFlag(values, 'image-size') ?? models.IMAGENET.crop;
  const classes = imageClasses(dataPath);
  const weights = textFlag(values, 'weights') ?? null;
  if (weights !== null && !existsSync(weights))
    throw new UsageError(`--weights ${weights}: no such file`, 'see docs/models.md for the one-line PyTorch export');
  const freezeFlag = choiceFlag(values, 'freeze', FREEZE_POLICIES);
  if (freezeFlag !== undefined && weights === null)
    throw new UsageError('--freeze keeps pretrained layers fixed, so it needs --weights', 'without --weights every layer is trained from scratch');
  const spec: ModelSpec = {
    name,
    description: `${name} (torchvision's architecture) on the images of ${dataPath}`,
    input: [3, size, size],
    dataset: { name: 'images', size, channels: 3, mean: [...models.IMAGENET.mean], std: [...models.IMAGENET.std] },
    layers: [{ ...networkEntry(name), numClasses: classes.length }],
  };
  return { spec, weights: weights === null ? null : resolve(weights), freeze: freezeFlag ?? (weights === null ? 'none' : 'all') };
}

/** The network inside a one-layer model (what --weights and --freeze act on). */
function networkOf(model: nn.Sequential): nn.Module {
  return model.children()[0];
}

/** The samples shaped for the model, and a check that the last layer has one output per class. */
function fitDataToModel(data: LoadedData, built: BuiltModel, spec: ModelSpec, datasetName: string): LoadedData {
  const input = spec.input;
  const shaped = {
    ...data,
    train: { x: shapeFor(data.train.x, input, datasetName), y: data.train.y },
    validation: data.validation && { x: shapeFor(data.validation.x, input, datasetName), y: data.validation.y },
    test: { x: shapeFor(data.test.x, input, datasetName), y: data.test.y },
  };
  const out = built.outputShape;
  if (out.length !== 1 || out[0] !== data.classes) {
    const i = built.layers.length - 1;
    const lastLayer = built.layers[i];
    const fix = lastLayer.entry.type === 'Linear' ? `; set "outFeatures": ${data.classes}` : '; end the model with a Linear layer of one output per class';
    throw new ConfigError(
      `layers[${i}] (${lastLayer.entry.type}): the model outputs [N, ${out.join(', ')}] but ${datasetName} has ${data.classes} classes, so it must output [N, ${data.classes}]${fix}`,
      `layers[${i}]`,
    );
  }
  return shaped;
}

/** An image-folder dataset takes its image side and channels from the model's input unless the model file says. */
function withImageShape(
  dataset: { name: string; options: Record<string, unknown> },
  input: readonly number[],
): { name: string; options: Record<string, unknown> } {
  if (dataset.name !== 'images' || input.length !== 3) return dataset;
  return { name: dataset.name, options: { size: input[2], channels: input[0], ...dataset.options } };
}

/** Run fn, putting the model file's path in front of the configuration errors that concern it. */
function inModelFile<T>(file: string | null, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ConfigError && file !== null && /^(layers|training|input|dataset)/.test(e.path ?? ''))
      throw new ConfigError(`${file}: ${e.message}`, e.path, e.hint);
    throw e;
  }
}

function printHeader(out: (line: string) => void, lines: [string, string][], bold: (s: string) => string): void {
  for (const [key, value] of lines) out(`  ${bold(key.padEnd(9))} ${value}`);
}

function describeSize(model: nn.Module, layers: number | null): string {
  const all = model.countParameters();
  const trainable = model.countParameters(true);
  const count = `${all.toLocaleString('en-US')} parameters${trainable < all ? ` (${trainable.toLocaleString('en-US')} trainable)` : ''}`;
  return layers === null ? count : `${count}, ${layers} layers`;
}

function describeTraining(t: TrainingConfig, backend: string): string {
  const opt = [`${t.optimizer} lr ${t.lr}`];
  if ((t.optimizer === 'sgd' || t.optimizer === 'rmsprop') && t.momentum > 0) opt.push(`momentum ${t.momentum}`);
  if (t.weightDecay > 0) opt.push(`weight decay ${t.weightDecay}`);
  if (t.schedule !== 'constant') opt.push(`(${t.schedule} schedule)`);
  if (t.freeze && t.freeze !== 'none') opt.push(`freeze ${t.freeze}`);
  const aug = t.augment ? `, augment shift ${t.augment.shift} rotate ${t.augment.rotate}` : '';
  return `${opt.join(' ')}, batch ${t.batchSize}, ${t.epochs} epoch${t.epochs === 1 ? '' : 's'}, seed ${t.seed}${aug}, backend ${backend}`;
}

/**
 * `neurite train`: returns the exit code. As one replica of a
 * `neurite launch` job (`replica`), it trains its share of the data with the
 * others; only rank 0 prints and writes the run folder.
 */
export async function trainCommand(args: readonly string[], replica?: DistributedStrategy): Promise<number> {
  const { values, positionals } = parseFlags('train', args, TRAIN_FLAGS);
  if (values.help) {
    process.stdout.write(`${TRAIN_HELP}\n`);
    return EXIT.ok;
  }
  const lead = (replica?.rank ?? 0) === 0;
  const resumeDir = textFlag(values, 'resume');
  if (resumeDir !== undefined) return resume(resumeDir, values, positionals, replica);
  const [modelArg] = expectPositionals('train', positionals, ['<preset|model.json|network>']);
  const network = isNetworkName(modelArg) ? networkModel(modelArg as models.ModelName, values) : null;
  if (network === null) {
    for (const flag of ['image-size', 'weights', 'freeze']) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} is for the networks (${NETWORK_LIST}), not ${modelArg}`);
    }
  }
  const source: ModelSource = network ? { kind: 'spec', spec: network.spec, preset: null, file: null } : resolveModelArg(modelArg);
  if (source.kind !== 'spec') throw new UsageError(`${modelArg}: train needs a preset, a model file or a network`);
  const spec = source.spec;

  const training = inModelFile(source.file, () => trainingConfig(spec, values));
  if (network) {
    training.weights = network.weights;
    training.freeze = network.freeze;
  }
  const backend = selectBackend(choiceFlag(values, 'backend', BACKEND_CHOICES));
  const gpu = backend.name === 'webgpu' ? await openGpuForTraining() : null;
  const built = buildFromSpec(spec, source.file, training.seed);
  if (network?.weights) {
    try {
      await models.loadBackbone(networkOf(built.model), network.weights);
    } catch (e) {
      if (e instanceof NeuriteError) throw new UsageError(`--weights: ${e.message}`);
      throw e;
    }
  }
  if (training.freeze && training.freeze !== 'none') models.freezeBackbone(networkOf(built.model), training.freeze);
  const dataPath = textFlag(values, 'data') ?? null;
  const dataset = withImageShape(resolveDataset(spec.dataset, dataPath), spec.input);
  const dataConfig: DataConfig = {
    dataset: dataset.name,
    path: dataPath === null ? null : resolve(dataPath),
    options: dataset.options,
    limit: intFlag(values, 'limit') ?? null,
    testLimit: intFlag(values, 'test-limit') ?? null,
    validationSplit:
      numberFlag(values, 'val-split', (v) => v >= 0 && v < 1, 'a fraction in [0, 1)') ?? spec.training?.validationSplit ?? defaultValidationSplit(dataset.name),
    seed: training.seed,
    validationFold: foldFlag(values),
  };
  const loaded = loadData(dataConfig);
  const data = inModelFile(source.file, () => fitDataToModel(loaded, built, spec, dataset.name));
  const optimizer = inModelFile(source.file, () => makeOptimizer(training, built.model.trainableParameters()));
  const modelName = spec.name ?? source.preset ?? 'model';

  // Everything is checked: only now is anything written.
  const outFlag = textFlag(values, 'out');
  if (replica && outFlag === undefined) throw new UsageError('a replica of a launched job needs --out (neurite launch passes it)');
  const runDir = outFlag ?? defaultRunFolder(modelName);
  if (lead && isNonEmptyFolder(runDir) && !isUnstartedRun(runDir)) {
    throw new UsageError(
      `--out ${runDir} already exists and is not empty; refusing to overwrite it`,
      `choose another --out, or continue that run with "neurite train --resume ${runDir}"`,
    );
  }
  if (lead) {
    mkdirSync(runDir, { recursive: true });
    removeStaleTemporaries(runDir);
  }
  const config: RunConfig = {
    format: RUN_FORMAT,
    formatVersion: RUN_FORMAT_VERSION,
    preset: source.preset,
    modelFile: source.file === null ? null : resolve(source.file),
    model: built.resolved,
    data: {
      ...dataConfig,
      classes: data.classes,
      ...(data.classNames ? { classNames: data.classNames } : {}),
      ...(data.normalization ? { normalization: data.normalization } : {}),
    },
    training,
    backend: backend.name,
    command: ['neurite', 'train', ...args].join(' '),
    created: new Date().toISOString(),
    ...(replica ? { distributed: { mode: replica.mode, workers: replica.worldSize } } : {}),
  };
  if (lead) await writeJson(join(runDir, RUN_FILES.config), config);

  const out = lead ? lineWriter(values.json === true) : () => {};
  const colors = palette(colorEnabled(process.stdout));
  if (backend.note) out(colors.yellow(`note: ${backend.note}`));
  out(`${colors.bold('neurite train')} ${modelArg}`);
  printHeader(
    out,
    [
      [
        'model',
        `${modelName}: ${describeSize(built.model, network ? null : built.layers.length)}, input [${spec.input.join(', ')}]${training.weights ? `, weights ${training.weights}` : ''}`,
      ],
      ['data', data.description],
      ['training', describeTraining(training, backend.name)],
      ...(gpu ? [['device', gpu] as [string, string]] : []),
      ...(replica ? [['replicas', describeReplicas(replica, training.batchSize)] as [string, string]] : []),
      ['run', runDir],
    ],
    colors.bold,
  );
  return trainAndFinish(runDir, config, built.model, optimizer, data, freshProgress(), colors, values.json === true, values.compile === true, replica);
}

/**
 * A launched replica records where each checkpoint is (in its job's Redis, for processes): fit's strategy interface has
 * no such call. The checkpoint itself is on disk already, so a Redis that does not answer costs a warning, not the run.
 */
function checkpointRecorder(replica?: DistributedStrategy): { onCheckpoint?: (saved: { path: string; epoch: number; step: number }) => Promise<void> } {
  const launched = replica as Partial<Pick<distributed.Replica, 'checkpointSaved'>> | undefined;
  const record = launched?.checkpointSaved;
  if (typeof record !== 'function') return {};
  return {
    onCheckpoint: async (saved) => {
      try {
        // With the files a run resumes from, which Redis keeps beside the pointer for a machine that cannot read this one's
        // disk; files over the limit it keeps are not read back at all, only their size is said.
        const paths = { [RUN_FILES.config]: join(dirname(saved.path), RUN_FILES.config), [RUN_FILES.checkpoint]: saved.path };
        const fileBytes = Object.values(paths).reduce((sum, path) => sum + statSync(path).size, 0);
        if (fileBytes > distributed.CHECKPOINT_COPY_LIMIT) await record.call(launched, { ...saved, fileBytes });
        else await record.call(launched, { ...saved, files: Object.fromEntries(Object.entries(paths).map(([name, path]) => [name, readFileSync(path)])) });
      } catch (e) {
        process.stderr.write(`neurite: the checkpoint of epoch ${saved.epoch} is saved, but not recorded in the job's Redis: ${(e as Error).message}\n`);
      }
    },
  };
}

function describeReplicas(replica: DistributedStrategy, batchSize: number): string {
  const how: Record<string, string> = {
    'sync-threads': 'threads averaging their gradients before every update',
    hogwild: 'threads updating shared weights without locks',
    async: 'processes pushing gradients to parameter servers (Downpour)',
    sync: 'processes averaging their gradients before every update',
  };
  return `${replica.worldSize} ${replica.mode} (${how[replica.mode] ?? replica.mode}), each on 1/${replica.worldSize} of every epoch, batch ${batchSize} each`;
}

async function resume(runDir: string, values: Parsed['values'], positionals: string[], replica?: DistributedStrategy): Promise<number> {
  if (positionals.length > 0) throw new UsageError(`train --resume ${runDir}: the model comes from the run folder; drop ${JSON.stringify(positionals[0])}`);
  for (const flag of FIXED_ON_RESUME) {
    if (values[flag] !== undefined)
      throw new UsageError(`--${flag} cannot change when resuming: the run keeps the settings in ${join(runDir, RUN_FILES.config)}`);
  }
  const lead = (replica?.rank ?? 0) === 0;
  // Replicas on other machines may not mount the run folder: they resume from rank 0's files, handed over through the job.
  const files = await resumeFiles(runDir, replica);
  const config = files.config;
  if (lead) removeStaleTemporaries(runDir);
  const checkpoint = join(runDir, RUN_FILES.checkpoint);
  const epochs = intFlag(values, 'epochs');
  if (epochs !== undefined) config.training.epochs = epochs;
  // The reference and the GPU are chosen for a reason (exact numbers, speed): a resumed run keeps them.
  const sticky = config.backend === 'ref' || config.backend === 'webgpu' ? config.backend : undefined;
  const backend = selectBackend(choiceFlag(values, 'backend', BACKEND_CHOICES) ?? sticky);
  const gpu = backend.name === 'webgpu' ? await openGpuForTraining() : null;

  const built = buildFromSpec(config.model, null, config.training.seed);
  // The same layers are frozen as when the run started, so the optimizer's state fits the same parameters.
  if (config.training.freeze && config.training.freeze !== 'none') models.freezeBackbone(networkOf(built.model), config.training.freeze);
  const optimizer = makeOptimizer(config.training, built.model.trainableParameters());
  // The checkpoint is read before the data: a corrupt one is rejected in milliseconds, not after loading MNIST.
  let progress: Progress;
  if (files.checkpoint !== null) {
    try {
      const restored = restoreCheckpoint(files.checkpoint, { model: built.model, optimizer, source: files.source });
      progress = restored.extra as Progress;
    } catch (e) {
      if (e instanceof NeuriteError) throw new UsageError(`cannot resume from ${checkpoint}: ${e.message}`);
      throw e;
    }
  } else {
    // Killed before its first checkpoint: the run starts over, from the same seed, in its own folder.
    progress = freshProgress();
  }
  if (replica && progress.batch > 0) {
    throw new UsageError(
      `${runDir} stopped in the middle of epoch ${progress.epoch + 1}; replicas resume at an epoch's start`,
      `finish that epoch in one process: neurite train --resume ${runDir} --epochs ${progress.epoch + 1}`,
    );
  }
  const data = fitDataToModel(loadData(config.data), built, config.model, config.data.dataset);
  if (epochs !== undefined && epochs < progress.epoch) {
    throw new UsageError(`--epochs ${epochs} is fewer than the ${progress.epoch} epochs this run has already trained`);
  }
  if (epochs !== undefined && lead) await writeJson(join(runDir, RUN_FILES.config), config);

  const colors = palette(colorEnabled(process.stdout));
  const out = lead ? lineWriter(values.json === true) : () => {};
  if (backend.note) out(colors.yellow(`note: ${backend.note}`));
  const where = progress.batch > 0 ? `epoch ${progress.epoch + 1}, batch ${progress.batch}` : `epoch ${progress.epoch + 1}`;
  const state = !existsSync(checkpoint)
    ? 'no checkpoint yet, starting from the beginning'
    : `continuing at ${progress.epoch >= config.training.epochs ? 'the end (all epochs trained)' : where}`;
  out(`${colors.bold('neurite train')} --resume ${runDir}: ${state}${replica ? `, as ${describeReplicas(replica, config.training.batchSize)}` : ''}`);
  if (gpu) out(`device: ${gpu}`);
  return trainAndFinish(runDir, config, built.model, optimizer, data, progress, colors, values.json === true, values.compile === true, replica);
}

/** What a run resumes from: its configuration and its checkpoint's bytes (null before the first), read once. */
interface ResumeFiles {
  readonly config: RunConfig;
  readonly checkpoint: Uint8Array | null;
  /** Where the checkpoint came from, for errors. */
  readonly source: string;
}

/**
 * The run folder's configuration and checkpoint, each read once. In a launched job of processes on several machines,
 * rank 0 hands them to the others (through the job's Redis), and they resume from those rather than from their own
 * file system, which may not be rank 0's or may hold an older copy; where the replicas share this machine's disk
 * (threads, a job of one, a job whose workers all run here) each reads the folder itself.
 */
async function resumeFiles(runDir: string, replica?: DistributedStrategy): Promise<ResumeFiles> {
  const launched = replica as Partial<Pick<distributed.Replica, 'shareFiles' | 'receiveFiles'>> | undefined;
  const handsOver =
    replica !== undefined && replica.worldSize >= 2 && typeof launched?.shareFiles === 'function' && typeof launched.receiveFiles === 'function';
  const checkpointPath = join(runDir, RUN_FILES.checkpoint);
  if (handsOver && replica.rank !== 0) {
    const files = await launched.receiveFiles?.call(replica);
    if (files) {
      const configBytes = files[RUN_FILES.config];
      if (configBytes === undefined) throw new UsageError(`rank ${replica.rank}: rank 0 handed over no ${RUN_FILES.config} of ${runDir}`);
      return {
        config: parseRunConfig(configBytes, `rank 0's ${join(runDir, RUN_FILES.config)}`),
        checkpoint: files[RUN_FILES.checkpoint] ?? null,
        source: `rank 0's ${checkpointPath}`,
      };
    }
  }
  const { config, bytes } = readRunConfigFile(runDir);
  const checkpoint = existsSync(checkpointPath) ? readResumeCheckpoint(checkpointPath) : null;
  if (handsOver && replica.rank === 0) {
    await launched.shareFiles?.call(replica, { [RUN_FILES.config]: bytes, ...(checkpoint ? { [RUN_FILES.checkpoint]: checkpoint } : {}) });
  }
  return { config, checkpoint, source: checkpointPath };
}

/** The checkpoint's bytes; a file that cannot be read (a folder in its place, no permission) is the user's to mend. */
function readResumeCheckpoint(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new UsageError(`cannot resume from ${path}: ${(e as Error).message}`);
  }
}

/** --val-fold I/K as the 0-based fold of a k-fold cross-validation, or null. */
function foldFlag(values: Parsed['values']): ValidationFold | null {
  const text = textFlag(values, 'val-fold');
  if (text === undefined) return null;
  if (values['val-split'] !== undefined) throw new UsageError('--val-fold and --val-split both choose the validation set; pass one');
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const [index, count] = m ? [Number(m[1]), Number(m[2])] : [Number.NaN, Number.NaN];
  if (!(count >= 2 && index >= 1 && index <= count)) throw new UsageError(`--val-fold must be I/K with K >= 2 and I from 1 to K (e.g. 2/5), got '${text}'`);
  return { index: index - 1, count };
}

/** Console lines, or nothing with --json (which prints one JSON document at the end instead). */
function lineWriter(json: boolean): (line: string) => void {
  return json ? () => {} : (line) => process.stdout.write(`${line}\n`);
}

async function trainAndFinish(
  runDir: string,
  config: RunConfig,
  model: nn.Module,
  optimizer: ReturnType<typeof makeOptimizer>,
  data: LoadedData,
  progress: Progress,
  colors: ReturnType<typeof palette>,
  json: boolean,
  compile: boolean,
  replica?: DistributedStrategy,
): Promise<number> {
  const lead = (replica?.rank ?? 0) === 0;
  const out = lead ? lineWriter(json) : () => {};
  // With --json the console gets one JSON document at the end and nothing else; replicas other than rank 0 print nothing.
  const display = new ProgressDisplay(json || !lead ? { write: () => true, isTTY: false } : process.stdout);
  const history = historyFromJSON(progress.history);
  const title = runTitle(config);
  const outcome = await runTraining(
    {
      runDir,
      model,
      optimizer,
      training: config.training,
      loss: config.training.loss,
      train: data.train,
      validation: data.validation,
      history,
      progress,
      display,
      title,
      compile,
      distributed: replica,
      writes: lead,
      ...checkpointRecorder(replica),
    },
    config.model.input,
  );
  if (!lead) return outcome.status === 'interrupted' ? EXIT.interrupted : EXIT.ok;
  if (outcome.status === 'interrupted') {
    out(`Checkpoint saved to ${join(runDir, RUN_FILES.checkpoint)} (epoch ${progress.epoch + 1}, batch ${progress.batch}).`);
    out(`Continue with: neurite train --resume ${runDir}`);
    return EXIT.interrupted;
  }
  // Ctrl-C from here on only loses the final evaluation; the last epoch's checkpoint is on disk.
  const quit = () => {
    out('\nInterrupted during the final evaluation; the trained epochs are in the checkpoint.');
    process.exit(EXIT.interrupted);
  };
  process.once('SIGINT', quit);
  try {
    const test = await evaluate(model, { x: data.test.x, y: data.test.y }, { loss: config.training.loss as LossName, metrics: ['accuracy'], batchSize: 1000 });
    await saveModel(model, runDir, { optimizer, extra: { preset: config.preset, input: config.model.input, classes: config.data.classes } });
    await writeHistoryFiles(runDir, outcome.history, title);
    const results: RunResults = {
      testLoss: test.loss,
      testAccuracy: test.accuracy,
      testSamples: data.test.x.shape[0],
      epochsTrained: outcome.history.length,
      trainSeconds: outcome.trainSeconds,
      backend: config.backend,
      finished: new Date().toISOString(),
    };
    await writeJson(join(runDir, RUN_FILES.results), results);
    out(
      `${colors.bold('test')}     accuracy ${colors.green(colors.bold(percent(test.accuracy)))}, loss ${test.loss.toFixed(4)} on ${results.testSamples.toLocaleString('en-US')} samples`,
    );
    // Every file the run folder holds, read from it rather than listed by hand.
    const files = readdirSync(runDir)
      .filter((name) => !name.startsWith('.'))
      .sort();
    out(`${colors.bold('saved')}    ${runDir}: ${files.join(', ')} (trained ${formatDuration(outcome.trainSeconds)})`);
    if (json) process.stdout.write(`${JSON.stringify({ run: runDir, ...results, files }, null, 2)}\n`);
    return EXIT.ok;
  } finally {
    process.off('SIGINT', quit);
  }
}
