/// <reference types="@webgpu/types" />
import { NeuriteError } from '../../core/errors.js';
import type { GpuAdapterSummary, GpuMemory, GpuTransfers } from './types.js';

/*
 * A WebGPU device as the kernels use it: float32 arrays living in GPU
 * buffers, compute pipelines compiled once per shader, every command of a
 * run of kernels recorded into one encoder and submitted when something must
 * leave the GPU. Reading is asynchronous (WebGPU maps buffers only through a
 * promise, in browsers and in Dawn alike), and every transfer between the
 * CPU and the GPU is counted so that a test or a user can see it.
 *
 * Buffers are pooled by size: a kernel's output takes a released buffer of
 * the same rounded size before a new one is made, so a training loop that
 * makes the same arrays every step stops allocating after its first step.
 */

/** An array of 32-bit elements (float32, or int32 for indices and labels) in a GPU buffer. Its buffer returns to the pool on `release()`. */
export class GpuArray {
  private released = false;
  constructor(
    private readonly device: GpuDevice,
    readonly buffer: GPUBuffer,
    readonly length: number,
  ) {}

  /** Give the buffer back to the device's pool; the array must not be used after. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.device.recycle(this.buffer);
  }

  get isReleased(): boolean {
    return this.released;
  }
}

/** A storage buffer's size rounded up to a pool size class: 256 bytes, then powers of two. */
function sizeClass(bytes: number): number {
  let size = 256;
  while (size < bytes) size *= 2;
  return size;
}

type BindingArg = GpuArray | GPUBuffer;

// WebGPU's flag values (the spec fixes them), written out because Node has no
// GPUBufferUsage or GPUMapMode globals unless Dawn's are installed on globalThis.
const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
/** Bytes of one chunk of the uniform arena: 256 dispatches at the largest offset alignment WebGPU allows. */
const UNIFORM_CHUNK = 64 * 1024;
/** Bind groups kept for reuse before the cache starts over: several replays' worth of dispatches. */
const BIND_GROUP_CACHE = 16384;
const MAP_READ = 0x1;

export class GpuDevice {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly pool = new Map<number, GPUBuffer[]>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private transfers = { uploads: 0, bytesUp: 0, downloads: 0, bytesDown: 0 };
  private liveBuffers = 0;
  private pooledBytes = 0;
  private lost: string | null = null;

  constructor(
    readonly device: GPUDevice,
    readonly adapter: GpuAdapterSummary,
  ) {
    void device.lost.then((info) => {
      this.lost = info.message || String(info.reason);
    });
    // WebGPU reports a bad shader or binding asynchronously, not by throwing:
    // the first such error is kept and thrown by the next read, so that a
    // wrong result never passes as a right one.
    device.addEventListener('uncapturederror', (event) => {
      this.gpuError ??= (event as GPUUncapturedErrorEvent).error.message.split('\n')[0];
    });
  }

  private gpuError: string | null = null;

  /** Transfers so far (see GpuTransfers). */
  transferCounts(): GpuTransfers {
    return { ...this.transfers };
  }

  /** GPU buffers made and not yet destroyed (in use or pooled), and the bytes the pool holds idle. */
  memory(): GpuMemory {
    return { buffers: this.liveBuffers, pooledBytes: this.pooledBytes };
  }

  private checkAlive(what: string): void {
    if (this.lost !== null) throw new NeuriteError(`webgpu: ${what}: the GPU device was lost (${this.lost})`);
    if (this.gpuError !== null) throw new NeuriteError(`webgpu: ${what}: an earlier GPU command failed: ${this.gpuError}`);
  }

  private acquire(bytes: number): GPUBuffer {
    const size = sizeClass(bytes);
    const free = this.pool.get(size);
    const reused = free?.pop();
    if (reused !== undefined) {
      this.pooledBytes -= size;
      return reused;
    }
    this.liveBuffers++;
    return this.device.createBuffer({ size, usage: USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST });
  }

  /** Called by GpuArray.release: the buffer waits in the pool for the next array of its size class. */
  recycle(buffer: GPUBuffer): void {
    const size = buffer.size;
    let free = this.pool.get(size);
    if (free === undefined) {
      free = [];
      this.pool.set(size, free);
    }
    free.push(buffer);
    this.pooledBytes += size;
  }

