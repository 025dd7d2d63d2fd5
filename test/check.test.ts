// `gradgen check` and checkGradients(): analytic gradients against central differences.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkGradients } from "gradgen";
import wrongRule from "./fixtures/wrong-rule.js";
import rightRule from "./fixtures/right-rule.js";
import xor from "../examples/xor.js";
import mlp from "../examples/mlp.js";
import { buildOnce, gradgen, removeBuild } from "./cli-helpers.js";

beforeAll(buildOnce);
afterAll(removeBuild);

describe("gradient checking", () => {
  it("passes on the examples", async () => {
    for (const definition of [xor, mlp]) {
      const report = await checkGradients(definition);
      expect(report.passed).toBe(true);
      for (const param of report.params) expect(param.worstElementError).toBeLessThan(1e-6);
    }
  });

  it("catches a deliberately wrong custom derivative rule, and accepts the right one", async () => {
    const wrong = await checkGradients(wrongRule);
    expect(wrong.passed).toBe(false);
    expect(wrong.params[0]!.worstElementError).toBeGreaterThan(0.1);
    const right = await checkGradients(rightRule);
    expect(right.passed).toBe(true);
  });

  it("the CLI prints the table and exits 1 on the wrong rule, 0 on the right one", async () => {
    const run = (file: string) => gradgen(["check", file]);
    const failing = run("test/fixtures/wrong-rule.ts");
    expect(failing.status).toBe(1);
    expect(failing.stdout).toMatch(/w\s+3\s+\S+\s+\d\s+\S+\s+FAILED/);
    const passing = run("test/fixtures/right-rule.ts");
    expect(passing.status).toBe(0);
    expect(passing.stdout).toMatch(/gradients agree with central differences/);
  });
});
