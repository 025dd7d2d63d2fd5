// Issue 12: a model with many inputs (an RNN unrolled over T steps has T + 1) reads and checks them in
// a loop over a table instead of a statement per input, so runStep and the trainer's methods stay
// small enough for V8 to optimise. The table path must keep every behaviour of the statement path:
// values (the loss is the mean of per-example losses, from the definition here), gradients (central
// differences), n and short batches, and each refusal with the same message.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { transformSync } from "esbuild";
import { describe, expect, it } from "vitest";
import { compile, importGenerated, model, nn } from "gradgen";
import { functionSizes } from "../../bench/support/function-sizes.mjs";
import { typeCheck } from "../cli-helpers.js";
import { inputsAsStatements } from "../../src/emit/typescript-inputs.js";
import { centralDifference } from "../support/load-generated.js";

const INPUTS = 80; // over inputsAsStatements: the table path
const BATCH = 4;

interface Trainer {
  params: Record<string, Float64Array>;
  grads: Record<string, Float64Array>;
  loss(batch: object, n?: number): number;
  gradient(batch: object, n?: number): number;
  step(batch: object, n?: number): number;
}

/** loss = ½ Σ_k (x_k · w)² + Σ_j E[t, j], per example; x_k ∈ ℝ², t an id into E's 5 rows. */
function manyInputs(inputs: number) {
  return model(`manyInputs${inputs}`, ({ input, param }) => {
    const w = param("w", [2]);
    let total = nn.gather(param("E", [5, 2]), input("t", [1], { dtype: "int32" })).sum();
    for (let k = 0; k < inputs; k++) total = total.add(input(`x${k}`, [2]).mul(w).sum().square().mul(0.5));
    return { loss: total };
  });
}

/** Parameters chosen so that no term vanishes (the defaults are zeros). */
const params = { w: [0.3, -0.7], E: Array.from({ length: 10 }, (_, i) => 0.1 * i - 0.35) };

type Fields = { readonly t: Int32Array } & Readonly<Record<string, Float64Array | Int32Array>>;

const fieldsFor = (inputs: number, examples: number): Fields => ({
  ...Object.fromEntries(
    Array.from({ length: inputs }, (_, k) => [
      `x${k}`,
      Float64Array.from({ length: 2 * examples }, (_, i) => Math.sin(0.7 * k + 1.3 * i + 0.1)),
    ]),
  ),
  t: Int32Array.from({ length: examples }, (_, i) => (3 * i + 1) % 5),
});

/** The loss from its definition: the mean over the first `examples` examples. */
function definedLoss(fields: Fields, inputs: number, w: Float64Array, E: Float64Array, examples: number) {
  let total = 0;
  for (let e = 0; e < examples; e++) {
    const row = fields.t[e]!;
    total += E[2 * row]! + E[2 * row + 1]!;
    for (let k = 0; k < inputs; k++) {
      const x = fields[`x${k}`] as Float64Array;
      const dot = x[2 * e]! * w[0]! + x[2 * e + 1]! * w[1]!;
      total += 0.5 * dot * dot;
    }
  }
  return total / examples;
}

