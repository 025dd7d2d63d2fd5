// The gradient checker's view of a model's forward graph: an f64 interpreter with the semantics of
// src/ir/evaluate.ts (the reference interpreter), but planned once and run thousands of times: it
// evaluates every example of a batch, re-evaluates only what depends on a changed leaf, and reads
// off the branch every kink op took (which operand of a maximum won, the sign under an abs, the
// argmax of a max). A finite-difference stencil straddles a kink exactly when some branch differs
// between its points, so the checker skips those coordinates instead of guessing from the numbers.

import { reachableInOrder } from "../ir/graph.js";
import type { Node } from "../ir/node.js";
import { gatherMap, idAt } from "../ir/ids.js";
import { Op } from "../ir/ops.js";
import { isElementwiseOp, scalarFunctions } from "../ir/scalar.js";
import { matmulInto } from "../ir/evaluate.js";
import { contiguousStrides, sizeOf, type Shape } from "../ir/shape.js";
import { concatOffsets, placementMap } from "../ir/slicing.js";
import { patchSources } from "../ir/window.js";
import { evaluateScan } from "../ir/evaluate.js";

/** Ops whose value or derivative changes form across a surface in their operands' space. */
const kinkOps: ReadonlySet<Op> = new Set([
  Op.Maximum,
  Op.Minimum,
  Op.Greater,
  Op.Equal,
  Op.Select,
  Op.Abs,
  Op.Sign,
  Op.Max,
]);

/** For each element of `outShape`, the element of `shape` that numpy broadcasting reads; undefined when they are one. */
function broadcastMap(shape: Shape, outShape: Shape): Int32Array | undefined {
  if (
    sizeOf(shape) === sizeOf(outShape) &&
    shape.length <= outShape.length &&
    shape.every((d, i) => d === outShape[outShape.length - shape.length + i])
  )
    return undefined;
  const size = sizeOf(outShape);
  const map = new Int32Array(size);
  const strides = contiguousStrides(shape);
  const lead = outShape.length - shape.length;
  for (let flat = 0; flat < size; flat++) {
    let rest = flat;
    let source = 0;
    for (let i = outShape.length - 1; i >= 0; i--) {
      const index = rest % outShape[i]!;
      rest = Math.floor(rest / outShape[i]!);
      if (i >= lead && shape[i - lead] !== 1) source += index * strides[i - lead]!;
    }
    map[flat] = source;
  }
  return map;
}

/** For each element of `shape`, the element of the result of reducing `axes` it lands in. */
function reductionMap(shape: Shape, axes: readonly number[]): Int32Array {
  const kept = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const strides = contiguousStrides(kept);
  const size = sizeOf(shape);
  const map = new Int32Array(size);
  for (let flat = 0; flat < size; flat++) {
    let rest = flat;
    let target = 0;
    for (let i = shape.length - 1; i >= 0; i--) {
      const index = rest % shape[i]!;
      rest = Math.floor(rest / shape[i]!);
      if (!axes.includes(i)) target += index * strides[i]!;
    }
    map[flat] = target;
  }
  return map;
}

/** −1, 0 or 1 by the order of a and b; 2 when either is NaN. */
function compare(a: number, b: number): number {
  return a > b ? 1 : a < b ? -1 : a === b ? 0 : 2;
}

type Step = (values: readonly Float64Array[]) => void;
type Signature = (values: readonly Float64Array[], into: Int32Array) => void;

export class ForwardEvaluator {
  /** Nodes reachable from the root, operands first. */
  readonly nodes: readonly Node[];
  private readonly indexOf = new Map<Node, number>();
  /** values[example][node]: leaves are views of the bound arrays, so writing a bound array changes the leaf. */
  private readonly values: Float64Array[][];
  private readonly steps: (Step | undefined)[];
  private readonly signatures = new Map<number, { size: number; compute: Signature }>();
  private readonly dependentsCache = new Map<Node, { steps: number[]; kinks: number[] }>();

