// Initialisers (statistics, sparsity, reproducibility) and dropout (inverted scaling, fresh masks,
// identity at inference, gradients with a fixed mask).
import { describe, expect, it } from "vitest";
import { init, model, nn, type InitSpec } from "gradgen";
import { loadGenerated, type Fields } from "./support/load-generated.js";

const fanIn = 400;
const fanOut = 300;

/** A model whose only purpose is to hold one [fanIn, fanOut] parameter initialised by `spec`. */
const holder = (spec: InitSpec) =>
  model("holder", ({ input, param }) => {
    const x = input("x", [fanIn]);
    const W = param("W", [fanIn, fanOut], { init: spec });
    return { loss: x.matmul(W).sum() };
  });

function moments(values: ArrayLike<number>): { mean: number; variance: number } {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]!;
  const mean = sum / values.length;
  let squares = 0;
  for (let i = 0; i < values.length; i++) squares += (values[i]! - mean) ** 2;
  return { mean, variance: squares / values.length };
}

describe("initialisers", () => {
  // Expected mean and variance of each initialiser for fan_in 400, fan_out 300.
  const table: [string, InitSpec, number, number][] = [
    ["uniform (±0.05)", "uniform", 0, 0.1 ** 2 / 12],
    ["uniform(−1, 3)", init.uniform(-1, 3), 1, 16 / 12],
    ["normal (σ 0.05)", "normal", 0, 0.05 ** 2],
    ["normal(2, 0.5)", init.normal(2, 0.5), 2, 0.25],
    ["lecun N(0, 1/fan_in)", "lecun", 0, 1 / fanIn],
    ["xavier U(±√(6/(in+out)))", "xavier", 0, 2 / (fanIn + fanOut)],
    ["glorotNormal N(0, 2/(in+out))", "glorotNormal", 0, 2 / (fanIn + fanOut)],
    ["he N(0, 2/fan_in)", "he", 0, 2 / fanIn],
    ["heUniform U(±√(6/fan_in))", "heUniform", 0, 2 / fanIn],
  ];
  for (const [name, spec, mean, variance] of table) {
    it(`${name}: mean and variance over 120,000 values`, async () => {
      const { createTrainer } = await loadGenerated(holder(spec), 1);
      const values = createTrainer({ seed: 11 }).params.W!;
      const stats = moments(values);
      const count = values.length;
      // Standard error of the mean is √(variance/count); of the variance about variance·√(2/count) (normal) — 5 of them.
      expect(Math.abs(stats.mean - mean)).toBeLessThan(5 * Math.sqrt(variance / count));
      expect(Math.abs(stats.variance - variance)).toBeLessThan(5 * variance * Math.sqrt(2 / count) + 1e-12);
    });
  }

  it("constants, zeros and ones are exact", async () => {
    for (const [spec, value] of [
      [0.25, 0.25],
      ["zeros", 0],
      ["ones", 1],
    ] as const) {
      const { createTrainer } = await loadGenerated(holder(spec), 1);
      expect(createTrainer().params.W!.every((v) => v === value)).toBe(true);
    }
  });

  it("sparse(k) gives exactly k non-zero incoming weights per unit, normally distributed", async () => {
    const { createTrainer } = await loadGenerated(holder(init.sparse(15)), 1);
    const W = createTrainer({ seed: 5 }).params.W!;
    const nonZero: number[] = [];
    for (let unit = 0; unit < fanOut; unit++) {
      let count = 0;
      for (let row = 0; row < fanIn; row++) {
        const value = W[row * fanOut + unit]!;
        if (value !== 0) {
          count++;
          nonZero.push(value);
        }
      }
      expect(count).toBe(15);
    }
    const stats = moments(nonZero);
    expect(Math.abs(stats.mean)).toBeLessThan(5 / Math.sqrt(nonZero.length));
    expect(Math.abs(stats.variance - 1)).toBeLessThan(5 * Math.sqrt(2 / nonZero.length));
  });

  it("the same seed gives identical bytes; another seed does not", async () => {
    const { createTrainer } = await loadGenerated(holder("he"), 1);
    const bytes = (seed: number) => Buffer.from(createTrainer({ seed }).params.W!.buffer).toString("hex");
    expect(bytes(3)).toBe(bytes(3));
    expect(bytes(3)).not.toBe(bytes(4));
  });

  it("the generated sampler uses no Math.log or Math.cos (they may differ between engines)", async () => {
    const { source } = await loadGenerated(holder("he"), 1);
    const sampler = /function normal\([\s\S]*?\n}\n/.exec(source)![0];
    expect(sampler).not.toMatch(/Math\.(log|cos)\(/);
  });

  // Filters [O, C, kh, kw] of a convolution: fan_in = C·kh·kw, fan_out = O·kh·kw (PyTorch, Keras), not [in…, out]'s
  // O·C·kh and kw; a rank-3 parameter of a batched product [h, d, k] keeps [in…, out]: fan_in h·d, fan_out k.
  const convFilters = (spec: InitSpec) =>
    model("filters", ({ input, param }) => {
      const x = input("x", [16, 9, 9]);
      const K = param("K", [32, 16, 5, 5], { init: spec });
      const K1 = param("K1", [24, 16, 7], { init: spec });
      const F = param("F", [32, 16, 5, 5], { init: spec, trainable: false }); // read through a stop-gradient
      const y = nn.conv2d(x, K).add(nn.conv2d(x, F));
      return { loss: y.sum().add(nn.conv1d(x.reshape([16, 81]), K1).sum()) };
    });
  const fanTable: [string, InitSpec, number, number][] = [
    ["he", "he", 2 / (16 * 25), 2 / (16 * 7)],
    ["xavier", "xavier", 2 / (16 * 25 + 32 * 25), 2 / (16 * 7 + 24 * 7)],
    ["lecun", "lecun", 1 / (16 * 25), 1 / (16 * 7)],
  ];
  for (const [name, spec, variance2d, variance1d] of fanTable) {
    it(`${name} on conv2d/conv1d filters: fan_in C·∏k, fan_out O·∏k`, async () => {
      const { createTrainer } = await loadGenerated(convFilters(spec), 1);
      const { K, K1, F } = createTrainer({ seed: 3 }).params;
      for (const [values, variance] of [
        [K!, variance2d],
        [F!, variance2d],
        [K1!, variance1d],
      ] as const)
        expect(Math.abs(moments(values).variance - variance)).toBeLessThan(5 * variance * Math.sqrt(2 / values.length));
    });
  }
  it("he on a batched product's [h, d, k] parameter keeps fan_in h·d", async () => {
    const batched = model("batched", ({ input, param }) => {
      const x = input("x", [4, 16, 64]);
      const W = param("W", [4, 64, 32], { init: "he" });
      return { loss: x.matmul(W).sum() };
    });
    const { createTrainer } = await loadGenerated(batched, 1);
    const values = createTrainer({ seed: 4 }).params.W!;
    const variance = 2 / (4 * 64);
    expect(Math.abs(moments(values).variance - variance)).toBeLessThan(5 * variance * Math.sqrt(2 / values.length));
  });

  it("a sparse k above the fan-in is refused with the parameter's name", async () => {
    await expect(loadGenerated(holder(init.sparse(fanIn + 1)), 1)).rejects.toThrow(/param "W".*sparse\(401\)/);
  });
});

describe("dropout", () => {
  const width = 2000;
  const dropped = model("dropped", ({ input, param }) => {
    const x = input("x", [width]);
    const t = input("t", []);
    const w = param("w", [width], { init: "ones" });
    const h = nn.dropout(x.mul(w), 0.3);
    return { loss: h.sum().sub(t).square().mul(0.5), outputs: { h } };
  });
  const batch = { x: new Float64Array(2 * width).fill(1), t: new Float64Array([3, -1]) } satisfies Fields;

  it("predict and loss see the identity: deterministic, no scaling", async () => {
    const { createTrainer } = await loadGenerated(dropped, 2);
    const trainer = createTrainer({ seed: 1 });
    const first = [...trainer.predict({ x: batch.x }).h!];
    trainer.step(batch);
    trainer.params.w!.fill(1);
    expect([...trainer.predict({ x: batch.x }).h!]).toEqual(first);
    expect(first.every((v) => v === 1)).toBe(true);
    expect(trainer.loss(batch)).toBe((0.5 * ((width - 3) ** 2 + (width + 1) ** 2)) / 2);
  });

  it("training masks are fresh every step, drop ≈ 30% and keep the expected activation (inverted scaling)", async () => {
    const { createTrainer } = await loadGenerated(dropped, 2);
    const trainer = createTrainer({ seed: 2 });
    trainer.learningRate = 0; // keep w = 1, so the gradient reveals the mask: ∂C/∂w = mask·x·(Σh − t)
    const masks: number[][] = [];
    for (let step = 0; step < 3; step++) {
      trainer.step(batch, 1);
      const training = trainer.trainingLoss(batch, 1);
      const sumH = Math.sqrt(2 * training) + 3; // ½(Σh − 3)² with Σh > 3
      masks.push([...trainer.grads.w!].map((g) => g / (sumH - 3)));
    }
    for (const mask of masks) {
      const keptFraction = mask.filter((m) => m !== 0).length / width;
      expect(Math.abs(keptFraction - 0.7)).toBeLessThan(5 * Math.sqrt((0.7 * 0.3) / width));
      for (const m of mask) expect(m === 0 || Math.abs(m - 1 / 0.7) < 1e-12).toBe(true);
      const meanActivation = mask.reduce((a, b) => a + b, 0) / width;
      expect(Math.abs(meanActivation - 1)).toBeLessThan(5 * Math.sqrt(0.3 / 0.7 / width));
    }
    expect(masks[0]).not.toEqual(masks[1]);
    expect(masks[1]).not.toEqual(masks[2]);
  });

  it("gradients with a fixed mask match central differences of the training loss", async () => {
    const net = model("droppedNet", ({ input, param }) => {
      const x = input("x", [4]);
      const t = input("t", [2]);
      const W1 = param("W1", [4, 6], { init: "xavier" });
      const W2 = param("W2", [6, 2], { init: "xavier" });
      const h = nn.dropout(nn.tanh(x.matmul(W1)), 0.5);
      return { loss: nn.halfSquaredError(h.matmul(W2), t) };
    });
    const { createTrainer } = await loadGenerated(net, 3);
    const trainer = createTrainer({ seed: 9 });
    const data: Fields = {
      x: Float64Array.from({ length: 12 }, (_, i) => Math.sin(i + 1)),
      t: Float64Array.from({ length: 6 }, (_, i) => Math.cos(i)),
    };
    trainer.resampleDropout();
    trainer.gradient(data);
    const h = 1e-6;
    for (const name of ["W1", "W2"]) {
      const param = trainer.params[name]!;
      const analytic = [...trainer.grads[name]!];
      for (let i = 0; i < param.length; i++) {
        const saved = param[i]!;
        param[i] = saved + h;
        const up = trainer.trainingLoss(data);
        param[i] = saved - h;
        const down = trainer.trainingLoss(data);
        param[i] = saved;
        const numeric = (up - down) / (2 * h);
        expect(Math.abs(numeric - analytic[i]!)).toBeLessThan(1e-6 * Math.max(1, Math.abs(numeric)));
      }
    }
    // and the mask matters: the training loss differs from the inference loss
    expect(trainer.trainingLoss(data)).not.toBe(trainer.loss(data));
  });
});
