// End to end: examples/train/optimizers.ts compiles examples/optimizers.ts once per optimizer,
// trains each variant on the same problem and charts the curves; every optimizer's loss falls.
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildOnce, removeTempDirs, runTypeScript, tempDir } from "../cli-helpers.js";

beforeAll(() => buildOnce(), 120_000);
afterAll(() => removeTempDirs());

interface Summary {
  epochs: number;
  optimizers: { kind: string; learningRate: number; trainingAccuracy: number; loss: number[] }[];
}

it("examples/train/optimizers.ts: each of the six optimizers lowers the loss; one SVG with six panels", () => {
  const out = tempDir("gradgen-optimizers-");
  const run = runTypeScript("examples/train/optimizers.ts", ["--out", out], 110_000);
  expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
  const summary = JSON.parse(readFileSync(path.join(out, "optimizers.json"), "utf8")) as Summary;
  expect(summary.optimizers.map((o) => o.kind)).toEqual(["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]);
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  for (const { kind, loss, trainingAccuracy } of summary.optimizers) {
    expect(loss, kind).toHaveLength(summary.epochs + 1); // the loss before training, then one per epoch
    expect(loss.every(Number.isFinite), kind).toBe(true);
    const initial = loss[0]!;
    const final = loss.at(-1)!;
    expect(final, `${kind}: final loss against initial ${initial}`).toBeLessThan(initial / 3);
    // Falls over the run as a whole, not only at the end: each fifth of the epochs below the one before.
    const fifth = Math.floor(loss.length / 5);
    const fifths = Array.from({ length: 5 }, (_, i) => mean(loss.slice(i * fifth, (i + 1) * fifth)));
    for (let i = 1; i < 5; i++)
      expect(fifths[i], `${kind}: mean loss of fifth ${i + 1} against fifth ${i}`).toBeLessThan(fifths[i - 1]!);
    expect(trainingAccuracy, kind).toBeGreaterThan(0.9); // three classes: chance is 1/3
  }
  const svg = readFileSync(path.join(out, "optimizers.svg"), "utf8");
  expect(svg.match(/<g class="panel">/g)).toHaveLength(6);
  expect(svg.match(/<path class="series"/g)).toHaveLength(6);
}, 120_000);
