// Training-step speed: gradgen's generated trainers against TensorFlow.js (pure-JS cpu backend).
//
//   npm run bench            (builds dist/, then runs this file)
//   node bench/step-speed.mjs [--quick] [--generated]
//
// For each model (xor 2-4-1 sigmoid, batch 4; mlp 784-128-10 ReLU + softmax cross-entropy, batch 64)
// it times one training step (forward + backward + plain SGD update, float32) in both libraries.
// gradgen runs 10,000 timed steps per model; TF.js runs fewer. The timed steps are split into chunks,
// and gradgen and TF.js chunks are interleaved (alternating which goes first) so that a noisy
// neighbour on this shared 2-core machine hits both alike; the figure reported is the median of
// the per-chunk ms/step. Garbage collections are counted with a PerformanceObserver ('gc' entries
// whose start lies inside a timed chunk), so no --expose-gc is needed. After the timed chunks, the
// bytes the warm loop allocates per step: sampled by V8's heap profiler, and as new-space growth
// (v8.getHeapSpaceStatistics(), bench/support/measure.mjs; bench/allocation.mjs measures the cold start).
//
// By default the trainers are compiled in-process from examples/*.ts with the freshly built
// compiler (so the figures describe the current compiler, not whatever generated/ holds);
// --generated loads generated/xor.ts and generated/mlp.ts instead.
// --quick runs a short smoke version (figures are then only indicative).
//
// Results go to stdout and to bench/results/step-speed.json. The exit code is 0 even when a target
// is missed; misses are printed as MISSED.

import { PerformanceObserver, performance, constants as perfConstants } from "node:perf_hooks";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Session } from "node:inspector/promises";
import { loadTfjsCpu } from "./support/tfjs-cpu.mjs";
import { createRandom, median, settle, sleep, youngBytesPerCall } from "./support/measure.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const argv = new Set(process.argv.slice(2));
const QUICK = argv.has("--quick");
const FROM_GENERATED = argv.has("--generated");

// ---------------------------------------------------------------------------------------------
// Configuration. Chunks per model are interleaved gradgen / TF.js; figures are medians over chunks.
const TARGETS = { xor: 100, mlp: 5 };
/** Seconds the gradgen mlp loop may take at most; past that its step count is reduced (and said so). */
const MLP_GRADGEN_BUDGET_S = QUICK ? 5 : 150;
const CONFIG = {
  xor: {
    example: "examples/xor.ts",
    batch: 4,
    learningRate: 2,
    rounds: QUICK ? 4 : 10,
    gradgen: { warmup: QUICK ? 5_000 : 30_000, steps: QUICK ? 2_000 : 10_000 },
    tfjs: { warmup: QUICK ? 200 : 4_000, steps: QUICK ? 200 : 5_000 },
  },
  mlp: {
    example: "examples/mlp.ts",
    batch: 64,
    learningRate: 0.05,
    rounds: QUICK ? 4 : 10,
    gradgen: { warmup: QUICK ? 5 : 30, steps: QUICK ? 40 : 10_000 },
    tfjs: { warmup: QUICK ? 3 : 10, steps: QUICK ? 8 : 300 },
  },
};
const DATA_SEED = 12345;
const PARAM_SEED = 7;
const MLP_BATCHES = 8; // distinct random batches, cycled

// ---------------------------------------------------------------------------------------------
// Small helpers.

const fmt = (ms) => (ms >= 1 ? ms.toFixed(2) : ms >= 0.01 ? ms.toFixed(4) : ms.toPrecision(3));

// ---------------------------------------------------------------------------------------------
// GC observation: every 'gc' entry is kept with its start time; chunks count those inside them.

const gcEntries = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries())
    gcEntries.push({ start: entry.startTime, duration: entry.duration, kind: entry.detail?.kind ?? entry.kind });
});
gcObserver.observe({ entryTypes: ["gc"] });

const GC_KINDS = {
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: "minor",
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: "major",
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental",
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: "weak callbacks",
};

