// Symbolic expressions for inspection: symbols, evaluate, and parse for expression strings.
// Expressions are Tensors, so everything the model DSL does (grad of any order included:
// src/dsl/grad.ts) works here, and every expression prints as text, LaTeX and in notebooks.

import { createRequire } from "node:module";
import type { MathNode } from "mathjs";
import { GradgenError } from "../errors.js";
import * as ir from "../ir/build.js";
import { evaluate as evaluateGraph } from "../ir/evaluate.js";
import { reachableInOrder } from "../ir/graph.js";
import { makeNode, type Node } from "../ir/node.js";
import { Op } from "../ir/ops.js";
import type { Shape } from "../ir/shape.js";
import { Tensor } from "../dsl/tensor.js";

const identifier = /^[A-Za-z_$α-ωΑ-Ω][A-Za-z0-9_$α-ωΑ-Ω]*$/u;

/** One symbol: a scalar, or a small tensor with `shape`. The same name and shape is the same symbol. */
export function symbol(name: string, shape: Shape = []): Tensor {
  if (!identifier.test(name))
    throw new GradgenError(
      `symbol name ${JSON.stringify(name)} is not an identifier (letters, digits, _; not starting with a digit).`,
    );
  return new Tensor(makeNode(Op.Param, [], { name, shape: [...shape] }));
}

/** One Tensor per name of a space- or comma-separated list, as a tuple when the list is a literal. */
type SymbolList<S extends string> = string extends S
  ? Tensor[]
  : S extends `${infer Head}${" " | ","}${infer Rest}`
    ? Head extends ""
      ? SymbolList<Rest>
      : [Tensor, ...SymbolList<Rest>]
    : S extends ""
      ? []
      : [Tensor];

/** Symbols from a space- or comma-separated list: `const [x, y, z] = symbols("x y z")`. */
export function symbols<const S extends string>(names: S, shape: Shape = []): SymbolList<S> {
  return names
    .split(/[\s,]+/)
    .filter((n) => n.length > 0)
    .map((n) => symbol(n, shape)) as SymbolList<S>;
}

export type Value = number | readonly number[] | ArrayLike<number>;

/** The leaves (symbols, inputs, parameters) an expression depends on, by name. */
function freeSymbols(...expressions: Tensor[]): Map<string, Node> {
  const leaves = new Map<string, Node>();
  for (const node of reachableInOrder(expressions.map((e) => e.node))) {
    if ((node.op === Op.Param || node.op === Op.Input) && node.attrs.name !== undefined)
      leaves.set(node.attrs.name, node);
  }
  return leaves;
}

/** The value of `f` (f64) with symbols given by name: a number for a scalar, else a Float64Array (row-major). */
export function evaluate(f: Tensor, values: Readonly<Record<string, Value>>): number | Float64Array {
  const leaves = new Map<Node, ArrayLike<number>>();
  for (const [name, node] of freeSymbols(f)) {
    const value = values[name];
    if (value === undefined)
      throw new GradgenError(
        `evaluate: no value for "${name}"; pass { ${name}: ${node.shape.length === 0 ? "1.5" : "[…]"} }.`,
      );
    const array = typeof value === "number" ? [value] : value;
    if (array.length !== node.size)
      throw new GradgenError(
        `evaluate: "${name}" has shape [${node.shape.join(", ")}] (${node.size} values), got ${array.length}.`,
      );
    leaves.set(node, array);
  }
  const [result] = evaluateGraph([f.node], leaves);
  return f.shape.length === 0 ? result![0]! : result!;
}

// ── parse: math.js's parser as the front end (loaded on first use: it is large) ─────────────────

type MathJs = typeof import("mathjs");
let mathjs: MathJs | undefined;

/** math.js, loaded on first use (never on the compile path). */
export function loadMathJs(): MathJs {
  mathjs ??= createRequire(import.meta.url)("mathjs") as MathJs;
  return mathjs;
}

