// Training-step speed of the WGSL trainer (WebGPU through Dawn, the npm package `webgpu`) against
// the TypeScript trainer, both compiled in-process from the same model with the freshly built compiler.
//
//   npm run build && node bench/wgsl.mjs [--quick]
//
// Models: xor (2-4-1, batch 4), small (64-64-10, batch 32), mnist (784-128-10, batch 64), wide
// (784-512-512-10, batch 128); plain SGD, f32. For each model it reports ms/step of
//   ts          trainer.step(batch) of the TypeScript trainer (WebAssembly GEMM where it applies),
//   wgsl        trainer.steps(k) on an uploaded batch: k steps recorded as dispatches, one read-back,
//   wgsl step   await trainer.step(batch): upload, one step and the loss read back (latency per call),
//   wgsl f16    trainer.steps(k) with createGpuTrainer(gpu, { precision: "f16" }) (where the adapter
//               offers shader-f16; f16 arithmetic, f32 storage),
// and the ratios wgsl/ts. The figures are medians over interleaved chunks. On this machine the "GPU"
// is Mesa's lavapipe (LLVM on the CPU, 2 shared cores), so the ratios say what the dispatch overhead
// and naive kernels cost, not what a real GPU does. Results also go to bench/results/wgsl.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, cpus, loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { performance } from "node:perf_hooks";
import { transformSync } from "esbuild";
import { create, globals } from "webgpu";
import { createRandom } from "./support/measure.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const QUICK = process.argv.includes("--quick");
const { compile } = await import(path.join(root, "dist", "index.js"));
const { loadModel } = await import(path.join(root, "dist", "cli", "load-model.js"));

const MODELS = [
  { name: "xor", file: "examples/xor.ts", batch: 4, lr: 2, chunks: 7, tsSteps: 20_000, gpuSteps: 200 },
  { name: "small", file: "bench/models/small.ts", batch: 32, lr: 0.05, chunks: 7, tsSteps: 2_000, gpuSteps: 100 },
  { name: "mnist", file: "examples/mlp.ts", batch: 64, lr: 0.05, chunks: 5, tsSteps: 60, gpuSteps: 20 },
  { name: "wide", file: "bench/models/wide.ts", batch: 128, lr: 0.05, chunks: 3, tsSteps: 4, gpuSteps: 3 },
];

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const directory = mkdtempSync(path.join(tmpdir(), "gradgen-bench-wgsl-"));
async function load(model) {
  const definition = await loadModel(path.join(root, model.file));
  const { files } = compile(definition, {
    batch: model.batch,
    learningRate: model.lr,
    targets: ["ts", "wgsl"],
    source: model.file,
  });
  const modules = [];
  for (const file of files) {
    const target = path.join(directory, file.path.replace(/\.ts$/, ".mjs"));
    writeFileSync(target, transformSync(file.contents, { loader: "ts", format: "esm" }).code);
    modules.push(await import(pathToFileURL(target).href));
  }
  const dispatches = /(\d+) compute shaders, (\d+) dispatches per step/.exec(files[1].contents);
  return { cpu: modules[0], gpu: modules[1], shaders: Number(dispatches[1]), dispatches: Number(dispatches[2]) };
}

Object.assign(globalThis, globals);
// The trainers are created from Dawn's instance (createGpuTrainer(gpu)) and hold it: an instance
// collected while its device is in use crashes the process.
const gpuInstance = create([]);
const adapter = await gpuInstance.requestAdapter();
if (!adapter) {
  process.stderr.write("bench/wgsl.mjs: no WebGPU adapter; run `bash scripts/setup-webgpu.sh` as root\n");
  process.exit(1);
}
const adapterName = [adapter.info.vendor, adapter.info.description].filter(Boolean).join(" / ");
const hasF16 = adapter.features.has("shader-f16");

