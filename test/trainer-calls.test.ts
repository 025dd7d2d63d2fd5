// How a generated trainer is called: how many examples a call takes (never silently fewer than
// given), options.params checked by name, and stepInto(), the allocation-free form of step().
// Expected values come from the model's definition: y = x·w + b, loss ½(y − t)² averaged over examples.
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { compile, importGenerated, model, nn } from "gradgen";
import { buildOnce, gradgen, removeTempDirs, tempDir } from "./cli-helpers.js";
import { gpu, type GpuContext } from "./wgsl/support.js";

beforeAll(() => buildOnce(), 120_000);
afterAll(() => removeTempDirs());

const linear = model("linear", ({ input, param }) => {
  const x = input("x", [2]);
  const t = input("t", [1]);
  const w = param("w", [2, 1]);
  const b = param("b", [1]);
  const y = x.matmul(w).add(b);
  return { loss: nn.halfSquaredError(y, t), outputs: { y } };
});

type Fields = Record<string, Float64Array | Float32Array>;
interface Trainer {
  readonly spec: { readonly batch: number };
  readonly params: Record<string, Float64Array>;
  readonly grads: Record<string, Float64Array>;
  readonly state: { step: number };
  loss(batch: Fields, n?: number): number;
  trainingLoss(batch: Fields, n?: number): number;
  gradient(batch: Fields, n?: number): number;
  step(batch: Fields, n?: number): number;
  stepInto(batch: Fields, losses: Float64Array, index: number, n?: number): void;
  beginStep(n?: number): void;
  predict(inputs: Fields, n?: number): Record<string, Float64Array>;
}
interface TrainerModule {
  createTrainer(options?: { seed?: number; params?: object }): Trainer;
}

const w = [0.5, -2];
const b = 0.25;
/** Example e: x = (e + 1, 1 − e/2), t = e/3 (any values; these are easy to follow). */
const examples = (count: number) => ({
  x: Float64Array.from({ length: 2 * count }, (_, i) => (i % 2 === 0 ? i / 2 + 1 : 1 - (i - 1) / 4)),
  t: Float64Array.from({ length: count }, (_, e) => e / 3),
});
/** The mean loss and its gradient over the first `count` examples, from the definition. */
function expected(count: number) {
  const { x, t } = examples(count);
  let loss = 0;
  const gw = [0, 0];
  let gb = 0;
  for (let e = 0; e < count; e++) {
    const r = x[2 * e]! * w[0]! + x[2 * e + 1]! * w[1]! + b - t[e]!; // y − t
    loss += (0.5 * r * r) / count;
    gw[0]! += (r * x[2 * e]!) / count; // ∂/∂w ½r² = r·x
    gw[1]! += (r * x[2 * e + 1]!) / count;
    gb += r / count;
  }
  return { loss, gw, gb };
}

async function trainerFor(batch: number | undefined, dtype: "f32" | "f64" = "f64"): Promise<Trainer> {
  const { files } = compile(linear, { ...(batch === undefined ? {} : { batch }), dtype });
  const module = await importGenerated<TrainerModule>(files[0]!.contents);
  return module.createTrainer({ params: { w, b: [b] } });
}

