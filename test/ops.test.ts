// Specification of every op and loss of the DSL, checked through the GENERATED code (f64): the
// gradient() of each compiled model must match finite differences of its own loss() with respect
// to every parameter element and every element of each input declared { grad: true }, for a full
// batch and for a short last batch (n < batch), at seeded random points away from kinks.
import { describe, expect, it } from "vitest";
import { constant, grad, model, nn, type ModelBuilder, type ModelDefinition, type Tensor } from "gradgen";
import { loadGenerated, type Fields, type GeneratedTrainer } from "./support/load-generated.js";
import { createRandom as mulberry32 } from "../src/random.js";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { GradgenError } from "../src/errors.js";
import { traceModel } from "../src/dsl/model.js";
import { checkGradients } from "../src/check/gradient-check.js";
import { decodeCheckpoint, encodeCheckpoint } from "../src/runtime/checkpoint.js";

const BATCH = 3;
const SHORT = 2;
/** Relative error allowed between the generated gradient and the finite difference. */
const TOLERANCE = 1e-6;
/**
 * Step of the finite differences, used in the fourth-order central stencil
 * (8[f(x+h) − f(x−h)] − [f(x+2h) − f(x−2h)]) / 12h: its truncation error (~h⁴/30·f⁽⁵⁾ ≈ 3e-18) is
 * negligible and its rounding error (~ε·|loss|/h ≈ 2e-12·|loss|) is about ten times smaller than a
 * plain central difference at h = 1e-5. Every kink in the table is ≥ 0.05 from the sampled points,
 * far beyond the ±2h the stencil reaches.
 */
const H = 1e-4;
/**
 * relative error = |a − b| / max(|a| + |b|, FLOOR). Elements with |a| + |b| < FLOOR (typically an
 * exactly zero gradient, whose finite difference is rounding noise of ~1e-12) are thereby held to an
 * absolute error below TOLERANCE·FLOOR = 1e-10. On the rows that pass, the largest relative error is
 * ~2e-8 and the largest absolute error on near-zero elements ~6e-12.
 */
const FLOOR = 1e-4;

// ─── Seeded random values ──────────────────────────────────────────────────────────────────────

/** Values for one example of an input (or for a whole parameter), `size` of them. */
type Fill = (random: () => number, size: number) => number[];

const each =
  (draw: (random: () => number) => number): Fill =>
  (random, size) =>
    Array.from({ length: size }, () => draw(random));
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
const oneHot =
  (classes: number): Fill =>
  (random, size) => {
    const values = new Array<number>(size).fill(0);
    for (let row = 0; row < size; row += classes) values[row + Math.floor(random() * classes)] = 1;
    return values;
  };
/** Grid points k·step (|k| ≤ 2) plus jitter: differences stay near multiples of step. */
const lattice = (step: number, jitter: number): Fill =>
  each((r) => step * (Math.floor(r() * 5) - 2) + jitter * (2 * r() - 1));

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
  /** int32 inputs (integer ids), each with its number of valid ids: drawn uniformly from 0 … bound − 1. */
  readonly ids?: Readonly<Record<string, number>>;
}

const X = { grad: true } as const;

const tensorRows: Row[] = [
  // add
  {
    name: "add [2,3] + [2,3] (input + param)",
    build: ({ input, param }) => input("x", [2, 3], X).add(param("p", [2, 3])),
  },
  {
    name: "add [3] + [2,3] broadcast (input + param)",
    build: ({ input, param }) => input("x", [3], X).add(param("p", [2, 3])),
  },
  {
    name: "add [2,3] + [3] broadcast (input + param)",
    build: ({ input, param }) => input("x", [2, 3], X).add(param("p", [3])),
  },
  {
    name: "add [2,1] + [1,3] broadcast both ways",
    build: ({ input, param }) => input("x", [2, 1], X).add(param("p", [1, 3])),
  },
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
  {
    name: "mul x · x (same operand)",
    build: ({ input }) => {
      const x = input("x", [4], X);
      return x.mul(x);
    },
  },
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
  {
    name: "div number / [4]",
    build: ({ input }) => {
      const x = input("x", [4], X);
      return x.mul(0).add(2).div(x);
    },
    fill: { x: signed(0.5, 1.5) },
  },
  // neg, pow, square, sqrt
  {
    name: "neg [2,3]",
    build: ({ input, param }) =>
      input("x", [2, 3], X)
        .mul(param("p", [2, 3]))
        .neg(),
  },
  {
    name: "pow 3 [4] (any sign)",
    build: ({ input, param }) =>
      input("x", [4], X)
        .add(param("p", [4]))
        .pow(3),
  },
  {
    name: "pow 2.5 [4]",
    build: ({ input, param }) =>
      input("x", [4], X)
        .add(param("p", [4]))
        .pow(2.5),
    fill: { x: uniform(0.5, 1.5), p: uniform(0, 0.3) },
  },
  {
    name: "pow −1.5 [4]",
    build: ({ input, param }) =>
      input("x", [4], X)
        .add(param("p", [4]))
        .pow(-1.5),
    fill: { x: uniform(0.5, 1.5), p: uniform(0, 0.3) },
  },
  {
    name: "pow 0.5 [4]",
    build: ({ input, param }) =>
      input("x", [4], X)
        .add(param("p", [4]))
        .pow(0.5),
    fill: { x: uniform(0.5, 1.5), p: uniform(0, 0.3) },
  },
  { name: "pow −1 [4]", build: ({ input }) => input("x", [4], X).pow(-1), fill: { x: signed(0.5, 1.5) } },
  {
    name: "pow 1 [4]",
    build: ({ input, param }) =>
      input("x", [4], X)
        .mul(param("p", [4]))
        .pow(1),
  },
  {
    name: "pow 0 [4]",
    build: ({ input, param }) => {
      const x = input("x", [4], X);
      return x
        .mul(param("p", [4]))
        .pow(0)
        .add(x);
    },
  },
  {
    name: "square [2,3]",
    build: ({ input, param }) =>
      input("x", [2, 3], X)
        .add(param("p", [3]))
        .square(),
  },
  {
    name: "sqrt [4]",
    build: ({ input, param }) =>
      input("x", [4], X)
        .add(param("p", [4]))
        .sqrt(),
    fill: { x: uniform(0.5, 2), p: uniform(0, 0.3) },
  },
  // transcendental
  {
    name: "exp [4]",
    build: ({ input, param }) =>
      input("x", [4], X)
        .add(param("p", [4]))
        .exp(),
  },
  {
    name: "log [4]",
    build: ({ input, param }) =>
      input("x", [4], X)
        .mul(param("p", [4]))
        .log(),
    fill: { x: uniform(0.5, 2), p: uniform(0.5, 2) },
  },
  {
    name: "sin [4]",
    build: ({ input, param }) =>
      input("x", [4], X)
        .mul(param("p", [4]))
        .sin(),
    fill: { x: uniform(-2, 2), p: uniform(-2, 2) },
  },
  {
    name: "cos [4]",
    build: ({ input, param }) =>
      input("x", [4], X)
        .mul(param("p", [4]))
        .cos(),
    fill: { x: uniform(-2, 2), p: uniform(-2, 2) },
  },
  {
    name: "abs [2,3]",
    build: ({ input, param }) =>
      input("x", [2, 3], X)
        .add(param("p", [2, 3]))
        .abs(),
    fill: { x: signed(0.5, 1.5), p: uniform(-0.3, 0.3) },
  },
  // matmul
  {
    name: "matmul vector·matrix [3]·[3,4]",
    build: ({ input, param }) => input("x", [3], X).matmul(param("W", [3, 4])),
  },
  {
    name: "matmul matrix·vector [4,3]·[3]",
    build: ({ input, param }) => param("W", [4, 3]).matmul(input("x", [3], X)),
  },
  {
    name: "matmul matrix·matrix [2,3]·[3,4]",
    build: ({ input, param }) => input("x", [2, 3], X).matmul(param("W", [3, 4])),
  },
  {
    name: "matmul matrix·matrix [4,3]·[3,2] (param · input)",
    build: ({ input, param }) => param("W", [4, 3]).matmul(input("x", [3, 2], X)),
  },
  { name: "matmul vector·vector [3]·[3]", build: ({ input, param }) => input("x", [3], X).matmul(param("w", [3])) },
  { name: "matmul input·input [2,3]·[3,2]", build: ({ input }) => input("x", [2, 3], X).matmul(input("y", [3, 2], X)) },
  {
    name: "matmul param·param [2,3]·[3,2] times input",
    build: ({ input, param }) =>
      param("A", [2, 3])
        .matmul(param("B", [3, 2]))
        .mul(input("x", [2, 2], X)),
  },
  {
    name: "matmul chain [3]·[3,4]·[4,2]",
    build: ({ input, param }) =>
      input("x", [3], X)
        .matmul(param("W1", [3, 4]))
        .matmul(param("W2", [4, 2])),
  },
  // layout
  {
    name: "transpose [2,3] → [3,2]",
    build: ({ input, param }) =>
      input("x", [2, 3], X)
        .transpose()
        .mul(param("p", [3, 2])),
  },
  {
    name: "transpose [2,3,4] perm [2,0,1]",
    build: ({ input, param }) =>
      input("x", [2, 3, 4], X)
        .transpose([2, 0, 1])
        .add(param("p", [4, 2, 3])),
  },
  {
    name: "transpose then matmul [3,2]ᵀ·[3,4]",
    build: ({ input, param }) =>
      input("x", [3, 2], X)
        .transpose()
        .matmul(param("W", [3, 4])),
  },
  {
    name: "transpose of a param, matmul",
    build: ({ input, param }) => input("x", [3], X).matmul(param("W", [4, 3]).transpose()),
  },
  {
    name: "reshape [2,3] → [3,2]",
    build: ({ input, param }) =>
      input("x", [2, 3], X)
        .reshape([3, 2])
        .mul(param("p", [3, 2])),
  },
  {
    name: "reshape [2,3] → [6]",
    build: ({ input, param }) =>
      input("x", [2, 3], X)
        .mul(param("p", [2, 3]))
        .reshape([6]),
  },
  {
    name: "reshape [6] → [2,3] then sum(1)",
    build: ({ input, param }) =>
      input("x", [6], X)
        .add(param("p", [6]))
        .reshape([2, 3])
        .sum(1),
  },
  // reductions
  {
    name: "sum() [2,3] → []",
    build: ({ input, param }) =>
      input("x", [2, 3], X)
        .mul(param("p", [2, 3]))
        .sum(),
  },
  {
    name: "sum(0) [2,3] → [3]",
    build: ({ input, param }) =>
      input("x", [2, 3], X)
        .mul(param("p", [2, 3]))
        .sum(0),
  },
  {
    name: "sum(1) [2,3] → [2]",
    build: ({ input, param }) =>
      input("x", [2, 3], X)
        .mul(param("p", [2, 3]))
        .sum(1),
  },
  {
    name: "sum(−1) [2,3] → [2]",
    build: ({ input, param }) =>
      input("x", [2, 3], X)
        .mul(param("p", [3]))
        .sum(-1),
  },
  {
    name: "sum([0,2]) [2,3,2] → [3]",
    build: ({ input, param }) =>
      input("x", [2, 3, 2], X)
        .mul(param("p", [2, 3, 2]))
        .sum([0, 2]),
  },
  {
    name: "sum of a param [2,3] (sum(1)) times input",
    build: ({ input, param }) =>
      param("p", [2, 3])
        .sum(1)
        .mul(input("x", [2], X)),
  },
  {
    name: "mean() [2,3] → []",
    build: ({ input, param }) =>
      input("x", [2, 3], X)
        .mul(param("p", [2, 3]))
        .mean(),
  },
  {
    name: "mean(0) [2,3] → [3]",
    build: ({ input, param }) =>
      input("x", [2, 3], X)
        .mul(param("p", [2, 3]))
        .mean(0),
  },
  {
    name: "mean(1) [2,3] → [2]",
    build: ({ input, param }) =>
      input("x", [2, 3], X)
        .add(param("p", [3]))
        .mean(1),
  },
  {
    name: "mean([0,2]) [2,3,2] → [3]",
    build: ({ input, param }) =>
      input("x", [2, 3, 2], X)
        .mul(param("p", [2, 3, 2]))
        .mean([0, 2]),
  },
  { name: "max() [2,3] → []", build: ({ input }) => input("x", [2, 3], X).max(), fill: { x: distinct } },
  { name: "max(0) [2,3] → [3]", build: ({ input }) => input("x", [2, 3], X).max(0), fill: { x: distinct } },
  { name: "max(1) [2,3] → [2]", build: ({ input }) => input("x", [2, 3], X).max(1), fill: { x: distinct } },
  {
    name: "max([0,2]) [2,3,2] → [3]",
    build: ({ input }) => input("x", [2, 3, 2], X).max([0, 2]),
    fill: { x: distinct },
  },
  {
    name: "max(1) of a param [2,3] times input",
    build: ({ input, param }) =>
      param("p", [2, 3])
        .max(1)
        .mul(input("x", [2], X)),
    fill: { p: distinct },
  },
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
  {
    name: "nn.maximum [4] number",
    build: ({ input }) => nn.maximum(input("x", [4], X), 0.2),
    fill: { x: signed(0.5, 1.5) },
  },
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
  {
    name: "nn.minimum number [4]",
    build: ({ input }) => nn.minimum(-0.2, input("x", [4], X)),
    fill: { x: signed(0.5, 1.5) },
  },
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
    fill: { x: distinct, p: uniform(0.97, 1.03) },
  },
  { name: "nn.softmax [4]", build: (b) => nn.softmax(affine(b, [4])), fill: { x: uniform(-2, 2) } },
  { name: "nn.softmax [2,3] (last axis)", build: (b) => nn.softmax(affine(b, [2, 3])), fill: { x: uniform(-2, 2) } },
  { name: "nn.logSoftmax [4]", build: (b) => nn.logSoftmax(affine(b, [4])), fill: { x: uniform(-2, 2) } },
  {
    name: "nn.logSoftmax [2,3] (last axis)",
    build: (b) => nn.logSoftmax(affine(b, [2, 3])),
    fill: { x: uniform(-2, 2) },
  },
  { name: "nn.logSumExp [4] → []", build: (b) => nn.logSumExp(affine(b, [4])), fill: { x: uniform(-2, 2) } },
  { name: "nn.logSumExp [2,3] → [2]", build: (b) => nn.logSumExp(affine(b, [2, 3])), fill: { x: uniform(-2, 2) } },
  { name: "nn.logSumExp [4] around 1000", build: (b) => nn.logSumExp(affine(b, [4])), fill: { x: uniform(999, 1001) } },
];

