// The gradient checker run against the compiler's middle instead of generated code: the analytic
// gradient is the training graph (derivative rules, simplification, expansion) evaluated by the
// reference interpreter (src/ir/evaluate.ts), the numeric one central differences of the traced
// loss. No code generation, so thousands of random models check in seconds (test/random-models.test.ts).

import { traceModel, type ModelDefinition, type TracedModel } from "../dsl/model.js";
import { evaluate } from "../ir/evaluate.js";
import type { Node } from "../ir/node.js";
import { Op } from "../ir/ops.js";
import { reachableInOrder } from "../ir/graph.js";
import { buildTrainingGraph } from "../pipeline.js";
import { createRandom } from "../random.js";
import { ForwardEvaluator } from "./forward.js";
import {
  checkSource,
  type GradientCheckOptions,
  type GradientCheckReport,
  type BatchField,
  type GradientSource,
} from "./gradient-check.js";

/** A GradientSource over the IR: parameters drawn uniformly from (−1, 1), dropout masks drawn here. */
function interpretedSource(traced: TracedModel, batch: number, seed: number): GradientSource {
  const graph = buildTrainingGraph(traced);
  const random = createRandom(seed ^ 0x2545f491);
  const params = Object.fromEntries(
    traced.params.map((p) => [p.attrs.name!, Float64Array.from({ length: p.size }, () => 2 * random() - 1)]),
  );
  const maskNodes = reachableInOrder([traced.loss]).filter((node) => node.op === Op.DropoutMask);
  const masks = new Map(maskNodes.map((m) => [m.attrs.name!, new Float64Array(batch * m.size)]));
  const gradInputs = graph.inputGrads;
  let forward: { data: object; evaluator: ForwardEvaluator } | undefined;

  // Ids (an Int32Array) are read through a float copy, which trainingLoss refreshes before evaluating.
  const idCopies: [Int32Array, Float64Array][] = [];
  const leavesOf = (data: Readonly<Record<string, BatchField>>, track = false): Map<Node, Float64Array> => {
    const leaves = new Map<Node, Float64Array>();
    for (const p of traced.params) leaves.set(p, params[p.attrs.name!]!);
    for (const x of traced.inputs) {
      const values = data[x.attrs.name!]!;
      const copy = values instanceof Int32Array ? Float64Array.from(values) : values;
      if (track && values instanceof Int32Array) idCopies.push([values, copy]);
      leaves.set(x, copy);
    }
    for (const m of maskNodes) leaves.set(m, masks.get(m.attrs.name!)!);
    return leaves;
  };

  return {
    batch,
    params,
    trainingLoss(data) {
      if (forward?.data !== data) {
        idCopies.length = 0;
        forward = { data, evaluator: new ForwardEvaluator(traced.loss, batch, leavesOf(data, true)) };
      }
      for (const [ids, copy] of idCopies) copy.set(ids);
      forward.evaluator.evaluateAll();
      return forward.evaluator.meanRoot();
    },
    gradient(data) {
      // Example by example (the interpreter's batch is 1): parameter gradients average, input gradients are each example's over n.
      const result = {
        params: Object.fromEntries(traced.params.map((p) => [p.attrs.name!, new Float64Array(p.size)])),
        inputs: Object.fromEntries(gradInputs.map(({ name, node }) => [name, new Float64Array(batch * node.size)])),
      };
      const all = leavesOf(data);
      for (let e = 0; e < batch; e++) {
        const leaves = new Map<Node, ArrayLike<number>>();
        for (const [node, values] of all)
          leaves.set(node, node.op === Op.Param ? values : values.subarray(e * node.size, (e + 1) * node.size));
        // The training graph's masks and inputs are the traced ones (passes keep leaves).
        const values = evaluate(
          [...graph.paramGrads, ...gradInputs.map((g) => g.node)],
          withGraphLeaves(
            graph.paramGrads,
            gradInputs.map((g) => g.node),
            leaves,
          ),
          1,
        );
        traced.params.forEach((p, i) =>
          values[i]!.forEach((v, k) => {
            result.params[p.attrs.name!]![k]! += v / batch;
          }),
        );
        gradInputs.forEach(({ name, node }, i) =>
          result.inputs[name]!.set(
            values[traced.params.length + i]!.map((v) => v / batch),
            e * node.size,
          ),
        );
      }
      return result;
    },
    resampleDropout() {
      for (const m of maskNodes) {
        const keep = 1 - m.attrs.dropProbability!;
        const values = masks.get(m.attrs.name!)!;
        for (let i = 0; i < values.length; i++) values[i] = random() < keep ? 1 / keep : 0;
      }
      return masks;
    },
  };
}

/** Leaves for the training graph's roots: the traced leaves it still reads. */
function withGraphLeaves(
  paramGrads: readonly Node[],
  inputGrads: readonly Node[],
  leaves: ReadonlyMap<Node, ArrayLike<number>>,
): Map<Node, ArrayLike<number>> {
  const result = new Map<Node, ArrayLike<number>>();
  for (const node of reachableInOrder([...paramGrads, ...inputGrads])) {
    if (node.op === Op.Input || node.op === Op.Param || node.op === Op.DropoutMask) {
      const values = leaves.get(node);
      if (!values)
        throw new Error(
          `internal: the training graph reads ${node.op} "${node.attrs.name}", which the traced model does not have`,
        );
      result.set(node, values);
    }
  }
  return result;
}

/** checkGradients without code generation: the training graph interpreted against central differences. */
export function checkGradientsInterpreted(
  definition: ModelDefinition | TracedModel,
  options: GradientCheckOptions = {},
): GradientCheckReport {
  const traced = "build" in definition ? traceModel(definition) : definition;
  return checkSource(traced, interpretedSource(traced, options.batch ?? 2, options.seed ?? 0), options);
}
