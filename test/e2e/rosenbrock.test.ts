// Objectives without data (issue 11): a model with no inputs compiles, and its trainer's calls take no batch.
import { describe, expect, it } from "vitest";
import { compile, GradgenError, model } from "gradgen";
import { createTrainer as createRosenbrock } from "../../generated/rosenbrock.js";
import { loadGenerated } from "../support/load-generated.js";

describe("objectives of parameters alone", () => {
  it("examples/rosenbrock.ts: Adam minimises (1 − x)² + 100(y − x²)² from (−1.5, 2) to (1, 1) within 1e-3", () => {
    const trainer = createRosenbrock();
    const [x0, y0] = [trainer.params.x[0]!, trainer.params.y[0]!];
    expect([x0, y0]).toEqual([-1.5, 2]);
    // f(−1.5, 2) = 2.5² + 100·(2 − 2.25)² = 6.25 + 6.25
    expect(trainer.loss()).toBeCloseTo(12.5, 4);
    for (let i = 0; i < 20000; i++) trainer.step();
    expect(Math.abs(trainer.params.x[0]! - 1)).toBeLessThan(1e-3);
    expect(Math.abs(trainer.params.y[0]! - 1)).toBeLessThan(1e-3);
    expect(trainer.loss()).toBeLessThan(1e-6);
  });

  it("the lectures' circuit f = (x + y)·z as a function of parameters: ∂f = (z, z, x + y)", async () => {
    const circuit = model("circuitOfParams", ({ param }) => {
      const x = param("x", [], { init: -2 });
      const y = param("y", [], { init: 5 });
      const z = param("z", [], { init: -4 });
      return { loss: x.add(y).mul(z) };
    });
    const trainer = (await loadGenerated(circuit, 1)).createTrainer();
    const gradient = trainer.gradient as () => number; // no inputs: the generated gradient() takes no batch
    expect(gradient()).toBe(-12);
    expect([trainer.grads.x![0], trainer.grads.y![0], trainer.grads.z![0]]).toEqual([-4, -4, 3]);
  });

  it("an explicit batch size for a model without inputs is refused with the model's line", () => {
    const objective = model("noData", ({ param }) => ({ loss: param("w", [2]).square().sum() }));
    expect(() => compile(objective, { batch: 8 })).toThrow(GradgenError);
    expect(() => compile(objective, { batch: 8 })).toThrow(/has no inputs, so there is no batch.*--batch 8/);
    try {
      compile(objective, { batch: 8 });
    } catch (error) {
      expect((error as GradgenError).location?.file).toMatch(/rosenbrock\.test\.ts$/);
    }
  });
});
