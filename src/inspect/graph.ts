// The computational graph drawn like the backpropagation lectures' circuits: one box per variable
// or operation, the forward value above it (green), the accumulated adjoint ∂f/∂v below it (red),
// and on each wire the local derivative ∂y_j/∂y_i. Layout by dagre; the SVG is self-contained
// (inline styles, ids unique per drawing) so notebooks, browsers and Chromium render it alike.

import { createRequire } from "node:module";
import { constant } from "../ir/build.js";
import { evaluate as evaluateGraph } from "../ir/evaluate.js";
import type { Node } from "../ir/node.js";
import { Op } from "../ir/ops.js";
import { derivativeRules } from "../grad/rules.js";
import { gradients } from "../grad/reverse.js";
import { simplify } from "../passes/simplify.js";
import { formatText, joinText } from "../print/format.js";
import { formatNumber } from "../print/names.js";
import { opNames } from "../print/op-names.js";
import type { MimeBundle } from "../print/expression.js";
import { inspectText } from "../print/notebook.js";

export interface GraphNode {
  readonly id: string;
  readonly node: Node;
  /** What the box says: a variable's name, a constant, or the operation (+, ×, σ, …). */
  readonly label: string;
  readonly kind: "variable" | "constant" | "operation";
  /** Forward value at the given point, when values were given. */
  readonly value?: string;
  /** ∂f/∂(this value) at the point (or symbolic, when short). */
  readonly adjoint?: string;
}

export interface GraphEdge {
  readonly from: string;
  readonly to: string;
  /** Operand position in the consumer (w·w has two wires from w). */
  readonly slot: number;
  /** The local derivative ∂to/∂from, as a value at the point or a short expression. */
  readonly local?: string;
}

function labelOf(node: Node): string {
  if (node.op === Op.Param || node.op === Op.Input) return node.attrs.name ?? "?";
  if (node.op === Op.Const) return formatNumber(node.attrs.value!);
  if (node.op === Op.PowConst) return `x^${formatNumber(node.attrs.exponent!)}`;
  return opNames[node.op].graph;
}

function skipLayout(node: Node): Node {
  while (node.op === Op.Broadcast || node.op === Op.Reshape) node = node.inputs[0]!;
  return node;
}

function showValue(values: Float64Array): string {
  if (values.length === 1) return formatNumber(Number(values[0]!.toPrecision(3)));
  const shown = Array.from(values.slice(0, 3), (v) => formatNumber(Number(v.toPrecision(3))));
  return `[${shown.join(", ")}${values.length > 3 ? ", …" : ""}]`;
}

function shortText(node: Node, limit = 18): string | undefined {
  const text = joinText(formatText([node]));
  return text.includes("\n") || text.length > limit ? undefined : text;
}

let drawings = 0;

export interface GraphOptions {
  /** Values of the variables by name: the drawing then shows forward values and adjoints as numbers. */
  readonly values?: Readonly<Record<string, number | ArrayLike<number>>>;
  /** Label of the output, for the legend (default "f"). */
  readonly output?: string;
}

export class ComputationGraph {
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
  readonly output: string;

