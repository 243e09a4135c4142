/// <reference types="@webgpu/types" />
import { NeuriteError } from '../../core/errors.js';
import type { StepExecutor } from '../../kernels/executor.js';
import { type GpuAdapterSummary, type GpuDevice, type GpuTransfers, openGpuDevice } from './device.js';
import { type GpuReplayCounts, GpuStepExecutor } from './replay.js';

export type { GpuAdapterSummary, GpuTransfers } from './device.js';
export type { GpuReplayCounts } from './replay.js';

/** Options of {@link openWebGpu}. */
export interface WebGpuOptions {
  /** Accept a software adapter (SwiftShader, WARP), which is slower than the CPU backends: for tests. */
  readonly allowFallback?: boolean;
}

/**
 * A GPU opened through WebGPU, to replay compiled steps on:
 * `compile(step, { executor: gpu.executor, modules: [model] })` returns a
 * function whose calls resolve to the step's results, with the step's
 * kernels run on the GPU from its fourth call (see DeviceCompileOptions).
 */
export interface WebGpu {
  /** What the adapter says it is. */
  readonly adapter: GpuAdapterSummary;
  /** Replays compiled steps on this GPU. */
  readonly executor: StepExecutor;
  /** Bytes and calls moved between the CPU and the GPU so far. */
  transfers(): GpuTransfers;
  /** Kernel calls run on the GPU and on the CPU (kernels without a GPU version, host steps) so far. */
  calls(): GpuReplayCounts;
  /** Frees the GPU's buffers and the device. Pull what you need first. */
  destroy(): void;
}

/** Opens a WebGPU device on `gpu` (or throws the reason there is none) and wraps it. */
export async function openWebGpuOn(gpu: GPU | string, options: WebGpuOptions = {}): Promise<WebGpu> {
  if (typeof gpu === 'string') throw new NeuriteError(`openWebGpu: ${gpu}`);
  const device = await openGpuDevice(gpu, options);
  if (typeof device === 'string') throw new NeuriteError(`openWebGpu: ${device}`);
  return wrap(device);
}

function wrap(device: GpuDevice): WebGpu {
  const executor = new GpuStepExecutor(device);
  return {
    adapter: device.adapter,
    executor,
    transfers: () => device.transferCounts(),
    calls: () => executor.callCounts(),
    destroy: () => device.destroy(),
  };
}
