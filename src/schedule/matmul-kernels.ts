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
function gemmForm(m: Extent, n: Extent, k: Extent, limit: number): GemmForm {
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
  if (
    matmul.shape.length !== 2 ||
    !left.batched ||
    !right.batched ||
    !a ||
    !b ||
    a.storage.kind !== "buffer" ||
    b.storage.kind !== "buffer"
  )
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

// ── Batched products: [...L, m, k]·[...L, k, n] with the leading dims L broadcast (numpy) ──────────

/** The strides of a view's leading (batch) dims, aligned to the product's leading shape (0 where broadcast). */
function leadingStrides(view: View, lead: readonly number[]): number[] {
  const own = view.shape.slice(0, -2);
  const offset = lead.length - own.length;
  return lead.map((dim, i) => (i < offset || (own[i - offset] === 1 && dim !== 1) ? 0 : view.strides[i - offset]!));
}

/** One (count, stride per operand) run over the leading dims, if every operand walks them as one. */
function collapse(lead: readonly number[], strides: readonly (readonly number[])[]): number[] | undefined {
  const dims = lead.map((_, i) => i).filter((i) => lead[i] !== 1);
  for (let j = 0; j + 1 < dims.length; j++) {
    const [outer, inner] = [dims[j]!, dims[j + 1]!];
    if (!strides.every((s) => s[outer] === s[inner]! * lead[inner]!)) return undefined;
  }
  const innermost = dims[dims.length - 1];
  return strides.map((s) => (innermost === undefined ? 0 : s[innermost]!));
}

/**
 * A product with leading dims, as the 2-D GEMM over each matrix of the stack: one kernel repeated over
 * the stack (and the examples) when the operands walk the stack with one stride each, otherwise one
 * kernel per matrix of the stack, each repeated over the examples.
 */
export function batchedMatmulKernels(context: MatmulContext, node: Node, target: View): GemmKernel[] {
  const [left, right] = node.inputs as [Node, Node];
  const views = [context.views.get(left)!, context.views.get(right)!, target] as const;
  const [a, b, c] = views.map((view) => {
    const rank = view.shape.length;
    return { ...matrix({ ...view, strides: view.strides.slice(rank - 2) }) };
  }) as [MatrixAccess, MatrixAccess, MatrixAccess];
  const m = left.shape[left.shape.length - 2]!;
  const k = left.shape[left.shape.length - 1]!;
  const n = right.shape[right.shape.length - 1]!;
  const lead = node.shape.slice(0, -2);
  const count = lead.reduce((x, y) => x * y, 1);
  const strides = views.map((view) => leadingStrides(view, lead));
  const comment = context.describe(node);
  const fixed = (factor: number): Extent => ({ factor, perExample: false });
  const kernel = (offsets: readonly number[], repeat: GemmKernel["repeat"]): GemmKernel =>
    withForm(context, {
      kind: "gemm",
      comment,
      m: fixed(m),
      n: fixed(n),
      k: fixed(k),
      a: { ...a, offset: a.offset + offsets[0]! },
      b: { ...b, offset: b.offset + offsets[1]! },
      c: { ...c, offset: c.offset + offsets[2]! },
      ...(repeat ? { repeat } : {}),
    });
  const batchStrides = views.map((view) => view.batchStride);
  const run = collapse(lead, strides);
  if (run) {
    if (!node.batched) {
      const [aStride, bStride, cStride] = run as [number, number, number];
      return [kernel([0, 0, 0], { count: fixed(count), aStride, bStride, cStride })];
    }
    if (batchStrides.every((stride, i) => stride === run[i]! * count)) {
      const [aStride, bStride, cStride] = run as [number, number, number];
      return [kernel([0, 0, 0], { count: { factor: count, perExample: true }, aStride, bStride, cStride })];
    }
  }
  const perExample = node.batched
    ? {
        count: { factor: 1, perExample: true },
        aStride: batchStrides[0]!,
        bStride: batchStrides[1]!,
        cStride: batchStrides[2]!,
      }
    : undefined;
  return Array.from({ length: count }, (_, r) => {
    let rest = r;
    const offsets = [0, 0, 0];
    for (let d = lead.length - 1; d >= 0; d--) {
      const index = rest % lead[d]!;
      rest = Math.floor(rest / lead[d]!);
      strides.forEach((s, i) => (offsets[i]! += index * s[d]!));
    }
    return kernel(offsets, perExample);
  });
}
