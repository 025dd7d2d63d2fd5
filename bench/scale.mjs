// How training speed scales with model depth and sequence length (issue 12). A benchmark, not a
// timed test: a table on stdout and bench/results/scale.json.
//
//   npm run bench:scale                   (builds dist/, then runs this file; ~10–20 min under load)
//   node bench/scale.mjs [--quick] [--only mlp:20,rnn:50] [--row-limit 300] [--compile-limit 120] [--warm-limit 120]
//
// Rows, each compiled and run in a fresh process (batch 32, float32, SGD, default backend):
//   mlp L      x[32] → L × (tanh(h·W + b), W 32×32) → ½‖h − t‖², L = 10 … 240
//   rnn T      Elman RNN unrolled over T steps: h = tanh(x_t·Wx + h·Wh + bh), x_t[8], hidden 16
//              (h before the first step is 0), then ½(h·Wo − t)²; one input per time step
//   scan T     the same RNN with nn.scan over xs[T, 8] (h0 an input, all zeros); "not available" where
//              the DSL has no nn.scan (an older build)
// Per row: compile time (compile() in-process, wall clock); generated module size; the largest
// per-call function's own size (without nested functions; createTrainer, which runs once, left out)
// in the JavaScript V8 runs (esbuild's output, as importGenerated loads it) and as declared in the
// generated TypeScript; whether V8 optimised that
// function (--trace-opt, and to which tier); ms/step; ms per layer-step (MLP) or per time step
// (RNN); GCs in the measured steps (PerformanceObserver 'gc' entries); new-space bytes per step.
// Timing: warm-up for at least 5,000 steps and 3 s, then until two probe pairs (C and 2C steps) allocate nothing (capped at 120 s). Steps, not seconds: V8 tiers a
// function up after executing an amount of bytecode that grows with the function's size, so a deep
// model's multi-KB parts need ~1,000 calls however long each takes (a 3 s warm-up left mlp 120/240
// and rnn 200 unoptimised: 32 B/step and 1.5x slower). The "late" column counts the tier-ups
// --trace-opt reports during the measured chunks (0: the warm-up was long enough). Then 12 chunks
// alternating C and 2C steps (a chunk ~150 ms); ms/step is the median chunk's. Bytes per step:
// the growth of new_space's used size, per pair of neighbouring C and 2C chunks in which no GC
// started, (2C's − C's) / C (what reading the statistics allocates cancels), the median over the
// pairs (a tier-up during the chunks allocates once, in one pair). Where no pair is free of GCs there
// is no byte figure. The loop calls
// trainer.stepInto(batch, losses, i) (nothing returned, so nothing to box in the caller).
// A row whose compile exceeds --compile-limit is not run; a row past --row-limit is killed and
// reported as such.

import { PerformanceObserver, performance } from "node:perf_hooks";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { settle, sleep, youngGenerationBytes } from "./support/measure.mjs";
import { declarationSize, largestFunction } from "./support/function-sizes.mjs";
import { unrolledRnn } from "./support/deep-graphs.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const QUICK = args.includes("--quick");
// 5,000: Node 24 tiers a function called once per step (examplesIn) up to TurboFan after 2,000–5,000
// calls; after 2,000 warm steps the T = 1,000 rows (15 ms/step) saw it tier up while measured: 3–30 B/step.
const WARM_STEPS = Number(option("--warm-steps", QUICK ? 200 : 5000));
const WARM_LIMIT_MS = Number(option("--warm-limit", 120)) * 1000;
const ROW_LIMIT_S = Number(option("--row-limit", 300));
const COMPILE_LIMIT_S = Number(option("--compile-limit", 120));
const BATCH = 32;

const ROWS = [
  ...[10, 20, 40, 80, 120, 240].map((size) => ({ kind: "mlp", size })),
  ...[5, 20, 50, 200, 1000].map((size) => ({ kind: "rnn", size })),
  ...[5, 20, 50, 200, 1000].map((size) => ({ kind: "scan", size })),
];

// ---------------------------------------------------------------------------------------------
// Models.

