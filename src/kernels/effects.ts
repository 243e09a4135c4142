import type { FusedKernels, Kernels } from './contract.js';

/**
 * Which arguments each kernel writes, by position: `writes` are outputs it
 * overwrites completely (their old contents do not matter), `updates` are
 * arrays it reads and then changes in place (sliceAdd, scatterAdd and
 * indexAdd add into their output; fused optimizer steps update parameters
 * and state). Every other array argument is only read.
 *
 * A compiled step's memory planner needs this: an array whose first use in
 * the step is an overwrite can share storage with arrays that died before
 * it; one that is read first carries a value made outside the kernels.
 * The parity tests check the table against what the reference kernels do.
 */
export interface KernelEffect {
  readonly writes: readonly number[];
  readonly updates: readonly number[];
}

const w = (...writes: number[]): KernelEffect => ({ writes, updates: [] });
const rmw = (...updates: number[]): KernelEffect => ({ writes: [], updates });

export const KERNEL_EFFECTS: Readonly<Record<keyof Kernels | keyof FusedKernels, KernelEffect>> = {
  unary: w(2),
  predicate: w(2),
  reluBackward: w(2),
  binary: w(5),
  compare: w(5),
  where: w(6),
  reduce: w(4),
  argReduce: w(4),
  logSoftmax: w(4),
  logSoftmaxBackward: w(5),
  matmul: w(2),
  addmm: w(3),
  permute: w(3),
  slice: w(4),
  sliceAdd: rmw(4),
  pad: w(4),
  concat: w(3),
  gather: w(5),
  scatterAdd: rmw(0),
  indexSelect: w(4),
  indexAdd: rmw(0),
  cast: w(1),
  conv2d: w(3),
  conv2dBackwardInput: w(2),
  conv2dBackwardWeight: w(2),
  maxPool2d: w(1, 2),
  maxPool2dBackward: w(2),
  avgPool2d: w(1),
  avgPool2dBackward: w(1),
  maxUnpool: w(2),
  lstmCellForward: w(2, 3, 4),
  lstmCellBackward: w(5, 6),
  sgdStep: rmw(0, 2),
  adamStep: rmw(0, 2, 3, 4),
  rmspropStep: rmw(0, 2, 3, 4),
  adagradStep: rmw(0, 2),
  adadeltaStep: rmw(0, 2, 3),
  // Its outputs are the list at position 2.
  elementwiseProgram: w(2),
};
