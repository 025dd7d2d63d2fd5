// Specification of every op and loss of the DSL, checked through the GENERATED code (f64): the
// gradient() of each compiled model must match finite differences of its own loss() with respect
// to every parameter element and every element of each input declared { grad: true }, for a full
// batch and for a short last batch (n < batch), at seeded random points away from kinks.
import { describe, expect, it } from "vitest";
import { grad, model, nn, type ModelBuilder, type ModelDefinition, type Tensor } from "gradgen";
import { loadGenerated, type Fields, type GeneratedTrainer } from "./support/load-generated.js";

const BATCH = 3;
const SHORT = 2;
/** Relative error allowed between the generated gradient and the finite difference. */
const TOLERANCE = 1e-6;
/** Step of the finite differences. */
const H = 1e-4;
/**
 * Below this magnitude (|a| + |b|) a gradient element is compared absolutely (|a − b| < 1e-6 × FLOOR =
 * 1e-14): an exactly zero gradient has a finite difference at the rounding level of the loss, not 0.
 */
const FLOOR = 1e-4;

// ─── Seeded random values ──────────────────────────────────────────────────────────────────────

function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Values for one example of an input (or for a whole parameter), `size` of them. */
type Fill = (random: () => number, size: number) => number[];

const each = (draw: (random: () => number) => number): Fill => (random, size) => Array.from({ length: size }, () => draw(random));
const uniform = (lo: number, hi: number): Fill => each((r) => lo + (hi - lo) * r());
/** ±[lo, hi]: never within lo of the kink at 0. */
const signed = (lo: number, hi: number): Fill => each((r) => (r() < 0.5 ? -1 : 1) * (lo + (hi - lo) * r()));
/** Uniform over one of the intervals, each chosen equally often. */
const within = (...intervals: readonly (readonly [number, number])[]): Fill =>
  each((r) => {
    const [lo, hi] = intervals[Math.floor(r() * intervals.length)]!;
    return lo + (hi - lo) * r();
  });
/** A shuffled grid on [−1, 1] with jitter: values are at least 1/size apart, so maxima never tie. */
const distinct: Fill = (random, size) => {
  const slots = Array.from({ length: size }, (_, i) => i);
  for (let i = size - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [slots[i], slots[j]] = [slots[j]!, slots[i]!];
  }
  return slots.map((slot) => -1 + (2 * (slot + 0.25 + 0.5 * random())) / size);
};
/** One-hot rows of `classes` entries. */
const oneHot = (classes: number): Fill => (random, size) => {
  const values = new Array<number>(size).fill(0);
  for (let row = 0; row < size; row += classes) values[row + Math.floor(random() * classes)] = 1;
  return values;
};
/** Grid points k·step (|k| ≤ 2) plus jitter: differences stay near multiples of step. */
const lattice = (step: number, jitter: number): Fill => each((r) => step * (Math.floor(r() * 5) - 2) + jitter * (2 * r() - 1));

// ─── The table ─────────────────────────────────────────────────────────────────────────────────

interface Row {
  readonly name: string;
  /**
   * The tensor under test. Unless `loss` is set, the model's loss is Σ t ⊙ probe with a random
   * parameter `probe` shaped like t, so every element's adjoint is different (and ∂/∂probe = t
   * checks the forward values).
   */
  readonly build: (b: ModelBuilder) => Tensor;
  /** The tensor is itself the per-example loss. */
  readonly loss?: boolean;
  /** How to draw each input or parameter; uniform(−1, 1) otherwise. */
  readonly fill?: Readonly<Record<string, Fill>>;
}

const X = { grad: true } as const;

