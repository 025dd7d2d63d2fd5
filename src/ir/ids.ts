// Where gather reads and scatterAdd writes, as flat row-major offsets: the one definition the
// reference interpreters (evaluate.ts, check/forward.ts) share. For gather(table [B…, V, R…],
// ids [B…, I…]) → out [B…, I…, R…], element f of out is table[rest[f] + ids[idsAt[f]]·rowStride].

import { reachableInOrder } from "./graph.js";
import type { Node } from "./node.js";
import { Op } from "./ops.js";
import { contiguousStrides, sizeOf } from "./shape.js";

export interface GatherMap {
  /** Flat index into ids, for each element of the gathered shape. */
  readonly idsAt: Int32Array;
  /** The table offset without the row term, for each element of the gathered shape. */
  readonly rest: Int32Array;
  /** Elements between consecutive rows of the table (the picked axis's stride). */
  readonly rowStride: number;
  /** Rows to pick from (ids range over 0 … rows − 1). */
  readonly rows: number;
}

/** The map of a Gather node, or of a ScatterAdd node (its gathered shape is its values'). */
export function gatherMap(node: Node): GatherMap {
  const table = node.op === Op.Gather ? node.inputs[0]! : node;
  const ids = node.inputs[node.inputs.length - 1]!;
  const b = node.attrs.batchDims ?? 0;
  const tableStrides = contiguousStrides(table.shape);
  const idsStrides = contiguousStrides(ids.shape);
  const gathered = [...ids.shape, ...table.shape.slice(b + 1)];
  const size = sizeOf(gathered);
  const idsAt = new Int32Array(size);
  const rest = new Int32Array(size);
  const index = new Array<number>(gathered.length).fill(0);
  for (let f = 0; f < size; f++) {
    let r = f;
    for (let d = gathered.length - 1; d >= 0; d--) {
      index[d] = r % gathered[d]!;
      r = Math.floor(r / gathered[d]!);
    }
    let idsFlat = 0;
    let tableFlat = 0;
    for (let d = 0; d < gathered.length; d++) {
      if (d < ids.shape.length) idsFlat += index[d]! * idsStrides[d]!;
      if (d < b) tableFlat += index[d]! * tableStrides[d]!;
      else if (d >= ids.shape.length) tableFlat += index[d]! * tableStrides[d - ids.shape.length + b + 1]!;
    }
    idsAt[f] = idsFlat;
    rest[f] = tableFlat;
  }
  return { idsAt, rest, rowStride: tableStrides[b]!, rows: table.shape[b]! };
}

/**
 * How many ids an int32 input may hold: the fewest rows any id op that reads it picks from (ids range
 * over 0 … bound − 1). Undefined when no id op reads it.
 */
export function idBound(roots: readonly Node[], input: Node): number | undefined {
  let bound: number | undefined;
  for (const node of reachableInOrder(roots)) {
    if (node.inputs[node.inputs.length - 1] !== input) continue;
    const b = node.attrs.batchDims ?? 0;
    const rows =
      node.op === Op.OneHot
        ? node.attrs.depth!
        : node.op === Op.Gather
          ? node.inputs[0]!.shape[b]!
          : node.op === Op.ScatterAdd
            ? node.shape[b]!
            : undefined;
    if (rows !== undefined) bound = Math.min(bound ?? rows, rows);
  }
  return bound;
}

/** The id at `place`, checked against the table's rows (an interpreter's guard; generated code checks at the call). */
export function idAt(ids: ArrayLike<number>, place: number, rows: number): number {
  const id = ids[place]!;
  if (!Number.isInteger(id) || id < 0 || id >= rows)
    throw new RangeError(`id ${id} at position ${place} is outside 0 … ${rows - 1}`);
  return id;
}
