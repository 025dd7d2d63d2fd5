// Concatenation without copies: a per-example value that is also an operand of a concatenation is
// written once, straight into its window of the concatenation's buffer, and every other consumer
// reads it there. This is what makes a shared weight's stacked gradient product (passes/
// shared-products.ts) cost no copies: each δₜ of an unrolled RNN lands in its row of [δ₁; …; δ_T].
// Only windows that are contiguous within an example qualify (joined along the first axis that is
// not 1), so a window is the value's own contiguous layout with the concatenation's example stride.

import type { Node } from "../ir/node.js";
import { elementwiseOps, Op } from "../ir/ops.js";
import { contiguousStrides } from "../ir/shape.js";
import type { View } from "./views.js";

/** Offset, within one example of `concat`, of operand `index`'s block; undefined when that block is not contiguous. */
function blockOffset(concat: Node, index: number): number | undefined {
  const axis = concat.attrs.axis!;
  if (concat.shape.slice(0, axis).some((d) => d !== 1)) return undefined;
  let offset = 0;
  for (let k = 0; k < index; k++) offset += concat.inputs[k]!.size;
  return offset;
}

/**
 * The buffer views of one entry point's concatenations whose operands are computed in place, and the
 * windows those operands take: `viewFor(node)` is that stored view, or undefined for an ordinary buffer.
 */
export class ConcatWindows {
  private readonly concatViews = new Map<Node, View>();
  /** Operand slots ("concat id:index") already taken by a value. */
  private readonly claimed = new Set<string>();

  constructor(
    private readonly consumers: ReadonlyMap<Node, ReadonlySet<Node>>,
    private readonly roots: ReadonlyMap<Node, number>,
    private readonly bufferViewFor: (node: Node) => View,
    /** A scan body: its values live per step, so none is placed in a concatenation. */
    private readonly nested: boolean,
  ) {}

  viewFor(node: Node): View | undefined {
    if (node.op === Op.Concat) return this.concatViews.get(node);
    return this.nested ? undefined : this.windowOf(node);
  }

  /** The window per-example elementwise `node` is computed into (directly, or through a reshape the concatenation joins). */
  private windowOf(node: Node): View | undefined {
    if (!node.batched || !elementwiseOps.has(node.op) || this.roots.has(node)) return undefined;
    // The node itself, or a reshape of it (a vector joined as a row), as the concatenation sees it.
    const joined: Node[] = [node];
    for (const consumer of this.consumers.get(node) ?? []) if (consumer.op === Op.Reshape) joined.push(consumer);
    for (const operand of joined) {
      for (const concat of this.consumers.get(operand) ?? []) {
        if (concat.op !== Op.Concat || !concat.batched || this.roots.has(concat)) continue;
        const index = concat.inputs.indexOf(operand);
        const offset = blockOffset(concat, index);
        const key = `${concat.id}:${index}`;
        if (offset === undefined || this.claimed.has(key)) continue;
        this.claimed.add(key);
        let view = this.concatViews.get(concat);
        if (!view) this.concatViews.set(concat, (view = this.bufferViewFor(concat)));
        return {
          storage: view.storage,
          offset: view.offset + offset,
          shape: node.shape,
          strides: contiguousStrides(node.shape),
          batchStride: view.batchStride,
        };
      }
    }
    return undefined;
  }
}

/** Whether `operand`'s value already sits in `window` (written there when it was computed). */
export function alreadyInWindow(operand: View | undefined, window: View): boolean {
  if (!operand || operand.storage.kind !== "buffer" || window.storage.kind !== "buffer") return false;
  return (
    operand.storage.name === window.storage.name &&
    operand.offset === window.offset &&
    operand.batchStride === window.batchStride
  );
}