/** A small layer, so losses see predictions that depend on parameters. */
const layer = (b: ModelBuilder, n: number): Tensor =>
  b
    .input("x", [3], X)
    .matmul(b.param("W", [3, n]))
    .add(b.param("c", [n]));

const lossRows: Row[] = [
  { name: "nn.halfSquaredError [4]", loss: true, build: (b) => nn.halfSquaredError(layer(b, 4), b.input("t", [4], X)) },
  {
    name: "nn.halfSquaredError [2,3]",
    loss: true,
    build: (b) => nn.halfSquaredError(affine(b, [2, 3]), b.input("t", [2, 3], X)),
  },
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
  const f = nn
    .tanh(x.matmul(W).add(b.param("c", [4])))
    .mul(b.param("v", [4]))
    .sum();
  return { x, W, f };
}

// Integer ids (issue 11): tables small enough that ids repeat within an example, so the scatter-adds accumulate.
const INT = { dtype: "int32" } as const;
const idRows: Row[] = [
  {
    name: "nn.gather param E [4,3] by ids [5] (repeated ids) → [5,3]",
    build: ({ input, param }) => nn.gather(param("E", [4, 3]), input("ids", [5], INT)).mul(input("x", [5, 3], X)),
    ids: { ids: 4 },
  },
  {
    name: "nn.gather from a per-example table x [4,3] (input, grad) by ids [2,2] → [2,2,3]",
    build: ({ input, param }) => nn.gather(input("x", [4, 3], X), input("ids", [2, 2], INT)).mul(param("p", [2, 2, 3])),
    ids: { ids: 4 },
  },
  {
    name: "nn.gather param E [6] (scalar rows) by ids [3] → [3]",
    build: ({ input, param }) => nn.gather(param("E", [6]), input("ids", [3], INT)).add(input("x", [3], X)),
    ids: { ids: 6 },
  },
  {
    name: "nn.gather twice from one table (two scatter-adds into one gradient)",
    build: ({ input, param }) => {
      const E = param("E", [3, 2]);
      return nn
        .gather(E, input("a", [4], INT))
        .mul(input("x", [4, 2], X))
        .add(nn.gather(E, input("b", [4], INT)));
    },
    ids: { a: 3, b: 3 },
  },
  {
    name: "nn.oneHot ids [3], depth 4 → [3,4] (no gradient to ids)",
    build: ({ input }) => nn.oneHot(input("ids", [3], INT), 4).mul(input("x", [3, 4], X)),
    ids: { ids: 4 },
  },
  {
    name: "nn.sparseSoftmaxCrossEntropy logits [4,5], labels [4]",
    loss: true,
    build: ({ input, param }) =>
      nn.sparseSoftmaxCrossEntropy(input("z", [4, 5], X).mul(param("a", [5])), input("labels", [4], INT)),
    fill: { z: uniform(-2, 2) },
    ids: { labels: 5 },
  },
  {
    name: "nn.sparseSoftmaxCrossEntropy logits [3], scalar label []",
    loss: true,
    build: ({ input, param }) =>
      nn.sparseSoftmaxCrossEntropy(input("z", [3], X).add(param("b", [3])), input("label", [], INT)),
    ids: { label: 3 },
  },
];

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
    const bound = row.ids?.[name];
    if (bound !== undefined) {
      const ids = Int32Array.from({ length: BATCH * size }, () => Math.floor(random() * bound));
      batch[name] = ids as unknown as Float64Array; // the generated module takes an Int32Array there
      continue;
    }
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
    const given: ArrayLike<number> = batch[name]!;
    if (given instanceof Int32Array) {
      // ids past n out of every range: reading one would load undefined, NaN in the loss
      const ids = new Int32Array(BATCH * sizeOf(shape)).fill(2 ** 30);
      ids.set(given.subarray(0, n * sizeOf(shape)));
      result[name] = ids as unknown as Float64Array;
      continue;
    }
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
    if (!(error < TOLERANCE))
      problems.push(
        `n=${n} ${what}: generated ${generated}, finite difference ${numeric} (relative error ${error.toExponential(2)})`,
      );
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
    for (let i = 0; i < values.length; i++)
      compare(`∂/∂${name}[${i}]`, grads[name]![i]!, finiteDifference(loss, values, i));
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
  expect(Object.keys(trainer.params).length, "the row has a parameter").toBeGreaterThan(0);
  expect(gradientMismatches(trainer, batch, BATCH)).toEqual([]);
  expect(gradientMismatches(trainer, shortBatch(trainer, batch, SHORT), SHORT)).toEqual([]);
}

// ─── Kinks and ties ────────────────────────────────────────────────────────────────────────────
//
// Every rule with a kink or a case split, exactly on it (the documented convention's derivative,
// written by hand from the definition) and on both sides of it (central differences in f64, the
// points 1e-3 from the kink, beyond the stencil's ±2h). The conventions (README, "Kinks and ties"):
// tied expressions share the adjoint equally (k tied elements of a max get ḡ/k each); against a
// number, max/min are clamps and give 0 at the tie (relu′(0) = 0, hardTanh′(±1) = 0, a hinge
// margin of 0 passes nothing); |x|′(0) = sign(0) = 0; leakyRelu′(0) = α; elu′(0) = α.

type Values = Readonly<Record<string, readonly number[]>>;

interface KinkRow {
  readonly name: string;
  /** The per-example loss, a scalar, of inputs only (those to check declared { grad: true }). */
  readonly build: (b: ModelBuilder) => Tensor;
  /** Points on a kink or a tie, each an example's inputs, with ∂loss/∂input there by hand. */
  readonly on: readonly { readonly at: Values; readonly gradient: Values }[];
  /** Points on either side of the kinks, checked against central differences. */
  readonly beside: readonly Values[];
}

const E = Math.exp(-1);
const d = 1e-3;

const kinkRows: KinkRow[] = [
  {
    name: "nn.maximum(0.25x, 0.25x): tied operands share ḡ, so ∂/∂x = 0.25",
    build: ({ input }) => {
      const y = input("x", [3], X).mul(0.25);
      return nn.maximum(y, y).sum();
    },
    on: [{ at: { x: [0.5, -1, 0] }, gradient: { x: [0.25, 0.25, 0.25] } }],
    beside: [{ x: [0.3, -0.7, 2] }],
  },
  {
    name: "max() over two copies of 0.25x: the copies share ḡ, so ∂/∂x = 0.25 (not 0.5)",
    build: ({ input }) =>
      input("x", [1], X)
        .mul(0.25)
        .add(input("z", [2]))
        .max(),
    on: [
      { at: { x: [0.4], z: [0, 0] }, gradient: { x: [0.25] } },
      { at: { x: [-2], z: [0, 1] }, gradient: { x: [0.25] } },
    ],
    beside: [
      { x: [0.4], z: [0, d] },
      { x: [0.4], z: [d, 0] },
    ],
  },
  {
    name: "nn.maximum(x, y) at x = y: ½ each",
    build: ({ input }) => nn.maximum(input("x", [3], X), input("y", [3], X)).sum(),
    on: [
      { at: { x: [0.3, -1, 0], y: [0.3, -1, 0] }, gradient: { x: [0.5, 0.5, 0.5], y: [0.5, 0.5, 0.5] } },
      { at: { x: [0.3, 2, 0], y: [0.3, 1, 1] }, gradient: { x: [0.5, 1, 0], y: [0.5, 0, 1] } },
    ],
    beside: [
      { x: [0.3 + d, -1, d], y: [0.3, -1 + d, 0] },
      { x: [0.3 - d, -1 - d, -d], y: [0.3, -1, 0] },
    ],
  },
  {
    name: "nn.maximum(x, −x) = |x| at 0: ½·1 + ½·(−1) = 0",
    build: ({ input }) => {
      const x = input("x", [3], X);
      return nn.maximum(x, x.neg()).sum();
    },
    on: [{ at: { x: [0, 0.5, -0.5] }, gradient: { x: [0, 1, -1] } }],
    beside: [{ x: [d, -d, 0.5] }],
  },
  {
    name: "nn.maximum(x, 0.2): against a number, 0 at the tie",
    build: ({ input }) => nn.maximum(input("x", [3], X), 0.2).sum(),
    on: [{ at: { x: [0.2, 0.5, -1] }, gradient: { x: [0, 1, 0] } }],
    beside: [{ x: [0.2 + d, 0.2 - d, 3] }],
  },
  {
    name: "nn.relu at 0: relu′(0) = 0",
    build: ({ input }) => nn.relu(input("x", [3], X)).sum(),
    on: [{ at: { x: [0, 0.5, -0.5] }, gradient: { x: [0, 1, 0] } }],
    beside: [{ x: [d, -d, 0.5] }],
  },
  {
    name: "nn.minimum(x, y) at x = y: ½ each",
    build: ({ input }) => nn.minimum(input("x", [3], X), input("y", [3], X)).sum(),
    on: [
      { at: { x: [0.3, -1, 0], y: [0.3, -1, 0] }, gradient: { x: [0.5, 0.5, 0.5], y: [0.5, 0.5, 0.5] } },
      { at: { x: [-0.3, 2, 0], y: [-0.3, 1, 1] }, gradient: { x: [0.5, 0, 1], y: [0.5, 1, 0] } },
    ],
    beside: [
      { x: [0.3 + d, -1, d], y: [0.3, -1 + d, 0] },
      { x: [0.3 - d, -1 - d, -d], y: [0.3, -1, 0] },
    ],
  },
  {
    name: "nn.minimum(−0.2, x): against a number, 0 at the tie",
    build: ({ input }) => nn.minimum(-0.2, input("x", [3], X)).sum(),
    on: [{ at: { x: [-0.2, -1, 1] }, gradient: { x: [0, 1, 0] } }],
    beside: [{ x: [-0.2 + d, -0.2 - d, -3] }],
  },
  {
    name: "nn.hardTanh at ±1: 0 (clamps against constants)",
    build: ({ input }) => nn.hardTanh(input("x", [3], X)).sum(),
    on: [{ at: { x: [1, -1, 0] }, gradient: { x: [0, 0, 1] } }],
    beside: [{ x: [1 + d, 1 - d, -1 - d] }, { x: [-1 + d, 0.5, 2] }],
  },
  {
    name: "nn.leakyRelu (α = 0.2) at 0: α",
    build: ({ input }) => nn.leakyRelu(input("x", [3], X), 0.2).sum(),
    on: [{ at: { x: [0, 1, -1] }, gradient: { x: [0.2, 1, 0.2] } }],
    beside: [{ x: [d, -d, 0.5] }],
  },
  {
    name: "nn.leakyRelu (α = 0.01, the default) at 0: α",
    build: ({ input }) => nn.leakyRelu(input("x", [3], X)).sum(),
    on: [{ at: { x: [0, 1, -1] }, gradient: { x: [0.01, 1, 0.01] } }],
    beside: [{ x: [d, -d, -0.5] }],
  },
  {
    name: "nn.leakyRelu (α = 0) at 0: 0, as relu′(0)",
    build: ({ input }) => nn.leakyRelu(input("x", [3], X), 0).sum(),
    on: [{ at: { x: [0, 1, -1] }, gradient: { x: [0, 1, 0] } }],
    beside: [{ x: [d, -d, -0.5] }],
  },
  {
    name: "nn.elu (α = 1) at 0: α·e⁰ = 1",
    build: ({ input }) => nn.elu(input("x", [3], X)).sum(),
    on: [{ at: { x: [0, 1, -1] }, gradient: { x: [1, 1, E] } }],
    beside: [{ x: [d, -d, 0.5] }],
  },
  {
    name: "nn.elu (α = 0.7) at 0: α = 0.7 (from the left)",
    build: ({ input }) => nn.elu(input("x", [3], X), 0.7).sum(),
    on: [{ at: { x: [0, 1, -1] }, gradient: { x: [0.7, 1, 0.7 * E] } }],
    beside: [{ x: [d, -d, -2] }],
  },
  {
    name: "abs at 0: sign(0) = 0",
    build: ({ input }) => input("x", [3], X).abs().sum(),
    on: [{ at: { x: [0, 2, -2] }, gradient: { x: [0, 1, -1] } }],
    beside: [{ x: [d, -d, 0.5] }],
  },
  {
    name: "sign, as ∂|x|/∂x through grad(): sign′ = 0, at 0 as well",
    build: ({ input }) => {
      const x = input("x", [3], X);
      return grad(x.abs().sum(), x).sum();
    },
    on: [{ at: { x: [0, 2, -2] }, gradient: { x: [0, 0, 0] } }],
    beside: [{ x: [d, -d, 0.5] }],
  },
  {
    name: "max() of [3] with ties of 2 and of 3: ḡ/k to each tied element",
    build: ({ input }) => input("x", [3], X).max(),
    on: [
      { at: { x: [0.5, 0.5, -1] }, gradient: { x: [0.5, 0.5, 0] } },
      { at: { x: [0.7, 0.7, 0.7] }, gradient: { x: [1 / 3, 1 / 3, 1 / 3] } },
      { at: { x: [-1, 0, 0] }, gradient: { x: [0, 0.5, 0.5] } },
    ],
    beside: [{ x: [0.5 + d, 0.5, -1] }, { x: [0.7, 0.7 - d, 0.7 - 2 * d] }, { x: [-1, -d, 0] }],
  },
  {
    name: "max(1) of [2,3] times w [2]: each of k tied elements of row i gets wᵢ/k",
    build: ({ input }) =>
      input("x", [2, 3], X)
        .max(1)
        .mul(input("w", [2]))
        .sum(),
    on: [
      { at: { x: [1, 1, 0, 2, 2, 2], w: [3, 5] }, gradient: { x: [1.5, 1.5, 0, 5 / 3, 5 / 3, 5 / 3] } },
      { at: { x: [0, 1, 1, -1, 4, -1], w: [-2, 0.5] }, gradient: { x: [0, -1, -1, 0, 0.5, 0] } },
    ],
    beside: [{ x: [1, 1 - d, 0, 2, 2 + d, 2 - d], w: [3, 5] }],
  },
  {
    name: "max(0) of [3,2]: ties along the reduced axis",
    build: ({ input }) => input("x", [3, 2], X).max(0).sum(),
    on: [{ at: { x: [1, 0, 1, 0, -1, 0] }, gradient: { x: [0.5, 1 / 3, 0.5, 1 / 3, 0, 1 / 3] } }],
    beside: [{ x: [1, 0, 1 - d, d, -1, -d] }],
  },
  {
    name: "nn.maxout [6] k = 3, groups tied in 3 and in 2",
    build: ({ input }) => nn.maxout(input("x", [6], X), 3).sum(),
    on: [{ at: { x: [0.2, 0.2, 0.2, 1, -1, 1] }, gradient: { x: [1 / 3, 1 / 3, 1 / 3, 0.5, 0, 0.5] } }],
    beside: [{ x: [0.2, 0.2 + d, 0.2 - d, 1 - d, -1, 1] }],
  },
  {
    name: "nn.hinge [3] with margins exactly 0: no gradient through them (as relu′(0))",
    build: ({ input }) => nn.hinge(input("s", [3], X), input("t", [3])),
    on: [
      { at: { s: [0, 1, 0], t: [0, 1, 0] }, gradient: { s: [0, 0, 0] } },
      { at: { s: [0.5, 1, 0], t: [0, 1, 0] }, gradient: { s: [1, -1, 0] } },
      { at: { s: [-0.5, 0, -1.5], t: [1, 0, 0] }, gradient: { s: [-1, 1, 0] } },
    ],
    beside: [
      { s: [d, 1, -d], t: [0, 1, 0] },
      { s: [-0.5, 0, -1.5 + d], t: [1, 0, 0] },
    ],
  },
  // nn.clip (issue 11)
  {
    name: "nn.clip(x, −0.5, 0.5) at the bounds: 0 (as hardTanh′(±1))",
    build: ({ input }) => nn.clip(input("x", [3], X), -0.5, 0.5).sum(),
    on: [{ at: { x: [0.5, -0.5, 0] }, gradient: { x: [0, 0, 1] } }],
    beside: [{ x: [0.5 + d, 0.5 - d, -0.5 - d] }, { x: [-0.5 + d, 0.2, 2] }],
  },
];

