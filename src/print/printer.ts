// The Printer: renders one planned layout (which nodes are named temporaries, which flatten into
// their consumer) in one dialect, text or LaTeX, node by node and operands first. It holds the
// printing rule of every op (the switch is exhaustive) and the reading order of sums and products;
// format.ts decides the layout and joins the lines. Separate because the rules alone are most of
// the printer.

import { unreachable } from "../errors.js";
import type { Node } from "../ir/node.js";
import { Op } from "../ir/ops.js";
import type { Shape } from "../ir/shape.js";
import { asMatrix, broadcastPrinted, isRowColumnFlip, printsAs, see } from "./layout.js";
import { Prec, textDialect, wrap, type Dialect, type Text } from "./dialect.js";
import { opNames } from "./op-names.js";
import { displayChildren, isLeaf, logSoftmaxOperand, softmaxOperand } from "./display-order.js";

interface Rendered extends Text {
  /** The shape the printed text stands for (a vector reads as a row); null when it has none. */
  readonly shape: Shape | null;
}

/** What format.ts decided: names, definitions, printing order; see makePlan(). */
export interface Plan {
  readonly roots: readonly Node[];
  readonly names: Map<Node, string>;
  readonly definitions: Node[];
  readonly order: readonly Node[];
  /** Inline nodes a consumer always flattens into its own sum or product: never printed on their own. */
  readonly absorbed: ReadonlySet<Node>;
  /** The node as given, for each printed node (before display rewrites). */
  readonly original: ReadonlyMap<Node, Node>;
  /** Adjoints ∂f/∂v among the printed nodes. */
  readonly adjoints: ReadonlySet<Node>;
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

interface Term {
  readonly negative: boolean;
  readonly product: Product;
}

const naturalOrder = (a: string, b: string): number => a.localeCompare(b, "en", { numeric: true });

/** The printed operand's shape read as `actual` when they agree (a row prints like a vector), else null. */
function agreeing(printed: Shape | null, actual: Shape): Shape | null {
  return printsAs(printed, actual) ? actual : null;
}

export class Printer {
  private readonly memo = new Map<Node, Rendered>();

  constructor(
    private readonly plan: Plan,
    private readonly dialect: Dialect,
    private readonly keyOf?: (node: Node) => string,
  ) {}

  /** How a consumer sees `node`: its name, or its body printed inline. */
  ref(node: Node): Rendered {
    const name = this.plan.names.get(node);
    if (name !== undefined)
      return {
        s: this.dialect.name(name),
        prec: Prec.Atom,
        shape: isLeaf(node) ? node.shape : this.defined(node).shape,
      };
    return this.body(node);
  }

  /**
   * The body a named node's definition prints: a name given to a broadcast (a keepDims statistic
   * spread back over the row, √(…)ᵀ of shape [8, 1] as [8, 32]) defines the broadcast value, so its
   * body prints as broadcast(…, shape) when the printed text alone has a smaller shape.
   */
  defined(node: Node): Rendered {
    const body = this.body(node);
    const given = this.plan.original.get(node)?.shape;
    if (given === undefined || body.shape === null || printsAs(body.shape, given)) return body;
    if (!printsAs(broadcastPrinted([body.shape, given]), given)) return body;
    const d = this.dialect;
    const s = d.call(d === textDialect ? "broadcast" : "\\operatorname{broadcast}", [body.s, `[${given.join(", ")}]`]);
    return { s, prec: Prec.Atom, shape: given };
  }

  body(node: Node): Rendered {
    let known = this.memo.get(node);
    if (!known) {
      known = this.render(node);
      this.memo.set(node, known);
    }
    return known;
  }

  /** Render every printed node, operands first, so rendering one never recurses deeply. */
  warm(): void {
    for (const node of this.plan.order) if (!this.plan.absorbed.has(node)) this.body(node);
  }

  private key(node: Node): string {
    return this.keyOf ? this.keyOf(node) : this.ref(node).s;
  }

  private inline(node: Node): boolean {
    return !this.plan.names.has(node);
  }

