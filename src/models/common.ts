// What every builder shares: its options, the layers it is made of (created
// with the chosen dtype), torchvision's initialisation, and loading weights
// that a user converted from a torchvision checkpoint.
import type { FloatDType } from '../core/dtype.js';
import { ValueError } from '../core/errors.js';
import type { UrlLike } from '../core/platform.js';
import { loadWeights, loadWeightsFromSafetensors } from '../io/index.js';
import * as nn from '../nn/index.js';

/** Options every builder takes. */
export interface ModelOptions {
  /** Size of the classifier's output (default 1000, ImageNet's classes). */
  numClasses?: number;
  /** Channels of the input images (default 3). */
  inChannels?: number;
  /** Parameter dtype (default float32). */
  dtype?: FloatDType;
}

/**
 * A safetensors file with weights for the builder's network, under
 * torchvision's names: a path (Node), a URL (fetched), or the file's bytes.
 */
export type WeightsSource = string | UrlLike | Uint8Array | ArrayBuffer;

/** Layer factories bound to one dtype, which the builders create their layers with. */
export interface Layers {
  /** A Conv2d layer (stride 1, no padding, with bias, unless given). */
  conv(
    inChannels: number,
    outChannels: number,
    kernelSize: number,
    options?: { stride?: number; padding?: number; bias?: boolean; groups?: number },
  ): nn.Conv2d;
  /** A Linear layer. */
  linear(inFeatures: number, outFeatures: number): nn.Linear;
  /** A BatchNorm2d layer (eps 1e-5 unless given). */
  batchNorm(features: number, eps?: number): nn.BatchNorm2d;
}

/** Layer factories that put every parameter in `dtype`. */
export function layers(dtype: FloatDType = 'float32'): Layers {
  return {
    conv: (i, o, k, opt = {}) =>
      new nn.Conv2d(i, o, k, { stride: opt.stride ?? 1, padding: opt.padding ?? 0, bias: opt.bias ?? true, groups: opt.groups ?? 1, dtype }),
    linear: (i, o) => new nn.Linear(i, o, { dtype }),
    batchNorm: (f, eps = 1e-5) => new nn.BatchNorm2d(f, { eps, dtype }),
  };
}

export function checkCount(who: string, name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) throw new ValueError(`${who}: ${name} must be a positive whole number, got ${v}`);
  return v;
}

export function checkProbability(who: string, name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!(v >= 0 && v < 1)) throw new ValueError(`${who}: ${name} must be in [0, 1), got ${v}`);
  return v;
}

/**
 * torchvision's initialisation for convolutional networks: convolutions
 * N(0, 2/fan_out) (He, fan-out mode), batch norm weight 1 and bias 0, linear
 * layers N(0, 0.01²) with bias 0 (VGG, GoogLeNet) or PyTorch's default
 * (ResNet's and AlexNet's fc keep theirs).
 */
export function torchvisionInit(model: nn.Module, linear: 'normal' | 'default'): void {
  for (const m of model.modules()) {
    if (m instanceof nn.Conv2d) {
      nn.init.kaimingNormal(m.weight, { mode: 'fanOut', nonlinearity: 'relu' });
      if (m.bias) nn.init.zeros(m.bias);
    } else if (m instanceof nn.BatchNorm2d) {
      if (m.weight) nn.init.ones(m.weight);
      if (m.bias) nn.init.zeros(m.bias);
    } else if (m instanceof nn.Linear && linear === 'normal') {
      nn.init.normal(m.weight, 0, 0.01);
      if (m.bias) nn.init.zeros(m.bias);
    }
  }
}

/**
 * Load a safetensors file into `model`, strictly: a missing, unexpected or
 * misshapen tensor is a typed error naming it, and the model is untouched.
 */
export async function loadInto<M extends nn.Module>(model: M, source: WeightsSource, keepMismatched: readonly string[] = []): Promise<M> {
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) {
    loadWeightsFromSafetensors(model, source, { strict: true, keepMismatched });
    return model;
  }
  const text = typeof source === 'string' ? source : source.href;
  // A file: URL is a path on this machine; fetch() on Node does not read them.
  if (/^file:/i.test(text)) {
    await loadWeights(model, decodeURIComponent(text.replace(/^file:\/\//i, '')), { strict: true, keepMismatched });
    return model;
  }
  if (/^(https?|blob|data):/i.test(text) || typeof process === 'undefined') {
    const response = await fetch(text);
    if (!response.ok) throw new ValueError(`weights: ${text} answered HTTP ${response.status}`);
    loadWeightsFromSafetensors(model, new Uint8Array(await response.arrayBuffer()), { strict: true, keepMismatched });
    return model;
  }
  await loadWeights(model, text, { strict: true, keepMismatched });
  return model;
}
