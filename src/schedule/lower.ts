// DAG → flat kernels for one entry point. Decides, node by node, how each value is produced:
//   leaf    inputs, parameters, constants, n: read where they already are
//   view    reshape/transpose/broadcast: no code, a strided window onto another value
//   local   a shared scalar: one `const` per call
//   inline  an elementwise value used once: computed inside its consumer's loop (fusion)
//   buffer  everything else: a kernel writes it to a buffer
//   fused   a per-example matmul summed over the batch: one GEMM whose contraction runs over examples
//
// The strided views and loop nests its kernels are built from are in views.ts, the matrix products
// in matmul-kernels.ts.

import { GradgenError, unreachable, type SourceLocation } from "../errors.js";
import type { Node } from "../ir/node.js";
import { reachableInOrder } from "../ir/graph.js";
import { elementwiseOps, isElementwiseOp, isLeafOp, layoutOps, leafOps, Op } from "../ir/ops.js";
import { contiguousStrides, sameShape } from "../ir/shape.js";
import { concatOffsets } from "../ir/slicing.js";
import type { Access, Extent, GemmKernel, Kernel, LoopKernel, MatrixAccess, Storage, Value } from "./program.js";
import { paramLeafBuffer } from "./second-order.js";
import { FusionLimit } from "./fusion-limit.js";
import { bufferName, localName } from "./names.js";
import { gatherKernels, isZero, oneHotKernels, scatterKernels, type GatherContext } from "./gather-kernels.js";
import { patchesView, windowKernels } from "./window-kernels.js";
import { alreadyInWindow, ConcatWindows } from "./concat-windows.js";
import { scanKernels, type NestedScope, type ScanContext } from "./scan-kernels.js";
import {
  batchContraction,
  batchedMatmulKernels,
  contractionLayout,
  matmulKernel,
  type MatmulContext,
} from "./matmul-kernels.js";
import {
  accessFor,
  broadcastView,
  coalesce,
  contiguousView,
  copyKernel,
  dimsOf,
  reductionLoop,
  sliceView,
  type Space,
  type View,
} from "./views.js";
type NodeKind = "leaf" | "view" | "local" | "inline" | "buffer" | "fused";

/** Where a root's value must end up. */
export type BindingTarget =
  { readonly kind: "return" } | { readonly kind: "buffer"; readonly name: string; readonly perExample: boolean };

export interface Binding {
  readonly node: Node;
  readonly target: BindingTarget;
}

export interface LoweredEntry {
  readonly kernels: Kernel[];
  readonly returns?: Access;
  /** Temporary buffers (named "%id") the planner maps onto work slots. */
  readonly temporaries: Map<string, { size: number; perExample: boolean }>;
  readonly inputsRead: Set<string>;
}

const scalarLiteral = (value: number): Storage => ({ kind: "scalar", code: { kind: "literal", value } });
const isReduction = (op: Op): boolean => op === Op.Sum || op === Op.Max || op === Op.LogSumExp || op === Op.BatchSum;

/** A kernel's comment: the op, its shape, and where the model file wrote it. */
function describe(node: Node, origins: ReadonlyMap<Node, SourceLocation>): string {
  const origin = origins.get(node);
  const where = origin ? `  (${origin.file}:${origin.line})` : "";
  const name = node.attrs.name ? ` ${node.attrs.name}` : "";
  return `${node.op}${name} [${node.shape.join(", ")}]${node.batched ? " per example" : ""}${where}`;
}

/** Knobs whose best values are measured (bench/straight-line.mjs), not guessed. */
export interface Tuning {
  /** Most copies of a loop body written out as straight-line code (0: loops only). */
  readonly straightLineLimit: number;
  /** Zero a gather table's gradient (and apply SGD) only at the rows the ids touched (src/schedule/sparse-rows.ts). */
  readonly sparseRows: boolean;
}

/** Measured on this project's reference machine with bench/straight-line.mjs (see the README). */
export const defaultTuning: Tuning = { straightLineLimit: 8, sparseRows: true };

export function lowerEntryPoint(
  bindings: readonly Binding[],
  tuning: Tuning = defaultTuning,
  origins: ReadonlyMap<Node, SourceLocation> = new Map(),
  nested?: NestedScope,
): LoweredEntry {
  return new EntryLowering(bindings, tuning, origins, nested).run();
}

