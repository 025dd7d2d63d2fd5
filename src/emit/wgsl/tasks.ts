// Tasks: one kernel's work, one invocation per element it writes (a loop's outer indices, a
// product's block of C). Loops over indices the target does not depend on (a batch sum) and
// reductions run inside the invocation, in the Program's order; a fill followed by the loop that
// accumulates into exactly that buffer is done by that loop; a loop fused into a product's epilogue
// (fusion.ts) is done by the product. Planning only: what each task reads and writes, how many
// invocations it has; kernels.ts prints the bodies.

import { GradgenError } from "../../errors.js";
import { wgslRegion } from "../../schedule/names.js";
import type {
  Access,
  DropoutInfo,
  EntryPoint,
  FillKernel,
  GemmKernel,
  Kernel,
  LocalKernel,
  LoopKernel,
  Program,
  Value,
} from "../../schedule/program.js";
import { bufferName } from "../../schedule/names.js";
import { bufferOf, buffersOf, indexReads, injective, maxExtent, sameAccess } from "../../schedule/queries.js";
import { countOf, factorOf, sameCount, single, type Count } from "./counts.js";
import type { EpilogueFusion } from "./fusion.js";
import { planTiling, treeReduction, WORKGROUP_SIZE, type Tiling } from "./tiling.js";

/** What one task does: a kernel with the planner's decisions, or the host's own work. */
export type TaskWork =
  | {
      readonly kind: "loop";
      readonly kernel: LoopKernel;
      readonly parallelDims: readonly number[];
      readonly absorbedFill?: FillKernel;
      /** Whole workgroups per stored element, summing the serial iterations as a tree in workgroup memory. */
      readonly tree?: boolean;
    }
  | {
      readonly kind: "gemm";
      readonly kernel: GemmKernel;
      readonly tiling: Tiling;
      /** With split-K the partial sums are stored (tiling.scratch) and the epilogue runs in the splitSum task. */
      readonly epilogue?: EpilogueFusion;
    }
  /** A split-K product's partial sums added, then C stored or the epilogue computed. */
  | {
      readonly kind: "splitSum";
      readonly kernel: GemmKernel;
      readonly tiling: Tiling;
      readonly epilogue?: EpilogueFusion;
    }
  | { readonly kind: "fill"; readonly kernel: FillKernel }
  | { readonly kind: "local"; readonly kernel: LocalKernel }
  /** Stores what the entry point returns (the mean loss) where the host reads it. */
  | { readonly kind: "result"; readonly returns: Access }
  /** A fresh inverted-dropout mask (stream: the mask's index, one random stream each). */
  | { readonly kind: "mask"; readonly mask: DropoutInfo; readonly stream: number }
  /** Advances the counter that makes each step's masks new. */
  | { readonly kind: "countMasks" };

export interface Task {
  readonly work: TaskWork;
  /** The entry point whose locals the task reads ("masks" for the dropout masks). */
  readonly entry: string;
  /** Computes in f32 whatever precision the shaders use (the optimizer update, the masks). */
  readonly f32Only: boolean;
  readonly comment: string;
  readonly count: Count;
  /** Regions (names.ts: buffers, locals, results) and "control" the task reads and writes. */
  readonly reads: ReadonlySet<string>;
  readonly writes: ReadonlySet<string>;
}

/** Which outer dims of a loop run in parallel: those every store depends on, if the stores are then one-to-one. */
export function parallelDims(kernel: LoopKernel, batch: number): number[] {
  const stores = [kernel.target, ...(kernel.extraStores ?? []).map((s) => s.target)];
  const outer = kernel.dims.length - (kernel.reduction?.dims ?? 0);
  const storedNames = new Set(stores.map(bufferOf));
  // A load of a stored buffer at another element than the one this invocation stores: keep the Program's order.
  const crossed = kernel.values.some(
    (v) =>
      v.kind === "load" &&
      v.access.storage.kind === "buffer" &&
      storedNames.has(v.access.storage.name) &&
      stores.some((s) => bufferOf(s) === bufferOf(v.access) && !sameAccess(s, v.access)),
  );
  if (crossed) return [];
  const parallel = range(outer).filter((d) => stores.every((s) => s.strides[d] !== 0));
  const oneToOne = stores.every((s) =>
    injective(parallel.map((d) => [maxExtent(kernel.dims[d]!, batch), Math.abs(s.strides[d]!)] as const)),
  );
  return oneToOne ? parallel : [];
}

