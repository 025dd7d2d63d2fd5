// Sparse rows of a gather table's gradient (issue 11). A parameter whose gradient entry writes it
// only as "fill with 0, then scatter-adds through ids" (nn.gather's transpose, summed over the batch)
// is nonzero at most at the rows the ids named. Then each gradient() need only zero the rows the
// previous call touched, and SGD without weight decay (θ ← θ − εg: θ unchanged where g = 0) need
// only visit the rows this call touched: O(ids·row) per call, never O(table).
//
// The generated module keeps, per such parameter, the touched rows (Int32Array, deduplicated by a
// mark per row) and their count; count −1 means "any row may be nonzero" (after applyUpdate(), whose
// gradient may have been written by its caller), and the next fill and update are then dense.
//
// Exact only where untouched rows are left unchanged: every other first-order optimizer changes
// every row every step (momentum's αv, weight decay's −ελθ, Adam's and RMSProp's decaying moments,
// Adagrad's division — unchanged at g = 0 but kept dense, as its state is read in full anyway), so
// for them only the gradient's zeroing is sparse. Second-order optimizers are left as they are.
// The fields this adds (FillKernel.rows, LoopKernel.rows, LoopKernel.touches) are a hint an emitter
// honours in full or not at all: ignored, every kernel is its dense self, with the same values. The
// TypeScript emitter honours them; WGSL ignores them.

import type { OptimizerSpec } from "../optimizers.js";
import { isSecondOrder } from "../optimizers.js";
import { sizeOf, type Shape } from "../ir/shape.js";
import type { Access, EntryPoint, Extent, Kernel, LoopKernel, RowSet } from "./program.js";
import { bufferName } from "./names.js";
import { buffersOf, maxExtent } from "./queries.js";

interface Param {
  readonly name: string;
  readonly shape: Shape;
}

/** Whether a scatter loop adds into whole rows of `rowSize` through its ids, one row per id. */
function scattersRows(kernel: Kernel, grad: string, rowSize: number): kernel is LoopKernel {
  if (kernel.kind !== "loop" || kernel.mode !== "add" || kernel.reduction || kernel.extraStores?.length) return false;
  const { target } = kernel;
  if (target.storage.kind !== "buffer" || target.storage.name !== grad || target.offset !== 0) return false;
  const ids = target.indirect;
  if (!ids || ids.stride !== rowSize || ids.access.indirect || ids.access.storage.kind !== "buffer") return false;
  // The direct part stays inside one row (and is the same for every example).
  let span = 0;
  for (const [d, stride] of target.strides.entries()) {
    const extent = kernel.dims[d]!;
    if (stride < 0 || (extent.perExample && stride !== 0)) return false;
    span += stride * (extent.factor - 1);
  }
  return span < rowSize;
}

/** The ids a scatter reads, over only the dims along which they vary. */
function touchRecord(kernel: LoopKernel, param: string): { rows: string; dims: Extent[]; ids: Access } {
  const ids = kernel.target.indirect!.access;
  const kept = ids.strides.flatMap((stride, d) => (stride === 0 ? [] : [d]));
  return {
    rows: param,
    dims: kept.map((d) => kernel.dims[d]!),
    ids: { storage: ids.storage, offset: ids.offset, strides: kept.map((d) => ids.strides[d]!) },
  };
}

/** Whether an update loop is elementwise over the whole parameter: one dim, every buffer access at offset 0, stride 1. */
function elementwiseOver(kernel: Kernel, size: number): kernel is LoopKernel {
  if (kernel.kind !== "loop" || kernel.reduction || kernel.unrolled !== 0 || kernel.dims.length !== 1) return false;
  const dim = kernel.dims[0]!;
  if (dim.perExample || dim.factor !== size) return false;
  const accesses = [
    kernel.target,
    ...(kernel.extraStores ?? []).map((s) => s.target),
    ...kernel.values.flatMap((v) => (v.kind === "load" ? [v.access] : [])),
  ];
  return accesses.every((a) =>
    a.storage.kind === "buffer" ? a.offset === 0 && a.strides[0] === 1 && !a.indirect : a.strides[0] === 0,
  );
}

/**
 * Marks the gather tables' kernels of `entryPoints` (gradient: the fill and the scatters; update: SGD's
 * loop) and returns the row sets the module keeps. Nothing changes when `enabled` is false.
 */
export function sparseRows(
  entryPoints: readonly EntryPoint[],
  params: readonly Param[],
  optimizer: OptimizerSpec,
  batch: number,
  enabled: boolean,
): { entryPoints: EntryPoint[]; rowSets: RowSet[] } {
  const unchanged = { entryPoints: [...entryPoints], rowSets: [] };
  if (!enabled || isSecondOrder(optimizer.kind)) return unchanged;
  const gradient = entryPoints.find((e) => e.name === "gradient");
  if (!gradient) return unchanged;
  const rowSets: RowSet[] = [];
  const replaced = new Map<Kernel, Kernel>();
  for (const p of params) {
    const size = sizeOf(p.shape);
    const rows = p.shape[0] ?? 1;
    if (p.shape.length < 1 || rows < 2) continue;
    const rowSize = size / rows;
    const grad = bufferName.grad(p.name);
    const writers = (e: EntryPoint) => e.kernels.filter((k) => buffersOf(k).writes.includes(grad));
    // Only the gradient entry writes the gradient: a zero fill of all of it, then scatters of rows.
    if (entryPoints.some((e) => e !== gradient && writers(e).length > 0)) continue;
    const [fill, ...scatters] = writers(gradient);
    if (fill?.kind !== "fill" || fill.value !== 0 || fill.length.perExample || fill.length.factor !== size) continue;
    if (scatters.length === 0 || !scatters.every((k) => scattersRows(k, grad, rowSize))) continue;
    const records = (scatters as LoopKernel[]).map((k) => touchRecord(k, p.name));
    const idsPerCall = records.reduce((total, r) => total + r.dims.reduce((m, e) => m * maxExtent(e, batch), 1), 0);
    rowSets.push({ param: p.name, rows, rowSize, capacity: Math.min(rows, idsPerCall) });
    replaced.set(fill, { ...fill, rows: p.name });
    scatters.forEach((k, i) => replaced.set(k, { ...(k as LoopKernel), touches: records[i]! }));
    // SGD without weight decay leaves θ as it is where g = 0: its loop may visit the touched rows only.
    if (optimizer.kind === "sgd" && optimizer.weightDecay === 0) {
      const update = entryPoints.find((e) => e.name === "update");
      const param = bufferName.param(p.name);
      const updates = update?.kernels.filter((k) => buffersOf(k).writes.includes(param)) ?? [];
      const [loop] = updates;
      if (updates.length === 1 && elementwiseOver(loop!, size)) replaced.set(loop!, { ...loop, rows: p.name });
    }
  }
  return {
    entryPoints: entryPoints.map((e) => ({ ...e, kernels: e.kernels.map((k) => replaced.get(k) ?? k) })),
    rowSets,
  };
}
