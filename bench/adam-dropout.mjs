// Adam + dropout step speed and garbage collections: the 784-128-10 ReLU MLP (examples/mnist.ts:
// mlp with dropout 0.2 on the hidden layer and Adam fused into step(), softmax cross-entropy),
// batch 64, float32. Not a timed test: a measurement, printed and written to a file.
//
//   npm run bench:adam       (builds dist/, then runs this file)
//   node bench/adam-dropout.mjs [--steps N] [--backend wasm|js|both] [--generated]
//
// Per backend (WebAssembly SIMD matrix products, and plain JavaScript): warm-up steps, then 10,000
// timed steps in chunks of 1,000 on 8 distinct random MNIST-shaped batches, cycled. Every step draws
// fresh dropout masks and applies an Adam update. Garbage collections are counted as in
// bench/step-speed.mjs: PerformanceObserver 'gc' entries whose start lies inside a timed chunk
// (no --expose-gc needed); before the timed chunks the process waits until no GC has been
// reported for 100 ms, so that collections of the set-up's garbage are not charged to the loop.
//
// For comparison the same network without dropout (examples/mlp.ts compiled with Adam) is measured
// too, and the dropout mask draws alone (resampleDropout(), as many calls as timed steps), so that a
// collection can be traced to its source.
//
// By default the trainers are compiled in-process with the freshly built compiler; --generated
// imports the committed generated/mnist.ts instead (Adam + dropout only).
// Results go to stdout and bench/results/adam-dropout.json. Exit code 1 when a timed loop
// collected garbage (the generated step must allocate nothing), else 0.

import { PerformanceObserver, performance, constants as perfConstants } from "node:perf_hooks";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { createRandom, median, settle, sleep } from "./support/measure.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({
  options: {
    steps: { type: "string", default: "10000" },
    backend: { type: "string", default: "both" },
    generated: { type: "boolean", default: false },
  },
});
const STEPS = Number(args.steps);
const CHUNK = Math.min(1_000, STEPS);
const WARMUP = 300;
const BATCH = 64;
const DISTINCT_BATCHES = 8;
const backends = args.backend === "both" ? ["wasm", "js"] : [args.backend];
if (!Number.isInteger(STEPS) || STEPS < 1) throw new Error(`--steps must be a positive integer, got ${args.steps}`);
if (!backends.every((b) => b === "wasm" || b === "js"))
  throw new Error(`--backend must be wasm, js or both, got ${args.backend}`);

// ---------------------------------------------------------------------------------------------
// GC observation (as in bench/step-speed.mjs).

const gcEntries = [];
const record = (entry) =>
  gcEntries.push({ start: entry.startTime, duration: entry.duration, kind: entry.detail?.kind ?? entry.kind });
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) record(entry);
});
gcObserver.observe({ entryTypes: ["gc"] });
const GC_KINDS = {
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: "minor",
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: "major",
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental",
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: "weak callbacks",
};
const flushGcRecords = () => {
  for (const entry of gcObserver.takeRecords?.() ?? []) record(entry);
};

/** Waits until no GC has been reported for 100 ms (at most 2 s). */
async function quiesce() {
  for (let tries = 0; tries < 20; tries++) {
    await settle();
    flushGcRecords();
    const before = gcEntries.length;
    await sleep(100);
    await settle();
    flushGcRecords();
    if (gcEntries.length === before) return;
  }
}

