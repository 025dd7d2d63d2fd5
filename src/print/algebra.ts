// Display-only algebra. A product that multiplies a sum of quotients by the factors their
// denominators cancel against prints expanded and collected when that is shorter: the gradient of
// binaryCrossEntropy(σ(z), t), σ(z)·(1 − σ(z))·((1 − t)/(1 − σ(z)) − t/σ(z)), prints as σ(z) − t,
// the lectures' form. Exact rational algebra over elementwise products (any other op is an atom),
// so the printed value is the computed one; bounded, so it costs a constant per product.

import * as ir from "../ir/build.js";
import type { Node } from "../ir/node.js";
import { Op } from "../ir/ops.js";
import { broadcastsTo, sameShape } from "../ir/shape.js";
import { see } from "./layout.js";

interface Monomial {
  readonly coefficient: number;
  /** Atom → integer exponent (never 0). */
  readonly factors: ReadonlyMap<Node, number>;
}

type Polynomial = Monomial[];

/** Expansions larger than this are abandoned (the product prints as it is). */
const maxTerms = 16;
/** How deep through sums and products the expansion looks. */
const maxDepth = 8;
/** How many nodes the cheap trigger test visits per product. */
const maxVisits = 32;

const isSum = (node: Node): boolean => node.op === Op.Add || node.op === Op.Sub;
const isIntegerPower = (node: Node): boolean =>
  node.op === Op.PowConst && Number.isInteger(node.attrs.exponent!) && Math.abs(node.attrs.exponent!) <= 4;

class TooLarge extends Error {}

function times(a: Monomial, b: Monomial): Monomial {
  const factors = new Map(a.factors);
  for (const [atom, exponent] of b.factors) {
    const sum = (factors.get(atom) ?? 0) + exponent;
    if (sum === 0) factors.delete(atom);
    else factors.set(atom, sum);
  }
  return { coefficient: a.coefficient * b.coefficient, factors };
}

function keyOf(m: Monomial): string {
  return [...m.factors]
    .map(([atom, e]) => `${atom.id}^${e}`)
    .sort()
    .join("·");
}

/** Like terms added up; zero terms dropped. */
function collect(p: Polynomial): Polynomial {
  const byKey = new Map<string, Monomial>();
  for (const m of p) {
    const key = keyOf(m);
    const known = byKey.get(key);
    byKey.set(key, known ? { coefficient: known.coefficient + m.coefficient, factors: known.factors } : m);
  }
  return [...byKey.values()].filter((m) => m.coefficient !== 0);
}

function check(p: Polynomial): Polynomial {
  if (p.length > maxTerms) throw new TooLarge();
  return p;
}

class Expander {
  private readonly memo = new Map<Node, Polynomial>();

  polynomial(node: Node, depth: number): Polynomial {
    node = see(node);
    const known = this.memo.get(node);
    if (known) return known;
    let result: Polynomial;
    if (node.op === Op.Const) result = [{ coefficient: node.attrs.value!, factors: new Map() }];
    else if (depth > maxDepth) result = [{ coefficient: 1, factors: new Map([[node, 1]]) }];
    else if (isSum(node) || node.op === Op.Neg) {
      const [a, b] = node.inputs;
      const negate = (p: Polynomial) => p.map((m) => ({ coefficient: -m.coefficient, factors: m.factors }));
      if (node.op === Op.Neg) result = negate(this.polynomial(a!, depth + 1));
      else if (node.op === Op.Add)
        result = collect([...this.polynomial(a!, depth + 1), ...this.polynomial(b!, depth + 1)]);
      else result = collect([...this.polynomial(a!, depth + 1), ...negate(this.polynomial(b!, depth + 1))]);
    } else if (node.op === Op.Mul || node.op === Op.Div || isIntegerPower(node)) {
      result = this.product(node, depth);
    } else {
      result = [{ coefficient: 1, factors: new Map([[node, 1]]) }];
    }
    this.memo.set(node, check(result));
    return result;
  }