  /** A new array of `length` float32 elements; its contents are undefined until a kernel writes it. */
  empty(length: number): GpuArray {
    this.checkAlive('empty');
    if (!Number.isInteger(length) || length < 0) throw new NeuriteError(`webgpu: array length must be a non-negative integer, got ${length}`);
    const limit = this.device.limits.maxStorageBufferBindingSize;
    if (length * 4 > limit) {
      throw new NeuriteError(`webgpu: an array of ${length} float32 elements (${length * 4} bytes) exceeds this adapter's ${limit}-byte storage binding limit`);
    }
    return new GpuArray(this, this.acquire(Math.max(4, length * 4)), length);
  }

  /** Copies `data` to a new GPU array (counted as an upload). */
  upload(data: Float32Array | Int32Array): GpuArray {
    const a = this.empty(data.length);
    this.write(a, data);
    return a;
  }

  /** Overwrites `a` with `data` (same length; counted as an upload). */
  write(a: GpuArray, data: Float32Array | Int32Array): void {
    if (data.length !== a.length) throw new NeuriteError(`webgpu: write of ${data.length} elements into an array of ${a.length}`);
    this.checkAlive('write');
    // Queue writes are ordered before later submissions, not before commands
    // already recorded in the open encoder: submit those first.
    this.flush();
    const plain = data.buffer instanceof ArrayBuffer ? data : data.slice();
    this.device.queue.writeBuffer(a.buffer, 0, plain.buffer as ArrayBuffer, plain.byteOffset, plain.byteLength);
    this.transfers.uploads++;
    this.transfers.bytesUp += data.byteLength;
  }

  /** Overwrites the first `bytes.byteLength` bytes of `a` (a multiple of 4; counted as an upload). */
  writeBytes(a: GpuArray, bytes: Uint8Array, byteOffset = 0): void {
    if (byteOffset + bytes.byteLength > a.length * 4 || bytes.byteLength % 4 !== 0 || byteOffset % 4 !== 0)
      throw new NeuriteError(`webgpu: write of ${bytes.byteLength} bytes at byte ${byteOffset} into an array of ${a.length * 4}`);
    this.checkAlive('write');
    this.flush();
    // WebGPU takes no shared memory (the wasm backend's arrays live in one): such bytes are copied out first.
    const plain = bytes.buffer instanceof ArrayBuffer ? bytes : bytes.slice();
    this.device.queue.writeBuffer(a.buffer, byteOffset, plain.buffer as ArrayBuffer, plain.byteOffset, plain.byteLength);
    this.transfers.uploads++;
    this.transfers.bytesUp += bytes.byteLength;
  }

  /** Copies `bytes` bytes of `src` from `srcOffset` into `dst` at `dstOffset`, on the GPU, in order with the kernels. */
  copy(src: GpuArray, srcOffset: number, dst: GpuArray, dstOffset: number, bytes: number): void {
    this.checkAlive('copy');
    if (bytes === 0) return;
    this.endPass();
    this.commandEncoder().copyBufferToBuffer(src.buffer, srcOffset, dst.buffer, dstOffset, bytes);
  }

  /** Sets every element of `a` to 0, in order with the kernels recorded around it. */
  clear(a: GpuArray, byteOffset = 0, bytes: number = a.buffer.size - byteOffset): void {
    this.checkAlive('clear');
    if (bytes === 0) return;
    this.endPass();
    this.commandEncoder().clearBuffer(a.buffer, byteOffset, bytes);
  }

