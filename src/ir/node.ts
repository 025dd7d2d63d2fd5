// Immutable, hash-consed IR nodes. `makeNode` looks every node up in one intern table by its
// structure (op, operand ids, attributes), so structurally equal expressions are one object:
// common subexpressions are shared by construction, and equality is `===`.

import { GradgenError, unreachable, type SourceLocation } from "../errors.js";
import { commutativeOps, isElementwiseOp, Op } from "./ops.js";
import { broadcastShapes, broadcastsTo, formatShape, normalizeAxes, sameShape, sizeOf, type Shape } from "./shape.js";

import { initKey, type InitSpec } from "../initializers.js";
export type { InitSpec } from "../initializers.js";

export interface NodeAttrs {
  /** Input and Param: the user's name. */
  readonly name?: string;
  /** Input, Param, Reshape, Broadcast: the (target) shape. */
  readonly shape?: Shape;
  /** Param: how the trainer initialises it. */
  readonly init?: InitSpec;
  /** Input: whether gradient() reports ∂loss/∂input. */
  readonly wantsGrad?: boolean;
  /** Const: the scalar value. */
  readonly value?: number;
  /** PowConst: the exponent. */
  readonly exponent?: number;
  /** CustomGradient: the key of the user's rule in the custom rule registry. */
  readonly rule?: string;
  /** DropoutMask: the probability of dropping a unit. */
  readonly dropProbability?: number;
  /** Transpose: the permutation of axes. */
  readonly perm?: readonly number[];
  /** Sum, Max: the reduced axes, sorted. */
  readonly axes?: readonly number[];
  /** ConstTensor: the values, row-major. */
  readonly values?: readonly number[];
  /** Param: not trained (param(name, shape, { trainable: false })): the optimizer never updates it. */
  readonly frozen?: boolean;
}

export class Node {
  /** Creation order within this process: operands always have smaller ids. */
  readonly id: number;
  /** The first place in a model file that asked for this node (for error messages). */
  origin: SourceLocation | undefined;

  constructor(
    id: number,
    /** Structural hash: equal across processes for equal expressions (unlike `id`). */
    readonly hash: number,
    readonly op: Op,
    readonly inputs: readonly Node[],
    readonly attrs: NodeAttrs,
    /** Shape of one example's value. */
    readonly shape: Shape,
    /** True when the node holds one value per example; false when all examples share it. */
    readonly batched: boolean,
    readonly key: string,
  ) {
    this.id = id;
  }

  get size(): number {
    return sizeOf(this.shape);
  }

  get isScalar(): boolean {
    return this.shape.length === 0;
  }

  /** The constant's value, when this node is a scalar constant. */
  get constValue(): number | undefined {
    return this.op === Op.Const ? this.attrs.value : undefined;
  }
}

const internTable = new Map<string, Node>();
let nextId = 0;

function attrsKey(attrs: NodeAttrs): string {
  const parts: string[] = [];
  if (attrs.name !== undefined) parts.push(`n=${attrs.name}`);
  if (attrs.shape !== undefined) parts.push(`s=${attrs.shape.join("x")}`);
  if (attrs.init !== undefined) parts.push(`i=${initKey(attrs.init)}`);
  if (attrs.wantsGrad) parts.push("g");
  if (attrs.value !== undefined) parts.push(`v=${Object.is(attrs.value, -0) ? 0 : attrs.value}`);
  if (attrs.exponent !== undefined) parts.push(`p=${attrs.exponent}`);
  if (attrs.dropProbability !== undefined) parts.push(`d=${attrs.dropProbability}`);
  if (attrs.rule !== undefined) parts.push(`r=${attrs.rule}`);
  if (attrs.perm !== undefined) parts.push(`t=${attrs.perm.join(",")}`);
  if (attrs.axes !== undefined) parts.push(`a=${attrs.axes.join(",")}`);
  if (attrs.frozen) parts.push("frozen");
  // String(x) is the shortest text that reads back as x: exact, and the same in every process.
  if (attrs.values !== undefined) parts.push(`c=${attrs.values.map(String).join(",")}`);
  return parts.join(";");
}

/**
 * Constants first, then by structural hash: a canonical operand order for commutative ops that
 * depends only on the expressions, so generated code is the same whatever was compiled before.
 */
function canonicalOrder(a: Node, b: Node): number {
  const ca = a.op === Op.Const ? 0 : 1;
  const cb = b.op === Op.Const ? 0 : 1;
  if (ca !== cb) return ca - cb;
  return a.hash !== b.hash ? a.hash - b.hash : a.id - b.id;
}

