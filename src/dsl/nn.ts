// Activations and per-example losses. Derived ones are written with primitives (their gradients
// follow from the primitives' rules); numerically delicate ones map to single stable ops.

import * as ir from "../ir/build.js";
import type { Node } from "../ir/node.js";
import { GradgenError } from "../errors.js";
import { formatShape, sameShape } from "../ir/shape.js";
import { describeValue, nodeOf, requireFinite, traced, type Tensor, type TensorLike } from "./tensor.js";
import { newDropoutMask } from "./model.js";
import { activeTrace } from "./trace.js";

const lastAxis = (x: Node): number[] => [x.shape.length - 1];
/** maximum/minimum accept ±Infinity as a number operand: a bound that never binds. */
const bound = { infiniteBound: true };

/** logΣexp over the last axis, broadcast back over it. */
function logSumExpKept(x: Node): Node {
  const lse = ir.logSumExp(x);
  return ir.broadcastTo(ir.reshape(lse, [...x.shape.slice(0, -1), 1]), x.shape);
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

export const nn = {
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
  /** Softmax over the last axis: e^(x − logΣeˣ), stable for any x. */
  softmax: (x: Tensor): Tensor =>
    traced(() => {
      requireVectorLike("softmax", x.node);
      return ir.exp(ir.sub(x.node, logSumExpKept(x.node)));
    }),
  logSoftmax: (x: Tensor): Tensor =>
    traced(() => {
      requireVectorLike("logSoftmax", x.node);
      return ir.sub(x.node, logSumExpKept(x.node));
    }),
  /** log Σ eˣ over the last axis, stable. */
  logSumExp: (x: Tensor): Tensor =>
    traced(() => {
      requireVectorLike("logSumExp", x.node);
      return ir.logSumExp(x.node);
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
};
