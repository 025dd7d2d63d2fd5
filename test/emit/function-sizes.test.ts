// Issue 12, "never past the cliff": no function of a generated module grows past the size at which
// V8 stops optimising it. TurboFan refuses functions over 61,440 B of bytecode, reached at about
// 82 KB of the JavaScript V8 runs (docs/v8-function-limits.md, measured on Node 20 and 24); the
// limit here is that document's recommended margin, half: 40 KiB of JavaScript (esbuild's output,
// as importGenerated loads a module; a function's own size, nested functions left out). And a
// 120-layer model, whose entry points are split into parts that carry shared scalars between them,
// still computes the gradient that central differences give.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { transformSync } from "esbuild";
import { describe, expect, it } from "vitest";
import { compile, model, nn, type ModelDefinition } from "gradgen";
import { declarationSize, functionSizes, RUN_ONCE } from "../../bench/support/function-sizes.mjs";
import { loadGenerated } from "../support/load-generated.js";

const LIMIT_JS_BYTES = 40 * 1024;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

function oversized(typescript: string): string[] {
  const { code } = transformSync(typescript, { loader: "ts", format: "esm", target: "node20" });
  return functionSizes(code)
    .filter((f) => !RUN_ONCE.has(f.name) && f.ownBytes > LIMIT_JS_BYTES)
    .map((f) => `${f.name}: ${f.ownBytes} B of JavaScript (${f.ownLines} lines) > ${LIMIT_JS_BYTES}`);
}

/** A 32-wide tanh MLP of `layers` layers with ½‖h − t‖² (bench/scale.mjs's mlp rows). */
function tanhMlp(layers: number): ModelDefinition {
  return model("deepMlp", ({ input, param }) => {
    let h = input("x", [32]);
    for (let l = 1; l <= layers; l++)
      h = nn.tanh(h.matmul(param(`W${l}`, [32, 32], { init: "xavier" })).add(param(`b${l}`, [32])));
    return { loss: nn.halfSquaredError(h, input("t", [32])) };
  });
}

describe("generated function sizes", () => {
  const generated = readdirSync(path.join(root, "generated")).filter((file) => file.endsWith(".ts"));

  it.each(generated)("generated/%s: every per-call function is under 40 KiB of JavaScript", (file) => {
    expect(oversized(readFileSync(path.join(root, "generated", file), "utf8"))).toEqual([]);
  });

  it("a 120-layer 32-wide tanh MLP: every per-call function under the limit, the largest named in the header", () => {
    for (const dtype of ["f32", "f64"] as const) {
      const source = compile(tanhMlp(120), { batch: 32, dtype }).files[0]!.contents;
      expect(oversized(source)).toEqual([]);
      // Split: the gradient is a driver calling parts.
      expect(source).toMatch(/function gradientProgram2\(/);
      const header = /^\/\/ Largest entry function: (\w+), (\d+) lines, ([\d.]+) KB /m.exec(source);
      expect(header).not.toBeNull();
      const [, name, lines, kilobytes] = header!;
      const declared = declarationSize(source, name!)!;
      expect(declared.lines).toBe(Number(lines));
      expect(declared.bytes / 1000).toBeCloseTo(Number(kilobytes), 1);
      // No other entry function (nor part) is larger.
      for (const match of source.matchAll(/^ {2}function (\w+Program\d*)\(/gm))
        expect(declarationSize(source, match[1]!)!.bytes).toBeLessThanOrEqual(declared.bytes);
    }
  });
});

describe("a 120-layer model split into parts", () => {
  it("gradient matches f64 central differences across the parts (and the carried scalars)", async () => {
    const layers = 120;
    const batch = 4;
    const module = await loadGenerated(tanhMlp(layers), batch);
    expect(module.source).toMatch(/carried\[\d+\] = s\d+;/); // a scalar crosses a cut
    const trainer = module.createTrainer({ seed: 3 });
    const fields = {
      x: Float64Array.from({ length: batch * 32 }, (_, i) => Math.sin(0.37 * i + 1)),
      t: Float64Array.from({ length: batch * 32 }, (_, i) => 0.5 * Math.cos(0.23 * i)),
    };
    const loss = trainer.gradient(fields);
    expect(loss).toBeCloseTo(trainer.loss(fields), 12);
    const h = 1e-5;
    let checked = 0;
    for (const layer of [1, 2, 40, 60, 61, 100, 119, 120])
      for (const [param, index] of [
        [`W${layer}`, (layer * 37) % 1024],
        [`W${layer}`, (layer * 101 + 5) % 1024],
        [`b${layer}`, layer % 32],
      ] as const) {
        const values = trainer.params[param]!;
        const saved = values[index]!;
        values[index] = saved + h;
        const up = trainer.loss(fields);
        values[index] = saved - h;
        const down = trainer.loss(fields);
        values[index] = saved;
        const central = (up - down) / (2 * h);
        const analytic = trainer.grads[param]![index]!;
        expect(Math.abs(analytic - central), `${param}[${index}]: ${analytic} vs ${central}`).toBeLessThanOrEqual(
          1e-6 * Math.abs(central) + 1e-9,
        );
        if (Math.abs(central) > 1e-6) checked++;
      }
    // Most sampled derivatives are not vanishingly small, so the comparison says something.
    expect(checked).toBeGreaterThan(12);
  });
});