class EntryLowering {
  private readonly kinds = new Map<Node, NodeKind>();
  private readonly views = new Map<Node, View>();
  private readonly consumers = new Map<Node, Set<Node>>();
  private readonly rootCount = new Map<Node, number>();
  private readonly kernels: Kernel[] = [];
  private readonly temporaries: Map<string, { size: number; perExample: boolean }>;
  private readonly inputsRead: Set<string>;
  private readonly locals: { count: number };
  /** Per-example sizes of the inputs, by buffer name. */
  private readonly inputSizes = new Map<string, number>();
  /** Inputs copied into a work buffer for the blocked GEMM (which runs in WebAssembly memory when it can). */
  private readonly stagedInputs = new Map<string, string>();
  /** Shared scalars become locals s0, s1, … in schedule order (names never depend on node ids). */
  private readonly localNames = new Map<Node, string>();
  /** Roots whose kernel writes straight into their binding's buffer. */
  private readonly assignedTargets = new Map<Node, string>();
  /** What the matrix-product kernels (matmul-kernels.ts) read from this lowering. */
  private readonly matmul: MatmulContext;
  /** What the integer-id kernels (gather-kernels.ts) read from this lowering. */
  private readonly ids: GatherContext;
  /** Values computed straight into their window of a concatenation (concat-windows.ts). */
  private readonly windows: ConcatWindows;
  private readonly fusion = new FusionLimit(this.kinds, (node) => this.toBuffer(node));
  constructor(
    private readonly bindings: readonly Binding[],
    private readonly tuning: Tuning,
    private readonly origins: ReadonlyMap<Node, SourceLocation>,
    private readonly nested?: NestedScope,
  ) {
    [this.temporaries, this.inputsRead] = [nested?.temporaries ?? new Map(), nested?.inputsRead ?? new Set()];
    this.locals = nested?.locals ?? { count: 0 };
    this.windows = new ConcatWindows(this.consumers, this.rootCount, (node) => this.bufferViewFor(node), !!nested);
    this.matmul = {
      views: this.views,
      straightLineLimit: tuning.straightLineLimit,
      describe: (node) => this.describe(node),
    };
    this.ids = {
      views: this.views,
      describe: (node) => this.describe(node),
      valueOf: (node, space, values) => this.valueOf(node, space, values, new Map()),
    };
  }

  private describe(node: Node): string {
    return describe(node, this.origins);
  }

  run(): LoweredEntry {
    const nodes = reachableInOrder(this.bindings.map((b) => b.node));
    for (const node of nodes) {
      for (const input of node.inputs) {
        const set = this.consumers.get(input) ?? new Set<Node>();
        set.add(node);
        this.consumers.set(input, set);
      }
    }
    for (const { node } of this.bindings) this.rootCount.set(node, (this.rootCount.get(node) ?? 0) + 1);
    for (const node of nodes) this.classify(node);
    for (const node of nodes) this.emit(node);
    let returns: Access | undefined;
    for (const { node, target } of this.bindings) {
      if (target.kind === "return") {
        const view = this.views.get(node)!;
        returns = { storage: view.storage, offset: view.offset, strides: [] };
      } else if (this.assignedTargets.get(node) !== target.name) {
        const destination = contiguousView({ kind: "buffer", name: target.name }, node.shape, target.perExample);
        this.kernels.push(
          copyKernel(
            `${target.name} = ${this.describe(node)}`,
            this.views.get(node)!,
            node.shape,
            target.perExample,
            destination,
          ),
        );
      }
    }
    return { kernels: this.kernels, returns, temporaries: this.temporaries, inputsRead: this.inputsRead };
  }

  // ── Classification ────────────────────────────────────────────────────────────────────────

  private classify(node: Node): void {
    const kind = this.kindOf(node);
    this.kinds.set(node, kind);
    this.fusion.limit(node);
    if (kind === "buffer") this.toBuffer(node);
    if (kind === "local") {
      this.localNames.set(node, localName(this.locals.count++));
      this.views.set(node, {
        storage: { kind: "scalar", code: { kind: "local", name: this.localNames.get(node)! } },
        offset: 0,
        shape: [],
        strides: [],
        batchStride: 0,
      });
    }
  }

