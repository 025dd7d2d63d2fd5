// Training-step speed of the WGSL trainer (WebGPU through Dawn, the npm package `webgpu`) against
// the TypeScript trainer, both compiled in-process from the same model with the freshly built compiler,
// and the time of every dispatch of one training step.
//
//   npm run build && node bench/wgsl.mjs [--quick] [--out=FILE] [--tfjs]
//   node bench/wgsl.mjs --pack=DIR         compile the models into DIR/models (for bench/gpu-pack.sh)
//   node DIR/bench/wgsl.mjs --prebuilt=DIR run from such a folder (no compiler, no esbuild: a GPU machine)
//   --wall-clock: time dispatches by wall clock even where timestamp-query is offered (the fallback);
//   --require-gpu: exit 2 when the adapter is a CPU one (lavapipe, SwiftShader) or Dawn's null backend.
//
// Models: xor (2-4-1, batch 4), small (64-64-10, batch 32), mnist (784-128-10, batch 64), wide
// (784-512-512-10, batch 128); plain SGD, f32. For each model it reports ms/step of
//   ts          trainer.step(batch) of the TypeScript trainer (WebAssembly GEMM where it applies),
//   wgsl        trainer.steps(k) on an uploaded batch: k steps recorded as dispatches, one read-back,
//   wgsl step   await trainer.step(batch): upload, one step and the loss read back (latency per call),
//   wgsl f16    trainer.steps(k) with createGpuTrainer(gpu, { precision: "f16" }) (where the adapter
//               offers shader-f16; f16 arithmetic, f32 storage),
//   tfjs webgpu (with --tfjs, where @tensorflow/tfjs-backend-webgpu is installed or packed) k steps of
//               tf.train.sgd().minimize without read-back, then one read: the same network, the
//               same initial parameters,
// and the ratios wgsl/ts. The figures are medians over interleaved chunks.
//
// Then, per model, one training step dispatch by dispatch: each dispatch's task(s) (the WGSL plan's
// kernels, the model file's line), its products (m×n×k at the compiled batch, FLOPs = 2·m·n·k) and
// its time, with GFLOP/s per product. The times come from timestamp queries where the adapter offers
// "timestamp-query" (each dispatch in a compute pass of its own, createGpuTrainer's `passes` option
// giving it timestampWrites; medians over steps); otherwise, labelled as such, from wall clocks: each
// dispatch submitted alone (the others left out) and awaited with onSubmittedWorkDone, less an
// empty submit's time. On a machine without a GPU the adapter is Mesa's lavapipe (LLVM on the CPU):
// its figures are a sanity check of the bench, not what a GPU does. Results go to bench/results/wgsl.json
// (or --out=FILE).
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir, cpus, loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { performance } from "node:perf_hooks";
import { create, globals } from "webgpu";
import { createRandom } from "./support/measure.mjs";
import { bundleTfjs } from "./support/tfjs.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const flag = (name) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const QUICK = process.argv.includes("--quick");
const TFJS = process.argv.includes("--tfjs");
const PREBUILT = flag("prebuilt");
const PACK = flag("pack");
const OUT = flag("out") ?? path.join(root, "bench", "results", "wgsl.json");

const MODELS = [
  {
    name: "xor",
    file: "examples/xor.ts",
    batch: 4,
    lr: 2,
    chunks: 7,
    tsSteps: 20_000,
    gpuSteps: 200,
    profileSteps: 50,
  },
  {
    name: "small",
    file: "bench/models/small.ts",
    batch: 32,
    lr: 0.05,
    chunks: 7,
    tsSteps: 2_000,
    gpuSteps: 100,
    profileSteps: 50,
  },
  {
    name: "mnist",
    file: "examples/mlp.ts",
    batch: 64,
    lr: 0.05,
    chunks: 5,
    tsSteps: 60,
    gpuSteps: 20,
    profileSteps: 20,
  },
  {
    name: "wide",
    file: "bench/models/wide.ts",
    batch: 128,
    lr: 0.05,
    chunks: 3,
    tsSteps: 4,
    gpuSteps: 3,
    profileSteps: 5,
  },
];

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** The model's two generated modules as JavaScript, and what each dispatch of a step runs (the compiler's summary). */
async function compileModel(model) {
  const { transformSync } = await import("esbuild");
  const { compile } = await import(path.join(root, "dist", "index.js"));
  const { loadModel } = await import(path.join(root, "dist", "cli", "load-model.js"));
  const definition = await loadModel(path.join(root, model.file));
  const { files } = compile(definition, {
    batch: model.batch,
    learningRate: model.lr,
    targets: ["ts", "wgsl"],
    source: model.file,
  });
  const wgsl = files.find((f) => f.path.endsWith(".wgsl.ts"));
  const dispatches = /(\d+) compute shaders, (\d+) dispatches per step/.exec(wgsl.contents);
  return {
    ts: transformSync(files[0].contents, { loader: "ts", format: "esm" }).code,
    wgsl: transformSync(wgsl.contents, { loader: "ts", format: "esm" }).code,
    info: { shaders: Number(dispatches[1]), dispatches: Number(dispatches[2]), step: wgsl.dispatches.step },
  };
}

