/*
 * The plain types of the WebGPU backend's public surface, apart from the
 * modules that use WebGPU's own types: a program that imports neurite's
 * declarations needs no @webgpu/types.
 */

/** Bytes and calls moved between the CPU and the GPU since the device opened. */
export interface GpuTransfers {
  /** Copies from the CPU to the GPU. */
  readonly uploads: number;
  /** Bytes those copies moved. */
  readonly bytesUp: number;
  /** Copies from the GPU back to the CPU. */
  readonly downloads: number;
  /** Bytes those copies moved. */
  readonly bytesDown: number;
}

/** GPU memory a device holds. */
export interface GpuMemory {
  /** GPU buffers made and not destroyed: in use, or pooled for the next array of their size. */
  readonly buffers: number;
  /** Bytes of the pooled buffers, idle until reused. */
  readonly pooledBytes: number;
}

/** What the adapter says about itself (GPUAdapterInfo), plus whether it is a software fallback. */
export interface GpuAdapterSummary {
  /** The vendor's name ('nvidia', 'google' for SwiftShader). */
  readonly vendor: string;
  /** The family ('hopper', 'swiftshader'); may be empty. */
  readonly architecture: string;
  /** The driver's description of the device; may be empty (browsers may withhold it). */
  readonly description: string;
  /** True for a software rasteriser (SwiftShader, WARP): never chosen by default. */
  readonly isFallbackAdapter: boolean;
}

/** What replays on the GPU did, call by call. */
export interface GpuReplayCounts {
  /** Kernel calls run on the GPU. */
  readonly gpuCalls: number;
  /** Kernel calls run on the CPU (no GPU kernel for them), and host steps. */
  readonly cpuCalls: number;
  /** Optimizer steps (host steps) whose updates ran as the GPU's fused kernels; their gpuCalls are counted too. */
  readonly fusedHostSteps: number;
}