  constructor(
    readonly root: Node,
    readonly batch: number,
    leaves: ReadonlyMap<Node, Float64Array>,
  ) {
    this.nodes = reachableInOrder([root]);
    this.nodes.forEach((node, i) => this.indexOf.set(node, i));
    this.values = Array.from({ length: batch }, (_, example) =>
      this.nodes.map((node) => {
        if (node.op === Op.Param) return leaves.get(node) ?? missing(node);
        if (node.op === Op.Input || node.op === Op.DropoutMask) {
          const data = leaves.get(node) ?? missing(node);
          return data.subarray(example * node.size, (example + 1) * node.size);
        }
        return new Float64Array(node.size);
      }),
    );
    // Layout-only ops that keep the element order share their operand's array.
    for (const row of this.values) {
      this.nodes.forEach((node, i) => {
        if (node.op === Op.Reshape || node.op === Op.CustomGradient || node.op === Op.StopGradient)
          row[i] = row[this.indexOf.get(node.inputs[0]!)!]!;
      });
    }
    this.steps = this.nodes.map((node) => this.plan(node));
    this.nodes.forEach((node, i) => {
      if (kinkOps.has(node.op)) this.signatures.set(i, this.planSignature(node));
    });
  }

  /** Evaluates every node of every example. */
  evaluateAll(): void {
    for (const row of this.values) for (const step of this.steps) step?.(row);
  }

  /** The root's value for one example (a per-example scalar loss: element 0). */
  rootValue(example: number): number {
    return this.values[example]![this.nodes.length - 1]![0]!;
  }

  /** Mean of the root over the examples: the training loss. */
  meanRoot(): number {
    let total = 0;
    for (let e = 0; e < this.batch; e++) total += this.rootValue(e);
    return total / this.batch;
  }

  /** Re-evaluates what depends on `leaf` (after its bound array changed), for one example or all. */
  update(leaf: Node, example?: number): void {
    const { steps } = this.dependents(leaf);
    const rows = example === undefined ? this.values : [this.values[example]!];
    for (const row of rows) for (const i of steps) this.steps[i]!(row);
  }

  /** Whether any kink op depends on `leaf`: if none, no stencil over it can straddle a kink. */
  hasKinksBelow(leaf: Node): boolean {
    return this.dependents(leaf).kinks.length > 0;
  }

  /** The branches taken by the kink ops that depend on `leaf`, for one example or all, as one array. */
  branches(leaf: Node, example?: number): Int32Array {
    const { kinks } = this.dependents(leaf);
    const rows = example === undefined ? this.values : [this.values[example]!];
    let length = 0;
    for (const i of kinks) length += this.signatures.get(i)!.size;
    const out = new Int32Array(length * rows.length);
    let offset = 0;
    for (const row of rows) {
      for (const i of kinks) {
        const { size, compute } = this.signatures.get(i)!;
        compute(row, out.subarray(offset, offset + size));
        offset += size;
      }
    }
    return out;
  }

  private dependents(leaf: Node): { steps: number[]; kinks: number[] } {
    let known = this.dependentsCache.get(leaf);
    if (known) return known;
    const depends = new Set<Node>([leaf]);
    const steps: number[] = [];
    const kinks: number[] = [];
    this.nodes.forEach((node, i) => {
      if (node === leaf || !node.inputs.some((input) => depends.has(input))) return;
      depends.add(node);
      if (this.steps[i]) steps.push(i);
      if (this.signatures.has(i)) kinks.push(i);
    });
    known = { steps, kinks };
    this.dependentsCache.set(leaf, known);
    return known;
  }

  private operandIndex(node: Node, i: number): number {
    return this.indexOf.get(node.inputs[i]!)!;
  }