const tensorRows: Row[] = [
  // add
  { name: "add [2,3] + [2,3] (input + param)", build: ({ input, param }) => input("x", [2, 3], X).add(param("p", [2, 3])) },
  { name: "add [3] + [2,3] broadcast (input + param)", build: ({ input, param }) => input("x", [3], X).add(param("p", [2, 3])) },
  { name: "add [2,3] + [3] broadcast (input + param)", build: ({ input, param }) => input("x", [2, 3], X).add(param("p", [3])) },
  { name: "add [2,1] + [1,3] broadcast both ways", build: ({ input, param }) => input("x", [2, 1], X).add(param("p", [1, 3])) },
  { name: "add [2,3] + scalar param []", build: ({ input, param }) => input("x", [2, 3], X).add(param("p", [])) },
  { name: "add [2,3] + number", build: ({ input }) => input("x", [2, 3], X).add(0.75) },
  { name: "add [2,3] + [2,3] (input + input)", build: ({ input }) => input("x", [2, 3], X).add(input("y", [2, 3], X)) },
  // sub
  { name: "sub [2,3] − [2,3]", build: ({ input, param }) => input("x", [2, 3], X).sub(param("p", [2, 3])) },
  { name: "sub [3] − [2,3] broadcast", build: ({ input, param }) => param("p", [3]).sub(input("x", [2, 3], X)) },
  { name: "sub scalar [] − [4] broadcast", build: ({ input, param }) => input("x", [], X).sub(param("p", [4])) },
  { name: "sub [4] − number", build: ({ input }) => input("x", [4], X).sub(0.3) },
  // mul
  { name: "mul [2,3] · [2,3]", build: ({ input, param }) => input("x", [2, 3], X).mul(param("p", [2, 3])) },
  { name: "mul [3] · [2,3] broadcast", build: ({ input, param }) => param("p", [3]).mul(input("x", [2, 3], X)) },
  { name: "mul scalar param [] · [4]", build: ({ input, param }) => param("p", []).mul(input("x", [4], X)) },
  { name: "mul scalar input [] · [2,2]", build: ({ input, param }) => input("s", [], X).mul(param("p", [2, 2])) },
  { name: "mul [4] · number", build: ({ input }) => input("x", [4], X).mul(-2.5) },
  { name: "mul x · x (same operand)", build: ({ input }) => { const x = input("x", [4], X); return x.mul(x); } },
  // div
  {
    name: "div [2,3] / [2,3]",
    build: ({ input, param }) => input("x", [2, 3], X).div(param("p", [2, 3])),
    fill: { p: signed(0.5, 1.5) },
  },
  {
    name: "div [3] / [2,3] broadcast (input divisor)",
    build: ({ input, param }) => param("p", [3]).div(input("x", [2, 3], X)),
    fill: { x: signed(0.5, 1.5) },
  },
  { name: "div [4] / number", build: ({ input }) => input("x", [4], X).div(4) },
  { name: "div number / [4]", build: ({ input }) => { const x = input("x", [4], X); return x.mul(0).add(2).div(x); }, fill: { x: signed(0.5, 1.5) } },
  // neg, pow, square, sqrt
  { name: "neg [2,3]", build: ({ input, param }) => input("x", [2, 3], X).mul(param("p", [2, 3])).neg() },
  { name: "pow 3 [4] (any sign)", build: ({ input, param }) => input("x", [4], X).add(param("p", [4])).pow(3) },
  { name: "pow 2.5 [4]", build: ({ input, param }) => input("x", [4], X).add(param("p", [4])).pow(2.5), fill: { x: uniform(0.5, 1.5), p: uniform(0, 0.3) } },
  { name: "pow −1.5 [4]", build: ({ input, param }) => input("x", [4], X).add(param("p", [4])).pow(-1.5), fill: { x: uniform(0.5, 1.5), p: uniform(0, 0.3) } },
  { name: "pow 0.5 [4]", build: ({ input, param }) => input("x", [4], X).add(param("p", [4])).pow(0.5), fill: { x: uniform(0.5, 1.5), p: uniform(0, 0.3) } },
  { name: "pow −1 [4]", build: ({ input }) => input("x", [4], X).pow(-1), fill: { x: signed(0.5, 1.5) } },
  { name: "pow 1 [4]", build: ({ input, param }) => input("x", [4], X).mul(param("p", [4])).pow(1) },
  { name: "pow 0 [4]", build: ({ input, param }) => { const x = input("x", [4], X); return x.mul(param("p", [4])).pow(0).add(x); } },
  { name: "square [2,3]", build: ({ input, param }) => input("x", [2, 3], X).add(param("p", [3])).square() },
  { name: "sqrt [4]", build: ({ input, param }) => input("x", [4], X).add(param("p", [4])).sqrt(), fill: { x: uniform(0.5, 2), p: uniform(0, 0.3) } },
  // transcendental
  { name: "exp [4]", build: ({ input, param }) => input("x", [4], X).add(param("p", [4])).exp() },
  { name: "log [4]", build: ({ input, param }) => input("x", [4], X).mul(param("p", [4])).log(), fill: { x: uniform(0.5, 2), p: uniform(0.5, 2) } },
  { name: "sin [4]", build: ({ input, param }) => input("x", [4], X).mul(param("p", [4])).sin(), fill: { x: uniform(-2, 2), p: uniform(-2, 2) } },
  { name: "cos [4]", build: ({ input, param }) => input("x", [4], X).mul(param("p", [4])).cos(), fill: { x: uniform(-2, 2), p: uniform(-2, 2) } },
  { name: "abs [2,3]", build: ({ input, param }) => input("x", [2, 3], X).add(param("p", [2, 3])).abs(), fill: { x: signed(0.5, 1.5), p: uniform(-0.3, 0.3) } },
  // matmul
  { name: "matmul vector·matrix [3]·[3,4]", build: ({ input, param }) => input("x", [3], X).matmul(param("W", [3, 4])) },
  { name: "matmul matrix·vector [4,3]·[3]", build: ({ input, param }) => param("W", [4, 3]).matmul(input("x", [3], X)) },
  { name: "matmul matrix·matrix [2,3]·[3,4]", build: ({ input, param }) => input("x", [2, 3], X).matmul(param("W", [3, 4])) },
  { name: "matmul matrix·matrix [4,3]·[3,2] (param · input)", build: ({ input, param }) => param("W", [4, 3]).matmul(input("x", [3, 2], X)) },
  { name: "matmul vector·vector [3]·[3]", build: ({ input, param }) => input("x", [3], X).matmul(param("w", [3])) },
  { name: "matmul input·input [2,3]·[3,2]", build: ({ input }) => input("x", [2, 3], X).matmul(input("y", [3, 2], X)) },
  { name: "matmul param·param [2,3]·[3,2] times input", build: ({ input, param }) => param("A", [2, 3]).matmul(param("B", [3, 2])).mul(input("x", [2, 2], X)) },
  { name: "matmul chain [3]·[3,4]·[4,2]", build: ({ input, param }) => input("x", [3], X).matmul(param("W1", [3, 4])).matmul(param("W2", [4, 2])) },
  // layout
  { name: "transpose [2,3] → [3,2]", build: ({ input, param }) => input("x", [2, 3], X).transpose().mul(param("p", [3, 2])) },
  { name: "transpose [2,3,4] perm [2,0,1]", build: ({ input, param }) => input("x", [2, 3, 4], X).transpose([2, 0, 1]).add(param("p", [4, 2, 3])) },
  { name: "transpose then matmul [3,2]ᵀ·[3,4]", build: ({ input, param }) => input("x", [3, 2], X).transpose().matmul(param("W", [3, 4])) },
  { name: "transpose of a param, matmul", build: ({ input, param }) => input("x", [3], X).matmul(param("W", [4, 3]).transpose()) },
  { name: "reshape [2,3] → [3,2]", build: ({ input, param }) => input("x", [2, 3], X).reshape([3, 2]).mul(param("p", [3, 2])) },
  { name: "reshape [2,3] → [6]", build: ({ input, param }) => input("x", [2, 3], X).mul(param("p", [2, 3])).reshape([6]) },
  { name: "reshape [6] → [2,3] then sum(1)", build: ({ input, param }) => input("x", [6], X).add(param("p", [6])).reshape([2, 3]).sum(1) },
  // reductions
  { name: "sum() [2,3] → []", build: ({ input, param }) => input("x", [2, 3], X).mul(param("p", [2, 3])).sum() },
  { name: "sum(0) [2,3] → [3]", build: ({ input, param }) => input("x", [2, 3], X).mul(param("p", [2, 3])).sum(0) },
  { name: "sum(1) [2,3] → [2]", build: ({ input, param }) => input("x", [2, 3], X).mul(param("p", [2, 3])).sum(1) },
  { name: "sum(−1) [2,3] → [2]", build: ({ input, param }) => input("x", [2, 3], X).mul(param("p", [3])).sum(-1) },
  { name: "sum([0,2]) [2,3,2] → [3]", build: ({ input, param }) => input("x", [2, 3, 2], X).mul(param("p", [2, 3, 2])).sum([0, 2]) },
  { name: "sum of a param [2,3] (sum(1)) times input", build: ({ input, param }) => param("p", [2, 3]).sum(1).mul(input("x", [2], X)) },
  { name: "mean() [2,3] → []", build: ({ input, param }) => input("x", [2, 3], X).mul(param("p", [2, 3])).mean() },
  { name: "mean(0) [2,3] → [3]", build: ({ input, param }) => input("x", [2, 3], X).mul(param("p", [2, 3])).mean(0) },
  { name: "mean(1) [2,3] → [2]", build: ({ input, param }) => input("x", [2, 3], X).add(param("p", [3])).mean(1) },
  { name: "mean([0,2]) [2,3,2] → [3]", build: ({ input, param }) => input("x", [2, 3, 2], X).mul(param("p", [2, 3, 2])).mean([0, 2]) },
  { name: "max() [2,3] → []", build: ({ input }) => input("x", [2, 3], X).max(), fill: { x: distinct } },
  { name: "max(0) [2,3] → [3]", build: ({ input }) => input("x", [2, 3], X).max(0), fill: { x: distinct } },
  { name: "max(1) [2,3] → [2]", build: ({ input }) => input("x", [2, 3], X).max(1), fill: { x: distinct } },
  { name: "max([0,2]) [2,3,2] → [3]", build: ({ input }) => input("x", [2, 3, 2], X).max([0, 2]), fill: { x: distinct } },
  { name: "max(1) of a param [2,3] times input", build: ({ input, param }) => param("p", [2, 3]).max(1).mul(input("x", [2], X)), fill: { p: distinct } },
  // nn.maximum / nn.minimum (|x − p| ≥ 0.2 everywhere)
  {
    name: "nn.maximum [2,3] [2,3]",
    build: ({ input, param }) => nn.maximum(input("x", [2, 3], X), param("p", [2, 3])),
    fill: { x: signed(0.5, 1.5), p: uniform(-0.3, 0.3) },
  },
  {
    name: "nn.maximum [3] [2,3] broadcast (param first)",
    build: ({ input, param }) => nn.maximum(param("p", [3]), input("x", [2, 3], X)),
    fill: { x: signed(0.5, 1.5), p: uniform(-0.3, 0.3) },
  },
  { name: "nn.maximum [4] number", build: ({ input }) => nn.maximum(input("x", [4], X), 0.2), fill: { x: signed(0.5, 1.5) } },
  {
    name: "nn.minimum [2,3] [2,3]",
    build: ({ input, param }) => nn.minimum(input("x", [2, 3], X), param("p", [2, 3])),
    fill: { x: signed(0.5, 1.5), p: uniform(-0.3, 0.3) },
  },
  {
    name: "nn.minimum [3] [2,3] broadcast (param first)",
    build: ({ input, param }) => nn.minimum(param("p", [3]), input("x", [2, 3], X)),
    fill: { x: signed(0.5, 1.5), p: uniform(-0.3, 0.3) },
  },
  { name: "nn.minimum number [4]", build: ({ input }) => nn.minimum(-0.2, input("x", [4], X)), fill: { x: signed(0.5, 1.5) } },
];

