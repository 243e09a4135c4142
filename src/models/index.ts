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
export type { ModelOptions, WeightsSource } from './common.js';
export { BasicConv2d, GoogLeNet, type GoogLeNetOptions, type GoogLeNetOutputs, Inception, InceptionAux } from './googlenet.js';
export { IMAGENET, type Preprocessing, preprocess } from './preprocess.js';
export { BasicBlock, Bottleneck, RESNET_CONFIGS, ResNet, type ResNetDepth, type ResNetOptions } from './resnet.js';
export { type FreezePolicy, prepareTransfer, type TransferOptions } from './transfer.js';
export { VGG, VGG_CONFIGS, type VggDepth, type VggOptions, vggFeatures } from './vgg.js';

/** Builder options plus, optionally, the weights to load. */
export type WithWeights<O> = O & { weights: WeightsSource };

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

export const lenet5 = builder<ModelOptions, nn.Sequential>((o) => buildLenet5(o));
export const alexnet = builder<AlexNetOptions, AlexNet>((o) => new AlexNet(o));
const vgg = (depth: VggDepth, batchNorm: boolean) => builder<Omit<VggOptions, 'batchNorm'>, VGG>((o) => new VGG(depth, { ...o, batchNorm }));
export const vgg11 = vgg(11, false);
export const vgg11_bn = vgg(11, true);
export const vgg13 = vgg(13, false);
export const vgg13_bn = vgg(13, true);
export const vgg16 = vgg(16, false);
export const vgg16_bn = vgg(16, true);
export const vgg19 = vgg(19, false);
export const vgg19_bn = vgg(19, true);
const resnet = (depth: ResNetDepth) => builder<ResNetOptions, ResNet>((o) => new ResNet(depth, o));
export const resnet18 = resnet(18);
export const resnet34 = resnet(34);
export const resnet50 = resnet(50);
export const resnet101 = resnet(101);
export const resnet152 = resnet(152);
export const googlenet = builder<GoogLeNetOptions, GoogLeNet>((o) => new GoogLeNet(o));

/** Every builder by torchvision's name (and lenet5), for the command line and for loops over them. */
export const BUILDERS = {
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
} as const;
export type ModelName = keyof typeof BUILDERS;
