// The WGSL trainer as a whole: the example models against the TypeScript target, 200 XOR steps,
// every optimizer, dropout masks drawn on the GPU, buffers split across bindings, every generated
// shader validated by Dawn (Tint), safe literals, errors, the CLI and strict type-checking of the
// generated host without the DOM library.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compile, GradgenError, model, nn, type ModelDefinition } from "gradgen";
import xor from "../../examples/xor.js";
import mlp from "../../examples/mlp.js";
import { emitWgsl, planWgsl, wgslLiteral } from "../../src/emit/wgsl/index.js";
import { traceModel } from "../../src/dsl/model.js";
import { buildTrainingGraph } from "../../src/pipeline.js";
import { schedule } from "../../src/schedule/schedule.js";
import { defaultTuning } from "../../src/schedule/lower.js";
import { resolveOptions, type CompileOptions } from "../../src/compile.js";
import { buildOnce, forbiddenConstructs, gradgen, removeTempDirs, root, tempDir, typeCheck } from "../cli-helpers.js";
import {
  gpu,
  loadBoth,
  relativeError,
  shadersOf,
  type CpuTrainer,
  type Fields,
  type GpuContext,
  type GpuTrainer,
} from "./support.js";

const context = await gpu();
const device = typeof context === "string" ? undefined : (context as GpuContext).device;
afterAll(() => removeTempDirs());

const xorBatch: Fields = { x: new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]), t: new Float32Array([0, 1, 1, 0]) };

const dropoutModel = model("wgsl_dropout", ({ input, param }) => {
  const x = input("x", [64]);
  const p = param("p", [64], { init: "ones" });
  return { loss: nn.dropout(x.mul(p), 0.25).sum(), outputs: { y: x.mul(p) } };
});

/** The same parameters on both trainers. */
async function sameStart(cpu: CpuTrainer, gpuTrainer: GpuTrainer): Promise<void> {
  for (const name of Object.keys(cpu.params)) {
    expect(await gpuTrainer.read(name), `initial ${name} (same seed, same initialisers)`).toEqual(cpu.params[name]);
  }
}

function programOf(definition: ModelDefinition, options: CompileOptions & { batch: number }) {
  const resolved = resolveOptions(options, definition.options);
  return schedule(buildTrainingGraph(traceModel(definition)), { ...resolved, tuning: defaultTuning });
}

