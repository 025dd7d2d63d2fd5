// Issue 11 (batched products, comparisons, constants): bad input is one clear paragraph naming the
// model's line; constants are written into generated code exactly and deterministically.
import { describe, expect, it } from "vitest";
import { compile, constant, GradgenError, model, nn, type ModelBuilder, type Tensor } from "gradgen";

function errorOf(build: (b: ModelBuilder) => Tensor): GradgenError {
  const definition = model("bad", (b) => ({ loss: build(b).sum() }));
  try {
    compile(definition);
  } catch (error) {
    expect(error).toBeInstanceOf(GradgenError);
    return error as GradgenError;
  }
  throw new Error("compiled");
}

describe("bad input names the model's line", () => {
  const cases: [string, (b: ModelBuilder) => Tensor, RegExp][] = [
    [
      "matmul: leading dims that do not broadcast",
      ({ input }) => input("x", [2, 3, 4]).matmul(input("y", [3, 4, 5])),
      /matmul: the leading \(batch\) dimensions of \[2, 3, 4\] and \[3, 4, 5\] do not broadcast/,
    ],
    [
      "matmul: inner dimensions of stacks",
      ({ input }) => input("x", [2, 3, 4]).matmul(input("y", [2, 3, 5])),
      /inner dimensions \(4 and 3\) must agree/,
    ],
    ["nn.clip: lo above hi", ({ input }) => nn.clip(input("x", [2]), 1, -1), /lo \(1\) must not exceed hi \(-1\)/],
    ["nn.clip: NaN bound", ({ input }) => nn.clip(input("x", [2]), Number.NaN, 1), /lo must be a number/],
    [
      "constant: too few values",
      ({ input }) => input("x", [2, 2]).mul(constant([1, 2, 3], [2, 2])),
      /constant: 3 value\(s\) do not fill shape \[2, 2\] \(4 elements\)/,
    ],
    [
      "constant: a non-finite value",
      ({ input }) => input("x", [2]).mul(constant([1, Infinity], [2])),
      /constant: value 1 is Infinity/,
    ],
    [
      "param: trainable not a boolean",
      ({ input, param }) => input("x", [2]).mul(param("w", [2], { trainable: "no" as unknown as boolean })),
      /trainable must be true or false/,
    ],
  ];
  for (const [name, build, message] of cases) {
    it(name, () => {
      const error = errorOf(build);
      expect(error.message).toMatch(message);
      expect(error.location?.file).toMatch(/batched-constants\.test\.ts$/);
    });
  }
});

describe("constants in generated code", () => {
  it("are written exactly (shortest round-trip text) and the same bytes on every compile", () => {
    const values = [0.1, 1 / 3, -2.5e-300, 123456789.125, 0];
    const definition = model("constants", ({ input }) => ({
      loss: input("x", [5])
        .mul(constant(values, [5]))
        .sum(),
    }));
    const first = compile(definition, { dtype: "f64" }).files[0]!.contents;
    expect(first).toContain(`.set([0.1, 0.3333333333333333, -2.5e-300, 123456789.125, 0]);`);
    expect(compile(definition, { dtype: "f64" }).files[0]!.contents).toBe(first);
  });
});

describe("batched products large enough for the blocked GEMM (WebAssembly and JavaScript)", () => {
  it("[2, 24, 20]·[20, 24] per example and [2, 24, 20]·[2, 20, 24] against the definition", async () => {
    const { loadGenerated } = await import("./support/load-generated.js");
    const definition = model("bigStacks", ({ input, param }) => {
      const x = input("x", [2, 24, 20]);
      const y = x.matmul(param("W", [20, 24])).add(x.matmul(input("z", [2, 20, 24])));
      return { loss: y.sum(), outputs: { y } };
    });
    const module = await loadGenerated(definition, 3);
    const random = (() => {
      let s = 1;
      return () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
    })();
    const W = Array.from({ length: 20 * 24 }, random);
    const x = Float64Array.from({ length: 3 * 2 * 24 * 20 }, random);
    const z = Float64Array.from({ length: 3 * 2 * 20 * 24 }, random);
    for (const backend of ["wasm", "js"] as const) {
      const trainer = (module.createTrainer as (o: object) => ReturnType<typeof module.createTrainer>)({
        params: { W },
        backend,
      });
      const { y } = trainer.predict({ x, z });
      let worst = 0;
      for (let e = 0; e < 3; e++)
        for (let h = 0; h < 2; h++)
          for (let i = 0; i < 24; i++)
            for (let j = 0; j < 24; j++) {
              let want = 0;
              for (let p = 0; p < 20; p++) {
                const a = x[((e * 2 + h) * 24 + i) * 20 + p]!;
                want += a * W[p * 24 + j]! + a * z[((e * 2 + h) * 20 + p) * 24 + j]!;
              }
              worst = Math.max(worst, Math.abs(y![((e * 2 + h) * 24 + i) * 24 + j]! - want));
            }
      expect(worst, backend).toBeLessThan(1e-12);
    }
  });
});
