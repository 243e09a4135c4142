// The training run behind `neurite train`: fit() over batches this file
// draws, with the bookkeeping that lets Ctrl-C stop after any batch and
// `--resume` continue as if nothing had happened.
//
// Reproducible resumption needs every source of randomness to be restored or
// re-derivable at a batch boundary:
// - the batch order of epoch e is a permutation from a generator seeded by
//   (seed, e), and augmentation draws from one seeded by (seed, e, batch), so
//   neither depends on what ran before;
// - weight initialisation and dropout use the default generator, whose state
//   the checkpoint stores;
// - the epoch's running sums (loss, correct predictions) are part of the
//   checkpoint, and the accuracy metric is handed the saved counts, so the
//   finished epoch reports what an uninterrupted one would.

import { join } from 'node:path';
import {
  atomicWriteFile,
  type Batch,
  type Callback,
  compose,
  type DistributedStrategy,
  defaultGenerator,
  evaluate,
  fit,
  Generator,
  History,
  type LossName,
  type Metric,
  NeuriteError,
  type nn,
  type OptimizerLike,
  optim,
  randomRotation,
  randomShift,
  saveCheckpoint,
  shareOf,
  type Tensor,
  TensorDataset,
  type Transform,
} from '../index.js';
import type { Split } from './datasets.js';
import { ConfigError } from './errors.js';
import { curvesSvg } from './plot.js';
import { RUN_FILES, type TrainingConfig, writeJson } from './runs.js';
import type { EpochSummary, ProgressDisplay } from './terminal.js';

export const OPTIMIZERS = ['sgd', 'adam', 'adamw', 'rmsprop', 'adagrad', 'adadelta'] as const;
/** Losses for class-index targets, which is what every command-line dataset has. */
export const LOSSES = ['crossEntropy', 'nll', 'multiMargin'] as const;

type StatefulOptimizer = OptimizerLike & { stateDict(): unknown; loadStateDict(state: unknown): unknown };

/** Build the optimizer of a run; bad hyper-parameters are configuration errors naming the setting. */
export function makeOptimizer(t: TrainingConfig, params: nn.Parameter[]): StatefulOptimizer {
  const common = { lr: t.lr, weightDecay: t.weightDecay };
  try {
    switch (t.optimizer) {
      case 'sgd':
        return new optim.SGD(params, { ...common, momentum: t.momentum });
      case 'adam':
        return new optim.Adam(params, common);
      case 'adamw':
        return new optim.AdamW(params, common);
      case 'rmsprop':
        return new optim.RMSprop(params, { ...common, momentum: t.momentum });
      case 'adagrad':
        return new optim.Adagrad(params, common);
      case 'adadelta':
        return new optim.Adadelta(params, common);
      default:
        throw new ConfigError(`unknown optimizer '${t.optimizer}'; the optimizers are ${OPTIMIZERS.join(', ')}`, 'training.optimizer');
    }
  } catch (e) {
    if (e instanceof NeuriteError) throw new ConfigError(`training: ${e.message}`, 'training');
    throw e;
  }
}

/** A 32-bit hash of a few integers, to seed one generator per (seed, epoch[, batch]). */
function mixSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193);
    h = Math.imul(h ^ Math.floor(p / 4294967296), 0x01000193);
    h ^= h >>> 15;
  }
  return h >>> 0;
}

/**
 * The training batches of one epoch per iteration: a reshuffle derived from
 * (seed, epoch), optionally augmented, starting `skip` batches in when resuming.
 * As one replica of several (`shard`), it serves its share of that order
 * (the order wrapped to a multiple of the world size, every world-th sample
 * from its rank on), so that the replicas' shares are disjoint and equal in
 * size, and every replica runs the same number of steps.
 */
class EpochBatches implements Iterable<Batch> {
  /** The epoch the next iteration serves; set by the training callback at each epoch's start. */
  epoch = 0;
  /** Batches to skip in the next iteration (a resumed epoch). */
  skip = 0;
  private readonly dataset: TensorDataset;
  readonly length: number;