// Each model runs in a child process of its own (a fresh device; a crash of the native driver in one
// model cannot take the others with it); the parent prints the table.
const child = process.argv.find((a) => a.startsWith("--model="))?.slice("--model=".length);
const only = process.env.BENCH_MODELS?.split(",");
if (child === undefined) {
  const { spawnSync } = await import("node:child_process");
  const rows = [];
  process.stdout.write(`WGSL trainer vs TypeScript trainer, ms/step (median of chunks); adapter: ${adapterName}\n`);
  process.stdout.write(
    `${cpus().length} CPUs, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}${QUICK ? ", --quick" : ""}\n\n`,
  );
  for (const model of MODELS.filter((m) => !only || only.includes(m.name))) {
    const run = spawnSync(
      process.execPath,
      [fileURLToPath(import.meta.url), `--model=${model.name}`, ...(QUICK ? ["--quick"] : [])],
      { encoding: "utf8", timeout: 300_000 },
    );
    const line = run.stdout.split("\n").find((l) => l.startsWith("{"));
    if (run.status !== 0 || !line) {
      process.stdout.write(
        `${model.name.padEnd(6)} failed (exit ${run.status ?? run.signal}): ${run.stderr
          .split("\n")
          .filter((l) => l && !l.startsWith("Warning"))
          .slice(-2)
          .join(" ")}\n`,
      );
      continue;
    }
    const row = JSON.parse(line);
    rows.push(row);
    process.stdout.write(
      `${row.model.padEnd(6)} batch ${String(row.batch).padStart(3)}  ts ${row.tsMs.toFixed(4).padStart(9)}  wgsl ${row.wgslMs.toFixed(4).padStart(9)}` +
        `  wgsl step() ${row.wgslStepMs.toFixed(4).padStart(9)}  wgsl f16 ${row.wgslF16Ms === null ? "      n/a" : row.wgslF16Ms.toFixed(4).padStart(9)}` +
        `  wgsl/ts ${row.ratio.toFixed(2).padStart(7)}×  step()/ts ${row.stepRatio.toFixed(2).padStart(7)}×` +
        `  (${row.dispatchesPerStep} dispatches/step, ${row.shaders} shaders)\n`,
    );
  }
  mkdirSync(path.join(root, "bench", "results"), { recursive: true });
  writeFileSync(
    path.join(root, "bench", "results", "wgsl.json"),
    `${JSON.stringify({ adapter: adapterName, quick: QUICK, date: new Date().toISOString(), rows }, null, 2)}\n`,
  );
  process.stdout.write("\nratio > 1: the WGSL trainer is slower. Written to bench/results/wgsl.json\n");
  process.exit(0);
}

for (const model of MODELS.filter((m) => m.name === child)) {
  const started = performance.now();
  const { cpu, gpu, shaders, dispatches } = await load(model);
  if (process.env.BENCH_DEBUG)
    process.stderr.write(`${model.name}: compiled in ${(performance.now() - started).toFixed(0)} ms\n`);
  const cpuTrainer = cpu.createTrainer({ seed: 7 });
  const gpuTrainer = await gpu.createGpuTrainer(gpuInstance, { seed: 7 });
  const f16Trainer = hasF16 ? await gpu.createGpuTrainer(gpuInstance, { seed: 7, precision: "f16" }) : undefined;
  const random = createRandom(12345);
  const batch = {};
  for (const [name, shape] of Object.entries(cpuTrainer.spec.inputs)) {
    const size = shape.reduce((a, b) => a * b, 1);
    batch[name] = new Float32Array(model.batch * size).map(() => random());
  }
  const scale = QUICK ? 0.2 : 1;
  const tsSteps = Math.max(1, Math.round(model.tsSteps * scale));
  const gpuSteps = Math.max(1, Math.round(model.gpuSteps * scale));
  // Warm-up: JIT of the TypeScript trainer, first dispatch (LLVM JIT) of every WGSL shader.
  for (let i = 0; i < Math.min(tsSteps, 50); i++) cpuTrainer.step(batch);
  gpuTrainer.upload(batch);
  await gpuTrainer.steps(2);
  await gpuTrainer.step(batch);
  if (f16Trainer) {
    f16Trainer.upload(batch);
    await f16Trainer.steps(2);
  }
  const ts = [];
  const wgslF16 = [];
  const wgsl = [];
  const wgslStep = [];
  const chunks = QUICK ? Math.min(3, model.chunks) : model.chunks;
  for (let chunk = 0; chunk < chunks; chunk++) {
    let start = performance.now();
    for (let i = 0; i < tsSteps; i++) cpuTrainer.step(batch);
    ts.push((performance.now() - start) / tsSteps);
    start = performance.now();
    await gpuTrainer.steps(gpuSteps, batch);
    wgsl.push((performance.now() - start) / gpuSteps);
    const latencySteps = Math.max(1, Math.min(gpuSteps, 20));
    start = performance.now();
    for (let i = 0; i < latencySteps; i++) await gpuTrainer.step(batch);
    wgslStep.push((performance.now() - start) / latencySteps);
    if (f16Trainer) {
      start = performance.now();
      await f16Trainer.steps(gpuSteps, batch);
      wgslF16.push((performance.now() - start) / gpuSteps);
    }
  }
  const row = {
    model: model.name,
    batch: model.batch,
    shaders,
    dispatchesPerStep: dispatches,
    tsMs: median(ts),
    wgslMs: median(wgsl),
    wgslStepMs: median(wgslStep),
    wgslF16Ms: f16Trainer ? median(wgslF16) : null,
  };
  row.ratio = row.wgslMs / row.tsMs;
  row.stepRatio = row.wgslStepMs / row.tsMs;
  process.stdout.write(`${JSON.stringify(row)}\n`);
}
rmSync(directory, { recursive: true, force: true });
process.exit(0);
