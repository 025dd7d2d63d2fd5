// The path view of reverse mode: ∂f/∂w is the sum, over every path w → f, of the product of the
// local derivatives on its wires. paths(f, w) lists them for small graphs, adds them up, and sets
// the count against the dynamic programme of reverse.ts, which shares the common suffixes of the
// paths (one multiplication per wire, one addition per extra consumer) instead of enumerating them.

import { add, constant, mul } from "../ir/build.js";
import { evaluate as evaluateGraph } from "../ir/evaluate.js";
import type { Node } from "../ir/node.js";
import { Op } from "../ir/ops.js";
import { derivativeRules } from "../grad/rules.js";
import { gradients } from "../grad/reverse.js";
import { simplify } from "../passes/simplify.js";
import { GradgenError } from "../errors.js";
import type { Tensor } from "../dsl/tensor.js";
import { formatBoth, joinText } from "../print/format.js";
import { texName } from "../print/names.js";
import { latexMime, type MimeBundle } from "../print/expression.js";
import { inspectText } from "../print/notebook.js";

export interface Path {
  /** The values along the path, from w to f, as text. */
  readonly through: readonly string[];
  /** Local derivatives ∂(next)/∂(this) along the path, as text. */
  readonly factors: readonly string[];
  readonly product: Node;
  /** The product at the given point, when values were given. */
  readonly value?: number;
}

export interface PathOptions {
  readonly values?: Readonly<Record<string, number>>;
  /** List at most this many paths (all are counted). Default 64. */
  readonly limit?: number;
}

function skipLayout(node: Node): Node {
  while (node.op === Op.Broadcast || node.op === Op.Reshape) node = node.inputs[0]!;
  return node;
}

const nameOf = (node: Node): string | undefined =>
  node.op === Op.Param || node.op === Op.Input ? node.attrs.name : undefined;

export class PathReport {
  readonly paths: readonly Path[];
  /** Number of paths from w to f (counted, not enumerated). */
  readonly count: bigint;
  /** Σ over the listed paths of their products (all paths, when count ≤ limit). */
  readonly sum: Node;
  /** The dynamic-programming result ∂f/∂w, simplified. */
  readonly gradient: Node;
  /** Multiplications and additions the path sum takes: Σ (length − 1) + (count − 1). */
  readonly pathOperations: bigint;
  /** Multiplications and additions reverse mode takes: one per wire, plus one per extra consumer. */
  readonly dpOperations: number;
  readonly sumValue?: number;
  readonly gradientValue?: number;

  constructor(
    readonly f: Node,
    readonly wrt: Node,
    options: PathOptions = {},
  ) {
    const limit = options.limit ?? 64;
    const root = skipLayout(f);
    if (root.shape.length !== 0)
      throw new GradgenError(`paths: f must be a scalar, got shape [${root.shape.join(", ")}].`);
    // nodes between wrt and f, and their consumers (one entry per operand slot)
    const between = new Set<Node>([wrt]);
    const order: Node[] = [];
    const seen = new Set<Node>();
    const visit = (node: Node): void => {
      if (seen.has(node)) return;
      seen.add(node);
      for (const input of node.inputs) visit(skipLayout(input));
      order.push(node);
    };
    visit(root);
    for (const node of order) if (node.inputs.some((input) => between.has(skipLayout(input)))) between.add(node);
    if (!between.has(root)) throw new GradgenError(`paths: f does not depend on ${nameOf(wrt) ?? "the variable"}.`);
    const consumers = new Map<Node, { node: Node; slot: number }[]>();
    let wires = 0;
    for (const node of order) {
      if (!between.has(node)) continue;
      node.inputs.forEach((input, slot) => {
        const source = skipLayout(input);
        if (!between.has(source)) return;
        wires++;
        consumers.set(source, [...(consumers.get(source) ?? []), { node, slot }]);
      });
    }
    const extraConsumers = [...consumers.values()].reduce((n, list) => n + Math.max(0, list.length - 1), 0);
    this.dpOperations = wires + extraConsumers;

    // path counts and total lengths by DP from the top
    const countFrom = new Map<Node, bigint>([[root, 1n]]);
    const lengthFrom = new Map<Node, bigint>([[root, 0n]]); // Σ over paths from here of their lengths
    for (const node of [...order].reverse()) {
      if (node === root || !between.has(node)) continue;
      let count = 0n;
      let length = 0n;
      for (const { node: next } of consumers.get(node) ?? []) {
        count += countFrom.get(next) ?? 0n;
        length += (lengthFrom.get(next) ?? 0n) + (countFrom.get(next) ?? 0n);
      }
      countFrom.set(node, count);
      lengthFrom.set(node, length);
    }
    this.count = countFrom.get(wrt) ?? 0n;
    const totalLength = lengthFrom.get(wrt) ?? 0n;
    this.pathOperations = totalLength - this.count + (this.count > 0n ? this.count - 1n : 0n);

    const local = (node: Node, slot: number): Node => {
      const parts = derivativeRules[node.op]({ inputs: node.inputs, out: node, adjoint: constant(1) });
      return simplify([parts[slot] ?? constant(0)])[0]!;
    };
    const leaves = new Map<Node, ArrayLike<number>>();
    if (options.values) {
      for (const node of order) {
        const name = nameOf(node);
        if (name !== undefined && options.values[name] !== undefined) leaves.set(node, [options.values[name]!]);
      }
    }
    const valueOf = (node: Node): number | undefined =>
      options.values ? evaluateGraph([node], leaves)[0]![0] : undefined;
    const short = (node: Node): string => joinText(formatBoth([node]).text).replace(/\n/g, "; ");

    const paths: Path[] = [];
    const walk = (node: Node, through: Node[], factors: Node[]): void => {
      if (paths.length >= limit) return;
      if (node === root) {
        const product = simplify([factors.reduce((p, q) => mul(p, q), constant(1) as Node)])[0]!;
        paths.push({
          through: through.map((n) => nameOf(n) ?? short(n)),
          factors: factors.map(short),
          product,
          value: valueOf(product),
        });
        return;
      }
      for (const { node: next, slot } of consumers.get(node) ?? [])
        walk(next, [...through, next], [...factors, local(next, slot)]);
    };
    walk(wrt, [wrt], []);
    this.paths = paths;
    this.sum = simplify([paths.map((p) => p.product).reduce((a, b) => add(a, b), constant(0) as Node)])[0]!;
    this.gradient = simplify(gradients(root, [wrt]))[0]!;
    this.sumValue = valueOf(this.sum);
    this.gradientValue = valueOf(this.gradient);
  }

