// A WGSL plan as stable text: the epilogue fusions of each entry point, then each call's dispatches
// and the tasks each runs, with their decisions (parallel dims, absorbed fills, fused loops, block
// sizes). For snapshot tests and GRADGEN_DUMP: the plan is data, read without a GPU.

import { groupCount, workgroupsOf } from "./phases.js";
import { sequenceNames, type SequenceName, type WgslPlan } from "./plan.js";
import { vec4Loads, type WgslDispatch } from "./shaders.js";
import type { Task } from "./tasks.js";

function describeTask(task: Task): string {
  const { work } = task;
  const decisions: string[] = [];
  switch (work.kind) {
    case "loop":
      decisions.push(`parallel dims [${work.parallelDims.join(", ")}]`);
      if (work.tree) decisions.push("tree over a workgroup");
      if (work.absorbedFill) decisions.push(`absorbs fill ${work.absorbedFill.buffer}`);
      break;
    case "gemm": {
      const { rows, columns, split, kChunk, workgroups, short } = work.tiling;
      decisions.push(`tile ${rows}×${columns}`);
      if (split > 1) decisions.push(`split-K ${split} × ${kChunk}, partial sums stored`);
      decisions.push(`${workgroups} workgroups${short ? ` (fewer than 264: ${short})` : ""}`);
      if (work.epilogue && split === 1) decisions.push(`epilogue ${work.epilogue.loop.comment}, C not stored`);
      break;
    }
    case "splitSum":
      if (work.epilogue) decisions.push(`epilogue ${work.epilogue.loop.comment}, C not stored`);
      break;
    default:
      break;
  }
  const precision = task.f32Only ? ", f32 only" : "";
  const comment =
    work.kind === "loop" || work.kind === "gemm" || work.kind === "splitSum" ? work.kernel.comment : task.comment;
  return `${work.kind} "${comment}"${decisions.length ? `: ${decisions.join("; ")}` : ""}${precision}`;
}

export function describeWgslPlan(plan: WgslPlan, sequences: readonly SequenceName[] = sequenceNames): string {
  const lines = [
    `wgsl plan of ${plan.modelName}: ${plan.layout.chunks.length} storage chunk(s) of [${plan.layout.chunks.join(", ")}] f32`,
  ];
  lines.push("epilogue fusions:");
  for (const [entry, fusions] of plan.fusions) {
    for (const fusion of fusions.values())
      lines.push(`  ${entry}: kernel ${fusion.gemm} → ${fusion.gemm + 1} (${fusion.loop.comment})`);
  }
  for (const name of sequences) {
    const phases = plan.sequences[name];
    lines.push(`${name}: ${phases.length} dispatch(es)`);
    phases.forEach((phase, d) => {
      const groups = phase.map((group) => workgroupsOf(groupCount(group), plan.batch));
      lines.push(`  dispatch ${d}: ${groups.join(" + ")} workgroup(s) at n = ${plan.batch}`);
      for (const group of phase) {
        if (group.length === 1) lines.push(`    ${describeTask(group[0]!)}`);
        else {
          lines.push(
            `    one ${group[0]!.work.kind === "loop" && group[0]!.work.tree ? "workgroup" : "invocation"} runs:`,
          );
          for (const task of group) lines.push(`      ${describeTask(task)}`);
        }
      }
    });
  }
  return lines.join("\n");
}

/** A product a dispatch runs: C (repeat × m × n) += A·B over k, at the compiled batch. */
export interface ProductSummary {
  readonly name: string;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly repeat: number;
  /** 2·repeat·m·n·k: a multiply and an add per term. */
  readonly flops: number;
  /** Parts of k summed by the next dispatch (split-K), 1 if not split. */
  readonly split: number;
  /** Which operands' tiles load as vec4 in this dispatch's shader (shaders.ts: vec4Loads). */
  readonly vec4: { readonly a: boolean; readonly b: boolean };
}

/** What one dispatch of a call runs, for naming it in timings (bench/wgsl.mjs): data, not a module's bytes. */
export interface DispatchSummary {
  readonly shader: number;
  /** Workgroups at the compiled batch. */
  readonly workgroups: number;
  /** Each task as `kind "comment"`, the model file named by its base name. */
  readonly tasks: readonly string[];
  readonly products: readonly ProductSummary[];
}

/** A comment's model location as file:line without its folders. */
const shortComment = (comment: string) =>
  comment.replace(/\(([^()]*[\\/])?([^()/\\]+:\d+)\)/g, "($2)").replace(/\s+/g, " ");

/** Per call, its dispatches in order: the shader, the tasks and the products each runs (sizes at the compiled batch). */
export function summarizeDispatches(
  plan: WgslPlan,
  dispatches: Readonly<Record<SequenceName, readonly WgslDispatch[]>>,
): Record<SequenceName, DispatchSummary[]> {
  const summary = (phase: WgslPlan["sequences"][SequenceName][number], dispatch: WgslDispatch): DispatchSummary => {
    const tasks = phase.flat();
    const loads = vec4Loads(phase, plan.layout);
    return {
      shader: dispatch.shader,
      workgroups: phase.reduce((sum, group) => sum + workgroupsOf(groupCount(group), plan.batch), 0),
      tasks: tasks.map((task) => {
        const work = task.work;
        const comment =
          work.kind === "loop" || work.kind === "gemm" || work.kind === "splitSum" ? work.kernel.comment : task.comment;
        return `${work.kind} "${shortComment(comment)}"`;
      }),
      products: tasks.flatMap((task) => {
        if (task.work.kind !== "gemm") return [];
        const { m, n, k, repeat } = task.work.tiling.shape;
        const name = shortComment(task.work.kernel.comment);
        const vec4 = loads.get(task) ?? { a: false, b: false };
        return [{ name, m, n, k, repeat, flops: 2 * repeat * m * n * k, split: task.work.tiling.split, vec4 }];
      }),
    };
  };
  return Object.fromEntries(
    sequenceNames.map((name) => [name, plan.sequences[name].map((phase, d) => summary(phase, dispatches[name][d]!))]),
  ) as Record<SequenceName, DispatchSummary[]>;
}