const directory = mkdtempSync(path.join(tmpdir(), "gradgen-bench-wgsl-"));
async function load(model) {
  const { ts, wgsl, info } = PREBUILT
    ? {
        ts: readFileSync(path.join(PREBUILT, "models", `${model.name}.mjs`), "utf8"),
        wgsl: readFileSync(path.join(PREBUILT, "models", `${model.name}.wgsl.mjs`), "utf8"),
        info: JSON.parse(readFileSync(path.join(PREBUILT, "models", `${model.name}.json`), "utf8")),
      }
    : await compileModel(model);
  const modules = [];
  for (const [suffix, code] of [
    [".mjs", ts],
    [".wgsl.mjs", wgsl],
  ]) {
    const target = path.join(directory, `${model.name}${suffix}`);
    writeFileSync(target, code);
    modules.push(await import(pathToFileURL(target).href));
  }
  return { cpu: modules[0], gpu: modules[1], ...info };
}

if (PACK) {
  // The models compiled ahead, for a machine that has neither the compiler's build nor esbuild.
  mkdirSync(path.join(PACK, "models"), { recursive: true });
  for (const model of MODELS) {
    const { ts, wgsl, info } = await compileModel(model);
    writeFileSync(path.join(PACK, "models", `${model.name}.mjs`), ts);
    writeFileSync(path.join(PACK, "models", `${model.name}.wgsl.mjs`), wgsl);
    writeFileSync(path.join(PACK, "models", `${model.name}.json`), `${JSON.stringify(info)}\n`);
  }
  const bundle = await bundleTfjsWebgpu();
  if (typeof bundle === "string") process.stdout.write(`TF.js WebGPU not packed: ${bundle}\n`);
  else copyFileSync(bundle.file, path.join(PACK, "tfjs-webgpu.mjs"));
  rmSync(directory, { recursive: true, force: true });
  process.exit(0);
}

/** TF.js core, its gradients and its WebGPU backend in one ES module file (esbuild), or why not. */
async function bundleTfjsWebgpu() {
  try {
    const { createRequire } = await import("node:module");
    createRequire(path.join(root, "package.json")).resolve("@tensorflow/tfjs-backend-webgpu");
  } catch {
    return "@tensorflow/tfjs-backend-webgpu is not installed (npm install --save-dev @tensorflow/tfjs-backend-webgpu, then bench/gpu-pack.sh packs it)";
  }
  try {
    const file = path.join(directory, "tfjs-webgpu.mjs");
    writeFileSync(file, await bundleTfjs(['import "@tensorflow/tfjs-backend-webgpu";']));
    return { file };
  } catch (error) {
    return `TF.js with its WebGPU backend did not bundle: ${error.errors?.[0]?.text ?? String(error.message).split("\n")[0]}`;
  }
}

Object.assign(globalThis, globals);
// Dawn's instance stays referenced for the life of the process: collected while its device is in
// use, it crashes the process. Dawn rounds timestamps down to multiples of 2¹⁶ ns unless told not to.
const gpuInstance = create(["disable-dawn-features=timestamp_quantization"]);
// One adapter per device (an adapter gives one device), the GPU where there are several.
const requestAdapter = () => gpuInstance.requestAdapter({ powerPreference: "high-performance" });
const adapter = await requestAdapter();
if (!adapter) {
  process.stderr.write("bench/wgsl.mjs: no WebGPU adapter; run `bash scripts/setup-webgpu.sh` as root\n");
  process.exit(1);
}
const adapterName = [adapter.info.vendor, adapter.info.architecture, adapter.info.description]
  .filter(Boolean)
  .join(" / ");