  get complete(): boolean {
    return BigInt(this.paths.length) === this.count;
  }

  toString(): string {
    const w = nameOf(this.wrt) ?? "w";
    const lines = [`${this.count} path(s) from ${w} to f:`];
    this.paths.forEach((path, i) => {
      const value = path.value !== undefined ? ` = ${Number(path.value.toPrecision(6))}` : "";
      lines.push(`  ${i + 1}. ${path.through.join(" → ")}: ${path.factors.join(" · ") || "1"}${value}`);
    });
    if (!this.complete) lines.push(`  … (${this.count - BigInt(this.paths.length)} more not listed)`);
    const sum = joinText(formatBoth([this.sum]).text).replace(/\n/g, "; ");
    const gradient = joinText(formatBoth([this.gradient]).text).replace(/\n/g, "; ");
    lines.push(
      `sum over ${this.complete ? "all" : "the listed"} paths: ${sum}${this.sumValue !== undefined ? ` = ${Number(this.sumValue.toPrecision(6))}` : ""}`,
    );
    lines.push(
      `reverse mode (DP):  ${gradient}${this.gradientValue !== undefined ? ` = ${Number(this.gradientValue.toPrecision(6))}` : ""}`,
    );
    lines.push(`operations: path sum ${this.pathOperations} vs DP ${this.dpOperations} (${this.count} paths)`);
    return lines.join("\n");
  }

  toTex(): string {
    const w = texName(nameOf(this.wrt) ?? "w");
    // the path products and the gradient printed together, so temporaries they share are defined once
    const { tex } = formatBoth([...this.paths.map((p) => p.product), this.gradient], { inlineLimit: 1000 });
    const terms = tex.results.slice(0, -1).join(" + ");
    const gradient = tex.results[tex.results.length - 1]!;
    const equation = `\\underbrace{${terms || "0"}}_{${this.count}\\ \\text{paths}} = ${gradient}`;
    const label = `\\frac{\\partial f}{\\partial ${w}}`;
    if (tex.definitions.length === 0) return `${label} = ${equation}`;
    const lines = [...tex.definitions.map((d) => `${d.name} &= ${d.body}`), `${label} &= ${equation}`];
    return `\\begin{aligned}\n${lines.join(" \\\\\n")}\n\\end{aligned}`;
  }

  toMimeBundle(): MimeBundle {
    return { "text/plain": this.toString(), "text/latex": latexMime(this.toTex()) };
  }

  [Symbol.for("Jupyter.display")](): MimeBundle {
    return this.toMimeBundle();
  }
  [Symbol.for("nodejs.util.inspect.custom")](depth: number, options: { depth?: number | null }): string {
    return inspectText(this, depth, options);
  }
}

/** The paths from `wrt` to the scalar `f`, their local-derivative products, and their sum. */
export function paths(f: Tensor, wrt: Tensor, options: PathOptions = {}): PathReport {
  return new PathReport(f.node, skipLayout(wrt.node), options);
}