describe.runIf(device)("the WGSL trainer against the TypeScript trainer", () => {
  it("xor: 200 steps reach the TypeScript trainer's loss within 1e-4; step-by-step and batched steps agree", async () => {
    const { cpu: cpuModule, gpu: gpuModule } = await loadBoth(xor, 4, { learningRate: 2 });
    const cpu = cpuModule.createTrainer({ seed: 1 });
    const gpuTrainer = await gpuModule.createGpuTrainer(device!, { seed: 1 });
    await sameStart(cpu, gpuTrainer);
    expect(relativeError([await gpuTrainer.loss(xorBatch)], [cpu.loss(xorBatch)])).toBeLessThan(1e-5 * 4);
    // one step at a time for 10, then 190 without reading back
    for (let i = 0; i < 10; i++)
      expect(Math.abs((await gpuTrainer.step(xorBatch)) - cpu.step(xorBatch))).toBeLessThan(1e-5);
    for (let i = 0; i < 190; i++) cpu.step(xorBatch);
    gpuTrainer.upload(xorBatch);
    await gpuTrainer.steps(190);
    expect(gpuTrainer.state.step).toBe(200);
    const [gpuLoss, cpuLoss] = [await gpuTrainer.loss(), cpu.loss(xorBatch)];
    expect(Math.abs(gpuLoss - cpuLoss)).toBeLessThanOrEqual(1e-4);
    expect(gpuLoss).toBeLessThan(0.2);
    const predicted = await gpuTrainer.predict({ x: xorBatch.x! });
    expect(relativeError(predicted.y!, cpu.predict({ x: xorBatch.x! }).y!)).toBeLessThan(1e-3);
    gpuTrainer.destroy();
  });

  it("mlp (784-128-10, softmax cross-entropy): values, gradients and three steps agree", async () => {
    const batch = 4;
    const { cpu: cpuModule, gpu: gpuModule } = await loadBoth(mlp, batch, { learningRate: 0.05 });
    const cpu = cpuModule.createTrainer({ seed: 3 });
    const gpuTrainer = await gpuModule.createGpuTrainer(device!, { seed: 3 });
    await sameStart(cpu, gpuTrainer);
    const x = new Float32Array(batch * 784).map((_, i) => ((i * 7919) % 256) / 255);
    const label = new Float32Array(batch * 10);
    for (let e = 0; e < batch; e++) label[e * 10 + ((e * 3) % 10)] = 1;
    const data = { x, label };
    const tolerance = 1e-5 * batch * 784;
    expect(relativeError([await gpuTrainer.gradient(data)], [cpu.gradient(data)])).toBeLessThan(tolerance);
    for (const name of ["W1", "b1", "W2", "b2"])
      expect(relativeError(await gpuTrainer.readGrad(name), cpu.grads[name]!), name).toBeLessThan(tolerance);
    for (let i = 0; i < 3; i++)
      expect(relativeError([await gpuTrainer.step(data)], [cpu.step(data)])).toBeLessThan(tolerance);
    for (const name of ["W1", "b1", "W2", "b2"])
      expect(relativeError(await gpuTrainer.read(name), cpu.params[name]!), name).toBeLessThan(tolerance);
    expect(
      relativeError((await gpuTrainer.predict(data)).probabilities!, cpu.predict(data).probabilities!),
    ).toBeLessThan(tolerance);
    gpuTrainer.destroy();
  });

  it("mlp at batch 16, whose x·W1 splits k across workgroups (split-K and its sum with the bias + ReLU epilogue): values, gradients, three steps and a short batch agree", async () => {
    const batch = 16;
    const options = { learningRate: 0.05 };
    // The plan splits the first layer's product (16×784 by 784×128: 8×8 tiles are 32 workgroups, k in parts).
    const plan = planWgsl(programOf(mlp, { batch, ...options }));
    const split = plan.sequences.step
      .flat(2)
      .flatMap((t) => (t.work.kind === "gemm" && t.work.tiling.split > 1 ? [t.work.tiling] : []));
    expect(split.map((t) => [t.shape.m, t.shape.n, t.shape.k])).toContainEqual([batch, 128, 784]);
    expect(plan.sequences.step.flat(2).some((t) => t.work.kind === "splitSum" && t.work.epilogue)).toBe(true);
    const { cpu: cpuModule, gpu: gpuModule } = await loadBoth(mlp, batch, options);
    const cpu = cpuModule.createTrainer({ seed: 4 });
    const gpuTrainer = await gpuModule.createGpuTrainer(device!, { seed: 4 });
    await sameStart(cpu, gpuTrainer);
    const x = new Float32Array(batch * 784).map((_, i) => ((i * 7919) % 256) / 255);
    const label = new Float32Array(batch * 10);
    for (let e = 0; e < batch; e++) label[e * 10 + ((e * 7) % 10)] = 1;
    const data = { x, label };
    // An f32 dot product of 784 terms, in any order: within 784·2⁻²⁴ ≈ 4.7e-5 relative.
    const tolerance = 784 * 2 ** -24;
    expect(relativeError([await gpuTrainer.gradient(data)], [cpu.gradient(data)])).toBeLessThan(tolerance);
    for (const name of ["W1", "b1", "W2", "b2"])
      expect(relativeError(await gpuTrainer.readGrad(name), cpu.grads[name]!), name).toBeLessThan(tolerance);
    for (let i = 0; i < 3; i++)
      expect(relativeError([await gpuTrainer.step(data)], [cpu.step(data)])).toBeLessThan(tolerance);
    for (const name of ["W1", "b1", "W2", "b2"])
      expect(relativeError(await gpuTrainer.read(name), cpu.params[name]!), name).toBeLessThan(tolerance);
    expect(
      relativeError((await gpuTrainer.predict(data)).probabilities!, cpu.predict(data).probabilities!),
    ).toBeLessThan(tolerance);
    // A short batch: the rows past n are not summed into the partial sums.
    expect(relativeError([await gpuTrainer.gradient(data, 11)], [cpu.gradient(data, 11)])).toBeLessThan(tolerance);
    for (const name of ["W1", "b1"])
      expect(relativeError(await gpuTrainer.readGrad(name), cpu.grads[name]!), name).toBeLessThan(tolerance);
    gpuTrainer.destroy();
  });

  it("a sum of 40 parameters (8 copies of its body written out) cut into kernels (src/schedule/wide-sums.ts): loss and gradients agree", async () => {
    const terms = 40;
    const wide = model("wgsl_wide_sum", ({ input, param }) => {
      let s = param("p0", [8], { init: "xavier" });
      for (let k = 1; k < terms; k++) s = s.add(param(`p${k}`, [8], { init: "xavier" }));
      const x = input("x", [8]);
      return { loss: nn.halfSquaredError(nn.tanh(x.mul(s)).add(s), input("t", [8])) };
    });
    const batch = 4;
    const loss = programOf(wide, { batch }).entryPoints.find((e) => e.name === "loss")!;
    const parts = loss.kernels.filter((k) => k.kind === "loop" && /part \d+ of \d+ of its sum/.test(k.comment));
    expect(parts.length).toBeGreaterThan(1);
    const { cpu: cpuModule, gpu: gpuModule } = await loadBoth(wide, batch);
    const cpu = cpuModule.createTrainer({ seed: 6 });
    const gpuTrainer = await gpuModule.createGpuTrainer(device!, { seed: 6 });
    await sameStart(cpu, gpuTrainer);
    const data = {
      x: Float32Array.from({ length: batch * 8 }, (_, i) => Math.sin(0.37 * i + 1)),
      t: Float32Array.from({ length: batch * 8 }, (_, i) => 0.5 * Math.cos(0.23 * i)),
    };
    // f32 sums of 40 terms, in different orders.
    const tolerance = 40 * 8 * 2 ** -24;
    expect(relativeError([await gpuTrainer.loss(data)], [cpu.loss(data)])).toBeLessThan(tolerance);
    expect(relativeError([await gpuTrainer.gradient(data)], [cpu.gradient(data)])).toBeLessThan(tolerance);
    for (const name of ["p0", "p17", "p39"])
      expect(relativeError(await gpuTrainer.readGrad(name), cpu.grads[name]!), name).toBeLessThan(tolerance);
    gpuTrainer.destroy();
  });

  it.each([
    ["sgd", { weightDecay: 0.01 }],
    ["momentum", {}],
    ["nesterov", {}],
    ["adagrad", {}],
    ["rmsprop", {}],
    ["adam", { weightDecay: 0.01 }],
  ] as const)(
    "optimizer %s: three steps update parameters and state like TypeScript",
    async (kind, hyperparameters) => {
      const { cpu: cpuModule, gpu: gpuModule } = await loadBoth(xor, 4, {
        optimizer: kind,
        learningRate: 0.1,
        hyperparameters,
      });
      const cpu = cpuModule.createTrainer({ seed: 5 });
      const gpuTrainer = await gpuModule.createGpuTrainer(device!, { seed: 5 });
      for (let i = 0; i < 3; i++)
        expect(relativeError([await gpuTrainer.step(xorBatch)], [cpu.step(xorBatch)])).toBeLessThan(1e-4);
      for (const name of Object.keys(cpu.params))
        expect(relativeError(await gpuTrainer.read(name), cpu.params[name]!), name).toBeLessThan(1e-4);
      for (const label of Object.keys(cpu.state.buffers)) {
        expect(relativeError(await gpuTrainer.readState(label), cpu.state.buffers[label]!), label).toBeLessThan(1e-4);
      }
      gpuTrainer.destroy();
    },
  );

  it("dropout masks are drawn on the GPU: values 0 or 1/(1 − p), fresh each step, reproducible by seed; the loss and gradient use them", async () => {
    const batch = 8;
    const { cpu: cpuModule, gpu: gpuModule } = await loadBoth(dropoutModel, batch, { learningRate: 0.1 });
    const cpu = cpuModule.createTrainer({ seed: 9 });
    const a = await gpuModule.createGpuTrainer(device!, { seed: 9 });
    const b = await gpuModule.createGpuTrainer(device!, { seed: 9 });
    const x = new Float32Array(batch * 64).map((_, i) => Math.sin(i) + 0.5);
    expect(relativeError([await a.loss({ x })], [cpu.loss({ x })])).toBeLessThan(1e-5 * batch * 64); // no dropout in loss()
    a.resampleDropout();
    b.resampleDropout();
    const mask = await a.readBuffer("mask_dropout0");
    expect(await b.readBuffer("mask_dropout0")).toEqual(mask);
    const scale = Math.fround(1 / 0.75);
    expect(mask.every((m) => m === 0 || m === scale)).toBe(true);
    const kept = mask.filter((m) => m !== 0).length / mask.length;
    expect(kept).toBeGreaterThan(0.65);
    expect(kept).toBeLessThan(0.85);
    // trainingLoss = mean over examples of Σ mask·x·p with p = 1; ∂/∂p = mean of mask·x
    let expected = 0;
    const gradient = new Float64Array(64);
    for (let i = 0; i < batch * 64; i++) {
      expected += mask[i]! * x[i]!;
      gradient[i % 64]! += (mask[i]! * x[i]!) / batch;
    }
    expect(relativeError([await a.trainingLoss()], [expected / batch])).toBeLessThan(1e-5 * batch * 64);
    await a.gradient();
    expect(relativeError(await a.readGrad("p"), gradient)).toBeLessThan(1e-5 * batch);
    await a.step();
    expect(await a.readBuffer("mask_dropout0")).not.toEqual(mask);
    a.destroy();
    b.destroy();
  });

  it("buffers split across several storage bindings when one would exceed the binding limit", async () => {
    const program = programOf(xor, { batch: 4, learningRate: 2 });
    const source = emitWgsl(program, { source: "examples/xor.ts", command: "test", maxBindingBytes: 128 });
    const chunkCount = /const chunkSizes: readonly number\[\] = \[([^\]]*)\]/.exec(source)![1]!.split(",").length;
    expect(chunkCount).toBeGreaterThan(2);
    const dir = tempDir("gradgen-wgsl-chunks-");
    writeFileSync(path.join(dir, "xor.wgsl.ts"), source);
    const module = (await import(pathToFileURL(path.join(dir, "xor.wgsl.ts")).href)) as {
      createGpuTrainer(device: GPUDevice, options?: { seed?: number }): Promise<GpuTrainer>;
    };
    const gpuTrainer = await module.createGpuTrainer(device!, { seed: 1 });
    const { cpu: cpuModule } = await loadBoth(xor, 4, { learningRate: 2 });
    const cpu = cpuModule.createTrainer({ seed: 1 });
    for (let i = 0; i < 20; i++) cpu.step(xorBatch);
    await gpuTrainer.steps(20, xorBatch);
    expect(Math.abs((await gpuTrainer.loss()) - cpu.loss(xorBatch))).toBeLessThan(1e-5);
    gpuTrainer.destroy();
  });

  it("snapshot and restore on the GPU; a short batch (n < batch); learning rate changes", async () => {
    const { cpu: cpuModule, gpu: gpuModule } = await loadBoth(xor, 4, { learningRate: 2 });
    const cpu = cpuModule.createTrainer({ seed: 2 });
    const gpuTrainer = await gpuModule.createGpuTrainer(device!, { seed: 2 });
    gpuTrainer.snapshot();
    const before = await gpuTrainer.read("W1");
    await gpuTrainer.steps(5, xorBatch);
    expect(await gpuTrainer.read("W1")).not.toEqual(before);
    gpuTrainer.restore();
    expect(await gpuTrainer.read("W1")).toEqual(before);
    expect(gpuTrainer.state.step).toBe(0);
    cpu.learningRate = 0.5;
    gpuTrainer.learningRate = 0.5;
    expect(relativeError([await gpuTrainer.step(xorBatch, 3)], [cpu.step(xorBatch, 3)])).toBeLessThan(1e-5);
    expect(relativeError(await gpuTrainer.read("W1"), cpu.params.W1!)).toBeLessThan(1e-5);
    await expect(gpuTrainer.loss(xorBatch, 5)).rejects.toThrow(/n = 5/);
    gpuTrainer.destroy();
  });

  it("every generated shader passes Dawn's validation (Tint), and a broken one is caught", async () => {
    const models: [ModelDefinition, CompileOptions & { batch: number }][] = [
      [xor, { batch: 4, optimizer: "adam" }],
      [xor, { batch: 4, optimizer: "nesterov" }],
      [mlp, { batch: 64 }],
      [dropoutModel, { batch: 8, optimizer: "rmsprop" }],
    ];
    const shaders = models.flatMap(([definition, options]) => shadersOf(definition, options));
    expect(shaders.length).toBeGreaterThan(20);
    const errorsOf = async (code: string) => {
      device!.pushErrorScope("validation"); // a broken module is also a validation error: caught here, not uncaptured
      const messages = (await device!.createShaderModule({ code }).getCompilationInfo()).messages.filter(
        (m) => m.type === "error",
      );
      await device!.popErrorScope();
      return messages;
    };
    for (const code of shaders) expect(await errorsOf(code), code).toEqual([]);
    const broken = shaders[0]!.replace("let n = u.n;", "let n = u.n + 0.5f;"); // u32 + f32: a type error
    expect(broken).not.toBe(shaders[0]);
    expect((await errorsOf(broken)).length).toBeGreaterThan(0);
  });
});

