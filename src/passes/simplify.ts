// Algebraic simplification as a table of rewrite rules, applied bottom-up until none fires.
// Every rule is an identity of real arithmetic that keeps the node's shape (a smaller result is
// broadcast back), so a rewrite can change rounding but never the value. Rebuilding goes through
// the intern table, so the simplified forward and gradient graphs share every common subexpression.

import {
  add,
  batchSum,
  broadcastTo,
  constant,
  matmul,
  mul,
  neg,
  powConst,
  rebuild,
  reshape,
  scatterAdd,
  sub,
  sum,
  transpose,
} from "../ir/build.js";
import { makeNode, type Node } from "../ir/node.js";
import { elementwiseOps, Op } from "../ir/ops.js";
import { isElementwiseOp, scalarFunctions } from "../ir/scalar.js";
import { broadcastShapes, broadcastsTo, sameShape } from "../ir/shape.js";

export interface RewriteRule {
  readonly name: string;
  readonly ops: readonly Op[];
  /** A simpler equal expression, or undefined when the rule does not apply. */
  readonly rewrite: (node: Node) => Node | undefined;
}

const isConst = (x: Node, value?: number): boolean =>
  x.op === Op.Const && (value === undefined || x.attrs.value === value);

/** Broadcast constants `Broadcast(c, shape)` count as c. */
function constantOf(x: Node): number | undefined {
  if (x.op === Op.Const) return x.attrs.value;
  if (x.op === Op.Broadcast && x.inputs[0]!.op === Op.Const) return x.inputs[0]!.attrs.value;
  return undefined;
}

/** Every element 0: a (broadcast) zero, or a layout of one. */
function isZeroTensor(x: Node): boolean {
  for (; x.op === Op.Transpose || x.op === Op.Reshape; x = x.inputs[0]!);
  return constantOf(x) === 0;
}

/** A scalar coefficient and the rest: c·x ↦ (c, x), −x ↦ (−1, x), x ↦ (1, x). */
function splitCoefficient(x: Node): [number, Node] {
  let sign = 1;
  for (; x.op === Op.Neg; x = x.inputs[0]!) sign = -sign;
  if (x.op === Op.Mul && isConst(x.inputs[0]!)) return [sign * x.inputs[0]!.attrs.value!, x.inputs[1]!];
  return [sign, x];
}

/** A base and a constant exponent: xᵖ ↦ (x, p), x ↦ (x, 1). */
function splitPower(x: Node): [Node, number] {
  return x.op === Op.PowConst ? [x.inputs[0]!, x.attrs.exponent!] : [x, 1];
}

function scaled(coefficient: number, x: Node): Node {
  if (coefficient === 0) return constant(0);
  if (coefficient === 1) return x;
  if (coefficient === -1) return neg(x);
  return mul(coefficient, x);
}

