// Expressions as text and LaTeX. The DAG is printed once: a subexpression used more than once is
// printed as a named temporary (t1 = …, or δ1 = … when it is an adjoint ∂f/∂v) unless its text is
// short, so the output is linear in the graph, never the exponential tree (CasADi's @1 style).
// Sums and products are flattened and put in a reading order (coefficient, variables, then
// compound factors; terms by degree, then alphabetically; subtracted terms last), and a few
// patterns print the way the lectures write them: exp(z − logΣexp z) is softmax(z), a power of a
// function is tanh²(u), ⊙ marks elementwise products of tensors, ᵀ transposes.
//
// A long chain of adjoints prints as the lectures' δ recurrence; layout ops print where they change
// what the text means (layout.ts), and every printed equation reports the shape its text stands
// for, so tests can hold the printer to shape-correct equations. Rendering is iterative and each
// node is rendered once, so printing is linear and has no recursion-depth limit.
//
// One layout is decided with the text form and shared by the LaTeX form, so both name the same
// temporaries and order terms the same way. Every op has a printing rule (the switch is exhaustive,
// in printer.ts, which renders a layout decided here).

import * as ir from "../ir/build.js";
import { reachableInOrder } from "../ir/graph.js";
import type { Node } from "../ir/node.js";
import { Op } from "../ir/ops.js";
import type { Shape } from "../ir/shape.js";
import { simplify } from "../passes/simplify.js";
import { expandedForm } from "./algebra.js";
import { see } from "./layout.js";
import { texDialect, textDialect, type Dialect } from "./dialect.js";
import { displayChildren, displayOrder, isLeaf } from "./display-order.js";
import { Printer, type Plan } from "./printer.js";

export interface FormatOptions {
  /** Simplify before printing (default true). */
  readonly simplify?: boolean;
  /** Nodes that print as a given name; non-leaf ones get a definition line. */
  readonly names?: ReadonlyMap<Node, string>;
  /** Nodes already defined elsewhere (an earlier block of equations): printed by name, not defined again. */
  readonly known?: ReadonlyMap<Node, string>;
  /** Adjoint nodes ∂f/∂v: when one becomes a temporary it is called δk instead of tk. */
  readonly adjoints?: ReadonlySet<Node>;
  /** Names temporaries must not take (δ3 when a third layer's δ is not printed). */
  readonly reserved?: Iterable<string>;
  /** Shared subexpressions whose text is at most this long are repeated instead of named (default 12). */
  readonly inlineLimit?: number;
}

export interface Definition {
  /** The name as printed (LaTeX in the LaTeX form). */
  readonly name: string;
  /** The name as text. */
  readonly label: string;
  readonly body: string;
  /** The node this line defines (as given, before display rewrites). */
  readonly node: Node;
  /** The shape the printed body stands for, read from the printed text (null: none). */
  readonly shape: Shape | null;
}

/** Definitions (temporaries and named values, in dependency order) and one body per root. */
export interface Formatted {
  readonly definitions: readonly Definition[];
  readonly results: readonly string[];
  /** The shape each printed result stands for. */
  readonly resultShapes: readonly (Shape | null)[];
}

// ── display rewrites: products of sums of quotients print expanded when shorter ────────────────

/**
 * The roots with each product that expandedForm() shortens replaced (consumers rebuilt), and the map
 * from every node to the node it prints as.
 */
function rewriteForDisplay(roots: readonly Node[]): { roots: Node[]; shown: Map<Node, Node> } {
  const shown = new Map<Node, Node>();
  for (const node of reachableInOrder(roots)) {
    const rebuilt = ir.rebuild(
      node,
      node.inputs.map((input) => shown.get(input) ?? input),
    );
    shown.set(node, expandedForm(rebuilt) ?? rebuilt);
  }
  return { roots: roots.map((root) => shown.get(root) ?? root), shown };
}

// ── layout: which shared subexpressions become temporaries ─────────────────────────────────────

const productOps = new Set<Op>([Op.Mul, Op.Div, Op.Neg]);
const sumOps = new Set<Op>([Op.Add, Op.Sub, Op.Neg]);

