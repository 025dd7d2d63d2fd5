// The user-facing tensor: a thin wrapper over an IR node. Every method builds one node and records
// where in the model file it was written, so a shape error names the user's line, not ours.

import * as ir from "../ir/build.js";
import { makeNode, type Node } from "../ir/node.js";
import { Op } from "../ir/ops.js";
import { GradgenError } from "../errors.js";
import { formatShape, normalizeAxes, type Shape } from "../ir/shape.js";
import { callerLocation } from "./callsite.js";
import { resolveSlice } from "../ir/slicing.js";
import { recordOrigin } from "./trace.js";
import { batchMean, batchVariance } from "./normalization.js";
import { expressionBundle, expressionForms, type MimeBundle } from "../print/expression.js";
import { inspectText } from "../print/notebook.js";

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

/** A value as it reads in a message: "abc" quoted, NaN and numbers as written. */
export function describeValue(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/** Refuse a non-finite hyperparameter where it is written, before it turns every value into NaN. */
export function requireFinite(fn: string, argument: string, value: unknown): void {
  if (typeof value === "number" && Number.isFinite(value)) return;
  throw new GradgenError(
    `${fn}: ${argument} must be a finite number, got ${describeValue(value)}; a NaN or infinite value would turn every value it reaches into NaN. Pass a finite number.`,
  );
}

/**
 * A tensor, or a number as a constant; `fn` and `argument` name it in errors. Numbers must be finite,
 * except that a bound of nn.maximum/minimum may be ±Infinity (a bound that never binds).
 */
export function nodeOf(x: TensorLike, fn: string, argument: string, { infiniteBound = false } = {}): Node {
  if (typeof x === "object" && x !== null && "node" in x) return x.node;
  if (typeof x !== "number")
    throw new GradgenError(`${fn}: ${argument} must be a Tensor or a finite number, got ${describeValue(x)}.`);
  if (infiniteBound && Number.isNaN(x))
    throw new GradgenError(`${fn}: ${argument} must be a number (±Infinity for a bound that never binds), got NaN.`);
  if (!infiniteBound) requireFinite(fn, argument, x);
  return ir.constant(x);
}

function axesOf(fn: string, x: Node, axis: number | readonly number[] | undefined): number[] {
  if (axis === undefined) return x.shape.map((_, i) => i);
  const axes = Array.isArray(axis) ? axis : [axis];
  const normalized = axes.every((a) => typeof a === "number") ? normalizeAxes(axes, x.shape.length) : undefined;
  if (!normalized) {
    const written = Array.isArray(axis) ? `[${axes.map(describeValue).join(", ")}]` : describeValue(axis);
    throw new GradgenError(
      `${fn}: axis ${written} is out of range for a tensor of shape ${formatShape(x.shape)}; an axis is an integer from −rank to rank − 1.`,
    );
  }
  return normalized;
}

/** Options of the reductions: `keepDims` keeps each reduced axis with length 1 (so the result broadcasts against x). */
export interface ReduceOptions {
  readonly keepDims?: boolean;
}

function keptDims(reduced: Node, x: Node, axes: readonly number[], options: ReduceOptions | undefined): Node {
  if (options !== undefined && (typeof options !== "object" || options === null))
    throw new GradgenError(
      `the reduction's options must be an object such as { keepDims: true }, got ${describeValue(options)}.`,
    );
  if (!options?.keepDims) return reduced;
  return ir.reshape(
    reduced,
    x.shape.map((dim, i) => (axes.includes(i) ? 1 : dim)),
  );
}

export class Tensor {
  constructor(readonly node: Node) {}

  /** Shape of one example's value. */
  get shape(): Shape {
    return this.node.shape;
  }

  add(other: TensorLike): Tensor {
    return traced(() => ir.add(this.node, nodeOf(other, "add", "other")));
  }
  sub(other: TensorLike): Tensor {
    return traced(() => ir.sub(this.node, nodeOf(other, "sub", "other")));
  }
  mul(other: TensorLike): Tensor {
    return traced(() => ir.mul(this.node, nodeOf(other, "mul", "other")));
  }
  div(other: TensorLike): Tensor {
    return traced(() => ir.div(this.node, nodeOf(other, "div", "other")));
  }
  neg(): Tensor {
    return traced(() => ir.neg(this.node));
  }
  pow(exponent: number): Tensor {
    return traced(() => {
      requireFinite("pow", "the exponent", exponent);
      return ir.powConst(this.node, exponent);
    });
  }
  square(): Tensor {
    return traced(() => ir.powConst(this.node, 2));
  }
  sqrt(): Tensor {
    return traced(() => ir.sqrt(this.node));
  }
  exp(): Tensor {
    return traced(() => ir.exp(this.node));
  }
  log(): Tensor {
    return traced(() => ir.log(this.node));
  }
  sin(): Tensor {
    return traced(() => ir.sin(this.node));
  }
  cos(): Tensor {
    return traced(() => ir.cos(this.node));
  }
  abs(): Tensor {
    return traced(() => ir.abs(this.node));
  }

  /**
   * numpy matmul: [k]·[k,n] → [n], [m,k]·[k] → [m], [m,k]·[k,n] → [m,n], [k]·[k] → [], and stacks of
   * matrices with the leading (batch) dims broadcast: [h,T,d]·[h,d,T] → [h,T,T], [T,d]·[h,d,k] → [h,T,k].
   */
  matmul(other: Tensor): Tensor {
    return traced(() => {
      const a = this.node;
      const b = nodeOf(other, "matmul", "other");
      if (a.shape.length === 0 || b.shape.length === 0) {
        throw new GradgenError(
          `matmul: cannot multiply ${formatShape(a.shape)} by ${formatShape(b.shape)}; both operands need at least one axis (use mul for a scalar factor).`,
        );
      }
      const inner = [a.shape[a.shape.length - 1], b.shape[b.shape.length === 1 ? 0 : b.shape.length - 2]];
      if (inner[0] !== inner[1]) {
        throw new GradgenError(
          `matmul: cannot multiply ${formatShape(a.shape)} by ${formatShape(b.shape)}; the inner dimensions (${inner[0]} and ${inner[1]}) must agree. Transpose or reshape an operand, or check the parameter's [in, out] shape.`,
        );
      }
      const left = a.shape.length === 1 ? ir.reshape(a, [1, a.shape[0]!]) : a;
      const right = b.shape.length === 1 ? ir.reshape(b, [b.shape[0]!, 1]) : b;
      const product = ir.matmul(left, right);
      const shape = [
        ...product.shape.slice(0, -2),
        ...(a.shape.length >= 2 ? [product.shape[product.shape.length - 2]!] : []),
        ...(b.shape.length >= 2 ? [product.shape[product.shape.length - 1]!] : []),
      ];
      return ir.reshape(product, shape);
    });
  }

  // Comparisons: 0/1 tensors (numpy broadcasting) through which no gradient flows.
  /** 1 where this > other, else 0. */
  greater(other: TensorLike): Tensor {
    return traced(() => ir.greater(this.node, nodeOf(other, "greater", "other")));
  }
  /** 1 where this < other, else 0. */
  less(other: TensorLike): Tensor {
    return traced(() => ir.greater(nodeOf(other, "less", "other"), this.node));
  }
  /** 1 where this == other, else 0. */
  equal(other: TensorLike): Tensor {
    return traced(() => ir.equal(this.node, nodeOf(other, "equal", "other")));
  }

  /** Reverse the axes, or permute them by `perm` (any rank: axis i of the result is axis perm[i] of x). */
  transpose(perm?: readonly number[]): Tensor {
    return traced(() => {
      if (perm !== undefined && !(Array.isArray(perm) && perm.every((p) => typeof p === "number"))) {
        const rank = this.node.shape.length;
        throw new GradgenError(
          `transpose: perm must be a list of the ${rank} axes of ${formatShape(this.node.shape)} in their new order, for example [${this.node.shape.map((_, i) => rank - 1 - i).join(", ")}], got ${describeValue(perm)}.`,
        );
      }
      return ir.transpose(this.node, perm);
    });
  }
  reshape(shape: Shape): Tensor {
    return traced(() => {
      if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
        const written = Array.isArray(shape) ? `[${shape.map(describeValue).join(", ")}]` : describeValue(shape);
        throw new GradgenError(`reshape: shape must be a list of non-negative integers, got ${written}.`);
      }
      return ir.reshape(this.node, shape);
    });
  }
  /** Σ over `axis` (all axes by default); `keepDims` keeps each reduced axis with length 1. */
  sum(axis?: number | readonly number[], options?: ReduceOptions): Tensor {
    return traced(() => {
      const axes = axesOf("sum", this.node, axis);
      return keptDims(ir.sum(this.node, axes), this.node, axes, options);
    });
  }
  mean(axis?: number | readonly number[], options?: ReduceOptions): Tensor {
    return traced(() => {
      const axes = axesOf("mean", this.node, axis);
      const count = axes.reduce((n, a) => n * this.node.shape[a]!, 1);
      return keptDims(ir.div(ir.sum(this.node, axes), count), this.node, axes, options);
    });
  }
  /** Max over `axis`; tied elements share the gradient equally. */
  max(axis?: number | readonly number[], options?: ReduceOptions): Tensor {
    return traced(() => {
      const axes = axesOf("max", this.node, axis);
      return keptDims(ir.max(this.node, axes), this.node, axes, options);
    });
  }
  /** Min over `axis`, as −max(−x): tied elements share the gradient equally, as max's. */
  min(axis?: number | readonly number[], options?: ReduceOptions): Tensor {
    return traced(() => {
      const axes = axesOf("min", this.node, axis);
      return keptDims(ir.neg(ir.max(ir.neg(this.node), axes)), this.node, axes, options);
    });
  }
  /**
   * The window that starts at `begin` and has `size` elements on each axis (TF.js's tf.slice: a
   * size of −1 runs to the end of that axis; no size is the rest of the tensor). No copy: the
   * generated code reads the window in place, and its gradient lands in the window, 0 elsewhere.
   */
  slice(begin: number | readonly number[], size?: number | readonly number[]): Tensor {
    return traced(() => {
      const window = resolveSlice(this.node.shape, begin, size);
      return ir.slice(this.node, window.begin, window.size);
    });
  }
  /** The mean over the n examples of the call (one shared value per element); its gradient reaches every example. */
  batchMean(): Tensor {
    return traced(() => batchMean(this.node));
  }
  /** The biased variance (1/n) Σₑ (xₑ − μ)² over the n examples of the call, shared by all examples. */
  batchVariance(): Tensor {
    return traced(() => batchVariance(this.node));
  }

  // Display (src/print): compact text with shared subexpressions as temporaries, LaTeX, notebook bundles.
  toString(): string {
    return expressionForms(this.node).text;
  }
  /** LaTeX without delimiters. */
  toTex(): string {
    return expressionForms(this.node).tex;
  }
  toMimeBundle(): MimeBundle {
    return expressionBundle(this.node);
  }
  /** Deno's Jupyter kernel renders a cell's value through this. */
  [Symbol.for("Jupyter.display")](): MimeBundle {
    return this.toMimeBundle();
  }
  /** console.log, the Node REPL and tslab print this. */
  [Symbol.for("nodejs.util.inspect.custom")](depth: number, options: { depth?: number | null }): string {
    return inspectText(this, depth, options);
  }
}

