// The printer's defects of issue #13, one block each: non-integer powers, δ names, reading order,
// the lectures' forms of the cross-entropy gradient and of the nested-sigmoid δ recurrence, linear
// printing, and a paths() LaTeX that defines what it uses. Expected strings are the textbook forms.
import { describe, expect, it } from "vitest";
import {
  equations,
  evaluate,
  grad,
  inspectModel,
  model,
  nn,
  parse,
  paths,
  symbol,
  symbols,
  type ModelDefinition,
  type Tensor,
} from "gradgen";
import { traceModel } from "../../src/dsl/model.js";
import { exampleModels, extraModels, rnn } from "./models.js";

const inspect = (definition: ModelDefinition) => inspectModel(traceModel(definition));

describe("non-integer powers print (they overflowed the stack)", () => {
  it("a^0.5 is √a, a^1.5 a power, a^(−0.5) a quotient; parse and grad agree", () => {
    const [a, x] = symbols("a x");
    expect(a.pow(0.5).toString()).toBe("√(a)");
    expect(a.pow(0.5).toTex()).toBe("\\sqrt{a}");
    expect(a.pow(1.5).toString()).toBe("a^1.5");
    expect(a.pow(1.5).toTex()).toBe("a^{1.5}");
    expect(a.pow(-0.5).toString()).toBe("1/√(a)");
    expect(a.pow(-0.5).toTex()).toBe("\\frac{1}{\\sqrt{a}}");
    expect(parse("x^0.5").toString()).toBe("√(x)");
    expect(parse("(x + 1)^0.25").toString()).toBe("(x + 1)^0.25");
    // d/da √a = 1/(2√a)
    const d = grad(a.pow(0.5), a);
    expect(d.toString()).toBe("0.5/√(a)");
    expect(d.toTex()).toBe("\\frac{0.5}{\\sqrt{a}}");
    expect(evaluate(d, { a: 4 })).toBeCloseTo(0.25, 15);
    expect(grad(x.pow(2.5), x).toString()).toBe("2.5·x^1.5");
  });

  it("a model using pow(0.5) inspects (gradgen inspect exited 2 on it)", () => {
    const definition = model("root", ({ input, param }) => {
      const x = input("x", [2]);
      const w = param("w", [2]);
      return { loss: x.mul(w).square().add(1).pow(0.5).sum() };
    });
    const text = inspect(definition).toText();
    expect(text).toContain("C = Σ√(");
    expect(text).toContain("∂C/∂w = ");
  });
});

describe("δ names follow the layer names", () => {
  it("an output layer called logits gives δ_logits (not δogits); out gives δ_out (not δut)", () => {
    const logits = model("logitsModel", ({ input, param }) => {
      const x = input("x", [2]);
      const logits = x.matmul(param("W", [2, 3]));
      return { loss: nn.softmaxCrossEntropy(logits, input("y", [3])), outputs: { logits } };
    });
    const text = inspect(logits).toText();
    expect(text).toContain("  δ_logits = softmax(logits) − y\n  ∂C/∂W = xᵀ·δ_logits\n");
    expect(inspect(logits).toTex()).toContain(
      "\\delta_{\\mathrm{logits}} &= \\operatorname{softmax}\\left(\\mathrm{logits}\\right) - y",
    );
    const out = model("outModel", ({ input, param }) => {
      const out = input("x", [2]).matmul(param("W", [2, 1]));
      return { loss: nn.halfSquaredError(out, input("t", [1])), outputs: { out } };
    });
    expect(inspect(out).toText()).toContain("  ∂C/∂W = xᵀ·δ_out\n");
  });

  it("numbered layers keep δ1, δ2, and shared adjoints never take a layer's δ number", () => {
    const xor = inspect(
      model("xor2", ({ input, param }) => {
        const h = nn.sigmoid(
          input("x", [2])
            .matmul(param("W1", [2, 4]))
            .add(param("b1", [4])),
        );
        const y = nn.sigmoid(h.matmul(param("W2", [4, 1])).add(param("b2", [1])));
        return { loss: nn.halfSquaredError(y, input("t", [1])), outputs: { y } };
      }),
    );
    expect(xor.backward.definitions.map((d) => d.label)).toEqual(["δ2", "δ1"]);
    // Σ(x ⊙ ∂f/∂x) + Σ ∂f/∂W: three affine nodes (z1, z2, z3) whose δ2 and δ3 are leaves, not printed
    const both = inspect(
      model("bothGradients", ({ input, param }) => {
        const x = input("x", [3]);
        const W = param("W", [3, 4]);
        const f = nn
          .tanh(x.matmul(W).add(param("c", [4])))
          .mul(param("v", [4]))
          .sum();
        const [gx, gW] = grad(f, [x, W]);
        return { loss: gx!.mul(x).sum().add(gW!.sum()) };
      }),
    );
    const labels = both.backward.definitions.map((d) => d.label);
    expect(labels).toContain("δ1");
    expect(labels.filter((l) => l === "δ2" || l === "δ3")).toEqual([]);
  });
});

