// Elementwise work fused into the epilogue of the matrix product that produces its input (bias +
// activation after x·W): which pairs the planner fuses and which it must not, the dispatches a step
// saves, and that the fused and unfused shaders give the TypeScript trainer's results.
import { afterAll, describe, expect, it } from "vitest";
import { model, nn } from "gradgen";
import xor from "../../examples/xor.js";
import mlp from "../../examples/mlp.js";
import { planEpilogueFusions, planWgsl } from "../../src/emit/wgsl/index.js";
import { removeTempDirs } from "../cli-helpers.js";
import {
  gpu,
  loadBoth,
  loadWgsl,
  programOf,
  relativeError,
  type Fields,
  type GpuContext,
  type GpuTrainer,
} from "./support.js";

const context = await gpu();
const device = typeof context === "string" ? undefined : (context as GpuContext).device;
afterAll(() => removeTempDirs());

/** A kernel comment without the model line it names. */
const withoutLine = (comment: string) => comment.replace(/\s+\([^()]*:\d+\)$/, "");

/** Which kernels the planner fuses, as "gemm comment → loop comment", per entry point. */
function fusedPairs(definition: Parameters<typeof programOf>[0], batch: number): Record<string, string[]> {
  const program = programOf(definition, { batch });
  return Object.fromEntries(
    program.entryPoints.map((entry) => [
      entry.name,
      [...planEpilogueFusions(program, entry).values()].map(
        (f) =>
          `${withoutLine((entry.kernels[f.gemm] as { comment: string }).comment)} → ${withoutLine(f.loop.comment)}`,
      ),
    ]),
  );
}

const stepDispatches = (definition: Parameters<typeof programOf>[0], fuseEpilogues: boolean) =>
  planWgsl(programOf(definition, { batch: 4 }), { fuseEpilogues }).sequences.step.length;

/** h = x·W feeds the activation and is also read later (h·h in the loss): its values must stay stored. */
const reusedProduct = model("wgsl_reused_product", ({ input, param }) => {
  const x = input("x", [3]);
  const h = x.matmul(param("W", [3, 4]));
  const y = nn.tanh(h.add(param("b", [4])));
  return { loss: y.sum().add(h.mul(h).sum()), outputs: { y } };
});

describe("epilogue fusion: the plan", () => {
  it("fuses bias + activation into the forward products and the activation derivative into the backward one", () => {
    const xorPairs = fusedPairs(xor, 4);
    expect(xorPairs.gradient).toEqual([
      "matmul [1, 4] per example → sigmoid [4] per example",
      "matmul [1, 1] per example → sigmoid [1] per example",
      "matmul [1, 4] per example → mul [4] per example",
    ]);
    expect(xorPairs.predict).toHaveLength(2);
    expect(xorPairs.update).toEqual([]);
    const mlpPairs = fusedPairs(mlp, 64);
    expect(mlpPairs.gradient).toEqual([
      "matmul [1, 128] per example → maximum [128] per example",
      "matmul [1, 10] per example → add [10] per example",
      "matmul [1, 128] per example → mul [128] per example",
    ]);
    // In loss(), the activation overwrites the product's own operand (an in-place work slot): not fused.
    expect(mlpPairs.loss).toEqual([]);
  });

  // The mnist MLP: 12 → 9 at batch 4 (no staging copy of the input on the GPU; products this small are not split).
  it("dispatches per step: xor 12 → 9, the mnist MLP 12 → 9", () => {
    expect([stepDispatches(xor, false), stepDispatches(xor, true)]).toEqual([12, 9]);
    expect([stepDispatches(mlp, false), stepDispatches(mlp, true)]).toEqual([12, 9]);
  });

  it("does not fuse when a later kernel reads the product's values", () => {
    const pairs = fusedPairs(reusedProduct, 4);
    for (const name of ["loss", "gradient"]) {
      expect(
        pairs[name]!.some((p) => p.startsWith("matmul [1, 4] per example → tanh")),
        `${name}: ${pairs[name]!.join("; ")}`,
      ).toBe(false);
    }
  });
});

describe.runIf(device)("epilogue fusion: fused and unfused shaders agree with the TypeScript trainer", () => {
  const xorBatch: Fields = { x: new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]), t: new Float32Array([0, 1, 1, 0]) };
  const mlpBatch = (batch: number): Fields => {
    const x = new Float32Array(batch * 784).map((_, i) => ((i * 7919) % 256) / 255);
    const label = new Float32Array(batch * 10);
    for (let e = 0; e < batch; e++) label[e * 10 + ((e * 3) % 10)] = 1;
    return { x, label };
  };
  const reusedBatch: Fields = { x: new Float32Array(12).map((_, i) => Math.sin(i + 1)) };

  it.each([
    ["xor", xor, 4, { learningRate: 2 }, xorBatch, 1e-5 * 4],
    ["mlp", mlp, 5, { learningRate: 0.05 }, mlpBatch(5), 1e-5 * 5 * 784],
    ["a product read again later", reusedProduct, 4, { learningRate: 0.1 }, reusedBatch, 1e-5 * 4 * 4],
  ] as const)(
    "%s: gradients, predictions and three steps (also on a short batch)",
    async (_, definition, batch, options, data, tolerance) => {
      const { cpu: cpuModule } = await loadBoth(definition, batch, options);
      const fused = await loadWgsl(definition, { batch, ...options }, {});
      const unfused = await loadWgsl(definition, { batch, ...options }, { fuseEpilogues: false });
      expect(fused.source).not.toBe(unfused.source);
      const cpu = cpuModule.createTrainer({ seed: 4 });
      const trainers: GpuTrainer[] = [
        await fused.createGpuTrainer(device!, { seed: 4 }),
        await unfused.createGpuTrainer(device!, { seed: 4 }),
      ];
      const params = Object.keys(cpu.params);
      const outputs = (values: Fields) =>
        Object.keys(values)
          .sort()
          .map((k) => values[k]!);
      for (const n of [batch, batch - 1]) {
        const expected = cpu.gradient(data, n);
        for (const trainer of trainers) {
          expect(relativeError([await trainer.gradient(data, n)], [expected])).toBeLessThan(tolerance);
          for (const name of params)
            expect(relativeError(await trainer.readGrad(name), cpu.grads[name]!), name).toBeLessThan(tolerance);
          const predicted = outputs(await trainer.predict(data, n));
          outputs(cpu.predict(data, n)).forEach((values, i) =>
            expect(relativeError(predicted[i]!, values)).toBeLessThan(tolerance),
          );
        }
      }
      for (let i = 0; i < 3; i++) {
        const expected = cpu.step(data);
        for (const trainer of trainers)
          expect(relativeError([await trainer.step(data)], [expected])).toBeLessThan(tolerance);
      }
      for (const name of params) {
        const [a, b] = [await trainers[0]!.read(name), await trainers[1]!.read(name)];
        expect(relativeError(a, cpu.params[name]!), name).toBeLessThan(tolerance);
        expect(relativeError(a, b), `${name}: fused against unfused`).toBeLessThan(1e-6);
      }
      trainers.forEach((t) => t.destroy());
    },
    60_000,
  );
});
