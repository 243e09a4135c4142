// GoogLeNet (Inception v1; Szegedy et al., 2014) as torchvision builds it:
// a stem, nine Inception modules whose four branches (1×1; 1×1 then 3×3;
// 1×1 then 3×3 again, torchvision's stand-in for the paper's 5×5; 3×3 max
// pooling then 1×1) are concatenated along the channels, global average
// pooling, dropout and one linear layer; optional auxiliary classifiers after
// inception 4a and 4d. Every convolution is conv (no bias) + batch norm
// (eps 0.001) + ReLU.
import type { Tensor } from '../core/tensor.js';
import * as nn from '../nn/index.js';
import type { LayerConfig } from '../nn/module.js';
import { registerLayer } from '../nn/registry.js';
import { concat } from '../ops/index.js';
import { checkCount, checkProbability, type Layers, layers, type ModelOptions } from './common.js';

/** Convolution without bias, batch norm (eps 0.001), ReLU: torchvision's BasicConv2d. */
export class BasicConv2d extends nn.Module<[Tensor], Tensor> {
  static override readonly className = 'BasicConv2d';
  /** The convolution (no bias). */
  readonly conv: nn.Conv2d;
  /** Batch norm with eps 0.001. */
  readonly bn: nn.BatchNorm2d;

  constructor(L: Layers, inChannels: number, outChannels: number, kernelSize: number, options: { stride?: number; padding?: number } = {}) {
    super();
    this.conv = L.conv(inChannels, outChannels, kernelSize, { ...options, bias: false });
    this.bn = L.batchNorm(outChannels, 0.001);
  }

  forward(x: Tensor): Tensor {
    return this.bn.forward(this.conv.forward(x)).relu();
  }
}

export class Inception extends nn.Module<[Tensor], Tensor> {
  static override readonly className = 'Inception';
  /** 1×1 convolution. */
  readonly branch1: BasicConv2d;
  /** 1×1 reduction, then 3×3. */
  readonly branch2: nn.Sequential;
  /** 1×1 reduction, then 3×3 (the paper's 5×5, as torchvision builds it). */
  readonly branch3: nn.Sequential;
  /** 3×3 max pooling (stride 1), then a 1×1 projection. */
  readonly branch4: nn.Sequential;

  constructor(L: Layers, inChannels: number, ch1x1: number, ch3x3red: number, ch3x3: number, ch5x5red: number, ch5x5: number, poolProj: number) {
    super();
    this.branch1 = new BasicConv2d(L, inChannels, ch1x1, 1);
    this.branch2 = new nn.Sequential(new BasicConv2d(L, inChannels, ch3x3red, 1), new BasicConv2d(L, ch3x3red, ch3x3, 3, { padding: 1 }));
    this.branch3 = new nn.Sequential(new BasicConv2d(L, inChannels, ch5x5red, 1), new BasicConv2d(L, ch5x5red, ch5x5, 3, { padding: 1 }));
    this.branch4 = new nn.Sequential(new nn.MaxPool2d(3, { stride: 1, padding: 1, ceilMode: true }), new BasicConv2d(L, inChannels, poolProj, 1));
  }

  forward(x: Tensor): Tensor {
    return concat([this.branch1.forward(x), this.branch2.forward(x), this.branch3.forward(x), this.branch4.forward(x)], 1);
  }
}

/** An auxiliary classifier: 4×4 average pooling, a 1×1 convolution to 128, 2048 → 1024 → classes with dropout 0.7. */
export class InceptionAux extends nn.Module<[Tensor], Tensor> {
  static override readonly className = 'InceptionAux';
  /** 1×1 convolution to 128 channels. */
  readonly conv: BasicConv2d;
  /** 2048 → 1024. */
  readonly fc1: nn.Linear;
  /** 1024 → classes. */
  readonly fc2: nn.Linear;
  /** Dropout between the two linear layers (0.7 by default). */
  readonly dropout: nn.Dropout;
  /** Adaptive average pooling to 4×4 (no parameters). */
  readonly pool: nn.Module;

  constructor(L: Layers, inChannels: number, classes: number, dropout: number) {
    super();
    this.conv = new BasicConv2d(L, inChannels, 128, 1);
    this.fc1 = L.linear(2048, 1024);
    this.fc2 = L.linear(1024, classes);
    this.dropout = new nn.Dropout(dropout);
    this.pool = new nn.AdaptiveAvgPool2d(4);
  }

  forward(x: Tensor): Tensor {
    const h = this.conv.forward(this.pool.forward(x) as Tensor).flatten(1);
    return this.fc2.forward(this.dropout.forward(this.fc1.forward(h).relu()) as Tensor);
  }
}

export interface GoogLeNetOptions extends ModelOptions {
  /** Build the two auxiliary classifiers (trained with forwardWithAux; default false). */
  auxLogits?: boolean;
  /** Dropout before the final layer (default 0.2) and in the auxiliary heads (default 0.7). */
  dropout?: number;
  /** Dropout in the auxiliary heads (default 0.7). */
  dropoutAux?: number;
}

