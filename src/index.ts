/**
 * neurite: deep learning in TypeScript.
 *
 * Tensors and their operations, reverse-mode autodiff (with higher order),
 * backends, and (in later modules) neural-network layers and training.
 */
export * from './ops/index.js';
export { Tensor, type NestedArray, type SliceSpec, type TensorOrNumber } from './core/tensor.js';
export type { DType, FloatDType, TypedArray } from './core/dtype.js';
export { AutogradError, DTypeError, NeuriteError, SerializationError, ShapeError, ValueError } from './core/errors.js';
export { Generator, type GeneratorState, defaultGenerator, initialSeed, seed } from './core/random.js';
export { enableGrad, getBackend, isGradEnabled, listBackends, noGrad, registerBackend, setBackend } from './core/engine.js';
export type { Backend, Kernels } from './backends/kernels.js';
export { grad, hessian, hvp, jacobian, valueAndGrad, vjp } from './autograd/functional.js';
export { gradcheck, GradcheckError, type GradcheckOptions, type GradcheckReport } from './autograd/gradcheck.js';
export type { BackwardOptions } from './autograd/backward.js';
export * as nn from './nn/index.js';