const hasF16 = adapter.features.has("shader-f16");
const hasTimestamps = adapter.features.has("timestamp-query") && !process.argv.includes("--wall-clock");
const cpuAdapter = /llvmpipe|lavapipe|swiftshader|\bnull\b/i.test(adapterName);
const CPU_NOTE =
  "no GPU: the adapter is a CPU Vulkan driver, so these figures are a sanity check of the bench, not what a GPU does; the comparison with TF.js's WebGPU backend awaits a GPU machine (bench/gpu-pack.sh, then bench/gpu-run.sh there)";
if (process.argv.includes("--require-gpu") && cpuAdapter) {
  process.stderr.write(
    `bench/wgsl.mjs: --require-gpu, but the adapter is a CPU one (${adapterName}); is the GPU's Vulkan driver found?\n`,
  );
  process.exit(2);
}
const PROFILE_METHOD = hasTimestamps
  ? "timestamp-query: each dispatch in a compute pass of its own with timestampWrites"
  : `wall clock (${adapter.features.has("timestamp-query") ? "--wall-clock" : "the adapter lacks timestamp-query"}): each dispatch submitted alone, awaited with onSubmittedWorkDone, less an empty submit`;

// Each model runs in a child process of its own (a fresh device; a crash of the native driver in one
// model cannot take the others with it); the parent prints the tables.
const child = flag("model");
const only = process.env.BENCH_MODELS?.split(",");
const ms = (value, width = 9) =>
  value === null || value === undefined ? "n/a".padStart(width) : value.toFixed(4).padStart(width);
const gflops = (flops, time) => (flops > 0 && time > 0 ? (flops / time / 1e6).toPrecision(3) : "n/a");
const vec4Of = (p) =>
  p.vec4?.a || p.vec4?.b
    ? ` (vec4 loads: ${[p.vec4.a ? "A" : "", p.vec4.b ? "B" : ""].filter(Boolean).join(", ")})`
    : "";
const shapeOf = (p) => `${p.repeat > 1 ? `${p.repeat}×` : ""}${p.m}×${p.n}×${p.k}`;
if (child === undefined) {
  const { spawnSync } = await import("node:child_process");
  const rows = [];
  process.stdout.write(`WGSL trainer vs TypeScript trainer, ms/step (median of chunks); adapter: ${adapterName}\n`);
  process.stdout.write(
    `${cpus().length} CPUs, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}${QUICK ? ", --quick" : ""}\n\n`,
  );
  const passOn = process.argv.slice(2).filter((a) => !a.startsWith("--out="));
  for (const model of MODELS.filter((m) => !only || only.includes(m.name))) {
    const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url), `--model=${model.name}`, ...passOn], {
      encoding: "utf8",
      timeout: 600_000,
      maxBuffer: 1 << 26,
    });
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
      `${row.model.padEnd(6)} batch ${String(row.batch).padStart(3)}  ts ${ms(row.tsMs)}  wgsl ${ms(row.wgslMs)}` +
        `  wgsl step() ${ms(row.wgslStepMs)}  wgsl f16 ${ms(row.wgslF16Ms)}` +
        (TFJS ? `  tfjs webgpu ${ms(row.tfjsWebgpuMs)}` : "") +
        `  wgsl/ts ${row.ratio.toFixed(2).padStart(7)}×  step()/ts ${row.stepRatio.toFixed(2).padStart(7)}×` +
        `  (${row.dispatchesPerStep} dispatches/step, ${row.shaders} shaders)\n`,
    );
    if (row.tfjsWebgpuNote) process.stdout.write(`       tfjs webgpu: ${row.tfjsWebgpuNote}\n`);
  }
  process.stdout.write(`\nratio > 1: the WGSL trainer is slower.${cpuAdapter ? `\nNote: ${CPU_NOTE}.` : ""}\n`);
  for (const row of rows) printProfile(row);
  mkdirSync(path.dirname(OUT), { recursive: true });
  writeFileSync(
    OUT,
    `${JSON.stringify({ adapter: adapterName, ...(cpuAdapter ? { note: CPU_NOTE } : {}), quick: QUICK, date: new Date().toISOString(), profileMethod: PROFILE_METHOD, rows }, null, 2)}\n`,
  );
  process.stdout.write(`\nWritten to ${path.relative(process.cwd(), OUT) || OUT}\n`);
  process.exit(0);
}

