// Local derivative rules, one per op. A rule receives the node's operands, its own output `out`
// (so σ′ can reuse σ) and the adjoint ḡ = ∂C/∂out flowing in, and returns each operand's
// contribution ḡ·∂out/∂operand (a vector-Jacobian product), or undefined where no gradient flows.
// Contributions may be broadcast-shaped or batched; reverse.ts reduces them to the operand's shape.

import {
  broadcastTo,
  cos,
  div,
  equal,
  exp,
  gather,
  greater,
  logSumExp,
  matmul,
  patches,
  patchesAdjoint,
  mul,
  neg,
  powConst,
  reshape,
  scatterAdd,
  select,
  sigmoid,
  sign,
  sin,
  sub,
  sum,
  transpose,
  slice,
  pad,
  constant,
} from "../ir/build.js";
import type { Node } from "../ir/node.js";
import { customRules } from "./custom-rules.js";
import { Op } from "../ir/ops.js";
import { scanRule } from "./scan-rule.js";

export interface RuleContext {
  readonly inputs: readonly Node[];
  readonly out: Node;
  readonly adjoint: Node;
  /** Which inputs need an adjoint (lie on a path from a wanted value); absent: all. Rules may skip the rest. */
  readonly needed?: readonly boolean[];
}

export type DerivativeRule = (context: RuleContext) => readonly (Node | undefined)[];

const leaf: DerivativeRule = () => [];
const noGradient: DerivativeRule = ({ inputs }) => inputs.map(() => undefined);

/** Broadcast a reduced value (shape without `axes`) back over the operand's shape. */
function expandReduced(value: Node, operand: Node, axes: readonly number[]): Node {
  const kept = operand.shape.map((dim, i) => (axes.includes(i) ? 1 : dim));
  return broadcastTo(reshape(value, kept), operand.shape);
}

const lastAxis = (x: Node): number[] => [x.shape.length - 1];

/** Swap the last two axes (the matrix transpose of every matrix in a stack). */
function transposeLastTwo(x: Node): Node {
  const r = x.shape.length;
  return transpose(x, [...x.shape.slice(0, -2).map((_, i) => i), r - 1, r - 2]);
}

