// What each elementwise op computes on one element, as plain functions. Constant folding uses this
// table; the emitters have their own op tables that print the same math as code. Which ops are
// elementwise is ir/ops.ts's list (ElementwiseOp is derived from it).

import { Op, type ElementwiseOp } from "./ops.js";

export { isElementwiseOp, type ElementwiseOp } from "./ops.js";

/** `exponent` is PowConst's attribute; other ops ignore it. */
export const scalarFunctions: { readonly [K in ElementwiseOp]: (args: number[], exponent: number) => number } = {
  [Op.Neg]: ([x]) => -x!,
  [Op.Exp]: ([x]) => Math.exp(x!),
  [Op.Log]: ([x]) => Math.log(x!),
  [Op.Sin]: ([x]) => Math.sin(x!),
  [Op.Cos]: ([x]) => Math.cos(x!),
  [Op.Sqrt]: ([x]) => Math.sqrt(x!),
  [Op.Abs]: ([x]) => Math.abs(x!),
  [Op.Sign]: ([x]) => Math.sign(x!),
  [Op.Sigmoid]: ([x]) => 1 / (1 + Math.exp(-x!)),
  [Op.Tanh]: ([x]) => Math.tanh(x!),
  [Op.Softplus]: ([x]) => Math.max(x!, 0) + Math.log1p(Math.exp(-Math.abs(x!))),
  [Op.PowConst]: ([x], p) => Math.pow(x!, p),
  [Op.Add]: ([a, b]) => a! + b!,
  [Op.Sub]: ([a, b]) => a! - b!,
  [Op.Mul]: ([a, b]) => a! * b!,
  [Op.Div]: ([a, b]) => a! / b!,
  [Op.Maximum]: ([a, b]) => Math.max(a!, b!),
  [Op.Minimum]: ([a, b]) => Math.min(a!, b!),
  [Op.Greater]: ([a, b]) => (a! > b! ? 1 : 0),
  [Op.Equal]: ([a, b]) => (a! === b! ? 1 : 0),
  [Op.Select]: ([c, a, b]) => (c !== 0 ? a! : b!),
};