describe("a model with more inputs than statements allow", () => {
  const source = compile(manyInputs(INPUTS), { batch: BATCH, dtype: "f64" }).files[0]!.contents;
  // The same model with few inputs: one statement per input, the path every example takes.
  const fewInputs = compile(manyInputs(3), { batch: BATCH, dtype: "f64" }).files[0]!.contents;

  it("reads its inputs in a loop: runStep and every method stay small, and the module type-checks (as the few-input one)", () => {
    expect(INPUTS).toBeGreaterThan(inputsAsStatements);
    expect(source).toMatch(/function readInputs\(/);
    expect(source).not.toMatch(/inputField\(batch, "x5"\)/);
    const { code } = transformSync(source, { loader: "ts", format: "esm", target: "node20" });
    const sizes = new Map(functionSizes(code).map((f) => [f.name, f.ownBytes]));
    // A statement per input was ~120 B of JavaScript each (80 inputs: ~10 KB per method); the loop is
    // constant in the number of inputs but for the call's argument list (~20 B per input).
    for (const name of ["runStep", "loss", "gradient", "trainingLoss"])
      expect(sizes.get(name), name).toBeLessThan(40 * INPUTS);
    const dir = mkdtempSync(path.join(tmpdir(), "gradgen-inputs-"));
    const files = [path.join(dir, "many.ts"), path.join(dir, "few.ts")];
    writeFileSync(files[0]!, source);
    writeFileSync(files[1]!, fewInputs);
    const run = typeCheck(files);
    expect(run.status, `${run.stdout}${run.stderr}`.slice(0, 4000)).toBe(0);
  }, 120_000);

  it("computes the loss of its definition, full and short batch, and gradients that central differences give", async () => {
    const module = (await importGenerated(source)) as { createTrainer(options: object): Trainer };
    const trainer = module.createTrainer({ seed: 5, params });
    const { w, E } = trainer.params as { w: Float64Array; E: Float64Array };
    for (const examples of [BATCH, 3]) {
      const fields = fieldsFor(INPUTS, examples);
      expect(trainer.loss(fields)).toBeCloseTo(definedLoss(fields, INPUTS, w, E, examples), 12);
    }
    // n: the first n examples of a full batch.
    const full = fieldsFor(INPUTS, BATCH);
    expect(trainer.loss(full, 2)).toBeCloseTo(definedLoss(full, INPUTS, w, E, 2), 12);
    trainer.gradient(full, 3);
    const h = 1e-6;
    for (const [name, index] of [
      ["w", 0],
      ["w", 1],
      ["E", 2],
      ["E", 9],
    ] as const) {
      const central = centralDifference(trainer.params, name, index, () => trainer.loss(full, 3), h);
      expect(trainer.grads[name]![index]!, `${name}[${index}]`).toBeCloseTo(central, 6);
    }
    // A step moves the parameters by −rate · gradient.
    const before = Float64Array.from(w);
    trainer.gradient(full);
    const gradient = Float64Array.from(trainer.grads.w!);
    trainer.step(full);
    const moved = Array.from(w, (v, i) => (before[i]! - v) / gradient[i]!);
    expect(moved[0]).toBeCloseTo(moved[1]!, 9);
    expect(moved[0]).toBeGreaterThan(0);
  });

  it("refuses what the statement path refuses, with the same messages", async () => {
    const messages = async (text: string, inputs: number) => {
      const module = (await importGenerated(text)) as { createTrainer(options: object): Trainer };
      const trainer = module.createTrainer({ seed: 5, params });
      const full = fieldsFor(inputs, BATCH);
      const { x2: _, ...missing } = full;
      const calls = [
        () => trainer.loss(missing),
        () => trainer.step({ ...full, x1: new Float64Array(6) }),
        () => trainer.gradient({ ...full, x0: new Float64Array(4) }, 3),
        () => trainer.loss({ ...full, t: Int32Array.from([0, 1, 2, 3, 4]) }),
        () => trainer.loss({ ...full, t: Int32Array.from([0, 1, 5, 2]) }),
        () => trainer.loss({ ...full, t: new Float64Array(4) }),
        () => trainer.loss(full, 5),
      ];
      return calls.map((call) => {
        try {
          call();
          return "no error";
        } catch (error) {
          return `${(error as Error).name}: ${(error as Error).message.replace(/^manyInputs\d+/, "")}`;
        }
      });
    };
    const table = await messages(source, INPUTS);
    expect(table).toEqual(await messages(fewInputs, 3));
    expect(table).toEqual([
      'TypeError: : input "x2" needs a Float32Array or Float64Array, got none',
      'RangeError: : input "x1" needs 4 × 2 values (as many examples as the call\'s first input; pass n to use fewer), got 6',
      'RangeError: : input "x0" needs 3 × 2 values, got 4',
      'RangeError: : input "t" holds 5 ids, not a whole number from 1 to 4 of examples of 1; pass n to use the first n examples',
      'RangeError: : input "t", example 2, position 0: id 5 is out of range; ids index 5 rows, so each must be an integer from 0 to 4',
      'TypeError: : input "t" holds integer ids and needs an Int32Array, got [object Float64Array]',
      "RangeError: : n = 5 must be an integer from 1 to the compiled batch size 4",
    ]);
  });
});
