// Deep narrow MLPs, where the Node version matters most: one generated gradient function per model
// that grows with depth, which V8 must optimise whole (Node 24's Maglev does for 120 layers; Node 20's
// TurboFan gives up on it and the step stays in the interpreter, allocating).
//
//   npm run bench:deep                     (Node 24, after building dist/)
//   GRADGEN_NODE=20 npm run bench:deep     (the same on Node 20)
//   node bench/deep-mlp.mjs [--layers 20,120] [--steps 300]
//
// Each model is a 32-wide tanh MLP (32 → 32 × layers → 1, half squared error), float32, batch 32,
// compiled in-process with the freshly built compiler. After 30 untimed steps it times `--steps`
// steps in chunks of 10 and reports the median chunk as µs per step and per layer, and the garbage
// collections (PerformanceObserver 'gc' entries) during the timed steps.
import { PerformanceObserver, performance } from "node:perf_hooks";
import { cpus, loadavg } from "node:os";
import { compile, importGenerated, model, nn } from "../dist/index.js";
import { createRandom, median } from "./support/measure.mjs";

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 && at + 1 < args.length ? args[at + 1] : fallback;
};
const depths = option("--layers", "20,120").split(",").map(Number);
const steps = Number(option("--steps", "300"));
const width = 32;
const batch = 32;
const chunk = 10;

function deepMlp(layers) {
  return model(`deep${layers}`, ({ input, param }) => {
    const x = input("x", [width]);
    const t = input("t", [1]);
    let h = x;
    for (let l = 1; l <= layers; l++)
      h = nn.tanh(h.matmul(param(`W${l}`, [width, width], { init: "xavier" })).add(param(`b${l}`, [width])));
    const y = h.matmul(param("Wout", [width, 1], { init: "xavier" })).add(param("bout", [1]));
    return { loss: nn.halfSquaredError(y, t) };
  });
}

let gcs = 0;
new PerformanceObserver((list) => {
  gcs += list.getEntries().length;
}).observe({ entryTypes: ["gc"] });
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

console.log(
  `deep-mlp: Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
console.log("layers  µs/step   µs/layer  GCs   (32 wide, tanh, batch 32, f32; median of chunks of 10 steps)");
for (const layers of depths) {
  const { files } = compile(deepMlp(layers), { batch, dtype: "f32", learningRate: 0.01 });
  const trainer = (await importGenerated(files[0].contents)).createTrainer({ seed: 1 });
  const random = createRandom(7);
  const data = {
    x: Float32Array.from({ length: batch * width }, () => random() * 2 - 1),
    t: Float32Array.from({ length: batch }, () => random()),
  };
  for (let i = 0; i < 30; i++) trainer.step(data);
  await settle();
  const gcsBefore = gcs;
  const perStep = [];
  let loss = 0;
  for (let done = 0; done < steps; done += chunk) {
    const start = performance.now();
    for (let i = 0; i < chunk; i++) loss += trainer.step(data);
    perStep.push(((performance.now() - start) / chunk) * 1000);
  }
  await settle(); // the observer reports a chunk's collections asynchronously
  const us = median(perStep);
  if (!Number.isFinite(loss)) throw new Error(`deep${layers}: the loss is not finite (${loss})`);
  console.log(
    `${String(layers).padStart(6)}  ${us.toFixed(1).padStart(7)}  ${(us / layers).toFixed(1).padStart(8)}  ${String(gcs - gcsBefore).padStart(4)}`,
  );
}
