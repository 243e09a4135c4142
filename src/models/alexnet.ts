// AlexNet ("Supervision", Krizhevsky, Sutskever and Hinton, 2012) as
// torchvision builds it: five convolutions with max pooling, adaptive average
// pooling to 6×6, then three fully connected layers with dropout.
import type { Tensor } from '../core/tensor.js';
import * as nn from '../nn/index.js';
import type { LayerConfig } from '../nn/module.js';
import { registerLayer } from '../nn/registry.js';
import { checkCount, checkProbability, layers, type ModelOptions } from './common.js';

export interface AlexNetOptions extends ModelOptions {
  /** Dropout before each of the first two fully connected layers (default 0.5). */
  dropout?: number;
}

export class AlexNet extends nn.Module<[Tensor], Tensor> {
  static override readonly className = 'AlexNet';
  /** The five convolutions with their ReLUs and max poolings (torchvision's `features`). */
  readonly features: nn.Sequential;
  /** Adaptive average pooling to 6×6. */
  readonly avgpool: nn.Module;
  /** Dropout, 9216 → 4096, ReLU, dropout, 4096 → 4096, ReLU, 4096 → classes. */
  readonly classifier: nn.Sequential;

  private readonly _options: AlexNetOptions;

  constructor(options: AlexNetOptions = {}) {
    super();
    this._options = { ...options };
    const classes = checkCount('AlexNet', 'numClasses', options.numClasses, 1000);
    const inChannels = checkCount('AlexNet', 'inChannels', options.inChannels, 3);
    const p = checkProbability('AlexNet', 'dropout', options.dropout, 0.5);
    const L = layers(options.dtype);
    this.features = new nn.Sequential(
      L.conv(inChannels, 64, 11, { stride: 4, padding: 2 }),
      new nn.ReLU(),
      new nn.MaxPool2d(3, { stride: 2 }),
      L.conv(64, 192, 5, { padding: 2 }),
      new nn.ReLU(),
      new nn.MaxPool2d(3, { stride: 2 }),
      L.conv(192, 384, 3, { padding: 1 }),
      new nn.ReLU(),
      L.conv(384, 256, 3, { padding: 1 }),
      new nn.ReLU(),
      L.conv(256, 256, 3, { padding: 1 }),
      new nn.ReLU(),
      new nn.MaxPool2d(3, { stride: 2 }),
    );
    this.avgpool = new nn.AdaptiveAvgPool2d(6);
    this.classifier = new nn.Sequential(
      new nn.Dropout(p),
      L.linear(256 * 6 * 6, 4096),
      new nn.ReLU(),
      new nn.Dropout(p),
      L.linear(4096, 4096),
      new nn.ReLU(),
      L.linear(4096, classes),
    );
  }

  /** The options it was built with (numClasses read from the head, which prepareTransfer may replace): saveModel writes them, loadModel rebuilds the network from them. */
  override getConfig(): LayerConfig {
    return { ...this._options, numClasses: (this.classifier.children().at(-1) as nn.Linear).outFeatures };
  }

  forward(x: Tensor): Tensor {
    const f = this.avgpool.forward(this.features.forward(x)) as Tensor;
    return this.classifier.forward(f.flatten(1));
  }
}

registerLayer(AlexNet.className, (config) => new AlexNet(config as AlexNetOptions));
