import { arrayOn, bytesPerElement, type DType, type StorageProvider, type TypedArray } from '../../core/dtype.js';
import type { KernelAddon } from '../accelerate.js';
import { WASM_BASE64 } from './binary.js';
import { startWorkers, type WorkerStart } from './threads.js';

/*
 * The WebAssembly module (built by scripts/build-wasm.mjs from the native
 * addon's C++ kernels) behind the addon's function signatures, so the kernel
 * table in ../accelerate.ts drives both.
 *
 * Where the host can share memory (Node; a browser page that is
 * cross-origin isolated) the module's memory is a shared WebAssembly.Memory,
 * whose views stay valid when it grows. Tensors are then allocated in it
 * (`storage`, which the engine uses for every tensor while this backend is
 * active), so a kernel reads its inputs and writes its output where they
 * are: no copy. A tensor's block is freed when the tensor's array is garbage
 * collected (a FinalizationRegistry: V8 queues its callbacks after a full
 * collection and runs them when the event loop turns, which fit() lets it do
 * every 15 ms). Past a budget of blocks not yet reclaimed (parameters and
 * optimizer state exempt, see allocateResident), and for arrays made
 * elsewhere (typed arrays a user passes in, arrays under 256 bytes), arrays
 * stay in JavaScript memory and a call copies them into a reused region of
 * the module's memory (the arena) and its outputs back. `copyTraffic()`
 * counts the bytes so moved.
 *
 * Without shared memory the module gets an ordinary memory (its import's
 * shared flag cleared, see unshareMemoryImport), every array is copied, and
 * no worker can join: one thread.
 */

/** The module's exports (native/wasm/exports.cc, runtime.cc); pointers are byte offsets into the memory. */
interface Exports {
  readonly __stack_pointer: WebAssembly.Global;
  readonly __tls_size: WebAssembly.Global;
  readonly __tls_align: WebAssembly.Global;
  __wasm_init_tls(block: number): void;
  nt_alloc(bytes: number): number;
  nt_free(ptr: number): number;
  nt_block_bytes(ptr: number): number;
  nt_set_workers(n: number): number;
  nt_set_num_threads(n: number): number;
  nt_num_threads(): number;
  nt_pool_jobs(parallel: number): number;
  nt_worker_main(id: number): void;
  nt_sgemm(...args: number[]): void;
  nt_sgemm_batched(...args: number[]): void;
  nt_dgemm(...args: number[]): void;
  nt_dgemm_batched(...args: number[]): void;
  nt_relu(x: number, out: number, n: number): void;
  nt_sigmoid(x: number, out: number, n: number): void;
  nt_tanh(x: number, out: number, n: number): void;
  nt_exp(x: number, out: number, n: number): void;
  nt_relu_backward(x: number, g: number, out: number, n: number): void;
  nt_binary(op: number, a: number, b: number, out: number, n: number): void;
  nt_elementwise_program(code: number, nInstr: number, desc: number, nArrays: number, n: number): void;
  nt_bias_add(x: number, bias: number, out: number, rows: number, cols: number): void;
  nt_broadcast_binary(op: number, a: number, aForm: number, b: number, bForm: number, out: number, outer: number, inner: number): void;
  nt_compare(op: number, a: number, aForm: number, b: number, bForm: number, out: number, outer: number, inner: number): void;
  nt_permute(x: number, out: number, rank: number, shapeAndPerm: number): void;
  nt_reduce_extreme(isMax: number, x: number, out: number, outer: number, size: number, inner: number): void;
  nt_where(c: number, cForm: number, a: number, aForm: number, b: number, bForm: number, out: number, outer: number, inner: number): void;
  nt_sum_rows(x: number, out: number, rows: number, cols: number): void;
  nt_sum_axis(x: number, out: number, outer: number, c: number, inner: number): void;
  nt_log_softmax(x: number, out: number, outer: number, size: number, inner: number): void;
  nt_log_softmax_backward(g: number, y: number, dx: number, outer: number, size: number, inner: number): void;
  nt_sum_all(x: number, n: number): number;
  nt_conv2d_forward(x: number, w: number, bias: number, out: number, g: number): void;
  nt_conv2d_backward_input(dy: number, w: number, dx: number, g: number): void;
  nt_conv2d_backward_weight(x: number, dy: number, dw: number, db: number, g: number): void;
  nt_maxpool2d_forward(x: number, out: number, indices: number, g: number): void;
  nt_maxpool2d_backward(dy: number, indices: number, dx: number, g: number): void;
  nt_avgpool2d_forward(x: number, out: number, g: number, countIncludePad: number, divisorOverride: number): void;
  nt_avgpool2d_backward(dy: number, dx: number, g: number, countIncludePad: number, divisorOverride: number): void;
  nt_lstm_cell_forward(gates: number, cPrev: number, outC: number, outH: number, outGates: number, n: number, hidden: number): void;
  nt_lstm_cell_backward(act: number, cPrev: number, c: number, dh: number, dc: number, dGates: number, dcPrev: number, n: number, hidden: number): void;
  nt_sgd_step(...args: number[]): void;
  nt_adam_step(...args: number[]): void;
}