describe("WGSL emission (no GPU needed)", () => {
  it("literals: NaN and ±∞ through helpers, exact f32 values, negatives in parentheses", () => {
    expect(wgslLiteral(NaN)).toBe("nan_()");
    expect(wgslLiteral(Infinity)).toBe("inf_()");
    expect(wgslLiteral(-Infinity)).toBe("(-inf_())");
    expect(wgslLiteral(1e39)).toBe("inf_()"); // beyond f32: a WGSL constant would be an error
    expect(wgslLiteral(-2.5)).toBe("(-2.5f)");
    expect(wgslLiteral(2)).toBe("2.0f");
    expect(wgslLiteral(0.1)).toBe(`${Math.fround(0.1)}f`);
    expect(wgslLiteral(-0)).toBe("(-0.0f)");
    expect(wgslLiteral(1e-50)).toBe("0.0f");
  });

  it("f64 programs are a compile error naming the target", () => {
    expect(() => compile(xor, { batch: 4, dtype: "f64", targets: ["wgsl"] })).toThrow(GradgenError);
    expect(() => compile(xor, { batch: 4, dtype: "f64", targets: ["wgsl"] })).toThrow(/WGSL target is f32 only/);
    expect(() => compile(xor, { targets: ["glsl" as never] })).toThrow(/unknown target "glsl"/);
  });

  it("compile() returns <name>.ts and <name>.wgsl.ts; the host imports nothing, respects WebGPU's default limits", () => {
    const { files } = compile(xor, { batch: 4, targets: ["ts", "wgsl"], source: "examples/xor.ts" });
    expect(files.map((f) => f.path)).toEqual(["xor.ts", "xor.wgsl.ts"]);
    const host = files[1]!.contents;
    expect(forbiddenConstructs(host)).toEqual([]);
    expect(host).toContain("export async function createGpuTrainer(");
    for (const size of host.matchAll(/@workgroup_size\((\d+)\)/g)) expect(Number(size[1])).toBeLessThanOrEqual(256);
    for (const shader of host.matchAll(/`\/\/ xor:[^`]*`/g)) {
      expect(shader[0].match(/var<storage/g)!.length).toBeLessThanOrEqual(8);
    }
    expect(compile(xor, { batch: 4 }).files.map((f) => f.path)).toEqual(["xor.ts"]); // the default target
  });

  it("the generated hosts type-check under strict TypeScript without the DOM library, and accept a real GPUDevice", () => {
    const dir = tempDir("gradgen-wgsl-types-");
    const files: string[] = [];
    for (const [definition, options] of [
      [xor, { batch: 4, optimizer: "adam" }],
      [dropoutModel, { batch: 8 }],
    ] as const) {
      const { files: generated } = compile(definition, { ...options, targets: ["wgsl"] });
      const file = path.join(dir, generated[0]!.path);
      writeFileSync(file, generated[0]!.contents);
      files.push(file);
    }
    const result = typeCheck(files);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    // A consumer with the real WebGPU types (@webgpu/types) passes its GPUDevice.
    const consumerDir = path.join(root, "node_modules", ".gradgen-wgsl-typecheck");
    mkdirSync(consumerDir, { recursive: true });
    const consumer = path.join(consumerDir, "consumer.ts");
    writeFileSync(path.join(consumerDir, "xor.wgsl.ts"), readFileSync(files[0]!, "utf8"));
    writeFileSync(
      consumer,
      [
        `/// <reference path="../@webgpu/types/dist/index.d.ts" />`,
        `import { createGpuTrainer } from "./xor.wgsl.js";`,
        `export async function train(device: GPUDevice): Promise<number> {`,
        `  const trainer = await createGpuTrainer(device, { seed: 1 });`,
        `  return trainer.steps(10, { x: new Float32Array(8), t: new Float32Array(4) });`,
        `}`,
      ].join("\n"),
    );
    const withTypes = typeCheck([consumer]);
    expect(withTypes.status, withTypes.stdout + withTypes.stderr).toBe(0);
  }, 120_000);
});