  private toBuffer(node: Node): void {
    this.kinds.set(node, "buffer");
    this.views.set(node, this.windows.viewFor(node) ?? this.bufferViewFor(node));
  }

  private kindOf(node: Node): NodeKind {
    if (leafOps.has(node.op)) {
      this.views.set(node, this.leafView(node));
      return "leaf";
    }
    if (layoutOps.has(node.op)) {
      const view = this.layoutView(node);
      if (view) {
        this.views.set(node, view);
        return "view";
      }
      return "buffer";
    }
    if (node.op === Op.Patches) {
      const view = patchesView(this.views.get(node.inputs[0]!), node);
      if (view) this.views.set(node, view);
      return view ? "view" : "buffer";
    }
    if (node.op === Op.SoftmaxCrossEntropy)
      throw new GradgenError(`internal: ${node.op} reached scheduling unexpanded`);
    const consumers = this.consumers.get(node) ?? new Set<Node>();
    const isRoot = this.rootCount.has(node);
    if (elementwiseOps.has(node.op)) {
      if (!node.batched && node.shape.length === 0) return "local";
      const [consumer] = consumers;
      if (!isRoot && consumers.size === 1 && consumer && this.canInlineInto(node, consumer)) return "inline";
      if (!isRoot && this.recomputed(node, consumers)) return "inline";
      return "buffer";
    }
    if (node.op === Op.MatMul) {
      for (const operand of node.inputs) this.requireBufferStorage(operand);
      const [consumer] = consumers;
      if (!isRoot && consumers.size === 1 && consumer?.op === Op.BatchSum && contractionLayout(node, this.views))
        return "fused";
      return "buffer";
    }
    if (node.op === Op.Gather) this.requireBufferStorage(node.inputs[0]!); // read through ids: must be in memory
    if (node.op === Op.ScatterAdd && !isRoot && isZero(node.inputs[0]!)) {
      const [consumer] = consumers;
      if (consumers.size === 1 && consumer?.op === Op.BatchSum) return "fused"; // one shared scatter
    }
    return "buffer";
  }

  private canInlineInto(node: Node, consumer: Node): boolean {
    if (elementwiseOps.has(consumer.op)) {
      return (
        sameShape(node.shape, consumer.shape) &&
        node.batched === consumer.batched &&
        !(!consumer.batched && consumer.shape.length === 0)
      );
    }
    if (consumer.op === Op.Pad || consumer.op === Op.Concat) return node.batched === consumer.batched;
    if (consumer.op === Op.ScatterAdd && consumer.inputs[2] !== node && consumer.inputs[0] !== consumer.inputs[1]) {
      const space = consumer.inputs[0] === node ? consumer.shape : consumer.inputs[1]!.shape; // base or values
      return sameShape(node.shape, space) && node.batched === consumer.batched;
    }
    return isReduction(consumer.op);
  }

  /**
   * A comparison of stored values (a max-pool's tie mask x = max) read by several kernels is computed
   * in each rather than stored: one compare per element read beats writing and re-reading a mask.
   */
  private recomputed(node: Node, consumers: ReadonlySet<Node>): boolean {
    if (node.op !== Op.Equal && node.op !== Op.Greater) return false;
    if (node.inputs.some((input) => this.kinds.get(input) === "inline")) return false;
    return [...consumers].every((consumer) => this.canInlineInto(node, consumer));
  }

  /** GEMM reads matrices from memory: a constant or computed-on-the-fly operand is written out first. */
  private requireBufferStorage(operand: Node): void {
    const view = this.views.get(operand);
    if (view && view.storage.kind === "buffer") return;
    this.kinds.set(operand, "buffer");
    if (view) this.pendingCopies.set(operand, view);
    this.views.set(operand, this.bufferViewFor(operand));
  }

  /** Values promoted to buffers after they were classified as views: copied when their turn comes. */
  private readonly pendingCopies = new Map<Node, View>();

