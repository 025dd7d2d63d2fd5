// Second-order steps: ms per Newton step at 10, 100 and 1,000 parameters (logistic regression with
// d − 1 features, batch 64, f64), the compile time of each (one Hessian-vector graph whatever P is),
// and ms per Hessian-free step (20 CG iterations, at most 20 + 1 products) for the 784-128-10 ReLU
// MNIST MLP (examples/mnist.ts without dropout, batch 64, f32), and ms per Levenberg–Marquardt step
// fitting y = a·e^(−bx) + c (3 params, batch 64, f64). Garbage collections are counted from
// PerformanceObserver 'gc' entries during the timed steps, and the heap growth over them is printed
// (bytes per step; 0 when nothing is allocated). The warm-up runs until V8 has optimised the step
// (30 steps and 1 s, or 15 s): with 2 warm-up steps, the GCs counted during the timed steps were the
// tier-up compilations' (2 at 10 params, 1 for the MNIST MLP), not the step's; the step's own
// allocation was λ passed as a boxed double to the solver (it now reads its buffer). A measurement,
// printed; not a test.
//
//   npm run build && node bench/second-order.mjs
import { PerformanceObserver, performance } from "node:perf_hooks";
import { compile, importGenerated, model, nn } from "../dist/index.js";

let gcs = 0;
new PerformanceObserver((list) => (gcs += list.getEntries().length)).observe({ entryTypes: ["gc"] });

function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function measure(definition, options, batch, steps) {
  const started = performance.now();
  const { files } = compile(definition, options);
  const compileMs = performance.now() - started;
  const trainer = (await importGenerated(files[0].contents)).createTrainer({ seed: 1 });
  const losses = new Float64Array(steps + 2);
  trainer.stepInto(batch, losses, 0);
  const warmUp = performance.now();
  const warm = (s) => (s < 30 || performance.now() - warmUp < 1000) && performance.now() - warmUp < 15000;
  for (let s = 1; warm(s); s++) trainer.stepInto(batch, losses, 1);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const before = gcs;
  const heap = process.memoryUsage().heapUsed;
  const start = performance.now();
  for (let s = 0; s < steps; s++) trainer.stepInto(batch, losses, s + 2);
  const ms = (performance.now() - start) / steps;
  const grown = process.memoryUsage().heapUsed - heap;
  await new Promise((resolve) => setTimeout(resolve, 50));
  const bytesPerStep = gcs === before ? Math.max(0, grown) / steps : NaN;
  return { compileMs, ms, gcs: gcs - before, bytesPerStep, first: losses[0], last: losses[steps + 1] };
}

const rows = [];
for (const p of [10, 100, 1000]) {
  const d = p - 1;
  const logistic = model(`logistic${p}`, ({ input, param }) => {
    const x = input("x", [d]);
    const t = input("t", [1]);
    const w = param("w", [d, 1], { init: 0 });
    const b = param("b", [1], { init: 0 });
    const z = x.reshape([1, d]).matmul(w).reshape([1]).add(b);
    return { loss: nn.sigmoidCrossEntropy(z, t).sum().add(w.square().sum().mul(0.005)) };
  });
  const next = random(p);
  const x = new Float64Array(64 * d).map(() => 2 * next() - 1);
  const t = new Float64Array(64).map(() => (next() < 0.5 ? 1 : 0));
  const r = await measure(logistic, { batch: 64, dtype: "f64", optimizer: "newton" }, { x, t }, p >= 1000 ? 3 : 20);
  rows.push({ what: `newton, ${p} params (logistic, batch 64, f64)`, ...r });
}

const mnist = model("mnistMlp", ({ input, param }) => {
  const x = input("x", [784]);
  const label = input("label", [10]);
  const W1 = param("W1", [784, 128], { init: "he" });
  const b1 = param("b1", [128]);
  const W2 = param("W2", [128, 10], { init: "xavier" });
  const b2 = param("b2", [10]);
  const h = nn.relu(x.reshape([1, 784]).matmul(W1).reshape([128]).add(b1));
  return { loss: nn.softmaxCrossEntropy(h.reshape([1, 128]).matmul(W2).reshape([10]).add(b2), label) };
});
const next = random(7);
const x = new Float32Array(64 * 784).map(() => next() - 0.5);
const label = new Float32Array(64 * 10).map((_, i) => (i % 10 === i % 7 ? 1 : 0));
const hf = await measure(mnist, { batch: 64, optimizer: "hessian-free" }, { x, label }, 10);
rows.push({ what: "hessian-free, MNIST MLP 784-128-10 (101,770 params, batch 64, f32, 20 CG)", ...hf });

const decay = model("decay", ({ input, param }) => {
  const x = input("x", []);
  const y = input("y", []);
  const a = param("a", [], { init: 1 });
  const b = param("b", [], { init: 0.5 });
  const c = param("c", [], { init: 0 });
  return { loss: nn.leastSquares(a.mul(b.mul(x).neg().exp()).add(c).sub(y)) };
});
const noise = random(3);
const xs = new Float64Array(64).map((_, e) => (4 * e) / 63);
const ys = xs.map((v) => 2.5 * Math.exp(-1.3 * v) + 0.5 + 0.1 * (noise() - 0.5));
const lm = await measure(decay, { batch: 64, dtype: "f64", optimizer: "levenberg-marquardt" }, { x: xs, y: ys }, 200);
rows.push({ what: "levenberg-marquardt, a·e^(−bx) + c (3 params, batch 64, f64)", ...lm });

console.log(`Node ${process.version}`);
for (const r of rows)
  console.log(
    `${r.what}: ${r.ms.toFixed(2)} ms/step, compile ${r.compileMs.toFixed(0)} ms, ${r.gcs} GCs in the timed steps (heap growth ${Number.isNaN(r.bytesPerStep) ? "n/a" : r.bytesPerStep.toFixed(0)} bytes/step), loss ${r.first.toExponential(3)} → ${r.last.toExponential(3)}`,
  );
