// Int32 inputs through gradgen/data and gradgen/train (issue 11): the Batcher keeps an Int32Array
// field an Int32Array (ids are never rounded through a float buffer), splitExamples keeps each field's
// type, and fit() trains a model whose inputs are token ids and an integer label, with accuracy
// measured against the label.
import { describe, expect, it } from "vitest";
import { init, model, nn } from "gradgen";
import { Batcher, splitExamples } from "../../src/runtime/data.js";
import { accuracy, fit, type TrainerLike } from "../../src/runtime/train.js";
import { loadGenerated } from "../support/load-generated.js";

describe("int32 fields in the data runtime", () => {
  it("Batcher copies ids exactly into Int32Array buffers, whatever the real fields' dtype", () => {
    // 2²⁴ + 1 has no float32 representation: a float batch buffer would hand the model 2²⁴.
    const ids = Int32Array.of(16_777_217, -3, 7, 2_000_000_001, 0, 5);
    const x = Float64Array.of(0.1, 0.2, 0.3);
    const batcher = new Batcher({ ids, x }, { batchSize: 2, sizes: { ids: 2, x: 1 }, dtype: "f32" });
    expect(batcher.batch.ids).toBeInstanceOf(Int32Array);
    expect(batcher.batch.x).toBeInstanceOf(Float32Array);
    const seen: number[] = [];
    for (const { batch, n } of batcher) seen.push(...batch.ids!.subarray(0, 2 * n));
    expect(seen).toEqual([...ids]);
  });

  it("splitExamples keeps an Int32Array field an Int32Array, rows intact", () => {
    const ids = Int32Array.of(10, 11, 20, 21, 30, 31);
    const y = Float32Array.of(1, 2, 3);
    const [first, rest] = splitExamples({ ids, y }, 3, 1, { seed: 4 });
    expect(first.ids).toBeInstanceOf(Int32Array);
    const rows = [...first.ids, ...rest.ids];
    // Each example's two ids stay together and keep their labels.
    for (let k = 0; k < 3; k++) {
      const row = rows[2 * k]!;
      expect(rows[2 * k + 1]).toBe(row + 1);
      expect([...first.y, ...rest.y][k]).toBe(row / 10);
    }
  });
});

describe("fit() with int32 inputs", () => {
  it("trains an embedding classifier on token ids and an integer label", async () => {
    // The label is the class of the first of two tokens (token mod 3); the second token is noise.
    const definition = model("fit_ids", ({ input, param }) => {
      const tokens = input("tokens", [2], { dtype: "int32" });
      const label = input("label", [1], { dtype: "int32" });
      const embedded = nn.gather(param("E", [6, 4], { init: init.normal(0, 1) }), tokens); // [2, 4]
      const logits = embedded.reshape([1, 8]).matmul(param("W", [8, 3], { init: init.normal(0, 0.3) })); // [1, 3]
      return { loss: nn.sparseSoftmaxCrossEntropy(logits, label), outputs: { logits: logits.reshape([3]) } };
    });
    const trainer = (await loadGenerated(definition, 16, { optimizer: "adam", learningRate: 0.05 })).createTrainer({
      seed: 1,
    }) as unknown as TrainerLike;
    const count = 36;
    const tokens = new Int32Array(2 * count);
    const label = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      tokens[2 * i] = i % 6;
      tokens[2 * i + 1] = (5 * i + 1) % 6;
      label[i] = (i % 6) % 3;
    }
    const history = fit(
      trainer,
      { tokens, label },
      {
        epochs: 40,
        batchSize: 12,
        metrics: [accuracy({ output: "logits", target: "label" })],
        progress: false,
      },
    );
    // Chance: loss ln 3 ≈ 1.10 and accuracy 1/3.
    expect(history.loss[0]!).toBeGreaterThan(0.5);
    expect(history.loss.at(-1)!).toBeLessThan(0.05);
    expect(history.metrics.accuracy!.at(-1)).toBe(1);
  });

  it("a Float32Array where the model takes ids is the trainer's own clear error, not a silent conversion", async () => {
    const definition = model("fit_ids_float", ({ input, param }) => {
      const tokens = input("tokens", [2], { dtype: "int32" });
      return { loss: nn.gather(param("E", [6, 1]), tokens).sum() };
    });
    const trainer = (await loadGenerated(definition, 4)).createTrainer() as unknown as TrainerLike;
    expect(() => fit(trainer, { tokens: Float32Array.of(1, 2, 3, 4) }, { epochs: 1, progress: false })).toThrow(
      /input "tokens" holds integer ids and needs an Int32Array/,
    );
  });
});
