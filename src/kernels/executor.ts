import type { TypedArray } from '../core/dtype.js';

/*
 * A device that replays a compiled step (src/compile) somewhere other than
 * in this thread's memory: the WebGPU backend's GPU. The plan hands it the
 * step as a list of kernel calls over the plan's own arrays (the CPU copies)
 * and JavaScript host steps; the executor keeps its own copies of those
 * arrays between replays and moves data only where a call needs it on the
 * other side. Reading its results is asynchronous, as a GPU requires.
 */

/** A kernel of the contract by name, with the arguments the plan gives it (its own arrays). */
export interface StepKernelCall {
  /** Says which kind of call this is. */
  readonly kind: 'kernel';
  /** The kernel's name in the contract (kernels/contract.ts), e.g. 'matmul'. */
  readonly name: string;
  /** Its arguments: the plan's arrays and plain values, as the contract orders them. */
  readonly args: readonly unknown[];
  /** The CPU kernel the step recorded (the engine's backend's), for an executor without its own. */
  readonly run: (...args: unknown[]) => unknown;
}

/** JavaScript that reads and writes the CPU copies of the arrays it names. */
export interface StepHostCall {
  /** Says which kind of call this is. */
  readonly kind: 'host';
  /** Runs it. */
  readonly run: () => void;
  /** Arrays it reads. */
  readonly reads: readonly TypedArray[];
  /** Arrays it changes. */
  readonly writes: readonly TypedArray[];
  /**
   * It changes arrays only through the fused optimizer kernels (FusedKernels'
   * optimizer steps) where the kernel table accepts the call (core/trace.ts
   * HostAccess.fusedUpdates): an executor may run it with a kernel table
   * whose fused kernels are its own.
   */
  readonly fusedUpdates: boolean;
  /** It only copies writes[i] from reads[i], byte for byte: an executor may do that on its side. */
  readonly copies?: boolean;
  /** It only sets writes[i] to these bytes (a plan restoring the zeros a kernel adds into): an executor may do that on its side. */
  readonly fills?: readonly Uint8Array[];
}

/** One call of a step as a plan replays it. */
export type StepCall = StepKernelCall | StepHostCall;

/** Where a compiled step's replays run, when not in this thread (see `compile`'s `executor` option and `openWebGpu`). */
export interface StepExecutor {
  /** A short name for messages (the device). */
  readonly name: string;
  /**
   * Runs `calls` in order. It resolves when the arrays in `results` hold
   * the step's values on the CPU; other arrays may be newer on the device
   * until `pull()`. The same `calls` array is passed on every replay of a
   * plan, so an executor may prepare it once.
   */
  run(calls: readonly StepCall[], results: readonly TypedArray[]): Promise<void>;
  /** Copies back to the CPU every array whose newest values are on the device. */
  pull(): Promise<void>;
}
