import type { TypedArray } from './dtype.js';

/*
 * The hooks a compiled step records through (src/compile builds on them).
 *
 * While a step is traced, every kernel call is recorded by the engine (see
 * setKernelTableOverride) and every allocation by dtype.ts. What the kernels
 * cannot see is JavaScript that computes on tensor data between them: random
 * masks, label checks, counters, an optimizer's update rule. Such code runs
 * through hostStep(), which runs it now and, while a trace is recording, also
 * records it to run again at the same point of every replay. Code that reads
 * a value to decide what to do next calls noteValueRead(), which marks the
 * trace as data-dependent (the step then runs eagerly, never wrongly).
 */

/** What a host step touches: arrays it reads and arrays it writes (all others are left alone). */
export interface HostAccess {
  readonly reads?: readonly TypedArray[];
  readonly writes?: readonly TypedArray[];
  /**
   * Every change it makes to array values goes through the fused optimizer
   * kernels (FusedKernels' optimizer steps) whenever the kernel table
   * accepts the call, its own JavaScript rule only when it declines. An
   * executor holding the arrays elsewhere (a GPU) may then run it with its own
   * fused kernels, and the arrays need not come back to the CPU.
   */
  readonly fusedUpdates?: boolean;
  /**
   * It only copies: writes[i] becomes reads[i], byte for byte (copyOf). An
   * executor may copy on its side without bringing either array back.
   */
  readonly copies?: boolean;
}

/** The recorder a trace installs; core calls it, src/compile implements it. */
export interface TraceRecorder {
  /** Storage made while recording (allocate, allocateUninitialized, copyOf). */
  allocated(data: TypedArray): void;
  /** A host step that just ran, to be run again in every replay. */
  host(label: string, run: () => void, access: HostAccess): void;
  /** JavaScript read a tensor's values (item(), toArray()) while recording. */
  valueRead(what: string): void;
  /** Backward filled `.grad` of a leaf: that storage outlives the step. */
  gradientKept(holder: { grad: { data: TypedArray } | null }): void;
}

let recorder: TraceRecorder | null = null;

/** The recorder of the trace in progress, or null (nearly always). */
export function activeTrace(): TraceRecorder | null {
  return recorder;
}

/** Install (or with null remove) the recorder; src/compile's business. */
export function setActiveTrace(r: TraceRecorder | null): void {
  recorder = r;
}

/**
 * Run `fn`, which computes on tensor data in JavaScript; while a step is
 * traced, also record it so that every replay runs it again at this point.
 * Kernels it calls run eagerly and are not recorded (they belong to it).
 * `access` names the arrays it reads and writes, which the memory planner
 * must keep in place.
 */
export function hostStep(label: string, access: HostAccess, fn: () => void): void {
  const r = recorder;
  if (r === null) {
    fn();
    return;
  }
  recorder = null;
  try {
    fn();
  } finally {
    recorder = r;
  }
  r.host(label, fn, access);
}

/** Say that JavaScript read a tensor's values; a trace in progress becomes data-dependent. */
export function noteValueRead(what: string): void {
  if (recorder !== null) recorder.valueRead(what);
}
