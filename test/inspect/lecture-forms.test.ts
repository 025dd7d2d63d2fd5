// Exact text and LaTeX of the lecture examples: what a reader of the backprop notes expects to see.
import { describe, expect, it } from "vitest";
import { equations, grad, nn, symbol, symbols } from "gradgen";

describe("lecture examples print in the lectures' forms", () => {
  it("f = (x + y)·z and its gradient", () => {
    const [x, y, z] = symbols("x y z");
    const f = x.add(y).mul(z);
    expect(f.toString()).toBe("z·(x + y)");
    expect(f.toTex()).toBe("z \\left(x + y\\right)");
    const [gx, gy, gz] = grad(f, [x, y, z]);
    expect([gx!.toString(), gy!.toString(), gz!.toString()]).toEqual(["z", "z", "x + y"]);
    expect(gz!.toTex()).toBe("x + y");
  });

  it("the neuron σ(w·x): σ′ as σ(1 − σ), with σ named once and δ for the shared adjoint", () => {
    const [w0, w1, w2, x0, x1] = symbols("w0 w1 w2 x0 x1");
    const f = nn.sigmoid(w0.mul(x0).add(w1.mul(x1)).add(w2));
    expect(f.toString()).toBe("σ(w0·x0 + w1·x1 + w2)");
    expect(f.toTex()).toBe("\\sigma\\left(w_{0} x_{0} + w_{1} x_{1} + w_{2}\\right)");
    const dw0 = grad(f, w0);
    expect(dw0.toString()).toBe("t1 = σ(w0·x0 + w1·x1 + w2)\nx0·t1·(1 − t1)");
    expect(dw0.toTex()).toBe(
      "\\begin{aligned}\nt_{1} &= \\sigma\\left(w_{0} x_{0} + w_{1} x_{1} + w_{2}\\right) \\\\\n" +
        "\\frac{\\partial f}{\\partial w_{0}} &= x_{0} t_{1} \\left(1 - t_{1}\\right)\n\\end{aligned}",
    );
    const [g0, g1, g2] = grad(f, [w0, w1, w2]);
    expect(equations({ "∂f/∂w0": g0!, "∂f/∂w1": g1!, "∂f/∂w2": g2! }).toString()).toBe(
      "t1 = σ(w0·x0 + w1·x1 + w2)\nδ1 = t1·(1 − t1)\n∂f/∂w0 = x0·δ1\n∂f/∂w1 = x1·δ1\n∂f/∂w2 = δ1",
    );
    const [x] = symbols("x");
    expect(grad(nn.sigmoid(x), x).toString()).toBe("σ(x)·(1 − σ(x))");
    expect(grad(nn.sigmoid(x), x).toTex()).toBe("\\sigma\\left(x\\right) \\left(1 - \\sigma\\left(x\\right)\\right)");
  });

  it("d = a(a + b): like terms collected", () => {
    const [a, b] = symbols("a b");
    const d = a.mul(a.add(b));
    expect(d.toString()).toBe("a·(a + b)");
    expect(grad(d, a).toString()).toBe("2·a + b");
    expect(grad(d, a).toTex()).toBe("2 a + b");
    expect(grad(d, b).toString()).toBe("a");
  });

  it("y = (x1, x1·sin x2): the Jacobian rows", () => {
    const [x1, x2] = symbols("x1 x2");
    const y2 = x1.mul(x2.sin());
    expect(y2.toString()).toBe("x1·sin(x2)");
    expect(y2.toTex()).toBe("x_{1} \\sin\\left(x_{2}\\right)");
    expect(grad(x1, [x1, x2]).map(String)).toEqual(["1", "0"]);
    const [d1, d2] = grad(y2, [x1, x2]);
    expect([d1!.toString(), d2!.toString()]).toEqual(["sin(x2)", "x1·cos(x2)"]);
    expect(d2!.toTex()).toBe("x_{1} \\cos\\left(x_{2}\\right)");
  });

  it("the doubling graph: five squarings of w give 32·w^31", () => {
    const [w] = symbols("w");
    let f = w;
    for (let i = 0; i < 5; i++) f = f.mul(f);
    expect(f.toString()).toBe("w^32");
    expect(grad(f, w).toString()).toBe("32·w^31");
    expect(grad(f, w).toTex()).toBe("32 w^{31}");
  });

  it("softmax cross-entropy: the gradient is p − y", () => {
    const z = symbol("z", [3]);
    const y = symbol("y", [3]);
    const loss = nn.softmaxCrossEntropy(z, y);
    expect(grad(loss, z).toString()).toBe("softmax(z) − y");
    expect(grad(loss, z).toTex()).toBe("\\operatorname{softmax}\\left(z\\right) - y");
    // naming p = softmax(z) prints the lectures' p − y
    const p = nn.softmax(z);
    expect(equations({ p, "∂C/∂z": grad(loss, z) }, { names: new Map([[p.node, "p"]]) }).toString()).toBe(
      "p = softmax(z)\n∂C/∂z = p − y",
    );
  });

  it("d/dw tanh(w·x + b) = x·(1 − tanh²(w·x + b))", () => {
    const [w, x, b] = symbols("w x b");
    const g = grad(nn.tanh(w.mul(x).add(b)), w);
    expect(g.toString()).toBe("x·(1 − tanh²(w·x + b))");
    expect(g.toTex()).toBe("x \\left(1 - \\tanh^{2}\\left(w x + b\\right)\\right)");
  });

  it("notebook bundles carry text/plain and $\\displaystyle …$ LaTeX; console inspection is the text", async () => {
    const [x, y] = symbols("x y");
    const f = x.mul(y);
    expect(f.toMimeBundle()).toEqual({ "text/plain": "x·y", "text/latex": "$\\displaystyle x y$" });
    const jupyter = (f as unknown as Record<symbol, () => unknown>)[Symbol.for("Jupyter.display")]!.call(f);
    expect(jupyter).toEqual(f.toMimeBundle());
    const { inspect } = await import("node:util");
    expect(inspect(f)).toBe("x·y");
  });
});
