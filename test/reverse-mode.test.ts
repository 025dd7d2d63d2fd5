// Reverse-mode differentiation on the IR: textbook values, the path-aggregation (DP) cost, higher order.
import { describe, expect, it } from "vitest";
import * as ir from "../src/ir/build.js";
import { makeNode, type Node } from "../src/ir/node.js";
import { Op } from "../src/ir/ops.js";
import { gradients } from "../src/grad/reverse.js";
import { simplify } from "../src/passes/simplify.js";
import { evaluate } from "../src/ir/evaluate.js";
import { reachableInOrder } from "../src/ir/graph.js";

let counter = 0;
/** A fresh scalar variable (a param, so it is shared rather than per example). */
function variable(name = `v${counter++}`): Node {
  return makeNode(Op.Param, [], { name, shape: [] });
}

function valueAt(root: Node, point: [Node, number][]): number {
  return evaluate([root], new Map(point.map(([node, v]) => [node, [v]])))[0]![0]!;
}

describe("reverse mode", () => {
  it("d = a·(a + b) at (4, 3): ∂d/∂a = 2a + b = 11, ∂d/∂b = a = 4", () => {
    const a = variable("a");
    const b = variable("b");
    const d = ir.mul(a, ir.add(a, b));
    const [da, db] = gradients(d, [a, b]);
    expect(
      valueAt(da!, [
        [a, 4],
        [b, 3],
      ]),
    ).toBe(11);
    expect(
      valueAt(db!, [
        [a, 4],
        [b, 3],
      ]),
    ).toBe(4);
  });

  /** Each level multiplies the previous node by itself: 2^depth paths from w to the top. */
  function doubling(w: Node, depth: number): Node {
    let node = w;
    for (let level = 0; level < depth; level++) node = ir.mul(node, node);
    return node;
  }

  it("the doubling graph: ∂w^(2^d)/∂w = 2^d·w^(2^d − 1) with work linear in depth, not in the 2^d paths", () => {
    const counts: number[] = [];
    for (let depth = 1; depth <= 12; depth++) {
      const w = variable();
      const top = doubling(w, depth);
      const [dw] = gradients(top, [w]);
      const graph = reachableInOrder([dw!]);
      counts.push(graph.length);
      if (depth === 5) {
        // 32·w^31 at w = 1.1, against the closed form
        expect(valueAt(dw!, [[w, 1.1]])).toBeCloseTo(32 * 1.1 ** 31, 8);
        const [simplified] = simplify([dw!]);
        expect(simplified!.op).toBe(Op.Mul);
        expect(simplified!.inputs[0]!.attrs.value).toBe(32);
        expect(simplified!.inputs[1]!.op).toBe(Op.PowConst);
        expect(simplified!.inputs[1]!.attrs.exponent).toBe(31);
        expect(simplified!.inputs[1]!.inputs[0]).toBe(w);
      }
    }
    // Each extra level adds the same, constant number of gradient nodes.
    const increments = counts.slice(1).map((count, i) => count - counts[i]!);
    expect(new Set(increments).size).toBe(1);
    expect(increments[0]).toBeLessThanOrEqual(4);
    expect(counts[11]).toBeLessThan(60); // 2^12 = 4096 paths
  });

  it("second derivative of σ is σ(1−σ)(1−2σ)", () => {
    const x = variable("x");
    const s = ir.sigmoid(x);
    const [ds] = gradients(s, [x]);
    const [dds] = gradients(ds!, [x]);
    for (const point of [-3, -0.5, 0, 0.7, 2.5]) {
      const sigma = 1 / (1 + Math.exp(-point));
      expect(valueAt(dds!, [[x, point]])).toBeCloseTo(sigma * (1 - sigma) * (1 - 2 * sigma), 12);
    }
  });

  it("σ′ reuses the forward σ node (σ(1−σ), not a fresh exp expression)", () => {
    const x = variable("x");
    const s = ir.sigmoid(x);
    const [ds] = simplify(gradients(s, [x]));
    expect(reachableInOrder([ds!]).filter((node) => node.op === Op.Sigmoid)).toEqual([s]);
    expect(reachableInOrder([ds!]).some((node) => node.op === Op.Exp)).toBe(false);
  });

  it("third derivative of sin is −cos", () => {
    const x = variable("x");
    let f = ir.sin(x);
    for (let order = 0; order < 3; order++) f = gradients(f, [x])[0]!;
    expect(valueAt(f, [[x, 0.3]])).toBeCloseTo(-Math.cos(0.3), 14);
  });
});
