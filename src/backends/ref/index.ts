import { registerBackend } from '../../core/engine.js';
import type { Backend, Kernels } from '../../kernels/contract.js';
import { conv2d, conv2dBackwardInput, conv2dBackwardWeight } from './conv.js';
import { binary, cast, compare, predicate, reluBackward, unary, where } from './elementwise.js';
import { gather, indexAdd, indexSelect, scatterAdd } from './indexing.js';
import { concat, pad, permute, slice, sliceAdd } from './layout.js';
import { lstmCellBackward, lstmCellForward } from './lstm.js';
import { addmm, matmul } from './matmul.js';
import { avgPool2d, avgPool2dBackward, maxPool2d, maxPool2dBackward, maxUnpool } from './pool.js';
import { argReduce, reduce } from './reduce.js';
import { logSoftmax, logSoftmaxBackward } from './softmax.js';

/**
 * The reference kernels. Typed as the full `Kernels` interface, so a kernel
 * added to the interface without a reference implementation fails to compile.
 */
export const refKernels: Kernels = {
  addmm,
  unary,
  predicate,
  reluBackward,
  binary,
  compare,
  where,
  reduce,
  argReduce,
  matmul,
  permute,
  slice,
  sliceAdd,
  pad,
  concat,
  gather,
  scatterAdd,
  indexSelect,
  indexAdd,
  cast,
  conv2d,
  conv2dBackwardInput,
  conv2dBackwardWeight,
  maxPool2d,
  maxPool2dBackward,
  avgPool2d,
  avgPool2dBackward,
  maxUnpool,
  lstmCellForward,
  lstmCellBackward,
  logSoftmax,
  logSoftmaxBackward,
};

export const refBackend: Backend = {
  name: 'ref',
  kernels: refKernels,
  describe: () => 'pure TypeScript reference kernels (float32 and float64)',
};

// Registering on import is what makes this the fallback for every other
// backend; ops/ imports this module, so the reference is always there.
registerBackend(refBackend, { reference: true });
