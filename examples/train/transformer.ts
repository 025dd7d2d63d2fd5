// Train examples/transformer.ts (2 pre-norm blocks, d 32, 4 heads, Adam, batch 64) to sort (or, with
// --task reverse, reverse) sequences of 8 random digits. 20,000 training sequences and 2,000 held-out ones, drawn with a
// seeded generator; no held-out sequence is in the training set. A plain loop, to score whole sequences
// (gradgen/train's fit() and Batcher also take Int32Array fields: test/runtime/fit-ids.test.ts).
//
//   npm run build && npm run generate && node scripts/run-ts.mjs examples/train/transformer.ts [--epochs N] [--task sort|reverse] [--out dir]
//
// Outputs (default directory docs/): transformer-loss.svg (training and held-out loss per epoch) and
// transformer.json (held-out exact-sequence and per-digit accuracy, the history and the settings).
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { linearDecay, lossChart } from "gradgen/train";
import { createTrainer, spec } from "../../generated/transformer.js";

const { values: args } = parseArgs({
  allowPositionals: true, // node scripts/run-ts.mjs passes this file's path
  options: {
    epochs: { type: "string", default: "5" },
    task: { type: "string", default: "sort" },
    out: { type: "string", default: "docs" },
    seed: { type: "string", default: "1" },
  },
});
const epochs = Number(args.epochs);
const seed = Number(args.seed);
const task = args.task;
if (task !== "sort" && task !== "reverse") {
  console.error(`transformer: --task ${task} is not a task; use --task sort (the default) or --task reverse.`);
  process.exit(1);
}
const LENGTH = spec.inputs.tokens[0]!;
const VOCAB = spec.params.E[0]!;
const TRAIN = 20_000;
const HELD_OUT = 2_000;
const BATCH = spec.batch;

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
  tokens: Int32Array;
  target: Int32Array;
}

/** `count` random digit sequences not in `exclude` (their text, added to it), with their targets (sorted or reversed). */
function sequences(count: number, random: () => number, exclude: Set<string>): Sequences {
  const tokens = new Int32Array(count * LENGTH);
  const target = new Int32Array(count * LENGTH);
  for (let i = 0; i < count;) {
    const digits = Array.from({ length: LENGTH }, () => Math.floor(random() * VOCAB));
    const key = digits.join("");
    if (exclude.has(key)) continue;
    exclude.add(key);
    tokens.set(digits, i * LENGTH);
    target.set(task === "sort" ? digits.sort((a, b) => a - b) : digits.reverse(), i * LENGTH);
    i++;
  }
  return { tokens, target };
}

const started = performance.now();
const random = generator(seed);
const seen = new Set<string>();
const heldOut = sequences(HELD_OUT, random, seen);
const train = sequences(TRAIN, random, seen);
console.log(
  `transformer: ${task} ${LENGTH} digits; ${TRAIN.toLocaleString("en-US")} training sequences, ${HELD_OUT.toLocaleString("en-US")} held out; ${spec.optimizer.kind} lr ${spec.optimizer.learningRate} → ${Number((spec.optimizer.learningRate / 20).toPrecision(3))} (linear), batch ${BATCH}, ${epochs} epochs`,
);

const trainer = createTrainer({ seed });
const batch = { tokens: new Int32Array(BATCH * LENGTH), target: new Int32Array(BATCH * LENGTH) };

/** Mean loss (per sequence: Σ over positions), exact-sequence and per-digit accuracy over `data`. */
function evaluateOn(data: Sequences): { loss: number; exact: number; digits: number } {
  const count = data.tokens.length / LENGTH;
  let loss = 0;
  let exact = 0;
  let digits = 0;
  for (let start = 0; start < count; start += BATCH) {
    const n = Math.min(BATCH, count - start);
    const tokens = data.tokens.subarray(start * LENGTH, (start + n) * LENGTH);
    const target = data.target.subarray(start * LENGTH, (start + n) * LENGTH);
    loss += trainer.loss({ tokens, target }, n) * n;
    const predicted = trainer.predict({ tokens }, n).digits;
    for (let i = 0; i < n; i++) {
      let right = 0;
      for (let t = 0; t < LENGTH; t++) if (predicted[i * LENGTH + t] === target[i * LENGTH + t]) right++;
      digits += right;
      if (right === LENGTH) exact++;
    }
  }
  return { loss: loss / count, exact: exact / count, digits: digits / (count * LENGTH) };
}