/** Whether `fill` can be done by `loop` (which accumulates into exactly the filled elements, one each). */
function canAbsorb(fill: FillKernel, loop: Kernel, batch: number): boolean {
  if (
    loop.kind !== "loop" ||
    loop.mode !== "add" ||
    loop.extraStores?.length ||
    bufferOf(loop.target) !== fill.buffer ||
    loop.target.offset !== 0 ||
    loop.target.indirect !== undefined // a scatter adds to rows in any order: zero them all first
  )
    return false;
  if (
    loop.values.some(
      (v) => v.kind === "load" && v.access.storage.kind === "buffer" && v.access.storage.name === fill.buffer,
    )
  )
    return false;
  const parallel = parallelDims(loop, batch);
  if (loop.target.strides.some((s, d) => s !== 0 && !parallel.includes(d))) return false;
  // The stores must cover 0 … length−1 contiguously: strides 1, e₀, e₀e₁, … from the innermost parallel dim out.
  let expected = 1;
  for (const d of [...parallel].reverse()) {
    const e = loop.dims[d]!;
    if (loop.target.strides[d] !== expected) return false;
    if (e.perExample) return parallel.length === 1 && sameCount(countOf([e]), countOf([fill.length])) && expected === 1;
    expected *= e.factor;
  }
  return sameCount(countOf(parallel.map((d) => loop.dims[d]!)), countOf([fill.length]));
}

/** What a list of values reads: buffers, and locals of `entry`; a load of `replaced` (an epilogue's C) reads nothing. */
function valueReads(values: readonly Value[], entry: string, replaced?: Access): string[] {
  return values.flatMap((value) => {
    if (value.kind !== "load") return [];
    const { storage } = value.access;
    if (storage.kind === "scalar")
      return storage.code.kind === "local" ? [wgslRegion.local(entry, storage.code.name)] : [];
    return replaced && sameAccess(value.access, replaced) ? [] : [storage.name, ...indexReads(value.access)];
  });
}

function task(work: TaskWork, entry: string, f32Only: boolean): Task {
  const make = (comment: string, count: Count, reads: readonly string[], writes: readonly string[]): Task => ({
    work,
    entry,
    f32Only,
    comment,
    count,
    reads: new Set(reads),
    writes: new Set(writes),
  });
  switch (work.kind) {
    case "loop": {
      const { kernel } = work;
      const target = bufferOf(kernel.target);
      const reads = [
        ...valueReads(kernel.values, entry),
        ...(kernel.mode === "add" ? [target] : []),
        ...indexReads(kernel.target),
      ];
      const writes = [target, ...(kernel.extraStores ?? []).map((s) => bufferOf(s.target))];
      const comment = work.absorbedFill ? `${kernel.comment} (zeroing its target)` : kernel.comment;
      const count = countOf(work.parallelDims.map((d) => kernel.dims[d]!));
      return make(comment, work.tree ? [[...count[0]!, [WORKGROUP_SIZE, 0, 1]]] : count, reads, writes);
    }
    case "gemm":
    case "splitSum": {
      const { kernel, epilogue, tiling } = work;
      const r = kernel.repeat;
      const partial = work.kind === "gemm" && tiling.scratch !== undefined;
      const count: Count =
        work.kind === "gemm"
          ? [
              [
                ...(r ? [factorOf(r.count)] : []),
                factorOf(kernel.m, tiling.rows),
                factorOf(kernel.n, tiling.columns),
                [tiling.split * WORKGROUP_SIZE, 0, 1],
              ],
            ]
          : [[...(r ? [factorOf(r.count)] : []), factorOf(kernel.m), factorOf(kernel.n)]];
      const fused = epilogue && !partial;
      const reads =
        work.kind === "gemm"
          ? [kernel.a.buffer, kernel.b.buffer, ...(fused ? valueReads(epilogue.loop.values, entry, epilogue.load) : [])]
          : [tiling.scratch!, ...(fused ? valueReads(epilogue.loop.values, entry, epilogue.load) : [])];
      const writes = [partial ? tiling.scratch! : fused ? bufferOf(epilogue.loop.target) : kernel.c.buffer];
      const what =
        work.kind === "splitSum"
          ? `the ${tiling.split} partial sums of ${kernel.comment}`
          : partial
            ? `${kernel.comment} (split-K partial sums)`
            : kernel.comment;
      return make(fused ? `${what}, then ${epilogue.loop.comment} in its epilogue` : what, count, reads, writes);
    }
    case "fill":
      return make(`fill ${work.kernel.buffer}`, countOf([work.kernel.length]), [], [work.kernel.buffer]);
    case "local":
      return make(`${work.kernel.comment} (local ${work.kernel.name})`, single, valueReads(work.kernel.values, entry), [
        wgslRegion.local(entry, work.kernel.name),
      ]);
    case "result": {
      const { storage } = work.returns;
      const reads =
        storage.kind === "buffer"
          ? [storage.name]
          : storage.code.kind === "local"
            ? [wgslRegion.local(entry, storage.code.name)]
            : [];
      return make(`the loss ${entry} returns`, single, reads, [wgslRegion.result(entry)]);
    }
    case "mask":
      return make(
        `dropout mask ${work.mask.buffer} (p = ${work.mask.dropProbability})`,
        countOf([{ factor: work.mask.size, perExample: true }]),
        ["control"],
        [work.mask.buffer],
      );
    case "countMasks":
      return make("count the masks drawn", single, ["control"], ["control"]);
  }
}

