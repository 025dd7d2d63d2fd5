// Data-parallel steps (gradgen/parallel) against one thread, on models where a step is long
// enough to share: ms/step, speed-up and garbage collections during the timed steps.
//   npm run build && node bench/parallel.mjs
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import path from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import { transform } from "esbuild";
import { compile } from "../dist/index.js";
import { reluMlp } from "./support/mlp.mjs";
import { createDataParallelTrainer } from "../dist/runtime/parallel.js";

let gcs = 0;
new PerformanceObserver((list) => {
  gcs += list.getEntries().length;
}).observe({ entryTypes: ["gc"] });

const directory = mkdtempSync(path.join(tmpdir(), "gradgen-bench-parallel-"));
const threads = Math.min(availableParallelism(), 4);
console.log(`${availableParallelism()} cores; comparing 1 thread with ${threads}`);
for (const [name, sizes, batch, steps] of [
  ["mnist", [784, 128, 10], 64, 300],
  ["wide", [784, 512, 512, 10], 128, 40],
]) {
  const { files } = compile(reluMlp(name, sizes), { batch, learningRate: 0.01 });
  const { code } = await transform(files[0].contents, { loader: "ts", format: "esm" });
  const file = path.join(directory, `${name}.mjs`);
  writeFileSync(file, code);
  const single = (await import(file)).createTrainer({ seed: 1 });
  const parallel = await createDataParallelTrainer({ module: file, threads, trainerOptions: { seed: 1 } });
  const data = {
    x: Float32Array.from({ length: batch * sizes[0] }, (_, i) => Math.sin(i)),
    label: Float32Array.from({ length: batch * 10 }, (_, i) => (i % 10 === Math.floor(i / 10) % 10 ? 1 : 0)),
  };
  const run = (step) => {
    for (let i = 0; i < steps / 5; i++) step(data);
    const times = [];
    const before = gcs;
    for (let round = 0; round < 5; round++) {
      const start = performance.now();
      for (let i = 0; i < steps; i++) step(data);
      times.push((performance.now() - start) / steps);
    }
    return { ms: times.sort((a, b) => a - b)[2], gcs: gcs - before };
  };
  const one = run((batch) => single.step(batch));
  const many = run((batch) => parallel.step(batch));
  await parallel.close();
  console.log(
    `${name} (batch ${batch}): 1 thread ${one.ms.toFixed(3)} ms/step (${one.gcs} GCs), ${threads} threads ${many.ms.toFixed(3)} ms/step (${many.gcs} GCs): ${(one.ms / many.ms).toFixed(2)}× faster`,
  );
}
rmSync(directory, { recursive: true, force: true });