/** Bytes moved between JavaScript arrays and the module's memory since the module was loaded. */
export interface WasmCopyTraffic {
  /** Bytes copied into the module's memory (kernel inputs, and outputs that are read and written). */
  readonly bytesIn: number;
  /** Bytes copied back out (kernel outputs). */
  readonly bytesOut: number;
  /** Kernel calls that went through the module. */
  readonly calls: number;
  /** Arrays the kernels used where they were, in the module's memory (no copy). */
  readonly residentArrays: number;
  /** Bytes of tensor storage now allocated in the module's memory. */
  readonly residentBytes: number;
}

/** How the module runs here. */
export interface WasmRuntimeInfo {
  /** Whether its memory is shared: tensors live in it (no copies) and workers can join. */
  readonly sharedMemory: boolean;
  /** Threads the kernels use now (the caller and the workers that help). */
  readonly threads: number;
  /** Most threads available: 1 plus the workers started. */
  readonly maxThreads: number;
  /** Workers running (started workers come up asynchronously, within tens of milliseconds). */
  readonly workersReady: number;
}

const IN = 1;
const OUT = 2;
const INOUT = IN | OUT;
/** Set by place() on a staged array that lives in the module's memory: used in place, never copied. */
const RESIDENT = 4;
/** Staged arrays start on 64-byte boundaries, as the native kernels' vector loads prefer. */
const ALIGN = 64;
const BINARY_OPS = { add: 0, sub: 1, mul: 2, div: 3 } as const;
/** Below this many bytes a tensor stays in JavaScript memory: copying it costs less than a block and a finalizer. */
const RESIDENT_MIN_BYTES = 256;
/** The most bytes of tensor storage held in the module's memory; past it, new tensors stay in JavaScript memory. */
const RESIDENT_LIMIT = 2 ** 30;
/** Resident bytes allocated with no block freed since, past which new tensors stay in JavaScript memory. */
const UNRECLAIMED_LIMIT = 64 * 1024 * 1024;
/** WebAssembly pages (64 KiB) in 4 GiB, wasm32's whole address space. */
const MAX_PAGES = 65536;
/** Each worker's stack (the kernels keep small tiles on it). */
const WORKER_STACK_BYTES = 256 * 1024;

/** Base64 to bytes, without atob (absent from some JavaScript hosts, such as Node's vm contexts). */
function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const value = new Int8Array(128).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < alphabet.length; i++) value[alphabet.charCodeAt(i)] = i;
  let end = text.length;
  while (end > 0 && text[end - 1] === '=') end--;
  const bytes = new Uint8Array(Math.floor((end * 3) / 4));
  let bits = 0;
  let acc = 0;
  let at = 0;
  for (let i = 0; i < end; i++) {
    acc = (acc << 6) | value[text.charCodeAt(i)];
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[at++] = (acc >> bits) & 0xff;
    }
  }
  return bytes;
}

/** Where the module's memory import declares its limits: the flags byte's offset and the minimum in pages. */
interface MemoryImport {
  readonly flagsAt: number;
  readonly minPages: number;
}

/** Reads the import section of a WebAssembly binary for its one memory import (env.memory). */
function findMemoryImport(bytes: Uint8Array): MemoryImport {
  let at = 8; // magic and version
  const leb = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = bytes[at++];
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
    }
  };
  const skipName = () => {
    const n = leb();
    at += n;
  };
  while (at < bytes.length) {
    const id = bytes[at++];
    const size = leb();
    const end = at + size;
    if (id !== 2) {
      at = end;
      continue;
    }
    const count = leb();
    for (let i = 0; i < count; i++) {
      skipName();
      skipName();
      const kind = bytes[at++];
      if (kind === 0x02) {
        const flagsAt = at++;
        return { flagsAt, minPages: leb() };
      }
      // A function import: its type index. (The module imports no tables or globals.)
      if (kind !== 0x00) throw new Error(`unexpected import kind ${kind} in the wasm module`);
      leb();
    }
    break;
  }
  throw new Error('the wasm module imports no memory');
}

/** Whether this host can give the module a shared memory (Node; a cross-origin isolated page or worker). */
function canShareMemory(): boolean {
  const g = globalThis as { SharedArrayBuffer?: unknown; crossOriginIsolated?: boolean };
  if (typeof g.SharedArrayBuffer !== 'function' || g.crossOriginIsolated === false) return false;
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true } as WebAssembly.MemoryDescriptor);
    return true;
  } catch {
    return false;
  }
}

