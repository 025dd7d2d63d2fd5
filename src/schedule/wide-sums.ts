// Wide sums cut into several loop kernels (issue 12: never past the cliff). An unrolled recurrence's
// parameter gradient is a sum over its steps, grad_b = Σ_t δ_t: one elementwise kernel whose values
// are ~T loads and ~T adds. src/schedule/split.ts packages an entry point into functions at kernel
// boundaries only, so at T = 1,000 such a kernel alone printed ~100 KB, past the 40 KiB limit
// (docs/v8-function-limits.md), and at T ≈ 2,000 past TurboFan's. Here it becomes several kernels
// over the same loop and target, each small, which split.ts can then put in different parts.
//
// The kernel's last value is the root of a tree of adds (each used once, by its parent); its leaves
// are the terms, sub-DAGs of the other values. Cut where exactly the same additions stay possible:
// walk down from the root into the heavier child (the heavy path); each piece computes one node P of
// that path, starting from the target, which holds the node below P that the previous piece stored.
// P = Q + R (or a longer stretch of the path) is then evaluated as before, Q loaded from the target:
// the same operations in the same association, so the f64 result is bit for bit the unsplit one.
// (An f32 program rounds each stored partial sum to f32, where it kept doubles before.) Where the
// heavy path leaves a hanging subtree too large for one piece (a balanced tree), the terms are cut
// into consecutive chunks instead: the first piece assigns its chunk's sum, each later one adds its
// chunk's sum to the target (mode "add"), a reassociation of the sum.
//
// Cut only when it is safe: an assigning loop with nothing else attached (no reduction, extra stores,
// sparse rows), each element of the target stored once, no value reading the target's buffer (it
// holds partial sums between the pieces), and no computed value shared by two terms (each piece
// holds only its own terms' values; a shared load is simply repeated).

import { Op } from "../ir/ops.js";
import type { Kernel, LoopKernel, Value } from "./program.js";
import { injective, maxExtent } from "./queries.js";

/**
 * Values (times the copies of straight-line dims) one piece may print. A value prints as one line
 * of about 45–60 characters (`const v4021_0_917 = v4021_0_915 + v4021_0_916;`), so 300 are about
 * 16 KB, well under split.ts's 40,000-character functionBudget: a part holds two or three pieces
 * and their neighbours, and a cut between parts falls between pieces.
 */
export const pieceValues = 300;

/** Kernels up to this many printed values (≈ 33 KB, still within one function's budget) stay whole. */
export const wideValues = 2 * pieceValues;

/** The entry point's kernels with every wide sum cut into pieces (scan kernels' nested lists too). */
export function cutWideSums(kernels: readonly Kernel[], batch: number): Kernel[] {
  return kernels.flatMap((kernel): Kernel[] => {
    if (kernel.kind === "scan") return [{ ...kernel, kernels: cutWideSums(kernel.kernels, batch) }];
    return kernel.kind === "loop" ? cutWideSum(kernel, batch) : [kernel];
  });
}

/** Copies of the loop body the emitter writes out (the innermost `unrolled` dims). */
const copiesOf = (kernel: LoopKernel) =>
  kernel.dims.slice(kernel.dims.length - kernel.unrolled).reduce((p, e) => p * e.factor, 1);

/** `kernel`, cut into pieces of at most `pieceValues` printed values where it is wider than `wideValues` and safe to cut. */
export function cutWideSum(kernel: LoopKernel, batch: number, limit = pieceValues, wide = wideValues): LoopKernel[] {
  const copies = copiesOf(kernel);
  if (kernel.values.length * copies <= wide || !cuttable(kernel, batch)) return [kernel];
  const tree = sumTree(kernel.values);
  if (!tree) return [kernel];
  const budget = Math.max(1, Math.floor(limit / copies));
  const pieces = heavyPathPieces(kernel, tree, budget) ?? chunkPieces(kernel, tree, budget);
  return pieces.length > 1 ? pieces : [kernel];
}