  private render(node: Node): Rendered {
    const d = this.dialect;
    const textual = d === textDialect;
    const atom = (s: string, shape: Shape | null): Rendered => ({ s, prec: Prec.Atom, shape });
    const children = displayChildren(node);
    const arg = (i: number): Rendered => this.ref(children[i]!);
    const args = (): Rendered[] => children.map((_, i) => arg(i));
    const softmax = softmaxOperand(node);
    if (softmax) {
      const z = this.ref(softmax);
      return atom(d.call(textual ? "softmax" : "\\operatorname{softmax}", [z.s]), z.shape);
    }
    const logSoftmax = logSoftmaxOperand(node);
    if (logSoftmax) {
      const z = this.ref(logSoftmax);
      return atom(d.call(textual ? "log softmax" : "\\log\\operatorname{softmax}", [z.s]), z.shape);
    }
    switch (node.op) {
      case Op.Param:
      case Op.Input:
      case Op.DropoutMask:
      case Op.RunningStat:
      case Op.ScanArg:
        return atom(d.name(node.attrs.name ?? "?"), node.shape);
      case Op.BatchStatistic: // printed in its training form, the batch statistic
        return arg(0);
      case Op.ConstTensor: {
        // A short constant shows its values; a long one, its shape.
        const values = node.attrs.values!;
        const shown = values.length <= 6 ? values.map((v) => d.number(v)).join(", ") : node.shape.join("×");
        return atom(d.call(d.functionName(node.op), [`[${shown}]`]), node.shape);
      }
      case Op.Const: {
        const value = node.attrs.value!;
        return value < 0
          ? { s: `${d.minus}${d.number(-value)}`, prec: Prec.Unary, shape: [] }
          : atom(d.number(value), []);
      }
      case Op.BatchSize:
        return atom(d.batchSize, []);
      case Op.Add:
      case Op.Sub:
      case Op.Neg:
        return this.renderTerms(this.terms(node));
      case Op.Mul:
      case Op.Div:
      case Op.PowConst:
        return this.renderProduct(this.productOf(node, true));
      case Op.Exp: {
        const x = arg(0);
        return { ...d.exp(x), shape: x.shape };
      }
      case Op.Sqrt: {
        const x = arg(0);
        return atom(d.sqrt(x.s), x.shape);
      }
      case Op.Abs: {
        const x = arg(0);
        return atom(d.abs(x.s), x.shape);
      }
      case Op.Sigmoid:
      case Op.Log:
      case Op.Sin:
      case Op.Cos:
      case Op.Tanh:
      case Op.Softplus:
      case Op.Sign:
      case Op.Maximum:
      case Op.Minimum: {
        const xs = args();
        return atom(
          d.call(
            d.functionName(node.op),
            xs.map((x) => x.s),
          ),
          broadcastPrinted(xs.map((x) => x.shape)),
        );
      }
      case Op.LogSumExp: {
        const x = arg(0);
        return atom(d.call(d.functionName(node.op), [x.s]), agreeing(x.shape, node.inputs[0]!.shape) && node.shape);
      }
      case Op.SoftmaxCrossEntropy: {
        const [z, y] = args();
        const shape =
          agreeing(z!.shape, node.inputs[0]!.shape) && agreeing(y!.shape, node.inputs[1]!.shape) && node.shape;
        return atom(
          d.call(d.functionName(node.op), [d.call(textual ? "softmax" : "\\operatorname{softmax}", [z!.s]), y!.s]),
          shape,
        );
      }
      case Op.Greater:
      case Op.Equal: {
        const [a, b] = args();
        return atom(d.compare(a!.s, node.op === Op.Greater ? ">" : "=", b!.s), broadcastPrinted([a!.shape, b!.shape]));
      }
      case Op.Select: {
        const condition = children[0]!;
        const [c, a, b] = args();
        const text =
          condition.op === Op.Greater && this.inline(condition)
            ? `${displayChildren(condition)
                .map((x) => this.ref(x).s)
                .join(" > ")}`
            : `${c!.s} ${textual ? "≠" : "\\neq"} 0`;
        return atom(d.select(text, a!.s, b!.s), broadcastPrinted([c!.shape, a!.shape, b!.shape]));
      }
      case Op.Transpose: {
        const x = arg(0);
        if (node.shape.length === 2) {
          const m = asMatrix(x.shape);
          return { s: d.transpose(x), prec: Prec.Power, shape: m && [m[1]!, m[0]!] };
        }
        const shape = agreeing(x.shape, node.inputs[0]!.shape) && node.shape;
        return atom(
          d.call(textual ? "transpose" : "\\operatorname{transpose}", [x.s, `[${node.attrs.perm!.join(", ")}]`]),
          shape,
        );
      }
      case Op.Reshape: {
        const x = arg(0);
        // a row read as a column (or back) is a transpose: xᵀ in xᵀ·δ, (a·δ)ᵀ for a row reshaped to a column
        if (isRowColumnFlip(node)) {
          const m = asMatrix(x.shape);
          return { s: d.transpose(x), prec: Prec.Power, shape: m && [m[1]!, m[0]!] };
        }
        const shape = x.shape !== null && x.shape.reduce((n, k) => n * k, 1) === node.size ? node.shape : null;
        return atom(
          d.call(textual ? "reshape" : "\\operatorname{reshape}", [x.s, `[${node.shape.join(", ")}]`]),
          shape,
        );
      }
      case Op.Sum:
      case Op.Max: {
        const all = node.attrs.axes!.length === node.inputs[0]!.shape.length;
        const axes = all ? undefined : node.attrs.axes!.join(",");
        const operand = arg(0);
        const shape = all ? [] : agreeing(operand.shape, node.inputs[0]!.shape) && node.shape;
        if (node.op === Op.Sum)
          return { s: d.sum(operand, axes), prec: operand.prec < Prec.Atom ? Prec.Atom : Prec.Unary, shape };
        return atom(d.call(d.functionName(node.op), [operand.s, ...(axes ? [`axis ${axes}`] : [])]), shape);
      }
      case Op.Broadcast: {
        const x = arg(0);
        const shape = broadcastPrinted([x.shape, node.shape]) && node.shape;
        return atom(
          d.call(textual ? "broadcast" : "\\operatorname{broadcast}", [x.s, `[${node.shape.join(", ")}]`]),
          shape,
        );
      }
      case Op.BatchSum: {
        const x = arg(0);
        return { s: d.batchSum(x), prec: Prec.Unary, shape: x.shape };
      }
      case Op.MatMul: {
        const left = arg(0);
        const right = arg(1);
        // a stacked (batched) product has its node's shape when its operands print as theirs
        const stacked = node.inputs.some((x) => x.shape.length > 2);
        const a = asMatrix(left.shape);
        const b = asMatrix(right.shape);
        const shape = stacked
          ? agreeing(left.shape, node.inputs[0]!.shape) && agreeing(right.shape, node.inputs[1]!.shape) && node.shape
          : a && b && a[1] === b[0]
            ? [a[0]!, b[1]!]
            : null;
        return {
          s: `${wrap(d, left, Prec.Product)}${d.matmul}${wrap(d, right, Prec.Power)}`,
          prec: Prec.Product,
          shape,
        };
      }
      case Op.Patches:
      case Op.PatchesAdjoint: {
        const x = arg(0);
        const shape = agreeing(x.shape, node.inputs[0]!.shape) && node.shape;
        return atom(d.call(d.functionName(node.op), [x.s]), shape);
      }
      case Op.Scan: // scan(init, xs, closures…): the body is printed on its own (not inline)
      case Op.Gather: // gather(E, ids), scatterAdd(base, values, ids), onehot(ids): as calls
      case Op.ScatterAdd:
      case Op.OneHot:
      case Op.CustomGradient:
      case Op.StopGradient: {
        const xs = args();
        const shape = xs.every((x, i) => printsAs(x.shape, node.inputs[i]!.shape)) ? node.shape : null;
        return atom(
          d.call(
            d.functionName(node.op),
            xs.map((x) => x.s),
          ),
          shape,
        );
      }
      case Op.Slice: {
        // numpy's reading: x[b:e, …], ":" for a whole axis
        const x = arg(0);
        const source = node.inputs[0]!.shape;
        const ranges = node.shape.map((n, i) => {
          const b = node.attrs.begin![i]!;
          return b === 0 && n === source[i] ? ":" : `${b}${textual ? ":" : "{:}"}${b + n}`;
        });
        const index = textual ? `[${ranges.join(", ")}]` : `\\left[${ranges.join(",\\, ")}\\right]`;
        return atom(`${wrap(d, x, Prec.Atom)}${index}`, agreeing(x.shape, source) && node.shape);
      }
      case Op.Pad: {
        const x = arg(0);
        const pairs = node.attrs.begin!.map((b, i) => `[${b}, ${node.attrs.end![i]}]`).join(", ");
        const value = node.attrs.value === 0 ? [] : [String(node.attrs.value)];
        const shape = agreeing(x.shape, node.inputs[0]!.shape) && node.shape;
        return atom(d.call(textual ? "pad" : "\\operatorname{pad}", [x.s, `[${pairs}]`, ...value]), shape);
      }
      case Op.Concat: {
        const xs = args();
        const shape = xs.every((x, i) => printsAs(x.shape, node.inputs[i]!.shape)) ? node.shape : null;
        const axis = `${textual ? "axis" : "\\text{axis}"} ${node.attrs.axis}`;
        return atom(d.call(textual ? "concat" : "\\operatorname{concat}", [...xs.map((x) => x.s), axis]), shape);
      }
      default:
        return unreachable(node.op, "op");
    }
  }