export const derivativeRules: { readonly [K in Op]: DerivativeRule } = {
  [Op.Input]: leaf,
  [Op.Param]: leaf,
  [Op.Const]: leaf,
  [Op.BatchSize]: leaf,
  [Op.DropoutMask]: leaf,
  [Op.RunningStat]: leaf,
  [Op.ConstTensor]: leaf,
  [Op.ScanArg]: leaf,
  // a scan's derivative is a reverse scan over its body's VJP (scan-rule.ts)
  [Op.Scan]: scanRule,

  // −x ↦ −ḡ
  [Op.Neg]: ({ adjoint }) => [neg(adjoint)],
  // (eˣ)′ = eˣ, the output itself
  [Op.Exp]: ({ out, adjoint }) => [mul(adjoint, out)],
  // (log x)′ = 1/x
  [Op.Log]: ({ inputs: [x], adjoint }) => [div(adjoint, x!)],
  // sin′ = cos
  [Op.Sin]: ({ inputs: [x], adjoint }) => [mul(adjoint, cos(x!))],
  // cos′ = −sin
  [Op.Cos]: ({ inputs: [x], adjoint }) => [neg(mul(adjoint, sin(x!)))],
  // (√x)′ = 1/(2√x), reusing √x
  [Op.Sqrt]: ({ out, adjoint }) => [div(adjoint, mul(2, out))],
  // |x|′ = sign(x); 0 at the kink x = 0 (as TensorFlow and PyTorch)
  [Op.Abs]: ({ inputs: [x], adjoint }) => [mul(adjoint, sign(x!))],
  // sign′ = 0, at 0 as well
  [Op.Sign]: noGradient,
  // σ′ = σ(1−σ), reusing σ
  [Op.Sigmoid]: ({ out, adjoint }) => [mul(adjoint, mul(out, sub(1, out)))],
  // tanh′ = 1 − tanh², reusing tanh
  [Op.Tanh]: ({ out, adjoint }) => [mul(adjoint, sub(1, mul(out, out)))],
  // softplus′ = σ
  [Op.Softplus]: ({ inputs: [x], adjoint }) => [mul(adjoint, sigmoid(x!))],
  // (xᵖ)′ = p·xᵖ⁻¹
  [Op.PowConst]: ({ inputs: [x], out, adjoint }) => {
    const p = out.attrs.exponent!;
    return [p === 0 ? undefined : mul(adjoint, mul(p, powConst(x!, p - 1)))];
  },

  // a + b ↦ (ḡ, ḡ)
  [Op.Add]: ({ adjoint }) => [adjoint, adjoint],
  // a − b ↦ (ḡ, −ḡ)
  [Op.Sub]: ({ adjoint }) => [adjoint, neg(adjoint)],
  // a·b ↦ (ḡ·b, ḡ·a)
  [Op.Mul]: ({ inputs: [a, b], adjoint }) => [mul(adjoint, b!), mul(adjoint, a!)],
  // a/b ↦ (ḡ/b, −ḡ·(a/b)/b), reusing a/b
  [Op.Div]: ({ inputs: [, b], out, adjoint }) => [div(adjoint, b!), neg(div(mul(adjoint, out), b!))],
  // max(a, b) ↦ ḡ to the larger operand. At a tie a = b of two expressions each gets ḡ/2 (as JAX's
  // lax.max; so ∂max(f, f) = f′). Against a literal constant c, max is a clamp: the other operand gets
  // ḡ only where it exceeds c, 0 at the tie (relu′(0) = 0, as jax.nn.relu and TensorFlow's Relu).
  // That mask reads the output (x > c ⟺ max(c, x) > c), so the backward pass needs relu(z), not z.
  [Op.Maximum]: ({ inputs: [a, b], out, adjoint }) => {
    if (a!.op === Op.Const) return [undefined, mul(adjoint, greater(out, a!))];
    if (b!.op === Op.Const) return [mul(adjoint, greater(out, b!)), undefined];
    const aShare = select(greater(a!, b!), 1, select(greater(b!, a!), 0, 0.5));
    return [mul(adjoint, aShare), mul(adjoint, sub(1, aShare))];
  },
  // min(a, b) ↦ ḡ to the smaller operand, with max's conventions: a tie of two expressions gives ḡ/2
  // to each; against a literal constant c, 0 at the tie (hardTanh′(±1) = 0), read from the output:
  // x < c ⟺ min(c, x) < c
  [Op.Minimum]: ({ inputs: [a, b], out, adjoint }) => {
    if (a!.op === Op.Const) return [undefined, mul(adjoint, greater(a!, out))];
    if (b!.op === Op.Const) return [mul(adjoint, greater(b!, out)), undefined];
    const aShare = select(greater(b!, a!), 1, select(greater(a!, b!), 0, 0.5));
    return [mul(adjoint, aShare), mul(adjoint, sub(1, aShare))];
  },
  [Op.Greater]: noGradient,
  [Op.Equal]: noGradient,
  // c ? a : b ↦ (none, c ? ḡ : 0, c ? 0 : ḡ): the branch taken gets ḡ, so at a kink written as
  // select(x > k, …) the derivative is the second branch's (elu′(0) = α, leakyRelu′(0) = α)
  [Op.Select]: ({ inputs: [c], adjoint }) => [undefined, select(c!, adjoint, 0), select(c!, 0, adjoint)],

  // Layout ops move the adjoint back through the inverse layout
  [Op.Reshape]: ({ inputs: [x], adjoint }) => [reshape(adjoint, x!.shape)],
  [Op.Transpose]: ({ out, adjoint }) => {
    const perm = out.attrs.perm!;
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [transpose(adjoint, inverse)];
  },
  // Broadcasting copies a value; its adjoint sums the copies (reverse.ts's unbroadcast does the summing)
  [Op.Broadcast]: ({ adjoint }) => [adjoint],

  // Slicing and joining move the adjoint back into place
  // x[b : b + s] ↦ ḡ at the window, 0 elsewhere: ḡ padded with zeros back to x's shape
  [Op.Slice]: ({ inputs: [x], out, adjoint }) => {
    const begin = out.attrs.begin!;
    return [
      pad(
        adjoint,
        begin,
        x!.shape.map((dim, i) => dim - begin[i]! - out.shape[i]!),
        0,
      ),
    ];
  },
  // pad(x, v) ↦ (ḡ's window where x sits); the border is constant, so nothing flows from it
  [Op.Pad]: ({ inputs: [x], out, adjoint }) => [slice(adjoint, out.attrs.begin!, x!.shape)],
  // concat(x₀, x₁, …) along an axis ↦ each xₖ gets ḡ's window over its own extent of that axis
  [Op.Concat]: ({ inputs, out, adjoint }) => {
    const axis = out.attrs.axis!;
    let start = 0;
    return inputs.map((x) => {
      const begin = x.shape.map((_, i) => (i === axis ? start : 0));
      start += x.shape[axis]!;
      return slice(adjoint, begin, x.shape);
    });
  },

  // Σx ↦ ḡ copied to every summed element
  [Op.Sum]: ({ inputs: [x], out, adjoint }) => [expandReduced(adjoint, x!, out.attrs.axes!)],
  // max over axes ↦ ḡ shared equally by the k elements equal to the maximum: ḡ·[x = max]/k
  // (JAX's and TensorFlow's convention; k = 1 without ties)
  [Op.Max]: ({ inputs: [x], out, adjoint }) => {
    const axes = out.attrs.axes!;
    const isMax = equal(x!, expandReduced(out, x!, axes));
    const share = div(adjoint, sum(isMax, axes));
    return [mul(expandReduced(share, x!, axes), isMax)];
  },
  // ∂ logΣeˣ / ∂x = softmax(x) = e^(x − logΣeˣ), reusing the output
  [Op.LogSumExp]: ({ inputs: [x], out, adjoint }) => {
    const axes = lastAxis(x!);
    return [mul(expandReduced(adjoint, x!, axes), exp(sub(x!, expandReduced(out, x!, axes))))];
  },

  // C = A·B ↦ (Ḡ·Bᵀ, Aᵀ·Ḡ), transposing the last two axes; over broadcast leading (batch) axes the
  // contributions are summed back to the operand's shape by reverse.ts's unbroadcast
  [Op.MatMul]: ({ inputs: [a, b], adjoint }) => [
    matmul(adjoint, transposeLastTwo(b!)),
    matmul(transposeLastTwo(a!), adjoint),
  ],

  // Σ over examples ↦ ḡ to every example (broadcast happens where the adjoint is used)
  [Op.BatchSum]: ({ adjoint }) => [adjoint],

  // The user's rule for the operands after the first; the value itself (operand 0) passes no gradient
  [Op.CustomGradient]: ({ inputs, out, adjoint }) => [
    undefined,
    ...customRules.apply(out.attrs.rule!, { inputs: inputs.slice(1), out, adjoint }),
  ],

  // The training form is the batch statistic (operand 0) ↦ ḡ to it. The pipeline replaces the node by its
  // operand 0 before differentiating, so the statistic's own nodes (batchSum(x)/n, batchSum((x − μ)²)/n) carry the
  // full Jacobian: every example's input reaches every example's output through μ and σ². The running value and
  // the estimate step folds in take no gradient.
  [Op.BatchStatistic]: ({ adjoint }) => [adjoint, undefined, undefined],
  // stopGradient(x) = x with ∂/∂x := 0 (removed before scheduling)
  [Op.StopGradient]: noGradient,

  // Σ y·(lse(z) − z) ↦ ∂/∂z = softmax(z) − y (for targets summing to 1), ∂/∂y = lse(z) − z = −log softmax(z)
  [Op.SoftmaxCrossEntropy]: ({ inputs: [z, y], adjoint }) => {
    const axes = lastAxis(z!);
    const lse = expandReduced(logSumExp(z!), z!, axes);
    const softmax = exp(sub(z!, lse));
    return [mul(adjoint, sub(softmax, y!)), mul(adjoint, sub(lse, z!))];
  },

  // out[b, i, r] = table[b, ids[b, i], r] ↦ ∂table = Σ_{i: ids[b, i] = v} ḡ[b, i, r]: a scatter-add of ḡ into
  // zeros, O(|ids|·|r|) work per example (reverse.ts sums it over examples, lowered as one shared scatter); ids: none
  [Op.Gather]: ({ inputs: [table, ids], out, adjoint }) => [
    scatterAdd(broadcastTo(constant(0), table!.shape), adjoint, ids!, out.attrs.batchDims ?? 0),
    undefined,
  ],
  // base + scatter(values, ids) ↦ (ḡ, gather(ḡ, ids), none): linear in base and values
  [Op.ScatterAdd]: ({ inputs: [, , ids], out, adjoint }) => [
    adjoint,
    gather(adjoint, ids!, out.attrs.batchDims ?? 0),
    undefined,
  ],
  // a function of integer ids only: no gradient
  [Op.OneHot]: noGradient,
  // patches is a linear gather P·x (each element a copy of one image element, or 0 on padding) ↦ Pᵀ·ḡ:
  // col2im, every window's adjoint scatter-added back where it was read (overlapping windows sum)
  [Op.Patches]: ({ inputs: [x], out, adjoint }) => [patchesAdjoint(adjoint, x!.shape, out.attrs.window!)],
  // col2im is Pᵀ·c ↦ (Pᵀ)ᵀ·ḡ = P·ḡ: im2col of the adjoint
  [Op.PatchesAdjoint]: ({ out, adjoint }) => [patches(adjoint, out.attrs.window!)],
};