const functions: Readonly<Record<string, (args: Node[]) => Node>> = {
  exp: ([x]) => ir.exp(x!),
  log: ([x]) => ir.log(x!),
  ln: ([x]) => ir.log(x!),
  sin: ([x]) => ir.sin(x!),
  cos: ([x]) => ir.cos(x!),
  tan: ([x]) => ir.div(ir.sin(x!), ir.cos(x!)),
  tanh: ([x]) => ir.tanh(x!),
  sqrt: ([x]) => ir.sqrt(x!),
  abs: ([x]) => ir.abs(x!),
  sign: ([x]) => ir.sign(x!),
  sigmoid: ([x]) => ir.sigmoid(x!),
  σ: ([x]) => ir.sigmoid(x!),
  softplus: ([x]) => ir.softplus(x!),
  relu: ([x]) => ir.maximum(x!, 0),
  square: ([x]) => ir.powConst(x!, 2),
  max: ([a, b]) => ir.maximum(a!, b!),
  min: ([a, b]) => ir.minimum(a!, b!),
  pow: ([a, b]) => power(a!, b!),
  cube: ([x]) => ir.powConst(x!, 3),
};

function power(base: Node, exponent: Node): Node {
  if (exponent.op === Op.Const) return ir.powConst(base, exponent.attrs.value!);
  return ir.exp(ir.mul(exponent, ir.log(base))); // a^b = e^(b·log a), for a > 0
}

/**
 * An expression from a string in math.js syntax: `parse("1/(1+exp(-(w0*x0+w1*x1+w2)))")`.
 * Names become scalar symbols (or the tensors given in `scope`); `e` and `pi` are constants.
 */
export function parse(text: string, scope: Readonly<Record<string, Tensor>> = {}): Tensor {
  const math = loadMathJs();
  let tree: MathNode;
  try {
    tree = math.parse(text);
  } catch (error) {
    throw new GradgenError(`parse: ${(error as Error).message} in ${JSON.stringify(text)}.`);
  }
  const convert = (node: MathNode): Node => {
    const n = node as MathNode & {
      fn?: string | MathNode;
      op?: string;
      args?: MathNode[];
      content?: MathNode;
      value?: unknown;
      name?: string;
    };
    switch (node.type) {
      case "ConstantNode":
        if (typeof n.value !== "number")
          throw new GradgenError(`parse: only numbers are supported as constants, got ${JSON.stringify(n.value)}.`);
        return ir.constant(n.value);
      case "SymbolNode": {
        const name = n.name!;
        if (scope[name]) return scope[name]!.node;
        if (name === "e") return ir.constant(Math.E);
        if (name === "pi") return ir.constant(Math.PI);
        return symbol(name).node;
      }
      case "ParenthesisNode":
        return convert(n.content!);
      case "OperatorNode": {
        const args = n.args!.map(convert);
        const [a, b] = args;
        switch (n.fn) {
          case "add":
            return ir.add(a!, b!);
          case "subtract":
            return ir.sub(a!, b!);
          case "multiply":
            return ir.mul(a!, b!);
          case "divide":
            return ir.div(a!, b!);
          case "pow":
            return power(a!, b!);
          case "unaryMinus":
            return ir.neg(a!);
          case "unaryPlus":
            return a!;
          default:
            throw new GradgenError(`parse: the operator ${n.op} is not supported (use + − * / ^).`);
        }
      }
      case "FunctionNode": {
        const name = typeof n.fn === "string" ? n.fn : ((n.fn as { name?: string }).name ?? "");
        const f = functions[name];
        if (!f)
          throw new GradgenError(`parse: unknown function ${name}(); known: ${Object.keys(functions).join(", ")}.`);
        return f(n.args!.map(convert));
      }
      default:
        throw new GradgenError(`parse: ${node.type} is not supported in ${JSON.stringify(text)}.`);
    }
  };
  return new Tensor(convert(tree));
}
