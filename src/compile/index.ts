export type { StepCall, StepExecutor, StepHostCall, StepKernelCall } from '../ops/primitives.js';
export {
  type CompiledFunction,
  type CompileOptions,
  type CompileStats,
  compile,
  type DeviceCompiledFunction,
  type DeviceCompileOptions,
  type PlanStats,
} from './compile.js';
export type { FusionSummary, PlanMemory } from './plan.js';
