// math.js as an independent oracle: gradgen's symbolic derivatives agree with math.js's
// derivative() at random points; and printing scales where math.js's simplify does not.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { evaluate, grad, nn, parse, symbol, symbols, type Tensor } from "gradgen";
import { loadMathJs } from "../../src/inspect/symbolic.js";
import { reachableInOrder } from "../../src/ir/graph.js";

const table: readonly { expression: string; variables: string[] }[] = [
  { expression: "(x + y) * z", variables: ["x", "y", "z"] },
  { expression: "1/(1+exp(-(w0*x0+w1*x1+w2)))", variables: ["w0", "x0", "w2"] },
  { expression: "a * (a + b)", variables: ["a", "b"] },
  { expression: "x * sin(y)", variables: ["x", "y"] },
  { expression: "tanh(w*x + b)", variables: ["w", "x", "b"] },
  { expression: "exp(x) / (exp(x) + exp(y))", variables: ["x", "y"] },
  { expression: "log(1 + x^2) - sqrt(y^2 + 1)", variables: ["x", "y"] },
  { expression: "cos(x*y)^3 / (2 + sin(x))", variables: ["x", "y"] },
  { expression: "x^5 - 3*x^2*y + y^4", variables: ["x", "y"] },
  { expression: "(x - y)^2 / 2 + abs(y - 3)", variables: ["x", "y"] },
  { expression: "exp(-x^2) * sin(3*y) + 1/(1 + x^2)", variables: ["x", "y"] },
  { expression: "log(exp(x) + exp(y))", variables: ["x", "y"] },
];

const coordinate = fc
  .integer({ min: -2000, max: 2000 })
  .filter((i) => i !== 0)
  .map((i) => i / 1000);

describe("derivatives agree with math.js's derivative() at random points", () => {
  const math = loadMathJs();
  for (const { expression, variables } of table) {
    it(expression, () => {
      const f = parse(expression);
      const names = [
        ...new Set(
          expression
            .match(/[a-z]\w*/g)!
            .filter((n) => !["exp", "sin", "cos", "tanh", "log", "sqrt", "abs"].includes(n)),
        ),
      ];
      for (const variable of variables) {
        const ours = grad(f, symbol(variable));
        const theirs = math.derivative(expression, variable);
        fc.assert(
          fc.property(fc.array(coordinate, { minLength: names.length, maxLength: names.length }), (point) => {
            const scope = Object.fromEntries(names.map((n, i) => [n, point[i]!]));
            const expected = theirs.evaluate(scope) as number;
            const actual = evaluate(ours, scope) as number;
            if (!Number.isFinite(expected)) return true;
            expect(Math.abs(actual - expected)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
            return true;
          }),
          { numRuns: 25, seed: 4 },
        );
      }
    });
  }
});

function nodeCount(t: Tensor): number {
  return reachableInOrder([t.node]).length;
}

// Sizes only: the < 100 ms speed target is measured by bench/symbolic.mjs (timed unit tests are
// flaky on shared machines and are not how this project checks speed).
describe("printing scales linearly where math.js's simplify does not finish", () => {
  it("d/dw of w^32 written as a product tree", () => {
    const [w] = symbols("w");
    let tree = "w";
    for (let i = 0; i < 5; i++) tree = `(${tree})*(${tree})`;
    const f = parse(tree); // 63 tree nodes, 6 DAG nodes
    expect(grad(f, w).toString()).toBe("32·w^31");
  });

  it("d/dW1[0,0] of a 2-8-8-1 sigmoid MLP (scalar graph)", () => {
    const x = symbols("x0 x1");
    let layer: Tensor[] = x;
    let first: Tensor | undefined;
    for (const [inputs, outputs, l] of [
      [2, 8, 1],
      [8, 8, 2],
      [8, 1, 3],
    ] as const) {
      const next: Tensor[] = [];
      for (let j = 0; j < outputs; j++) {
        let z = symbol(`b${l}_${j}`);
        for (let i = 0; i < inputs; i++) {
          const w = symbol(`W${l}_${i}_${j}`);
          first ??= w;
          z = z.add(w.mul(layer[i]!));
        }
        next.push(nn.sigmoid(z));
      }
      layer = next;
    }
    const out = layer[0]!;
    const gradient = grad(out, first!);
    const text = gradient.toString();
    // output linear in the graph: a bounded number of characters per DAG node
    expect(text.length).toBeLessThan(40 * (nodeCount(out) + nodeCount(gradient)));
    expect(text.split("\n").length).toBeGreaterThan(3); // shared values became temporaries
  });

  it("10 nested sigmoids: one temporary and one δ per level", () => {
    const [w] = symbols("w");
    let f = w;
    for (let i = 0; i < 10; i++) f = nn.sigmoid(f);
    const text = grad(f, w).toString();
    expect(text.split("\n")).toHaveLength(19); // t1 … t9, the δ recurrence δ1 … δ9, and ∂f/∂w
    expect(text.length).toBeLessThan(400);
  });

  it("output stays linear for deep chains (no exponential expansion)", () => {
    const [w] = symbols("w");
    const sizes: number[] = [];
    for (const depth of [20, 40, 80]) {
      let f = w;
      for (let i = 0; i < depth; i++) f = nn.sigmoid(f.mul(f).add(f));
      sizes.push(grad(f, w).toString().length);
    }
    expect(sizes[2]! / sizes[1]!).toBeLessThan(2.5);
    expect(sizes[1]! / sizes[0]!).toBeLessThan(2.5);
  });
});