  /** Copies the first `target.byteLength` bytes of `a` into `target` (counted as a download). */
  async readInto(a: GpuArray, target: Uint8Array): Promise<void> {
    const bytes = target.byteLength;
    if (bytes > a.length * 4 || bytes % 4 !== 0) throw new NeuriteError(`webgpu: read of ${bytes} bytes from an array of ${a.length * 4}`);
    this.checkAlive('read');
    const staging = this.device.createBuffer({ size: Math.max(4, bytes), usage: USAGE.MAP_READ | USAGE.COPY_DST });
    this.endPass();
    this.commandEncoder().copyBufferToBuffer(a.buffer, 0, staging, 0, Math.max(4, bytes));
    this.flush();
    try {
      await staging.mapAsync(MAP_READ);
      this.checkAlive('read');
      target.set(new Uint8Array(staging.getMappedRange(), 0, bytes));
      staging.unmap();
      this.transfers.downloads++;
      this.transfers.bytesDown += bytes;
    } finally {
      staging.destroy();
    }
  }

  /** An int32 array's contents (see read). */
  async readInt32(a: GpuArray): Promise<Int32Array> {
    const f = await this.read(a);
    return new Int32Array(f.buffer, f.byteOffset, f.length);
  }

  /** Copies `a` back to the CPU (counted as a download): the one way out, and asynchronous as WebGPU requires. */
  async read(a: GpuArray): Promise<Float32Array> {
    if (a.isReleased) throw new NeuriteError('webgpu: read of an array that was released');
    const out = new Float32Array(a.length);
    await this.readInto(a, new Uint8Array(out.buffer));
    return out;
  }

