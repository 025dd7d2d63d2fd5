// Strided views and the loop nests that read them: a value as a window onto storage, its accesses
// at the indices of an iteration space, and the loop merging (coalesce) and writing-out
// (straightLineDims) every loop kernel goes through. Separate from lower.ts, which decides what each
// node becomes; these are the pure pieces its kernels are built from (optimizer-updates.ts uses them too).

import { contiguousStrides, type Shape } from "../ir/shape.js";
import type { Node } from "../ir/node.js";
import { Op } from "../ir/ops.js";
import type { Access, Extent, LoopKernel, Storage, Value } from "./program.js";
import { withIndexAccesses } from "./queries.js";

/** A strided window onto storage: element (b, i₀, i₁, …) at offset + b·batchStride + Σ iₖ·strides[k]. */
export interface View {
  readonly storage: Storage;
  readonly offset: number;
  readonly shape: Shape;
  readonly strides: readonly number[];
  readonly batchStride: number;
}

export function contiguousView(storage: Storage, shape: Shape, perExample: boolean): View {
  const size = shape.reduce((a, b) => a * b, 1);
  return { storage, offset: 0, shape, strides: contiguousStrides(shape), batchStride: perExample ? size : 0 };
}

// ── Iteration spaces ──────────────────────────────────────────────────────────────────────────

/** A loop nest: optionally over the examples, then over `shape`. */
export interface Space {
  readonly shape: Shape;
  readonly perExample: boolean;
}

export function dimsOf(space: Space): Extent[] {
  return [
    ...(space.perExample ? [{ factor: 1, perExample: true }] : []),
    ...space.shape.map((d) => ({ factor: d, perExample: false })),
  ];
}

export function broadcastView(view: View, shape: Shape): View {
  const lead = shape.length - view.shape.length;
  const strides = shape.map((dim, i) => {
    if (i < lead) return 0;
    return view.shape[i - lead] === 1 && dim !== 1 ? 0 : view.strides[i - lead]!;
  });
  return { ...view, shape, strides };
}

/** The window [begin, begin + size) of each axis of a view: the same strides, from a later first element. */
export function sliceView(view: View, begin: readonly number[], size: Shape): View {
  if (view.storage.kind === "scalar") return { ...view, shape: size, strides: size.map(() => 0) };
  const offset = view.offset + begin.reduce((total, b, i) => total + b * view.strides[i]!, 0);
  return { ...view, offset, shape: size };
}

/** The view read at the loop indices of `space` (broadcasting it to the space's shape). */
export function accessFor(view: View, space: Space): Access {
  const aligned = broadcastView(view, space.shape);
  const strides = [...(space.perExample ? [view.batchStride] : []), ...aligned.strides];
  return {
    storage: view.storage,
    offset: view.offset,
    strides: view.storage.kind === "scalar" ? strides.map(() => 0) : strides,
  };
}

function permuteAccess(access: Access, order: readonly number[]): Access {
  return { ...access, strides: order.map((d) => access.strides[d]!) };
}

function accessesOf(kernel: LoopKernel): Access[] {
  return [
    kernel.target,
    ...(kernel.extraStores ?? []).map((store) => store.target),
    ...kernel.values.flatMap((v) => (v.kind === "load" ? [v.access] : [])),
  ].flatMap(withIndexAccesses);
}

/** `access` with new strides, taken in withIndexAccesses' order. */
function restrided(access: Access, take: () => readonly number[]): Access {
  const strides = take();
  return access.indirect
    ? { ...access, strides, indirect: { ...access.indirect, access: restrided(access.indirect.access, take) } }
    : { ...access, strides };
}

