export { type CompiledFunction, type CompileOptions, type CompileStats, compile, type PlanStats } from './compile.js';
export type { PlanMemory } from './plan.js';
