/*
 * The plain types of the WebGPU backend's public surface, apart from the
 * modules that use WebGPU's own types: a program that imports neurite's
 * declarations needs no @webgpu/types.
 */

/** Bytes and calls moved between the CPU and the GPU since the device opened. */
export interface GpuTransfers {
  readonly uploads: number;
  readonly bytesUp: number;
  readonly downloads: number;
  readonly bytesDown: number;
}

/** What the adapter says about itself (GPUAdapterInfo), plus whether it is a software fallback. */
export interface GpuAdapterSummary {
  readonly vendor: string;
  readonly architecture: string;
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
}
