// `gradgen check examples/*.ts` passes: every model file in examples/ default-exports a model whose
// analytic gradients agree with central differences (training scripts live in examples/train/).
import { readdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildOnce, gradgen, removeTempDirs, root } from "../cli-helpers.js";

beforeAll(() => buildOnce(), 120_000);
afterAll(() => removeTempDirs());

it("gradgen check examples/*.ts exits 0 and checks every file", () => {
  const files = readdirSync(path.join(root, "examples")).filter((f) => f.endsWith(".ts")).sort().map((f) => `examples/${f}`);
  expect(files).toEqual(expect.arrayContaining(["examples/mnist.ts", "examples/optimizers.ts"]));
  const run = gradgen(["check", ...files]);
  expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
  for (const file of files) expect(run.stdout).toContain(file);
  expect(run.stdout.match(/gradients agree with central differences/g)).toHaveLength(files.length);
}, 120_000);
