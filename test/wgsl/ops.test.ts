// Every op and loss of the DSL through the WGSL target, against the TypeScript target (both f32):
// loss (full and short batch), forward values, gradients (parameters and inputs declared
// { grad: true }) and one optimizer step agree within 1e-5·K relative, K the number of terms of the
// model's longest sum (batch × largest tensor). One row per op, as in test/ops.test.ts.
import { afterAll, describe, expect, it } from "vitest";
import { constant, grad, model, nn, type ModelBuilder, type ModelDefinition, type Tensor } from "gradgen";
import { gpu, loadBoth, relativeError, type Fields, type GpuContext } from "./support.js";
import { createRandom as mulberry32 } from "../../src/random.js";

const BATCH = 3;
const SHORT = 2;

type Fill = (random: () => number, size: number) => number[];
const each =
  (draw: (random: () => number) => number): Fill =>
  (random, size) =>
    Array.from({ length: size }, () => draw(random));
const uniform = (lo: number, hi: number): Fill => each((r) => lo + (hi - lo) * r());
const signed = (lo: number, hi: number): Fill => each((r) => (r() < 0.5 ? -1 : 1) * (lo + (hi - lo) * r()));
const oneHot =
  (classes: number): Fill =>
  (random, size) => {
    const values = new Array<number>(size).fill(0);
    for (let row = 0; row < size; row += classes) values[row + Math.floor(random() * classes)] = 1;
    return values;
  };
/** A shuffled grid on [−1, 1]: maxima never tie. */
const distinct: Fill = (random, size) => {
  const slots = Array.from({ length: size }, (_, i) => i);
  for (let i = size - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [slots[i], slots[j]] = [slots[j]!, slots[i]!];
  }
  return slots.map((slot) => -1 + (2 * (slot + 0.25 + 0.5 * random())) / size);
};

interface Row {
  readonly name: string;
  readonly build: (b: ModelBuilder) => Tensor;
  /** The tensor is itself the per-example loss (otherwise the loss is Σ t ⊙ probe and t is an output). */
  readonly loss?: boolean;
  readonly fill?: Readonly<Record<string, Fill>>;
  /** int32 inputs (integer ids), each with its number of valid ids: Int32Arrays drawn from 0 … bound − 1. */
  readonly ids?: Readonly<Record<string, number>>;
}

const X = { grad: true } as const;
const affine = (b: ModelBuilder, shape: number[]): Tensor => b.input("x", shape, X).add(b.param("p", shape));
const layer = (b: ModelBuilder, n: number): Tensor =>
  b
    .input("x", [3], X)
    .matmul(b.param("W", [3, n]))
    .add(b.param("c", [n]));
const awayFromZero = { x: signed(0.5, 1.5), p: uniform(-0.3, 0.3) };