/** Examples (cycled to fill the batch) as a batch. */
function batchOfPoints(trainer: GeneratedTrainer, points: readonly Values[]): Fields {
  const batch: Fields = {};
  for (const [name, shape] of Object.entries(trainer.spec.inputs)) {
    const size = sizeOf(shape);
    batch[name] = new Float64Array(BATCH * size);
    for (let e = 0; e < BATCH; e++) {
      const values = points[e % points.length]![name]!;
      expect(values.length, `${name} of a point`).toBe(size);
      batch[name]!.set(values, e * size);
    }
  }
  return batch;
}

/** ∂(mean loss)/∂input against the hand-written per-example gradients over n; returns disagreements. */
function kinkMismatches(
  trainer: GeneratedTrainer,
  batch: Fields,
  n: number,
  points: readonly KinkRow["on"][number][],
): string[] {
  trainer.gradient(batch, n);
  const problems: string[] = [];
  for (let e = 0; e < n; e++) {
    const { at, gradient } = points[e % points.length]!;
    for (const [name, expected] of Object.entries(gradient)) {
      const actual = trainer.inputGrads[name]!.subarray(e * expected.length, (e + 1) * expected.length);
      expected.forEach((g, i) => {
        const want = g / n;
        if (!(Math.abs(actual[i]! - want) <= 1e-12 * Math.max(1, Math.abs(want)))) {
          problems.push(
            `n=${n} at ${JSON.stringify(at)}: ∂/∂${name}[${i}] is ${actual[i]! * n}, the convention says ${g}`,
          );
        }
      });
    }
  }
  return problems;
}

describe("kinks and ties: the documented convention on the kink, finite differences beside it", () => {
  for (const row of kinkRows) {
    it(row.name, async () => {
      const trainer = (await loadGenerated(definitionOf({ ...row, loss: true }), BATCH)).createTrainer();
      for (let start = 0; start < row.on.length; start += BATCH) {
        const points = row.on.slice(start, start + BATCH);
        const batch = batchOfPoints(
          trainer,
          points.map((p) => p.at),
        );
        expect(kinkMismatches(trainer, batch, BATCH, points)).toEqual([]);
        expect(kinkMismatches(trainer, shortBatch(trainer, batch, SHORT), SHORT, points)).toEqual([]);
      }
      for (let start = 0; start < row.beside.length; start += BATCH) {
        const batch = batchOfPoints(trainer, row.beside.slice(start, start + BATCH));
        expect(gradientMismatches(trainer, batch, BATCH)).toEqual([]);
        expect(gradientMismatches(trainer, shortBatch(trainer, batch, SHORT), SHORT)).toEqual([]);
      }
    });
  }
});

// Per-example normalisation (across the batch: the block at the end of this file)
const layerNormRows: Row[] = [
  {
    name: "nn.layerNorm [2,3] over the last axis, γ β [3]",
    build: ({ input, param }) => nn.layerNorm(input("x", [2, 3], X), param("g", [3]), param("b", [3]), 0.1),
  },
  {
    name: "nn.layerNorm [4] of x·p, γ β [4], default eps",
    build: ({ input, param }) =>
      nn.layerNorm(input("x", [4], X).mul(param("p", [4])), param("g", [4]), param("b", [4])),
  },
];

// ─── Issue 11: batched products, comparisons and selection ─────────────────────────────────────

/** Multi-head self-attention on one example's [T, d] = [4, 8], h = 2 heads of width 4, written with batched products. */
function attention(b: ModelBuilder): Tensor {
  const x = b.input("x", [4, 8], X);
  const q = x.matmul(b.param("Wq", [2, 8, 4])); // [T, d]·[h, d, k] → [h, T, k]
  const k = x.matmul(b.param("Wk", [2, 8, 4]));
  const v = x.matmul(b.param("Wv", [2, 8, 4]));
  const scores = q.matmul(k.transpose([0, 2, 1])).mul(0.5); // [h, T, k]·[h, k, T] → [h, T, T], ÷ √k
  const heads = nn.softmax(scores).matmul(v); // [h, T, T]·[h, T, k] → [h, T, k]
  return heads
    .transpose([1, 0, 2])
    .reshape([4, 8])
    .matmul(b.param("Wo", [8, 8]));
}

const issue11Rows: Row[] = [
  { name: "multi-head self-attention (h = 2, T = 4, d = 8)", build: attention },
  {
    name: "matmul [2,3,4]·[2,4,3] input·input (batched, as q·kᵀ)",
    build: ({ input }) => input("x", [2, 3, 4], X).matmul(input("y", [2, 4, 3], X)),
  },
  {
    name: "matmul [3,4]·[2,4,5] (shared stack broadcast over the left's missing axis)",
    build: ({ input, param }) => input("x", [3, 4], X).matmul(param("W", [2, 4, 5])),
  },
  {
    name: "matmul [2,3,4]·[4,5] (a 2-D param broadcast over the stack)",
    build: ({ input, param }) => input("x", [2, 3, 4], X).matmul(param("W", [4, 5])),
  },
  {
    name: "matmul [2,1,2,3]·[3,3,2] (leading axes broadcast both ways)",
    build: ({ input, param }) => input("x", [2, 1, 2, 3], X).matmul(param("W", [3, 3, 2])),
  },
  {
    name: "matmul [3]·[2,3,4] and [2,4,3]·[3] (vectors against stacks)",
    build: ({ input, param }) =>
      input("x", [3], X)
        .matmul(param("W", [2, 3, 4]))
        .add(param("V", [2, 4, 3]).matmul(input("y", [3], X))),
  },
  {
    name: "matmul param stack [2,2,3]·[2,3,2], then times input",
    build: ({ input, param }) =>
      param("A", [2, 2, 3])
        .matmul(param("B", [2, 3, 2]))
        .mul(input("x", [2, 2, 2], X)),
  },
  {
    name: "greater, less, equal as masks (no gradient through the comparison)",
    build: ({ input }) => {
      const x = input("x", [6], X);
      const [y, z] = [input("y", [6]), input("z", [6])];
      return x
        .mul(y.greater(z))
        .add(x.sin().mul(y.less(z)))
        .add(x.exp().mul(y.equal(z)));
    },
    fill: { y: lattice(1, 0), z: lattice(1, 0) },
  },
  {
    name: "nn.where [2,3] (condition from an input, branches of x and a param)",
    build: ({ input, param }) => {
      const x = input("x", [2, 3], X);
      return nn.where(input("c", [2, 3]).greater(0), x.mul(param("p", [3])), x.sin());
    },
  },
  {
    name: "nn.where with numbers as branches",
    build: ({ input }) => {
      const x = input("x", [4], X);
      return nn.where(x.greater(0), 1.5, x.square());
    },
    fill: { x: signed(0.1, 1) },
  },
  {
    name: "nn.clip [2,3] to [−0.5, 0.5]",
    build: (b) => nn.clip(affine(b, [2, 3]), -0.5, 0.5),
    fill: { x: within([-2, -1], [-0.3, 0.3], [1, 2]), p: uniform(-0.1, 0.1) },
  },
  {
    name: "constant [2,3] and [3] (nested and flat values) times and plus an input",
    build: ({ input }) =>
      input("x", [2, 3], X)
        .mul(
          constant(
            [
              [1, -2, 0.5],
              [3, 0.25, -1],
            ],
            [2, 3],
          ),
        )
        .add(constant([0.1, 0.2, 1 / 3], [3])),
  },
  {
    name: "constant matrix in a product [3]·[3,2]",
    build: ({ input }) =>
      input("x", [3], X)
        .matmul(constant([1, 2, 3, 4, 5, 6], [3, 2]))
        .sin(),
  },
  {
    name: "nn.clip with an open side (−∞, 0.25]",
    build: (b) => nn.clip(affine(b, [4]), -Infinity, 0.25),
    fill: { x: within([-2, 0], [0.5, 2]), p: uniform(-0.1, 0.1) },
  },
];

