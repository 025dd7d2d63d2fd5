// Printed equations are shape-correct: the shape each printed equation stands for, read from the
// printed text by its own conventions (a vector is a row, xᵀ a column, · a matrix product, ⊙ and
// + broadcast as numpy does), is the shape of the value it defines. The printer reports that shape
// for every definition and result; here it is compared with the IR node's shape and with the shape
// src/ir/evaluate.ts computes, for every example model and for gradient-penalty and RNN models.
import { describe, expect, it } from "vitest";
import { inspectModel, type ModelDefinition } from "gradgen";
import { traceModel } from "../../src/dsl/model.js";
import { evaluate } from "../../src/ir/evaluate.js";
import type { Node } from "../../src/ir/node.js";
import { reachableInOrder } from "../../src/ir/graph.js";
import { Op } from "../../src/ir/ops.js";
import { printedForm } from "../../src/print/layout.js";
import type { Formatted } from "../../src/print/format.js";
import { exampleModels, extraModels, inputPenalty } from "./models.js";

/** Shapes of every node reachable from `roots`, as src/ir/evaluate.ts computes them (values from a seeded ramp). */
function evaluatedShapes(roots: readonly Node[]): Map<Node, readonly number[]> {
  const nodes = reachableInOrder(roots).filter((n) => n.inputs.length > 0);
  const leaves = new Map<Node, ArrayLike<number>>();
  for (const leaf of reachableInOrder(roots)) {
    if (leaf.inputs.length === 0 && leaf.op !== Op.Const && leaf.op !== Op.BatchSize) {
      leaves.set(
        leaf,
        // integer ids (dtype int32) take 0, a valid row of any table; other leaves a ramp
        Float64Array.from({ length: leaf.size }, (_, i) =>
          leaf.attrs.dtype === "int32" ? 0 : 0.1 + 0.05 * ((i * 7) % 11),
        ),
      );
    }
  }
  const values = evaluate(nodes, leaves);
  // evaluate returns flat arrays: the element count confirms the shape's size; the shape is the node's
  return new Map(
    nodes.map((n, i) => {
      expect(values[i]!.length).toBe(n.size);
      return [n, n.shape];
    }),
  );
}

interface Equation {
  readonly label: string;
  readonly printed: readonly number[] | null;
  readonly node: Node;
}

function equationsOf(f: Formatted, resultNodes: readonly Node[], labels: readonly string[]): Equation[] {
  return [
    ...f.definitions.map((d) => ({ label: `${d.label} = ${d.body}`, printed: d.shape, node: d.node })),
    ...f.results.map((r, i) => ({ label: `${labels[i]} = ${r}`, printed: f.resultShapes[i]!, node: resultNodes[i]! })),
  ];
}

function checkModel(definition: ModelDefinition): number {
  const traced = traceModel(definition);
  const inspection = inspectModel(traced);
  const equations = [
    ...equationsOf(
      inspection.forward,
      inspection.forwardRoots,
      inspection.forward.results.map((_, i) => (i === 0 ? "C" : `output ${i}`)),
    ),
    ...equationsOf(inspection.backward, inspection.backwardRoots, inspection.gradientLabels),
  ];
  const evaluated = evaluatedShapes(equations.map((e) => e.node));
  const wrong = equations
    .filter(
      (e) =>
        e.printed === null ||
        JSON.stringify(printedForm(e.printed)) !== JSON.stringify(printedForm(evaluated.get(e.node) ?? e.node.shape)),
    )
    .map(
      (e) =>
        `${e.label}: printed ${e.printed === null ? "(no shape)" : `[${e.printed.join(", ")}]`}, value [${e.node.shape.join(", ")}]`,
    );
  expect(wrong).toEqual([]);
  return equations.length;
}

describe("every printed equation has the shape of its value", () => {
  it("in every example model", async () => {
    const models = await exampleModels();
    expect(models.length).toBeGreaterThanOrEqual(6);
    for (const [, definition] of models) expect(checkModel(definition)).toBeGreaterThan(1);
  });

  for (const [name, definition] of Object.entries(extraModels)) {
    it(name, () => {
      expect(checkModel(definition)).toBeGreaterThan(1);
    });
  }
});

describe("a reshape between a row and a column prints as a transpose", () => {
  it("∂C/∂W of an input-gradient penalty: the row ∂C/∂(∂f/∂x)·… reshaped to a column is shown transposed", () => {
    const text = inspectModel(traceModel(inputPenalty)).toText();
    // s2ᵀ·δ2 is [4, 3]; W is [3, 4]: the term is its transpose (it printed as a bare s·δ2 of shape [4, 3])
    expect(text).toContain("  ∂C/∂W = xᵀ·δ1 + (s2ᵀ·δ2)ᵀ\n");
    expect(text).toContain("  s2 = v ⊙ s1\n");
    expect(text).toContain("  δ2 = 2·z2\n");
  });
});
