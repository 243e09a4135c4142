// Optimizers, learning-rate schedulers and gradient utilities.
export { Adadelta, type AdadeltaHyper, type AdadeltaOptions, type AdadeltaState, adadeltaUpdate } from './adadelta.js';
export { Adagrad, type AdagradHyper, type AdagradOptions, type AdagradState, adagradUpdate } from './adagrad.js';
export { Adam, type AdamHyper, type AdamOptions, type AdamState, adamUpdate } from './adam.js';
export { AdamW } from './adamw.js';
export { type ClipGradNormOptions, clipGradNorm, clipGradValue, type TensorList } from './clip.js';
export { LBFGS, type LBFGSHyper, type LBFGSOptions, type LBFGSState } from './lbfgs.js';
export { cubicInterpolate, type DirectionalObjective, type LineSearchResult, type StrongWolfeOptions, strongWolfe } from './linesearch.js';
export { Newton, type NewtonHyper, type NewtonOptions, type NewtonState, SingularHessianError } from './newton.js';
export {
  type BaseHyper,
  type Closure,
  Optimizer,
  type OptimizerParams,
  type OptimizerStateDict,
  ParameterwiseOptimizer,
  type ParamGroup,
  type ParamGroupSpec,
} from './optimizer.js';
export { l1Penalty, l2Penalty } from './penalty.js';
export { ReduceLROnPlateau, type ReduceLROnPlateauOptions } from './plateau.js';
export { RMSprop, type RMSpropHyper, type RMSpropOptions, type RMSpropState, rmspropUpdate } from './rmsprop.js';
export {
  CosineAnnealingLR,
  type CosineAnnealingLROptions,
  ExponentialLR,
  type ExponentialLROptions,
  LinearLR,
  type LinearLROptions,
  LRScheduler,
  type LRSchedulerLike,
  MultiStepLR,
  type MultiStepLROptions,
  type SchedulableOptimizer,
  type SchedulerStateDict,
  StepLR,
  type StepLROptions,
} from './schedulers.js';
export { SGD, type SGDHyper, type SGDOptions, type SGDState, sgdUpdate } from './sgd.js';
export type { EncodedTensor, EncodedValue, StateValue } from './statedict.js';