describe("temporaries are numbered in reading order", () => {
  it("a tanh RNN: hidden states are a1, a2, a3 in time order, residuals listed as they print", () => {
    const inspection = inspect(rnn);
    expect(inspection.forward.definitions.map((d) => `${d.label} = ${d.body}`).slice(0, 6)).toEqual([
      "z1 = h0·Wh + x0·Wx + bh",
      "a1 = tanh(z1)",
      "z2 = a1·Wh + x1·Wx + bh",
      "a2 = tanh(z2)",
      "z3 = a2·Wh + x2·Wx + bh",
      "a3 = tanh(z3)",
    ]);
    expect(inspection.backward.definitions.map((d) => `${d.label} = ${d.body}`).slice(0, 3)).toEqual([
      "δ3 = (1 − a3^2) ⊙ (δ4·Woᵀ)",
      "δ2 = (1 − a2^2) ⊙ (δ3·Whᵀ)",
      "δ1 = (1 − a1^2) ⊙ (δ2·Whᵀ)",
    ]);
    expect(inspection.residuals.map((r) => r.name)).toEqual(["a1", "a2", "a3", "δ4"]);
  });

  it("in every printed block, each family of temporaries (s, t, δ) appears as 1, 2, 3, … from the top", async () => {
    const blocks: string[][] = [];
    for (const [, definition] of [...(await exampleModels()), ...Object.entries(extraModels)]) {
      const inspection = inspect(definition);
      blocks.push([...inspection.forward.definitions, ...inspection.backward.definitions].map((d) => d.label));
    }
    const [w] = symbols("w");
    let f = w;
    for (let i = 0; i < 6; i++) f = nn.sigmoid(f.add(f.mul(f)));
    blocks.push(
      grad(f, w)
        .toString()
        .split("\n")
        .map((line) => line.split(" = ")[0]!),
    );
    for (const labels of blocks) {
      for (const family of ["s", "t"]) {
        const numbers = labels.filter((l) => new RegExp(`^${family}\\d+$`).test(l)).map((l) => Number(l.slice(1)));
        expect(numbers).toEqual(numbers.map((_, i) => i + 1));
      }
    }
  });
});

describe("the lectures' forms", () => {
  it("binaryCrossEntropy(σ(z), t): the gradient is σ(z) − t", () => {
    const [z, t] = symbols("z t");
    const g = grad(nn.binaryCrossEntropy(nn.sigmoid(z), t), z);
    expect(g.toString()).toBe("σ(z) − t");
    expect(g.toTex()).toBe("\\sigma\\left(z\\right) - t");
    expect(evaluate(g, { z: 0.3, t: 1 })).toBeCloseTo(1 / (1 + Math.exp(-0.3)) - 1, 14);
    const zv = symbol("z", [3]);
    const tv = symbol("t", [3]);
    expect(grad(nn.binaryCrossEntropy(nn.sigmoid(zv), tv), zv).toString()).toBe("σ(z) − t");
    const layer = model("bce", ({ input, param }) => {
      const logits = input("x", [2]).matmul(param("W", [2, 3]));
      return { loss: nn.binaryCrossEntropy(nn.sigmoid(logits), input("t", [3])), outputs: { logits } };
    });
    expect(inspect(layer).toText()).toContain("  δ_logits = a1 − t\n  ∂C/∂W = xᵀ·δ_logits\n");
  });

  it("10 nested sigmoids: a δ recurrence, δₖ = δₖ₋₁·s·(1 − s), one line per level", () => {
    const [w] = symbols("w");
    let f = w;
    for (let i = 0; i < 10; i++) f = nn.sigmoid(f);
    // s1 = σ(w) (short, printed inline), t1 = s2 = σ(σ(w)), tₖ = σ(tₖ₋₁) up to t9 = s10's operand
    const t = (k: number) => `t${k}`;
    const expected = [`t1 = σ(σ(w))`];
    for (let k = 2; k <= 9; k++) expected.push(`${t(k)} = σ(${t(k - 1)})`);
    expected.push(`δ1 = t9·(1 − t9)`); // ∂f/∂s9 = σ′ at the top
    for (let k = 2; k <= 9; k++) expected.push(`δ${k} = δ${k - 1}·${t(10 - k)}·(1 − ${t(10 - k)})`);
    expected.push("δ9·σ(w)·(1 − σ(w))"); // ∂f/∂w = ∂f/∂s1 · σ′(w)
    expect(grad(f, w).toString()).toBe(expected.join("\n"));
    expect(grad(f, w).toTex()).toContain("\\delta_{2} &= \\delta_{1} t_{8} \\left(1 - t_{8}\\right)");
  });

  it("short chains stay one product", () => {
    const [w] = symbols("w");
    const f = nn.sigmoid(nn.sigmoid(w));
    expect(grad(f, w).toString()).toBe("t1 = σ(σ(w))\nt1·σ(w)·(1 − t1)·(1 − σ(w))");
  });
});