/** x ∈ ±[0.5, 1.5] plus p ∈ [−0.3, 0.3]: at least 0.2 from 0. */
const awayFromZero = { x: signed(0.5, 1.5), p: uniform(-0.3, 0.3) };
const affine = (b: ModelBuilder, shape: number[]): Tensor => b.input("x", shape, X).add(b.param("p", shape));

const activationRows: Row[] = [
  { name: "nn.sigmoid [2,3]", build: (b) => nn.sigmoid(affine(b, [2, 3])), fill: { x: uniform(-3, 3) } },
  { name: "nn.tanh [2,3]", build: (b) => nn.tanh(affine(b, [2, 3])), fill: { x: uniform(-2, 2) } },
  { name: "nn.relu [2,3]", build: (b) => nn.relu(affine(b, [2, 3])), fill: awayFromZero },
  { name: "nn.leakyRelu [2,3] (α = 0.01)", build: (b) => nn.leakyRelu(affine(b, [2, 3])), fill: awayFromZero },
  { name: "nn.leakyRelu [2,3] (α = 0.2)", build: (b) => nn.leakyRelu(affine(b, [2, 3]), 0.2), fill: awayFromZero },
  { name: "nn.elu [2,3] (α = 1)", build: (b) => nn.elu(affine(b, [2, 3])), fill: awayFromZero },
  { name: "nn.elu [2,3] (α = 0.7)", build: (b) => nn.elu(affine(b, [2, 3]), 0.7), fill: awayFromZero },
  { name: "nn.softplus [2,3]", build: (b) => nn.softplus(affine(b, [2, 3])), fill: { x: uniform(-4, 4) } },
  { name: "nn.swish [2,3] (β = 1)", build: (b) => nn.swish(affine(b, [2, 3])), fill: { x: uniform(-3, 3) } },
  { name: "nn.swish [2,3] (β = 1.5)", build: (b) => nn.swish(affine(b, [2, 3]), 1.5), fill: { x: uniform(-3, 3) } },
  {
    name: "nn.hardTanh [2,3]",
    build: (b) => nn.hardTanh(affine(b, [2, 3])),
    fill: { x: within([-2, -1.5], [-0.5, 0.5], [1.5, 2]), p: uniform(-0.2, 0.2) },
  },
  { name: "nn.maxout [6] k = 3", build: ({ input }) => nn.maxout(input("x", [6], X), 3), fill: { x: distinct } },
  { name: "nn.maxout [2,4] k = 2", build: ({ input }) => nn.maxout(input("x", [2, 4], X), 2), fill: { x: distinct } },
  {
    name: "nn.maxout of input·param [6] k = 2",
    build: ({ input, param }) => nn.maxout(input("x", [6], X).mul(param("p", [6])), 2),
    fill: { x: distinct, p: uniform(0.9, 1.1) },
  },
  { name: "nn.softmax [4]", build: (b) => nn.softmax(affine(b, [4])), fill: { x: uniform(-2, 2) } },
  { name: "nn.softmax [2,3] (last axis)", build: (b) => nn.softmax(affine(b, [2, 3])), fill: { x: uniform(-2, 2) } },
  { name: "nn.logSoftmax [4]", build: (b) => nn.logSoftmax(affine(b, [4])), fill: { x: uniform(-2, 2) } },
  { name: "nn.logSoftmax [2,3] (last axis)", build: (b) => nn.logSoftmax(affine(b, [2, 3])), fill: { x: uniform(-2, 2) } },
  { name: "nn.logSumExp [4] → []", build: (b) => nn.logSumExp(affine(b, [4])), fill: { x: uniform(-2, 2) } },
  { name: "nn.logSumExp [2,3] → [2]", build: (b) => nn.logSumExp(affine(b, [2, 3])), fill: { x: uniform(-2, 2) } },
  { name: "nn.logSumExp [4] around 1000", build: (b) => nn.logSumExp(affine(b, [4])), fill: { x: uniform(999, 1001) } },
];

