// Simplification is sound: random expressions evaluate the same before and after, and each rule
// fires somewhere in the generated expressions (so a wrong rule cannot hide).
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import * as ir from "../src/ir/build.js";
import { makeNode, type Node } from "../src/ir/node.js";
import { Op } from "../src/ir/ops.js";
import { evaluate } from "../src/ir/evaluate.js";
import { rewriteRules, simplify } from "../src/passes/simplify.js";
import { gradients } from "../src/grad/reverse.js";

const x = makeNode(Op.Param, [], { name: "sx", shape: [] });
const y = makeNode(Op.Param, [], { name: "sy", shape: [] });
const v = makeNode(Op.Param, [], { name: "sv", shape: [3] });

type Build = (depth: number) => fc.Arbitrary<Node>;

/** Expressions over x, y (scalars) and v ([3]), built from ops whose domains are safe at the sample points. */
const expression: Build = (depth) => {
  const leaves = fc.oneof(
    fc.constant(x),
    fc.constant(y),
    fc.constant(v),
    fc.constantFrom(0, 1, -1, 2, 0.5, 3).map((c) => ir.constant(c)),
  );
  if (depth === 0) return leaves;
  const sub = expression(depth - 1);
  return fc.oneof(
    { weight: 2, arbitrary: leaves },
    fc.tuple(sub, sub).map(([a, b]) => ir.add(a, b)),
    fc.tuple(sub, sub).map(([a, b]) => ir.sub(a, b)),
    fc.tuple(sub, sub).map(([a, b]) => ir.mul(a, b)),
    fc.tuple(sub, sub).map(([a, b]) => ir.div(a, ir.add(ir.mul(b, b), 1))),
    sub.map((a) => ir.neg(a)),
    fc.tuple(sub, fc.constantFrom(0, 1, 2, 3, -1)).map(([a, p]) => ir.powConst(a, p)),
    sub.map((a) => ir.sigmoid(a)),
    sub.map((a) => ir.tanh(a)),
    sub.map((a) => ir.sum(ir.broadcastTo(a, [3]))),
    fc.tuple(sub, sub).map(([a, b]) => ir.select(ir.greater(a, b), a, b)),
    fc.tuple(sub, sub, sub).map(([c, a, b]) => ir.select(c, a, b)),
    // a·b as a [1, 3]·[3, 1] product of broadcast rows (issue 11: a zero operand makes the product 0)
    fc
      .tuple(sub, sub)
      .map(([a, b]) =>
        ir.sum(ir.matmul(ir.reshape(ir.broadcastTo(a, [3]), [1, 3]), ir.reshape(ir.broadcastTo(b, [3]), [3, 1]))),
      ),
  );
};

// Points on a grid of 1/1000 in [−2, 2]: the rules are identities of real arithmetic, and a grid
// keeps sampling away from overflow (1/5e−324 = ∞), where float arithmetic is not real arithmetic.
const coordinate = fc.integer({ min: -2000, max: 2000 }).map((i) => i / 1000);
const point = fc.tuple(coordinate, coordinate, fc.array(coordinate, { minLength: 3, maxLength: 3 }));

function valueOf(root: Node, [px, py, pv]: [number, number, number[]]): Float64Array {
  return evaluate(
    [root],
    new Map<Node, ArrayLike<number>>([
      [x, [px]],
      [y, [py]],
      [v, pv],
    ]),
  )[0]!;
}

function close(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  return a.every((value, i) => {
    const other = b[i]!;
    // Where the original is undefined (0·∞ at a singular point) a simplified form may be defined.
    if (!Number.isFinite(value)) return true;
    return Math.abs(value - other) <= 1e-9 * Math.max(1, Math.abs(value), Math.abs(other));
  });
}

