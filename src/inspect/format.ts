// Expressions as text and LaTeX. The DAG is printed once: a subexpression used more than once is
// printed as a named temporary (t1 = …, or δ1 = … when it is an adjoint ∂f/∂v) unless its text is
// short, so the output is linear in the graph, never the exponential tree (CasADi's @1 style).
// Sums and products are flattened and put in a reading order (coefficient, variables, then
// compound factors; terms by degree, then alphabetically; subtracted terms last), and a few
// patterns print the way the lectures write them: exp(z − logΣexp z) is softmax(z), a power of a
// function is tanh²(u), ⊙ marks elementwise products of tensors, ᵀ transposes.
//
// One layout is decided with the text form and shared by the LaTeX form, so both name the same
// temporaries and order terms the same way. Ops without a printing rule here (new ones) print as
// op(arguments), so the printer never fails on a graph.

import type { Node } from "../ir/node.js";
import { Op } from "../ir/ops.js";
import { simplify } from "../passes/simplify.js";
import { formatNumber, superscript, texName } from "./names.js";

const enum Prec { Sum = 1, Product = 2, Unary = 3, Power = 4, Atom = 5 }

interface Rendered {
  readonly s: string;
  readonly prec: number;
}

export interface FormatOptions {
  /** Simplify before printing (default true). */
  readonly simplify?: boolean;
  /** Nodes that print as a given name; non-leaf ones get a definition line. */
  readonly names?: ReadonlyMap<Node, string>;
  /** Nodes already defined elsewhere (an earlier block of equations): printed by name, not defined again. */
  readonly known?: ReadonlyMap<Node, string>;
  /** Adjoint nodes ∂f/∂v: when one becomes a temporary it is called δk instead of tk. */
  readonly adjoints?: ReadonlySet<Node>;
  /** Shared subexpressions whose text is at most this long are repeated instead of named (default 12). */
  readonly inlineLimit?: number;
}

/** Definitions (temporaries and named values, in dependency order) and one body per root. */
export interface Formatted {
  readonly definitions: readonly { readonly name: string; readonly label: string; readonly body: string; readonly node: Node }[];
  readonly results: readonly string[];
}

// ── the display structure: layout ops are transparent, softmax is one node ──────────────────────

function isUnitReshape(node: Node): boolean {
  const from = node.inputs[0]!.shape.filter((d) => d !== 1);
  const to = node.shape.filter((d) => d !== 1);
  return from.length === to.length && from.every((d, i) => d === to[i]);
}

/** Skip nodes that print as their operand: broadcasts and reshapes that only add or drop unit axes. */
function see(node: Node): Node {
  while ((node.op === Op.Broadcast) || (node.op === Op.Reshape && isUnitReshape(node))) node = node.inputs[0]!;
  return node;
}

/** z − logΣexp(z) (broadcast back): the z of log softmax(z), if `node` is that. */
function logSoftmaxOperand(node: Node): Node | undefined {
  if (node.op !== Op.Sub) return undefined;
  const z = see(node.inputs[0]!);
  const lse = see(node.inputs[1]!);
  return lse.op === Op.LogSumExp && see(lse.inputs[0]!) === z ? z : undefined;
}

function softmaxOperand(node: Node): Node | undefined {
  return node.op === Op.Exp ? logSoftmaxOperand(see(node.inputs[0]!)) : undefined;
}

/** The operands as printed. */
export function displayChildren(node: Node): Node[] {
  const softmax = softmaxOperand(node) ?? logSoftmaxOperand(node);
  if (softmax) return [softmax];
  return node.inputs.map(see);
}

const isLeaf = (node: Node): boolean => node.inputs.length === 0;

