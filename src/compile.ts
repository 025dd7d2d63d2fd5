// compile(model, options): model definition → generated files. The CLI is a thin layer over this.

import path from "node:path";
import { GradgenError } from "./errors.js";
import { isModelDefinition, traceModel, type ModelDefinition, type ModelOptions } from "./dsl/model.js";
import { isSecondOrder, optimizer, type OptimizerKind, type OptimizerSpec } from "./optimizers.js";
import { checkSecondOrder, usesDropout } from "./schedule/second-order.js";
import type { TracedModel } from "./dsl/model.js";
import { buildTrainingGraph, dump } from "./pipeline.js";
import { schedule } from "./schedule/schedule.js";
import { defaultTuning, type Tuning } from "./schedule/lower.js";
import { emitTypeScript } from "./emit/typescript.js";
import { emitJavaScript } from "./emit/javascript.js";
import {
  describeWgslPlan,
  emitWgsl,
  planWgsl,
  printShaders,
  summarizeDispatches,
  type DispatchSummary,
  type SequenceName,
} from "./emit/wgsl/index.js";
import { quotedPath, shellWord } from "./emit/header-text.js";
import { checkArenaSize, checkTensorSizes } from "./schedule/allocation.js";
import type { Program } from "./schedule/program.js";
import type { ModuleHeaderText } from "./emit/module-spec.js";
import { regenerateCommand } from "./compile-flags.js";

export interface CompileOptions {
  /** Examples per call (the largest n a call may pass). Default 1. */
  readonly batch?: number;
  readonly dtype?: "f32" | "f64";
  /** An optimizer kind or a full spec; default: the model's own choice, else sgd. */
  readonly optimizer?: OptimizerKind | OptimizerSpec;
  readonly learningRate?: number;
  /** Further hyperparameters of the optimizer by name (alpha, rho, delta, beta1, beta2, epsilon, weightDecay). */
  readonly hyperparameters?: Readonly<Record<string, number>>;
  /** The model file as the header should name it. */
  readonly source?: string;
  /**
   * The folder the files will be written to (the CLI's --out). When given, the header and the kernel
   * comments name the model file relative to it, and the regenerate command says `--out .` and to run it
   * there: the bytes do not depend on the folder the compile ran in.
   */
  readonly outputFolder?: string;
  /** Code-shape knobs, for measuring them (bench/straight-line.mjs); the defaults are measured. */
  readonly tuning?: Partial<Tuning>;
  /**
   * What to emit (default ["ts"]): "ts" writes <name>.ts; "js" writes <name>.mjs (an ES module for plain
   * JavaScript: .mjs, so that Node loads it as one in any package) and <name>.d.mts (its types); "wgsl" writes <name>.wgsl.ts (WebGPU shaders and their host).
   */
  readonly targets?: readonly Target[];
}

export type Target = "ts" | "js" | "wgsl";

/** The files of one target, paths relative to the output directory. */
type TargetSpec = (program: Program, header: Header) => CompiledFile[];

/** What each target writes, in the order files are listed: a new target is one row here. */
const targetTable: { readonly [T in Target]: TargetSpec } = {
  ts: (program, header) => [{ path: `${program.modelName}.ts`, contents: emitTypeScript(program, header) }],
  js: (program, header) => {
    const { javascript, declarations } = emitJavaScript(program, header);
    return [
      { path: `${program.modelName}.mjs`, contents: javascript },
      { path: `${program.modelName}.d.mts`, contents: declarations },
    ];
  },
  wgsl: (program, header) => {
    const plan = planWgsl(program);
    dump("wgsl-plan", "WGSL plan", () => describeWgslPlan(plan));
    const shaders = printShaders(plan);
    return [
      {
        path: `${program.modelName}.wgsl.ts`,
        contents: emitWgsl(program, header, { plan, shaders }),
        shaders: shaders.shaders,
        dispatches: summarizeDispatches(plan, shaders.dispatches),
      },
    ];
  },
};

export const targets = Object.keys(targetTable) as readonly Target[];

/** The generated header's source and regenerate command. */
type Header = ModuleHeaderText;

export interface CompiledFile {
  /** Relative to the output directory. */
  readonly path: string;
  readonly contents: string;
  /** WGSL shaders the file carries (for validation at compile time). */
  readonly shaders?: readonly string[];
  /**
   * WGSL: what each dispatch of each call runs, in order (its shader, tasks, and products with m, n, k
   * and FLOPs at the compiled batch), for naming dispatches in timings (bench/wgsl.mjs). Not written anywhere.
   */
  readonly dispatches?: Readonly<Record<SequenceName, readonly DispatchSummary[]>>;
}

export interface ResolvedOptions {
  readonly batch: number;
  readonly dtype: "f32" | "f64";
  readonly optimizer: OptimizerSpec;
}

