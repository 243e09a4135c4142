/// <reference types="@webgpu/types" />
import type { TypedArray } from '../../core/dtype.js';
import { activeKernelTable, setKernelTableOverride } from '../../core/engine.js';
import type { AvgPoolDivisor, Conv2dGeometry, Pool2dGeometry } from '../../kernels/contract.js';
import { KERNEL_EFFECTS } from '../../kernels/effects.js';
import type { StepCall, StepExecutor } from '../../kernels/executor.js';
import type { GpuArray, GpuDevice } from './device.js';
import { GPU_BINARY_OPS, GPU_COMPARE_OPS, GPU_PREDICATE_OPS, GPU_UNARY_OPS, GpuKernels } from './kernels.js';
import type { MaskElement } from './shaders.js';
import type { GpuReplayCounts } from './types.js';

/*
 * A compiled step replayed on the GPU (kernels/executor.ts). Every array the
 * step touches has a GPU copy beside its CPU one, and each side knows whether
 * it holds the newest values. A kernel the GPU computes runs there, after
 * uploading any argument whose newest values are on the CPU; any other call
 * (a kernel without a GPU version, a dtype the GPU kernels lack, JavaScript
 * host steps) runs on the CPU after downloading what it reads. So the
 * parameters and optimizer state of a step that is all GPU kernels stay on
 * the GPU from one replay to the next, and the data that does move is
 * counted (GpuDevice.transferCounts).
 *
 * Copies are kept per region of a CPU buffer: arrays that overlap (a view
 * and its parent) share one region, and an argument that is part of a
 * region is staged through a GPU-side copy.
 */

interface Region {
  readonly buffer: ArrayBufferLike;
  start: number;
  end: number;
  gpu: GpuArray | null;
  cpuFresh: boolean;
  gpuFresh: boolean;
  /** Not 4-byte aligned (bool arrays): never on the GPU. */
  cpuOnly: boolean;
}

interface ArrayArg {
  readonly position: number;
  readonly array: TypedArray;
  readonly written: boolean;
}

function isTypedArray(x: unknown): x is TypedArray {
  return ArrayBuffer.isView(x) && !(x instanceof DataView);
}

/** Every typed array among a call's arguments (lists flattened), with whether the kernel writes it. */
function arrayArgs(name: string, args: readonly unknown[]): ArrayArg[] {
  const effect = (KERNEL_EFFECTS as Record<string, { writes: readonly number[]; updates: readonly number[] } | undefined>)[name];
  const out: ArrayArg[] = [];
  args.forEach((a, position) => {
    // A kernel missing from the effects table is taken to write every array it gets.
    const written = effect === undefined || effect.writes.includes(position) || effect.updates.includes(position);
    if (isTypedArray(a)) out.push({ position, array: a, written });
    else if (Array.isArray(a)) for (const x of a) if (isTypedArray(x)) out.push({ position, array: x, written });
  });
  return out;
}

/** Runs a call on the GPU: `g(i)` is argument i's GPU array, `list(i)` those of a list argument (concat's inputs). */
type GpuRunner = (k: GpuKernels, g: (position: number) => GpuArray | null, list: (position: number) => GpuArray[]) => void;

const f32 = (x: unknown): boolean => x === null || x instanceof Float32Array;

/**
 * The GPU element type of a mask kernel's argument, or null where the GPU
 * cannot take it: float32 and int32 arrays, and bool arrays (bytes, four to a
 * word there) that start and end on a word boundary.
 */
function maskElement(x: unknown): MaskElement | null {
  if (x instanceof Float32Array) return 'f32';
  if (x instanceof Int32Array) return 'i32';
  if (x instanceof Uint8Array && x.byteOffset % 4 === 0 && x.byteLength % 4 === 0) return 'bool';
  return null;
}

/**
 * The GPU version of a contract call with these arguments, or null when the
 * GPU has none (the CPU then runs it). `g(i)` is argument i's GPU array.
 */