  private leafView(node: Node): View {
    const op = node.op;
    if (!isLeafOp(op)) throw new Error(`internal: ${op} is not a leaf`);
    switch (op) {
      case Op.Input:
        this.inputsRead.add(node.attrs.name!);
        this.inputSizes.set(bufferName.input(node.attrs.name!), node.size);
        return contiguousView({ kind: "buffer", name: bufferName.input(node.attrs.name!) }, node.shape, true);
      case Op.Param: // the parameter, or an optimizer slot shaped like it (a direction v)
        return contiguousView({ kind: "buffer", name: paramLeafBuffer(node) }, node.shape, false);
      case Op.Const:
        return { storage: scalarLiteral(node.attrs.value!), offset: 0, shape: [], strides: [], batchStride: 0 };
      case Op.DropoutMask:
        return contiguousView({ kind: "buffer", name: bufferName.mask(node.attrs.name!) }, node.shape, true);
      case Op.RunningStat:
        return contiguousView({ kind: "buffer", name: bufferName.running(node.attrs.name!) }, node.shape, false);
      case Op.ConstTensor:
        return contiguousView({ kind: "buffer", name: bufferName.constant(node.hash) }, node.shape, false);
      case Op.ScanArg: // a scan body's placeholder, where its scan put it (scan-kernels.ts)
        return this.nested!.placeholders.get(node)!;
      case Op.BatchSize:
        return {
          storage: { kind: "scalar", code: { kind: "batchSize" } },
          offset: 0,
          shape: [],
          strides: [],
          batchStride: 0,
        };
      default:
        return unreachable(op, "leaf op");
    }
  }

  private layoutView(node: Node): View | undefined {
    const source = this.views.get(node.inputs[0]!);
    if (!source) return undefined;
    if (node.op === Op.Transpose) {
      const perm = node.attrs.perm!;
      return { ...source, shape: node.shape, strides: perm.map((p) => source.strides[p]!) };
    }
    if (node.op === Op.Broadcast) return broadcastView(source, node.shape);
    if (node.op === Op.Slice) return sliceView(source, node.attrs.begin!, node.shape);
    // Reshape: a window is reshapeable when it is contiguous (or a broadcast scalar)
    if (source.storage.kind === "scalar" || source.strides.every((s) => s === 0)) {
      return { ...source, shape: node.shape, strides: node.shape.map(() => 0) };
    }
    const contiguous = contiguousStrides(source.shape);
    const isContiguous = source.shape.every((dim, i) => dim === 1 || source.strides[i] === contiguous[i]);
    return isContiguous ? { ...source, shape: node.shape, strides: contiguousStrides(node.shape) } : undefined;
  }

  private bufferViewFor(node: Node): View {
    const count = this.rootCount.get(node);
    if (count) {
      const binding = this.bindings.find((b) => b.node === node && b.target.kind === "buffer");
      if (binding && binding.target.kind === "buffer" && binding.target.perExample === node.batched) {
        this.assignedTargets.set(node, binding.target.name);
        return contiguousView({ kind: "buffer", name: binding.target.name }, node.shape, node.batched);
      }
    }
    const name = `%${this.temporaries.size}`;
    this.temporaries.set(name, { size: node.size, perExample: node.batched });
    return contiguousView({ kind: "buffer", name }, node.shape, node.batched);
  }

  // ── Kernels ───────────────────────────────────────────────────────────────────────────────

