// Random models (test/support/random-models.ts): every parameter and input gradient against
// fourth-order central differences in f64, at three points each, skipping only coordinates whose
// stencil straddles a kink. 500 models through the training graph (derivative rules, simplification,
// expansion) evaluated by the reference interpreter, one in five of them also through the compiled f64
// trainer (the emitters); 0 mismatches. The same generator with a planted wrong rule must fail.
import { describe, expect, it } from "vitest";
import { checkGradients, type GradientCheckReport } from "gradgen";
import { checkGradientsInterpreted } from "../src/check/interpreted.js";
import { ForwardEvaluator } from "../src/check/forward.js";
import { traceModel } from "../src/dsl/model.js";
import { derivativeRules, type DerivativeRule } from "../src/grad/rules.js";
import { cos, div, mul, sub } from "../src/ir/build.js";
import { evaluate } from "../src/ir/evaluate.js";
import { reachableInOrder } from "../src/ir/graph.js";
import type { Node } from "../src/ir/node.js";
import { leafOps, Op } from "../src/ir/ops.js";
import { createRandom } from "../src/random.js";
import { randomModel, type RandomModel } from "./support/random-models.js";

const models = 500;
const compiledEvery = 5;
const options = { elementsPerParam: 16, directions: 2 };

interface Tally {
  mismatches: string[];
  unchecked: string[];
  comparisons: number;
  skipped: number;
}

function tally(into: Tally, seed: number, report: GradientCheckReport, describe: () => string): void {
  into.comparisons += report.checked;
  into.skipped += report.skipped;
  for (const entry of [...report.params, ...report.inputs]) {
    if (entry.status === "failed")
      into.mismatches.push(
        `model ${seed}, ${entry.name}: error ${entry.worstElementError.toExponential(2)} / ${entry.worstDirectionError.toExponential(2)}\n${describe()}`,
      );
    if (entry.status === "unchecked") into.unchecked.push(`model ${seed}, ${entry.name}`);
  }
}

const empty = (): Tally => ({ mismatches: [], unchecked: [], comparisons: 0, skipped: 0 });

describe(`${models} random models`, () => {
  it("the checker's forward interpreter agrees with the reference interpreter (src/ir/evaluate.ts)", () => {
    for (let seed = 1; seed <= 100; seed++) {
      const traced = traceModel(randomModel(seed).definition);
      const random = createRandom(seed);
      const leaves = new Map<Node, Float64Array>(
        [...traced.inputs, ...traced.params].map((leaf) => [
          leaf,
          Float64Array.from({ length: leaf.size * (leaf.batched ? 2 : 1) }, () => random()),
        ]),
      );
      const evaluator = new ForwardEvaluator(traced.loss, 2, leaves);
      evaluator.evaluateAll();
      for (let e = 0; e < 2; e++) {
        const example = new Map(
          [...leaves].map(([leaf, values]) => [
            leaf,
            leaf.batched ? values.subarray(e * leaf.size, (e + 1) * leaf.size) : values,
          ]),
        );
        const [expected] = evaluate([traced.loss], example);
        expect(evaluator.rootValue(e), `model ${seed}, example ${e}`).toBe(expected![0]);
      }
    }
  });

  it("the training graph's gradients agree with central differences: 0 mismatches; every kind of op is exercised", () => {
    const result = empty();
    const ops = new Map<Op, number>();
    let shared = 0;
    let inputGrads = 0;
    for (let seed = 1; seed <= models; seed++) {
      const model = randomModel(seed);
      const traced = traceModel(model.definition);
      // What the models are made of: models using each op, models sharing a subexpression, models with input gradients.
      const nodes = reachableInOrder([traced.loss]);
      for (const op of new Set(nodes.map((node) => node.op))) ops.set(op, (ops.get(op) ?? 0) + 1);
      const consumers = new Map<Node, number>();
      for (const node of nodes)
        for (const input of new Set(node.inputs)) consumers.set(input, (consumers.get(input) ?? 0) + 1);
      if ([...consumers].some(([node, n]) => n > 1 && !leafOps.has(node.op))) shared += 1;
      if (traced.inputs.some((x) => x.attrs.wantsGrad)) inputGrads += 1;
      tally(result, seed, checkGradientsInterpreted(traced, { ...options, seed }), model.describe);
    }
    expect(result.mismatches).toEqual([]);
    expect(result.unchecked).toEqual([]);
    expect(result.comparisons).toBeGreaterThan(models * 30);
    // Kinks are skipped only where the stencil straddles one: rarely, at random points.
    expect(result.skipped).toBeLessThan(result.comparisons / 100);
    const wanted = [
      Op.Neg,
      Op.Exp,
      Op.Log,
      Op.Sin,
      Op.Cos,
      Op.Sqrt,
      Op.Abs,
      Op.Sigmoid,
      Op.Tanh,
      Op.Softplus,
      Op.PowConst,
      Op.Add,
      Op.Sub,
      Op.Mul,
      Op.Div,
      Op.Maximum,
      Op.Minimum,
      Op.Greater,
      Op.Select,
      Op.Reshape,
      Op.Transpose,
      Op.Broadcast,
      Op.Sum,
      Op.Max,
      Op.LogSumExp,
      Op.MatMul,
      Op.SoftmaxCrossEntropy,
      Op.CustomGradient,
    ];
    for (const op of wanted) expect(ops.get(op) ?? 0, `models using ${op}`).toBeGreaterThanOrEqual(10);
    expect(shared).toBeGreaterThan(models / 2);
    expect(inputGrads).toBeGreaterThan(models / 5);
  });

  it(`one in ${compiledEvery} of them through the compiled f64 trainer: 0 mismatches`, async () => {
    const result = empty();
    for (let seed = 1; seed <= models; seed += compiledEvery) {
      const model = randomModel(seed);
      tally(result, seed, await checkGradients(model.definition, { ...options, seed }), model.describe);
    }
    expect(result.mismatches).toEqual([]);
    expect(result.unchecked).toEqual([]);
    expect(result.comparisons).toBeGreaterThan((models / compiledEvery) * 30);
  });
});

