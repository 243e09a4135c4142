// ResNet (He, Zhang, Ren and Sun, 2015) as torchvision builds it: a 7×7
// stride-2 stem and max pooling, four stages of residual blocks whose
// shortcut adds the block's input to its output (a 1×1 convolution and batch
// norm when the shape changes), global average pooling and one linear layer.
// ResNet-18 and 34 use basic blocks (two 3×3 convolutions), 50, 101 and 152
// bottlenecks (1×1, 3×3, 1×1, four times wider out than in).
import { ValueError } from '../core/errors.js';
import type { Tensor } from '../core/tensor.js';
import * as nn from '../nn/index.js';
import type { LayerConfig } from '../nn/module.js';
import { registerLayer } from '../nn/registry.js';
import { checkCount, type Layers, layers, type ModelOptions, torchvisionInit } from './common.js';

export interface ResNetOptions extends ModelOptions {
  /**
   * Start each residual branch's last batch norm at zero, so every block
   * starts as the identity (torchvision's zero_init_residual; default false).
   */
  zeroInitResidual?: boolean;
}

/** Two 3×3 convolutions and the shortcut. */
export class BasicBlock extends nn.Module<[Tensor], Tensor> {
  static override readonly className = 'BasicBlock';
  /** Output channels per `planes`: 1 for basic blocks. */
  static readonly expansion = 1;
  /** First convolution of the branch (of the stem, in ResNet). */
  readonly conv1: nn.Conv2d;
  /** Batch norm after conv1. */
  readonly bn1: nn.BatchNorm2d;
  /** Second convolution of the branch. */
  readonly conv2: nn.Conv2d;
  /** Batch norm after conv2. */
  readonly bn2: nn.BatchNorm2d;
  /** The shortcut's 1×1 convolution and batch norm when the shape changes; null for the identity. */
  readonly downsample: nn.Sequential | null;

  constructor(L: Layers, inplanes: number, planes: number, stride: number, downsample: nn.Sequential | null) {
    super();
    this.conv1 = L.conv(inplanes, planes, 3, { stride, padding: 1, bias: false });
    this.bn1 = L.batchNorm(planes);
    this.conv2 = L.conv(planes, planes, 3, { padding: 1, bias: false });
    this.bn2 = L.batchNorm(planes);
    this.downsample = downsample;
  }

  forward(x: Tensor): Tensor {
    const out = this.bn2.forward(this.conv2.forward(this.bn1.forward(this.conv1.forward(x)).relu()));
    const identity = this.downsample ? this.downsample.forward(x) : x;
    return out.add(identity).relu();
  }
}

/** 1×1 down, 3×3, 1×1 up (×4), and the shortcut; the stride sits on the 3×3 (ResNet v1.5, as torchvision). */
export class Bottleneck extends nn.Module<[Tensor], Tensor> {
  static override readonly className = 'Bottleneck';
  /** Output channels per `planes`: 4 for bottlenecks. */
  static readonly expansion = 4;
  /** First convolution of the branch (of the stem, in ResNet). */
  readonly conv1: nn.Conv2d;
  /** Batch norm after conv1. */
  readonly bn1: nn.BatchNorm2d;
  /** Second convolution of the branch. */
  readonly conv2: nn.Conv2d;
  /** Batch norm after conv2. */
  readonly bn2: nn.BatchNorm2d;
  /** The 1×1 convolution back up to four times the width. */
  readonly conv3: nn.Conv2d;
  /** Batch norm after conv3. */
  readonly bn3: nn.BatchNorm2d;
  /** The shortcut's 1×1 convolution and batch norm when the shape changes; null for the identity. */
  readonly downsample: nn.Sequential | null;

  constructor(L: Layers, inplanes: number, planes: number, stride: number, downsample: nn.Sequential | null) {
    super();
    this.conv1 = L.conv(inplanes, planes, 1, { bias: false });
    this.bn1 = L.batchNorm(planes);
    this.conv2 = L.conv(planes, planes, 3, { stride, padding: 1, bias: false });
    this.bn2 = L.batchNorm(planes);
    this.conv3 = L.conv(planes, planes * 4, 1, { bias: false });
    this.bn3 = L.batchNorm(planes * 4);
    this.downsample = downsample;
  }

  forward(x: Tensor): Tensor {
    let out = this.bn1.forward(this.conv1.forward(x)).relu();
    out = this.bn2.forward(this.conv2.forward(out)).relu();
    out = this.bn3.forward(this.conv3.forward(out));
    const identity = this.downsample ? this.downsample.forward(x) : x;
    return out.add(identity).relu();
  }
}

/** Blocks per stage for each depth, and the block type. */
const RESNET_CONFIGS: Record<ResNetDepth, { block: 'basic' | 'bottleneck'; stages: readonly number[] }> = {
  18: { block: 'basic', stages: [2, 2, 2, 2] },
  34: { block: 'basic', stages: [3, 4, 6, 3] },
  50: { block: 'bottleneck', stages: [3, 4, 6, 3] },
  101: { block: 'bottleneck', stages: [3, 4, 23, 3] },
  152: { block: 'bottleneck', stages: [3, 8, 36, 3] },
} as const;
/** The depths torchvision builds: 18, 34, 50, 101, 152. */
export type ResNetDepth = 18 | 34 | 50 | 101 | 152;