function tanhMlp({ model, nn }, layers) {
  return model("mlp", ({ input, param }) => {
    let h = input("x", [32]);
    for (let l = 1; l <= layers; l++)
      h = nn.tanh(h.matmul(param(`W${l}`, [32, 32], { init: "xavier" })).add(param(`b${l}`, [32])));
    return { loss: nn.halfSquaredError(h, input("t", [32])) };
  });
}

const RNN_IN = 8;
const RNN_HIDDEN = 16;

function scanRnn({ model, nn }, steps) {
  return model("rnnScan", ({ input, param }) => {
    const Wx = param("Wx", [RNN_IN, RNN_HIDDEN], { init: "xavier" });
    const Wh = param("Wh", [RNN_HIDDEN, RNN_HIDDEN], { init: "xavier" });
    const bh = param("bh", [RNN_HIDDEN]);
    const step = (h, x) => {
      const next = nn.tanh(x.matmul(Wx).add(h.matmul(Wh)).add(bh));
      return [next, next];
    };
    const [h] = nn.scan(step, input("h0", [RNN_HIDDEN]), input("xs", [steps, RNN_IN]), { length: steps });
    return { loss: nn.halfSquaredError(h.matmul(param("Wo", [RNN_HIDDEN, 1], { init: "xavier" })), input("t", [1])) };
  });
}

const BUILDERS = { mlp: tanhMlp, rnn: unrolledRnn, scan: scanRnn };
const label = ({ kind, size }) =>
  kind === "mlp" ? `mlp ${size} layers` : kind === "rnn" ? `rnn T=${size} unrolled` : `rnn T=${size} scan`;

// ---------------------------------------------------------------------------------------------
// One row, in a process of its own (run with --trace-opt; the parent reads the trace).

const gcEntries = [];
async function gcsBetween(t0, t1) {
  await settle();
  return gcEntries.filter((start) => start >= t0 && start <= t1).length;
}

