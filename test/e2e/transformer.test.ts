// End to end: examples/train/transformer.ts, run as a user runs it (node scripts/run-ts.mjs), trains the
// committed generated/transformer.ts (2 blocks of 4-head self-attention over int32 token ids) to sort
// sequences of 8 digits: ≥ 99% of 2,000 held-out sequences must come out exactly right (all 8 digits).
// Checked independently of the script's own bookkeeping: the test reloads nothing from the script but
// its summary, and the summary's exact-sequence rate must agree with its per-digit rate (exact ≤ digits).
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildOnce, removeTempDirs, runTypeScript, tempDir } from "../cli-helpers.js";

beforeAll(() => buildOnce(), 120_000);
afterAll(() => removeTempDirs());

interface Summary {
  task: string;
  data: { training: number; heldOut: number; disjoint: boolean };
  optimizer: { kind: string };
  epochs: number;
  heldOutExact: number;
  heldOutDigits: number;
  loss: number[];
  validationLoss: number[];
  validationExact: number[];
}

it("examples/train/transformer.ts: sorts 8 digits, ≥ 99% of held-out sequences exactly right", () => {
  const out = tempDir("gradgen-transformer-");
  const run = runTypeScript("examples/train/transformer.ts", ["--out", out], 290_000);
  expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
  const summary = JSON.parse(readFileSync(path.join(out, "transformer.json"), "utf8")) as Summary;
  expect(summary.task).toBe("sort a sequence of 8 digits");
  expect(summary.data).toEqual({ training: 20_000, heldOut: 2_000, disjoint: true });
  expect(summary.optimizer.kind).toBe("adam");
  expect(summary.loss).toHaveLength(summary.epochs);
  expect(summary.validationLoss).toHaveLength(summary.epochs);
  // Chance is 1/10 per digit: a loss of 8·ln 10 ≈ 18.4 per sequence; the first epoch's mean is already far
  // below that, and training must keep lowering it.
  expect(summary.loss.at(-1)!).toBeLessThan(summary.loss[0]! / 10);
  expect(summary.heldOutExact).toBeGreaterThanOrEqual(0.99);
  expect(summary.heldOutDigits).toBeGreaterThanOrEqual(summary.heldOutExact);
  expect(summary.validationExact.at(-1)).toBe(summary.heldOutExact);
  expect(run.stdout).toMatch(/held-out sequences exactly right (\d+\.\d+)%/);
  expect(run.stdout.match(/^epoch +\d+ /gm)).toHaveLength(summary.epochs);
  const svg = readFileSync(path.join(out, "transformer-loss.svg"), "utf8");
  expect(svg.startsWith("<svg")).toBe(true);
  expect(svg.match(/<path class="series"/g)).toHaveLength(2);
}, 300_000);
