// The WGSL target: WebGPU compute shaders plus a self-contained TypeScript host module. Like the
// TypeScript emitter it decides nothing about WHAT to compute (kernels, elementwise chains and
// buffers come from the Program); planning (plan.ts: layout.ts, tasks.ts, fusion.ts, phases.ts)
// decides how the GPU runs them, as data, and printing (shaders.ts, kernels.ts, host.ts) follows it.
// Every shader also has an f16 variant (createGpuTrainer(gpu, { precision: "f16" })): storage
// stays f32, forward values up to the last layer are computed in f16 (loads round to f16, stores
// widen), sums accumulate in f32; the loss head, the backward pass and the optimizer update are f32
// (tasks.ts: lossHead).

export { planWgsl, type SequenceName, type WgslPlan, type WgslPlanOptions } from "./plan.js";
export { printShaders, type WgslShaders } from "./shaders.js";
export { emitWgsl, type WgslModuleOptions } from "./host.js";
export { planEpilogueFusions } from "./fusion.js";
export { roundF16, wgslLiteral } from "./spelling.js";
export { describeWgslPlan, summarizeDispatches, type DispatchSummary } from "./describe.js";