  constructor(readonly root: Node, options: GraphOptions = {}) {
    this.output = options.output ?? "f";
    const order: Node[] = [];
    const seen = new Set<Node>();
    const visit = (start: Node) => {
      const stack: { node: Node; next: number }[] = [{ node: start, next: 0 }];
      seen.add(start);
      while (stack.length > 0) {
        const top = stack[stack.length - 1]!;
        const child = top.node.inputs[top.next++];
        if (child === undefined) { order.push(top.node); stack.pop(); continue; }
        const shown = skipLayout(child);
        if (!seen.has(shown)) { seen.add(shown); stack.push({ node: shown, next: 0 }); }
      }
    };
    visit(skipLayout(root));
    const ids = new Map(order.map((node, i) => [node, `n${i}`]));

    let values: Map<Node, Float64Array> | undefined;
    const leaves = new Map<Node, ArrayLike<number>>();
    if (options.values) {
      for (const node of order) {
        if ((node.op === Op.Param || node.op === Op.Input) && node.attrs.name !== undefined) {
          const given = options.values[node.attrs.name];
          if (given !== undefined) leaves.set(node, typeof given === "number" ? [given] : given);
        }
      }
      const complete = order.every((node) => !(node.op === Op.Param || node.op === Op.Input) || leaves.has(node));
      if (complete) {
        const results = evaluateGraph(order, leaves);
        values = new Map(order.map((node, i) => [node, results[i]!]));
      }
    }
    const differentiable = order.filter((node) => node !== skipLayout(root) && node.op !== Op.Const);
    const seed = skipLayout(root);
    const adjointNodes = seed.shape.length === 0 ? simplify(gradients(seed, differentiable)) : [];
    const adjointOf = new Map<Node, Node>(differentiable.map((node, i) => [node, adjointNodes[i]!]));
    if (seed.shape.length === 0) adjointOf.set(seed, constant(1));
    const numeric = (node: Node): string | undefined => (values ? showValue(evaluateGraph([node], leaves)[0]!) : undefined);

    this.nodes = order.map((node) => {
      const adjoint = adjointOf.get(node);
      return {
        id: ids.get(node)!,
        node,
        label: labelOf(node),
        kind: node.op === Op.Const ? "constant" : node.inputs.length === 0 ? "variable" : "operation",
        value: values ? showValue(values.get(node)!) : undefined,
        adjoint: adjoint && node.op !== Op.Const ? (numeric(adjoint) ?? shortText(adjoint)) : undefined,
      } satisfies GraphNode;
    });

    const edges: GraphEdge[] = [];
    for (const node of order) {
      if (node.inputs.length === 0) continue;
      let locals: readonly (Node | undefined)[] = [];
      if (node.shape.length === 0 && node.inputs.every((input) => input.shape.length === 0)) {
        locals = simplify(derivativeRules[node.op]({ inputs: node.inputs, out: node, adjoint: constant(1) }).map((d) => d ?? constant(0)));
      }
      node.inputs.forEach((input, slot) => {
        const local = locals[slot];
        edges.push({
          from: ids.get(skipLayout(input))!,
          to: ids.get(node)!,
          slot,
          local: local && skipLayout(input).op !== Op.Const ? (numeric(local) ?? shortText(local)) : undefined,
        });
      });
    }
    this.edges = edges;
  }

  /** Graphviz DOT. */
  toDot(): string {
    const quote = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
    const lines = ["digraph gradgen {", "  rankdir=LR;", '  node [fontname="Helvetica"];'];
    for (const n of this.nodes) {
      const extra = [n.value !== undefined ? `value ${n.value}` : "", n.adjoint !== undefined ? `∂${this.output}/∂· ${n.adjoint}` : ""].filter(Boolean);
      const label = [n.label, ...extra].join("\\n");
      const shape = n.kind === "operation" ? "circle" : n.kind === "constant" ? "plaintext" : "box";
      lines.push(`  ${n.id} [label=${quote(label).replace(/\\\\n/g, "\\n")}, shape=${shape}];`);
    }
    for (const e of this.edges) lines.push(`  ${e.from} -> ${e.to}${e.local !== undefined ? ` [label=${quote(e.local)}]` : ""};`);
    lines.push("}");
    return lines.join("\n");
  }

