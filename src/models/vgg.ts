// VGG (Simonyan and Zisserman, 2014), configurations A, B, D and E (VGG-11,
// 13, 16 and 19), with or without batch norm, as torchvision builds them:
// 3×3 convolutions in blocks separated by 2×2 max pooling, adaptive average
// pooling to 7×7, then 4096-4096-classes with dropout.
import { ValueError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import * as nn from '../nn/index.js';
import type { LayerConfig } from '../nn/module.js';
import { registerLayer } from '../nn/registry.js';
import { checkCount, checkProbability, layers, type ModelOptions, torchvisionInit } from './common.js';

/** Output channels of each 3×3 convolution, 'M' for a 2×2 max pooling. */
const VGG_CONFIGS: Record<VggDepth, readonly (number | 'M')[]> = {
  11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  13: [64, 64, 'M', 128, 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
  19: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512, 512, 512, 'M', 512, 512, 512, 512, 'M'],
} as const;
/** VGG's depths: 11 (A), 13 (B), 16 (D) and 19 (E). */
export type VggDepth = 11 | 13 | 16 | 19;

export interface VggOptions extends ModelOptions {
  /** Batch norm after every convolution (torchvision's vgg16_bn and kin). */
  batchNorm?: boolean;
  /** Dropout in the classifier (default 0.5). */
  dropout?: number;
}

/** VGG's convolutional part alone (torchvision's `features`): what transfer learning usually keeps. */
export function vggFeatures(depth: VggDepth, options: Pick<VggOptions, 'batchNorm' | 'inChannels' | 'dtype'> = {}): nn.Sequential {
  const config = VGG_CONFIGS[depth];
  if (!config) throw new ValueError(`VGG: depth must be 11, 13, 16 or 19, got ${depth}`);
  let channels = checkCount(`VGG-${depth}`, 'inChannels', options.inChannels, 3);
  const L = layers(options.dtype);
  const features: nn.Module[] = [];
  for (const v of config) {
    if (v === 'M') features.push(new nn.MaxPool2d(2, { stride: 2 }));
    else {
      features.push(L.conv(channels, v, 3, { padding: 1 }));
      if (options.batchNorm) features.push(L.batchNorm(v));
      features.push(new nn.ReLU());
      channels = v;
    }
  }
  const seq = new nn.Sequential(...features);
  torchvisionInit(seq, 'normal');
  return seq;
}

export class VGG extends nn.Module<[Tensor], Tensor> {
  static override readonly className = 'VGG';
  /** The 3×3 convolutions (with batch norm if asked), ReLUs and max poolings (torchvision's `features`). */
  readonly features: nn.Sequential;
  /** Adaptive average pooling to 7×7. */
  readonly avgpool: nn.Module;
  /** 25088 → 4096, ReLU, dropout, 4096 → 4096, ReLU, dropout, 4096 → classes. */
  readonly classifier: nn.Sequential;

  private readonly _config: VggOptions & { depth: VggDepth };

  constructor(depth: VggDepth, options: VggOptions = {}) {
    super();
    this._config = { ...options, depth };
    const who = `VGG-${depth}`;
    const classes = checkCount(who, 'numClasses', options.numClasses, 1000);
    const p = checkProbability(who, 'dropout', options.dropout, 0.5);
    const L = layers(options.dtype);
    this.features = vggFeatures(depth, options);
    this.avgpool = new nn.AdaptiveAvgPool2d(7);
    this.classifier = new nn.Sequential(
      L.linear(512 * 7 * 7, 4096),
      new nn.ReLU(),
      new nn.Dropout(p),
      L.linear(4096, 4096),
      new nn.ReLU(),
      new nn.Dropout(p),
      L.linear(4096, classes),
    );
    torchvisionInit(this.classifier, 'normal');
  }

  /** The depth and options it was built with (numClasses read from the head, which prepareTransfer may replace): saveModel writes them, loadModel rebuilds the network from them. */
  override getConfig(): LayerConfig {
    return { ...this._config, numClasses: (this.classifier.children().at(-1) as nn.Linear).outFeatures };
  }

  forward(x: Tensor): Tensor {
    const f = this.avgpool.forward(this.features.forward(x)) as Tensor;
    return this.classifier.forward(f.flatten(1));
  }
}

registerLayer(VGG.className, (config) => {
  const { depth, ...options } = config as unknown as VggOptions & { depth: VggDepth };
  return new VGG(depth, options);
});