const rows: Row[] = [
  // elementwise, with broadcasting
  { name: "add [2,3] + [3] broadcast", build: ({ input, param }) => input("x", [2, 3], X).add(param("p", [3])) },
  {
    name: "add [2,1] + [1,3] both ways, + number",
    build: ({ input, param }) =>
      input("x", [2, 1], X)
        .add(param("p", [1, 3]))
        .add(0.75),
  },
  { name: "sub scalar [] − [4]", build: ({ input, param }) => input("x", [], X).sub(param("p", [4])) },
  {
    name: "mul [3] · [2,3] and · −2.5",
    build: ({ input, param }) =>
      param("p", [3])
        .mul(input("x", [2, 3], X))
        .mul(-2.5),
  },
  {
    name: "div [2,3] / [2,3]",
    build: ({ input, param }) => input("x", [2, 3], X).div(param("p", [2, 3])),
    fill: { p: signed(0.5, 1.5) },
  },
  {
    name: "neg",
    build: ({ input, param }) =>
      input("x", [2, 3], X)
        .mul(param("p", [2, 3]))
        .neg(),
  },
  {
    name: "pow 3 (any sign)",
    build: ({ input, param }) =>
      input("x", [4], X)
        .add(param("p", [4]))
        .pow(3),
  },
  {
    name: "pow 4 (any sign)",
    build: ({ input, param }) =>
      input("x", [4], X)
        .add(param("p", [4]))
        .pow(4),
  },
  {
    name: "pow 5 (any sign)",
    build: ({ input, param }) =>
      input("x", [4], X)
        .add(param("p", [4]))
        .pow(5),
  },
  {
    name: "pow 2.5",
    build: ({ input, param }) =>
      input("x", [4], X)
        .add(param("p", [4]))
        .pow(2.5),
    fill: { x: uniform(0.5, 1.5), p: uniform(0, 0.3) },
  },
  {
    name: "pow −1.5",
    build: ({ input, param }) =>
      input("x", [4], X)
        .add(param("p", [4]))
        .pow(-1.5),
    fill: { x: uniform(0.5, 1.5), p: uniform(0, 0.3) },
  },
  {
    name: "pow −1, 0.5, 0",
    build: ({ input, param }) => {
      const x = input("x", [4], X).add(param("p", [4]));
      return x.pow(-1).add(x.pow(0.5)).add(x.pow(0));
    },
    fill: { x: uniform(0.5, 1.5), p: uniform(0, 0.3) },
  },
  {
    name: "square, sqrt",
    build: ({ input, param }) =>
      input("x", [4], X)
        .add(param("p", [4]))
        .square()
        .add(1)
        .sqrt(),
  },
  {
    name: "exp",
    build: ({ input, param }) =>
      input("x", [4], X)
        .add(param("p", [4]))
        .exp(),
  },
  {
    name: "log (values near 1 too)",
    build: ({ input, param }) =>
      input("x", [4], X)
        .mul(param("p", [4]))
        .log(),
    fill: { x: uniform(0.5, 2), p: uniform(0.5, 2) },
  },
  {
    name: "sin, cos",
    build: ({ input, param }) => {
      const x = input("x", [4], X).mul(param("p", [4]));
      return x.sin().add(x.cos().mul(2));
    },
    fill: { x: uniform(-2, 2), p: uniform(-2, 2) },
  },
  {
    name: "abs",
    build: ({ input, param }) =>
      input("x", [2, 3], X)
        .add(param("p", [2, 3]))
        .abs(),
    fill: awayFromZero,
  },
  {
    name: "nn.maximum, nn.minimum",
    build: ({ input, param }) => {
      const x = input("x", [2, 3], X);
      const p = param("p", [2, 3]);
      return nn.maximum(x, p).add(nn.minimum(p, x.mul(0.5)));
    },
    fill: awayFromZero,
  },
  {
    name: "maximum with −∞, minimum with +∞ (literals)",
    build: ({ input, param }) => nn.minimum(nn.maximum(input("x", [4], X).mul(param("p", [4])), -Infinity), Infinity),
  },
  // matmul forms
  {
    name: "matmul vector·matrix [3]·[3,4]",
    build: ({ input, param }) => input("x", [3], X).matmul(param("W", [3, 4])),
  },
  {
    name: "matmul matrix·vector [4,3]·[3]",
    build: ({ input, param }) => param("W", [4, 3]).matmul(input("x", [3], X)),
  },
  { name: "matmul [2,3]·[3,4]", build: ({ input, param }) => input("x", [2, 3], X).matmul(param("W", [3, 4])) },
  { name: "matmul input·input [2,3]·[3,2]", build: ({ input }) => input("x", [2, 3], X).matmul(input("y", [3, 2], X)) },
  {
    name: "matmul param·param times input",
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
    name: "transpose [2,3,4] perm [2,0,1]",
    build: ({ input, param }) =>
      input("x", [2, 3, 4], X)
        .transpose([2, 0, 1])
        .add(param("p", [4, 2, 3])),
  },
  {
    name: "transpose then matmul",
    build: ({ input, param }) =>
      input("x", [3, 2], X)
        .transpose()
        .matmul(param("W", [3, 4])),
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
    name: "sum() and sum([0,2])",
    build: ({ input, param }) => {
      const x = input("x", [2, 3, 2], X).mul(param("p", [2, 3, 2]));
      return x.sum([0, 2]).add(x.sum());
    },
  },
  {
    name: "mean(0), mean(1)",
    build: ({ input, param }) => {
      const x = input("x", [2, 3], X).mul(param("p", [2, 3]));
      return x.mean(0).sum().add(x.mean(1).sum());
    },
  },
  { name: "max(1) [2,3]", build: ({ input }) => input("x", [2, 3], X).max(1), fill: { x: distinct } },
  { name: "max([0,2]) [2,3,2]", build: ({ input }) => input("x", [2, 3, 2], X).max([0, 2]), fill: { x: distinct } },
  {
    name: "max(1) of a param times input",
    build: ({ input, param }) =>
      param("p", [2, 3])
        .max(1)
        .mul(input("x", [2], X)),
    fill: { p: distinct },
  },
  // activations
  { name: "nn.sigmoid", build: (b) => nn.sigmoid(affine(b, [2, 3])), fill: { x: uniform(-3, 3) } },
  {
    name: "nn.tanh (small and large arguments)",
    build: (b) => nn.tanh(affine(b, [2, 3])),
    fill: { x: uniform(-0.2, 0.2), p: signed(0, 3) },
  },
  {
    name: "nn.relu, nn.leakyRelu",
    build: (b) => {
      const z = affine(b, [2, 3]);
      return nn.relu(z).add(nn.leakyRelu(z, 0.2));
    },
    fill: awayFromZero,
  },
  { name: "nn.elu", build: (b) => nn.elu(affine(b, [2, 3]), 0.7), fill: awayFromZero },
  { name: "nn.softplus", build: (b) => nn.softplus(affine(b, [2, 3])), fill: { x: uniform(-12, 12) } },
  { name: "nn.swish", build: (b) => nn.swish(affine(b, [2, 3]), 1.5), fill: { x: uniform(-3, 3) } },
  {
    name: "nn.hardTanh",
    build: (b) => nn.hardTanh(affine(b, [2, 3])),
    fill: { x: signed(0.2, 2), p: uniform(-0.1, 0.1) },
  },
  { name: "nn.maxout [2,4] k = 2", build: ({ input }) => nn.maxout(input("x", [2, 4], X), 2), fill: { x: distinct } },
  { name: "nn.softmax [2,3]", build: (b) => nn.softmax(affine(b, [2, 3])), fill: { x: uniform(-2, 2) } },
  { name: "nn.logSoftmax [4]", build: (b) => nn.logSoftmax(affine(b, [4])), fill: { x: uniform(-2, 2) } },
  {
    name: "nn.logSumExp [2,3] around 1000",
    build: (b) => nn.logSumExp(affine(b, [2, 3])),
    fill: { x: uniform(999, 1001) },
  },
  // losses
  { name: "nn.halfSquaredError", loss: true, build: (b) => nn.halfSquaredError(layer(b, 4), b.input("t", [4], X)) },
  { name: "nn.mse", loss: true, build: (b) => nn.mse(affine(b, [2, 3]), b.input("t", [2, 3], X)) },
  {
    name: "nn.softmaxCrossEntropy",
    loss: true,
    build: (b) => nn.softmaxCrossEntropy(layer(b, 4), b.input("t", [4], X)),
    fill: { x: uniform(-2, 2), t: oneHot(4) },
  },
  {
    name: "nn.sigmoidCrossEntropy",
    loss: true,
    build: (b) => nn.sigmoidCrossEntropy(affine(b, [2, 3]), b.input("t", [2, 3], X)),
    fill: { x: uniform(-3, 3), t: uniform(0, 1) },
  },
  {
    name: "nn.crossEntropy of softmax",
    loss: true,
    build: (b) => nn.crossEntropy(nn.softmax(layer(b, 4)), b.input("t", [4], X)),
    fill: { t: oneHot(4) },
  },
  {
    name: "nn.binaryCrossEntropy",
    loss: true,
    build: (b) => nn.binaryCrossEntropy(affine(b, [2, 3]), b.input("t", [2, 3], X)),
    fill: { x: uniform(0.2, 0.7), p: uniform(0, 0.1), t: uniform(0, 1) },
  },
  {
    name: "nn.hinge",
    loss: true,
    build: (b) => nn.hinge(affine(b, [5]), b.input("t", [5], X)),
    fill: { x: each((r) => 0.6 * (Math.floor(r() * 5) - 2)), p: uniform(-0.03, 0.03), t: oneHot(5) },
  },
  {
    name: "nn.l2, nn.l1",
    loss: true,
    build: (b) => {
      const z = affine(b, [2, 3]);
      return nn.l2(z).add(nn.l1(z));
    },
    fill: awayFromZero,
  },
  // derivatives inside the model
  {
    name: "grad(): f(x) + Σ (∂f/∂x)²",
    loss: true,
    build: (b) => {
      const x = b.input("x", [3], X);
      const f = nn
        .tanh(x.matmul(b.param("W", [3, 4])).add(b.param("c", [4])))
        .mul(b.param("v", [4]))
        .sum();
      return f.add(grad(f, x).square().sum());
    },
  },
  {
    name: "grad(): third derivative of σ",
    loss: true,
    build: ({ input, param }) => {
      const x = input("x", [], X);
      const s = nn.sigmoid(x.mul(param("a", [])));
      return grad(grad(s, x), x);
    },
    fill: { x: uniform(-2, 2), a: uniform(0.5, 1.5) },
  },
  // normalisation; across the batch (statistics over the n examples of the call)
  {
    name: "nn.layerNorm [2,3], γ β [3]",
    build: (b) => nn.layerNorm(affine(b, [2, 3]), b.param("g", [3]), b.param("h", [3]), 0.1),
  },
  {
    name: "(x + p).batchMean() · x and batchVariance() · x",
    build: (b) => {
      const z = affine(b, [2, 3]);
      return z.batchMean().mul(z).add(z.batchVariance().mul(z));
    },
  },
  {
    name: "nn.batchNorm [3], γ β [3] (running statistics in loss and predict)",
    build: (b) => nn.batchNorm(affine(b, [3]), b.param("g", [3]), b.param("h", [3]), { momentum: 0.5, eps: 0.1 }),
  },
  {
    name: "nn.batchNorm [2,3], γ β [2,1]",
    build: (b) => nn.batchNorm(affine(b, [2, 3]), b.param("g", [2, 1]), b.param("h", [2, 1]), { momentum: 0.5 }),
  },
  // integer ids (issue 11): repeated ids, so the scatter-adds accumulate into one row from many places
  {
    name: "nn.gather param E [4,3] by ids [5] → [5,3]",
    build: ({ input, param }) =>
      nn.gather(param("E", [4, 3]), input("ids", [5], { dtype: "int32" })).mul(input("x", [5, 3], X)),
    ids: { ids: 4 },
  },
  {
    name: "nn.gather from a per-example table x [4,3] by ids [2,2]",
    build: ({ input, param }) =>
      nn.gather(input("x", [4, 3], X), input("ids", [2, 2], { dtype: "int32" })).mul(param("p", [2, 2, 3])),
    ids: { ids: 4 },
  },
  {
    name: "nn.oneHot ids [3], depth 4",
    build: ({ input }) => nn.oneHot(input("ids", [3], { dtype: "int32" }), 4).mul(input("x", [3, 4], X)),
    ids: { ids: 4 },
  },
  {
    name: "nn.sparseSoftmaxCrossEntropy logits [4,5], labels [4]",
    loss: true,
    build: ({ input, param }) =>
      nn.sparseSoftmaxCrossEntropy(
        input("z", [4, 5], X).mul(param("a", [5])),
        input("labels", [4], { dtype: "int32" }),
      ),
    ids: { labels: 5 },
  },
  // issue 11: batched products, comparisons and selection, stop-gradient
  {
    name: "multi-head self-attention (h = 2, T = 4, d = 8), batched products",
    build: (b) => {
      const x = b.input("x", [4, 8], X);
      const q = x.matmul(b.param("Wq", [2, 8, 4]));
      const k = x.matmul(b.param("Wk", [2, 8, 4]));
      const v = x.matmul(b.param("Wv", [2, 8, 4]));
      const heads = nn.softmax(q.matmul(k.transpose([0, 2, 1])).mul(0.5)).matmul(v);
      return heads
        .transpose([1, 0, 2])
        .reshape([4, 8])
        .matmul(b.param("Wo", [8, 8]));
    },
  },
  {
    name: "matmul [2,1,2,3]·[3,3,2] (leading axes broadcast both ways)",
    build: ({ input, param }) => input("x", [2, 1, 2, 3], X).matmul(param("W", [3, 3, 2])),
  },
  {
    name: "matmul [2,3,4]·[4,5] and param stacks [2,3,3]·[2,3,5]",
    build: ({ input, param }) =>
      input("x", [2, 3, 4], X)
        .matmul(param("W", [4, 5]))
        .add(param("A", [2, 3, 3]).matmul(param("B", [2, 3, 5]))),
  },
  {
    name: "constant [2,3] times an input, constant matrix in a product",
    build: ({ input }) =>
      input("x", [2, 3], X)
        .mul(constant([1, -2, 0.5, 3, 0.25, -1], [2, 3]))
        .matmul(constant([0.5, 1, -1, 2, 0.1, 0.2], [3, 2])),
  },
  {
    name: "greater, less, equal as masks; nn.where; nn.clip; nn.stopGradient",
    build: ({ input, param }) => {
      const x = input("x", [6], X);
      const y = input("y", [6]);
      const masked = x
        .mul(y.greater(0.5))
        .add(x.sin().mul(y.less(-0.5)))
        .add(x.exp().mul(y.equal(0)));
      const chosen = nn.where(y.greater(0), x.mul(param("p", [6])), nn.clip(x, -0.5, 0.5));
      return masked.add(chosen).add(nn.stopGradient(x.mul(param("q", [6]))).mul(x));
    },
    fill: { y: each((r) => Math.floor(r() * 5) - 2) },
  },
];

