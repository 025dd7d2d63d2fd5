// Allocation per training step, measured the way users call the trainer. Not a timed test: a
// measurement, printed as a table and written to bench/results/allocation.json.
//
//   npm run bench:allocation         (builds dist/, then runs this file)
//   node bench/allocation.mjs [--quick]
//
// Trainers: examples/xor.ts (2-4-1, batch 4, SGD lr 2) and examples/mnist.ts (784-128-10 ReLU with
// dropout, Adam, batch 64), both f32, compiled in-process with the freshly built compiler.
// Loops, each in a process of its own, so V8 optimises each on its own feedback:
//   (a) trainer.step(batch);                         the result ignored
//   (b) sum += trainer.step(batch);                  the loss summed
//   (c) trainer.stepInto(batch, losses, i);          void, the loss left in a preallocated Float64Array
//       (measured when the generated trainer has stepInto; "not available" otherwise)
//
// What is measured: bytes allocated in V8's young generation per step, as the growth of
// space_used_size of "new_space" (plus "new_large_object_space") from v8.getHeapSpaceStatistics()
// over consecutive windows of steps from a fresh trainer in a fresh process, minus what reading
// the statistics allocates (calibrated once the reader is optimised). What users see changes as V8
// optimises: while step() is a call, the loss it returns is boxed (a heap number); once V8 has
// optimised the loop with step() inlined, nothing is. So the table shows the bytes per step until
// then, the step from which every window allocates less than 1 B/step, and the last windows. A
// window in which a garbage collection started (PerformanceObserver 'gc' entries, no --expose-gc
// needed) has no byte figure (a scavenge empties the space); the first window also compiles the
// trainer, so its GCs are reported apart. The loops are written as users write them and hold
// nothing else: indices are small integers, the sum goes to a Float64Array after the loop,
// batches and loss arrays are made first.

import { PerformanceObserver, performance, constants as perfConstants } from "node:perf_hooks";
import v8 from "node:v8";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createRandom, settle, sleep, youngGenerationBytes } from "./support/measure.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const QUICK = process.argv.includes("--quick");

const MODELS = {
  xor: { example: "examples/xor.ts", batch: 4, learningRate: 2, window: 10_000, windows: QUICK ? 10 : 30 },
  mnist: { example: "examples/mnist.ts", batch: 64, window: 100, windows: QUICK ? 15 : 50 },
};

// ---------------------------------------------------------------------------------------------
// Young-generation bytes and garbage collections.

const gcEntries = [];
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries())
    gcEntries.push({ start: entry.startTime, kind: entry.detail?.kind ?? entry.kind });
});
gcObserver.observe({ entryTypes: ["gc"] });
const GC_KINDS = {
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: "minor",
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: "major",
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental",
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: "weak callbacks",
};