  // Sums: signed terms of inline +, − and negation chains (iterative: chains can be long)
  private terms(root: Node): Term[] {
    const into: Term[] = [];
    const stack: { node: Node; negative: boolean; top: boolean }[] = [{ node: root, negative: false, top: true }];
    while (stack.length > 0) {
      const { node: raw, negative, top } = stack.pop()!;
      const node = see(raw);
      if (top || this.inline(node)) {
        if (node.op === Op.Add) {
          stack.push({ node: node.inputs[1]!, negative, top: false }, { node: node.inputs[0]!, negative, top: false });
          continue;
        }
        if (node.op === Op.Sub) {
          stack.push(
            { node: node.inputs[1]!, negative: !negative, top: false },
            { node: node.inputs[0]!, negative, top: false },
          );
          continue;
        }
        if (node.op === Op.Neg) {
          stack.push({ node: node.inputs[0]!, negative: !negative, top: false });
          continue;
        }
      }
      const product = this.productOf(node);
      if (product.coefficient < 0) {
        product.coefficient = -product.coefficient;
        into.push({ negative: !negative, product });
      } else {
        into.push({ negative, product });
      }
    }
    return into;
  }

  private renderTerms(terms: readonly Term[]): Rendered {
    const d = this.dialect;
    const degree = (p: Product) => p.factors.reduce((n, f) => n + (f.node.op === Op.MatMul ? 2 : 1), 0);
    const sortKey = (p: Product) => p.factors.map((f) => this.key(f.node)).join("·");
    const ordered = terms
      .map((term, index) => ({ term, index, key: sortKey(term.product), degree: degree(term.product) }))
      .sort((a, b) => {
        if (a.term.negative !== b.term.negative) return a.term.negative ? 1 : -1;
        const constA = a.degree === 0;
        const constB = b.degree === 0;
        if (constA !== constB) return constA ? 1 : -1;
        if (a.degree !== b.degree) return b.degree - a.degree;
        return naturalOrder(a.key, b.key) || a.index - b.index;
      })
      .map((entry) => entry.term);
    if (ordered.length === 0) return { s: d.number(0), prec: Prec.Atom, shape: [] };
    const rendered = ordered.map((term) => this.renderProduct(term.product));
    let s = "";
    ordered.forEach((term, i) => {
      const r = rendered[i]!;
      const text = r.prec <= Prec.Sum || (term.negative && r.prec < Prec.Product) ? d.paren(r.s) : r.s;
      if (i === 0) s = term.negative ? `${d.minus}${text}` : text;
      else s += `${term.negative ? d.subtract : d.plus}${text}`;
    });
    const shape = broadcastPrinted(rendered.map((r) => r.shape));
    if (ordered.length > 1) return { s, prec: Prec.Sum, shape };
    return { s, prec: ordered[0]!.negative ? Prec.Unary : rendered[0]!.prec, shape };
  }

