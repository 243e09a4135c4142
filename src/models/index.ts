// The notes' canonical networks, ready to use, with torchvision's parameter
// and buffer names: a torchvision state dict saved as safetensors loads into
// them unchanged. Each builder takes its options, and with `weights` (a
// safetensors path, URL or bytes) returns a promise of the network with those
// weights loaded strictly.
import type * as nn from '../nn/index.js';
import { AlexNet, type AlexNetOptions } from './alexnet.js';
import { loadInto, type ModelOptions, type WeightsSource } from './common.js';
import { GoogLeNet, type GoogLeNetOptions } from './googlenet.js';
import { lenet5 as buildLenet5 } from './lenet.js';
import { ResNet, type ResNetDepth, type ResNetOptions } from './resnet.js';
import { VGG, type VggDepth, type VggOptions } from './vgg.js';

export { AlexNet, type AlexNetOptions } from './alexnet.js';
export type { Layers, ModelOptions, WeightsSource } from './common.js';
export { BasicConv2d, GoogLeNet, type GoogLeNetOptions, type GoogLeNetOutputs, Inception, InceptionAux } from './googlenet.js';
export { IMAGENET, type Preprocessing, preprocess } from './preprocess.js';
export { BasicBlock, Bottleneck, ResNet, type ResNetDepth, type ResNetOptions } from './resnet.js';
export { type FreezePolicy, freezeBackbone, loadBackbone, prepareTransfer, type TransferOptions } from './transfer.js';
export { VGG, type VggDepth, type VggOptions, vggFeatures } from './vgg.js';

/** Builder options plus, optionally, the weights to load. */
export type WithWeights<O> = O & {
  /** The safetensors file to load (a path, a URL or its bytes). */
  weights: WeightsSource;
};

/** A builder: synchronous without weights, a promise with them. */
export interface Builder<O, M> {
  (options?: O & { weights?: undefined }): M;
  (options: WithWeights<O>): Promise<M>;
}

function builder<O extends object, M extends nn.Module>(make: (options: O) => M): Builder<O, M> {
  return ((options: O & { weights?: WeightsSource } = {} as O) => {
    const { weights, ...rest } = options;
    const model = make(rest as O);
    return weights === undefined ? model : loadInto(model, weights);
  }) as Builder<O, M>;
}

/** LeNet-5 for 28×28 images, layer for layer the `neurite train lenet5` preset (numClasses 10, inChannels 1 by default). */
export const lenet5 = builder<ModelOptions, nn.Sequential>((o) => buildLenet5(o));
/** AlexNet as torchvision builds it (61,100,840 parameters at 1000 classes). */
export const alexnet = builder<AlexNetOptions, AlexNet>((o) => new AlexNet(o));
const vgg = (depth: VggDepth, batchNorm: boolean) => builder<Omit<VggOptions, 'batchNorm'>, VGG>((o) => new VGG(depth, { ...o, batchNorm }));
/** VGG-11 (configuration A) without batch norm. */
export const vgg11 = vgg(11, false);
/** VGG-11 with batch norm after every convolution. */
export const vgg11_bn = vgg(11, true);
/** VGG-13 (configuration B) without batch norm. */
export const vgg13 = vgg(13, false);
/** VGG-13 with batch norm. */
export const vgg13_bn = vgg(13, true);
/** VGG-16 (configuration D) without batch norm (138,357,544 parameters at 1000 classes). */
export const vgg16 = vgg(16, false);
/** VGG-16 with batch norm. */
export const vgg16_bn = vgg(16, true);
/** VGG-19 (configuration E) without batch norm. */
export const vgg19 = vgg(19, false);
/** VGG-19 with batch norm. */
export const vgg19_bn = vgg(19, true);
const resnet = (depth: ResNetDepth) => builder<ResNetOptions, ResNet>((o) => new ResNet(depth, o));
/** ResNet-18: basic blocks, stages of 2, 2, 2, 2 (11,689,512 parameters at 1000 classes). */
export const resnet18 = resnet(18);
/** ResNet-34: basic blocks, stages of 3, 4, 6, 3. */
export const resnet34 = resnet(34);
/** ResNet-50: bottlenecks, stages of 3, 4, 6, 3. */
export const resnet50 = resnet(50);
/** ResNet-101: bottlenecks, stages of 3, 4, 23, 3. */
export const resnet101 = resnet(101);
/** ResNet-152: bottlenecks, stages of 3, 8, 36, 3. */
export const resnet152 = resnet(152);
/** GoogLeNet (Inception v1) as torchvision builds it (6,624,904 parameters without the auxiliary heads). */
export const googlenet = builder<GoogLeNetOptions, GoogLeNet>((o) => new GoogLeNet(o));

/** The builders' names: torchvision's, and lenet5. */
export const MODEL_NAMES = [
  'lenet5',
  'alexnet',
  'vgg11',
  'vgg11_bn',
  'vgg13',
  'vgg13_bn',
  'vgg16',
  'vgg16_bn',
  'vgg19',
  'vgg19_bn',
  'resnet18',
  'resnet34',
  'resnet50',
  'resnet101',
  'resnet152',
  'googlenet',
] as const;
/** One of {@link MODEL_NAMES}. */
export type ModelName = (typeof MODEL_NAMES)[number];

/** Every builder by name, for the command line and for loops over them. */
// biome-ignore lint/suspicious/noExplicitAny: each builder takes its own options
export const BUILDERS: Readonly<Record<ModelName, Builder<any, nn.Module>>> = {
  lenet5,
  alexnet,
  vgg11,
  vgg11_bn,
  vgg13,
  vgg13_bn,
  vgg16,
  vgg16_bn,
  vgg19,
  vgg19_bn,
  resnet18,
  resnet34,
  resnet50,
  resnet101,
  resnet152,
  googlenet,
};