async function gcsBetween(t0, t1) {
  await settle();
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

/** Wait until no GC has been reported for 100 ms (at most 2 s): set-up garbage is not the loop's. */
async function quiesce() {
  for (let tries = 0; tries < 20; tries++) {
    await settle();
    const before = gcEntries.length;
    await sleep(100);
    await settle();
    if (gcEntries.length === before) return;
  }
}

// ---------------------------------------------------------------------------------------------
// The loops users write. `batches.length` is a power of two, so `i & mask` picks one.

const sink = new Float64Array(1);

function loopIgnoring(trainer, batches, steps) {
  const mask = batches.length - 1;
  for (let i = 0; i < steps; i++) trainer.step(batches[i & mask]);
}

function loopSumming(trainer, batches, steps) {
  const mask = batches.length - 1;
  let sum = 0;
  for (let i = 0; i < steps; i++) sum += trainer.step(batches[i & mask]);
  sink[0] = sum;
}

function loopInto(trainer, batches, steps, losses) {
  const mask = batches.length - 1;
  const slots = losses.length;
  for (let i = 0; i < steps; i++) trainer.stepInto(batches[i & mask], losses, i % slots);
}

const LOOPS = [
  { key: "a", code: "trainer.step(batch)", run: loopIgnoring },
  { key: "b", code: "sum += trainer.step(batch)", run: loopSumming },
  { key: "c", code: "trainer.stepInto(batch, losses, i)", run: loopInto, needs: "stepInto" },
];

// ---------------------------------------------------------------------------------------------
// Trainers and data.

async function compileTrainer(name) {
  if (!existsSync(path.join(root, "dist/cli/load-model.js")))
    throw new Error("dist/ is missing: run `npm run build` first (npm run bench:allocation does).");
  const { loadModel } = await import(pathToFileURL(path.join(root, "dist/cli/load-model.js")).href);
  const { compile, importGenerated } = await import(pathToFileURL(path.join(root, "dist/index.js")).href);
  const config = MODELS[name];
  const definition = await loadModel(path.join(root, config.example));
  const options = {
    batch: config.batch,
    dtype: "f32",
    source: config.example,
    ...(config.learningRate ? { learningRate: config.learningRate } : {}),
  };
  return importGenerated(compile(definition, options).files[0].contents);
}

function batchesFor(name, batch) {
  if (name === "xor") return [{ x: new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]), t: new Float32Array([0, 1, 1, 0]) }];
  const random = createRandom(12345);
  return Array.from({ length: 8 }, () => {
    const x = new Float32Array(batch * 784).map(() => random());
    const label = new Float32Array(batch * 10);
    for (let e = 0; e < batch; e++) label[e * 10 + Math.floor(random() * 10)] = 1;
    return { x, label };
  });
}

// ---------------------------------------------------------------------------------------------

/** Bytes an empty window shows (reading the statistics allocates its result): median of 101. */
function readingCost() {
  for (let i = 0; i < 20_000; i++) youngGenerationBytes(); // optimised, so what a reading costs is steady
  const samples = [];
  for (let i = 0; i < 101; i++) {
    const before = youngGenerationBytes();
    const after = youngGenerationBytes();
    if (after >= before) samples.push(after - before);
  }
  return samples.sort((x, y) => x - y)[50];
}

/**
 * From a fresh trainer, `windows` windows of `window` steps each: the young-generation growth of
 * each (minus what a reading costs), or null where a GC started inside it.
 */
async function measure(name, module, loop) {
  const config = MODELS[name];
  const trainer = module.createTrainer({ seed: 7 });
  if (loop.needs && typeof trainer[loop.needs] !== "function")
    return { loop: loop.key, code: loop.code, available: false };
  const batches = batchesFor(name, config.batch);
  const losses = new Float64Array(1024);
  const reading = readingCost();
  await quiesce();
  const perWindow = [];
  const gcKinds = {};
  let gcs = 0;
  let gcsAfterFirst = 0;
  for (let w = 0; w < config.windows; w++) {
    const t0 = performance.now();
    const before = youngGenerationBytes();
    loop.run(trainer, batches, config.window, losses);
    const after = youngGenerationBytes();
    const t1 = performance.now();
    const collected = await gcsBetween(t0, t1);
    gcs += collected.count;
    if (w > 0) gcsAfterFirst += collected.count;
    for (const [kind, n] of Object.entries(collected.kinds)) gcKinds[kind] = (gcKinds[kind] ?? 0) + n;
    perWindow.push(
      collected.count > 0 || after < before ? null : Math.max(0, after - before - reading) / config.window,
    );
  }
  const average = (values) => {
    const known = values.filter((v) => v !== null);
    return known.length ? known.reduce((x, y) => x + y, 0) / known.length : NaN;
  };
  // The first window from which on every window allocated less than 1 B per step (the first window,
  // which also compiles the trainer, counts only when it was measured).
  let quietFrom = perWindow.length;
  while (quietFrom > 1 && (perWindow[quietFrom - 1] === null || perWindow[quietFrom - 1] < 1)) quietFrom--;
  if (quietFrom === 1 && perWindow[0] !== null && perWindow[0] < 1) quietFrom = 0;
  const warming = perWindow.slice(1, quietFrom);
  return {
    loop: loop.key,
    code: loop.code,
    available: true,
    window: config.window,
    steps: config.window * config.windows,
    readingBytes: reading,
    first: perWindow[0],
    warmingUp: average(warming),
    last: average(perWindow.slice(-5)),
    quietFromStep: quietFrom < perWindow.length ? quietFrom * config.window : null,
    gcsAfterFirstWindow: gcsAfterFirst,
    newSpaceCapacityBytes: v8.getHeapSpaceStatistics().find((space) => space.space_name === "new_space")?.space_size,
    perWindow,
    gcs,
    gcKinds,
    finalLoss: trainer.loss(batches[0]),
  };
}

