// Composite ops carry hand-written derivatives during differentiation; afterwards they are
// rewritten into primitives the scheduler knows.

import { broadcastTo, logSumExp, mul, rebuild, reshape, sub, sum } from "../ir/build.js";
import type { Node } from "../ir/node.js";
import { transformGraph } from "../ir/graph.js";
import { Op } from "../ir/ops.js";

function expandNode(node: Node, inputs: readonly Node[]): Node {
  // After differentiation a custom-gradient node is just its value.
  if (node.op === Op.CustomGradient || node.op === Op.StopGradient) return inputs[0]!;
  if (node.op === Op.SoftmaxCrossEntropy) {
    // Σ y·(logΣe^z − z), with the log-sum-exp broadcast back over the last axis
    const [z, y] = inputs as [Node, Node];
    const lse = broadcastTo(reshape(logSumExp(z), [...z.shape.slice(0, -1), 1]), z.shape);
    return sum(mul(y, sub(lse, z)));
  }
  return rebuild(node, inputs);
}

/** `expanded`, if given, learns what each node reached became. */
export function expandComposites(roots: readonly Node[], expanded: Map<Node, Node> = new Map()): Node[] {
  return transformGraph(roots, expandNode, expanded);
}