async function measureRow(kind, size) {
  const gradgen = await import(pathToFileURL(path.join(root, "dist/index.js")).href);
  if (kind === "scan" && typeof gradgen.nn.scan !== "function")
    return { available: false, why: "nn.scan does not exist yet" };
  const definition = BUILDERS[kind](gradgen, size);
  const compileStart = performance.now();
  const contents = gradgen.compile(definition, { batch: BATCH }).files[0].contents;
  const compileMs = performance.now() - compileStart;
  const { transform } = await import("esbuild");
  const { code: js } = await transform(contents, { loader: "ts", format: "esm", target: "node20" });
  const largest = largestFunction(js);
  const result = {
    available: true,
    compileMs,
    generatedBytes: Buffer.byteLength(contents),
    // The size with every number written as 0 (and without the structure hash): what does not depend on T's digits
    generatedShapeFreeBytes: Buffer.byteLength(contents.replace(/structureHash: "\w+"/, "").replace(/\d+/g, "0")),
    generatedLines: contents.split("\n").length,
    largestFunction: {
      name: largest.name,
      jsBytes: largest.ownBytes,
      jsLines: largest.ownLines,
      ts: declarationSize(contents, largest.name),
    },
  };
  if (compileMs > COMPILE_LIMIT_S * 1000)
    return {
      ...result,
      skipped: `compile took ${(compileMs / 1000).toFixed(0)} s > --compile-limit ${COMPILE_LIMIT_S} s: not run`,
    };

  const module = await gradgen.importGenerated(contents);
  const trainer = module.createTrainer({ seed: 7 });
  const batch = Object.fromEntries(
    Object.entries(trainer.spec.inputs).map(([name, shape], k) => {
      const length = BATCH * shape.reduce((a, b) => a * b, 1);
      return [
        name,
        name === "h0"
          ? new Float32Array(length)
          : Float32Array.from({ length }, (_, i) => 0.5 * Math.sin(0.37 * i + k)),
      ];
    }),
  );
  const losses = new Float64Array(1024);
  const slots = losses.length;
  const run =
    typeof trainer.stepInto === "function"
      ? (steps) => {
          for (let i = 0; i < steps; i++) trainer.stepInto(batch, losses, i % slots);
        }
      : (steps) => {
          for (let i = 0; i < steps; i++) trainer.step(batch);
        };

  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcEntries.push(entry.startTime);
  });
  observer.observe({ entryTypes: ["gc"] });
  const firstLoss = trainer.loss(batch);
  // Warm-up, timed as a whole: also how long a user waits for full speed.
  const warmStart = performance.now();
  let warmSteps = 0;
  const minWarmMs = QUICK ? 1000 : 3000;
  while (warmSteps < WARM_STEPS || performance.now() - warmStart < minWarmMs) {
    run(1);
    warmSteps++;
    if (performance.now() - warmStart > WARM_LIMIT_MS) break;
  }
  for (let i = 0; i < 20_000; i++) youngGenerationBytes(); // the reader optimised, so what a reading costs is steady
  // Then until the step allocates nothing: Node 24 tiers the entry points up to TurboFan later than
  // Node 20 (mlp 20 layers allocated 16 B/step after 2,000 steps, 0 after 20,000). Probe pairs of C
  // and 2C steps (~50 ms each; their difference cancels what reading the statistics allocates): a pair
  // that allocates, or that a GC interrupts, means more warm-up (up to the 120 s cap).
  const probeSteps = Math.max(1, Math.round(50 / ((performance.now() - warmStart) / warmSteps)));
  const probe = (steps) => {
    const before = youngGenerationBytes();
    run(steps);
    warmSteps += steps;
    return youngGenerationBytes() - before;
  };
  for (let clean = 0; clean < 2 && performance.now() - warmStart <= WARM_LIMIT_MS;) {
    const t0 = performance.now();
    const perStep = (probe(2 * probeSteps) - probe(probeSteps)) / probeSteps;
    clean = perStep < 1 && (await gcsBetween(t0, performance.now())) === 0 ? clean + 1 : 0;
  }
  const warmMs = performance.now() - warmStart;
  const warmGcs = await gcsBetween(warmStart, performance.now());
  const stepEstimate = warmMs / warmSteps;
  await sleep(100);
  await settle();

  process.stdout.write("\nSCALE-MEASURING\n"); // tier-ups the trace shows after this line are late
  const chunk = Math.max(1, Math.round((QUICK ? 60 : 150) / stepEstimate));
  const chunks = QUICK ? 6 : 12;
  const perStep = [];
  const grown = []; // new-space growth per chunk; null where a GC started in it
  let steps = 0;
  let gcs = 0;
  for (let c = 0; c < chunks; c++) {
    const factor = c % 2 === 0 ? 1 : 2;
    const t0 = performance.now();
    const before = youngGenerationBytes();
    run(factor * chunk);
    const after = youngGenerationBytes();
    const t1 = performance.now();
    const collected = await gcsBetween(t0, t1);
    steps += factor * chunk;
    gcs += collected;
    perStep.push((t1 - t0) / (factor * chunk));
    grown.push(collected === 0 && after >= before ? after - before : null);
  }
  process.stdout.write("\nSCALE-MEASURED\n"); // what follows (the last loss) is not late
  observer.disconnect();
  // Per pair of neighbouring chunks (C steps, then 2C), (2C's growth − C's) / C: what reading the
  // statistics allocates cancels. The median over pairs: a steady allocation shows in every pair, a
  // one-time one (a function V8 tiers up during the chunks, in the "late" column) in one pair only.
  const pairs = [];
  for (let c = 0; c + 1 < chunks; c += 2)
    if (grown[c] !== null && grown[c + 1] !== null) pairs.push((grown[c + 1] - grown[c]) / chunk);
  const median = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = sorted.length >> 1;
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  };
  const bytesPerStep = pairs.length ? Math.max(0, median(pairs)) : null;
  const msPerStep = [...perStep].sort((a, b) => a - b)[perStep.length >> 1];
  return {
    ...result,
    msPerStep,
    msPerUnit: msPerStep / size,
    steps,
    gcs,
    gcsPer300Steps: (300 * gcs) / steps,
    bytesPerStep,
    chunksWithoutGc: grown.filter((bytes) => bytes !== null).length,
    bytesPerStepPairs: pairs,
    chunks,
    chunkSteps: [chunk, 2 * chunk],
    warmSteps,
    warmMs,
    warmGcs,
    firstLoss,
    lastLoss: trainer.loss(batch),
    usedStepInto: typeof trainer.stepInto === "function",
  };
}