/**
 * Whether the printer flattens `node` into `consumer` (a term of a sum or a factor of a product)
 * wherever `consumer` prints, so `node` never prints on its own (the Printer's terms() and
 * collect() go through exactly these).
 */
function flattensInto(node: Node, consumer: Node): boolean {
  if (node.op === Op.Neg) return productOps.has(consumer.op) || sumOps.has(consumer.op);
  if (node.op === Op.Mul || node.op === Op.Div || node.op === Op.PowConst) {
    return productOps.has(consumer.op) || consumer.op === Op.Add || consumer.op === Op.Sub;
  }
  if (node.op === Op.Add || node.op === Op.Sub) return consumer.op === Op.Add || consumer.op === Op.Sub;
  return false;
}

function makePlan(roots: readonly Node[], options: FormatOptions): { plan: Plan; text: Printer } {
  // operands first, so simplify's own recursion stays shallow on deep graphs (a 20,000-term sum)
  if (options.simplify ?? true) for (const node of reachableInOrder(roots)) simplify([node]);
  const simplified = (options.simplify ?? true) ? simplify(roots) : [...roots];
  const { roots: shown, shown: shownAs } = rewriteForDisplay(simplified);
  // names are given for nodes as built; printing sees their simplified, rewritten forms
  const simplifiedOf = (node: Node): Node => ((options.simplify ?? true) ? simplify([node])[0]! : node);
  const normal = (node: Node): Node =>
    see(shownAs.get(see(simplifiedOf(node))) ?? shownAs.get(simplifiedOf(node)) ?? simplifiedOf(node));
  const names = new Map<Node, string>();
  const original = new Map<Node, Node>();
  for (const [node, name] of options.names ?? []) {
    const n = normal(node);
    names.set(n, name);
    if (!original.has(n)) original.set(n, node);
  }
  const known = new Set<Node>();
  for (const [node, name] of options.known ?? []) {
    const n = normal(node);
    names.set(n, name);
    known.add(n);
  }
  for (const [before, after] of shownAs) if (!original.has(see(after))) original.set(see(after), see(before));
  const adjoints = new Set([...(options.adjoints ?? [])].map(normal));
  const order = displayOrder(shown);
  const uses = new Map<Node, number>();
  const consumerOf = new Map<Node, Node>();
  for (const root of shown) uses.set(see(root), (uses.get(see(root)) ?? 0) + 1);
  for (const node of order) {
    for (const child of displayChildren(node)) {
      uses.set(child, (uses.get(child) ?? 0) + 1);
      consumerOf.set(child, node);
    }
  }

  const absorbed = new Set<Node>();
  const plan: Plan = { roots: shown.map(see), names, definitions: [], order, absorbed, original, adjoints };
  const text = new Printer(plan, textDialect);
  const limit = options.inlineLimit ?? 12;
  const taken = new Set([...names.values(), ...(options.reserved ?? [])]);
  const counters = { t: 0, δ: 0 };
  const fresh = (prefix: "t" | "δ"): string => {
    let name: string;
    do name = `${prefix}${++counters[prefix]}`;
    while (taken.has(name));
    taken.add(name);
    return name;
  };
  const isRoot = new Set(plan.roots);
  // A chain of adjoints, each a product with the next (∂f/∂sₖ = ∂f/∂sₖ₊₁·σ′(sₖ₊₁) for nested
  // sigmoids), prints as the lectures' δ recurrence, one line per link, instead of one long product,
  // once it has at least `minChain` links.
  const minChain = 3;
  const member = (node: Node): boolean =>
    adjoints.has(node) && productOps.has(node.op) && uses.get(node) === 1 && !isRoot.has(node) && !names.has(node);
  const depth = new Map<Node, number>();
  for (const node of order) {
    if (member(node)) depth.set(node, 1 + Math.max(0, ...displayChildren(node).map((child) => depth.get(child) ?? 0)));
  }
  const chain = new Map<Node, number>();
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i]!;
    if (!depth.has(node)) continue;
    const consumer = consumerOf.get(node)!;
    chain.set(node, chain.get(consumer) ?? depth.get(node)!);
  }
  for (const node of order) {
    if (isLeaf(node)) continue;
    if (names.has(node)) {
      if (!known.has(node)) plan.definitions.push(node);
      continue;
    }
    const used = uses.get(node) ?? 0;
    const consumer = consumerOf.get(node);
    if ((chain.get(node) ?? 0) >= minChain && consumer !== undefined && productOps.has(consumer.op)) {
      names.set(node, fresh("δ"));
      plan.definitions.push(node);
      continue;
    }
    if (used < 2) {
      if (used === 1 && !isRoot.has(node) && consumer !== undefined && flattensInto(node, consumer)) absorbed.add(node);
      continue;
    }
    // A shared subexpression is repeated inline only when it is short and applies one op to leaves
    // (σ(x), w·x), so chains such as σ(σ(σ(w))) get one temporary per level.
    if (displayChildren(node).every(isLeaf) && text.body(node).s.length <= limit) continue;
    names.set(node, fresh(adjoints.has(node) ? "δ" : "t"));
    plan.definitions.push(node);
  }
  return { plan, text };
}