  private plan(node: Node): Step | undefined {
    const self = this.indexOf.get(node)!;
    const at = (i: number) => this.operandIndex(node, i);
    if (isElementwiseOp(node.op)) {
      const f = scalarFunctions[node.op];
      const exponent = node.attrs.exponent ?? 1;
      const operands = node.inputs.map((_, i) => at(i));
      const maps = node.inputs.map((input) => broadcastMap(input.shape, node.shape));
      const args = new Array<number>(operands.length).fill(0);
      return (values) => {
        const out = values[self]!;
        for (let flat = 0; flat < out.length; flat++) {
          for (let k = 0; k < operands.length; k++) {
            const map = maps[k];
            args[k] = values[operands[k]!]![map ? map[flat]! : flat]!;
          }
          out[flat] = f(args, exponent);
        }
      };
    }
    switch (node.op) {
      case Op.Input:
      case Op.Param:
      case Op.DropoutMask:
      case Op.Reshape:
      case Op.CustomGradient:
      case Op.StopGradient:
        return undefined;
      case Op.ConstTensor: {
        const values = node.attrs.values!;
        return (values_) => values_[self]!.set(values);
      }
      case Op.Const: {
        const value = node.attrs.value!;
        return (values) => {
          values[self]![0] = value;
        };
      }
      case Op.BatchSize: {
        const batch = this.batch;
        return (values) => {
          values[self]![0] = batch;
        };
      }
      case Op.BatchSum: {
        // As evaluate.ts: every example of the call holds the same value.
        const batch = this.batch;
        const operand = at(0);
        return (values) => {
          const out = values[self]!;
          const source = values[operand]!;
          for (let i = 0; i < out.length; i++) out[i] = source[i]! * batch;
        };
      }
      case Op.Broadcast:
      case Op.Transpose: {
        const operand = at(0);
        const map = node.op === Op.Broadcast ? broadcastMap(node.inputs[0]!.shape, node.shape) : transposeMap(node);
        return (values) => {
          const out = values[self]!;
          const source = values[operand]!;
          for (let i = 0; i < out.length; i++) out[i] = source[map ? map[i]! : i]!;
        };
      }
      case Op.Sum:
      case Op.Max:
      case Op.LogSumExp: {
        const operand = at(0);
        const source = node.inputs[0]!;
        const map = reductionMap(source.shape, node.op === Op.LogSumExp ? [source.shape.length - 1] : node.attrs.axes!);
        const op = node.op;
        return (values) => {
          const out = values[self]!;
          const x = values[operand]!;
          out.fill(op === Op.Sum ? 0 : -Infinity);
          if (op === Op.Sum) {
            for (let i = 0; i < x.length; i++) out[map[i]!]! += x[i]!;
            return;
          }
          for (let i = 0; i < x.length; i++) out[map[i]!] = Math.max(out[map[i]!]!, x[i]!);
          if (op === Op.Max) return;
          const sums = new Float64Array(out.length);
          for (let i = 0; i < x.length; i++) sums[map[i]!]! += Math.exp(x[i]! - out[map[i]!]!);
          for (let g = 0; g < out.length; g++) out[g] = out[g] === -Infinity ? -Infinity : out[g]! + Math.log(sums[g]!);
        };
      }
      case Op.MatMul: {
        const a = at(0);
        const b = at(1);
        return (values) => matmulInto(values[self]!, node, values[a]!, values[b]!);
      }
      case Op.Slice:
      case Op.Pad:
      case Op.Concat: {
        // Each operand's elements placed into the result (a slice reads its window), the rest a pad's border
        const source = node.inputs.map((_, k) => at(k));
        const shapes = node.inputs.map((input) => input.shape);
        const op = node.op;
        const maps =
          op === Op.Slice
            ? [placementMap(node.shape, shapes[0]!, node.attrs.begin!)]
            : (op === Op.Pad ? [node.attrs.begin!] : concatOffsets(shapes, node.attrs.axis!)).map((begin, k) =>
                placementMap(shapes[k]!, node.shape, begin),
              );
        const border = node.attrs.value ?? 0;
        return (values) => {
          const out = values[self]!;
          if (op === Op.Slice) {
            const x = values[source[0]!]!;
            for (let i = 0; i < out.length; i++) out[i] = x[maps[0]![i]!]!;
            return;
          }
          if (op === Op.Pad) out.fill(border);
          maps.forEach((map, k) => {
            const x = values[source[k]!]!;
            for (let i = 0; i < map.length; i++) out[map[i]!] = x[i]!;
          });
        };
      }
      case Op.Patches:
      case Op.PatchesAdjoint: {
        const gather = node.op === Op.Patches;
        const sources = patchSources(gather ? node.inputs[0]!.shape : node.shape, node.attrs.window!);
        const operand = at(0);
        return (values) => {
          const out = values[self]!;
          const x = values[operand]!;
          if (!gather) out.fill(0);
          for (let i = 0; i < sources.length; i++) {
            const source = sources[i]!;
            if (gather) out[i] = source < 0 ? 0 : x[source]!;
            else if (source >= 0) out[source]! += x[i]!;
          }
        };
      }
      case Op.SoftmaxCrossEntropy: {
        const classes = node.inputs[0]!.shape[node.inputs[0]!.shape.length - 1]!;
        const zIndex = at(0);
        const yIndex = at(1);
        return (values) => {
          const z = values[zIndex]!;
          const y = values[yIndex]!;
          let total = 0;
          for (let row = 0; row < z.length; row += classes) {
            let m = -Infinity;
            for (let c = 0; c < classes; c++) m = Math.max(m, z[row + c]!);
            let sum = 0;
            for (let c = 0; c < classes; c++) sum += Math.exp(z[row + c]! - m);
            const lse = m + Math.log(sum);
            for (let c = 0; c < classes; c++) total += y[row + c]! * (lse - z[row + c]!);
          }
          values[self]![0] = total;
        };
      }
      case Op.Gather:
      case Op.ScatterAdd: {
        const { idsAt, rest, rowStride, rows } = gatherMap(node);
        const operands = node.inputs.map((_, i) => at(i));
        const gathers = node.op === Op.Gather;
        return (values) => {
          const out = values[self]!;
          const ids = values[operands[operands.length - 1]!]!;
          const table = values[operands[0]!]!;
          if (gathers) {
            for (let f = 0; f < out.length; f++) out[f] = table[rest[f]! + idAt(ids, idsAt[f]!, rows) * rowStride]!;
            return;
          }
          out.set(table);
          const added = values[operands[1]!]!;
          for (let f = 0; f < added.length; f++) out[rest[f]! + idAt(ids, idsAt[f]!, rows) * rowStride]! += added[f]!;
        };
      }
      case Op.OneHot: {
        const depth = node.attrs.depth!;
        const operand = at(0);
        return (values) => {
          const out = values[self]!;
          const ids = values[operand]!;
          out.fill(0);
          for (let i = 0; i < ids.length; i++) out[i * depth + idAt(ids, i, depth)] = 1;
        };
      }
      case Op.Scan: {
        const operands = node.inputs.map((_, i) => at(i));
        const batch = this.batch;
        return (values) => {
          values[self]!.set(
            evaluateScan(
              node,
              operands.map((k) => values[k]!),
              batch,
            ),
          );
        };
      }
      default:
        throw new Error(`internal: the gradient checker cannot evaluate ${node.op}`);
    }
  }

