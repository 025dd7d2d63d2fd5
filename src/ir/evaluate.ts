// A plain reference interpreter for the IR, in f64, for one example at a time: the oracle that
// simplification and the emitters are tested against, and what inspection's evaluate() runs.
// Written for clarity, not speed.

import { GradgenError, unreachable } from "../errors.js";
import { reachableInOrder } from "./graph.js";
import type { Node } from "./node.js";
import { Op } from "./ops.js";
import { gatherMap, idAt } from "./ids.js";
import { isElementwiseOp, scalarFunctions } from "./scalar.js";
import { contiguousStrides, sizeOf, type Shape } from "./shape.js";
import { concatOffsets, placementMap } from "./slicing.js";
import { patchSources } from "./window.js";

/** Index into a row-major tensor of `shape` from the indices of a (broadcast) result of `outShape`. */
function broadcastIndex(outIndex: readonly number[], shape: Shape): number {
  const lead = outIndex.length - shape.length;
  const strides = contiguousStrides(shape);
  let flat = 0;
  for (let i = 0; i < shape.length; i++) flat += (shape[i] === 1 ? 0 : outIndex[i + lead]!) * strides[i]!;
  return flat;
}

function unravel(flat: number, shape: Shape): number[] {
  const index = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    index[i] = flat % shape[i]!;
    flat = Math.floor(flat / shape[i]!);
  }
  return index;
}

/** Math.max over an array, without spreading it into arguments (which overflows the stack for long arrays). */
function largest(values: readonly number[]): number {
  return values.reduce((m, v) => Math.max(m, v), -Infinity);
}

/** Values of `roots` given values of the leaves (inputs and params by node), for one example. */
export function evaluate(
  roots: readonly Node[],
  leaves: ReadonlyMap<Node, ArrayLike<number>>,
  batchSize = 1,
): Float64Array[] {
  const values = new Map<Node, Float64Array>();
  for (const node of reachableInOrder(roots)) values.set(node, evaluateNode(node, values, leaves, batchSize));
  return roots.map((root) => values.get(root)!);
}

function evaluateNode(
  node: Node,
  values: Map<Node, Float64Array>,
  leaves: ReadonlyMap<Node, ArrayLike<number>>,
  batchSize: number,
): Float64Array {
  const out = new Float64Array(sizeOf(node.shape));
  const arg = (i: number) => values.get(node.inputs[i]!)!;
  const op = node.op;
  if (isElementwiseOp(op)) {
    const f = scalarFunctions[op];
    const exponent = node.attrs.exponent ?? 1;
    for (let flat = 0; flat < out.length; flat++) {
      const index = unravel(flat, node.shape);
      out[flat] = f(
        node.inputs.map((input, i) => arg(i)[broadcastIndex(index, input.shape)]!),
        exponent,
      );
    }
    return out;
  }
  switch (op) {
    case Op.Input:
    case Op.Param:
    case Op.DropoutMask:
    case Op.RunningStat:
    case Op.ScanArg: {
      if (op === Op.ScanArg && !leaves.has(node))
        throw new GradgenError(`evaluate: the scan placeholder "${node.attrs.name}" has no value outside its scan.`);
      const given = leaves.get(node);
      if (!given || given.length !== out.length)
        throw new GradgenError(`evaluate: no value of size ${out.length} for ${node.op} "${node.attrs.name}".`);
      out.set(Array.from(given));
      return out;
    }
    case Op.Const:
      out[0] = node.attrs.value!;
      return out;
    case Op.ConstTensor:
      out.set(node.attrs.values!);
      return out;
    case Op.BatchSize:
      out[0] = batchSize;
      return out;
    case Op.Reshape:
    case Op.CustomGradient:
    case Op.BatchStatistic: // the training form: the batch statistic
    case Op.StopGradient:
    case Op.BatchSum:
      out.set(arg(0));
      if (node.op === Op.BatchSum) for (let i = 0; i < out.length; i++) out[i]! *= batchSize;
      return out;
    case Op.Broadcast:
      for (let flat = 0; flat < out.length; flat++)
        out[flat] = arg(0)[broadcastIndex(unravel(flat, node.shape), node.inputs[0]!.shape)]!;
      return out;
    case Op.Transpose: {
      const perm = node.attrs.perm!;
      const sourceStrides = contiguousStrides(node.inputs[0]!.shape);
      for (let flat = 0; flat < out.length; flat++) {
        const index = unravel(flat, node.shape);
        out[flat] = arg(0)[index.reduce((sum, v, i) => sum + v * sourceStrides[perm[i]!]!, 0)]!;
      }
      return out;
    }
    case Op.Sum:
    case Op.Max:
    case Op.LogSumExp: {
      const source = node.inputs[0]!;
      const axes = node.op === Op.LogSumExp ? [source.shape.length - 1] : node.attrs.axes!;
      const groups: number[][] = Array.from({ length: out.length }, () => []);
      for (let flat = 0; flat < source.size; flat++) {
        const index = unravel(flat, source.shape).filter((_, i) => !axes.includes(i));
        const target = index.reduce((sum, v, i) => sum + v * contiguousStrides(node.shape)[i]!, 0);
        groups[target]!.push(arg(0)[flat]!);
      }
      groups.forEach((group, i) => {
        if (node.op === Op.Sum) out[i] = group.reduce((a, b) => a + b, 0);
        else if (node.op === Op.Max) out[i] = largest(group);
        else {
          const m = largest(group);
          out[i] = m === -Infinity ? -Infinity : m + Math.log(group.reduce((s, v) => s + Math.exp(v - m), 0));
        }
      });
      return out;
    }
    case Op.MatMul:
      matmulInto(out, node, arg(0), arg(1));
      return out;
    case Op.Slice: {
      const map = placementMap(node.shape, node.inputs[0]!.shape, node.attrs.begin!);
      for (let flat = 0; flat < out.length; flat++) out[flat] = arg(0)[map[flat]!]!;
      return out;
    }
    case Op.Pad: {
      const map = placementMap(node.inputs[0]!.shape, node.shape, node.attrs.begin!);
      out.fill(node.attrs.value!);
      map.forEach((target, flat) => (out[target] = arg(0)[flat]!));
      return out;
    }
    case Op.Concat: {
      const shapes = node.inputs.map((input) => input.shape);
      concatOffsets(shapes, node.attrs.axis!).forEach((begin, k) =>
        placementMap(shapes[k]!, node.shape, begin).forEach((target, flat) => (out[target] = arg(k)[flat]!)),
      );
      return out;
    }
    case Op.Patches: {
      const sources = patchSources(node.inputs[0]!.shape, node.attrs.window!);
      sources.forEach((source, i) => (out[i] = source < 0 ? 0 : arg(0)[source]!));
      return out;
    }
    case Op.PatchesAdjoint: {
      const sources = patchSources(node.shape, node.attrs.window!);
      sources.forEach((source, i) => {
        if (source >= 0) out[source]! += arg(0)[i]!;
      });
      return out;
    }
    case Op.SoftmaxCrossEntropy: {
      const z = arg(0);
      const y = arg(1);
      const classes = node.inputs[0]!.shape[node.inputs[0]!.shape.length - 1]!;
      let total = 0;
      for (let row = 0; row < z.length; row += classes) {
        const slice = Array.from(z.subarray(row, row + classes));
        const m = largest(slice);
        const lse = m + Math.log(slice.reduce((s, v) => s + Math.exp(v - m), 0));
        for (let c = 0; c < classes; c++) total += y[row + c]! * (lse - z[row + c]!);
      }
      out[0] = total;
      return out;
    }
    case Op.Gather: {
      const { idsAt, rest, rowStride, rows } = gatherMap(node);
      for (let f = 0; f < out.length; f++) out[f] = arg(0)[rest[f]! + idAt(arg(1), idsAt[f]!, rows) * rowStride]!;
      return out;
    }
    case Op.ScatterAdd: {
      const { idsAt, rest, rowStride, rows } = gatherMap(node);
      out.set(arg(0));
      const values = arg(1);
      for (let f = 0; f < values.length; f++) out[rest[f]! + idAt(arg(2), idsAt[f]!, rows) * rowStride]! += values[f]!;
      return out;
    }
    case Op.OneHot: {
      const depth = node.attrs.depth!;
      const ids = arg(0);
      for (let i = 0; i < ids.length; i++) out[i * depth + idAt(ids, i, depth)] = 1;
      return out;
    }
    case Op.Scan:
      out.set(
        evaluateScan(
          node,
          node.inputs.map((_, i) => arg(i)),
          batchSize,
        ),
      );
      return out;
    default:
      return unreachable(op, "op");
  }
}

