// Kernels of the integer-id ops (issue 11): gather reads a table through ids, scatterAdd and oneHot
// store through them. An id is an index read at the loop indices (Access.indirect), so a gather is
// one loop over its output and a scatter one loop over its values: O(|ids|·row) work, never O(table).
// The sum over examples of a scatter into zeros (a parameter's gradient) is one shared scatter: the
// target is zeroed once per call and every example adds into it.

import type { Node } from "../ir/node.js";
import { Op } from "../ir/ops.js";
import type { Shape } from "../ir/shape.js";
import type { Access, Kernel, Value } from "./program.js";
import { coalesce, dimsOf, type Space, type View } from "./views.js";

export interface GatherContext {
  readonly views: ReadonlyMap<Node, View>;
  readonly describe: (node: Node) => string;
  /** Appends the values computing `node` at the loop indices of `space`; returns the last's index. */
  readonly valueOf: (node: Node, space: Space, values: Value[]) => number;
}

/** Zero (a broadcast 0): a scatter into it needs only a fill first. */
export function isZero(node: Node): boolean {
  const x = node.op === Op.Broadcast ? node.inputs[0]! : node;
  return x.op === Op.Const && x.attrs.value === 0;
}

/**
 * The element of `table` (a view of shape [B…, V, R…]) at the loop indices of the gathered space
 * [examples?, B…, I…, R…], its row read from `ids` ([B…, I…]).
 */
function throughIds(table: View, ids: View, idsShape: Shape, batchDims: number, space: Space): Access {
  const rank = idsShape.length;
  const tableStrides = space.shape.map((_, d) =>
    d < batchDims ? table.strides[d]! : d < rank ? 0 : table.strides[d - rank + batchDims + 1]!,
  );
  const idsStrides = space.shape.map((_, d) => (d < rank ? ids.strides[d]! : 0));
  const lead = (batchStride: number) => (space.perExample ? [batchStride] : []);
  return {
    storage: table.storage,
    offset: table.offset,
    strides: [...lead(table.batchStride), ...tableStrides],
    indirect: {
      access: { storage: ids.storage, offset: ids.offset, strides: [...lead(ids.batchStride), ...idsStrides] },
      stride: table.strides[batchDims]!,
    },
  };
}

/** gather(table, ids): one loop over the output, each element loaded through its id. */
export function gatherKernels(context: GatherContext, node: Node, target: View): Kernel[] {
  const [table, ids] = node.inputs as [Node, Node];
  const space = { shape: node.shape, perExample: node.batched };
  const load = throughIds(
    context.views.get(table)!,
    context.views.get(ids)!,
    ids.shape,
    node.attrs.batchDims ?? 0,
    space,
  );
  const store = throughStrides(target, space);
  return [
    coalesce({
      kind: "loop",
      comment: context.describe(node),
      dims: dimsOf(space),
      values: [{ kind: "load", access: load }],
      target: store,
      mode: "assign",
      unrolled: 0,
    }),
  ];
}

/** A contiguous view at the loop indices of a space of its own shape. */
function throughStrides(view: View, space: Space): Access {
  return {
    storage: view.storage,
    offset: view.offset,
    strides: [...(space.perExample ? [view.batchStride] : []), ...view.strides],
  };
}

/**
 * scatterAdd(base, values, ids) into `target`: base first (a fill when it is zero), then one loop over
 * the values adding each into the row its id names. With `shared`, the target is one value for all
 * examples (the sum over the batch of a scatter into zeros): every example adds into it.
 */
export function scatterKernels(context: GatherContext, node: Node, target: View, shared = false): Kernel[] {
  const [base, values, ids] = node.inputs as [Node, Node, Node];
  const kernels: Kernel[] = [];
  const buffer = (target.storage as { name: string }).name;
  const perExample = node.batched && !shared;
  if (isZero(base)) kernels.push({ kind: "fill", buffer, length: { factor: node.size, perExample }, value: 0 });
  else {
    const space = { shape: node.shape, perExample };
    const computed: Value[] = [];
    context.valueOf(base, space, computed);
    kernels.push(
      coalesce({
        kind: "loop",
        comment: `${context.describe(node)}: base`,
        dims: dimsOf(space),
        values: computed,
        target: throughStrides(target, space),
        mode: "assign",
        unrolled: 0,
      }),
    );
  }
  const space = { shape: values.shape, perExample: node.batched };
  const added: Value[] = [];
  context.valueOf(values, space, added);
  const destination = shared ? { ...target, batchStride: 0 } : target;
  kernels.push(
    coalesce({
      kind: "loop",
      comment: context.describe(node),
      dims: dimsOf(space),
      values: added,
      target: throughIds(destination, context.views.get(ids)!, ids.shape, node.attrs.batchDims ?? 0, space),
      mode: "add",
      unrolled: 0,
    }),
  );
  return kernels;
}

/** oneHot(ids, depth): zeros, then a 1 stored at each id. */
export function oneHotKernels(context: GatherContext, node: Node, target: View): Kernel[] {
  const ids = node.inputs[0]!;
  const buffer = (target.storage as { name: string }).name;
  const space = { shape: ids.shape, perExample: node.batched };
  return [
    { kind: "fill", buffer, length: { factor: node.size, perExample: node.batched }, value: 0 },
    coalesce({
      kind: "loop",
      comment: context.describe(node),
      dims: dimsOf(space),
      values: [
        {
          kind: "load",
          access: {
            storage: { kind: "scalar", code: { kind: "literal", value: 1 } },
            offset: 0,
            strides: dimsOf(space).map(() => 0),
          },
        },
      ],
      target: throughIds(target, context.views.get(ids)!, ids.shape, ids.shape.length, space),
      mode: "assign",
      unrolled: 0,
    }),
  ];
}