export class ResNet extends nn.Module<[Tensor], Tensor> {
  static override readonly className = 'ResNet';
  /** First convolution of the branch (of the stem, in ResNet). */
  readonly conv1: nn.Conv2d;
  /** Batch norm after conv1. */
  readonly bn1: nn.BatchNorm2d;
  /** 3×3 stride-2 max pooling after the stem. */
  readonly maxpool: nn.Module;
  /** Stage 1: 64 planes, stride 1. */
  readonly layer1: nn.Sequential;
  /** Stage 2: 128 planes, stride 2. */
  readonly layer2: nn.Sequential;
  /** Stage 3: 256 planes, stride 2. */
  readonly layer3: nn.Sequential;
  /** Stage 4: 512 planes, stride 2. */
  readonly layer4: nn.Sequential;
  /** Global average pooling. */
  readonly avgpool: nn.Module;
  /** The classifier: 512 (basic) or 2048 (bottleneck) → classes. */
  readonly fc: nn.Linear;

  private readonly _config: ResNetOptions & { depth: ResNetDepth };

  constructor(depth: ResNetDepth, options: ResNetOptions = {}) {
    super();
    this._config = { ...options, depth };
    const config = RESNET_CONFIGS[depth];
    if (!config) throw new ValueError(`ResNet: depth must be 18, 34, 50, 101 or 152, got ${depth}`);
    const who = `ResNet-${depth}`;
    const classes = checkCount(who, 'numClasses', options.numClasses, 1000);
    const inChannels = checkCount(who, 'inChannels', options.inChannels, 3);
    const L = layers(options.dtype);
    const Block = config.block === 'basic' ? BasicBlock : Bottleneck;
    let inplanes = 64;
    const stage = (planes: number, blocks: number, stride: number): nn.Sequential => {
      const out = planes * Block.expansion;
      const downsample = stride !== 1 || inplanes !== out ? new nn.Sequential(L.conv(inplanes, out, 1, { stride, bias: false }), L.batchNorm(out)) : null;
      const list: nn.Module[] = [new Block(L, inplanes, planes, stride, downsample)];
      inplanes = out;
      for (let i = 1; i < blocks; i++) list.push(new Block(L, inplanes, planes, 1, null));
      return new nn.Sequential(...list);
    };
    this.conv1 = L.conv(inChannels, 64, 7, { stride: 2, padding: 3, bias: false });
    this.bn1 = L.batchNorm(64);
    this.maxpool = new nn.MaxPool2d(3, { stride: 2, padding: 1 });
    this.layer1 = stage(64, config.stages[0], 1);
    this.layer2 = stage(128, config.stages[1], 2);
    this.layer3 = stage(256, config.stages[2], 2);
    this.layer4 = stage(512, config.stages[3], 2);
    this.avgpool = new nn.AdaptiveAvgPool2d(1);
    this.fc = L.linear(512 * Block.expansion, classes);
    torchvisionInit(this, 'default');
    if (options.zeroInitResidual) {
      for (const m of this.modules()) {
        const last = m instanceof Bottleneck ? m.bn3 : m instanceof BasicBlock ? m.bn2 : null;
        if (last?.weight) nn.init.zeros(last.weight);
      }
    }
  }

  /**
   * The same network as a functional graph (nn.Model) over the same layers,
   * for drawing: every convolution and batch norm a node, each block's
   * shortcut an edge into its Add (`neurite diagram resnet18`).
   */
  graph(inputShape: readonly number[] = [this.conv1.inChannels, 224, 224]): nn.Model {
    const x = nn.input(inputShape, { name: 'image' });
    // Each layer named by its attribute path, slashes for dots (unless it has a name), called on symbolic tensors.
    const at = (m: nn.Module, name: string, ...inputs: nn.SymbolicTensor[]): nn.SymbolicTensor =>
      (m._name === undefined ? m.withName(name.replace(/\./g, '/')) : m).call(...inputs) as nn.SymbolicTensor;
    let h = at(this.maxpool, 'maxpool', at(new nn.ReLU(), 'relu', at(this.bn1, 'bn1', at(this.conv1, 'conv1', x))));
    const stages = [this.layer1, this.layer2, this.layer3, this.layer4];
    stages.forEach((stage, s) => {
      stage.children().forEach((block, b) => {
        const path = `layer${s + 1}.${b}`;
        const blk = block as BasicBlock | Bottleneck;
        let m = at(new nn.ReLU(), `${path}.relu1`, at(blk.bn1, `${path}.bn1`, at(blk.conv1, `${path}.conv1`, h)));
        m = at(blk.bn2, `${path}.bn2`, at(blk.conv2, `${path}.conv2`, m));
        if (blk instanceof Bottleneck) m = at(blk.bn3, `${path}.bn3`, at(blk.conv3, `${path}.conv3`, at(new nn.ReLU(), `${path}.relu2`, m)));
        const shortcut = blk.downsample ? at(blk.downsample, `${path}.downsample`, h) : h;
        h = at(new nn.ReLU(), `${path}.relu`, at(new nn.Add(), `${path}.add`, m, shortcut));
      });
    });
    h = at(new nn.Flatten(), 'flatten', at(this.avgpool, 'avgpool', h));
    return new nn.Model({ inputs: [x], outputs: [at(this.fc, 'fc', h)] });
  }

  /** The depth and options it was built with (numClasses read from the head, which prepareTransfer may replace): saveModel writes them, loadModel rebuilds the network from them. */
  override getConfig(): LayerConfig {
    return { ...this._config, numClasses: this.fc.outFeatures };
  }

  forward(x: Tensor): Tensor {
    let h = this.maxpool.forward(this.bn1.forward(this.conv1.forward(x)).relu()) as Tensor;
    h = this.layer4.forward(this.layer3.forward(this.layer2.forward(this.layer1.forward(h))));
    return this.fc.forward((this.avgpool.forward(h) as Tensor).flatten(1));
  }
}

registerLayer(ResNet.className, (config) => {
  const { depth, ...options } = config as unknown as ResNetOptions & { depth: ResNetDepth };
  return new ResNet(depth, options);
});