function gpuRunner(name: string, args: readonly unknown[]): GpuRunner | null {
  const a = args;
  const floats = (...positions: number[]) => positions.every((p) => f32(a[p]));
  switch (name) {
    case 'matmul':
      return floats(0, 1, 2)
        ? (k, g) =>
            k.matmul(
              g(0) as GpuArray,
              g(1) as GpuArray,
              g(2) as GpuArray,
              a[3] as number,
              a[4] as number,
              a[5] as number,
              a[6] as number,
              a[7] as boolean,
              a[8] as boolean,
            )
        : null;
    case 'addmm':
      return floats(0, 1, 2, 3)
        ? (k, g) =>
            k.addmm(
              g(0) as GpuArray,
              g(1) as GpuArray,
              g(2) as GpuArray,
              g(3) as GpuArray,
              a[4] as number,
              a[5] as number,
              a[6] as number,
              a[7] as boolean,
              a[8] as boolean,
            )
        : null;
    case 'unary':
      return GPU_UNARY_OPS.has(a[0] as string) && floats(1, 2) ? (k, g) => k.unary(a[0] as string, g(1) as GpuArray, g(2) as GpuArray) : null;
    case 'reluBackward':
      return floats(0, 1, 2) ? (k, g) => k.reluBackward(g(0) as GpuArray, g(1) as GpuArray, g(2) as GpuArray) : null;
    case 'binary':
      return GPU_BINARY_OPS.has(a[0] as string) && floats(1, 3, 5) && (a[6] as number[]).length <= 6
        ? (k, g) => k.binary(a[0] as string, g(1) as GpuArray, a[2] as number[], g(3) as GpuArray, a[4] as number[], g(5) as GpuArray, a[6] as number[])
        : null;
    case 'logSoftmax':
      return floats(0, 4) ? (k, g) => k.logSoftmax(g(0) as GpuArray, a[1] as number, a[2] as number, a[3] as number, g(4) as GpuArray) : null;
    case 'logSoftmaxBackward':
      return floats(0, 1, 5)
        ? (k, g) => k.logSoftmaxBackward(g(0) as GpuArray, g(1) as GpuArray, a[2] as number, a[3] as number, a[4] as number, g(5) as GpuArray)
        : null;
    case 'reduce':
      return ['sum', 'prod', 'max', 'min'].includes(a[0] as string) && floats(1, 4) && (a[2] as number[]).length <= 6
        ? (k, g) => k.reduce(a[0] as 'sum', g(1) as GpuArray, a[2] as number[], a[3] as number[], g(4) as GpuArray)
        : null;
    case 'compare': {
      const [ea, eb, eo] = [maskElement(a[1]), maskElement(a[3]), maskElement(a[5])];
      const floatOrBool = (e: MaskElement | null): e is 'f32' | 'bool' => e === 'f32' || e === 'bool';
      return GPU_COMPARE_OPS.has(a[0] as string) && floatOrBool(ea) && floatOrBool(eb) && eo === 'bool' && (a[6] as number[]).length <= 6
        ? (k, g) =>
            k.compare(a[0] as string, g(1) as GpuArray, a[2] as number[], g(3) as GpuArray, a[4] as number[], g(5) as GpuArray, a[6] as number[], {
              a: ea,
              b: eb,
            })
        : null;
    }
    case 'predicate': {
      const ex = maskElement(a[1]);
      return GPU_PREDICATE_OPS.has(a[0] as string) && ex !== null && maskElement(a[2]) === 'bool'
        ? (k, g) => k.predicate(a[0] as string, g(1) as GpuArray, (a[1] as TypedArray).length, g(2) as GpuArray, ex)
        : null;
    }
    case 'where':
      return maskElement(a[0]) === 'bool' && floats(2, 4, 6) && (a[7] as number[]).length <= 6
        ? (k, g) =>
            k.where(
              g(0) as GpuArray,
              a[1] as number[],
              g(2) as GpuArray,
              a[3] as number[],
              g(4) as GpuArray,
              a[5] as number[],
              g(6) as GpuArray,
              a[7] as number[],
            )
        : null;
    case 'cast': {
      const [from, to] = [maskElement(a[0]), maskElement(a[1])];
      return from !== null && to !== null ? (k, g) => k.cast(g(0) as GpuArray, from, g(1) as GpuArray, to, (a[0] as TypedArray).length) : null;
    }
    case 'argReduce':
      return floats(1) && a[4] instanceof Int32Array
        ? (k, g) => k.argReduce(a[0] as 'argmax', g(1) as GpuArray, a[2] as number[], a[3] as number, g(4) as GpuArray)
        : null;
    case 'indexAdd':
      return floats(0, 4) && a[3] instanceof Int32Array
        ? (k, g) => k.indexAdd(g(0) as GpuArray, a[1] as number[], a[2] as number, g(3) as GpuArray, (a[3] as Int32Array).length, g(4) as GpuArray)
        : null;
    case 'conv2d':
      return floats(0, 1, 2, 3) ? (k, g) => k.conv2d(g(0) as GpuArray, g(1) as GpuArray, g(2), g(3) as GpuArray, a[4] as Conv2dGeometry) : null;
    case 'conv2dBackwardInput':
      return floats(0, 1, 2) ? (k, g) => k.conv2dBackwardInput(g(0) as GpuArray, g(1) as GpuArray, g(2) as GpuArray, a[3] as Conv2dGeometry) : null;
    case 'conv2dBackwardWeight':
      return floats(0, 1, 2) ? (k, g) => k.conv2dBackwardWeight(g(0) as GpuArray, g(1) as GpuArray, g(2) as GpuArray, a[3] as Conv2dGeometry) : null;
    case 'maxPool2d':
      return floats(0, 1) && a[2] instanceof Int32Array
        ? (k, g) => k.maxPool2d(g(0) as GpuArray, g(1) as GpuArray, g(2) as GpuArray, a[3] as Pool2dGeometry)
        : null;
    case 'maxPool2dBackward':
      return floats(0, 2) && a[1] instanceof Int32Array
        ? (k, g) => k.maxPool2dBackward(g(0) as GpuArray, g(1) as GpuArray, g(2) as GpuArray, a[3] as Pool2dGeometry)
        : null;
    case 'maxUnpool':
      return floats(0, 2) && a[1] instanceof Int32Array
        ? (k, g) => k.maxUnpool(g(0) as GpuArray, g(1) as GpuArray, g(2) as GpuArray, a[3] as number, a[4] as number, a[5] as number)
        : null;
    case 'avgPool2d':
      return floats(0, 1) ? (k, g) => k.avgPool2d(g(0) as GpuArray, g(1) as GpuArray, a[2] as Pool2dGeometry, a[3] as AvgPoolDivisor) : null;
    case 'avgPool2dBackward':
      return floats(0, 1) ? (k, g) => k.avgPool2dBackward(g(0) as GpuArray, g(1) as GpuArray, a[2] as Pool2dGeometry, a[3] as AvgPoolDivisor) : null;
    case 'gather':
      return floats(0, 5) && a[3] instanceof Int32Array && (a[1] as number[]).length <= 6
        ? (k, g) => k.gather(g(0) as GpuArray, a[1] as number[], a[2] as number, g(3) as GpuArray, a[4] as number[], g(5) as GpuArray)
        : null;
    case 'scatterAdd':
      return floats(0, 5) && a[3] instanceof Int32Array && (a[1] as number[]).length <= 6
        ? (k, g) => k.scatterAdd(g(0) as GpuArray, a[1] as number[], a[2] as number, g(3) as GpuArray, a[4] as number[], g(5) as GpuArray)
        : null;
    case 'slice':
      return floats(0, 4) && (a[1] as number[]).length <= 6
        ? (k, g) => k.slice(g(0) as GpuArray, a[1] as number[], a[2] as number[], a[3] as number[], g(4) as GpuArray, a[5] as number[])
        : null;
    case 'permute':
      return floats(0, 3) && (a[1] as number[]).length <= 6
        ? (k, g) => k.permute(g(0) as GpuArray, a[1] as number[], a[2] as number[], g(3) as GpuArray)
        : null;
    case 'sliceAdd':
      return floats(0, 4) && (a[5] as number[]).length <= 6 && (a[3] as number[]).every((step) => step !== 0)
        ? (k, g) => k.sliceAdd(g(0) as GpuArray, a[1] as number[], a[2] as number[], a[3] as number[], g(4) as GpuArray, a[5] as number[])
        : null;
    case 'pad':
      return floats(0, 4) && (a[5] as number[]).length <= 6 && (a[2] as number[]).every((b) => b >= 0)
        ? (k, g) => k.pad(g(0) as GpuArray, a[1] as number[], a[2] as number[], a[3] as number, g(4) as GpuArray, a[5] as number[])
        : null;
    case 'concat':
      return (a[0] as unknown[]).every(f32) && f32(a[3]) ? (k, g, list) => k.concat(list(0), a[1] as number[][], a[2] as number, g(3) as GpuArray) : null;
    case 'indexSelect':
      return floats(0, 4) && a[3] instanceof Int32Array && (a[1] as number[]).length <= 6
        ? (k, g) => k.indexSelect(g(0) as GpuArray, a[1] as number[], a[2] as number, g(3) as GpuArray, g(4) as GpuArray)
        : null;
    case 'lstmCellForward':
      return floats(0, 1, 2, 3, 4)
        ? (k, g) => k.lstmCellForward(g(0) as GpuArray, g(1) as GpuArray, g(2) as GpuArray, g(3) as GpuArray, g(4) as GpuArray, a[5] as number, a[6] as number)
        : null;
    case 'lstmCellBackward':
      return floats(0, 1, 2, 3, 4, 5, 6)
        ? (k, g) =>
            k.lstmCellBackward(
              g(0) as GpuArray,
              g(1) as GpuArray,
              g(2) as GpuArray,
              g(3),
              g(4),
              g(5) as GpuArray,
              g(6) as GpuArray,
              a[7] as number,
              a[8] as number,
            )
        : null;
    case 'sgdStep':
      return floats(0, 1, 2) ? (k, g) => k.sgdStep(g(0) as GpuArray, g(1) as GpuArray, g(2), a[3] as never) : null;
    case 'rmspropStep':
      return floats(0, 1, 2, 3, 4) ? (k, g) => k.rmspropStep(g(0) as GpuArray, g(1) as GpuArray, g(2) as GpuArray, g(3), g(4), a[5] as never) : null;
    case 'adagradStep':
      return floats(0, 1, 2) ? (k, g) => k.adagradStep(g(0) as GpuArray, g(1) as GpuArray, g(2) as GpuArray, a[3] as number, a[4] as never) : null;
    case 'adadeltaStep':
      return floats(0, 1, 2, 3) ? (k, g) => k.adadeltaStep(g(0) as GpuArray, g(1) as GpuArray, g(2) as GpuArray, g(3) as GpuArray, a[4] as never) : null;
    case 'adamStep':
      return floats(0, 1, 2, 3, 4) ? (k, g) => k.adamStep(g(0) as GpuArray, g(1) as GpuArray, g(2) as GpuArray, g(3) as GpuArray, g(4), a[5] as never) : null;
    default:
      return null;
  }
}

