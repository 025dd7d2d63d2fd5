// Which layout ops printed equations show. Printed text reads a vector [k] as a row (as [1, k]) and
// [1] or [1, 1] as a scalar, so a reshape or broadcast that only adds or drops leading unit axes is
// invisible; a reshape between a row and a column is a transpose and prints as ᵀ; any other reshape
// prints as reshape(x, shape). Broadcasts into elementwise operations print as their operand (they
// broadcast the way numpy does); into anything else (Σ, ·) they print as broadcast(x, shape).

import type { Node } from "../ir/node.js";
import { Op } from "../ir/ops.js";
import { broadcastShapes, sameShape, type Shape } from "../ir/shape.js";

/** A shape as printed text shows it: leading unit axes dropped ([1, 3] and [3] read the same, [1] is a scalar). */
export function printedForm(shape: Shape): Shape {
  let first = 0;
  while (first < shape.length && shape[first] === 1) first++;
  return shape.slice(first);
}

/** Whether a printed shape stands for `actual` (null: the printed text has no consistent shape). */
export function printsAs(printed: Shape | null, actual: Shape): boolean {
  return printed !== null && sameShape(printedForm(printed), printedForm(actual));
}

/** A reshape between a row (or vector) and a column: printed as a transpose. */
export function isRowColumnFlip(node: Node): boolean {
  if (node.op !== Op.Reshape) return false;
  const from = printedForm(node.inputs[0]!.shape);
  const to = printedForm(node.shape);
  const column = (s: Shape, k: number | undefined) => s.length === 2 && s[1] === 1 && s[0] === k;
  return (from.length === 1 && column(to, from[0])) || (to.length === 1 && column(from, to[0]));
}

/** Skip nodes that print as their operand: broadcasts, and reshapes that only add or drop leading unit axes. */
export function see(node: Node): Node {
  for (;;) {
    if (node.op === Op.Broadcast) node = node.inputs[0]!;
    else if (node.op === Op.Reshape && sameShape(printedForm(node.inputs[0]!.shape), printedForm(node.shape)))
      node = node.inputs[0]!;
    else return node;
  }
}

/** Skip only layout ops that change no printed shape: used where a broadcast would change the meaning (Σ, ·). */
export function seeLayout(node: Node): Node {
  while (
    (node.op === Op.Broadcast || node.op === Op.Reshape) &&
    sameShape(printedForm(node.inputs[0]!.shape), printedForm(node.shape))
  )
    node = node.inputs[0]!;
  return node;
}

/** numpy broadcasting of printed shapes (null when they do not broadcast, or one is already null). */
export function broadcastPrinted(shapes: readonly (Shape | null)[]): Shape | null {
  let result: Shape = [];
  for (const shape of shapes) {
    if (shape === null) return null;
    const next = broadcastShapes(result, shape);
    if (!next) return null;
    result = next;
  }
  return result;
}

/** A printed shape as a matrix operand of ·: a vector is a row, a scalar is [1, 1]. */
export function asMatrix(shape: Shape | null): Shape | null {
  if (shape === null) return null;
  if (shape.length === 0) return [1, 1];
  if (shape.length === 1) return [1, shape[0]!];
  return shape.length === 2 ? shape : null;
}
