// The whole compiler middle, in order. Each pass maps the list of roots to a new list of roots;
// GRADGEN_DUMP=<pass name> (or "all") prints the IR after that pass.

import { batchSize, batchSum, constant, div, mul, rebuild } from "../ir/build.js";
import { reachableInOrder, transformGraph } from "../ir/graph.js";
import { Op } from "../ir/ops.js";
import type { Node } from "../ir/node.js";
import { printGraph } from "../ir/print.js";
import { gradients } from "../grad/reverse.js";
import type { TracedModel } from "../dsl/model.js";
import { expandComposites } from "./expand.js";
import { simplify } from "./simplify.js";

export interface DropoutMaskInfo {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dropProbability: number;
}

/** The graphs an entry point needs, after every pass. */
export interface TrainingGraph {
  readonly model: TracedModel;
  /** Mean of the per-example loss over the n examples of a call, without dropout (as loss() reports it). */
  readonly meanLoss: Node;
  /** The same with the current dropout masks applied: what the gradient is the gradient of. */
  readonly trainingLoss: Node;
  readonly dropoutMasks: readonly DropoutMaskInfo[];
  readonly paramGrads: readonly Node[];
  /** ∂(mean loss)/∂input for inputs declared with { grad: true }, in declaration order. */
  readonly inputGrads: readonly { readonly name: string; readonly node: Node }[];
  readonly outputs: readonly { readonly name: string; readonly node: Node }[];
}

interface Pass {
  readonly name: string;
  readonly run: (roots: readonly Node[]) => readonly Node[];
}

const passes: readonly Pass[] = [
  { name: "simplify", run: (roots) => simplify(roots) },
  { name: "expand-composites", run: expandComposites },
  { name: "simplify-expanded", run: (roots) => simplify(roots) },
];

function dump(stage: string, roots: readonly Node[], labels: readonly string[]): void {
  const wanted = process.env.GRADGEN_DUMP;
  if (wanted && (wanted === stage || wanted === "all")) {
    process.stderr.write(`── IR after ${stage} ──\n${printGraph(roots, labels)}\n`);
  }
}

/** The graph with every dropout mask replaced by 1: what loss() and predict() evaluate. */
function withoutDropout(roots: readonly Node[]): Node[] {
  return transformGraph(roots, (node, inputs) => (node.op === Op.DropoutMask ? constant(1) : rebuild(node, inputs)));
}

export function buildTrainingGraph(model: TracedModel): TrainingGraph {
  // The cost is the average of per-example costs (the batch is the compiler's business).
  const trainingLoss = mul(batchSum(model.loss), div(1, batchSize()));
  const gradInputs = model.inputs.filter((input) => input.attrs.wantsGrad);
  const wrt = [...model.params, ...gradInputs];
  const grads = gradients(trainingLoss, wrt);
  const inference = withoutDropout([trainingLoss, ...model.outputs.map((o) => o.node)]);
  let roots: readonly Node[] = [trainingLoss, ...grads, ...inference];
  const labels = [
    "training loss", ...model.params.map((p) => `grad ${p.attrs.name}`), ...gradInputs.map((x) => `inputGrad ${x.attrs.name}`),
    "loss", ...model.outputs.map((o) => `output ${o.name}`),
  ];
  dump("differentiate", roots, labels);
  for (const pass of passes) {
    roots = pass.run(roots);
    dump(pass.name, roots, labels);
  }
  const p = model.params.length;
  const afterGrads = 1 + p + gradInputs.length;
  const masks = reachableInOrder([roots[0]!]).filter((node) => node.op === Op.DropoutMask);
  return {
    model,
    trainingLoss: roots[0]!,
    paramGrads: roots.slice(1, 1 + p),
    inputGrads: gradInputs.map((x, i) => ({ name: x.attrs.name!, node: roots[1 + p + i]! })),
    meanLoss: roots[afterGrads]!,
    outputs: model.outputs.map((o, i) => ({ name: o.name, node: roots[afterGrads + 1 + i]! })),
    dropoutMasks: masks.map((m) => ({ name: m.attrs.name!, shape: m.shape, dropProbability: m.attrs.dropProbability! })),
  };
}
