// The WGSL plan: where values live, which kernels fuse, the tasks and how they are grouped into the
// dispatches of each call. Data only, decided once per compile and tested without a GPU; shaders.ts
// prints it, host.ts writes the module that runs it.

import { GradgenError } from "../../errors.js";
import { wgslRegion } from "../../schedule/names.js";
import type { EntryPoint, EntryPointName, Program } from "../../schedule/program.js";
import { planEpilogueFusions, type EpilogueFusion } from "./fusion.js";
import { DEFAULT_MAX_BINDING_BYTES, MAX_STORAGE_BUFFERS, planLayout, tooManyBindings, type Layout } from "./layout.js";
import { planPhases, type Phase } from "./phases.js";
import { entryTasks, maskTasks, type Task } from "./tasks.js";

export type SequenceName = "loss" | "trainingLoss" | "gradient" | "predict" | "step" | "resample";
export const sequenceNames: readonly SequenceName[] = [
  "loss",
  "trainingLoss",
  "gradient",
  "predict",
  "step",
  "resample",
];

export interface WgslPlanOptions {
  /** Largest storage buffer binding in bytes (default 128 MiB: WebGPU's default maxStorageBufferBindingSize). */
  readonly maxBindingBytes?: number;
  /** Fuse elementwise loops into the matrix products before them (default true; false for tests that compare both). */
  readonly fuseEpilogues?: boolean;
}

export interface WgslPlan {
  readonly modelName: string;
  /** The compiled batch (the most examples a call takes). */
  readonly batch: number;
  readonly layout: Layout;
  /** Per entry point: the gemm (by kernel index) whose epilogue computes the loop after it. */
  readonly fusions: ReadonlyMap<EntryPointName, ReadonlyMap<number, EpilogueFusion>>;
  /** The dispatches of each call, in order. */
  readonly sequences: Readonly<Record<SequenceName, readonly Phase[]>>;
  /** Where each call leaves the loss it returns (a region name). */
  readonly results: Readonly<Partial<Record<SequenceName, string>>>;
}

export function planWgsl(program: Program, options: WgslPlanOptions = {}): WgslPlan {
  if (program.dtype !== "f32") {
    throw new GradgenError(
      `the WGSL target is f32 only (WGSL has no f64), but model "${program.modelName}" is compiled with --dtype ${program.dtype}; compile it with --dtype f32, or for the TypeScript target only.`,
    );
  }
  const entry = (name: EntryPointName) => program.entryPoints.find((e) => e.name === name);
  const fusions = new Map(
    program.entryPoints.map((e) => [
      e.name,
      options.fuseEpilogues === false ? new Map<number, EpilogueFusion>() : planEpilogueFusions(program, e),
    ]),
  );
  const tasks = new Map(program.entryPoints.map((e) => [e.name, entryTasks(program, e, fusions.get(e.name)!)]));
  const masks = program.dropout.length > 0 ? maskTasks(program) : [];
  // The split products' partial sums: work regions the layout adds.
  const scratch = [...tasks.values()].flat().flatMap((t) => {
    if (t.work.kind !== "gemm" || t.work.tiling.scratch === undefined) return [];
    const { split, shape } = t.work.tiling;
    return [{ name: t.work.tiling.scratch, elements: split * shape.repeat * shape.m * shape.n }];
  });
  const maxBindingBytes = options.maxBindingBytes ?? DEFAULT_MAX_BINDING_BYTES;
  const layout = planLayout(program, maxBindingBytes, scratch);
  const of = (e: EntryPoint | undefined): readonly Task[] => (e ? tasks.get(e.name)! : []);
  const gradient = entry("gradient")!;
  const parts: Record<SequenceName, readonly Task[]> = {
    loss: of(entry("loss")),
    trainingLoss: of(entry("trainingLoss") ?? entry("loss")),
    gradient: of(gradient),
    predict: of(entry("predict")),
    step: [...masks, ...of(entry("beforeGradient")), ...of(gradient), ...of(entry("update"))],
    resample: masks,
  };
  const sequences = Object.fromEntries(sequenceNames.map((name) => [name, planPhases(parts[name])])) as Record<
    SequenceName,
    Phase[]
  >;
  for (const phase of Object.values(sequences).flat()) {
    const chunks = new Set<number>();
    let control = 0;
    for (const task of phase.flat())
      for (const name of [...task.reads, ...task.writes]) {
        if (name === "control") control = 1;
        else chunks.add(layout.regions.get(name)!.chunk);
      }
    if (chunks.size + control > MAX_STORAGE_BUFFERS)
      throw tooManyBindings(program, chunks.size + control, maxBindingBytes);
  }
  const results: Partial<Record<SequenceName, string>> = {
    loss: wgslRegion.result("loss"),
    trainingLoss: wgslRegion.result(entry("trainingLoss") ? "trainingLoss" : "loss"),
    gradient: wgslRegion.result("gradient"),
    step: wgslRegion.result("gradient"),
  };
  return { modelName: program.modelName, batch: program.batch, layout, fusions, sequences, results };
}