function formatWith(roots: readonly Node[], options: FormatOptions): { text: Formatted; tex: Formatted } {
  const { plan, text } = makePlan(roots, options);
  text.warm();
  const tex = new Printer(plan, texDialect, (node) => text.ref(node).s);
  tex.warm();
  const output = (printer: Printer, dialect: Dialect): Formatted => {
    const results = plan.roots.map((root) =>
      plan.names.has(root) && !isLeaf(root) ? printer.ref(root) : printer.body(root),
    );
    return {
      definitions: plan.definitions.map((node) => {
        const body = printer.defined(node);
        return {
          name: dialect.name(plan.names.get(node)!),
          label: plan.names.get(node)!,
          body: body.s,
          node: plan.original.get(node) ?? node,
          shape: body.shape,
        };
      }),
      results: results.map((r) => r.s),
      resultShapes: results.map((r) => r.shape),
    };
  };
  return { text: output(text, textDialect), tex: output(tex, texDialect) };
}

export function formatText(roots: readonly Node[], options: FormatOptions = {}): Formatted {
  return formatWith(roots, options).text;
}

export function formatBoth(roots: readonly Node[], options: FormatOptions = {}): { text: Formatted; tex: Formatted } {
  return formatWith(roots, options);
}

/** One string: definitions first (`t1 = …`), then each root, as `label = …` when labelled. */
export function joinText(formatted: Formatted, labels: readonly (string | undefined)[] = []): string {
  const lines = formatted.definitions.map((d) => `${d.name} = ${d.body}`);
  formatted.results.forEach((r, i) => {
    if (isDefinedName(formatted, r, labels[i])) return; // a named root is its definition line
    lines.push(labels[i] ? `${labels[i]} = ${r}` : r);
  });
  return lines.join("\n");
}

/** LaTeX without delimiters; with definitions or several roots, an aligned block. */
export function joinTex(formatted: Formatted, labels: readonly (string | undefined)[] = []): string {
  if (formatted.definitions.length === 0 && formatted.results.length === 1) {
    return labels[0] ? `${labels[0]} = ${formatted.results[0]}` : formatted.results[0]!;
  }
  const lines = formatted.definitions.map((d) => `${d.name} &= ${d.body}`);
  formatted.results.forEach((r, i) => {
    if (isDefinedName(formatted, r, labels[i])) return;
    lines.push(labels[i] ? `${labels[i]} &= ${r}` : `&\\phantom{=}\\, ${r}`);
  });
  return `\\begin{aligned}\n${lines.join(" \\\\\n")}\n\\end{aligned}`;
}

function isDefinedName(formatted: Formatted, result: string, label: string | undefined): boolean {
  return formatted.definitions.some(
    (d) => d.name === result && (label === undefined || label === d.name || label === d.label),
  );
}
