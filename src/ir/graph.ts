// Graph walks over the immutable DAG. Orders depend only on the graph's structure (never on node
// ids, which depend on what else the process built), so generated code is deterministic.

import type { Node } from "./node.js";

/** All nodes reachable from `roots`, operands before consumers: depth-first post-order, roots and operands in order. */
export function reachableInOrder(roots: readonly Node[]): Node[] {
  const order: Node[] = [];
  const done = new Set<Node>();
  const stack: { node: Node; next: number }[] = [];
  for (const root of roots) {
    if (done.has(root)) continue;
    stack.push({ node: root, next: 0 });
    done.add(root);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const input = top.node.inputs[top.next++];
      if (input === undefined) {
        order.push(top.node);
        stack.pop();
      } else if (!done.has(input)) {
        done.add(input);
        stack.push({ node: input, next: 0 });
      }
    }
  }
  return order;
}

/**
 * The graph rebuilt bottom-up: `transform(node, inputs)` receives the node's operands already
 * transformed, in the order reachableInOrder visits them. A loop, not recursion, so depth is unbounded.
 */
export function transformGraph(
  roots: readonly Node[],
  transform: (node: Node, inputs: readonly Node[]) => Node,
  results: Map<Node, Node> = new Map(),
): Node[] {
  for (const node of reachableInOrder(roots)) {
    results.set(
      node,
      transform(
        node,
        node.inputs.map((input) => results.get(input)!),
      ),
    );
  }
  return roots.map((root) => results.get(root)!);
}
