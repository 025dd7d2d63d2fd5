// param(name, shape, { trainable: false }) (issue 11): settable, saved in checkpoints, never updated.
import { describe, expect, it } from "vitest";
import { model, nn } from "gradgen";
import { decodeCheckpoint, encodeCheckpoint } from "../src/runtime/checkpoint.js";
import type { TrainerLike } from "../src/runtime/trainer.js";
import { checkGradients } from "../src/check/gradient-check.js";
import { loadGenerated } from "./support/load-generated.js";

/** y = x·W + b with W frozen; loss ½‖y − t‖². */
const definition = model("frozenLayer", ({ input, param }) => {
  const W = param("W", [2, 2], { init: 0.5, trainable: false });
  const b = param("b", [2]);
  const y = input("x", [2]).matmul(W).add(b);
  return { loss: nn.halfSquaredError(y, input("t", [2])) };
});

const batch = { x: new Float64Array([1, 2, -1, 0.5]), t: new Float64Array([0.3, -0.2, 1, 2]) };

describe("frozen parameters", () => {
  for (const optimizer of ["sgd", "momentum", "nesterov", "adam"] as const) {
    it(`${optimizer} with weight decay never changes a frozen parameter and trains the others`, async () => {
      const module = await loadGenerated(definition, 2, { optimizer, hyperparameters: { weightDecay: 0.1 } });
      const W = [1, -2, 3, 0.25];
      const trainer = module.createTrainer({ params: { W } });
      expect([...trainer.params.W!]).toEqual(W); // settable
      for (let i = 0; i < 5; i++) trainer.step(batch);
      expect([...trainer.params.W!]).toEqual(W);
      expect([...trainer.params.b!]).not.toEqual([0, 0]);
      expect([...trainer.grads.W!]).toEqual([0, 0, 0, 0]);
      // ∂/∂b of the mean of ½‖x·W + b − t‖² is the mean residual (the trainable part still learns right).
      trainer.gradient(batch);
      const b = [...trainer.params.b!];
      const residual = (e: number, j: number) =>
        batch.x[2 * e]! * W[j]! + batch.x[2 * e + 1]! * W[2 + j]! + b[j]! - batch.t[2 * e + j]!;
      for (const j of [0, 1]) expect(trainer.grads.b![j]).toBeCloseTo((residual(0, j) + residual(1, j)) / 2, 12);
      expect(Object.keys(trainer.state.buffers).some((name) => name.startsWith("W."))).toBe(false);
    });
  }

  it("is saved in and restored from checkpoints", async () => {
    const module = await loadGenerated(definition, 2, { optimizer: "adam" });
    const source = module.createTrainer({ params: { W: [1, 2, 3, 4] } });
    source.step(batch);
    const bytes = encodeCheckpoint(source as unknown as TrainerLike);
    const target = module.createTrainer();
    expect([...target.params.W!]).toEqual([0.5, 0.5, 0.5, 0.5]);
    decodeCheckpoint(target as unknown as TrainerLike, bytes);
    expect([...target.params.W!]).toEqual([1, 2, 3, 4]);
    expect([...target.params.b!]).toEqual([...source.params.b!]);
  });

  it("gradgen check skips it (no gradient by definition) and checks the rest", async () => {
    const report = await checkGradients(definition);
    expect(report.passed, report.verdict).toBe(true);
    expect(report.params.map((e) => e.name)).toEqual(["b"]);
  });
});
