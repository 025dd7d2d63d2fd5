// Reverse-mode differentiation as dynamic programming over paths. ∂seed/∂v is the sum over all
// paths v → seed of the product of local derivatives; grouping the paths by v's first edge gives
//   adjoint(v) = Σ over consumers j of v of  rule_j(adjoint(j))  (the consumer's vector-Jacobian product),
// so one sweep in reverse topological order computes every adjoint with work linear in the graph,
// never enumerating paths. The result is ordinary IR: it can be simplified, emitted, differentiated again.

import { add, batchSum, broadcastTo, constant, reshape, sum } from "../ir/build.js";
import type { Node } from "../ir/node.js";
import { reachableInOrder } from "../ir/graph.js";
import { derivativeRules } from "./rules.js";

/** Told of each node the sweep makes, and the forward node whose adjoint or rule made it. */
export type DerivedFrom = (derived: Node, forward: Node) => void;

/**
 * ∂seed/∂w for each w in `wrt`. A non-scalar seed is summed (its adjoint is all ones) unless
 * `seedAdjoint` is given, which makes this a vector-Jacobian product.
 *
 * Batch semantics: a batched seed is a per-example quantity, so every adjoint is per example too;
 * an unbatched seed (such as the mean loss) gets unbatched adjoints for shared values, summed over
 * examples. An adjoint of a per-example node may itself be shared (the same for every example).
 *
 * `derivedFrom` learns which forward node each new node differentiates (so backward code can name the
 * model line of the forward op, as tinygrad copies forward metadata onto gradient nodes).
 */
export function gradients(seed: Node, wrt: readonly Node[], seedAdjoint?: Node, derivedFrom?: DerivedFrom): Node[] {
  const onPath = nodesBetween(seed, wrt);
  const attributed = new Set<Node>(derivedFrom ? [...reachableInOrder([seed]), ...wrt] : []);
  const contributions = new Map<Node, Node[]>();
  contributions.set(seed, [seedAdjoint ?? broadcastTo(constant(1), seed.shape)]);

  const order = reachableInOrder([seed])
    .filter((node) => onPath.has(node))
    .reverse();
  const adjoints = new Map<Node, Node>();
  for (const node of order) {
    const parts = contributions.get(node);
    if (!parts) continue; // no path from here reaches the seed with a gradient
    const adjoint = parts.reduce((total, part) => add(total, part));
    adjoints.set(node, adjoint);
    const rule = derivativeRules[node.op];
    const needed = node.inputs.map((input) => onPath.has(input));
    const perInput = rule({ inputs: node.inputs, out: node, adjoint, needed });
    node.inputs.forEach((input, i) => {
      const part = perInput[i];
      if (!part || !onPath.has(input)) return;
      const list = contributions.get(input) ?? [];
      list.push(unbroadcast(part, input, node.batched && !seed.batched));
      contributions.set(input, list);
    });
    if (derivedFrom) {
      const made = newNodes([adjoint, ...node.inputs.flatMap((input) => contributions.get(input) ?? [])], attributed);
      for (const derived of made) derivedFrom(derived, node);
    }
  }
  return wrt.map((w) => adjoints.get(w) ?? broadcastTo(constant(0), w.shape));
}

/** Nodes reachable from `roots` without passing through `known` (the forward graph, earlier rules' nodes); adds them to it. */
function newNodes(roots: readonly Node[], known: Set<Node>): Node[] {
  const found: Node[] = [];
  const pending = [...roots];
  while (pending.length > 0) {
    const node = pending.pop()!;
    if (known.has(node)) continue;
    known.add(node);
    found.push(node);
    pending.push(...node.inputs);
  }
  return found;
}

/** Nodes that lie on some path from a `wrt` node to the seed: only they need adjoints. */
function nodesBetween(seed: Node, wrt: readonly Node[]): Set<Node> {
  const ancestors = new Set<Node>(reachableInOrder([seed]));
  const dependsOnWrt = new Set<Node>(wrt.filter((w) => ancestors.has(w)));
  for (const node of reachableInOrder([seed])) {
    if (node.inputs.some((input) => dependsOnWrt.has(input))) dependsOnWrt.add(node);
  }
  return dependsOnWrt;
}

/**
 * Reduce a contribution to the operand's shape: sum the axes broadcasting added, and, where a
 * per-example consumer feeds a value all examples share, sum over the examples (n times the
 * contribution when it is the same for every example).
 */
function unbroadcast(part: Node, operand: Node, sumsOverExamples: boolean): Node {
  let result = part;
  if (sumsOverExamples && !operand.batched) result = batchSum(result);
  const lead = result.shape.length - operand.shape.length;
  const axes: number[] = [];
  for (let i = 0; i < result.shape.length; i++) {
    if (i < lead || (operand.shape[i - lead] === 1 && result.shape[i] !== 1)) axes.push(i);
  }
  if (axes.length > 0) result = sum(result, axes);
  return reshape(result, operand.shape);
}
