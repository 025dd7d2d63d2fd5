// End to end: examples/train/cnn.ts, run as a user runs it (node scripts/run-ts.mjs), trains the
// committed generated/cnn.ts (a LeNet) on the mnist package's digits to ≥ 97.5% held-out accuracy
// (the MLP of examples/train/mnist.ts reaches 95.2% on the same split).
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildOnce, removeTempDirs, runTypeScript, tempDir } from "../cli-helpers.js";

beforeAll(() => buildOnce(), 120_000);
afterAll(() => removeTempDirs());

interface Summary {
  data: { digits: number; training: number; heldOut: number };
  optimizer: { kind: string };
  epochs: number;
  heldOutAccuracy: number;
  loss: number[];
  validationLoss: number[];
  validationAccuracy: number[];
}

it("examples/train/cnn.ts: 8,000 digits train, 2,000 held out, held-out accuracy ≥ 97.5%", () => {
  const out = tempDir("gradgen-cnn-");
  const run = runTypeScript("examples/train/cnn.ts", ["--out", out], 280_000);
  expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
  const summary = JSON.parse(readFileSync(path.join(out, "cnn.json"), "utf8")) as Summary;
  expect(summary.data).toMatchObject({ digits: 10_000, training: 8_000, heldOut: 2_000 });
  expect(summary.optimizer.kind).toBe("adam");
  expect(summary.epochs).toBe(15);
  expect(summary.loss).toHaveLength(summary.epochs);
  expect(summary.validationLoss.at(-1)!).toBeLessThan(summary.validationLoss[0]! / 2);
  expect(summary.heldOutAccuracy).toBeGreaterThanOrEqual(0.975);
  expect(summary.validationAccuracy.at(-1)).toBe(summary.heldOutAccuracy);
  expect(run.stdout.match(/^epoch +\d+ /gm)).toHaveLength(summary.epochs);
  const svg = readFileSync(path.join(out, "cnn-loss.svg"), "utf8");
  expect(svg.startsWith("<svg")).toBe(true);
}, 300_000);
