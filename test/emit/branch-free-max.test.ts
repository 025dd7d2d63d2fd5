// The TypeScript emitter's branch-free maximum and minimum (a ReLU, a pooling window's max) compute
// exactly what Math.max and Math.min compute, special values included: NaN from either operand,
// max(+0, −0) = +0, min(+0, −0) = −0, infinities, equal operands.

import { describe, expect, it } from "vitest";
import { maximumCode, minimumCode } from "../../src/emit/typescript-ops.js";
import { typescriptFunction } from "../../src/schedule/names.js";

/** The emitted expression as a function of (a, b), its TypeScript non-null assertions dropped. */
function compiled(code: string): (a: number, b: number) => number {
  const body = `return ${code.replaceAll("]!", "]")};`;
  // eslint-disable-next-line no-new-func
  const f = new Function(typescriptFunction.pick, "a", "b", body) as (p: Float64Array, a: number, b: number) => number;
  const pick = new Float64Array(2);
  return (a, b) => f(pick, a, b);
}

const specials = [Number.NaN, 0, -0, 1, -1, 2.5, -3, 1e-300, -1e-300, 5e-324, Infinity, -Infinity, 3.4e38];

describe("branch-free maximum and minimum", () => {
  const maximum = compiled(maximumCode("a", "b"));
  const minimum = compiled(minimumCode("a", "b"));
  const literalZero = compiled(maximumCode("0", "b")); // a ReLU: maximum(0, x)

  it("agree with Math.max and Math.min on every pair of special values (Object.is: ±0 and NaN distinguished)", () => {
    for (const a of specials)
      for (const b of specials) {
        expect(Object.is(maximum(a, b), Math.max(a, b)), `max(${a}, ${b})`).toBe(true);
        expect(Object.is(minimum(a, b), Math.min(a, b)), `min(${a}, ${b})`).toBe(true);
        expect(Object.is(literalZero(0, b), Math.max(0, b)), `max(0, ${b})`).toBe(true);
      }
  });

  it("agree with Math.max and Math.min on random pairs, ties included", () => {
    let seed = 11;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed / 2147483648 - 0.5);
    for (let i = 0; i < 2000; i++) {
      const a = random();
      const b = i % 7 === 0 ? a : random();
      expect(maximum(a, b)).toBe(Math.max(a, b));
      expect(minimum(a, b)).toBe(Math.min(a, b));
    }
  });
});