const zeroFills = new WeakMap<Uint8Array, boolean>();
/** Whether a fill is all zeros (remembered: a plan passes the same bytes every replay). */
function allZero(bytes: Uint8Array): boolean {
  let known = zeroFills.get(bytes);
  if (known === undefined) {
    known = bytes.every((b) => b === 0);
    zeroFills.set(bytes, known);
  }
  return known;
}

/** The fused optimizer steps the GPU has (kernels/contract.ts FusedKernels). */
const FUSED_STEPS = ['sgdStep', 'adamStep', 'rmspropStep', 'adagradStep', 'adadeltaStep'] as const;

/** Calls of one plan, prepared once: each call's arrays, their regions, and its GPU version if any. */
interface PreparedCall {
  readonly call: StepCall;
  readonly arrays: ArrayArg[];
  readonly gpu: GpuRunner | null;
}

export class GpuStepExecutor implements StepExecutor {
  readonly name: string;
  readonly kernels: GpuKernels;
  private readonly regions = new Map<ArrayBufferLike, Region[]>();
  private readonly prepared = new WeakMap<readonly StepCall[], PreparedCall[]>();
  private counts = { gpuCalls: 0, cpuCalls: 0, fusedHostSteps: 0 };

  constructor(readonly device: GpuDevice) {
    this.kernels = new GpuKernels(device);
    this.name = `webgpu (${device.adapter.description || device.adapter.architecture || device.adapter.vendor})`;
  }