function printProfile(row) {
  const { profile } = row;
  process.stdout.write(
    `\n${row.model} (batch ${row.batch}), one training step, ${profile.dispatches.length} dispatches; ${profile.method}; median of ${profile.samples} steps\n`,
  );
  process.stdout.write("   #  shader  workgroups         ms   GFLOP/s  what (products m×n×k at the batch)\n");
  profile.dispatches.forEach((d, i) => {
    const rate = d.flops > 0 ? gflops(d.flops, d.ms) : "";
    const what = d.tasks.join("; ");
    process.stdout.write(
      `  ${String(i).padStart(2)}  ${String(d.shader).padStart(6)}  ${String(d.workgroups).padStart(10)}  ${ms(d.ms)}  ${rate.padStart(8)}  ${what.length > 140 ? `${what.slice(0, 137)}...` : what}\n`,
    );
    for (const p of d.products) {
      const rateOf = (time) => `${gflops(p.flops, time)} GFLOP/s`;
      const withSum =
        p.split > 1 && profile.dispatches[i + 1]
          ? `; with the split-K sum (dispatch ${i + 1}) ${rateOf(d.ms + profile.dispatches[i + 1].ms)}`
          : "";
      const share = d.products.length > 1 ? " (the dispatch's time shared)" : `: ${rateOf(d.ms)}`;
      process.stdout.write(
        `${" ".repeat(46)}product ${shapeOf(p)}${p.split > 1 ? ` split-K ${p.split}` : ""}${vec4Of(p)}, ${(p.flops / 1e6).toPrecision(3)} MFLOP${share}${withSum}\n`,
      );
    }
  });
  const { total } = profile;
  process.stdout.write(
    `  total: dispatches ${total.ms.toFixed(4)} ms (${hasTimestampsText(profile)}); products ${(total.productFlops / 1e6).toPrecision(3)} MFLOP in ${total.productMs.toFixed(4)} ms` +
      ` (their dispatches and split-K sums): ${gflops(total.productFlops, total.productMs)} GFLOP/s;` +
      ` whole step ${gflops(total.productFlops, total.ms)} GFLOP/s\n`,
  );
}
function hasTimestampsText(profile) {
  return profile.spanMs === undefined
    ? "sum of medians"
    : `sum of medians; first start to last end ${profile.spanMs.toFixed(4)} ms`;
}

