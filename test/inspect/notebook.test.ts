// examples/inspect.ipynb executed headlessly by Jupyter with the Deno kernel, asserting on the
// saved outputs. Setup: scripts/setup-notebooks.sh (run by scripts/test-setup.sh before the suite).
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "../..");
const kernelspec = path.join(root, ".notebook/jupyter/kernels/gradgen-deno/kernel.json");
const ready = existsSync(kernelspec) && existsSync("/usr/bin/jupyter-nbconvert");
const required = process.env.CI === "true" || process.env.GRADGEN_REQUIRE_NOTEBOOKS === "1";

type Output = { output_type: string; data?: Record<string, string | string[]>; text?: string | string[] };

describe("examples/inspect.ipynb", () => {
  // The kernel runs beside the whole suite: under load it has once lost a display output, so retry.
  it.runIf(ready || required)("executes in the Deno kernel and saves LaTeX derivatives and an SVG graph", { timeout: 180_000, retry: 2 }, () => {
    const out = mkdtempSync(path.join(tmpdir(), "gradgen-nb-"));
    execFileSync("jupyter", ["nbconvert", "--to", "notebook", "--execute", "examples/inspect.ipynb", "--output-dir", out, "--output", "inspect.executed",
      "--ExecutePreprocessor.timeout=120"], { cwd: root, env: { ...process.env, JUPYTER_PATH: path.join(root, ".notebook/jupyter") }, stdio: "pipe" });
    const notebook = JSON.parse(readFileSync(path.join(out, "inspect.executed.ipynb"), "utf8")) as { cells: { cell_type: string; outputs?: Output[] }[] };
    const outputs = notebook.cells.flatMap((cell) => cell.outputs ?? []);
    const text = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join("") : v ?? "");
    const latex = outputs.map((o) => text(o.data?.["text/latex"])).filter(Boolean);
    const svgs = outputs.map((o) => text(o.data?.["image/svg+xml"])).filter(Boolean);
    expect(outputs.filter((o) => o.output_type === "error")).toEqual([]);
    expect(latex).toContain("$\\displaystyle x + y$");
    expect(latex).toContain("$\\displaystyle 32 w^{31}$");
    expect(latex.some((l) => l.includes("\\delta_{1} &= t_{1} \\left(1 - t_{1}\\right)"))).toBe(true);
    expect(latex).toContain("$\\displaystyle \\operatorname{softmax}\\left(z\\right) - y$");
    expect(svgs).toHaveLength(1);
    expect(svgs[0]).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"[\s\S]*<\/svg>$/);
    expect(svgs[0]).toContain(">-12<"); // the forward value of (x + y)·z at (−2, 5, −4)
    const streams = outputs.map((o) => text(o.text)).join("");
    expect(streams).toContain("operations: path sum 159 vs DP 15 (32 paths)");
  });
});