describe("nn.stopGradient: the value forward, no gradient through it", () => {
  it("loss = Σ sg(x⊙p)⊙x + Σ sg(p)²: ∂/∂x = x⊙p (not 2x⊙p), ∂/∂p = 0", async () => {
    const definition = model(`ops_${modelCount++}`, ({ input, param }) => {
      const x = input("x", [3], X);
      const p = param("p", [3]);
      return { loss: nn.stopGradient(x.mul(p)).mul(x).sum().add(nn.stopGradient(p).square().sum()) };
    });
    const trainer = (await loadGenerated(definition, BATCH)).createTrainer();
    const p = [0.5, -1.25, 2];
    trainer.params.p!.set(p);
    const x = new Float64Array([0.3, -0.7, 1.1, 2, 0.1, -0.4, -1, 1.5, 0.25]);
    for (const n of [BATCH, SHORT]) {
      const loss = trainer.gradient({ x }, n);
      let expected = 0;
      for (let e = 0; e < n; e++) for (let i = 0; i < 3; i++) expected += (x[3 * e + i]! ** 2 * p[i]! + p[i]! ** 2) / n;
      expect(loss).toBeCloseTo(expected, 12);
      expect([...trainer.grads.p!]).toEqual([0, 0, 0]);
      for (let e = 0; e < n; e++)
        for (let i = 0; i < 3; i++)
          expect(trainer.inputGrads.x![3 * e + i]).toBeCloseTo((x[3 * e + i]! * p[i]!) / n, 14);
    }
  });
});

// ─── The specification ─────────────────────────────────────────────────────────────────────────