/** A step dispatch by dispatch: timestamps per pass, or (without timestamp-query) each dispatch alone by wall clock. */
async function profileStep(model, gpuModule, summaries, batch) {
  const profileAdapter = await requestAdapter();
  const device = await profileAdapter.requestDevice({ requiredFeatures: hasTimestamps ? ["timestamp-query"] : [] });
  const count = summaries.length;
  const samples = Math.max(3, QUICK ? Math.ceil(model.profileSteps / 4) : model.profileSteps);
  const times = summaries.map(() => []);
  let spanMs;
  let trainer;
  if (hasTimestamps) {
    const querySet = device.createQuerySet({ type: "timestamp", count: 2 * count });
    const resolved = device.createBuffer({
      size: 16 * count,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    const read = device.createBuffer({ size: 16 * count, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const passes = (call, d) =>
      call === "step"
        ? { timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * d, endOfPassWriteIndex: 2 * d + 1 } }
        : {};
    trainer = await gpuModule.createGpuTrainer(device, { seed: 7, passes });
    trainer.upload(batch);
    await trainer.steps(2); // the first dispatch of each shader compiles it (LLVM JIT on lavapipe)
    const spans = [];
    for (let s = 0; s < samples; s++) {
      trainer.queueStep();
      const encoder = device.createCommandEncoder();
      encoder.resolveQuerySet(querySet, 0, 2 * count, resolved, 0);
      encoder.copyBufferToBuffer(resolved, 0, read, 0, 16 * count);
      device.queue.submit([encoder.finish()]);
      await read.mapAsync(GPUMapMode.READ);
      const ticks = new BigUint64Array(read.getMappedRange().slice(0));
      read.unmap();
      // Resolved timestamps are nanoseconds (WebGPU converts the adapter's ticks with its period).
      for (let d = 0; d < count; d++) times[d].push(Math.max(0, Number(ticks[2 * d + 1] - ticks[2 * d])) / 1e6);
      spans.push(Number(ticks[2 * count - 1] - ticks[0]) / 1e6);
    }
    spanMs = median(spans);
    querySet.destroy();
  } else {
    let alone = -1; // the one step dispatch encoded; -1: none (an empty submit)
    const passes = (call, d) => (call !== "step" || d === alone ? {} : null);
    trainer = await gpuModule.createGpuTrainer(device, { seed: 7, passes });
    trainer.upload(batch);
    await trainer.steps(2);
    const wall = async (d) => {
      alone = d;
      trainer.queueStep(); // warm-up
      await device.queue.onSubmittedWorkDone();
      const values = [];
      for (let s = 0; s < samples; s++) {
        const start = performance.now();
        trainer.queueStep();
        await device.queue.onSubmittedWorkDone();
        values.push(performance.now() - start);
      }
      return median(values);
    };
    const empty = await wall(-1);
    for (let d = 0; d < count; d++) times[d].push(Math.max(0, (await wall(d)) - empty));
  }
  trainer.destroy();
  device.destroy();
  const dispatches = summaries.map((s, d) => ({
    ...s,
    flops: s.products.reduce((sum, p) => sum + p.flops, 0),
    ms: median(times[d]),
  }));
  const total = { ms: dispatches.reduce((sum, d) => sum + d.ms, 0), productFlops: 0, productMs: 0 };
  dispatches.forEach((d, i) => {
    if (d.products.length === 0) return;
    total.productFlops += d.flops;
    total.productMs += d.ms + (d.products.some((p) => p.split > 1) && dispatches[i + 1] ? dispatches[i + 1].ms : 0);
  });
  return { method: PROFILE_METHOD, samples, ...(spanMs === undefined ? {} : { spanMs }), dispatches, total };
}

/** TF.js's WebGPU backend on the same network and initial parameters: ms per step of k steps without read-back. */
async function tfjsWebgpu(model, cpuTrainer, batch, steps, chunks) {
  const bundle = PREBUILT
    ? existsSync(path.join(PREBUILT, "tfjs-webgpu.mjs"))
      ? { file: path.join(PREBUILT, "tfjs-webgpu.mjs") }
      : "not packed (bench/gpu-pack.sh bundles it where @tensorflow/tfjs-backend-webgpu is installed)"
    : await bundleTfjsWebgpu();
  if (typeof bundle === "string") return { note: bundle };
  if (globalThis.navigator === undefined)
    Object.defineProperty(globalThis, "navigator", { value: {}, configurable: true });
  Object.defineProperty(globalThis.navigator, "gpu", { value: gpuInstance, configurable: true });
  const tf = await import(pathToFileURL(bundle.file).href);
  if (!(await tf.setBackend("webgpu"))) return { note: "tf.setBackend('webgpu') failed" };
  await tf.ready();
  const params = cpuTrainer.params;
  const layers = Object.keys(params).filter((name) => /^W\d+$/.test(name)).length;
  const shapes = cpuTrainer.spec.params;
  const W = [];
  const b = [];
  for (let l = 1; l <= layers; l++) {
    W.push(tf.variable(tf.tensor2d(params[`W${l}`], shapes[`W${l}`], "float32")));
    b.push(tf.variable(tf.tensor1d(params[`b${l}`], "float32")));
  }
  const [inputName, targetName] = Object.keys(cpuTrainer.spec.inputs);
  const x = tf.tensor2d(batch[inputName], [model.batch, cpuTrainer.spec.inputs[inputName][0]]);
  const target = tf.tensor2d(batch[targetName], [model.batch, cpuTrainer.spec.inputs[targetName][0]]);
  const sigmoid = model.name === "xor"; // 2-4-1 sigmoid, half squared error (mean over the batch); else ReLU, softmax cross-entropy
  const lossOf = () => {
    let h = x;
    for (let l = 0; l < layers - 1; l++) h = (sigmoid ? tf.sigmoid : tf.relu)(tf.add(tf.matMul(h, W[l]), b[l]));
    const z = tf.add(tf.matMul(h, W[layers - 1]), b[layers - 1]);
    if (!sigmoid) return tf.losses.softmaxCrossEntropy(target, z);
    return tf.mul(tf.sum(tf.square(tf.sub(tf.sigmoid(z), target))), 0.5 / model.batch);
  };
  const optimizer = tf.train.sgd(model.lr);
  const varList = [...W, ...b];
  const run = async (k) => {
    for (let i = 0; i < k; i++) tf.tidy(() => void optimizer.minimize(lossOf, false, varList));
    await W[0].data();
  };
  // Same network, same parameters, same batch: the first losses must agree, or the timing compares different work.
  const firstLoss = (await tf.tidy(lossOf).data())[0];
  const ours = cpuTrainer.loss(batch);
  const agreement = Math.abs(firstLoss - ours) / Math.max(Math.abs(ours), 1e-30);
  await run(3); // shader compilation
  const values = [];
  for (let chunk = 0; chunk < chunks; chunk++) {
    const start = performance.now();
    await run(steps);
    values.push((performance.now() - start) / steps);
  }
  const loss = await tf.tidy(lossOf).data();
  tf.dispose([...varList, x, target]);
  optimizer.dispose();
  return {
    ms: median(values),
    firstLoss: { tfjs: firstLoss, gradgen: ours, relativeDifference: agreement },
    note: `TF.js ${tf.version_core}; first loss ${firstLoss.toPrecision(6)} against gradgen's ${ours.toPrecision(6)} (relative difference ${agreement.toExponential(1)}${agreement > 1e-4 ? ": NOT THE SAME NETWORK, the timing compares different work" : ""}); loss after the timed steps ${loss[0].toPrecision(4)}`,
  };
}

for (const model of MODELS.filter((m) => m.name === child)) {
  const started = performance.now();
  const { cpu, gpu, shaders, dispatches, step: summaries } = await load(model);
  if (process.env.BENCH_DEBUG)
    process.stderr.write(`${model.name}: loaded in ${(performance.now() - started).toFixed(0)} ms\n`);
  const cpuTrainer = cpu.createTrainer({ seed: 7 });
  const gpuTrainer = await gpu.createGpuTrainer(await (await requestAdapter()).requestDevice(), { seed: 7 });
  const f16Device = hasF16
    ? await (await requestAdapter()).requestDevice({ requiredFeatures: ["shader-f16"] })
    : undefined;
  const f16Trainer = f16Device ? await gpu.createGpuTrainer(f16Device, { seed: 7, precision: "f16" }) : undefined;
  const random = createRandom(12345);
  const batch = {};
  for (const [name, shape] of Object.entries(cpuTrainer.spec.inputs)) {
    const size = shape.reduce((a, b) => a * b, 1);
    batch[name] = new Float32Array(model.batch * size).map(() => random());
  }
  const scale = QUICK ? 0.2 : 1;
  const tsSteps = Math.max(1, Math.round(model.tsSteps * scale));
  const gpuSteps = Math.max(1, Math.round(model.gpuSteps * scale));
  const chunks = QUICK ? Math.min(3, model.chunks) : model.chunks;
  // TF.js first, from the TypeScript trainer's initial parameters (before any step changes them).
  const tfjs = TFJS ? await tfjsWebgpu(model, cpuTrainer, batch, gpuSteps, chunks) : undefined;
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
  gpuTrainer.destroy();
  gpuTrainer.device.destroy();
  f16Trainer?.destroy();
  f16Device?.destroy();
  const profile = await profileStep(model, gpu, summaries, batch);
  const row = {
    model: model.name,
    batch: model.batch,
    shaders,
    dispatchesPerStep: dispatches,
    tsMs: median(ts),
    wgslMs: median(wgsl),
    wgslStepMs: median(wgslStep),
    wgslF16Ms: f16Trainer ? median(wgslF16) : null,
    ...(TFJS
      ? { tfjsWebgpuMs: tfjs.ms ?? null, tfjsWebgpuFirstLoss: tfjs.firstLoss ?? null, tfjsWebgpuNote: tfjs.note }
      : {}),
    profile,
  };
  row.ratio = row.wgslMs / row.tsMs;
  row.stepRatio = row.wgslStepMs / row.tsMs;
  process.stdout.write(`${JSON.stringify(row)}\n`);
}
rmSync(directory, { recursive: true, force: true });
process.exit(0);
