import type { TypedArray } from '../../core/dtype.js';
import type { KernelAddon } from '../accelerate.js';
import { WASM_BASE64 } from './binary.js';

/*
 * The WebAssembly module (built by scripts/build-wasm.mjs from the native
 * addon's C++ kernels) behind the addon's function signatures, so the kernel
 * table in ../accelerate.ts drives both.
 *
 * Tensors live in JavaScript memory, so every call stages its arrays in a
 * region of the module's memory (the arena): inputs are copied in, the kernel
 * runs, outputs are copied back. The arena is reused by every call and grows
 * to the largest call seen. `copyTraffic()` counts the bytes moved, the price
 * of this design (see the wasm backend's section of the README).
 */

/** The module's exports (native/wasm/exports.cc); pointers are byte offsets into `memory`. */
interface Exports {
  readonly memory: WebAssembly.Memory;
  nt_alloc(bytes: number): number;
  nt_free(ptr: number): void;
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
  nt_bias_add(x: number, bias: number, out: number, rows: number, cols: number): void;
  nt_sum_rows(x: number, out: number, rows: number, cols: number): void;
  nt_sum_axis(x: number, out: number, outer: number, c: number, inner: number): void;
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
}

const IN = 1;
const OUT = 2;
const INOUT = IN | OUT;
/** Staged arrays start on 64-byte boundaries, as the native kernels' vector loads prefer. */
const ALIGN = 64;
const BINARY_OPS = { add: 0, sub: 1, mul: 2, div: 3 } as const;

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

/** Compiles the module (synchronously: it is about 110 KB) and wraps it; throws when WebAssembly SIMD is unavailable. */
export function instantiateWasmModule(): WasmModule {
  const module = new WebAssembly.Module(decodeBase64(WASM_BASE64));
  const instance = new WebAssembly.Instance(module, {});
  return new WasmModule(instance.exports as unknown as Exports);
}

export class WasmModule implements KernelAddon {
  private readonly ex: Exports;
  private heap: ArrayBuffer;
  private u8: Uint8Array;
  private f32: Float32Array;
  private f64: Float64Array;
  private i32: Int32Array;
  private arena = 0;
  private arenaBytes = 0;
  private bytesIn = 0;
  private bytesOut = 0;
  private calls = 0;
  // The call being staged: arrays, their modes and their offsets (reused, so staging allocates nothing).
  private readonly stagedArrays: (TypedArray | null)[] = [];
  private readonly stagedModes: number[] = [];
  private readonly ptr: number[] = [];

  constructor(exports: Exports) {
    this.ex = exports;
    this.heap = exports.memory.buffer;
    this.u8 = new Uint8Array(this.heap);
    this.f32 = new Float32Array(this.heap);
    this.f64 = new Float64Array(this.heap);
    this.i32 = new Int32Array(this.heap);
    // The kernel table takes these as free functions, as it does the native addon's.
    const self = this as unknown as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(WasmModule.prototype)) {
      const f = self[name];
      if (name !== 'constructor' && typeof f === 'function') self[name] = f.bind(this);
    }
  }

  /** Bytes copied in and out so far (see WasmCopyTraffic). */
  copyTraffic(): WasmCopyTraffic {
    return { bytesIn: this.bytesIn, bytesOut: this.bytesOut, calls: this.calls };
  }

  /** Bytes of linear memory the module holds now. */
  memoryBytes(): number {
    return this.ex.memory.buffer.byteLength;
  }

  /** Adds an array to the call being staged (null stays null: a pointer of 0). */
  private stage(a: TypedArray | null, mode: number): void {
    this.stagedArrays.push(a);
    this.stagedModes.push(mode);
  }

  /**
   * Places every staged array in the arena (growing it when the call needs
   * more), copies the inputs in, and fills `ptr`. Memory growth replaces the
   * buffer, so the views are refreshed after any allocation.
   */
  private place(): void {
    const arrays = this.stagedArrays;
    let bytes = 0;
    for (const a of arrays) if (a !== null) bytes += (a.byteLength + ALIGN - 1) & ~(ALIGN - 1);
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
      this.ptr.push(at);
      if (this.stagedModes[i] & IN) {
        this.typedView(a).set(a as never, at / a.BYTES_PER_ELEMENT);
        this.bytesIn += a.byteLength;
      }
      at += (a.byteLength + ALIGN - 1) & ~(ALIGN - 1);
    }
    this.calls++;
  }

  /** Growing the memory (here, or in a kernel taking scratch space) replaces its buffer: views are made anew. */
  private refreshViews(): void {
    if (this.ex.memory.buffer === this.heap) return;
    this.heap = this.ex.memory.buffer;
    this.u8 = new Uint8Array(this.heap);
    this.f32 = new Float32Array(this.heap);
    this.f64 = new Float64Array(this.heap);
    this.i32 = new Int32Array(this.heap);
  }

  private typedView(a: TypedArray): TypedArray {
    if (a instanceof Float32Array) return this.f32;
    if (a instanceof Float64Array) return this.f64;
    if (a instanceof Int32Array) return this.i32;
    return this.u8;
  }

  /** Copies the outputs back and clears the staging lists. */
  private finish(): void {
    this.refreshViews();
    const arrays = this.stagedArrays;
    for (let i = 0; i < arrays.length; i++) {
      const a = arrays[i];
      if (a === null || !(this.stagedModes[i] & OUT)) continue;
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