/** The module with its memory import declared unshared (limits flags 0x03, shared with a maximum, become 0x01). */
function unshareMemoryImport(bytes: Uint8Array<ArrayBuffer>, memory: MemoryImport): Uint8Array<ArrayBuffer> {
  const copy = bytes.slice();
  copy[memory.flagsAt] &= ~0x02;
  return copy;
}

/** Milliseconds for the pool's back-off (performance.now, where the host has it). */
function nowMs(): number {
  const p = (globalThis as { performance?: { now(): number } }).performance;
  return p ? p.now() : Date.now();
}

/**
 * Compiles the module (synchronously: it is about 100 KB) and wraps it;
 * throws when WebAssembly SIMD is unavailable. `threads` is the most threads
 * the kernels may use (workers are started, when memory can be shared, the
 * first time a kernel runs).
 */
export function instantiateWasmModule(threads: number, options: { shared?: boolean } = {}): WasmModule {
  const bytes = decodeBase64(WASM_BASE64);
  const memoryImport = findMemoryImport(bytes);
  // `shared: false` gives what a page without cross-origin isolation gets (tests use it).
  const shared = options.shared !== false && canShareMemory();
  const module = new WebAssembly.Module(shared ? bytes : unshareMemoryImport(bytes, memoryImport));
  const memory = new WebAssembly.Memory({ initial: memoryImport.minPages, maximum: MAX_PAGES, shared } as WebAssembly.MemoryDescriptor);
  const instance = new WebAssembly.Instance(module, { env: { memory, now_ms: nowMs } });
  return new WasmModule(instance.exports as unknown as Exports, memory, shared ? { module, threads } : null);
}

/** What a shared-memory module needs to start workers. */
interface Threading {
  readonly module: WebAssembly.Module;
  /** The most threads wanted (the caller plus workers). */
  readonly threads: number;
}

export class WasmModule implements KernelAddon {
  private readonly ex: Exports;
  private readonly memory: WebAssembly.Memory;
  private heap: ArrayBuffer;
  private u8: Uint8Array;
  private f32: Float32Array;
  private f64: Float64Array;
  private i32: Int32Array;
  private arena = 0;
  private arenaBytes = 0;
  /** An elementwise program's array addresses and lengths (64 arrays at most), allocated on first use. */
  private programDesc = 0;
  private bytesIn = 0;
  private bytesOut = 0;
  private calls = 0;
  private residentArrays = 0;
  // The call being staged: arrays, their modes and their offsets (reused, so staging allocates nothing).
  private readonly stagedArrays: (TypedArray | null)[] = [];
  private readonly stagedModes: number[] = [];
  private readonly ptr: number[] = [];
  /** Every buffer object the shared memory has shown (one per size it grew to): arrays on them are resident. */
  private readonly ownBuffers = new WeakSet<ArrayBufferLike>();
  private readonly threading: Threading | null;
  private workers: WorkerStart | null = null;
  private residentBytes = 0;
  /** Resident bytes allocated since a finalizer last ran (see allocateResident). */
  private unreclaimed = 0;
  private readonly finalizer: FinalizationRegistry<number> | null;
  /** Tensor storage in the module's memory, or null without shared memory. */
  readonly storage: StorageProvider | null;