  /** Calls run on each side so far. */
  callCounts(): GpuReplayCounts {
    return { ...this.counts };
  }

  /** The region holding `a`, made or widened as needed (regions that come to overlap merge; see prepare). */
  private regionOf(a: TypedArray): Region {
    const list = this.regions.get(a.buffer);
    const s = a.byteOffset;
    const e = s + a.byteLength;
    if (list !== undefined) for (const r of list) if (s >= r.start && e <= r.end) return r;
    throw new Error(`webgpu replay: no region holds an array of ${a.length} at byte ${s}`);
  }

  /** Registers the byte range of `a`, merging it with the regions it overlaps (whose GPU copies are pulled first). */
  private async addRange(a: TypedArray): Promise<void> {
    let list = this.regions.get(a.buffer);
    if (list === undefined) {
      list = [];
      this.regions.set(a.buffer, list);
    }
    let start = a.byteOffset;
    let end = start + a.byteLength;
    if (end === start) return;
    if (list.some((r) => start >= r.start && end <= r.end)) return;
    const overlapping = list.filter((r) => r.start < end && start < r.end);
    for (const r of overlapping) {
      await this.toCpu(r);
      r.gpu?.release();
      start = Math.min(start, r.start);
      end = Math.max(end, r.end);
    }
    const kept = list.filter((r) => !overlapping.includes(r));
    kept.push({ buffer: a.buffer, start, end, gpu: null, cpuFresh: true, gpuFresh: false, cpuOnly: start % 4 !== 0 || end % 4 !== 0 });
    this.regions.set(a.buffer, kept);
  }

