// Building scans (scan.ts): a body's placeholders, the closure extraction that turns every value the
// body reads from outside into an explicit operand, and the Scan node itself.

import { reachableInOrder, transformGraph } from "./graph.js";
import { makeNode, type Node } from "./node.js";
import { Op } from "./ops.js";
import type { Shape } from "./shape.js";
import { rebuild } from "./build.js";
import type { ScanBody } from "./scan.js";

/** A body's placeholder leaf (its carry, its x_t, or a closed-over value). */
export function scanArg(name: string, shape: Shape, perExample: boolean): Node {
  return makeNode(Op.ScanArg, [], { name, shape: [...shape], perExample });
}

export function scanNode(operands: readonly Node[], body: ScanBody): Node {
  return makeNode(Op.Scan, operands, { scan: body });
}

/** Leaves that need no operand: the body evaluates them itself. */
const ownLeaves = new Set<Op>([Op.Const, Op.BatchSize]);

/**
 * A body from the graph a step function built over `carry` and `x`: every value it reads that depends
 * on neither (a parameter, an input, a value computed outside) becomes a placeholder `prefix.closureK`,
 * its outer value an operand. Returns the closures' outer values and the rewritten body roots.
 */
export function extractClosures(
  roots: readonly Node[],
  placeholders: readonly Node[],
  prefix: string,
): { closures: Node[]; placeholders: Node[]; roots: Node[] } {
  const dependent = new Set<Node>(placeholders);
  const free = new Set<Node>(); // depends only on constants and n: stays in the body
  for (const node of reachableInOrder(roots)) {
    if (dependent.has(node)) continue;
    if (node.inputs.some((input) => dependent.has(input))) dependent.add(node);
    else if (ownLeaves.has(node.op) || (node.inputs.length > 0 && node.inputs.every((input) => free.has(input))))
      free.add(node);
  }
  const closures: Node[] = [];
  const closurePlaceholders: Node[] = [];
  const replaced = new Map<Node, Node>();
  const closureFor = (node: Node): Node => {
    let placeholder = replaced.get(node);
    if (!placeholder) {
      placeholder = scanArg(`${prefix}.closure${closures.length}`, node.shape, node.batched);
      replaced.set(node, placeholder);
      closures.push(node);
      closurePlaceholders.push(placeholder);
    }
    return placeholder;
  };
  const outside = (node: Node) => !dependent.has(node) && !free.has(node);
  const rewritten = transformGraph(roots, (node, inputs) => {
    if (outside(node)) return node; // replaced where a body node reads it (below)
    if (!dependent.has(node)) return rebuild(node, inputs);
    return rebuild(
      node,
      node.inputs.map((input, i) => (outside(input) ? closureFor(input) : inputs[i]!)),
    );
  });
  return {
    closures,
    placeholders: closurePlaceholders,
    roots: rewritten.map((root, i) => (outside(roots[i]!) ? closureFor(roots[i]!) : root)),
  };
}
