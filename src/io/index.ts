// Saving and loading: safetensors, architecture JSON, weights, checkpoints, and the Node file helpers.
export { MODEL_FORMAT, MODEL_FORMAT_VERSION, type ModelJSON, modelFromJSON, modelToJSON } from './architecture.js';
export type { ModelFiles, ModelSource, NamedBlob } from './browser.js';
export {
  applyOptimizerState,
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  type CheckpointContents,
  encodeCheckpoint,
  type RestoredCheckpoint,
  type RestoreOptions,
  restoreCheckpoint,
  type StatefulOptimizer,
} from './checkpoint.js';
export { FormatVersionError, StateMismatchError, UnknownLayerError } from './errors.js';
export {
  atomicWriteFile,
  CHECKPOINT_FILE,
  type Chunks,
  loadCheckpoint,
  loadModel,
  loadModelExtra,
  loadOptimizer,
  loadWeights,
  MODEL_FILES,
  type SaveModelOptions,
  saveCheckpoint,
  saveModel,
  saveWeights,
} from './node.js';
export { type DecodedSafetensors, decodeSafetensors, encodeSafetensors, type SafetensorsMetadata } from './safetensors.js';
export { checkStateDict, loadCheckedStateDict, loadWeightsFromSafetensors, type WeightLoadOptions, weightsToSafetensors } from './weights.js';
