// `gradgen check` and checkGradients(): analytic gradients against central differences, believed
// only if it passes what is right (kinks, zero initial parameters, large losses, random models),
// fails what is wrong (a planted rule, a custom rule, input gradients), and says what it checked.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkGradients, model, nn, type GradientCheckReport } from "gradgen";
import { checkGradientsInterpreted } from "../src/check/interpreted.js";
import { derivativeRules, type DerivativeRule } from "../src/grad/rules.js";
import { add, mul, sub } from "../src/ir/build.js";
import { Op } from "../src/ir/ops.js";
import wrongRule from "./fixtures/wrong-rule.js";
import rightRule from "./fixtures/right-rule.js";
import reluZero from "./fixtures/relu-zero.js";
import largeLoss from "./fixtures/large-loss.js";
import inputGradWrongRule from "./fixtures/input-grad-wrong-rule.js";
import nothingToCheck from "./fixtures/nothing-to-check.js";
import dropoutKink from "./fixtures/dropout-kink.js";
import xor from "../examples/xor.js";
import mlp from "../examples/mlp.js";
import circuit from "../examples/circuit.js";
import { randomModel } from "./support/random-models.js";
import { buildOnce, fixtures, gradgen, lineOf, removeBuild } from "./cli-helpers.js";

/** Where the fixture applies its wrong custom rule (the location a report names). */
const wrongRuleLine = () => lineOf(`${fixtures}/wrong-rule.ts`, "badSquare(x.mul(w))");

beforeAll(buildOnce);
afterAll(removeBuild);

const entries = (report: GradientCheckReport) => [...report.params, ...report.inputs];

/** Replaces one derivative rule while `run` runs (as a planted bug), restoring it after. */
async function withRule<T>(op: Op, rule: DerivativeRule, run: () => Promise<T>): Promise<T> {
  const rules = derivativeRules as Record<Op, DerivativeRule>;
  const original = rules[op];
  rules[op] = rule;
  try {
    return await run();
  } finally {
    rules[op] = original;
  }
}

describe("gradient checking", () => {
  it("passes on the examples, at the initial point and two random perturbations of it", async () => {
    for (const definition of [xor, mlp]) {
      const report = await checkGradients(definition);
      expect(report.passed, report.verdict).toBe(true);
      expect(report.points).toBe(3);
      for (const param of report.params) {
        expect(param.worstElementError).toBeLessThan(1e-6);
        expect(param.comparisons).toBe(3 * Math.min(64, param.size) - param.elementsSkipped);
      }
    }
  });

  it("checks a ReLU network whose first layer starts at zero: what lies on the kink is skipped, and said to be", async () => {
    const report = await checkGradients(reluZero);
    expect(report.passed, report.verdict).toBe(true);
    const [W1, b1, W2] = report.params;
    // At the initial point every hidden pre-activation is 0: all of W1 and b1 sit on relu's kink.
    expect(W1!.elementsSkipped).toBeGreaterThanOrEqual(12);
    expect(b1!.elementsSkipped).toBeGreaterThanOrEqual(4);
    // The perturbed points check them all the same.
    expect(W1!.elementsChecked).toBe(12);
    expect(b1!.elementsChecked).toBe(4);
    expect(W2!.elementsSkipped).toBe(0);
    expect(report.verdict).toMatch(
      /gradients agree with central differences .*skipped where a kink lay within the step/,
    );
  });

  it("does not raise a false alarm on a loss of about 10⁶", async () => {
    const report = await checkGradients(largeLoss);
    expect(report.passed, report.verdict).toBe(true);
    expect(report.skipped).toBe(0);
  });

  it("keeps the dropout masks of the trainer's gradient in its kink test", async () => {
    const report = await checkGradients(dropoutKink, { seed: 3 });
    expect(report.passed, report.verdict).toBe(true);
  });

  it("has no false alarm on random models without kinks, with nothing skipped", async () => {
    for (let seed = 1; seed <= 12; seed++) {
      const report = await checkGradients(randomModel(seed, { kinks: false }).definition, { seed });
      expect(report.passed, `random model ${seed}: ${report.verdict}`).toBe(true);
      expect(report.skipped).toBe(0);
    }
  });

  it("fails on a planted wrong derivative rule, and blames a derivative rule", async () => {
    // σ′ = σ(1 − σ) planted as σ(1 − σ) + σ·10⁻³: a small, plausible slip
    const report = await withRule(
      Op.Sigmoid,
      ({ out, adjoint }) => [mul(adjoint, add(mul(out, sub(1, out)), mul(out, 1e-3)))],
      () => checkGradients(xor),
    );
    expect(report.passed).toBe(false);
    expect(report.params.filter((p) => p.status === "failed").map((p) => p.name)).toEqual(["W1", "b1", "W2", "b2"]);
    expect(report.verdict).toMatch(/a derivative rule is wrong/);
    expect(report.verdict).not.toMatch(/custom/);
    expect((await checkGradients(xor)).passed).toBe(true); // restored
  });

  it("catches a wrong custom derivative rule, names it, and accepts the right one", async () => {
    const wrong = await checkGradients(wrongRule);
    expect(wrong.passed).toBe(false);
    expect(wrong.params[0]!.worstElementError).toBeGreaterThan(0.1);
    expect(wrong.params[0]!.customRules).toEqual([
      expect.stringMatching(new RegExp(`^"badSquare" \\(.*wrong-rule\\.ts:${wrongRuleLine()}:\\d+\\)$`)),
    ]);
    expect(wrong.verdict).toMatch(
      new RegExp(
        `customGradient rule "badSquare" \\(.*wrong-rule\\.ts:${wrongRuleLine()}:\\d+\\): the custom rule disagrees`,
      ),
    );
    expect(wrong.verdict).not.toMatch(/a derivative rule is wrong/);
    const right = await checkGradients(rightRule);
    expect(right.passed, right.verdict).toBe(true);
  });

  it("checks the gradients of inputs declared { grad: true }, also when there are no parameters", async () => {
    const report = await checkGradients(circuit);
    expect(report.passed, report.verdict).toBe(true);
    expect(report.params).toEqual([]);
    expect(report.inputs.map((x) => [x.name, x.size, x.elementsChecked])).toEqual([
      ["x", 2, 2],
      ["y", 2, 2],
      ["z", 2, 2],
    ]);
    const wrong = await checkGradients(inputGradWrongRule);
    expect(wrong.passed).toBe(false);
    expect(wrong.inputs[0]!.status).toBe("failed");
    expect(wrong.verdict).toMatch(/customGradient rule "badSquare"/);
  });

  it("checks a model over int32 ids (an embedding and a sparse cross-entropy), and catches a wrong gather rule", async () => {
    // Ids are drawn in range for every op reading them: tokens below the table's 5 rows, labels below the 3 classes.
    const embedding = model("embedding", ({ input, param }) => {
      const tokens = input("tokens", [4], { dtype: "int32" });
      const label = input("label", [4], { dtype: "int32" });
      const E = param("E", [5, 2], { init: "normal" });
      const W = param("W", [2, 3], { init: "normal" });
      return { loss: nn.sparseSoftmaxCrossEntropy(nn.tanh(nn.gather(E, tokens)).matmul(W), label) };
    });
    for (const report of [await checkGradients(embedding), checkGradientsInterpreted(embedding)]) {
      expect(report.passed, report.verdict).toBe(true);
      expect(report.params.map((p) => [p.name, p.status, p.elementsChecked > 0])).toEqual([
        ["E", "ok", true],
        ["W", "ok", true],
      ]);
    }
    // gather's rule planted 0.1% too large: E fails, and so does W (the cross-entropy's pick z[t, label[t]] is a gather too).
    const original = derivativeRules[Op.Gather];
    const report = await withRule(
      Op.Gather,
      (context) => original(context).map((g) => g && mul(g, 1.001)),
      () => checkGradients(embedding),
    );
    expect(report.params.map((p) => [p.name, p.status])).toEqual([
      ["E", "failed"],
      ["W", "failed"],
    ]);
  });

  it("says so when there is nothing to check, instead of passing", async () => {
    const report = await checkGradients(nothingToCheck);
    expect(report.passed).toBe(false);
    expect(entries(report)).toEqual([]);
    expect(report.verdict).toMatch(/nothing to check: it has no parameters and no inputs declared \{ grad: true \}/);
  });

  it("counts elements checked of the full size, for every entry", async () => {
    const report = await checkGradients(mlp, { points: 1, elementsPerParam: 8, directions: 1 });
    expect(report.params.map((p) => [p.name, p.size, p.elementsChecked + p.elementsSkipped])).toEqual([
      ["W1", 784 * 128, 8],
      ["b1", 128, 8],
      ["W2", 1280, 8],
      ["b2", 10, 8],
    ]);
  });

  it("refuses options it cannot honour", async () => {
    await expect(checkGradients(xor, { points: 0 })).rejects.toThrow(/points must be an integer ≥ 1/);
    await expect(checkGradients(xor, { tolerance: -1 })).rejects.toThrow(/tolerance must be a positive number/);
  });
});

