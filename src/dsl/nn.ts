// Activations and per-example losses. Derived ones are written with primitives (their gradients
// follow from the primitives' rules); numerically delicate ones map to single stable ops.

import * as ir from "../ir/build.js";
import { isIntegerNode, type Node } from "../ir/node.js";
import { Op } from "../ir/ops.js";
import { GradgenError } from "../errors.js";
import { formatShape, sameShape } from "../ir/shape.js";
import { resolveAxis, resolvePaddings } from "../ir/slicing.js";
import { describeValue, nodeOf, requireFinite, traced, type Tensor, type TensorLike } from "./tensor.js";
import { newDropoutMask } from "./model.js";
import { batchNorm, layerNorm, type BatchNormOptions } from "./normalization.js";
import { convolutionOps } from "./conv.js";
import { activeTrace } from "./trace.js";
import { scan } from "./scan.js";

const lastAxis = (x: Node): number[] => [x.shape.length - 1];
/** maximum/minimum accept ±Infinity as a number operand: a bound that never binds. */
const bound = { infiniteBound: true };

/**
 * logΣexp over `axes`: the op reduces the last axis, so another axis is first moved there (a
 * transpose, which the generated code reads in place); several axes one after another
 * (log Σᵢ Σⱼ e^xᵢⱼ = log Σᵢ e^(log Σⱼ e^xᵢⱼ)), the highest first so the others keep their numbers.
 */
function logSumExpOver(x: Node, axes: readonly number[]): Node {
  let result = x;
  for (const axis of [...axes].sort((a, b) => b - a)) {
    const perm = [...result.shape.keys()].filter((i) => i !== axis);
    result = ir.logSumExp(ir.transpose(result, [...perm, axis]));
  }
  return result;
}

/** logΣexp over `axis`, broadcast back over it. */
function logSumExpKept(x: Node, axis = x.shape.length - 1): Node {
  const lse = logSumExpOver(x, [axis]);
  return ir.broadcastTo(
    ir.reshape(
      lse,
      x.shape.map((dim, i) => (i === axis ? 1 : dim)),
    ),
    x.shape,
  );
}

/** One axis of x, −rank … rank − 1 (the last by default). */
function axisOf(fn: string, x: Node, axis: unknown): number {
  requireVectorLike(fn, x);
  return resolveAxis(fn, axis ?? -1, x.shape.length, `a tensor of shape ${formatShape(x.shape)}`);
}

/** Tensors to join: a non-empty list of Tensors. */
function tensorList(fn: string, tensors: unknown): Node[] {
  if (
    !Array.isArray(tensors) ||
    tensors.length === 0 ||
    !tensors.every((t) => t !== null && typeof t === "object" && "node" in t)
  )
    throw new GradgenError(
      `${fn}: needs a non-empty list of tensors, such as ${fn}([a, b], 0), got ${describeValue(tensors)}.`,
    );
  return tensors.map((t: Tensor) => t.node);
}

function requireVectorLike(name: string, x: Node): void {
  if (x.shape.length === 0) throw new GradgenError(`${name}: needs at least one axis, got a scalar.`);
}

function requireSameShape(name: string, y: Node, t: Node): void {
  if (!sameShape(y.shape, t.shape)) {
    throw new GradgenError(
      `${name}: prediction ${formatShape(y.shape)} and target ${formatShape(t.shape)} must have the same shape.`,
    );
  }
}

/** Integer ids must come from an int32 input: a float tensor is refused here, with the model's line. */
function requireIds(fn: string, argument: string, ids: Node): void {
  if (isIntegerNode(ids)) return;
  const what = ids.op === Op.Input ? `the float input "${ids.attrs.name}"` : `a float tensor ${formatShape(ids.shape)}`;
  throw new GradgenError(
    `${fn}: ${argument} must be an int32 input, got ${what}; declare it with input(name, shape, { dtype: "int32" }) and pass that tensor.`,
  );
}

