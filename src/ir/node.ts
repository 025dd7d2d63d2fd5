// Immutable, hash-consed IR nodes. `makeNode` looks every node up in one intern table by its
// structure (op, operand ids, attributes), so structurally equal expressions are one object:
// common subexpressions are shared by construction, and equality is `===`.

import { GradgenError, unreachable, type SourceLocation } from "../errors.js";
import { commutativeOps, idOps, isElementwiseOp, Op } from "./ops.js";
import { broadcastShapes, broadcastsTo, formatShape, normalizeAxes, sameShape, sizeOf, type Shape } from "./shape.js";
import { concatShape, padShape, sliceShape } from "./slicing.js";

import { initKey, type InitSpec } from "../initializers.js";
import { patchesShape, windowKey, windowOutputs, type WindowSpec } from "./window.js";
import { scanKey, scanShape, type ScanBody } from "./scan.js";
export type { InitSpec } from "../initializers.js";

export interface NodeAttrs {
  /** Input and Param: the user's name; RunningStat: its label ("batchNorm0.runningMean"). */
  readonly name?: string;
  /** Input, Param, RunningStat, Reshape, Broadcast: the (target) shape. */
  readonly shape?: Shape;
  /**
   * Param: an optimizer's per-parameter buffer shaped like the parameter (state_<name>_<slot>), such
   * as the direction v of a Hessian-vector product; a leaf distinct from the parameter itself.
   */
  readonly slot?: string;
  /** Param: how the trainer initialises it. */
  readonly init?: InitSpec;
  /** Input: whether gradient() reports ∂loss/∂input. */
  readonly wantsGrad?: boolean;
  /** Const: the scalar value; RunningStat: its initial value. */
  readonly value?: number;
  /** PowConst: the exponent. */
  readonly exponent?: number;
  /** CustomGradient: the key of the user's rule in the custom rule registry. */
  readonly rule?: string;
  /** DropoutMask: the probability of dropping a unit. */
  readonly dropProbability?: number;
  /** Transpose: the permutation of axes. */
  readonly perm?: readonly number[];
  /** BatchStatistic: the running statistic's momentum (running ← momentum·running + (1 − momentum)·batch). */
  readonly momentum?: number;
  /** Sum, Max: the reduced axes, sorted. */
  readonly axes?: readonly number[];
  /** Slice: the first element's index on each axis (attrs.shape is the window's size); Pad: the border before each axis. */
  readonly begin?: readonly number[];
  /** Pad: the border after each axis (its value is attrs.value). */
  readonly end?: readonly number[];
  /** Concat: the axis the operands are joined along. */
  readonly axis?: number;
  /** Input: "int32" for integer ids (read only by gather, oneHot, sparseSoftmaxCrossEntropy). */
  readonly dtype?: "int32";
  /** Gather, ScatterAdd: leading axes shared by the table and the ids. */
  readonly batchDims?: number;
  /** OneHot: the length of the one-hot axis (ids range over 0 … depth − 1). */
  readonly depth?: number;
  /** Patches, PatchesAdjoint: the sliding window (PatchesAdjoint's `shape` is the image's). */
  readonly window?: WindowSpec;
  /** ConstTensor: the values, row-major. */
  readonly values?: readonly number[];
  /** Param: not trained (param(name, shape, { trainable: false })): the optimizer never updates it. */
  readonly frozen?: boolean;
  /** Scan: its body (scan.ts). */
  readonly scan?: ScanBody;
  /** ScanArg: whether the placeholder holds one value per example. */
  readonly perExample?: boolean;
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

function attrsKey(attrs: NodeAttrs, of: (node: Node) => number = (node) => node.id): string {
  const parts: string[] = [];
  if (attrs.name !== undefined) parts.push(`n=${attrs.name}`);
  if (attrs.shape !== undefined) parts.push(`s=${attrs.shape.join("x")}`);
  if (attrs.init !== undefined) parts.push(`i=${initKey(attrs.init)}`);
  if (attrs.slot !== undefined) parts.push(`o=${attrs.slot}`);
  if (attrs.wantsGrad) parts.push("g");
  if (attrs.value !== undefined) parts.push(`v=${Object.is(attrs.value, -0) ? 0 : attrs.value}`);
  if (attrs.exponent !== undefined) parts.push(`p=${attrs.exponent}`);
  if (attrs.dropProbability !== undefined) parts.push(`d=${attrs.dropProbability}`);
  if (attrs.rule !== undefined) parts.push(`r=${attrs.rule}`);
  if (attrs.perm !== undefined) parts.push(`t=${attrs.perm.join(",")}`);
  if (attrs.axes !== undefined) parts.push(`a=${attrs.axes.join(",")}`);
  if (attrs.momentum !== undefined) parts.push(`m=${attrs.momentum}`);
  if (attrs.begin !== undefined) parts.push(`b=${attrs.begin.join(",")}`);
  if (attrs.end !== undefined) parts.push(`e=${attrs.end.join(",")}`);
  if (attrs.axis !== undefined) parts.push(`x=${attrs.axis}`);
  if (attrs.dtype !== undefined) parts.push(`dt=${attrs.dtype}`);
  if (attrs.batchDims !== undefined) parts.push(`bd=${attrs.batchDims}`);
  if (attrs.depth !== undefined) parts.push(`dp=${attrs.depth}`);
  if (attrs.window !== undefined) parts.push(`w=${windowKey(attrs.window)}`);
  if (attrs.frozen) parts.push("frozen");
  // String(x) is the shortest text that reads back as x: exact, and the same in every process.
  if (attrs.values !== undefined) parts.push(`c=${attrs.values.map(String).join(",")}`);
  if (attrs.scan !== undefined) parts.push(`sc=${scanKey(attrs.scan, of)}`);
  if (attrs.perExample) parts.push("pe");
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
    op === Op.Input ||
    op === Op.DropoutMask ||
    (op === Op.ScanArg && attrs.perExample === true) ||
    (op !== Op.BatchSum && inputs.some((input) => input.batched));
  const hash = hashString(
    `${op}(${inputs.map((input) => input.hash).join(",")})${attrsKey(attrs, (node) => node.hash)}`,
  );
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

/** Whether a node holds integer ids (an int32 input). */
export function isIntegerNode(node: Node): boolean {
  return node.op === Op.Input && node.attrs.dtype === "int32";
}

/** Integer ids flow only into the ids operand (the last) of gather, scatterAdd and oneHot. */
function checkIntegerOperands(op: Op, inputs: readonly Node[]): void {
  inputs.forEach((input, i) => {
    if (!isIntegerNode(input) || (idOps.has(op) && i === inputs.length - 1)) return;
    fail(
      `${op}: "${input.attrs.name}" is an int32 input (integer ids), which can only be the ids of nn.gather, nn.oneHot or nn.sparseSoftmaxCrossEntropy; ` +
        `for arithmetic on it, declare it as a float input, or take nn.oneHot(ids, depth) first.`,
    );
  });
}

function inferShape(op: Op, inputs: readonly Node[], attrs: NodeAttrs): Shape {
  checkIntegerOperands(op, inputs);
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
    case Op.ScanArg:
      return attrs.shape!;
    case Op.Scan: {
      const shape = scanShape(inputs, attrs.scan!);
      if (typeof shape === "string") fail(`scan: ${shape}.`);
      return shape;
    }
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
    case Op.RunningStat:
      return attrs.shape!;
    case Op.BatchStatistic:
      if (
        inputs.length !== 3 ||
        a!.batched ||
        inputs[2]!.batched ||
        b!.op !== Op.RunningStat ||
        !sameShape(a!.shape, b!.shape) ||
        !sameShape(a!.shape, inputs[2]!.shape)
      )
        fail(
          `batchStatistic: needs a statistic shared by all examples, its running statistic and the estimate step folds in, all of one shape; got ${inputs.map((i) => `${i.op} ${formatShape(i.shape)}${i.batched ? " (per example)" : ""}`).join(", ")}.`,
        );
      return a!.shape;
    case Op.Slice:
      return sliceShape(a!.shape, attrs.begin!, attrs.shape!);
    case Op.Pad:
      return padShape(a!.shape, attrs.begin!, attrs.end!);
    case Op.Concat:
      return concatShape(
        inputs.map((input) => input.shape),
        attrs.axis!,
      );
    case Op.Gather:
    case Op.ScatterAdd:
    case Op.OneHot:
      return idShape(op, inputs, attrs);
    case Op.Patches:
    case Op.PatchesAdjoint: {
      const image = op === Op.Patches ? a!.shape : attrs.shape!;
      const outputs = windowOutputs(image, attrs.window!);
      if (typeof outputs === "string") fail(`${op}: ${outputs}.`);
      const shape = patchesShape(image, attrs.window!);
      if (op === Op.PatchesAdjoint && !sameShape(a!.shape, shape))
        fail(
          `${op}: the operand ${formatShape(a!.shape)} is not the patches shape ${formatShape(shape)} of the image.`,
        );
      return op === Op.Patches ? shape : image;
    }
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

/** Shapes of the id ops (see ops.ts): ids must be an int32 input; tables and values must line up with them. */
function idShape(op: Op, inputs: readonly Node[], attrs: NodeAttrs): Shape {
  const ids = inputs[inputs.length - 1]!;
  if (!isIntegerNode(ids)) {
    const what =
      ids.op === Op.Input ? `the float input "${ids.attrs.name}"` : `a float tensor ${formatShape(ids.shape)}`;
    fail(
      `${op}: ids must be an int32 input, got ${what}; declare the ids with input(name, shape, { dtype: "int32" }) and pass that tensor.`,
    );
  }
  if (op === Op.OneHot) return [...ids.shape, attrs.depth!];
  const b = attrs.batchDims ?? 0;
  const lead = ids.shape.slice(0, b);
  const table = op === Op.Gather ? inputs[0]! : inputs[0]!;
  if (table.shape.length < b + 1 || !sameShape(table.shape.slice(0, b), lead) || ids.shape.length < b) {
    fail(
      `${op}: a table of shape ${formatShape(table.shape)} cannot be indexed by ids of shape ${formatShape(ids.shape)}` +
        (b > 0 ? ` sharing ${b} leading axes` : "") +
        `; the table needs an axis of rows to pick from (gather(table [vocab, d], ids [T]) → [T, d]).`,
    );
  }
  const gathered = [...ids.shape, ...table.shape.slice(b + 1)];
  if (op === Op.Gather) return gathered;
  const values = inputs[1]!;
  if (!sameShape(values.shape, gathered))
    fail(`scatterAdd: values ${formatShape(values.shape)} must have the gathered shape ${formatShape(gathered)}.`);
  return table.shape;
}

/** [...La, m, k]·[...Lb, k, n] → [...broadcast(La, Lb), m, n] (numpy's matmul for operands of rank ≥ 2). */
function matmulShape(a: Shape, b: Shape): Shape {
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
