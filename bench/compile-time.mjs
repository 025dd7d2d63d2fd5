// Compile time and generated size against depth: both must grow linearly.
//   npm run build && node bench/compile-time.mjs
// Compiles MLPs of 32-unit ReLU layers (25 to 400 layers) and the 784-512-512-10 "wide" model,
// once each in a process whose compiler is already warm (a first compile of a new model: the
// interning and simplification caches hold nothing of it), and prints ms, bytes, and the
// per-layer figures, which stay flat when growth is linear.
import { compile } from "../dist/index.js";
import { reluMlp } from "./support/mlp.mjs";

function time(definition, options) {
  const start = performance.now();
  const bytes = compile(definition, options).files[0].contents.length;
  return { ms: performance.now() - start, bytes };
}

time(reluMlp("warmup", [32, 32, 32]), { batch: 16 }); // JIT warm-up of the compiler itself
const wide = time(reluMlp("wide", [784, 512, 512, 10]), { batch: 128 });
console.log(`wide 784-512-512-10: ${wide.ms.toFixed(0)} ms, ${wide.bytes} bytes (target < 1000 ms)`);
console.log("layers   ms      bytes     ms/layer  bytes/layer");
const rows = [];
for (const depth of [25, 50, 100, 200, 400]) {
  const { ms, bytes } = time(
    reluMlp(
      `deep${depth}`,
      Array.from({ length: depth + 1 }, () => 32),
    ),
    { batch: 16 },
  );
  rows.push({ depth, ms, bytes });
  console.log(
    `${String(depth).padStart(6)}  ${ms.toFixed(0).padStart(6)}  ${String(bytes).padStart(9)}  ${(ms / depth).toFixed(2).padStart(8)}  ${(bytes / depth).toFixed(0).padStart(11)}`,
  );
}
const hundred = rows.find((r) => r.depth === 100);
const first = rows[0];
const last = rows[rows.length - 1];
console.log(`100 layers: ${hundred.ms.toFixed(0)} ms (target < 5000 ms)`);
console.log(
  `growth from ${first.depth} to ${last.depth} layers (${last.depth / first.depth}×): time ${(last.ms / first.ms).toFixed(1)}×, size ${(last.bytes / first.bytes).toFixed(1)}×`,
);
