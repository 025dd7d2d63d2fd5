// Matrix products as GEMM kernels: which operand layouts a product can read in place, how a
// per-example product summed over the batch becomes one GEMM whose contraction runs over the examples,
// and which form (straight-line or blocked) each GEMM takes. Separate from lower.ts, which decides
// that a node is a product and stages the blocked routine's inputs; this is the matrix arithmetic.

import type { Node } from "../ir/node.js";
import type { Extent, GemmForm, GemmKernel, MatrixAccess } from "./program.js";
import type { View } from "./views.js";

/** What the product kernels read from the lowering of their entry point. */
export interface MatmulContext {
  /** The view of every classified node. */
  readonly views: ReadonlyMap<Node, View>;
  /** Tuning.straightLineLimit. */
  readonly straightLineLimit: number;
  /** A kernel's comment for a node. */
  describe(node: Node): string;
}

/** Straight-line forms for small products (see GemmForm); the blocked routine otherwise. */
export function gemmForm(m: Extent, n: Extent, k: Extent, limit: number): GemmForm {
  const isStatic = (e: Extent) => !e.perExample;
  if (isStatic(n) && isStatic(k) && n.factor * k.factor <= 4 * limit) return "rows";
  if (isStatic(m) && isStatic(n) && m.factor * n.factor <= 2 * limit) return "contraction";
  return "blocked";
}

function withForm(context: MatmulContext, kernel: Omit<GemmKernel, "form">): GemmKernel {
  return { ...kernel, form: gemmForm(kernel.m, kernel.n, kernel.k, context.straightLineLimit) } as GemmKernel;
}

function matrix(view: View): MatrixAccess {
  return {
    buffer: (view.storage as { name: string }).name,
    offset: view.offset,
    rowStride: view.strides[0]!,
    colStride: view.strides[1]!,
  };
}

/** The operands of Σ_b A_b·B_b as matrices whose contraction runs over (example, k), if the layouts allow it. */
export function contractionLayout(
  matmul: Node,
  views: ReadonlyMap<Node, View>,
): { a: MatrixAccess; b: MatrixAccess } | undefined {
  const [left, right] = matmul.inputs as [Node, Node];
  const a = views.get(left);
  const b = views.get(right);
  if (!left.batched || !right.batched || !a || !b || a.storage.kind !== "buffer" || b.storage.kind !== "buffer")
    return undefined;
  const k = left.shape[1]!;
  const aColumns = k === 1 ? a.batchStride : a.strides[1]!;
  const bRows = k === 1 ? b.batchStride : b.strides[0]!;
  if (a.batchStride !== k * aColumns || b.batchStride !== k * bRows) return undefined;
  return { a: { ...matrix(a), colStride: aColumns }, b: { ...matrix(b), rowStride: bRows } };
}

export function batchContraction(context: MatmulContext, matmul: Node, target: View, comment: string): GemmKernel {
  const { a, b } = contractionLayout(matmul, context.views)!;
  const [m, k] = matmul.inputs[0]!.shape as [number, number];
  const n = matmul.inputs[1]!.shape[1]!;
  return withForm(context, {
    kind: "gemm",
    comment: `${comment}: Σ over examples of ${context.describe(matmul)}`,
    m: { factor: m, perExample: false },
    n: { factor: n, perExample: false },
    k: { factor: k, perExample: true },
    a,
    b,
    c: matrix(target),
  });
}

export function matmulKernel(context: MatmulContext, node: Node, target: View): GemmKernel {
  const [left, right] = node.inputs as [Node, Node];
  const a = context.views.get(left)!;
  const b = context.views.get(right)!;
  const [m, k] = left.shape as [number, number];
  const n = right.shape[1]!;
  const comment = context.describe(node);
  const c = matrix(target);
  const fixed = (factor: number): Extent => ({ factor, perExample: false });
  if (!node.batched)
    return withForm(context, {
      kind: "gemm",
      comment,
      m: fixed(m),
      n: fixed(n),
      k: fixed(k),
      a: matrix(a),
      b: matrix(b),
      c,
    });
  // One batched operand against a shared one: fold the examples into the rows of one big GEMM.
  if (left.batched && !right.batched && (m === 1 || a.batchStride === m * a.strides[0]!)) {
    const rowStride = m === 1 ? a.batchStride : a.strides[0]!;
    return withForm(context, {
      kind: "gemm",
      comment,
      m: { factor: m, perExample: true },
      n: fixed(n),
      k: fixed(k),
      a: { ...matrix(a), rowStride },
      b: matrix(b),
      c,
    });
  }
  if (right.batched && !left.batched && n === 1) {
    // (A·x_b)ᵀ = x_bᵀ·Aᵀ: the examples become rows again
    return withForm(context, {
      kind: "gemm",
      comment,
      m: { factor: 1, perExample: true },
      n: fixed(m),
      k: fixed(k),
      a: { buffer: matrix(b).buffer, offset: b.offset, rowStride: b.batchStride, colStride: b.strides[0]! },
      b: { buffer: matrix(a).buffer, offset: a.offset, rowStride: a.strides[1]!, colStride: a.strides[0]! },
      c: { ...c, rowStride: m, colStride: 1 },
    });
  }
  return withForm(context, {
    kind: "gemm",
    comment,
    m: fixed(m),
    n: fixed(n),
    k: fixed(k),
    a: matrix(a),
    b: matrix(b),
    c,
    repeat: {
      count: { factor: 1, perExample: true },
      aStride: a.batchStride,
      bStride: b.batchStride,
      cStride: m * n,
    },
  });
}
