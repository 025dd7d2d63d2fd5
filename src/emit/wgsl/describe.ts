// A WGSL plan as stable text: the epilogue fusions of each entry point, then each call's dispatches
// and the tasks each runs, with their decisions (parallel dims, absorbed fills, fused loops, block
// sizes). For snapshot tests and GRADGEN_DUMP: the plan is data, read without a GPU.

import { groupCount, workgroupsOf } from "./phases.js";
import { sequenceNames, type SequenceName, type WgslPlan } from "./plan.js";
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
