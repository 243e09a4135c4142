export { type CompiledFunction, type CompileOptions, type CompileStats, compile } from './compile.js';
export type { PlanMemory } from './plan.js';
