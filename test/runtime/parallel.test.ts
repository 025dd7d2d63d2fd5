// Data-parallel steps (gradgen/parallel) give the single-thread step's results, up to summation order.
import { afterAll, describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { transform } from "esbuild";
import { compile, model, nn, type CompileOptions } from "gradgen";
import { createDataParallelTrainer } from "gradgen/parallel";

const directory = mkdtempSync(path.join(tmpdir(), "gradgen-parallel-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const net = model("parallelNet", ({ input, param }) => {
  const x = input("x", [12]);
  const label = input("label", [4]);
  const W1 = param("W1", [12, 16], { init: "he" });
  const b1 = param("b1", [16]);
  const W2 = param("W2", [16, 4], { init: "xavier" });
  const logits = nn.tanh(x.matmul(W1).add(b1)).matmul(W2);
  return { loss: nn.softmaxCrossEntropy(logits, label) };
});

/** The generated trainer as a JavaScript module file (what a user ships), with its module namespace. */
async function generatedModule(options: CompileOptions, tag: string) {
  const { files } = compile(net, { batch: 10, dtype: "f64", ...options });
  const { code } = await transform(files[0]!.contents, { loader: "ts", format: "esm" });
  const file = path.join(directory, `${tag}.mjs`);
  writeFileSync(file, code);
  return { file, module: await import(file) };
}

const data = {
  x: Float64Array.from({ length: 10 * 12 }, (_, i) => Math.sin(i * 0.7)),
  label: Float64Array.from({ length: 10 * 4 }, (_, i) => (i % 4 === Math.floor(i / 4) % 4 ? 1 : 0)),
};

describe("data-parallel training", () => {
  for (const [optimizer, threads] of [
    ["adam", 2],
    ["nesterov", 3],
  ] as const) {
    it(`${optimizer}, ${threads} threads: the same losses and parameters as one thread (f64, up to summation order)`, async () => {
      const { file, module } = await generatedModule({ optimizer, learningRate: 0.05 }, `${optimizer}-${threads}`);
      const single = module.createTrainer({ seed: 3 });
      const parallel = await createDataParallelTrainer({ module: file, threads, trainerOptions: { seed: 3 } });
      try {
        for (let step = 0; step < 6; step++) {
          const n = step === 5 ? 7 : 10; // a short last batch too
          const expected = single.step(data, n);
          const got = parallel.step(data, n);
          expect(Math.abs(got - expected)).toBeLessThan(1e-12 * Math.max(1, Math.abs(expected)));
        }
        for (const name of ["W1", "b1", "W2"]) {
          const a = parallel.trainer.params[name]!;
          const b = single.params[name];
          for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i])).toBeLessThan(1e-12);
        }
        expect(parallel.trainer.state.step).toBe(6);
      } finally {
        await parallel.close();
      }
    });
  }

  it("refuses a thread count that is not a whole number ≥ 1", async () => {
    const { file } = await generatedModule({}, "sgd");
    await expect(createDataParallelTrainer({ module: file, threads: 0 })).rejects.toThrow(
      /threads must be a whole number/,
    );
  });
});