export const rewriteRules: readonly RewriteRule[] = [
  {
    name: "fold constants",
    ops: [...elementwiseOps],
    rewrite: (node) => {
      if (!node.inputs.every((input) => isConst(input)) || !isElementwiseOp(node.op)) return undefined;
      const args = node.inputs.map((input) => input.attrs.value!);
      return constant(scalarFunctions[node.op](args, node.attrs.exponent ?? 1));
    },
  },
  {
    // Elementwise ops broadcast by themselves: x·Broadcast(y) = x·y when the result shape is unchanged.
    name: "implicit broadcast",
    ops: [...elementwiseOps],
    rewrite: (node) => {
      const index = node.inputs.findIndex((input) => input.op === Op.Broadcast);
      if (index < 0) return undefined;
      const inputs = node.inputs.map((input, i) => (i === index ? input.inputs[0]! : input));
      let shape: readonly number[] = [];
      for (const input of inputs) shape = broadcastShapes(shape, input.shape) ?? [-1];
      if (!sameShape(shape, node.shape)) return undefined;
      return makeNode(node.op, inputs, node.attrs);
    },
  },
  // The identities below also see a constant broadcast to a shape (a gradient's ones and zeros) as the constant
  {
    name: "x + 0 = x",
    ops: [Op.Add],
    rewrite: ({ inputs: [a, b] }) => (constantOf(a!) === 0 ? b : constantOf(b!) === 0 ? a : undefined),
  },
  { name: "x − 0 = x", ops: [Op.Sub], rewrite: ({ inputs: [a, b] }) => (constantOf(b!) === 0 ? a : undefined) },
  { name: "0 − x = −x", ops: [Op.Sub], rewrite: ({ inputs: [a, b] }) => (constantOf(a!) === 0 ? neg(b!) : undefined) },
  {
    name: "x + (−y) = x − y",
    ops: [Op.Add],
    rewrite: ({ inputs: [a, b] }) =>
      b!.op === Op.Neg ? sub(a!, b!.inputs[0]!) : a!.op === Op.Neg ? sub(b!, a!.inputs[0]!) : undefined,
  },
  {
    name: "x − (−y) = x + y",
    ops: [Op.Sub],
    rewrite: ({ inputs: [a, b] }) => (b!.op === Op.Neg ? add(a!, b!.inputs[0]!) : undefined),
  },
  {
    // x + x = 2x, 3x + x = 4x, ax − bx = (a − b)x
    name: "collect like terms",
    ops: [Op.Add, Op.Sub],
    rewrite: ({ op, inputs: [a, b] }) => {
      const [ca, xa] = splitCoefficient(a!);
      const [cb, xb] = splitCoefficient(b!);
      if (xa !== xb) return undefined;
      return scaled(op === Op.Add ? ca + cb : ca - cb, xa);
    },
  },
  {
    // (x + y) + x = 2x + y, x − (y − x) = 2x − y: like terms one sum apart (d/da of a(a + b) is 2a + b)
    name: "collect like terms across a sum",
    ops: [Op.Add, Op.Sub],
    rewrite: ({ op, inputs: [a, b] }) => {
      const terms: [number, Node][] = [];
      const addTerms = (x: Node, sign: number) => {
        if (x.op === Op.Add || x.op === Op.Sub) {
          const [c0, x0] = splitCoefficient(x.inputs[0]!);
          const [c1, x1] = splitCoefficient(x.inputs[1]!);
          terms.push([sign * c0, x0], [sign * (x.op === Op.Add ? c1 : -c1), x1]);
        } else {
          const [c, rest] = splitCoefficient(x);
          terms.push([sign * c, rest]);
        }
      };
      addTerms(a!, 1);
      addTerms(b!, op === Op.Add ? 1 : -1);
      if (terms.length !== 3) return undefined;
      for (let i = 0; i < 3; i++) {
        for (let j = i + 1; j < 3; j++) {
          if (terms[i]![1] !== terms[j]![1] || isConst(terms[i]![1])) continue;
          const [cr, rest] = terms[3 - i - j]!;
          const like = scaled(terms[i]![0] + terms[j]![0], terms[i]![1]);
          return cr < 0 ? sub(like, scaled(-cr, rest)) : add(like, scaled(cr, rest));
        }
      }
      return undefined;
    },
  },
  {
    name: "1·x = x",
    ops: [Op.Mul],
    rewrite: ({ inputs: [a, b] }) => (constantOf(a!) === 1 ? b : constantOf(b!) === 1 ? a : undefined),
  },
  {
    name: "0·x = 0",
    ops: [Op.Mul],
    rewrite: ({ inputs: [a, b] }) => (constantOf(a!) === 0 || constantOf(b!) === 0 ? constant(0) : undefined),
  },
  { name: "(−1)·x = −x", ops: [Op.Mul], rewrite: ({ inputs: [a, b] }) => (isConst(a!, -1) ? neg(b!) : undefined) },
  {
    // c·(d·x) = (cd)·x, (c·x)·y = c·(x·y), (−x)·y = −(x·y): coefficients move outward, where they fold
    name: "hoist coefficients",
    ops: [Op.Mul],
    rewrite: ({ inputs: [a, b] }) => {
      const [cb, xb] = splitCoefficient(b!);
      if (isConst(a!)) return cb === 1 ? undefined : scaled(a!.attrs.value! * cb, xb);
      const [ca, xa] = splitCoefficient(a!);
      return ca === 1 && cb === 1 ? undefined : scaled(ca * cb, mul(xa, xb));
    },
  },
  {
    // x·x = x², xᵃ·x = xᵃ⁺¹, xᵃ·xᵇ = xᵃ⁺ᵇ
    name: "merge powers",
    ops: [Op.Mul],
    rewrite: ({ inputs: [a, b] }) => {
      const [xa, pa] = splitPower(a!);
      const [xb, pb] = splitPower(b!);
      return xa === xb && !isConst(xa) ? powConst(xa, pa + pb) : undefined;
    },
  },
  { name: "x/1 = x", ops: [Op.Div], rewrite: ({ inputs: [a, b] }) => (constantOf(b!) === 1 ? a : undefined) },
  { name: "0/x = 0", ops: [Op.Div], rewrite: ({ inputs: [a] }) => (constantOf(a!) === 0 ? constant(0) : undefined) },
  { name: "−(−x) = x", ops: [Op.Neg], rewrite: ({ inputs: [x] }) => (x!.op === Op.Neg ? x!.inputs[0] : undefined) },
  {
    name: "−(c·x) = (−c)·x",
    ops: [Op.Neg],
    rewrite: ({ inputs: [x] }) =>
      x!.op === Op.Mul && isConst(x!.inputs[0]!) ? mul(-x!.inputs[0]!.attrs.value!, x!.inputs[1]!) : undefined,
  },
  { name: "x¹ = x", ops: [Op.PowConst], rewrite: (node) => (node.attrs.exponent === 1 ? node.inputs[0] : undefined) },
  { name: "x⁰ = 1", ops: [Op.PowConst], rewrite: (node) => (node.attrs.exponent === 0 ? constant(1) : undefined) },
  {
    // (xᵃ)ᵇ = xᵃᵇ holds for every real x only when b is an integer
    name: "power of a power",
    ops: [Op.PowConst],
    rewrite: ({ inputs: [x], attrs }) =>
      x!.op === Op.PowConst && Number.isInteger(attrs.exponent!)
        ? powConst(x!.inputs[0]!, x!.attrs.exponent! * attrs.exponent!)
        : undefined,
  },
  { name: "c ? x : x = x", ops: [Op.Select], rewrite: ({ inputs: [, a, b] }) => (a === b ? a : undefined) },
  {
    name: "select on a constant",
    ops: [Op.Select],
    rewrite: ({ inputs: [c, a, b] }) => (isConst(c!) ? (c!.attrs.value !== 0 ? a : b) : undefined),
  },
  {
    name: "sum of a broadcast constant",
    ops: [Op.Sum],
    rewrite: (node) => {
      const value = constantOf(node.inputs[0]!);
      return value === undefined ? undefined : constant(value * (node.inputs[0]!.size / node.size));
    },
  },
  {
    // A·0 = 0·B = 0 (a product with a zero operand, as a stop-gradient's Aᵀ·0 leaves after differentiation)
    name: "product with a zero operand",
    ops: [Op.MatMul],
    rewrite: ({ inputs: [a, b] }) => (isZeroTensor(a!) || isZeroTensor(b!) ? constant(0) : undefined),
  },
  {
    name: "reshape of a reshape",
    ops: [Op.Reshape],
    rewrite: ({ inputs: [x], attrs }) => (x!.op === Op.Reshape ? reshape(x!.inputs[0]!, attrs.shape!) : undefined),
  },
  {
    name: "layout of a constant",
    ops: [Op.Reshape, Op.Broadcast, Op.Transpose],
    rewrite: (node) => {
      const {
        op,
        inputs: [x],
        attrs,
      } = node;
      const value = constantOf(x!);
      if (value === undefined || (op === Op.Broadcast && x!.op === Op.Const)) return undefined;
      return broadcastTo(constant(value), op === Op.Transpose ? node.shape : attrs.shape!);
    },
  },
  {
    name: "transpose of a transpose",
    ops: [Op.Transpose],
    rewrite: ({ inputs: [x], attrs }) =>
      x!.op === Op.Transpose
        ? transpose(
            x!.inputs[0]!,
            attrs.perm!.map((p) => x!.attrs.perm![p]!),
          )
        : undefined,
  },
  {
    // (A·B)ᵀ = Bᵀ·Aᵀ where an operand is itself transposed, so a transpose cancels and the product is
    // stored as its consumers read it (a shared weight's gradient then sums over examples in one product)
    name: "transpose of a product",
    ops: [Op.Transpose],
    rewrite: ({ inputs: [x] }) => {
      if (x!.op !== Op.MatMul || x!.shape.length !== 2) return undefined; // stacks: a transpose may not swap m and n
      const [a, b] = x!.inputs as [Node, Node];
      if (a.shape.length !== 2 || b.shape.length !== 2) return undefined;
      return a.op === Op.Transpose || b.op === Op.Transpose ? matmul(transpose(b), transpose(a)) : undefined;
    },
  },
  {
    // Σ_axes Σₑ x = Σₑ Σ_axes x: each example's sum first, then the small sums over examples (a
    // convolution's bias gradient: one pass reading δ, instead of accumulating all of δ over examples)
    name: "sum of a sum over examples",
    ops: [Op.Sum],
    rewrite: ({ inputs: [x], attrs }) =>
      x!.op === Op.BatchSum && x!.inputs[0]!.batched ? batchSum(sum(x!.inputs[0]!, attrs.axes)) : undefined,
  },
  {
    // (Σₑ Aₑ·Bₑ)ᵀ = Σₑ Bₑᵀ·Aₑᵀ where an operand is transposed: a weight used transposed (a
    // convolution's filters) gets its gradient as one product over examples in its own layout
    name: "transpose of a sum over examples of a product",
    ops: [Op.Transpose],
    rewrite: ({ inputs: [x] }) => {
      const product = x!.op === Op.BatchSum ? x!.inputs[0]! : undefined;
      if (product?.op !== Op.MatMul || product.shape.length !== 2) return undefined;
      const [a, b] = product.inputs as [Node, Node];
      if (a.shape.length !== 2 || b.shape.length !== 2) return undefined;
      return a.op === Op.Transpose || b.op === Op.Transpose ? batchSum(matmul(transpose(b), transpose(a))) : undefined;
    },
  },
  {
    // Moving a size-1 axis changes no element's position
    name: "transpose that only moves unit axes",
    ops: [Op.Transpose],
    rewrite: ({ inputs: [x], attrs, shape }) => {
      const moved = attrs.perm!.filter((p) => x!.shape[p] !== 1);
      return moved.every((p, i) => i === 0 || p > moved[i - 1]!) ? reshape(x!, shape) : undefined;
    },
  },
  {
    // A product with a constant matrix c·1 is a sum, broadcast: (c·1)·B = c·1ᵀ(Σᵢ Bᵢⱼ) row by row, and
    // A·(c·1) = c·(Σⱼ Aᵢⱼ)·1 column by column; with k = 1 the sum is a reshape (a gradient penalty's 1·W₂ᵀ)
    name: "product with a constant matrix",
    ops: [Op.MatMul],
    rewrite: ({ inputs: [a, b], shape }) => {
      const [left, right] = [constantOf(a!), constantOf(b!)];
      if (left === undefined && right === undefined) return undefined;
      if (a!.shape.length !== 2 || b!.shape.length !== 2) return undefined; // stacks of matrices: not rewritten
      const [m, n] = shape as [number, number];
      const summed =
        left !== undefined
          ? reshape(b!.shape[0] === 1 ? b! : sum(b!, [0]), [1, n])
          : reshape(a!.shape[1] === 1 ? a! : sum(a!, [1]), [m, 1]);
      return scaled(left ?? right!, broadcastTo(summed, [m, n]));
    },
  },
  {
    // x + scatterAdd(0, v, ids) = scatterAdd(x, v, ids): the scatter adds straight into x's buffer, so the
    // sparse cross-entropy's gradient softmax(z) − onehot(label) never holds the (scaled) one-hot
    name: "scatter into a sum",
    ops: [Op.Add],
    rewrite: (node) => {
      for (const [x, scatter] of [node.inputs, [...node.inputs].reverse()] as const) {
        if (scatter!.op !== Op.ScatterAdd || constantOf(scatter!.inputs[0]!) !== 0) continue;
        if (!sameShape(x!.shape, node.shape) || !sameShape(scatter!.shape, node.shape)) continue;
        const [, values, ids] = scatter!.inputs;
        return scatterAdd(x!, values!, ids!, scatter!.attrs.batchDims ?? 0);
      }
      return undefined;
    },
  },
];