describe("the same generator with a planted wrong rule", () => {
  /**
   * Whether the model's loss uses `op` on a gradient's path: with an operand (of a division, the
   * divisor) that depends on a parameter or an input declared { grad: true }.
   */
  function usesOnGradientPath(model: RandomModel, op: Op): boolean {
    const traced = traceModel(model.definition);
    const depends = new Set<Node>([...traced.params, ...traced.inputs.filter((x) => x.attrs.wantsGrad)]);
    for (const node of reachableInOrder([traced.loss])) {
      if (!node.inputs.some((input) => depends.has(input))) continue;
      depends.add(node);
      const operands = op === Op.Div ? node.inputs.slice(1) : node.inputs;
      if (node.op === op && operands.some((input) => depends.has(input))) return true;
    }
    return false;
  }

  /**
   * The first 40 models (of 300) using `op` on a gradient's path, checked with `rule` in its place.
   * Not all of them can fail: the op may sit where its derivative hardly matters (a saturated tanh,
   * a dead relu behind it).
   */
  function checkWithRule(op: Op, rule: DerivativeRule): { using: number; failing: number } {
    const rules = derivativeRules as Record<Op, DerivativeRule>;
    const original = rules[op];
    let using = 0;
    let failing = 0;
    rules[op] = rule;
    try {
      for (let seed = 1; seed <= 300 && using < 40; seed++) {
        const model = randomModel(seed);
        if (!usesOnGradientPath(model, op)) continue;
        using += 1;
        if (!checkGradientsInterpreted(model.definition, { ...options, seed }).passed) failing += 1;
      }
    } finally {
      rules[op] = original;
    }
    return { using, failing };
  }

  it("fails: tanh′ = 1 − tanh (the square forgotten)", () => {
    const { using, failing } = checkWithRule(Op.Tanh, ({ out, adjoint }) => [mul(adjoint, sub(1, out))]);
    expect(using).toBe(40);
    expect(failing).toBeGreaterThanOrEqual(0.8 * using);
  });

  it("fails: a/b ↦ +ḡ·(a/b)/b for the divisor (a sign slip)", () => {
    const { using, failing } = checkWithRule(Op.Div, ({ inputs: [, b], out, adjoint }) => [
      div(adjoint, b!),
      div(mul(adjoint, out), b!),
    ]);
    expect(using).toBe(40);
    expect(failing).toBeGreaterThanOrEqual(0.8 * using);
  });

  it("fails: sin′ = cos·(1 + 10⁻⁴) (a slip below any plotting precision)", () => {
    const { using, failing } = checkWithRule(Op.Sin, ({ inputs: [x], adjoint }) => [
      mul(adjoint, mul(cos(x!), 1 + 1e-4)),
    ]);
    expect(using).toBe(40);
    expect(failing).toBeGreaterThanOrEqual(0.8 * using);
  });

  it("fails: maximum(a, b) giving the gradient to the smaller operand (a kinked op's rule, swapped)", () => {
    const maximum = derivativeRules[Op.Maximum];
    const { using, failing } = checkWithRule(Op.Maximum, (context) => {
      const [toA, toB] = maximum(context);
      return [toB, toA];
    });
    expect(using).toBe(40);
    expect(failing).toBeGreaterThanOrEqual(0.8 * using);
  });
});