  private emit(node: Node): void {
    const kind = this.kinds.get(node)!;
    const pending = this.pendingCopies.get(node);
    if (pending) {
      this.kernels.push(
        copyKernel(`copy of ${this.describe(node)}`, pending, node.shape, node.batched, this.views.get(node)!),
      );
      return;
    }
    if (kind === "local") {
      const values: Value[] = [];
      this.valueOf(node, { shape: [], perExample: false }, values, new Map(), true);
      this.kernels.push({ kind: "local", comment: this.describe(node), name: this.localNames.get(node)!, values });
      return;
    }
    if (kind !== "buffer") return;
    const target = this.views.get(node)!;
    const op = node.op;
    if (isElementwiseOp(op)) {
      const space = { shape: node.shape, perExample: node.batched };
      const values: Value[] = [];
      this.valueOf(node, space, values, new Map(), true);
      this.kernels.push(
        coalesce({
          kind: "loop",
          comment: this.describe(node),
          dims: dimsOf(space),
          values,
          target: accessFor(target, space),
          mode: "assign",
          unrolled: 0,
        }),
      );
      return;
    }
    switch (op) {
      case Op.Reshape:
      case Op.Transpose:
      case Op.Broadcast: {
        // Only a reshape of a strided window lands here: copy in row-major order of the operand.
        const operand = node.inputs[0]!;
        const destination = { ...target, shape: operand.shape, strides: contiguousStrides(operand.shape) };
        this.kernels.push(
          copyKernel(this.describe(node), this.views.get(operand)!, operand.shape, node.batched, destination),
        );
        return;
      }
      case Op.Sum:
      case Op.Max:
      case Op.LogSumExp:
        this.kernels.push(this.reductionKernel(node, target));
        return;
      case Op.Pad: {
        // The border's value everywhere, then the operand written into its window
        const length: Extent = { factor: node.size, perExample: node.batched };
        this.kernels.push({
          kind: "fill",
          buffer: (target.storage as { name: string }).name,
          length,
          value: node.attrs.value!,
        });
        this.kernels.push(
          this.placeKernel(node, node.inputs[0]!, sliceView(target, node.attrs.begin!, node.inputs[0]!.shape)),
        );
        return;
      }
      case Op.Concat: {
        // Each operand written into its window of the result (an elementwise operand computed right there)
        const shapes = node.inputs.map((input) => input.shape);
        concatOffsets(shapes, node.attrs.axis!).forEach((begin, k) => {
          const window = sliceView(target, begin, shapes[k]!);
          if (alreadyInWindow(this.views.get(node.inputs[k]!), window)) return; // computed in place
          this.kernels.push(this.placeKernel(node, node.inputs[k]!, window));
        });
        return;
      }
      case Op.BatchSum:
        this.batchSumKernels(node, target);
        return;
      case Op.MatMul:
        if (node.shape.length > 2)
          for (const kernel of batchedMatmulKernels(this.matmul, node, target)) this.kernels.push(this.staged(kernel));
        else this.kernels.push(this.staged(matmulKernel(this.matmul, node, target)));
        return;
      case Op.Patches:
      case Op.PatchesAdjoint:
        this.kernels.push(...windowKernels(node, this.views.get(node.inputs[0]!)!, target, this.describe(node)));
        return;
      case Op.Gather:
        this.kernels.push(...gatherKernels(this.ids, node, target));
        return;
      case Op.ScatterAdd:
        this.kernels.push(...scatterKernels(this.ids, node, target));
        return;
      case Op.OneHot:
        this.kernels.push(...oneHotKernels(this.ids, node, target));
        return;
      case Op.Scan:
        this.kernels.push(...scanKernels(this.scanContext(), node, target));
        return;
      case Op.Slice:
      case Op.Input:
      case Op.Param:
      case Op.Const:
      case Op.BatchSize:
      case Op.DropoutMask:
      case Op.RunningStat:
      case Op.ConstTensor:
      case Op.ScanArg:
      case Op.CustomGradient:
      case Op.StopGradient:
      case Op.SoftmaxCrossEntropy:
      case Op.BatchStatistic:
        throw new Error(
          `internal: no kernel for ${op} (leaves are views; composites are expanded and batch statistics resolved before scheduling)`,
        );
      default:
        unreachable(op, "op");
    }
  }

  /**
   * Build the fused value of `node` at the loop indices of `space`, appending to `values`: inline
   * operands computed first (depth-first, in operand order), everything else loaded. An explicit
   * stack, so a long chain of fused ops cannot overflow the call stack.
   */
  private valueOf(node: Node, space: Space, values: Value[], memo: Map<Node, number>, compute = false): number {
    const known = memo.get(node);
    if (known !== undefined) return known;
    const stack = [{ node, computed: compute || this.kinds.get(node) === "inline", args: [] as number[] }];
    for (;;) {
      const top = stack[stack.length - 1]!;
      const { node: current, computed, args } = top;
      if (computed && args.length < current.inputs.length) {
        const input = current.inputs[args.length]!;
        const index = memo.get(input);
        if (index !== undefined) args.push(index);
        else stack.push({ node: input, computed: this.kinds.get(input) === "inline", args: [] });
        continue;
      }
      if (!computed) values.push({ kind: "load", access: accessFor(this.views.get(current)!, space) });
      else if (current.op === Op.PowConst)
        values.push({ kind: "op", op: current.op, args, exponent: current.attrs.exponent! });
      else values.push({ kind: "op", op: current.op, args });
      const index = values.length - 1;
      memo.set(current, index);
      stack.pop();
      const waiting = stack[stack.length - 1];
      if (!waiting) return index;
      waiting.args.push(index);
    }
  }

