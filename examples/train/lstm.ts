// Train examples/lstm.ts (an LSTM written with nn.scan, hidden 16, Adam, batch 32) on the adding problem:
// sequences of 20 (value, marker) pairs, the target the sum of the two marked values. 10,000 training
// sequences and 2,000 held-out ones, drawn with a seeded generator (independent draws: the values are
// continuous, so no held-out sequence is a training sequence). A plain loop over shuffled batches.
//
//   npm run build && npm run generate && node scripts/run-ts.mjs examples/train/lstm.ts [--epochs N] [--seed N] [--out dir]
//
// Outputs (default directory docs/): lstm-loss.svg (training and held-out mean squared error per epoch)
// and lstm.json (held-out mean squared error, the fraction within 0.04 of the target, the history and the
// settings). Predicting the mean of the targets (1) scores 1/6 ≈ 0.167; the two marked values must be
// carried across the steps between them to do better.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { linearDecay, lossChart } from "gradgen/train";
import { createTrainer, spec } from "../../generated/lstm.js";

const { values: args } = parseArgs({
  allowPositionals: true, // node scripts/run-ts.mjs passes this file's path
  options: {
    epochs: { type: "string", default: "4" },
    out: { type: "string", default: "docs" },
    seed: { type: "string", default: "1" },
  },
});
const epochs = Number(args.epochs);
const seed = Number(args.seed);
const LENGTH = spec.inputs.xs[0]!;
const TRAIN = 10_000;
const HELD_OUT = 2_000;
const BATCH = spec.batch;
const CLOSE = 0.04; // a prediction within this of the target counts as right

/** mulberry32: a small seeded generator of uniform numbers in [0, 1). */
function generator(state: number): () => number {
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Sequences {
  xs: Float32Array;
  target: Float32Array;
}

/** `count` sequences of (value, marker) pairs with two distinct marked steps, and the sums of the marked values. */
function sequences(count: number, random: () => number): Sequences {
  const xs = new Float32Array(count * LENGTH * 2);
  const target = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const first = Math.floor(random() * LENGTH);
    let second = Math.floor(random() * (LENGTH - 1));
    if (second >= first) second++;
    let sum = 0;
    for (let t = 0; t < LENGTH; t++) {
      const value = random();
      const marked = t === first || t === second;
      xs[(i * LENGTH + t) * 2] = value;
      xs[(i * LENGTH + t) * 2 + 1] = marked ? 1 : 0;
      if (marked) sum += Math.fround(value);
    }
    target[i] = sum;
  }
  return { xs, target };
}

const started = performance.now();
const random = generator(seed);
const heldOut = sequences(HELD_OUT, random);
const train = sequences(TRAIN, random);
console.log(
  `lstm: adding problem, ${LENGTH} steps; ${TRAIN.toLocaleString("en-US")} training sequences, ${HELD_OUT.toLocaleString("en-US")} held out; ${spec.optimizer.kind} lr ${spec.optimizer.learningRate} → ${Number((spec.optimizer.learningRate / 20).toPrecision(3))} (linear), batch ${BATCH}, ${epochs} epochs`,
);

const trainer = createTrainer({ seed });
const batch = { xs: new Float32Array(BATCH * LENGTH * 2), target: new Float32Array(BATCH) };

/** Mean squared error and the fraction of predictions within CLOSE of the target over `data`. */
function evaluateOn(data: Sequences): { mse: number; close: number } {
  const count = data.target.length;
  let mse = 0;
  let close = 0;
  for (let start = 0; start < count; start += BATCH) {
    const n = Math.min(BATCH, count - start);
    const xs = data.xs.subarray(start * LENGTH * 2, (start + n) * LENGTH * 2);
    const target = data.target.subarray(start, start + n);
    mse += trainer.loss({ xs, target }, n) * n;
    const predicted = trainer.predict({ xs }, n).sum;
    for (let i = 0; i < n; i++) if (Math.abs(predicted[i]! - target[i]!) <= CLOSE) close++;
  }
  return { mse: mse / count, close: close / count };
}

const learningRate = linearDecay({
  initial: spec.optimizer.learningRate,
  final: spec.optimizer.learningRate / 20,
  steps: epochs * Math.ceil(TRAIN / BATCH),
});
const order = new Uint32Array(TRAIN).map((_, i) => i);
const shuffle = generator(seed + 1);
const history = { loss: [] as number[], validationLoss: [] as number[], close: [] as number[] };
const first = evaluateOn(heldOut);
console.log(`before training: held-out mse ${first.mse.toFixed(4)}`);
for (let epoch = 1; epoch <= epochs; epoch++) {
  for (let i = TRAIN - 1; i > 0; i--) {
    const j = Math.floor(shuffle() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  let sum = 0;
  for (let start = 0; start < TRAIN; start += BATCH) {
    const n = Math.min(BATCH, TRAIN - start);
    for (let k = 0; k < n; k++) {
      const from = order[start + k]!;
      batch.xs.set(train.xs.subarray(from * LENGTH * 2, (from + 1) * LENGTH * 2), k * LENGTH * 2);
      batch.target[k] = train.target[from]!;
    }
    trainer.learningRate = learningRate(trainer.state.step);
    sum += trainer.step(batch, n) * n;
  }
  const result = evaluateOn(heldOut);
  history.loss.push(sum / TRAIN);
  history.validationLoss.push(result.mse);
  history.close.push(result.close);
  console.log(
    `epoch ${String(epoch).padStart(2)}  mse ${(sum / TRAIN).toFixed(5)}  held-out mse ${result.mse.toFixed(5)}  within ${CLOSE} ${(100 * result.close).toFixed(2)}%  ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}
const final = evaluateOn(heldOut);
const seconds = (performance.now() - started) / 1000;
console.log(
  `held-out mse ${final.mse.toFixed(5)} (predicting the mean: 0.1667), ${(100 * final.close).toFixed(2)}% within ${CLOSE} of the target (${HELD_OUT} sequences), ${seconds.toFixed(1)} s`,
);

mkdirSync(args.out, { recursive: true });
const chart = lossChart(
  { loss: history.loss, validationLoss: history.validationLoss },
  {
    title: `LSTM (nn.scan, hidden 16): adding problem, ${LENGTH} steps: held-out mse ${final.mse.toFixed(4)}`,
    logY: true,
  },
);
writeFileSync(path.join(args.out, "lstm-loss.svg"), chart);
const round = (v: number) => Number(v.toPrecision(6));
const summary = {
  model: spec.model,
  task: `adding problem, ${LENGTH} steps`,
  data: { training: TRAIN, heldOut: HELD_OUT },
  optimizer: spec.optimizer,
  batch: BATCH,
  epochs,
  seed,
  initialHeldOutMse: round(first.mse),
  heldOutMse: round(final.mse),
  heldOutClose: round(final.close),
  close: CLOSE,
  loss: history.loss.map(round),
  validationLoss: history.validationLoss.map(round),
  validationClose: history.close.map(round),
  seconds: Number(seconds.toFixed(1)),
};
writeFileSync(path.join(args.out, "lstm.json"), `${JSON.stringify(summary, null, 2)}\n`);
console.log(`wrote ${path.join(args.out, "lstm-loss.svg")} and ${path.join(args.out, "lstm.json")}`);