/** Options over the model's own choices: flags win; hyperparameters carry over only within one optimizer kind. */
export function resolveOptions(options: CompileOptions, modelOptions: ModelOptions = {}): ResolvedOptions {
  const batch = options.batch ?? 1;
  if (!Number.isInteger(batch) || batch < 1) throw new GradgenError(`batch must be a positive integer, got ${batch}.`);
  const dtype = options.dtype ?? "f32";
  if (dtype !== "f32" && dtype !== "f64")
    throw new GradgenError(`dtype must be "f32" or "f64", got ${JSON.stringify(dtype)}.`);
  const given = options.optimizer;
  const fromModel = modelOptions.optimizer;
  const kind: OptimizerKind = typeof given === "string" ? given : (given?.kind ?? fromModel?.kind ?? "sgd");
  const base = typeof given === "object" ? given : fromModel?.kind === kind ? fromModel : undefined;
  const { kind: _, ...baseHyperparameters } = base ?? { kind };
  const hyperparameters = {
    ...baseHyperparameters,
    ...options.hyperparameters,
    ...(options.learningRate !== undefined ? { learningRate: options.learningRate } : {}),
  };
  return { batch, dtype, optimizer: optimizer(kind, hyperparameters as never) };
}

/**
 * A model without inputs (an objective of its parameters alone, such as Rosenbrock's function) has
 * no examples: it is compiled for one, and an explicit batch size is refused rather than ignored.
 */
function noInputBatch(traced: TracedModel, options: CompileOptions, definition: ModelDefinition): CompileOptions {
  if (traced.inputs.length > 0) return options;
  if (options.batch !== undefined && options.batch !== 1)
    throw new GradgenError(
      `model "${definition.name}" has no inputs, so there is no batch: its trainer's loss(), gradient() and step() take no data. Leave out the batch size (--batch ${options.batch}).`,
      definition.origin,
    );
  return { ...options, batch: 1 };
}

export function compile(definition: ModelDefinition, options: CompileOptions = {}): { files: CompiledFile[] } {
  if (!isModelDefinition(definition)) {
    throw new GradgenError(`compile() needs a model definition made by model("name", ...), got ${typeof definition}.`);
  }
  const traced = traceModel(definition);
  const resolved = resolveOptions(noInputBatch(traced, options, definition), definition.options);
  checkTensorSizes(traced, resolved.batch, definition.origin);
  const fromOutput = (file: string) =>
    options.outputFolder === undefined
      ? file
      : path.relative(path.resolve(options.outputFolder), path.resolve(file)).split(path.sep).join("/");
  const wantedTargets = options.targets ?? ["ts"];
  const secondOrder = isSecondOrder(resolved.optimizer.kind);
  if (secondOrder) {
    const parameterCount = traced.params.reduce((total, p) => total + p.size, 0);
    const { optimizer: spec } = resolved;
    checkSecondOrder(
      spec,
      parameterCount,
      usesDropout(traced.loss),
      wantedTargets,
      definition.origin,
      !!traced.residual,
    );
  }
  // newton: the Hessian; levenberg-marquardt, and hessian-free on nn.leastSquares: Gauss–Newton JᵀJ
  const gaussNewton = traced.residual !== undefined && resolved.optimizer.kind !== "newton";
  const built = buildTrainingGraph(traced, {
    hessianVector: secondOrder ? (gaussNewton ? "gauss-newton" : "hessian") : undefined,
  });
  const graph =
    options.outputFolder === undefined
      ? built
      : {
          ...built,
          origins: new Map(
            [...built.origins].map(([node, origin]) => [node, { ...origin, file: fromOutput(origin.file) }]),
          ),
        };
  const program = schedule(graph, { ...resolved, tuning: { ...defaultTuning, ...options.tuning } });
  checkArenaSize(program, traced, definition.origin);
  // The path is quoted where it is not plain: a newline in it must not end the header's comment.
  const sourceFile = options.source === undefined ? undefined : fromOutput(options.source);
  const source = sourceFile === undefined ? `model "${definition.name}"` : quotedPath(sourceFile);
  const wanted = options.targets ?? ["ts"];
  const unknown = wanted.find((t) => !targets.includes(t));
  if (unknown !== undefined || wanted.length === 0) {
    throw new GradgenError(
      `${unknown === undefined ? "no target given" : `unknown target ${JSON.stringify(unknown)}`}; the targets are ${targets.join(", ")} (e.g. targets: ["ts", "wgsl"]).`,
    );
  }
  const inOutputFolder = sourceFile !== undefined && options.outputFolder !== undefined;
  const shownSource = sourceFile === undefined ? source : shellWord(sourceFile);
  const command = regenerateCommand(inOutputFolder ? `${shownSource} --out .` : shownSource, options, resolved, wanted);
  const header: Header = { source, command, ...(inOutputFolder ? { commandRunsInOutputFolder: true } : {}) };
  const files = targets.filter((t) => wanted.includes(t)).flatMap((t) => targetTable[t](program, header));
  return { files };
}