/** A small layer, so losses see predictions that depend on parameters. */
const layer = (b: ModelBuilder, n: number): Tensor => b.input("x", [3], X).matmul(b.param("W", [3, n])).add(b.param("c", [n]));

const lossRows: Row[] = [
  { name: "nn.halfSquaredError [4]", loss: true, build: (b) => nn.halfSquaredError(layer(b, 4), b.input("t", [4], X)) },
  { name: "nn.halfSquaredError [2,3]", loss: true, build: (b) => nn.halfSquaredError(affine(b, [2, 3]), b.input("t", [2, 3], X)) },
  { name: "nn.mse [4]", loss: true, build: (b) => nn.mse(layer(b, 4), b.input("t", [4], X)) },
  { name: "nn.mse [2,3]", loss: true, build: (b) => nn.mse(affine(b, [2, 3]), b.input("t", [2, 3], X)) },
  {
    name: "nn.softmaxCrossEntropy [4] one-hot",
    loss: true,
    build: (b) => nn.softmaxCrossEntropy(layer(b, 4), b.input("t", [4], X)),
    fill: { x: uniform(-2, 2), t: oneHot(4) },
  },
  {
    name: "nn.softmaxCrossEntropy [2,3] one-hot rows",
    loss: true,
    build: (b) => nn.softmaxCrossEntropy(affine(b, [2, 3]), b.input("t", [2, 3], X)),
    fill: { x: uniform(-2, 2), t: oneHot(3) },
  },
  {
    name: "nn.sigmoidCrossEntropy [4] 0/1 labels",
    loss: true,
    build: (b) => nn.sigmoidCrossEntropy(layer(b, 4), b.input("t", [4], X)),
    fill: { x: uniform(-2, 2), t: each((r) => (r() < 0.5 ? 0 : 1)) },
  },
  {
    name: "nn.sigmoidCrossEntropy [2,3] soft labels",
    loss: true,
    build: (b) => nn.sigmoidCrossEntropy(affine(b, [2, 3]), b.input("t", [2, 3], X)),
    fill: { x: uniform(-3, 3), t: uniform(0, 1) },
  },
  {
    name: "nn.crossEntropy [4] of softmax, one-hot",
    loss: true,
    build: (b) => nn.crossEntropy(nn.softmax(layer(b, 4)), b.input("t", [4], X)),
    fill: { t: oneHot(4) },
  },
  {
    name: "nn.crossEntropy [4] of positive p, soft targets",
    loss: true,
    build: (b) => nn.crossEntropy(affine(b, [4]), b.input("t", [4], X)),
    fill: { x: uniform(0.5, 1.5), p: uniform(0, 0.5), t: uniform(0, 1) },
  },
  {
    name: "nn.binaryCrossEntropy [4] of sigmoid, 0/1 labels",
    loss: true,
    build: (b) => nn.binaryCrossEntropy(nn.sigmoid(layer(b, 4)), b.input("t", [4], X)),
    fill: { t: each((r) => (r() < 0.5 ? 0 : 1)) },
  },
  {
    name: "nn.binaryCrossEntropy [2,3] of p in (0, 1), soft labels",
    loss: true,
    build: (b) => nn.binaryCrossEntropy(affine(b, [2, 3]), b.input("t", [2, 3], X)),
    fill: { x: uniform(0.2, 0.7), p: uniform(0, 0.1), t: uniform(0, 1) },
  },
  {
    // scores on a lattice of step 0.6 (jitter ±0.03, p ±0.03): every margin sⱼ − s_y + 1 is ≥ 0.08 from 0
    name: "nn.hinge [5] one-hot",
    loss: true,
    build: (b) => nn.hinge(affine(b, [5]), b.input("t", [5], X)),
    fill: { x: lattice(0.6, 0.03), p: uniform(-0.03, 0.03), t: oneHot(5) },
  },
  {
    name: "nn.hinge [2,3] one-hot rows",
    loss: true,
    build: (b) => nn.hinge(affine(b, [2, 3]), b.input("t", [2, 3], X)),
    fill: { x: lattice(0.6, 0.03), p: uniform(-0.03, 0.03), t: oneHot(3) },
  },
  { name: "nn.l2 [2,3]", loss: true, build: (b) => nn.l2(affine(b, [2, 3])) },
  {
    name: "nn.l2 weight decay: data term + 0.1·l2(W)",
    loss: true,
    build: (b) => {
      const W = b.param("V", [3, 2]);
      return b.input("x", [3], X).matmul(W).sum().add(nn.l2(W).mul(0.1));
    },
  },
  { name: "nn.l1 [2,3]", loss: true, build: (b) => nn.l1(affine(b, [2, 3])), fill: awayFromZero },
];