/**
 * The tasks of one entry point's kernels, a fill merged into the loop that accumulates into it, a
 * loop into the matrix product before it where `fusions` (planEpilogueFusions) says so.
 */
export function entryTasks(program: Program, entry: EntryPoint, fusions: ReadonlyMap<number, EpilogueFusion>): Task[] {
  // The optimizer's work computes in f32 at any precision.
  const f32Only = entry.name === "update" || entry.name === "beforeGradient";
  const of = (work: TaskWork) => task(work, entry.name, f32Only);
  const loop = (kernel: LoopKernel, absorbedFill?: FillKernel): TaskWork => {
    const parallel = parallelDims(kernel, program.batch);
    const tree = treeReduction(kernel, parallel, program.batch, absorbedFill !== undefined);
    return {
      kind: "loop",
      kernel,
      parallelDims: parallel,
      ...(absorbedFill ? { absorbedFill } : {}),
      ...(tree ? { tree } : {}),
    };
  };
  const gemms = (index: number, kernel: GemmKernel, epilogue?: EpilogueFusion): TaskWork[] => {
    if (kernel.c.buffer === kernel.a.buffer || kernel.c.buffer === kernel.b.buffer) {
      throw new GradgenError(
        `internal: the WGSL target cannot run a matrix product that overwrites its operand (${kernel.comment}).`,
      );
    }
    const tiling = planTiling(kernel, program.batch, wgslRegion.split(entry.name, index));
    const product: TaskWork = { kind: "gemm", kernel, tiling, ...(epilogue ? { epilogue } : {}) };
    if (tiling.scratch === undefined) return [product];
    return [product, { kind: "splitSum", kernel, tiling, ...(epilogue ? { epilogue } : {}) }];
  };
  const tasks: Task[] = [];
  const kernels = unstaged(program, entry.kernels);
  for (let i = 0; i < kernels.length; i++) {
    const kernel = kernels[i]!;
    if (kernel === undefined) continue; // a staging copy the WGSL target does without
    const next = kernels[i + 1];
    const fusion = fusions.get(i);
    if (fusion && kernel.kind === "gemm") {
      tasks.push(...gemms(i, kernel, fusion).map(of));
      i++;
    } else if (kernel.kind === "fill" && next?.kind === "loop" && canAbsorb(kernel, next, program.batch)) {
      tasks.push(of(loop(next, kernel)));
      i++;
    } else {
      switch (kernel.kind) {
        case "loop":
          tasks.push(of(loop(kernel)));
          break;
        case "gemm":
          tasks.push(...gemms(i, kernel).map(of));
          break;
        case "fill":
          tasks.push(of({ kind: "fill", kernel }));
          break;
        case "local":
          tasks.push(of({ kind: "local", kernel }));
          break;
        case "scan":
          throw new GradgenError(
            `nn.scan is not supported by --target wgsl yet (its per-step loop runs on the host); compile this model for --target typescript or javascript.`,
          );
        default:
          assertNever(kernel);
      }
    }
  }
  if (entry.returns) tasks.push(of({ kind: "result", returns: entry.returns }));
  const head = lossHead(tasks);
  // A copy (one load, stored) moves f32 values: at f16 it would round them.
  const copy = (t: Task) => t.work.kind === "loop" && t.work.kernel.values.length === 1 && !t.work.kernel.reduction;
  return tasks.map((t, i) => ((head.has(i) || copy(t)) && !t.f32Only ? { ...t, f32Only: true } : t));
}