  private bytesOf(r: Region): Uint8Array {
    return new Uint8Array(r.buffer as ArrayBuffer, r.start, r.end - r.start);
  }

  /** Makes the CPU copy current. */
  private async toCpu(r: Region): Promise<void> {
    if (r.cpuFresh) return;
    await this.device.readInto(r.gpu as GpuArray, this.bytesOf(r));
    r.cpuFresh = true;
  }

  /** Makes the GPU copy current. */
  private toGpu(r: Region): GpuArray {
    if (r.gpu === null) r.gpu = this.device.empty((r.end - r.start) / 4);
    if (!r.gpuFresh) {
      this.device.writeBytes(r.gpu, this.bytesOf(r));
      r.gpuFresh = true;
    }
    return r.gpu;
  }

  private async prepare(calls: readonly StepCall[]): Promise<PreparedCall[]> {
    const out: PreparedCall[] = [];
    for (const call of calls) {
      if (call.kind === 'host') {
        const arrays = [
          ...call.reads.map((array) => ({ position: -1, array, written: false })),
          ...call.writes.map((array) => ({ position: -1, array, written: true })),
        ];
        for (const a of arrays) await this.addRange(a.array);
        out.push({ call, arrays, gpu: null });
        continue;
      }
      const arrays = arrayArgs(call.name, call.args);
      for (const a of arrays) await this.addRange(a.array);
      out.push({ call, arrays, gpu: gpuRunner(call.name, call.args) });
    }
    return out;
  }

  async run(calls: readonly StepCall[], results: readonly TypedArray[]): Promise<void> {
    let prepared = this.prepared.get(calls);
    if (prepared === undefined) {
      prepared = await this.prepare(calls);
      for (const r of results) await this.addRange(r);
      this.prepared.set(calls, prepared);
    }
    for (const p of prepared) {
      const onGpu = p.gpu !== null && p.arrays.every((a) => !this.regionOf(a.array).cpuOnly);
      if (onGpu) this.runOnGpu(p);
      else if (this.fusedOnGpu(p)) this.runFusedHost(p);
      else if (this.copyOnGpu(p)) this.runCopy(p);
      else if (this.fillOnGpu(p)) this.runFill(p);
      else await this.runOnCpu(p);
    }
    for (const r of results) await this.toCpu(this.regionOf(r));
  }