/** f(x) = Σ tanh(x·W + c) ⊙ v, a scalar per example. */
function smallNet(b: ModelBuilder): { x: Tensor; W: Tensor; f: Tensor } {
  const x = b.input("x", [3], X);
  const W = b.param("W", [3, 4]);
  const f = nn.tanh(x.matmul(W).add(b.param("c", [4]))).mul(b.param("v", [4])).sum();
  return { x, W, f };
}

const gradRows: Row[] = [
  {
    name: "grad(): loss = f(x) + Σ (∂f/∂x)² (input gradient penalty)",
    loss: true,
    build: (b) => {
      const { x, f } = smallNet(b);
      return f.add(grad(f, x).square().sum());
    },
  },
  {
    name: "grad(): loss = f(x) + Σ (∂f/∂W)² (per-example parameter gradient penalty)",
    loss: true,
    build: (b) => {
      const { W, f } = smallNet(b);
      return f.add(grad(f, W).square().sum());
    },
  },
  {
    name: "grad(): two wrt at once, loss = Σ ∂f/∂x ⊙ x + Σ ∂f/∂W",
    loss: true,
    build: (b) => {
      const { x, W, f } = smallNet(b);
      const [gx, gW] = grad(f, [x, W]);
      return gx!.mul(x).sum().add(gW!.sum());
    },
  },
  {
    name: "grad(): third derivative of σ through nested grad()",
    loss: true,
    build: ({ input, param }) => {
      const x = input("x", [], X);
      const s = nn.sigmoid(x.mul(param("a", [])));
      return grad(grad(s, x), x);
    },
    fill: { x: uniform(-2, 2), a: uniform(0.5, 1.5) },
  },
];

