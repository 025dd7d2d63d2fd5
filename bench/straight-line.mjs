// How much straight-line code pays: step time of small models compiled with different limits on
// the copies of a loop body written out (0 = loops only). The default in src/schedule/lower.ts
// (defaultTuning) comes from this measurement.
//   npm run build && node bench/straight-line.mjs
import { compile, importGenerated, model, nn } from "../dist/index.js";

function mlp(name, sizes, activation) {
  return model(name, ({ input, param }) => {
    const x = input("x", [sizes[0]]);
    const t = input("t", [sizes[sizes.length - 1]]);
    let h = x;
    for (let l = 0; l + 1 < sizes.length; l++) {
      h = activation(
        h
          .matmul(param(`W${l + 1}`, [sizes[l], sizes[l + 1]], { init: "xavier" }))
          .add(param(`b${l + 1}`, [sizes[l + 1]])),
      );
    }
    return { loss: nn.halfSquaredError(h, t) };
  });
}

const models = [
  { name: "xor 2-4-1", definition: mlp("xor", [2, 4, 1], nn.sigmoid), batch: 4, steps: 200_000 },
  { name: "8-16-4", definition: mlp("mid", [8, 16, 4], nn.tanh), batch: 8, steps: 50_000 },
  { name: "small 64-64-10", definition: mlp("small", [64, 64, 10], nn.relu), batch: 32, steps: 4_000 },
];
const limits = process.argv.slice(2).length ? process.argv.slice(2).map(Number) : [0, 1, 4, 16, 64, 256];

async function trainerFor(definition, batch, limit) {
  const { files } = compile(definition, { batch, tuning: { straightLineLimit: limit } });
  const module = await importGenerated(files[0].contents);
  return { trainer: module.createTrainer({ seed: 1 }), bytes: files[0].contents.length };
}

console.log(`limit  ${models.map((m) => m.name.padStart(16)).join("  ")}   (µs per step, median of 5; code size)`);
const best = new Map();
for (const limit of limits) {
  const cells = [];
  for (const m of models) {
    const { trainer, bytes } = await trainerFor(m.definition, m.batch, limit);
    const [inputs] = Object.values(trainer.spec.inputs);
    const batch = Object.fromEntries(
      Object.entries(trainer.spec.inputs).map(([k, shape]) => [
        k,
        Float32Array.from({ length: m.batch * shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i)),
      ]),
    );
    void inputs;
    for (let i = 0; i < m.steps / 5; i++) trainer.step(batch);
    const times = [];
    for (let r = 0; r < 5; r++) {
      const start = performance.now();
      for (let i = 0; i < m.steps; i++) trainer.step(batch);
      times.push(((performance.now() - start) / m.steps) * 1000);
    }
    const median = times.sort((a, b) => a - b)[2];
    if (!best.has(m.name) || median < best.get(m.name).median) best.set(m.name, { limit, median });
    cells.push(`${median.toFixed(3)} (${(bytes / 1024).toFixed(0)}k)`.padStart(16));
  }
  console.log(`${String(limit).padStart(5)}  ${cells.join("  ")}`);
}
for (const [name, { limit, median }] of best)
  console.log(`fastest for ${name}: limit ${limit} (${median.toFixed(3)} µs)`);
