// ONNX files on the command line: what `neurite export` stores in one, and
// how predict and evaluate treat an .onnx file as they treat a run folder.
import { readFileSync } from 'node:fs';
import { type nn, OnnxError, readOnnx } from '../index.js';
import type { DataConfig, Normalization } from './datasets.js';
import { UsageError } from './errors.js';
import { RUN_FORMAT, RUN_FORMAT_VERSION, type RunConfig } from './runs.js';

/** The metadata key under which `neurite export` keeps the run's input shape, data settings and loss. */
export const RUN_METADATA_KEY = 'neurite.run';

/** What `neurite export` writes under {@link RUN_METADATA_KEY}. */
export interface OnnxRunInfo {
  input: number[];
  data: RunConfig['data'];
  loss: string;
}

export function isOnnxPath(path: string): boolean {
  return /\.onnx$/i.test(path);
}

/**
 * Load an .onnx file as predict and evaluate load a run: the model, and a
 * configuration from the file's neurite metadata, or, for a file from another
 * tool, one inferred from its input shape: [1, 28, 28] or [784] is an MNIST
 * model, [3, S, S] a photo model with ImageNet normalisation, anything else a
 * model of CSV rows.
 */
export function loadOnnxRun(path: string): { model: nn.Model; config: RunConfig; producer: string } {
  let file: ReturnType<typeof readOnnx>;
  try {
    file = readOnnx(readFileSync(path));
  } catch (e) {
    if (e instanceof OnnxError) throw new UsageError(`${path}: ${e.message}`);
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError(`${path}: no such file`);
    throw e;
  }
  const { model } = file;
  if (model.inputShapes.length !== 1) throw new UsageError(`${path}: the model takes ${model.inputShapes.length} inputs; predict and evaluate give it one`);
  const input = model.inputShapes[0];
  let info: OnnxRunInfo | null = null;
  if (file.metadata[RUN_METADATA_KEY]) {
    try {
      info = JSON.parse(file.metadata[RUN_METADATA_KEY]) as OnnxRunInfo;
    } catch {
      throw new UsageError(`${path}: its ${RUN_METADATA_KEY} metadata is not JSON`);
    }
  }
  const probe = model.outputs[0].shape;
  const classes = probe.length === 1 ? probe[0] : 0;
  if (classes < 1) throw new UsageError(`${path}: the model outputs per-sample shape [${probe.join(', ')}], not one score per class`);
  const base: Omit<DataConfig, 'dataset' | 'options'> = { path: null, limit: null, testLimit: null, validationSplit: 0, seed: 42 };
  const inferred = (): RunConfig['data'] => {
    const size = input.reduce((a, b) => a * b, 1);
    if (size === 784) return { ...base, dataset: 'mnist', options: {}, classes };
    if (input.length === 3 && (input[0] === 3 || input[0] === 1) && input[1] === input[2])
      return {
        ...base,
        dataset: 'images',
        options: { size: input[1], channels: input[0], ...(input[0] === 3 ? { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } : {}) },
        classes,
      };
    return { ...base, dataset: 'csv', options: {}, classes };
  };
  const data = info?.data ?? inferred();
  const config: RunConfig = {
    format: RUN_FORMAT,
    formatVersion: RUN_FORMAT_VERSION,
    preset: null,
    modelFile: null,
    model: { name: path, input: info?.input ?? input, layers: [] },
    data,
    training: {
      optimizer: 'sgd',
      lr: 0,
      momentum: 0,
      weightDecay: 0,
      batchSize: 1000,
      epochs: 0,
      loss: info?.loss ?? 'crossEntropy',
      seed: 42,
      augment: null,
      schedule: 'constant',
    },
    backend: 'onnx',
    command: '',
    created: '',
  };
  return { model, config, producer: file.producer };
}

export type { Normalization };