/** What {@link GoogLeNet.forwardWithAux} returns. */
export interface GoogLeNetOutputs {
  /** The main classifier's logits [N, classes]. */
  logits: Tensor;
  /** The auxiliary classifiers' logits (after inception 4d and 4a), in training mode with auxLogits; else null. */
  aux2: Tensor | null;
  /** The first auxiliary head's logits (after inception 4a), or null. */
  aux1: Tensor | null;
}

export class GoogLeNet extends nn.Module<[Tensor], Tensor> {
  static override readonly className = 'GoogLeNet';
  /** Stem: 7×7 stride-2 convolution to 64 channels. */
  readonly conv1: BasicConv2d;
  /** 3×3 stride-2 max pooling (ceil mode). */
  readonly maxpool1: nn.Module;
  /** Stem: 1×1 convolution, 64 channels. */
  readonly conv2: BasicConv2d;
  /** Stem: 3×3 convolution to 192 channels. */
  readonly conv3: BasicConv2d;
  /** 3×3 stride-2 max pooling (ceil mode). */
  readonly maxpool2: nn.Module;
  /** Inception 3a: 192 → 256 channels. */
  readonly inception3a: Inception;
  /** Inception 3b: 256 → 480 channels. */
  readonly inception3b: Inception;
  /** 3×3 stride-2 max pooling (ceil mode). */
  readonly maxpool3: nn.Module;
  /** Inception 4a: 480 → 512 channels (the first auxiliary head reads its output). */
  readonly inception4a: Inception;
  /** Inception 4b: 512 → 512 channels. */
  readonly inception4b: Inception;
  /** Inception 4c: 512 → 512 channels. */
  readonly inception4c: Inception;
  /** Inception 4d: 512 → 528 channels (the second auxiliary head reads its output). */
  readonly inception4d: Inception;
  /** Inception 4e: 528 → 832 channels. */
  readonly inception4e: Inception;
  /** 2×2 stride-2 max pooling (ceil mode). */
  readonly maxpool4: nn.Module;
  /** Inception 5a: 832 → 832 channels. */
  readonly inception5a: Inception;
  /** Inception 5b: 832 → 1024 channels. */
  readonly inception5b: Inception;
  /** The auxiliary classifier after inception 4a (auxLogits), else null. */
  readonly aux1: InceptionAux | null;
  /** The auxiliary classifier after inception 4d (auxLogits), else null. */
  readonly aux2: InceptionAux | null;
  /** Global average pooling. */
  readonly avgpool: nn.Module;
  /** Dropout between the two linear layers (0.7 by default). */
  readonly dropout: nn.Dropout;
  /** 1024 → classes. */
  readonly fc: nn.Linear;

  private readonly _options: GoogLeNetOptions;

  constructor(options: GoogLeNetOptions = {}) {
    super();
    this._options = { ...options };
    const classes = checkCount('GoogLeNet', 'numClasses', options.numClasses, 1000);
    const inChannels = checkCount('GoogLeNet', 'inChannels', options.inChannels, 3);
    const p = checkProbability('GoogLeNet', 'dropout', options.dropout, 0.2);
    const pAux = checkProbability('GoogLeNet', 'dropoutAux', options.dropoutAux, 0.7);
    const L = layers(options.dtype);
    const pool = (k: number) => new nn.MaxPool2d(k, { stride: 2, ceilMode: true });
    this.conv1 = new BasicConv2d(L, inChannels, 64, 7, { stride: 2, padding: 3 });
    this.maxpool1 = pool(3);
    this.conv2 = new BasicConv2d(L, 64, 64, 1);
    this.conv3 = new BasicConv2d(L, 64, 192, 3, { padding: 1 });
    this.maxpool2 = pool(3);
    this.inception3a = new Inception(L, 192, 64, 96, 128, 16, 32, 32);
    this.inception3b = new Inception(L, 256, 128, 128, 192, 32, 96, 64);
    this.maxpool3 = pool(3);
    this.inception4a = new Inception(L, 480, 192, 96, 208, 16, 48, 64);
    this.inception4b = new Inception(L, 512, 160, 112, 224, 24, 64, 64);
    this.inception4c = new Inception(L, 512, 128, 128, 256, 24, 64, 64);
    this.inception4d = new Inception(L, 512, 112, 144, 288, 32, 64, 64);
    this.inception4e = new Inception(L, 528, 256, 160, 320, 32, 128, 128);
    this.maxpool4 = pool(2);
    this.inception5a = new Inception(L, 832, 256, 160, 320, 32, 128, 128);
    this.inception5b = new Inception(L, 832, 384, 192, 384, 48, 128, 128);
    this.aux1 = options.auxLogits ? new InceptionAux(L, 512, classes, pAux) : null;
    this.aux2 = options.auxLogits ? new InceptionAux(L, 528, classes, pAux) : null;
    this.avgpool = new nn.AdaptiveAvgPool2d(1);
    this.dropout = new nn.Dropout(p);
    this.fc = L.linear(1024, classes);
    // torchvision draws convolutions and linear layers from a normal of std 0.01 truncated at ±2
    // (100 standard deviations: no draw is ever cut), batch norms start at 1 and 0.
    for (const m of this.modules()) {
      if (m instanceof nn.Conv2d || m instanceof nn.Linear) {
        nn.init.normal(m.weight, 0, 0.01);
        if (m.bias) nn.init.zeros(m.bias);
      }
    }
  }

