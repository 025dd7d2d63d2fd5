// Shared by the WGSL tests: a WebGPU device from Dawn (npm `webgpu`) on the CPU Vulkan driver that
// scripts/setup-webgpu.sh installs, and loaders that compile a model for both targets and import the
// generated modules (so the tests run the code users run).
//
// In CI (CI=true) a missing adapter is a failure; locally the WGSL tests skip with a message.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { compile, type CompileOptions, type ModelDefinition } from "gradgen";
import { emitWgsl, planWgsl, printShaders, type WgslModuleOptions } from "../../src/emit/wgsl/index.js";
import type { Program } from "../../src/schedule/program.js";
import { traceModel } from "../../src/dsl/model.js";
import { buildTrainingGraph } from "../../src/pipeline.js";
import { schedule } from "../../src/schedule/schedule.js";
import { defaultTuning } from "../../src/schedule/lower.js";
import { resolveOptions } from "../../src/compile.js";

export const required = process.env.CI === "true" || process.env.GRADGEN_REQUIRE_WEBGPU === "1";

export interface GpuContext {
  readonly device: GPUDevice;
  /** "vendor / device / description" of the adapter. */
  readonly adapterName: string;
}

let context: Promise<GpuContext | string> | undefined;
/** Dawn's instance: held for the life of the process (collecting it while a device lives crashes Dawn). */
let instance: GPU | undefined;

/** The device, or why there is none (a string). Throws in CI when there is none. */
export function gpu(): Promise<GpuContext | string> {
  context ??= (async () => {
    let why: string;
    try {
      const { create, globals } = await import("webgpu");
      Object.assign(globalThis, globals);
      instance = create([]);
      const adapter = await instance.requestAdapter();
      if (adapter) {
        const info = adapter.info;
        const adapterName = [info.vendor, info.device, info.description].filter(Boolean).join(" / ");
        // Dawn's null backend validates shaders but computes nothing: never a substitute.
        if (/\bnull\b/i.test(adapterName))
          throw new Error(`the WebGPU adapter is Dawn's null backend (${adapterName}); it computes nothing`);
        const device = await adapter.requestDevice(); // WebGPU's default limits, as in browsers
        device.addEventListener("uncapturederror", (event) => {
          throw new Error(`uncaptured WebGPU error: ${(event as GPUUncapturedErrorEvent).error.message}`);
        });
        return { device, adapterName };
      }
      why = "no WebGPU adapter (Dawn needs a Vulkan driver: run `bash scripts/setup-webgpu.sh` as root)";
    } catch (error) {
      if (/null backend/.test(String(error))) throw error;
      why = `cannot load the npm package webgpu (${(error as Error).message}); run \`bash scripts/setup-webgpu.sh\``;
    }
    if (required) throw new Error(`WGSL tests need a WebGPU adapter in CI: ${why}`);
    console.warn(`skipping the WGSL tests: ${why}`);
    return why;
  })();
  return context;
}

let f16: Promise<GPUDevice | undefined> | undefined;
/** A second device created with "shader-f16", or undefined when the adapter lacks it (or there is no adapter). */
export function f16Device(): Promise<GPUDevice | undefined> {
  f16 ??= (async () => {
    if (typeof (await gpu()) === "string") return undefined;
    const adapter = await instance!.requestAdapter(); // an adapter creates one device: a fresh one
    if (!adapter?.features.has("shader-f16")) return undefined;
    const device = await adapter.requestDevice({ requiredFeatures: ["shader-f16"] });
    device.addEventListener("uncapturederror", (event) => {
      throw new Error(`uncaptured WebGPU error: ${(event as GPUUncapturedErrorEvent).error.message}`);
    });
    return device;
  })();
  return f16;
}

let timestamps: Promise<GPUDevice | undefined> | undefined;
/** A device created with "timestamp-query", or undefined when the adapter lacks it (or there is no adapter). */
export function timestampDevice(): Promise<GPUDevice | undefined> {
  timestamps ??= (async () => {
    if (typeof (await gpu()) === "string") return undefined;
    const adapter = await instance!.requestAdapter();
    if (!adapter?.features.has("timestamp-query")) return undefined;
    return adapter.requestDevice({ requiredFeatures: ["timestamp-query"] });
  })();
  return timestamps;
}

let directory: string | undefined;
let loaded = 0;

/** The generated WGSL host module (types erased to what the tests use). */
export interface GpuModule {
  readonly source: string;
  createGpuTrainer(
    device: GPUDevice,
    options?: {
      seed?: number;
      params?: Record<string, ArrayLike<number>>;
      precision?: "f32" | "f16";
      passes?: (call: string, dispatch: number, shader: number) => GPUComputePassDescriptor | null;
    },
  ): Promise<GpuTrainer>;
}

export type Fields = Record<string, Float32Array>;