describe("how many examples a call takes", () => {
  it("compiled without --batch (batch 1), 32 examples are refused by every entry point, and nothing changes", async () => {
    const trainer = await trainerFor(undefined);
    expect(trainer.spec.batch).toBe(1);
    const batch = examples(32);
    const refusal =
      /input "x" holds 32 example\(s\), more than the 1 per call it was compiled for \(gradgen compile --batch N\); pass n to use the first n examples/;
    expect(() => trainer.loss(batch)).toThrow(refusal);
    expect(() => trainer.trainingLoss(batch)).toThrow(refusal);
    expect(() => trainer.gradient(batch)).toThrow(refusal);
    expect(() => trainer.step(batch)).toThrow(refusal);
    expect(() => trainer.stepInto(batch, new Float64Array(1), 0)).toThrow(refusal);
    expect(() => trainer.predict({ x: batch.x })).toThrow(refusal);
    expect(() => trainer.beginStep(32)).toThrow(/n = 32 must be an integer from 1 to the compiled batch size 1/);
    expect(trainer.state.step).toBe(0);
    expect(Array.from(trainer.params.w!)).toEqual(w);
  });

  it("with n, the first n examples: n = 1 of 32 is the first example's loss and gradient", async () => {
    const trainer = await trainerFor(undefined);
    const { loss, gw, gb } = expected(1);
    expect(trainer.loss(examples(32), 1)).toBeCloseTo(loss, 12);
    expect(trainer.gradient(examples(32), 1)).toBeCloseTo(loss, 12);
    expect(Array.from(trainer.grads.w!)).toEqual([expect.closeTo(gw[0]!, 12), expect.closeTo(gw[1]!, 12)]);
    expect(trainer.grads.b![0]).toBeCloseTo(gb, 12);
  });

  it("without n, a call takes every example its inputs hold, up to the compiled batch", async () => {
    const trainer = await trainerFor(4);
    for (const count of [1, 2, 3, 4]) {
      const { loss, gw, gb } = expected(count);
      expect(trainer.loss(examples(count)), `${count} examples`).toBeCloseTo(loss, 12);
      expect(trainer.gradient(examples(count))).toBeCloseTo(loss, 12);
      expect(Array.from(trainer.grads.w!)).toEqual([expect.closeTo(gw[0]!, 12), expect.closeTo(gw[1]!, 12)]);
      expect(trainer.grads.b![0]).toBeCloseTo(gb, 12);
      const { x } = examples(count);
      const y = trainer.predict({ x }).y!;
      for (let e = 0; e < count; e++) expect(y[e]).toBeCloseTo(x[2 * e]! * w[0]! + x[2 * e + 1]! * w[1]! + b, 12);
    }
    expect(() => trainer.loss(examples(5))).toThrow(/holds 5 example\(s\), more than the 4 per call/);
    expect(trainer.loss(examples(5), 4)).toBeCloseTo(expected(4).loss, 12);
  });

  it("inputs that are not a whole number of examples, or disagree, are refused", async () => {
    const trainer = await trainerFor(4);
    const { x, t } = examples(3);
    expect(() => trainer.loss({ x: x.subarray(0, 5), t })).toThrow(
      /input "x" holds 5 values, not a whole number of examples of 2; pass n/,
    );
    expect(() => trainer.loss({ x, t: t.subarray(0, 2) })).toThrow(
      /input "t" needs 3 × 1 values \(as many examples as the call's first input; pass n to use fewer\), got 2/,
    );
    expect(() => trainer.loss({ x: new Float64Array(0), t })).toThrow(/input "x" holds 0 example\(s\); pass n/);
    expect(trainer.loss({ x, t: t.subarray(0, 2) }, 2)).toBeCloseTo(expected(2).loss, 12);
    expect(() => trainer.loss({ x, t: t.subarray(0, 2) }, 3)).toThrow(/input "t" needs 3 × 1 values, got 2/);
  });

  it("a missing input, or one that is not a typed array, is named", async () => {
    const trainer = await trainerFor(4);
    const { x } = examples(2);
    expect(() => trainer.loss({ x })).toThrow(/input "t" needs a Float32Array or Float64Array, got none/);
    expect(() => trainer.loss({ x, t: [0, 1] as never })).toThrow(
      /input "t" needs a Float32Array or Float64Array, got \[object Array\]/,
    );
  });

  it("the header and the CLI say the batch, and that 1 is the default", async () => {
    const header = compile(linear, {}).files[0]!.contents.split("\n").slice(0, 4).join("\n");
    expect(header).toMatch(/^\/\/ Batch 1 \(one example per call; compile with --batch N for up to N\), f32,/m);
    expect(compile(linear, { batch: 8 }).files[0]!.contents).toMatch(
      /^\/\/ Batch 8 \(up to 8 examples per call\), f32,/m,
    );
    const run = gradgen(["compile", "examples/xor.ts", "--out", tempDir()]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/wrote .*xor\.ts \(batch 1: one example per call; compile with --batch N for up to N\)/);
  }, 120_000);
});

describe("createTrainer({ params })", () => {
  it("a name that is not a parameter is an error naming the parameters", async () => {
    const module = await importGenerated<TrainerModule>(compile(linear, {}).files[0]!.contents);
    expect(() => module.createTrainer({ params: { W: [1, 2] } })).toThrow(
      /linear: params has no parameter "W"; the parameters are "w", "b"/,
    );
    expect(() => module.createTrainer({ params: { w, bias: [1] } })).toThrow(/params has no parameter "bias"/);
    expect(() => module.createTrainer({ params: { w: [1, 2, 3] } })).toThrow(/params\["w"\] needs 2 values, got 3/);
  });

  it("params named constructor and __proto__ work; a literal { __proto__: … } (a prototype, not a key) is refused", async () => {
    const protoModel = model("protoParams", ({ input, param }) => {
      const x = input("x", [2]);
      return {
        loss: x
          .matmul(param("__proto__", [2, 1]))
          .add(param("constructor", [1]))
          .sum(),
      };
    });
    const module = await importGenerated<TrainerModule>(compile(protoModel, { dtype: "f64" }).files[0]!.contents);
    const trainer = module.createTrainer({ params: { ["__proto__"]: [3, 4], constructor: [5] } });
    expect(Object.keys(trainer.params)).toEqual(["__proto__", "constructor"]);
    expect(Array.from(trainer.params["__proto__"]!)).toEqual([3, 4]);
    expect(Array.from(trainer.params["constructor"] as Float64Array)).toEqual([5]);
    expect(trainer.loss({ x: new Float64Array([1, 2]) })).toBe(1 * 3 + 2 * 4 + 5);
    expect(() => module.createTrainer({ params: { __proto__: [3, 4] } })).toThrow(
      /write \["__proto__"\]: … for a parameter of that name/,
    );
    // a parameter left out falls back to its initialiser, and Object.prototype's "constructor" is not taken for it
    expect(
      Array.from(module.createTrainer({ params: { ["__proto__"]: [3, 4] } }).params["constructor"] as Float64Array),
    ).toEqual([0]);
  });
});

describe("stepInto: step() without a returned number", () => {
  it("leaves in losses[index] the loss step() returns, and trains alike", async () => {
    const [a, b2] = [await trainerFor(4, "f32"), await trainerFor(4, "f32")];
    const losses = new Float64Array(5);
    const returned: number[] = [];
    for (let i = 0; i < 5; i++) {
      const batch = examples(1 + (i % 4));
      returned.push(a.step(batch));
      b2.stepInto(batch, losses, i);
    }
    expect(Array.from(losses)).toEqual(returned);
    expect(returned[0]).toBeCloseTo(expected(1).loss, 6); // the loss before the first update
    expect(Array.from(b2.params.w!)).toEqual(Array.from(a.params.w!));
    expect(b2.state.step).toBe(5);
  });

  it("an index outside the array is refused before the step runs", async () => {
    const trainer = await trainerFor(4);
    for (const index of [-1, 2, 0.5]) {
      expect(() => trainer.stepInto(examples(2), new Float64Array(2), index)).toThrow(
        /stepInto\(batch, losses, index\) needs a Float64Array losses and an integer index from 0 to losses.length − 1/,
      );
    }
    expect(() => trainer.stepInto(examples(2), new Float32Array(2) as never, 0)).toThrow(/needs a Float64Array losses/);
    expect(trainer.state.step).toBe(0);
  });
});

const context = await gpu();
const device = typeof context === "string" ? undefined : (context as GpuContext).device;

interface GpuTrainer {
  readonly state: { step: number };
  upload(batch: Fields, n?: number): void;
  loss(batch?: Fields, n?: number): Promise<number>;
  trainingLoss(batch?: Fields, n?: number): Promise<number>;
  gradient(batch?: Fields, n?: number): Promise<number>;
  step(batch?: Fields, n?: number): Promise<number>;
  stepInto(batch: Fields | undefined, losses: Float64Array, index: number, n?: number): Promise<void>;
  predict(inputs?: Fields, n?: number): Promise<Record<string, Float32Array>>;
  read(name: string): Promise<Float32Array>;
  readBuffer(name: string): Promise<Float32Array>;
  destroy(): void;
}
interface GpuModule {
  createGpuTrainer(device: GPUDevice, options?: { seed?: number; params?: object }): Promise<GpuTrainer>;
}
const gpuTrainers: GpuTrainer[] = [];
afterEach(() => gpuTrainers.splice(0).forEach((trainer) => trainer.destroy()));

async function gpuTrainerFor(batch: number | undefined, params: object = { w, b: [b] }): Promise<GpuTrainer> {
  const { files } = compile(linear, { ...(batch === undefined ? {} : { batch }), targets: ["wgsl"] });
  const module = await importGenerated<GpuModule>(files[0]!.contents);
  const trainer = await module.createGpuTrainer(device!, { params });
  gpuTrainers.push(trainer);
  return trainer;
}

describe.runIf(device)("the WGSL host", () => {
  it("refuses 32 examples at batch 1 in every entry point, takes n of them, and derives n up to the batch", async () => {
    const one = await gpuTrainerFor(undefined);
    const batch = examples(32);
    const refusal = /input "x" holds 32 example\(s\), more than the 1 per call/;
    for (const call of [
      () => one.loss(batch),
      () => one.trainingLoss(batch),
      () => one.gradient(batch),
      () => one.step(batch),
      () => one.predict({ x: batch.x }),
    ]) {
      await expect(call()).rejects.toThrow(refusal);
    }
    expect(() => one.upload(batch)).toThrow(refusal);
    expect(one.state.step).toBe(0);
    expect(await one.loss(batch, 1)).toBeCloseTo(expected(1).loss, 5);
    const four = await gpuTrainerFor(4);
    expect(await four.loss(examples(3))).toBeCloseTo(expected(3).loss, 5);
    await expect(four.loss({ ...examples(3), t: examples(2).t })).rejects.toThrow(
      /input "t" needs 3 × 1 values \(as many examples/,
    );
  });

  it("stepInto leaves the loss step() returns; params is checked by name; lookups by name find own keys only", async () => {
    const [a, c] = [await gpuTrainerFor(4), await gpuTrainerFor(4)];
    const losses = new Float64Array(3);
    for (let i = 0; i < 3; i++) {
      const returned = await a.step(examples(4));
      await c.stepInto(examples(4), losses, i);
      expect(losses[i]).toBe(returned);
    }
    await expect(gpuTrainerFor(4, { W: [1, 2] })).rejects.toThrow(
      /params has no parameter "W"; the parameters are "w", "b"/,
    );
    await expect(a.read("constructor")).rejects.toThrow(/no parameter "constructor"; the parameters are "w", "b"/);
    await expect(a.readBuffer("toString")).rejects.toThrow(/no buffer "toString"/);
  });
});

it("the README documents stepInto and how many examples a call takes", () => {
  const readme = readFileSync(path.join(import.meta.dirname, "..", "README.md"), "utf8");
  expect(readme).toMatch(/stepInto\(batch, losses, index/);
  expect(readme).toMatch(/more examples\s+than the compiled batch are refused/);
});
