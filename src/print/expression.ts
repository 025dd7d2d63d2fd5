// Text, LaTeX and notebook display of one expression (a Tensor's node). A gradient made by grad()
// remembers its function, so its shared adjoints print as δ1, δ2 (∂f/∂v of the lectures) and its
// LaTeX carries the label ∂f/∂w.

import { gradients } from "../grad/reverse.js";
import { reachableInOrder } from "../ir/graph.js";
import type { Node } from "../ir/node.js";
import { Op } from "../ir/ops.js";
import { simplify } from "../passes/simplify.js";
import { formatBoth, joinTex, joinText, type Formatted } from "./format.js";
import { texName } from "./names.js";

interface Provenance {
  readonly seed: Node;
  readonly wrt: Node;
}

const provenance = new WeakMap<Node, Provenance>();

/** Remember that `gradient` is ∂seed/∂wrt (grad() calls this). */
export function recordGradient(gradient: Node, seed: Node, wrt: Node): void {
  if (!provenance.has(gradient)) provenance.set(gradient, { seed, wrt });
}

export function gradientOf(node: Node): Provenance | undefined {
  return provenance.get(node);
}

/** Simplified adjoints ∂seed/∂v of the intermediate values v between `wrt` and `seed`. */
export function adjointsBetween(seed: Node, wrt: readonly Node[]): Set<Node> {
  const below = new Set<Node>(wrt);
  const between: Node[] = [];
  for (const node of reachableInOrder([seed])) {
    if (node === seed || below.has(node)) continue;
    if (node.inputs.some((input) => below.has(input))) {
      below.add(node);
      if (node.op !== Op.Const) between.push(node);
    }
  }
  return new Set(simplify(gradients(seed, between)));
}

function leafName(node: Node): string | undefined {
  return node.op === Op.Param || node.op === Op.Input ? node.attrs.name : undefined;
}

export interface ExpressionForms {
  readonly text: string;
  readonly tex: string;
}

const formsCache = new WeakMap<Node, ExpressionForms>();

/** toString() and toTex() of one expression (cached: nodes are immutable). */
export function expressionForms(node: Node): ExpressionForms {
  const cached = formsCache.get(node);
  if (cached) return cached;
  const origin = provenance.get(node);
  const adjoints = origin ? adjointsBetween(origin.seed, [origin.wrt]) : undefined;
  const { text, tex } = formatBoth([node], { adjoints });
  let texLabel: string | undefined;
  if (origin) {
    const f = leafName(origin.seed) ?? "f";
    const w = leafName(origin.wrt) ?? "w";
    texLabel = `\\frac{\\partial ${texName(f)}}{\\partial ${texName(w)}}`;
  }
  const forms = {
    text: joinText(text),
    tex: joinTex(tex as Formatted, texLabel && tex.definitions.length > 0 ? [texLabel] : []),
  };
  formsCache.set(node, forms);
  return forms;
}

export interface MimeBundle {
  readonly "text/plain": string;
  readonly "text/latex"?: string;
  readonly "image/svg+xml"?: string;
  readonly [type: string]: string | undefined;
}

/** LaTeX for notebooks: the body inside $\displaystyle …$ (VS Code and Jupyter both need the delimiters). */
export function latexMime(tex: string): string {
  return `$\\displaystyle ${tex}$`;
}

export function expressionBundle(node: Node): MimeBundle {
  const { text, tex } = expressionForms(node);
  return { "text/plain": text, "text/latex": latexMime(tex) };
}