  private planSignature(node: Node): { size: number; compute: Signature } {
    const at = (i: number) => this.operandIndex(node, i);
    switch (node.op) {
      case Op.Maximum:
      case Op.Minimum:
      case Op.Greater:
      case Op.Equal: {
        // Which operand is larger, or a tie: the branch of max/min, and where a comparison flips.
        const [a, b] = [at(0), at(1)];
        const [mapA, mapB] = node.inputs.map((input) => broadcastMap(input.shape, node.shape));
        return {
          size: node.size,
          compute: (values, into) => {
            const x = values[a]!;
            const y = values[b]!;
            for (let i = 0; i < into.length; i++) into[i] = compare(x[mapA ? mapA[i]! : i]!, y[mapB ? mapB[i]! : i]!);
          },
        };
      }
      case Op.Select: {
        const condition = at(0);
        const map = broadcastMap(node.inputs[0]!.shape, node.shape);
        return {
          size: node.size,
          compute: (values, into) => {
            const c = values[condition]!;
            for (let i = 0; i < into.length; i++) into[i] = c[map ? map[i]! : i] !== 0 ? 1 : 0;
          },
        };
      }
      case Op.Abs:
      case Op.Sign: {
        const operand = at(0);
        return {
          size: node.size,
          compute: (values, into) => {
            const x = values[operand]!;
            for (let i = 0; i < into.length; i++) into[i] = compare(x[i]!, 0);
          },
        };
      }
      case Op.Max: {
        // The argmax of each group, or a code for the tied set when several elements share the maximum.
        const operand = at(0);
        const source = node.inputs[0]!;
        const map = reductionMap(source.shape, node.attrs.axes!);
        const self = this.indexOf.get(node)!;
        return {
          size: node.size,
          compute: (values, into) => {
            const x = values[operand]!;
            const max = values[self]!;
            // codes[g]: −1 before any element, the argmax while it is unique, then −2 − (hash of the tied indices)
            into.fill(-1);
            for (let i = 0; i < x.length; i++) {
              const g = map[i]!;
              if (x[i] !== max[g]) continue;
              const previous = into[g]!;
              if (previous === -1) into[g] = i;
              else into[g] = -2 - ((Math.imul(previous >= 0 ? previous : -2 - previous, 31) + i) & 0x3fffffff);
            }
          },
        };
      }
      default:
        throw new Error(`internal: ${node.op} is not a kink op`);
    }
  }
}

function missing(node: Node): never {
  throw new Error(`internal: the gradient checker has no value for ${node.op} "${node.attrs.name}"`);
}

function transposeMap(node: Node): Int32Array {
  const perm = node.attrs.perm!;
  const sourceStrides = contiguousStrides(node.inputs[0]!.shape);
  const map = new Int32Array(node.size);
  for (let flat = 0; flat < node.size; flat++) {
    let rest = flat;
    let source = 0;
    for (let i = node.shape.length - 1; i >= 0; i--) {
      const index = rest % node.shape[i]!;
      rest = Math.floor(rest / node.shape[i]!);
      source += index * sourceStrides[perm[i]!]!;
    }
    map[flat] = source;
  }
  return map;
}