// Each (model, loop) runs in a process of its own, so that no loop sees another model's trainer
// (a call site that has seen two trainers is polymorphic, which a user's loop is not).
const one = process.argv.indexOf("--one");
if (one >= 0) {
  const [name, key] = [process.argv[one + 1], process.argv[one + 2]];
  const result = await measure(
    name,
    await compileTrainer(name),
    LOOPS.find((l) => l.key === key),
  );
  gcObserver.disconnect();
  process.stdout.write(`${JSON.stringify({ model: name, batch: MODELS[name].batch, ...result })}\n`);
  process.exit(0);
}

const runStarted = performance.now();
console.log(
  `allocation: Node ${process.version} (V8 ${process.versions.v8}), ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}${QUICK ? " (--quick)" : ""}`,
);
gcObserver.disconnect();
const results = [];
for (const name of Object.keys(MODELS)) {
  for (const loop of LOOPS) {
    const child = spawnSync(
      process.execPath,
      [fileURLToPath(import.meta.url), "--one", name, loop.key, ...(QUICK ? ["--quick"] : [])],
      { encoding: "utf8" },
    );
    if (child.status !== 0) throw new Error(`measuring ${name} (${loop.key}) failed:\n${child.stderr}`);
    const result = JSON.parse(child.stdout.trim().split("\n").at(-1));
    results.push(result);
    console.log(
      `  ${name} (${loop.key}) ${loop.code}: ${result.available ? `B/step per window of ${result.window.toLocaleString("en-US")} steps: ${result.perWindow.map((b) => (b === null ? "gc" : b.toFixed(0))).join(" ")}` : "not available"}`,
    );
  }
}

const fmtBytes = (b) => (b === null || Number.isNaN(b) ? "n/a" : b.toFixed(1));
const header = [
  "model (batch)",
  "loop",
  "B/step until V8 optimises the loop",
  "0 B/step from step",
  "B/step, last 5 windows",
  "GCs after the first window / steps",
];
const rows = results.map((r) =>
  r.available
    ? [
        `${r.model} (${r.batch})`,
        `(${r.loop}) ${r.code}`,
        r.quietFromStep === 0 ? "0 from the start" : fmtBytes(r.warmingUp),
        r.quietFromStep === null ? "not within the run" : r.quietFromStep.toLocaleString("en-US"),
        fmtBytes(r.last),
        `${r.gcsAfterFirstWindow} / ${(r.steps - r.window).toLocaleString("en-US")}`,
      ]
    : [`${r.model} (${r.batch})`, `(${r.loop}) ${r.code}`, "not available", "", "", ""],
);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
console.log("");
console.log(line(header));
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const row of rows) console.log(line(row));
const totalSeconds = (performance.now() - runStarted) / 1000;
console.log(`\nTotal ${totalSeconds.toFixed(0)} s.`);

mkdirSync(path.join(root, "bench/results"), { recursive: true });
writeFileSync(
  path.join(root, "bench/results/allocation.json"),
  `${JSON.stringify(
    {
      benchmark: "allocation",
      date: new Date().toISOString(),
      quick: QUICK,
      node: process.version,
      v8: process.versions.v8,
      cpu: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}`,
      loadAverageAtStart: loadavg(),
      note: "B/step = growth of new_space (+ new_large_object_space) space_used_size over a window of steps from a fresh trainer in a fresh process, minus what reading it costs; windows in which a GC started are left out (null); GCs = PerformanceObserver 'gc' entries starting inside a window.",
      results,
      totalSeconds,
    },
    null,
    2,
  )}\n`,
);
console.log("Wrote bench/results/allocation.json");