const tables: [string, Row[]][] = [
  ["Tensor methods", tensorRows],
  ["activations", activationRows],
  ["losses", lossRows],
  ["integer ids", idRows],
  ["grad() inside a model", gradRows],
  ["layer normalisation", layerNormRows],
  ["batched products, comparisons and selection", issue11Rows],
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

// ─── Forward values against references computed here ───────────────────────────────────────────

/** Close to `expected` within 1e-12 relative (1e-300 absolute for values that underflow). */
function expectValues(actual: ArrayLike<number>, expected: readonly number[], what: string): void {
  expect(actual.length, what).toBeGreaterThanOrEqual(expected.length);
  const problems: string[] = [];
  expected.forEach((e, i) => {
    const a = actual[i]!;
    const ok = a === e || Math.abs(a - e) <= 1e-12 * Math.abs(e) + 1e-300;
    if (!ok) problems.push(`${what}[${i}]: generated ${a}, expected ${e}`);
  });
  expect(problems).toEqual([]);
}

/** log Σ eˣ, stably, the textbook way. */
function logSumExp(x: readonly number[]): number {
  const m = Math.max(...x);
  return m + Math.log(x.reduce((s, v) => s + Math.exp(v - m), 0));
}
const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
/** log(1 + eˣ): for |x| > 30 the series e^−|x| − e^−2|x|/2 is exact to double precision. */
function softplus(x: number): number {
  if (x > 30) return x + Math.exp(-x) - Math.exp(-2 * x) / 2;
  if (x < -30) return Math.exp(x) - Math.exp(2 * x) / 2;
  return Math.log(1 + Math.exp(x));
}

interface ForwardRow {
  readonly name: string;
  /** Declares inputs (no parameters) and returns the value under test. */
  readonly build: (b: ModelBuilder) => Tensor;
  /** Per example, the values of each input. */
  readonly examples: readonly Readonly<Record<string, readonly number[]>>[];
  /** The expected value of one example, row-major. */
  readonly reference: (values: Readonly<Record<string, readonly number[]>>) => number[];
}

const forwardRows: ForwardRow[] = [
  {
    name: "nn.softmax [4] near ±1000 and at moderate values",
    build: ({ input }) => nn.softmax(input("x", [4])),
    examples: [{ x: [1000, 999, 1001, 998.5] }, { x: [-1000, -999, -1001, -1002] }, { x: [0.5, -0.3, 2, 1] }],
    reference: ({ x }) => x!.map((v) => Math.exp(v - logSumExp(x!))),
  },
  {
    name: "nn.logSoftmax [4] near ±1000",
    build: ({ input }) => nn.logSoftmax(input("x", [4])),
    examples: [{ x: [1000, 999, 1001, 998.5] }, { x: [-1000, -999, -1001, -1002] }, { x: [0.5, -0.3, 2, 1] }],
    reference: ({ x }) => x!.map((v) => v - logSumExp(x!)),
  },
  {
    name: "nn.logSumExp [4] near ±1000 (no overflow)",
    build: ({ input }) => nn.logSumExp(input("x", [4])),
    examples: [{ x: [1000, 999, 1001, 998.5] }, { x: [-1000, -999, -1001, -1002] }, { x: [1000, 1000, 1000, 1000] }],
    reference: ({ x }) => [logSumExp(x!)],
  },
  {
    name: "nn.logSumExp [2,3] per row",
    build: ({ input }) => nn.logSumExp(input("x", [2, 3])),
    examples: [
      { x: [1000, 999, 1001, -5, 0, 5] },
      { x: [-1000, -999, -1001, 0.1, 0.2, 0.3] },
      { x: [1, 2, 3, 4, 5, 6] },
    ],
    reference: ({ x }) => [logSumExp(x!.slice(0, 3)), logSumExp(x!.slice(3))],
  },
  {
    name: "nn.softplus at ±50, ±800, 0 and small values (no overflow)",
    build: ({ input }) => nn.softplus(input("x", [4])),
    examples: [{ x: [50, -50, 0, 1e-3] }, { x: [800, -800, 30.5, -30.5] }, { x: [1, -1, 2.5, -2.5] }],
    reference: ({ x }) => x!.map(softplus),
  },
  {
    name: "nn.sigmoid at ±50 and ±800",
    build: ({ input }) => nn.sigmoid(input("x", [4])),
    examples: [{ x: [50, -50, 0, 2] }, { x: [800, -800, 1, -1] }, { x: [0.25, -0.25, 5, -5] }],
    reference: ({ x }) => x!.map(sigmoid),
  },
  {
    name: "nn.elu (α = 0.5), nn.hardTanh, nn.swish (β = 2), nn.leakyRelu (α = 0.1)",
    build: ({ input }) => {
      const x = input("x", [4]);
      return nn
        .elu(x, 0.5)
        .add(nn.hardTanh(x).mul(10))
        .add(nn.swish(x, 2).mul(100))
        .add(nn.leakyRelu(x, 0.1).mul(1000));
    },
    examples: [{ x: [-2, -0.5, 0.5, 2] }, { x: [-800, 800, -1, 1] }, { x: [0.1, -0.1, 1.5, -1.5] }],
    reference: ({ x }) =>
      x!.map(
        (v) =>
          (v > 0 ? v : 0.5 * (Math.exp(v) - 1)) +
          10 * Math.max(-1, Math.min(1, v)) +
          100 * v * sigmoid(2 * v) +
          1000 * (v > 0 ? v : 0.1 * v),
      ),
  },
  {
    name: "nn.maxout [6] k = 3",
    build: ({ input }) => nn.maxout(input("x", [6]), 3),
    examples: [{ x: [1, 5, 3, -1, -2, -3] }, { x: [0, 0, 0, 9, 8, 7] }, { x: [-4, 4, 0, 2, 6, 1] }],
    reference: ({ x }) => [Math.max(...x!.slice(0, 3)), Math.max(...x!.slice(3))],
  },
  {
    name: "matmul [2,3]·[3,2], transpose [2,3,1] perm [1,0,2]",
    build: ({ input }) => {
      const a = input("a", [2, 3]);
      const b = input("b", [3, 2]);
      return a
        .matmul(b)
        .reshape([4])
        .add(a.reshape([2, 3, 1]).transpose([1, 0, 2]).reshape([6]).sum().mul(100));
    },
    examples: [
      { a: [1, 2, 3, 4, 5, 6], b: [7, 8, 9, 10, 11, 12] },
      { a: [-1, 0.5, 2, 0, 3, -2], b: [1, -1, 2, -2, 0.5, 4] },
      { a: [0, 0, 1, 1, 0, 0], b: [3, 1, 4, 1, 5, 9] },
    ],
    reference: ({ a, b }) => {
      const out: number[] = [];
      for (let i = 0; i < 2; i++)
        for (let j = 0; j < 2; j++) {
          let s = 0;
          for (let p = 0; p < 3; p++) s += a![i * 3 + p]! * b![p * 2 + j]!;
          out.push(s + 100 * a!.reduce((x, y) => x + y, 0));
        }
      return out;
    },
  },
  {
    name: "transpose [2,3] → [3,2] element order",
    build: ({ input }) => input("x", [2, 3]).transpose(),
    examples: [{ x: [1, 2, 3, 4, 5, 6] }, { x: [6, 5, 4, 3, 2, 1] }, { x: [0, 1, 0, 1, 0, 1] }],
    reference: ({ x }) => [x![0]!, x![3]!, x![1]!, x![4]!, x![2]!, x![5]!],
  },
  {
    name: "sum(0), mean(1), max(0) of [2,3]",
    build: ({ input }) => {
      const x = input("x", [2, 3]);
      return x.sum(0).add(x.max(0).mul(100)).reshape([3]).add(x.mean(1).sum().mul(10000));
    },
    examples: [{ x: [1, 2, 3, 4, 5, 6] }, { x: [6, -5, 4, -3, 2, -1] }, { x: [0.5, 1, 0, 1, 0.25, 1] }],
    reference: ({ x }) => {
      const rowMeans = (x![0]! + x![1]! + x![2]!) / 3 + (x![3]! + x![4]! + x![5]!) / 3;
      return [0, 1, 2].map((j) => x![j]! + x![j + 3]! + 100 * Math.max(x![j]!, x![j + 3]!) + 10000 * rowMeans);
    },
  },
  {
    name: "nn.hinge [3] one-hot",
    build: ({ input }) => nn.hinge(input("s", [3]), input("t", [3])),
    examples: [
      { s: [1, 0.5, -2], t: [0, 1, 0] },
      { s: [3, -1, 0], t: [1, 0, 0] },
      { s: [0.2, 0.1, 0.9], t: [0, 0, 1] },
    ],
    reference: ({ s, t }) => {
      const y = t!.indexOf(1);
      return [s!.reduce((sum, v, j) => sum + (j === y ? 0 : Math.max(0, v - s![y]! + 1)), 0)];
    },
  },
  {
    name: "nn.binaryCrossEntropy [3]",
    build: ({ input }) => nn.binaryCrossEntropy(input("p", [3]), input("t", [3])),
    examples: [
      { p: [0.9, 0.2, 0.5], t: [1, 0, 1] },
      { p: [0.01, 0.99, 0.3], t: [0, 1, 0.25] },
      { p: [0.6, 0.6, 0.6], t: [0.5, 0, 1] },
    ],
    reference: ({ p, t }) => [
      -p!.reduce((sum, v, j) => sum + t![j]! * Math.log(v) + (1 - t![j]!) * Math.log(1 - v), 0),
    ],
  },
  {
    name: "nn.crossEntropy [3]",
    build: ({ input }) => nn.crossEntropy(input("p", [3]), input("t", [3])),
    examples: [
      { p: [0.7, 0.2, 0.1], t: [1, 0, 0] },
      { p: [0.1, 0.3, 0.6], t: [0, 0.5, 0.5] },
      { p: [1e-200, 0.5, 0.5], t: [0, 0, 1] },
    ],
    reference: ({ p, t }) => [-p!.reduce((sum, v, j) => sum + (t![j] === 0 ? 0 : t![j]! * Math.log(v)), 0)],
  },
  {
    name: "nn.mse, nn.halfSquaredError [2,2]",
    build: ({ input }) => {
      const y = input("y", [2, 2]);
      const t = input("t", [2, 2]);
      return nn.mse(y, t).add(nn.halfSquaredError(y, t).mul(1000));
    },
    examples: [
      { y: [1, 2, 3, 4], t: [0, 0, 0, 0] },
      { y: [0.5, -0.5, 1, 2], t: [1, 1, 1, 1] },
      { y: [3, 3, 3, 3], t: [3, 3, 3, 2] },
    ],
    reference: ({ y, t }) => {
      const sq = y!.reduce((sum, v, j) => sum + (v - t![j]!) ** 2, 0);
      return [sq / 4 + 1000 * 0.5 * sq];
    },
  },
  {
    name: "nn.l1, nn.l2 [2,2]",
    build: ({ input }) => {
      const w = input("w", [2, 2]);
      return nn.l1(w).add(nn.l2(w).mul(1000));
    },
    examples: [{ w: [1, -2, 3, -4] }, { w: [0.5, 0, -0.25, 2] }, { w: [0, 0, 0, 1] }],
    reference: ({ w }) => [w!.reduce((sum, v) => sum + Math.abs(v), 0) + 1000 * w!.reduce((sum, v) => sum + v * v, 0)],
  },
  {
    name: "nn.sigmoidCrossEntropy [3] with logits ±50 and ±800 (no overflow)",
    build: ({ input }) => nn.sigmoidCrossEntropy(input("z", [3]), input("t", [3])),
    examples: [
      { z: [50, -50, 0], t: [0, 1, 1] },
      { z: [800, -800, 2], t: [1, 0, 0.5] },
      { z: [-800, 800, -2], t: [1, 0, 0] },
    ],
    reference: ({ z, t }) => [z!.reduce((sum, v, j) => sum + softplus(v) - v * t![j]!, 0)],
  },
  {
    name: "nn.softmaxCrossEntropy [3] with logits near ±1000 (no overflow)",
    build: ({ input }) => nn.softmaxCrossEntropy(input("z", [3]), input("t", [3])),
    examples: [
      { z: [1000, 0, -1000], t: [0, 1, 0] },
      { z: [1000, 999, 998], t: [1, 0, 0] },
      { z: [-1000, -1001, -999], t: [0, 0, 1] },
    ],
    reference: ({ z, t }) => [logSumExp(z!) - z![t!.indexOf(1)]!],
  },
];

describe("forward values of the generated code match references computed in the test", () => {
  for (const row of forwardRows) {
    it(row.name, async () => {
      const definition = model(`ops_${modelCount++}`, (b) => {
        const value = row.build(b);
        return { loss: value.sum(), outputs: { value } };
      });
      const trainer = (await loadGenerated(definition, BATCH)).createTrainer();
      const inputs: Fields = {};
      for (const name of Object.keys(trainer.spec.inputs))
        inputs[name] = Float64Array.from(row.examples.flatMap((e) => [...e[name]!]));
      const expected = row.examples.map(row.reference);
      const predicted = trainer.predict(inputs, BATCH).value!;
      expectValues(predicted, expected.flat(), "predict");
      // loss() is the mean over n of the per-example value's sum
      const sums = expected.map((values) => values.reduce((a, b) => a + b, 0));
      for (const n of [BATCH, SHORT, 1]) {
        expectValues([trainer.loss(inputs, n)], [sums.slice(0, n).reduce((a, b) => a + b, 0) / n], `loss(n = ${n})`);
      }
    });
  }

  it("gradients stay finite and exact for logits near ±1000: ∂ logSumExp = softmax, ∂ softmaxCrossEntropy = softmax − y", async () => {
    const definition = model(`ops_${modelCount++}`, ({ input }) => {
      const x = input("x", [3], X);
      const z = input("z", [3], X);
      const t = input("t", [3]);
      return { loss: nn.logSumExp(x).add(nn.softmaxCrossEntropy(z, t)) };
    });
    const trainer = (await loadGenerated(definition, BATCH)).createTrainer();
    const examples = [
      [1000, 999, 1001],
      [-1000, -999, -1001],
      [800, -800, 0],
    ];
    const targets = [
      [0, 1, 0],
      [1, 0, 0],
      [0, 0, 1],
    ];
    const batch = {
      x: Float64Array.from(examples.flat()),
      z: Float64Array.from(examples.flat()),
      t: Float64Array.from(targets.flat()),
    };
    trainer.gradient(batch, BATCH);
    const softmax = examples.map((x) => x.map((v) => Math.exp(v - logSumExp(x))));
    expectValues(
      trainer.inputGrads.x!,
      softmax.flat().map((v) => v / BATCH),
      "∂/∂x",
    );
    expectValues(
      trainer.inputGrads.z!,
      softmax.flatMap((p, e) => p.map((v, j) => (v - targets[e]![j]!) / BATCH)),
      "∂/∂z",
    );
  });

  it("gradients stay finite for softplus and sigmoidCrossEntropy at ±50 and ±800: ∂ = σ(z) − y", async () => {
    const definition = model(`ops_${modelCount++}`, ({ input }) => {
      const x = input("x", [4], X);
      const t = input("t", [4]);
      return { loss: nn.softplus(x).sum().add(nn.sigmoidCrossEntropy(x, t)) };
    });
    const trainer = (await loadGenerated(definition, BATCH)).createTrainer();
    const examples = [
      [50, -50, 800, -800],
      [1, -1, 0, 30.5],
      [-30.5, 2, -2, 0.5],
    ];
    const targets = [
      [0, 1, 1, 0],
      [1, 0, 0.5, 1],
      [0, 1, 0, 0.25],
    ];
    const batch = { x: Float64Array.from(examples.flat()), t: Float64Array.from(targets.flat()) };
    const loss = trainer.gradient(batch, BATCH);
    const expectedLoss =
      examples.reduce((sum, x, e) => sum + x.reduce((s, v, j) => s + 2 * softplus(v) - v * targets[e]![j]!, 0), 0) /
      BATCH;
    expectValues([loss], [expectedLoss], "loss");
    expectValues(
      trainer.inputGrads.x!,
      examples.flatMap((x, e) => x.map((v, j) => (2 * sigmoid(v) - targets[e]![j]!) / BATCH)),
      "∂/∂x",
    );
  });
});

describe("grad() inside a model: higher derivatives", () => {
  it("d²σ/dx² = σ(1−σ)(1−2σ) and d³σ/dx³ = σ(1−σ)(1−6σ+6σ²), through nested grad()", async () => {
    const definition = model(`ops_${modelCount++}`, ({ input }) => {
      const x = input("x", [], X);
      const s = nn.sigmoid(x);
      const d1 = grad(s, x);
      const d2 = grad(d1, x);
      return { loss: d2, outputs: { d1, d2 } };
    });
    const trainer = (await loadGenerated(definition, BATCH)).createTrainer();
    const xs = [-2.5, 0.3, 1.7];
    const batch = { x: Float64Array.from(xs) };
    const { d1, d2 } = trainer.predict(batch, BATCH);
    const sig = xs.map(sigmoid);
    expectValues(
      d1!,
      sig.map((s) => s * (1 - s)),
      "dσ/dx",
    );
    expectValues(
      d2!,
      sig.map((s) => s * (1 - s) * (1 - 2 * s)),
      "d²σ/dx²",
    );
    expectValues(
      [trainer.gradient(batch, BATCH)],
      [sig.reduce((sum, s) => sum + s * (1 - s) * (1 - 2 * s), 0) / BATCH],
      "mean d²σ/dx²",
    );
    // ∂(mean loss)/∂xₑ = σ‴(xₑ)/n
    expectValues(
      trainer.inputGrads.x!,
      sig.map((s) => (s * (1 - s) * (1 - 6 * s + 6 * s * s)) / BATCH),
      "d³σ/dx³ / n",
    );
  });
});

// ─── Across the batch: x.batchMean(), x.batchVariance(), nn.batchNorm ──────────────────────────
//
// These values depend on every example of the call, so the per-example checks above do not apply.
// gradient() is checked against central differences of trainingLoss() (the training form: batch
// statistics over the n examples of the call, n = 3 and the short n = 2), and trainingLoss()
// against the definition computed here. loss() and predict() use the running statistics: see the
// tests of step() below.

/** The per-example value of a row from its inputs (one array per example) and parameters. */
type BatchReference = (x: readonly number[][], params: Readonly<Record<string, readonly number[]>>) => number[][];

interface BatchRow {
  readonly name: string;
  readonly build: (b: ModelBuilder) => Tensor;
  readonly reference: BatchReference;
}

const meanOf = (rows: readonly number[][]): number[] =>
  rows[0]!.map((_, i) => rows.reduce((sum, row) => sum + row[i]!, 0) / rows.length);
const times = (a: readonly number[], b: readonly number[]): number[] => a.map((v, i) => v * b[i]!);

/** (u − μ)/√(σ² + eps)·γ + β with μ, σ² (biased) over the examples and over groups of `group` adjacent elements. */
function batchNormByHand(
  u: readonly number[][],
  gamma: readonly number[],
  beta: readonly number[],
  eps: number,
  group = 1,
): { y: number[][]; mean: number[]; variance: number[] } {
  const stats = gamma.map((_, g) => {
    const values = u.flatMap((row) => row.slice(g * group, (g + 1) * group));
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    return { mean, variance: values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length };
  });
  const y = u.map((row) =>
    row.map((v, i) => {
      const g = Math.floor(i / group);
      return ((v - stats[g]!.mean) / Math.sqrt(stats[g]!.variance + eps)) * gamma[g]! + beta[g]!;
    }),
  );
  return { y, mean: stats.map((s) => s.mean), variance: stats.map((s) => s.variance) };
}

const batchRows: BatchRow[] = [
  {
    name: "(x·p).batchMean() · x [2,3]",
    build: ({ input, param }) => {
      const x = input("x", [2, 3], X);
      return x
        .mul(param("p", [2, 3]))
        .batchMean()
        .mul(x);
    },
    reference: (x, { p }) => {
      const mean = meanOf(x.map((row) => times(row, p!)));
      return x.map((row) => times(mean, row));
    },
  },
  {
    name: "(x·p).batchVariance() · x [3]",
    build: ({ input, param }) => {
      const x = input("x", [3], X);
      return x
        .mul(param("p", [3]))
        .batchVariance()
        .mul(x);
    },
    reference: (x, { p }) => {
      const u = x.map((row) => times(row, p!));
      const mean = meanOf(u);
      const variance = meanOf(u.map((row) => row.map((v, i) => (v - mean[i]!) ** 2)));
      return x.map((row) => times(variance, row));
    },
  },
  {
    name: "nn.batchNorm(x·p) [3], γ β [3], eps 0.1",
    build: ({ input, param }) =>
      nn.batchNorm(input("x", [3], X).mul(param("p", [3])), param("g", [3]), param("b", [3]), { eps: 0.1 }),
    reference: (x, { p, g, b }) =>
      batchNormByHand(
        x.map((row) => times(row, p!)),
        g!,
        b!,
        0.1,
      ).y,
  },
  {
    name: "nn.batchNorm [2,3] with γ β [2,1]: statistics over the examples and the last axis, default eps",
    build: ({ input, param }) => nn.batchNorm(input("x", [2, 3], X), param("g", [2, 1]), param("b", [2, 1])),
    reference: (x, { g, b }) => batchNormByHand(x, g!, b!, 1e-5, 3).y,
  },
];

function batchRowMismatches(row: BatchRow, trainer: GeneratedTrainer, batch: Fields, n: number): string[] {
  const problems: string[] = [];
  const compare = (what: string, generated: number, expected: number): void => {
    const error = relativeError(generated, expected);
    if (!(error < TOLERANCE)) problems.push(`n=${n} ${what}: generated ${generated}, expected ${expected} (${error})`);
  };
  const size = sizeOf(trainer.spec.inputs.x!);
  const examples = Array.from({ length: n }, (_, e) => [...batch.x!.subarray(e * size, (e + 1) * size)]);
  const params = Object.fromEntries(Object.entries(trainer.params).map(([k, v]) => [k, [...v]]));
  const values = row.reference(examples, params);
  const byHand = values.reduce((sum, t) => sum + t.reduce((s, v, i) => s + v * params.probe![i]!, 0), 0) / n;
  const trainingLoss = (): number => trainer.trainingLoss(batch, n);
  compare("trainingLoss() vs the definition", trainingLoss(), byHand);
  compare("gradient() return value vs trainingLoss()", trainer.gradient(batch, n), byHand);
  const grads = Object.fromEntries(Object.entries(trainer.grads).map(([k, v]) => [k, Float64Array.from(v)]));
  const inputGrad = Float64Array.from(trainer.inputGrads.x!);
  for (const [name, values] of Object.entries(trainer.params))
    for (let i = 0; i < values.length; i++)
      compare(`∂/∂${name}[${i}]`, grads[name]![i]!, finiteDifference(trainingLoss, values, i));
  for (let i = 0; i < n * size; i++)
    compare(`∂/∂x[${i}] (input)`, inputGrad[i]!, finiteDifference(trainingLoss, batch.x!, i));
  return problems;
}

describe("generated gradients match finite differences of trainingLoss(): statistics across the batch", () => {
  for (const row of batchRows) {
    const rowSeed = seed++ * 7919;
    it(row.name, async () => {
      const definition = model(`ops_${modelCount++}`, (b) => {
        const t = row.build(b);
        return { loss: t.mul(b.param("probe", t.shape)).sum(), outputs: { value: t } };
      });
      const trainer = (await loadGenerated(definition, BATCH)).createTrainer();
      const random = mulberry32(rowSeed);
      for (const values of Object.values(trainer.params)) values.set(uniform(-1, 1)(random, values.length));
      const x = Float64Array.from(uniform(-1, 1)(random, BATCH * sizeOf(trainer.spec.inputs.x!)));
      expect(batchRowMismatches(row, trainer, { x }, BATCH)).toEqual([]);
      expect(batchRowMismatches(row, trainer, shortBatch(trainer, { x }, SHORT), SHORT)).toEqual([]);
    });
  }
});

describe("nn.batchNorm's running statistics: updated by step(), used by loss() and predict(), saved in checkpoints", () => {
  const momentum = 0.8;
  const eps = 0.01;
  const definition = model(`ops_${modelCount++}`, ({ input, param }) => {
    const x = input("x", [2]);
    const t = input("t", [2]);
    const y = nn.batchNorm(x, param("g", [2], { init: "ones" }), param("b", [2]), { momentum, eps });
    return { loss: nn.halfSquaredError(y, t), outputs: { y } };
  });
  const steps: { x: number[][]; t: number[][] }[] = [
    {
      x: [
        [1, -2],
        [3, 0.5],
        [-1, 4],
        [2, 2],
      ],
      t: [
        [0, 1],
        [1, 0],
        [0.5, 0.5],
        [-1, 2],
      ],
    },
    {
      x: [
        [0.5, 1],
        [-3, 2],
        [2.5, -1],
      ],
      t: [
        [1, 1],
        [0, -1],
        [2, 0],
      ],
    }, // a short batch: n = 3
    {
      x: [
        [4, 0],
        [1, 1],
        [-2, 3],
        [0, -5],
      ],
      t: [
        [0, 0],
        [1, 1],
        [1, -1],
        [0, 2],
      ],
    },
  ];
  const fields = (s: { x: number[][]; t: number[][] }): Fields => ({
    x: Float64Array.from(s.x.flat()),
    t: Float64Array.from(s.t.flat()),
  });

  it("after k steps the running mean and (unbiased) variance are the formula's, and loss()/predict() use them", async () => {
    const { createTrainer } = await loadGenerated(definition, 4, { optimizer: "sgd", learningRate: 0.1 });
    const trainer = createTrainer();
    expect([...trainer.state.buffers["batchNorm0.runningMean"]!]).toEqual([0, 0]);
    expect([...trainer.state.buffers["batchNorm0.runningVariance"]!]).toEqual([1, 1]);
    let runningMean = [0, 0];
    let runningVariance = [1, 1];
    for (const s of steps) {
      const g = [...trainer.params.g!];
      const b = [...trainer.params.b!];
      const { y, mean, variance } = batchNormByHand(s.x, g, b, eps);
      const expectedLoss =
        y.reduce((sum, row, e) => sum + row.reduce((a, v, i) => a + 0.5 * (v - s.t[e]![i]!) ** 2, 0), 0) / s.x.length;
      // gradient() alone leaves the running statistics as they are
      trainer.gradient(fields(s), s.x.length);
      expectValues(trainer.state.buffers["batchNorm0.runningMean"]!, runningMean, "running mean after gradient()");
      expectValues([trainer.step(fields(s), s.x.length)], [expectedLoss], "step() loss (batch statistics)");
      const m = s.x.length;
      runningMean = runningMean.map((r, i) => momentum * r + (1 - momentum) * mean[i]!);
      runningVariance = runningVariance.map((r, i) => momentum * r + (1 - momentum) * ((variance[i]! * m) / (m - 1)));
      expectValues(trainer.state.buffers["batchNorm0.runningMean"]!, runningMean, "running mean");
      expectValues(trainer.state.buffers["batchNorm0.runningVariance"]!, runningVariance, "running variance");
    }
    // The inference form: (x − running mean)/√(running variance + eps)·γ + β
    const probe = steps[0]!;
    const g = [...trainer.params.g!];
    const b = [...trainer.params.b!];
    const y = probe.x.map((row) =>
      row.map((v, i) => ((v - runningMean[i]!) / Math.sqrt(runningVariance[i]! + eps)) * g[i]! + b[i]!),
    );
    expectValues(trainer.predict({ x: fields(probe).x! }).y!, y.flat(), "predict()");
    const loss = y.reduce((sum, row, e) => sum + row.reduce((a, v, i) => a + 0.5 * (v - probe.t[e]![i]!) ** 2, 0), 0);
    expectValues([trainer.loss(fields(probe))], [loss / probe.x.length], "loss()");
    // one example predicts the same through the running statistics (no batch statistic of one example)
    expectValues(trainer.predict({ x: Float64Array.from(probe.x[1]!) }).y!, y[1]!, "predict() of one example");
  });

  it("checkpoints and snapshot()/restore() carry the running statistics", async () => {
    const { createTrainer } = await loadGenerated(definition, 4, { optimizer: "sgd", learningRate: 0.1 });
    const trainer = createTrainer();
    for (const s of steps) trainer.step(fields(s), s.x.length);
    const saved = Object.fromEntries(Object.entries(trainer.state.buffers).map(([k, v]) => [k, [...v]]));
    const bytes = encodeCheckpoint(trainer as never);
    const fresh = createTrainer();
    decodeCheckpoint(fresh as never, bytes);
    for (const [name, values] of Object.entries(saved)) expect([...fresh.state.buffers[name]!], name).toEqual(values);
    const x = fields(steps[2]!).x!;
    expect([...fresh.predict({ x }).y!]).toEqual([...trainer.predict({ x }).y!]);
    trainer.snapshot();
    trainer.step(fields(steps[0]!));
    expect([...trainer.state.buffers["batchNorm0.runningMean"]!]).not.toEqual(saved["batchNorm0.runningMean"]);
    trainer.restore();
    expect([...trainer.state.buffers["batchNorm0.runningMean"]!]).toEqual(saved["batchNorm0.runningMean"]);
  });

  it("gradgen check refuses a model with batch statistics (one example's loss depends on the others)", async () => {
    await expect(checkGradients(definition)).rejects.toThrow(/statistic across the batch/);
  });

  it("batch statistics of a value shared by all examples, and bad γ/β/momentum/eps, are refused at the call (file:line)", () => {
    const thisFile = fileURLToPath(import.meta.url);
    const cases: [string, (b: ModelBuilder) => Tensor][] = [
      ["batchMean: the value is already shared", ({ param }) => param("p", [3]).batchMean()],
      ["batchVariance: the value is already shared", ({ param }) => param("p", [3]).mul(2).batchVariance()],
      ["nn.batchNorm: the value is already shared", ({ param }) => nn.batchNorm(param("p", [3]), 1, 0)],
      ["must have one shape that broadcasts", ({ input, param }) => nn.batchNorm(input("x", [3]), param("g", [2]), 0)],
      ["momentum must be a number in [0, 1)", ({ input }) => nn.batchNorm(input("x", [3]), 1, 0, { momentum: 1 })],
      ["eps must be a finite number > 0", ({ input }) => nn.layerNorm(input("x", [3]), 1, 0, 0)],
    ];
    for (const [message, build] of cases) {
      let error: unknown;
      try {
        traceModel(model("refused", (b) => ({ loss: build(b).sum().add(b.input("z", []).mul(0)) })));
      } catch (caught) {
        error = caught;
      }
      expect(error, message).toBeInstanceOf(GradgenError);
      const { location } = error as GradgenError;
      expect((error as GradgenError).message).toContain(message);
      expect(location?.file && path.resolve(location.file), message).toBe(thisFile);
      const source = readFileSync(thisFile, "utf8").split("\n");
      expect(source[location!.line - 1], message).toContain(`["${message}"`);
    }
  });
});

// ─── Slicing and joining, transpose of any rank, reductions along an axis (issue 11) ───────────

/** h ← tanh(xₜ·W + h·U + b) over the rows xₜ = x[t] of a per-example [5, 3] input: an Elman RNN, one slice per step. */
function elmanRnn({ input, param }: ModelBuilder): Tensor {
  const x = input("x", [5, 3], X);
  const [W, U, b] = [param("W", [3, 4]), param("U", [4, 4]), param("b", [4])];
  let h: Tensor | undefined;
  for (let t = 0; t < 5; t++) {
    const xt = x.slice([t, 0], [1, -1]).reshape([3]);
    const z = xt.matmul(W).add(b);
    h = nn.tanh(h ? z.add(h.matmul(U)) : z);
  }
  return h!;
}

const slicingRows: Row[] = [
  { name: "slice [5,3] rows 1…2, size −1 to the end", build: (b) => affine(b, [5, 3]).slice([1, 0], [2, -1]) },
  {
    name: "slice [2,3,4] inner window [0,1,1] size [2,2,−1]",
    build: (b) => affine(b, [2, 3, 4]).slice([0, 1, 1], [2, 2, -1]),
  },
  { name: "slice [6] vector, begin as a number", build: (b) => affine(b, [6]).slice(2, 3) },
  {
    name: "slice of a transposed view [3,4]ᵀ → [2,2]",
    build: ({ input, param }) =>
      input("x", [3, 4], X)
        .transpose()
        .slice([1, 1], [2, 2])
        .mul(param("p", [2, 2])),
  },
  {
    name: "slice of a param row, matmul (a view read by the product)",
    build: ({ input, param }) => input("x", [3], X).matmul(param("W", [5, 3]).slice([1, 0], [3, -1])),
  },
  { name: "Elman RNN step by step on slices of a [5,3] input", build: elmanRnn },
  {
    name: "nn.concat axis 0: input [2,3] with param [1,3]",
    build: ({ input, param }) => nn.concat([input("x", [2, 3], X), param("p", [1, 3])], 0),
  },
  {
    name: "nn.concat axis −1 of three: affine [2,3], tanh [2,2], input [2,1]",
    build: (b) =>
      nn.concat(
        [affine(b, [2, 3]), nn.tanh(b.input("y", [2, 2], X).mul(b.param("q", [2, 2]))), b.input("z", [2, 1], X)],
        -1,
      ),
  },
  {
    name: "nn.concat of x with itself along axis 1",
    build: (b) => {
      const x = affine(b, [2, 2]);
      return nn.concat([x, x.square()], 1);
    },
  },
  {
    // Each operand is also read elsewhere, so it is computed once, straight into its rows of the result
    name: "nn.concat axis 0 of values read elsewhere too (written in place: tanh [1,3], sigmoid [2,3])",
    build: (b) => {
      const top = nn.tanh(affine(b, [1, 3]));
      const rest = nn.sigmoid(b.input("y", [2, 3], X).mul(b.param("q", [2, 3])));
      return nn
        .concat([top, rest], 0)
        .mul(b.param("r", [3, 3]))
        .add(top.sum())
        .add(rest.square().sum());
    },
  },
  {
    name: "nn.stack axis 0 of three [3] (input, param, product)",
    build: ({ input, param }) => {
      const x = input("x", [3], X);
      const p = param("p", [3]);
      return nn.stack([x, p, x.mul(p)]);
    },
  },
  { name: "nn.stack axis 1 of two [2,2]", build: (b) => nn.stack([affine(b, [2, 2]), b.input("y", [2, 2], X)], 1) },
  {
    name: "nn.pad [2,3] by [[1,0],[2,1]] with 0",
    build: (b) =>
      nn.pad(affine(b, [2, 3]), [
        [1, 0],
        [2, 1],
      ]),
  },
  { name: "nn.pad [3] by [[2,2]] with 1.5", build: (b) => nn.pad(affine(b, [3]), [[2, 2]], 1.5) },
  {
    name: "nn.pad of a slice (back to [4,3])",
    build: (b) =>
      nn.pad(affine(b, [4, 3]).slice([1, 0], [2, -1]), [
        [1, 1],
        [0, 0],
      ]),
  },
  {
    name: "nn.pad then slice across the border",
    build: (b) =>
      nn
        .pad(affine(b, [2, 2]), [
          [1, 1],
          [1, 1],
        ])
        .slice([0, 1], [3, 3]),
  },
  { name: "transpose rank 4 [2,3,1,2] perm [3,1,0,2]", build: (b) => affine(b, [2, 3, 1, 2]).transpose([3, 1, 0, 2]) },
  { name: "transpose rank 3 then sum over axis 0", build: (b) => affine(b, [2, 3, 2]).transpose([1, 2, 0]).sum(0) },
  { name: "nn.softmax [3,2] axis 0", build: (b) => nn.softmax(affine(b, [3, 2]), 0), fill: { x: uniform(-2, 2) } },
  {
    name: "nn.logSoftmax [2,3,2] axis 1",
    build: (b) => nn.logSoftmax(affine(b, [2, 3, 2]), 1),
    fill: { x: uniform(-2, 2) },
  },
  {
    name: "nn.logSumExp [3,2] axis 0 → [2]",
    build: (b) => nn.logSumExp(affine(b, [3, 2]), 0),
    fill: { x: uniform(-2, 2) },
  },
  { name: "nn.logSumExp [2,3,2] axes [0,2] → [3]", build: (b) => nn.logSumExp(affine(b, [2, 3, 2]), [0, 2]) },
  { name: "sum [2,3] axis 1 keepDims → [2,1]", build: (b) => affine(b, [2, 3]).sum(1, { keepDims: true }) },
  { name: "mean [2,3] axis 0 keepDims → [1,3]", build: (b) => affine(b, [2, 3]).mean(0, { keepDims: true }) },
  {
    name: "max [2,3] axis 1 keepDims",
    build: ({ input, param }) =>
      input("x", [2, 3], X)
        .max(1, { keepDims: true })
        .mul(param("p", [2, 1])),
    fill: { x: distinct },
  },
  {
    name: "min [3,2] axis 0",
    build: ({ input, param }) =>
      input("x", [3, 2], X)
        .min(0)
        .mul(param("p", [2])),
    fill: { x: distinct },
  },
  {
    name: "min [4] all axes keepDims",
    build: ({ input, param }) =>
      input("x", [4], X)
        .min(undefined, { keepDims: true })
        .mul(param("p", [1])),
    fill: { x: distinct },
  },
];

describe("generated gradients match finite differences: slicing, joining and axes", () => {
  for (const row of slicingRows) {
    const rowSeed = seed++ * 7919;
    it(row.name, () => checkRow(row, rowSeed));
  }
});

const slicingKinkRows: KinkRow[] = [
  {
    name: "min() over two copies of 0.25x: the copies share ḡ, so ∂/∂x = 0.25 (max's convention)",
    build: ({ input }) =>
      input("x", [1], X)
        .mul(0.25)
        .add(input("z", [2]))
        .min(),
    on: [
      { at: { x: [0.4], z: [0, 0] }, gradient: { x: [0.25] } },
      { at: { x: [-2], z: [1, 1] }, gradient: { x: [0.25] } },
    ],
    beside: [
      { x: [0.4], z: [0, d] },
      { x: [0.4], z: [d, 0] },
    ],
  },
  {
    name: "min(x, axis 0) of [2,2] with a tie in column 0: ½ each there, 1 to the smaller in column 1",
    build: ({ input }) => input("x", [2, 2], X).min(0).sum(),
    on: [{ at: { x: [0.3, 1, 0.3, -1] }, gradient: { x: [0.5, 0, 0.5, 1] } }],
    beside: [{ x: [0.3, 1, 0.3 + d, -1] }],
  },
];

describe("kinks and ties: min along an axis", () => {
  for (const row of slicingKinkRows) {
    it(row.name, async () => {
      const trainer = (await loadGenerated(definitionOf({ ...row, loss: true }), BATCH)).createTrainer();
      const batch = batchOfPoints(
        trainer,
        row.on.map((p) => p.at),
      );
      expect(kinkMismatches(trainer, batch, BATCH, row.on)).toEqual([]);
      expect(kinkMismatches(trainer, shortBatch(trainer, batch, SHORT), SHORT, row.on)).toEqual([]);
      const beside = batchOfPoints(trainer, row.beside);
      expect(gradientMismatches(trainer, beside, BATCH)).toEqual([]);
    });
  }
});

const range = (n: number, start = 0): number[] => Array.from({ length: n }, (_, i) => start + i);

const slicingForwardRows: ForwardRow[] = [
  {
    name: "slice [3,4] begin [1,1] size [2,−1]: rows 1–2, columns 1–3",
    build: ({ input }) => input("x", [3, 4]).slice([1, 1], [2, -1]),
    examples: [{ x: range(12) }, { x: range(12, 100) }, { x: range(12, -50) }],
    reference: ({ x }) => [x![5]!, x![6]!, x![7]!, x![9]!, x![10]!, x![11]!],
  },
  {
    name: "nn.concat [2,1] and [2,2] along axis 1",
    build: ({ input }) => nn.concat([input("a", [2, 1]), input("b", [2, 2])], 1),
    examples: [
      { a: [1, 2], b: [3, 4, 5, 6] },
      { a: [-1, -2], b: [0.5, 0.25, 7, 8] },
      { a: [9, 9], b: [1, 1, 1, 1] },
    ],
    reference: ({ a, b }) => [a![0]!, b![0]!, b![1]!, a![1]!, b![2]!, b![3]!],
  },
  {
    name: "nn.stack two [2] along axis 1",
    build: ({ input }) => nn.stack([input("a", [2]), input("b", [2])], 1),
    examples: [
      { a: [1, 2], b: [3, 4] },
      { a: [5, 6], b: [7, 8] },
      { a: [0, -1], b: [-2, -3] },
    ],
    reference: ({ a, b }) => [a![0]!, b![0]!, a![1]!, b![1]!],
  },
  {
    name: "nn.pad [2] by [[1,2]] with −3",
    build: ({ input }) => nn.pad(input("x", [2]), [[1, 2]], -3),
    examples: [{ x: [1, 2] }, { x: [5, 6] }, { x: [0.5, 0.25] }],
    reference: ({ x }) => [-3, x![0]!, x![1]!, -3, -3],
  },
  {
    name: "nn.argmax [5]: the first index of the maximum at ties",
    build: ({ input }) => nn.argmax(input("x", [5])),
    examples: [{ x: [1, 3, 2, 3, 0] }, { x: [-1, -2, -3, -4, -0.5] }, { x: [7, 7, 7, 7, 7] }],
    reference: ({ x }) => [x!.indexOf(Math.max(...x!))],
  },
  {
    name: "nn.argmax [2,3] axis 0",
    build: ({ input }) => nn.argmax(input("x", [2, 3]), 0),
    examples: [{ x: [1, 5, 2, 3, 4, 2] }, { x: [0, 0, 0, 0, 0, 1] }, { x: [-1, 2, 3, -2, 1, 4] }],
    reference: ({ x }) => [0, 1, 2].map((j) => (x![3 + j]! > x![j]! ? 1 : 0)),
  },
  {
    name: "nn.softmax [2,3] axis 0 and x.min(1, keepDims)",
    build: ({ input }) => {
      const x = input("x", [2, 3]);
      return nn.concat([nn.softmax(x, 0), x.min(1, { keepDims: true })], 1);
    },
    examples: [{ x: [1, 2, 3, 4, 5, 6] }, { x: [0, -1, 2, 1, 1, 1] }, { x: [1000, 0, -1000, 999, 1, -999] }],
    reference: ({ x }) => {
      const column = (j: number): number[] => [x![j]!, x![3 + j]!];
      const soft = (i: number, j: number): number => Math.exp(x![3 * i + j]! - logSumExp(column(j)));
      return [0, 1].flatMap((i) => [soft(i, 0), soft(i, 1), soft(i, 2), Math.min(...x!.slice(3 * i, 3 * i + 3))]);
    },
  },
];

describe("forward values: slicing, joining, argmax and axes", () => {
  for (const row of slicingForwardRows) {
    it(row.name, async () => {
      const definition = model(`ops_${modelCount++}`, (b) => {
        const value = row.build(b);
        return { loss: value.sum(), outputs: { value } };
      });
      const trainer = (await loadGenerated(definition, BATCH)).createTrainer();
      const inputs: Fields = {};
      for (const name of Object.keys(trainer.spec.inputs))
        inputs[name] = Float64Array.from(row.examples.flatMap((e) => [...e[name]!]));
      const expected = row.examples.map(row.reference);
      expectValues(trainer.predict(inputs, BATCH).value!, expected.flat(), "predict");
      expectValues(trainer.predict(inputs, SHORT).value!, expected.slice(0, SHORT).flat(), "predict (short batch)");
    });
  }
});

// ─── Convolution and pooling (channels first per example) ──────────────────────────────────────
//
// Gradients against central differences (full and short batch), max-pooling ties against the
// convention (tied elements of a window share its adjoint equally; an element that is the maximum of
// several overlapping windows collects from each), and forward values against the definition
//   y[o, i, j] = Σ_c Σ_p Σ_q W[o, c, p, q] · x[c, i·s − pad + p·dil, j·s − pad + q·dil]   (0 outside x).

const convolutionRows: Row[] = [
  {
    name: "nn.conv2d x [2,5,5] W [3,2,3,3] valid",
    build: ({ input, param }) => nn.conv2d(input("x", [2, 5, 5], X), param("W", [3, 2, 3, 3])),
  },
  {
    name: "nn.conv2d x [2,6,5] W [2,2,3,2] stride 2",
    build: ({ input, param }) => nn.conv2d(input("x", [2, 6, 5], X), param("W", [2, 2, 3, 2]), { stride: 2 }),
  },
  {
    name: "nn.conv2d x [1,6,6] W [2,1,2,3] dilation 2",
    build: ({ input, param }) => nn.conv2d(input("x", [1, 6, 6], X), param("W", [2, 1, 2, 3]), { dilation: 2 }),
  },
  {
    name: 'nn.conv2d x [2,4,5] W [2,2,3,2] "same" (even kernel: the extra zero at the end)',
    build: ({ input, param }) => nn.conv2d(input("x", [2, 4, 5], X), param("W", [2, 2, 3, 2]), { padding: "same" }),
  },
  {
    name: "nn.conv2d x [1,5,5] W [2,1,3,3] padding 1, stride 2",
    build: ({ input, param }) =>
      nn.conv2d(input("x", [1, 5, 5], X), param("W", [2, 1, 3, 3]), { padding: 1, stride: 2 }),
  },
  {
    name: "nn.conv2d of a computed image (x·p) with strides [1, 2]",
    build: ({ input, param }) =>
      nn.conv2d(input("x", [2, 4, 5], X).mul(param("p", [2, 4, 5])), param("W", [2, 2, 2, 2]), { stride: [1, 2] }),
  },
  {
    name: "nn.conv1d x [2,7] W [3,2,3] valid",
    build: ({ input, param }) => nn.conv1d(input("x", [2, 7], X), param("W", [3, 2, 3])),
  },
  {
    name: 'nn.conv1d x [2,7] W [2,2,3] "same", stride 2',
    build: ({ input, param }) =>
      nn.conv1d(input("x", [2, 7], X), param("W", [2, 2, 3]), { padding: "same", stride: 2 }),
  },
  {
    name: "nn.conv1d x [1,8] W [2,1,3] dilation 2, padding 2",
    build: ({ input, param }) => nn.conv1d(input("x", [1, 8], X), param("W", [2, 1, 3]), { dilation: 2, padding: 2 }),
  },
  {
    name: "nn.maxPool2d x [2,4,4] size 2",
    build: ({ input }) => nn.maxPool2d(input("x", [2, 4, 4], X), 2),
    fill: { x: distinct },
  },
  {
    name: "nn.maxPool2d x [1,5,5] size 3 stride 2 (overlapping windows)",
    build: ({ input }) => nn.maxPool2d(input("x", [1, 5, 5], X), 3, 2),
    fill: { x: distinct },
  },
  {
    name: "nn.avgPool2d x [2,4,6] size 2",
    build: ({ input }) => nn.avgPool2d(input("x", [2, 4, 6], X), 2),
  },
  {
    name: "nn.avgPool2d x [1,4,5] size [2,3] stride 1",
    build: ({ input }) => nn.avgPool2d(input("x", [1, 4, 5], X), [2, 3], 1),
  },
  {
    name: "nn.maxPool1d x [2,6] size 2, nn.avgPool1d x [2,7] size 3 stride 2",
    build: ({ input }) =>
      nn.maxPool1d(input("x", [2, 6], X), 2).add(nn.avgPool1d(input("y", [2, 7], X), 3, 2).reshape([2, 3])),
    fill: { x: distinct },
  },
  {
    name: "conv2d → + bias → relu → maxPool2d → conv2d (a small LeNet)",
    build: ({ input, param }) => {
      const h = nn.relu(nn.conv2d(input("x", [1, 6, 6], X), param("W1", [2, 1, 3, 3])).add(param("b", [2, 1, 1])));
      return nn.conv2d(nn.maxPool2d(h, 2), param("W2", [3, 2, 2, 2]));
    },
    fill: { x: distinct },
  },
];

describe("generated gradients match finite differences: convolution and pooling", () => {
  convolutionRows.forEach((row, i) => it(row.name, () => checkRow(row, 104729 + i * 7919)));
});

/** y[o, i…] of a convolution by the definition, for 1 or 2 spatial axes; `shape` is x's [C, S…]. */
function convolutionByDefinition(
  x: readonly number[],
  shape: readonly number[],
  w: readonly number[],
  wShape: readonly number[],
  { stride = 1, dilation = 1, before = 0, after = 0 } = {},
): number[] {
  const [channels, ...spatial] = shape as [number, ...number[]];
  const [outChannels, , ...kernel] = wShape as [number, number, ...number[]];
  const [H, W] = spatial.length === 1 ? [1, spatial[0]!] : (spatial as [number, number]);
  const [kh, kw] = kernel.length === 1 ? [1, kernel[0]!] : (kernel as [number, number]);
  const rowPad = spatial.length === 1 ? [0, 0] : [before, after];
  const outputs = (size: number, k: number, pad: number[]) =>
    Math.floor((size + pad[0]! + pad[1]! - dilation * (k - 1) - 1) / stride) + 1;
  const OH = outputs(H, kh, rowPad);
  const OW = outputs(W, kw, [before, after]);
  const y: number[] = [];
  for (let o = 0; o < outChannels; o++)
    for (let i = 0; i < OH; i++)
      for (let j = 0; j < OW; j++) {
        let total = 0;
        for (let c = 0; c < channels; c++)
          for (let p = 0; p < kh; p++)
            for (let q = 0; q < kw; q++) {
              const r = i * stride - rowPad[0]! + p * dilation;
              const s = j * stride - before + q * dilation;
              if (r < 0 || r >= H || s < 0 || s >= W) continue;
              total += w[((o * channels + c) * kh + p) * kw + q]! * x[(c * H + r) * W + s]!;
            }
        y.push(total);
      }
  return y;
}

/** max or mean over each window of x [C, H, W] (valid windows, no padding). */
function poolByDefinition(
  x: readonly number[],
  [C, H, W]: readonly number[],
  [kh, kw]: readonly number[],
  [sh, sw]: readonly number[],
  reduce: "max" | "mean",
): number[] {
  const y: number[] = [];
  for (let c = 0; c < C!; c++)
    for (let i = 0; i + kh! <= H!; i += sh!)
      for (let j = 0; j + kw! <= W!; j += sw!) {
        const window: number[] = [];
        for (let p = 0; p < kh!; p++) for (let q = 0; q < kw!; q++) window.push(x[(c * H! + i + p) * W! + j + q]!);
        y.push(reduce === "max" ? Math.max(...window) : window.reduce((a, b) => a + b, 0) / window.length);
      }
  return y;
}

/** Small integers, so sums are exact whatever the order. */
const integers = (count: number, seed: number): number[] => {
  const random = mulberry32(seed);
  return Array.from({ length: count }, () => Math.floor(random() * 9) - 4);
};

const convolutionForwardRows: ForwardRow[] = [
  {
    name: "nn.conv2d x [2,5,5] W [3,2,3,3], valid",
    build: ({ input }) => nn.conv2d(input("x", [2, 5, 5]), input("w", [3, 2, 3, 3])),
    examples: [1, 2, 3].map((e) => ({ x: integers(50, e), w: integers(54, 10 + e) })),
    reference: ({ x, w }) => convolutionByDefinition(x!, [2, 5, 5], w!, [3, 2, 3, 3]),
  },
  {
    name: "nn.conv2d x [2,6,7] W [2,2,3,3], stride 2, padding 1",
    build: ({ input }) => nn.conv2d(input("x", [2, 6, 7]), input("w", [2, 2, 3, 3]), { stride: 2, padding: 1 }),
    examples: [1, 2, 3].map((e) => ({ x: integers(84, e), w: integers(36, 10 + e) })),
    reference: ({ x, w }) =>
      convolutionByDefinition(x!, [2, 6, 7], w!, [2, 2, 3, 3], { stride: 2, before: 1, after: 1 }),
  },
  {
    name: 'nn.conv2d x [1,5,5] W [2,1,2,2], "same" (pads 0 before, 1 after), and dilation 2 valid',
    build: ({ input }) => {
      const x = input("x", [1, 5, 5]);
      const w = input("w", [2, 1, 2, 2]);
      return nn
        .conv2d(x, w, { padding: "same" })
        .reshape([50])
        .add(nn.conv2d(x, w, { dilation: 2 }).reshape([1, 18]).sum().mul(1000));
    },
    examples: [1, 2, 3].map((e) => ({ x: integers(25, e), w: integers(8, 10 + e) })),
    reference: ({ x, w }) => {
      const same = convolutionByDefinition(x!, [1, 5, 5], w!, [2, 1, 2, 2], { after: 1 });
      const dilated = convolutionByDefinition(x!, [1, 5, 5], w!, [2, 1, 2, 2], { dilation: 2 });
      return same.map((v) => v + 1000 * dilated.reduce((a, b) => a + b, 0));
    },
  },
  {
    name: 'nn.conv1d x [2,9] W [2,2,3]: valid, then "same" with stride 2 (pads 1 and 1)',
    build: ({ input }) => {
      const x = input("x", [2, 9]);
      const w = input("w", [2, 2, 3]);
      return nn
        .conv1d(x, w)
        .reshape([14])
        .add(nn.conv1d(x, w, { padding: "same", stride: 2 }).sum().mul(1000));
    },
    examples: [1, 2, 3].map((e) => ({ x: integers(18, e), w: integers(12, 10 + e) })),
    reference: ({ x, w }) => {
      const strided = convolutionByDefinition(x!, [2, 9], w!, [2, 2, 3], { stride: 2, before: 1, after: 1 });
      return convolutionByDefinition(x!, [2, 9], w!, [2, 2, 3]).map(
        (v) => v + 1000 * strided.reduce((a, b) => a + b, 0),
      );
    },
  },
  {
    name: "nn.maxPool2d and nn.avgPool2d x [2,5,6] size [2,3] stride [1,3]",
    build: ({ input }) => {
      const x = input("x", [2, 5, 6]);
      return nn.maxPool2d(x, [2, 3], [1, 3]).add(nn.avgPool2d(x, [2, 3], [1, 3]).mul(1000));
    },
    examples: [1, 2, 3].map((e) => ({ x: integers(60, e) })),
    reference: ({ x }) => {
      const max = poolByDefinition(x!, [2, 5, 6], [2, 3], [1, 3], "max");
      const mean = poolByDefinition(x!, [2, 5, 6], [2, 3], [1, 3], "mean");
      return max.map((m, i) => m + 1000 * mean[i]!);
    },
  },
  {
    name: "nn.maxPool1d x [2,7] size 3 stride 2, nn.avgPool1d size 2",
    build: ({ input }) => {
      const x = input("x", [2, 7]);
      return nn.maxPool1d(x, 3, 2).add(nn.avgPool1d(x, 2).mul(1000));
    },
    examples: [1, 2, 3].map((e) => ({ x: integers(14, e) })),
    reference: ({ x }) => {
      const max = poolByDefinition(x!, [2, 1, 7], [1, 3], [1, 2], "max");
      const mean = poolByDefinition(x!, [2, 1, 7], [1, 2], [1, 2], "mean");
      return max.map((m, i) => m + 1000 * mean[i]!);
    },
  },
];

describe("forward values of convolution and pooling match the definition", () => {
  for (const row of convolutionForwardRows) {
    it(row.name, async () => {
      const definition = model(`ops_${modelCount++}`, (b) => {
        const value = row.build(b);
        return { loss: value.sum(), outputs: { value } };
      });
      const trainer = (await loadGenerated(definition, BATCH)).createTrainer();
      const inputs: Fields = {};
      for (const name of Object.keys(trainer.spec.inputs))
        inputs[name] = Float64Array.from(row.examples.flatMap((e) => [...e[name]!]));
      const expected = row.examples.map(row.reference);
      expectValues(trainer.predict(inputs, BATCH).value!, expected.flat(), "predict");
      expectValues(trainer.predict(inputs, SHORT).value!, expected.slice(0, SHORT).flat(), "predict, short batch");
    });
  }
});

const poolingKinkRows: KinkRow[] = [
  {
    name: "nn.maxPool2d [1,2,4] size 2: a window tied in 3 gives ḡ/3 to each, one tied in 2 ḡ/2",
    build: ({ input }) => nn.maxPool2d(input("x", [1, 2, 4], X), 2).sum(),
    on: [
      { at: { x: [1, 1, 0, 2, 1, 0, 2, 1] }, gradient: { x: [1 / 3, 1 / 3, 0, 0.5, 1 / 3, 0, 0.5, 0] } },
      { at: { x: [3, 3, 3, 3, 3, 3, 3, 3] }, gradient: { x: [0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25] } },
    ],
    beside: [{ x: [1, 1 - d, 0, 2, 1 + d, 0, 2 - d, 1] }],
  },
  {
    name: "nn.maxPool1d [1,5] size 3 stride 1: a maximum shared by overlapping windows collects from each",
    build: ({ input }) => nn.maxPool1d(input("x", [1, 5], X), 3, 1).sum(),
    on: [
      { at: { x: [0, 1, 1, 0, -1] }, gradient: { x: [0, 1, 2, 0, 0] } },
      { at: { x: [2, 0, 2, 0, 2] }, gradient: { x: [0.5, 0, 2, 0, 0.5] } },
    ],
    beside: [{ x: [0, 1 + d, 1, 0, -1] }, { x: [2, 0, 2 - d, 0, 2 + d] }],
  },
];

describe("max pooling at ties: the documented convention on the tie, finite differences beside it", () => {
  for (const row of poolingKinkRows) {
    it(row.name, async () => {
      const trainer = (await loadGenerated(definitionOf({ ...row, loss: true }), BATCH)).createTrainer();
      const batch = batchOfPoints(
        trainer,
        row.on.map((p) => p.at),
      );
      expect(kinkMismatches(trainer, batch, BATCH, row.on)).toEqual([]);
      expect(kinkMismatches(trainer, shortBatch(trainer, batch, SHORT), SHORT, row.on)).toEqual([]);
      const beside = batchOfPoints(trainer, row.beside);
      expect(gradientMismatches(trainer, beside, BATCH)).toEqual([]);
      expect(gradientMismatches(trainer, shortBatch(trainer, beside, SHORT), SHORT)).toEqual([]);
    });
  }
});

// ─── nn.scan (issue 12) ────────────────────────────────────────────────────────────────────────
// The step is traced once and run over the leading axis of xs; each row's value is checked through the
// generated loop and its reverse loop (closed-over parameters' gradients summed over steps and examples).

/** Elman: h' = tanh(Wx·x_t + Wh·h + b). */
const elmanStep =
  ({ param }: ModelBuilder, hidden: number, width: number) =>
  (h: Tensor, x: Tensor): [Tensor, Tensor] => {
    const next = nn.tanh(
      param("Wx", [hidden, width])
        .matmul(x)
        .add(param("Wh", [hidden, hidden]).matmul(h))
        .add(param("b", [hidden])),
    );
    return [next, next];
  };

const scanRows: Row[] = [
  {
    name: "nn.scan Elman step h' = tanh(Wx·x_t + Wh·h + b), T = 4: the final carry (h0 an input)",
    build: (b) => nn.scan(elmanStep(b, 2, 3), b.input("h0", [2], X), b.input("xs", [4, 3], X), { length: 4 })[0],
  },
  {
    name: "nn.scan Elman step, T = 4: every step's output stacked [4, 2] (h0 a parameter)",
    build: (b) => nn.scan(elmanStep(b, 2, 3), b.param("h0", [2]), b.input("xs", [4, 3], X))[1],
  },
  {
    name: "nn.scan with y_t ≠ carry: c' = c ⊙ x_t + p, y_t = sin(c') ⊙ x_t, both outputs [3] and [5, 3]",
    build: ({ input, param }) => {
      const p = param("p", [3]);
      const [last, ys] = nn.scan(
        (c, x) => {
          const next = c.mul(x).add(p);
          return [next, next.sin().mul(x)];
        },
        input("c0", [3], X),
        input("xs", [5, 3], X),
        { length: 5 },
      );
      return nn.concat([last, ys.reshape([15])]);
    },
  },
  {
    name: "nn.scan with a 2-D carry [2, 3] (c' = tanh(c·M + x_t ⊙ u), u a per-example input read from outside), scalar y_t",
    build: ({ input, param }) => {
      const u = input("u", [3], X);
      const M = param("M", [3, 3]);
      const [last, ys] = nn.scan(
        (c, x) => {
          const next = nn.tanh(c.matmul(M).add(x.mul(u)));
          return [next, next.sum()];
        },
        param("c0", [2, 3]),
        input("xs", [3, 3], X),
      );
      return nn.concat([last.reshape([6]), ys]);
    },
  },
  {
    name: "nn.scan over scalars xs [6] (x_t a scalar), T = 1 and T = 6 in one model",
    build: ({ input, param }) => {
      const w = param("w", [2]);
      const step = (h: Tensor, x: Tensor): [Tensor, Tensor] => {
        const next = nn.tanh(h.mul(w).add(x));
        return [next, next.mul(x)];
      };
      const xs = input("xs", [6], X);
      const [one] = nn.scan(step, param("h0", [2]), xs.slice([0], [1]));
      const [, six] = nn.scan(step, one, xs);
      return six.reshape([12]);
    },
  },
  {
    name: "nn.scan LSTM cell (carry [h; c], gates from one [8, 4] matrix), T = 3, the carry after the last step",
    build: ({ input, param }) => {
      const W = param("W", [8, 4]);
      const bias = param("b", [8]);
      const [last] = nn.scan(
        (hc, x) => {
          const [h, c] = [hc.slice([0], [2]), hc.slice([2], [2])];
          const gates = W.matmul(nn.concat([x, h])).add(bias);
          const gate = (k: number) => gates.slice([2 * k], [2]);
          const next = nn
            .sigmoid(gate(1))
            .mul(c)
            .add(nn.sigmoid(gate(0)).mul(nn.tanh(gate(3))));
          return [nn.concat([nn.sigmoid(gate(2)).mul(nn.tanh(next)), next]), next];
        },
        input("hc0", [4], X),
        input("xs", [3, 2], X),
      );
      return last;
    },
  },
  {
    name: "two nn.scan layers stacked: the first's outputs [4, 2] are the second's sequence",
    build: (b) => {
      const [, first] = nn.scan(elmanStep(b, 2, 3), b.input("h0", [2], X), b.input("xs", [4, 3], X));
      const V = b.param("V", [2, 2]);
      return nn.scan(
        (h, x) => {
          const next = nn.tanh(V.matmul(h).add(x));
          return [next, next];
        },
        b.param("g0", [2]),
        first,
      )[1];
    },
  },
  {
    name: "nn.scan whose output is its carry, a carry joined from two parts: [tanh(W·[h; x_t]), tanh(h ⊙ x_t)], ys [4, 4]",
    build: ({ input, param }) => {
      const W = param("W", [2, 4]);
      return nn.scan(
        (hc, x) => {
          const h = hc.slice([0], [2]);
          const next = nn.concat([nn.tanh(W.matmul(nn.concat([h, x]))), nn.tanh(h.mul(x))]);
          return [next, next];
        },
        input("hc0", [4], X),
        input("xs", [4, 2], X),
      )[1];
    },
  },
  {
    name: "nn.scan whose reverse loop stores nothing per step: h' = tanh(h + x_t + b), xs without a gradient",
    build: ({ input, param }) => {
      const b = param("b", [3]);
      return nn.scan(
        (h, x) => {
          const next = nn.tanh(h.add(x).add(b));
          return [next, next];
        },
        input("h0", [3], X),
        input("xs", [4, 3]),
      )[0];
    },
  },
];

describe("generated gradients match finite differences: nn.scan", () => {
  scanRows.forEach((row, i) => it(row.name, () => checkRow(row, 130003 + i * 7919)));
});
