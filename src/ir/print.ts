// A stable text dump of the IR, one node per line, for GRADGEN_DUMP and snapshot tests.

import { reachableInOrder } from "./graph.js";
import type { Node } from "./node.js";
import { Op } from "./ops.js";

function attrsText(node: Node): string {
  const a = node.attrs;
  const parts: string[] = [];
  if (a.name !== undefined) parts.push(a.name);
  if (a.value !== undefined) parts.push(String(a.value));
  if (a.exponent !== undefined) parts.push(`^${a.exponent}`);
  if (a.dropProbability !== undefined) parts.push(`p=${a.dropProbability}`);
  if (a.perm !== undefined) parts.push(`perm=[${a.perm.join(",")}]`);
  if (a.axes !== undefined) parts.push(`axes=[${a.axes.join(",")}]`);
  if (a.momentum !== undefined) parts.push(`momentum=${a.momentum}`);
  if (
    a.shape !== undefined &&
    node.op !== Op.Input &&
    node.op !== Op.Param &&
    node.op !== Op.DropoutMask &&
    node.op !== Op.RunningStat
  )
    parts.push(`to=[${a.shape.join(",")}]`);
  return parts.length ? ` {${parts.join(" ")}}` : "";
}

/** Lines `%7 = mul(%3, %5) : [4] per example`, numbered densely in topological order. */
export function printGraph(roots: readonly Node[], labels: readonly string[] = []): string {
  const nodes = reachableInOrder(roots);
  const number = new Map(nodes.map((node, i) => [node, i]));
  const lines = nodes.map((node) => {
    const args = node.inputs.map((input) => `%${number.get(input)}`).join(", ");
    return `%${number.get(node)} = ${node.op}(${args})${attrsText(node)} : [${node.shape.join(",")}]${node.batched ? " per example" : ""}`;
  });
  roots.forEach((root, i) => lines.push(`${labels[i] ?? `root${i}`} = %${number.get(root)}`));
  return lines.join("\n");
}
