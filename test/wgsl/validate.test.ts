// Compile-time WGSL validation (Dawn's Tint on the null backend): the CLI's check before writing.
import { describe, expect, it } from "vitest";
import { compile } from "gradgen";
import { validateWgsl } from "../../src/emit/wgsl-validate.js";
import xor from "../../examples/xor.js";
import mlp from "../../examples/mlp.js";

describe("compile-time WGSL validation", () => {
  it("accepts every shader of the examples and reports a broken one with its line", async () => {
    for (const definition of [xor, mlp]) {
      const wgsl = compile(definition, { batch: 4, targets: ["wgsl"] }).files[0]!;
      expect(wgsl.shaders!.length).toBeGreaterThan(3);
      expect(await validateWgsl(wgsl.shaders!)).toEqual([]);
    }
    const problems = await validateWgsl(["@compute @workgroup_size(1) fn main() {\n  let x: f32 = 1.0 + true;\n}"]);
    expect(problems).toHaveLength(1);
    expect(problems![0]).toMatchObject({ shader: 0, line: 2 });
    expect(problems![0]!.message).toMatch(/no matching overload/);
  });
});