/** Display nodes reachable from `roots`, operands first (iterative: graphs can be deep). */
export function displayOrder(roots: readonly Node[]): Node[] {
  const order: Node[] = [];
  const done = new Set<Node>();
  for (const root of roots.map(see)) {
    if (done.has(root)) continue;
    done.add(root);
    const stack: { node: Node; children: Node[]; next: number }[] = [{ node: root, children: displayChildren(root), next: 0 }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const child = top.children[top.next++];
      if (child === undefined) {
        order.push(top.node);
        stack.pop();
      } else if (!done.has(child)) {
        done.add(child);
        stack.push({ node: child, children: displayChildren(child), next: 0 });
      }
    }
  }
  return order;
}

// ── dialects ───────────────────────────────────────────────────────────────────────────────────

interface Dialect {
  readonly name: (name: string) => string;
  readonly number: (value: number) => string;
  readonly paren: (s: string) => string;
  readonly minus: string;
  readonly plus: string;
  readonly subtract: string;
  /** Separator between two factors; `tensors` when both sides are non-scalar (elementwise ⊙). */
  readonly times: (left: string, right: string, tensors: boolean) => string;
  readonly quotient: (num: Rendered, den: Rendered) => Rendered;
  readonly power: (base: Rendered, exponent: number) => string;
  readonly call: (fn: string, args: readonly string[]) => string;
  /** f²(u) for a small integer power of a named function, if the dialect writes it that way. */
  readonly callPower: (fn: string, arg: string, exponent: number) => string;
  readonly functionName: (op: Op) => string;
  readonly exp: (arg: Rendered) => Rendered;
  readonly sqrt: (arg: string) => string;
  readonly abs: (arg: string) => string;
  readonly transpose: (arg: Rendered) => string;
  readonly sum: (arg: Rendered, axes: string | undefined) => string;
  readonly batchSum: (arg: Rendered) => string;
  readonly batchSize: string;
  readonly compare: (a: string, relation: ">" | "=", b: string) => string;
  readonly select: (condition: string, a: string, b: string) => string;
  readonly matmul: string;
}

const textFunctionNames: Partial<Record<Op, string>> = {
  [Op.Sigmoid]: "σ", [Op.Exp]: "exp", [Op.Log]: "log", [Op.Sin]: "sin", [Op.Cos]: "cos", [Op.Tanh]: "tanh",
  [Op.Softplus]: "softplus", [Op.Sign]: "sign", [Op.Maximum]: "max", [Op.Minimum]: "min", [Op.Max]: "max",
  [Op.LogSumExp]: "logsumexp", [Op.SoftmaxCrossEntropy]: "CE",
};

const texFunctionNames: Partial<Record<Op, string>> = {
  [Op.Sigmoid]: "\\sigma", [Op.Exp]: "\\exp", [Op.Log]: "\\log", [Op.Sin]: "\\sin", [Op.Cos]: "\\cos", [Op.Tanh]: "\\tanh",
  [Op.Softplus]: "\\operatorname{softplus}", [Op.Sign]: "\\operatorname{sign}", [Op.Maximum]: "\\max", [Op.Minimum]: "\\min",
  [Op.Max]: "\\max", [Op.LogSumExp]: "\\operatorname{logsumexp}", [Op.SoftmaxCrossEntropy]: "\\operatorname{CE}",
};

