// Shared parameters' gradients through a scan as one product over the steps (issue 12). In the backward
// body, a closed-over matrix W's adjoint is a sum of terms; the matmul rule makes the terms of a product
// that reads W outer products A_t·B_t of per-step values (xᵀ·δ for x·W). Summed over the steps,
//   Σ_t A_t·B_t = [A_1 … A_T]·[B_1; …; B_T] = Pᵀ·G,  P = [A_1ᵀ; …; A_Tᵀ] [T·k, m],  G = [B_1; …; B_T] [T·k, n],
// so the backward loop only stores each step's A_tᵀ and B_t (or finds them where the forward already
// stored them) and one product after the loop replaces T products and T accumulations per example (the
// reverse sweep then sums it over the examples, itself one contraction where the layout allows).
// Every other term (a bias's δ, a product whose factors are shared) stays accumulated in the loop's carry.

import { matmul, reshape, slice, transpose } from "../ir/build.js";
import type { Node } from "../ir/node.js";
import { Op } from "../ir/ops.js";

/** One term Σ_t A_t·B_t: each step's A_tᵀ flattened [k·m] and B_t flattened [k·n]. */
export interface StepProduct {
  readonly left: Node;
  readonly right: Node;
  readonly k: number;
  readonly m: number;
  readonly n: number;
}

/** The terms an adjoint sums (adds of equal shapes, taken apart). */
function terms(node: Node): Node[] {
  const found: Node[] = [];
  const pending = [node];
  while (pending.length > 0) {
    const term = pending.pop()!;
    if (term.op === Op.Add && term.inputs.every((input) => input.size === term.size && input.batched === term.batched))
      pending.push(...term.inputs);
    else found.push(term);
  }
  return found;
}

export const withoutReshapes = (node: Node): Node => {
  let core = node;
  while (core.op === Op.Reshape) core = core.inputs[0]!;
  return core;
};

/** The untransposed value of a 2-D matrix: x for xᵀ, else the transpose itself. */
const transposed = (a: Node): Node =>
  a.op === Op.Transpose && a.shape.length === 2 ? a.inputs[0]! : transpose(a, [1, 0]);

/**
 * A closed-over value's adjoint in the backward body, split into step products (both factors per
 * example) and the rest (undefined when nothing else remains).
 */
export function splitClosureAdjoint(adjoint: Node): { products: StepProduct[]; rest: Node[] } {
  const products: StepProduct[] = [];
  const rest: Node[] = [];
  for (const term of terms(adjoint)) {
    const core = withoutReshapes(term);
    const [a, b] = core.inputs;
    if (core.op !== Op.MatMul || core.shape.length !== 2 || !a?.batched || !b?.batched) {
      rest.push(term);
      continue;
    }
    const [m, k] = a.shape as [number, number];
    const n = b.shape[1]!;
    products.push({ left: reshape(transposed(a), [k * m]), right: reshape(b, [k * n]), k, m, n });
  }
  return { products, rest };
}

/** Σ_t A_t·B_t from the stacked factors P [T, k·m] and G [T, k·n]: Pᵀ·G, [m, n]. */
export function productOverSteps(product: StepProduct, left: Node, right: Node, steps: number): Node {
  const { k, m, n } = product;
  return matmul(transpose(reshape(left, [steps * k, m]), [1, 0]), reshape(right, [steps * k, n]));
}

/** Where a per-step factor is a slice of the step's x (the backward scan's x_t): that slice's start and length. */
export function sliceOfStep(factor: Node, x: Node): { start: number; length: number } | undefined {
  const core = withoutReshapes(factor);
  if (core.op !== Op.Slice || core.inputs[0] !== x || core.shape.length !== 1) return undefined;
  return { start: core.attrs.begin![0]!, length: core.shape[0]! };
}

/**
 * A slice of a 1-D concat that lies within one of the joined values, taken from that value instead (the
 * body's VJP slices the adjoint [λ, ḡ] of the step's joined outputs; this keeps the join from being built).
 */
export function throughConcat(node: Node): Node {
  if (node.op !== Op.Slice || node.shape.length !== 1) return node;
  const joined = node.inputs[0]!;
  if (joined.op !== Op.Concat || joined.shape.length !== 1) return node;
  const begin = node.attrs.begin![0]!;
  let offset = 0;
  for (const part of joined.inputs) {
    if (begin >= offset && begin + node.size <= offset + part.size)
      return part.shape.length === 1 ? slice(part, [begin - offset], [node.size]) : node;
    offset += part.size;
  }
  return node;
}

/**
 * Whether a scan's adjoint is zero beyond its first `c` elements (the final carry): the model reads
 * no step's output, so the reverse loop needs no row of ḡ (the slice rule's adjoint is a zero pad).
 */
export function rowsUnread(adjoint: Node, c: number): boolean {
  const core = withoutReshapes(adjoint);
  return (
    core.op === Op.Pad &&
    core.shape.length === 1 &&
    (core.attrs.value ?? 0) === 0 &&
    core.attrs.begin![0]! + core.inputs[0]!.size <= c
  );
}
