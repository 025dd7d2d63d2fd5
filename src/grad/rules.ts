// Local derivative rules, one per op. A rule receives the node's operands, its own output `out`
// (so σ′ can reuse σ) and the adjoint ḡ = ∂C/∂out flowing in, and returns each operand's
// contribution ḡ·∂out/∂operand (a vector-Jacobian product), or undefined where no gradient flows.
// Contributions may be broadcast-shaped or batched; reverse.ts reduces them to the operand's shape.

import {
  broadcastTo, cos, div, equal, exp, greater, logSumExp, matmul, mul, neg, powConst,
  reshape, select, sigmoid, sign, sin, sub, transpose,
} from "../ir/build.js";
import type { Node } from "../ir/node.js";
import { customRules } from "./custom-rules.js";
import { Op } from "../ir/ops.js";

export interface RuleContext {
  readonly inputs: readonly Node[];
  readonly out: Node;
  readonly adjoint: Node;
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

export const derivativeRules: { readonly [K in Op]: DerivativeRule } = {
  [Op.Input]: leaf,
  [Op.Param]: leaf,
  [Op.Const]: leaf,
  [Op.BatchSize]: leaf,
  [Op.DropoutMask]: leaf,

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
  // |x|′ = sign(x)
  [Op.Abs]: ({ inputs: [x], adjoint }) => [mul(adjoint, sign(x!))],
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
  // max(a, b): the larger operand takes the gradient; a tie goes to a (so relu′(0) = 0, as in TensorFlow).
  // Against a constant c (constants come first), x > c ⟺ max(c, x) > c: the mask reads the output,
  // so the backward pass needs relu(z), not z as well.
  [Op.Maximum]: ({ inputs: [a, b], out, adjoint }) => {
    const bWins = a!.op === Op.Const ? greater(out, a!) : greater(b!, a!);
    return [mul(adjoint, sub(1, bWins)), mul(adjoint, bWins)];
  },
  // min(a, b): the smaller operand takes the gradient; a tie goes to a (x < c ⟺ min(c, x) < c)
  [Op.Minimum]: ({ inputs: [a, b], out, adjoint }) => {
    const bWins = a!.op === Op.Const ? greater(a!, out) : greater(a!, b!);
    return [mul(adjoint, sub(1, bWins)), mul(adjoint, bWins)];
  },
  [Op.Greater]: noGradient,
  [Op.Equal]: noGradient,
  // c ? a : b ↦ (none, c ? ḡ : 0, c ? 0 : ḡ)
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

  // Σx ↦ ḡ copied to every summed element
  [Op.Sum]: ({ inputs: [x], out, adjoint }) => [expandReduced(adjoint, x!, out.attrs.axes!)],
  // max ↦ ḡ to the elements equal to the maximum
  [Op.Max]: ({ inputs: [x], out, adjoint }) => {
    const axes = out.attrs.axes!;
    return [mul(expandReduced(adjoint, x!, axes), equal(x!, expandReduced(out, x!, axes)))];
  },
  // ∂ logΣeˣ / ∂x = softmax(x) = e^(x − logΣeˣ), reusing the output
  [Op.LogSumExp]: ({ inputs: [x], out, adjoint }) => {
    const axes = lastAxis(x!);
    return [mul(expandReduced(adjoint, x!, axes), exp(sub(x!, expandReduced(out, x!, axes))))];
  },

  // C = A·B ↦ (Ḡ·Bᵀ, Aᵀ·Ḡ)
  [Op.MatMul]: ({ inputs: [a, b], adjoint }) => [matmul(adjoint, transpose(b!)), matmul(transpose(a!), adjoint)],

  // Σ over examples ↦ ḡ to every example (broadcast happens where the adjoint is used)
  [Op.BatchSum]: ({ adjoint }) => [adjoint],

  // The user's rule for the operands after the first; the value itself (operand 0) passes no gradient
  [Op.CustomGradient]: ({ inputs, out, adjoint }) => [undefined, ...customRules.apply(out.attrs.rule!, { inputs: inputs.slice(1), out, adjoint })],

  // Σ y·(lse(z) − z) ↦ ∂/∂z = softmax(z) − y (for targets summing to 1), ∂/∂y = lse(z) − z = −log softmax(z)
  [Op.SoftmaxCrossEntropy]: ({ inputs: [z, y], adjoint }) => {
    const axes = lastAxis(z!);
    const lse = expandReduced(logSumExp(z!), z!, axes);
    const softmax = exp(sub(z!, lse));
    return [mul(adjoint, sub(softmax, y!)), mul(adjoint, sub(lse, z!))];
  },
};