  // Products: a coefficient and factors with exponents (negative ones print in a denominator)
  private productOf(node: Node, top = false): Product {
    const into: Product = { coefficient: 1, factors: [] };
    const stack: { node: Node; exponent: number; top: boolean }[] = [{ node, exponent: 1, top }];
    while (stack.length > 0) {
      const entry = stack.pop()!;
      const n = see(entry.node);
      const exponent = entry.exponent;
      if (n.op === Op.Const) {
        into.coefficient *= n.attrs.value! ** exponent;
        continue;
      }
      if ((entry.top || this.inline(n)) && Math.abs(exponent) === 1) {
        if (n.op === Op.Mul) {
          stack.push({ node: n.inputs[1]!, exponent, top: false }, { node: n.inputs[0]!, exponent, top: false });
          continue;
        }
        if (n.op === Op.Div) {
          stack.push(
            { node: n.inputs[1]!, exponent: -exponent, top: false },
            { node: n.inputs[0]!, exponent, top: false },
          );
          continue;
        }
        if (n.op === Op.Neg) {
          into.coefficient = -into.coefficient;
          stack.push({ node: n.inputs[0]!, exponent, top: false });
          continue;
        }
        // any power, integer or not, is its base with an exponent (the base is another node, so this ends)
        if (n.op === Op.PowConst) {
          into.factors.push({ node: see(n.inputs[0]!), exponent: exponent * n.attrs.exponent! });
          continue;
        }
      }
      into.factors.push({ node: n, exponent });
    }
    return into;
  }

