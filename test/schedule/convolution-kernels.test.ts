// How convolution and pooling lower (issue 11, Speed): max pooling over windows that tile x reduces a
// reshape of x (no im2col copy, no col2im scatter, no stored tie mask), its gradient still shares ḡ
// equally among tied maxima; and a convolution's filter gradient Σₑ δₑᵀ·colsₑ is one product over the
// examples written in the filters' own layout [O, C·kh·kw] (no transposed copy after it), its bias
// gradient each example's sums first (no accumulation of all of δ over the examples).

import { describe, expect, it } from "vitest";
import { model, nn } from "gradgen";
import { programOf } from "../wgsl/support.js";
import type { GemmKernel, Kernel } from "../../src/schedule/program.js";
import { centralDifference, loadGenerated } from "../support/load-generated.js";

const comments = (kernels: readonly Kernel[]) =>
  kernels.flatMap((k) => (k.kind === "loop" || k.kind === "gemm" ? [k.comment] : []));

describe("max pooling over windows that tile x", () => {
  // x [2, 4, 6], 2×2 windows: 2 × 2 × 3 windows per example; loss Σⱼ cⱼ·pool(x)ⱼ with cⱼ = j + 1
  const pool = model("pool", ({ input }) => {
    const x = input("x", [2, 4, 6], { grad: true });
    const pooled = nn.maxPool2d(x, 2).reshape([12]);
    return { loss: pooled.mul(input("c", [12])).sum(), outputs: { pooled } };
  });

  it("lowers to reductions of x in place: no patches, no col2im, no stored tie mask", () => {
    const program = programOf(pool, { batch: 4 });
    for (const entry of program.entryPoints) {
      const kernels = comments(entry.kernels);
      expect(
        kernels.filter((c) => c.startsWith("patches")),
        entry.name,
      ).toEqual([]);
      expect(
        kernels.filter((c) => c.startsWith("equal")),
        entry.name,
      ).toEqual([]);
    }
  });

  it("gives each window's ḡ to its maximum, shared equally among ties (full and short batch)", async () => {
    const { createTrainer } = await loadGenerated(pool, 3);
    const trainer = createTrainer({ seed: 1 });
    // Example e: distinct values, except window (0, 0, 0) of example 1 tied in 3 and window (1, 1, 2) tied in 2.
    const example = (e: number) => Array.from({ length: 48 }, (_, i) => Math.sin(1.3 * i + 0.7 * e) + 0.01 * i);
    const xs = [0, 1, 2].map(example);
    for (const i of [0, 1, 6]) xs[1]![i] = 5; // channel 0, rows 0–1, columns 0–1: three of four tied
    for (const i of [24 + 18 + 4, 24 + 18 + 5]) xs[1]![i] = 7; // channel 1, row 3, columns 4–5
    const c = Array.from({ length: 12 }, (_, j) => j + 1);
    for (const n of [3, 2]) {
      const x = Float64Array.from(xs.slice(0, n).flat());
      trainer.gradient({ x, c: Float64Array.from(Array.from({ length: n }, () => c).flat()) }, n);
      for (let e = 0; e < n; e++) {
        // ∂/∂xᵢ Σⱼ cⱼ·maxⱼ = Σ over the window j holding i of cⱼ·[xᵢ = maxⱼ]/#{ties in j}, divided by n (the mean)
        const expected = new Array<number>(48).fill(0);
        for (let ch = 0; ch < 2; ch++)
          for (let r = 0; r < 2; r++)
            for (let q = 0; q < 3; q++) {
              const cells = [0, 1].flatMap((a) => [0, 1].map((b) => ch * 24 + (2 * r + a) * 6 + 2 * q + b));
              const max = Math.max(...cells.map((i) => xs[e]![i]!));
              const ties = cells.filter((i) => xs[e]![i] === max);
              for (const i of ties) expected[i]! += c[ch * 6 + r * 3 + q]! / ties.length / n;
            }
        const actual = trainer.inputGrads.x!.subarray(48 * e, 48 * (e + 1));
        expected.forEach((g, i) => expect(actual[i], `n ${n}, example ${e}, element ${i}`).toBeCloseTo(g, 12));
      }
    }
  });
});

describe("convolution filters", () => {
  const conv = model("conv", ({ input, param }) => {
    const x = input("x", [2, 6, 6]);
    const h = nn.relu(nn.conv2d(x, param("K", [3, 2, 3, 3], { init: "he" })).add(param("c", [3, 1, 1])));
    return { loss: h.square().sum() };
  });

  it("and their bias its gradient as each example's sums over positions, then a sum of O numbers over the examples", () => {
    const gradient = programOf(conv, { batch: 8 }).entryPoints.find((e) => e.name === "gradient")!;
    const sums = comments(gradient.kernels).filter((c) => /^(batchSum|sum) /.test(c));
    expect(sums.filter((c) => c.startsWith("batchSum [3, 4, 4]"))).toEqual([]);
    expect(sums.filter((c) => c.startsWith("sum [3] per example"))).toHaveLength(1);
    expect(sums.filter((c) => c.startsWith("batchSum [3] "))).toHaveLength(1);
  });

  it("get their gradient as one product over the examples, stored in the filters' layout [O, C·kh·kw]", () => {
    const gradient = programOf(conv, { batch: 8 }).entryPoints.find((e) => e.name === "gradient")!;
    const products = gradient.kernels.filter((k): k is GemmKernel => k.kind === "gemm" && k.k.perExample);
    // Σ over (example, position) of δ[p, o]·cols[p, c·k]: m = O = 3 rows, n = C·kh·kw = 18 columns
    expect(products.map((k) => [k.m.factor, k.n.factor, k.m.perExample, k.n.perExample])).toEqual([
      [3, 18, false, false],
    ]);
  });

  it("and those gradients match central differences (f64)", async () => {
    const { createTrainer } = await loadGenerated(conv, 3);
    const trainer = createTrainer({ seed: 5 });
    const batch = { x: Float64Array.from({ length: 3 * 72 }, (_, i) => Math.cos(0.37 * i + 0.1)) };
    trainer.gradient(batch);
    for (const name of ["K", "c"]) {
      const analytic = Float64Array.from(trainer.grads[name]!);
      for (let i = 0; i < analytic.length; i += name === "K" ? 5 : 1) {
        const central = centralDifference(trainer.params, name, i, () => trainer.loss(batch), 1e-5);
        expect(Math.abs(analytic[i]! - central), `${name}[${i}]`).toBeLessThan(
          1e-7 * Math.max(1, Math.abs(analytic[i]!)),
        );
      }
    }
  });
});