if (args[0] === "--row") {
  const result = await measureRow(args[1], Number(args[2]));
  process.stdout.write(`\nSCALE-RESULT ${JSON.stringify(result)}\n`);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// The parent: one child per row, the table, the targets.

if (!existsSync(path.join(root, "dist/index.js")))
  throw new Error("dist/ is missing: run `npm run build` first (npm run bench:scale does).");

/** Runs one row; resolves with its result, the optimisation tiers the trace shows, and any failure. */
function runRow(row) {
  return new Promise((resolve) => {
    const childArgs = [
      "--trace-opt",
      "--trace-deopt",
      fileURLToPath(import.meta.url),
      "--row",
      row.kind,
      String(row.size),
      ...(QUICK ? ["--quick"] : []),
      "--warm-steps",
      String(WARM_STEPS),
      "--warm-limit",
      String(WARM_LIMIT_MS / 1000),
      "--compile-limit",
      String(COMPILE_LIMIT_S),
    ];
    const child = spawn(process.execPath, childArgs, { stdio: ["ignore", "pipe", "pipe"] });
    const optimised = new Map(); // function name → Set of tiers
    const deoptimised = new Map();
    let resultLine = null;
    let measuring = false;
    const late = []; // functions tiered up during the measured chunks
    let stderr = "";
    let pending = "";
    const onLine = (line) => {
      if (line.startsWith("SCALE-RESULT ")) resultLine = line.slice(13);
      if (line === "SCALE-MEASURING") measuring = true;
      if (line === "SCALE-MEASURED") measuring = false;
      const done = /^\[completed (?:optimizing|compiling) .*?<JSFunction ([\w$]+)[^>]*> \(target (\w+)\)/.exec(line);
      if (done) (optimised.get(done[1]) ?? optimised.set(done[1], new Set()).get(done[1])).add(done[2]);
      if (done && measuring) late.push(done[1]);
      const deopt = /^\[bailout \(kind: ([\w-]+).*?<JSFunction ([\w$]+)/.exec(line);
      if (deopt) deoptimised.set(deopt[2], (deoptimised.get(deopt[2]) ?? 0) + 1);
    };
    child.stdout.on("data", (data) => {
      pending += data;
      const lines = pending.split("\n");
      pending = lines.pop();
      lines.forEach(onLine);
    });
    child.stderr.on("data", (data) => {
      stderr = (stderr + data).slice(-4000);
    });
    const started = performance.now();
    const timer = setTimeout(() => child.kill("SIGKILL"), ROW_LIMIT_S * 1000);
    child.on("close", (status, signal) => {
      clearTimeout(timer);
      onLine(pending);
      const seconds = (performance.now() - started) / 1000;
      if (resultLine === null) {
        resolve({
          ...row,
          available: true,
          failed:
            signal === "SIGKILL"
              ? `killed after --row-limit ${ROW_LIMIT_S} s`
              : `exit ${status}: ${stderr.trim().split("\n").slice(-3).join(" / ")}`,
          seconds,
        });
        return;
      }
      const result = { ...row, ...JSON.parse(resultLine), seconds, lateTierUps: late };
      if (result.largestFunction) {
        result.largestFunction.optimisedTo = [...(optimised.get(result.largestFunction.name) ?? [])];
        result.largestFunction.deopts = deoptimised.get(result.largestFunction.name) ?? 0;
      }
      resolve(result);
    });
  });
}

const only = option("--only", null)
  ?.split(",")
  .map((s) => s.split(":"));
const rows = only ? ROWS.filter((r) => only.some(([kind, size]) => kind === r.kind && Number(size) === r.size)) : ROWS;
const loadAtStart = loadavg();
const runStarted = performance.now();
console.log(
  `scale: Node ${process.version} (V8 ${process.versions.v8}), ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, load ${loadAtStart.map((l) => l.toFixed(2)).join(" ")}${QUICK ? " (--quick)" : ""}; batch ${BATCH}, f32`,
);

const results = [];
let scanMissing = false;
for (const row of rows) {
  if (row.kind === "scan" && scanMissing) {
    results.push({ ...row, available: false, why: "nn.scan does not exist yet" });
    continue;
  }
  const result = await runRow(row);
  if (row.kind === "scan" && result.available === false) scanMissing = true;
  results.push(result);
  const brief =
    result.available === false
      ? "not available"
      : (result.failed ??
        result.skipped ??
        `${result.msPerStep.toFixed(3)} ms/step, ${result.gcs} GCs in ${result.steps} steps, compile ${(result.compileMs / 1000).toFixed(1)} s`);
  console.log(`  ${label(row)}: ${brief} (${result.seconds?.toFixed(0) ?? 0} s)`);
}
const loadAtEnd = loadavg();

const fmt = (value, digits) =>
  value === null || value === undefined || Number.isNaN(value)
    ? "n/a"
    : value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const tierOf = (f) => (f.optimisedTo?.length ? f.optimisedTo.map((t) => t.toLowerCase()).join("+") : "never");
const header = [
  "model",
  "ms/step",
  "µs per layer- / time step",
  "GCs / steps",
  "new-space B/step",
  "generated KiB (lines)",
  "largest per-call function: JS KiB (lines), TS lines",
  "optimised",
  "warm steps, late",
  "compile s",
];
const tableRows = results.map((r) => {
  if (r.available === false) return [label(r), "with scan: not available", "", "", "", "", "", "", "", ""];
  if (r.failed) return [label(r), r.failed, "", "", "", "", "", "", "", ""];
  const f = r.largestFunction;
  const sizes = [
    `${fmt(r.generatedBytes / 1024, 0)} (${fmt(r.generatedLines, 0)})`,
    `${f.name} ${fmt(f.jsBytes / 1024, 1)} (${fmt(f.jsLines, 0)}), ${fmt(f.ts?.lines, 0)}`,
  ];
  if (r.skipped) return [label(r), r.skipped, "", "", "", ...sizes, "", "", fmt(r.compileMs / 1000, 1)];
  return [
    label(r),
    fmt(r.msPerStep, 3),
    fmt(r.msPerUnit * 1000, 1),
    `${r.gcs} / ${r.steps}`,
    r.bytesPerStep === null ? "n/a (GC in every chunk)" : fmt(r.bytesPerStep, 1),
    ...sizes,
    tierOf(f) + (f.deopts ? `, ${f.deopts} deopts` : ""),
    `${fmt(r.warmSteps, 0)}, ${r.lateTierUps.length}`,
    fmt(r.compileMs / 1000, 1),
  ];
});
const widths = header.map((h, i) => Math.max(h.length, ...tableRows.map((row) => row[i].length)));
const line = (cells) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
console.log("");
console.log(line(header));
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const row of tableRows) console.log(line(row));

// Issue 12's targets.
const measured = (kind, size) => results.find((r) => r.kind === kind && r.size === size && r.msPerStep !== undefined);
const targets = [];
{
  const [a, b] = [measured("mlp", 20), measured("mlp", 240)];
  targets.push({
    target: "MLP: per-layer-step time at 240 layers within 1.5× of 20 layers",
    figure:
      a && b
        ? `${fmt(b.msPerUnit * 1000, 1)} / ${fmt(a.msPerUnit * 1000, 1)} µs = ${fmt(b.msPerUnit / a.msPerUnit, 2)}×`
        : "not measured",
    holds: a && b ? b.msPerUnit <= 1.5 * a.msPerUnit : null,
  });
}
{
  const ran = results.filter((r) => r.msPerStep !== undefined);
  const notMeasured = results.filter((r) => r.available !== false && r.msPerStep === undefined);
  const withGcs = ran.filter((r) => r.gcs > 0);
  const allocating = ran.filter((r) => r.bytesPerStep === null || r.bytesPerStep >= 1);
  targets.push({
    target: "0 GCs per step on every row",
    figure: `${withGcs.length} of ${ran.length} measured rows had GCs${withGcs.length ? ` (${withGcs.map((r) => `${label(r)}: ${r.gcs}/${r.steps}`).join("; ")})` : ""}${notMeasured.length ? `; not measured: ${notMeasured.map(label).join(", ")}` : ""}`,
    holds: ran.length ? withGcs.length === 0 && notMeasured.length === 0 : null,
  });
  targets.push({
    target: "0 new-space bytes per step on every row",
    figure: `${allocating.length} of ${ran.length} measured rows allocate${allocating.length ? ` (${allocating.map((r) => `${label(r)}: ${r.bytesPerStep === null ? "GC in every chunk" : `${fmt(r.bytesPerStep, 0)} B`}`).join("; ")})` : ""}`,
    holds: ran.length ? allocating.length === 0 && notMeasured.length === 0 : null,
  });
}
{
  const scans = results.filter((r) => r.kind === "scan" && r.generatedBytes !== undefined);
  const timed = scans.filter((r) => r.msPerUnit !== undefined);
  const sizes = scans.map((r) => r.generatedBytes);
  const shapeFree = scans.map((r) => r.generatedShapeFreeBytes);
  const perUnit = timed.map((r) => r.msPerUnit);
  targets.push({
    target: "scan: generated size constant in T (T = 5 … 1,000)",
    figure: scans.length
      ? `${fmt(Math.min(...sizes) / 1024, 1)}–${fmt(Math.max(...sizes) / 1024, 1)} KiB over ${scans.length} rows; with every number written as 0, ${fmt(Math.min(...shapeFree), 0)}–${fmt(Math.max(...shapeFree), 0)} B`
      : "not available (no nn.scan)",
    // Constant up to the digits of T written into the module (shape constants such as n * 32016).
    holds: scans.length === 5 ? Math.max(...shapeFree) === Math.min(...shapeFree) : null,
  });
  targets.push({
    target: "scan: per-time-step cost within 1.5× from T = 5 to 1,000",
    figure: timed.length
      ? `${fmt(Math.min(...perUnit) * 1000, 2)}–${fmt(Math.max(...perUnit) * 1000, 2)} µs per time step (${fmt(Math.max(...perUnit) / Math.min(...perUnit), 2)}×)`
      : "not available (no nn.scan)",
    holds: timed.length === 5 ? Math.max(...perUnit) <= 1.5 * Math.min(...perUnit) : null,
  });
}
console.log("\nIssue 12 targets:");
for (const t of targets)
  console.log(`  [${t.holds === null ? "n/a" : t.holds ? "holds" : "FAILS"}] ${t.target}: ${t.figure}`);
const totalSeconds = (performance.now() - runStarted) / 1000;
console.log(
  `\nLoad average at start ${loadAtStart.map((l) => l.toFixed(2)).join(" ")}, at end ${loadAtEnd.map((l) => l.toFixed(2)).join(" ")}; total ${totalSeconds.toFixed(0)} s.`,
);

const resultsPath = option("--out", path.join(root, "bench/results/scale.json"));
mkdirSync(path.dirname(resultsPath), { recursive: true });
writeFileSync(
  resultsPath,
  `${JSON.stringify(
    {
      benchmark: "scale",
      date: new Date().toISOString(),
      quick: QUICK,
      node: process.version,
      v8: process.versions.v8,
      cpu: `${cpus().length} × ${cpus()[0]?.model ?? "cpu"}`,
      loadAverageAtStart: loadAtStart,
      loadAverageAtEnd: loadAtEnd,
      limits: { rowSeconds: ROW_LIMIT_S, compileSeconds: COMPILE_LIMIT_S },
      note: "Each row in a fresh process with --trace-opt. msPerStep: median over chunks after a warm-up of >= --warm-steps (default 5000) steps and 3 s, then until two probe pairs of C and 2C steps allocate no new-space bytes (at most 120 s); lateTierUps: functions --trace-opt saw optimised during the measured chunks (empty: warm-up long enough); msPerUnit = msPerStep / layers or time steps; gcs: PerformanceObserver 'gc' entries starting in the measured chunks; bytesPerStep: new_space growth per step, the median over pairs of neighbouring GC-free C and 2C chunks of (2C's growth − C's) / C (null if no pair; each pair's figure in bytesPerStepPairs); largestFunction: the largest function that runs per call (createTrainer, run once, left out), own size (nested functions left out) in esbuild's JavaScript, ts = its declaration in the generated TypeScript; optimisedTo: tiers --trace-opt reports for it.",
      targets,
      results,
      totalSeconds,
    },
    null,
    2,
  )}\n`,
);
console.log(`Wrote ${path.relative(root, resultsPath)}`);
