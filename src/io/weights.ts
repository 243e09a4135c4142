/**
 * Model weights in safetensors form, checked against the model before a
 * single value is written, so a load that fails leaves the model as it was.
 */
import { isFloatDType } from '../core/dtype.js';
import { fmtShape } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import type { LoadResult, Module } from '../nn/module.js';
import { StateMismatchError } from './errors.js';
import { decodeSafetensors, encodeSafetensors, type SafetensorsMetadata } from './safetensors.js';

/** How loadWeights() matches a file's tensors to a model. */
export interface WeightLoadOptions {
  /** Require exactly the model's tensors (default true); otherwise missing and extra ones are skipped and reported. */
  strict?: boolean;
  /** Names the origin in error messages, e.g. a file path. */
  source?: string;
  /**
   * Tensors (state-dict names) that keep the model's own values when the file
   * has them in another shape or not at all: a classifier head sized for
   * another number of classes, when loading a pretrained backbone. Every
   * other tensor is matched as usual.
   */
  keepMismatched?: readonly string[];
}

const MAX_LISTED = 8;

function list(names: readonly string[]): string {
  const shown = names.slice(0, MAX_LISTED).map((n) => `'${n}'`);
  return names.length > MAX_LISTED ? `${shown.join(', ')} and ${names.length - MAX_LISTED} more` : shown.join(', ');
}

/** `state` with the model's own tensor in place of each kept name that the file lacks or has in another shape. */
function withKept(own: Map<string, Tensor>, state: Map<string, Tensor>, keep: readonly string[] | undefined): Map<string, Tensor> {
  if (!keep || keep.length === 0) return state;
  const out = new Map(state);
  for (const name of keep) {
    const target = own.get(name);
    const t = out.get(name);
    if (target && (!t || t.ndim !== target.ndim || t.shape.some((d, i) => d !== target.shape[i]))) out.set(name, target);
  }
  return out;
}

/**
 * Check that `state` fits `model` (names, shapes, compatible dtypes) and throw
 * a StateMismatchError listing every problem if it does not. float32 and
 * float64 load into each other; other dtypes must match.
 */
export function checkStateDict(model: Module, given: Map<string, Tensor>, options: WeightLoadOptions = {}): LoadResult {
  const strict = options.strict ?? true;
  const own = model.stateDict();
  const state = withKept(own, given, options.keepMismatched);
  const missingKeys = [...own.keys()].filter((k) => !state.has(k));
  const unexpectedKeys = [...state.keys()].filter((k) => !own.has(k));
  const problems: string[] = [];
  if (strict && missingKeys.length > 0) problems.push(`missing ${list(missingKeys)}`);
  if (strict && unexpectedKeys.length > 0) problems.push(`unexpected ${list(unexpectedKeys)}`);
  for (const [name, target] of own) {
    const t = state.get(name);
    if (!t) continue;
    if (t.ndim !== target.ndim || t.shape.some((d, i) => d !== target.shape[i])) {
      problems.push(`'${name}' has shape ${fmtShape(t.shape)}, the model expects ${fmtShape(target.shape)}`);
    } else if (t.dtype !== target.dtype && !(isFloatDType(t.dtype) && isFloatDType(target.dtype))) {
      problems.push(`'${name}' is ${t.dtype}, the model's is ${target.dtype}`);
    }
  }
  if (problems.length > 0) {
    const origin = options.source ? `${options.source}: ` : '';
    throw new StateMismatchError(`${origin}the saved weights do not fit ${model.label}: ${problems.join('; ')}`, missingKeys, unexpectedKeys);
  }
  return { missingKeys, unexpectedKeys };
}

/** checkStateDict, then copy the values in. Nothing is written when the check fails. */
export function loadCheckedStateDict(model: Module, state: Map<string, Tensor>, options: WeightLoadOptions = {}): LoadResult {
  const result = checkStateDict(model, state, options);
  model.loadStateDict(withKept(model.stateDict(), state, options.keepMismatched), { strict: false });
  return result;
}

/** The model's parameters and buffers (state-dict names such as `fc1.weight`, `bn.runningMean`) as safetensors bytes. */
export function weightsToSafetensors(model: Module, metadata?: SafetensorsMetadata): Uint8Array {
  return encodeSafetensors(model.stateDict(), metadata);
}

/**
 * Load safetensors bytes into `model`. The file is fully decoded and checked
 * against the model first; on any problem a SerializationError (a
 * StateMismatchError when the file is fine but does not fit) is thrown and
 * the model is untouched.
 */
export function loadWeightsFromSafetensors(model: Module, bytes: Uint8Array | ArrayBuffer, options: WeightLoadOptions = {}): LoadResult {
  const { tensors } = decodeSafetensors(bytes);
  return loadCheckedStateDict(model, tensors, options);
}
