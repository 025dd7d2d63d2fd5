// compile(model, options): model definition → generated files. The CLI is a thin layer over this.

import { GradgenError } from "./errors.js";
import { isModelDefinition, traceModel, type ModelDefinition } from "./dsl/model.js";
import { buildTrainingGraph } from "./passes/pipeline.js";
import { schedule } from "./schedule/schedule.js";
import { emitTypeScript } from "./emit/typescript.js";

export interface CompileOptions {
  /** Examples per call (the largest n a call may pass). Default 1. */
  readonly batch?: number;
  readonly dtype?: "f32" | "f64";
  readonly optimizer?: "sgd";
  /** Default 0.1. */
  readonly learningRate?: number;
  /** The model file as the header should name it. */
  readonly source?: string;
}

export interface CompiledFile {
  /** Relative to the output directory. */
  readonly path: string;
  readonly contents: string;
}

export interface ResolvedOptions {
  readonly batch: number;
  readonly dtype: "f32" | "f64";
  readonly optimizer: "sgd";
  readonly learningRate: number;
}

export function resolveOptions(options: CompileOptions): ResolvedOptions {
  const batch = options.batch ?? 1;
  if (!Number.isInteger(batch) || batch < 1) throw new GradgenError(`batch must be a positive integer, got ${batch}.`);
  const dtype = options.dtype ?? "f32";
  if (dtype !== "f32" && dtype !== "f64") throw new GradgenError(`dtype must be "f32" or "f64", got ${JSON.stringify(dtype)}.`);
  const optimizer = options.optimizer ?? "sgd";
  if (optimizer !== "sgd") throw new GradgenError(`unknown optimizer ${JSON.stringify(optimizer)}; available: sgd.`);
  const learningRate = options.learningRate ?? 0.1;
  if (!(Number.isFinite(learningRate) && learningRate > 0)) throw new GradgenError(`learning rate must be a positive number, got ${learningRate}.`);
  return { batch, dtype, optimizer, learningRate };
}

export function compile(definition: ModelDefinition, options: CompileOptions = {}): { files: CompiledFile[] } {
  if (!isModelDefinition(definition)) {
    throw new GradgenError(`compile() needs a model definition made by model("name", ...), got ${typeof definition}.`);
  }
  const resolved = resolveOptions(options);
  const traced = traceModel(definition);
  const graph = buildTrainingGraph(traced);
  const program = schedule(graph, resolved);
  const source = options.source ?? `model "${definition.name}"`;
  const flags = [`--batch ${resolved.batch}`, ...(resolved.dtype !== "f32" ? [`--dtype ${resolved.dtype}`] : []), ...(options.learningRate !== undefined ? [`--lr ${resolved.learningRate}`] : [])];
  const contents = emitTypeScript(program, { source, command: `gradgen compile ${source} ${flags.join(" ")}` });
  return { files: [{ path: `${definition.name}.ts`, contents }] };
}