const rulesByOp = new Map<Op, RewriteRule[]>();
for (const rule of rewriteRules) {
  for (const op of rule.ops) rulesByOp.set(op, [...(rulesByOp.get(op) ?? []), rule]);
}

/** Give `candidate` the exact shape of `node` (rules may return a smaller, broadcastable value). */
function withShapeOf(candidate: Node, node: Node): Node | undefined {
  if (sameShape(candidate.shape, node.shape)) return candidate;
  return broadcastsTo(candidate.shape, node.shape) ? broadcastTo(candidate, node.shape) : undefined;
}

// Simplified forms are a property of the (interned) node alone, so they are cached across calls.
const normalForms = new WeakMap<Node, Node>();

/** A node being simplified: its operands' simplified forms so far, or, once a rule fired, waiting for the rewrite's. */
interface Frame {
  readonly node: Node;
  readonly inputs: Node[];
  awaitingRewrite: boolean;
}

/**
 * The simplified form of `node`: operands first, then rules on the node until none fires; a
 * rewrite's result is simplified in turn. An explicit stack instead of recursion, so graph depth and
 * rewrite chains are unbounded.
 */
function simplifyNode(node: Node, firedRules: string[] | undefined): Node {
  const cached = normalForms.get(node);
  if (cached) return cached;
  const stack: Frame[] = [{ node, inputs: [], awaitingRewrite: false }];
  /** Record the top frame's simplified form and hand it to the frames waiting for it; the root's form once the stack empties. */
  const finish = (simplified: Node): Node | undefined => {
    for (;;) {
      const frame = stack.pop()!;
      normalForms.set(frame.node, simplified);
      normalForms.set(simplified, simplified);
      const waiting = stack[stack.length - 1];
      if (!waiting) return simplified;
      if (!waiting.awaitingRewrite) {
        waiting.inputs.push(simplified);
        return undefined;
      }
    }
  };
  for (;;) {
    const frame = stack[stack.length - 1]!;
    const operands = frame.node.inputs;
    if (frame.inputs.length < operands.length) {
      const operand = operands[frame.inputs.length]!;
      const known = normalForms.get(operand);
      if (known) frame.inputs.push(known);
      else stack.push({ node: operand, inputs: [], awaitingRewrite: false });
      continue;
    }
    let current = rebuild(frame.node, frame.inputs);
    const known = normalForms.get(current);
    let rewrittenTo: Node | undefined;
    if (known) current = known;
    else {
      for (const rule of rulesByOp.get(current.op) ?? []) {
        const rewritten = rule.rewrite(current);
        const next = rewritten && rewritten !== current ? withShapeOf(rewritten, current) : undefined;
        if (!next || next === current) continue;
        firedRules?.push(rule.name);
        rewrittenTo = next;
        break;
      }
    }
    if (rewrittenTo) {
      // The rewrite may have built nodes that are not yet simplified: simplify the result in turn.
      const simplifiedBefore = normalForms.get(rewrittenTo);
      if (!simplifiedBefore) {
        frame.awaitingRewrite = true;
        stack.push({ node: rewrittenTo, inputs: [], awaitingRewrite: false });
        continue;
      }
      current = simplifiedBefore;
    }
    const root = finish(current);
    if (root) return root;
  }
}

/** What `node` became in the last simplify() that reached it (every node it reached has one). */
export function simplifiedForm(node: Node): Node | undefined {
  return normalForms.get(node);
}

/** Simplify several roots together (shared subexpressions are simplified once). */
export function simplify(roots: readonly Node[], firedRules?: string[]): Node[] {
  return roots.map((root) => simplifyNode(root, firedRules));
}