  /** A self-contained SVG drawing. */
  toSVG(): string {
    const dagre = createRequire(import.meta.url)("@dagrejs/dagre") as typeof import("@dagrejs/dagre");
    const g = new dagre.graphlib.Graph({ multigraph: true });
    g.setGraph({ rankdir: "LR", nodesep: 36, ranksep: 70, edgesep: 20, marginx: 20, marginy: 20 });
    g.setDefaultEdgeLabel(() => ({}));
    const charWidth = 8.4;
    const nodeBox = new Map<string, { width: number; height: number }>();
    for (const n of this.nodes) {
      const width = Math.max(34, n.label.length * charWidth + 18, ...[n.value, n.adjoint].map((t) => (t ? t.length * 7 + 8 : 0)));
      const height = n.kind === "operation" ? 34 : 30;
      nodeBox.set(n.id, { width, height });
      // room above and below for the value and adjoint
      g.setNode(n.id, { width, height: height + 34 });
    }
    this.edges.forEach((e, i) => {
      g.setEdge(e.from, e.to, { width: e.local ? e.local.length * 7 + 6 : 0, height: e.local ? 14 : 0, labelpos: "c" }, `e${i}`);
    });
    dagre.layout(g);
    const graph = g.graph() as { width?: number; height?: number };
    const legendWidth = (this.nodes.some((n) => n.value !== undefined) ? 100 : 0) + 110 + 260;
    const width = Math.ceil(Math.max((graph.width ?? 100) + 20, legendWidth));
    const height = Math.ceil((graph.height ?? 100) + 48);
    const prefix = `gg${++drawings}x${(this.root.hash % 100000).toString(36)}`;
    const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
    const out: string[] = [];
    out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="13">`);
    out.push(`<defs><marker id="${prefix}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>`);
    out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
    out.push(`<g transform="translate(0, 28)">`);
    this.edges.forEach((e, i) => {
      const edge = g.edge({ v: e.from, w: e.to, name: `e${i}` }) as { points: { x: number; y: number }[]; x?: number; y?: number };
      const target = nodeBox.get(e.to)!;
      const targetNode = g.node(e.to) as { x: number; y: number };
      const points = edge.points.map((p) => ({ ...p }));
      // end at the box's border (dagre's points end at the padded box)
      const last = points[points.length - 1]!;
      last.x = targetNode.x - target.width / 2 - 1;
      last.y = targetNode.y;
      const d = points.map((p, j) => `${j === 0 ? "M" : "L"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
      out.push(`<path d="${d}" fill="none" stroke="#555" stroke-width="1.3" marker-end="url(#${prefix}-arrow)"/>`);
      if (e.local !== undefined && edge.x !== undefined && edge.y !== undefined) {
        out.push(`<text x="${edge.x.toFixed(1)}" y="${(edge.y + 4).toFixed(1)}" text-anchor="middle" font-size="11" fill="#1f5fa8" font-style="italic" stroke="#ffffff" stroke-width="4" paint-order="stroke">${esc(e.local)}</text>`);
      }
    });
    for (const n of this.nodes) {
      const { x, y } = g.node(n.id) as { x: number; y: number };
      const box = nodeBox.get(n.id)!;
      if (n.kind === "operation") {
        out.push(`<ellipse cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" rx="${(box.width / 2).toFixed(1)}" ry="${(box.height / 2).toFixed(1)}" fill="#f4f1e8" stroke="#333" stroke-width="1.2"/>`);
      } else if (n.kind === "variable") {
        out.push(`<rect x="${(x - box.width / 2).toFixed(1)}" y="${(y - box.height / 2).toFixed(1)}" width="${box.width.toFixed(1)}" height="${box.height}" rx="4" fill="#e8eef8" stroke="#333" stroke-width="1.2"/>`);
      }
      out.push(`<text x="${x.toFixed(1)}" y="${(y + 4.5).toFixed(1)}" text-anchor="middle" font-weight="${n.kind === "variable" ? "bold" : "normal"}">${esc(n.label)}</text>`);
      if (n.value !== undefined) out.push(`<text x="${x.toFixed(1)}" y="${(y - box.height / 2 - 5).toFixed(1)}" text-anchor="middle" font-size="12" fill="#1e7b34">${esc(n.value)}</text>`);
      if (n.adjoint !== undefined) out.push(`<text x="${x.toFixed(1)}" y="${(y + box.height / 2 + 14).toFixed(1)}" text-anchor="middle" font-size="12" fill="#c0392b">${esc(n.adjoint)}</text>`);
    }
    out.push(`</g>`);
    const legend = [
      this.nodes.some((n) => n.value !== undefined) ? `<tspan fill="#1e7b34">green: value</tspan>` : "",
      `<tspan fill="#c0392b">red: ∂${esc(this.output)}/∂value</tspan>`,
      `<tspan fill="#1f5fa8" font-style="italic">blue: local derivative on each wire</tspan>`,
    ].filter(Boolean).join("   ");
    out.push(`<text x="12" y="18" font-size="11">${legend}</text>`);
    out.push(`</svg>`);
    return out.join("\n");
  }

  toString(): string {
    const name = new Map(this.nodes.map((n) => [n.id, n.label]));
    const lines = this.nodes.map((n) => {
      const operands = this.edges.filter((e) => e.to === n.id).map((e) => `${name.get(e.from)}${e.local !== undefined ? ` (∂/∂ = ${e.local})` : ""}`);
      const extra = [n.value !== undefined ? `value ${n.value}` : "", n.adjoint !== undefined ? `∂${this.output}/∂ = ${n.adjoint}` : ""].filter(Boolean).join(", ");
      return `${n.id}: ${n.label}${operands.length ? `(${operands.join(", ")})` : ""}${extra ? `  [${extra}]` : ""}`;
    });
    return lines.join("\n");
  }

  toMimeBundle(): MimeBundle {
    return { "text/plain": this.toString(), "image/svg+xml": this.toSVG() };
  }

  [Symbol.for("Jupyter.display")](): MimeBundle {
    return this.toMimeBundle();
  }

  [Symbol.for("nodejs.util.inspect.custom")](depth: number, options: { depth?: number | null }): string {
    return inspectText(this, depth, options);
  }
}