function flushGcRecords() {
  for (const entry of gcObserver.takeRecords?.() ?? [])
    gcEntries.push({ start: entry.startTime, duration: entry.duration, kind: entry.detail?.kind ?? entry.kind });
}

/** The GCs that started inside [t0, t1], as { count, kinds: { minor: 2, ... } }. */
async function gcsBetween(t0, t1) {
  await settle();
  flushGcRecords();
  const kinds = {};
  let count = 0;
  for (const entry of gcEntries) {
    if (entry.start < t0 || entry.start > t1) continue;
    count++;
    const kind = GC_KINDS[entry.kind] ?? String(entry.kind);
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return { count, kinds };
}

/**
 * Before a gradgen chunk: give V8 time to finish GC work that TF.js's garbage started (concurrent
 * marking is finalised from a task or a stack-guard interrupt, which could otherwise land inside a
 * gradgen chunk that allocates nothing). Waits until no GC has been reported for 100 ms (at most 1 s).
 */
async function quiesce() {
  for (let tries = 0; tries < 10; tries++) {
    await settle();
    flushGcRecords();
    const before = gcEntries.length;
    await sleep(100);
    await settle();
    flushGcRecords();
    if (gcEntries.length === before) return;
  }
}

function addKinds(into, kinds) {
  for (const [kind, n] of Object.entries(kinds)) into[kind] = (into[kind] ?? 0) + n;
}

// ---------------------------------------------------------------------------------------------
// Data: the four XOR examples; random MNIST-shaped batches (uniform pixels, random one-hot labels).

function xorBatches() {
  return [{ x: new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]), t: new Float32Array([0, 1, 1, 0]) }];
}

function mlpBatches(batch) {
  const random = createRandom(DATA_SEED);
  const batches = [];
  for (let b = 0; b < MLP_BATCHES; b++) {
    const x = new Float32Array(batch * 784);
    const label = new Float32Array(batch * 10);
    for (let i = 0; i < x.length; i++) x[i] = random();
    for (let e = 0; e < batch; e++) label[e * 10 + Math.floor(random() * 10)] = 1;
    batches.push({ x, label });
  }
  return batches;
}

// ---------------------------------------------------------------------------------------------
// gradgen trainers.

