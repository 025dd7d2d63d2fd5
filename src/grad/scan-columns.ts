// The backward scan's sequence is built from pieces ([c_{t−1}], [x_t], [ḡ row t], stored forward values),
// each [T, w] per example, joined along the columns. The reverse step often reads only some of them (an
// Elman step reads its stored carry, not c_{t−1} and x_t, which only the products after the loop need):
// the step's x keeps only the columns its body reads, so the loop copies no dead values, and a factor
// of a product after the loop is sliced from its own piece (an input, the stored carries) directly.

import { concat, rebuild, slice } from "../ir/build.js";
import { reachableInOrder, transformGraph } from "../ir/graph.js";
import type { Node } from "../ir/node.js";
import { Op } from "../ir/ops.js";
import { scanArg } from "../ir/scan-build.js";

/** A piece of the joined sequence: `value` [T, w] at column `at`. */
export interface Piece {
  readonly value: Node;
  readonly at: number;
}

/** Columns [from, to) of the joined pieces, as slices of the pieces themselves. */
export function columns(pieces: readonly Piece[], from: number, to: number): Node[] {
  const found: Node[] = [];
  for (const { value, at } of pieces) {
    const [steps, width] = value.shape as [number, number];
    const lo = Math.max(from, at);
    const hi = Math.min(to, at + width);
    if (lo < hi) found.push(slice(value, [0, lo - at], [steps, hi - lo]));
  }
  return found;
}

/** The column ranges of `x` that `roots` read (through 1-D slices), merged; undefined where x is read whole. */
function readRanges(roots: readonly Node[], x: Node): [number, number][] | undefined {
  const ranges: [number, number][] = [];
  for (const node of reachableInOrder(roots)) {
    if (!node.inputs.includes(x)) continue;
    if (node.op !== Op.Slice || node.shape.length !== 1) return undefined;
    const begin = node.attrs.begin![0]!;
    ranges.push([begin, begin + node.size]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [lo, hi] of ranges) {
    const last = merged.at(-1);
    if (last && lo <= last[1]) last[1] = Math.max(last[1], hi);
    else merged.push([lo, hi]);
  }
  return merged;
}

/**
 * The body `roots` rewritten to read a step x of only the columns they use, and the sequence for that
 * x (joined from slices of the pieces). When every column is read, x and the whole join.
 */
export function compactStep(
  roots: readonly Node[],
  x: Node,
  pieces: readonly Piece[],
  name: string,
): { roots: Node[]; x: Node; xs: Node } {
  const width = x.size;
  const ranges = readRanges(roots, x) ?? [[0, width]];
  const kept = ranges.reduce((total, [lo, hi]) => total + hi - lo, 0);
  const xs = (parts: Node[]) => (parts.length === 1 ? parts[0]! : concat(parts, 1));
  if (kept === width) return { roots: [...roots], x, xs: xs(columns(pieces, 0, width)) };
  const compact = scanArg(name, [Math.max(kept, 1)], x.batched);
  const moved = new Map<number, number>(); // a column's start in x → its start in the compact x
  let at = 0;
  for (const [lo, hi] of ranges) {
    moved.set(lo, at);
    at += hi - lo;
  }
  const startIn = (begin: number): number => {
    const [lo] = ranges.find(([l, h]) => begin >= l && begin < h)!;
    return moved.get(lo)! + begin - lo;
  };
  const rewritten = transformGraph(roots, (node, operands) =>
    node.op === Op.Slice && node.inputs[0] === x
      ? slice(compact, [startIn(node.attrs.begin![0]!)], node.shape)
      : rebuild(node, operands),
  );
  const parts = ranges.flatMap(([lo, hi]) => columns(pieces, lo, hi));
  if (parts.length === 0) parts.push(slice(pieces[0]!.value, [0, 0], [pieces[0]!.value.shape[0]!, 1])); // nothing read
  return { roots: rewritten, x: compact, xs: xs(parts) };
}