/** GCs that started inside any of the [t0, t1] windows, as { count, kinds }. */
async function gcsInside(windows) {
  await settle();
  flushGcRecords();
  const kinds = {};
  let count = 0;
  for (const entry of gcEntries) {
    if (!windows.some(([t0, t1]) => entry.start >= t0 && entry.start <= t1)) continue;
    count++;
    const kind = GC_KINDS[entry.kind] ?? String(entry.kind);
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return { count, kinds };
}

// ---------------------------------------------------------------------------------------------
// The trainer module and the data.

/**
 * The trainers measured: "adam + dropout" (examples/mnist.ts, the figure asked for) and, to tell the
 * two apart, "adam" alone (examples/mlp.ts, the same network without dropout, compiled with Adam).
 */
async function loadVariants() {
  if (!existsSync(path.join(root, "dist/cli/load-model.js")))
    throw new Error("dist/ is missing: run `npm run build` first (npm run bench:adam does).");
  const { importTypeScript, loadModel } = await import(pathToFileURL(path.join(root, "dist/cli/load-model.js")).href);
  if (args.generated)
    return [
      {
        name: "adam + dropout",
        module: await importTypeScript(path.join(root, "generated/mnist.ts"), "generated trainer"),
        origin: "generated/mnist.ts",
      },
    ];
  const { compile } = await import(pathToFileURL(path.join(root, "dist/index.js")).href);
  const variants = [
    { name: "adam + dropout", example: "examples/mnist.ts", options: {} },
    { name: "adam, no dropout", example: "examples/mlp.ts", options: { optimizer: "adam", learningRate: 1e-3 } },
  ];
  const directory = mkdtempSync(path.join(tmpdir(), "gradgen-bench-"));
  try {
    const loaded = [];
    for (const { name, example, options } of variants) {
      const definition = await loadModel(path.join(root, example));
      const { files } = compile(definition, { batch: BATCH, source: example, ...options });
      const target = path.join(directory, files[0].path);
      writeFileSync(target, files[0].contents);
      loaded.push({
        name,
        module: await importTypeScript(target, "generated trainer"),
        origin: `${example} compiled in-process${options.optimizer ? ` with --optimizer ${options.optimizer} --lr ${options.learningRate}` : ""}`,
      });
    }
    return loaded;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

function randomBatches() {
  const random = createRandom(12345);
  return Array.from({ length: DISTINCT_BATCHES }, () => {
    const x = new Float32Array(BATCH * 784);
    const label = new Float32Array(BATCH * 10);
    for (let i = 0; i < x.length; i++) x[i] = random();
    for (let e = 0; e < BATCH; e++) label[e * 10 + Math.floor(random() * 10)] = 1;
    return { x, label };
  });
}

/** The timed loop: allocation-free itself (the loss sum stays an unboxed double). */
const sink = new Float64Array(1);
function runSteps(trainer, batches, from, steps) {
  let sum = 0;
  for (let i = from; i < from + steps; i++) sum += trainer.step(batches[i % DISTINCT_BATCHES]);
  sink[0] = sum;
}

// ---------------------------------------------------------------------------------------------

/** GCs over `calls` calls of f after a warm-up, e.g. the dropout mask draws alone. */
async function gcsOver(f, calls) {
  for (let i = 0; i < 100; i++) f();
  await quiesce();
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) f();
  const t1 = performance.now();
  return (await gcsInside([[t0, t1]])).count;
}

const variants = await loadVariants();
const batches = randomBatches();
console.log(
  `784-128-10 ReLU MLP, softmax cross-entropy, batch ${BATCH}, f32; ${STEPS.toLocaleString("en-US")} timed steps per trainer and backend`,
);
const results = [];
for (const { name, module, origin } of variants) {
  console.log(`${name} (${origin}):`);
  for (const backend of backends) {
    const trainer = module.createTrainer({ seed: 7, backend });
    const { spec } = trainer;
    const dropout = spec.dropout?.length > 0;
    if (spec.optimizer.kind !== "adam" || dropout !== name.includes("+ dropout"))
      throw new Error(`${name}: got optimizer ${spec.optimizer.kind}, dropout ${JSON.stringify(spec.dropout)}`);
    const initialLoss = trainer.loss(batches[0]);
    runSteps(trainer, batches, 0, WARMUP);
    await quiesce();
    const windows = [];
    const chunkMs = [];
    let done = 0;
    while (done < STEPS) {
      const steps = Math.min(CHUNK, STEPS - done);
      const t0 = performance.now();
      runSteps(trainer, batches, WARMUP + done, steps);
      const t1 = performance.now();
      windows.push([t0, t1]);
      chunkMs.push((t1 - t0) / steps);
      done += steps;
    }
    const gcs = await gcsInside(windows);
    const totalMs = windows.reduce((sum, [t0, t1]) => sum + (t1 - t0), 0);
    // Where collections come from: the same number of mask draws, and of gradient() calls, alone.
    const maskDrawGcs = dropout ? await gcsOver(() => trainer.resampleDropout(), STEPS) : undefined;
    const result = {
      trainer: name,
      origin,
      backend: trainer.backend,
      steps: STEPS,
      adamUpdates: trainer.state.step,
      msPerStep: totalMs / STEPS,
      medianChunkMsPerStep: median(chunkMs),
      stepsPerSecond: (STEPS / totalMs) * 1000,
      gcs: gcs.count,
      gcKinds: gcs.kinds,
      gcsInMaskDrawsAlone: maskDrawGcs,
      lossBefore: initialLoss,
      lossAfter: trainer.loss(batches[0]),
    };
    results.push(result);
    console.log(
      `  ${result.backend.padEnd(4)} ${Math.round(result.stepsPerSecond).toLocaleString("en-US").padStart(6)} steps/s ` +
        `(${result.msPerStep.toFixed(3)} ms/step, median chunk ${result.medianChunkMsPerStep.toFixed(3)}), ` +
        `${result.gcs} GCs in ${STEPS.toLocaleString("en-US")} steps${result.gcs ? ` ${JSON.stringify(result.gcKinds)}` : ""}` +
        `${maskDrawGcs === undefined ? "" : `; ${maskDrawGcs} GCs in ${STEPS.toLocaleString("en-US")} resampleDropout() calls alone`}` +
        `; loss on batch 0 ${result.lossBefore.toFixed(3)} → ${result.lossAfter.toFixed(3)} after ${result.adamUpdates.toLocaleString("en-US")} Adam updates`,
    );
  }
}
gcObserver.disconnect();

const allocationFree = results.every((r) => r.gcs === 0);
console.log(
  allocationFree
    ? "0 garbage collections in every timed loop."
    : `MISSED: garbage collected in ${results
        .filter((r) => r.gcs > 0)
        .map((r) => `${r.trainer} (${r.backend})`)
        .join(", ")}.`,
);
const output = {
  benchmark: "adam-dropout",
  date: new Date().toISOString(),
  node: process.version,
  cpu: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}`,
  loadAverageAtStart: loadavg(),
  model:
    "784-128-10 ReLU, softmax cross-entropy, Adam (lr 1e-3); examples/mnist.ts adds dropout 0.2 on the hidden layer",
  batch: BATCH,
  warmupSteps: WARMUP,
  note: "steps/s over all timed steps (chunks of 1,000); GCs = PerformanceObserver 'gc' entries starting inside timed chunks.",
  results,
  allocationFree,
};
mkdirSync(path.join(root, "bench/results"), { recursive: true });
writeFileSync(path.join(root, "bench/results/adam-dropout.json"), `${JSON.stringify(output, null, 2)}\n`);
console.log("Wrote bench/results/adam-dropout.json");
if (!allocationFree) process.exitCode = 1;