/**
 * A constant tensor baked into the generated module (shared by all examples, not trained, no
 * gradient): `values` row-major (a flat array, or nested arrays matching `shape`), finite numbers.
 * Usable inside and outside a model: `constant([1, 2, 3, 4], [2, 2])`.
 */
export function constant(values: number | readonly unknown[], shape: Shape): Tensor {
  return traced(() => {
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new GradgenError(
        `constant: shape ${JSON.stringify(shape)} must be an array of positive integers, e.g. [3] or [2, 2] ([] for a scalar).`,
      );
    }
    const flat: unknown[] = [];
    const pending: unknown[] = [values];
    while (pending.length > 0) {
      const next = pending.pop();
      if (Array.isArray(next)) for (let i = next.length - 1; i >= 0; i--) pending.push(next[i]);
      else flat.push(next);
    }
    const size = shape.reduce((a, b) => a * b, 1);
    if (flat.length !== size) {
      throw new GradgenError(
        `constant: ${flat.length} value(s) do not fill shape ${formatShape(shape)} (${size} elements); give one value per element, row-major.`,
      );
    }
    const bad = flat.findIndex((v) => typeof v !== "number" || !Number.isFinite(v));
    if (bad >= 0) {
      throw new GradgenError(
        `constant: value ${bad} is ${describeValue(flat[bad])}; every value must be a finite number.`,
      );
    }
    const numbers = (flat as number[]).map((v) => (Object.is(v, -0) ? 0 : v));
    if (shape.length === 0) return ir.constant(numbers[0]!);
    return makeNode(Op.ConstTensor, [], { shape: [...shape], values: numbers });
  });
}