/** Merge adjacent loops that every access walks as one (row-major runs), and drop unit loops. */
export function coalesce(kernel: LoopKernel): LoopKernel {
  const dims = [...kernel.dims];
  let accesses = accessesOf(kernel).map((a) => [...a.strides]);
  let reduced = kernel.reduction?.dims ?? 0;
  const isReduced = (d: number) => d >= dims.length - reduced;
  // Drop extent-1 loops.
  for (let d = dims.length - 1; d >= 0; d--) {
    if (!dims[d]!.perExample && dims[d]!.factor === 1) {
      if (isReduced(d)) reduced--;
      dims.splice(d, 1);
      accesses = accesses.map((s) => s.filter((_, i) => i !== d));
    }
  }
  for (let d = dims.length - 2; d >= 0; d--) {
    const inner = dims[d + 1]!;
    if (inner.perExample || isReduced(d) !== isReduced(d + 1)) continue;
    if (!accesses.every((s) => s[d] === s[d + 1]! * inner.factor)) continue;
    const outer = dims[d]!;
    const mergesReducedLoops = isReduced(d);
    dims[d] = { factor: outer.factor * inner.factor, perExample: outer.perExample };
    dims.splice(d + 1, 1);
    accesses = accesses.map((s) => [...s.slice(0, d), s[d + 1]!, ...s.slice(d + 2)]);
    if (mergesReducedLoops) reduced--;
  }
  let next = 0;
  const take = () => accesses[next++]!;
  const target = restrided(kernel.target, take);
  const extraStores = kernel.extraStores?.map((store) => ({ ...store, target: restrided(store.target, take) }));
  const values = kernel.values.map((v) => (v.kind === "load" ? { ...v, access: restrided(v.access, take) } : v));
  return {
    ...kernel,
    dims,
    values,
    ...(extraStores ? { extraStores } : {}),
    target,
    ...(kernel.reduction ? { reduction: { ...kernel.reduction, dims: reduced } } : {}),
  };
}

/**
 * Tiny static loops are cheaper written out: V8 then folds every index into a constant. How many of
 * the innermost loops of `dims` to write out so that at most `limit` copies of the body result (a
 * limit far below the function sizes at which V8 stops optimizing).
 */
export function straightLineDims(dims: readonly Extent[], limit: number): number {
  let count = 0;
  let copies = 1;
  for (let d = dims.length - 1; d >= 0; d--) {
    const dim = dims[d]!;
    if (dim.perExample || copies * dim.factor > limit) break;
    copies *= dim.factor;
    count++;
  }
  return count;
}

/** `source` copied into `destination`, element by element over `shape` (per example when `perExample`). */
export function copyKernel(
  comment: string,
  source: View,
  shape: Shape,
  perExample: boolean,
  destination: View,
): LoopKernel {
  const space = { shape, perExample };
  return coalesce({
    kind: "loop",
    comment,
    dims: dimsOf(space),
    mode: "assign",
    unrolled: 0,
    values: [{ kind: "load", access: accessFor(source, space) }],
    target: accessFor(destination, space),
  });
}

/** The loop that reduces `node`'s operand (its `values`, over the operand's space) into `target`: reduced axes innermost. */
export function reductionLoop(node: Node, values: readonly Value[], target: View, comment: string): LoopKernel {
  const operand = node.inputs[0]!;
  const space = { shape: operand.shape, perExample: operand.batched };
  const axes = node.op === Op.LogSumExp ? [operand.shape.length - 1] : node.attrs.axes!;
  // Loop order: batch, kept axes, then the reduced axes innermost.
  const lead = space.perExample ? 1 : 0;
  const kept = operand.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const order = [...(lead ? [0] : []), ...kept.map((i) => i + lead), ...axes.map((i) => i + lead)];
  const keptTarget = accessFor(target, { shape: node.shape, perExample: node.batched });
  const targetStrides = [
    ...(lead ? [keptTarget.strides[0]!] : []),
    ...kept.map((_, j) => keptTarget.strides[j + lead]!),
    ...axes.map(() => 0),
  ];
  const dims = dimsOf(space);
  const op = node.op === Op.Sum ? "sum" : node.op === Op.Max ? "max" : "logSumExp";
  return coalesce({
    kind: "loop",
    comment,
    mode: "assign",
    unrolled: 0,
    dims: order.map((d) => dims[d]!),
    values: values.map((value) =>
      value.kind === "load" ? { kind: "load", access: permuteAccess(value.access, order) } : value,
    ),
    reduction: { op, dims: axes.length },
    target: { ...keptTarget, strides: targetStrides },
  });
}