describe("gradgen compile --target", () => {
  beforeAll(() => buildOnce(), 120_000);

  it("--target ts,wgsl writes both files, with the flag in their headers; a bad target is a one-line error", () => {
    const out = tempDir();
    const run = gradgen([
      "compile",
      "examples/xor.ts",
      "--batch",
      "4",
      "--lr",
      "2",
      "--target",
      "ts,wgsl",
      "--out",
      out,
    ]);
    expect(run.status, run.stderr).toBe(0);
    const host = readFileSync(path.join(out, "xor.wgsl.ts"), "utf8");
    const model = path.relative(out, path.resolve("examples/xor.ts")).split(path.sep).join("/"); // named from the output folder
    expect(host).toContain(
      `regenerate with \`gradgen compile ${model} --out . --batch 4 --lr 2 --target ts,wgsl\` in this file's folder`,
    );
    expect(readFileSync(path.join(out, "xor.ts"), "utf8")).toContain("--target ts,wgsl");
    const wgslOnly = gradgen(["compile", "examples/xor.ts", "--target", "wgsl", "--out", out, "--check"]);
    expect(wgslOnly.status).toBe(1); // the header differs (no --batch 4 --lr 2): --check sees a stale file
    const bad = gradgen(["compile", "examples/xor.ts", "--target", "glsl"]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--target expects a comma-separated list of ts, js, wgsl/);
    const f64 = gradgen(["compile", "examples/xor.ts", "--target", "wgsl", "--dtype", "f64", "--out", out]);
    expect(f64.status).toBe(1);
    expect(f64.stderr).toMatch(/WGSL target is f32 only/);
  });
});