describe("printing is linear in the graph (iterative, no recursion-depth limit)", () => {
  // Counts, not time: bench/symbolic.mjs times the 1,000-sigmoid chain.
  function chain(n: number): string {
    const [w] = symbols("w");
    let f = w;
    for (let i = 0; i < n; i++) f = nn.sigmoid(f);
    return grad(f, w).toString();
  }

  it("1,500 nested sigmoids print as 2·1,500 − 1 lines, three times the text of 500", () => {
    const small = chain(500);
    const large = chain(1500);
    expect(large.split("\n")).toHaveLength(2 * 1500 - 1);
    expect(large.length / small.length).toBeLessThan(3.3);
  });

  it("a sum and a product of 6,000 terms print without deep recursion", () => {
    const xs = Array.from({ length: 6_000 }, (_, i) => symbol(`x${i}`));
    let sum = xs[0]!;
    let product = xs[0]!;
    for (const x of xs.slice(1)) {
      sum = sum.add(x);
      product = product.mul(x);
    }
    const sumText = sum.toString();
    expect(sumText.startsWith("x0 + x1 + x2 + ")).toBe(true);
    expect(sumText.split(" + ")).toHaveLength(6_000);
    expect(product.toString().split("·")).toHaveLength(6_000);
  });
});

describe("paths(f, w).toTex() defines the temporaries it uses", () => {
  it("σ(u) + u² with u = w0·x0 + w1·x1 + w2", () => {
    const [w0, w1, w2, x0, x1] = symbols("w0 w1 w2 x0 x1");
    const u = w0.mul(x0).add(w1.mul(x1)).add(w2);
    const tex = paths(nn.sigmoid(u).add(u.mul(u)), w0).toTex();
    const used = new Set(tex.match(/(?:t|\\delta)_\{\d+\}/g) ?? []);
    const defined = new Set([...tex.matchAll(/^((?:t|\\delta)_\{\d+\}) &=/gm)].map((m) => m[1]!));
    expect(used.size).toBeGreaterThan(0);
    expect([...used].filter((name) => !defined.has(name))).toEqual([]);
    expect(tex).toContain("\\underbrace{");
    expect(tex).toContain("_{3\\ \\text{paths}}");
  });
});

describe("equations() labels", () => {
  it("escape LaTeX's special characters in text labels", () => {
    const [x] = symbols("x");
    const tex = equations({ "50% of x & more #1": x.mul(0.5) }).toTex();
    expect(tex).toBe("\\text{50\\% of x \\& more \\#1} = 0.5 x");
  });
});

describe("printed text means the computed value", () => {
  // Scalar printed text read back with parse(): σ → sigmoid, √ → sqrt, · → *, temporaries as scope.
  function readBack(text: string): Tensor {
    const scope: Record<string, Tensor> = {};
    const mathjs = (s: string) =>
      s.replace(/σ/g, "sigmoid").replace(/√/g, "sqrt").replace(/−/g, "-").replace(/·/g, "*");
    const lines = text.split("\n");
    for (const line of lines.slice(0, -1)) {
      const [name, body] = line.split(" = ");
      scope[name!] = parse(mathjs(body!), scope);
    }
    return parse(mathjs(lines[lines.length - 1]!), scope);
  }

  const [x, y, z, t, w] = symbols("x y z t w");
  const table: Record<string, () => Tensor> = {
    "∂/∂z binaryCrossEntropy(σ(z), t)": () => grad(nn.binaryCrossEntropy(nn.sigmoid(z), t), z),
    "∂/∂z crossEntropy-style −t·log σ(z) − (1 − t)·log(1 − σ(z)) written out": () =>
      grad(
        t
          .mul(nn.sigmoid(z).log())
          .add(t.neg().add(1).mul(nn.sigmoid(z).neg().add(1).log()))
          .neg(),
        z,
      ),
    "x·(y + 1/x)": () => x.mul(y.add(x.pow(-1))),
    "(x + y)·(1/(x + y) − z)": () => x.add(y).mul(x.add(y).pow(-1).sub(z)),
    "∂/∂w of 6 nested sigmoids": () => {
      let f = w;
      for (let i = 0; i < 6; i++) f = nn.sigmoid(f);
      return grad(f, w);
    },
    "∂/∂x √(x² + y²)": () => grad(x.mul(x).add(y.mul(y)).pow(0.5), x),
    "∂/∂x (x·y)^1.5 / (1 + x)": () => grad(x.mul(y).pow(1.5).div(x.add(1)), x),
  };
  const points = [
    { x: 0.7, y: 1.3, z: -0.4, t: 0.25, w: 0.9 },
    { x: 2.1, y: 0.2, z: 1.7, t: 1, w: -1.2 },
  ];
  for (const [name, make] of Object.entries(table)) {
    it(name, () => {
      const e = make();
      const back = readBack(e.toString());
      for (const point of points) {
        const expected = evaluate(e, point) as number;
        expect(evaluate(back, point) as number).toBeCloseTo(expected, 12);
      }
    });
  }

  it("the expanded forms are the shorter ones", () => {
    expect(table["x·(y + 1/x)"]!().toString()).toBe("x·y + 1");
    expect(table["(x + y)·(1/(x + y) − z)"]!().toString()).toBe("1 − x·z − y·z");
    expect(x.add(y).mul(z).toString()).toBe("z·(x + y)"); // not expanded: no quotient cancels
  });
});
