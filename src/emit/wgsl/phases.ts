// Dispatch phases: consecutive tasks with no data hazard between them share one dispatch (every
// parameter's optimizer update; bias and weight gradients), and consecutive single-invocation
// tasks (locals, the mean over the batch, Adam's β powers) run in one invocation.

import { isSingle, single, type Count } from "./counts.js";
import type { Task } from "./tasks.js";

/** Tasks that one invocation runs one after another (consecutive single-invocation tasks), or one task. */
export type TaskGroup = readonly Task[];
/** One dispatch: its groups' invocation ranges one after another. */
export type Phase = readonly TaskGroup[];

export const groupCount = (group: TaskGroup): Count => (group.length === 1 ? group[0]!.count : single);

/** Invocations of a phase: Σ over its groups. */
export const phaseCount = (phase: Phase): Count =>
  phase.length === 1 ? groupCount(phase[0]!) : phase.flatMap(groupCount);

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
    if (isSingle(task.count)) run.push(task);
    else {
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