  private scanContext(): ScanContext {
    const { temporaries, inputsRead, locals } = this;
    return {
      views: this.views,
      describe: (node) => this.describe(node),
      temporary: (size) => `%${temporaries.set(`%${temporaries.size}`, { size, perExample: true }).size - 1}`,
      copy: (comment, source, shape, destination) => copyKernel(comment, source, shape, true, destination),
      lowerBody: (bindings, placeholders) =>
        lowerEntryPoint(bindings, this.tuning, this.origins, { temporaries, inputsRead, locals, placeholders }).kernels,
    };
  }

  /** `operand`, computed or loaded, stored into `window` (a part of `node`'s buffer), once per example when `node` is per example. */
  private placeKernel(node: Node, operand: Node, window: View): LoopKernel {
    const space = { shape: operand.shape, perExample: node.batched };
    const values: Value[] = [];
    this.valueOf(operand, space, values, new Map());
    return coalesce({
      kind: "loop",
      comment: `${this.describe(node)}, from ${operand.op} [${operand.shape.join(", ")}]`,
      dims: dimsOf(space),
      values,
      target: accessFor(window, space),
      mode: "assign",
      unrolled: 0,
    });
  }

  private reductionKernel(node: Node, target: View): LoopKernel {
    const operand = node.inputs[0]!;
    const space = { shape: operand.shape, perExample: operand.batched };
    const values: Value[] = [];
    this.valueOf(operand, space, values, new Map());
    return reductionLoop(node, values, target, this.describe(node));
  }

  private batchSumKernels(node: Node, target: View): void {
    const operand = node.inputs[0]!;
    const length: Extent = { factor: node.size, perExample: false };
    const buffer = (target.storage as { name: string }).name;
    if (this.kinds.get(operand) === "fused" && operand.op === Op.ScatterAdd) {
      this.kernels.push(...scatterKernels(this.ids, operand, target, true));
      return;
    }
    if (this.kinds.get(operand) === "fused") {
      this.kernels.push(this.staged(batchContraction(this.matmul, operand, target, this.describe(node))));
      return;
    }
    this.kernels.push({ kind: "fill", buffer, length, value: 0 });
    const space = { shape: operand.shape, perExample: true };
    const values: Value[] = [];
    this.valueOf(operand, space, values, new Map());
    const destination = { ...target, batchStride: 0 };
    this.kernels.push(
      coalesce({
        kind: "loop",
        comment: this.describe(node),
        dims: dimsOf(space),
        values,
        target: accessFor(destination, space),
        mode: "add",
        unrolled: 0,
      }),
    );
  }

  /**
   * The blocked GEMM reads its operands from the trainer's own memory (where WebAssembly can see
   * them), so a user's input array is first copied into a work buffer, once per call.
   */
  private staged(kernel: GemmKernel): GemmKernel {
    if (kernel.form !== "blocked") return kernel;
    const stage = (matrix: MatrixAccess): MatrixAccess => {
      const size = this.inputSizes.get(matrix.buffer);
      if (size === undefined) return matrix;
      let copy = this.stagedInputs.get(matrix.buffer);
      if (copy === undefined) {
        copy = `%${this.temporaries.size}`;
        this.temporaries.set(copy, { size, perExample: true });
        this.stagedInputs.set(matrix.buffer, copy);
        const whole = (name: string): Access => ({ storage: { kind: "buffer", name }, offset: 0, strides: [1] });
        this.kernels.push(
          coalesce({
            kind: "loop",
            comment: `${matrix.buffer} copied for the matrix product`,
            mode: "assign",
            unrolled: 0,
            dims: [{ factor: size, perExample: true }],
            values: [{ kind: "load", access: whole(matrix.buffer) }],
            target: whole(copy),
          }),
        );
      }
      return { ...matrix, buffer: copy };
    };
    return { ...kernel, a: stage(kernel.a), b: stage(kernel.b) };
  }
}
