// Drawings, the path view, and `gradgen inspect` on the example models.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graph, nn, paths, symbols } from "gradgen";
import { buildOnce, gradgen as run, removeBuild } from "../cli-helpers.js";

describe("paths(f, w): the sum over paths equals reverse mode", () => {
  it("the doubling graph: 32 paths of 5 wires against 15 DP operations", () => {
    const [w] = symbols("w");
    let f = w;
    for (let i = 0; i < 5; i++) f = f.mul(f);
    const report = paths(f, w, { values: { w: 1.1 } });
    expect(report.count).toBe(32n);
    expect(report.paths).toHaveLength(32);
    expect(report.pathOperations).toBe(32n * 4n + 31n);
    expect(report.dpOperations).toBe(15); // 10 wires, 5 extra consumers
    expect(report.sum).toBe(report.gradient); // both simplify to 32·w^31
    expect(report.sumValue).toBeCloseTo(32 * 1.1 ** 31, 6);
    expect(report.toString()).toContain("operations: path sum 159 vs DP 15 (32 paths)");
  });

  it("(x + y)·z and the neuron: every path listed, sums agree numerically", () => {
    const [x, y, z] = symbols("x y z");
    const report = paths(x.add(y).mul(z), x, { values: { x: -2, y: 5, z: -4 } });
    expect(report.toString().split("\n").slice(0, 2)).toEqual([
      "1 path(s) from x to f:",
      "  1. x → x + y → z·(x + y): 1 · z = -4",
    ]);
    const [w0, w1, w2, x0, x1] = symbols("w0 w1 w2 x0 x1");
    const u = w0.mul(x0).add(w1.mul(x1)).add(w2);
    const f = nn.sigmoid(u).add(u.mul(u)); // two routes from w0
    const values = { w0: 2, w1: -3, w2: -3, x0: -1, x1: -2 };
    const r = paths(f, w0, { values });
    expect(r.count).toBe(3n);
    expect(r.sumValue).toBeCloseTo(r.gradientValue!, 12);
    expect(r.toTex()).toContain("_{3\\ \\text{paths}}");
  });
});

describe("graph(f): the lecture circuit", () => {
  it("draws values, adjoints and local derivatives into a self-contained SVG", () => {
    const [x, y, z] = symbols("x y z");
    const g = graph(x.add(y).mul(z), { values: { x: -2, y: 5, z: -4 } });
    const byLabel = Object.fromEntries(g.nodes.map((n) => [n.label, n]));
    expect([byLabel.x!.value, byLabel.x!.adjoint]).toEqual(["-2", "-4"]);
    expect([byLabel.z!.value, byLabel.z!.adjoint]).toEqual(["-4", "3"]);
    expect([byLabel["×"]!.value, byLabel["×"]!.adjoint]).toEqual(["-12", "1"]);
    const svg = g.toSVG();
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).not.toMatch(/href="http|<script|@import/);
    const ids = [...svg.matchAll(/id="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
    expect(graph(x.mul(y)).toSVG()).not.toContain(ids[0]!); // unique per drawing
    expect(g.toDot()).toContain("rankdir=LR");
    expect(g.toMimeBundle()["image/svg+xml"]).toMatch(/^<svg[\s\S]*<\/svg>$/);
    expect(g.toMimeBundle()["text/plain"]).toContain("value -12");
  });
});

function gradgen(...args: string[]): string {
  const result = run(args);
  if (result.status !== 0) throw new Error(result.stderr);
  return result.stdout;
}

describe("gradgen inspect", () => {
  beforeAll(buildOnce, 120_000);
  afterAll(removeBuild);

  it("prints the XOR network's forward and backward equations in δ form with shapes, and the saved residuals", () => {
    expect(gradgen("inspect", "examples/xor.ts"))
      .toBe(`model xor: one example's cost C (the trainer averages C over the n examples of a batch)

inputs and parameters: x : [2] per example, t : [1] per example, W1 : [2, 4], b1 : [4], W2 : [4, 1], b2 : [1]

forward:
  z1 = x·W1 + b1                   z1 : [4] per example
  a1 = σ(z1)                       a1 : [4] per example
  z2 = a1·W2 + b2                  z2 : [1] per example
  y = σ(z2)                        y : [1] per example
  s1 = y − t                       s1 : [1] per example
  C = 0.5·Σ(s1^2)                  C : scalar per example

backward (δ = ∂C/∂z for each layer's pre-activation z):
  δ2 = s1 ⊙ y ⊙ (1 − y)            δ2 : [1] per example
  δ1 = a1 ⊙ (1 − a1) ⊙ (δ2·W2ᵀ)    δ1 : [4] per example
  ∂C/∂W1 = xᵀ·δ1                   ∂C/∂W1 : [2, 4] per example
  ∂C/∂b1 = δ1                      ∂C/∂b1 : [4] per example
  ∂C/∂W2 = a1ᵀ·δ2                  ∂C/∂W2 : [4, 1] per example
  ∂C/∂b2 = δ2                      ∂C/∂b2 : [1] per example

saved for the backward pass (forward values the gradient reads):
  a1     [4]      σ(z1)  (read 3×)
  y      [1]      σ(z2)  (read 2×)
  s1     [1]      y − t
  and the inputs and parameters W2, x
`);
  });

  it("--wrt, --format tex|svg|dot, and errors", () => {
    const mlp = gradgen("inspect", "examples/mlp.ts", "--wrt", "W1");
    expect(mlp).toContain("δ2 = probabilities − label");
    expect(mlp).toContain("∂C/∂W1 = xᵀ·δ1");
    expect(mlp).not.toContain("∂C/∂W2");
    const tex = gradgen("inspect", "examples/neuron.ts", "--format", "tex");
    expect(tex).toContain("\\frac{\\partial C}{\\partial w_{0}} &= x_{0} \\delta_{1}");
    expect(gradgen("inspect", "examples/circuit.ts", "--format=svg")).toMatch(/^<svg[\s\S]*<\/svg>\n$/);
    expect(gradgen("inspect", "examples/circuit.ts", "--format", "dot")).toMatch(/^digraph gradgen \{/);
    const bad = run(["inspect", "examples/xor.ts", "--wrt", "W9"]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/has no parameter or input named W9/);
  });
});
