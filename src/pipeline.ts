// The whole compiler middle, in order: differentiate, then each pass maps the list of roots to a new
// list of roots. GRADGEN_DUMP=<stage> (or "all", or several, comma-separated) prints the IR after
// that pass; the later stages (lower, plan-buffers, program, wgsl-plan) print the lowered program.

import { batchSize, batchSum, constant, div, mul, rebuild } from "./ir/build.js";
import { reachableInOrder, transformGraph } from "./ir/graph.js";
import { Op } from "./ir/ops.js";
import type { Node } from "./ir/node.js";
import type { SourceLocation } from "./errors.js";
import { printGraph } from "./ir/print.js";
import { gradients } from "./grad/reverse.js";
import { gaussNewtonVectorProducts, hessianVectorProducts } from "./grad/hessian-vector.js";
import type { TracedModel } from "./dsl/model.js";
import { expandComposites } from "./passes/expand.js";
import { simplifiedForm, simplify } from "./passes/simplify.js";
import { mergeSharedProducts } from "./passes/shared-products.js";

export interface DropoutMaskInfo {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dropProbability: number;
}

/** A running statistic of nn.batchNorm: step() folds `estimate` (this step's batch value) into it. */
export interface RunningStatisticInfo {
  /** Its name in trainer.state.buffers, e.g. "batchNorm0.runningMean". */
  readonly label: string;
  readonly shape: readonly number[];
  readonly initial: number;
  /** running ← momentum·running + (1 − momentum)·estimate. */
  readonly momentum: number;
  /** The batch estimate, computed by gradient() (training form, dropout masks applied). */
  readonly estimate: Node;
}

/** The graphs an entry point needs, after every pass. */
export interface TrainingGraph {
  readonly model: TracedModel;
  /** Mean of the per-example loss over the n examples of a call, without dropout (as loss() reports it). */
  readonly meanLoss: Node;
  /** The same with the current dropout masks applied: what the gradient is the gradient of. */
  readonly trainingLoss: Node;
  readonly dropoutMasks: readonly DropoutMaskInfo[];
  /** Running statistics (nn.batchNorm), in a structural order. */
  readonly statistics: readonly RunningStatisticInfo[];
  readonly paramGrads: readonly Node[];
  /** ∂(mean loss)/∂input for inputs declared with { grad: true }, in declaration order. */
  readonly inputGrads: readonly { readonly name: string; readonly node: Node }[];
  readonly outputs: readonly { readonly name: string; readonly node: Node }[];
  /**
   * With { hessianVector: "hessian" }: (H·v) per parameter, H the Hessian of the training loss, v its
   * direction slot; with "gauss-newton" (a loss nn.leastSquares(r)): (G·v), G = JᵀJ/n the Gauss–Newton matrix.
   */
  readonly hessianVector?: readonly Node[];
  /** The model line of each node: the model's own, and for backward nodes that of the forward op they differentiate. */
  readonly origins: ReadonlyMap<Node, SourceLocation>;
}

interface Pass {
  readonly name: string;
  /** The new roots, and what each node reachable from the old roots became (for their model lines). */
  readonly run: (roots: readonly Node[]) => {
    readonly roots: readonly Node[];
    readonly formOf: (node: Node) => Node | undefined;
  };
}

const passes: readonly Pass[] = [
  { name: "simplify", run: (roots) => ({ roots: simplify(roots), formOf: simplifiedForm }) },
  {
    name: "expand-composites",
    run: (roots) => {
      const expanded = new Map<Node, Node>();
      return { roots: expandComposites(roots, expanded), formOf: (node) => expanded.get(node) };
    },
  },
  { name: "simplify-expanded", run: (roots) => ({ roots: simplify(roots), formOf: simplifiedForm }) },
  {
    name: "merge-shared-products",
    run: (roots) => {
      const merged = new Map<Node, Node>();
      const formOf = (node: Node) => {
        const stacked = merged.get(node);
        return stacked && (simplifiedForm(stacked) ?? stacked);
      };
      return { roots: simplify(mergeSharedProducts(roots, merged)), formOf };
    },
  },
];

/**
 * Nodes a pass built take the model line of the node they replace (operands first, so the innermost
 * replacement names the most specific line); nodes that already have a line, or were there before
 * the pass, keep theirs.
 */
function carryOrigins(
  before: readonly Node[],
  formOf: (node: Node) => Node | undefined,
  origins: Map<Node, SourceLocation>,
): void {
  const old = reachableInOrder(before);
  const existing = new Set(old);
  for (const node of old) {
    const origin = origins.get(node);
    const form = formOf(node);
    if (!origin || !form) continue;
    const pending = [form];
    while (pending.length > 0) {
      const next = pending.pop()!;
      if (origins.has(next) || existing.has(next)) continue;
      origins.set(next, origin);
      pending.push(...next.inputs);
    }
  }
}

/** Is stage `stage` named by GRADGEN_DUMP ("all", one stage, or a comma-separated list)? */
function dumping(stage: string): boolean {
  const wanted = process.env.GRADGEN_DUMP;
  if (!wanted) return false;
  return wanted.split(",").some((name) => name.trim() === stage || name.trim() === "all");
}

/** Write `text` (what stage `stage` produced, in `form`) to stderr when GRADGEN_DUMP names the stage. */
export function dump(stage: string, form: string, text: () => string): void {
  if (dumping(stage)) process.stderr.write(`── ${form} after ${stage} ──\n${text()}\n`);
}