  constructor(
    split: Split,
    private readonly batchSize: number,
    private readonly seed: number,
    private readonly augment: Transform | null,
    private readonly shard: { rank: number; worldSize: number } | null = null,
  ) {
    this.dataset = new TensorDataset(split.x, split.y);
    this.length = Math.ceil(this.shareSize() / batchSize);
  }

  private shareSize(): number {
    return this.shard === null ? this.dataset.length : Math.ceil(this.dataset.length / this.shard.worldSize);
  }

  private epochOrder(): Int32Array {
    const all = new Generator(mixSeed(this.seed, this.epoch)).permutation(this.dataset.length);
    if (this.shard === null) return all;
    return shareOf(all, this.shard.rank, this.shard.worldSize);
  }

  *[Symbol.iterator](): Iterator<Batch> {
    const order = this.epochOrder();
    const n = order.length;
    const start = this.skip;
    this.skip = 0;
    for (let b = start; b < this.length; b++) {
      const batch = this.dataset.getBatch(order.subarray(b * this.batchSize, Math.min(n, (b + 1) * this.batchSize)));
      if (this.augment) {
        // Each replica draws its own augmentation; one process alone keeps the seeds it always had.
        const seed = this.shard === null ? mixSeed(this.seed, this.epoch, b + 1) : mixSeed(this.seed, this.epoch, b + 1, this.shard.rank);
        batch.x = this.augment(batch.x, new Generator(seed));
      }
      yield batch;
    }
  }
}

/** Accuracy whose first reset after `carry()` starts from saved counts: the resumed half of an interrupted epoch. */
class ResumableAccuracy implements Metric {
  readonly name = 'accuracy';
  correct = 0;
  count = 0;
  private carried: { correct: number; count: number } | null = null;

  carry(correct: number, count: number): void {
    this.carried = { correct, count };
  }

  reset(): void {
    this.correct = this.carried?.correct ?? 0;
    this.count = this.carried?.count ?? 0;
    this.carried = null;
  }

  update(prediction: Tensor, target: Tensor): void {
    const scores = prediction.data;
    const labels = target.data;
    const [n, classes] = prediction.shape;
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (scores[i * classes + c] > scores[i * classes + best]) best = c;
      if (best === labels[i]) this.correct++;
    }
    this.count += n;
  }

  result(): number {
    return this.count === 0 ? Number.NaN : this.correct / this.count;
  }
}

/** Where a run stands: saved in every checkpoint's `extra`. */
export interface Progress {
  /** The epoch in progress (0-based), or the next one when `batch` is 0. */
  epoch: number;
  /** Batches of that epoch already trained on. */
  batch: number;
  lossSum: number;
  samples: number;
  correct: number;
  count: number;
  /** Training time so far, over all sessions. */
  trainSeconds: number;
  history: ReturnType<History['toJSON']>;
}

export function freshProgress(): Progress {
  return { epoch: 0, batch: 0, lossSum: 0, samples: 0, correct: 0, count: 0, trainSeconds: 0, history: new History().toJSON() };
}

export interface TrainingRun {
  runDir: string;
  model: nn.Module;
  optimizer: StatefulOptimizer;
  training: TrainingConfig;
  loss: string;
  train: Split;
  validation: Split | null;
  history: History;
  progress: Progress;
  display: ProgressDisplay;
  title: string;
  /** Compile the training step (fit's compile option): the same numbers, so resuming with or without it is the same run. */
  compile?: boolean;
  /** Train as one replica of a `neurite launch` job: this replica's share of each epoch, fit's distributed option. */
  distributed?: DistributedStrategy;
  /** Whether this process writes the run folder (false for every replica but rank 0). Default true. */
  writes?: boolean;
  /** Called after each checkpoint is written (a launched job records where, in its Redis). */
  onCheckpoint?: (saved: { path: string; epoch: number; step: number }) => Promise<void>;
}