const textDialect: Dialect = {
  name: (name) => name,
  number: formatNumber,
  paren: (s) => `(${s})`,
  minus: "−",
  plus: " + ",
  subtract: " − ",
  times: (left, right, tensors) => `${left}${tensors ? " ⊙ " : "·"}${right}`,
  quotient: (num, den) => ({ s: `${wrap(textDialect, num, Prec.Product)}/${wrap(textDialect, den, Prec.Power)}`, prec: Prec.Product }),
  power: (base, exponent) => `${wrap(textDialect, base, Prec.Atom)}^${exponent < 0 ? `(−${formatNumber(-exponent)})` : formatNumber(exponent)}`,
  call: (fn, args) => `${fn}(${args.join(", ")})`,
  callPower: (fn, arg, exponent) => `${fn}${superscript(exponent)}(${arg})`,
  functionName: (op) => textFunctionNames[op] ?? op,
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

const texDialect: Dialect = {
  name: texName,
  number: (value) => formatNumber(value).replace("Infinity", "\\infty").replace(/e([+-]\d+)$/, (_, e: string) => ` \\times 10^{${Number(e)}}`),
  paren: texParen,
  minus: "-",
  plus: " + ",
  subtract: " - ",
  // juxtaposition, except where digits would run together
  times: (left, right, tensors) => (tensors ? `${left} \\odot ${right}` : /^[\d.]/.test(right) ? `${left} \\cdot ${right}` : `${left} ${right}`),
  quotient: (num, den) => ({ s: `\\frac{${num.s}}{${den.s}}`, prec: Prec.Power }),
  power: (base, exponent) => `${wrap(texDialect, base, Prec.Atom)}^{${formatNumber(exponent)}}`,
  call: (fn, args) => `${fn}${texParen(args.join(", "))}`,
  callPower: (fn, arg, exponent) => `${fn}^{${exponent}}${texParen(arg)}`,
  functionName: (op) => texFunctionNames[op] ?? `\\operatorname{${op}}`,
  exp: (arg) => ({ s: `e^{${arg.s}}`, prec: Prec.Power }),
  sqrt: (arg) => `\\sqrt{${arg}}`,
  abs: (arg) => `\\left|${arg}\\right|`,
  transpose: (arg) => `${wrap(texDialect, arg, Prec.Atom)}^{\\top}`,
  sum: (arg, axes) => `\\sum${axes ? `_{\\text{axis } ${axes}}` : ""} ${wrap(texDialect, arg, Prec.Atom)}`,
  batchSum: (arg) => `\\sum_{n} ${wrap(texDialect, arg, Prec.Atom)}`,
  batchSize: "n",
  compare: (a, relation, b) => `\\left[${a} ${relation} ${b}\\right]`,
  select: (condition, a, b) => `\\begin{cases} ${a} & \\text{if } ${condition} \\\\ ${b} & \\text{otherwise} \\end{cases}`,
  matmul: " ",
};

function wrap(dialect: Dialect, r: Rendered, atLeast: number): string {
  return r.prec >= atLeast ? r.s : dialect.paren(r.s);
}

// ── layout: which shared subexpressions become temporaries ─────────────────────────────────────

interface Plan {
  readonly roots: readonly Node[];
  readonly names: Map<Node, string>;
  readonly definitions: Node[];
  readonly order: readonly Node[];
}

function makePlan(roots: readonly Node[], options: FormatOptions): { plan: Plan; text: Printer } {
  const shown = (options.simplify ?? true) ? simplify(roots) : [...roots];
  const names = new Map<Node, string>();
  // names are given for nodes as built; printing sees their simplified forms
  const normal = (node: Node): Node => see((options.simplify ?? true) ? simplify([node])[0]! : node);
  for (const [node, name] of options.names ?? []) names.set(normal(node), name);
  const known = new Set<Node>();
  for (const [node, name] of options.known ?? []) { names.set(normal(node), name); known.add(normal(node)); }
  const adjoints = new Set([...options.adjoints ?? []].map(see));
  const order = displayOrder(shown);
  const uses = new Map<Node, number>();
  for (const root of shown) uses.set(see(root), (uses.get(see(root)) ?? 0) + 1);
  for (const node of order) for (const child of displayChildren(node)) uses.set(child, (uses.get(child) ?? 0) + 1);

  const plan: Plan = { roots: shown.map(see), names, definitions: [], order };
  const text = new Printer(plan, textDialect);
  const limit = options.inlineLimit ?? 12;
  const taken = new Set(names.values());
  const counters = { t: 0, δ: 0 };
  const fresh = (prefix: "t" | "δ"): string => {
    let name: string;
    do name = `${prefix}${++counters[prefix]}`; while (taken.has(name));
    taken.add(name);
    return name;
  };
  // A shared subexpression is repeated inline only when it is short and applies one op to leaves
  // (σ(x), w·x), so chains such as σ(σ(σ(w))) get one temporary per level.
  for (const node of order) {
    if (isLeaf(node)) continue;
    if (names.has(node)) { if (!known.has(node)) plan.definitions.push(node); continue; }
    if ((uses.get(node) ?? 0) < 2) continue;
    if (displayChildren(node).every(isLeaf) && text.body(node).s.length <= limit) continue;
    names.set(node, fresh(adjoints.has(node) ? "δ" : "t"));
    plan.definitions.push(node);
  }
  return { plan, text };
}

// ── rendering ──────────────────────────────────────────────────────────────────────────────────

interface Factor {
  readonly node: Node;
  readonly exponent: number;
}

interface Product {
  coefficient: number;
  readonly factors: Factor[];
}

const naturalOrder = (a: string, b: string): number => a.localeCompare(b, "en", { numeric: true });

class Printer {
  private readonly memo = new Map<Node, Rendered>();

  constructor(private readonly plan: Plan, private readonly dialect: Dialect, private readonly keyOf?: (node: Node) => string) {}

  /** How a consumer sees `node`: its name, or its body printed inline. */
  ref(node: Node): Rendered {
    node = see(node);
    const name = this.plan.names.get(node);
    if (name !== undefined) return { s: this.dialect.name(name), prec: Prec.Atom };
    return this.body(node);
  }

  body(node: Node): Rendered {
    node = see(node);
    let known = this.memo.get(node);
    if (!known) {
      known = this.render(node);
      this.memo.set(node, known);
    }
    return known;
  }

  private key(node: Node): string {
    return this.keyOf ? this.keyOf(node) : this.ref(node).s;
  }

  private inline(node: Node): boolean {
    return !this.plan.names.has(see(node));
  }

  private render(node: Node): Rendered {
    const d = this.dialect;
    const atom = (s: string): Rendered => ({ s, prec: Prec.Atom });
    const arg = (i: number): string => this.ref(node.inputs[i]!).s;
    const softmax = softmaxOperand(node);
    if (softmax) return atom(d.call(d === textDialect ? "softmax" : "\\operatorname{softmax}", [this.ref(softmax).s]));
    const logSoftmax = logSoftmaxOperand(node);
    if (logSoftmax) return atom(d.call(d === textDialect ? "log softmax" : "\\log\\operatorname{softmax}", [this.ref(logSoftmax).s]));
    switch (node.op) {
      case Op.Param:
      case Op.Input:
        return atom(d.name(node.attrs.name ?? "?"));
      case Op.Const: {
        const value = node.attrs.value!;
        return value < 0 ? { s: `${d.minus}${d.number(-value)}`, prec: Prec.Unary } : atom(d.number(value));
      }
      case Op.BatchSize:
        return atom(d.batchSize);
      case Op.Add:
      case Op.Sub:
      case Op.Neg:
        return this.renderSum(node);
      case Op.Mul:
      case Op.Div:
      case Op.PowConst:
        return this.renderProduct(this.productOf(node, true), node);
      case Op.Exp:
        return d.exp(this.ref(node.inputs[0]!));
      case Op.Sqrt:
        return atom(d.sqrt(arg(0)));
      case Op.Abs:
        return atom(d.abs(arg(0)));
      case Op.Sigmoid: case Op.Log: case Op.Sin: case Op.Cos: case Op.Tanh: case Op.Softplus: case Op.Sign:
      case Op.Maximum: case Op.Minimum: case Op.LogSumExp:
        return atom(d.call(d.functionName(node.op), node.inputs.map((_, i) => arg(i))));
      case Op.SoftmaxCrossEntropy:
        return atom(d.call(d.functionName(node.op), [d.call(d === textDialect ? "softmax" : "\\operatorname{softmax}", [arg(0)]), arg(1)]));
      case Op.Greater:
        return atom(d.compare(arg(0), ">", arg(1)));
      case Op.Equal:
        return atom(d.compare(arg(0), "=", arg(1)));
      case Op.Select: {
        const condition = see(node.inputs[0]!);
        const text = condition.op === Op.Greater && this.inline(condition)
          ? `${this.ref(condition.inputs[0]!).s} > ${this.ref(condition.inputs[1]!).s}`
          : `${arg(0)} ≠ 0`.replace("≠", d === textDialect ? "≠" : "\\neq");
        return atom(d.select(text, arg(1), arg(2)));
      }
      case Op.Transpose:
        if (node.shape.length === 2) return { s: d.transpose(this.ref(node.inputs[0]!)), prec: Prec.Power };
        return atom(d.call(d === textDialect ? "transpose" : "\\operatorname{transpose}", [arg(0), `[${node.attrs.perm!.join(", ")}]`]));
      case Op.Reshape:
        return atom(d.call(d === textDialect ? "reshape" : "\\operatorname{reshape}", [arg(0), `[${node.shape.join(", ")}]`]));
      case Op.Sum:
      case Op.Max: {
        const all = node.attrs.axes!.length === node.inputs[0]!.shape.length;
        const axes = all ? undefined : node.attrs.axes!.join(",");
        if (node.op === Op.Sum) {
          const operand = this.ref(node.inputs[0]!);
          return { s: d.sum(operand, axes), prec: operand.prec < Prec.Atom ? Prec.Atom : Prec.Unary };
        }
        return atom(d.call(d.functionName(node.op), [arg(0), ...(axes ? [`axis ${axes}`] : [])]));
      }
      case Op.BatchSum:
        return { s: d.batchSum(this.ref(node.inputs[0]!)), prec: Prec.Unary };
      case Op.MatMul: {
        // a vector reshaped into a column on the left is the lectures' xᵀ (an outer product xᵀ·δ)
        // and a [k,1] ↔ [1,k] reshape of a matrix is its transpose (simplify turns such transposes into reshapes)
        const flipped = (x: Node): boolean => x.op === Op.Reshape && x.inputs[0]!.shape.length === 2 && x.shape.length === 2
          && x.shape[0] === x.inputs[0]!.shape[1] && x.shape[1] === x.inputs[0]!.shape[0] && x.shape[0] !== x.shape[1];
        const raw = node.inputs[0]!;
        const column = raw.op === Op.Reshape && raw.inputs[0]!.shape.length === 1 && raw.shape.length === 2 && raw.shape[1] === 1 && raw.shape[0] !== 1;
        let left = this.ref(raw);
        if (column || flipped(raw)) left = { s: d.transpose(left), prec: Prec.Power };
        let right = this.ref(node.inputs[1]!);
        if (flipped(node.inputs[1]!)) right = { s: d.transpose(right), prec: Prec.Power };
        return { s: `${wrap(d, left, Prec.Product)}${d.matmul}${wrap(d, right, Prec.Power)}`, prec: Prec.Product };
      }
      default:
        return atom(d.call(d.functionName(node.op), node.inputs.map((_, i) => arg(i))));
    }
  }

  // Sums: signed terms of inline +, − and negation chains
  private terms(node: Node, negative: boolean, into: { negative: boolean; product: Product; node: Node }[], top = false): void {
    node = see(node);
    if (top || this.inline(node)) {
      if (node.op === Op.Add) { this.terms(node.inputs[0]!, negative, into); this.terms(node.inputs[1]!, negative, into); return; }
      if (node.op === Op.Sub) { this.terms(node.inputs[0]!, negative, into); this.terms(node.inputs[1]!, !negative, into); return; }
      if (node.op === Op.Neg) { this.terms(node.inputs[0]!, !negative, into); return; }
    }
    const product = this.productOf(node);
    if (product.coefficient < 0) {
      product.coefficient = -product.coefficient;
      negative = !negative;
    }
    into.push({ negative, product, node });
  }

  private renderSum(node: Node): Rendered {
    const d = this.dialect;
    const terms: { negative: boolean; product: Product; node: Node }[] = [];
    this.terms(node, false, terms, true);
    const degree = (p: Product) => p.factors.reduce((n, f) => n + (f.node.op === Op.MatMul ? 2 : 1), 0);
    const sortKey = (p: Product) => p.factors.map((f) => this.key(f.node)).join("·");
    const ordered = terms
      .map((term, index) => ({ term, index, key: sortKey(term.product) }))
      .sort((a, b) => {
        if (a.term.negative !== b.term.negative) return a.term.negative ? 1 : -1;
        const constA = degree(a.term.product) === 0;
        const constB = degree(b.term.product) === 0;
        if (constA !== constB) return constA ? 1 : -1;
        if (degree(a.term.product) !== degree(b.term.product)) return degree(b.term.product) - degree(a.term.product);
        return naturalOrder(a.key, b.key) || a.index - b.index;
      })
      .map((entry) => entry.term);
    let s = "";
    ordered.forEach((term, i) => {
      const r = this.renderProduct(term.product, term.node);
      const text = r.prec <= Prec.Sum || (term.negative && r.prec < Prec.Product) ? d.paren(r.s) : r.s;
      if (i === 0) s = term.negative ? `${d.minus}${text}` : text;
      else s += `${term.negative ? d.subtract : d.plus}${text}`;
    });
    const single = ordered.length === 1;
    return { s, prec: single ? (ordered[0]!.negative ? Prec.Unary : this.renderProduct(ordered[0]!.product, ordered[0]!.node).prec) : Prec.Sum };
  }

  // Products: a coefficient and factors with exponents (negative ones print in a denominator)
  private productOf(node: Node, top = false): Product {
    const product: Product = { coefficient: 1, factors: [] };
    this.collect(node, 1, product, top);
    return product;
  }

  private collect(node: Node, exponent: number, into: Product, top = false): void {
    node = see(node);
    const inline = top || this.inline(node);
    if (node.op === Op.Const) { into.coefficient *= node.attrs.value! ** exponent; return; }
    if (inline && exponent === 1 || inline && exponent === -1) {
      if (node.op === Op.Mul) { this.collect(node.inputs[0]!, exponent, into); this.collect(node.inputs[1]!, exponent, into); return; }
      if (node.op === Op.Div) { this.collect(node.inputs[0]!, exponent, into); this.collect(node.inputs[1]!, -exponent, into); return; }
      if (node.op === Op.Neg) { into.coefficient = -into.coefficient; this.collect(node.inputs[0]!, exponent, into); return; }
      if (node.op === Op.PowConst && Number.isInteger(node.attrs.exponent!)) {
        into.factors.push({ node: see(node.inputs[0]!), exponent: exponent * node.attrs.exponent! });
        return;
      }
    }
    into.factors.push({ node, exponent });
  }

  private factorRank(node: Node): number {
    if (isLeaf(node)) return 0;
    if (!this.inline(node)) return 1;
    const r = this.body(node);
    return r.prec >= Prec.Power ? 2 : 3;
  }

  private renderFactor(factor: Factor, magnitude: number): Rendered {
    const d = this.dialect;
    const base = this.ref(factor.node);
    if (magnitude === 1) return base;
    const fn = textFunctionNames[factor.node.op];
    const isCall = this.inline(factor.node) && fn !== undefined && !softmaxOperand(factor.node) && factor.node.op !== Op.Exp
      && factor.node.inputs.length === 1 && factor.node.op !== Op.LogSumExp && factor.node.op !== Op.Max;
    if (isCall && Number.isInteger(magnitude) && magnitude > 1 && magnitude < 10) {
      return { s: d.callPower(d.functionName(factor.node.op), this.ref(factor.node.inputs[0]!).s, magnitude), prec: Prec.Atom };
    }
    return { s: d.power(base, magnitude), prec: Prec.Power };
  }

  private renderProduct(product: Product, node: Node): Rendered {
    const d = this.dialect;
    // equal factors merge: t·t/… ↦ t², t/(t2·t2) ↦ t/t2²
    const merged = new Map<Node, number>();
    for (const f of product.factors) merged.set(f.node, (merged.get(f.node) ?? 0) + f.exponent);
    const factors = [...merged].filter(([, e]) => e !== 0).map(([n, e]) => ({ node: n, exponent: e }));
    const ranked = factors.map((factor, index) => ({ factor, index, rank: this.factorRank(factor.node), key: this.key(factor.node) }));
    ranked.sort((a, b) => a.rank - b.rank || naturalOrder(a.key, b.key) || a.index - b.index);
    const numerator = ranked.filter((f) => f.factor.exponent > 0 || !Number.isInteger(f.factor.exponent));
    const denominator = ranked.filter((f) => f.factor.exponent < 0 && Number.isInteger(f.factor.exponent));
    const join = (list: typeof ranked, leading?: number): Rendered | undefined => {
      let s: string | undefined;
      let prec: number = Prec.Atom;
      let tensorSoFar = false;
      if (leading !== undefined) { s = d.number(leading); tensorSoFar = false; }
      for (const entry of list) {
        const magnitude = denominator.includes(entry) ? -entry.factor.exponent : entry.factor.exponent;
        const r = this.renderFactor(entry.factor, magnitude);
        const tensor = entry.factor.node.shape.length > 0;
        const text = wrap(d, r, list.length + (leading !== undefined ? 1 : 0) > 1 ? Prec.Unary + 0.5 : 0);
        if (s === undefined) { s = text; prec = r.prec; }
        else { s = d.times(s, text, tensor && tensorSoFar); prec = Prec.Product; }
        tensorSoFar = tensorSoFar || tensor;
      }
      return s === undefined ? undefined : { s, prec };
    };
    const c = product.coefficient;
    const magnitude = Math.abs(c);
    const showCoefficient = magnitude !== 1 || (numerator.length === 0 && denominator.length === 0);
    let num = join(numerator, showCoefficient && denominator.length === 0 ? magnitude : undefined);
    let result: Rendered;
    if (denominator.length > 0) {
      num = num ?? { s: d.number(1), prec: Prec.Atom };
      const den = join(denominator)!;
      result = d.quotient(num, den);
      if (showCoefficient) result = { s: d.times(d.number(magnitude), wrap(d, result, Prec.Power), false), prec: Prec.Product };
    } else {
      result = num!;
    }
    if (c < 0) return { s: `${d.minus}${wrap(d, result, Prec.Product)}`, prec: Prec.Unary };
    void node;
    return result;
  }
}

function formatWith(roots: readonly Node[], options: FormatOptions): { text: Formatted; tex: Formatted } {
  const { plan, text } = makePlan(roots, options);
  // warm the text printer in dependency order, so rendering never recurses deeply
  for (const node of plan.order) text.body(node);
  const tex = new Printer(plan, texDialect, (node) => text.ref(node).s);
  for (const node of plan.order) tex.body(node);
  const output = (printer: Printer, dialect: Dialect): Formatted => ({
    definitions: plan.definitions.map((node) => ({ name: dialect.name(plan.names.get(node)!), label: plan.names.get(node)!, body: printer.body(node).s, node })),
    results: plan.roots.map((root) => (plan.names.has(root) && !isLeaf(root) ? dialect.name(plan.names.get(root)!) : printer.body(root).s)),
  });
  return { text: output(text, textDialect), tex: output(tex, texDialect) };
}

export function formatText(roots: readonly Node[], options: FormatOptions = {}): Formatted {
  return formatWith(roots, options).text;
}

export function formatTex(roots: readonly Node[], options: FormatOptions = {}): Formatted {
  return formatWith(roots, options).tex;
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
  return formatted.definitions.some((d) => d.name === result && (label === undefined || label === d.name || label === d.label));
}
