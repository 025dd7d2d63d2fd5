// End to end: the committed generated trainers learn.
import { describe, expect, it } from "vitest";
import { createTrainer as createXor } from "../../generated/xor.js";
import { createTrainer as createMlp, spec as mlpSpec } from "../../generated/mlp.js";
import { createRandom as mulberry32 } from "../../src/random.js";

describe("training", () => {
  it("xor (2-4-1 sigmoid) learns XOR to loss < 0.01", () => {
    const batch = { x: new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]), t: new Float32Array([0, 1, 1, 0]) };
    const trainer = createXor({ seed: 1 });
    const initial = trainer.loss(batch);
    for (let i = 0; i < 3000; i++) trainer.step(batch);
    const final = trainer.loss(batch);
    expect(initial).toBeGreaterThan(0.1);
    expect(final).toBeLessThan(0.01);
    const { y } = trainer.predict({ x: batch.x });
    expect(Array.from(y, (v) => Math.round(v))).toEqual([0, 1, 1, 0]);
  });

  it("mlp (784-128-10 ReLU, softmax cross-entropy) fits separable synthetic classes", () => {
    const random = mulberry32(7);
    const { batch: size } = mlpSpec;
    // Ten classes, each a random prototype plus noise.
    const prototypes = Array.from({ length: 10 }, () => Float32Array.from({ length: 784 }, () => random()));
    const x = new Float32Array(size * 784);
    const label = new Float32Array(size * 10);
    const classes: number[] = [];
    for (let e = 0; e < size; e++) {
      const c = e % 10;
      classes.push(c);
      label[e * 10 + c] = 1;
      for (let i = 0; i < 784; i++) x[e * 784 + i] = prototypes[c]![i]! + 0.3 * (random() - 0.5);
    }
    const trainer = createMlp({ seed: 3 });
    const initial = trainer.loss({ x, label });
    for (let i = 0; i < 30; i++) trainer.step({ x, label });
    const final = trainer.loss({ x, label });
    expect(initial).toBeGreaterThan(1);
    expect(final).toBeLessThan(initial / 10);
    const { probabilities } = trainer.predict({ x });
    let correct = 0;
    for (let e = 0; e < size; e++) {
      const row = Array.from(probabilities.subarray(e * 10, e * 10 + 10));
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      if (row.indexOf(Math.max(...row)) === classes[e]) correct++;
    }
    expect(correct).toBe(size);
  });

  it("a short last batch averages over n examples only", () => {
    const full = { x: new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]), t: new Float32Array([0, 1, 1, 0]) };
    const trainer = createXor({ seed: 2 });
    const firstTwo = { x: full.x.slice(0, 4), t: full.t.slice(0, 2) };
    const { y } = trainer.predict({ x: full.x });
    const expected = (0.5 * ((y[0]! - 0) ** 2 + (y[1]! - 1) ** 2)) / 2;
    expect(trainer.loss(firstTwo, 2)).toBeCloseTo(expected, 6);
    expect(() => trainer.loss(firstTwo, 3)).toThrow(/needs 3 × 2 values/);
    expect(() => trainer.loss(full, 5)).toThrow(/from 1 to the compiled batch size 4/);
  });
});