// ─── Checking one row ──────────────────────────────────────────────────────────────────────────

let modelCount = 0;

function definitionOf(row: Row): ModelDefinition {
  return model(`ops_${modelCount++}`, (b) => {
    const t = row.build(b);
    if (row.loss) return { loss: t };
    return { loss: t.mul(b.param("probe", t.shape)).sum(), outputs: { value: t } };
  });
}

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

interface Case {
  readonly trainer: GeneratedTrainer;
  readonly batch: Fields;
}

async function prepare(row: Row, seed: number): Promise<Case> {
  const module = await loadGenerated(definitionOf(row), BATCH);
  const trainer = module.createTrainer();
  const random = mulberry32(seed);
  const fillOf = (name: string): Fill => row.fill?.[name] ?? uniform(-1, 1);
  for (const [name, shape] of Object.entries(trainer.spec.params)) {
    trainer.params[name]!.set(fillOf(name)(random, sizeOf(shape)));
  }
  const batch: Fields = {};
  for (const [name, shape] of Object.entries(trainer.spec.inputs)) {
    const size = sizeOf(shape);
    const values = new Float64Array(BATCH * size);
    for (let e = 0; e < BATCH; e++) values.set(fillOf(name)(random, size), e * size);
    batch[name] = values;
  }
  return { trainer, batch };
}