export interface GpuTrainer {
  readonly precision: "f32" | "f16";
  readonly spec: {
    readonly batch: number;
    readonly inputs: Readonly<Record<string, readonly number[]>>;
    readonly params: Readonly<Record<string, readonly number[]>>;
    readonly outputs: Readonly<Record<string, readonly number[]>>;
  };
  readonly state: { step: number };
  learningRate: number;
  upload(batch: Fields, n?: number): void;
  loss(batch?: Fields, n?: number): Promise<number>;
  trainingLoss(batch?: Fields, n?: number): Promise<number>;
  gradient(batch?: Fields, n?: number): Promise<number>;
  step(batch?: Fields, n?: number): Promise<number>;
  queueStep(batch?: Fields, n?: number): void;
  steps(count: number, batch?: Fields, n?: number): Promise<number>;
  resampleDropout(n?: number): void;
  predict(inputs?: Fields, n?: number): Promise<Fields>;
  read(name: string): Promise<Float32Array>;
  readGrad(name: string): Promise<Float32Array>;
  readInputGrad(name: string): Promise<Float32Array>;
  readState(name: string): Promise<Float32Array>;
  readBuffer(name: string): Promise<Float32Array>;
  write(name: string, values: ArrayLike<number>): void;
  writeState(name: string, values: ArrayLike<number>): void;
  snapshot(): void;
  restore(): void;
  flush(): Promise<void>;
  destroy(): void;
}

/** The TypeScript trainer (f32), as the tests use it. */
export interface CpuTrainer {
  readonly params: Fields;
  readonly grads: Fields;
  readonly inputGrads: Fields;
  readonly state: { step: number; readonly buffers: Fields };
  learningRate: number;
  loss(batch: Fields, n?: number): number;
  trainingLoss(batch: Fields, n?: number): number;
  gradient(batch: Fields, n?: number): number;
  step(batch: Fields, n?: number): number;
  predict(inputs: Fields, n?: number): Fields;
}

export interface BothTargets {
  readonly cpu: { readonly source: string; createTrainer(options?: { seed?: number }): CpuTrainer };
  readonly gpu: GpuModule;
}

async function importGenerated<T>(file: { path: string; contents: string }): Promise<T & { source: string }> {
  directory ??= mkdtempSync(path.join(tmpdir(), "gradgen-wgsl-"));
  // A fresh file name per load: the module cache would otherwise hand back an earlier model of the same name.
  const target = path.join(directory, `${loaded++}-${file.path}`);
  writeFileSync(target, file.contents);
  return { ...((await import(pathToFileURL(target).href)) as T), source: file.contents };
}

/** Compiles `definition` (f32) for both targets and imports both generated modules. */
export async function loadBoth(
  definition: ModelDefinition,
  batch: number,
  options: CompileOptions = {},
): Promise<BothTargets> {
  const { files } = compile(definition, {
    batch,
    source: `test model ${definition.name}`,
    ...options,
    targets: ["ts", "wgsl"],
  });
  const [cpu, gpuModule] = await Promise.all([
    importGenerated<BothTargets["cpu"]>(files.find((f) => !f.path.endsWith(".wgsl.ts"))!),
    importGenerated<GpuModule>(files.find((f) => f.path.endsWith(".wgsl.ts"))!),
  ]);
  return { cpu, gpu: gpuModule };
}

/** The scheduled Program the compiler makes for `definition`. */
export function programOf(definition: ModelDefinition, options: CompileOptions & { batch: number }): Program {
  const resolved = resolveOptions(options, definition.options);
  return schedule(buildTrainingGraph(traceModel(definition)), { ...resolved, tuning: defaultTuning });
}

/** Every shader the WGSL target makes for `definition` (for validation). */
export function shadersOf(definition: ModelDefinition, options: CompileOptions & { batch: number }): readonly string[] {
  return printShaders(planWgsl(programOf(definition, options))).shaders;
}

/** The WGSL host module for `definition` printed with emitter options (e.g. without epilogue fusion), imported. */
export async function loadWgsl(
  definition: ModelDefinition,
  options: CompileOptions & { batch: number },
  wgsl: Partial<WgslModuleOptions>,
): Promise<GpuModule> {
  const contents = emitWgsl(programOf(definition, options), {
    source: `test model ${definition.name}`,
    command: "test",
    ...wgsl,
  });
  return importGenerated<GpuModule>({ path: `${definition.name}.wgsl.ts`, contents });
}

/**
 * Largest |a − b| relative to the reference's largest magnitude (floored at 1e-3 so tensors that are
 * all but zero compare absolutely): the tests hold it to 1e-5·K for a K-term reduction.
 */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let scale = 1e-3;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]!));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const difference = Math.abs(actual[i]! - expected[i]!);
    if (!(difference <= worst))
      worst = Number.isNaN(difference) && Number.isNaN(actual[i]!) && Number.isNaN(expected[i]!) ? worst : difference;
  }
  return worst / scale;
}