describe("simplify", () => {
  it("keeps the value of random expressions and of their gradients", () => {
    const fired = new Set<string>();
    fc.assert(
      fc.property(expression(4), point, (root, p) => {
        const rules: string[] = [];
        const gradient = gradients(ir.sum(ir.broadcastTo(root, [3])), [x, v]);
        const roots = [root, ...gradient];
        const simplified = simplify(roots, rules);
        rules.forEach((rule) => fired.add(rule));
        roots.forEach((original, i) => {
          expect(simplified[i]!.shape).toEqual(original.shape);
          const before = valueOf(original, p);
          const after = valueOf(simplified[i]!, p);
          if (!close(before, after)) throw new Error(`value changed: ${before} → ${after}`);
        });
      }),
      { numRuns: 400, seed: 20261122 },
    );
    // Rules that random scalar arithmetic should exercise; each must have been tested above.
    // (the scatter rule needs integer ids: test/ids.test.ts checks it; the matrix rules are tested below)
    const expected = rewriteRules
      .map((r) => r.name)
      .filter((name) => !/transpose|reshape|layout|scatter|matrix|examples/.test(name));
    const missing = expected.filter((name) => !fired.has(name));
    expect(missing).toEqual([]);
  });

  it("a product with a zero operand is zero: Aᵀ·0 (a stop-gradient's leftover) leaves no matmul", () => {
    const a = makeNode(Op.Param, [], { name: "sa", shape: [2, 3, 4] });
    const zero = ir.broadcastTo(ir.constant(0), [2, 3, 5]);
    const [product] = simplify([ir.matmul(ir.transpose(a, [0, 2, 1]), zero)]);
    expect(product).toBe(ir.broadcastTo(ir.constant(0), [2, 4, 5]));
  });

  it("products with a constant or zero matrix become sums, with the triple loop's values", () => {
    const A = makeNode(Op.Param, [], { name: "mA", shape: [2, 3] });
    const B = makeNode(Op.Param, [], { name: "mB", shape: [3, 4] });
    const column = makeNode(Op.Param, [], { name: "mC", shape: [2, 1] });
    const [a, b] = [
      [0.5, -1, 2, 3, 0.25, -4],
      [1, 2, 3, 4, -1, -2, -3, -4, 0.5, 1.5, 2.5, 3.5],
    ];
    const values = new Map<Node, ArrayLike<number>>([
      [A, a],
      [B, b],
      [column, [7, -3]],
    ]);
    /** Σₖ left[i,k]·right[k,j] written out, from the matrices' values (a product's definition). */
    const product = (left: number[], right: number[], m: number, k: number, n: number) =>
      Array.from({ length: m * n }, (_, at) => {
        let total = 0;
        for (let p = 0; p < k; p++) total += left[Math.floor(at / n) * k + p]! * right[p * n + (at % n)]!;
        return total;
      });
    const filled = (c: number, size: number) => Array<number>(size).fill(c);
    const cases: [Node, number[]][] = [
      [ir.matmul(ir.broadcastTo(ir.constant(2), [2, 3]), B), product(filled(2, 6), b, 2, 3, 4)],
      [ir.matmul(A, ir.broadcastTo(ir.constant(-0.5), [3, 4])), product(a, filled(-0.5, 12), 2, 3, 4)],
      [ir.matmul(column, ir.broadcastTo(ir.constant(1), [1, 4])), product([7, -3], filled(1, 4), 2, 1, 4)],
      [ir.matmul(ir.broadcastTo(ir.constant(1), [2, 3]), B), product(filled(1, 6), b, 2, 3, 4)],
      [ir.matmul(A, ir.broadcastTo(ir.constant(0), [3, 4])), filled(0, 8)],
      [ir.matmul(ir.broadcastTo(ir.constant(0), [2, 3]), B), filled(0, 8)],
    ];
    const fired: string[] = [];
    const simplified = simplify(
      cases.map(([node]) => node),
      fired,
    );
    cases.forEach(([node, expected], i) => {
      const after = simplified[i]!;
      expect(after.shape).toEqual(node.shape);
      // no product left: the simplified form is a sum or a constant
      const ops = new Set<Op>();
      const visit = (n: Node) => (ops.add(n.op), n.inputs.forEach(visit));
      visit(after);
      expect(ops.has(Op.MatMul)).toBe(false);
      const value = evaluate([after], values)[0]!;
      expected.forEach((e, j) => expect(value[j]).toBeCloseTo(e, 12));
    });
    expect(fired).toContain("product with a constant matrix");
    expect(fired).toContain("product with a zero operand");

    // (Aᵀ·B)ᵀ = Bᵀ·A: the transposes move onto the operands, one cancels
    const tall = makeNode(Op.Param, [], { name: "mT", shape: [3, 2] });
    const t = [1, -2, 0.5, 3, -1, 4];
    const tallT = [1, 0.5, -1, -2, 3, 4]; // tall transposed, [2, 3]
    const product23x34 = product(tallT, b, 2, 3, 4);
    const expected = Array.from({ length: 8 }, (_, at) => product23x34[(at % 2) * 4 + Math.floor(at / 2)]!);
    const rules: string[] = [];
    const [moved] = simplify([ir.transpose(ir.matmul(ir.transpose(tall), B))], rules);
    expect(rules).toContain("transpose of a product");
    expect(moved!.op).toBe(Op.MatMul);
    const value = evaluate(
      [moved!],
      new Map<Node, ArrayLike<number>>([
        [tall, t],
        [B, b],
      ]),
    )[0]!;
    expected.forEach((e, j) => expect(value[j]).toBeCloseTo(e, 12));
  });

  it("moves a transpose and a sum inside a sum over examples: (Σₑ Xₑᵀ·Yₑ)ᵀ = Σₑ Yₑᵀ·Xₑ, Σ_axis Σₑ Z = Σₑ Σ_axis Z", () => {
    // One example (the evaluator's Σₑ of one example is that example's value).
    const X = makeNode(Op.Input, [], { name: "eX", shape: [4, 2] });
    const Y = makeNode(Op.Input, [], { name: "eY", shape: [4, 3] });
    const Z = makeNode(Op.Input, [], { name: "eZ", shape: [2, 3] });
    const [xs, ys, zs] = [
      [1, -2, 0.5, 3, -1, 4, 2, 0.25],
      [0.5, 1, -1, 2, -3, 1.5, 4, 0, -2, 1, 1, -0.5],
      [1, 2, 3, -4, 5, -6],
    ];
    const leaves = new Map<Node, ArrayLike<number>>([
      [X, xs],
      [Y, ys],
      [Z, zs],
    ]);
    const rules: string[] = [];
    const [gradient, bias] = simplify(
      [ir.transpose(ir.batchSum(ir.matmul(ir.transpose(X), Y))), ir.sum(ir.batchSum(Z), [1])],
      rules,
    );
    expect(rules).toContain("transpose of a sum over examples of a product");
    expect(rules).toContain("sum of a sum over examples");
    expect([gradient!.op, gradient!.inputs[0]!.op]).toEqual([Op.BatchSum, Op.MatMul]);
    expect([bias!.op, bias!.inputs[0]!.op]).toEqual([Op.BatchSum, Op.Sum]);
    const [g, b] = evaluate([gradient!, bias!], leaves);
    // (Xᵀ·Y)ᵀ[j, i] = Σₚ X[p, i]·Y[p, j]; the row sums of Z
    for (let j = 0; j < 3; j++)
      for (let i = 0; i < 2; i++) {
        let total = 0;
        for (let p = 0; p < 4; p++) total += xs[p * 2 + i]! * ys[p * 3 + j]!;
        expect(g![j * 2 + i]).toBeCloseTo(total, 12);
      }
    expect(Array.from(b!)).toEqual([6, -5]);
  });

  it("removes +0, −0, ×1, ×0, /1 and 0/ when the constant is broadcast to a larger shape", () => {
    const zeros = ir.broadcastTo(ir.constant(0), [2, 3]);
    const ones = ir.broadcastTo(ir.constant(1), [2, 3]);
    const pv = [0.5, -2, 3];
    const cases: [Node, number[]][] = [
      [ir.add(v, zeros), [...pv, ...pv]],
      [ir.add(zeros, v), [...pv, ...pv]],
      [ir.sub(v, zeros), [...pv, ...pv]],
      [ir.sub(zeros, v), [...pv, ...pv].map((e) => -e)],
      [ir.mul(v, ones), [...pv, ...pv]],
      [ir.mul(ones, v), [...pv, ...pv]],
      [ir.mul(v, zeros), [0, 0, 0, 0, 0, 0]],
      [ir.div(v, ones), [...pv, ...pv]],
      [ir.div(zeros, v), [0, 0, 0, 0, 0, 0]],
    ];
    const simplified = simplify(cases.map(([node]) => node));
    cases.forEach(([node, expected], i) => {
      const after = simplified[i]!;
      expect(after.shape).toEqual(node.shape);
      const ops = new Set<Op>();
      const visit = (n: Node) => (ops.add(n.op), n.inputs.forEach(visit));
      visit(after);
      for (const op of [Op.Add, Op.Sub, Op.Mul, Op.Div]) expect(ops.has(op)).toBe(false);
      const value = evaluate([after], new Map<Node, ArrayLike<number>>([[v, pv]]))[0]!;
      expect([...value]).toEqual(expected);
    });
  });

  it("gives the canonical forms: x + x = 2x, x·x = x², x − x = 0, −−x = x, 3x − x = 2x", () => {
    const [double, square, zero, same, twice] = simplify([
      ir.add(x, x),
      ir.mul(x, x),
      ir.sub(x, x),
      ir.neg(ir.neg(x)),
      ir.sub(ir.mul(3, x), x),
    ]);
    expect(double).toBe(ir.mul(2, x));
    expect(square).toBe(ir.powConst(x, 2));
    expect(zero).toBe(ir.constant(0));
    expect(same).toBe(x);
    expect(twice).toBe(ir.mul(2, x));
  });

  it("shares forward and backward subexpressions after simplification (one σ node)", () => {
    const s = ir.sigmoid(ir.add(ir.mul(x, y), 1));
    const [value, dx] = simplify([s, gradients(s, [x])[0]!]);
    expect(value).toBe(s);
    const sigmoids = new Set<Node>();
    const visit = (node: Node) => {
      if (node.op === Op.Sigmoid) sigmoids.add(node);
      node.inputs.forEach(visit);
    };
    visit(dx!);
    expect([...sigmoids]).toEqual([s]);
  });
});
