/**
 * neurite's public API: every name the package exports, shared by the Node
 * entry (src/index.ts) and the browser entry (src/index.browser.ts), which
 * differ only in the backends they can offer.
 */

export type { BackwardOptions } from './autograd/backward.js';
export { type DType, type FloatDType, getMaxTensorBytes, setMaxTensorBytes, type TypedArray } from './core/dtype.js';
export {
  detectAnomaly,
  enableGrad,
  getBackend,
  isAnomalyDetectionEnabled,
  isGradEnabled,
  listBackends,
  noGrad,
  registerBackend,
  setBackend,
  setDetectAnomaly,
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
export { defaultGenerator, Generator, type GeneratorState, initialSeed, seed } from './core/random.js';
export { type NestedArray, type SliceSpec, Tensor, type TensorOrNumber } from './core/tensor.js';
export * from './data/index.js';
export * from './io/index.js';
export type { Backend, Kernels } from './kernels/contract.js';
export * as nn from './nn/index.js';
export * from './ops/index.js';
export * as optim from './optim/index.js';
export * from './train/index.js';
export { grad, hessian, hvp, jacobian, valueAndGrad, vjp } from './transforms/functional.js';
export { GradcheckError, type GradcheckOptions, type GradcheckReport, gradcheck } from './transforms/gradcheck.js';
