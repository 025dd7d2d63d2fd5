// Second-order steps against first-order ones on one small problem: a 2-8-1 tanh network fitting
// t = sin(2x₁)·cos(x₂) on 64 points, full batch, f64, from the same initial parameters. The model is
// compiled in-process once per optimizer (sgd, adam, newton, hessian-free, and, with the same loss
// written nn.leastSquares(y − t), levenberg-marquardt and hessian-free on the Gauss–Newton matrix) and
// trained for the same number of steps; writes the loss against step as one SVG (log scale) and a JSON summary.
//
//   npm run build && node scripts/run-ts.mjs examples/train/newton.ts [--steps N] [--out dir]
//
// Outputs (default directory docs/): newton.svg, newton.json.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { compile, importGenerated, model, nn, type OptimizerSpec } from "gradgen";
import { lineChart } from "gradgen/train";
import { createRandom } from "gradgen/data";

const { values: args } = parseArgs({
  allowPositionals: true,
  options: { steps: { type: "string", default: "40" }, out: { type: "string", default: "docs" } },
});
const steps = Number(args.steps);

/** The network, its loss ½(y − t)² marked as least squares (leastSquares) or not. */
const network = (leastSquares: boolean) =>
  model(leastSquares ? "tanhNetLeastSquares" : "tanhNet", ({ input, param }) => {
    const x = input("x", [2]);
    const t = input("t", [1]);
    const W1 = param("W1", [2, 8], { init: "xavier" });
    const b1 = param("b1", [8]);
    const W2 = param("W2", [8, 1], { init: "xavier" });
    const b2 = param("b2", [1]);
    const h = nn.tanh(x.reshape([1, 2]).matmul(W1).reshape([8]).add(b1));
    const y = h.reshape([1, 8]).matmul(W2).reshape([1]).add(b2);
    return { loss: leastSquares ? nn.leastSquares(y.sub(t)) : nn.halfSquaredError(y, t) };
  });
const net = network(false);
const netLeastSquares = network(true);

const N = 64;
const random = createRandom(11);
const x = new Float64Array(N * 2).map(() => 2 * random() - 1);
const t = new Float64Array(N).map((_, e) => Math.sin(2 * x[2 * e]!) * Math.cos(x[2 * e + 1]!));
const batch = { x, t };

const runs: {
  name: string;
  optimizer: OptimizerSpec | "sgd" | "adam" | "newton" | "hessian-free" | "levenberg-marquardt";
  learningRate?: number;
  leastSquares?: boolean;
}[] = [
  { name: "SGD (ε = 0.5)", optimizer: "sgd", learningRate: 0.5 },
  { name: "Adam (ε = 0.01)", optimizer: "adam", learningRate: 0.01 },
  { name: "Newton", optimizer: "newton" },
  { name: "Hessian-free (10 CG)", optimizer: "hessian-free" },
  { name: "Levenberg–Marquardt", optimizer: "levenberg-marquardt", leastSquares: true },
  { name: "Hessian-free, Gauss–Newton (10 CG)", optimizer: "hessian-free", leastSquares: true },
];

interface Trainer {
  loss(batch: object): number;
  step(batch: object): number;
}
const results: { name: string; loss: number[]; msPerStep: number }[] = [];
for (const run of runs) {
  const { files } = compile(run.leastSquares ? netLeastSquares : net, {
    batch: N,
    dtype: "f64",
    optimizer: run.optimizer,
    ...(run.learningRate === undefined ? {} : { learningRate: run.learningRate }),
    ...(run.optimizer === "hessian-free" ? { hyperparameters: { cgIterations: 10 } } : {}),
  });
  const generated = await importGenerated<{ createTrainer(options: { seed: number }): Trainer }>(files[0]!.contents);
  const trainer = generated.createTrainer({ seed: 5 });
  const loss = [trainer.loss(batch)];
  const start = performance.now();
  for (let s = 0; s < steps; s++) {
    trainer.step(batch);
    loss.push(trainer.loss(batch));
  }
  results.push({ name: run.name, loss, msPerStep: (performance.now() - start) / steps });
}

mkdirSync(args.out, { recursive: true });
const svg = lineChart(
  results.map((r) => ({ name: r.name, values: r.loss })),
  {
    title: "2-8-1 tanh, full batch of 64: loss against step",
    xLabel: "step",
    yLabel: "mean loss",
    logY: true,
    width: 960,
  },
);
writeFileSync(path.join(args.out, "newton.svg"), svg);
writeFileSync(path.join(args.out, "newton.json"), JSON.stringify(results, null, 2) + "\n");
for (const r of results)
  console.log(
    `${r.name.padEnd(36)} loss ${r.loss[0]!.toExponential(3)} → ${r.loss.at(-1)!.toExponential(3)} after ${steps} steps (${r.msPerStep.toFixed(3)} ms/step)`,
  );