function cuttable(kernel: LoopKernel, batch: number): boolean {
  const { target } = kernel;
  if (kernel.mode !== "assign" || kernel.reduction || kernel.extraStores?.length) return false;
  if (kernel.rows !== undefined || kernel.touches || target.indirect || target.storage.kind !== "buffer") return false;
  // Each element stored once: a later piece's update of an element is its only one.
  if (!injective(kernel.dims.map((e, d) => [maxExtent(e, batch), Math.abs(target.strides[d]!)] as const))) return false;
  const name = target.storage.name;
  const reads = (access: Extract<Value, { kind: "load" }>["access"] | undefined): boolean =>
    access !== undefined &&
    ((access.storage.kind === "buffer" && access.storage.name === name) || reads(access.indirect?.access));
  return !kernel.values.some((v) => v.kind === "load" && reads(v.access));
}

/** The add tree at the last value: its inner nodes (adds used once), each term's values, and subtree weights. */
interface SumTree {
  /** Value index → the values a term at that index needs (its sub-DAG), ascending. */
  readonly terms: Map<number, number[]>;
  /** Value indices of the tree's adds (the root included). */
  readonly inner: Set<number>;
  /** Values a subtree (an add of the tree, or a term) needs. */
  readonly weight: Map<number, number>;
}

function sumTree(values: readonly Value[]): SumTree | undefined {
  const root = values.length - 1;
  const isAdd = (i: number) => {
    const v = values[i]!;
    return v.kind === "op" && v.op === Op.Add && v.args.length === 2;
  };
  if (!isAdd(root)) return undefined;
  const uses = new Array<number>(values.length).fill(0);
  for (const v of values) if (v.kind === "op") for (const a of v.args) uses[a]!++;
  const inner = new Set<number>();
  const terms = new Map<number, number[]>();
  const stack = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    inner.add(node);
    for (const child of (values[node] as { args: readonly number[] }).args) {
      if (isAdd(child) && uses[child] === 1) stack.push(child);
      else terms.set(child, []);
    }
  }
  if (terms.size < 2) return undefined;
  // Each term's sub-DAG; a computed value two terms share would have to be computed in two pieces: leave the kernel whole.
  const owner = new Map<number, number>();
  for (const term of terms.keys()) {
    const seen = new Set<number>();
    const walk = [term];
    while (walk.length > 0) {
      const i = walk.pop()!;
      if (seen.has(i)) continue;
      seen.add(i);
      const v = values[i]!;
      if (v.kind === "load") continue;
      if (owner.has(i) && owner.get(i) !== term) return undefined;
      owner.set(i, term);
      walk.push(...v.args);
    }
    terms.set(
      term,
      [...seen].sort((a, b) => a - b),
    );
  }
  const weight = new Map<number, number>();
  const weigh = (i: number): number => {
    if (terms.has(i)) return terms.get(i)!.length;
    const [a, b] = (values[i] as { args: readonly number[] }).args;
    return 1 + weight.get(a!)! + weight.get(b!)!;
  };
  // Inner nodes in ascending index order: children (earlier values) first.
  for (const term of terms.keys()) weight.set(term, weigh(term));
  for (const node of [...inner].sort((a, b) => a - b)) weight.set(node, weigh(node));
  return { terms, inner, weight };
}

/** The values a piece needs to compute `top`, with `below` (a descendant of `top` in the tree, or none) read from the target. */
function needed(values: readonly Value[], tree: SumTree, top: number, below: number | undefined): number[] {
  const out = new Set<number>();
  const stack = [top];
  while (stack.length > 0) {
    const i = stack.pop()!;
    if (i === below || out.has(i)) continue;
    if (tree.terms.has(i)) for (const j of tree.terms.get(i)!) out.add(j);
    else {
      out.add(i);
      stack.push(...(values[i] as { args: readonly number[] }).args);
    }
  }
  return [...out].sort((a, b) => a - b);
}