function dumpGraph(stage: string, roots: readonly Node[], labels: readonly string[]): void {
  dump(stage, "IR", () => printGraph(roots, labels));
}

/** The graph with every dropout mask replaced by 1: what loss() and predict() evaluate. */
function withoutDropout(roots: readonly Node[], memo: Map<Node, Node>): Node[] {
  return transformGraph(
    roots,
    (node, inputs) => (node.op === Op.DropoutMask ? constant(1) : rebuild(node, inputs)),
    memo,
  );
}

/**
 * Batch statistics resolved: operand 0 (the batch's own statistic) in training graphs, operand 1 (the
 * running statistic) in the inference graphs loss() and predict() evaluate.
 */
function resolveStatistics(roots: readonly Node[], form: "training" | "inference", memo: Map<Node, Node>): Node[] {
  const pick = form === "training" ? 0 : 1;
  return transformGraph(
    roots,
    (node, inputs) => (node.op === Op.BatchStatistic ? inputs[pick]! : rebuild(node, inputs)),
    memo,
  );
}

export function buildTrainingGraph(
  model: TracedModel,
  options: { hessianVector?: "hessian" | "gauss-newton" | undefined } = {},
): TrainingGraph {
  // The cost is the average of per-example costs (the batch is the compiler's business).
  const meanOfLoss = mul(batchSum(model.loss), div(1, batchSize()));
  const origins = new Map(model.origins);
  const statisticNodes = reachableInOrder([meanOfLoss, ...model.outputs.map((o) => o.node)]).filter(
    (node) => node.op === Op.BatchStatistic,
  );
  const training = new Map<Node, Node>();
  const [trainingLoss, ...estimates] = resolveStatistics(
    [meanOfLoss, ...statisticNodes.map((s) => s.inputs[2]!)],
    "training",
    training,
  ) as [Node, ...Node[]];
  carryOrigins([meanOfLoss, ...statisticNodes], (node) => training.get(node), origins);
  const gradInputs = model.inputs.filter((input) => input.attrs.wantsGrad);
  const wrt = [...model.params, ...gradInputs];
  const grads = gradients(trainingLoss, wrt, undefined, (derived, forward) => {
    const origin = origins.get(forward);
    if (origin && !origins.has(derived)) origins.set(derived, origin);
  });
  const forward = [meanOfLoss, ...model.outputs.map((o) => o.node)];
  const running = new Map<Node, Node>();
  const withRunning = resolveStatistics(forward, "inference", running);
  carryOrigins(forward, (node) => running.get(node), origins);
  const withoutMasks = new Map<Node, Node>();
  const inference = withoutDropout(withRunning, withoutMasks);
  carryOrigins(withRunning, (node) => withoutMasks.get(node), origins);
  const noteOrigin = (derived: Node, forward: Node) => {
    const origin = origins.get(forward);
    if (origin && !origins.has(derived)) origins.set(derived, origin);
  };
  const products =
    options.hessianVector === "gauss-newton"
      ? gaussNewtonVectorProducts(model.residual!, model.params, noteOrigin)
      : options.hessianVector === "hessian"
        ? hessianVectorProducts(grads.slice(0, model.params.length), model.params, noteOrigin)
        : [];
  let roots: readonly Node[] = [trainingLoss, ...grads, ...inference, ...estimates, ...products];
  const labels = [
    "training loss",
    ...model.params.map((p) => `grad ${p.attrs.name}`),
    ...gradInputs.map((x) => `inputGrad ${x.attrs.name}`),
    "loss",
    ...model.outputs.map((o) => `output ${o.name}`),
    ...statisticNodes.map((s) => `estimate ${s.inputs[1]!.attrs.name}`),
    ...products.map((_, i) => `hessianVector ${model.params[i]!.attrs.name}`),
  ];
  dumpGraph("differentiate", roots, labels);
  for (const pass of passes) {
    const result = pass.run(roots);
    carryOrigins(roots, result.formOf, origins);
    roots = result.roots;
    dumpGraph(pass.name, roots, labels);
  }
  const p = model.params.length;
  const afterGrads = 1 + p + gradInputs.length;
  const afterOutputs = afterGrads + 1 + model.outputs.length;
  const masks = reachableInOrder([roots[0]!]).filter((node) => node.op === Op.DropoutMask);
  return {
    model,
    trainingLoss: roots[0]!,
    paramGrads: roots.slice(1, 1 + p),
    inputGrads: gradInputs.map((x, i) => ({ name: x.attrs.name!, node: roots[1 + p + i]! })),
    meanLoss: roots[afterGrads]!,
    outputs: model.outputs.map((o, i) => ({ name: o.name, node: roots[afterGrads + 1 + i]! })),
    ...(options.hessianVector ? { hessianVector: roots.slice(afterOutputs + statisticNodes.length) } : {}),
    dropoutMasks: masks.map((m) => ({
      name: m.attrs.name!,
      shape: m.shape,
      dropProbability: m.attrs.dropProbability!,
    })),
    statistics: statisticNodes.map((s, i) => ({
      label: s.inputs[1]!.attrs.name!,
      shape: s.shape,
      initial: s.inputs[1]!.attrs.value!,
      momentum: s.attrs.momentum!,
      estimate: roots[afterOutputs + i]!,
    })),
    origins,
  };
}
