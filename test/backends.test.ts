// The WebAssembly SIMD matrix products and the plain-JavaScript fallback compute the same trainer:
// same losses, gradients and parameters after training, up to summation order (f32), and both agree
// with an f64 build.
import { describe, expect, it } from "vitest";
import { model, nn } from "gradgen";
import { loadGenerated, type Fields } from "./support/load-generated.js";

const net = model("backendNet", ({ input, param }) => {
  const x = input("x", [48]);
  const label = input("label", [10]);
  const W1 = param("W1", [48, 40], { init: "he" });
  const b1 = param("b1", [40]);
  const W2 = param("W2", [40, 10], { init: "xavier" });
  const b2 = param("b2", [10]);
  const logits = nn.relu(x.matmul(W1).add(b1)).matmul(W2).add(b2);
  return { loss: nn.softmaxCrossEntropy(logits, label), outputs: { logits } };
});

const batchSize = 20;
const data: Fields = {
  x: Float64Array.from({ length: batchSize * 48 }, (_, i) => Math.sin(i * 0.37)),
  label: Float64Array.from({ length: batchSize * 10 }, (_, i) => (i % 10 === Math.floor(i / 10) % 10 ? 1 : 0)),
};
const asF32 = (fields: Fields) =>
  Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, Float32Array.from(v)])) as unknown as Fields;

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tolerance: number): void {
  expect(a.length).toBe(b.length);
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  for (let i = 0; i < a.length; i++)
    expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(tolerance * Math.max(scale, 1e-3));
}

describe("backends", () => {
  it("the trainer uses WebAssembly where it can, and plain JS when asked", async () => {
    const { createTrainer, source } = await loadGenerated(net, batchSize, { dtype: "f32" });
    expect(source).toMatch(/gemm\(n, 40, 48,/); // the forward product runs through the blocked routine
    expect((createTrainer({ backend: "wasm" } as never) as unknown as { backend: string }).backend).toBe("wasm");
    expect((createTrainer({ backend: "js" } as never) as unknown as { backend: string }).backend).toBe("js");
    expect((createTrainer() as unknown as { backend: string }).backend).toBe("wasm");
  });

  it("a model whose products are all small embeds no WebAssembly (and says js)", async () => {
    const tiny = model("tinyNet", ({ input, param }) => {
      const h = nn.tanh(
        input("x", [2])
          .matmul(param("W1", [2, 4]))
          .add(param("b1", [4])),
      );
      return { loss: nn.halfSquaredError(h.matmul(param("W2", [4, 1])), input("t", [1])) };
    });
    const { createTrainer, source } = await loadGenerated(tiny, 4, { dtype: "f32" });
    // the blocked routine and its module (~10 KB of base64) are absent; the products are written out
    expect(source).not.toMatch(/AGFzbQ|wasmGemm|gemm\(/); // AGFzbQ: "\0asm", a module's first bytes in base64
    expect((createTrainer() as unknown as { backend: string }).backend).toBe("js");
    const { source: larger } = await loadGenerated(net, batchSize, { dtype: "f32" });
    expect(larger).toMatch(/AGFzbQ/); // the same check finds the module where a product uses it
  });

  for (const dtype of ["f32", "f64"] as const) {
    it(`${dtype}: wasm and js agree on loss, gradients and 20 training steps; both agree with f64`, async () => {
      const { createTrainer } = await loadGenerated(net, batchSize, { dtype, optimizer: "adam", learningRate: 0.01 });
      const { createTrainer: createReference } = await loadGenerated(net, batchSize, {
        dtype: "f64",
        optimizer: "adam",
        learningRate: 0.01,
      });
      const batch = dtype === "f32" ? asF32(data) : data;
      const wasm = createTrainer({ seed: 4, backend: "wasm" } as never);
      const js = createTrainer({ seed: 4, backend: "js" } as never);
      const reference = createReference({ seed: 4, backend: "js" } as never);
      // f32 sums of up to 48 terms in different orders: relative 1e-5 of the largest entry.
      const tolerance = dtype === "f32" ? 1e-5 : 1e-12;
      expect(Math.abs(wasm.gradient(batch) - js.gradient(batch))).toBeLessThan(tolerance * 10);
      const referenceLoss = reference.gradient(data);
      for (const name of ["W1", "b1", "W2", "b2"]) {
        expectClose(wasm.grads[name]!, js.grads[name]!, tolerance);
        expectClose(js.grads[name]!, reference.grads[name]!, dtype === "f32" ? 1e-4 : 1e-12);
      }
      expect(Math.abs(js.loss(batch) - referenceLoss)).toBeLessThan(dtype === "f32" ? 1e-5 : 1e-12);
      for (let i = 0; i < 20; i++) {
        wasm.step(batch);
        js.step(batch);
      }
      for (const name of ["W1", "b1", "W2", "b2"])
        expectClose(wasm.params[name]!, js.params[name]!, dtype === "f32" ? 1e-4 : 1e-10);
      expect(wasm.loss(batch)).toBeLessThan(referenceLoss); // and it trained
    });
  }
});