export type TrainingOutcome = { status: 'finished' | 'interrupted'; history: History; trainSeconds: number };

/** Write history.csv, history.json and curves.svg. */
export async function writeHistoryFiles(runDir: string, history: History, title: string): Promise<void> {
  await atomicWriteFile(join(runDir, RUN_FILES.historyCsv), history.toCSV());
  await writeJson(join(runDir, RUN_FILES.historyJson), history.toJSON());
  await atomicWriteFile(join(runDir, RUN_FILES.curves), curvesSvg(history, title));
}

/**
 * The learning rate of an epoch: constant, or cosine annealing from lr
 * (epoch 0) towards 0, lr·(1 + cos(π·e/E))/2. A function of the epoch alone,
 * so a resumed run needs no scheduler state.
 */
export function scheduledLr(t: TrainingConfig, epoch: number): number {
  return t.schedule === 'cosine' ? (t.lr * (1 + Math.cos((Math.PI * epoch) / t.epochs))) / 2 : t.lr;
}

function augmentation(t: TrainingConfig, input: readonly number[]): Transform | null {
  if (t.augment === null || (t.augment.shift === 0 && t.augment.rotate === 0)) return null;
  if (input.length !== 3)
    throw new ConfigError(`training.augment needs image input [channels, height, width], but the model's input is [${input.join(', ')}]`, 'training.augment');
  const steps: Transform[] = [];
  if (t.augment.rotate > 0) steps.push(randomRotation({ degrees: t.augment.rotate }));
  if (t.augment.shift > 0) steps.push(randomShift({ maxShift: t.augment.shift }));
  return compose(steps);
}

/**
 * Train from `run.progress` to `run.training.epochs`, writing the history,
 * the curves and a checkpoint after every epoch. The first Ctrl-C stops after
 * the current batch and saves a checkpoint; a second one quits at once.
 */