/** A piece: `indices` of the original values (ascending), `start` (a value replaced by a load of the target) first when given. */
function piece(
  kernel: LoopKernel,
  indices: readonly number[],
  mode: LoopKernel["mode"],
  label: string,
  start?: number,
): LoopKernel {
  const renumber = new Map<number, number>();
  const values: Value[] = [];
  if (start !== undefined) {
    renumber.set(start, 0);
    values.push({ kind: "load", access: kernel.target });
  }
  for (const i of indices) {
    const v = kernel.values[i]!;
    renumber.set(i, values.length);
    values.push(v.kind === "load" ? v : { ...v, args: v.args.map((a) => renumber.get(a)!) });
  }
  return { ...kernel, comment: `${kernel.comment}, ${label}`, values, mode };
}

/** The exact cut along the heavy path, or undefined where a subtree hanging off it is wider than a piece. */
function heavyPathPieces(kernel: LoopKernel, tree: SumTree, budget: number): LoopKernel[] | undefined {
  const { values } = kernel;
  const args = (i: number) => (values[i] as { args: readonly number[] }).args as readonly [number, number];
  const path = [values.length - 1];
  for (;;) {
    const children = args(path[path.length - 1]!).filter((c) => tree.inner.has(c));
    if (children.length === 0) break;
    path.push(children.reduce((a, b) => (tree.weight.get(b)! > tree.weight.get(a)! ? b : a)));
  }
  // Bottom up: what each path node adds to the piece that computes it.
  const bottom = path[path.length - 1]!;
  const adds = path.map((node, k) => {
    if (node === bottom) return tree.weight.get(node)!;
    const [a, b] = args(node);
    return 1 + tree.weight.get(a === path[k + 1] ? b : a)!;
  });
  if (adds.some((w) => w > budget + 1)) return undefined;
  const tops: number[] = []; // path indices each piece ends at, bottom up
  let size = 0;
  for (let k = path.length - 1; k >= 0; k--) {
    if (size > 0 && size + adds[k]! > budget) {
      tops.push(k + 1);
      size = 0;
    }
    size += adds[k]!;
  }
  tops.push(0);
  return tops.map((k, p) => {
    const below = p === 0 ? undefined : path[tops[p - 1]!]!;
    const label = `part ${p + 1} of ${tops.length} of its sum`;
    return piece(kernel, needed(values, tree, path[k]!, below), "assign", label, below);
  });
}

/** The terms in order, cut into consecutive chunks: the first piece assigns its sum, each later one adds its sum to the target. */
function chunkPieces(kernel: LoopKernel, tree: SumTree, budget: number): LoopKernel[] {
  const order: number[] = [];
  const visit = (i: number): void => {
    if (tree.terms.has(i)) order.push(i);
    else for (const a of (kernel.values[i] as { args: readonly number[] }).args) visit(a);
  };
  visit(kernel.values.length - 1);
  const chunks: number[][] = [];
  let size = 0;
  for (const term of order) {
    const w = tree.weight.get(term)! + 1;
    if (chunks.length === 0 || (size > 0 && size + w > budget)) {
      chunks.push([]);
      size = 0;
    }
    chunks[chunks.length - 1]!.push(term);
    size += w;
  }
  return chunks.map((chunk, p) => {
    const indices = [...new Set(chunk.flatMap((t) => tree.terms.get(t)!))].sort((a, b) => a - b);
    const base = piece(
      kernel,
      indices,
      p === 0 ? "assign" : "add",
      `terms of part ${p + 1} of ${chunks.length} of its sum`,
    );
    // Σ of the chunk's terms, left to right, after their values.
    const values = [...base.values];
    const at = (term: number) => indices.indexOf(term);
    let sum = at(chunk[0]!);
    for (const term of chunk.slice(1)) {
      values.push({ kind: "op", op: Op.Add, args: [sum, at(term)] });
      sum = values.length - 1;
    }
    return { ...base, values };
  });
}
