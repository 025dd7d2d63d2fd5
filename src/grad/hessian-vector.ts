// Hessian-vector products as IR, for second-order optimizers (src/schedule/second-order.ts).
// Reverse over reverse: with g = ∇J(θ) already a graph, H·v = ∇θ(gᵀv) for a direction v that does not
// depend on θ, so one more reverse sweep over the gradient graph gives every block (H·v)_p at once, at
// a few times the cost of the gradient, whatever the number of parameters. gradgen has no forward mode,
// so forward over reverse (the JVP of the gradient) is not available; the reverse sweep is its transpose
// and costs the same order. The Newton step builds H column by column from P such products with unit
// vectors (P sweeps of one generated function, not P symbolic graphs: compile time does not grow with P).

import { add, mul, sum } from "../ir/build.js";
import { makeNode, type Node } from "../ir/node.js";
import { Op } from "../ir/ops.js";
import { gradients, type DerivedFrom } from "./reverse.js";

/** The optimizer slot that holds the direction v of each parameter (state_<param>_direction). */
export const directionSlot = "direction";

/** The direction v_p of parameter `param`: a leaf shaped like it, read from its optimizer slot. */
export function directionOf(param: Node): Node {
  return makeNode(Op.Param, [], { name: param.attrs.name!, shape: param.shape, slot: directionSlot });
}

/** (H·v)_p = ∂(Σ_q ⟨g_q, v_q⟩)/∂θ_p for each parameter p, where `grads[q]` = ∂J/∂θ_q. */
export function hessianVectorProducts(
  grads: readonly Node[],
  params: readonly Node[],
  derivedFrom?: DerivedFrom,
): Node[] {
  const dot = grads.map((g, q) => sum(mul(g, directionOf(params[q]!)))).reduce((total, term) => add(total, term));
  return gradients(dot, params, undefined, derivedFrom);
}