  constructor(exports: Exports, memory: WebAssembly.Memory, threading: Threading | null) {
    this.ex = exports;
    this.memory = memory;
    this.threading = threading;
    this.heap = memory.buffer;
    this.u8 = new Uint8Array(this.heap);
    this.f32 = new Float32Array(this.heap);
    this.f64 = new Float64Array(this.heap);
    this.i32 = new Int32Array(this.heap);
    const canFinalize = typeof (globalThis as { FinalizationRegistry?: unknown }).FinalizationRegistry === 'function';
    this.finalizer =
      threading !== null && canFinalize
        ? new FinalizationRegistry<number>((ptr) => {
            this.residentBytes -= this.ex.nt_free(ptr);
            this.unreclaimed = 0;
          })
        : null;
    if (threading !== null) this.ownBuffers.add(this.heap);
    this.storage = this.finalizer !== null ? { allocate: (dtype, size, zeroed, persistent) => this.allocateResident(dtype, size, zeroed, persistent) } : null;
    // The kernel table takes these as free functions, as it does the native addon's.
    const self = this as unknown as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(WasmModule.prototype)) {
      const f = self[name];
      if (name !== 'constructor' && typeof f === 'function') self[name] = f.bind(this);
    }
  }

  /** Bytes copied in and out so far, and what lives in the module's memory (see WasmCopyTraffic). */
  copyTraffic(): WasmCopyTraffic {
    return {
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      calls: this.calls,
      residentArrays: this.residentArrays,
      residentBytes: this.residentBytes,
    };
  }

  /** Bytes of linear memory the module holds now. */
  memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Shared memory, threads and workers (see WasmRuntimeInfo). */
  runtimeInfo(): WasmRuntimeInfo {
    return {
      sharedMemory: this.threading !== null,
      threads: this.ex.nt_num_threads(),
      maxThreads: 1 + (this.workers?.count ?? 0),
      workersReady: this.workers?.ready() ?? 0,
    };
  }

  /**
   * Starts the workers (once; without shared memory there are none) and
   * resolves when they all run. Kernels do not wait for this: a job's parts
   * are claimed by whichever threads are there, so the caller does the share
   * of a worker still starting.
   */
  startThreads(): Promise<void> {
    if (this.threading === null) return Promise.resolve();
    if (this.workers === null) {
      const count = Math.max(0, this.threading.threads - 1);
      const stacks: number[] = [];
      const tlsSize = this.ex.__tls_size.value as number;
      for (let i = 0; i < count; i++) {
        // Each worker's instance needs its own stack and thread-local block in the shared memory.
        const stack = this.ex.nt_alloc(WORKER_STACK_BYTES);
        const tls = this.ex.nt_alloc(Math.max(tlsSize, 64));
        if (stack === 0 || tls === 0) break;
        stacks.push(stack + WORKER_STACK_BYTES, tls);
      }
      this.workers = startWorkers(this.threading.module, this.memory, stacks.length / 2, (i) => ({ stackTop: stacks[2 * i], tls: stacks[2 * i + 1] }));
      this.ex.nt_set_workers(this.workers.count);
      this.ex.nt_set_num_threads(this.threading.threads);
    }
    return this.workers.allReady;
  }

  /** Sets the threads the kernels use (at most 1 plus the workers); returns the number now in use. */
  setNumThreads(n: number): number {
    this.startThreads();
    return this.ex.nt_set_num_threads(n);
  }

  /** Jobs the pool split across threads, and jobs it ran on the caller alone (one thread, nesting, or backing off). */
  poolJobs(): { parallel: number; serial: number } {
    return { parallel: this.ex.nt_pool_jobs(1), serial: this.ex.nt_pool_jobs(0) };
  }

  /**
   * A tensor's storage in the module's memory, or null to leave it in
   * JavaScript memory (small, over the budget, or the memory cannot grow).
   */
  private allocateResident(dtype: DType, size: number, zeroed: boolean, persistent: boolean): TypedArray | null {
    const bytes = size * bytesPerElement(dtype);
    if (bytes < RESIDENT_MIN_BYTES || this.residentBytes + bytes > RESIDENT_LIMIT || this.finalizer === null) return null;
    // Finalizers run only when the event loop turns. A synchronous loop of
    // training steps never lets it, so its garbage would pile up in the
    // module's memory: past UNRECLAIMED_LIMIT bytes with no block freed, new
    // tensors stay in JavaScript memory (and are copied per call) until a
    // finalizer runs again. Parameters and optimizer state (persistent) are
    // exempt: they are few, live as long as their model, and are what every
    // step reads, so a model built after a long training run in the same
    // page still computes in place.
    if (!persistent && this.unreclaimed + bytes > UNRECLAIMED_LIMIT) return null;
    const p = this.ex.nt_alloc(bytes);
    if (p === 0) return null;
    this.refreshViews();
    const a = arrayOn(dtype, this.heap, p, size);
    // A freed block keeps what its last tensor held.
    if (zeroed) a.fill(0);
    const block = this.ex.nt_block_bytes(p);
    this.residentBytes += block;
    if (!persistent) this.unreclaimed += block;
    this.finalizer.register(a, p);
    return a;
  }

  /** Adds an array to the call being staged (null stays null: a pointer of 0). */
  private stage(a: TypedArray | null, mode: number): void {
    this.stagedArrays.push(a);
    this.stagedModes.push(mode);
  }

  /**
   * Gives every staged array its offset in the module's memory: arrays that
   * live there are used in place; the rest are placed in the arena (grown
   * when the call needs more) and their inputs copied in. Growth of an
   * unshared memory replaces its buffer, so the views are refreshed after any
   * allocation.
   */
  private place(): void {
    if (this.workers === null && this.threading !== null) this.startThreads();
    const arrays = this.stagedArrays;
    const modes = this.stagedModes;
    let bytes = 0;
    for (let i = 0; i < arrays.length; i++) {
      const a = arrays[i];
      if (a === null) continue;
      if (this.ownBuffers.has(a.buffer)) modes[i] |= RESIDENT;
      else bytes += (a.byteLength + ALIGN - 1) & ~(ALIGN - 1);
    }
    if (bytes > this.arenaBytes) {
      if (this.arena !== 0) this.ex.nt_free(this.arena);
      const want = Math.max(bytes, this.arenaBytes * 2, 1 << 20);
      const p = this.ex.nt_alloc(want);
      if (p === 0) {
        this.arena = 0;
        this.arenaBytes = 0;
        this.reset();
        throw new RangeError(
          `wasm backend: cannot allocate ${want} bytes of WebAssembly memory for a kernel's arrays (4 GiB is the most a wasm32 module can address)`,
        );
      }
      this.arena = p;
      this.arenaBytes = want;
    }
    this.refreshViews();
    let at = this.arena;
    for (let i = 0; i < arrays.length; i++) {
      const a = arrays[i];
      if (a === null) {
        this.ptr.push(0);
        continue;
      }
      if (modes[i] & RESIDENT) {
        this.ptr.push(a.byteOffset);
        this.residentArrays++;
        continue;
      }
      this.ptr.push(at);
      if (modes[i] & IN) {
        this.typedView(a).set(a as never, at / a.BYTES_PER_ELEMENT);
        this.bytesIn += a.byteLength;
      }
      at += (a.byteLength + ALIGN - 1) & ~(ALIGN - 1);
    }
    this.calls++;
  }

  /** Growing the memory (here, or in a kernel taking scratch space) gives it a new buffer object: views are made anew. */
  private refreshViews(): void {
    const buffer = this.memory.buffer;
    if (buffer === this.heap) return;
    this.heap = buffer;
    if (this.threading !== null) this.ownBuffers.add(buffer);
    this.u8 = new Uint8Array(buffer);
    this.f32 = new Float32Array(buffer);
    this.f64 = new Float64Array(buffer);
    this.i32 = new Int32Array(buffer);
  }

  private typedView(a: TypedArray): TypedArray {
    if (a instanceof Float32Array) return this.f32;
    if (a instanceof Float64Array) return this.f64;
    if (a instanceof Int32Array) return this.i32;
    return this.u8;
  }

  /** Copies the outputs that were staged in the arena back and clears the staging lists. */
  private finish(): void {
    this.refreshViews();
    const arrays = this.stagedArrays;
    for (let i = 0; i < arrays.length; i++) {
      const a = arrays[i];
      if (a === null || (this.stagedModes[i] & (OUT | RESIDENT)) !== OUT) continue;
      const start = this.ptr[i] / a.BYTES_PER_ELEMENT;
      a.set(this.typedView(a).subarray(start, start + a.length) as never);
      this.bytesOut += a.byteLength;
    }
    this.reset();
  }

  private reset(): void {
    this.stagedArrays.length = 0;
    this.stagedModes.length = 0;
    this.ptr.length = 0;
  }

  // ---- matrix products ----------------------------------------------------------

  sgemm(
    tA: boolean,
    tB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    b: Float32Array,
    ldb: number,
    beta: number,
    c: Float32Array,
    ldc: number,
  ): void {
    this.stage(a, IN);
    this.stage(b, IN);
    this.stage(c, beta === 0 ? OUT : INOUT);
    this.place();
    const p = this.ptr;
    this.ex.nt_sgemm(+tA, +tB, m, n, k, alpha, p[0], lda, p[1], ldb, beta, p[2], ldc);
    this.finish();
  }

  dgemm(
    tA: boolean,
    tB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float64Array,
    lda: number,
    b: Float64Array,
    ldb: number,
    beta: number,
    c: Float64Array,
    ldc: number,
  ): void {
    this.stage(a, IN);
    this.stage(b, IN);
    this.stage(c, beta === 0 ? OUT : INOUT);
    this.place();
    const p = this.ptr;
    this.ex.nt_dgemm(+tA, +tB, m, n, k, alpha, p[0], lda, p[1], ldb, beta, p[2], ldc);
    this.finish();
  }

  sgemmBatched(
    tA: boolean,
    tB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float32Array,
    lda: number,
    sA: number,
    b: Float32Array,
    ldb: number,
    sB: number,
    beta: number,
    c: Float32Array,
    ldc: number,
    sC: number,
    batch: number,
  ): void {
    this.stage(a, IN);
    this.stage(b, IN);
    this.stage(c, beta === 0 ? OUT : INOUT);
    this.place();
    const p = this.ptr;
    this.ex.nt_sgemm_batched(+tA, +tB, m, n, k, alpha, p[0], lda, sA, p[1], ldb, sB, beta, p[2], ldc, sC, batch);
    this.finish();
  }

  dgemmBatched(
    tA: boolean,
    tB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float64Array,
    lda: number,
    sA: number,
    b: Float64Array,
    ldb: number,
    sB: number,
    beta: number,
    c: Float64Array,
    ldc: number,
    sC: number,
    batch: number,
  ): void {
    this.stage(a, IN);
    this.stage(b, IN);
    this.stage(c, beta === 0 ? OUT : INOUT);
    this.place();
    const p = this.ptr;
    this.ex.nt_dgemm_batched(+tA, +tB, m, n, k, alpha, p[0], lda, sA, p[1], ldb, sB, beta, p[2], ldc, sC, batch);
    this.finish();
  }

  // ---- element-wise -----------------------------------------------------------------

  private unary(fn: (x: number, out: number, n: number) => void, x: Float32Array, out: Float32Array, n: number): void {
    this.stage(x, IN);
    this.stage(out, OUT);
    this.place();
    fn(this.ptr[0], this.ptr[1], n);
    this.finish();
  }

  relu(x: Float32Array, out: Float32Array, n: number): void {
    this.unary(this.ex.nt_relu, x, out, n);
  }
  sigmoid(x: Float32Array, out: Float32Array, n: number): void {
    this.unary(this.ex.nt_sigmoid, x, out, n);
  }
  tanh(x: Float32Array, out: Float32Array, n: number): void {
    this.unary(this.ex.nt_tanh, x, out, n);
  }
  exp(x: Float32Array, out: Float32Array, n: number): void {
    this.unary(this.ex.nt_exp, x, out, n);
  }

  reluBackward(x: Float32Array, g: Float32Array, out: Float32Array, n: number): void {
    this.stage(x, IN);
    this.stage(g, IN);
    this.stage(out, OUT);
    this.place();
    this.ex.nt_relu_backward(this.ptr[0], this.ptr[1], this.ptr[2], n);
    this.finish();
  }

  elementwiseProgram(code: Int32Array, inputs: readonly Float32Array[], outputs: readonly Float32Array[], n: number): void {
    const count = inputs.length + outputs.length;
    if (count > 64) throw new RangeError(`wasm backend: elementwiseProgram takes at most 64 arrays, got ${count}`);
    if (this.programDesc === 0) {
      this.programDesc = this.ex.nt_alloc(2 * 64 * 4);
      if (this.programDesc === 0) throw new RangeError('wasm backend: cannot allocate 512 bytes of WebAssembly memory');
    }
    this.stage(code, IN);
    for (const a of inputs) this.stage(a, IN);
    for (const a of outputs) this.stage(a, OUT);
    this.place();
    const desc = this.programDesc / 4;
    for (let i = 0; i < count; i++) {
      this.i32[desc + i] = this.ptr[1 + i];
      this.i32[desc + count + i] = i < inputs.length ? inputs[i].length : outputs[i - inputs.length].length;
    }
    this.ex.nt_elementwise_program(this.ptr[0], code.length / 4, this.programDesc, count, n);
    this.finish();
  }

  private binary(op: keyof typeof BINARY_OPS, a: Float32Array, b: Float32Array, out: Float32Array, n: number): void {
    this.stage(a, IN);
    this.stage(b, IN);
    this.stage(out, OUT);
    this.place();
    this.ex.nt_binary(BINARY_OPS[op], this.ptr[0], this.ptr[1], this.ptr[2], n);
    this.finish();
  }

  add(a: Float32Array, b: Float32Array, out: Float32Array, n: number): void {
    this.binary('add', a, b, out, n);
  }
  sub(a: Float32Array, b: Float32Array, out: Float32Array, n: number): void {
    this.binary('sub', a, b, out, n);
  }
  mul(a: Float32Array, b: Float32Array, out: Float32Array, n: number): void {
    this.binary('mul', a, b, out, n);
  }
  div(a: Float32Array, b: Float32Array, out: Float32Array, n: number): void {
    this.binary('div', a, b, out, n);
  }

  biasAdd(x: Float32Array, bias: Float32Array, out: Float32Array, rows: number, cols: number): void {
    this.stage(x, IN);
    this.stage(bias, IN);
    this.stage(out, OUT);
    this.place();
    this.ex.nt_bias_add(this.ptr[0], this.ptr[1], this.ptr[2], rows, cols);
    this.finish();
  }

  broadcastBinary(op: number, a: Float32Array, aForm: number, b: Float32Array, bForm: number, out: Float32Array, outer: number, inner: number): void {
    this.stage(a, IN);
    this.stage(b, IN);
    this.stage(out, OUT);
    this.place();
    this.ex.nt_broadcast_binary(op, this.ptr[0], aForm, this.ptr[1], bForm, this.ptr[2], outer, inner);
    this.finish();
  }

  compare(op: number, a: Float32Array, aForm: number, b: Float32Array, bForm: number, out: Uint8Array, outer: number, inner: number): void {
    this.stage(a, IN);
    this.stage(b, IN);
    this.stage(out, OUT);
    this.place();
    this.ex.nt_compare(op, this.ptr[0], aForm, this.ptr[1], bForm, this.ptr[2], outer, inner);
    this.finish();
  }

  where(
    cond: Uint8Array,
    condForm: number,
    a: Float32Array,
    aForm: number,
    b: Float32Array,
    bForm: number,
    out: Float32Array,
    outer: number,
    inner: number,
  ): void {
    this.stage(cond, IN);
    this.stage(a, IN);
    this.stage(b, IN);
    this.stage(out, OUT);
    this.place();
    this.ex.nt_where(this.ptr[0], condForm, this.ptr[1], aForm, this.ptr[2], bForm, this.ptr[3], outer, inner);
    this.finish();
  }

  reduceExtreme(isMax: boolean, x: Float32Array, out: Float32Array, outer: number, size: number, inner: number): void {
    this.stage(x, IN);
    this.stage(out, OUT);
    this.place();
    this.ex.nt_reduce_extreme(isMax ? 1 : 0, this.ptr[0], this.ptr[1], outer, size, inner);
    this.finish();
  }

  permute(x: Float32Array, out: Float32Array, shape: Int32Array, perm: Int32Array): void {
    const rank = shape.length;
    // The sizes, then the axes, as the export reads them (the kernel table passed a valid permutation).
    const desc = new Int32Array(2 * rank);
    desc.set(shape);
    desc.set(perm, rank);
    this.stage(x, IN);
    this.stage(out, OUT);
    this.stage(desc, IN);
    this.place();
    this.ex.nt_permute(this.ptr[0], this.ptr[1], rank, this.ptr[2]);
    this.finish();
  }

  // ---- reductions -----------------------------------------------------------------------

  sumRows(x: Float32Array, out: Float32Array, rows: number, cols: number): void {
    this.stage(x, IN);
    this.stage(out, OUT);
    this.place();
    this.ex.nt_sum_rows(this.ptr[0], this.ptr[1], rows, cols);
    this.finish();
  }

  sumAxis(x: Float32Array, out: Float32Array, outer: number, channels: number, inner: number): void {
    this.stage(x, IN);
    this.stage(out, OUT);
    this.place();
    this.ex.nt_sum_axis(this.ptr[0], this.ptr[1], outer, channels, inner);
    this.finish();
  }

  logSoftmax(x: Float32Array, out: Float32Array, outer: number, size: number, inner: number): void {
    this.stage(x, IN);
    this.stage(out, OUT);
    this.place();
    this.ex.nt_log_softmax(this.ptr[0], this.ptr[1], outer, size, inner);
    this.finish();
  }

  logSoftmaxBackward(g: Float32Array, out: Float32Array, dx: Float32Array, outer: number, size: number, inner: number): void {
    this.stage(g, IN);
    this.stage(out, IN);
    this.stage(dx, OUT);
    this.place();
    this.ex.nt_log_softmax_backward(this.ptr[0], this.ptr[1], this.ptr[2], outer, size, inner);
    this.finish();
  }

  sumAll(x: Float32Array, n: number): number {
    this.stage(x, IN);
    this.place();
    const s = this.ex.nt_sum_all(this.ptr[0], n);
    this.finish();
    return s;
  }

  // ---- convolution and pooling -------------------------------------------------------------

  conv2dForward(x: Float32Array, w: Float32Array, bias: Float32Array | null, out: Float32Array, geometry: Int32Array): void {
    this.stage(x, IN);
    this.stage(w, IN);
    this.stage(bias, IN);
    this.stage(out, OUT);
    this.stage(geometry, IN);
    this.place();
    const p = this.ptr;
    this.ex.nt_conv2d_forward(p[0], p[1], p[2], p[3], p[4]);
    this.finish();
  }

  conv2dBackwardInput(gradOut: Float32Array, w: Float32Array, gradIn: Float32Array, geometry: Int32Array): void {
    this.stage(gradOut, IN);
    this.stage(w, IN);
    this.stage(gradIn, OUT);
    this.stage(geometry, IN);
    this.place();
    const p = this.ptr;
    this.ex.nt_conv2d_backward_input(p[0], p[1], p[2], p[3]);
    this.finish();
  }

  conv2dBackwardWeight(x: Float32Array, gradOut: Float32Array, gradW: Float32Array, gradBias: Float32Array | null, geometry: Int32Array): void {
    this.stage(x, IN);
    this.stage(gradOut, IN);
    this.stage(gradW, OUT);
    this.stage(gradBias, OUT);
    this.stage(geometry, IN);
    this.place();
    const p = this.ptr;
    this.ex.nt_conv2d_backward_weight(p[0], p[1], p[2], p[3], p[4]);
    this.finish();
  }

  maxPool2dForward(x: Float32Array, out: Float32Array, indices: Int32Array, geometry: Int32Array): void {
    this.stage(x, IN);
    this.stage(out, OUT);
    this.stage(indices, OUT);
    this.stage(geometry, IN);
    this.place();
    const p = this.ptr;
    this.ex.nt_maxpool2d_forward(p[0], p[1], p[2], p[3]);
    this.finish();
  }

  maxPool2dBackward(gradOut: Float32Array, indices: Int32Array, gradIn: Float32Array, geometry: Int32Array): void {
    this.stage(gradOut, IN);
    this.stage(indices, IN);
    this.stage(gradIn, OUT);
    this.stage(geometry, IN);
    this.place();
    const p = this.ptr;
    this.ex.nt_maxpool2d_backward(p[0], p[1], p[2], p[3]);
    this.finish();
  }

  avgPool2dForward(x: Float32Array, out: Float32Array, geometry: Int32Array, countIncludePad: boolean, divisorOverride: number): void {
    this.stage(x, IN);
    this.stage(out, OUT);
    this.stage(geometry, IN);
    this.place();
    const p = this.ptr;
    this.ex.nt_avgpool2d_forward(p[0], p[1], p[2], +countIncludePad, divisorOverride);
    this.finish();
  }

  avgPool2dBackward(gradOut: Float32Array, gradIn: Float32Array, geometry: Int32Array, countIncludePad: boolean, divisorOverride: number): void {
    this.stage(gradOut, IN);
    this.stage(gradIn, OUT);
    this.stage(geometry, IN);
    this.place();
    const p = this.ptr;
    this.ex.nt_avgpool2d_backward(p[0], p[1], p[2], +countIncludePad, divisorOverride);
    this.finish();
  }

  // ---- LSTM cell ------------------------------------------------------------------------------

  lstmCellForward(gates: Float32Array, cPrev: Float32Array, outC: Float32Array, outH: Float32Array, outGates: Float32Array, n: number, hidden: number): void {
    this.stage(gates, IN);
    this.stage(cPrev, IN);
    this.stage(outC, OUT);
    this.stage(outH, OUT);
    this.stage(outGates, OUT);
    this.place();
    const p = this.ptr;
    this.ex.nt_lstm_cell_forward(p[0], p[1], p[2], p[3], p[4], n, hidden);
    this.finish();
  }

  lstmCellBackward(
    gatesAct: Float32Array,
    cPrev: Float32Array,
    c: Float32Array,
    dh: Float32Array | null,
    dc: Float32Array | null,
    dGates: Float32Array,
    dcPrev: Float32Array,
    n: number,
    hidden: number,
  ): void {
    this.stage(gatesAct, IN);
    this.stage(cPrev, IN);
    this.stage(c, IN);
    this.stage(dh, IN);
    this.stage(dc, IN);
    this.stage(dGates, OUT);
    this.stage(dcPrev, OUT);
    this.place();
    const p = this.ptr;
    this.ex.nt_lstm_cell_backward(p[0], p[1], p[2], p[3], p[4], p[5], p[6], n, hidden);
    this.finish();
  }

  // ---- optimizer steps (in place) ----------------------------------------------------------------

  sgdStep(
    param: Float32Array,
    grad: Float32Array,
    momentumBuf: Float32Array | null,
    lr: number,
    momentum: number,
    dampening: number,
    weightDecay: number,
    nesterov: boolean,
    firstStep: boolean,
    maximize = false,
  ): void {
    this.stage(param, INOUT);
    this.stage(grad, IN);
    this.stage(momentumBuf, INOUT);
    this.place();
    const p = this.ptr;
    this.ex.nt_sgd_step(p[0], p[1], p[2], param.length, lr, momentum, dampening, weightDecay, +nesterov, +firstStep, +maximize);
    this.finish();
  }

  adamStep(
    param: Float32Array,
    grad: Float32Array,
    m: Float32Array,
    v: Float32Array,
    vmax: Float32Array | null,
    lr: number,
    beta1: number,
    beta2: number,
    eps: number,
    weightDecay: number,
    step: number,
    amsgrad: boolean,
    decoupled: boolean,
    maximize = false,
  ): void {
    this.stage(param, INOUT);
    this.stage(grad, IN);
    this.stage(m, INOUT);
    this.stage(v, INOUT);
    this.stage(vmax, INOUT);
    this.place();
    const p = this.ptr;
    this.ex.nt_adam_step(p[0], p[1], p[2], p[3], p[4], param.length, lr, beta1, beta2, eps, weightDecay, step, +amsgrad, +decoupled, +maximize);
    this.finish();
  }
}