  /**
   * The same network as a functional graph (nn.Model) over the same layers,
   * for drawing: each Inception module's four branches side by side into
   * their Concatenate, and the auxiliary heads as extra outputs
   * (`neurite diagram googlenet`).
   */
  graph(inputShape: readonly number[] = [this.conv1.conv.inChannels, 224, 224]): nn.Model {
    const x = nn.input(inputShape, { name: 'image' });
    // Each layer named by its attribute path, slashes for dots (unless it has a name), called on symbolic tensors.
    const at = (m: nn.Module, name: string, ...inputs: nn.SymbolicTensor[]): nn.SymbolicTensor =>
      (m._name === undefined ? m.withName(name.replace(/\./g, '/')) : m).call(...inputs) as nn.SymbolicTensor;
    const inception = (m: Inception, name: string, h: nn.SymbolicTensor): nn.SymbolicTensor => {
      const chain = (seq: nn.Sequential, branch: string) => seq.children().reduce((t, c, i) => at(c, `${name}.${branch}.${i}`, t), h);
      const b1 = at(m.branch1, `${name}.branch1`, h);
      return at(new nn.Concatenate({ axis: 1 }), `${name}.concat`, b1, chain(m.branch2, 'branch2'), chain(m.branch3, 'branch3'), chain(m.branch4, 'branch4'));
    };
    let h = at(this.maxpool1, 'maxpool1', at(this.conv1, 'conv1', x));
    h = at(this.maxpool2, 'maxpool2', at(this.conv3, 'conv3', at(this.conv2, 'conv2', h)));
    h = at(this.maxpool3, 'maxpool3', inception(this.inception3b, 'inception3b', inception(this.inception3a, 'inception3a', h)));
    h = inception(this.inception4a, 'inception4a', h);
    const outputs: nn.SymbolicTensor[] = [];
    if (this.aux1) outputs.push(at(this.aux1, 'aux1', h));
    h = inception(this.inception4d, 'inception4d', inception(this.inception4c, 'inception4c', inception(this.inception4b, 'inception4b', h)));
    if (this.aux2) outputs.push(at(this.aux2, 'aux2', h));
    h = at(this.maxpool4, 'maxpool4', inception(this.inception4e, 'inception4e', h));
    h = inception(this.inception5b, 'inception5b', inception(this.inception5a, 'inception5a', h));
    h = at(new nn.Flatten(), 'flatten', at(this.avgpool, 'avgpool', h));
    const logits = at(this.fc, 'fc', at(this.dropout, 'dropout', h));
    return new nn.Model({ inputs: [x], outputs: [logits, ...outputs] });
  }

  /** The options it was built with (numClasses read from the head, which prepareTransfer may replace): saveModel writes them, loadModel rebuilds the network from them. */
  override getConfig(): LayerConfig {
    return { ...this._options, numClasses: this.fc.outFeatures };
  }

  /** The logits, and in training mode with auxLogits the two auxiliary heads' logits. */
  forwardWithAux(x: Tensor): GoogLeNetOutputs {
    let h = this.maxpool1.forward(this.conv1.forward(x)) as Tensor;
    h = this.maxpool2.forward(this.conv3.forward(this.conv2.forward(h))) as Tensor;
    h = this.maxpool3.forward(this.inception3b.forward(this.inception3a.forward(h))) as Tensor;
    h = this.inception4a.forward(h);
    const aux1 = this.aux1 && this.training ? this.aux1.forward(h) : null;
    h = this.inception4d.forward(this.inception4c.forward(this.inception4b.forward(h)));
    const aux2 = this.aux2 && this.training ? this.aux2.forward(h) : null;
    h = this.maxpool4.forward(this.inception4e.forward(h)) as Tensor;
    h = this.inception5b.forward(this.inception5a.forward(h));
    const pooled = (this.avgpool.forward(h) as Tensor).flatten(1);
    return { logits: this.fc.forward(this.dropout.forward(pooled) as Tensor), aux2, aux1 };
  }

  forward(x: Tensor): Tensor {
    return this.forwardWithAux(x).logits;
  }
}

registerLayer(GoogLeNet.className, (config) => new GoogLeNet(config as GoogLeNetOptions));