  /** A product: atoms multiplied in, then each sum factor multiplied out, cancelling where a term divides by it. */
  product(node: Node, depth: number): Polynomial {
    let poly: Polynomial = [{ coefficient: 1, factors: new Map() }];
    const sums: Node[] = [];
    const stack: { node: Node; exponent: number }[] = [{ node, exponent: 1 }];
    let visits = 0;
    while (stack.length > 0) {
      if (visits++ > 4 * maxVisits) throw new TooLarge();
      const { node: n0, exponent } = stack.pop()!;
      const n = see(n0);
      if (n.op === Op.Const)
        poly = poly.map((m) => ({ coefficient: m.coefficient * n.attrs.value! ** exponent, factors: m.factors }));
      else if (n.op === Op.Mul) stack.push({ node: n.inputs[0]!, exponent }, { node: n.inputs[1]!, exponent });
      else if (n.op === Op.Div)
        stack.push({ node: n.inputs[0]!, exponent }, { node: n.inputs[1]!, exponent: -exponent });
      else if (n.op === Op.Neg) {
        if (exponent % 2 !== 0) poly = poly.map((m) => ({ coefficient: -m.coefficient, factors: m.factors }));
        stack.push({ node: n.inputs[0]!, exponent });
      } else if (isIntegerPower(n) && Math.abs(exponent * n.attrs.exponent!) <= 4)
        stack.push({ node: n.inputs[0]!, exponent: exponent * n.attrs.exponent! });
      else if (isSum(n) && exponent === 1) sums.push(n);
      else poly = poly.map((m) => times(m, { coefficient: 1, factors: new Map([[n, exponent]]) }));
    }
    // sums holding quotients first, so their denominators are in the terms when the other sums come
    const hasQuotient = (p: Polynomial) => p.some((m) => [...m.factors.values()].some((e) => e < 0));
    const expanded = sums.map((s) => ({ sum: s, poly: this.polynomial(s, depth + 1) }));
    expanded.sort((a, b) => Number(hasQuotient(b.poly)) - Number(hasQuotient(a.poly)));
    for (const { sum, poly: terms } of expanded) {
      const next: Polynomial = [];
      for (const m of poly) {
        if ((m.factors.get(sum) ?? 0) < 0) next.push(times(m, { coefficient: 1, factors: new Map([[sum, 1]]) }));
        else for (const t of terms) next.push(times(m, t));
        if (next.length > 4 * maxTerms) throw new TooLarge();
      }
      poly = check(collect(next));
    }
    return collect(poly);
  }
}

/** Atom occurrences in the expression as written, to the depth the expansion looks. */
function atomCount(node: Node, depth: number): number {
  node = see(node);
  if (node.op === Op.Const) return 0;
  if (depth > maxDepth) return 1;
  if (isSum(node) || node.op === Op.Neg || node.op === Op.Mul || node.op === Op.Div || isIntegerPower(node)) {
    return node.inputs.reduce((n, input) => n + atomCount(input, depth + 1), 0);
  }
  return 1;
}

/** Whether `node` is a product with a sum of quotients among its factors (cheap; bounded). */
function multipliesQuotients(node: Node): boolean {
  if (node.op !== Op.Mul && node.op !== Op.Div) return false;
  const stack: Node[] = [node];
  let visits = 0;
  while (stack.length > 0 && visits++ < maxVisits) {
    const n = see(stack.pop()!);
    if (n.op === Op.Mul || n.op === Op.Div || n.op === Op.Neg) stack.push(...n.inputs);
    else if (isSum(n)) {
      const terms = [...n.inputs];
      while (terms.length > 0 && visits++ < maxVisits) {
        const t = see(terms.pop()!);
        if (t.op === Op.Div || (t.op === Op.PowConst && t.attrs.exponent! < 0)) return true;
        if (isSum(t) || t.op === Op.Neg || t.op === Op.Mul) terms.push(...t.inputs);
      }
    }
  }
  return false;
}

function build(p: Polynomial): Node {
  const termOf = (m: Monomial): Node => {
    let numerator: Node | undefined;
    let denominator: Node | undefined;
    for (const [atom, e] of m.factors) {
      const power = Math.abs(e) === 1 ? atom : ir.powConst(atom, Math.abs(e));
      if (e > 0) numerator = numerator ? ir.mul(numerator, power) : power;
      else denominator = denominator ? ir.mul(denominator, power) : power;
    }
    const magnitude = Math.abs(m.coefficient);
    let term = numerator ?? ir.constant(magnitude);
    if (numerator && magnitude !== 1) term = ir.mul(magnitude, term);
    return denominator ? ir.div(term, denominator) : term;
  };
  const positive = p.filter((m) => m.coefficient > 0);
  const negative = p.filter((m) => m.coefficient < 0);
  let result: Node | undefined;
  for (const m of positive) result = result ? ir.add(result, termOf(m)) : termOf(m);
  for (const m of negative) result = result ? ir.sub(result, termOf(m)) : ir.neg(termOf(m));
  return result ?? ir.constant(0);
}

/**
 * The expanded, collected form of a product of a sum of quotients, when it is shorter than the
 * product (σ(z) − t for the cross-entropy gradient above); undefined otherwise.
 */
export function expandedForm(node: Node): Node | undefined {
  if (!multipliesQuotients(node)) return undefined;
  let poly: Polynomial;
  try {
    poly = new Expander().polynomial(node, 0);
  } catch (error) {
    if (error instanceof TooLarge) return undefined;
    throw error;
  }
  const atoms = poly.reduce((n, m) => n + [...m.factors.values()].reduce((k, e) => k + Math.abs(e), 0), 0);
  if (atoms >= atomCount(node, 0)) return undefined;
  let result = build(poly);
  if (!sameShape(result.shape, node.shape)) {
    if (broadcastsTo(result.shape, node.shape)) result = ir.broadcastTo(result, node.shape);
    else if (result.size === node.size) result = ir.reshape(result, node.shape);
    else return undefined;
  }
  return result;
}