describe("gradgen check", () => {
  it("prints the table (elements checked of the size) and exits 1 on the wrong rule, 0 on the right one", () => {
    const failing = gradgen(["check", "test/fixtures/wrong-rule.ts"]);
    expect(failing.status).toBe(1);
    expect(failing.stdout).toMatch(/^w\s+3 of 3\s+0\s+\S+\s+\[\d\] point \d\s+9 of 9\s+\S+\s+FAILED$/m);
    expect(failing.stdout).toMatch(/the custom rule disagrees/);
    const passing = gradgen(["check", "test/fixtures/right-rule.ts"]);
    expect(passing.status).toBe(0);
    expect(passing.stdout).toMatch(/gradients agree with central differences/);
    expect(passing.stdout).toMatch(
      /checked at 3 points \(the initial parameters and 2 random perturbations of them; seed 0, batch 2\)/,
    );
  });

  it("passes a ReLU network at zero, reporting what it skipped on the kink", () => {
    const run = gradgen(["check", "test/fixtures/relu-zero.ts"]);
    expect(run.status, run.stdout).toBe(0);
    expect(run.stdout).toMatch(/^W1\s+12 of 12\s+(1[2-9]|[2-9]\d)\s/m);
    expect(run.stdout).toMatch(/skipped where a kink lay within the step/);
  });

  it("checks input gradients, and exits 1 when there is nothing to check", () => {
    const inputs = gradgen(["check", "test/fixtures/input-grad-wrong-rule.ts"]);
    expect(inputs.status).toBe(1);
    expect(inputs.stdout).toMatch(/^x \(input\)\s+6 of 6\s.*FAILED$/m);
    const nothing = gradgen(["check", "test/fixtures/nothing-to-check.ts"]);
    expect(nothing.status).toBe(1);
    expect(nothing.stdout).toMatch(/nothing to check/);
  });

  it("takes --points and refuses a bad one", () => {
    const run = gradgen(["check", "test/fixtures/right-rule.ts", "--points", "5"]);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/checked at 5 points/);
    const bad = gradgen(["check", "test/fixtures/right-rule.ts", "--points", "0"]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--points expects a positive integer, got "0"/);
  });
});