export const nn = {
  /**
   * A loop over the leading (time) axis of `xs`: step(carry, x_t) → [carry, y_t], traced once (JAX's
   * lax.scan). Returns [final carry, ys stacked [T, …]]; the generated code is one loop over t.
   */
  scan,
  /**
   * Rows of `table` at integer `ids` (an embedding lookup): table [vocab, d…], ids [T…] → [T…, d…].
   * Its gradient scatter-adds into the table: O(T·d) per example, whatever the vocabulary.
   */
  gather: (table: Tensor, ids: Tensor): Tensor =>
    traced(() => {
      requireIds("nn.gather", "ids", ids.node);
      return ir.gather(table.node, ids.node);
    }),
  /** 1 at each id along a new last axis of length `depth`: int32 ids [T…] → float [T…, depth]; no gradient. */
  oneHot: (ids: Tensor, depth: number): Tensor =>
    traced(() => {
      if (!Number.isInteger(depth) || depth < 1)
        throw new GradgenError(
          `nn.oneHot: depth must be a positive integer (the number of classes), got ${describeValue(depth)}.`,
        );
      requireIds("nn.oneHot", "ids", ids.node);
      return ir.oneHot(ids.node, depth);
    }),
  sigmoid: (x: Tensor): Tensor => traced(() => ir.sigmoid(x.node)),
  tanh: (x: Tensor): Tensor => traced(() => ir.tanh(x.node)),
  /** max(x, 0); relu′(0) = 0 (as jax.nn.relu and TensorFlow). */
  relu: (x: Tensor): Tensor => traced(() => ir.maximum(x.node, 0)),
  /** x for x > 0, αx otherwise; leakyRelu′(0) = α (as TensorFlow and PyTorch; relu is α = 0). */
  leakyRelu: (x: Tensor, alpha = 0.01): Tensor =>
    traced(() => {
      requireFinite("nn.leakyRelu", "alpha", alpha);
      return ir.select(ir.greater(x.node, 0), x.node, ir.mul(alpha, x.node));
    }),
  /**
   * x for x > 0, α(eˣ − 1) otherwise; elu′(0) = α, the left side's (as JAX and PyTorch; 1 for α = 1).
   * exp sees x only where x ≤ 0 (0 elsewhere), so the unused branch cannot overflow; that clamp is a
   * select, not min(x, 0), so its derivative at 0 is 1, not min's 0.
   */
  elu: (x: Tensor, alpha = 1): Tensor =>
    traced(() => {
      requireFinite("nn.elu", "alpha", alpha);
      const positive = ir.greater(x.node, 0);
      const negativePart = ir.select(positive, 0, x.node);
      return ir.select(positive, x.node, ir.mul(alpha, ir.sub(ir.exp(negativePart), 1)));
    }),
  softplus: (x: Tensor): Tensor => traced(() => ir.softplus(x.node)),
  /** x·σ(βx) */
  swish: (x: Tensor, beta = 1): Tensor =>
    traced(() => {
      requireFinite("nn.swish", "beta", beta);
      return ir.mul(x.node, ir.sigmoid(ir.mul(beta, x.node)));
    }),
  /** max(−1, min(1, x)); hardTanh′(±1) = 0 (clamps against constants, as relu′(0) = 0). */
  hardTanh: (x: Tensor): Tensor => traced(() => ir.maximum(-1, ir.minimum(1, x.node))),
  /** Max over consecutive groups of k along the last axis; tied elements of a group share the gradient equally. */
  maxout: (x: Tensor, k: number): Tensor =>
    traced(() => {
      requireVectorLike("maxout", x.node);
      if (typeof k !== "number" || !Number.isInteger(k) || k < 1) {
        throw new GradgenError(`nn.maxout: the group size k must be a positive integer, got ${describeValue(k)}.`);
      }
      const last = x.node.shape[x.node.shape.length - 1]!;
      if (last % k !== 0) {
        throw new GradgenError(`nn.maxout: the last axis (${last}) must split into groups of k = ${k}.`);
      }
      const grouped = ir.reshape(x.node, [...x.node.shape.slice(0, -1), last / k, k]);
      return ir.max(grouped, [grouped.shape.length - 1]);
    }),
  /** Softmax over `axis` (the last by default): e^(x − logΣeˣ), stable for any x. */
  softmax: (x: Tensor, axis = -1): Tensor =>
    traced(() => ir.exp(ir.sub(x.node, logSumExpKept(x.node, axisOf("nn.softmax", x.node, axis))))),
  /** log softmax over `axis` (the last by default): x − logΣeˣ. */
  logSoftmax: (x: Tensor, axis = -1): Tensor =>
    traced(() => ir.sub(x.node, logSumExpKept(x.node, axisOf("nn.logSoftmax", x.node, axis)))),
  /** log Σ eˣ over `axis` (the last by default; a list of axes reduces each), stable. */
  logSumExp: (x: Tensor, axis: number | readonly number[] = -1): Tensor =>
    traced(() => {
      const axes = Array.isArray(axis) ? axis : [axis];
      if (axes.length === 0) return x.node;
      const resolved = axes.map((a) => axisOf("nn.logSumExp", x.node, a));
      return logSumExpOver(x.node, [...new Set(resolved)]);
    }),
  /**
   * The index of the largest element along `axis` (the last by default), as a number in the real
   * dtype; ties give the first such index (as numpy and TF.js). For outputs: it has no gradient.
   */
  argmax: (x: Tensor, axis = -1): Tensor =>
    traced(() => {
      const a = axisOf("nn.argmax", x.node, axis);
      const shape = x.node.shape;
      const n = shape[a]!;
      const largest = ir.broadcastTo(
        ir.reshape(
          ir.max(x.node, [a]),
          shape.map((d, i) => (i === a ? 1 : d)),
        ),
        shape,
      );
      const index = ir.broadcastTo(ir.reshape(ir.iota(n), shape.map((d, i) => (i === a ? d : 1)).slice(a)), shape);
      // −(the smallest index holding the maximum) is the largest of −i over those indices; −n elsewhere
      const negated = ir.select(ir.equal(x.node, largest), ir.neg(index), -n);
      return ir.neg(ir.max(negated, [a]));
    }),
  /** Tensors joined along `axis` (0 by default), as tf.concat: every other axis must agree. */
  concat: (tensors: readonly Tensor[], axis = 0): Tensor =>
    traced(() => {
      const xs = tensorList("nn.concat", tensors);
      const shapes = xs.map((x) => formatShape(x.shape)).join(", ");
      if (xs[0]!.shape.length === 0)
        throw new GradgenError(`nn.concat: cannot join scalars (${shapes}); use nn.stack to make a vector of them.`);
      const a = resolveAxis("nn.concat", axis, xs[0]!.shape.length, `tensors of shapes ${shapes}`);
      return ir.concat(xs, a);
    }),
  /** Tensors of one shape stacked along a new axis `axis` (0 by default), as tf.stack. */
  stack: (tensors: readonly Tensor[], axis = 0): Tensor =>
    traced(() => {
      const xs = tensorList("nn.stack", tensors);
      const shape = xs[0]!.shape;
      const odd = xs.findIndex((x) => !sameShape(x.shape, shape));
      if (odd >= 0)
        throw new GradgenError(
          `nn.stack: every tensor must have the same shape, but tensor 0 is ${formatShape(shape)} and tensor ${odd} is ${formatShape(xs[odd]!.shape)}. Reshape, slice or pad them to one shape (nn.concat joins tensors of different lengths along an existing axis).`,
        );
      const a = resolveAxis("nn.stack", axis, shape.length + 1, `stacking tensors of shape ${formatShape(shape)}`);
      const expanded = [...shape.slice(0, a), 1, ...shape.slice(a)];
      return ir.concat(
        xs.map((x) => ir.reshape(x, expanded)),
        a,
      );
    }),
  /** x inside a border of `value` (0 by default): `paddings` is [before, after] per axis, as tf.pad. */
  pad: (x: Tensor, paddings: readonly (readonly [number, number])[], value = 0): Tensor =>
    traced(() => {
      requireFinite("nn.pad", "value", value);
      const { before, after } = resolvePaddings(x.node.shape, paddings);
      return ir.pad(x.node, before, after, value);
    }),
  /** Elementwise max; tied expressions share the gradient equally, and against a number x gets 0 at the tie (as relu). */
  maximum: (a: TensorLike, b: TensorLike): Tensor =>
    traced(() => ir.maximum(nodeOf(a, "nn.maximum", "a", bound), nodeOf(b, "nn.maximum", "b", bound))),
  /**
   * Inverted dropout: during training steps each unit is kept with probability 1 − p and scaled by
   * 1/(1 − p), with a fresh mask per step; loss() and predict() see the identity.
   */
  dropout: (x: Tensor, p: number): Tensor =>
    traced(() => {
      if (typeof p !== "number" || !(p >= 0 && p < 1))
        throw new GradgenError(`nn.dropout: p must be a probability in [0, 1), got ${describeValue(p)}.`);
      return p === 0 ? x.node : ir.mul(x.node, newDropoutMask(x.node.shape, p));
    }),
  /** Elementwise min, with maximum's conventions at ties. */
  minimum: (a: TensorLike, b: TensorLike): Tensor =>
    traced(() => ir.minimum(nodeOf(a, "nn.minimum", "a", bound), nodeOf(b, "nn.minimum", "b", bound))),

  // Selection and gradient control

  /** cond ≠ 0 ? a : b elementwise (numpy broadcasting); the branch taken gets the gradient, cond none. */
  where: (cond: TensorLike, a: TensorLike, b: TensorLike): Tensor =>
    traced(() => ir.select(nodeOf(cond, "nn.where", "cond"), nodeOf(a, "nn.where", "a"), nodeOf(b, "nn.where", "b"))),
  /**
   * min(max(x, lo), hi) for numbers lo ≤ hi (±Infinity for an open side); clip′ = 1 strictly inside
   * (lo, hi) and 0 outside and at the bounds themselves (as hardTanh′(±1) = 0 and relu′(0) = 0).
   */
  clip: (x: Tensor, lo: number, hi: number): Tensor =>
    traced(() => {
      for (const [name, value] of [
        ["lo", lo],
        ["hi", hi],
      ] as const) {
        if (typeof value !== "number" || Number.isNaN(value))
          throw new GradgenError(
            `nn.clip: ${name} must be a number (±Infinity for a side that never binds), got ${describeValue(value)}.`,
          );
      }
      if (!(lo <= hi)) throw new GradgenError(`nn.clip: lo (${lo}) must not exceed hi (${hi}); swap them.`);
      return ir.maximum(lo, ir.minimum(hi, x.node));
    }),
  /** x in the forward pass; no gradient flows through it (∂/∂x := 0). Removed before scheduling. */
  stopGradient: (x: Tensor): Tensor => traced(() => ir.stopGradient(x.node)),

  // Losses: one value per example; the trainer averages them over the batch.

  /** ½ Σ (y − t)² */
  halfSquaredError: (y: Tensor, t: Tensor): Tensor =>
    traced(() => {
      requireSameShape("halfSquaredError", y.node, t.node);
      return ir.mul(0.5, ir.sum(ir.powConst(ir.sub(y.node, t.node), 2)));
    }),
  /**
   * ½ Σ r² of a residual r (any shape per example), marking r as the model's residual: with it as the
   * loss, --optimizer levenberg-marquardt and hessian-free use the Gauss–Newton matrix JᵀJ of r.
   */
  leastSquares: (r: Tensor): Tensor =>
    traced(() => {
      const loss = ir.mul(0.5, ir.sum(ir.powConst(r.node, 2)));
      activeTrace()?.leastSquares.set(loss, r.node);
      return loss;
    }),
  /** mean over elements of (y − t)² */
  mse: (y: Tensor, t: Tensor): Tensor =>
    traced(() => {
      requireSameShape("mse", y.node, t.node);
      return ir.div(ir.sum(ir.powConst(ir.sub(y.node, t.node), 2)), y.node.size);
    }),
  /**
   * −Σ y·log softmax(z) over the last axis, fused and stable. As in TensorFlow, the targets are
   * distributions over the last axis (one-hot or smoothed), and the gradient is softmax(z) − y.
   */
  softmaxCrossEntropy: (logits: Tensor, onehot: Tensor): Tensor =>
    traced(() => {
      requireSameShape("softmaxCrossEntropy", logits.node, onehot.node);
      return ir.softmaxCrossEntropy(logits.node, onehot.node);
    }),
  /**
   * −log softmax(z)[label] per position, summed: logits [..., C] and int32 labels [...]. Written as
   * logΣexp(z) − gather(z, label) (stable for any logits); its gradient softmax(z) − onehot(label) is
   * a scatter of −ḡ into ḡ·softmax(z), the one-hot never materialised.
   */
  sparseSoftmaxCrossEntropy: (logits: Tensor, labels: Tensor): Tensor =>
    traced(() => {
      const z = logits.node;
      const y = labels.node;
      if (z.shape.length === 0 || !sameShape(z.shape.slice(0, -1), y.shape)) {
        throw new GradgenError(
          `sparseSoftmaxCrossEntropy: logits ${formatShape(z.shape)} and labels ${formatShape(y.shape)} do not fit; ` +
            `the labels have the logits' shape without its last axis (logits [T, classes] take labels [T]; logits [classes] take a scalar label, shape []).`,
        );
      }
      requireIds("sparseSoftmaxCrossEntropy", "labels", y);
      return ir.sub(ir.sum(ir.logSumExp(z)), ir.sum(ir.gather(z, y, y.shape.length)));
    }),
  /** Binary cross-entropy from logits: Σ softplus(z) − z·y, stable; its gradient is σ(z) − y. */
  sigmoidCrossEntropy: (logits: Tensor, y: Tensor): Tensor =>
    traced(() => {
      requireSameShape("sigmoidCrossEntropy", logits.node, y.node);
      return ir.sum(ir.sub(ir.softplus(logits.node), ir.mul(logits.node, y.node)));
    }),
  /** −Σ y·log p */
  crossEntropy: (p: Tensor, y: Tensor): Tensor =>
    traced(() => {
      requireSameShape("crossEntropy", p.node, y.node);
      return ir.neg(ir.sum(ir.mul(y.node, ir.log(p.node))));
    }),
  /** −Σ [y·log p + (1 − y)·log(1 − p)] */
  binaryCrossEntropy: (p: Tensor, y: Tensor): Tensor =>
    traced(() => {
      requireSameShape("binaryCrossEntropy", p.node, y.node);
      const terms = ir.add(ir.mul(y.node, ir.log(p.node)), ir.mul(ir.sub(1, y.node), ir.log(ir.sub(1, p.node))));
      return ir.neg(ir.sum(terms));
    }),
  /** Multiclass hinge: Σ_{j≠y} max(0, s_j − s_y + 1) for one-hot y; a margin of exactly 0 passes no gradient (as relu′(0)). */
  hinge: (scores: Tensor, onehot: Tensor): Tensor =>
    traced(() => {
      requireSameShape("hinge", scores.node, onehot.node);
      requireVectorLike("hinge", scores.node);
      const s = scores.node;
      const y = onehot.node;
      const correct = ir.broadcastTo(
        ir.reshape(ir.sum(ir.mul(s, y), lastAxis(s)), [...s.shape.slice(0, -1), 1]),
        s.shape,
      );
      const margins = ir.maximum(0, ir.add(ir.sub(s, correct), 1));
      return ir.sum(ir.mul(margins, ir.sub(1, y)));
    }),
  /** Σ W², for weight-decay terms added to the loss. */
  l2: (w: Tensor): Tensor => traced(() => ir.sum(ir.powConst(w.node, 2))),
  /** Σ |W| */
  l1: (w: Tensor): Tensor => traced(() => ir.sum(ir.abs(w.node))),

  // Normalisation (src/dsl/normalization.ts)

  /**
   * (x − μ)/√(σ² + eps)·γ + β with μ, σ² over the batch while training (gradient, step) and the running
   * statistics in loss and predict; step updates running ← momentum·running + (1 − momentum)·batch value
   * (the variance unbiased, as PyTorch). Defaults: momentum 0.99, eps 1e-5.
   */
  batchNorm: (x: Tensor, gamma: TensorLike, beta: TensorLike, options?: BatchNormOptions): Tensor =>
    traced(() =>
      batchNorm(x.node, nodeOf(gamma, "nn.batchNorm", "gamma"), nodeOf(beta, "nn.batchNorm", "beta"), options),
    ),
  /** (x − μ)/√(σ² + eps)·γ + β over the last axis of each example (σ² biased); eps defaults to 1e-5. */
  layerNorm: (x: Tensor, gamma: TensorLike, beta: TensorLike, eps?: number): Tensor =>
    traced(() => layerNorm(x.node, nodeOf(gamma, "nn.layerNorm", "gamma"), nodeOf(beta, "nn.layerNorm", "beta"), eps)),
  // Convolution and pooling (conv.ts): conv1d, conv2d, maxPool1d, maxPool2d, avgPool1d, avgPool2d
  ...convolutionOps,
};