/** cyrb53: a fast 53-bit string hash. */
function hashString(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

export function makeNode(op: Op, inputs: readonly Node[], attrs: NodeAttrs = {}): Node {
  if (commutativeOps.has(op) && inputs.length === 2 && canonicalOrder(inputs[0]!, inputs[1]!) > 0) {
    inputs = [inputs[1]!, inputs[0]!];
  }
  if (op === Op.Const && Object.is(attrs.value, -0)) attrs = { value: 0 };
  const key = `${op}(${inputs.map((input) => input.id).join(",")})${attrsKey(attrs)}`;
  const existing = internTable.get(key);
  if (existing) return existing;
  const shape = inferShape(op, inputs, attrs);
  const batched =
    op === Op.Input || op === Op.DropoutMask || (op !== Op.BatchSum && inputs.some((input) => input.batched));
  const hash = hashString(`${op}(${inputs.map((input) => input.hash).join(",")})${attrsKey(attrs)}`);
  const node = new Node(
    nextId++,
    hash,
    op,
    Object.freeze([...inputs]),
    Object.freeze({ ...attrs }),
    Object.freeze([...shape]),
    batched,
    key,
  );
  internTable.set(key, node);
  return node;
}

function fail(message: string): never {
  throw new GradgenError(message);
}

function inferShape(op: Op, inputs: readonly Node[], attrs: NodeAttrs): Shape {
  if (isElementwiseOp(op)) {
    let shape: Shape = [];
    for (const input of inputs) {
      const next = broadcastShapes(shape, input.shape);
      if (!next) {
        fail(
          `${op}: shapes ${inputs.map((i) => formatShape(i.shape)).join(" and ")} do not broadcast together ` +
            `(numpy rules: trailing dimensions must be equal or 1). Reshape or transpose one operand so they line up.`,
        );
      }
      shape = next;
    }
    return shape;
  }
  const [a, b] = inputs;
  switch (op) {
    case Op.Input:
    case Op.Param:
    case Op.DropoutMask:
    case Op.ConstTensor:
      return attrs.shape!;
    case Op.Const:
    case Op.BatchSize:
      return [];
    case Op.Reshape: {
      const target = attrs.shape!;
      if (sizeOf(target) !== a!.size) {
        fail(
          `reshape: cannot reshape ${formatShape(a!.shape)} (${a!.size} elements) to ${formatShape(target)} (${sizeOf(target)} elements); the element counts must match.`,
        );
      }
      return target;
    }
    case Op.Transpose: {
      const perm = attrs.perm!;
      const valid = perm.length === a!.shape.length && [...perm].sort((x, y) => x - y).every((p, i) => p === i);
      if (!valid)
        fail(
          `transpose: [${perm.join(", ")}] is not a permutation of the ${a!.shape.length} axes of ${formatShape(a!.shape)}.`,
        );
      return perm.map((p) => a!.shape[p]!);
    }
    case Op.Broadcast:
      if (!broadcastsTo(a!.shape, attrs.shape!)) {
        fail(`broadcast: ${formatShape(a!.shape)} does not broadcast to ${formatShape(attrs.shape!)}.`);
      }
      return attrs.shape!;
    case Op.Sum:
    case Op.Max: {
      const axes = normalizeAxes(attrs.axes!, a!.shape.length);
      if (!axes || !sameShape(axes, attrs.axes!))
        fail(`${op}: axes [${attrs.axes!.join(", ")}] are not sorted axes of ${formatShape(a!.shape)}.`);
      return a!.shape.filter((_, i) => !axes.includes(i));
    }
    case Op.LogSumExp:
      if (a!.shape.length === 0) fail(`logSumExp: needs at least one axis, got a scalar.`);
      return a!.shape.slice(0, -1);
    case Op.MatMul:
      return matmulShape(a!.shape, b!.shape);
    case Op.BatchSum:
      if (!a!.batched) fail(`batchSum: operand is already shared by all examples.`);
      return a!.shape;
    case Op.CustomGradient:
    case Op.StopGradient:
      return a!.shape;
    case Op.SoftmaxCrossEntropy:
      if (!sameShape(a!.shape, b!.shape) || a!.shape.length === 0) {
        fail(
          `softmaxCrossEntropy: logits ${formatShape(a!.shape)} and one-hot targets ${formatShape(b!.shape)} must have the same non-scalar shape.`,
        );
      }
      return [];
    default:
      return unreachable(op, "op");
  }
}

/** [...La, m, k]·[...Lb, k, n] → [...broadcast(La, Lb), m, n] (numpy's matmul for operands of rank ≥ 2). */
export function matmulShape(a: Shape, b: Shape): Shape {
  if (a.length < 2 || b.length < 2 || a[a.length - 1] !== b[b.length - 2]) {
    fail(
      `matmul: cannot multiply ${formatShape(a)} by ${formatShape(b)}; the inner dimensions must agree ([…, m, k]·[…, k, n]).`,
    );
  }
  const lead = broadcastShapes(a.slice(0, -2), b.slice(0, -2));
  if (!lead) {
    fail(
      `matmul: the leading (batch) dimensions of ${formatShape(a)} and ${formatShape(b)} do not broadcast together (numpy rules: trailing dimensions must be equal or 1); reshape one operand so they line up.`,
    );
  }
  return [...lead, a[a.length - 2]!, b[b.length - 1]!];
}
