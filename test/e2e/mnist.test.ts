// End to end: examples/train/mnist.ts, run as a user runs it (node scripts/run-ts.mjs), trains the
// committed generated/mnist.ts on the mnist package's digits to ≥ 93% held-out accuracy.
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

it("examples/train/mnist.ts: 8,000 digits train, 2,000 held out, held-out accuracy ≥ 93%", () => {
  const out = tempDir("gradgen-mnist-");
  const run = runTypeScript("examples/train/mnist.ts", ["--out", out], 110_000);
  expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
  const summary = JSON.parse(readFileSync(path.join(out, "mnist.json"), "utf8")) as Summary;
  expect(summary.data).toMatchObject({ digits: 10_000, training: 8_000, heldOut: 2_000 });
  expect(summary.optimizer.kind).toBe("adam");
  expect(summary.loss).toHaveLength(summary.epochs);
  expect(summary.validationLoss).toHaveLength(summary.epochs);
  expect(summary.loss.at(-1)!).toBeLessThan(summary.loss[0]! / 4);
  expect(summary.heldOutAccuracy).toBeGreaterThanOrEqual(0.93);
  expect(summary.validationAccuracy.at(-1)).toBe(summary.heldOutAccuracy);
  expect(run.stdout).toMatch(/held-out accuracy (\d+\.\d+)%/);
  // No terminal here, so no progress bar: one line per epoch instead.
  expect(run.stdout.match(/^epoch +\d+ /gm)).toHaveLength(summary.epochs);
  const svg = readFileSync(path.join(out, "mnist-loss.svg"), "utf8");
  expect(svg.startsWith("<svg")).toBe(true);
  expect(svg.match(/<path class="series"/g)).toHaveLength(2);
  expect(svg).toContain('data-name="validation loss"');
}, 120_000);
