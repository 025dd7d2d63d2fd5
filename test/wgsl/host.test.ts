// The WGSL host's life in Node and its queue: a script written the natural way (Dawn's instance
// created inline, never named) runs to the end, and queued steps give the awaited steps' parameters.
import { spawnSync } from "node:child_process";
import { symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { transformSync } from "esbuild";
import { compile } from "gradgen";
import xor from "../../examples/xor.js";
import mlp from "../../examples/mlp.js";
import { removeTempDirs, root, tempDir } from "../cli-helpers.js";
import { gpu, loadBoth, timestampDevice, type Fields, type GpuContext } from "./support.js";

const context = await gpu();
const device = typeof context === "string" ? undefined : (context as GpuContext).device;
afterAll(() => removeTempDirs());

const xorBatch: Fields = { x: new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]), t: new Float32Array([0, 1, 1, 0]) };

describe.runIf(device)("the WGSL host in Node", () => {
  it("a script that passes create([]) inline (the instance never named) survives garbage collection, 3 runs of 3", () => {
    const dir = tempDir("gradgen-wgsl-life-");
    symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"));
    const { files } = compile(xor, { batch: 4, learningRate: 2, targets: ["wgsl"] });
    writeFileSync(
      path.join(dir, "xor.wgsl.mjs"),
      transformSync(files[0]!.contents, { loader: "ts", format: "esm" }).code,
    );
    // The natural script: nothing holds Dawn's instance but what the trainer keeps; collections forced.
    const script = [
      `import { create, globals } from "webgpu";`,
      `import { createGpuTrainer } from "./xor.wgsl.mjs";`,
      `Object.assign(globalThis, globals);`,
      `const trainer = await createGpuTrainer(create([]), { seed: 1 });`,
      `const batch = { x: new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]), t: new Float32Array([0, 1, 1, 0]) };`,
      `let loss = 0;`,
      `for (let i = 0; i < 200; i++) {`,
      `  loss = await trainer.step(batch);`,
      `  if (i % 40 === 0) { globalThis.gc(); await new Promise((resolve) => setTimeout(resolve, 20)); }`,
      `}`,
      `console.log("loss " + loss);`,
    ].join("\n");
    writeFileSync(path.join(dir, "train.mjs"), script);
    for (let run = 0; run < 3; run++) {
      const child = spawnSync(process.execPath, ["--expose-gc", "train.mjs"], {
        cwd: dir,
        encoding: "utf8",
        timeout: 120_000,
      });
      expect(child.status, `run ${run}: signal ${child.signal} ${child.stderr}`).toBe(0);
      expect(child.stdout).toMatch(/^loss \d/m);
    }
  }, 300_000);

  it("k queued steps (queueStep, no read-back) then a read give the parameters of k awaited steps, bit for bit", async () => {
    for (const [definition, batch, data, params] of [
      [xor, 4, xorBatch, ["W1", "b1", "W2", "b2"]],
      [
        mlp,
        8,
        {
          x: new Float32Array(8 * 784).map((_, i) => ((i * 31) % 97) / 97),
          label: new Float32Array(80).map((_, i) => (i % 10 === (Math.floor(i / 10) * 3) % 10 ? 1 : 0)),
        },
        ["W1", "b1", "W2", "b2"],
      ],
    ] as const) {
      const { gpu: gpuModule } = await loadBoth(definition, batch, { learningRate: 0.5, optimizer: "adam" });
      const awaited = await gpuModule.createGpuTrainer(device!, { seed: 4 });
      const queued = await gpuModule.createGpuTrainer(device!, { seed: 4 });
      const losses: number[] = [];
      for (let i = 0; i < 7; i++) losses.push(await awaited.step(data as Fields));
      for (let i = 0; i < 7; i++) queued.queueStep(data as Fields);
      expect(queued.state.step).toBe(7);
      for (const name of params) expect(await queued.read(name), name).toEqual(await awaited.read(name));
      expect(await queued.step()).toBe(await awaited.step()); // the loss read back afterwards: the same too
      awaited.destroy();
      queued.destroy();
    }
  }, 120_000);

  describe("timing dispatches (createGpuTrainer's passes option, for bench/wgsl.mjs)", () => {
    const mlpBatch: Fields = {
      x: new Float32Array(8 * 784).map((_, i) => ((i * 31) % 97) / 97),
      label: new Float32Array(80).map((_, i) => (i % 10 === (Math.floor(i / 10) * 3) % 10 ? 1 : 0)),
    };
    /** The first index where two arrays differ (-1: equal bit for bit); a failure then prints one number, not two 100k-element diffs. */
    const firstDifference = (a: Float32Array, b: Float32Array) =>
      a.length !== b.length ? Math.min(a.length, b.length) : a.findIndex((v, i) => !Object.is(v, b[i]));
    const stepShaders = compile(mlp, { batch: 8, learningRate: 0.5, targets: ["wgsl"] }).files[0]!.dispatches!.step.map(
      (d) => d.shader,
    );

    it("each dispatch in a pass of its own, in the summary's order: parameters bit for bit those of one shared pass", async () => {
      const { gpu: gpuModule } = await loadBoth(mlp, 8, { learningRate: 0.5 });
      const calls: [string, number, number][] = [];
      const hooked = await gpuModule.createGpuTrainer(device!, {
        seed: 4,
        passes: (call, dispatch, shader) => {
          calls.push([call, dispatch, shader]);
          return { label: `${call} ${dispatch}` };
        },
      });
      const plain = await gpuModule.createGpuTrainer(device!, { seed: 4 });
      for (let i = 0; i < 3; i++) expect(await hooked.step(mlpBatch)).toBe(await plain.step(mlpBatch));
      for (const name of ["W1", "b1", "W2", "b2"])
        expect(await hooked.read(name), name).toEqual(await plain.read(name));
      const steps = calls.filter(([call]) => call === "step");
      expect(steps).toEqual([0, 1, 2].flatMap(() => stepShaders.map((shader, d) => ["step", d, shader])));
      hooked.destroy();
      plain.destroy();
    }, 120_000);

    it("a dispatch the hook answers null is left out: with every one left out, steps change no parameter", async () => {
      const { gpu: gpuModule } = await loadBoth(mlp, 8, { learningRate: 0.5 });
      const idle = await gpuModule.createGpuTrainer(device!, { seed: 4, passes: () => null });
      const fresh = await gpuModule.createGpuTrainer(device!, { seed: 4 });
      for (let i = 0; i < 2; i++) idle.queueStep(mlpBatch);
      for (const name of ["W1", "b1", "W2", "b2"])
        expect(firstDifference(await idle.read(name), await fresh.read(name)), name).toBe(-1);
      idle.destroy();
      fresh.destroy();
    }, 120_000);

    it("timestampWrites from the hook reach the passes: every dispatch of a step gets a start and an end", async () => {
      const timed = await timestampDevice();
      if (!timed) return; // the adapter lacks timestamp-query (lavapipe through Dawn offers it)
      const { gpu: gpuModule } = await loadBoth(mlp, 8, { learningRate: 0.5 });
      const count = stepShaders.length;
      const querySet = timed.createQuerySet({ type: "timestamp", count: 2 * count });
      const trainer = await gpuModule.createGpuTrainer(timed, {
        seed: 4,
        passes: (call, d) =>
          call === "step"
            ? { timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * d, endOfPassWriteIndex: 2 * d + 1 } }
            : {},
      });
      trainer.queueStep(mlpBatch);
      const resolved = timed.createBuffer({
        size: 16 * count,
        usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
      });
      const read = timed.createBuffer({ size: 16 * count, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      const encoder = timed.createCommandEncoder();
      encoder.resolveQuerySet(querySet, 0, 2 * count, resolved, 0);
      encoder.copyBufferToBuffer(resolved, 0, read, 0, 16 * count);
      timed.queue.submit([encoder.finish()]);
      await read.mapAsync(GPUMapMode.READ);
      const ticks = new BigUint64Array(read.getMappedRange().slice(0));
      read.unmap();
      for (let d = 0; d < count; d++) {
        expect(ticks[2 * d]! > 0n, `dispatch ${d} start`).toBe(true);
        expect(ticks[2 * d + 1]! >= ticks[2 * d]!, `dispatch ${d} end`).toBe(true);
      }
      trainer.destroy();
      querySet.destroy();
    }, 120_000);
  });
});