/** out = a·b for (batched, broadcast) matrix stacks: [...L, m, k]·[...L, k, n]. */
export function matmulInto(out: Float64Array, node: Node, a: Float64Array, b: Float64Array): void {
  const [left, right] = node.inputs as [Node, Node];
  const m = left.shape[left.shape.length - 2]!;
  const k = left.shape[left.shape.length - 1]!;
  const n = right.shape[right.shape.length - 1]!;
  const lead = node.shape.slice(0, -2);
  const count = sizeOf(lead);
  for (let r = 0; r < count; r++) {
    const index = unravel(r, lead);
    const aBase = broadcastIndex(index, left.shape.slice(0, -2)) * m * k;
    const bBase = broadcastIndex(index, right.shape.slice(0, -2)) * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let dot = 0;
        for (let p = 0; p < k; p++) dot += a[aBase + i * k + p]! * b[bBase + p * n + j]!;
        out[r * m * n + i * n + j] = dot;
      }
    }
  }
}

/** A scan's value for one example, from its operands' values: the body evaluated once per step. */
export function evaluateScan(node: Node, operands: readonly ArrayLike<number>[], batchSize: number): Float64Array {
  const body = node.attrs.scan!;
  const [c, xw, y, T] = [body.carry.size, body.x.size, body.yOut.size, body.length];
  const out = new Float64Array(c + T * y);
  let carry = Float64Array.from(operands[0]!);
  const xs = operands[1]!;
  const leaves = new Map<Node, ArrayLike<number>>(body.closures.map((p, i) => [p, operands[2 + i]!]));
  for (let k = 0; k < T; k++) {
    const t = body.reverse ? T - 1 - k : k;
    leaves.set(body.carry, carry);
    leaves.set(body.x, Array.prototype.slice.call(xs, t * xw, (t + 1) * xw) as number[]);
    const [next, yt] = evaluate([body.carryOut, body.yOut], leaves, batchSize);
    out.set(yt!, c + t * y);
    carry = Float64Array.from(next!);
  }
  out.set(carry, 0);
  return out;
}
