// A weight shared by every example gets its gradient Σ_b x_bᵀ·δ_b as one product whose contraction
// runs over the examples, also where the backward pass reaches it through a transpose (attention's
// Wk: ∂C/∂K = (qᵀ·∂C/∂S)ᵀ, which the simplifier writes ∂C/∂Sᵀ·q so that it is stored row-major).
// A weight shared across the steps of an unrolled RNN gets its T terms Σₜ hₜ₋₁ᵀ·δₜ stacked into one
// product over (example, step) (passes/shared-products.ts), with each δₜ written straight into its
// row of the stack (schedule/concat-windows.ts).

import { describe, expect, it } from "vitest";
import { model, nn } from "gradgen";
import { programOf } from "../wgsl/support.js";
import type { GemmKernel } from "../../src/schedule/program.js";
import { loadGenerated, type GeneratedTrainer } from "../support/load-generated.js";

const attention = model("attention", ({ input, param }) => {
  const x = input("x", [6, 8]);
  const [q, k, v] = ["Wq", "Wk", "Wv"].map((name) => x.matmul(param(name, [8, 8], { init: "xavier" })));
  const weights = nn.softmax(q!.matmul(k!.transpose()).mul(0.35));
  return { loss: weights.matmul(v!).square().sum() };
});

/** An Elman RNN unrolled over `steps` steps, hidden `hidden`, input 4: Wh and Wx are shared across time. */
const unrolledRnn = (steps: number, hidden: number) =>
  model(`rnn${steps}x${hidden}`, ({ input, param }) => {
    const Wx = param("Wx", [4, hidden], { init: "xavier" });
    const Wh = param("Wh", [hidden, hidden], { init: "xavier" });
    let h = nn.tanh(input("x0", [4]).matmul(Wx));
    for (let t = 1; t < steps; t++) h = nn.tanh(input(`x${t}`, [4]).matmul(Wx).add(h.matmul(Wh)));
    return { loss: h.square().sum() };
  });

/** Relative agreement of the generated gradient of `name` with f64 central differences at a few entries. */
function expectCentralDifferences(
  trainer: GeneratedTrainer,
  batch: Record<string, Float64Array>,
  name: string,
  stride: number,
): void {
  trainer.gradient(batch);
  const analytic = Float64Array.from(trainer.grads[name]!);
  const h = 1e-5;
  for (let i = 0; i < analytic.length; i += stride) {
    const original = trainer.params[name]![i]!;
    trainer.params[name]![i] = original + h;
    const plus = trainer.loss(batch);
    trainer.params[name]![i] = original - h;
    const minus = trainer.loss(batch);
    trainer.params[name]![i] = original;
    expect(Math.abs(analytic[i]! - (plus - minus) / (2 * h))).toBeLessThan(1e-7 * Math.max(1, Math.abs(analytic[i]!)));
  }
}

describe("shared weights", () => {
  it("unrolled RNN, hidden 32: Wh's gradient is one product over (example, step), no per-step products", () => {
    const gradient = programOf(unrolledRnn(6, 32), { batch: 16 }).entryPoints.find((e) => e.name === "gradient")!;
    const products = gradient.kernels.filter((k): k is GemmKernel => k.kind === "gemm");
    const whShaped = products.filter((k) => k.m.factor === 32 && k.n.factor === 32 && !k.m.perExample);
    expect(whShaped.length).toBe(1);
    // contraction over example × the 5 steps that use Wh
    expect(whShaped[0]!.k).toEqual({ factor: 5, perExample: true });
    expect(whShaped[0]!.c.buffer).toMatch(/Wh/);
  });

  it("unrolled RNN, hidden 32: Wh and Wx against central differences (f64), short batch too", async () => {
    const { createTrainer } = await loadGenerated(unrolledRnn(6, 32), 4);
    const trainer = createTrainer({ seed: 5 });
    for (const n of [4, 3]) {
      const batch: Record<string, Float64Array> = {};
      for (let t = 0; t < 6; t++)
        batch[`x${t}`] = Float64Array.from({ length: n * 4 }, (_, i) => Math.sin(0.9 * i + t));
      expectCentralDifferences(trainer, batch, "Wh", 37);
      expectCentralDifferences(trainer, batch, "Wx", 11);
    }
  });

  it("attention: the gradients of Wq, Wk and Wv are one product over the examples each", () => {
    const gradient = programOf(attention, { batch: 16 }).entryPoints.find((e) => e.name === "gradient")!;
    const products = gradient.kernels.filter((k): k is GemmKernel => k.kind === "gemm");
    const weightShaped = products.filter((k) => k.m.factor === 8 && k.n.factor === 8 && !k.m.perExample);
    // three [8, 8] products, each contracting over (example, row): none repeated per example and summed after
    expect(weightShaped.length).toBe(3);
    for (const product of weightShaped) {
      expect(product.k.perExample).toBe(true);
      expect(product.repeat).toBeUndefined();
    }
  });

  it("attention: the gradient of Wk against central differences (f64)", async () => {
    const { createTrainer } = await loadGenerated(attention, 3);
    const trainer = createTrainer({ seed: 3 });
    const batch = { x: Float64Array.from({ length: 3 * 48 }, (_, i) => Math.sin(0.7 * i + 0.2)) };
    trainer.gradient(batch);
    const analytic = Float64Array.from(trainer.grads.Wk!);
    const h = 1e-5;
    for (let i = 0; i < 64; i += 7) {
      const original = trainer.params.Wk![i]!;
      trainer.params.Wk![i] = original + h;
      const plus = trainer.loss(batch);
      trainer.params.Wk![i] = original - h;
      const minus = trainer.loss(batch);
      trainer.params.Wk![i] = original;
      expect(Math.abs(analytic[i]! - (plus - minus) / (2 * h))).toBeLessThan(
        1e-7 * Math.max(1, Math.abs(analytic[i]!)),
      );
    }
  });
});
