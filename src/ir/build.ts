// Plain constructors over makeNode, one per op. No rewriting happens here: what you build is what
// you get (passes/simplify.ts does the algebra), so printed IR mirrors the model as written.

import { makeNode, type Node } from "./node.js";
import { Op } from "./ops.js";
import { sameShape, type Shape } from "./shape.js";
import type { WindowSpec } from "./window.js";

export type Operand = Node | number;

export function constant(value: number): Node {
  return makeNode(Op.Const, [], { value });
}

function lift(x: Operand): Node {
  return typeof x === "number" ? constant(x) : x;
}

export const batchSize = (): Node => makeNode(Op.BatchSize, []);

const unary =
  (op: Op) =>
  (x: Operand): Node =>
    makeNode(op, [lift(x)]);
const binary =
  (op: Op) =>
  (a: Operand, b: Operand): Node =>
    makeNode(op, [lift(a), lift(b)]);

export const neg = unary(Op.Neg);
export const exp = unary(Op.Exp);
export const log = unary(Op.Log);
export const sin = unary(Op.Sin);
export const cos = unary(Op.Cos);
export const sqrt = unary(Op.Sqrt);
export const abs = unary(Op.Abs);
export const sign = unary(Op.Sign);
export const sigmoid = unary(Op.Sigmoid);
export const tanh = unary(Op.Tanh);
export const softplus = unary(Op.Softplus);
export const add = binary(Op.Add);
export const sub = binary(Op.Sub);
export const mul = binary(Op.Mul);
export const div = binary(Op.Div);
export const maximum = binary(Op.Maximum);
export const minimum = binary(Op.Minimum);
export const greater = binary(Op.Greater);
export const equal = binary(Op.Equal);
export const matmul = binary(Op.MatMul);
export const softmaxCrossEntropy = binary(Op.SoftmaxCrossEntropy);
export const logSumExp = unary(Op.LogSumExp);
export const stopGradient = unary(Op.StopGradient);

export function powConst(x: Operand, exponent: number): Node {
  return makeNode(Op.PowConst, [lift(x)], { exponent });
}

export function select(condition: Operand, whenTrue: Operand, whenFalse: Operand): Node {
  return makeNode(Op.Select, [lift(condition), lift(whenTrue), lift(whenFalse)]);
}

export function reshape(x: Node, shape: Shape): Node {
  return sameShape(x.shape, shape) ? x : makeNode(Op.Reshape, [x], { shape });
}

export function transpose(x: Node, perm?: readonly number[]): Node {
  const axes = perm ?? x.shape.map((_, i) => x.shape.length - 1 - i);
  if (axes.every((p, i) => p === i)) return x;
  return makeNode(Op.Transpose, [x], { perm: axes });
}

export function broadcastTo(x: Node, shape: Shape): Node {
  return sameShape(x.shape, shape) ? x : makeNode(Op.Broadcast, [x], { shape });
}

export function sum(x: Node, axes?: readonly number[]): Node {
  const all = axes ?? x.shape.map((_, i) => i);
  if (all.length === 0) return x;
  return makeNode(Op.Sum, [x], { axes: [...all].sort((a, b) => a - b) });
}

export function max(x: Node, axes?: readonly number[]): Node {
  const all = axes ?? x.shape.map((_, i) => i);
  if (all.length === 0) return x;
  return makeNode(Op.Max, [x], { axes: [...all].sort((a, b) => a - b) });
}

/** Σ over the examples of a call; a value shared by all examples sums to n times itself. */
export function batchSum(x: Node): Node {
  return x.batched ? makeNode(Op.BatchSum, [x]) : mul(x, batchSize());
}

/** A running statistic (non-trained state of nn.batchNorm), shared by all examples. */
export function runningStat(label: string, shape: Shape, initial: number): Node {
  return makeNode(Op.RunningStat, [], { name: label, shape: [...shape], value: initial });
}

/** `batch` while training, `running` in loss and predict; step folds `estimate` into `running` with `momentum`. */
export function batchStatistic(batch: Node, running: Node, estimate: Node, momentum: number): Node {
  return makeNode(Op.BatchStatistic, [batch, running, estimate], { momentum });
}

// ── Integer ids (issue 11) ───────────────────────────────────────────────────────────────────

/** Rows of `table` at `ids` (an int32 input); `batchDims` leading axes are shared: table[b…, ids[b…, i…], r…]. */
export function gather(table: Node, ids: Node, batchDims = 0): Node {
  return makeNode(Op.Gather, [table, ids], batchDims ? { batchDims } : {});
}

/** `base` with `values` added at the rows `ids` name (repeated ids add up): gather's transpose. */
export function scatterAdd(base: Node, values: Node, ids: Node, batchDims = 0): Node {
  return makeNode(Op.ScatterAdd, [base, values, ids], batchDims ? { batchDims } : {});
}

/** 1 at each id along a new last axis of length `depth`, 0 elsewhere. */
export function oneHot(ids: Node, depth: number): Node {
  return makeNode(Op.OneHot, [ids], { depth });
}

/** `node` with new operands (as passes rebuild graphs), keeping the semantics where an operand stopped being per-example. */
export function rebuild(node: Node, inputs: readonly Node[]): Node {
  if (inputs.every((input, i) => input === node.inputs[i])) return node;
  if (node.op === Op.BatchSum) return batchSum(inputs[0]!);
  return makeNode(node.op, inputs, node.attrs);
}

// ── Slicing and joining ─────────────────────────────────────────────────────────────────────────

/** The window [begin, begin + size) of each axis; the whole tensor is itself. */
export function slice(x: Node, begin: readonly number[], size: Shape): Node {
  if (begin.every((b) => b === 0) && sameShape(size, x.shape)) return x;
  return makeNode(Op.Slice, [x], { begin: [...begin], shape: [...size] });
}

/** x inside a border of `value`: `before[i]` elements before axis i, `after[i]` after it. */
export function pad(x: Node, before: readonly number[], after: readonly number[], value = 0): Node {
  if ([...before, ...after].every((p) => p === 0)) return x;
  return makeNode(Op.Pad, [x], { begin: [...before], end: [...after], value });
}

/** The operands joined along `axis`; one operand is itself. */
export function concat(xs: readonly Node[], axis: number): Node {
  if (xs.length === 1) return xs[0]!;
  return makeNode(Op.Concat, xs, { axis });
}

/** 0, 1, …, n − 1 as a shared vector (built by doubling: log n joins, no constant tensors needed). */
export function iota(n: number): Node {
  let values = reshape(constant(0), [1]);
  while (values.shape[0]! < n) values = concat([values, add(values, values.shape[0]!)], 0);
  return slice(values, [0], [n]);
}

/** im2col: every window of the zero-padded image [C, S…] as [O…, C, K…] (window.ts). */
export function patches(image: Node, window: WindowSpec): Node {
  return makeNode(Op.Patches, [image], { window });
}

/** col2im, the transpose of `patches`: each window of `columns` scatter-added onto an image of `imageShape`. */
export function patchesAdjoint(columns: Node, imageShape: Shape, window: WindowSpec): Node {
  return makeNode(Op.PatchesAdjoint, [columns], { window, shape: imageShape });
}
