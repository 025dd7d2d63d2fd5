// The TypeScript spelling of every elementwise op, one table keyed by op (a missing op is a type error).
// Apart from typescript.ts so the printer stays within the project's file size.

import { Op } from "../ir/ops.js";
import type { ElementwiseOp as ElementwiseOpName } from "../ir/scalar.js";
import { numberLiteral as literal } from "./module-spec.js";
import { typescriptFunction } from "../schedule/names.js";

/**
 * Math.max(a, b) and Math.min(a, b) exactly (NaN from either operand, max(+0, −0) = +0, min = −0),
 * without a branch on which operand wins: V8 compiles Math.max and `a > b ? a : b` to a branch that
 * a ReLU's or a pooling window's data mispredicts half the time (4–5× slower per element, measured
 * on the LeNet's activations). The operands go into two slots and the comparison, as 0 or 1, picks
 * one; equal operands (rare, and the ±0 case) take a branch that is almost never taken.
 */
export function maximumCode(a: string, b: string): string {
  const pick = typescriptFunction.pick;
  return `(${a} === ${b} ? (${a} === 0 ? ${a} + ${b} : ${a}) : ((${pick}[0] = ${b}), (${pick}[1] = ${a}), ${pick}[+(${a} > ${b}) | +(${a} !== ${a})]!))`;
}

export function minimumCode(a: string, b: string): string {
  const pick = typescriptFunction.pick;
  return `(${a} === ${b} ? (${a} === 0 ? -(-${a} - ${b}) : ${a}) : ((${pick}[0] = ${b}), (${pick}[1] = ${a}), ${pick}[+(${a} < ${b}) | +(${a} !== ${a})]!))`;
}

/** Each elementwise op as an expression over already-named operands (so every operand is a plain name). */
export const elementwiseCode: {
  readonly [K in ElementwiseOpName]: (args: readonly string[], exponent: number) => string;
} = {
  [Op.Neg]: ([x]) => `-${x}`,
  [Op.Exp]: ([x]) => `Math.exp(${x})`,
  [Op.Log]: ([x]) => `Math.log(${x})`,
  [Op.Sin]: ([x]) => `Math.sin(${x})`,
  [Op.Cos]: ([x]) => `Math.cos(${x})`,
  [Op.Sqrt]: ([x]) => `Math.sqrt(${x})`,
  [Op.Abs]: ([x]) => `Math.abs(${x})`,
  [Op.Sign]: ([x]) => `Math.sign(${x})`,
  [Op.Sigmoid]: ([x]) => `1 / (1 + Math.exp(-${x}))`,
  [Op.Tanh]: ([x]) => `Math.tanh(${x})`,
  // log(1 + eˣ) without overflow: x + log(1 + e⁻ˣ) for x > 0
  [Op.Softplus]: ([x]) => `(${x} > 0 ? ${x} + Math.log1p(Math.exp(-${x})) : Math.log1p(Math.exp(${x})))`,
  [Op.PowConst]: ([x], p) =>
    p === 2
      ? `${x} * ${x}`
      : p === 3
        ? `${x} * ${x} * ${x}`
        : p === -1
          ? `1 / ${x}`
          : p === 0.5
            ? `Math.sqrt(${x})`
            : `Math.pow(${x}, ${literal(p)})`,
  [Op.Add]: ([a, b]) => `${a} + ${b}`,
  [Op.Sub]: ([a, b]) => `${a} - ${b}`,
  [Op.Mul]: ([a, b]) => `${a} * ${b}`,
  [Op.Div]: ([a, b]) => `${a} / ${b}`,
  [Op.Maximum]: ([a, b]) => maximumCode(a!, b!),
  [Op.Minimum]: ([a, b]) => minimumCode(a!, b!),
  // 0 or 1 from the comparison itself: `a > b ? 1 : 0` is a branch, mispredicted on a ReLU's mask
  [Op.Greater]: ([a, b]) => `+(${a} > ${b})`,
  [Op.Equal]: ([a, b]) => `+(${a} === ${b})`,
  [Op.Select]: ([c, a, b]) => `(${c} !== 0 ? ${a} : ${b})`,
};