/** Fourth-order central difference of f with respect to values[i]; restores values[i]. */
function finiteDifference(f: () => number, values: Float64Array, i: number): number {
  const x = values[i]!;
  const at = (v: number): number => {
    values[i] = v;
    return f();
  };
  const d = (8 * (at(x + H) - at(x - H)) - (at(x + 2 * H) - at(x - 2 * H))) / (12 * H);
  values[i] = x;
  return d;
}

const relativeError = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(a) + Math.abs(b), FLOOR);

/** The first n examples of the batch; the rest set to NaN, so reading past n would show. */
function shortBatch(trainer: GeneratedTrainer, batch: Fields, n: number): Fields {
  const result: Fields = {};
  for (const [name, shape] of Object.entries(trainer.spec.inputs)) {
    const values = new Float64Array(BATCH * sizeOf(shape)).fill(NaN);
    values.set(batch[name]!.subarray(0, n * sizeOf(shape)));
    result[name] = values;
  }
  return result;
}

/** Example e alone, as a batch of one. */
function exampleBatch(trainer: GeneratedTrainer, batch: Fields, e: number): Fields {
  const result: Fields = {};
  for (const [name, shape] of Object.entries(trainer.spec.inputs)) {
    const size = sizeOf(shape);
    result[name] = batch[name]!.slice(e * size, (e + 1) * size);
  }
  return result;
}