// The learning rate falls linearly from the compiled one to 1/20 of it over the run (a large constant rate
// lets Adam spike the loss once the fit is already close).
const learningRate = linearDecay({
  initial: spec.optimizer.learningRate,
  final: spec.optimizer.learningRate / 20,
  steps: epochs * Math.ceil(TRAIN / BATCH),
});
const order = new Uint32Array(TRAIN).map((_, i) => i);
const shuffle = generator(seed + 1);
const history = { loss: [] as number[], validationLoss: [] as number[], exact: [] as number[] };
for (let epoch = 1; epoch <= epochs; epoch++) {
  for (let i = TRAIN - 1; i > 0; i--) {
    const j = Math.floor(shuffle() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  let sum = 0;
  for (let start = 0; start < TRAIN; start += BATCH) {
    const n = Math.min(BATCH, TRAIN - start);
    for (let k = 0; k < n; k++) {
      const from = order[start + k]! * LENGTH;
      batch.tokens.set(train.tokens.subarray(from, from + LENGTH), k * LENGTH);
      batch.target.set(train.target.subarray(from, from + LENGTH), k * LENGTH);
    }
    trainer.learningRate = learningRate(trainer.state.step);
    sum += trainer.step(batch, n) * n;
  }
  const result = evaluateOn(heldOut);
  history.loss.push(sum / TRAIN);
  history.validationLoss.push(result.loss);
  history.exact.push(result.exact);
  console.log(
    `epoch ${String(epoch).padStart(2)}  loss ${(sum / TRAIN).toFixed(4)}  held-out loss ${result.loss.toFixed(4)}  exact ${(100 * result.exact).toFixed(2)}%  digits ${(100 * result.digits).toFixed(2)}%  ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}
const final = evaluateOn(heldOut);
const seconds = (performance.now() - started) / 1000;
console.log(
  `held-out sequences exactly right ${(100 * final.exact).toFixed(2)}% (${HELD_OUT} sequences), digits right ${(100 * final.digits).toFixed(2)}%, loss ${final.loss.toFixed(4)}, ${seconds.toFixed(1)} s`,
);

mkdirSync(args.out, { recursive: true });
const chart = lossChart(
  { loss: history.loss, validationLoss: history.validationLoss },
  {
    title: `Transformer: ${task} 8 digits (2 blocks, d 32, 4 heads), Adam: ${(100 * final.exact).toFixed(1)}% of held-out sequences exactly right`,
    logY: true,
  },
);
writeFileSync(path.join(args.out, "transformer-loss.svg"), chart);
const round = (v: number) => Number(v.toPrecision(6));
const summary = {
  model: spec.model,
  task: `${task} a sequence of ${LENGTH} digits`,
  data: { training: TRAIN, heldOut: HELD_OUT, disjoint: true },
  optimizer: spec.optimizer,
  batch: BATCH,
  epochs,
  seed,
  heldOutExact: round(final.exact),
  heldOutDigits: round(final.digits),
  heldOutLoss: round(final.loss),
  loss: history.loss.map(round),
  validationLoss: history.validationLoss.map(round),
  validationExact: history.exact.map(round),
  seconds: Number(seconds.toFixed(1)),
};
writeFileSync(path.join(args.out, "transformer.json"), `${JSON.stringify(summary, null, 2)}\n`);
console.log(`wrote ${path.join(args.out, "transformer-loss.svg")} and ${path.join(args.out, "transformer.json")}`);
