// `gradgen inspect --hessian` against Hessians worked out by hand: f = x²y + y³ has
// H = [[2y, 2x], [2x, 6y]]; the circuit f = (x + y)·z has H = [[0, 0, 1], [0, 0, 1], [1, 1, 0]];
// C = ½(x·w)² over a vector w has H = x·xᵀ, so (H·v)_w = x·(x·v). Entries and products are both
// symbolic (the reverse sweep differentiated again), never sampled.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { model, nn } from "gradgen";
import { traceModel } from "../../src/dsl/model.ts";
import { inspectHessian } from "../../src/inspect/hessian.ts";
import { buildOnce, gradgen as run, removeBuild } from "../cli-helpers.js";

const textbook = model("textbook", ({ input, param }) => {
  const t = input("t", []);
  const x = param("x", [], { init: 1 });
  const y = param("y", [], { init: 2 });
  return { loss: x.square().mul(y).add(y.pow(3)).add(t) };
});

describe("inspect --hessian", () => {
  beforeAll(buildOnce);
  afterAll(removeBuild);

  it("prints the entries of f = x²y + y³: [[2y, 2x], [2x, 6y]]", () => {
    const view = inspectHessian(traceModel(textbook));
    expect(view.form).toBe("entries");
    const text = view.toText();
    expect(text).toContain("  ∂²C/∂x² = 2·y\n  ∂²C/∂x∂y = 2·x\n  ∂²C/∂y² = 6·y\n");
    expect(text).toContain("  H = [[2·y, 2·x], [2·x, 6·y]]");
    const tex = view.toTex();
    expect(tex).toContain("\\frac{\\partial^2 C}{\\partial x\\,\\partial y} &= 2 x");
    expect(tex).toContain("H = \\begin{pmatrix} 2 y & 2 x \\\\ 2 x & 6 y \\end{pmatrix}");
    // --wrt narrows it to one entry
    expect(inspectHessian(traceModel(textbook), ["y"]).toText()).toContain("  H = [[6·y]]");
  });

  it("prints (H·v)_w = x·(x·v) for C = ½(x·w)² over a vector w", () => {
    const quadratic = model("quadratic", ({ input, param }) => {
      const x = input("x", [3]);
      const w = param("w", [3]);
      return { loss: nn.leastSquares(x.mul(w).sum()) };
    });
    const view = inspectHessian(traceModel(quadratic));
    expect(view.form).toBe("product");
    // x·(x·v), the dot product printed as Σ(v ⊙ x)
    expect(view.toText()).toContain("  (H·v)_w = x·Σ(v_w ⊙ x)");
    expect(view.toTex()).toBe("(H v)_{w} = x \\sum \\left(v_{w} \\odot x\\right)");
  });

  it("gradgen inspect --hessian: the circuit's entries, xor's product graph, and errors", () => {
    const circuit = run(["inspect", "examples/circuit.ts", "--hessian"]);
    expect(circuit.status).toBe(0);
    expect(circuit.stdout).toContain("  H = [[0, 0, 1], [0, 0, 1], [1, 1, 0]]");
    const xor = run(["inspect", "examples/xor.ts", "--hessian", "--format", "tex"]);
    expect(xor.status).toBe(0);
    expect(xor.stdout).toContain("(H v)_{W_{1}} &= ");
    const svg = run(["inspect", "examples/xor.ts", "--hessian", "--format", "svg"]);
    expect(svg.status).toBe(1);
    expect(svg.stderr).toMatch(/--hessian prints equations: use --format text or --format tex/);
    const bad = run(["inspect", "examples/xor.ts", "--hessian", "--wrt", "W9"]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/no parameter .*named W9; it has W1, b1, W2, b2/);
  });
});