  /** The pipeline for a WGSL compute shader with entry point `main`, compiled on first use. */
  pipeline(key: string, source: () => string): GPUComputePipeline {
    let p = this.pipelines.get(key);
    if (p === undefined) {
      const module = this.device.createShaderModule({ code: source(), label: key });
      p = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: key });
      this.pipelines.set(key, p);
    }
    return p;
  }

  /** A small uniform buffer holding `words` (u32/i32/f32 bit patterns), for one dispatch. */
  /**
   * A slot for a dispatch's uniform block in the current arena chunk: the
   * blocks of everything recorded until the next flush are written with one
   * writeBuffer per chunk just before the submit, instead of a buffer made,
   * written and destroyed per dispatch. Reusing a chunk after a submit is
   * safe: queue writes are ordered after the work submitted before them.
   */
  private uniformSlot(words: ArrayBuffer): GPUBufferBinding {
    const size = Math.max(16, Math.ceil(words.byteLength / 16) * 16);
    if (size > UNIFORM_CHUNK) throw new NeuriteError(`webgpu: a uniform block of ${words.byteLength} bytes exceeds ${UNIFORM_CHUNK}`);
    const align = this.device.limits.minUniformBufferOffsetAlignment;
    let offset = Math.ceil(this.arenaUsed / align) * align;
    if (offset + size > UNIFORM_CHUNK) {
      this.arenaChunk++;
      offset = 0;
    }
    if (this.arenaChunk === this.arena.length) {
      this.arena.push({
        buffer: this.device.createBuffer({ size: UNIFORM_CHUNK, usage: USAGE.UNIFORM | USAGE.COPY_DST }),
        bytes: new Uint8Array(UNIFORM_CHUNK),
        used: 0,
      });
    }
    const chunk = this.arena[this.arenaChunk];
    chunk.bytes.set(new Uint8Array(words), offset);
    this.arenaUsed = offset + size;
    chunk.used = this.arenaUsed;
    return { buffer: chunk.buffer, offset, size };
  }

  private arena: { buffer: GPUBuffer; bytes: Uint8Array<ArrayBuffer>; used: number }[] = [];
  private arenaChunk = 0;
  private arenaUsed = 0;

  /**
   * The bind group of these buffers and uniform slot, made once: a replay
   * binds the same pooled buffers and, from one submit to the next, the same
   * arena slots in the same order, so from its second run on every dispatch
   * finds its group made. Storage buffers live until destroy() (the pool
   * keeps them), so a cached group never names a destroyed buffer.
   */
  private bindGroup(pipeline: GPUComputePipeline, buffers: readonly GPUBuffer[], slot: GPUBufferBinding | null): GPUBindGroup {
    let key = String(this.idOf(pipeline));
    for (const b of buffers) key += `,${this.idOf(b)}`;
    if (slot !== null) key += `|${this.idOf(slot.buffer)}:${slot.offset}:${slot.size}`;
    let group = this.bindGroups.get(key);
    if (group === undefined) {
      const entries: GPUBindGroupEntry[] = buffers.map((buffer, i) => ({ binding: i, resource: { buffer } }));
      if (slot !== null) entries.push({ binding: buffers.length, resource: slot });
      group = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
      // Combinations that never recur (staging copies) must not pile up.
      if (this.bindGroups.size >= BIND_GROUP_CACHE) this.bindGroups.clear();
      this.bindGroups.set(key, group);
    }
    return group;
  }

  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly ids = new WeakMap<object, number>();
  private nextId = 1;

  private idOf(o: object): number {
    let id = this.ids.get(o);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(o, id);
    }
    return id;
  }

  private commandEncoder(): GPUCommandEncoder {
    if (this.encoder === null) this.encoder = this.device.createCommandEncoder();
    return this.encoder;
  }

  private endPass(): void {
    if (this.pass !== null) {
      this.pass.end();
      this.pass = null;
    }
  }

  /**
   * Records one dispatch: `bindings` at binding 0, 1, ... of group 0, then
   * the uniform block (if any) after them. Commands run in the order recorded.
   */
  dispatch(pipeline: GPUComputePipeline, bindings: readonly BindingArg[], uniforms: ArrayBuffer | null, groups: readonly [number, number?, number?]): void {
    this.checkAlive('dispatch');
    const buffers = bindings.map((b) => (b instanceof GpuArray ? b.buffer : b));
    // Each dispatch has its own slot: the values are captured now, and written before the submit (see uniformSlot).
    const slot = uniforms === null ? null : this.uniformSlot(uniforms);
    const group = this.bindGroup(pipeline, buffers, slot);
    const max = this.device.limits.maxComputeWorkgroupsPerDimension;
    const [x, y = 1, z = 1] = groups;
    if (x > max || y > max || z > max) throw new NeuriteError(`webgpu: dispatch of ${x} x ${y} x ${z} workgroups exceeds the adapter's ${max} per dimension`);
    if (x === 0 || y === 0 || z === 0) return;
    if (this.pass === null) this.pass = this.commandEncoder().beginComputePass();
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, group);
    this.pass.dispatchWorkgroups(x, y, z);
  }

  /** Submits what has been recorded. */
  flush(): void {
    this.endPass();
    for (const chunk of this.arena) {
      if (chunk.used > 0) this.device.queue.writeBuffer(chunk.buffer, 0, chunk.bytes, 0, chunk.used);
      chunk.used = 0;
    }
    this.arenaChunk = 0;
    this.arenaUsed = 0;
    if (this.encoder !== null) {
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = null;
    }
  }

  /** Waits until the GPU has finished everything submitted. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
  }

  /** Frees every buffer and the device; the process can then exit. */
  destroy(): void {
    this.flush();
    for (const list of this.pool.values()) for (const b of list) b.destroy();
    this.pool.clear();
    for (const chunk of this.arena) chunk.buffer.destroy();
    this.arena = [];
    this.bindGroups.clear();
    this.device.destroy();
  }
}

/** Options for opening a device. */
export interface OpenGpuOptions {
  /** Accept a software adapter (SwiftShader, WARP): for tests; real work wants a GPU. */
  readonly allowFallback?: boolean;
}

/**
 * Opens a device on `gpu` (navigator.gpu in a browser, Dawn's GPU object on
 * Node); returns the reason instead when there is no adapter, or only a
 * software one and `allowFallback` is not set.
 */
export async function openGpuDevice(gpu: GPU, options: OpenGpuOptions = {}): Promise<GpuDevice | string> {
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (adapter === null) return 'no WebGPU adapter (no GPU driver, or WebGPU disabled)';
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const fallback = Boolean(info.isFallbackAdapter ?? (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter);
  const summary: GpuAdapterSummary = {
    vendor: info.vendor,
    architecture: info.architecture,
    description: info.description,
    isFallbackAdapter: fallback,
  };
  if (fallback && !options.allowFallback) {
    return `the only WebGPU adapter is a software fallback (${summary.description || summary.architecture}); pass allowFallback to use it`;
  }
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
    },
  });
  return new GpuDevice(device, summary);
}
