// Statistics across the batch and the normalisations built on them, written with IR primitives:
// batchSum (batched → shared) and the run-time example count n. Their derivatives follow from the
// primitives' rules, so they are the true gradients through the statistic: every example's output
// depends on every example's input through μ and σ² (the Jacobian of the mean and the variance,
// not a per-example approximation).

import * as ir from "../ir/build.js";
import type { Node } from "../ir/node.js";
import { GradgenError } from "../errors.js";
import { broadcastsTo, formatShape, sameShape } from "../ir/shape.js";
import { activeTrace } from "./trace.js";

const describeValue = (value: unknown): string => (typeof value === "string" ? JSON.stringify(value) : String(value));

function requirePerExample(fn: string, x: Node): void {
  if (x.batched) return;
  throw new GradgenError(
    `${fn}: the value is already shared by all examples (it depends on no input), so it has no statistic over the batch; ` +
      `apply ${fn} to a per-example value (one computed from an input), or use the shared value itself.`,
  );
}

/** μ = (1/n) Σₑ xₑ over the n examples of the call: one shared value per element. */
export function batchMean(x: Node, fn = "batchMean"): Node {
  requirePerExample(fn, x);
  return ir.mul(ir.batchSum(x), ir.div(1, ir.batchSize()));
}

/** σ² = (1/n) Σₑ (xₑ − μ)², the biased (population) variance over the n examples of the call. */
export function batchVariance(x: Node, fn = "batchVariance"): Node {
  requirePerExample(fn, x);
  return batchMean(ir.powConst(ir.sub(x, batchMean(x)), 2));
}

export interface BatchNormOptions {
  /** running ← momentum·running + (1 − momentum)·batch statistic; default 0.99 (Keras, Flax). */
  readonly momentum?: number;
  /** Added to the variance under the square root; default 1e-5 (PyTorch, Flax). */
  readonly eps?: number;
}

function requireEps(fn: string, eps: unknown): number {
  if (typeof eps !== "number" || !Number.isFinite(eps) || eps <= 0)
    throw new GradgenError(`${fn}: eps must be a finite number > 0, got ${describeValue(eps)}.`);
  return eps;
}

/** γ and β: the same shape, broadcasting to x's per-example shape. Returns γ's shape padded to x's rank. */
function scaleShape(fn: string, x: Node, gamma: Node, beta: Node): number[] {
  if (!sameShape(gamma.shape, beta.shape) || !broadcastsTo(gamma.shape, x.shape))
    throw new GradgenError(
      `${fn}: gamma ${formatShape(gamma.shape)} and beta ${formatShape(beta.shape)} must have one shape that broadcasts ` +
        `to x ${formatShape(x.shape)} (numpy rules, aligned on the right), e.g. [${x.shape.at(-1) ?? 1}] for features on the last axis.`,
    );
  return [...new Array<number>(x.shape.length - gamma.shape.length).fill(1), ...gamma.shape];
}

/**
 * Batch normalisation. Statistics have γ's shape: over the examples, and over x's axes where γ has
 * size 1 (x [C, H, W] with γ [C, 1, 1] normalises each channel over the batch and the image, as
 * PyTorch's BatchNorm2d). Training forms (gradient, trainingLoss, step) use the batch's μ and
 * biased σ²; loss and predict use the running ones; step folds μ and the unbiased σ²·m/(m − 1)
 * (m = n × elements per statistic; at m = 1 the divisor is 1) into them with `momentum`.
 */
export function batchNorm(x: Node, gamma: Node, beta: Node, options: BatchNormOptions | undefined): Node {
  const fn = "nn.batchNorm";
  const trace = activeTrace();
  if (!trace)
    throw new GradgenError(
      `${fn} can only be used inside a model(...) definition, where the trainer keeps its running statistics.`,
    );
  if (options !== undefined && (typeof options !== "object" || options === null))
    throw new GradgenError(`${fn}: options must be an object { momentum?, eps? }, got ${describeValue(options)}.`);
  const momentum = options?.momentum ?? 0.99;
  if (typeof momentum !== "number" || !(momentum >= 0 && momentum < 1))
    throw new GradgenError(`${fn}: momentum must be a number in [0, 1), got ${describeValue(momentum)}.`);
  const eps = requireEps(fn, options?.eps ?? 1e-5);
  requirePerExample(fn, x);
  const kept = scaleShape(fn, x, gamma, beta);
  const axes = kept.flatMap((dim, i) => (dim === 1 ? [i] : []));
  const perExample = axes.reduce((count, axis) => count * x.shape[axis]!, 1);
  const count = ir.mul(ir.batchSize(), perExample);
  // μ and σ² in γ's shape, summed over the reduced axes of each example, then over the examples
  const statistic = (value: Node): Node => ir.reshape(ir.div(ir.batchSum(ir.sum(value, axes)), count), gamma.shape);
  const expand = (value: Node): Node => ir.broadcastTo(ir.reshape(value, kept), x.shape);
  const mean = statistic(x);
  const centered = ir.sub(x, expand(mean));
  const variance = statistic(ir.powConst(centered, 2));
  const unbiased = ir.mul(variance, ir.div(count, ir.maximum(ir.sub(count, 1), 1)));
  const label = (slot: string) => `batchNorm${trace.batchNorms}.${slot}`;
  const runningMean = ir.batchStatistic(mean, ir.runningStat(label("runningMean"), gamma.shape, 0), mean, momentum);
  const runningVariance = ir.batchStatistic(
    variance,
    ir.runningStat(label("runningVariance"), gamma.shape, 1),
    unbiased,
    momentum,
  );
  trace.batchNorms++;
  const normalized = ir.div(ir.sub(x, expand(runningMean)), ir.sqrt(ir.add(expand(runningVariance), eps)));
  return ir.add(ir.mul(normalized, gamma), beta);
}

/** Layer normalisation of each example over its last axis: (x − μ)/√(σ² + eps)·γ + β, σ² biased. */
export function layerNorm(x: Node, gamma: Node, beta: Node, eps: unknown): Node {
  const fn = "nn.layerNorm";
  if (x.shape.length === 0) throw new GradgenError(`${fn}: needs at least one axis, got a scalar.`);
  const epsilon = requireEps(fn, eps ?? 1e-5);
  scaleShape(fn, x, gamma, beta);
  const last = [x.shape.length - 1];
  const width = x.shape.at(-1)!;
  const expand = (value: Node): Node => ir.broadcastTo(ir.reshape(value, [...x.shape.slice(0, -1), 1]), x.shape);
  const centered = ir.sub(x, expand(ir.div(ir.sum(x, last), width)));
  const variance = ir.div(ir.sum(ir.powConst(centered, 2), last), width);
  return ir.add(ir.mul(ir.div(centered, ir.sqrt(ir.add(expand(variance), epsilon))), gamma), beta);
}
