// Embedding step time against vocabulary size (issue 11): nn.gather's gradient is a scatter-add of
// O(T·d) per example, and the generated trainer zeroes ∂E only at the rows the previous call touched
// (src/schedule/sparse-rows.ts), so with SGD — whose update visits only the touched rows — a step
// costs the same for 5,000 and 50,000 words (target: within 1.5×). Adam's update reads and writes E,
// m and v in full every step (the moments decay where g = 0), so its step grows with the vocabulary
// by definition.
// Not a timed test: a measurement, printed and written to bench/results/embedding.json.
//
//   npm run bench:embedding       (builds dist/, then runs this file)
//   node bench/embedding.mjs [--steps N]
//
// Model: tokens [16] (int32) → gather(E [vocab, 32]) → [16, 32] · W [32, 10] → sparse softmax
// cross-entropy against labels [16] (int32); batch 16, float32, backend "auto".

import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { createRandom, median } from "./support/measure.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({ options: { steps: { type: "string", default: "2000" } } });
const STEPS = Number(args.steps);
const [T, D, CLASSES, BATCH] = [16, 32, 10, 16];
const { compile, importGenerated, model, nn } = await import(pathToFileURL(path.join(root, "dist/index.js")).href);

async function trainerFor(vocab, optimizer) {
  const definition = model(`embedding_${vocab}`, ({ input, param }) => {
    const h = nn.gather(param("E", [vocab, D], { init: "normal" }), input("tokens", [T], { dtype: "int32" }));
    const logits = h.matmul(param("W", [D, CLASSES], { init: "xavier" }));
    return { loss: nn.sparseSoftmaxCrossEntropy(logits, input("labels", [T], { dtype: "int32" })) };
  });
  const options = optimizer === "adam" ? { optimizer: "adam", learningRate: 1e-3 } : { learningRate: 0.1 };
  const { files } = compile(definition, { batch: BATCH, ...options });
  const module = await importGenerated(files[0].contents);
  return module.createTrainer({ seed: 1 });
}

function batches(vocab) {
  const random = createRandom(7);
  return Array.from({ length: 8 }, () => ({
    tokens: Int32Array.from({ length: BATCH * T }, () => Math.floor(random() * vocab)),
    labels: Int32Array.from({ length: BATCH * T }, () => Math.floor(random() * CLASSES)),
  }));
}

/** Median ms/step over 9 chunks of STEPS/9 steps, after a warm-up. */
function measure(trainer, data) {
  for (let i = 0; i < 200; i++) trainer.step(data[i % data.length]);
  const chunk = Math.max(1, Math.floor(STEPS / 9));
  const times = [];
  for (let c = 0; c < 9; c++) {
    const start = performance.now();
    for (let i = 0; i < chunk; i++) trainer.step(data[i % data.length]);
    times.push((performance.now() - start) / chunk);
  }
  return median(times);
}

const results = [];
for (const optimizer of ["sgd", "adam"]) {
  const row = { optimizer };
  for (const vocab of [5000, 50000]) row[vocab] = measure(await trainerFor(vocab, optimizer), batches(vocab));
  row.ratio = row[50000] / row[5000];
  results.push(row);
}

console.log(`embedding: tokens ${T}, d ${D}, batch ${BATCH}, ${CLASSES} classes; ms/step (median of 9 chunks)`);
console.log(`nproc ${cpus().length}, load ${loadavg()[0].toFixed(2)}, Node ${process.version}`);
console.log("| optimizer | vocab 5,000 | vocab 50,000 | 50k / 5k | within 1.5× |");
console.log("|---|---:|---:|---:|---|");
for (const r of results)
  console.log(
    `| ${r.optimizer} | ${r[5000].toFixed(4)} | ${r[50000].toFixed(4)} | ${r.ratio.toFixed(2)}× | ${r.ratio <= 1.5 ? "yes" : "no"} |`,
  );
mkdirSync(path.join(root, "bench/results"), { recursive: true });
writeFileSync(
  path.join(root, "bench/results/embedding.json"),
  JSON.stringify({ date: new Date().toISOString(), node: process.version, T, D, BATCH, CLASSES, results }, null, 2) +
    "\n",
);
