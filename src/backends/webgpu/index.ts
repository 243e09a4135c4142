import { NeuriteError } from '../../core/errors.js';
import type { StepExecutor } from '../../kernels/executor.js';
import { type GpuDevice, openGpuDevice } from './device.js';
import { GpuStepExecutor } from './replay.js';
import type { GpuAdapterSummary, GpuMemory, GpuReplayCounts, GpuTransfers } from './types.js';

export type { GpuAdapterSummary, GpuMemory, GpuReplayCounts, GpuTransfers } from './types.js';

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
  /** GPU buffers held (in use or pooled for reuse) and the idle bytes in the pool. */
  memory(): GpuMemory;
  /** Frees the GPU's buffers and the device. Pull what you need first. */
  destroy(): void;
}

/**
 * Opens a WebGPU device on `gpu` (navigator.gpu, or Dawn's GPU object; a
 * string is the reason there is none, thrown) and wraps it. Typed `unknown`
 * so that these declarations need no @webgpu/types.
 */
export async function openWebGpuOn(gpu: unknown, options: WebGpuOptions = {}): Promise<WebGpu> {
  if (typeof gpu === 'string') throw new NeuriteError(`openWebGpu: ${gpu}`);
  const device = await openGpuDevice(gpu as Parameters<typeof openGpuDevice>[0], options);
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
    memory: () => device.memory(),
    destroy: () => device.destroy(),
  };
}