  // leaves, then named adjoints (δ2 = δ1·t8·(1 − t8), the recurrence first), other names, compound factors
  private factorRank(node: Node): number {
    if (isLeaf(node)) return 0;
    if (!this.inline(node)) return this.plan.adjoints.has(node) ? 1 : 1.5;
    const r = this.body(node);
    return r.prec >= Prec.Power ? 2 : 3;
  }

  private renderFactor(factor: Factor, magnitude: number): Rendered {
    const d = this.dialect;
    const base = this.ref(factor.node);
    if (magnitude === 1) return base;
    if (magnitude === 0.5) return { s: d.sqrt(base.s), prec: Prec.Atom, shape: base.shape };
    const isCall =
      this.inline(factor.node) &&
      opNames[factor.node.op].isFunction &&
      !softmaxOperand(factor.node) &&
      factor.node.op !== Op.Exp &&
      factor.node.inputs.length === 1 &&
      factor.node.op !== Op.LogSumExp &&
      factor.node.op !== Op.Max;
    if (isCall && Number.isInteger(magnitude) && magnitude > 1 && magnitude < 10) {
      return {
        s: d.callPower(d.functionName(factor.node.op), this.ref(displayChildren(factor.node)[0]!).s, magnitude),
        prec: Prec.Atom,
        shape: base.shape,
      };
    }
    return { s: d.power(base, magnitude), prec: Prec.Power, shape: base.shape };
  }

  private renderProduct(product: Product): Rendered {
    const d = this.dialect;
    // equal factors merge: t·t/… ↦ t², t/(t2·t2) ↦ t/t2²
    const merged = new Map<Node, number>();
    for (const f of product.factors) merged.set(f.node, (merged.get(f.node) ?? 0) + f.exponent);
    const factors = [...merged].filter(([, e]) => e !== 0).map(([n, e]) => ({ node: n, exponent: e }));
    const ranked = factors.map((factor, index) => ({
      factor,
      index,
      rank: this.factorRank(factor.node),
      key: this.key(factor.node),
    }));
    ranked.sort((a, b) => a.rank - b.rank || naturalOrder(a.key, b.key) || a.index - b.index);
    const numerator = ranked.filter((f) => f.factor.exponent > 0);
    const denominator = ranked.filter((f) => f.factor.exponent < 0);
    const shapes: (Shape | null)[] = [];
    const join = (list: typeof ranked, leading?: number): Text | undefined => {
      let s: string | undefined;
      let prec: number = Prec.Atom;
      let tensorSoFar = false;
      if (leading !== undefined) s = d.number(leading);
      for (const entry of list) {
        const r = this.renderFactor(entry.factor, Math.abs(entry.factor.exponent));
        shapes.push(r.shape);
        const tensor = entry.factor.node.shape.length > 0;
        const text = wrap(d, r, list.length + (leading !== undefined ? 1 : 0) > 1 ? Prec.Unary + 0.5 : 0);
        if (s === undefined) {
          s = text;
          prec = r.prec;
        } else {
          s = d.times(s, text, tensor && tensorSoFar);
          prec = Prec.Product;
        }
        tensorSoFar = tensorSoFar || tensor;
      }
      return s === undefined ? undefined : { s, prec };
    };
    const c = product.coefficient;
    const magnitude = Math.abs(c);
    const showCoefficient = magnitude !== 1 || (numerator.length === 0 && denominator.length === 0);
    // the coefficient leads the numerator: 0.5/√(a), 2·x/y
    const num = join(numerator, showCoefficient ? magnitude : undefined) ?? { s: d.number(1), prec: Prec.Atom };
    const result = denominator.length > 0 ? d.quotient(num, join(denominator)!) : num;
    const shape = broadcastPrinted(shapes);
    if (c < 0) return { s: `${d.minus}${wrap(d, result, Prec.Product)}`, prec: Prec.Unary, shape };
    return { ...result, shape };
  }
}
