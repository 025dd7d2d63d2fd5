// End to end: examples/train/lstm.ts, run as a user runs it (node scripts/run-ts.mjs), trains the committed
// generated/lstm.ts (an LSTM written with nn.scan) on the adding problem with 20 steps: the held-out mean
// squared error must fall below 0.01. Predicting the targets' mean (1) scores 1/6 ≈ 0.167 (the sum of two
// independent uniform values has variance 2/12), and a network that ignores the markers can do no better
// than about 0.167 · (1 − 1/10) ≈ 0.15 (the sum over all 20 values says little about the two marked ones), so
// 0.01 is reached only by carrying the marked values across the steps between them.
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildOnce, removeTempDirs, runTypeScript, tempDir } from "../cli-helpers.js";

beforeAll(() => buildOnce(), 120_000);
afterAll(() => removeTempDirs());

interface Summary {
  task: string;
  data: { training: number; heldOut: number };
  optimizer: { kind: string };
  epochs: number;
  initialHeldOutMse: number;
  heldOutMse: number;
  heldOutClose: number;
  loss: number[];
  validationLoss: number[];
}

it("examples/train/lstm.ts: the adding problem over 20 steps, held-out mean squared error < 0.01", () => {
  const out = tempDir("gradgen-lstm-");
  const run = runTypeScript("examples/train/lstm.ts", ["--out", out], 110_000);
  expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
  const summary = JSON.parse(readFileSync(path.join(out, "lstm.json"), "utf8")) as Summary;
  expect(summary.task).toBe("adding problem, 20 steps");
  expect(summary.data).toEqual({ training: 10_000, heldOut: 2_000 });
  expect(summary.optimizer.kind).toBe("adam");
  expect(summary.loss).toHaveLength(summary.epochs);
  expect(summary.validationLoss).toHaveLength(summary.epochs);
  expect(summary.initialHeldOutMse).toBeGreaterThan(1 / 6); // untrained: no better than predicting the mean
  expect(summary.heldOutMse).toBeLessThan(0.01);
  expect(summary.validationLoss.at(-1)).toBe(summary.heldOutMse);
  expect(summary.loss.at(-1)!).toBeLessThan(summary.loss[0]!);
  expect(run.stdout).toMatch(/held-out mse (\d+\.\d+) \(predicting the mean: 0\.1667\)/);
  expect(run.stdout.match(/^epoch +\d+ /gm)).toHaveLength(summary.epochs);
  const svg = readFileSync(path.join(out, "lstm-loss.svg"), "utf8");
  expect(svg.startsWith("<svg")).toBe(true);
  expect(svg.match(/<path class="series"/g)).toHaveLength(2);
}, 120_000);
