// Data for training: in-memory datasets, mini-batching and splits; sources
// (IDX files and MNIST, CSV tables, toy 2-D sets) and image augmentation.

export {
  centerCrop,
  compose,
  type FlipAxis,
  flipImages,
  gaussianNoise,
  normalizeImages,
  randomHorizontalFlip,
  randomRotation,
  randomShift,
  randomVerticalFlip,
  resizeImages,
  rotateImages,
  shiftImages,
  type Transform,
} from './augment.js';
export { CsvCellError, type CsvData, type CsvOptions, parseCsv } from './csv.js';
export {
  type Batch,
  DataLoader,
  type DataLoaderOptions,
  type Fold,
  type IndexedDataset,
  type KFoldOptions,
  kFold,
  randomSplit,
  shareOf,
  stratifiedKFold,
  TensorDataset,
  type TrainTestSplit,
  type TrainTestSplitOptions,
  trainTestSplit,
} from './dataset.js';
export { encodeIdx, type IdxArray, type IdxData, type IdxDType, idxToTensor, isGzip, parseIdx, parseIdxAsync } from './idx.js';
export { MNIST_FILES, type MnistData, type MnistDecodeOptions, type MnistSplit, mnistFromBytes, mnistFromIdx } from './mnist.js';
export { DataNotFoundError, loadCsv, type MnistOptions, mnist, mnistDataDirectory, readIdxFile, writeIdxFile } from './node.js';
export { circles, gaussians, moons, type ToyData, type ToyOptions, twoSpirals, xorData } from './toy.js';
