/**
 * neurite's public API: every name the package exports, shared by the Node
 * entry (src/index.ts) and the browser entry (src/index.browser.ts), which
 * differ only in the backends they can offer.
 */

export type { BackwardOptions } from './autograd/backward.js';
export * from './compile/index.js';
export { type DType, type FloatArray, type FloatDType, getMaxTensorBytes, type StorageProvider, setMaxTensorBytes, type TypedArray } from './core/dtype.js';
export {
  type BackendEntry,
  backendReady,
  detectAnomaly,
  enableGrad,
  getBackend,
  getNumThreads,
  getTrainingDevice,
  isAnomalyDetectionEnabled,
  isGradEnabled,
  listBackends,
  noGrad,
  registerBackend,
  type SetBackendOptions,
  setBackend,
  setDetectAnomaly,
  setNumThreads,
} from './core/engine.js';
export {
  AnomalyError,
  AutogradError,
  DTypeError,
  MemoryLimitError,
  NeuriteError,
  SerializationError,
  ShapeError,
  UnknownOptionError,
  ValueError,
} from './core/errors.js';
export type { AbortSignalLike, UrlLike } from './core/platform.js';
export { defaultGenerator, Generator, type GeneratorState, initialSeed, seed } from './core/random.js';
export type { Shape } from './core/shape.js';
export { type Axes, type GradNode, type NestedArray, type ShapeArgs, type SliceSpec, Tensor, type TensorOrNumber, type VJP } from './core/tensor.js';
export { Check, check } from './core/validate.js';
export { VERSION } from './core/version.js';
export * from './data/index.js';
export * from './io/index.js';
export type {
  AdadeltaStepOptions,
  AdagradStepOptions,
  AdamStepOptions,
  AvgPoolDivisor,
  Backend,
  BinaryOp,
  CompareOp,
  FusedKernels,
  Kernels,
  PredicateOp,
  ReduceOp,
  RmspropStepOptions,
  SgdStepOptions,
  UnaryOp,
} from './kernels/contract.js';
export { CONV2D_GEOMETRY_FIELDS, type Conv2dGeometry, POOL2D_GEOMETRY_FIELDS, type Pool2dGeometry } from './kernels/geometry.js';
export * as models from './models/index.js';
export * as nn from './nn/index.js';
export type { BuiltinLossName, CustomLossNames, LossName } from './nn/losses.js';
export { fromOnnx, ONNX_OPSET, OnnxError, type OnnxExportOptions, type OnnxFile, readOnnx, toOnnx } from './onnx/index.js';
export * from './ops/index.js';
export * as optim from './optim/index.js';
export * from './train/index.js';
export { grad, hessian, hvp, jacobian, type TensorFunction, valueAndGrad, vjp } from './transforms/functional.js';
export { GradcheckError, type GradcheckMismatch, type GradcheckOptions, type GradcheckReport, gradcheck } from './transforms/gradcheck.js';