export async function runTraining(run: TrainingRun, input: readonly number[]): Promise<TrainingOutcome> {
  const { model, optimizer, training, display, progress, history } = run;
  const lossName = run.loss;
  const shard = run.distributed ? { rank: run.distributed.rank, worldSize: run.distributed.worldSize } : null;
  const batches = new EpochBatches(run.train, training.batchSize, training.seed, augmentation(training, input), shard);
  const writes = run.writes ?? true;
  const steps = batches.length;
  const accuracy = new ResumableAccuracy();
  const validationData = run.validation ? { x: run.validation.x, y: run.validation.y } : undefined;
  const validationBatchSize = Math.max(training.batchSize, 500);
  let sessionStart = performance.now();
  const elapsed = () => progress.trainSeconds + (performance.now() - sessionStart) / 1000;
  let epochStart = performance.now();

  const saveProgress = async () => {
    progress.history = history.toJSON();
    const extra = { ...progress, trainSeconds: elapsed() };
    const path = join(run.runDir, RUN_FILES.checkpoint);
    await saveCheckpoint(path, { model, optimizer, epoch: progress.epoch, step: progress.batch, extra });
    await run.onCheckpoint?.({ path, epoch: progress.epoch, step: progress.batch });
  };

  const setLr = (epoch: number) => {
    for (const group of optimizer.paramGroups) group.lr = scheduledLr(training, epoch);
  };
  setLr(progress.epoch);

  const recordEpoch = async (epoch: number, logs: Record<string, number>) => {
    // One process: the running sums (which survive an interruption). Replicas: fit's figures, the means over all of them.
    const row: Record<string, number> = run.distributed
      ? { loss: logs.loss, accuracy: logs.accuracy }
      : { loss: progress.lossSum / progress.samples, accuracy: progress.correct / progress.count };
    if (logs.valLoss !== undefined) row.valLoss = logs.valLoss;
    if (logs.valAccuracy !== undefined) row.valAccuracy = logs.valAccuracy;
    row.lr = logs.lr;
    history.record(epoch, row);
    const summary: EpochSummary = {
      epoch: epoch + 1,
      epochs: training.epochs,
      loss: row.loss,
      accuracy: row.accuracy,
      valLoss: row.valLoss,
      valAccuracy: row.valAccuracy,
      lr: row.lr,
      seconds: (performance.now() - epochStart) / 1000,
    };
    display.epochEnd(summary);
    Object.assign(progress, { epoch: epoch + 1, batch: 0, lossSum: 0, samples: 0, correct: 0, count: 0 });
    // fit reads the rate for its logs before any callback runs, so the next epoch's is set now.
    setLr(epoch + 1);
    if (!writes) return;
    await writeHistoryFiles(run.runDir, history, run.title);
    await saveProgress();
  };

  // Interrupted after the last batch but before validation: finish that epoch first.
  if (progress.batch >= steps && progress.epoch < training.epochs) {
    const logs: Record<string, number> = { lr: optimizer.paramGroups[0].lr };
    if (validationData) {
      const v = await evaluate(model, validationData, { loss: lossName as LossName, metrics: ['accuracy'], batchSize: validationBatchSize });
      logs.valLoss = v.loss;
      logs.valAccuracy = v.accuracy;
    }
    await recordEpoch(progress.epoch, logs);
  }

  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      display.message('Interrupted: finishing the current batch, then saving a checkpoint (press Ctrl-C again to quit without saving).');
      controller.abort();
    } else {
      display.message('Quit without saving; the checkpoint of the last finished epoch is kept.');
      process.exit(130);
    }
  };
  process.on('SIGINT', onSigint);

  const callback: Callback = {
    onEpochBegin(epoch: number) {
      batches.epoch = epoch;
      epochStart = performance.now();
      if (epoch !== progress.epoch) Object.assign(progress, { epoch, batch: 0, lossSum: 0, samples: 0, correct: 0, count: 0 });
    },
    onBatchEnd(_batch, logs) {
      progress.lossSum += logs.loss * logs.size;
      progress.samples += logs.size;
      progress.batch++;
      progress.correct = accuracy.correct;
      progress.count = accuracy.count;
      const seconds = (performance.now() - epochStart) / 1000;
      display.update({
        epoch: progress.epoch + 1,
        epochs: training.epochs,
        batch: progress.batch,
        batches: steps,
        loss: progress.lossSum / progress.samples,
        accuracy: progress.correct / progress.count,
        // The job's rate: every replica trains as many samples per step as this one.
        samplesPerSecond: seconds > 0 ? (progress.samples * (run.distributed?.worldSize ?? 1)) / seconds : 0,
        elapsed: seconds,
      });
    },
    async onEpochEnd(epoch, logs) {
      await recordEpoch(epoch, logs);
    },
  };

  try {
    if (progress.epoch < training.epochs) {
      batches.skip = progress.batch;
      if (progress.batch > 0) accuracy.carry(progress.correct, progress.count);
      sessionStart = performance.now();
      const result = await fit(model, batches, {
        loss: lossName as LossName,
        optimizer,
        epochs: training.epochs,
        initialEpoch: progress.epoch,
        validationData,
        validationBatchSize,
        metrics: [accuracy],
        callbacks: [callback],
        signal: controller.signal,
        yieldEveryMs: 30,
        // Dropout draws from the default generator, whose state the checkpoint stores (see the top of this file).
        generator: defaultGenerator,
        // Left unset unless asked for: on the GPU (--backend webgpu) fit compiles the step whatever this says.
        compile: run.compile === true ? true : undefined,
        distributed: run.distributed,
        log: (line) => display.message(line),
      });
      if (result.stopped === 'aborted') {
        display.clear();
        if (!writes) return { status: 'interrupted', history, trainSeconds: elapsed() };
        await writeHistoryFiles(run.runDir, history, run.title);
        await saveProgress();
        return { status: 'interrupted', history, trainSeconds: elapsed() };
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
    display.clear();
  }
  return { status: 'finished', history, trainSeconds: elapsed() };
}
