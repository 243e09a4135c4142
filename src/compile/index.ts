export { type CompiledFunction, type CompileOptions, type CompileStats, compile, type PlanStats } from './compile.js';
export type { FusionSummary, PlanMemory } from './plan.js';