async function loadTrainerModules() {
  if (!existsSync(path.join(root, "dist/cli/load-model.js")))
    throw new Error("dist/ is missing: run `npm run build` first (npm run bench does).");
  const { importTypeScript, loadModel } = await import(pathToFileURL(path.join(root, "dist/cli/load-model.js")).href);
  const modules = {};
  if (FROM_GENERATED) {
    for (const name of ["xor", "mlp"])
      modules[name] = {
        module: await importTypeScript(path.join(root, `generated/${name}.ts`), "generated trainer"),
        origin: `generated/${name}.ts`,
      };
    return modules;
  }
  const { compile } = await import(pathToFileURL(path.join(root, "dist/index.js")).href);
  const directory = mkdtempSync(path.join(tmpdir(), "gradgen-bench-"));
  try {
    for (const name of ["xor", "mlp"]) {
      const config = CONFIG[name];
      const definition = await loadModel(path.join(root, config.example));
      const started = performance.now();
      const { files } = compile(definition, {
        batch: config.batch,
        dtype: "f32",
        learningRate: config.learningRate,
        source: config.example,
      });
      const compileMs = performance.now() - started;
      const file = files.find((f) => f.path === `${name}.ts`) ?? files[0];
      const target = path.join(directory, file.path);
      writeFileSync(target, file.contents);
      let stale = null;
      try {
        stale = readFileSync(path.join(root, `generated/${name}.ts`), "utf8") !== file.contents;
      } catch {
        /* no generated copy */
      }
      modules[name] = {
        module: await importTypeScript(target, "generated trainer"),
        origin: `compiled from ${config.example} in-process`,
        compileMs,
        generatedIsStale: stale,
        lines: file.contents.split("\n").length,
      };
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  return modules;
}

/** The timed loop: allocation-free itself (the loss sum stays an unboxed double once optimised). */
const sink = new Float64Array(1);
function runGradgen(trainer, batches, steps) {
  const count = batches.length;
  let sum = 0;
  for (let i = 0; i < steps; i++) sum += trainer.step(batches[i % count]);
  sink[0] = sum;
}

// ---------------------------------------------------------------------------------------------
// TF.js: the same two models written with tf ops, trained with tf.train.sgd's minimize in tf.tidy.

async function loadTf() {
  const tf = await loadTfjsCpu();
  tf.enableProdMode(); // no debug checks, as a production user would run it
  return tf;
}

/**
 * A TF.js trainer whose parameters start from `params` (row-major, the same layout as gradgen's).
 * step(i) trains on prepared batch i and returns the loss (read back like gradgen's step returns it).
 */
let variableCounter = 0;
function createTfTrainer(tf, name, params, batches, learningRate) {
  const shapes =
    name === "xor"
      ? { W1: [2, 4], b1: [4], W2: [4, 1], b2: [1] }
      : { W1: [784, 128], b1: [128], W2: [128, 10], b2: [10] };
  const variables = {};
  for (const key of Object.keys(shapes))
    variables[key] = tf.variable(
      tf.tensor(Float32Array.from(params[key]), shapes[key], "float32"),
      true,
      `${name}_${key}_${++variableCounter}`,
    );
  const varList = Object.values(variables);
  const optimizer = tf.train.sgd(learningRate);
  const { W1, b1, W2, b2 } = variables;
  const inputs = batches.map((batch) =>
    name === "xor"
      ? { x: tf.tensor2d(batch.x, [batch.x.length / 2, 2]), t: tf.tensor2d(batch.t, [batch.t.length, 1]) }
      : {
          x: tf.tensor2d(batch.x, [batch.x.length / 784, 784]),
          label: tf.tensor2d(batch.label, [batch.label.length / 10, 10]),
        },
  );
  const lossFunction =
    name === "xor"
      ? (input) => () => {
          // mean over the batch of ½ Σ (y − t)²
          const h = tf.sigmoid(tf.add(tf.matMul(input.x, W1), b1));
          const y = tf.sigmoid(tf.add(tf.matMul(h, W2), b2));
          return tf.mul(tf.sum(tf.square(tf.sub(y, input.t))), 0.5 / input.x.shape[0]);
        }
      : (input) => () => {
          // mean over the batch of softmax cross-entropy
          const hidden = tf.relu(tf.add(tf.matMul(input.x, W1), b1));
          const logits = tf.add(tf.matMul(hidden, W2), b2);
          return tf.losses.softmaxCrossEntropy(input.label, logits);
        };
  const closures = inputs.map((input) => lossFunction(input));
  return {
    variables,
    step(i) {
      return tf.tidy(() => optimizer.minimize(closures[i % closures.length], true, varList).dataSync()[0]);
    },
  };
}

function runTf(trainer, steps) {
  let sum = 0;
  for (let i = 0; i < steps; i++) sum += trainer.step(i);
  sink[0] = sum;
}

/**
 * Bytes the JS heap allocates per gradgen step, by V8's sampling heap profiler over one more chunk
 * (after the timed ones, so it cannot disturb them): the samples whose stack passes through runGradgen.
 * Heap-size deltas are no good for this: they also count code objects made by the optimising compiler.
 */
async function sampleAllocation(run, steps) {
  const session = new Session();
  session.connect();
  try {
    await session.post("HeapProfiler.startSampling", { samplingInterval: 64 });
    run();
    const { profile } = await session.post("HeapProfiler.stopSampling");
    let bytes = 0;
    (function walk(node, inside) {
      const here = inside || node.callFrame.functionName === "runGradgen";
      if (here) bytes += node.selfSize;
      for (const child of node.children) walk(child, here);
    })(profile.head, false);
    return bytes / steps;
  } finally {
    session.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------
// Cross-check: from identical parameters and data, both libraries give the same losses.

function crossCheck(tf, name, createTrainer, batches, learningRate) {
  const trainer = createTrainer({ seed: PARAM_SEED });
  const params = Object.fromEntries(Object.entries(trainer.params).map(([k, v]) => [k, Float32Array.from(v)]));
  const tfTrainer = createTfTrainer(tf, name, params, batches, learningRate);
  let worst = 0;
  const pairs = [];
  for (let i = 0; i < 3; i++) {
    const a = trainer.step(batches[i % batches.length]);
    const b = tfTrainer.step(i);
    pairs.push([a, b]);
    worst = Math.max(worst, Math.abs(a - b) / Math.max(1e-6, Math.abs(b)));
  }
  tf.dispose(Object.values(tfTrainer.variables));
  return { ok: worst < 1e-3, worstRelativeDifference: worst, losses: pairs };
}

// ---------------------------------------------------------------------------------------------
// One model: warm up both, then interleave timed chunks.

async function benchModel(tf, name, module) {
  const config = CONFIG[name];
  const batches = name === "xor" ? xorBatches() : mlpBatches(config.batch);
  const { createTrainer } = module;

  const check = crossCheck(tf, name, createTrainer, batches, config.learningRate);
  console.log(
    `  ${name}: cross-check of the first 3 losses ${check.ok ? "ok" : "FAILED"} (worst relative difference ${check.worstRelativeDifference.toExponential(1)})`,
  );

  const trainer = createTrainer({ seed: PARAM_SEED });
  const initial = Object.fromEntries(Object.entries(trainer.params).map(([k, v]) => [k, Float32Array.from(v)]));
  const tfTrainer = createTfTrainer(tf, name, initial, batches, config.learningRate);

  // Warm-up (also estimates the gradgen step time, to keep the mlp run within its budget).
  const started = performance.now();
  runGradgen(trainer, batches, config.gradgen.warmup);
  const warmMs = (performance.now() - started) / config.gradgen.warmup;
  runTf(tfTrainer, config.tfjs.warmup);
  runGradgen(trainer, batches, Math.max(1, config.gradgen.warmup >> 2));
  await settle();

  let gradgenSteps = config.gradgen.steps;
  let reduced = null;
  if (warmMs * gradgenSteps > MLP_GRADGEN_BUDGET_S * 1000) {
    gradgenSteps = Math.max(
      config.rounds,
      Math.floor((MLP_GRADGEN_BUDGET_S * 1000) / warmMs / config.rounds) * config.rounds,
    );
    reduced = `gradgen ran ${gradgenSteps} timed steps instead of ${config.gradgen.steps} (warm-up measured ${fmt(warmMs)} ms/step; budget ${MLP_GRADGEN_BUDGET_S} s)`;
    console.log(`  ${name}: NOTE ${reduced}`);
  }
  const gChunk = Math.round(gradgenSteps / config.rounds);
  const tChunk = Math.max(1, Math.round(config.tfjs.steps / config.rounds));
  const tensorsBefore = tf.memory().numTensors;

  const gradgen = { chunks: [], gcs: 0, gcKinds: {} };
  const tfjs = { chunks: [], gcs: 0, gcKinds: {} };
  const runGradgenChunk = async () => {
    await quiesce();
    const t0 = performance.now();
    runGradgen(trainer, batches, gChunk);
    const t1 = performance.now();
    gradgen.chunks.push((t1 - t0) / gChunk);
    const gcs = await gcsBetween(t0, t1);
    gradgen.gcs += gcs.count;
    addKinds(gradgen.gcKinds, gcs.kinds);
  };
  const runTfChunk = async () => {
    await settle();
    const t0 = performance.now();
    runTf(tfTrainer, tChunk);
    const t1 = performance.now();
    tfjs.chunks.push((t1 - t0) / tChunk);
    const gcs = await gcsBetween(t0, t1);
    tfjs.gcs += gcs.count;
    addKinds(tfjs.gcKinds, gcs.kinds);
  };
  for (let round = 0; round < config.rounds; round++) {
    if (round % 2 === 0) {
      await runGradgenChunk();
      await runTfChunk();
    } else {
      await runTfChunk();
      await runGradgenChunk();
    }
    process.stdout.write(
      `  ${name}: round ${round + 1}/${config.rounds}: gradgen ${fmt(gradgen.chunks.at(-1))} ms/step, TF.js ${fmt(tfjs.chunks.at(-1))} ms/step\n`,
    );
  }
  const tensorsAfter = tf.memory().numTensors;
  tf.dispose(Object.values(tfTrainer.variables));
  const allocation = await sampleAllocation(() => runGradgen(trainer, batches, gChunk), gChunk);
  // New-space growth per step of the same (warm) loop, GC-free chunks of C and 2C steps (bench/allocation.mjs has the cold start).
  const young = await youngBytesPerCall(
    (steps) => runGradgen(trainer, batches, steps),
    name === "xor" ? 5_000 : QUICK ? 20 : 200,
    QUICK ? 4 : 8,
    gcsBetween,
  );

  const gradgenMs = median(gradgen.chunks);
  const tfMs = median(tfjs.chunks);
  const gradgenTotal = gChunk * config.rounds;
  const tfTotal = tChunk * config.rounds;
  return {
    model: name,
    batch: config.batch,
    learningRate: config.learningRate,
    crossCheck: check,
    note: reduced,
    gradgen: {
      steps: gradgenTotal,
      stepsPerChunk: gChunk,
      msPerStep: gradgenMs,
      stepsPerSecond: 1000 / gradgenMs,
      minMsPerStep: Math.min(...gradgen.chunks),
      chunkMsPerStep: gradgen.chunks,
      gcs: gradgen.gcs,
      gcKinds: gradgen.gcKinds,
      sampledHeapBytesPerStep: allocation,
      newSpaceBytesPerStep: young.bytesPerCall,
      newSpaceMeasurement: young,
      finalLoss: trainer.loss(batches[0]),
    },
    tfjs: {
      steps: tfTotal,
      stepsPerChunk: tChunk,
      msPerStep: tfMs,
      stepsPerSecond: 1000 / tfMs,
      minMsPerStep: Math.min(...tfjs.chunks),
      chunkMsPerStep: tfjs.chunks,
      gcs: tfjs.gcs,
      gcKinds: tfjs.gcKinds,
      gcsPer1000Steps: (tfjs.gcs / tfTotal) * 1000,
      tensorsLeaked: tensorsAfter - tensorsBefore,
    },
    ratio: tfMs / gradgenMs,
    target: TARGETS[name],
  };
}

// ---------------------------------------------------------------------------------------------

const runStarted = performance.now();
console.log(
  `step-speed: Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}${QUICK ? " (--quick)" : ""}`,
);
const modules = await loadTrainerModules();
for (const [name, m] of Object.entries(modules)) {
  console.log(
    `  ${name}: trainer ${m.origin}${m.compileMs !== undefined ? ` (compile ${m.compileMs.toFixed(0)} ms, ${m.lines} lines)` : ""}${m.generatedIsStale ? `; note: generated/${name}.ts differs from the current compiler's output` : ""}`,
  );
}
const tf = await loadTf();
console.log(`  TF.js ${tf.version_core}, backend ${tf.getBackend()}`);

const results = [];
for (const name of ["xor", "mlp"]) results.push(await benchModel(tf, name, modules[name].module));
gcObserver.disconnect();

// Table.
const header = [
  "model",
  "batch",
  "gradgen ms/step",
  "gradgen steps/s",
  "TF.js ms/step",
  "TF.js steps/s",
  "TF.js/gradgen",
  "GCs gradgen",
  "GCs TF.js",
  "gradgen new-space B/step",
];
const rows = results.map((r) => [
  r.model,
  String(r.batch),
  fmt(r.gradgen.msPerStep),
  Math.round(r.gradgen.stepsPerSecond).toLocaleString("en-US"),
  fmt(r.tfjs.msPerStep),
  Math.round(r.tfjs.stepsPerSecond).toLocaleString("en-US"),
  `${r.ratio.toFixed(1)}×`,
  `${r.gradgen.gcs} / ${r.gradgen.steps.toLocaleString("en-US")} steps`,
  `${r.tfjs.gcs} / ${r.tfjs.steps.toLocaleString("en-US")} steps`,
  r.gradgen.newSpaceBytesPerStep.toFixed(1),
]);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
console.log("");
console.log(line(header));
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const row of rows) console.log(line(row));
console.log("");
for (const r of results) {
  const bytes = r.gradgen.sampledHeapBytesPerStep;
  console.log(
    `  ${r.model}: gradgen min ${fmt(r.gradgen.minMsPerStep)} ms/step, allocates ≈ ${bytes.toFixed(1)} B/step (sampled, after the timed loop), new space grows ${r.gradgen.newSpaceBytesPerStep.toFixed(1)} B/step (v8.getHeapSpaceStatistics, warm loop), final loss ${r.gradgen.finalLoss.toFixed(4)}${r.gradgen.gcs ? ` (its GCs: ${JSON.stringify(r.gradgen.gcKinds)})` : ""}; TF.js min ${fmt(r.tfjs.minMsPerStep)} ms/step, ${r.tfjs.gcsPer1000Steps.toFixed(0)} GCs per 1,000 steps, ${r.tfjs.tensorsLeaked} tensors leaked`,
  );
}

// Targets.
const checks = [];
for (const r of results) {
  checks.push({
    what: `${r.model}: TF.js/gradgen ≥ ${r.target}`,
    value: `${r.ratio.toFixed(1)}×`,
    ok: r.ratio >= r.target,
  });
  checks.push({
    what: `${r.model}: 0 GCs in gradgen's timed loop`,
    value: `${r.gradgen.gcs}`,
    ok: r.gradgen.gcs === 0,
  });
  checks.push({
    what: `${r.model}: gradgen and TF.js agree on the first losses`,
    value: r.crossCheck.worstRelativeDifference.toExponential(1),
    ok: r.crossCheck.ok,
  });
}
console.log("\nTargets:");
for (const c of checks) console.log(`  ${c.ok ? "met   " : "MISSED"}  ${c.what} (measured ${c.value})`);
const allMet = checks.every((c) => c.ok);
console.log(allMet ? "All targets met." : `MISSED: ${checks.filter((c) => !c.ok).length} of ${checks.length} targets.`);
const totalSeconds = (performance.now() - runStarted) / 1000;
console.log(`Total ${totalSeconds.toFixed(0)} s.`);

const output = {
  benchmark: "step-speed",
  date: new Date().toISOString(),
  quick: QUICK,
  node: process.version,
  cpu: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}`,
  loadAverageAtStart: loadavg(),
  tfjs: { version: tf.version_core, backend: tf.getBackend() },
  trainers: Object.fromEntries(
    Object.entries(modules).map(([k, m]) => [
      k,
      { origin: m.origin, compileMs: m.compileMs, generatedIsStale: m.generatedIsStale },
    ]),
  ),
  note: "ms/step = median over interleaved timed chunks; GCs = PerformanceObserver 'gc' entries starting inside timed chunks.",
  results,
  targets: checks,
  allTargetsMet: allMet,
  totalSeconds,
};
mkdirSync(path.join(root, "bench/results"), { recursive: true });
writeFileSync(path.join(root, "bench/results/step-speed.json"), `${JSON.stringify(output, null, 2)}\n`);
console.log("Wrote bench/results/step-speed.json");
