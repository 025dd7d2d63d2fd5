// The display structure of an expression: layout ops are transparent (layout.ts decides where they
// print), softmax and log softmax are one node, and a broadcast into an elementwise op (whose operands
// broadcast numpy style) does not print.

import type { Node } from "../ir/node.js";
import { elementwiseOps, Op } from "../ir/ops.js";
import { see, seeLayout } from "./layout.js";

/** z − logΣexp(z) (broadcast back): the z of log softmax(z), if `node` is that. */
export function logSoftmaxOperand(node: Node): Node | undefined {
  if (node.op !== Op.Sub) return undefined;
  const z = see(node.inputs[0]!);
  const lse = see(node.inputs[1]!);
  return lse.op === Op.LogSumExp && see(lse.inputs[0]!) === z ? z : undefined;
}

export function softmaxOperand(node: Node): Node | undefined {
  return node.op === Op.Exp ? logSoftmaxOperand(see(node.inputs[0]!)) : undefined;
}

/** The operands as printed. */
export function displayChildren(node: Node): Node[] {
  const softmax = softmaxOperand(node) ?? logSoftmaxOperand(node);
  if (softmax) return [softmax];
  return node.inputs.map(elementwiseOps.has(node.op) ? see : seeLayout);
}

export const isLeaf = (node: Node): boolean => node.inputs.length === 0;

/** Display nodes reachable from `roots`, operands first (iterative: graphs can be deep). */
export function displayOrder(roots: readonly Node[]): Node[] {
  const order: Node[] = [];
  const done = new Set<Node>();
  for (const root of roots.map(see)) {
    if (done.has(root)) continue;
    done.add(root);
    const stack: { node: Node; children: Node[]; next: number }[] = [
      { node: root, children: displayChildren(root), next: 0 },
    ];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const child = top.children[top.next++];
      if (child === undefined) {
        order.push(top.node);
        stack.pop();
      } else if (!done.has(child)) {
        done.add(child);
        stack.push({ node: child, children: displayChildren(child), next: 0 });
      }
    }
  }
  return order;
}
