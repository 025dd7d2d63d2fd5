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
import { unrolledRnn } from "../../bench/support/deep-graphs.mjs";
import { centralDifference, loadGenerated } from "../support/load-generated.js";

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

/**
 * h ← tanh(h·W + b), `steps` times, shared W [8, 8] and b [8]: the gradient of b is one sum of
 * `steps` terms Σ_t δ_t (of W, Σ_t h_{t−1}ᵀ·δ_t), an elementwise kernel of about 2·steps values.
 */
function sharedRecurrence(steps: number): ModelDefinition {
  return model("sharedRecurrence", ({ input, param }) => {
    const W = param("W", [8, 8], { init: "xavier" });
    const b = param("b", [8]);
    let h = input("x", [8]);
    for (let t = 0; t < steps; t++) h = nn.tanh(h.matmul(W).add(b));
    return { loss: nn.halfSquaredError(h, input("t", [8])) };
  });
}

/** h ← tanh(h ⊙ w + b) over `steps` steps, no product: one chain of 3·steps elementwise ops. */
function elementwiseRecurrence(steps: number): ModelDefinition {
  return model("elementwiseRecurrence", ({ input, param }) => {
    const w = param("w", [8]);
    const b = param("b", [8]);
    let h = input("x", [8]);
    for (let t = 0; t < steps; t++) h = nn.tanh(h.mul(w).add(b));
    return { loss: nn.halfSquaredError(h, input("t", [8])) };
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

describe("a sum of 1,000 terms cut into kernels (src/schedule/wide-sums.ts)", () => {
  const steps = 1000;
  const batch = 3;
  const width = 8;
  const W = Float64Array.from({ length: width * width }, (_, k) => 0.45 * Math.sin(1.3 * k + 0.4));
  const b = Float64Array.from({ length: width }, (_, k) => 0.1 * Math.cos(0.7 * k));
  const fields = {
    x: Float64Array.from({ length: batch * width }, (_, i) => Math.sin(0.37 * i + 1)),
    t: Float64Array.from({ length: batch * width }, (_, i) => 0.5 * Math.cos(0.23 * i)),
  };

  it("every per-call function is under the limit, though the gradient of b alone is ~2,000 values", () => {
    for (const dtype of ["f32", "f64"] as const) {
      const source = compile(sharedRecurrence(steps), { batch: 32, dtype }).files[0]!.contents;
      expect(oversized(source)).toEqual([]);
    }
  });

  it("gradient: the textbook backpropagation in f64 (to 1e-12), and central differences", async () => {
    const module = await loadGenerated(sharedRecurrence(steps), batch);
    expect(module.source).toMatch(/part 2 of \d+ of its sum/);
    const trainer = module.createTrainer({ params: { W, b } });
    // Forward: hₜ₊₁ = tanh(hₜ·W + b) per example, loss = mean over examples of ½‖h_T − t‖².
    const hs: Float64Array[][] = [];
    let reference = 0;
    for (let e = 0; e < batch; e++) {
      const h = [fields.x.slice(e * width, (e + 1) * width)];
      for (let s = 0; s < steps; s++) {
        const next = new Float64Array(width);
        for (let j = 0; j < width; j++) {
          let z = b[j]!;
          for (let i = 0; i < width; i++) z += h[s]![i]! * W[i * width + j]!;
          next[j] = Math.tanh(z);
        }
        h.push(next);
      }
      hs.push(h);
      for (let j = 0; j < width; j++) reference += (0.5 * (h[steps]![j]! - fields.t[e * width + j]!) ** 2) / batch;
    }
    // Backward: δ_T = (h_T − t)/n; g = δ ⊙ (1 − hₜ₊₁²); ∂b += g, ∂W += hₜᵀ·g, δ ← g·Wᵀ.
    const [gradW, gradB] = [new Float64Array(width * width), new Float64Array(width)];
    for (let e = 0; e < batch; e++) {
      const h = hs[e]!;
      let delta = h[steps]!.map((v, j) => (v - fields.t[e * width + j]!) / batch);
      for (let s = steps - 1; s >= 0; s--) {
        const g = delta.map((d, j) => d * (1 - h[s + 1]![j]! ** 2));
        for (let j = 0; j < width; j++) {
          gradB[j] = gradB[j]! + g[j]!;
          for (let i = 0; i < width; i++) gradW[i * width + j] = gradW[i * width + j]! + h[s]![i]! * g[j]!;
        }
        delta = Float64Array.from({ length: width }, (_, i) =>
          g.reduce((sum, gj, j) => sum + gj * W[i * width + j]!, 0),
        );
      }
    }
    const loss = trainer.gradient(fields);
    expect(Math.abs(loss - reference)).toBeLessThanOrEqual(1e-12 * Math.abs(reference));
    expect(trainer.loss(fields)).toBe(loss);
    for (const [name, expected] of [
      ["W", gradW],
      ["b", gradB],
    ] as const) {
      const scale = Math.max(...expected.map(Math.abs));
      expect(scale).toBeGreaterThan(1e-3);
      expected.forEach((value, k) =>
        expect(Math.abs(trainer.grads[name]![k]! - value), `${name}[${k}]`).toBeLessThanOrEqual(1e-12 * scale),
      );
    }
    const h = 1e-5;
    for (const [name, index] of [
      ["b", 0],
      ["b", 5],
      ["W", 9],
      ["W", 62],
    ] as const) {
      const central = centralDifference(trainer.params, name, index, () => trainer.loss(fields), h);
      const analytic = trainer.grads[name]![index]!;
      expect(Math.abs(analytic - central), `${name}[${index}]`).toBeLessThanOrEqual(1e-6 * Math.abs(central) + 1e-9);
    }
  });
});

describe("long unrolled loops (src/schedule/fusion-limit.ts, src/emit/typescript-inputs.ts)", () => {
  it("bench/scale.mjs's RNN at T = 1,000 (1,001 inputs, sums of 1,000 terms): every per-call function under the limit", () => {
    expect(oversized(compile(unrolledRnn({ model, nn }, 1000), { batch: 32 }).files[0]!.contents)).toEqual([]);
  }, 60_000);

  it("a chain that reads a fresh parameter at every op (widths 4, 8, 16): every per-call function under the limit", () => {
    // Each op loads its own parameter, the widest mix per fused op; small widths are written out straight-line.
    for (const width of [4, 8, 16]) {
      const definition = model(`freshParameters${width}`, ({ input, param }) => {
        let h = input("x", [width]);
        for (let k = 0; k < 400; k++) {
          const p = param(`p${k}`, [width]);
          h = k % 2 ? h.mul(p).sin() : h.add(p).mul(p);
        }
        return { loss: nn.halfSquaredError(h, input("t", [width])) };
      });
      expect(oversized(compile(definition, { batch: 32 }).files[0]!.contents), `width ${width}`).toEqual([]);
    }
  }, 60_000);

  it("an elementwise chain of 3,000 ops is cut into loops: every per-call function under the limit", () => {
    for (const dtype of ["f32", "f64"] as const)
      expect(oversized(compile(elementwiseRecurrence(1000), { batch: 32, dtype }).files[0]!.contents)).toEqual([]);
  });

  it("the cut chain's loss and gradient: the textbook forward and backward passes in f64 (to 1e-12)", async () => {
    const [steps, batch, width] = [1000, 3, 8];
    const module = await loadGenerated(elementwiseRecurrence(steps), batch);
    const w = Float64Array.from({ length: width }, (_, k) => 0.9 + 0.05 * Math.sin(k));
    const b = Float64Array.from({ length: width }, (_, k) => 0.1 * Math.cos(0.7 * k));
    const trainer = module.createTrainer({ params: { w, b } });
    const fields = {
      x: Float64Array.from({ length: batch * width }, (_, i) => Math.sin(0.37 * i + 1)),
      t: Float64Array.from({ length: batch * width }, (_, i) => 0.5 * Math.cos(0.23 * i)),
    };
    // Forward hₛ₊₁ = tanh(hₛ ⊙ w + b); loss = mean over examples of ½‖h_T − t‖². Backward: δ_T = (h_T − t)/n,
    // g = δ ⊙ (1 − hₛ₊₁²), ∂w += g ⊙ hₛ, ∂b += g, δ ← g ⊙ w. Each component is its own scalar recurrence.
    let reference = 0;
    const [gradW, gradB] = [new Float64Array(width), new Float64Array(width)];
    for (let e = 0; e < batch; e++)
      for (let j = 0; j < width; j++) {
        const h = [fields.x[e * width + j]!];
        for (let s = 0; s < steps; s++) h.push(Math.tanh(h[s]! * w[j]! + b[j]!));
        const residual = h[steps]! - fields.t[e * width + j]!;
        reference += (0.5 * residual * residual) / batch;
        let delta = residual / batch;
        for (let s = steps - 1; s >= 0; s--) {
          const g = delta * (1 - h[s + 1]! ** 2);
          gradW[j] = gradW[j]! + g * h[s]!;
          gradB[j] = gradB[j]! + g;
          delta = g * w[j]!;
        }
      }
    const loss = trainer.gradient(fields);
    expect(Math.abs(loss - reference)).toBeLessThanOrEqual(1e-12 * Math.abs(reference));
    for (const [name, expected] of [
      ["w", gradW],
      ["b", gradB],
    ] as const) {
      const scale = Math.max(...expected.map(Math.abs));
      expect(scale).toBeGreaterThan(1e-4);
      expected.forEach((value, k) =>
        expect(Math.abs(trainer.grads[name]![k]! - value), `${name}[${k}]`).toBeLessThanOrEqual(1e-12 * scale),
      );
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
        const central = centralDifference(trainer.params, param, index, () => trainer.loss(fields), h);
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
