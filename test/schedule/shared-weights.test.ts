// A weight shared by every example gets its gradient Σ_b x_bᵀ·δ_b as one product whose contraction
// runs over the examples, also where the backward pass reaches it through a transpose (attention's
// Wk: ∂C/∂K = (qᵀ·∂C/∂S)ᵀ, which the simplifier writes ∂C/∂Sᵀ·q so that it is stored row-major).

import { describe, expect, it } from "vitest";
import { model, nn } from "gradgen";
import { programOf } from "../wgsl/support.js";
import type { GemmKernel } from "../../src/schedule/program.js";
import { loadGenerated } from "../support/load-generated.js";

const attention = model("attention", ({ input, param }) => {
  const x = input("x", [6, 8]);
  const [q, k, v] = ["Wq", "Wk", "Wv"].map((name) => x.matmul(param(name, [8, 8], { init: "xavier" })));
  const weights = nn.softmax(q!.matmul(k!.transpose()).mul(0.35));
  return { loss: weights.matmul(v!).square().sum() };
});

describe("shared weights", () => {
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
