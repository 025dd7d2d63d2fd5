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
    // (the scatter rule needs integer ids: test/ids.test.ts checks it)
    const expected = rewriteRules.map((r) => r.name).filter((name) => !/transpose|reshape|layout|scatter/.test(name));
    const missing = expected.filter((name) => !fired.has(name));
    expect(missing).toEqual([]);
  });

  it("a product with a zero operand is zero: Aᵀ·0 (a stop-gradient's leftover) leaves no matmul", () => {
    const a = makeNode(Op.Param, [], { name: "sa", shape: [2, 3, 4] });
    const zero = ir.broadcastTo(ir.constant(0), [2, 3, 5]);
    const [product] = simplify([ir.matmul(ir.transpose(a, [0, 2, 1]), zero)]);
    expect(product).toBe(ir.broadcastTo(ir.constant(0), [2, 4, 5]));
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
