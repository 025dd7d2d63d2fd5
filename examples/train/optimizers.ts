// The same small problem (examples/optimizers.ts: three spirals, 2-32-3 tanh) trained with each
// optimizer gradgen fuses into step(): the model is compiled in-process once per optimizer, the
// generated module imported, and every variant trained from the same initial parameters on the
// same shuffled batches. Writes one SVG with the loss curves side by side, and a summary.
//
//   npm run build && node scripts/run-ts.mjs examples/train/optimizers.ts [--epochs N] [--out dir]
//
// Outputs (default directory docs/): optimizers.svg and optimizers.json (the loss per epoch and the
// final accuracy of each optimizer).
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { compile, importGenerated, type OptimizerKind } from "gradgen";
import { accuracy, evaluate, fit, panelChart, type TrainerLike } from "gradgen/train";
import { createRandom, oneHot } from "gradgen/data";
import definition from "../optimizers.js";

const { values: args } = parseArgs({
  allowPositionals: true, // node scripts/run-ts.mjs passes this file's path
  options: {
    epochs: { type: "string", default: "150" },
    out: { type: "string", default: "docs" },
  },
});
const epochs = Number(args.epochs);
const BATCH = 30;
const SEED = 1;

/**
 * Learning rates: momentum and Nesterov at ε = 0.05 take steps of ε/(1 − α) = 0.5 on a steady
 * gradient, the same as plain SGD's; the adaptive methods at their usual order of magnitude. The
 * other hyperparameters are the textbook defaults (α 0.9, AdaGrad δ 1e-7, RMSProp ρ 0.9, Adam β
 * 0.9 / 0.999).
 */
const OPTIMIZERS: readonly { kind: OptimizerKind; learningRate: number }[] = [
  { kind: "sgd", learningRate: 0.5 },
  { kind: "momentum", learningRate: 0.05 },
  { kind: "nesterov", learningRate: 0.05 },
  { kind: "adagrad", learningRate: 0.1 },
  { kind: "rmsprop", learningRate: 0.01 },
  { kind: "adam", learningRate: 0.01 },
];

/** Three spiral arms of 100 points each, with a little noise (seeded). */
function spirals(perArm: number, seed: number): { x: Float32Array; label: Float32Array } {
  const random = createRandom(seed);
  const arms = 3;
  const x = new Float32Array(arms * perArm * 2);
  const classes: number[] = [];
  for (let arm = 0; arm < arms; arm++) {
    for (let i = 0; i < perArm; i++) {
      const r = i / perArm;
      const angle = (arm * 2 * Math.PI) / arms + 4 * r + 0.2 * (random() - 0.5);
      const e = arm * perArm + i;
      x[2 * e] = r * Math.cos(angle);
      x[2 * e + 1] = r * Math.sin(angle);
      classes.push(arm);
    }
  }
  return { x, label: oneHot(classes, arms) };
}

const data = spirals(100, SEED);
const results: { kind: OptimizerKind; learningRate: number; loss: number[]; accuracy: number }[] = [];
for (const { kind, learningRate } of OPTIMIZERS) {
  const { files } = compile(definition, {
    batch: BATCH,
    optimizer: kind,
    learningRate,
    source: "examples/optimizers.ts",
  });
  const { createTrainer } = await importGenerated<{ createTrainer(options: { seed: number }): TrainerLike }>(
    files[0]!.contents,
  );
  const trainer = createTrainer({ seed: SEED }); // the same initial parameters for every optimizer
  const initial = evaluate(trainer, data).loss;
  const history = fit(trainer, data, { epochs, seed: SEED, progress: false });
  const final = evaluate(trainer, data, { metrics: [accuracy({ output: "probabilities", target: "label" })] });
  // The curve starts at the loss before any step (epoch 0), then the mean loss of each epoch's steps.
  results.push({ kind, learningRate, loss: [initial, ...history.loss], accuracy: final.metrics.accuracy! });
  console.log(
    `${kind.padEnd(8)} lr ${String(learningRate).padEnd(5)} loss ${initial.toFixed(3)} → ${final.loss.toFixed(3)}, training accuracy ${(100 * final.metrics.accuracy!).toFixed(1)}%`,
  );
}

mkdirSync(args.out, { recursive: true });
const epochAxis = Array.from({ length: epochs + 1 }, (_, i) => i);
const chart = panelChart(
  results.map((r) => ({
    title: `${r.kind} (lr ${r.learningRate})`,
    series: [{ name: r.kind, values: r.loss, x: epochAxis }],
  })),
  {
    title: `One problem, six optimizers: three spirals, 2-32-3 tanh, batch ${BATCH}`,
    xLabel: "epoch",
    yLabel: "training loss",
    columns: 3,
    logY: true,
  },
);
writeFileSync(path.join(args.out, "optimizers.svg"), chart);
const round = (v: number) => Number(v.toPrecision(5));
const summary = {
  problem: "three spirals (300 points), 2-32-3 tanh, softmax cross-entropy",
  batch: BATCH,
  epochs,
  seed: SEED,
  optimizers: results.map((r) => ({
    kind: r.kind,
    learningRate: r.learningRate,
    trainingAccuracy: round(r.accuracy),
    loss: r.loss.map(round),
  })),
};
writeFileSync(path.join(args.out, "optimizers.json"), `${JSON.stringify(summary, null, 2)}\n`);
console.log(`wrote ${path.join(args.out, "optimizers.svg")} and ${path.join(args.out, "optimizers.json")}`);