// Slicing and joining, transpose of any rank, reductions along an axis (issue 11)
rows.push(
  { name: "slice [5,3] rows 1…2 (a view)", build: (b) => affine(b, [5, 3]).slice([1, 0], [2, -1]) },
  {
    name: "Elman RNN, two steps on slices of a [5,3] input",
    build: ({ input, param }) => {
      const x = input("x", [5, 3], X);
      const [W, U] = [param("W", [3, 4]), param("U", [4, 4])];
      const h = nn.tanh(x.slice([1, 0], [1, -1]).reshape([3]).matmul(W));
      return nn.tanh(x.slice([4, 0], [1, -1]).reshape([3]).matmul(W).add(h.matmul(U)));
    },
  },
  {
    name: "nn.concat axis 1 of affine [2,3], tanh [2,2], input [2,1]",
    build: (b) =>
      nn.concat(
        [affine(b, [2, 3]), nn.tanh(b.input("y", [2, 2], X).mul(b.param("q", [2, 2]))), b.input("z", [2, 1], X)],
        1,
      ),
  },
  {
    // Operands read elsewhere too are computed straight into their rows of the result (strided per example)
    name: "nn.concat axis 0 of values read elsewhere too (tanh [1,3], sigmoid [2,3], written in place)",
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
    name: "nn.stack axis 0 of input, param, product [3]",
    build: ({ input, param }) => {
      const x = input("x", [3], X);
      const p = param("p", [3]);
      return nn.stack([x, p, x.mul(p)]);
    },
  },
  {
    name: "nn.pad [2,3] by [[1,0],[2,1]] with 1.5",
    build: (b) =>
      nn.pad(
        affine(b, [2, 3]),
        [
          [1, 0],
          [2, 1],
        ],
        1.5,
      ),
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
  { name: "transpose rank 4 perm [3,1,0,2]", build: (b) => affine(b, [2, 3, 1, 2]).transpose([3, 1, 0, 2]) },
  { name: "nn.softmax [3,2] axis 0", build: (b) => nn.softmax(affine(b, [3, 2]), 0), fill: { x: uniform(-2, 2) } },
  { name: "nn.logSumExp [2,3,2] axes [0,2]", build: (b) => nn.logSumExp(affine(b, [2, 3, 2]), [0, 2]) },
  {
    name: "sum axis 1 keepDims, mean axis 0 keepDims",
    build: (b) => {
      const x = affine(b, [2, 3]);
      return x.sum(1, { keepDims: true }).add(x.mean(0, { keepDims: true }));
    },
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
    name: "nn.argmax [2,3] axis 0 (no gradient) beside a product",
    build: ({ input, param }) => {
      const x = input("x", [2, 3], X);
      return nn.argmax(x, 0).add(x.sum(0).mul(param("p", [3])));
    },
    fill: { x: distinct },
  },
);

// Convolution and pooling: im2col views and copies, col2im scatter-adds (one kernel per window offset)
const convolutionRows: Row[] = [
  {
    name: "nn.conv2d [2,5,5] W [3,2,3,3] valid",
    build: ({ input, param }) => nn.conv2d(input("x", [2, 5, 5], X), param("W", [3, 2, 3, 3])),
  },
  {
    name: 'nn.conv2d [2,6,5] W [2,2,3,2] stride 2, "same"; dilation 2',
    build: ({ input, param }) => {
      const x = input("x", [2, 6, 5], X);
      const W = param("W", [2, 2, 3, 2]);
      return nn
        .conv2d(x, W, { stride: 2, padding: "same" })
        .sum()
        .add(nn.conv2d(x, W, { dilation: 2 }).sum());
    },
  },
  {
    name: "nn.conv1d [2,7] W [3,2,3] padding 1",
    build: ({ input, param }) => nn.conv1d(input("x", [2, 7], X), param("W", [3, 2, 3]), { padding: 1 }),
  },
  {
    name: "nn.maxPool2d [2,4,4] size 2, nn.avgPool2d size 3 stride 1",
    build: ({ input }) => {
      const x = input("x", [2, 4, 4], X);
      return nn
        .maxPool2d(x, 2)
        .sum()
        .add(nn.avgPool2d(x, 3, 1).sum());
    },
    fill: { x: distinct },
  },
  {
    name: "nn.maxPool1d [2,6] size 3 stride 1 (overlapping), nn.avgPool1d size 2",
    build: ({ input }) => {
      const x = input("x", [2, 6], X);
      return nn.maxPool1d(x, 3, 1).sum().add(nn.avgPool1d(x, 2).sum());
    },
    fill: { x: distinct },
  },
];
rows.push(...convolutionRows);

let modelCount = 0;

function definitionOf(row: Row): ModelDefinition {
  return model(`wgsl_ops_${modelCount++}`, (b) => {
    const t = row.build(b);
    if (row.loss) return { loss: t };
    return { loss: t.mul(b.param("probe", t.shape)).sum(), outputs: { value: t } };
  });
}

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

let worst = 0;
afterAll(() => {
  if (worst > 0)
    console.log(`largest relative error over every op, value, gradient and step: ${worst.toExponential(2)}`);
});

const context = await gpu();
const device = typeof context === "string" ? undefined : (context as GpuContext).device;
// (the device lives as long as the worker)

describe.runIf(device)("WGSL agrees with TypeScript (f32), op by op", () => {
  it.each(rows.map((row, i) => [row.name, row, i] as const))("%s", async (_, row, index) => {
    const both = await loadBoth(definitionOf(row), BATCH, { learningRate: 0.05 });
    const cpu = both.cpu.createTrainer();
    const gpuTrainer = await both.gpu.createGpuTrainer(device!);
    const spec = gpuTrainer.spec;
    const random = mulberry32(1000 + index);
    const fillOf = (name: string): Fill => row.fill?.[name] ?? uniform(-1, 1);
    let largest = 1;
    for (const [name, shape] of Object.entries(spec.params)) {
      const values = Float32Array.from(fillOf(name)(random, sizeOf(shape)));
      cpu.params[name]!.set(values);
      gpuTrainer.write(name, values);
      largest = Math.max(largest, values.length);
    }
    const batch: Fields = {};
    for (const [name, shape] of Object.entries(spec.inputs)) {
      const size = sizeOf(shape);
      const bound = row.ids?.[name];
      if (bound !== undefined) {
        const ids = Int32Array.from({ length: BATCH * size }, () => Math.floor(random() * bound));
        batch[name] = ids as unknown as Float32Array; // both trainers take an Int32Array there
        continue;
      }
      const values = new Float32Array(BATCH * size);
      for (let e = 0; e < BATCH; e++) values.set(fillOf(name)(random, size), e * size);
      batch[name] = values;
      largest = Math.max(largest, size);
    }
    for (const shape of Object.values(spec.outputs)) largest = Math.max(largest, sizeOf(shape));
    const tolerance = 1e-5 * BATCH * largest;
    const close = (actual: ArrayLike<number>, expected: ArrayLike<number>, what: string) => {
      const error = relativeError(actual, expected);
      worst = Math.max(worst, error);
      expect(error, `${what}: ${Array.from(actual)} vs ${Array.from(expected)}`).toBeLessThanOrEqual(tolerance);
    };

    close([await gpuTrainer.loss(batch)], [cpu.loss(batch)], "loss");
    close([await gpuTrainer.loss(batch, SHORT)], [cpu.loss(batch, SHORT)], "loss, short batch");
    close([await gpuTrainer.gradient(batch)], [cpu.gradient(batch)], "loss from gradient()");
    for (const name of Object.keys(spec.params))
      close(await gpuTrainer.readGrad(name), cpu.grads[name]!, `∂loss/∂${name}`);
    for (const name of Object.keys(cpu.inputGrads))
      close(await gpuTrainer.readInputGrad(name), cpu.inputGrads[name]!, `∂loss/∂input ${name}`);
    if (!row.loss) close((await gpuTrainer.predict(batch)).value!, cpu.predict(batch).value!, "value");
    close([await gpuTrainer.step(batch)], [cpu.step(batch)], "loss from step()");
    for (const name of Object.keys(spec.params))
      close(await gpuTrainer.read(name), cpu.params[name]!, `${name} after one step`);
    // batch statistics: the training form (batch statistics, short batch too) and the running statistics
    close([await gpuTrainer.trainingLoss(batch, SHORT)], [cpu.trainingLoss(batch, SHORT)], "trainingLoss, short batch");
    close([await gpuTrainer.step(batch, SHORT)], [cpu.step(batch, SHORT)], "loss from step(), short batch");
    for (const [name, values] of Object.entries(cpu.state.buffers))
      close(await gpuTrainer.readState(name), values, `state ${name} after two steps`);
    close([await gpuTrainer.loss(batch)], [cpu.loss(batch)], "loss after two steps");
    gpuTrainer.destroy();
  });
});

it("a WebGPU adapter is available (skipped locally without one; required in CI)", () => {
  if (typeof context === "string") {
    console.warn(`no WebGPU adapter: ${context}`);
    return;
  }
  expect(context.adapterName).not.toMatch(/\bnull\b/i);
});