  private runOnGpu(p: PreparedCall): void {
    const regions = p.arrays.map((a) => this.regionOf(a.array));
    const writtenRegions = new Set(p.arrays.filter((a) => a.written).map((a) => this.regionOf(a.array)));
    const staged: { temp: GpuArray; region: Region; offset: number; bytes: number; written: boolean }[] = [];
    // A list argument (concat's inputs) keeps its arrays in order under its one position.
    const byPosition = new Map<number, GpuArray[]>();
    const bind = (position: number, gpu: GpuArray) => {
      const at = byPosition.get(position);
      if (at === undefined) byPosition.set(position, [gpu]);
      else at.push(gpu);
    };
    p.arrays.forEach((a, i) => {
      const r = regions[i];
      const whole = a.array.byteOffset === r.start && a.array.byteLength === r.end - r.start;
      // A region bound twice with a write among them is staged: WebGPU forbids a writable binding that aliases another.
      const aliased = regions.filter((x) => x === r).length > 1 && writtenRegions.has(r);
      const gpu = this.toGpu(r);
      if (whole && !aliased) {
        bind(a.position, gpu);
        return;
      }
      const offset = a.array.byteOffset - r.start;
      const temp = this.device.empty(a.array.length);
      // An output the kernel overwrites whole needs no copy in; one it updates does.
      const effect = (KERNEL_EFFECTS as Record<string, { updates: readonly number[] } | undefined>)[(p.call as { name: string }).name];
      const overwritten = a.written && effect !== undefined && !effect.updates.includes(a.position);
      if (!overwritten) this.device.copy(gpu, offset, temp, 0, a.array.byteLength);
      staged.push({ temp, region: r, offset, bytes: a.array.byteLength, written: a.written });
      bind(a.position, temp);
    });
    (p.gpu as GpuRunner)(
      this.kernels,
      (position) => byPosition.get(position)?.[0] ?? null,
      (position) => byPosition.get(position) ?? [],
    );
    for (const s of staged) {
      if (s.written) this.device.copy(s.temp, 0, s.region.gpu as GpuArray, s.offset, s.bytes);
      s.temp.release();
    }
    for (const r of writtenRegions) {
      r.gpuFresh = true;
      r.cpuFresh = false;
    }
    this.counts.gpuCalls++;
  }

  /** A host step that only copies (copyOf, a plan's carries) between distinct, 4-byte aligned regions. */
  private copyOnGpu(p: PreparedCall): boolean {
    const call = p.call;
    if (call.kind !== 'host' || call.copies !== true || call.reads.length !== call.writes.length) return false;
    return call.reads.every((src, i) => {
      const dst = call.writes[i];
      const from = this.regionOf(src);
      const to = this.regionOf(dst);
      const aligned = (a: TypedArray) => a.byteOffset % 4 === 0 && a.byteLength % 4 === 0;
      // copyBufferToBuffer cannot copy within one buffer.
      return from !== to && !from.cpuOnly && !to.cpuOnly && aligned(src) && aligned(dst) && src.byteLength === dst.byteLength;
    });
  }

  /** The copies of a copying host step, GPU buffer to GPU buffer. */
  private runCopy(p: PreparedCall): void {
    const call = p.call as Extract<StepCall, { kind: 'host' }>;
    call.reads.forEach((src, i) => {
      const dst = call.writes[i];
      const from = this.regionOf(src);
      const to = this.regionOf(dst);
      // The rest of the destination region keeps its values: its GPU copy must be current before part of it changes.
      const target = this.toGpu(to);
      this.device.copy(this.toGpu(from), src.byteOffset - from.start, target, dst.byteOffset - to.start, src.byteLength);
      to.gpuFresh = true;
      to.cpuFresh = false;
    });
    this.counts.gpuCalls++;
  }

  /** A host step that only sets arrays to constant bytes (a plan's restores), each 4-byte aligned. */
  private fillOnGpu(p: PreparedCall): boolean {
    const call = p.call;
    if (call.kind !== 'host' || call.fills === undefined || call.fills.length !== call.writes.length || call.reads.length !== 0) return false;
    return call.writes.every((dst, i) => {
      const fill = (call.fills as readonly Uint8Array[])[i];
      return !this.regionOf(dst).cpuOnly && dst.byteOffset % 4 === 0 && dst.byteLength % 4 === 0 && fill.byteLength === dst.byteLength;
    });
  }

