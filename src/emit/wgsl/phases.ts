// Dispatch phases: consecutive tasks with no data hazard between them share one dispatch (every
// parameter's optimizer update; bias and weight gradients), and consecutive single-invocation
// tasks (locals, the mean over the batch, Adam's β powers) run in one invocation; a tree reduction
// to one element (the mean loss) takes the single-invocation tasks after it into its workgroup's
// invocation 0. Every group takes whole workgroups, so that shaders branch on the workgroup (WGSL's
// uniformity rules: workgroupBarrier in uniform control flow).

import { isSingle, single, type Count } from "./counts.js";
import type { Task } from "./tasks.js";
import { WORKGROUP_SIZE } from "./tiling.js";

/** Tasks that one invocation runs one after another (consecutive single-invocation tasks), or one task. */
export type TaskGroup = readonly Task[];
/** One dispatch: its groups' invocation ranges one after another. */
export type Phase = readonly TaskGroup[];

/** Whether a task's invocations work together (workgroup memory, barriers): a tiled product, a tree reduction. */
export const cooperative = (task: Task) =>
  task.work.kind === "gemm" || (task.work.kind === "loop" && task.work.tree === true);

/** A tree reduction to one element: one workgroup, which can run single-invocation tasks after it. */
const singleTree = (task: Task) =>
  task.work.kind === "loop" && task.work.tree === true && task.work.parallelDims.length === 0;

/** Invocations of a group: its task's, or one (single tasks), or the tree's (a tree and single tasks). */
export const groupCount = (group: TaskGroup): Count =>
  group.length === 1 || cooperative(group[0]!) ? group[0]!.count : single;

/** Invocations of a phase, each group's rounded up to whole workgroups: one count per group. */
export const phaseCounts = (phase: Phase): Count[] => phase.map(groupCount);

/** Workgroups of a count at n examples. */
export function workgroupsOf(count: Count, n: number): number {
  let invocations = 0;
  for (const term of count) {
    let product = 1;
    for (const [factor, power, divisor] of term) product *= Math.ceil((factor * n ** power) / divisor);
    invocations += product;
  }
  return Math.ceil(invocations / WORKGROUP_SIZE);
}

const groupReads = (group: TaskGroup) => new Set(group.flatMap((t) => [...t.reads]));
const groupWrites = (group: TaskGroup) => new Set(group.flatMap((t) => [...t.writes]));

/** Consecutive single-invocation tasks in one group; every other task alone. */
function mergeSingles(tasks: readonly Task[]): TaskGroup[] {
  const groups: TaskGroup[] = [];
  let run: Task[] = [];
  const flush = () => {
    if (run.length > 0) groups.push(run);
    run = [];
  };
  for (const task of tasks) {
    if (isSingle(task.count) && run.length > 0) run.push(task);
    else if (isSingle(task.count) || singleTree(task)) {
      flush();
      run.push(task);
    } else {
      flush();
      groups.push([task]);
    }
  }
  flush();
  return groups;
}

/** Greedy: a group joins the current dispatch unless it reads what the dispatch writes or writes what it touches. */
export function planPhases(tasks: readonly Task[]): Phase[] {
  const phases: Phase[] = [];
  let current: TaskGroup[] = [];
  let reads = new Set<string>();
  let writes = new Set<string>();
  for (const group of mergeSingles(tasks)) {
    const [groupRead, groupWritten] = [groupReads(group), groupWrites(group)];
    const hazard =
      [...groupRead].some((r) => writes.has(r)) || [...groupWritten].some((w) => writes.has(w) || reads.has(w));
    if (hazard && current.length > 0) {
      phases.push(current);
      current = [];
      reads = new Set();
      writes = new Set();
    }
    current.push(group);
    groupRead.forEach((r) => reads.add(r));
    groupWritten.forEach((w) => writes.add(w));
  }
  if (current.length > 0) phases.push(current);
  return phases;
}
