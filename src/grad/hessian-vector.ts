// Hessian-vector products as IR, for second-order optimizers (src/schedule/second-order.ts).
// Reverse over reverse: with g = ∇J(θ) already a graph, H·v = ∇θ(gᵀv) for a direction v that does not
// depend on θ, so one more reverse sweep over the gradient graph gives every block (H·v)_p at once, at
// a few times the cost of the gradient, whatever the number of parameters. gradgen has no forward mode,
// so forward over reverse (the JVP of the gradient) is not available; the reverse sweep is its transpose
// and costs the same order. The Newton step builds H column by column from P such products with unit
// vectors (P sweeps of one generated function, not P symbolic graphs: compile time does not grow with P).

import { add, batchSize, batchSum, div, mul, rebuild, sum } from "../ir/build.js";
import { reachableInOrder, transformGraph } from "../ir/graph.js";
import { makeNode, type Node } from "../ir/node.js";
import { Op } from "../ir/ops.js";
import { gradients, type DerivedFrom } from "./reverse.js";

/** The optimizer slot that holds the direction v of each parameter (state_<param>_direction). */
export const directionSlot = "direction";

/** The direction v_p of parameter `param`: a leaf shaped like it, read from its optimizer slot. */
function directionOf(param: Node): Node {
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

/**
 * (G·v)_p for the Gauss–Newton matrix G = (1/n) Σ_e J_eᵀJ_e of a mean loss (1/n) Σ_e ½‖r_e‖², J_e = ∂r_e/∂θ
 * (the Hessian without the Σ r·∇²r term: positive semi-definite). Without forward mode, J·v comes from
 * two reverse sweeps over a per-example placeholder u shaped like r: w(u) = ∇θ Σ_e ⟨u_e, r_e⟩ = Jᵀu is
 * linear in u, so J·v = ∇u ⟨w(u), v⟩ is free of u; then G·v = w(J·v)/n, the graph w with u replaced
 * by J·v (a substitution, not a third sweep, so J·v is held fixed rather than differentiated).
 */
export function gaussNewtonVectorProducts(residual: Node, params: readonly Node[], derivedFrom?: DerivedFrom): Node[] {
  const u = makeNode(Op.Input, [], { name: "u", shape: residual.shape, slot: "gaussNewtonCotangent" });
  const transposed = gradients(batchSum(sum(mul(u, residual))), params, undefined, derivedFrom);
  const dot = transposed.map((w, q) => sum(mul(w, directionOf(params[q]!)))).reduce((total, term) => add(total, term));
  const [jv] = gradients(dot, [u], undefined, derivedFrom);
  const products = transformGraph(transposed, (node, inputs) => {
    if (node === u) return jv!;
    const rebuilt = rebuild(node, inputs);
    if (rebuilt !== node) derivedFrom?.(rebuilt, node);
    return rebuilt;
  }).map((product) => mul(product, div(1, batchSize())));
  if (reachableInOrder(products).includes(u)) throw new Error("internal: J·v still depends on its placeholder");
  return products;
}
