// `gradgen check examples/*.ts` passes: every model file in examples/ default-exports a model whose
// analytic gradients agree with central differences, at the initial parameters and at random
// perturbations of them (training scripts live in examples/train/).
import { readdirSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildOnce, gradgen, removeTempDirs, root } from "../cli-helpers.js";

beforeAll(() => buildOnce(), 120_000);
afterAll(() => removeTempDirs());

const files = readdirSync(path.join(root, "examples"))
  .filter((f) => f.endsWith(".ts"))
  .sort()
  .map((f) => `examples/${f}`);

/** The report of each file: its text up to the next file's name. */
function reports(stdout: string): Map<string, string> {
  const result = new Map<string, string>();
  for (const [i, file] of files.entries()) {
    const start = stdout.indexOf(`${file}\n`);
    const end = i + 1 < files.length ? stdout.indexOf(`${files[i + 1]}\n`) : stdout.length;
    result.set(file, stdout.slice(start, end));
  }
  return result;
}

it.each([
  ["0", "3"],
  ["7", "4"],
])(
  "gradgen check examples/*.ts --seed %s --points %s exits 0 and checks every entry of every file",
  (seed, points) => {
    expect(files).toEqual(
      expect.arrayContaining(["examples/mnist.ts", "examples/optimizers.ts", "examples/circuit.ts"]),
    );
    const run = gradgen(["check", ...files, "--seed", seed, "--points", points]);
    expect(run.status, `${run.stdout}${run.stderr}`).toBe(0);
    expect(run.stdout.match(/gradients agree with central differences/g)).toHaveLength(files.length);
    for (const [file, report] of reports(run.stdout)) {
      expect(report, file).toContain(
        `checked at ${points} points (the initial parameters and ${Number(points) - 1} random perturbations of them; seed ${seed}`,
      );
      // One row per parameter and per input declared { grad: true }: some elements of each checked, none failed.
      const rows = report.split("\n").filter((line) => / of \d+ /.test(line) && !line.startsWith("checked at"));
      expect(rows.length, file).toBeGreaterThan(0);
      for (const row of rows) expect(row, file).toMatch(/^\S+( \(input\))?\s+[1-9]\d* of \d+\s+\d+\s+.*\s+ok$/);
    }
    // circuit.ts has no parameters: its input gradients are what is checked.
    expect(reports(run.stdout).get("examples/circuit.ts")).toMatch(/^x \(input\)\s+2 of 2\s/m);
  },
  240_000,
);
