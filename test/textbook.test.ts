// The worked examples of the backpropagation lectures, through the generated code (f64).
import { describe, expect, it } from "vitest";
import { createTrainer as createCircuit } from "../generated/circuit.js";
import { createTrainer as createNeuron } from "../generated/neuron.js";

const scalar = (v: number) => new Float64Array([v]);

describe("lecture examples", () => {
  it("f = (x + y)·z at (−2, 5, −4) has gradient (−4, −4, 3)", () => {
    const trainer = createCircuit();
    const f = trainer.gradient({ x: scalar(-2), y: scalar(5), z: scalar(-4) });
    expect(f).toBe(-12);
    expect([...trainer.inputGrads.x, ...trainer.inputGrads.y, ...trainer.inputGrads.z]).toEqual([-4, -4, 3]);
  });

  it("the sigmoid neuron at w = (2, −3, −3), x = (−1, −2)", () => {
    const trainer = createNeuron();
    const f = trainer.gradient({ x0: scalar(-1), x1: scalar(-2) });
    expect(f).toBeCloseTo(0.731, 3);
    const { w0, w1, w2 } = trainer.grads;
    expect([w0[0], w1[0], w2[0]].map((v) => Number(v!.toFixed(3)))).toEqual([-0.197, -0.393, 0.197]);
    const { x0, x1 } = trainer.inputGrads;
    expect([x0[0], x1[0]].map((v) => Number(v!.toFixed(3)))).toEqual([0.393, -0.59]);
  });
});
