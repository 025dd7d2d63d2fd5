// The two dialects expressions print in, text and LaTeX: every spelling decision (names, numbers,
// operators, function names from op-names.ts, parentheses) is made here; format.ts decides layout.

import type { Op } from "../ir/ops.js";
import { formatNumber, superscript, texName } from "./names.js";
import { opNames } from "./op-names.js";

/** Binding strength of printed text: a part is parenthesised where it binds less than its place needs. */
export const Prec = { Sum: 1, Product: 2, Unary: 3, Power: 4, Atom: 5 } as const;

export interface Text {
  readonly s: string;
  readonly prec: number;
}

// ── dialects ───────────────────────────────────────────────────────────────────────────────────

export interface Dialect {
  readonly name: (name: string) => string;
  readonly number: (value: number) => string;
  readonly paren: (s: string) => string;
  readonly minus: string;
  readonly plus: string;
  readonly subtract: string;
  /** Separator between two factors; `tensors` when both sides are non-scalar (elementwise ⊙). */
  readonly times: (left: string, right: string, tensors: boolean) => string;
  readonly quotient: (num: Text, den: Text) => Text;
  readonly power: (base: Text, exponent: number) => string;
  readonly call: (fn: string, args: readonly string[]) => string;
  /** f²(u) for a small integer power of a named function, if the dialect writes it that way. */
  readonly callPower: (fn: string, arg: string, exponent: number) => string;
  readonly functionName: (op: Op) => string;
  readonly exp: (arg: Text) => Text;
  readonly sqrt: (arg: string) => string;
  readonly abs: (arg: string) => string;
  readonly transpose: (arg: Text) => string;
  readonly sum: (arg: Text, axes: string | undefined) => string;
  readonly batchSum: (arg: Text) => string;
  readonly batchSize: string;
  readonly compare: (a: string, relation: ">" | "=", b: string) => string;
  readonly select: (condition: string, a: string, b: string) => string;
  readonly matmul: string;
}

export const textDialect: Dialect = {
  name: (name) => name,
  number: formatNumber,
  paren: (s) => `(${s})`,
  minus: "−",
  plus: " + ",
  subtract: " − ",
  times: (left, right, tensors) => `${left}${tensors ? " ⊙ " : "·"}${right}`,
  quotient: (num, den) => ({
    s: `${wrap(textDialect, num, Prec.Product)}/${wrap(textDialect, den, Prec.Power)}`,
    prec: Prec.Product,
  }),
  power: (base, exponent) =>
    `${wrap(textDialect, base, Prec.Atom)}^${exponent < 0 ? `(−${formatNumber(-exponent)})` : formatNumber(exponent)}`,
  call: (fn, args) => `${fn}(${args.join(", ")})`,
  callPower: (fn, arg, exponent) => `${fn}${superscript(exponent)}(${arg})`,
  functionName: (op) => opNames[op].text,
  exp: (arg) => ({ s: `exp(${arg.s})`, prec: Prec.Atom }),
  sqrt: (arg) => `√(${arg})`,
  abs: (arg) => `|${arg}|`,
  transpose: (arg) => `${wrap(textDialect, arg, Prec.Atom)}ᵀ`,
  sum: (arg, axes) => `Σ${axes ? `[${axes}]` : ""}${wrap(textDialect, arg, Prec.Atom)}`,
  batchSum: (arg) => `Σₙ${wrap(textDialect, arg, Prec.Atom)}`,
  batchSize: "n",
  compare: (a, relation, b) => `[${a} ${relation} ${b}]`,
  select: (condition, a, b) => `(${condition} ? ${a} : ${b})`,
  matmul: "·",
};

const texParen = (s: string): string => `\\left(${s}\\right)`;

export const texDialect: Dialect = {
  name: texName,
  number: (value) =>
    formatNumber(value)
      .replace("Infinity", "\\infty")
      .replace(/e([+-]\d+)$/, (_, e: string) => ` \\times 10^{${Number(e)}}`),
  paren: texParen,
  minus: "-",
  plus: " + ",
  subtract: " - ",
  // juxtaposition, except where digits would run together
  times: (left, right, tensors) =>
    tensors ? `${left} \\odot ${right}` : /^[\d.]/.test(right) ? `${left} \\cdot ${right}` : `${left} ${right}`,
  quotient: (num, den) => ({ s: `\\frac{${num.s}}{${den.s}}`, prec: Prec.Power }),
  power: (base, exponent) => `${wrap(texDialect, base, Prec.Atom)}^{${formatNumber(exponent)}}`,
  call: (fn, args) => `${fn}${texParen(args.join(", "))}`,
  callPower: (fn, arg, exponent) => `${fn}^{${exponent}}${texParen(arg)}`,
  functionName: (op) => opNames[op].tex,
  exp: (arg) => ({ s: `e^{${arg.s}}`, prec: Prec.Power }),
  sqrt: (arg) => `\\sqrt{${arg}}`,
  abs: (arg) => `\\left|${arg}\\right|`,
  transpose: (arg) => `${wrap(texDialect, arg, Prec.Atom)}^{\\top}`,
  sum: (arg, axes) => `\\sum${axes ? `_{\\text{axis } ${axes}}` : ""} ${wrap(texDialect, arg, Prec.Atom)}`,
  batchSum: (arg) => `\\sum_{n} ${wrap(texDialect, arg, Prec.Atom)}`,
  batchSize: "n",
  compare: (a, relation, b) => `\\left[${a} ${relation} ${b}\\right]`,
  select: (condition, a, b) =>
    `\\begin{cases} ${a} & \\text{if } ${condition} \\\\ ${b} & \\text{otherwise} \\end{cases}`,
  matmul: " ",
};

export function wrap(dialect: Dialect, r: Text, atLeast: number): string {
  return r.prec >= atLeast ? r.s : dialect.paren(r.s);
}
