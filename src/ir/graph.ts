// Graph walks over the immutable DAG.

import type { Node } from "./node.js";

/** All nodes reachable from `roots`, operands before consumers (ids grow with creation). */
export function reachableInOrder(roots: readonly Node[]): Node[] {
  const seen = new Set<Node>();
  const stack = [...roots];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (seen.has(node)) continue;
    seen.add(node);
    stack.push(...node.inputs);
  }
  return [...seen].sort((a, b) => a.id - b.id);
}
