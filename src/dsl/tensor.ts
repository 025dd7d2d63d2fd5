// The user-facing tensor: a thin wrapper over an IR node. Every method builds one node and records
// where in the model file it was written, so a shape error names the user's line, not ours.

import * as ir from "../ir/build.js";
import type { Node } from "../ir/node.js";
import { GradgenError } from "../errors.js";
import { formatShape, normalizeAxes, type Shape } from "../ir/shape.js";
import { callerLocation } from "./callsite.js";
import { recordOrigin } from "./trace.js";
import { expressionBundle, expressionForms, type MimeBundle } from "../inspect/expression.js";

export type TensorLike = Tensor | number;

/** Build a node, attaching the caller's model-file location to the node and to any error. */
export function traced(build: () => Node): Tensor {
  const location = callerLocation();
  let node: Node;
  try {
    node = build();
  } catch (error) {
    if (error instanceof GradgenError && !error.location) {
      throw new GradgenError(error.message, location);
    }
    throw error;
  }
  recordOrigin(node, location);
  return new Tensor(node);
}

export function nodeOf(x: TensorLike): Node {
  return typeof x === "number" ? ir.constant(x) : x.node;
}

function axesOf(x: Node, axis: number | readonly number[] | undefined): number[] {
  if (axis === undefined) return x.shape.map((_, i) => i);
  const axes = normalizeAxes(typeof axis === "number" ? [axis] : axis, x.shape.length);
  if (!axes) throw new GradgenError(`axis ${JSON.stringify(axis)} is out of range for a tensor of shape ${formatShape(x.shape)}.`);
  return axes;
}

export class Tensor {
  constructor(readonly node: Node) {}

  /** Shape of one example's value. */
  get shape(): Shape {
    return this.node.shape;
  }

  add(other: TensorLike): Tensor { return traced(() => ir.add(this.node, nodeOf(other))); }
  sub(other: TensorLike): Tensor { return traced(() => ir.sub(this.node, nodeOf(other))); }
  mul(other: TensorLike): Tensor { return traced(() => ir.mul(this.node, nodeOf(other))); }
  div(other: TensorLike): Tensor { return traced(() => ir.div(this.node, nodeOf(other))); }
  neg(): Tensor { return traced(() => ir.neg(this.node)); }
  pow(exponent: number): Tensor {
    if (typeof exponent !== "number" || !Number.isFinite(exponent)) {
      return traced(() => { throw new GradgenError(`pow: the exponent must be a finite number, got ${String(exponent)}.`); });
    }
    return traced(() => ir.powConst(this.node, exponent));
  }
  square(): Tensor { return traced(() => ir.powConst(this.node, 2)); }
  sqrt(): Tensor { return traced(() => ir.sqrt(this.node)); }
  exp(): Tensor { return traced(() => ir.exp(this.node)); }
  log(): Tensor { return traced(() => ir.log(this.node)); }
  sin(): Tensor { return traced(() => ir.sin(this.node)); }
  cos(): Tensor { return traced(() => ir.cos(this.node)); }
  abs(): Tensor { return traced(() => ir.abs(this.node)); }

  /** numpy matmul for vectors and matrices: [k]·[k,n] → [n], [m,k]·[k] → [m], [m,k]·[k,n] → [m,n], [k]·[k] → []. */
  matmul(other: Tensor): Tensor {
    return traced(() => {
      const a = this.node;
      const b = other.node;
      if (a.shape.length === 0 || b.shape.length === 0 || a.shape.length > 2 || b.shape.length > 2) {
        throw new GradgenError(`matmul: cannot multiply ${formatShape(a.shape)} by ${formatShape(b.shape)}; both operands must be vectors or matrices.`);
      }
      const inner = [a.shape[a.shape.length - 1], b.shape[0]];
      if (inner[0] !== inner[1]) {
        throw new GradgenError(`matmul: cannot multiply ${formatShape(a.shape)} by ${formatShape(b.shape)}; the inner dimensions (${inner[0]} and ${inner[1]}) must agree. Transpose or reshape an operand, or check the parameter's [in, out] shape.`);
      }
      const left = a.shape.length === 1 ? ir.reshape(a, [1, a.shape[0]!]) : a;
      const right = b.shape.length === 1 ? ir.reshape(b, [b.shape[0]!, 1]) : b;
      const product = ir.matmul(left, right);
      const shape = [...(a.shape.length === 2 ? [a.shape[0]!] : []), ...(b.shape.length === 2 ? [b.shape[1]!] : [])];
      return ir.reshape(product, shape);
    });
  }

  /** Reverse the axes, or permute them by `perm`. */
  transpose(perm?: readonly number[]): Tensor { return traced(() => ir.transpose(this.node, perm)); }
  reshape(shape: Shape): Tensor { return traced(() => ir.reshape(this.node, shape)); }
  sum(axis?: number | readonly number[]): Tensor { return traced(() => ir.sum(this.node, axesOf(this.node, axis))); }
  mean(axis?: number | readonly number[]): Tensor {
    return traced(() => {
      const axes = axesOf(this.node, axis);
      const count = axes.reduce((n, a) => n * this.node.shape[a]!, 1);
      return ir.div(ir.sum(this.node, axes), count);
    });
  }
  max(axis?: number | readonly number[]): Tensor { return traced(() => ir.max(this.node, axesOf(this.node, axis))); }

  // Display (src/inspect): compact text with shared subexpressions as temporaries, LaTeX, notebook bundles.
  toString(): string { return expressionForms(this.node).text; }
  /** LaTeX without delimiters. */
  toTex(): string { return expressionForms(this.node).tex; }
  toMimeBundle(): MimeBundle { return expressionBundle(this.node); }
  /** Deno's Jupyter kernel renders a cell's value through this. */
  [Symbol.for("Jupyter.display")](): MimeBundle { return this.toMimeBundle(); }
  /** console.log, the Node REPL and tslab print this. */
  [Symbol.for("nodejs.util.inspect.custom")](): string { return this.toString(); }
}