/** Every disagreement between gradient() and finite differences of loss(), as readable lines. */
function gradientMismatches(trainer: GeneratedTrainer, batch: Fields, n: number): string[] {
  const problems: string[] = [];
  const compare = (what: string, generated: number, numeric: number): void => {
    const error = relativeError(generated, numeric);
    if (!(error < TOLERANCE)) problems.push(`n=${n} ${what}: generated ${generated}, finite difference ${numeric} (relative error ${error.toExponential(2)})`);
  };
  const lossValue = trainer.gradient(batch, n);
  const grads = Object.fromEntries(Object.entries(trainer.grads).map(([k, v]) => [k, Float64Array.from(v)]));
  const inputGrads = Object.fromEntries(Object.entries(trainer.inputGrads).map(([k, v]) => [k, Float64Array.from(v)]));
  const loss = (): number => trainer.loss(batch, n);
  compare("gradient() return value vs loss()", lossValue, loss());
  if (!Number.isFinite(lossValue)) problems.push(`n=${n} loss is ${lossValue}`);

  // The mean is over the n examples: compare with the average of one-example calls.
  const perExample = Array.from({ length: n }, (_, e) => trainer.loss(exampleBatch(trainer, batch, e), 1));
  compare("loss(batch, n) vs mean of loss(example, 1)", lossValue, perExample.reduce((a, b) => a + b, 0) / n);
  const meanGrads: Record<string, Float64Array> = {};
  for (const name of Object.keys(trainer.grads)) meanGrads[name] = new Float64Array(trainer.grads[name]!.length);
  for (let e = 0; e < n; e++) {
    trainer.gradient(exampleBatch(trainer, batch, e), 1);
    for (const [name, g] of Object.entries(trainer.grads)) g.forEach((v, i) => (meanGrads[name]![i]! += v / n));
  }
  for (const [name, g] of Object.entries(grads)) {
    g.forEach((v, i) => compare(`∂/∂${name}[${i}] vs mean of one-example gradients`, v, meanGrads[name]![i]!));
  }

  for (const [name, values] of Object.entries(trainer.params)) {
    for (let i = 0; i < values.length; i++) compare(`∂/∂${name}[${i}]`, grads[name]![i]!, finiteDifference(loss, values, i));
  }
  for (const [name, g] of Object.entries(inputGrads)) {
    const used = n * sizeOf(trainer.spec.inputs[name]!);
    for (let i = 0; i < used; i++) compare(`∂/∂${name}[${i}] (input)`, g[i]!, finiteDifference(loss, batch[name]!, i));
  }
  return problems;
}

async function checkRow(row: Row, seed: number): Promise<void> {
  const { trainer, batch } = await prepare(row, seed);
  expect(Object.keys(trainer.inputGrads).length, "the row declares an input with { grad: true }").toBeGreaterThan(0);
  expect(gradientMismatches(trainer, batch, BATCH)).toEqual([]);
  expect(gradientMismatches(trainer, shortBatch(trainer, batch, SHORT), SHORT)).toEqual([]);
}

// ─── The specification ─────────────────────────────────────────────────────────────────────────

const tables: [string, Row[]][] = [
  ["Tensor methods", tensorRows],
  ["activations", activationRows],
  ["losses", lossRows],
  ["grad() inside a model", gradRows],
];

let seed = 1;
for (const [title, rows] of tables) {
  describe(`generated gradients match finite differences: ${title}`, () => {
    for (const row of rows) {
      const rowSeed = seed++ * 7919;
      it(row.name, () => checkRow(row, rowSeed));
    }
  });
}