/**
 * The tasks that compute in f32 at any precision because f16 cancels near convergence (the loss
 * log Σ eˡ − l and y − t cancel; δ = softmax − label falls below f16's normal range, 6.1e-5, and
 * backward sums of such terms cancel): the loss head — the tasks the returned loss is computed from,
 * back to the last matrix product (that product and its epilogue included: logits, output
 * activation) — and every task after its first (the backward pass). The forward pass up to the last
 * layer stays in the task's precision.
 */
export function lossHead(tasks: readonly Task[]): Set<number> {
  const head = new Set<number>();
  const result = tasks.findIndex((t) => t.work.kind === "result");
  if (result < 0) return head;
  const needed = new Set<string>();
  for (let i = result; i >= 0; i--) {
    const t = tasks[i]!;
    if (i !== result && ![...t.writes].some((w) => needed.has(w))) continue;
    head.add(i);
    for (const w of t.writes) if (!t.reads.has(w)) needed.delete(w);
    if (t.work.kind !== "gemm") for (const r of t.reads) needed.add(r);
  }
  // Everything after the head's first task: the backward pass.
  const first = Math.min(...head);
  for (let i = first; i < tasks.length; i++) head.add(i);
  return head;
}

/**
 * The kernels of an entry point without the copies of batch inputs the WebAssembly product reads
 * from the trainer's own memory (lower.ts: staged): on the GPU the input is in a storage buffer
 * already, so the copy is left out (undefined at its index) and the kernels after it read the
 * input itself, until something overwrites the copy's buffer.
 */
function unstaged(program: Program, kernels: readonly Kernel[]): (Kernel | undefined)[] {
  const inputs = new Set(program.inputs.map((x) => bufferName.input(x.name)));
  const whole = (a: Access) => a.offset === 0 && a.strides.length === 1 && a.strides[0] === 1 && !a.indirect;
  const renamed = new Map<string, string>();
  const rename = (a: Access): Access => {
    const indirect = a.indirect ? { ...a.indirect, access: rename(a.indirect.access) } : undefined;
    const name = a.storage.kind === "buffer" ? renamed.get(a.storage.name) : undefined;
    return {
      ...a,
      ...(name ? { storage: { kind: "buffer", name } } : {}),
      ...(indirect ? { indirect } : {}),
    };
  };
  const matrix = <M extends { readonly buffer: string }>(m: M): M => ({
    ...m,
    buffer: renamed.get(m.buffer) ?? m.buffer,
  });
  return kernels.map((kernel) => {
    const copy =
      kernel.kind === "loop" &&
      kernel.mode === "assign" &&
      !kernel.reduction &&
      !kernel.extraStores?.length &&
      kernel.dims.length === 1 &&
      kernel.values.length === 1 &&
      kernel.values[0]!.kind === "load" &&
      kernel.values[0]!.access.storage.kind === "buffer" &&
      inputs.has(kernel.values[0]!.access.storage.name) &&
      whole(kernel.values[0]!.access) &&
      whole(kernel.target)
        ? { from: (kernel.values[0] as { access: Access }).access.storage, to: bufferOf(kernel.target) }
        : undefined;
    for (const written of buffersOf(kernel).writes) renamed.delete(written);
    if (copy && copy.from.kind === "buffer") {
      renamed.set(copy.to, copy.from.name);
      return undefined;
    }
    if (renamed.size === 0) return kernel;
    switch (kernel.kind) {
      case "gemm":
        return { ...kernel, a: matrix(kernel.a), b: matrix(kernel.b) };
      case "loop":
        return {
          ...kernel,
          values: kernel.values.map((v) => (v.kind === "load" ? { ...v, access: rename(v.access) } : v)),
          target: rename(kernel.target),
        };
      case "local":
        return {
          ...kernel,
          values: kernel.values.map((v) => (v.kind === "load" ? { ...v, access: rename(v.access) } : v)),
        };
      default:
        return kernel;
    }
  });
}

/** Fresh dropout masks (one task each), then the counter that makes the next step's differ. */
export function maskTasks(program: Program): Task[] {
  const of = (work: TaskWork) => task(work, "masks", true);
  return [...program.dropout.map((mask, stream) => of({ kind: "mask", mask, stream })), of({ kind: "countMasks" })];
}

export function assertNever(value: never): never {
  throw new Error(`internal: unexpected ${JSON.stringify(value)}`);
}

export function range(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i);
}
