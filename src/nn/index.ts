// The neural-network API: modules, layers, activations, losses, initialisers.

export { type LstmPeephole, lstmCell, lstmCellComposite } from '../ops/primitives.js';
export { ModuleList, Sequential } from './containers.js';
export * as functional from './functional/index.js';
export { type GraphRef, type InputOptions, input, Model, type ModelOutput, type ModelSpec, type SymbolicOf, SymbolicTensor } from './graph.js';
export type { Initializer } from './init.js';
export * as init from './init.js';
export * from './layers/activation.js';
export {
  Conv1d,
  Conv2d,
  type ConvLayerOptions,
  type ConvPaddingMode,
  ConvTranspose1d,
  ConvTranspose2d,
  type ConvTransposeLayerOptions,
  type LayerExtras,
} from './layers/conv.js';
export { AlphaDropout, Dropout, type DropoutOptions } from './layers/dropout.js';
export { Embedding, type EmbeddingOptions } from './layers/embedding.js';
export { Lambda, type LambdaFunction } from './layers/lambda.js';
export { Linear, type LinearOptions } from './layers/linear.js';
export { LocallyConnected1d, LocallyConnected2d, type LocallyConnectedOptions } from './layers/locally-connected.js';
export { Add, Concatenate, Multiply } from './layers/merge.js';
export { BatchNorm, BatchNorm1d, BatchNorm2d, type BatchNormOptions, LayerNorm, type LayerNormOptions } from './layers/normalization.js';
export {
  AdaptiveAvgPool1d,
  AdaptiveAvgPool2d,
  AdaptiveMaxPool1d,
  AdaptiveMaxPool2d,
  type AdaptivePoolValues,
  AvgPool1d,
  AvgPool2d,
  type AvgPoolLayerOptions,
  GlobalAvgPool1d,
  GlobalAvgPool2d,
  GlobalMaxPool1d,
  GlobalMaxPool2d,
  MaxPool1d,
  MaxPool2d,
  type MaxPoolLayerOptions,
  MaxUnpool1d,
  MaxUnpool2d,
  type NameOption,
  type PoolClass,
  type PoolLayerOptions,
  type WindowOverrides,
} from './layers/pool.js';
export {
  type CellExtras,
  type CellOptions,
  ConvLSTM2d,
  type ConvLSTM2dOptions,
  detachState,
  GRU,
  GRUCell,
  LSTM,
  LSTMCell,
  type LSTMCellOptions,
  type LSTMOptions,
  type RecurrentExtras,
  type RecurrentOptions,
  RecurrentOutput,
  type RecurrentResult,
  type RecurrentSelect,
  type RecurrentState,
  RNN,
  RNNCell,
  type RNNCellOptions,
  type RNNOptions,
  type SequenceOptions,
} from './layers/recurrent.js';
export { Flatten, Identity, Reshape } from './layers/reshape.js';
export * from './losses.js';
export { functionalCall, type LayerConfig, type LoadedModel, type LoadResult, Module } from './module.js';
export {
  LayerSchema,
  type OptionSchema,
  type OptionSpec,
  type OptionsOf,
  type OptionValues,
  option,
  optionsConfig,
  parseOptions,
  required,
  spatial,
} from './options.js';
export { Parameter } from './parameter.js';
export { getLayerFactory, type LayerFactory, type LayerSpec, layerFromConfig, layerToSpec, registeredLayers, registerLayer } from './registry.js';
export { ModelSummary, type SummaryOptions, type SummaryRow, summary } from './summary.js';