  /** The fills of a filling host step, on the GPU copy: zeros cleared there (no upload, no submit), other bytes written. */
  private runFill(p: PreparedCall): void {
    const call = p.call as Extract<StepCall, { kind: 'host' }>;
    call.writes.forEach((dst, i) => {
      const fill = (call.fills as readonly Uint8Array[])[i];
      const r = this.regionOf(dst);
      const whole = dst.byteOffset === r.start && dst.byteLength === r.end - r.start;
      // Set whole, a region's GPU copy needs nothing first; set in part, the rest must be current there.
      if (whole && r.gpu === null) r.gpu = this.device.empty((r.end - r.start) / 4);
      const gpu = whole ? (r.gpu as GpuArray) : this.toGpu(r);
      if (allZero(fill)) this.device.clear(gpu, dst.byteOffset - r.start, dst.byteLength);
      else this.device.writeBytes(gpu, fill, dst.byteOffset - r.start);
      r.gpuFresh = true;
      r.cpuFresh = false;
    });
    this.counts.gpuCalls++;
  }

  /** A host step that changes arrays only through the fused optimizer kernels, all its arrays float32 (see StepHostCall.fusedUpdates). */
  private fusedOnGpu(p: PreparedCall): boolean {
    return p.call.kind === 'host' && p.call.fusedUpdates && p.arrays.every((a) => a.array instanceof Float32Array && !this.regionOf(a.array).cpuOnly);
  }

  /**
   * Runs an optimizer's host step with a kernel table whose fused steps
   * (FUSED_STEPS) are the GPU's: its JavaScript (step counts, learning
   * rates) runs here, its updates on the GPU copies, and nothing crosses.
   */
  private runFusedHost(p: PreparedCall): void {
    const onGpu =
      (name: (typeof FUSED_STEPS)[number]) =>
      (...args: unknown[]): boolean => {
        const arrays = arrayArgs(name, args);
        const gpu = gpuRunner(name, args);
        // A call outside what was declared (an array made during this step) would need its values here first: a bug, said as such.
        const known = arrays.every((a) =>
          this.regions.get(a.array.buffer)?.some((r) => a.array.byteOffset >= r.start && a.array.byteOffset + a.array.byteLength <= r.end),
        );
        if (gpu === null || !known) throw new Error(`webgpu replay: ${name} on arrays the optimizer's step did not declare`);
        this.runOnGpu({ call: { kind: 'kernel', name, args, run: () => undefined }, arrays, gpu });
        return true;
      };
    const real = activeKernelTable() as Record<string, unknown>;
    setKernelTableOverride({ ...real, ...Object.fromEntries(FUSED_STEPS.map((name) => [name, onGpu(name)])) });
    try {
      (p.call as { run: () => void }).run();
    } finally {
      setKernelTableOverride(null);
    }
    this.counts.fusedHostSteps++;
  }

  private async runOnCpu(p: PreparedCall): Promise<void> {
    // Written arrays too: a call may write part of a region, whose rest must stay what it was.
    for (const a of p.arrays) await this.toCpu(this.regionOf(a.array));
    const call = p.call;
    if (call.kind === 'host') call.run();
    else call.run(...call.args);
    for (const a of p.arrays) {
      if (!a.written) continue;
      const r = this.regionOf(a.array);
      r.cpuFresh = true;
      r.gpuFresh = false;
    }
    this.counts.cpuCalls++;
  }

  /**
   * Brings every array back to the CPU and makes the CPU copy the one that
   * counts: what runs next between replays (an eager call of another
   * signature, the optimizer on a last short batch, a user's load into a
   * parameter) changes the CPU copies, and the next replay uploads what it uses.
   */
  async pull(): Promise<void> {
    for (const list of this.regions.values()) {
      for (const r of list) {
        await this.toCpu(r);
        r.gpuFresh = false;
      }
    }
  }
}
